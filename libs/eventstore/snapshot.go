package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/errs"
)

// SnapshotBucket is the KV bucket holding aggregate snapshots.
const SnapshotBucket = "floe_snapshots"

// Snapshots stores aggregate snapshots in a NATS KV bucket, one key per
// aggregate ("<aggregate>.<id>"), written with compare-and-swap on the KV
// revision so two writers never overwrite each other's newer snapshot.
type Snapshots struct {
	kv jetstream.KeyValue
}

// OpenSnapshots creates or opens the snapshot bucket. Snapshots are a cache,
// so the bucket keeps one revision per key and may be deleted to rebuild.
func OpenSnapshots(ctx context.Context, js jetstream.JetStream, replicas int) (*Snapshots, error) {
	if replicas <= 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: SnapshotBucket, Description: "Floe aggregate snapshots (a cache; the event log is the truth)",
		History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot bucket: %w", err)
	}
	return &Snapshots{kv: kv}, nil
}

// Get returns the snapshot of an aggregate, or nil when there is none.
func (s *Snapshots) Get(ctx context.Context, aggregate, id string) (*Snapshot, error) {
	entry, err := s.kv.Get(ctx, cacheKey(aggregate, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, &errs.UnavailableError{What: "snapshot bucket", Err: err}
	}
	var snap Snapshot
	if err := json.Unmarshal(entry.Value(), &snap); err != nil {
		// Unreadable: return it empty (no schema matches) so it is ignored but
		// its revision still lets the next save replace it.
		snap = Snapshot{}
	}
	snap.Revision = entry.Revision()
	return &snap, nil
}

// Save stores snap if the stored snapshot is still at revision prev (0 = none
// stored) and returns the new revision. It returns errs.ErrConcurrency when
// another writer got there first; callers may ignore that, since the other
// snapshot is as good.
func (s *Snapshots) Save(ctx context.Context, aggregate, id string, snap *Snapshot, prev uint64) (uint64, error) {
	body, err := json.Marshal(snap)
	if err != nil {
		return 0, err
	}
	key := cacheKey(aggregate, id)
	var rev uint64
	if prev == 0 {
		rev, err = s.kv.Create(ctx, key, body)
	} else {
		rev, err = s.kv.Update(ctx, key, body, prev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || IsWrongLastSequence(err) {
		return 0, errs.ErrConcurrency
	}
	if err != nil {
		return 0, &errs.UnavailableError{What: "snapshot bucket", Err: err}
	}
	return rev, nil
}

// SnapshotPolicy decides when a load writes a new snapshot.
type SnapshotPolicy struct {
	// Every is the number of events read past the last snapshot that makes a
	// load save a new one; 0 disables snapshots.
	Every int
}

// DefaultSnapshotPolicy snapshots once an aggregate has 100 events past its snapshot.
var DefaultSnapshotPolicy = SnapshotPolicy{Every: 100}

// Repository loads and saves aggregates of one kind whose state is S:
// snapshot + tail on load, saving a new snapshot per policy. Apply must be a
// pure function of (state, event), the one documented rehydration path.
type Repository[S any] struct {
	Store     Store
	Snapshots *Snapshots // nil disables snapshots
	Aggregate string
	// Schema names S's snapshot encoding; bump it when S changes shape.
	Schema string
	// New returns the state of an aggregate with no events.
	New func() S
	// Apply folds one event into the state.
	Apply func(S, *RecordedEvent) (S, error)
	// Marshal and Unmarshal encode S for snapshots (JSON when nil).
	Marshal   func(S) ([]byte, error)
	Unmarshal func([]byte) (S, error)
	Policy    SnapshotPolicy
}

// Loaded is an aggregate's state with its version.
type Loaded[S any] struct {
	State   S
	Version Version
	// FromSnapshot is the version of the snapshot used, 0 when none was.
	FromSnapshot Version
}

// Load rebuilds the aggregate's state from its snapshot (if any, and of the
// current schema) and the events after it.
func (r *Repository[S]) Load(ctx context.Context, id string) (*Loaded[S], error) {
	state := r.New()
	var snap *Snapshot
	var storedRev uint64 // revision of whatever snapshot is stored, used or not, for the next CAS
	if r.Snapshots != nil && r.Policy.Every > 0 {
		s, err := r.Snapshots.Get(ctx, r.Aggregate, id)
		if err != nil {
			return nil, err
		}
		if s != nil {
			storedRev = s.Revision
		}
		if s != nil && s.Schema == r.Schema {
			if st, err := r.unmarshal(s.State); err == nil {
				snap, state = s, st
			}
		}
	}
	stream, err := r.Store.Load(ctx, r.Aggregate, id, snap)
	var chainErr *ChainError
	if snap != nil && errors.As(err, &chainErr) {
		// The snapshot does not match the log (e.g. it was written from a log
		// that was since restored from backup): ignore it and replay all.
		snap, state = nil, r.New()
		stream, err = r.Store.Load(ctx, r.Aggregate, id, nil)
	}
	if err != nil {
		return nil, err
	}
	for _, e := range stream.Events {
		if state, err = r.Apply(state, e); err != nil {
			return nil, fmt.Errorf("apply %s at position %d: %w", e.Type, e.Seq, err)
		}
	}
	out := &Loaded[S]{State: state, Version: stream.Version}
	if snap != nil {
		out.FromSnapshot = snap.Version
	}
	if r.Snapshots != nil && r.Policy.Every > 0 && len(stream.Events) >= r.Policy.Every {
		if body, err := r.marshal(state); err == nil {
			// Best effort: a lost race or an unavailable bucket only costs a longer next load.
			_, _ = r.Snapshots.Save(ctx, r.Aggregate, id, &Snapshot{
				Version: stream.Version, Seq: stream.LastSeq, Hash: stream.Hash, Schema: r.Schema, State: body,
			}, storedRev)
		}
	}
	return out, nil
}

func (r *Repository[S]) marshal(s S) ([]byte, error) {
	if r.Marshal != nil {
		return r.Marshal(s)
	}
	return json.Marshal(s)
}

func (r *Repository[S]) unmarshal(b []byte) (S, error) {
	if r.Unmarshal != nil {
		return r.Unmarshal(b)
	}
	var s S
	err := json.Unmarshal(b, &s)
	return s, err
}
