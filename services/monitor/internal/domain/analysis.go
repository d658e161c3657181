package domain

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
)

// Analysis results.
const (
	VerdictPass         = "pass"
	VerdictFail         = "fail"
	VerdictInconclusive = "inconclusive"
)

// Window is a closed interval of time: a sample at Start or at End is in it.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// WindowEnding is the window of length d ending at end.
func WindowEnding(end time.Time, d time.Duration) Window {
	return Window{Start: end.Add(-d), End: end}
}

// Contains reports whether at is in the window.
func (w Window) Contains(at time.Time) bool { return !at.Before(w.Start) && !at.After(w.End) }

// AnalysisPolicy is how an analysis judges the samples of a window.
type AnalysisPolicy struct {
	// MinSamples is the fewest samples with data a trigger needs for a pass
	// (or a fail by fraction); fewer is inconclusive. Values below 1 count as 1.
	MinSamples int `json:"min_samples"`
	// MaxBreachFraction: a trigger fails when more than this fraction of its
	// samples with data breach (strictly more). 0 fails on any breaching
	// sample; 1 never fails by fraction. Clamped to [0, 1]; NaN counts as 0.
	MaxBreachFraction float64 `json:"max_breach_fraction"`
}

// DefaultAnalysisPolicy: at least 3 samples with data per trigger, and fail
// when more than a fifth of them breach (2 of 5 samples, at 15 s intervals
// over a one-minute analysis).
func DefaultAnalysisPolicy() AnalysisPolicy {
	return AnalysisPolicy{MinSamples: 3, MaxBreachFraction: 0.2}
}

// Validate reports every problem of the policy at once.
func (p AnalysisPolicy) Validate() error {
	var v errs.Violations
	if p.MinSamples < 1 {
		v.Add("min_samples", "must be at least 1, got %d", p.MinSamples)
	}
	if !(p.MaxBreachFraction >= 0 && p.MaxBreachFraction <= 1) {
		v.Add("max_breach_fraction", "must be between 0 and 1, got %v", p.MaxBreachFraction)
	}
	return v.Err()
}

// Measurement is one sample the analysis used, and whether it breached.
type Measurement struct {
	Sample    Sample `json:"sample"`
	Breaching bool   `json:"breaching,omitempty"`
}

// Check is the analysis of one trigger.
type Check struct {
	Trigger     string `json:"trigger"`
	RuleVersion uint64 `json:"rule_version"`
	Result      string `json:"result"`
	Reason      string `json:"reason"`
	// Samples counts the samples with data, Breaching those that breached,
	// NoData the missing ones (NoData or NaN).
	Samples   int `json:"samples"`
	Breaching int `json:"breaching"`
	NoData    int `json:"no_data"`
	// Measurements are the window's samples in time order, one per timestamp.
	Measurements []Measurement `json:"measurements"`
}

// Verdict is the outcome of an analysis, with the measurements behind it.
type Verdict struct {
	Result string `json:"result"`
	Reason string `json:"reason"`
	Window Window `json:"window"`
	// Samples and Breaching total the checks' counts.
	Samples   int `json:"samples"`
	Breaching int `json:"breaching"`
	// Checks has one entry per enabled trigger, in the order given.
	Checks []Check `json:"checks"`
}

// Analyze judges a canary (or any) window from the samples of each trigger
// (keyed by trigger name; samples of unknown or disabled triggers are not
// used). The rule, per enabled trigger, over its samples in the window
// sorted by time (for a repeated timestamp the first sample given is kept):
//
//  1. fail when the samples contain a sustained breach: replayed through a
//     fresh TriggerState, the trigger fires for a breach. The trigger's action
//     does not matter (an alert-only breach fails a canary too); the no-data
//     policy is taken as hold and cooldowns do not apply, so missing samples
//     neither help nor hurt;
//  2. otherwise inconclusive when fewer than MinSamples samples have data
//     (including a window with no samples, or only missing ones);
//  3. otherwise fail when more than MaxBreachFraction of the samples with
//     data breach;
//  4. otherwise pass.
//
// The verdict is fail when any trigger fails, else inconclusive when any is
// inconclusive or no trigger is enabled, else pass.
func Analyze(triggers []Trigger, samples map[string][]Sample, w Window, p AnalysisPolicy) Verdict {
	p.MinSamples = max(p.MinSamples, 1)
	if !(p.MaxBreachFraction >= 0) { // negative or NaN
		p.MaxBreachFraction = 0
	}
	p.MaxBreachFraction = min(p.MaxBreachFraction, 1)

	v := Verdict{Window: w, Checks: []Check{}}
	var failed, unsure []string
	for _, t := range triggers {
		if !t.Enabled {
			continue
		}
		c := check(t, samples[t.Name], w, p)
		v.Checks = append(v.Checks, c)
		v.Samples += c.Samples
		v.Breaching += c.Breaching
		switch c.Result {
		case VerdictFail:
			failed = append(failed, c.Trigger+": "+c.Reason)
		case VerdictInconclusive:
			unsure = append(unsure, c.Trigger+": "+c.Reason)
		}
	}
	switch {
	case len(failed) > 0:
		v.Result, v.Reason = VerdictFail, strings.Join(failed, "; ")
	case len(v.Checks) == 0:
		v.Result, v.Reason = VerdictInconclusive, "no enabled trigger to analyse"
	case len(unsure) > 0:
		v.Result, v.Reason = VerdictInconclusive, strings.Join(unsure, "; ")
	default:
		v.Result = VerdictPass
		v.Reason = fmt.Sprintf("%d trigger(s) within thresholds: %d of %d samples breached", len(v.Checks), v.Breaching, v.Samples)
	}
	return v
}

func check(t Trigger, all []Sample, w Window, p AnalysisPolicy) Check {
	c := Check{Trigger: t.Name, RuleVersion: t.Version, Measurements: []Measurement{}}
	var in []Sample
	for _, s := range all {
		if w.Contains(s.At) {
			in = append(in, s)
		}
	}
	slices.SortStableFunc(in, func(a, b Sample) int { return a.At.Compare(b.At) })
	in = slices.CompactFunc(in, func(a, b Sample) bool { return a.At.Equal(b.At) })

	replay := t
	replay.NoData, replay.Cooldown, replay.Enabled = NoDataHold, 0, true
	var st TriggerState
	var sustained *Decision
	for _, s := range in {
		m := Measurement{Sample: s}
		if s.Missing() {
			c.NoData++
		} else {
			c.Samples++
			if t.Operator.Holds(s.Value, t.Threshold) {
				m.Breaching = true
				c.Breaching++
			}
		}
		c.Measurements = append(c.Measurements, m)
		if d := st.Observe(replay, s); d.Kind == KindFired && sustained == nil {
			sustained = &d
		}
	}

	switch {
	case sustained != nil:
		c.Result = VerdictFail
		c.Reason = fmt.Sprintf("sustained breach: %s %s held for %s from %s (observed %s at %s)",
			t.Operator, formatValue(t.Threshold), sustained.SustainedFor, stamp(sustained.Since), formatValue(sustained.Observed), stamp(sustained.At))
	case c.Samples < p.MinSamples:
		c.Result = VerdictInconclusive
		c.Reason = fmt.Sprintf("%d sample(s) with data (%d without), fewer than %d", c.Samples, c.NoData, p.MinSamples)
	case float64(c.Breaching)/float64(c.Samples) > p.MaxBreachFraction:
		c.Result = VerdictFail
		c.Reason = fmt.Sprintf("%d of %d samples breached %s %s, more than %s", c.Breaching, c.Samples, t.Operator, formatValue(t.Threshold), formatFraction(p.MaxBreachFraction))
	default:
		c.Result = VerdictPass
		c.Reason = fmt.Sprintf("%d of %d samples breached %s %s, at most %s", c.Breaching, c.Samples, t.Operator, formatValue(t.Threshold), formatFraction(p.MaxBreachFraction))
	}
	return c
}

func formatFraction(f float64) string {
	return fmt.Sprintf("%s%%", formatValue(math.Round(f*10000)/100))
}
