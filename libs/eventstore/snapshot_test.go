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

type snapshotEnv struct {
	js    jetstream.JetStream
	store *eventstore.JetStreamStore
	snaps *eventstore.Snapshots
}

// newSnapshotEnv opens a store for "account" aggregates and a snapshot bucket.
func newSnapshotEnv(t *testing.T) *snapshotEnv {
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
	return &snapshotEnv{js: js, store: store, snaps: snaps}
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
	env := newSnapshotEnv(t)
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

// An unreadable snapshot comes back empty (no schema, so every reader
// ignores it) with its revision, so a reader can replace it.
func TestSnapshotsGetUnreadable(t *testing.T) {
	t.Parallel()
	env := newSnapshotEnv(t)
	kv, err := env.js.KeyValue(t.Context(), eventstore.SnapshotBucket)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(t.Context(), "account.acc", []byte("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	got := getSnapshot(t, env.snaps, "acc")
	if diff := cmp.Diff(&eventstore.Snapshot{Revision: rev}, got); diff != "" {
		t.Errorf("unreadable snapshot (-want +got):\n%s", diff)
	}
	good := &eventstore.Snapshot{Version: 3, Seq: 3, Hash: strings.Repeat("a", 64), Schema: "tally/v1", State: []byte(`{"count":3}`)}
	if _, err := env.snaps.Save(t.Context(), "account", "acc", good, 0); !errors.Is(err, errs.ErrConcurrency) {
		t.Errorf("save as a creator over the unreadable one = %v, want ErrConcurrency", err)
	}
	if _, err := env.snaps.Save(t.Context(), "account", "acc", good, got.Revision); err != nil {
		t.Fatalf("save at the unreadable one's revision: %v", err)
	}
	if diff := cmp.Diff(good, getSnapshot(t, env.snaps, "acc"), ignoreRevision); diff != "" {
		t.Errorf("snapshot after the replacement (-want +got):\n%s", diff)
	}
}

// TestLoadFromSnapshot loads account acc (10 events) after snapshots stored
// in and read back from the bucket. One that describes the log gives the
// events after it; one that does not (as after a restore from backup, or a
// bad write) is a *ChainError, and the store, another process with nothing
// cached, still appends onto the real log.
func TestLoadFromSnapshot(t *testing.T) {
	t.Parallel()
	bogusHash := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		snap func(ev5, ev10 *eventstore.RecordedEvent) *eventstore.Snapshot
		// wantFrom is the version of the first event loaded (11: none); 0 wants a *ChainError.
		wantFrom eventstore.Version
	}{
		{name: "at an event before the head", wantFrom: 6, snap: func(ev5, _ *eventstore.RecordedEvent) *eventstore.Snapshot {
			return &eventstore.Snapshot{Version: 5, Seq: ev5.Seq, Hash: ev5.Hash}
		}},
		{name: "at the head", wantFrom: 11, snap: func(_, ev10 *eventstore.RecordedEvent) *eventstore.Snapshot {
			return &eventstore.Snapshot{Version: 10, Seq: ev10.Seq, Hash: ev10.Hash}
		}},
		{name: "before the first event", wantFrom: 1, snap: func(_, _ *eventstore.RecordedEvent) *eventstore.Snapshot {
			return &eventstore.Snapshot{Hash: eventstore.GenesisHash}
		}},
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
			env := newSnapshotEnv(t)
			env.deposit(t, "acc", 10)
			last := env.eventAt(t, "acc", 10)
			snap := tt.snap(env.eventAt(t, "acc", 5), last)
			snap.Schema, snap.State = "tally/v1", []byte(`{"count":999}`)
			if _, err := env.snaps.Save(t.Context(), "account", "acc", snap, 0); err != nil {
				t.Fatal(err)
			}
			stored := getSnapshot(t, env.snaps, "acc")
			if diff := cmp.Diff(snap, stored, ignoreRevision); diff != "" {
				t.Fatalf("stored snapshot (-want +got):\n%s", diff)
			}

			// A fresh store (another process): nothing cached about the aggregate.
			store, err := eventstore.Open(t.Context(), env.js, eventstore.Options{Aggregates: []string{"account"}})
			if err != nil {
				t.Fatal(err)
			}
			st, err := store.Load(t.Context(), "account", "acc", stored)
			if tt.wantFrom == 0 {
				var chainErr *eventstore.ChainError
				if !errors.As(err, &chainErr) {
					t.Fatalf("Store.Load from the bad snapshot = %+v, %v; want a *ChainError", st, err)
				}
			} else {
				if err != nil {
					t.Fatalf("Store.Load from the snapshot: %v", err)
				}
				var versions []eventstore.Version
				for _, e := range st.Events {
					versions = append(versions, e.Version)
				}
				var want []eventstore.Version
				for v := tt.wantFrom; v <= 10; v++ {
					want = append(want, v)
				}
				if diff := cmp.Diff(want, versions); diff != "" {
					t.Errorf("versions loaded after the snapshot (-want +got):\n%s", diff)
				}
				if st.Version != 10 || st.LastSeq != last.Seq || st.Hash != last.Hash || st.Snapshot != stored {
					t.Errorf("stream = v%d @%d %.12s from %+v, want v10 @%d %.12s from the snapshot", st.Version, st.LastSeq, st.Hash, st.Snapshot, last.Seq, last.Hash)
				}
			}
			// The aggregate stays writable, and what is written chains onto the real log.
			res, err := store.Append(actorCtx(t), "account", "acc", 10, testMeta, eventstore.Event{Message: wrapperspb.String("deposit 11")})
			if err != nil {
				t.Fatalf("append after the load: %v", err)
			}
			full, err := env.store.Load(t.Context(), "account", "acc", nil)
			if err != nil {
				t.Fatalf("full load after the append: %v", err)
			}
			if full.Version != 11 || full.Events[10].PrevHash != last.Hash || full.Hash != res.Hash {
				t.Errorf("after the append: version %d, event 11 prev-hash %.12s (want %.12s)", full.Version, full.Events[10].PrevHash, last.Hash)
			}
		})
	}
}
