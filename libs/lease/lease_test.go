package lease_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/lease"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/testkit"
)

// skewClock is time.Now plus an offset a test moves, as a pause would.
type skewClock struct{ offset atomic.Int64 }

func (c *skewClock) now() time.Time       { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *skewClock) jump(d time.Duration) { c.offset.Add(int64(d)) }

// One holder at a time: the first instance holds the lease while it
// renews it; the second gets it only after a release, or once the first
// stopped renewing and the key expired; a holder paused past its validity
// finds itself invalid and does not renew; an instance restarted under the
// same name takes its own lease back at once.
func TestLease(t *testing.T) {
	_, _, js := natstest.JetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const ttl = time.Second
	clockA := &skewClock{}
	a, err := lease.Open(ctx, js, lease.Options{Bucket: "leases", Owner: "a", TTL: ttl, Now: clockA.now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := lease.Open(ctx, js, lease.Options{Bucket: "leases", Owner: "b", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}

	la, err := a.TryAcquire(ctx, "deployment.d1")
	if err != nil || la == nil || !la.Valid() {
		t.Fatalf("first acquire: %v %v", la, err)
	}
	// Renewed past several TTLs: b never gets it.
	deadline := time.Now().Add(3 * ttl)
	for time.Now().Before(deadline) {
		if lb, err := b.TryAcquire(ctx, "deployment.d1"); err != nil || lb != nil {
			t.Fatalf("b acquired a lease a renews: %v %v", lb, err)
		}
		time.Sleep(ttl / 4)
	}
	if !la.Valid() {
		t.Fatal("a's renewed lease is not valid")
	}
	if h, _ := b.Holder(ctx, "deployment.d1"); h != "a" {
		t.Errorf("holder %q, want a", h)
	}

	// Released: b takes it at once.
	la.Release(ctx)
	if la.Valid() {
		t.Error("a released lease is valid")
	}
	lb, err := b.TryAcquire(ctx, "deployment.d1")
	if err != nil || lb == nil {
		t.Fatalf("b after the release: %v %v", lb, err)
	}
	lb.Release(ctx)

	// a holds d2 and is "paused": its clock jumps past the validity. It is
	// no longer valid at once, stops renewing, and b takes over after the
	// key expires.
	la, err = a.TryAcquire(ctx, "deployment.d2")
	if err != nil || la == nil {
		t.Fatal(err)
	}
	clockA.jump(ttl)
	if la.Valid() {
		t.Fatal("a paused past its validity is still valid")
	}
	select {
	case <-la.Lost():
	case <-time.After(2 * ttl):
		t.Fatal("a paused lease was not marked lost")
	}
	start := time.Now()
	var lb2 *lease.Lease
	testkit.EventuallyWithin(t, 5*ttl, func() error {
		var err error
		lb2, err = b.TryAcquire(ctx, "deployment.d2")
		if err == nil && lb2 == nil {
			return errHeld
		}
		return err
	})
	t.Logf("taken over %s after the holder stopped renewing (TTL %s)", time.Since(start).Round(10*time.Millisecond), ttl)
	if !lb2.Valid() {
		t.Error("the new holder's lease is not valid")
	}

	// Restarted under the same name: b's own lease comes back at once.
	b2, err := lease.Open(ctx, js, lease.Options{Bucket: "leases", Owner: "b", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	again, err := b2.TryAcquire(ctx, "deployment.d2")
	if err != nil || again == nil {
		t.Fatalf("b restarted: %v %v", again, err)
	}
	// The old b process's lease fails its next renewal (the revision moved).
	select {
	case <-lb2.Lost():
	case <-time.After(2 * ttl):
		t.Error("the superseded lease was not lost")
	}
}

var errHeld = &heldError{}

type heldError struct{}

func (*heldError) Error() string { return "still held" }

// Many instances race for one key: exactly one wins.
func TestLeaseRace(t *testing.T) {
	_, _, js := natstest.JetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		m, err := lease.Open(ctx, js, lease.Options{Bucket: "race", Owner: string(rune('a' + i)), TTL: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if l, err := m.TryAcquire(ctx, "k"); err != nil {
				t.Error(err)
			} else if l != nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d instances hold the lease", wins.Load())
	}
}
