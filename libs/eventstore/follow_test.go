package eventstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
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
	waitUntil(t, "the late event", func() bool { g, _ := f.snapshot(); return len(g) == 3 })
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
	waitUntil(t, "the first event", func() bool { g, _ := f.snapshot(); return len(g) == 1 })
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
