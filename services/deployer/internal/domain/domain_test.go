package domain_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/penguinmails/floe/libs/errs"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func describe(steps []*deployv1.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, domain.Describe(s))
	}
	return out
}

func TestPlans(t *testing.T) {
	t.Parallel()
	cfg := domain.DefaultStrategyConfig()
	cfg.Canary.Steps = []string{"setWeight 25", "pause 5m", "analysis 2m", "setWeight 50", "pause"}
	cfg.FeatureFlag.Flag = "new-editor"
	tests := []struct {
		strategy deployv1.DeploymentStrategy
		previous bool
		want     []string
	}{
		{domain.BigBang, true, []string{"start the new version", "setWeight 100", "health check", "stop the previous version"}},
		{domain.RollingUpdate, true, []string{"start the new version", "health check", "setWeight 25", "health check", "setWeight 50", "health check", "setWeight 75", "health check", "setWeight 100", "health check", "stop the previous version"}},
		{domain.RollingUpdate, false, []string{"start the new version", "health check", "setWeight 100", "health check"}},
		{domain.BlueGreen, true, []string{"start the new version", "health check", "setWeight 100", "health check", "pause 30s", "stop the previous version"}},
		{domain.BlueGreen, false, []string{"start the new version", "health check", "setWeight 100", "health check"}},
		{domain.Canary, true, []string{"start the new version", "health check", "setWeight 25", "pause 5m0s", "analysis 2m0s", "setWeight 50", "pause until resumed", "setWeight 100", "health check", "stop the previous version"}},
		{domain.FeatureFlag, true, []string{"start the new version", "health check", "setWeight 100", "health check", "flag new-editor rollout 10%", "pause 1m0s", "flag new-editor rollout 50%", "pause 1m0s", "flag new-editor rollout 100%", "stop the previous version"}},
	}
	for _, tc := range tests {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			steps, err := domain.Plan(tc.strategy, cfg, tc.previous)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, describe(steps)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A feature-flag plan without configured percentages steps 10, 50, 100;
// a named variant travels with each step; a bake holds after the last one.
func TestFeatureFlagPlan(t *testing.T) {
	t.Parallel()
	var cfg domain.StrategyConfig
	cfg.FeatureFlag.Flag, cfg.FeatureFlag.Variant, cfg.FeatureFlag.Bake = "search", "v2", 2*time.Minute
	steps, err := domain.Plan(domain.FeatureFlag, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"start the new version", "health check", "setWeight 100", "health check", "flag search rollout 10% (variant v2)",
		"flag search rollout 50% (variant v2)", "flag search rollout 100% (variant v2)", "pause 2m0s"}
	if diff := cmp.Diff(want, describe(steps)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlanRefusals(t *testing.T) {
	t.Parallel()
	cfg := domain.DefaultStrategyConfig()
	cfg.Canary.Steps = []string{"setWeight 50", "setWeight 20", "pause -1s", "analysis", "jump"}
	_, err := domain.Plan(domain.Canary, cfg, true)
	var inv *errs.InvalidArgumentError
	if !asInvalid(err, &inv) || len(inv.Violations) != 4 {
		t.Fatalf("bad canary steps = %v, want 4 violations", err)
	}
	if _, err := domain.Plan(deployv1.DeploymentStrategy(99), cfg, true); err == nil || !strings.Contains(err.Error(), "canary") {
		t.Errorf("unknown strategy = %v", err)
	}
	if _, err := domain.Plan(domain.FeatureFlag, cfg, true); err == nil {
		t.Error("feature-flag without a flag accepted")
	}
	cfg.FeatureFlag.Flag, cfg.FeatureFlag.RolloutPercentages, cfg.FeatureFlag.Bake = "new editor", []int{10, 120}, -time.Second
	_, err = domain.Plan(domain.FeatureFlag, cfg, true)
	if !asInvalid(err, &inv) || len(inv.Violations) != 3 {
		t.Errorf("bad feature_flag = %v, want 3 violations (flag key, percentage, bake)", err)
	}
}

func asInvalid(err error, target **errs.InvalidArgumentError) bool {
	e, ok := err.(*errs.InvalidArgumentError)
	*target = e
	return ok
}

type at struct {
	ev proto.Message
	t  time.Time
}

func build(events ...at) *domain.Deployment {
	d := domain.NewDeployment()
	for _, e := range events {
		domain.Apply(d, e.ev, domain.Meta{Time: e.t})
	}
	return d
}

func canaryStarted() at {
	cfg := domain.DefaultStrategyConfig()
	cfg.Canary.Steps = []string{"setWeight 25", "pause 5m", "pause"}
	plan, _ := domain.Plan(domain.Canary, cfg, true)
	return at{&deployv1.DeploymentStarted{DeploymentId: "r1-production-1", ReleaseId: "r1", Version: "1.1.0", PreviousVersion: "1.0.0", Environment: "production", StrategyType: domain.Canary, Attempt: 1, Plan: plan}, t0}
}

func started(i uint32, when time.Time) at { return at{&deployv1.DeploymentStepStarted{Index: i}, when} }
func completed(i uint32, when time.Time) at {
	return at{&deployv1.DeploymentStepCompleted{Index: i}, when}
}

func TestNextResumesFromTheLog(t *testing.T) {
	t.Parallel()
	// Plan: 0 start, 1 check, 2 setWeight 25, 3 pause 5m, 4 pause, 5 setWeight 100, 6 check, 7 stop previous.
	tests := []struct {
		name   string
		events []at
		want   domain.Action
	}{
		{"fresh", []at{canaryStarted()}, domain.Action{Kind: domain.ActStartStep, Index: 0}},
		{"crashed after recording a step's start: run it (idempotently)", []at{canaryStarted(), started(0, t0)}, domain.Action{Kind: domain.ActRunStep, Index: 0}},
		{"timed pause keeps its end across a restart", []at{canaryStarted(), started(0, t0), completed(0, t0), started(1, t0), completed(1, t0), started(2, t0), completed(2, t0), started(3, t0.Add(time.Minute))},
			domain.Action{Kind: domain.ActWaitUntil, Index: 3, At: t0.Add(6 * time.Minute)}},
		{"manual pause waits for resume", []at{canaryStarted(), started(0, t0), completed(0, t0), started(1, t0), completed(1, t0), started(2, t0), completed(2, t0), started(3, t0), completed(3, t0), started(4, t0)},
			domain.Action{Kind: domain.ActWaitResume, Index: 4}},
		{"resume ends the manual pause", []at{canaryStarted(), started(0, t0), completed(0, t0), started(1, t0), completed(1, t0), started(2, t0), completed(2, t0), started(3, t0), completed(3, t0), started(4, t0), {&deployv1.DeploymentResumed{Index: 4}, t0}},
			domain.Action{Kind: domain.ActStartStep, Index: 5}},
		{"rollback takes over", []at{canaryStarted(), started(0, t0), {&deployv1.RollbackStarted{Reason: "x", Trigger: "check"}, t0}}, domain.Action{Kind: domain.ActRollback}},
		{"all done", func() []at {
			evs := []at{canaryStarted()}
			for i := uint32(0); i < 8; i++ {
				evs = append(evs, started(i, t0), completed(i, t0))
				if i == 4 {
					evs = evs[:len(evs)-1]
					evs = append(evs, at{&deployv1.DeploymentResumed{Index: 4}, t0})
				}
			}
			return evs
		}(), domain.Action{Kind: domain.ActSucceed}},
		{"finished", []at{canaryStarted(), {&deployv1.DeploymentSucceeded{}, t0}}, domain.Action{Kind: domain.ActNone}},
		{"pause command holds before the next step", []at{canaryStarted(), started(0, t0), completed(0, t0), {&deployv1.DeploymentPaused{Index: 1}, t0}}, domain.Action{Kind: domain.ActWaitResume, Index: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := domain.Next(build(tc.events...))
			got.Step = nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	running := build(canaryStarted(), started(0, t0))
	if _, err := domain.Abort(running, "r1-production-1", " "); err == nil {
		t.Error("abort without a reason accepted")
	}
	evs, err := domain.Abort(running, "r1-production-1", "wrong build")
	if err != nil || len(evs) != 2 {
		t.Fatalf("abort = %v, %v", evs, err)
	}
	aborted := build(canaryStarted(), started(0, t0), at{evs[0], t0}, at{evs[1], t0}, at{&deployv1.RolledBack{}, t0})
	if aborted.Status() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ABORTED {
		t.Errorf("status after abort = %v", aborted.Status())
	}
	if _, err := domain.Pause(aborted, "r1-production-1", ""); err == nil {
		t.Error("pausing an aborted deployment accepted")
	}
	if _, err := domain.Resume(running, "r1-production-1"); err == nil {
		t.Error("resuming a deployment that is not waiting accepted")
	}
	first := build(at{&deployv1.DeploymentStarted{DeploymentId: "d", Plan: []*deployv1.Step{{Kind: deployv1.StepKind_STEP_KIND_START}}}, t0}, at{&deployv1.DeploymentSucceeded{}, t0})
	if _, err := domain.Rollback(first, "d", "bad", "manual"); err == nil || !strings.Contains(err.Error(), "first") {
		t.Errorf("rolling back a first deployment = %v", err)
	}
	if _, err := domain.Rollback(domain.NewDeployment(), "x", "bad", "manual"); err == nil {
		t.Error("rollback of an unknown deployment accepted")
	}
}

func TestWeights(t *testing.T) {
	t.Parallel()
	d := build(canaryStarted())
	if diff := cmp.Diff(map[string]int{"1.1.0": 25, "1.0.0": 75}, d.Weights(25)); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff(map[string]int{"1.1.0": 100}, d.Weights(100)); diff != "" {
		t.Error(diff)
	}
}

// A snapshot round trip keeps everything: the restored deployment renders,
// resumes and takes events as the original.
func TestDeploymentSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	d := domain.NewDeployment()
	delivered := at{&deployv1.ConfigDelivered{DeploymentId: "r1-production-1", Environment: "production", Version: "1.1.0", ConfigVersion: 3, ConfigDigest: "sha256:ab",
		Secrets: []*deployv1.DeliveredSecret{{Path: "database.password", Variable: "DATABASE_PASSWORD", Reference: "secret://db/password", Version: 2}},
		Kind:    deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_START}, t0.Add(time.Second)}
	for _, e := range []at{canaryStarted(), started(0, t0.Add(time.Second)), delivered, completed(0, t0.Add(2*time.Second)), started(1, t0.Add(3*time.Second))} {
		domain.Apply(d, e.ev, domain.Meta{ID: "ev", Time: e.t, CorrelationID: "req-1", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
	}
	b, err := domain.MarshalDeployment(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := domain.UnmarshalDeployment(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(domain.ToProto(d), domain.ToProto(back), protocmp.Transform()); diff != "" {
		t.Errorf("after the round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(d.Delivery(), back.Delivery(), protocmp.Transform()); diff != "" || back.ConfigVersion() != 3 || domain.ToProto(back).GetConfigVersion() != 3 {
		t.Errorf("the delivery after the round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(domain.Next(d), domain.Next(back), protocmp.Transform()); diff != "" || d.Origin() != back.Origin() || d.LastEvent() != back.LastEvent() {
		t.Errorf("next action %+v / %+v, origin %+v / %+v", domain.Next(d), domain.Next(back), d.Origin(), back.Origin())
	}
	c := back.Clone()
	domain.Apply(c, completed(1, t0.Add(time.Minute)).ev, domain.Meta{Time: t0.Add(time.Minute)})
	if back.Current() == c.Current() {
		t.Error("a clone shares its step state with the original")
	}
	if _, err := domain.UnmarshalDeployment([]byte(`{"plan":[{}],"started":[]}`)); err == nil {
		t.Error("a snapshot whose steps and times disagree decoded")
	}
}

// The START step's delivery is the deployment's configuration; a RESTART
// (an earlier delivery repeated) and a delivery to another version are not.
func TestConfigDelivered(t *testing.T) {
	t.Parallel()
	start := &deployv1.ConfigDelivered{Version: "1.1.0", ConfigVersion: 4, ConfigDigest: "sha256:cd", Kind: deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_START}
	tests := []struct {
		name   string
		events []at
		want   uint64
	}{
		{"none", []at{canaryStarted()}, 0},
		{"the start step's", []at{canaryStarted(), started(0, t0), {start, t0}}, 4},
		{"a restart is not the deployment's", []at{canaryStarted(), started(0, t0), {start, t0},
			{&deployv1.ConfigDelivered{Version: "1.0.0", ConfigVersion: 2, Kind: deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_RESTART}, t0}}, 4},
		{"another version's", []at{canaryStarted(), {&deployv1.ConfigDelivered{Version: "1.0.0", ConfigVersion: 2, Kind: deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_START}, t0}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := build(tc.events...)
			if d.ConfigVersion() != tc.want || domain.ToProto(d).GetConfigVersion() != tc.want {
				t.Errorf("config version %d (proto %d), want %d", d.ConfigVersion(), domain.ToProto(d).GetConfigVersion(), tc.want)
			}
		})
	}
}

// A scale_up trigger adds one instance per firing up to max_replicas, and
// only while the deployment runs its version; each firing is answered once,
// and a snapshot keeps the count and the answers.
func TestScaleUp(t *testing.T) {
	t.Parallel()
	d := build(canaryStarted())
	if d.Replicas() != 1 || domain.ToProto(d).GetReplicas() != 1 {
		t.Fatalf("replicas of a new deployment %d, want 1", d.Replicas())
	}
	if n, why := domain.ScaleUp(d, "exec", false, "", 3); n != 0 || !strings.Contains(why, "exec driver cannot") {
		t.Errorf("a driver that cannot scale: %d, %q", n, why)
	}
	if n, why := domain.ScaleUp(d, "local", true, "", 3); n != 2 || why != "" {
		t.Fatalf("first scale-up: %d, %q; want 2", n, why)
	}
	d = build(canaryStarted(), at{&deployv1.DeploymentScaled{Replicas: 3, PreviousReplicas: 2, CauseEventId: "tf-1"}, t0.Add(time.Minute)})
	if n, why := domain.ScaleUp(d, "local", true, "", 3); n != 0 || !strings.Contains(why, "already runs 3 instances") {
		t.Errorf("at max_replicas: %d, %q", n, why)
	}
	if !d.ScaleAnswered("tf-1") || d.ScaleAnswered("tf-2") {
		t.Error("answered causes wrong")
	}
	domain.Apply(d, &deployv1.ScaleUpRefused{CauseEventId: "tf-2"}, domain.Meta{Time: t0.Add(2 * time.Minute)})
	if !d.ScaleAnswered("tf-2") || d.Replicas() != 3 {
		t.Errorf("a refusal: answered %v, replicas %d", d.ScaleAnswered("tf-2"), d.Replicas())
	}
	b, err := domain.MarshalDeployment(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := domain.UnmarshalDeployment(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Replicas() != 3 || !back.ScaleAnswered("tf-1") || !back.ScaleAnswered("tf-2") {
		t.Errorf("after a snapshot: replicas %d, answered %v %v", back.Replicas(), back.ScaleAnswered("tf-1"), back.ScaleAnswered("tf-2"))
	}
	for i := range 40 {
		domain.Apply(d, &deployv1.ScaleUpRefused{CauseEventId: fmt.Sprint("later-", i)}, domain.Meta{})
	}
	if d.ScaleAnswered("tf-1") || !d.ScaleAnswered("later-39") {
		t.Error("the answered causes are not bounded to the latest")
	}

	// Succeeded: scaled while it is what the environment runs.
	done := build(canaryStarted(), at{&deployv1.DeploymentSucceeded{}, t0.Add(time.Hour)})
	if n, why := domain.ScaleUp(done, "local", true, "1.1.0", 3); n != 2 || why != "" {
		t.Errorf("a baking deployment: %d, %q", n, why)
	}
	if n, why := domain.ScaleUp(done, "local", true, "1.2.0", 3); n != 0 || !strings.Contains(why, "no longer runs in production (1.2.0 does)") {
		t.Errorf("a replaced deployment: %d, %q", n, why)
	}
	rolling := build(canaryStarted(), at{&deployv1.RollbackStarted{Reason: "bad"}, t0.Add(time.Minute)})
	if n, why := domain.ScaleUp(rolling, "local", true, "", 3); n != 0 || !strings.Contains(why, "rolling_back") {
		t.Errorf("a deployment rolling back: %d, %q", n, why)
	}
}
