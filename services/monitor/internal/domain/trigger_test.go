package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// event is a compact non-"none" Decision: times in seconds after t0.
type event struct {
	At        int
	Kind      string
	Cause     string
	Action    string
	Sustained time.Duration
	Since     int
}

// observeAll feeds samples to s and returns the decisions that are not "none".
func observeAll(s *domain.TriggerState, tr domain.Trigger, samples []domain.Sample) []event {
	var out []event
	for _, smp := range samples {
		d := s.Observe(tr, smp)
		if d.Kind == domain.KindNone {
			continue
		}
		out = append(out, event{
			At: int(d.At.Sub(t0) / time.Second), Kind: d.Kind, Cause: d.Cause, Action: d.Action,
			Sustained: d.SustainedFor, Since: int(d.Since.Sub(t0) / time.Second),
		})
	}
	return out
}

const (
	started    = domain.KindBreachStarted
	cleared    = domain.KindBreachCleared
	fired      = domain.KindFired
	suppressed = domain.KindSuppressed
	breach     = domain.CauseBreach
	noData     = domain.CauseNoData
	rollback   = domain.ActionRollback
	alert      = domain.ActionAlert
)

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

func withTrigger(f func(*domain.Trigger)) domain.Trigger {
	tr := errorRate()
	f(&tr)
	return tr
}

func TestTriggerObserve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trigger domain.Trigger
		samples []domain.Sample
		want    []event
	}{
		{
			name:    "breaching every 15 s: still pending at 285 s",
			trigger: errorRate(),
			samples: every(0, 285, 15, 0.2),
			want:    []event{{At: 0, Kind: started, Cause: breach}},
		},
		{
			name:    "breaching every 15 s: fires at 300 s, once",
			trigger: errorRate(),
			samples: every(0, 600, 15, 0.2),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 300, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
			},
		},
		{
			name:    "irregular samples fire at the first sample at or after start+duration",
			trigger: errorRate(),
			samples: []domain.Sample{val(0, 0.5), val(290, 0.5), val(310, 0.5)},
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 310, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(310)},
			},
		},
		{
			name:    "healthy samples change nothing",
			trigger: errorRate(),
			samples: every(0, 900, 15, 0.01),
		},
		{
			name:    "a value equal to the threshold does not breach >",
			trigger: errorRate(),
			samples: every(0, 900, 15, 0.10),
		},
		{
			name:    "one healthy sample resets the breach; the timer restarts at the next breach",
			trigger: errorRate(),
			samples: concat(every(0, 285, 15, 0.2), every(300, 300, 15, 0.05), every(315, 615, 15, 0.2)),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 300, Kind: cleared, Cause: breach, Sustained: secs(285)},
				{At: 315, Kind: started, Cause: breach, Since: 315},
				{At: 615, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300), Since: 315},
			},
		},
		{
			name:    "duration 0 fires on the first breaching sample",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.Duration = 0 }),
			samples: every(0, 30, 15, 0.2),
			want:    []event{{At: 0, Kind: fired, Cause: breach, Action: rollback}},
		},
		{
			name:    "a negative duration counts as 0",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.Duration = -time.Minute }),
			samples: every(0, 15, 15, 0.2),
			want:    []event{{At: 0, Kind: fired, Cause: breach, Action: rollback}},
		},
		{
			name:    "an invalid operator never breaches",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.Operator = "~" }),
			samples: every(0, 600, 15, 0.9),
		},
		{
			name:    "a fired breach that clears and breaches again is not re-fired within the cooldown",
			trigger: errorRate(),
			samples: concat(
				every(0, 300, 15, 0.2),     // fires at 300 s
				every(315, 315, 15, 0.01),  // clears
				every(1200, 1515, 15, 0.2), // 20 min: sustained again at 25 min
				every(1530, 1530, 15, 0.01),
				every(4000, 4300, 15, 0.2), // 66 min: past the cooldown
			),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 300, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
				{At: 315, Kind: cleared, Cause: breach, Sustained: secs(300)},
				{At: 1200, Kind: started, Cause: breach, Since: 1200},
				{At: 1500, Kind: suppressed, Cause: breach, Action: rollback, Sustained: secs(300), Since: 1200},
				{At: 1530, Kind: cleared, Cause: breach, Sustained: secs(315), Since: 1200},
				{At: 4000, Kind: started, Cause: breach, Since: 4000},
				{At: 4300, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300), Since: 4000},
			},
		},
		{
			name:    "a suppressed breach still sustained fires exactly when the cooldown ends",
			trigger: errorRate(),
			samples: concat(
				every(0, 300, 15, 0.2),
				every(315, 315, 15, 0.01),
				every(330, 3915, 15, 0.2), // due at 630, cooldown until 300+3600 = 3900
			),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 300, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
				{At: 315, Kind: cleared, Cause: breach, Sustained: secs(300)},
				{At: 330, Kind: started, Cause: breach, Since: 330},
				{At: 630, Kind: suppressed, Cause: breach, Action: rollback, Sustained: secs(300), Since: 330},
				{At: 3900, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(3570), Since: 330},
			},
		},
		{
			name:    "without a cooldown a second sustained breach fires again",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.Cooldown = 0 }),
			samples: concat(every(0, 300, 15, 0.2), every(315, 315, 15, 0), every(330, 630, 15, 0.2)),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 300, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
				{At: 315, Kind: cleared, Cause: breach, Sustained: secs(300)},
				{At: 330, Kind: started, Cause: breach, Since: 330},
				{At: 630, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300), Since: 330},
			},
		},
		{
			name:    "out-of-order and duplicate samples are ignored",
			trigger: errorRate(),
			samples: []domain.Sample{val(0, 0.2), val(150, 0.2), val(100, 0.01), val(150, 0.01), val(300, 0.2)},
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 300, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
			},
		},

		// No data.
		{
			name:    "hold: no data neither advances nor resets the breach timer",
			trigger: errorRate(),
			// 150 s of breach, 7.5 min without data, then the breach resumes at 150 s:
			// it reaches 300 s 150 s after the data returns.
			samples: concat(every(0, 150, 15, 0.2), gaps(165, 600, 15), every(615, 800, 15, 0.2)),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 765, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
			},
		},
		{
			name:    "hold: a healthy sample after no data clears the held breach",
			trigger: errorRate(),
			samples: concat(every(0, 150, 15, 0.2), gaps(165, 3000, 15), every(3015, 3015, 15, 0.01)),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 3015, Kind: cleared, Cause: breach, Sustained: secs(150)},
			},
		},
		{
			name:    "hold: no data alone never fires",
			trigger: errorRate(),
			samples: gaps(0, 7200, 15),
		},
		{
			name:    "hold: a NaN value is no data",
			trigger: errorRate(),
			samples: concat(every(0, 150, 15, 0.2), every(165, 600, 15, nan), every(615, 765, 15, 0.2)),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 765, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
			},
		},
		{
			name:    "empty no-data policy is hold",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData = "" }),
			samples: concat(every(0, 150, 15, 0.2), gaps(165, 600, 15), every(615, 765, 15, 0.2)),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 765, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
			},
		},
		{
			name:    "rollback: no data for the duration rolls back",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData = domain.NoDataRollback }),
			samples: gaps(0, 600, 15),
			want:    []event{{At: 300, Kind: fired, Cause: noData, Action: rollback, Sustained: secs(300)}},
		},
		{
			name:    "rollback: one sample with data restarts the no-data timer",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData = domain.NoDataRollback }),
			samples: concat(gaps(0, 285, 15), every(300, 300, 15, 0.01), gaps(315, 615, 15)),
			want:    []event{{At: 615, Kind: fired, Cause: noData, Action: rollback, Sustained: secs(300), Since: 315}},
		},
		{
			name:    "rollback: a no-data rollback and a breach rollback share the cooldown",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData = domain.NoDataRollback }),
			samples: concat(gaps(0, 300, 15), every(315, 615, 15, 0.2)),
			want: []event{
				{At: 300, Kind: fired, Cause: noData, Action: rollback, Sustained: secs(300)},
				{At: 315, Kind: started, Cause: breach, Since: 315},
				{At: 615, Kind: suppressed, Cause: breach, Action: rollback, Sustained: secs(300), Since: 315},
			},
		},
		{
			name:    "alert: no data for the duration alerts, while the breach timer is held",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData = domain.NoDataAlert }),
			samples: concat(every(0, 150, 15, 0.2), gaps(165, 600, 15), every(615, 765, 15, 0.2)),
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 465, Kind: fired, Cause: noData, Action: alert, Sustained: secs(300), Since: 165},
				// The alert's cooldown does not hold back the rollback.
				{At: 765, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(300)},
			},
		},
		{
			name:    "alert: a second no-data run within the cooldown is suppressed",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData = domain.NoDataAlert }),
			samples: concat(gaps(0, 300, 15), every(315, 315, 15, 0.01), gaps(330, 630, 15)),
			want: []event{
				{At: 300, Kind: fired, Cause: noData, Action: alert, Sustained: secs(300)},
				{At: 630, Kind: suppressed, Cause: noData, Action: alert, Sustained: secs(300), Since: 330},
			},
		},
		{
			name:    "alert policy with duration 0 alerts on the first missing sample",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData, tr.Duration = domain.NoDataAlert, 0 }),
			samples: gaps(0, 30, 15),
			want:    []event{{At: 0, Kind: fired, Cause: noData, Action: alert}},
		},
		{
			name:    "an unknown no-data policy counts as hold",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData = "panic" }),
			samples: gaps(0, 900, 15),
		},

		// Every operator drives a breach.
		{
			name: "operator <", trigger: withTrigger(func(tr *domain.Trigger) { tr.Operator, tr.Threshold, tr.Duration = "<", 10, 30*time.Second }),
			samples: []domain.Sample{val(0, 10), val(15, 9), val(30, 9), val(45, 9)},
			want:    []event{{At: 15, Kind: started, Cause: breach, Since: 15}, {At: 45, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(30), Since: 15}},
		},
		{
			name: "operator >=", trigger: withTrigger(func(tr *domain.Trigger) { tr.Operator, tr.Threshold, tr.Duration = ">=", 10, 30*time.Second }),
			samples: []domain.Sample{val(0, 9), val(15, 10), val(30, 11), val(45, 10)},
			want:    []event{{At: 15, Kind: started, Cause: breach, Since: 15}, {At: 45, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(30), Since: 15}},
		},
		{
			name: "operator <=", trigger: withTrigger(func(tr *domain.Trigger) { tr.Operator, tr.Threshold, tr.Duration = "<=", 10, 30*time.Second }),
			samples: []domain.Sample{val(0, 11), val(15, 10), val(30, 9), val(45, 10)},
			want:    []event{{At: 15, Kind: started, Cause: breach, Since: 15}, {At: 45, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(30), Since: 15}},
		},
		{
			name: "operator == (e.g. replicas up == 0)", trigger: withTrigger(func(tr *domain.Trigger) { tr.Operator, tr.Threshold, tr.Duration = "==", 0, 30*time.Second }),
			samples: []domain.Sample{val(0, 1), val(15, 0), val(30, 0.5), val(45, 0), val(60, 0), val(75, 0)},
			want: []event{
				{At: 15, Kind: started, Cause: breach, Since: 15},
				{At: 30, Kind: cleared, Cause: breach, Since: 15},
				{At: 45, Kind: started, Cause: breach, Since: 45},
				{At: 75, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(30), Since: 45},
			},
		},
		{
			name: "operator != with NaN: NaN is no data, not a breach", trigger: withTrigger(func(tr *domain.Trigger) { tr.Operator, tr.Threshold, tr.Duration = "!=", 1, 30*time.Second }),
			samples: []domain.Sample{val(0, 1), val(15, nan), val(30, nan), val(45, nan), val(60, 2), val(75, 2), val(90, 2)},
			want:    []event{{At: 60, Kind: started, Cause: breach, Since: 60}, {At: 90, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(30), Since: 60}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s domain.TriggerState
			got := observeAll(&s, tt.trigger, tt.samples)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTriggerDecisionInFull(t *testing.T) {
	t.Parallel()
	tr := errorRate()
	var s domain.TriggerState
	var got []domain.Decision
	for _, smp := range []domain.Sample{val(0, 0.25), val(150, 0.3), val(285, 0.2), val(300, 0.4), val(315, 0.5), val(330, 0.01)} {
		got = append(got, s.Observe(tr, smp))
	}
	want := []domain.Decision{
		{Kind: started, Cause: breach, At: sec(0), Observed: 0.25, Since: t0, Reason: "error_rate: 0.25 > 0.1, sustained 0s of 5m0s"},
		{Kind: domain.KindNone, Cause: breach, At: sec(150), Observed: 0.3, SustainedFor: secs(150), Since: t0, Reason: "error_rate: 0.3 > 0.1, sustained 2m30s of 5m0s"},
		{Kind: domain.KindNone, Cause: breach, At: sec(285), Observed: 0.2, SustainedFor: secs(285), Since: t0, Reason: "error_rate: 0.2 > 0.1, sustained 4m45s of 5m0s"},
		{Kind: fired, Cause: breach, Action: rollback, At: sec(300), Observed: 0.4, SustainedFor: secs(300), Since: t0, Reason: "error_rate: 0.4 > 0.1, sustained 5m0s of 5m0s; fired: rollback"},
		{Kind: domain.KindNone, Cause: breach, At: sec(315), Observed: 0.5, SustainedFor: secs(315), Since: t0, Reason: "error_rate: 0.5 > 0.1, sustained 5m15s of 5m0s; already fired"},
		{Kind: cleared, Cause: breach, At: sec(330), Observed: 0.01, SustainedFor: secs(315), Since: t0, Reason: "error_rate: 0.01 > 0.1 does not hold; breach cleared after 5m15s"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	wantState := domain.TriggerState{
		RuleVersion: 1, Samples: 6, LastAt: sec(330),
		LastFired: map[string]time.Time{rollback: sec(300)},
	}
	if diff := cmp.Diff(wantState, s); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

func TestTriggerSuppressedReason(t *testing.T) {
	t.Parallel()
	tr := withTrigger(func(tr *domain.Trigger) { tr.Duration = 0 })
	var s domain.TriggerState
	s.Observe(tr, val(0, 1))
	s.Observe(tr, val(15, 0))
	got := []domain.Decision{s.Observe(tr, val(30, 1)), s.Observe(tr, val(45, 1))}
	want := []domain.Decision{
		{Kind: suppressed, Cause: breach, Action: rollback, At: sec(30), Observed: 1, Since: sec(30),
			Reason: "error_rate: 1 > 0.1, sustained 0s of 0s; rollback suppressed: it fired at 2026-11-25T12:00:00Z, cooldown 1h0m0s until 2026-11-25T13:00:00Z"},
		{Kind: domain.KindNone, Cause: breach, At: sec(45), Observed: 1, SustainedFor: secs(15), Since: sec(30),
			Reason: "error_rate: 1 > 0.1, sustained 15s of 0s; rollback still suppressed by the cooldown until 2026-11-25T13:00:00Z"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
}

func TestTriggerDeploymentScope(t *testing.T) {
	t.Parallel()
	dep := domain.Deployment{ID: "r1-production-1", ReleaseID: "r1", Environment: "production", Version: "2.1.0", StartedAt: sec(100)}
	if diff := cmp.Diff(map[string]string{"environment": "production", "version": "2.1.0"}, dep.Labels()); diff != "" {
		t.Errorf("Labels() (-want +got):\n%s", diff)
	}
	tr := withTrigger(func(tr *domain.Trigger) { tr.Duration = 30 * time.Second })
	s := domain.NewTriggerState(dep)

	before := s.Observe(tr, val(90, 0.9))
	if before.Kind != domain.KindNone || !strings.Contains(before.Reason, "outside the deployment") || s.Samples != 0 {
		t.Errorf("sample before the deployment: %+v, samples %d", before, s.Samples)
	}
	got := observeAll(s, tr, every(100, 130, 15, 0.9))
	want := []event{{At: 100, Kind: started, Cause: breach, Since: 100}, {At: 130, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(30), Since: 100}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions during the deployment (-want +got):\n%s", diff)
	}

	s.End(sec(200))
	s.End(sec(300)) // the first end stays
	if !s.Deployment.EndedAt.Equal(sec(200)) {
		t.Errorf("EndedAt = %v, want %v", s.Deployment.EndedAt, sec(200))
	}
	if got := observeAll(s, tr, every(145, 195, 15, 0.01)); len(got) != 1 || got[0].Kind != cleared {
		t.Errorf("before the end = %+v, want one breach_cleared", got)
	}
	after := s.Observe(tr, val(200, 0.9))
	if after.Kind != domain.KindNone || !strings.Contains(after.Reason, "outside the deployment") {
		t.Errorf("sample at the end: %+v", after)
	}
}

func TestTriggerDisabledAndEdited(t *testing.T) {
	t.Parallel()
	on := withTrigger(func(tr *domain.Trigger) { tr.Duration = 60 * time.Second })
	off := on
	off.Enabled = false
	edited := on
	edited.Version, edited.Threshold = 2, 0.5

	type step struct {
		tr     domain.Trigger
		sample domain.Sample
	}
	cases := []struct {
		name  string
		steps []step
		want  []event
	}{
		{
			name:  "disabling clears the breach; re-enabling starts over",
			steps: []step{{on, val(0, 0.9)}, {on, val(30, 0.9)}, {off, val(45, 0.9)}, {off, val(60, 0.9)}, {on, val(75, 0.9)}, {on, val(120, 0.9)}, {on, val(135, 0.9)}},
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 45, Kind: cleared, Cause: breach, Sustained: secs(30)},
				{At: 75, Kind: started, Cause: breach, Since: 75},
				{At: 135, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(60), Since: 75},
			},
		},
		{
			name:  "a disabled trigger's no-data policy does not run",
			steps: []step{{withNoData(off, domain.NoDataRollback), gap(0)}, {withNoData(off, domain.NoDataRollback), gap(600)}},
		},
		{
			name:  "an edit restarts the breach timer (still breaching under the new rule)",
			steps: []step{{on, val(0, 0.9)}, {on, val(45, 0.9)}, {edited, val(60, 0.9)}, {edited, val(105, 0.9)}, {edited, val(120, 0.9)}},
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 60, Kind: started, Cause: breach, Since: 60},
				{At: 120, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(60), Since: 60},
			},
		},
		{
			name:  "an edit under which the value no longer breaches clears the breach",
			steps: []step{{on, val(0, 0.3)}, {on, val(45, 0.3)}, {edited, val(60, 0.3)}},
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 60, Kind: cleared, Cause: breach, Sustained: secs(45)},
			},
		},
		{
			name:  "the cooldown survives an edit",
			steps: []step{{on, val(0, 0.9)}, {on, val(60, 0.9)}, {edited, val(75, 0.9)}, {edited, val(135, 0.9)}},
			want: []event{
				{At: 0, Kind: started, Cause: breach},
				{At: 60, Kind: fired, Cause: breach, Action: rollback, Sustained: secs(60)},
				{At: 75, Kind: started, Cause: breach, Since: 75},
				{At: 135, Kind: suppressed, Cause: breach, Action: rollback, Sustained: secs(60), Since: 75},
			},
		},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s domain.TriggerState
			var got []event
			for _, st := range tt.steps {
				got = append(got, observeAll(&s, st.tr, []domain.Sample{st.sample})...)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}

func withNoData(tr domain.Trigger, policy string) domain.Trigger {
	tr.NoData = policy
	return tr
}

func TestTriggerStateJSONRoundTrip(t *testing.T) {
	t.Parallel()
	tr := withTrigger(func(tr *domain.Trigger) { tr.NoData = domain.NoDataAlert })
	s := domain.NewTriggerState(domain.Deployment{ID: "d1", Environment: "staging", Version: "1.2.0", StartedAt: t0})
	observeAll(s, tr, concat(every(0, 300, 15, 0.9), gaps(315, 700, 15)))
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back domain.TriggerState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*s, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\njson: %s", diff, b)
	}
	// The restored state carries on exactly like the original.
	next := val(715, 0.9)
	if diff := cmp.Diff(s.Observe(tr, next), back.Observe(tr, next)); diff != "" {
		t.Errorf("decision after restore (-original +restored):\n%s", diff)
	}
}

func TestTriggerValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trigger domain.Trigger
		want    []errs.FieldViolation
	}{
		{name: "default error_rate", trigger: domain.DefaultTriggers()[0]},
		{name: "default response_time_p95", trigger: domain.DefaultTriggers()[1]},
		{name: "empty no-data policy means hold", trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData = "" })},
		{name: "scale_up with rollback on no data", trigger: withTrigger(func(tr *domain.Trigger) { tr.Action, tr.NoData = domain.ActionScaleUp, domain.NoDataRollback })},
		{name: "zero duration and cooldown are fine", trigger: withTrigger(func(tr *domain.Trigger) { tr.Duration, tr.Cooldown = 0, 0 })},
		{name: "disabled triggers are validated too", trigger: withTrigger(func(tr *domain.Trigger) { tr.Enabled, tr.Metric = false, " " }),
			want: []errs.FieldViolation{{Field: "metric", Description: "must be a PromQL expression, not empty"}}},
		{
			name: "every problem at once",
			trigger: domain.Trigger{
				Name: "", Metric: "", Operator: "=>", Threshold: 0.1, Duration: -5 * time.Second,
				Action: "reboot", Cooldown: -time.Minute, NoData: "ignore", Enabled: true,
			},
			want: []errs.FieldViolation{
				{Field: "name", Description: "is required"},
				{Field: "metric", Description: "must be a PromQL expression, not empty"},
				{Field: "operator", Description: `"=>" is not one of > < >= <= == !=`},
				{Field: "duration", Description: "must not be negative, got -5s"},
				{Field: "action", Description: `"reboot" is not one of rollback, alert, scale_up`},
				{Field: "cooldown", Description: "must not be negative, got -1m0s"},
				{Field: "no_data", Description: `"ignore" is not one of hold, alert, rollback (empty means hold)`},
			},
		},
		{
			name:    "bad name and non-finite threshold",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.Name, tr.Threshold = "error rate", nan }),
			want: []errs.FieldViolation{
				{Field: "name", Description: `"error rate" is not a valid name: 1-64 ASCII letters, digits, '-' or '_', starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)`},
				{Field: "threshold", Description: "must be a finite number, got NaN"},
			},
		},
		{
			name:    "name starting with punctuation, empty operator, empty action",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.Name, tr.Operator, tr.Action = "_x", "", "" }),
			want: []errs.FieldViolation{
				{Field: "name", Description: `"_x" is not a valid name: 1-64 ASCII letters, digits, '-' or '_', starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)`},
				{Field: "operator", Description: `"" is not one of > < >= <= == !=`},
				{Field: "action", Description: `"" is not one of rollback, alert, scale_up`},
			},
		},
		{
			name:    "dotted name (names are subject tokens)",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.Name = "error.rate" }),
			want:    []errs.FieldViolation{{Field: "name", Description: `"error.rate" is not a valid name: 1-64 ASCII letters, digits, '-' or '_', starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)`}},
		},
		{
			name:    "name too long",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.Name = strings.Repeat("a", 65) }),
			want:    []errs.FieldViolation{{Field: "name", Description: `"` + strings.Repeat("a", 65) + `" is not a valid name: 1-64 ASCII letters, digits, '-' or '_', starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, violations(t, tt.trigger.Validate())); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultTriggers(t *testing.T) {
	t.Parallel()
	want := []domain.Trigger{
		{
			Name:      "error_rate",
			Metric:    "error_rate",
			Operator:  domain.OpGreater,
			Threshold: 0.10,
			Duration:  300 * time.Second,
			Action:    domain.ActionRollback,
			Cooldown:  60 * time.Minute,
			NoData:    domain.NoDataHold,
			Enabled:   true,
			Version:   1,
		},
		{
			Name:      "response_time_p95",
			Metric:    "response_time_p95",
			Operator:  domain.OpGreater,
			Threshold: 5,
			Duration:  180 * time.Second,
			Action:    domain.ActionAlert,
			Cooldown:  30 * time.Minute,
			NoData:    domain.NoDataHold,
			Enabled:   true,
			Version:   1,
		},
	}
	got := domain.DefaultTriggers()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultTriggers() (-want +got):\n%s", diff)
	}
	for _, tr := range got {
		if err := tr.Validate(); err != nil {
			t.Errorf("%s: %v", tr.Name, err)
		}
	}
	if got[0].String() != "error_rate > 0.1 for 5m0s" || got[1].String() != "response_time_p95 > 5 for 3m0s" {
		t.Errorf("String() = %q, %q", got[0].String(), got[1].String())
	}
	got[0].Name = "changed"
	if domain.DefaultTriggers()[0].Name != "error_rate" {
		t.Error("DefaultTriggers shares its slice between calls")
	}

	// The p95 trigger: a 6 s p95 every 15 s alerts after 180 s, and a second
	// breach within 30 min is suppressed.
	p95 := domain.DefaultTriggers()[1]
	var s domain.TriggerState
	events := observeAll(&s, p95, concat(every(0, 180, 15, 6), every(195, 195, 15, 0.8), every(600, 780, 15, 6), every(795, 795, 15, 1), every(2000, 2180, 15, 6)))
	wantEvents := []event{
		{At: 0, Kind: started, Cause: breach},
		{At: 180, Kind: fired, Cause: breach, Action: alert, Sustained: secs(180)},
		{At: 195, Kind: cleared, Cause: breach, Sustained: secs(180)},
		{At: 600, Kind: started, Cause: breach, Since: 600},
		{At: 780, Kind: suppressed, Cause: breach, Action: alert, Sustained: secs(180), Since: 600},
		{At: 795, Kind: cleared, Cause: breach, Sustained: secs(180), Since: 600},
		{At: 2000, Kind: started, Cause: breach, Since: 2000},
		{At: 2180, Kind: fired, Cause: breach, Action: alert, Sustained: secs(180), Since: 2000},
	}
	if diff := cmp.Diff(wantEvents, events); diff != "" {
		t.Errorf("response_time_p95 decisions (-want +got):\n%s", diff)
	}
}

func TestTriggerNoDataDecisionsInFull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trigger domain.Trigger
		samples []domain.Sample
		want    []domain.Decision
	}{
		{
			name:    "hold",
			trigger: errorRate(),
			samples: []domain.Sample{val(0, 0.3), gap(15), val(30, nan)},
			want: []domain.Decision{
				{Kind: started, Cause: breach, At: sec(0), Observed: 0.3, Since: t0, Reason: "error_rate: 0.3 > 0.1, sustained 0s of 5m0s"},
				{Kind: domain.KindNone, At: sec(15), Reason: "error_rate: no data (policy hold); breach timer held at 0s"},
				{Kind: domain.KindNone, At: sec(30), Reason: "error_rate: no data (policy hold); breach timer held at 0s"},
			},
		},
		{
			name:    "rollback",
			trigger: withTrigger(func(tr *domain.Trigger) { tr.NoData, tr.Duration = domain.NoDataRollback, 30*time.Second }),
			samples: []domain.Sample{gap(0), gap(15), gap(30), gap(45)},
			want: []domain.Decision{
				{Kind: domain.KindNone, Cause: noData, At: sec(0), Since: t0, Reason: "error_rate: no data for 0s of 30s (policy rollback); breach timer held"},
				{Kind: domain.KindNone, Cause: noData, At: sec(15), Since: t0, SustainedFor: secs(15), Reason: "error_rate: no data for 15s of 30s (policy rollback); breach timer held"},
				{Kind: fired, Cause: noData, Action: rollback, At: sec(30), Since: t0, SustainedFor: secs(30), Reason: "error_rate: no data for 30s of 30s (policy rollback); breach timer held; fired: rollback"},
				{Kind: domain.KindNone, Cause: noData, At: sec(45), Since: t0, SustainedFor: secs(45), Reason: "error_rate: no data for 45s of 30s (policy rollback); breach timer held; already fired"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s domain.TriggerState
			var got []domain.Decision
			for _, smp := range tt.samples {
				got = append(got, s.Observe(tt.trigger, smp))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}
