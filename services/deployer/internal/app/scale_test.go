package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// TestScaleUpTrigger: each scale_up firing runs one more instance of the
// live version on the local driver, up to max_replicas (3), then is refused;
// a redelivered firing is answered once; alert firings are not the
// deployer's; a version that no longer runs is not scaled, and the next
// version starts with one instance.
func TestScaleUpTrigger(t *testing.T) {
	r := newRig(t, []string{"setWeight 50"})
	succeeded := func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	}
	stable := r.promote(t, "r1", "1.0.0", domain.BigBang)
	r.waitFor(t, stable, succeeded, "1.0.0 live")
	target := driver.Target{Environment: "production", App: "demo"}
	replicas := func(version string) int {
		st, err := r.drv.State(context.Background(), target)
		if err != nil {
			t.Fatal(err)
		}
		return st.Replicas[version]
	}

	ev := r.fireScaleUp(t, stable, 1, monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP)
	d := r.waitFor(t, stable, func(d *domain.Deployment) bool { return d.Replicas() == 2 }, "2 instances recorded")
	if got := replicas("1.0.0"); got != 2 {
		t.Fatalf("the driver runs %d instances of 1.0.0, want 2", got)
	}
	if got := r.share(t, 40); got["1.0.0"] != 1 {
		t.Errorf("traffic with 2 instances: %v", got)
	}
	before := d.AggregateVersion()
	r.deliverTrigger(t, ev) // redelivered
	if again, _ := r.engine.Load(context.Background(), stable); again.AggregateVersion() != before || again.Replicas() != 2 || replicas("1.0.0") != 2 {
		t.Errorf("a redelivered firing was answered again: version %d → %d, replicas %d, driver %d", before, again.AggregateVersion(), again.Replicas(), replicas("1.0.0"))
	}
	r.fireScaleUp(t, stable, 2, monitorv1.TriggerAction_TRIGGER_ACTION_ALERT)
	if again, _ := r.engine.Load(context.Background(), stable); again.AggregateVersion() != before {
		t.Error("an alert firing was answered by the deployer")
	}

	r.fireScaleUp(t, stable, 3, monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP)
	r.fireScaleUp(t, stable, 4, monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP)
	if got := replicas("1.0.0"); got != 3 {
		t.Errorf("the driver runs %d instances after three firings, want max_replicas 3", got)
	}
	events := r.events(t, stable)
	if got := events[len(events)-3:]; fmt.Sprint(got) != "[DeploymentScaled DeploymentScaled ScaleUpRefused]" {
		t.Errorf("the deployment's last events: %v", got)
	}
	refused := r.lastEvent(t, stable)
	var ref deployv1.ScaleUpRefused
	if err := refused.DecodeInto(&ref); err != nil || !strings.Contains(ref.GetReason(), "already runs 3 instances") || ref.GetReplicas() != 3 || ref.GetTrigger() != "latency" {
		t.Errorf("refusal %+v (%v)", &ref, err)
	}

	// A restarted deployer (whose local driver lost its processes) runs
	// the live version with the instances its deployment was scaled to.
	r.stop()
	r.start(t)
	testkit.Eventually(t, func() error {
		if got := replicas("1.0.0"); got != 3 {
			return fmt.Errorf("after a restart the driver runs %d instances of 1.0.0, want 3", got)
		}
		return nil
	})
	if got := r.share(t, 20); got["1.0.0"] != 1 {
		t.Errorf("traffic after the restart: %v", got)
	}

	next := r.promote(t, "r2", "1.1.0", domain.Canary)
	nd := r.waitFor(t, next, succeeded, "1.1.0 live")
	if nd.Replicas() != 1 || replicas("1.1.0") != 1 || replicas("1.0.0") != 0 {
		t.Errorf("after 1.1.0: its replicas %d (driver %d), 1.0.0's %d", nd.Replicas(), replicas("1.1.0"), replicas("1.0.0"))
	}
	r.fireScaleUp(t, stable, 5, monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP)
	if err := r.lastEvent(t, stable).DecodeInto(&ref); err != nil || !strings.Contains(ref.GetReason(), "1.0.0 no longer runs in production (1.1.0 does)") {
		t.Errorf("a firing for a replaced deployment: %+v (%v)", &ref, err)
	}
}

// fireScaleUp appends a TriggerFired for the deployment as the monitor
// would and delivers it; it returns the event.
func (r *rig) fireScaleUp(t *testing.T, deploymentID string, n int, action monitorv1.TriggerAction) *eventstore.RecordedEvent {
	t.Helper()
	ctx := causal.With(context.Background(), causal.Origin{Actor: "system:monitor"})
	aggID := fmt.Sprintf("latency-%d", n)
	if _, err := r.store.Append(ctx, "monitoring", aggID, eventstore.NoStream, testMeta, eventstore.Event{Message: &monitorv1.TriggerFired{
		DeploymentId: deploymentID, Environment: "production", Trigger: "latency", RuleVersion: 1, ActionType: action, Cause: "breach",
		Metric: "p95_latency", Operator: ">", Threshold: 2, Observed: 2.5, SustainedSeconds: 60,
	}}); err != nil {
		t.Fatal(err)
	}
	st, err := r.store.Load(ctx, "monitoring", aggID, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.deliverTrigger(t, st.Events[0])
	return st.Events[0]
}

// deliverTrigger hands the engine a TriggerFired as its subscription does.
func (r *rig) deliverTrigger(t *testing.T, ev *eventstore.RecordedEvent) {
	t.Helper()
	ctx := causal.With(context.Background(), causal.Origin{Actor: "system:monitor"})
	if err := r.engine.OnTriggerFired(causal.With(ctx, eventstore.ReactionOrigin("deployer-scale-ups", ev)), ev); err != nil {
		t.Fatal(err)
	}
}

// events are the names of the deployment's events, in order.
func (r *rig) events(t *testing.T, id string) []string {
	t.Helper()
	st, err := r.store.Load(context.Background(), app.Aggregate, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(st.Events))
	for i, e := range st.Events {
		names[i] = e.Name
	}
	return names
}

func (r *rig) lastEvent(t *testing.T, id string) *eventstore.RecordedEvent {
	t.Helper()
	st, err := r.store.Load(context.Background(), app.Aggregate, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Events[len(st.Events)-1]
}
