package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/notifier/notifiersvc"
)

// floe status against a real notifier: components, an incident through its
// life, maintenance, refusals, and an incident opened by a rollback.
func TestStatusOfARealServer(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "secrets.keyring")
	if _, err := secrets.CreateKeyringFile(keys); err != nil {
		t.Fatal(err)
	}
	p := testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{"ops": testkit.Roles(auth.RoleOperations), "grace": testkit.Roles(auth.RoleSupport)},
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(notifiersvc.Service, notifiersvc.Config{Options: notifiersvc.Options{
				ProductionEnvironments: "production", HTTPAddr: "127.0.0.1:0",
				Status: notifiersvc.StatusOptions{Incidents: true, Name: "Penguin Mails", URL: "https://status.example.com"}},
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
	refused := func(what, want string, user string, args ...string) {
		t.Helper()
		if _, _, err := run(user, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", what, err, want)
		}
	}
	field := func(out, name string) string {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == name {
				return f[1]
			}
		}
		t.Fatalf("no %s line in:\n%s", name, out)
		return ""
	}

	wantLines(t, "empty page", must("grace", "status"), "PAGE Penguin Mails (https://status.example.com)", "STATUS All Systems Operational (none)",
		"COMPONENT STATUS UPTIME (90 DAYS) NAME")
	wantLines(t, "component add", must("ops", "status", "component", "add", "payments", "Payments API", "--description", "Card payments"),
		"component payments (Payments API): operational")
	wantLines(t, "component set", must("ops", "status", "component", "set", "payments", "degraded-performance"),
		"component payments (Payments API): degraded_performance")

	out := must("ops", "status", "incident", "open", "Checkout errors", "--body", "We are investigating failed payments.",
		"--component", "payments=partial_outage")
	wantLines(t, "incident open", out, "NAME Checkout errors", "STATUS investigating (impact major)", "COMPONENTS payments",
		"investigating: We are investigating failed payments. [payments degraded_performance→partial_outage]")
	id := field(out, "INCIDENT")
	wantLines(t, "page with an incident", must("grace", "status"), "STATUS Partial System Outage (major)", "payments partial_outage",
		id+" investigating major")
	wantLines(t, "incident update", must("ops", "status", "incident", "update", id, "--status", "identified", "--body", "A slow replica."),
		"STATUS identified (impact major)", "identified: A slow replica.")
	out = must("ops", "status", "incident", "resolve", id)
	wantLines(t, "incident resolve", out, "STATUS resolved (impact major)", "resolved: This incident has been resolved. [payments partial_outage→operational]")
	if field(out, "RESOLVED") == "-" {
		t.Errorf("no resolution time:\n%s", out)
	}
	refused("resolving it again", "FailedPrecondition", "ops", "status", "incident", "resolve", id)
	// The list keeps the resolved incident (floe status shows only open ones).
	wantLines(t, "incident list", must("grace", "status", "incident", "list"), "INCIDENT STATUS IMPACT STARTED RESOLVED NAME",
		id+" resolved major")
	wantLines(t, "unresolved incidents", must("grace", "status", "incident", "list", "--unresolved"), "no incidents")
	refused("a limit of 0", "--limit 0", "grace", "status", "incident", "list", "--limit", "0")
	refused("an incident without a body", "--body is required", "ops", "status", "incident", "open", "x")
	refused("a bad component flag", "COMPONENT=STATUS", "ops", "status", "incident", "open", "x", "--body", "y", "--component", "payments")
	refused("a bad component status", "want one of operational", "ops", "status", "component", "set", "payments", "broken")
	refused("an incident on an unknown component", `no component "nope"`, "ops", "status", "incident", "open", "x", "--body", "y", "--component", "nope=major_outage")
	refused("support opening an incident", "notify.write", "grace", "status", "incident", "open", "x", "--body", "y")

	from, until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339), time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339)
	out = must("ops", "status", "maintenance", "schedule", "Database upgrade", "--from", from, "--until", until, "--component", "payments", "--body", "Planned.")
	wantLines(t, "maintenance schedule", out, "STATUS scheduled", "COMPONENTS payments")
	mid := field(out, "MAINTENANCE")
	wantLines(t, "page with a maintenance", must("grace", "status"), mid+" scheduled")
	wantLines(t, "maintenance start", must("ops", "status", "maintenance", "start", mid), "STATUS in_progress", "[payments operational→under_maintenance]")
	wantLines(t, "maintenance complete", must("ops", "status", "maintenance", "complete", mid, "--body", "Done."), "STATUS completed", "completed: Done.")
	refused("completing it again", "FailedPrecondition", "ops", "status", "maintenance", "complete", mid)

	// A production rollback opens an incident on its product by itself.
	meta := eventstore.Meta{Actor: "system:deployer"}
	st := p.Store("deployer")
	if _, err := st.Append(context.Background(), "deployment", "r1-production-1", eventstore.NoStream, meta,
		eventstore.Event{Message: &deployv1.DeploymentStarted{DeploymentId: "r1-production-1", ReleaseId: "r1", Version: "1.0.0", Environment: "production",
			App: "demo", Product: "penguinmails"}},
		eventstore.Event{Message: &deployv1.RollbackStarted{Reason: "error rate 12% > 10% for 5m", Trigger: "error-rate"}}); err != nil {
		t.Fatal(err)
	}
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		if out = must("grace", "status"); !strings.Contains(out, "penguinmails") || !strings.Contains(out, "deployment-") {
			return fmt.Errorf("no incident yet:\n%s", out)
		}
		return nil
	})
	// One component in major outage of two is a partial outage, but the open
	// incident's impact (critical, from the major outage) raises the indicator.
	wantLines(t, "page with a rollback", out, "STATUS Major System Outage (critical)", "penguinmails major_outage", "investigating critical")

	var page struct {
		Indicator  string
		Components []struct {
			ID     string
			Status string
			Uptime struct {
				Percent float64
				Days    []json.RawMessage
			}
		}
		Incidents []struct{ ID, Status string }
	}
	if err := json.Unmarshal([]byte(must("grace", "status", "-o", "json")), &page); err != nil {
		t.Fatal(err)
	}
	if page.Indicator != "STATUS_INDICATOR_CRITICAL" || len(page.Components) != 2 || len(page.Incidents) != 1 || len(page.Components[0].Uptime.Days) != 90 {
		t.Errorf("-o json: indicator %s, %d components, %d incidents", page.Indicator, len(page.Components), len(page.Incidents))
	}
}
