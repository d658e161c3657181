package projection

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
)

// The checkpoint bucket view_<name> holds, under these keys:
//
//	r.<row key>   a row: 1 byte kind (0 row, 1 tombstone of a deleted row), 8
//	              bytes position of the last event folded in (big-endian), the
//	              row's encoding (empty for a tombstone)
//	pos           the position the view has applied, 8 bytes big-endian
//	poison.<seq>  a poison event (JSON)
//
// Every write is compare-and-swap on the key's revision and never moves a
// row or the position backwards, so instances that share the bucket cannot
// undo each other's progress.
const (
	rowPrefix    = "r."
	posKey       = "pos"
	poisonPrefix = "poison."
	kindRow      = 0
	kindGone     = 1
)

type checkpoint struct {
	js       jetstream.JetStream
	bucket   string
	replicas int
	// signer (optional) authenticates every value: a MAC of the bucket, the
	// key and the value is appended, and a value without a valid one is
	// ignored on load (only the view's own writer can produce it).
	signer *eventstore.Signer

	mu     sync.Mutex
	kv     jetstream.KeyValue
	posRev uint64
	poison []Poison // not yet written

	pos atomic.Uint64
}

func openCheckpoint(ctx context.Context, js jetstream.JetStream, name string, replicas int, signer *eventstore.Signer) (*checkpoint, error) {
	c := &checkpoint{js: js, bucket: "view_" + name, replicas: max(replicas, 1), signer: signer}
	if err := c.open(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *checkpoint) open(ctx context.Context) error {
	kv, err := c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: c.bucket, Description: "Floe view checkpoint (a cache: rebuildable from the event log)",
		History: 1, Storage: jetstream.FileStorage, Replicas: c.replicas,
	})
	if err != nil {
		return fmt.Errorf("checkpoint bucket %s: %w", c.bucket, err)
	}
	c.mu.Lock()
	c.kv, c.posRev = kv, 0
	c.mu.Unlock()
	return nil
}

func (c *checkpoint) position() uint64 { return c.pos.Load() }

// macSize is the length of the MAC appended to every value when signed.
const macSize = 32

// seal appends the value's MAC (when the checkpoint is signed).
func (c *checkpoint) seal(key string, val []byte) []byte {
	if c.signer == nil {
		return val
	}
	return append(val, c.signer.MAC([]byte(c.bucket), []byte(key), val)...)
}

// unseal checks and strips the MAC; ok is false for a value that is not authentic.
func (c *checkpoint) unseal(key string, val []byte) ([]byte, bool) {
	if c.signer == nil {
		return val, true
	}
	if len(val) < macSize {
		return nil, false
	}
	body := val[:len(val)-macSize]
	return body, c.signer.CheckMAC(val[len(val)-macSize:], []byte(c.bucket), []byte(key), body)
}

type storedRow struct {
	data []byte
	seq  uint64
	rev  uint64
	gone bool // a tombstone
}

// load reads every row, the position and the recorded poison events.
func (c *checkpoint) load(ctx context.Context) (map[string]storedRow, uint64, []Poison, error) {
	c.mu.Lock()
	kv := c.kv
	c.mu.Unlock()
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, 0, nil, err
	}
	defer w.Stop()
	rows := map[string]storedRow{}
	var pos uint64
	var poison []Poison
	forged := 0
	for {
		var entry jetstream.KeyValueEntry
		select {
		case <-ctx.Done():
			return nil, 0, nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, 0, nil, errors.New("checkpoint watch ended early")
			}
			entry = e
		}
		if entry == nil {
			break // every current value was delivered
		}
		key, val := entry.Key(), entry.Value()
		val, ok := c.unseal(key, val)
		if !ok {
			forged++
			continue
		}
		switch {
		case key == posKey && len(val) == 8:
			pos = binary.BigEndian.Uint64(val)
			c.mu.Lock()
			c.posRev = entry.Revision()
			c.mu.Unlock()
		case strings.HasPrefix(key, rowPrefix) && len(val) >= 9:
			rows[key[len(rowPrefix):]] = storedRow{data: val[9:], seq: binary.BigEndian.Uint64(val[1:9]), rev: entry.Revision(), gone: val[0] == kindGone}
		case strings.HasPrefix(key, poisonPrefix):
			var x Poison
			if json.Unmarshal(val, &x) == nil {
				poison = append(poison, x)
			}
		}
	}
	if forged > 0 {
		// Values this view's writer did not write: trust none of it.
		c.pos.Store(0)
		return map[string]storedRow{}, 0, nil, &ForgedCheckpointError{Bucket: c.bucket, Values: forged}
	}
	c.pos.Store(pos)
	return rows, pos, poison, nil
}

// ForgedCheckpointError reports checkpoint values without a valid MAC: the
// view replays the log instead of restoring them.
type ForgedCheckpointError struct {
	Bucket string
	Values int
}

func (e *ForgedCheckpointError) Error() string {
	return fmt.Sprintf("checkpoint bucket %s holds %d values this view did not write: ignoring the checkpoint and replaying the log", e.Bucket, e.Values)
}

type rowWrite struct {
	key     string
	seq     uint64
	rev     uint64
	data    []byte
	deleted bool
}

func (c *checkpoint) encodeRow(w rowWrite) []byte {
	out := make([]byte, 9+len(w.data), 9+len(w.data)+macSize)
	if w.deleted {
		out[0] = kindGone
	}
	binary.BigEndian.PutUint64(out[1:9], w.seq)
	copy(out[9:], w.data)
	return c.seal(rowPrefix+w.key, out)
}

// write stores rows with compare-and-swap, pipelined. It returns the new
// revision of each row written and the rows that could not be written.
func (c *checkpoint) write(ctx context.Context, writes []rowWrite) (map[string]uint64, []rowWrite, error) {
	c.mu.Lock()
	kv := c.kv
	c.mu.Unlock()
	revs := map[string]uint64{}
	type pending struct {
		w   rowWrite
		ack jetstream.PubAckFuture
	}
	var inflight []pending
	var failed []rowWrite
	subject := "$KV." + c.bucket + "."
	for _, w := range writes {
		m := &nats.Msg{Subject: subject + rowPrefix + w.key, Data: c.encodeRow(w), Header: nats.Header{}}
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(w.rev, 10))
		f, err := c.js.PublishMsgAsync(m)
		if err != nil {
			failed = append(failed, w)
			continue
		}
		inflight = append(inflight, pending{w, f})
	}
	var firstErr error
	for _, p := range inflight {
		select {
		case ack := <-p.ack.Ok():
			revs[p.w.key] = ack.Sequence
		case err := <-p.ack.Err():
			// Someone else wrote the row (another instance, or our revision is
			// unknown): keep whichever folded more.
			rev, ok, rerr := c.resolve(ctx, kv, p.w)
			switch {
			case rerr != nil:
				failed = append(failed, p.w)
				if firstErr == nil {
					firstErr = fmt.Errorf("row %s: %v, then %w", p.w.key, err, rerr)
				}
			case ok:
				revs[p.w.key] = rev
			}
		case <-ctx.Done():
			return revs, append(failed, p.w), ctx.Err()
		}
	}
	if err := c.writePoison(ctx, kv); err != nil && firstErr == nil {
		firstErr = err
	}
	return revs, failed, firstErr
}

// resolve writes w over whatever is stored unless the stored row folded as
// much or more; it returns the revision now stored for the row.
func (c *checkpoint) resolve(ctx context.Context, kv jetstream.KeyValue, w rowWrite) (uint64, bool, error) {
	for range 5 {
		cur, err := kv.Get(ctx, rowPrefix+w.key)
		var rev uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, false, err
		default:
			rev = cur.Revision()
			if v, ok := c.unseal(rowPrefix+w.key, cur.Value()); ok && len(v) >= 9 && binary.BigEndian.Uint64(v[1:9]) >= w.seq {
				return rev, true, nil // the stored row is as new or newer
			}
		}
		if rev == 0 {
			rev, err = kv.Create(ctx, rowPrefix+w.key, c.encodeRow(w))
		} else {
			rev, err = kv.Update(ctx, rowPrefix+w.key, c.encodeRow(w), rev)
		}
		if err == nil {
			return rev, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, false, err
		}
	}
	return 0, false, errors.New("the row keeps changing")
}

// setPosition records pos unless a greater one is stored.
func (c *checkpoint) setPosition(ctx context.Context, pos uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	val := c.seal(posKey, binary.BigEndian.AppendUint64(nil, pos))
	for range 5 {
		var rev uint64
		var err error
		if c.posRev == 0 {
			rev, err = c.kv.Create(ctx, posKey, val)
		} else {
			rev, err = c.kv.Update(ctx, posKey, val, c.posRev)
		}
		if err == nil {
			c.posRev = rev
			c.pos.Store(pos)
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return err
		}
		cur, gerr := c.kv.Get(ctx, posKey)
		if gerr != nil && !errors.Is(gerr, jetstream.ErrKeyNotFound) {
			return gerr
		}
		c.posRev = 0
		if gerr == nil {
			c.posRev = cur.Revision()
			if v, ok := c.unseal(posKey, cur.Value()); ok && len(v) == 8 && binary.BigEndian.Uint64(v) >= pos {
				c.pos.Store(pos)
				return nil // another instance is as far or further
			}
		}
	}
	return errors.New("the position keeps changing")
}

// notePoison queues a poison event for the next write.
func (c *checkpoint) notePoison(x Poison) {
	c.mu.Lock()
	c.poison = append(c.poison, x)
	c.mu.Unlock()
}

func (c *checkpoint) writePoison(ctx context.Context, kv jetstream.KeyValue) error {
	c.mu.Lock()
	list := c.poison
	c.poison = nil
	c.mu.Unlock()
	for _, x := range list {
		body, _ := json.Marshal(x)
		key := poisonPrefix + strconv.FormatUint(x.Seq, 10)
		if _, err := kv.Put(ctx, key, c.seal(key, body)); err != nil {
			return err
		}
	}
	return nil
}

// purge drops the whole checkpoint (a rebuild starts from nothing).
func (c *checkpoint) purge(ctx context.Context) error {
	if err := c.js.DeleteKeyValue(ctx, c.bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return err
	}
	c.pos.Store(0)
	c.mu.Lock()
	c.poison = nil
	c.mu.Unlock()
	return c.open(ctx)
}
