package domain_test

import (
	"math"
	"testing"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// The status of a deployment's monitoring carries each trigger's latest
// samples (for the console's chart), oldest first and at most SeriesLimit,
// with the operator and threshold it applies; a no-data or NaN sample is
// marked no_data.
func TestStatusSeries(t *testing.T) {
	t.Parallel()
	trig := errorRate()
	m := domain.NewMonitoring()
	m.Apply(&monitorv1.MonitoringStarted{DeploymentId: "d1", ReleaseId: "r1", Environment: "production", Version: "1.1.0",
		StartedAt: domain.Timestamp(sec(0)), Triggers: []*monitorv1.RollbackTrigger{domain.TriggerToProto(trig)}})
	total := domain.SeriesLimit + 40
	for i := 1; i <= total; i++ {
		s := val(i, float64(i)/10000)
		switch i {
		case total - 1:
			s = gap(i)
		case total - 2:
			s.Value = math.NaN()
		}
		m.Record([]domain.Evaluation{{Trigger: trig, Sample: s}}, nil) // records and applies its events
	}
	st := m.Status().GetTriggers()
	if len(st) != 1 {
		t.Fatalf("%d triggers in the status", len(st))
	}
	ts := st[0]
	if ts.GetOperator() != string(trig.Operator) || ts.GetThreshold() != trig.Threshold {
		t.Errorf("operator %q threshold %v, want %q %v", ts.GetOperator(), ts.GetThreshold(), trig.Operator, trig.Threshold)
	}
	series := ts.GetSeries()
	if len(series) != domain.SeriesLimit {
		t.Fatalf("%d samples in the series, want the last %d", len(series), domain.SeriesLimit)
	}
	if first := series[0]; !first.GetAt().AsTime().Equal(sec(total - domain.SeriesLimit + 1)) {
		t.Errorf("the series starts at %v, want the sample of second %d", first.GetAt().AsTime(), total-domain.SeriesLimit+1)
	}
	last := series[len(series)-1]
	if !last.GetAt().AsTime().Equal(sec(total)) || last.GetValue() != float64(total)/10000 || last.GetNoData() {
		t.Errorf("the last sample %v, want second %d value %v", last, total, float64(total)/10000)
	}
	for _, i := range []int{len(series) - 2, len(series) - 3} {
		if s := series[i]; !s.GetNoData() || s.GetValue() != 0 {
			t.Errorf("sample %d (no data or NaN) is %v, want no_data and 0", i, s)
		}
	}
}
