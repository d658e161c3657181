package web

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

func TestDrawTrigger(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	sample := func(s int, v float64, noData bool) *monitorv1.TriggerSample {
		return &monitorv1.TriggerSample{At: timestamppb.New(t0.Add(time.Duration(s) * time.Second)), Value: v, NoData: noData}
	}
	ts := &monitorv1.TriggerStatus{Trigger: "error_rate", Condition: "error_rate > 0.1 for 20s", State: "fired", Operator: ">", Threshold: 0.1,
		Series: []*monitorv1.TriggerSample{sample(0, 0, false), sample(5, 0.05, false), sample(10, 0, true), sample(15, 0.2, false), sample(20, 0.3, false)}}
	c, ok := drawTrigger(ts)
	if !ok {
		t.Fatal("no chart for a trigger with samples")
	}
	// Split at the no-data sample: two lines; the two samples above 0.1 breach.
	if len(c.Lines) != 2 || len(c.Breaches) != 2 {
		t.Fatalf("lines %q breaches %v, want 2 and 2", c.Lines, c.Breaches)
	}
	// The scale tops out 15 % above the highest value (0.3): the last point is near the top, the first at the bottom.
	if c.Lines[0] != "0.0,160.0 160.0,136.8" || !strings.HasSuffix(c.Lines[1], "640.0,20.9") {
		t.Errorf("lines %q", c.Lines)
	}
	if c.ThresholdY != "113.6" || c.Last != "0.3" || c.From != "10:00:00" || c.To != "10:00:20" {
		t.Errorf("threshold at y %s, last %s, from %s to %s", c.ThresholdY, c.Last, c.From, c.To)
	}
	if _, ok := drawTrigger(&monitorv1.TriggerStatus{Trigger: "idle"}); ok {
		t.Error("a chart for a trigger without samples")
	}
	// The lower-is-worse operators breach below the threshold.
	if !beyond("<", 0.5, 0.9) || beyond("<", 0.95, 0.9) || !beyond(">=", 0.1, 0.1) {
		t.Error("beyond compares wrongly")
	}
}
