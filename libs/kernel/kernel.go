// Package kernel is Floe's command kernel: the one way a command changes an
// aggregate. A command is loaded → decided → appended:
//
//   - load: the aggregate's state comes from an in-memory cache entry (or, on a
//     miss, a snapshot plus the events after it, or all events), folded with the
//     kind's one Apply function;
//   - decide: a pure function of the state returns the events to append or a
//     typed error;
//   - append: at the version the decision saw, so the event store's optimistic
//     concurrency check makes the decision valid or refuses it. A refused append
//     refreshes the state and decides again, with bounded, jittered,
//     context-aware backoff.
//
// The cache makes the common case one append and no read: a decision on a
// stale entry either fails the store's version check (and is redone on fresh
// state) or, when it appends nothing or refuses, is confirmed against the
// aggregate's head in the log before it is answered. Commands on one
// aggregate in one process queue on the entry's lock instead of racing.
//
// Every append carries explicit metadata from the causal origin of the work
// (libs/causal): actor, correlation id, causation id, trace context. A
// command with an idempotency key (a client's request id, or a reaction's
// cause) takes effect once: its events get ids "<key>.<n>", the kernel
// remembers each key's outcome per aggregate, and a retry returns the first
// outcome instead of deciding again.
package kernel

import (
	"cmp"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
)

// Kind describes an aggregate kind to the kernel (and to projections that
// fold the same aggregates).
type Kind[S any] struct {
	// Name is the aggregate kind in the log, e.g. "release".
	Name string
	// New returns the state of aggregate id before any event.
	New func(id string) S
	// Apply folds one event into the state and returns it (it may change s
	// in place). It is the only way state changes, for commands, loads,
	// snapshots and projections alike.
	Apply func(s S, e *eventstore.RecordedEvent) (S, error)
	// Codec encodes the state for snapshots (JSON of S when its functions are nil).
	Codec Codec[S]
	// SnapshotEvery persists a snapshot after this many events past the last
	// one; 0 never does (loads then replay every event once per process).
	SnapshotEvery int
}

// Codec encodes an aggregate's state.
type Codec[S any] struct {
	// Schema names the encoding; bump it when S changes shape, and older
	// snapshots are ignored (rebuilt from the log).
	Schema    string
	Marshal   func(S) ([]byte, error)
	Unmarshal func([]byte) (S, error)
}

func (c Codec[S]) marshal(s S) ([]byte, error) {
	if c.Marshal != nil {
		return c.Marshal(s)
	}
	return json.Marshal(s)
}

func (c Codec[S]) unmarshal(b []byte) (S, error) {
	if c.Unmarshal != nil {
		return c.Unmarshal(b)
	}
	var s S
	err := json.Unmarshal(b, &s)
	return s, err
}

// Retry bounds how often a command that keeps losing races is redone.
type Retry struct {
	// MaxAttempts is the number of appends tried before the conflict is
	// returned to the caller (Aborted). Default 25.
	MaxAttempts int
	// Base and Max bound the backoff before each retry after the first
	// (full jitter: a random pause in [0, min(Max, Base·2ⁿ))). Defaults 1 ms and 100 ms.
	Base, Max time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 25
	}
	if r.Base <= 0 {
		r.Base = time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 100 * time.Millisecond
	}
	return r
}

// Options configure a Handler.
type Options struct {
	// Snapshots persists snapshots (nil: none; the cache still works).
	Snapshots *eventstore.Snapshots
	// Retry bounds retries on conflicts.
	Retry Retry
	// CacheSize bounds the aggregates kept in memory (default 10,000; least
	// recently used go first).
	CacheSize int
	// Clock stamps idempotency records; time.Now when nil.
	Clock func() time.Time
	// KeyRetention is how long a key's outcome is remembered (default 24 h;
	// at most 1,000 keys per aggregate are kept either way).
	KeyRetention time.Duration
}

// Handler runs the commands of one aggregate kind.
type Handler[S any] struct {
	store eventstore.Store
	kind  Kind[S]
	opts  Options

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     *list.List // of *entry[S], most recent first
}

// New returns a Handler for kind on store.
func New[S any](store eventstore.Store, kind Kind[S], opts Options) (*Handler[S], error) {
	if store == nil || kind.Name == "" || kind.New == nil || kind.Apply == nil {
		return nil, errors.New("kernel: a store and a kind with Name, New and Apply are required")
	}
	opts.Retry = opts.Retry.withDefaults()
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10_000
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.KeyRetention <= 0 {
		opts.KeyRetention = 24 * time.Hour
	}
	return &Handler[S]{store: store, kind: kind, opts: opts, entries: map[string]*list.Element{}, lru: list.New()}, nil
}

// Kind is the handler's aggregate kind.
func (h *Handler[S]) Kind() Kind[S] { return h.kind }

// Expectation is a command's precondition on the aggregate's version.
type Expectation struct {
	kind    int // 0 any, 1 new, 2 version
	version eventstore.Version
}

// Expectations.
var (
	// ExpectAny runs the command at whatever version the aggregate has.
	ExpectAny = Expectation{}
	// ExpectNew requires that the aggregate has no events (a create).
	ExpectNew = Expectation{kind: 1}
)

// wants is the version the expectation requires, if any.
func (x Expectation) wants() (eventstore.Version, bool) {
	switch x.kind {
	case 1:
		return 0, true
	case 2:
		return x.version, true
	}
	return 0, false
}

// ExpectVersion requires the aggregate to be at v (a client's own
// optimistic check); a mismatch is a ConflictError, not retried.
func ExpectVersion(v eventstore.Version) Expectation { return Expectation{kind: 2, version: v} }

// Command is one command on one aggregate.
type Command[S any] struct {
	// ID is the aggregate id.
	ID string
	// Decide returns the events the command appends (none: it changes
	// nothing) or a typed error. It must be a pure function of the state:
	// the kernel may call it again on fresher state.
	Decide func(S) ([]proto.Message, error)
	// Expect is a precondition on the version (default: any).
	Expect Expectation
	// Key overrides the idempotency key of the causal origin ("" keeps it).
	Key string
	// Observe, when set, sees the state after the command — the state the
	// events produced, the current state on a replay or when nothing was
	// appended — while the aggregate is locked: copy out what is needed.
	Observe func(S)
}

// Result is where a command landed.
type Result struct {
	// Version is the aggregate's version after the command.
	Version eventstore.Version
	// Position is the log position of the command's last event, or, when it
	// appended nothing, of the aggregate's last event; on a replay, of the
	// first outcome's last event. A reader that waits for it sees the command.
	Position uint64
	// Events are the events appended now (none on a replay or a no-op).
	Events []*eventstore.RecordedEvent
	// Replayed is true when the key had already taken effect: nothing was
	// decided or written, and Version/Position describe the first outcome.
	Replayed bool
}

// entry is an aggregate in the cache. Everything in it is guarded by mu.
type entry[S any] struct {
	mu      sync.Mutex
	id      string
	loaded  bool
	state   S
	version eventstore.Version
	seq     uint64 // position of the last event (0: none)
	hash    string
	keys    map[string]outcome
	// keyOrder holds the keys in the order they took effect (oldest first).
	keyOrder []string
	// sinceSnap counts events applied since the last snapshot was written
	// or read; snapRev is the revision of the stored snapshot, for CAS.
	sinceSnap int
	snapRev   uint64
}

// outcome is what a keyed command did.
type outcome struct {
	Version eventstore.Version `json:"v"`
	Seq     uint64             `json:"s"`
	At      time.Time          `json:"t"`
}

func (h *Handler[S]) entry(id string) *entry[S] {
	h.mu.Lock()
	defer h.mu.Unlock()
	if el, ok := h.entries[id]; ok {
		h.lru.MoveToFront(el)
		return el.Value.(*entry[S])
	}
	e := &entry[S]{id: id}
	h.entries[id] = h.lru.PushFront(e)
	for h.lru.Len() > h.opts.CacheSize {
		last := h.lru.Back()
		h.lru.Remove(last)
		delete(h.entries, last.Value.(*entry[S]).id)
	}
	return e
}

// Forget drops an aggregate from the cache (the next command reloads it).
func (h *Handler[S]) Forget(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if el, ok := h.entries[id]; ok {
		h.lru.Remove(el)
		delete(h.entries, id)
	}
}

// metaFor builds the append metadata from ctx's causal origin and trace.
func metaFor(ctx context.Context) (eventstore.Meta, causal.Origin, error) {
	o, ok := causal.From(ctx)
	if !ok || o.Actor == "" {
		return eventstore.Meta{}, o, errors.New("kernel: the context carries no causal origin with an actor (set by the runtime for RPCs, by Subscribe for reactions, by causal.System for background work)")
	}
	tp, ts := causal.TraceParent(ctx)
	return eventstore.Meta{
		Actor: o.Actor, CorrelationID: o.CorrelationID, CausationID: o.CausationID, TraceParent: tp, TraceState: ts,
	}, o, nil
}

// Execute runs cmd: see the package documentation. Typed errors from Decide
// come back unchanged; a conflict that outlasts the retry bound is an
// *errs.ConflictError; ctx ending stops retries at once.
func (h *Handler[S]) Execute(ctx context.Context, cmd Command[S]) (*Result, error) {
	if !eventstore.ValidID(cmd.ID) {
		return nil, errs.Invalid("id", "%q is not a valid %s id: 1-64 letters, digits, '-' or '_'", cmd.ID, h.kind.Name)
	}
	meta, origin, err := metaFor(ctx)
	if err != nil {
		return nil, err
	}
	key := origin.Key
	if cmd.Key != "" {
		key = cmd.Key
	}
	e := h.entry(cmd.ID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		if cmd.Expect.kind == 1 {
			e.reset(h.kind.New(cmd.ID)) // a create: the store's check proves it is new
		} else if err := h.load(ctx, e); err != nil {
			return nil, err
		}
	}
	verified := false // e matches the log's head as of this call
	for attempt := 1; ; attempt++ {
		if res, ok := e.replay(key); ok {
			h.observe(e, cmd)
			causal.Wrote(ctx, res.Position)
			return res, nil
		}
		if want, ok := cmd.Expect.wants(); ok && e.version != want {
			if !verified {
				if err := h.refresh(ctx, e); err != nil {
					return nil, err
				}
				verified = true
				continue
			}
			if want == 0 {
				return nil, &errs.ConflictError{Message: fmt.Sprintf("%s %s exists already (version %d)", h.kind.Name, cmd.ID, e.version)}
			}
			return nil, &errs.ConflictError{Message: fmt.Sprintf("%s %s is at version %d, not the expected %d; reload and retry", h.kind.Name, cmd.ID, e.version, want)}
		}
		msgs, derr := cmd.Decide(e.state)
		if derr != nil || len(msgs) == 0 {
			// A refusal or a no-op must not rest on a stale cache.
			if !verified {
				fresh, err := h.current(ctx, e)
				if err != nil {
					return nil, err
				}
				verified = true
				if !fresh {
					continue
				}
			}
			if derr != nil {
				return nil, derr
			}
			h.observe(e, cmd)
			causal.Wrote(ctx, e.seq)
			return &Result{Version: e.version, Position: e.seq}, nil
		}
		events := make([]eventstore.Event, len(msgs))
		for i, m := range msgs {
			events[i] = eventstore.Event{Message: m}
			if key != "" {
				events[i].ID = key + "." + strconv.Itoa(i)
			}
		}
		res, err := h.store.Append(ctx, h.kind.Name, cmd.ID, e.version, meta, events...)
		if err == nil && res.Duplicate {
			// The same key's events were already stored (an earlier attempt
			// whose acknowledgement was lost): read them in and replay.
			err = h.refresh(ctx, e)
			if err == nil {
				continue
			}
		}
		if errors.Is(err, errs.ErrConcurrency) {
			if attempt >= h.opts.Retry.MaxAttempts {
				return nil, &errs.ConflictError{Message: fmt.Sprintf("%s %s kept changing concurrently: %d attempts lost the race; retry later", h.kind.Name, cmd.ID, attempt)}
			}
			if attempt > 1 {
				if err := h.pause(ctx, attempt); err != nil {
					return nil, err
				}
			}
			if err := h.refresh(ctx, e); err != nil {
				return nil, err
			}
			verified = true
			continue
		}
		if err != nil {
			if !errs.IsClientError(err) {
				// The outcome may be unknown: reload before the next command trusts the entry.
				e.loaded = false
			}
			return nil, err
		}
		if err := h.applyAll(e, res.Events); err != nil {
			e.loaded = false
			return nil, err
		}
		if key != "" {
			e.remember(key, outcome{Version: res.Version, Seq: res.LastSeq, At: h.opts.Clock()}, h.opts.KeyRetention)
		}
		h.observe(e, cmd)
		h.maybeSnapshot(ctx, e)
		causal.Wrote(ctx, res.LastSeq)
		return &Result{Version: res.Version, Position: res.LastSeq, Events: res.Events}, nil
	}
}

func (h *Handler[S]) observe(e *entry[S], cmd Command[S]) {
	if cmd.Observe != nil {
		cmd.Observe(e.state)
	}
}

// pause sleeps before retry attempt n (full jitter), or returns ctx's error.
func (h *Handler[S]) pause(ctx context.Context, attempt int) error {
	r := h.opts.Retry
	ceiling := min(r.Max, r.Base<<min(attempt, 20))
	t := time.NewTimer(time.Duration(rand.Int64N(int64(ceiling) + 1)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Read calls fn with the aggregate's current state (confirmed against the
// log's head) while it is locked; fn must copy out what it needs.
func (h *Handler[S]) Read(ctx context.Context, id string, fn func(s S, version eventstore.Version, position uint64) error) error {
	if !eventstore.ValidID(id) {
		return errs.Invalid("id", "%q is not a valid %s id: 1-64 letters, digits, '-' or '_'", id, h.kind.Name)
	}
	e := h.entry(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		if err := h.load(ctx, e); err != nil {
			return err
		}
	} else if _, err := h.current(ctx, e); err != nil {
		return err
	}
	return fn(e.state, e.version, e.seq)
}

// Replay folds every event of aggregate id from the log, bypassing caches
// and snapshots, and returns the state with the events (for histories and audits).
func (h *Handler[S]) Replay(ctx context.Context, id string) (S, []*eventstore.RecordedEvent, error) {
	s := h.kind.New(id)
	if !eventstore.ValidID(id) {
		return s, nil, errs.Invalid("id", "%q is not a valid %s id: 1-64 letters, digits, '-' or '_'", id, h.kind.Name)
	}
	st, err := h.store.Load(ctx, h.kind.Name, id, nil)
	if err != nil {
		return s, nil, err
	}
	for _, ev := range st.Events {
		if s, err = h.kind.Apply(s, ev); err != nil {
			return s, nil, fmt.Errorf("apply %s at position %d: %w", ev.Type, ev.Seq, err)
		}
	}
	return s, st.Events, nil
}

func (e *entry[S]) reset(s S) {
	e.state, e.version, e.seq, e.hash = s, 0, 0, eventstore.GenesisHash
	e.keys, e.keyOrder, e.sinceSnap, e.loaded = map[string]outcome{}, nil, 0, true
}

// replay reports the first outcome of key, if it took effect.
func (e *entry[S]) replay(key string) (*Result, bool) {
	if key == "" {
		return nil, false
	}
	o, ok := e.keys[key]
	if !ok {
		return nil, false
	}
	return &Result{Version: o.Version, Position: o.Seq, Replayed: true}, true
}

// maxKeys bounds the outcomes remembered per aggregate.
const maxKeys = 1000

func (e *entry[S]) remember(key string, o outcome, retention time.Duration) {
	if _, ok := e.keys[key]; ok {
		return // the first outcome stands
	}
	e.keys[key] = o
	e.keyOrder = append(e.keyOrder, key)
	// Forget the oldest while there are too many or they are past retention.
	cutoff := o.At.Add(-retention)
	for len(e.keyOrder) > 0 {
		oldest := e.keyOrder[0]
		if len(e.keyOrder) <= maxKeys && !e.keys[oldest].At.Before(cutoff) {
			break
		}
		delete(e.keys, oldest)
		e.keyOrder = e.keyOrder[1:]
	}
}

// applyAll folds events into e, recording their keys.
func (h *Handler[S]) applyAll(e *entry[S], events []*eventstore.RecordedEvent) error {
	for _, ev := range events {
		if ev.Version != e.version+1 || ev.PrevHash != e.hash {
			return &eventstore.ChainError{Seq: ev.Seq, Aggregate: h.kind.Name, ID: e.id, Reason: fmt.Sprintf(
				"event version %d does not follow version %d", ev.Version, e.version)}
		}
		s, err := h.kind.Apply(e.state, ev)
		if err != nil {
			return fmt.Errorf("apply %s at position %d: %w", ev.Type, ev.Seq, err)
		}
		e.state, e.version, e.seq, e.hash = s, ev.Version, ev.Seq, ev.Hash
		e.sinceSnap++
		if k := eventstore.KeyOf(ev.ID); k != "" {
			if _, seen := e.keys[k]; !seen {
				e.remember(k, outcome{Version: ev.Version, Seq: ev.Seq, At: ev.Time}, h.opts.KeyRetention)
			} else if o := e.keys[k]; o.Version == ev.Version-1 {
				// A later event of the same command: the outcome ends here.
				e.keys[k] = outcome{Version: ev.Version, Seq: ev.Seq, At: o.At}
			}
		}
	}
	return nil
}

// load fills e from a snapshot (if any) and the events after it. The head
// is read first: an aggregate that does not exist yet (a create) then costs
// one cheap lookup, and one too young to have a snapshot (fewer events than
// SnapshotEvery) is read without asking the snapshot bucket.
func (h *Handler[S]) load(ctx context.Context, e *entry[S]) error {
	e.reset(h.kind.New(e.id))
	version, _, err := h.store.Head(ctx, h.kind.Name, e.id)
	if err != nil {
		e.loaded = false
		return err
	}
	if version == 0 {
		return nil
	}
	var anchor *eventstore.Snapshot
	if h.opts.Snapshots != nil && h.kind.SnapshotEvery > 0 && version >= eventstore.Version(h.kind.SnapshotEvery) {
		snap, err := h.opts.Snapshots.Get(ctx, h.kind.Name, e.id)
		if err != nil {
			e.loaded = false
			return err
		}
		if snap != nil {
			e.snapRev = snap.Revision
			if snap.Schema == h.schema() {
				if st, keys, err := h.decodeSnapshot(snap.State); err == nil {
					e.state, e.keys, e.keyOrder = st, keys, keyOrder(keys)
					e.version, e.seq, e.hash = snap.Version, snap.Seq, snap.Hash
					anchor = snap
				}
			}
		}
	}
	st, err := h.store.Load(ctx, h.kind.Name, e.id, anchor)
	var chainErr *eventstore.ChainError
	if anchor != nil && errors.As(err, &chainErr) {
		// The snapshot does not describe this log (say it was restored from
		// an older backup): ignore it and replay everything.
		snapRev := e.snapRev
		e.reset(h.kind.New(e.id))
		e.snapRev = snapRev
		st, err = h.store.Load(ctx, h.kind.Name, e.id, nil)
	}
	if err != nil {
		e.loaded = false
		return err
	}
	if err := h.applyAll(e, st.Events); err != nil {
		e.loaded = false
		return err
	}
	h.maybeSnapshot(ctx, e)
	return nil
}

// refresh folds in the events appended after e's head.
func (h *Handler[S]) refresh(ctx context.Context, e *entry[S]) error {
	anchor := &eventstore.Snapshot{Version: e.version, Seq: e.seq, Hash: e.hash}
	st, err := h.store.Load(ctx, h.kind.Name, e.id, anchor)
	if err == nil {
		err = h.applyAll(e, st.Events)
	}
	if err != nil {
		var chainErr *eventstore.ChainError
		if errors.As(err, &chainErr) {
			return h.load(ctx, e) // e does not chain onto the log: start over
		}
		e.loaded = false
		return err
	}
	return nil
}

// current reports whether e is at the log's head, refreshing it when not.
func (h *Handler[S]) current(ctx context.Context, e *entry[S]) (bool, error) {
	version, seq, err := h.store.Head(ctx, h.kind.Name, e.id)
	if err != nil {
		return false, err
	}
	if version == e.version && seq == e.seq {
		return true, nil
	}
	return false, h.refresh(ctx, e)
}

func (h *Handler[S]) schema() string { return h.kind.Codec.Schema + "+kernel/1" }

// snapshotBody is a snapshot's state: the aggregate's and the kernel's.
type snapshotBody struct {
	State json.RawMessage    `json:"state"`
	Keys  map[string]outcome `json:"keys,omitempty"`
}

// keyOrder is the keys of m, oldest outcome first.
func keyOrder(m map[string]outcome) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[a].Seq, m[b].Seq), strings.Compare(a, b))
	})
	return out
}

func (h *Handler[S]) decodeSnapshot(b []byte) (S, map[string]outcome, error) {
	var body snapshotBody
	if err := json.Unmarshal(b, &body); err != nil {
		var zero S
		return zero, nil, err
	}
	s, err := h.kind.Codec.unmarshal(body.State)
	if body.Keys == nil {
		body.Keys = map[string]outcome{}
	}
	return s, body.Keys, err
}

// maybeSnapshot writes a snapshot when policy says so. Best effort: a lost
// race or an unavailable bucket only costs a longer load later.
func (h *Handler[S]) maybeSnapshot(ctx context.Context, e *entry[S]) {
	if h.opts.Snapshots == nil || h.kind.SnapshotEvery <= 0 || e.sinceSnap < h.kind.SnapshotEvery || e.version == 0 {
		return
	}
	state, err := h.kind.Codec.marshal(e.state)
	if err != nil {
		return
	}
	body, err := json.Marshal(snapshotBody{State: state, Keys: e.keys})
	if err != nil {
		return
	}
	snap := &eventstore.Snapshot{Version: e.version, Seq: e.seq, Hash: e.hash, Schema: h.schema(), State: body}
	rev, err := h.opts.Snapshots.Save(context.WithoutCancel(ctx), h.kind.Name, e.id, snap, e.snapRev)
	if err == nil {
		e.snapRev, e.sinceSnap = rev, 0
		return
	}
	if errors.Is(err, errs.ErrConcurrency) {
		// Someone else wrote one: learn its revision for the next attempt.
		if cur, err := h.opts.Snapshots.Get(context.WithoutCancel(ctx), h.kind.Name, e.id); err == nil && cur != nil {
			e.snapRev = cur.Revision
		}
	}
}
