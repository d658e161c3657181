package devenv

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/runtime"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/tools/floe/internal/clientconf"
)

// notifierGrant is the grant floe dev gives the notifier: Approve and Reject
// for the dev users holding an approver role of the built-in environments
// (bob release-manager, carol qa, dave operations, erin security, frank product).
var notifierGrant = &auth.ActsFor{
	Methods:    []string{releasev1.ReleaseService_Approve_FullMethodName, releasev1.ReleaseService_Reject_FullMethodName},
	Principals: []string{"bob", "carol", "dave", "erin", "frank"},
}

// checkNotifier: the notifier's token in creds authenticates, against the
// tokens file in dir, as a principal without roles holding notifierGrant.
func checkNotifier(t *testing.T, dir string, creds *clientconf.Credentials) string {
	t.Helper()
	u, err := creds.Lookup(NotifierUser)
	if err != nil {
		t.Fatalf("credentials: %v", err)
	}
	a, err := auth.NewTokenFileAuthenticator(filepath.Join(dir, TokensFileName))
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(context.Background(), u.Token)
	if err != nil {
		t.Fatalf("the notifier's token: %v", err)
	}
	if p.ID != NotifierUser || len(p.Roles) != 0 {
		t.Errorf("the notifier's token authenticates as %s with roles %v, want %s with none", p.ID, p.RoleNames(), NotifierUser)
	}
	if diff := cmp.Diff(notifierGrant, p.ActsFor); diff != "" {
		t.Errorf("the notifier's grant (-want +got):\n%s", diff)
	}
	return u.Token
}

func TestEnsureTokensNotifier(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds, created, err := ensureTokens(dir)
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	tok := checkNotifier(t, dir, creds)
	// floe dev writes the credentials once it listens.
	if err := clientconf.Write(filepath.Join(dir, clientconf.FileName), creds); err != nil {
		t.Fatal(err)
	}

	again, created, err := ensureTokens(dir)
	if err != nil || created {
		t.Fatalf("second start: created %v, %v", created, err)
	}
	if got := checkNotifier(t, dir, again); got != tok {
		t.Error("a restart changed the notifier's token")
	}
}

// TestEnsureTokensAddsNotifierToOldDataDir: a data directory written before
// the notifier existed keeps its users and tokens and gains the notifier.
func TestEnsureTokensAddsNotifierToOldDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds, _, err := ensureTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Remove the notifier from both files, as an older floe dev wrote them.
	creds.Users = slices.DeleteFunc(creds.Users, func(u clientconf.User) bool { return u.ID == NotifierUser })
	if err := clientconf.Write(filepath.Join(dir, clientconf.FileName), creds); err != nil {
		t.Fatal(err)
	}
	tokensPath := filepath.Join(dir, TokensFileName)
	data, err := os.ReadFile(tokensPath)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := auth.ParseTokensFile(data)
	if err != nil {
		t.Fatal(err)
	}
	tf.Principals = slices.DeleteFunc(tf.Principals, func(e auth.TokenEntry) bool { return e.ID == NotifierUser })
	if data, err = tf.Marshal(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokensPath, data, 0o600); err != nil {
		t.Fatal(err)
	}

	got, created, err := ensureTokens(dir)
	if err != nil || created {
		t.Fatalf("restart on the old data dir: created %v, %v", created, err)
	}
	checkNotifier(t, dir, got)
	for _, u := range creds.Users {
		if g, err := got.Lookup(u.ID); err != nil || g.Token != u.Token {
			t.Errorf("user %s: token kept = %v (%v)", u.ID, err == nil && g.Token == u.Token, err)
		}
	}
	// The credentials on disk have the notifier at once, not only after floe dev listens.
	onDisk, err := clientconf.Read(filepath.Join(dir, clientconf.FileName))
	if err != nil {
		t.Fatal(err)
	}
	checkNotifier(t, dir, onDisk)

	// Credentials that lost the notifier's token: it gets a new one.
	onDisk.Users = slices.DeleteFunc(onDisk.Users, func(u clientconf.User) bool { return u.ID == NotifierUser })
	if err := clientconf.Write(filepath.Join(dir, clientconf.FileName), onDisk); err != nil {
		t.Fatal(err)
	}
	got, _, err = ensureTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkNotifier(t, dir, got)
}

// TestPrintBannerWithTheNotifier: the first-start banner lists the
// notifier, which has no role.
func TestPrintBannerWithTheNotifier(t *testing.T) {
	t.Parallel()
	creds, _, err := ensureTokens(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	printBanner(&out, creds, "creds.yaml", runtime.Base{}, true, "key")
	if !strings.Contains(out.String(), NotifierUser+" (acts for others)") {
		t.Errorf("banner does not list the notifier:\n%s", out.String())
	}
}
