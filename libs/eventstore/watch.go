package eventstore

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/errs"
)

// Change is one notification of WatchAggregate.
type Change struct {
	// Event is the short name of the event appended ("" for the first call).
	Event string
	// Version is the aggregate version that event produced (0 for the first
	// call, and for a notification without a version header).
	Version uint64
}

// How long WatchAggregate keeps re-reading an aggregate whose stored version
// has not reached a notified one, and how long it pauses between reads.
const (
	watchCatchUp    = 10 * time.Second
	watchFirstPause = 2 * time.Millisecond
	watchMaxPause   = 250 * time.Millisecond
)

// WatchAggregate calls onChange with the zero Change once, then again after
// events are appended to the aggregate, until ctx ends (it then returns nil)
// or onChange returns an error. onChange reads the aggregate and returns the
// version it read.
//
// Notifications are core NATS messages, which can overtake the stream's own
// write: a read just after one may still see the previous version. When the
// version onChange read is older than the notified one, WatchAggregate calls
// it again after a short pause (doubling up to 250 ms, for up to 10 s), so a
// watcher never misses the last change. It subscribes before the first call,
// so no event falls between reading the state and watching it. A slow watcher
// may skip event names, never the latest state.
func WatchAggregate(ctx context.Context, nc *nats.Conn, aggregate, id string, onChange func(Change) (uint64, error)) error {
	changes := make(chan Change, 64)
	sub, err := nc.Subscribe(AggregateSubject(aggregate, id), func(m *nats.Msg) {
		_, _, name, _ := ParseSubject(m.Subject)
		v, _ := strconv.ParseUint(m.Header.Get(HdrVersion), 10, 64)
		select {
		case changes <- Change{Event: name, Version: v}:
		default: // behind; the next call reads the latest state anyway
		}
	})
	if err != nil {
		return &errs.UnavailableError{What: "NATS", Err: err}
	}
	defer sub.Unsubscribe()
	seen, err := onChange(Change{})
	if err != nil {
		return err
	}
	var (
		want    Change // the newest change notified
		pause   time.Duration
		giveUp  time.Time // when to stop re-reading for want
		retry   = time.NewTimer(0)
		retryOn bool
	)
	<-retry.C
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-changes:
			if c.Version != 0 && c.Version <= seen {
				continue // already read
			}
			if c.Version > want.Version || c.Version == 0 {
				want = c
			}
			pause, giveUp = watchFirstPause, time.Now().Add(watchCatchUp)
		case <-retry.C:
			retryOn = false
		}
		if retryOn {
			continue // a read is already scheduled
		}
		v, err := onChange(want)
		if err != nil {
			return err
		}
		seen = max(seen, v)
		if want.Version > seen && time.Now().Before(giveUp) {
			retry.Reset(pause)
			retryOn = true
			pause = min(2*pause, watchMaxPause)
		}
	}
}
