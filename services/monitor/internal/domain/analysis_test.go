package domain_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// measured turns samples into the measurements Analyze reports for trigger tr.
func measured(tr domain.Trigger, samples ...domain.Sample) []domain.Measurement {
	out := []domain.Measurement{}
	for _, s := range samples {
		out = append(out, domain.Measurement{Sample: s, Breaching: !s.Missing() && tr.Operator.Holds(s.Value, tr.Threshold)})
	}
	return out
}

func TestAnalyze(t *testing.T) {
	t.Parallel()
	er, p95 := domain.DefaultTriggers()[0], domain.DefaultTriggers()[1]
	// A one-minute analysis window: samples at 0, 15, 30, 45 and 60 s are in it.
	window := domain.WindowEnding(sec(60), time.Minute)
	policy := domain.DefaultAnalysisPolicy()
	fast := withTrigger(func(tr *domain.Trigger) { tr.Duration = 30 * time.Second })

	tests := []struct {
		name     string
		triggers []domain.Trigger
		samples  map[string][]domain.Sample
		policy   domain.AnalysisPolicy
		want     domain.Verdict
	}{
		{
			name:     "pass: every sample within thresholds",
			triggers: []domain.Trigger{er, p95},
			samples: map[string][]domain.Sample{
				"error_rate":        every(0, 60, 15, 0.01),
				"response_time_p95": every(0, 60, 15, 0.3),
			},
			want: domain.Verdict{
				Result: domain.VerdictPass, Reason: "2 trigger(s) within thresholds: 0 of 10 samples breached",
				Window: window, Samples: 10,
				Checks: []domain.Check{
					{Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictPass, Reason: "0 of 5 samples breached > 0.1, at most 20%", Samples: 5, Measurements: measured(er, every(0, 60, 15, 0.01)...)},
					{Trigger: "response_time_p95", RuleVersion: 1, Result: domain.VerdictPass, Reason: "0 of 5 samples breached > 5, at most 20%", Samples: 5, Measurements: measured(p95, every(0, 60, 15, 0.3)...)},
				},
			},
		},
		{
			name:     "pass: one breaching sample in five is a fifth, not more",
			triggers: []domain.Trigger{er},
			samples:  map[string][]domain.Sample{"error_rate": {val(0, 0.01), val(15, 0.5), val(30, 0.01), val(45, 0.02), val(60, 0.01)}},
			want: domain.Verdict{
				Result: domain.VerdictPass, Reason: "1 trigger(s) within thresholds: 1 of 5 samples breached",
				Window: window, Samples: 5, Breaching: 1,
				Checks: []domain.Check{{
					Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictPass, Reason: "1 of 5 samples breached > 0.1, at most 20%",
					Samples: 5, Breaching: 1, Measurements: measured(er, val(0, 0.01), val(15, 0.5), val(30, 0.01), val(45, 0.02), val(60, 0.01)),
				}},
			},
		},
		{
			name:     "fail: more than the fraction of samples breach",
			triggers: []domain.Trigger{er},
			samples:  map[string][]domain.Sample{"error_rate": {val(0, 0.01), val(15, 0.5), val(30, 0.01), val(45, 0.2), val(60, 0.01)}},
			want: domain.Verdict{
				Result: domain.VerdictFail, Reason: "error_rate: 2 of 5 samples breached > 0.1, more than 20%",
				Window: window, Samples: 5, Breaching: 2,
				Checks: []domain.Check{{
					Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictFail, Reason: "2 of 5 samples breached > 0.1, more than 20%",
					Samples: 5, Breaching: 2, Measurements: measured(er, val(0, 0.01), val(15, 0.5), val(30, 0.01), val(45, 0.2), val(60, 0.01)),
				}},
			},
		},
		{
			name:     "fail: a sustained breach, even when the fraction allows it",
			triggers: []domain.Trigger{fast},
			samples:  map[string][]domain.Sample{"error_rate": {val(0, 0.01), val(15, 0.3), val(30, 0.4), val(45, 0.35), val(60, 0.01)}},
			policy:   domain.AnalysisPolicy{MinSamples: 3, MaxBreachFraction: 1},
			want: domain.Verdict{
				Result: domain.VerdictFail, Reason: "error_rate: sustained breach: > 0.1 held for 30s from 2026-11-25T12:00:15Z (observed 0.35 at 2026-11-25T12:00:45Z)",
				Window: window, Samples: 5, Breaching: 3,
				Checks: []domain.Check{{
					Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictFail, Reason: "sustained breach: > 0.1 held for 30s from 2026-11-25T12:00:15Z (observed 0.35 at 2026-11-25T12:00:45Z)",
					Samples: 5, Breaching: 3, Measurements: measured(fast, val(0, 0.01), val(15, 0.3), val(30, 0.4), val(45, 0.35), val(60, 0.01)),
				}},
			},
		},
		{
			name:     "fail: a sustained breach needs no minimum count",
			triggers: []domain.Trigger{fast},
			samples:  map[string][]domain.Sample{"error_rate": {val(0, 0.9), val(30, 0.9)}},
			policy:   domain.AnalysisPolicy{MinSamples: 10, MaxBreachFraction: 1},
			want: domain.Verdict{
				Result: domain.VerdictFail, Reason: "error_rate: sustained breach: > 0.1 held for 30s from 2026-11-25T12:00:00Z (observed 0.9 at 2026-11-25T12:00:30Z)",
				Window: window, Samples: 2, Breaching: 2,
				Checks: []domain.Check{{
					Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictFail, Reason: "sustained breach: > 0.1 held for 30s from 2026-11-25T12:00:00Z (observed 0.9 at 2026-11-25T12:00:30Z)",
					Samples: 2, Breaching: 2, Measurements: measured(fast, val(0, 0.9), val(30, 0.9)),
				}},
			},
		},
		{
			name:     "inconclusive: too few samples",
			triggers: []domain.Trigger{er},
			samples:  map[string][]domain.Sample{"error_rate": {val(0, 0.01), val(15, 0.02)}},
			want: domain.Verdict{
				Result: domain.VerdictInconclusive, Reason: "error_rate: 2 sample(s) with data (0 without), fewer than 3",
				Window: window, Samples: 2,
				Checks: []domain.Check{{
					Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictInconclusive, Reason: "2 sample(s) with data (0 without), fewer than 3",
					Samples: 2, Measurements: measured(er, val(0, 0.01), val(15, 0.02)),
				}},
			},
		},
		{
			name:     "inconclusive: no data (missing samples and NaN) is not a pass",
			triggers: []domain.Trigger{er},
			samples:  map[string][]domain.Sample{"error_rate": {gap(0), val(15, nan), gap(30), val(45, 0.01), gap(60)}},
			want: domain.Verdict{
				Result: domain.VerdictInconclusive, Reason: "error_rate: 1 sample(s) with data (4 without), fewer than 3",
				Window: window, Samples: 1,
				Checks: []domain.Check{{
					Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictInconclusive, Reason: "1 sample(s) with data (4 without), fewer than 3",
					Samples: 1, NoData: 4, Measurements: measured(er, gap(0), val(15, nan), gap(30), val(45, 0.01), gap(60)),
				}},
			},
		},
		{
			name:     "inconclusive: no samples at all for a trigger",
			triggers: []domain.Trigger{er, p95},
			samples:  map[string][]domain.Sample{"error_rate": every(0, 60, 15, 0.01)},
			want: domain.Verdict{
				Result: domain.VerdictInconclusive, Reason: "response_time_p95: 0 sample(s) with data (0 without), fewer than 3",
				Window: window, Samples: 5,
				Checks: []domain.Check{
					{Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictPass, Reason: "0 of 5 samples breached > 0.1, at most 20%", Samples: 5, Measurements: measured(er, every(0, 60, 15, 0.01)...)},
					{Trigger: "response_time_p95", RuleVersion: 1, Result: domain.VerdictInconclusive, Reason: "0 sample(s) with data (0 without), fewer than 3", Measurements: []domain.Measurement{}},
				},
			},
		},
		{
			name:     "fail outweighs inconclusive",
			triggers: []domain.Trigger{er, p95},
			samples: map[string][]domain.Sample{
				"error_rate":        every(0, 60, 15, 0.5),
				"response_time_p95": gaps(0, 60, 15),
			},
			want: domain.Verdict{
				Result: domain.VerdictFail, Reason: "error_rate: 5 of 5 samples breached > 0.1, more than 20%",
				Window: window, Samples: 5, Breaching: 5,
				Checks: []domain.Check{
					{Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictFail, Reason: "5 of 5 samples breached > 0.1, more than 20%", Samples: 5, Breaching: 5, Measurements: measured(er, every(0, 60, 15, 0.5)...)},
					{Trigger: "response_time_p95", RuleVersion: 1, Result: domain.VerdictInconclusive, Reason: "0 sample(s) with data (5 without), fewer than 3", NoData: 5, Measurements: measured(p95, gaps(0, 60, 15)...)},
				},
			},
		},
		{
			name:     "only samples inside the window, sorted, first of a repeated timestamp",
			triggers: []domain.Trigger{er},
			samples: map[string][]domain.Sample{"error_rate": {
				val(75, 0.9), val(30, 0.01), val(-15, 0.9), val(0, 0.02), val(60, 0.03), val(30, 0.9), val(45, 0.04), val(15, 0.05),
			}},
			want: domain.Verdict{
				Result: domain.VerdictPass, Reason: "1 trigger(s) within thresholds: 0 of 5 samples breached",
				Window: window, Samples: 5,
				Checks: []domain.Check{{
					Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictPass, Reason: "0 of 5 samples breached > 0.1, at most 20%",
					Samples: 5, Measurements: measured(er, val(0, 0.02), val(15, 0.05), val(30, 0.01), val(45, 0.04), val(60, 0.03)),
				}},
			},
		},
		{
			name:     "disabled triggers and unknown sample keys are not analysed",
			triggers: []domain.Trigger{er, withTrigger(func(tr *domain.Trigger) { tr.Name, tr.Enabled = "off", false })},
			samples: map[string][]domain.Sample{
				"error_rate": every(0, 60, 15, 0.01),
				"off":        every(0, 60, 15, 0.9),
				"unknown":    every(0, 60, 15, 0.9),
			},
			want: domain.Verdict{
				Result: domain.VerdictPass, Reason: "1 trigger(s) within thresholds: 0 of 5 samples breached",
				Window: window, Samples: 5,
				Checks: []domain.Check{{Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictPass, Reason: "0 of 5 samples breached > 0.1, at most 20%", Samples: 5, Measurements: measured(er, every(0, 60, 15, 0.01)...)}},
			},
		},
		{
			name:     "inconclusive: no enabled trigger",
			triggers: nil,
			samples:  map[string][]domain.Sample{"error_rate": every(0, 60, 15, 0.9)},
			want:     domain.Verdict{Result: domain.VerdictInconclusive, Reason: "no enabled trigger to analyse", Window: window, Checks: []domain.Check{}},
		},
		{
			name:     "a zero policy is clamped: one sample suffices, any breach fails",
			triggers: []domain.Trigger{er},
			samples:  map[string][]domain.Sample{"error_rate": {val(0, 0.2)}},
			policy:   domain.AnalysisPolicy{MinSamples: 0, MaxBreachFraction: -1},
			want: domain.Verdict{
				Result: domain.VerdictFail, Reason: "error_rate: 1 of 1 samples breached > 0.1, more than 0%",
				Window: window, Samples: 1, Breaching: 1,
				Checks: []domain.Check{{Trigger: "error_rate", RuleVersion: 1, Result: domain.VerdictFail, Reason: "1 of 1 samples breached > 0.1, more than 0%", Samples: 1, Breaching: 1, Measurements: measured(er, val(0, 0.2))}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.policy
			if p == (domain.AnalysisPolicy{}) {
				p = policy
			}
			got := domain.Analyze(tt.triggers, tt.samples, window, p)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("Analyze (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalyzeDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	in := []domain.Sample{val(30, 0.2), val(0, 0.1), val(15, 0.3)}
	want := append([]domain.Sample(nil), in...)
	domain.Analyze(domain.DefaultTriggers(), map[string][]domain.Sample{"error_rate": in}, domain.WindowEnding(sec(60), time.Minute), domain.DefaultAnalysisPolicy())
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("input samples changed (-want +got):\n%s", diff)
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	w := domain.WindowEnding(sec(120), 2*time.Minute)
	if diff := cmp.Diff(domain.Window{Start: sec(0), End: sec(120)}, w); diff != "" {
		t.Errorf("WindowEnding (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		at   int
		want bool
	}{{-1, false}, {0, true}, {60, true}, {120, true}, {121, false}} {
		if got := w.Contains(sec(tt.at)); got != tt.want {
			t.Errorf("Contains(t0+%ds) = %v, want %v", tt.at, got, tt.want)
		}
	}
}

func TestAnalysisPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy domain.AnalysisPolicy
		want   []errs.FieldViolation
	}{
		{name: "default", policy: domain.DefaultAnalysisPolicy()},
		{name: "bounds", policy: domain.AnalysisPolicy{MinSamples: 1, MaxBreachFraction: 1}},
		{name: "every problem", policy: domain.AnalysisPolicy{MinSamples: 0, MaxBreachFraction: 1.5}, want: []errs.FieldViolation{
			{Field: "min_samples", Description: "must be at least 1, got 0"},
			{Field: "max_breach_fraction", Description: "must be between 0 and 1, got 1.5"},
		}},
		{name: "NaN fraction", policy: domain.AnalysisPolicy{MinSamples: 3, MaxBreachFraction: math.NaN()}, want: []errs.FieldViolation{
			{Field: "max_breach_fraction", Description: "must be between 0 and 1, got NaN"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, violations(t, tt.policy.Validate())); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerdictJSONWithNonFiniteValues(t *testing.T) {
	t.Parallel()
	samples := []domain.Sample{val(0, math.Inf(1)), val(15, nan), gap(30), val(45, 0.01), val(60, math.Inf(-1))}
	v := domain.Analyze(domain.DefaultTriggers()[:1], map[string][]domain.Sample{"error_rate": samples}, domain.WindowEnding(sec(60), time.Minute), domain.DefaultAnalysisPolicy())
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("verdict does not serialise: %v", err)
	}
	var back domain.Verdict
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v, back, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
