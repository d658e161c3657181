package domain_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// FuzzParseOperator: operators come from configuration. Parsing never panics,
// accepts only the six operators, each printing back to its input, and a
// parsed operator agrees with Go's comparison on non-NaN values.
func FuzzParseOperator(f *testing.F) {
	for _, s := range []string{">", "<", ">=", "<=", "==", "!=", "", "=", "=>", "<>", " >", "gt", "≥", ">\x00"} {
		f.Add(s, 1.0, 2.0)
	}
	f.Add(">=", math.Inf(1), math.Inf(1))
	f.Add("!=", math.NaN(), 0.0)
	f.Fuzz(func(t *testing.T, s string, a, b float64) {
		op, err := domain.ParseOperator(s)
		if err != nil {
			if op != "" || op.Valid() || op.Holds(a, b) {
				t.Fatalf("ParseOperator(%q) failed (%v) but returned %q", s, err, op)
			}
			if domain.Operator(s).Holds(a, b) {
				t.Fatalf("invalid operator %q holds for %v, %v", s, a, b)
			}
			return
		}
		if string(op) != s || !op.Valid() {
			t.Fatalf("ParseOperator(%q) = %q", s, op)
		}
		var want bool
		switch {
		case math.IsNaN(a) || math.IsNaN(b):
			want = false
		case s == ">":
			want = a > b
		case s == "<":
			want = a < b
		case s == ">=":
			want = a >= b
		case s == "<=":
			want = a <= b
		case s == "==":
			want = a == b
		case s == "!=":
			want = a != b
		default:
			t.Fatalf("ParseOperator accepted %q", s)
		}
		if got := op.Holds(a, b); got != want {
			t.Fatalf("%v %s %v = %v, want %v", a, op, b, got, want)
		}
	})
}

// FuzzTriggerObserve drives a trigger with arbitrary sample sequences (gaps,
// out-of-order times, missing samples, NaN and infinite values, disabling and
// edits). Observe never panics; a breach never fires before Duration of
// continuous breach (no healthy sample, no disabling, no edit since it began);
// a no-data firing never comes before Duration without data; two firings of an
// action are at least Cooldown apart; the state always survives JSON.
//
// data is read in steps of three bytes: a signed gap in seconds; a control
// byte (bits 0-1: 0 no data, 1 NaN, 2-3 a value; bit 2: trigger disabled for
// this sample; bit 3: the rule is edited first); a value byte mapped around
// the threshold (0 is -Inf, 255 is +Inf).
func FuzzTriggerObserve(f *testing.F) {
	f.Add([]byte{15, 2, 200, 15, 2, 200, 15, 2, 200, 15, 3, 10, 15, 2, 200}, uint16(30), uint16(60), uint8(0), uint8(0), 0.1)
	f.Add([]byte{15, 0, 0, 15, 0, 0, 15, 1, 0, 15, 0, 0, 15, 2, 255}, uint16(30), uint16(0), uint8(0), uint8(2), 0.1)
	f.Add([]byte{15, 2, 140, 241, 2, 140, 15, 6, 140, 15, 10, 140, 15, 2, 140}, uint16(15), uint16(3600), uint8(3), uint8(1), 5.0)
	f.Add([]byte{0, 2, 128, 0, 2, 128, 1, 2, 128}, uint16(0), uint16(1), uint8(4), uint8(3), 0.0)
	f.Fuzz(func(t *testing.T, data []byte, durSec, coolSec uint16, opIdx, policyIdx uint8, threshold float64) {
		ops := domain.Operators()
		op := domain.Operator("~")
		if int(opIdx) < 6*40 {
			op = ops[int(opIdx)%len(ops)]
		}
		policies := []string{domain.NoDataHold, domain.NoDataAlert, domain.NoDataRollback, "", "bogus"}
		tr := domain.Trigger{
			Name: "fuzz", Metric: "m", Operator: op, Threshold: threshold,
			Duration: time.Duration(durSec) * time.Second, Action: domain.ActionRollback,
			Cooldown: time.Duration(coolSec) * time.Second, NoData: policies[int(policyIdx)%len(policies)],
			Enabled: true, Version: 1,
		}
		policy := tr.NoDataPolicy()
		timesNoData := policy == domain.NoDataAlert || policy == domain.NoDataRollback

		var s domain.TriggerState
		now := t0
		var (
			seen                       bool
			last                       time.Time
			breachActive, noDataActive bool
			breachStart, noDataStart   time.Time
			lastFired                  = map[string]time.Time{}
			version                    uint64
		)
		for i := 0; i+2 < len(data); i += 3 {
			now = now.Add(time.Duration(int8(data[i])) * time.Second)
			ctl, vb := data[i+1], data[i+2]
			smp := domain.Sample{At: now}
			switch ctl & 3 {
			case 0:
				smp.NoData = true
			case 1:
				smp.Value = math.NaN()
			default:
				switch vb {
				case 0:
					smp.Value = math.Inf(-1)
				case 255:
					smp.Value = math.Inf(1)
				default:
					smp.Value = threshold + float64(int(vb)-128)/16
				}
			}
			cur := tr
			cur.Enabled = ctl&4 == 0
			if ctl&8 != 0 {
				tr.Version++
				cur.Version = tr.Version
			}

			d := s.Observe(cur, smp)

			if seen && !now.After(last) {
				if d.Kind != domain.KindNone {
					t.Fatalf("step %d: ignored sample gave %+v", i/3, d)
				}
				continue
			}
			// The model of what the sample does to the timers. An edit counts
			// at the first sample taken into account under the new version.
			if (seen && cur.Version != version) || !cur.Enabled {
				breachActive, noDataActive = false, false
			}
			seen, last, version = true, now, cur.Version
			if cur.Enabled {
				switch {
				case smp.Missing():
					if !noDataActive {
						noDataActive, noDataStart = true, now
					}
				case op.Holds(smp.Value, threshold):
					noDataActive = false
					if !breachActive {
						breachActive, breachStart = true, now
					}
				default:
					noDataActive, breachActive = false, false
				}
			}

			need := max(tr.Duration, 0)
			switch d.Kind {
			case domain.KindFired, domain.KindSuppressed:
				switch d.Cause {
				case domain.CauseBreach:
					if !breachActive || smp.Missing() || !d.Since.Equal(breachStart) {
						t.Fatalf("step %d: %s without a continuous breach (model since %v active %v): %+v", i/3, d.Kind, breachStart, breachActive, d)
					}
					if now.Sub(d.Since) < need || d.SustainedFor < need || d.SustainedFor > now.Sub(d.Since) {
						t.Fatalf("step %d: %s after %s of breach (sustained %s), duration %s", i/3, d.Kind, now.Sub(d.Since), d.SustainedFor, need)
					}
					if d.Action != domain.ActionRollback {
						t.Fatalf("step %d: breach action %q", i/3, d.Action)
					}
				case domain.CauseNoData:
					if !timesNoData || !smp.Missing() || !noDataActive || !d.Since.Equal(noDataStart) || now.Sub(d.Since) < need {
						t.Fatalf("step %d: no-data %s under %q after %s (model since %v): %+v", i/3, d.Kind, policy, now.Sub(d.Since), noDataStart, d)
					}
					if d.Action != policy {
						t.Fatalf("step %d: no-data action %q under policy %q", i/3, d.Action, policy)
					}
				default:
					t.Fatalf("step %d: %s with cause %q", i/3, d.Kind, d.Cause)
				}
				if d.Kind == domain.KindFired {
					if prev, ok := lastFired[d.Action]; ok && now.Sub(prev) < tr.Cooldown {
						t.Fatalf("step %d: %s fired %s after the previous firing, cooldown %s", i/3, d.Action, now.Sub(prev), tr.Cooldown)
					}
					lastFired[d.Action] = now
				}
			case domain.KindBreachStarted:
				if !breachActive || !breachStart.Equal(now) {
					t.Fatalf("step %d: breach_started but the model has none starting now: %+v", i/3, d)
				}
			case domain.KindBreachCleared:
				if breachActive {
					t.Fatalf("step %d: breach_cleared while the model still breaches: %+v", i/3, d)
				}
			case domain.KindNone:
			default:
				t.Fatalf("step %d: unknown kind %q", i/3, d.Kind)
			}
		}

		b, err := json.Marshal(&s)
		if err != nil {
			t.Fatalf("state does not serialise: %v", err)
		}
		var back domain.TriggerState
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, back); diff != "" {
			t.Fatalf("JSON round trip (-want +got):\n%s", diff)
		}
	})
}

// FuzzAlertObserve drives an alert rule with arbitrary evaluations: never a
// panic; pending fires only once the condition has held for For since it
// became pending; a firing never notifies inside the cooldown after a
// notified resolution; the state always survives JSON.
//
// data is read in pairs: a signed gap in seconds and a control byte (bit 0:
// the condition holds; bit 1: rule disabled; bit 2: rule edited first).
func FuzzAlertObserve(f *testing.F) {
	f.Add([]byte{15, 1, 15, 1, 15, 1, 15, 0, 15, 1, 15, 1}, uint16(30), uint16(60))
	f.Add([]byte{1, 1, 1, 0, 1, 1, 1, 0, 100, 1, 0, 1, 246, 1}, uint16(0), uint16(100))
	f.Add([]byte{15, 1, 15, 5, 15, 3, 15, 1}, uint16(20), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, forSec, coolSec uint16) {
		r := domain.AlertRule{
			Name: "fuzz", Condition: "up == 0", Severity: domain.SeverityWarning, Channels: []string{"c"},
			For: time.Duration(forSec) * time.Second, Cooldown: time.Duration(coolSec) * time.Second, Enabled: true, Version: 1,
		}
		var s domain.AlertState
		now := t0
		var pendingSince, quietUntil time.Time
		for i := 0; i+1 < len(data); i += 2 {
			now = now.Add(time.Duration(int8(data[i])) * time.Second)
			ctl := data[i+1]
			cur := r
			cur.Enabled = ctl&2 == 0
			if ctl&4 != 0 {
				r.Version++
				cur.Version = r.Version
			}
			before := s.Current()
			tr, changed := s.Observe(cur, ctl&1 == 1, 1, now)
			if !changed {
				continue
			}
			if tr.From != before {
				t.Fatalf("step %d: transition from %q, state was %q", i/2, tr.From, before)
			}
			switch {
			case tr.To == domain.AlertPending:
				pendingSince = now
			case tr.From == domain.AlertPending && tr.To == domain.AlertFiring:
				if now.Sub(pendingSince) < r.For || s.ActiveSince.Before(pendingSince) || now.Sub(s.ActiveSince) < r.For {
					t.Fatalf("step %d: fired %s after pending at %v (active since %v), For %s", i/2, now.Sub(pendingSince), pendingSince, s.ActiveSince, r.For)
				}
			case tr.To == domain.AlertFiring && tr.From != domain.AlertFiring && r.For > 0:
				t.Fatalf("step %d: %s → firing with For %s", i/2, tr.From, r.For)
			}
			if tr.Notify && tr.To == domain.AlertFiring && now.Before(quietUntil) {
				t.Fatalf("step %d: notified at %v inside the cooldown until %v", i/2, now, quietUntil)
			}
			if tr.Notify && tr.To == domain.AlertResolved && r.Cooldown > 0 {
				quietUntil = now.Add(r.Cooldown)
			}
			if tr.Notify && tr.To != domain.AlertFiring && tr.To != domain.AlertResolved {
				t.Fatalf("step %d: notified a transition to %q", i/2, tr.To)
			}
		}
		b, err := json.Marshal(&s)
		if err != nil {
			t.Fatalf("state does not serialise: %v", err)
		}
		var back domain.AlertState
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, back); diff != "" {
			t.Fatalf("JSON round trip (-want +got):\n%s", diff)
		}
	})
}
