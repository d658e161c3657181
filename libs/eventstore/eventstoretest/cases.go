package eventstoretest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
)

func ev(s string) eventstore.Event { return eventstore.Event{Message: wrapperspb.String(s)} }

func evID(id, s string) eventstore.Event {
	return eventstore.Event{ID: id, Message: wrapperspb.String(s)}
}

func mustAppend(t *testing.T, h *Harness, agg, id string, expected eventstore.Version, events ...eventstore.Event) *eventstore.AppendResult {
	t.Helper()
	res, err := h.Store.Append(ctxFor(t), agg, id, expected, meta, events...)
	if err != nil {
		t.Fatalf("append %s %s at %d: %v", agg, id, expected, err)
	}
	return res
}

func payloads(t *testing.T, events []*eventstore.RecordedEvent) []string {
	t.Helper()
	var out []string
	for _, e := range events {
		var s wrapperspb.StringValue
		if err := e.DecodeInto(&s); err != nil {
			t.Fatalf("decode %d: %v", e.Seq, err)
		}
		out = append(out, s.GetValue())
	}
	return out
}

func lastSeq(t *testing.T, s eventstore.Store) uint64 {
	t.Helper()
	n, err := s.LastSeq(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testAppendAndLoad(t *testing.T, h *Harness) {
	ctx := ctxFor(t)
	// meta carries a trace context: every event must record it.
	res, err := h.Store.Append(ctx, "order", "o1", eventstore.NoStream, meta, ev("created"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 1 || res.FirstSeq != res.LastSeq || res.Duplicate {
		t.Errorf("first append result = %+v", res)
	}
	res2, err := h.Store.Append(ctx, "order", "o1", 1, meta, ev("paid"), ev("shipped"))
	if err != nil {
		t.Fatal(err)
	}
	if res2.Version != 3 || res2.LastSeq-res2.FirstSeq != 1 {
		t.Errorf("second append result = %+v", res2)
	}
	st, err := h.Store.Load(ctx, "order", "o1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"created", "paid", "shipped"}, payloads(t, st.Events)); diff != "" {
		t.Errorf("payloads (-want +got):\n%s", diff)
	}
	if st.Version != 3 || st.Hash != res2.Hash || st.LastSeq != res2.LastSeq {
		t.Errorf("stream head = v%d %s @%d, want v3 %s @%d", st.Version, st.Hash, st.LastSeq, res2.Hash, res2.LastSeq)
	}
	prev := eventstore.GenesisHash
	for i, e := range st.Events {
		if e.Version != eventstore.Version(i+1) || e.PrevHash != prev || e.Hash == "" {
			t.Errorf("event %d: version %d prev %s, want version %d prev %s", i, e.Version, e.PrevHash, i+1, prev)
		}
		prev = e.Hash
		if e.Actor != "tester" || e.CorrelationID != "corr-1" || e.CausationID != "cmd-1" {
			t.Errorf("event %d meta = %q %q %q", i, e.Actor, e.CorrelationID, e.CausationID)
		}
		if e.Type != "google.protobuf.StringValue" || e.Name != "StringValue" || e.Aggregate != "order" || e.AggregateID != "o1" || e.ID == "" {
			t.Errorf("event %d envelope = %+v", i, e)
		}
		if !strings.HasPrefix(e.TraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-") {
			t.Errorf("event %d traceparent = %q, want the caller's trace", i, e.TraceParent)
		}
		if m, err := e.Decode(); err != nil || !proto.Equal(m, wrapperspb.String(payloads(t, st.Events)[i])) {
			t.Errorf("event %d Decode = %v, %v", i, m, err)
		}
	}
	// An aggregate that does not exist loads empty, not as an error.
	empty, err := h.Store.Load(ctx, "order", "nobody", nil)
	if err != nil || empty.Version != 0 || len(empty.Events) != 0 || empty.Hash != eventstore.GenesisHash {
		t.Errorf("Load(missing) = %+v, %v", empty, err)
	}
}

func testBadInput(t *testing.T, h *Harness) {
	ctx := ctxFor(t)
	mustAppend(t, h, "order", "o1", eventstore.NoStream, ev("created"))
	before := lastSeq(t, h.Store)
	huge := strings.Repeat("x", eventstore.MaxEventBytes+1)
	cases := []struct {
		name    string
		agg, id string
		exp     eventstore.Version
		events  []eventstore.Event
		noActor bool
		check   func(error) bool
		mention string
	}{
		{name: "unknown aggregate", agg: "ordr", id: "o2", events: []eventstore.Event{ev("x")}, check: isInvalid, mention: "unknown aggregate"},
		{name: "invalid id token", agg: "order", id: "o.2", events: []eventstore.Event{ev("x")}, check: isInvalid, mention: "not a valid aggregate id"},
		{name: "empty id", agg: "order", id: "", events: []eventstore.Event{ev("x")}, check: isInvalid, mention: "id"},
		{name: "oversized event", agg: "order", id: "o1", exp: 1, events: []eventstore.Event{ev("ok"), ev(huge)}, check: isTooLarge, mention: "events[1]"},
		{name: "wrong expected version", agg: "order", id: "o1", exp: 5, events: []eventstore.Event{ev("x")}, check: isConflict, mention: "version 1, not the expected 5"},
		{name: "creating what exists", agg: "order", id: "o1", exp: eventstore.NoStream, events: []eventstore.Event{ev("x")}, check: isConflict, mention: "version 1"},
		{name: "no events", agg: "order", id: "o1", exp: 1, check: isInvalid, mention: "at least one event"},
		{name: "nil message", agg: "order", id: "o1", exp: 1, events: []eventstore.Event{ev("ok"), {}}, check: isInvalid, mention: "events[1].message"},
		{name: "too many events", agg: "order", id: "o1", exp: 1, events: make([]eventstore.Event, eventstore.MaxBatch+1), check: isInvalid, mention: "limit"},
		{name: "no actor", agg: "order", id: "o1", exp: 1, events: []eventstore.Event{ev("x")}, noActor: true, check: isInvalid, mention: "actor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := meta
			if tc.noActor {
				m.Actor = ""
			}
			_, err := h.Store.Append(ctx, tc.agg, tc.id, tc.exp, m, tc.events...)
			if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Append error = %v (%T); want a typed error mentioning %q", err, err, tc.mention)
			}
			if _, ok := errs.ToStatus(err); !ok {
				t.Errorf("error %v does not map to a gRPC status", err)
			}
			if got := lastSeq(t, h.Store); got != before {
				t.Errorf("log grew from %d to %d: a refused append wrote something", before, got)
			}
		})
	}
	if _, err := h.Store.Load(ctx, "nope", "o1", nil); !isInvalid(err) {
		t.Errorf("Load of an unknown aggregate = %v, want InvalidArgument", err)
	}
}

func isInvalid(err error) bool {
	var e *errs.InvalidArgumentError
	return errors.As(err, &e)
}

func isTooLarge(err error) bool {
	var e *errs.TooLargeError
	return errors.As(err, &e)
}

func isConflict(err error) bool { return errors.Is(err, errs.ErrConcurrency) }

func testDurable(t *testing.T, h *Harness) {
	for i := range 5 {
		mustAppend(t, h, "order", fmt.Sprintf("o%d", i), eventstore.NoStream, ev("created"), ev("paid"))
	}
	before, err := h.Store.Load(ctxFor(t), "order", "o3", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := h.Restart(t)
	after, err := s.Load(ctxFor(t), "order", "o3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || after.Hash != before.Hash || len(after.Events) != 2 {
		t.Errorf("after restart: v%d %s (%d events), before: v%d %s", after.Version, after.Hash, len(after.Events), before.Version, before.Hash)
	}
	if n, _ := s.LastSeq(ctxFor(t)); n != 10 {
		t.Errorf("LastSeq after restart = %d, want 10", n)
	}
	// And the restarted store keeps enforcing concurrency and chaining.
	if _, err := s.Append(ctxFor(t), "order", "o3", 1, meta, ev("late")); !isConflict(err) {
		t.Errorf("stale append after restart = %v, want conflict", err)
	}
	if res, err := s.Append(ctxFor(t), "order", "o3", 2, meta, ev("shipped")); err != nil || res.Version != 3 {
		t.Errorf("append after restart = %+v, %v", res, err)
	}
}

func testOneWinner(t *testing.T, h *Harness) {
	const writers = 16
	race := func(t *testing.T, id string, expected eventstore.Version) {
		stores := []eventstore.Store{h.Store, h.Reopen(t)} // two "processes"
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		var other []error
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := stores[w%2].Append(ctxFor(t), "account", id, expected, meta, ev(fmt.Sprintf("writer-%d", w)))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case isConflict(err):
					conflicts++
				default:
					other = append(other, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || conflicts != writers-1 || len(other) > 0 {
			t.Errorf("%d writers at version %d: %d won, %d conflicts, other errors %v; want exactly one winner", writers, expected, wins, conflicts, other)
		}
		st, err := h.Store.Load(ctxFor(t), "account", id, nil)
		if err != nil || st.Version != expected+1 {
			t.Errorf("after the race: version %d, %v; want %d", st.Version, err, expected+1)
		}
	}
	t.Run("creation", func(t *testing.T) { race(t, "a-new", eventstore.NoStream) })
	t.Run("existing", func(t *testing.T) {
		mustAppend(t, h, "account", "a-old", eventstore.NoStream, ev("1"), ev("2"), ev("3"))
		race(t, "a-old", 3)
	})
}

func testAtomic(t *testing.T, h *Harness) {
	mustAppend(t, h, "order", "o1", eventstore.NoStream, ev("created"))
	before := lastSeq(t, h.Store)
	// A stale multi-event append stores none of its events.
	if _, err := h.Store.Append(ctxFor(t), "order", "o1", eventstore.NoStream, meta, ev("a"), ev("b"), ev("c")); !isConflict(err) {
		t.Fatalf("stale batch = %v, want conflict", err)
	}
	// A batch with one bad event stores none of them.
	if _, err := h.Store.Append(ctxFor(t), "order", "o1", 1, meta, ev("a"), ev(strings.Repeat("y", eventstore.MaxEventBytes+1))); err == nil {
		t.Fatal("batch with an oversized event was accepted")
	}
	if got := lastSeq(t, h.Store); got != before {
		t.Fatalf("refused batches wrote %d events", got-before)
	}
	res := mustAppend(t, h, "order", "o1", 1, ev("a"), ev("b"), ev("c"), ev("d"), ev("e"))
	if res.LastSeq-res.FirstSeq != 4 || res.Version != 6 {
		t.Errorf("batch result %+v", res)
	}
	st, _ := h.Store.Load(ctxFor(t), "order", "o1", nil)
	if diff := cmp.Diff([]string{"created", "a", "b", "c", "d", "e"}, payloads(t, st.Events)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func testIdempotent(t *testing.T, h *Harness) {
	first := mustAppend(t, h, "order", "o1", eventstore.NoStream, evID("cmd-7-0", "created"), evID("cmd-7-1", "paid"))
	// The same command again, through the same store: nothing new.
	again, err := h.Store.Append(ctxFor(t), "order", "o1", eventstore.NoStream, meta, evID("cmd-7-0", "created"), evID("cmd-7-1", "paid"))
	if err != nil || !again.Duplicate || again.LastSeq != first.LastSeq {
		t.Errorf("retry = %+v, %v; want a duplicate of %+v", again, err, first)
	}
	// And through another process that never saw the first attempt.
	other, err := h.Reopen(t).Append(ctxFor(t), "order", "o1", eventstore.NoStream, meta, evID("cmd-7-0", "created"), evID("cmd-7-1", "paid"))
	if err != nil || !other.Duplicate || other.LastSeq != first.LastSeq || other.Hash != first.Hash {
		t.Errorf("retry from another store = %+v, %v; want a duplicate of %+v", other, err, first)
	}
	// A different command at the same version is a real conflict, in this
	// store and in one that has never looked at the aggregate (a create there
	// is sent without reading the head first; the server's check decides).
	if _, err := h.Store.Append(ctxFor(t), "order", "o1", eventstore.NoStream, meta, evID("cmd-8-0", "created")); !isConflict(err) {
		t.Errorf("different command at a taken version = %v, want conflict", err)
	}
	if _, err := h.Reopen(t).Append(ctxFor(t), "order", "o1", eventstore.NoStream, meta, evID("cmd-9-0", "created")); !isConflict(err) || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("create of an existing aggregate from another store = %v, want a conflict naming version 2", err)
	}
	if n := lastSeq(t, h.Store); n != 2 {
		t.Errorf("log holds %d events, want 2", n)
	}
}

func testOrder(t *testing.T, h *Harness) {
	// Interleave appends to several aggregates.
	versions := map[string]eventstore.Version{}
	var want []string
	for i := range 30 {
		id := fmt.Sprintf("o%d", i%4)
		mustAppend(t, h, "order", id, versions[id], ev(fmt.Sprintf("%s-%d", id, versions[id]+1)))
		versions[id]++
		want = append(want, fmt.Sprintf("%s-%d", id, versions[id]))
	}
	var got []string
	var last uint64
	err := h.Store.ReadAll(ctxFor(t), 1, func(e *eventstore.RecordedEvent) error {
		if e.Seq <= last {
			t.Errorf("ReadAll position %d after %d", e.Seq, last)
		}
		last = e.Seq
		got = append(got, payloads(t, []*eventstore.RecordedEvent{e})...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("global order (-want +got):\n%s", diff)
	}
	// Reading from a position gives the suffix.
	var tail []string
	if err := h.Store.ReadAll(ctxFor(t), 26, func(e *eventstore.RecordedEvent) error {
		tail = append(tail, payloads(t, []*eventstore.RecordedEvent{e})...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[25:], tail); diff != "" {
		t.Errorf("ReadAll(26) (-want +got):\n%s", diff)
	}
	for id, v := range versions {
		st, _ := h.Store.Load(ctxFor(t), "order", id, nil)
		for i, e := range st.Events {
			if e.Version != eventstore.Version(i+1) {
				t.Errorf("%s event %d has version %d", id, i, e.Version)
			}
		}
		if st.Version != v {
			t.Errorf("%s at version %d, want %d", id, st.Version, v)
		}
	}
}

// balance is the suite's aggregate state: the sum of deposits and their count.
type balance struct {
	Total int      `json:"total"`
	Count int      `json:"count"`
	Last  []string `json:"last"`
}

func applyBalance(b balance, e *eventstore.RecordedEvent) (balance, error) {
	var s wrapperspb.StringValue
	if err := e.DecodeInto(&s); err != nil {
		return b, err
	}
	var n int
	if _, err := fmt.Sscanf(s.GetValue(), "deposit %d", &n); err != nil {
		return b, err
	}
	b.Total += n
	b.Count++
	b.Last = append(b.Last, s.GetValue())
	if len(b.Last) > 3 {
		b.Last = b.Last[1:]
	}
	return b, nil
}

// testReplay appends deposits one at a time, keeping the live state, and
// takes anchors along the way as a snapshotting reader would (each one the
// previous anchor's state plus the events after it): a load of the whole log
// and a load after each anchor, folded, equal the live state, on this store
// and on another instance.
func testReplay(t *testing.T, h *Harness) {
	type anchor struct {
		snap  *eventstore.Snapshot
		state balance
	}
	// load folds the events after a (all when a is nil) onto its state.
	load := func(t *testing.T, s eventstore.Store, a *anchor) (*eventstore.Stream, balance) {
		t.Helper()
		var after *eventstore.Snapshot
		var b balance
		if a != nil {
			after, b = a.snap, a.state
			b.Last = append([]string(nil), a.state.Last...)
		}
		st, err := s.Load(ctxFor(t), "account", "acc", after)
		if err != nil {
			t.Fatalf("load after %+v: %v", after, err)
		}
		for _, e := range st.Events {
			if b, err = applyBalance(b, e); err != nil {
				t.Fatalf("apply %d: %v", e.Seq, err)
			}
		}
		return st, b
	}
	live := balance{}
	var anchors []*anchor
	var last *eventstore.AppendResult
	for i := 1; i <= 57; i++ {
		last = mustAppend(t, h, "account", "acc", eventstore.Version(i-1), ev(fmt.Sprintf("deposit %d", i)))
		live.Total += i
		live.Count++
		live.Last = append(live.Last, fmt.Sprintf("deposit %d", i))
		if len(live.Last) > 3 {
			live.Last = live.Last[1:]
		}
		if i%13 == 0 {
			var prev *anchor
			if len(anchors) > 0 {
				prev = anchors[len(anchors)-1]
			}
			st, b := load(t, h.Store, prev)
			anchors = append(anchors, &anchor{snap: &eventstore.Snapshot{Version: st.Version, Seq: st.LastSeq, Hash: st.Hash}, state: b})
		}
	}
	head := &anchor{snap: &eventstore.Snapshot{Version: last.Version, Seq: last.LastSeq, Hash: last.Hash}, state: live}
	anchors = append(anchors, head)
	for name, s := range map[string]eventstore.Store{"same store": h.Store, "another store": h.Reopen(t)} {
		st, full := load(t, s, nil)
		if diff := cmp.Diff(live, full); diff != "" {
			t.Errorf("%s: full replay vs live (-live +replay):\n%s", name, diff)
		}
		if st.Version != 57 || st.LastSeq != last.LastSeq || st.Hash != last.Hash || len(st.Events) != 57 {
			t.Errorf("%s: full load at v%d @%d %.12s with %d events, want v57 @%d %.12s with 57", name, st.Version, st.LastSeq, st.Hash, len(st.Events), last.LastSeq, last.Hash)
		}
		for _, a := range anchors {
			st, got := load(t, s, a)
			if diff := cmp.Diff(live, got); diff != "" {
				t.Errorf("%s: anchor at v%d + tail vs live (-live +loaded):\n%s", name, a.snap.Version, diff)
			}
			if want := 57 - int(a.snap.Version); len(st.Events) != want || st.Version != 57 || st.Hash != last.Hash || st.Snapshot != a.snap {
				t.Errorf("%s: load after v%d = v%d %.12s with %d events from %+v, want v57 %.12s with %d", name, a.snap.Version, st.Version, st.Hash, len(st.Events), st.Snapshot, last.Hash, want)
			}
			if len(st.Events) > 0 && (st.Events[0].Version != a.snap.Version+1 || st.Events[0].PrevHash != a.snap.Hash) {
				t.Errorf("%s: the tail after v%d starts at v%d with prev-hash %.12s", name, a.snap.Version, st.Events[0].Version, st.Events[0].PrevHash)
			}
		}
	}
}

func testImmutable(t *testing.T, h *Harness) {
	mustAppend(t, h, "order", "o1", eventstore.NoStream, ev("created"), ev("paid"))
	if err := h.TryDelete(t, 1); err == nil {
		t.Error("deleting an event succeeded")
	}
	if err := h.TryPurge(t); err == nil {
		t.Error("purging the log succeeded")
	}
	if err := h.TryWeaken(t); err == nil {
		t.Error("a weakened log configuration was accepted")
	}
	if n := lastSeq(t, h.Store); n != 2 {
		t.Errorf("log holds %d events after the attempts, want 2", n)
	}
}
