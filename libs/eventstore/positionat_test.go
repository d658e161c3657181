package eventstore_test

import (
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/eventstore"
)

// PositionAt maps a moment to the last position the log held then: before
// the first event 0, between two events the earlier one's, after the last
// the last's.
func TestPositionAt(t *testing.T) {
	_, s := newStore(t, "order")
	ctx := t.Context()
	before := time.Now()
	time.Sleep(20 * time.Millisecond)
	var after []time.Time // a moment after each append, before the next
	for i := range 3 {
		if _, err := s.Append(ctx, "order", "o1", eventstore.Version(i), eventstore.Meta{Actor: "alice"}, strEvents("e")...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		after = append(after, time.Now())
		time.Sleep(20 * time.Millisecond)
	}
	for i, c := range []struct {
		at   time.Time
		want uint64
	}{{before, 0}, {after[0], 1}, {after[1], 2}, {after[2], 3}, {time.Now().Add(time.Hour), 3}} {
		got, err := s.PositionAt(ctx, c.at)
		if err != nil || got != c.want {
			t.Errorf("case %d: PositionAt = %d, %v; want %d", i, got, err, c.want)
		}
	}
}
