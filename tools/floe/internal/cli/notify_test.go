package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/natsstore"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/notifier/notifiersvc"
)

// floe notify against a real notifier: a webhook receiver on loopback, a
// deployment's events recorded as the deployer would, then every command.
func TestNotifyOfARealServer(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hook.Close)
	dir := t.TempDir()
	keys := filepath.Join(dir, "secrets.keyring")
	if _, err := secrets.CreateKeyringFile(keys); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "notifier.yaml")
	cfg := fmt.Sprintf("receivers:\n  - name: ops\n    kind: webhook\n    settings:\n      url: %s/ops\n      signing_secret: secret://hook\nroute:\n  receivers: [ops]\n  group_wait: 0s\n", hook.URL)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := natstest.Server(t)
	{ // the signing secret, as floe secrets put notifier hook would keep it
		ring, err := secrets.LoadKeyringFile(keys)
		if err != nil {
			t.Fatal(err)
		}
		_, js := natstest.Connect(t, srv)
		st, err := natsstore.Open(testkit.Context(t), js, ring, natsstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		if _, err := st.Put(testkit.Context(t), "notifier/hook", secrets.NewValue([]byte("whsec_"+base64.StdEncoding.EncodeToString(raw)))); err != nil {
			t.Fatal(err)
		}
	}
	p := testkit.Start(t, testkit.Options{
		Server: srv,
		Users:  map[string][]auth.RoleBinding{"ops": testkit.Roles(auth.RoleOperations), "grace": testkit.Roles(auth.RoleSupport)},
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(notifiersvc.Service, notifiersvc.Config{Options: notifiersvc.Options{
				File: file, SecretsEnvironment: "notifier", ProductionEnvironments: "production", Tick: 50 * time.Millisecond, MaxAttempts: 3},
				Secrets: secretsetup.Config{Keyring: keys}})}
		},
		Writers: map[string][]string{"deployer": {"deployment"}},
	})
	run := func(user string, args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return runFloeIn(ctx, "", append([]string{"--server", p.Addr, "--token", p.Token(user)}, args...)...)
	}
	must := func(user string, args ...string) string {
		t.Helper()
		out, errOut, err := run(user, args...)
		if err != nil {
			t.Fatalf("floe %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	if _, err := p.Store("deployer").Append(context.Background(), "deployment", "r1-production-1", eventstore.NoStream, eventstore.Meta{Actor: "system:deployer"},
		eventstore.Event{Message: &deployv1.DeploymentStarted{DeploymentId: "r1-production-1", ReleaseId: "r1", Version: "1.0.0", Environment: "production",
			App: "demo", Product: "penguinmails", StrategyType: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY}}); err != nil {
		t.Fatal(err)
	}
	var out string
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		if out = must("grace", "notify", "list", "--status", "delivered"); !strings.Contains(out, "Deploying penguinmails 1.0.0 to production") {
			return fmt.Errorf("not delivered yet:\n%s", out)
		}
		return nil
	})
	wantLines(t, "list", out, "DECIDED ID RECEIVER STATUS ATTEMPTS SUBJECT", "ops delivered 1")
	id := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1])[2]
	got := must("grace", "notify", "get", id)
	wantLines(t, "get", got, "RECEIVER ops (webhook)", "STATUS delivered after 1 attempt(s)", "EPISODE deployment/r1-production-1 firing info production")
	group := ""
	for _, l := range strings.Split(got, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "GROUP" {
			group = f[1]
		}
	}
	wantLines(t, "receivers", must("grace", "notify", "receivers"), "ops webhook", "secret://hook")
	wantLines(t, "routes", must("grace", "notify", "routes"), "route → ops (group by episode; wait 0s, interval 5m0s, repeat 4h0m0s)")
	wantLines(t, "preview", must("grace", "notify", "preview", "ops"), "== ", "subject: ")
	if _, _, err := run("grace", "notify", "list", "--status", "lost"); err == nil || !strings.Contains(err.Error(), "dead_lettered") {
		t.Errorf("a bad --status: %v", err)
	}
	if _, _, err := run("grace", "notify", "ack", group, "deployment/r1-production-1"); err == nil || !strings.Contains(err.Error(), "notify.write") {
		t.Errorf("ack by support: %v", err)
	}
	wantLines(t, "ack", must("ops", "notify", "ack", group, "deployment/r1-production-1", "--comment", "mine"), "acknowledged deployment/r1-production-1")
	if _, _, err := run("grace", "notify", "preview", "nobody"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("preview of an unknown receiver: %v", err)
	}
	// Silences and a test send.
	if _, _, err := run("ops", "notify", "silence", "add", "--for", "1h", "--comment", "x"); err == nil || !strings.Contains(err.Error(), "--matcher is required") {
		t.Errorf("a silence without matchers: %v", err)
	}
	added := must("ops", "notify", "silence", "add", "--matcher", `environment="staging"`, "--for", "2h", "--comment", "load test")
	sid := strings.Fields(added)[1]
	wantLines(t, "silence list", must("grace", "notify", "silence", "list"), "ID STATE ENDS BY MATCHERS COMMENT", sid+" active")
	wantLines(t, "silence expire", must("ops", "notify", "silence", "expire", sid, "--reason", "done"), "silence "+sid+" expired")
	wantLines(t, "test", must("ops", "notify", "test", "ops"), "ops took the test message \"[TEST]")
}
