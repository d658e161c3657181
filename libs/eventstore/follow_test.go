package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/testkit"
)

// follower records what Follow delivers.
type follower struct {
	mu       sync.Mutex
	got      []string
	atCaught int
	caught   chan struct{}
}

func startFollow(t *testing.T, ctx context.Context, js jetstream.JetStream, s *eventstore.JetStreamStore, filters []string) (*follower, chan error) {
	t.Helper()
	f := &follower{caught: make(chan struct{}), atCaught: -1}
	done := make(chan error, 1)
	go func() {
		done <- eventstore.Follow(ctx, js, s.StreamName(), filters, func(e *eventstore.RecordedEvent) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.got = append(f.got, e.AggregateID+":"+payloadOf(t, e))
			return nil
		}, func() {
			f.mu.Lock()
			f.atCaught = len(f.got)
			f.mu.Unlock()
			close(f.caught)
		})
	}()
	return f, done
}

func (f *follower) snapshot() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...), f.atCaught
}

func TestFollowReplaysThenFollows(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	appendOK(t, s, "a", 0, "a-0")
	appendOK(t, s, "b", 0, "b-1")
	appendOK(t, s, "a", 1, "a-2")
	ctx, cancel := context.WithCancel(t.Context())
	f, done := startFollow(t, ctx, js, s, []string{eventstore.SubjectPrefix + "order.a.>"})
	<-f.caught
	got, at := f.snapshot()
	if at != 2 || len(got) != 2 || got[0] != "a:a-0" || got[1] != "a:a-2" {
		t.Fatalf("caught up with %v after %d events; want a:a-0, a:a-2 and 2", got, at)
	}
	appendOK(t, s, "b", 1, "b-late")
	appendOK(t, s, "a", 2, "a-late")
	testkit.Eventually(t, func() error {
		if g, _ := f.snapshot(); len(g) != 3 {
			return fmt.Errorf("followed %v, want 3 events (the late one third)", g)
		}
		return nil
	})
	if got, _ := f.snapshot(); got[2] != "a:a-late" {
		t.Errorf("followed %v, want a:a-late third (and nothing of b)", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow after cancel = %v, want nil", err)
	}
}

func TestFollowEmptyCatchesUpAtOnce(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	f, _ := startFollow(t, t.Context(), js, s, []string{eventstore.SubjectPrefix + "order.none.>"})
	<-f.caught
	appendOK(t, s, "none", 0, "first")
	testkit.Eventually(t, func() error {
		if g, _ := f.snapshot(); len(g) != 1 {
			return fmt.Errorf("followed %v, want the first event", g)
		}
		return nil
	})
}

func TestFollowStopsOnHandlerError(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	appendOK(t, s, "x", 0, "boom")
	boom := errors.New("boom")
	err := eventstore.Follow(t.Context(), js, s.StreamName(), nil, func(*eventstore.RecordedEvent) error { return boom }, nil)
	if !errors.Is(err, boom) {
		t.Errorf("Follow = %v, want the handler's error", err)
	}
}

// Tail delivers what is appended after it started, in order, and only what
// the stream stored: the messages of an atomic batch the stream refused (a
// writer that lost an optimistic-concurrency race) reach core NATS
// subscribers, which is why relays of events must not use them.
func TestTailDeliversOnlyNewStoredEvents(t *testing.T) {
	t.Parallel()
	srv, _, js := natstest.JetStream(t)
	open := func() *eventstore.JetStreamStore {
		s, err := eventstore.Open(t.Context(), js, eventstore.Options{Aggregates: []string{"order"}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	winner, loser := open(), open()
	appendOK(t, loser, "a", 0, "old") // before Tail: not delivered; the loser now caches version 1

	nc, _ := natstest.Connect(t, srv)
	core := make(chan *nats.Msg, 64)
	if _, err := nc.ChanSubscribe(eventstore.SubjectPrefix+"order.>", core); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []string
	)
	started := make(chan uint64, 1)
	go func() {
		_ = eventstore.Tail(t.Context(), js, winner.StreamName(), []string{eventstore.SubjectPrefix + "order.>"}, func(e *eventstore.RecordedEvent) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, e.AggregateID+":"+payloadOf(t, e))
			return nil
		}, func(last uint64) { started <- last })
	}()
	if last := <-started; last != 1 {
		t.Fatalf("Tail started after sequence %d; want 1", last)
	}
	appendOK(t, winner, "a", 1, "won")
	// The loser still believes version 1 is the head: its batch goes to the
	// server, which refuses it.
	if _, err := loser.Append(actorCtx(t), "order", "a", 1, testMeta, strEvents("lost-1", "lost-2")...); err == nil {
		t.Fatal("the stale append succeeded")
	}
	appendOK(t, winner, "b", 0, "after")
	testkit.Eventually(t, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 2 {
			return fmt.Errorf("Tail delivered %v, want the 2 events appended after it started", got)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "a:won" || got[1] != "b:after" {
		t.Errorf("Tail delivered %v; want a:won, b:after (not the refused batch, not the old event)", got)
	}
	// What a core subscriber saw, for contrast: the refused batch too.
	phantom := 0
	for len(core) > 0 {
		m := <-core
		if e, err := eventstore.Decode(0, m.Subject, m.Header, m.Data); err == nil && strings.HasPrefix(payloadOf(t, e), "lost-") {
			phantom++
		}
	}
	t.Logf("a core subscription received %d messages of the refused batch", phantom)
}

// Regression: when ctx's deadline passed between two pulls, nats.go refused
// the next pull ("context deadline already exceeded") before ctx reported
// the deadline, and Follow returned that as an error instead of ending with
// nil; the deployer's wait for an analysis verdict then failed the step with
// an error instead of "no verdict". Many short deadlines hit the window.
func TestFollowEndsQuietlyAtTheDeadline(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	appendOK(t, s, "a", 0, "a-0")
	for i := range 60 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i%12)*time.Millisecond)
		err := eventstore.Follow(ctx, js, s.StreamName(), nil, func(*eventstore.RecordedEvent) error { return nil }, nil)
		if err == nil {
			err = eventstore.Tail(ctx, js, s.StreamName(), nil, func(*eventstore.RecordedEvent) error { return nil }, nil)
		}
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v; want nil when the deadline passes", i, err)
		}
	}
}
