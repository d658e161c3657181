package app

import (
	"testing"
	"time"
)

// Evaluation times snap to start + k·interval, so scheduler jitter around a
// tick never changes how long a breach is measured to have lasted.
func TestOnGrid(t *testing.T) {
	start := time.Date(2026, 11, 25, 23, 0, 0, 123_000_000, time.UTC)
	for _, c := range []struct {
		after time.Duration
		want  time.Duration
	}{
		{0, 0},
		{2*time.Second + 999_500*time.Microsecond, 3 * time.Second}, // early
		{3*time.Second + 400*time.Microsecond, 3 * time.Second},     // late
		{3*time.Second + 499*time.Millisecond, 3 * time.Second},
		{3*time.Second + 600*time.Millisecond, 4 * time.Second}, // so late it is the next slot's
	} {
		if got := onGrid(start, start.Add(c.after), time.Second); !got.Equal(start.Add(c.want)) {
			t.Errorf("onGrid(start+%s) = start+%s; want start+%s", c.after, got.Sub(start), c.want)
		}
	}
}
