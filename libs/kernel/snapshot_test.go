package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
)

// deposit appends n events "<id>-<version>" to counter id straight through
// the store, as another writer would: no kernel has seen them.
func (e *env) deposit(t *testing.T, id string, n int) {
	t.Helper()
	v, _, err := e.store.Head(t.Context(), "counter", id)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		res, err := e.store.Append(t.Context(), "counter", id, v, eventstore.Meta{Actor: "tester"},
			eventstore.Event{Message: wrapperspb.String(fmt.Sprintf("%s-%d", id, v+1))})
		if err != nil {
			t.Fatalf("append counter %s at %d: %v", id, v, err)
		}
		v = res.Version
	}
}

// events is counter id's log.
func (e *env) events(t *testing.T, id string) []*eventstore.RecordedEvent {
	t.Helper()
	st, err := e.store.Load(t.Context(), "counter", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Events
}

// snapshot is counter id's stored snapshot (nil: none).
func (e *env) snapshot(t *testing.T, id string) *eventstore.Snapshot {
	t.Helper()
	s, err := e.snaps.Get(t.Context(), "counter", id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// decoy is a snapshot the kernel wrote for counter "decoy" (ops decoy-1 to
// decoy-10): planted under another id, a snapshot the kernel wrongly uses
// shows in that counter's ops.
func (e *env) decoy(t *testing.T) *eventstore.Snapshot {
	t.Helper()
	e.deposit(t, "decoy", 10)
	read(t, e.handler(t, e.store, kernel.Options{}), "decoy")
	s := e.snapshot(t, "decoy")
	if s == nil || s.Version != 10 {
		t.Fatalf("decoy snapshot = %+v, want one at version 10", s)
	}
	return s
}

// state is what counter id holds after events 1 to n.
func state(id string, n int) counter {
	c := counter{ID: id, Count: n}
	for v := 1; v <= n; v++ {
		c.Ops = append(c.Ops, fmt.Sprintf("%s-%d", id, v))
	}
	return c
}

// read is counter id's state and version through h.
func read(t *testing.T, h *kernel.Handler[*counter], id string) (counter, eventstore.Version) {
	t.Helper()
	var got counter
	var version eventstore.Version
	if err := h.Read(t.Context(), id, func(c *counter, v eventstore.Version, _ uint64) error {
		got, version = counter{ID: c.ID, Count: c.Count, Ops: slices.Clone(c.Ops)}, v
		return nil
	}); err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return got, version
}

// loadSpy is a real store that records the kernel's loads: "all" or "after
// v<version>", then the number of events or the error.
type loadSpy struct {
	eventstore.Store
	mu    sync.Mutex
	loads []string
}

func (s *loadSpy) Load(ctx context.Context, aggregate, id string, after *eventstore.Snapshot) (*eventstore.Stream, error) {
	st, err := s.Store.Load(ctx, aggregate, id, after)
	what := "all"
	if after != nil {
		what = fmt.Sprintf("after v%d", after.Version)
	}
	var chainErr *eventstore.ChainError
	switch {
	case errors.As(err, &chainErr):
		what += ": chain error"
	case err != nil:
		what += ": " + err.Error()
	default:
		what += fmt.Sprintf(": %d events", len(st.Events))
	}
	s.mu.Lock()
	s.loads = append(s.loads, what)
	s.mu.Unlock()
	return st, err
}

func (s *loadSpy) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.loads)
}

// checkReplaced checks that counter id's snapshot is one the kernel wrote
// (decoy's schema) at event last.
func checkReplaced(t *testing.T, e *env, id string, last *eventstore.RecordedEvent, decoy *eventstore.Snapshot) {
	t.Helper()
	s := e.snapshot(t, id)
	if s == nil {
		t.Fatalf("no snapshot after the load")
	}
	if s.Version != last.Version || s.Seq != last.Seq || s.Hash != last.Hash || s.Schema != decoy.Schema {
		t.Errorf("snapshot after the load = version %d at %d hash %.12s schema %s, want version %d at %d hash %.12s schema %s",
			s.Version, s.Seq, s.Hash, s.Schema, last.Version, last.Seq, last.Hash, decoy.Schema)
	}
}

// TestUnusableSnapshotIsIgnoredAndReplaced stores a snapshot of counter c1
// (12 events) at its head that the kernel cannot use: the load replays the
// log, writes a good snapshot over it, and the next load starts from that.
func TestUnusableSnapshotIsIgnoredAndReplaced(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		plant func(t *testing.T, e *env, head, decoy *eventstore.Snapshot)
	}{
		{name: "unreadable", plant: func(t *testing.T, e *env, _, _ *eventstore.Snapshot) {
			kv, err := e.js.KeyValue(t.Context(), eventstore.SnapshotBucket)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kv.Put(t.Context(), "counter.c1", []byte("{not json")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "another schema", plant: func(t *testing.T, e *env, head, decoy *eventstore.Snapshot) {
			head.Schema, head.State = "counter/0+kernel/1", decoy.State
			if _, err := e.snaps.Save(t.Context(), "counter", "c1", head, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "state that does not decode", plant: func(t *testing.T, e *env, head, decoy *eventstore.Snapshot) {
			head.Schema, head.State = decoy.Schema, []byte("{not json")
			if _, err := e.snaps.Save(t.Context(), "counter", "c1", head, 0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			decoy := e.decoy(t)
			e.deposit(t, "c1", 12)
			last := e.events(t, "c1")[11]
			// At the head: only what is wrong with it makes it unusable.
			tt.plant(t, e, &eventstore.Snapshot{Version: 12, Seq: last.Seq, Hash: last.Hash}, decoy)

			spy := &loadSpy{Store: e.open(t)}
			got, version := read(t, e.handler(t, spy, kernel.Options{}), "c1")
			if diff := cmp.Diff(state("c1", 12), got); diff != "" || version != 12 {
				t.Errorf("load at version %d (-want +got):\n%s", version, diff)
			}
			if diff := cmp.Diff([]string{"all: 12 events"}, spy.seen()); diff != "" {
				t.Errorf("loads (-want +got):\n%s", diff)
			}
			// That load read 12 >= 10 events, so it replaced the snapshot...
			checkReplaced(t, e, "c1", last, decoy)
			// ...which the next load (another process) starts from.
			e.deposit(t, "c1", 2)
			spy = &loadSpy{Store: e.open(t)}
			got, version = read(t, e.handler(t, spy, kernel.Options{}), "c1")
			if diff := cmp.Diff(state("c1", 14), got); diff != "" || version != 14 {
				t.Errorf("load after the replacement at version %d (-want +got):\n%s", version, diff)
			}
			if diff := cmp.Diff([]string{"after v12: 2 events"}, spy.seen()); diff != "" {
				t.Errorf("loads after the replacement (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSnapshotNotMatchingTheLogIsIgnored stores snapshots of counter c1 (10
// events) that do not describe its log (as after a restore from backup, or a
// bad write): the kernel must replay the whole log, replace the snapshot, and
// leave the aggregate writable with an intact hash chain.
func TestSnapshotNotMatchingTheLogIsIgnored(t *testing.T) {
	t.Parallel()
	bogusHash := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		snap func(ev5, ev10 *eventstore.RecordedEvent) *eventstore.Snapshot
	}{
		{name: "wrong hash, events after it", snap: func(ev5, _ *eventstore.RecordedEvent) *eventstore.Snapshot {
			return &eventstore.Snapshot{Version: 5, Seq: ev5.Seq, Hash: bogusHash}
		}},
		{name: "wrong hash at the head", snap: func(_, ev10 *eventstore.RecordedEvent) *eventstore.Snapshot {
			return &eventstore.Snapshot{Version: 10, Seq: ev10.Seq, Hash: bogusHash}
		}},
		{name: "position beyond the log", snap: func(_, ev10 *eventstore.RecordedEvent) *eventstore.Snapshot {
			return &eventstore.Snapshot{Version: 30, Seq: ev10.Seq + 100, Hash: ev10.Hash}
		}},
		{name: "no position", snap: func(_, ev10 *eventstore.RecordedEvent) *eventstore.Snapshot {
			return &eventstore.Snapshot{Version: 10, Hash: ev10.Hash}
		}},
		{name: "version not matching its position", snap: func(ev5, _ *eventstore.RecordedEvent) *eventstore.Snapshot {
			return &eventstore.Snapshot{Version: 4, Seq: ev5.Seq, Hash: ev5.Hash}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			decoy := e.decoy(t)
			e.deposit(t, "c1", 10)
			events := e.events(t, "c1")
			last := events[9]
			snap := tt.snap(events[4], last)
			snap.Schema, snap.State = decoy.Schema, decoy.State // readable: only its position is wrong
			if _, err := e.snaps.Save(t.Context(), "counter", "c1", snap, 0); err != nil {
				t.Fatal(err)
			}

			// A fresh store (another process): nothing cached about the aggregate.
			spy := &loadSpy{Store: e.open(t)}
			h := e.handler(t, spy, kernel.Options{})
			got, version := read(t, h, "c1")
			if diff := cmp.Diff(state("c1", 10), got); diff != "" || version != 10 {
				t.Errorf("load at version %d (-want +got):\n%s", version, diff)
			}
			want := []string{fmt.Sprintf("after v%d: chain error", snap.Version), "all: 10 events"}
			if diff := cmp.Diff(want, spy.seen()); diff != "" {
				t.Errorf("loads (-want +got):\n%s", diff)
			}
			checkReplaced(t, e, "c1", last, decoy)
			// The aggregate stays writable, and what is written chains onto the real log.
			res, err := h.Execute(as(t.Context(), "alice", "r", false), kernel.Command[*counter]{ID: "c1", Decide: add("c1-11")})
			if err != nil || res.Version != 11 {
				t.Fatalf("command after the load = %+v, %v; want version 11", res, err)
			}
			if after := e.events(t, "c1"); len(after) != 11 || after[10].PrevHash != last.Hash || after[10].Hash != res.Events[0].Hash {
				t.Errorf("after the command: %d events, event 11 prev-hash %.12s (want %.12s)", len(after), after[len(after)-1].PrevHash, last.Hash)
			}
		})
	}
}

// TestSnapshotEvery checks when a snapshot is written, on a load of events
// the kernel has not seen and on the kernel's own commands.
func TestSnapshotEvery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		every     int
		events    int
		wantSaved bool
	}{
		{name: "fewer events than SnapshotEvery", every: 5, events: 4},
		{name: "as many events as SnapshotEvery", every: 5, events: 5, wantSaved: true},
		{name: "snapshots disabled", every: 0, events: 8},
	}
	for _, via := range []string{"load", "commands"} {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				kind := counterKind
				kind.SnapshotEvery = tt.every
				h, err := kernel.New(e.store, kind, kernel.Options{Snapshots: e.snaps})
				if err != nil {
					t.Fatal(err)
				}
				switch via {
				case "load":
					e.deposit(t, "c1", tt.events)
				case "commands":
					for i := range tt.events {
						if _, err := h.Execute(as(t.Context(), "alice", fmt.Sprint("r", i), false), kernel.Command[*counter]{ID: "c1", Decide: add(fmt.Sprintf("c1-%d", i+1))}); err != nil {
							t.Fatal(err)
						}
					}
				}
				if got, _ := read(t, h, "c1"); !cmp.Equal(state("c1", tt.events), got) {
					t.Errorf("state = %+v, want %d events folded", got, tt.events)
				}
				s := e.snapshot(t, "c1")
				if saved := s != nil; saved != tt.wantSaved {
					t.Fatalf("snapshot saved = %v (%+v), want %v", saved, s, tt.wantSaved)
				}
				if s != nil && s.Version != eventstore.Version(tt.events) {
					t.Errorf("snapshot at version %d, want %d", s.Version, tt.events)
				}
			})
		}
	}
}
