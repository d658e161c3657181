// Package lease gives work that must have one owner among a service's
// instances (a deployment's runner, a timer) exactly one: a lease is a key
// in a JetStream KV bucket whose entries expire TTL after their last write.
// The owner creates the key (compare-and-swap: create fails when it
// exists) and renews it every TTL/3 by updating it at the revision it last
// wrote (compare-and-swap again); another instance takes the work over once
// the key has expired.
//
// Fencing: a holder may act only while Valid — until the time it sent its
// last successful write plus TTL minus a safety margin, measured on its own
// monotonic clock. The server expires the key no earlier than TTL after it
// stored that write, so a holder's validity always ends before another
// instance can take the key. A process paused (SIGSTOP, a long GC, a frozen
// VM) past its validity finds it over when it runs again and must stop
// before it acts; it also stops renewing, since its next renewal's
// compare-and-swap fails against the new owner's write. Appends are fenced
// a second time by the event store's expected-version check.
package lease

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTTL is how long a lease outlives its holder's last renewal.
const DefaultTTL = 10 * time.Second

// Options configure a Manager.
type Options struct {
	// Bucket is the KV bucket (created with TTL as its entries' maximum age).
	Bucket string
	// Owner names this instance in the leases it holds (unique among the
	// instances; e.g. host and pid).
	Owner string
	// TTL is how long a lease lasts after its last renewal (default DefaultTTL).
	TTL time.Duration
	// Replicas of the bucket (default 1).
	Replicas int
	// Now is the clock (monotonic readings; default time.Now).
	Now func() time.Time
}

// Manager acquires and renews leases in one bucket.
type Manager struct {
	kv   jetstream.KeyValue
	opts Options
}

// Open creates (or opens) the bucket.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Manager, error) {
	if opts.Bucket == "" || opts.Owner == "" {
		return nil, errors.New("lease: a bucket and an owner are required")
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: opts.Bucket, Description: "Floe leases: which instance owns a piece of single-owner work", History: 1,
		TTL: opts.TTL, Storage: jetstream.FileStorage, Replicas: opts.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("lease bucket %s: %w", opts.Bucket, err)
	}
	return &Manager{kv: kv, opts: opts}, nil
}

// TTL is the leases' time to live.
func (m *Manager) TTL() time.Duration { return m.opts.TTL }

// Owner is this instance's name.
func (m *Manager) Owner() string { return m.opts.Owner }

// margin is the part of the TTL a holder gives up, for clock rate drift
// and the time between sending a write and the server storing it.
func (m *Manager) margin() time.Duration { return m.opts.TTL / 5 }

// Holder is the owner of key now ("" when nobody holds it).
func (m *Manager) Holder(ctx context.Context, key string) (string, error) {
	e, err := m.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return "", nil
	case err != nil:
		return "", err
	}
	return string(e.Value()), nil
}

// TryAcquire takes key when nobody holds it (or this owner held it before
// a restart: the same Owner) and keeps it renewed until Release, ctx's end
// or its loss; nil (and no error) when another instance holds it.
func (m *Manager) TryAcquire(ctx context.Context, key string) (*Lease, error) {
	sent := m.opts.Now()
	rev, err := m.kv.Create(ctx, key, []byte(m.opts.Owner))
	if errors.Is(err, jetstream.ErrKeyExists) {
		e, gerr := m.kv.Get(ctx, key)
		switch {
		case errors.Is(gerr, jetstream.ErrKeyNotFound):
			return m.TryAcquire(ctx, key) // expired meanwhile
		case gerr != nil:
			return nil, gerr
		case string(e.Value()) != m.opts.Owner:
			return nil, nil
		}
		// Our own lease from before a restart: take it back at its revision.
		sent = m.opts.Now()
		rev, err = m.kv.Update(ctx, key, []byte(m.opts.Owner), e.Revision())
		if isConflict(err) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("acquire lease %s: %w", key, err)
	}
	l := &Lease{m: m, key: key, rev: rev, until: sent.Add(m.opts.TTL - m.margin()), lost: make(chan struct{}), stop: make(chan struct{})}
	go l.renew(ctx)
	return l, nil
}

func isConflict(err error) bool {
	return err != nil && (errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) ||
		strings.Contains(err.Error(), "wrong last sequence"))
}

// Lease is a held lease.
type Lease struct {
	m   *Manager
	key string
	mu  sync.Mutex
	rev uint64
	// until is when this holder must stop acting (monotonic).
	until    time.Time
	lost     chan struct{}
	stop     chan struct{}
	lostOnce sync.Once
	stopOnce sync.Once
}

// Key is the lease's key.
func (l *Lease) Key() string { return l.key }

// Valid reports whether the holder may act now: the lease is not lost and
// its validity has not run out.
func (l *Lease) Valid() bool {
	select {
	case <-l.lost:
		return false
	default:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.opts.Now().Before(l.until)
}

// Lost is closed when the lease is lost (a renewal failed, or its validity
// ran out before one succeeded) or released.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release gives the lease up (deleting the key, when still ours, so that
// another instance need not wait for it to expire).
func (l *Lease) Release(ctx context.Context) {
	l.stopOnce.Do(func() { close(l.stop) })
	valid := l.Valid()
	l.markLost()
	if !valid {
		return
	}
	l.mu.Lock()
	rev := l.rev
	l.mu.Unlock()
	_ = l.m.kv.Delete(ctx, l.key, jetstream.LastRevision(rev))
}

func (l *Lease) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// renew rewrites the key every TTL/3 at the revision last written.
func (l *Lease) renew(ctx context.Context) {
	t := time.NewTicker(l.m.opts.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.markLost()
			return
		case <-l.stop:
			return
		case <-l.lost:
			return
		case <-t.C:
		}
		if !l.Valid() {
			// Paused past the validity: another instance may hold it now.
			l.markLost()
			return
		}
		l.mu.Lock()
		rev := l.rev
		l.mu.Unlock()
		sent := l.m.opts.Now()
		rctx, cancel := context.WithTimeout(ctx, l.m.opts.TTL/3)
		next, err := l.m.kv.Update(rctx, l.key, []byte(l.m.opts.Owner), rev)
		cancel()
		switch {
		case err == nil:
			l.mu.Lock()
			l.rev, l.until = next, sent.Add(l.m.opts.TTL-l.m.margin())
			l.mu.Unlock()
		case isConflict(err):
			l.markLost() // expired and taken, or deleted
			return
		default:
			// A transient failure (a NATS node down): keep trying while valid.
		}
	}
}
