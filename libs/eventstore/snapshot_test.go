package eventstore_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
)

// tally is the aggregate state of the snapshot tests.
type tally struct {
	Count int    `json:"count"`
	Last  string `json:"last"`
}

func applyTally(s tally, e *eventstore.RecordedEvent) (tally, error) {
	var v wrapperspb.StringValue
	if err := e.DecodeInto(&v); err != nil {
		return s, err
	}
	return tally{Count: s.Count + 1, Last: v.GetValue()}, nil
}

type snapshotEnv struct {
	js    jetstream.JetStream
	store *eventstore.JetStreamStore
	snaps *eventstore.Snapshots
	repo  *eventstore.Repository[tally]
}

// newSnapshotEnv opens a store for "account" aggregates with a snapshot
// bucket and a repository that snapshots every `every` events.
func newSnapshotEnv(t *testing.T, every int) *snapshotEnv {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	store, err := eventstore.Open(t.Context(), js, eventstore.Options{Aggregates: []string{"order", "account"}})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	snaps, err := eventstore.OpenSnapshots(t.Context(), js, 1)
	if err != nil {
		t.Fatalf("open snapshots: %v", err)
	}
	return &snapshotEnv{js: js, store: store, snaps: snaps, repo: &eventstore.Repository[tally]{
		Store: store, Snapshots: snaps, Aggregate: "account", Schema: "tally/v1",
		New: func() tally { return tally{} }, Apply: applyTally,
		Policy: eventstore.SnapshotPolicy{Every: every},
	}}
}

// deposit appends n events "deposit <k>" to account id, numbered on from its version.
func (env *snapshotEnv) deposit(t *testing.T, id string, n int) *eventstore.AppendResult {
	t.Helper()
	st, err := env.store.Load(actorCtx(t), "account", id, nil)
	if err != nil {
		t.Fatalf("load account %s: %v", id, err)
	}
	var res *eventstore.AppendResult
	for i := range n {
		v := st.Version + eventstore.Version(i)
		res, err = env.store.Append(actorCtx(t), "account", id, v, testMeta, eventstore.Event{Message: wrapperspb.String(fmt.Sprintf("deposit %d", v+1))})
		if err != nil {
			t.Fatalf("append account %s at %d: %v", id, v, err)
		}
	}
	return res
}

// eventAt returns account id's event at version v.
func (env *snapshotEnv) eventAt(t *testing.T, id string, v eventstore.Version) *eventstore.RecordedEvent {
	t.Helper()
	st, err := env.store.Load(t.Context(), "account", id, nil)
	if err != nil {
		t.Fatalf("load account %s: %v", id, err)
	}
	if v == 0 || int(v) > len(st.Events) {
		t.Fatalf("account %s has %d events, no version %d", id, len(st.Events), v)
	}
	return st.Events[v-1]
}

func getSnapshot(t *testing.T, snaps *eventstore.Snapshots, id string) *eventstore.Snapshot {
	t.Helper()
	s, err := snaps.Get(t.Context(), "account", id)
	if err != nil {
		t.Fatalf("get snapshot: %v", err)
	}
	return s
}

var ignoreRevision = cmpopts.IgnoreFields(eventstore.Snapshot{}, "Revision")

func TestSnapshotsSaveCompareAndSwap(t *testing.T) {
	t.Parallel()
	env := newSnapshotEnv(t, 10)
	snap := func(v eventstore.Version) *eventstore.Snapshot {
		return &eventstore.Snapshot{Version: v, Seq: uint64(v), Hash: strings.Repeat("a", 64), Schema: "tally/v1", State: []byte(`{"count":1}`)}
	}
	tests := []struct {
		name string
		// race saves first at the revision the test read, then second at the same one.
		first, second *eventstore.Snapshot
		existing      bool // whether a snapshot is stored before the race
	}{
		{name: "two creators", first: snap(1), second: snap(2)},
		{name: "two updaters at the same revision", existing: true, first: snap(3), second: snap(4)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := fmt.Sprintf("acc%d", i)
			if got := getSnapshot(t, env.snaps, id); got != nil {
				t.Fatalf("snapshot before any save: %+v", got)
			}
			var rev uint64
			if tt.existing {
				if _, err := env.snaps.Save(t.Context(), "account", id, snap(1), 0); err != nil {
					t.Fatal(err)
				}
				rev = getSnapshot(t, env.snaps, id).Revision
			}
			if _, err := env.snaps.Save(t.Context(), "account", id, tt.first, rev); err != nil {
				t.Fatalf("first save: %v", err)
			}
			_, err := env.snaps.Save(t.Context(), "account", id, tt.second, rev)
			if !errors.Is(err, errs.ErrConcurrency) {
				t.Errorf("second save at a stale revision = %v, want ErrConcurrency", err)
			}
			got := getSnapshot(t, env.snaps, id)
			if diff := cmp.Diff(tt.first, got, ignoreRevision); diff != "" {
				t.Errorf("stored snapshot (-want +got):\n%s", diff)
			}
			// The winner's revision lets the next save through.
			if _, err := env.snaps.Save(t.Context(), "account", id, tt.second, got.Revision); err != nil {
				t.Errorf("save at the current revision: %v", err)
			}
		})
	}
}

func TestRepositoryReplacesUnreadableSnapshot(t *testing.T) {
	t.Parallel()
	env := newSnapshotEnv(t, 5)
	env.deposit(t, "acc", 12)
	kv, err := env.js.KeyValue(t.Context(), eventstore.SnapshotBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "account.acc", []byte("{not json")); err != nil {
		t.Fatal(err)
	}

	got, err := env.repo.Load(t.Context(), "acc")
	if err != nil {
		t.Fatalf("load with an unreadable snapshot: %v", err)
	}
	want := &eventstore.Loaded[tally]{State: tally{Count: 12, Last: "deposit 12"}, Version: 12}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("load with an unreadable snapshot (-want +got):\n%s", diff)
	}
	// That load read 12 >= 5 events, so it replaced the garbage with a good snapshot...
	last := env.eventAt(t, "acc", 12)
	wantSnap := &eventstore.Snapshot{Version: 12, Seq: last.Seq, Hash: last.Hash, Schema: "tally/v1", State: []byte(`{"count":12,"last":"deposit 12"}`)}
	if diff := cmp.Diff(wantSnap, getSnapshot(t, env.snaps, "acc"), ignoreRevision); diff != "" {
		t.Errorf("snapshot after the load (-want +got):\n%s", diff)
	}
	// ...which the next load starts from.
	env.deposit(t, "acc", 2)
	got, err = env.repo.Load(t.Context(), "acc")
	if err != nil {
		t.Fatal(err)
	}
	want = &eventstore.Loaded[tally]{State: tally{Count: 14, Last: "deposit 14"}, Version: 14, FromSnapshot: 12}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("load after the snapshot was replaced (-want +got):\n%s", diff)
	}
}

// TestRepositoryIgnoresSnapshotNotMatchingLog stores snapshots that do not
// describe the log (as after a restore from backup, or a bad write): the
// repository must rebuild from the whole log, replace the snapshot, and leave
// the aggregate writable with an intact hash chain.
func TestRepositoryIgnoresSnapshotNotMatchingLog(t *testing.T) {
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
			env := newSnapshotEnv(t, 3)
			env.deposit(t, "acc", 10)
			snap := tt.snap(env.eventAt(t, "acc", 5), env.eventAt(t, "acc", 10))
			snap.Schema, snap.State = "tally/v1", []byte(`{"count":999,"last":"from a bad snapshot"}`)
			if _, err := env.snaps.Save(t.Context(), "account", "acc", snap, 0); err != nil {
				t.Fatal(err)
			}

			// A fresh store (another process): nothing cached about the aggregate.
			store, err := eventstore.Open(t.Context(), env.js, eventstore.Options{Aggregates: []string{"account"}})
			if err != nil {
				t.Fatal(err)
			}
			var chainErr *eventstore.ChainError
			if _, err := store.Load(t.Context(), "account", "acc", getSnapshot(t, env.snaps, "acc")); !errors.As(err, &chainErr) {
				t.Errorf("Store.Load from the bad snapshot = %v, want a *ChainError", err)
			}
			repo := *env.repo
			repo.Store = store
			got, err := repo.Load(t.Context(), "acc")
			if err != nil {
				t.Fatalf("repository load: %v", err)
			}
			want := &eventstore.Loaded[tally]{State: tally{Count: 10, Last: "deposit 10"}, Version: 10}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("repository load (-want +got):\n%s", diff)
			}
			last := env.eventAt(t, "acc", 10)
			if s := getSnapshot(t, env.snaps, "acc"); s.Version != 10 || s.Hash != last.Hash || s.Seq != last.Seq {
				t.Errorf("snapshot after the load = version %d at %d hash %.12s, want version 10 at %d hash %.12s", s.Version, s.Seq, s.Hash, last.Seq, last.Hash)
			}
			// The aggregate stays writable, and what is written chains onto the real log.
			res, err := store.Append(actorCtx(t), "account", "acc", got.Version, testMeta, eventstore.Event{Message: wrapperspb.String("deposit 11")})
			if err != nil {
				t.Fatalf("append after the load: %v", err)
			}
			st, err := env.store.Load(t.Context(), "account", "acc", nil)
			if err != nil {
				t.Fatalf("full load after the append: %v", err)
			}
			if st.Version != 11 || st.Events[10].PrevHash != last.Hash || st.Hash != res.Hash {
				t.Errorf("after the append: version %d, event 11 prev-hash %.12s (want %.12s)", st.Version, st.Events[10].PrevHash, last.Hash)
			}
		})
	}
}

func TestRepositorySnapshotPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		every     int
		events    int
		wantSaved bool
	}{
		{name: "fewer events than the policy", every: 5, events: 4},
		{name: "as many events as the policy", every: 5, events: 5, wantSaved: true},
		{name: "snapshots disabled", every: 0, events: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newSnapshotEnv(t, tt.every)
			env.deposit(t, "acc", tt.events)
			got, err := env.repo.Load(t.Context(), "acc")
			if err != nil {
				t.Fatal(err)
			}
			if got.State.Count != tt.events {
				t.Errorf("state count = %d, want %d", got.State.Count, tt.events)
			}
			if saved := getSnapshot(t, env.snaps, "acc") != nil; saved != tt.wantSaved {
				t.Errorf("snapshot saved = %v, want %v", saved, tt.wantSaved)
			}
		})
	}
}
