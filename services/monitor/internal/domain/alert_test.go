package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

func highErrors() domain.AlertRule {
	return domain.AlertRule{
		Name:        "HighErrorRate",
		Description: "more than 5% of requests fail",
		Condition:   `sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05`,
		Severity:    domain.SeverityCritical,
		Channels:    []string{"slack:#ops", "pagerduty"},
		For:         60 * time.Second,
		Cooldown:    30 * time.Minute,
		Enabled:     true,
		Version:     1,
	}
}

func withRule(f func(*domain.AlertRule)) domain.AlertRule {
	r := highErrors()
	f(&r)
	return r
}

// eval is one evaluation: at t0+At seconds the condition held or not.
type eval struct {
	At    int
	Holds bool
}

// transition is a compact AlertTransition, time in seconds after t0.
type transition struct {
	At       int
	From, To string
	Notify   bool
}

func holding(from, to, step int, holds bool) []eval {
	var out []eval
	for n := from; n <= to; n += step {
		out = append(out, eval{n, holds})
	}
	return out
}

func evals(parts ...[]eval) []eval {
	var out []eval
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const (
	inactive = domain.AlertInactive
	pending  = domain.AlertPending
	firing   = domain.AlertFiring
	resolved = domain.AlertResolved
)

func TestAlertStateMachine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rule  domain.AlertRule
		evals []eval
		want  []transition
		final string
	}{
		{
			name:  "pending until For has held: not firing at 45 s",
			rule:  highErrors(),
			evals: holding(0, 45, 15, true),
			want:  []transition{{0, inactive, pending, false}},
			final: pending,
		},
		{
			name:  "fires at the first evaluation at or after For",
			rule:  highErrors(),
			evals: holding(0, 120, 15, true),
			want:  []transition{{0, inactive, pending, false}, {60, pending, firing, true}},
			final: firing,
		},
		{
			name:  "one evaluation that does not hold resets pending to inactive",
			rule:  highErrors(),
			evals: evals(holding(0, 45, 15, true), holding(50, 50, 1, false), holding(55, 115, 15, true)),
			want: []transition{
				{0, inactive, pending, false},
				{50, pending, inactive, false},
				{55, inactive, pending, false},
				{115, pending, firing, true},
			},
			final: firing,
		},
		{
			name:  "For 0 fires at once",
			rule:  withRule(func(r *domain.AlertRule) { r.For = 0 }),
			evals: holding(0, 30, 15, true),
			want:  []transition{{0, inactive, firing, true}},
			final: firing,
		},
		{
			name:  "a firing alert resolves (notified) and stays resolved",
			rule:  highErrors(),
			evals: evals(holding(0, 60, 15, true), holding(75, 300, 15, false)),
			want:  []transition{{0, inactive, pending, false}, {60, pending, firing, true}, {75, firing, resolved, true}},
			final: resolved,
		},
		{
			name:  "resolved goes pending again when the condition holds after the cooldown",
			rule:  highErrors(),
			evals: evals(holding(0, 60, 15, true), holding(75, 75, 15, false), holding(1875, 1935, 15, true)),
			want: []transition{
				{0, inactive, pending, false},
				{60, pending, firing, true},
				{75, firing, resolved, true},
				{1875, resolved, pending, false},
				{1935, pending, firing, true},
			},
			final: firing,
		},
		{
			name: "cooldown: a new firing within 30 min of the resolution does not notify, nor does its resolution",
			rule: withRule(func(r *domain.AlertRule) { r.For = 0 }),
			evals: evals(
				holding(0, 0, 1, true), holding(60, 60, 1, false), // fired, resolved at 60: quiet until 1860
				holding(600, 600, 1, true), holding(660, 660, 1, false), // suppressed firing and resolution
				holding(1845, 1845, 1, true), holding(1850, 1850, 1, false), // still within the cooldown
				holding(1860, 1860, 1, true), holding(1900, 1900, 1, false), // exactly at the end: notifies
			),
			want: []transition{
				{0, inactive, firing, true},
				{60, firing, resolved, true},
				{600, resolved, firing, false},
				{660, firing, resolved, false},
				{1845, resolved, firing, false},
				{1850, firing, resolved, false},
				{1860, resolved, firing, true},
				{1900, firing, resolved, true},
			},
			final: resolved,
		},
		{
			name:  "cooldown: a suppressed firing still firing when the cooldown ends notifies then",
			rule:  withRule(func(r *domain.AlertRule) { r.For = 0 }),
			evals: evals(holding(0, 0, 1, true), holding(60, 60, 1, false), holding(600, 1900, 15, true)),
			want: []transition{
				{0, inactive, firing, true},
				{60, firing, resolved, true},
				{600, resolved, firing, false},
				{1860, firing, firing, true},
			},
			final: firing,
		},
		{
			name:  "no cooldown: every firing notifies",
			rule:  withRule(func(r *domain.AlertRule) { r.For, r.Cooldown = 0, 0 }),
			evals: []eval{{0, true}, {15, false}, {30, true}, {45, false}},
			want:  []transition{{0, inactive, firing, true}, {15, firing, resolved, true}, {30, resolved, firing, true}, {45, firing, resolved, true}},
			final: resolved,
		},
		{
			name:  "out-of-order and repeated evaluations are ignored",
			rule:  highErrors(),
			evals: []eval{{0, true}, {30, true}, {20, false}, {30, false}, {60, true}},
			want:  []transition{{0, inactive, pending, false}, {60, pending, firing, true}},
			final: firing,
		},
		{
			name:  "never holding stays inactive",
			rule:  highErrors(),
			evals: holding(0, 600, 15, false),
			final: inactive,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s domain.AlertState
			var got []transition
			for _, e := range tt.evals {
				tr, ok := s.Observe(tt.rule, e.Holds, 0.07, sec(e.At))
				if !ok {
					if tr != (domain.AlertTransition{}) {
						t.Errorf("at %d s: no change but transition %+v", e.At, tr)
					}
					continue
				}
				got = append(got, transition{int(tr.At.Sub(t0) / time.Second), tr.From, tr.To, tr.Notify})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
			if s.Current() != tt.final {
				t.Errorf("final state %q, want %q", s.Current(), tt.final)
			}
		})
	}
}

func TestAlertTransitionInFull(t *testing.T) {
	t.Parallel()
	r := highErrors()
	var s domain.AlertState
	var got []domain.AlertTransition
	for _, e := range []struct {
		at    int
		holds bool
		v     float64
	}{{0, true, 0.06}, {30, true, 0.08}, {60, true, 0.09}, {90, false, 0.01}} {
		if tr, ok := s.Observe(r, e.holds, e.v, sec(e.at)); ok {
			got = append(got, tr)
		}
	}
	want := []domain.AlertTransition{
		{From: inactive, To: pending, At: sec(0), Value: 0.06, Reason: "condition holds; fires if it still holds at 2026-11-25T12:01:00Z"},
		{From: pending, To: firing, At: sec(60), Notify: true, Value: 0.09, Reason: "condition held for 1m0s (for 1m0s)"},
		{From: firing, To: resolved, At: sec(90), Notify: true, Value: 0.01, Reason: "condition no longer holds; firings until 2026-11-25T12:31:30Z will not notify"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	wantState := domain.AlertState{
		State: resolved, RuleVersion: 1, Evaluations: 4, LastEvalAt: sec(90),
		FiredAt: sec(60), ResolvedAt: sec(90), Notified: true, QuietUntil: sec(90 + 1800),
	}
	if diff := cmp.Diff(wantState, s); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back domain.AlertState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}

	// A firing inside the cooldown says why it is silent.
	tr, _ := s.Observe(withRule(func(r *domain.AlertRule) { r.For = 0 }), true, 0.2, sec(120))
	wantTr := domain.AlertTransition{From: resolved, To: firing, At: sec(120), Value: 0.2,
		Reason: "condition held for 0s (for 0s); notification suppressed by the cooldown until 2026-11-25T12:31:30Z"}
	if diff := cmp.Diff(wantTr, tr); diff != "" {
		t.Errorf("suppressed firing (-want +got):\n%s", diff)
	}
}

func TestAlertDisabledAndEdited(t *testing.T) {
	t.Parallel()
	on := highErrors()
	off := withRule(func(r *domain.AlertRule) { r.Enabled = false })
	edited := withRule(func(r *domain.AlertRule) { r.Version = 2 })
	type step struct {
		rule domain.AlertRule
		eval eval
	}
	tests := []struct {
		name  string
		steps []step
		want  []transition
	}{
		{
			name:  "disabling a pending alert makes it inactive",
			steps: []step{{on, eval{0, true}}, {off, eval{15, true}}, {off, eval{30, true}}, {on, eval{45, true}}, {on, eval{105, true}}},
			want:  []transition{{0, inactive, pending, false}, {15, pending, inactive, false}, {45, inactive, pending, false}, {105, pending, firing, true}},
		},
		{
			name:  "disabling a firing alert makes it inactive without notifying",
			steps: []step{{on, eval{0, true}}, {on, eval{60, true}}, {off, eval{75, true}}},
			want:  []transition{{0, inactive, pending, false}, {60, pending, firing, true}, {75, firing, inactive, false}},
		},
		{
			name:  "a disabled rule that never held does nothing",
			steps: []step{{off, eval{0, true}}, {off, eval{15, false}}},
		},
		{
			name:  "an edit restarts a pending alert's For",
			steps: []step{{on, eval{0, true}}, {on, eval{45, true}}, {edited, eval{60, true}}, {edited, eval{105, true}}, {edited, eval{120, true}}},
			want:  []transition{{0, inactive, pending, false}, {120, pending, firing, true}},
		},
		{
			name:  "an edit keeps a firing alert firing",
			steps: []step{{on, eval{0, true}}, {on, eval{60, true}}, {edited, eval{75, true}}, {edited, eval{90, false}}},
			want:  []transition{{0, inactive, pending, false}, {60, pending, firing, true}, {90, firing, resolved, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s domain.AlertState
			var got []transition
			for _, st := range tt.steps {
				if tr, ok := s.Observe(st.rule, st.eval.Holds, 1, sec(st.eval.At)); ok {
					got = append(got, transition{int(tr.At.Sub(t0) / time.Second), tr.From, tr.To, tr.Notify})
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlertRuleValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rule domain.AlertRule
		want []errs.FieldViolation
	}{
		{name: "valid", rule: highErrors()},
		{name: "warning, For 0, no cooldown, no description", rule: withRule(func(r *domain.AlertRule) {
			r.Severity, r.For, r.Cooldown, r.Description = domain.SeverityWarning, 0, 0, ""
		})},
		{name: "info", rule: withRule(func(r *domain.AlertRule) { r.Severity = domain.SeverityInfo })},
		{
			name: "every problem at once",
			rule: domain.AlertRule{Name: "high errors", Condition: "  ", Severity: "page", For: -time.Second, Cooldown: -time.Minute},
			want: []errs.FieldViolation{
				{Field: "name", Description: `"high errors" is not a valid name: 1-64 ASCII letters, digits, '-' or '_', starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)`},
				{Field: "condition", Description: "must be a PromQL expression, not empty"},
				{Field: "severity", Description: `"page" is not one of critical, warning, info`},
				{Field: "channels", Description: "must name at least one channel"},
				{Field: "for", Description: "must not be negative, got -1s"},
				{Field: "cooldown", Description: "must not be negative, got -1m0s"},
			},
		},
		{
			name: "empty and repeated channels",
			rule: withRule(func(r *domain.AlertRule) { r.Name, r.Channels = "", []string{"email", "", "email"} }),
			want: []errs.FieldViolation{
				{Field: "name", Description: "is required"},
				{Field: "channels[1]", Description: "must not be empty"},
				{Field: "channels[2]", Description: `"email" is listed twice`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, violations(t, tt.rule.Validate())); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}
