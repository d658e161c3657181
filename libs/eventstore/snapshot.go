package eventstore

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/errs"
)

// SnapshotBucket is the KV bucket holding aggregate snapshots.
const SnapshotBucket = "floe_snapshots"

// Snapshots stores aggregate snapshots in a NATS KV bucket, one key per
// aggregate ("<aggregate>.<id>"), written with compare-and-swap on the KV
// revision so two writers never overwrite each other's newer snapshot.
type Snapshots struct {
	kv     jetstream.KeyValue
	signer *Signer
}

// SignedBy returns the same bucket, with snapshots authenticated by signer:
// Save adds a MAC only signer can compute, and Get ignores a snapshot
// without a valid one (anybody able to write to the bucket could otherwise
// plant state the log never held).
func (s *Snapshots) SignedBy(signer *Signer) *Snapshots {
	c := *s
	c.signer = signer
	return &c
}

func (s *Snapshots) mac(aggregate, id string, snap *Snapshot) []byte {
	return s.signer.MAC([]byte(aggregate), []byte(id), []byte(strconv.FormatUint(uint64(snap.Version), 10)),
		[]byte(strconv.FormatUint(snap.Seq, 10)), []byte(snap.Hash), []byte(snap.Schema), snap.State)
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
	if err := json.Unmarshal(entry.Value(), &snap); err != nil || (s.signer != nil && !hmac.Equal(snap.MAC, s.mac(aggregate, id, &snap))) {
		// Unreadable or not authentic: return it empty (no schema matches) so
		// it is ignored but its revision still lets the next save replace it.
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
	if s.signer != nil {
		c := *snap
		c.MAC = s.mac(aggregate, id, snap)
		snap = &c
	}
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
