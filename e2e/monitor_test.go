package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/eventstore"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// TestDemoRollback runs `floe demo rollback` against `floe dev` on the local
// driver, with the monitor evaluating every second and an error_rate trigger
// of 10% sustained for 3 s: the canary of a demo-app version failing 20% of
// its requests is rolled back by the monitor, at the first evaluation at or
// after the sustain duration, and the log says why.
func TestDemoRollback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	const interval, sustain = time.Second, 3 * time.Second
	write := func(name, content string) string { return writeFile(t, dataDir, name, content) }
	monitorCfg := errorRateMonitor(t, dataDir)
	// The canary pauses long enough for the trigger to act first.
	deployerCfg := write("deployer-e2e.yaml", `local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
strategies:
  development:
    canary: {steps: ["setWeight 20", "pause 90s", "setWeight 100"]}
`)
	d := startDev(t, dataDir, "--monitor-config", monitorCfg, "--deployer-config", deployerCfg)
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}

	out, err := runCLI(t, ctx, env, "demo", "rollback", "--rps", "50")
	if err != nil {
		t.Fatalf("floe demo rollback: %v\n%s\nserver stderr:\n%s", err, out, d.stderr)
	}
	for _, want := range []string{"Nothing runs in development yet", "monitor: trigger error_rate breach started", "monitor: ROLLBACK triggered by error_rate", "ended ROLLED_BACK"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`Deployment (\S+) ended ROLLED_BACK`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no rolled-back deployment in the output:\n%s", out)
	}
	id := m[1]

	// The log: the monitor's evaluations and firing, and the deployer's rollback naming it.
	_, js := d.mustNATS(t, "reader")
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/e2e", Aggregates: []string{"monitoring", "deployment"}})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := store.Load(ctx, "monitoring", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	var fired, beforeFired, last *monitorv1.TriggerEvaluated
	var triggered *monitorv1.RollbackTriggered
	var triggeredSeq uint64
	for _, e := range mon.Events {
		msg, err := e.Decode()
		if err != nil {
			t.Fatal(err)
		}
		switch ev := msg.(type) {
		case *monitorv1.TriggerEvaluated:
			if ev.GetTrigger() != "error_rate" {
				continue
			}
			if ev.GetKind() == "fired" && fired == nil {
				fired, beforeFired = ev, last
			}
			last = ev
		case *monitorv1.RollbackTriggered:
			if triggered != nil {
				t.Errorf("a second RollbackTriggered: %v", ev)
			}
			triggered, triggeredSeq = ev, e.Seq
		}
	}
	if fired == nil || beforeFired == nil || triggered == nil {
		t.Fatalf("no firing (after an evaluation that did not fire) recorded for %s: %d monitoring events", id, len(mon.Events))
	}
	// Fired at the first evaluation at or after the sustain duration: the
	// breach had lasted at least 3 s, and at the evaluation before (one
	// interval earlier, give or take the scheduler) less than 3 s. The
	// interval itself is a ticker's: under load a tick can come late, so the
	// bound is checked against the evaluations recorded, not the clock.
	breachBegan := fired.GetAt().AsTime().Add(-fired.GetSustained().AsDuration())
	held := fired.GetSustained().AsDuration()
	heldBefore := beforeFired.GetAt().AsTime().Sub(breachBegan)
	if held < sustain || heldBefore >= sustain {
		t.Errorf("fired with the breach sustained %s; the evaluation before had it at %s; want it to fire at the first evaluation at or after %s", held, heldBefore, sustain)
	}
	t.Logf("fired with the breach sustained %s (sustain %s, interval %s; the evaluation before was %s earlier)",
		held, sustain, interval, fired.GetAt().AsTime().Sub(beforeFired.GetAt().AsTime()))
	if triggered.GetObserved() <= 0.1 || triggered.GetRuleVersion() != 1 || triggered.GetEnvironment() != "development" ||
		!strings.Contains(triggered.GetVersion(), "-faulty.") || !strings.Contains(fired.GetQuery(), `version="`+triggered.GetVersion()+`"`) {
		t.Errorf("RollbackTriggered %v (query %s)", triggered, fired.GetQuery())
	}
	dep, err := store.Load(ctx, "deployment", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rollback *eventstore.RecordedEvent
	for _, e := range dep.Events {
		if e.Name == "RollbackStarted" {
			rollback = e
		}
	}
	if rollback == nil {
		t.Fatal("no RollbackStarted in the deployment")
	}
	var rs deployv1.RollbackStarted
	if err := rollback.DecodeInto(&rs); err != nil {
		t.Fatal(err)
	}
	if rs.GetTrigger() != "monitor" || !strings.HasPrefix(rs.GetReason(), "error_rate:") || rollback.Seq < triggeredSeq {
		t.Errorf("RollbackStarted %v at %d (trigger at %d)", &rs, rollback.Seq, triggeredSeq)
	}
	checkCausalChain(t, ctx, store, dep.Events[0])
	if out, err := runCLI(t, ctx, env, "audit", "verify"); err != nil || !strings.Contains(out, "OK") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
}

// checkCausalChain follows one promotion through every service: the gRPC
// Promote call that asked for it (its request id is the correlation id),
// the deployer's start and steps, the monitor's start, evaluations and
// firing, the deployer's rollback and the release's record of it. Every
// event that follows from the call carries its correlation id and its trace
// id, and names its direct cause: the request, or an event of the same chain.
func checkCausalChain(t *testing.T, ctx context.Context, store *eventstore.JetStreamStore, started *eventstore.RecordedEvent) {
	t.Helper()
	corr := started.CorrelationID
	if corr == "" || started.TraceParent == "" {
		t.Fatalf("DeploymentStarted has correlation %q and traceparent %q", corr, started.TraceParent)
	}
	traceID := func(tp string) string {
		if parts := strings.Split(tp, "-"); len(parts) == 4 {
			return parts[1]
		}
		return ""
	}
	var chain []*eventstore.RecordedEvent
	byID := map[string]*eventstore.RecordedEvent{}
	if err := store.ReadAll(ctx, 1, func(e *eventstore.RecordedEvent) error {
		if e.CorrelationID == corr {
			chain = append(chain, e)
			byID[e.ID] = e
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first := map[string]*eventstore.RecordedEvent{} // the first event of each name
	for _, e := range chain {
		if first[e.Name] == nil {
			first[e.Name] = e
		}
		if got, want := traceID(e.TraceParent), traceID(started.TraceParent); got != want || got == "" {
			t.Errorf("%s %s at %d: trace %q, want the promotion's %q", e.Aggregate, e.Name, e.Seq, e.TraceParent, want)
		}
		if e.CausationID != corr && byID[e.CausationID] == nil {
			t.Errorf("%s %s at %d: cause %q is neither the request nor an event of the chain", e.Aggregate, e.Name, e.Seq, e.CausationID)
		}
	}
	// The direct causes along the way.
	edges := []struct{ event, cause string }{
		{"PromotionRequested", ""}, // the request itself
		{"DeploymentStarted", "PromotionRequested"},
		{"ReleaseDeploying", "DeploymentStarted"},
		{"MonitoringStarted", "DeploymentStarted"},
		{"TriggerEvaluated", "MonitoringStarted"},
		{"RollbackTriggered", "MonitoringStarted"},
		{"RollbackStarted", "RollbackTriggered"},
		{"RolledBack", "RollbackStarted"},
		{"ReleaseRolledBack", "RolledBack"},
		{"ProductDeployed", "RolledBack"},
	}
	for _, edge := range edges {
		e := first[edge.event]
		if e == nil {
			t.Errorf("no %s carries the correlation id %s (chain: %d events)", edge.event, corr, len(chain))
			continue
		}
		if edge.cause == "" {
			if e.CausationID != corr {
				t.Errorf("%s: cause %q, want the request %q", edge.event, e.CausationID, corr)
			}
			continue
		}
		if c := byID[e.CausationID]; c == nil || c.Name != edge.cause {
			got := "?"
			if c != nil {
				got = c.Name
			}
			t.Errorf("%s at %d: caused by %s (%s), want %s", edge.event, e.Seq, got, e.CausationID, edge.cause)
		}
	}
	// The deployer's steps: each caused by the deployment's event before it.
	var prev *eventstore.RecordedEvent
	for _, e := range chain {
		if e.Aggregate != "deployment" || e.AggregateID != started.AggregateID {
			continue
		}
		if prev != nil && (e.Name == "DeploymentStepStarted" || e.Name == "DeploymentStepCompleted") && e.CausationID != prev.ID {
			t.Errorf("%s at %d: caused by %s, want the deployment's previous event %s (%s)", e.Name, e.Seq, e.CausationID, prev.ID, prev.Name)
		}
		prev = e
	}
	t.Logf("causal chain of %s: %d events across %d aggregates", corr, len(chain), countAggregates(chain))
}

func countAggregates(events []*eventstore.RecordedEvent) int {
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.Aggregate] = true
	}
	return len(seen)
}
