package flagsvc_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/leakcheck"
	"github.com/penguinmails/floe/libs/secrets/natsstore"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

// rewrapUsers adds administrators to the service's users: root everywhere,
// stager in staging only.
var rewrapUsers = func() map[string][]auth.RoleBinding {
	u := maps.Clone(users)
	u["root"] = testkit.Roles(auth.RoleAdmin)
	u["stager"] = []auth.RoleBinding{{Role: auth.RoleAdmin, Environments: []string{"staging"}}}
	return u
}()

// startWithKeyring runs the flag service with the builtin provider keyed by
// the keyring file at path, which it reads at every (re)start.
func startWithKeyring(t *testing.T, path string) *world {
	w := &world{t: t, log: &testkit.SyncBuffer{}}
	w.Process = testkit.Start(t, testkit.Options{
		Log:   w.log,
		Users: rewrapUsers,
		Entries: func() []service.Entry {
			var c flagsvc.Config
			c.TickInterval, c.Secrets = 20*time.Millisecond, secretsetup.Config{Keyring: path}
			return []service.Entry{service.Of(flagsvc.Service, c)}
		},
	})
	return w
}

// keepKEKs rewrites the keyring file at path with only the KEKs ids, as an
// operator removes a retired KEK's line.
func keepKEKs(t *testing.T, path string, ids ...string) {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for line := range bytes.Lines(text) {
		id, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		if len(id) > 0 && id[0] != '#' && !slices.Contains(ids, string(id)) {
			continue
		}
		out = append(out, line...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// storeWith opens the secrets bucket with the keyring file at path, as
// another process (the deployer) would.
func (w *world) storeWith(path string) *natsstore.Store {
	w.t.Helper()
	keys, err := secrets.LoadKeyringFile(path)
	if err != nil {
		w.t.Fatal(err)
	}
	_, js := natstest.Connect(w.t, w.NATS)
	s, err := natsstore.Open(ctxT(w.t), js, keys, natsstore.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// rewrapEvents are the SecretVersionRewrapped of env's secret set, in order,
// as "name@version prev→key by actor: reason".
func (w *world) rewrapEvents(env string) []string {
	w.t.Helper()
	st, err := w.Store("flag").Load(ctxT(w.t), "secretset", env, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range st.Events {
		var ev configv1.SecretVersionRewrapped
		if e.Type != string(ev.ProtoReflect().Descriptor().FullName()) {
			continue
		}
		if err := e.DecodeInto(&ev); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s@%d %s→%s by %s: %s (digest %t)", ev.GetName(), ev.GetVersion(), ev.GetPreviousKeyId(), ev.GetKeyId(), e.Actor, ev.GetReason(), ev.GetDigest() != ""))
	}
	return out
}

func rewrapped(r *configv1.RewrapSecretsResponse) []string {
	var out []string
	for _, v := range r.GetRewrapped() {
		out = append(out, fmt.Sprintf("%s %s@%d %s→%s", v.GetEnvironment(), v.GetName(), v.GetVersion(), v.GetPreviousKeyId(), v.GetKeyId()))
	}
	return out
}

func sameLines(t *testing.T, what string, want, got []string) {
	t.Helper()
	if !slices.Equal(want, got) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// A KEK rotation through the API, the way the procedure goes: secrets put
// in two environments under KEK A; B added to the keyring and the service
// restarted; a dry run; the rewrap, recorded in the log; A removed and the
// service restarted, every value still readable. Then a rewrap whose records
// were never made (done straight on the store) is completed by the next run.
// No value ever appears in an answer, the log or the service's log.
func TestKEKRotation(t *testing.T) {
	keyring := t.TempDir() + "/secrets.keyring"
	first, err := secrets.CreateKeyringFile(keyring)
	if err != nil {
		t.Fatal(err)
	}
	kekA := first.Primary()
	w := startWithKeyring(t, keyring)
	ctx := ctxT(t)
	var dave, root configv1.SecretServiceClient
	restart := func() { // a restart closes the clients' connections
		w.Restart()
		dave, root = w.secrets("dave"), w.secrets("root")
	}
	dave, root = w.secrets("dave"), w.secrets("root")

	var answers []proto.Message
	keep := func(m proto.Message, err error) error {
		if m != nil && m.ProtoReflect().IsValid() {
			answers = append(answers, m)
		}
		if err != nil {
			answers = append(answers, status.Convert(err).Proto())
		}
		return err
	}
	values := map[string]string{} // "env/name@version" → value
	put := func(env, name string) {
		t.Helper()
		value := leakcheck.Canary()
		r, err := dave.PutSecret(ctx, &configv1.PutSecretRequest{Environment: env, Name: name, Value: []byte(value), Reason: "initial"})
		if keep(r, err) != nil {
			t.Fatal(err)
		}
		values[fmt.Sprintf("%s/%s@%d", env, name, r.GetVersion().GetVersion())] = value
	}
	put("staging", "db/password")
	put("staging", "db/password")
	put("staging", "api/key")
	put("production", "db/password")
	if _, err := dave.RevokeSecretVersion(ctx, &configv1.RevokeSecretVersionRequest{Environment: "staging", Name: "db/password", Version: 1, Reason: "rotated"}); err != nil {
		t.Fatal(err)
	}
	revoked := values["staging/db/password@1"]
	delete(values, "staging/db/password@1")
	readable := func(s *natsstore.Store, when string) {
		t.Helper()
		for at, want := range values {
			name, v, _ := strings.Cut(at, "@")
			n, _ := strconv.ParseUint(v, 10, 64)
			got, err := s.Get(ctx, name, n)
			if err != nil || string(got.Reveal()) != want {
				t.Errorf("%s: %s does not read back unchanged: %v", when, at, err)
			}
		}
	}
	// keysOf are the key ids GetSecret shows for each version of a secret.
	keysOf := func(env, name string) string {
		t.Helper()
		r, err := dave.GetSecret(ctx, &configv1.GetSecretRequest{Environment: env, Name: name})
		if keep(r, err) != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range r.GetSecret().GetVersions() {
			out = append(out, fmt.Sprintf("%d:%s", v.GetVersion(), v.GetKeyId()))
		}
		return strings.Join(out, " ")
	}
	if got := keysOf("staging", "db/password"); got != "1:"+kekA+" 2:"+kekA {
		t.Fatalf("before the rotation, staging db/password's keys: %s", got)
	}

	// Step 1: a new primary KEK in the keyring (the deployer's first, then the flag service's), and a restart.
	kekB, err := secrets.AddKEKToFile(keyring)
	if err != nil {
		t.Fatal(err)
	}
	restart()

	// Refused: without system.admin everywhere, or without a (clean) reason.
	before := w.LogPosition(t)
	if _, err := w.secrets("dave").RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "KEK rotation"}); keep(nil, err) == nil || status.Code(err) != codes.PermissionDenied {
		t.Errorf("rewrap by an operator: %v, want PermissionDenied", err)
	}
	if _, err := w.secrets("stager").RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "KEK rotation"}); keep(nil, err) == nil || status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "production") {
		t.Errorf("rewrap by an administrator of staging alone: %v, want PermissionDenied in production", err)
	}
	if _, err := root.RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{}); keep(nil, err) == nil || fieldsOf(t, err)["reason"] == "" {
		t.Errorf("rewrap without a reason: %v", err)
	}
	token := "ghp_" + strings.Repeat("aB3dE6gH9j", 3) + "kLmNoP"
	if _, err := root.RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "with " + token}); keep(nil, err) == nil || fieldsOf(t, err)["reason"] == "" || strings.Contains(err.Error(), token) {
		t.Errorf("rewrap with a token in the reason: %v", err)
	}

	// Step 2, dry run: what would move, and A still in use.
	wantMoves := []string{
		"production db/password@1 " + kekA + "→" + kekB,
		"staging api/key@1 " + kekA + "→" + kekB,
		"staging db/password@2 " + kekA + "→" + kekB,
	}
	dry, err := root.RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "KEK rotation", DryRun: true})
	if keep(dry, err) != nil {
		t.Fatal(err)
	}
	sameLines(t, "dry run", wantMoves, rewrapped(dry))
	if dry.GetPrimaryKeyId() != kekB || !maps.Equal(dry.GetKeyUsage(), map[string]uint64{kekA: 3, kekB: 0}) {
		t.Errorf("dry run: primary %s, usage %v; want %s, %s: 3, %s: 0", dry.GetPrimaryKeyId(), dry.GetKeyUsage(), kekB, kekA, kekB)
	}
	if after := w.LogPosition(t); after != before {
		t.Errorf("refusals and a dry run appended events (%d → %d)", before, after)
	}
	if got := keysOf("production", "db/password"); got != "1:"+kekA {
		t.Errorf("after the dry run, production db/password's keys: %s", got)
	}

	// Step 2: the rewrap, recorded.
	r, err := root.RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "KEK rotation"})
	if keep(r, err) != nil {
		t.Fatal(err)
	}
	sameLines(t, "rewrap", wantMoves, rewrapped(r))
	if !maps.Equal(r.GetKeyUsage(), map[string]uint64{kekA: 0, kekB: 3}) {
		t.Errorf("key usage after the rewrap: %v; want %s at 0", r.GetKeyUsage(), kekA)
	}
	sameLines(t, "staging's log", []string{
		"api/key@1 " + kekA + "→" + kekB + " by root: KEK rotation (digest true)",
		"db/password@2 " + kekA + "→" + kekB + " by root: KEK rotation (digest true)",
	}, w.rewrapEvents("staging"))
	sameLines(t, "production's log", []string{"db/password@1 " + kekA + "→" + kekB + " by root: KEK rotation (digest true)"}, w.rewrapEvents("production"))
	// The revoked version was destroyed: it keeps the key it had.
	if got := keysOf("staging", "db/password"); got != "1:"+kekA+" 2:"+kekB {
		t.Errorf("staging db/password's keys after the rewrap: %s", got)
	}
	list, err := dave.ListSecrets(ctx, &configv1.ListSecretsRequest{Environment: "staging"})
	if keep(list, err) != nil {
		t.Fatal(err)
	}
	for _, s := range list.GetSecrets() {
		for _, v := range s.GetVersions() {
			if !v.GetRevoked() && v.GetKeyId() != kekB {
				t.Errorf("ListSecrets: %s@%d under %s, want %s", s.GetName(), v.GetVersion(), v.GetKeyId(), kekB)
			}
		}
	}
	readable(w.storeWith(keyring), "after the rewrap")
	again, err := root.RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "KEK rotation"})
	if keep(again, err) != nil || len(again.GetRewrapped()) != 0 {
		t.Errorf("a second rewrap: %v, %v; want nothing to do", rewrapped(again), err)
	}

	// Step 3: A removed from the keyring, the service restarted: all still readable, by the service too.
	keepKEKs(t, keyring, kekB)
	restart()
	readable(w.storeWith(keyring), "with B alone")
	put("production", "db/password")
	if got := keysOf("production", "db/password"); got != "1:"+kekB+" 2:"+kekB {
		t.Errorf("production db/password's keys with B alone: %s", got)
	}

	// A rewrap done but not recorded (a run stopped between the store and
	// the log): C added, the store rewrapped directly.
	kekC, err := secrets.AddKEKToFile(keyring)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := w.storeWith(keyring).RewrapAll(ctx)
	if err != nil || len(moved) != 4 {
		t.Fatalf("RewrapAll on the store: %d moved, %v; want 4", len(moved), err)
	}
	// The service, not restarted, lacks C: it says what to do.
	_, err = root.RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "KEK rotation"})
	if keep(nil, err) == nil || status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "is not in the keyring") {
		t.Errorf("rewrap by a service whose keyring lacks the store's KEK: %v, want FailedPrecondition", err)
	}
	restart()
	dry, err = root.RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "finish the KEK rotation", DryRun: true})
	if keep(dry, err) != nil || len(dry.GetRewrapped()) != 4 {
		t.Errorf("dry run of the catch-up: %v, %v; want 4 versions", rewrapped(dry), err)
	}
	r, err = root.RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: "finish the KEK rotation"})
	if keep(r, err) != nil {
		t.Fatal(err)
	}
	sameLines(t, "the catch-up", []string{
		"production db/password@1 " + kekB + "→" + kekC,
		"production db/password@2 " + kekB + "→" + kekC,
		"staging api/key@1 " + kekB + "→" + kekC,
		"staging db/password@2 " + kekB + "→" + kekC,
	}, rewrapped(r))
	if !maps.Equal(r.GetKeyUsage(), map[string]uint64{kekB: 0, kekC: 4}) {
		t.Errorf("key usage after the catch-up: %v", r.GetKeyUsage())
	}
	if got := keysOf("staging", "db/password"); got != "1:"+kekA+" 2:"+kekC {
		t.Errorf("staging db/password's keys after the catch-up: %s", got)
	}
	if n := len(w.rewrapEvents("staging")); n != 4 {
		t.Errorf("staging's log holds %d SecretVersionRewrapped, want 4", n)
	}
	readable(w.storeWith(keyring), "after the catch-up")

	// No value anywhere.
	where := w.haystack(t, answers)
	if !strings.Contains(string(where["stream FLOE_EVENTS"]), "SecretVersionRewrapped") {
		t.Fatal("the event log scan read no rewrap event: it cannot have looked in the right place")
	}
	for _, v := range append(slices.Collect(maps.Values(values)), revoked) {
		leakcheck.Check(t, []byte(v), where)
	}
}
