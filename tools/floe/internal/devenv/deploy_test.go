package devenv

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/service"
)

// TestDeployNATSPermissions keeps deploy/nats/nats-server.conf in step with
// the code: each service's production NATS user has exactly the
// permissions floe dev gives that service's identity, and the reader's
// are the reader's.
func TestDeployNATSPermissions(t *testing.T) {
	for _, v := range []string{"FLOE_RELEASE_NATS_PASSWORD", "FLOE_DEPLOYER_NATS_PASSWORD", "FLOE_MONITOR_NATS_PASSWORD", "FLOE_AUDIT_NATS_PASSWORD", "FLOE_GATE_NATS_PASSWORD", "FLOE_FLAG_NATS_PASSWORD", "FLOE_NOTIFIER_NATS_PASSWORD", "FLOE_CHANGE_NATS_PASSWORD",
		"FLOE_READER_NATS_PASSWORD", "FLOE_ADMIN_NATS_PASSWORD", "NATS_SYS_PASSWORD"} {
		t.Setenv(v, "test-"+v)
	}
	// The file names TLS files and a store directory that do not exist here:
	// parse a copy without them.
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "deploy", "nats", "nats-server.conf"))
	if err != nil {
		t.Fatal(err)
	}
	data = regexp.MustCompile(`(?s)\ntls \{.*?\n\}`).ReplaceAll(data, nil)
	path := filepath.Join(t.TempDir(), "nats-server.conf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("deploy/nats/nats-server.conf does not parse: %v", err)
	}
	users := map[string]*server.Permissions{}
	for _, u := range opts.Users {
		users[u.Username] = u.Permissions
	}
	want := service.Grants(Services(Config{})...)
	want["reader"] = natsx.ReaderPermissions()
	for name, perms := range want {
		got, ok := users["floe-"+name]
		if !ok {
			t.Errorf("deploy/nats/nats-server.conf has no user floe-%s", name)
			continue
		}
		same(t, name+" publish allow", perms.Publish.Allow, got.Publish.Allow)
		same(t, name+" publish deny", perms.Publish.Deny, got.Publish.Deny)
		same(t, name+" subscribe allow", perms.Subscribe.Allow, got.Subscribe.Allow)
	}
}

func same(t *testing.T, what string, want, got []string) {
	t.Helper()
	w, g := slices.Clone(want), slices.Clone(got)
	slices.Sort(w)
	slices.Sort(g)
	w, g = slices.Compact(w), slices.Compact(g)
	if !slices.Equal(w, g) {
		t.Errorf("%s:\n  code %q\n  conf %q", what, w, g)
	}
}
