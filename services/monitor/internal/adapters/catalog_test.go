package adapters_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/projection/projectiontest"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/adapters"
	"github.com/penguinmails/floe/services/monitor/internal/app"
)

// The monitor's catalog passes the projection conformance suite.
func TestCatalogConformance(t *testing.T) {
	t.Parallel()
	projectiontest.Run(t, projectiontest.Harness[adapters.Row]{
		Aggregates: []string{app.AggTrigger, app.AggAlertRule, app.AggMonitoring},
		Spec:       func() projection.Spec[adapters.Row] { return adapters.CatalogSpec(&adapters.Catalog{}) },
		Append: func(t *testing.T, ctx context.Context, store eventstore.Store, round int) {
			meta := eventstore.Meta{Actor: "tester"}
			appendTo := func(agg, id string, msgs ...eventstore.Event) {
				v, _, err := store.Head(ctx, agg, id)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := store.Append(ctx, agg, id, v, meta, msgs...); err != nil {
					t.Fatal(err)
				}
			}
			trigger := func(name string, threshold float64, version uint64) eventstore.Event {
				return eventstore.Event{Message: &monitorv1.RollbackTriggerSaved{Trigger: &monitorv1.RollbackTrigger{
					Name: name, Metric: "error_rate", Operator: ">", Threshold: threshold, Duration: durationpb.New(time.Minute),
					Action: "rollback", ActionType: monitorv1.TriggerAction_TRIGGER_ACTION_ROLLBACK, Enabled: true, Version: version,
				}}}
			}
			switch round {
			case 0:
				appendTo(app.AggTrigger, "t1", trigger("t1", 0.1, 1))
				appendTo(app.AggTrigger, "t2", trigger("t2", 0.2, 1))
				appendTo(app.AggAlertRule, "r1", eventstore.Event{Message: &monitorv1.AlertRuleSaved{Rule: &monitorv1.AlertRule{
					Name: "r1", Condition: "up == 0", Severity: "critical", Channels: []string{"slack"}, Enabled: true, Version: 1,
				}}})
				for i := range 3 {
					appendTo(app.AggMonitoring, fmt.Sprint("d", i), eventstore.Event{Message: &monitorv1.MonitoringStarted{DeploymentId: fmt.Sprint("d", i)}})
				}
			case 1:
				appendTo(app.AggTrigger, "t1", trigger("t1", 0.3, 2))
				appendTo(app.AggTrigger, "t2", eventstore.Event{Message: &monitorv1.RollbackTriggerDeleted{Name: "t2", Version: 1}})
				appendTo(app.AggMonitoring, "d1", eventstore.Event{Message: &monitorv1.MonitoringEnded{Outcome: "succeeded"}})
			case 2:
				appendTo(app.AggAlertRule, "r1", eventstore.Event{Message: &monitorv1.AlertRuleDeleted{Name: "r1", Version: 1}})
				appendTo(app.AggMonitoring, "d3", eventstore.Event{Message: &monitorv1.MonitoringStarted{DeploymentId: "d3"}})
			}
		},
		PoisonSubject: "floe.evt.trigger.t9.RollbackTriggerSaved", PoisonType: "floe.monitor.v1.RollbackTriggerSaved",
		Dump: func(p *projection.Projection[adapters.Row]) any {
			var out []string
			for _, key := range []string{"trigger-t1", "trigger-t2", "trigger-t9", "alertrule-r1", "monitoring-d0", "monitoring-d1", "monitoring-d2", "monitoring-d3"} {
				if r, ok := p.Get(key); ok {
					out = append(out, fmt.Sprintf("%s deleted=%v active=%v trigger=%+v rule=%+v", key, r.Deleted, r.Active, deref(r.Trigger), deref(r.Rule)))
				}
			}
			slices.Sort(out)
			return out
		},
	})
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
