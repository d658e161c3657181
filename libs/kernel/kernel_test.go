package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/natsx/natstest"
)

// counter is the test aggregate: every event is a StringValue naming an
// operation, and the state counts them.
type counter struct {
	ID    string   `json:"id"`
	Count int      `json:"count"`
	Ops   []string `json:"ops"`
}

var counterKind = kernel.Kind[*counter]{
	Name: "counter",
	New:  func(id string) *counter { return &counter{ID: id} },
	Apply: func(c *counter, e *eventstore.RecordedEvent) (*counter, error) {
		var op wrapperspb.StringValue
		if err := e.DecodeInto(&op); err != nil {
			return nil, err
		}
		c.Count++
		c.Ops = append(c.Ops, op.GetValue())
		return c, nil
	},
	Codec:         kernel.Codec[*counter]{Schema: "counter/1"},
	SnapshotEvery: 10,
}

type env struct {
	js    jetstream.JetStream
	store *eventstore.JetStreamStore
	snaps *eventstore.Snapshots
	open  func(t *testing.T) *eventstore.JetStreamStore
}

func newEnv(t *testing.T) *env {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	open := func(t *testing.T) *eventstore.JetStreamStore {
		s, err := eventstore.Open(t.Context(), js, eventstore.Options{Source: "floe/test", Aggregates: []string{"counter"}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	snaps, err := eventstore.OpenSnapshots(t.Context(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &env{js: js, store: open(t), snaps: snaps, open: open}
}

func (e *env) handler(t *testing.T, store eventstore.Store, opts kernel.Options) *kernel.Handler[*counter] {
	t.Helper()
	if opts.Snapshots == nil {
		opts.Snapshots = e.snaps
	}
	h, err := kernel.New(store, counterKind, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// as is a context acting for actor in request rid (rid is also the idempotency key when keyed).
func as(ctx context.Context, actor, rid string, keyed bool) context.Context {
	o := causal.Origin{Actor: actor, CorrelationID: rid, CausationID: rid}
	if keyed {
		o.Key = causal.Key(actor, rid)
	}
	return causal.With(ctx, o)
}

func add(op string) func(*counter) ([]proto.Message, error) {
	return func(*counter) ([]proto.Message, error) { return []proto.Message{wrapperspb.String(op)}, nil }
}

func TestExecuteAppendsWithMetadataAndObservesTheNewState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.handler(t, e.store, kernel.Options{})
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	ctx = causal.With(ctx, causal.Origin{Actor: "alice", CorrelationID: "req-1", CausationID: "req-1"})
	ctx, pos := causal.WithPositions(ctx, 0)
	var seen counter
	res, err := h.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("inc"), Observe: func(c *counter) { seen = *c }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 1 || res.Replayed || len(res.Events) != 1 || res.Position != res.Events[0].Seq || pos.Written() != res.Position {
		t.Errorf("result %+v (written %d), want version 1 at the event's position", res, pos.Written())
	}
	if seen.Count != 1 || seen.Ops[0] != "inc" {
		t.Errorf("Observe saw %+v, want the state after the command", seen)
	}
	st, err := e.store.Load(t.Context(), "counter", "c1", nil)
	if err != nil || len(st.Events) != 1 {
		t.Fatalf("load: %v %v", st, err)
	}
	ev := st.Events[0]
	if ev.Actor != "alice" || ev.CorrelationID != "req-1" || ev.CausationID != "req-1" || !strings.Contains(ev.TraceParent, tid.String()) {
		t.Errorf("event metadata actor=%q corr=%q cause=%q trace=%q", ev.Actor, ev.CorrelationID, ev.CausationID, ev.TraceParent)
	}
	if _, err := h.Execute(t.Context(), kernel.Command[*counter]{ID: "c1", Decide: add("x")}); err == nil || !strings.Contains(err.Error(), "causal origin") {
		t.Errorf("Execute without an origin = %v, want an error naming the missing origin", err)
	}
	if _, err := h.Execute(ctx, kernel.Command[*counter]{ID: "a.b", Decide: add("x")}); !isInvalid(err) {
		t.Errorf("Execute on id a.b = %v, want InvalidArgument", err)
	}
}

func TestRetriedKeyReturnsTheFirstOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.handler(t, e.store, kernel.Options{})
	ctx := as(t.Context(), "alice", "req-7", true)
	r1, err := first.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("once")})
	if err != nil {
		t.Fatal(err)
	}
	// Others change the aggregate in between.
	for i := range 3 {
		if _, err := first.Execute(as(t.Context(), "bob", fmt.Sprint("other-", i), true), kernel.Command[*counter]{ID: "c1", Decide: add("other")}); err != nil {
			t.Fatal(err)
		}
	}
	// The retry: on the same process, and on another one whose cache never saw the first attempt.
	other := e.handler(t, e.open(t), kernel.Options{})
	for name, h := range map[string]*kernel.Handler[*counter]{"same process": first, "other process": other} {
		decided := false
		var seen counter
		r2, err := h.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: func(c *counter) ([]proto.Message, error) {
			decided = true
			return add("twice")(c)
		}, Observe: func(c *counter) { seen = *c }})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !r2.Replayed || r2.Position != r1.Position || r2.Version != r1.Version || len(r2.Events) != 0 || decided {
			t.Errorf("%s: retry = %+v (decided %v), want the first outcome %+v replayed without deciding", name, r2, decided, r1)
		}
		if seen.Count != 4 {
			t.Errorf("%s: Observe on a replay saw count %d, want the current 4", name, seen.Count)
		}
	}
	st, _ := e.store.Load(t.Context(), "counter", "c1", nil)
	if len(st.Events) != 4 {
		t.Errorf("log has %d events, want 4 (the retried command wrote once)", len(st.Events))
	}
}

// TestConflictStorm runs 32 concurrent commands on one aggregate from two
// processes (two stores, two caches): each lands exactly once or fails with
// a clean conflict within the retry bound.
func TestConflictStorm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hs := []*kernel.Handler[*counter]{e.handler(t, e.store, kernel.Options{}), e.handler(t, e.open(t), kernel.Options{})}
	const n = 32
	var wg sync.WaitGroup
	errsCh := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := hs[i%2].Execute(as(t.Context(), "w", fmt.Sprint("w", i), true), kernel.Command[*counter]{ID: "hot", Decide: add(fmt.Sprint("w", i))})
			errsCh <- err
		}()
	}
	wg.Wait()
	close(errsCh)
	landed := 0
	for err := range errsCh {
		var ce *errs.ConflictError
		switch {
		case err == nil:
			landed++
		case errors.As(err, &ce):
		default:
			t.Errorf("a command failed with %v (%T), want success or a ConflictError", err, err)
		}
	}
	st, err := e.store.Load(t.Context(), "counter", "hot", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Events) != landed {
		t.Errorf("%d events in the log, %d commands reported success", len(st.Events), landed)
	}
	ops := map[string]int{}
	for _, ev := range st.Events {
		var op wrapperspb.StringValue
		_ = ev.DecodeInto(&op)
		ops[op.GetValue()]++
	}
	for op, c := range ops {
		if c != 1 {
			t.Errorf("%s landed %d times", op, c)
		}
	}
	t.Logf("%d of %d landed", landed, n)
	if landed < n/2 {
		t.Errorf("only %d of %d commands landed within the default retry bound", landed, n)
	}
}

// alwaysConflicting is a fault injector around a real store: every append
// loses the race, as if another writer always got there first.
type alwaysConflicting struct {
	eventstore.Store
	appends  atomic.Int32
	onAppend func(n int32)
}

func (s *alwaysConflicting) Append(ctx context.Context, aggregate, id string, expected eventstore.Version, meta eventstore.Meta, events ...eventstore.Event) (*eventstore.AppendResult, error) {
	n := s.appends.Add(1)
	if s.onAppend != nil {
		s.onAppend(n)
	}
	return nil, &errs.ConflictError{Message: "injected"}
}

func TestCancellationStopsRetriesAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(as(t.Context(), "alice", "r", false))
	// The second append loses too, and the kernel pauses before the third:
	// the cancellation arrives then (from another goroutine, a moment later).
	store := &alwaysConflicting{Store: e.store, onAppend: func(n int32) {
		if n == 2 {
			go func() { time.Sleep(10 * time.Millisecond); cancel() }()
		}
	}}
	// Backoff of up to an hour: only ctx can end the pause.
	h := e.handler(t, store, kernel.Options{Retry: kernel.Retry{MaxAttempts: 1000, Base: time.Hour, Max: time.Hour}})
	_, err := h.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("x")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute = %v, want context.Canceled", err)
	}
	if got := store.appends.Load(); got != 2 {
		t.Errorf("%d appends were tried, want 2 (none after the cancellation)", got)
	}
}

func TestRetryBoundEndsInAConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := &alwaysConflicting{Store: e.store}
	h := e.handler(t, store, kernel.Options{Retry: kernel.Retry{MaxAttempts: 5, Base: time.Microsecond, Max: time.Microsecond}})
	_, err := h.Execute(as(t.Context(), "alice", "r", false), kernel.Command[*counter]{ID: "c1", Decide: add("x")})
	var ce *errs.ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "5 attempts") {
		t.Fatalf("Execute = %v, want a ConflictError after 5 attempts", err)
	}
	if got := store.appends.Load(); got != 5 {
		t.Errorf("%d appends, want 5", got)
	}
}

func TestRefusalOnAStaleCacheIsDecidedAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.handler(t, e.store, kernel.Options{})
	b := e.handler(t, e.open(t), kernel.Options{})
	ctx := as(t.Context(), "alice", "r", false)
	if _, err := a.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("one")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("two")}); err != nil {
		t.Fatal(err)
	}
	// a's cache says 1; the log says 2. A command that refuses below 2 must see 2.
	needTwo := func(c *counter) ([]proto.Message, error) {
		if c.Count < 2 {
			return nil, errs.Precondition(0, fmt.Sprintf("count is %d", c.Count))
		}
		return []proto.Message{wrapperspb.String("three")}, nil
	}
	res, err := a.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: needTwo})
	if err != nil || res.Version != 3 {
		t.Fatalf("Execute on a stale cache = %+v, %v; want it decided on the log's state", res, err)
	}
	// A no-op decision is confirmed the same way, and reports the head.
	if _, err := b.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("four")}); err != nil {
		t.Fatal(err)
	}
	var seen int
	res, err = a.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: func(*counter) ([]proto.Message, error) { return nil, nil }, Observe: func(c *counter) { seen = c.Count }})
	if err != nil || res.Version != 4 || seen != 4 {
		t.Errorf("no-op on a stale cache = %+v, %v, observed %d; want version 4", res, err, seen)
	}
}

func TestExpectations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.handler(t, e.store, kernel.Options{})
	ctx := as(t.Context(), "alice", "r", false)
	if _, err := h.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("a"), Expect: kernel.ExpectNew}); err != nil {
		t.Fatal(err)
	}
	var ce *errs.ConflictError
	if _, err := h.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("b"), Expect: kernel.ExpectNew}); !errors.As(err, &ce) {
		t.Errorf("a second create = %v, want a conflict", err)
	}
	if _, err := h.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("b"), Expect: kernel.ExpectVersion(5)}); !errors.As(err, &ce) || !strings.Contains(err.Error(), "not the expected 5") {
		t.Errorf("expected version 5 at 1 = %v, want a conflict naming both", err)
	}
	if res, err := h.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("b"), Expect: kernel.ExpectVersion(1)}); err != nil || res.Version != 2 {
		t.Errorf("expected version 1 at 1 = %+v, %v", res, err)
	}
}

func TestSnapshotsShortenLoadsAndMatchTheReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.handler(t, e.store, kernel.Options{})
	for i := range 25 {
		if _, err := h.Execute(as(t.Context(), "alice", fmt.Sprint("r", i), true), kernel.Command[*counter]{ID: "c1", Decide: add(fmt.Sprint("op", i))}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := e.snaps.Get(t.Context(), "counter", "c1")
	if err != nil || snap == nil || snap.Version < 20 {
		t.Fatalf("snapshot = %+v, %v; want one at version 20 or later", snap, err)
	}
	fresh := e.handler(t, e.open(t), kernel.Options{})
	var got counter
	var gotVersion eventstore.Version
	if err := fresh.Read(t.Context(), "c1", func(c *counter, v eventstore.Version, _ uint64) error { got, gotVersion = *c, v; return nil }); err != nil {
		t.Fatal(err)
	}
	want, events, err := fresh.Replay(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if gotVersion != 25 || got.Count != want.Count || strings.Join(got.Ops, ",") != strings.Join(want.Ops, ",") || len(events) != 25 {
		t.Errorf("snapshot + tail = v%d %+v; replay = %+v (%d events)", gotVersion, got, want, len(events))
	}
	// The keys came back with the snapshot: a retry of an early request replays.
	res, err := fresh.Execute(as(t.Context(), "alice", "r3", true), kernel.Command[*counter]{ID: "c1", Decide: add("again")})
	if err != nil || !res.Replayed || res.Version != 4 {
		t.Errorf("retry of r3 after a snapshot load = %+v, %v; want the first outcome (version 4)", res, err)
	}
}

func isInvalid(err error) bool {
	var ia *errs.InvalidArgumentError
	return errors.As(err, &ia)
}

// Outcomes are remembered per aggregate for the latest 1,000 keys (and 24 h):
// an aggregate that takes many commands does not grow without bound.
func TestKeysAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.handler(t, e.store, kernel.Options{})
	for i := range 1005 {
		if _, err := h.Execute(as(t.Context(), "alice", fmt.Sprint("r", i), true), kernel.Command[*counter]{ID: "c1", Decide: add("op")}); err != nil {
			t.Fatal(err)
		}
	}
	recent, err := h.Execute(as(t.Context(), "alice", "r1004", true), kernel.Command[*counter]{ID: "c1", Decide: add("again")})
	if err != nil || !recent.Replayed {
		t.Errorf("retry of the latest key = %+v, %v; want a replay", recent, err)
	}
	old, err := h.Execute(as(t.Context(), "alice", "r0", true), kernel.Command[*counter]{ID: "c1", Decide: add("again")})
	if err != nil || old.Replayed || old.Version != 1006 {
		t.Errorf("retry of a key 1,005 commands old = %+v, %v; want it decided anew (version 1006)", old, err)
	}
}
