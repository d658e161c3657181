package domain_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// TestRestoreAlertStateBehavesAsTheOriginal: for random evaluation runs, a
// state restored from the transitions so far agrees with the live state on
// everything that decides later evaluations, and decides the rest of the run
// identically.
func TestRestoreAlertStateBehavesAsTheOriginal(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		rule := withRule(func(r *domain.AlertRule) {
			r.For = time.Duration(rng.IntN(4)) * 30 * time.Second
			r.Cooldown = time.Duration(rng.IntN(3)) * 2 * time.Minute
		})
		type step struct {
			at      time.Time
			holds   bool
			enabled bool
		}
		steps := make([]step, 60)
		for i := range steps {
			steps[i] = step{at: t0.Add(time.Duration(i) * 15 * time.Second), holds: rng.IntN(3) > 0, enabled: rng.IntN(12) > 0}
		}
		var live domain.AlertState
		var trs []domain.AlertTransition
		var versions []uint64
		var cooldowns []time.Duration
		for i, st := range steps {
			r := rule
			r.Enabled = st.enabled
			if tr, ok := live.Observe(r, st.holds, 1, st.at); ok {
				trs, versions, cooldowns = append(trs, tr), append(versions, r.Version), append(cooldowns, r.Cooldown)
			}
			restored := domain.RestoreAlertState(trs, versions, cooldowns)
			type decisive struct {
				State                          string
				ActiveSince, FiredAt, Resolved time.Time
				QuietUntil                     time.Time
				NotifiedWhileFiring            bool
			}
			view := func(s domain.AlertState) decisive {
				return decisive{s.Current(), s.ActiveSince, s.FiredAt, s.ResolvedAt, s.QuietUntil, s.Current() == domain.AlertFiring && s.Notified}
			}
			if diff := cmp.Diff(view(live), view(restored)); diff != "" {
				t.Fatalf("seed %d after step %d: restored state differs (-live +restored):\n%s", seed, i, diff)
			}
			// The rest of the run decides the same from either state.
			a, b := live, restored
			for _, rest := range steps[i+1:] {
				r := rule
				r.Enabled = rest.enabled
				ta, oka := a.Observe(r, rest.holds, 1, rest.at)
				tb, okb := b.Observe(r, rest.holds, 1, rest.at)
				if oka != okb || ta != tb {
					t.Fatalf("seed %d: restored after step %d decides differently at %s: live %v %+v, restored %v %+v", seed, i, rest.at, oka, ta, okb, tb)
				}
			}
		}
	}
}
