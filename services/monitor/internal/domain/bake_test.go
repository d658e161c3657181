package domain_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// A deployment's monitoring through its bake: a firing during the bake is
// marked as such, the bake ends exactly at its end (not before), and the
// bake survives the snapshot encoding.
func TestBake(t *testing.T) {
	t.Parallel()
	trig := errorRate()
	trig.Duration = 10 * time.Second
	m := domain.NewMonitoring()
	m.Apply(&monitorv1.MonitoringStarted{DeploymentId: "d1", ReleaseId: "r1", Environment: "production", Version: "1.1.0",
		StartedAt: domain.Timestamp(sec(0)), Triggers: []*monitorv1.RollbackTrigger{domain.TriggerToProto(trig)}})
	if m.Baking() || m.EndBake(sec(1000)) != nil {
		t.Fatal("baking before the deployment succeeded")
	}
	until := sec(60)
	m.Apply(&monitorv1.BakeStarted{DeploymentId: "d1", StartedAt: domain.Timestamp(sec(20)), Until: domain.Timestamp(until)})
	if !m.Baking() || !m.BakeUntil().Equal(until) || !m.Active() {
		t.Fatalf("after BakeStarted: baking %v until %v active %v", m.Baking(), m.BakeUntil(), m.Active())
	}
	if got := m.Status().GetBakeUntil(); got == nil || !got.AsTime().Equal(until) {
		t.Errorf("status bake_until %v", got)
	}
	var fired *monitorv1.RollbackTriggered
	for i := 25; i <= 40 && fired == nil; i++ {
		for _, msg := range m.Record([]domain.Evaluation{{Trigger: trig, Sample: val(i, 0.5)}}, nil) {
			if rt, ok := msg.(*monitorv1.RollbackTriggered); ok {
				fired = rt
			}
		}
	}
	if fired == nil || !fired.GetDuringBake() {
		t.Fatalf("the breach during the bake fired %v, want a RollbackTriggered during the bake", fired)
	}

	b, err := domain.MarshalMonitoring(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := domain.UnmarshalMonitoring(b)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Baking() || !back.BakeUntil().Equal(until) {
		t.Errorf("restored: baking %v until %v", back.Baking(), back.BakeUntil())
	}
	if end := back.EndBake(until.Add(-time.Nanosecond)); end != nil {
		t.Errorf("the bake ended early: %v", end)
	}
	end := back.EndBake(until.Add(3 * time.Second))
	if len(end) != 1 {
		t.Fatalf("EndBake at the end: %v", end)
	}
	want := &monitorv1.MonitoringEnded{Outcome: "baked", OutcomeType: monitorv1.MonitoringOutcome_MONITORING_OUTCOME_BAKED, At: domain.Timestamp(until)}
	if !proto.Equal(end[0], want) {
		t.Errorf("EndBake = %v, want %v (at the bake's end, not the tick's)", end[0], want)
	}
	back.Apply(end[0])
	if back.Active() || back.Baking() || back.EndBake(until.Add(time.Hour)) != nil {
		t.Errorf("after the bake ended: active %v baking %v", back.Active(), back.Baking())
	}
}
