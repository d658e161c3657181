package deployersvc_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

// flagWorld is the deployer (local driver, demo-app processes) and the flag
// service in one process on a real embedded JetStream; the test plays the
// release service.
type flagWorld struct {
	*testkit.Process
	t       *testing.T
	js      jetstream.JetStream
	release *eventstore.JetStreamStore
	// withFlag says whether the flag service runs (read at each (re)start).
	withFlag atomic.Bool
}

func startFlagWorld(t *testing.T, withFlag bool, flagTimeout time.Duration) *flagWorld {
	t.Helper()
	_, demoappBin := binaries(t)
	file := deployersvc.File{App: "demo", Driver: "local", FlagTimeout: flagTimeout}
	file.Local.Command = []string{demoappBin, "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"}
	file.Local.Proxies = map[string]string{"production": freePort(t)}
	file.Local.StartTimeout = 20 * time.Second
	var prod deployersvc.StrategyConfig
	prod.FeatureFlag.RolloutPercentages = []int{10, 50, 100} // the flag: the product's
	file.Strategies = map[string]deployersvc.StrategyConfig{"production": prod}
	w := &flagWorld{t: t}
	w.withFlag.Store(withFlag)
	w.Process = testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{"rm": testkit.Roles(auth.RoleReleaseManager)},
		Entries: func() []service.Entry {
			entries := []service.Entry{service.Of(deployersvc.Service, deployersvc.Config{Options: deployersvc.Options{Defaults: &file}})}
			if w.withFlag.Load() {
				entries = append(entries, service.Of(flagsvc.Service, flagsvc.Config{Options: flagsvc.Options{TickInterval: time.Second}}))
			}
			return entries
		},
		Writers: map[string][]string{"release": {"release"}, "flag": flagsvc.Service.Aggregates},
	})
	_, w.js = natstest.Connect(t, w.NATS)
	w.release = w.Store("release")
	return w
}

func (w *flagWorld) flags() flagv1.FlagServiceClient {
	return flagv1.NewFlagServiceClient(w.Conn("rm"))
}

func (w *flagWorld) createFlag(key string) *flagv1.Flag {
	w.t.Helper()
	resp, err := w.flags().CreateFlag(testkit.Context(w.t), &flagv1.CreateFlagRequest{Reason: "launch", Flag: &flagv1.Flag{
		Environment: "production", Key: key, Description: "the new " + key,
		Variants:       map[string]*structpb.Value{"on": structpb.NewBoolValue(true), "off": structpb.NewBoolValue(false)},
		DefaultVariant: "off",
	}})
	if err != nil {
		w.t.Fatal(err)
	}
	return resp.GetFlag()
}

// promote records the release service's PromotionRequested of a product's release to production.
func (w *flagWorld) promote(product, release, version string, strategy deployv1.DeploymentStrategy) string {
	w.t.Helper()
	ctx := causal.With(context.Background(), causal.Origin{Actor: "bob"})
	_, err := w.release.Append(ctx, "release", release, eventstore.NoStream, eventstore.Meta{Actor: "bob"}, eventstore.Event{Message: &releasev1.PromotionRequested{
		ReleaseId: release, Product: product, Version: version, Environment: "production", StrategyType: strategy, RequestedBy: "bob", Attempt: 1,
	}})
	if err != nil {
		w.t.Fatal(err)
	}
	return release + "-production-1"
}

// ended waits until deployment id has ended with one of the events named, and returns its events.
func (w *flagWorld) ended(id string, limit time.Duration) []*eventstore.RecordedEvent {
	w.t.Helper()
	logs := logReader{w.t, w.js}
	var evs []*eventstore.RecordedEvent
	testkit.EventuallyWithin(w.t, limit, func() error {
		evs = logs.events(id)
		for _, e := range evs {
			switch e.Name {
			case "DeploymentSucceeded", "RolledBack", "DeploymentFailed":
				return nil
			}
		}
		return fmt.Errorf("deployment %s has not ended: %v", id, names(evs))
	})
	return evs
}

func last(evs []*eventstore.RecordedEvent) string { return evs[len(evs)-1].Name }

// rollbackOf is the deployment's RollbackStarted.
func rollbackOf(t *testing.T, evs []*eventstore.RecordedEvent) *deployv1.RollbackStarted {
	t.Helper()
	for _, e := range evs {
		var rs deployv1.RollbackStarted
		if e.Name == "RollbackStarted" && e.DecodeInto(&rs) == nil {
			return &rs
		}
	}
	t.Fatalf("no RollbackStarted: %v", names(evs))
	return nil
}

// flagSteps are the results of the deployment's completed FLAG_ROLLOUT steps, and how often each started.
func flagSteps(t *testing.T, evs []*eventstore.RecordedEvent) (results []string, started map[uint32]int) {
	t.Helper()
	started = map[uint32]int{}
	flagIdx := map[uint32]bool{}
	for _, e := range evs {
		m, err := e.Decode()
		if err != nil {
			t.Fatal(err)
		}
		switch ev := m.(type) {
		case *deployv1.DeploymentStepStarted:
			started[ev.GetIndex()]++
			if ev.GetStep().GetKind() == deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT {
				flagIdx[ev.GetIndex()] = true
				if ev.GetEnvironment() != "production" || ev.GetReleaseId() == "" || ev.GetDeploymentId() != e.AggregateID {
					t.Errorf("DeploymentStepStarted of a flag step does not name its deployment: %v", ev)
				}
			}
		case *deployv1.DeploymentStepCompleted:
			if flagIdx[ev.GetIndex()] {
				results = append(results, ev.GetResult())
			}
		}
	}
	return results, started
}

// historyLines is the flag's history, one line per change: summary | reason | release.
func (w *flagWorld) historyLines(key string) []string {
	w.t.Helper()
	resp, err := w.flags().GetFlagHistory(testkit.Context(w.t), &flagv1.GetFlagHistoryRequest{Environment: "production", Key: key})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range resp.GetEntries() {
		out = append(out, e.GetSummary()+" | "+e.GetReason()+" | "+e.GetReleaseId())
	}
	return out
}

// TestFeatureFlagDeploymentDrivesTheFlag: a feature-flag deployment that
// names no flag drives its product's flag, 10 → 50 → 100 %, each step
// completing only once the flag service has applied it, under the release.
func TestFeatureFlagDeploymentDrivesTheFlag(t *testing.T) {
	t.Parallel()
	w := startFlagWorld(t, true, 30*time.Second)
	w.createFlag("search")
	if evs := w.ended(w.promote("search", "r1", "1.0.0", deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BIG_BANG), time.Minute); last(evs) != "DeploymentSucceeded" {
		t.Fatalf("first deployment: %v", names(evs))
	}
	id := w.promote("search", "r2", "1.1.0", deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_FEATURE_FLAG)
	evs := w.ended(id, time.Minute)
	if last(evs) != "DeploymentSucceeded" {
		t.Fatalf("feature-flag deployment ended %s: %v", last(evs), names(evs))
	}
	results, _ := flagSteps(t, evs)
	if len(results) != 3 {
		t.Fatalf("flag steps completed: %q", results)
	}
	for i, p := range []int{10, 50, 100} {
		if want := fmt.Sprintf("flag search to %d%% applied by the flag service (on for %d%%, log position", p, p); !strings.HasPrefix(results[i], want) {
			t.Errorf("step result %q, want %q…", results[i], want)
		}
	}
	got, err := w.flags().GetFlag(testkit.Context(t), &flagv1.GetFlagRequest{Environment: "production", Key: "search"})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.GetFlag().GetRollout(); r.GetVariant() != "on" || r.GetPercentage().GetPercent() != 100 {
		t.Errorf("the flag's rollout after the deployment: %v", r)
	}
	want := []string{
		"created (enabled, default off) | launch | ",
		"rollout: on for 10% | deployment r2-production-1 step 4: rollout 10% | r2",
		"rollout: on for 50% | deployment r2-production-1 step 5: rollout 50% | r2",
		"rollout: on for 100% | deployment r2-production-1 step 6: rollout 100% | r2",
	}
	if diff := cmp.Diff(want, w.historyLines("search")); diff != "" {
		t.Errorf("flag history (-want +got):\n%s", diff)
	}
}

// TestFeatureFlagRefusalRollsBack: the flag service refuses a rollout of a
// flag that does not exist; the step fails with its reason and the
// deployment rolls back (trigger "flag").
func TestFeatureFlagRefusalRollsBack(t *testing.T) {
	t.Parallel()
	w := startFlagWorld(t, true, 30*time.Second)
	id := w.promote("ghost", "r1", "1.0.0", deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_FEATURE_FLAG)
	evs := w.ended(id, time.Minute)
	if last(evs) != "RolledBack" {
		t.Fatalf("ended %s: %v", last(evs), names(evs))
	}
	rs := rollbackOf(t, evs)
	if want := "the flag service refused the rollout of flag ghost to 10%: flag ghost does not exist in production"; rs.GetTrigger() != "flag" || !strings.HasPrefix(rs.GetReason(), want) {
		t.Errorf("RollbackStarted %v; want trigger flag and reason %q…", rs, want)
	}
	if h := w.historyLines("ghost"); len(h) != 1 || !strings.HasPrefix(h[0], "rollout to 10% refused (deployment r1-production-1 step 4) | flag ghost does not exist") {
		t.Errorf("history of the unknown flag: %q", h)
	}
}

// TestFeatureFlagTimeout: without a flag service, a flag step fails after
// the configured timeout, saying why, and the deployment rolls back.
func TestFeatureFlagTimeout(t *testing.T) {
	t.Parallel()
	w := startFlagWorld(t, false, time.Second)
	id := w.promote("search", "r1", "1.0.0", deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_FEATURE_FLAG)
	evs := w.ended(id, time.Minute)
	if last(evs) != "RolledBack" {
		t.Fatalf("ended %s: %v", last(evs), names(evs))
	}
	rs := rollbackOf(t, evs)
	if want := "the flag service did not apply the rollout of flag search to 10% within 1s; is it running?"; rs.GetTrigger() != "flag" || rs.GetReason() != want {
		t.Errorf("RollbackStarted %v; want trigger flag and reason %q", rs, want)
	}
}

// TestFeatureFlagStepSurvivesRestart: the deployer stops while a flag step
// waits for a flag service that is not running; the process comes back
// with the flag service, which catches up on the step; the deployer resumes
// the same step, finds the answer and goes on — every step started and
// completed exactly once, every rollout applied once.
func TestFeatureFlagStepSurvivesRestart(t *testing.T) {
	t.Parallel()
	w := startFlagWorld(t, false, 2*time.Minute)
	id := w.promote("search", "r1", "1.0.0", deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_FEATURE_FLAG)
	logs := logReader{t, w.js}
	testkit.EventuallyWithin(t, time.Minute, func() error {
		if evs := logs.events(id); !hasStepStarted(evs, 4) {
			return fmt.Errorf("the first flag step has not started: %v", names(evs))
		}
		return nil
	})
	w.Stop()
	w.withFlag.Store(true)
	// The flag exists before the flag service reads the step: created
	// through the log as the flag service would, so that the restarted
	// process finds it.
	flagStore := w.Store("flag")
	ctx := causal.With(context.Background(), causal.Origin{Actor: "alice"})
	if _, err := flagStore.Append(ctx, "flagset", "production", eventstore.NoStream, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: &flagv1.FlagCreated{
		Reason: "launch", Flag: &flagv1.Flag{Environment: "production", Key: "search", State: flagv1.FlagState_FLAG_STATE_ENABLED, DefaultVariant: "off",
			Variants: map[string]*structpb.Value{"on": structpb.NewBoolValue(true), "off": structpb.NewBoolValue(false)}},
	}}); err != nil {
		t.Fatal(err)
	}
	w.Restart()
	evs := w.ended(id, time.Minute)
	if last(evs) != "DeploymentSucceeded" {
		t.Fatalf("ended %s: %v", last(evs), names(evs))
	}
	results, started := flagSteps(t, evs)
	if len(results) != 3 {
		t.Errorf("flag steps completed: %q", results)
	}
	for i, n := range started {
		if n != 1 {
			t.Errorf("step %d started %d times", i, n)
		}
	}
	h := w.historyLines("search")
	if len(h) != 4 || !strings.HasPrefix(h[1], "rollout: on for 10% | deployment r1-production-1 step 4") {
		t.Errorf("flag history: %q", h)
	}
}
