package change_test

import (
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/services/change/internal/change"
)

func TestAuthorizes(t *testing.T) {
	t.Parallel()
	implementing := plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{}))
	validated := plus(implementing, passed("dep-1"), by("system:change", change.Validated{}))
	tests := []struct {
		name         string
		given        [][]ev
		release, env string
		at           time.Time
		want         bool
		because      []string // facts the reason states
	}{
		{
			name: "scheduled, at the window's start (inclusive)", given: normalScheduled(), at: winStart, want: true,
			because: []string{"change CR-1 authorizes release rel-220 in production during window w1 until 2026-03-06T00:00:00Z"},
		},
		{name: "scheduled, inside the window", given: normalScheduled(), at: winStart.Add(time.Hour), want: true},
		{name: "scheduled, the last instant of the window", given: normalScheduled(), at: winEnd.Add(-time.Nanosecond), want: true},
		{
			name: "scheduled, at the window's end (exclusive)", given: normalScheduled(), at: winEnd,
			because: []string{"window w1 closed at 2026-03-06T00:00:00Z"},
		},
		{
			name: "scheduled, just before the window", given: normalScheduled(), at: winStart.Add(-time.Nanosecond),
			because: []string{"window w1 opens at 2026-03-05T22:00:00Z"},
		},
		{name: "implementing, inside the window", given: implementing, at: implAt.Add(time.Minute), want: true},
		{
			name: "approved but not scheduled", given: [][]ev{submitted(change.ClassNormal), reviewed(), approvedNormal()}, at: winStart,
			because: []string{"change CR-1 is approved but not scheduled: it has no window yet"},
		},
		{
			name: "awaiting approval", given: [][]ev{submitted(change.ClassNormal), reviewed()}, at: winStart,
			because: []string{"awaits approval (still needed: product, operations)"},
		},
		{
			name: "another release", given: normalScheduled(), release: "rel-999", at: winStart,
			because: []string{"change CR-1 does not cover release rel-999"},
		},
		{
			name: "another environment", given: normalScheduled(), env: "staging", at: winStart,
			because: []string{"change CR-1 does not cover staging"},
		},
		{
			name: "every reason at once", given: normalScheduled(), release: "rel-999", env: "staging", at: winEnd,
			because: []string{"does not cover release rel-999; change CR-1 does not cover staging; window w1 closed at"},
		},
		{name: "validated: the change is done", given: validated, at: implAt, because: []string{"change CR-1 is validated"}},
		{
			name: "cancelled", given: plus(normalScheduled(), by("alice", change.Cancelled{Reason: "Not needed."})), at: implAt,
			because: []string{"was cancelled: Not needed."},
		},
		{name: "never submitted", at: implAt, because: []string{"change CR-1 does not exist"}},
		{
			name: "a standard change, once scheduled", given: [][]ev{submitted(change.ClassStandard), by("alice", change.Approved{PreApproved: true, Template: "smtp-pool-switch"}), scheduled()},
			at: winStart, want: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := given(t, tt.given...)
			rel, env := tt.release, tt.env
			if rel == "" {
				rel = release
			}
			if env == "" {
				env = "production"
			}
			ok, why := change.Authorizes(c, rel, env, tt.at)
			if ok != tt.want {
				t.Errorf("Authorizes = %v (%s), want %v", ok, why, tt.want)
			}
			if why == "" {
				t.Errorf("no reason given")
			}
			for _, f := range tt.because {
				if !strings.Contains(why, f) {
					t.Errorf("reason %q does not say %q", why, f)
				}
			}
		})
	}
}
