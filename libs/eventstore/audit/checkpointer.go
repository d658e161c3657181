package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
)

// Audit stream defaults.
const (
	DefaultAuditStream = "FLOE_AUDIT"
	CheckpointSubject  = "floe.audit.checkpoint"
)

// CheckpointerOptions configure a Checkpointer.
type CheckpointerOptions struct {
	// Stream is the event log stream (eventstore.DefaultStream when empty).
	Stream string
	// AuditStream holds the checkpoints (DefaultAuditStream when empty).
	AuditStream string
	// Key signs checkpoints. It is a secret: never logged, never in an event.
	Key ed25519.PrivateKey
	// Clock stamps checkpoints; time.Now when nil.
	Clock func() time.Time
	// Replicas for a newly created audit stream.
	Replicas int
	// Verifier, when set, checks every event before it is signed: content,
	// link to its aggregate's previous event, writer signature. A range
	// holding a bad event (not acknowledged) is not signed, and the
	// verifier's alarm is raised.
	Verifier *eventstore.Verifier
}

// Checkpointer writes signed Merkle checkpoints of the event log.
type Checkpointer struct {
	js   jetstream.JetStream
	opts CheckpointerOptions

	mu       sync.Mutex
	chains   *eventstore.Chains
	tree     *tree
	lastSeq  uint64    // audit stream position of the last checkpoint
	lastTime time.Time // time of the last checkpoint
}

// AuditStreamConfig is the audit stream's configuration: append-only like the event log.
func AuditStreamConfig(name string, replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name: name, Description: "Floe signed Merkle checkpoints of the event log",
		Subjects: []string{CheckpointSubject}, Retention: jetstream.LimitsPolicy,
		MaxMsgs: -1, MaxBytes: -1, MaxMsgsPerSubject: -1, MaxMsgSize: -1, MaxConsumers: -1,
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
		DenyDelete: true, DenyPurge: true, AllowDirect: true,
	}
}

// NewCheckpointer opens (or creates) the audit stream and rebuilds the tree
// from the checkpoints already written, checking each against its signature.
func NewCheckpointer(ctx context.Context, js jetstream.JetStream, opts CheckpointerOptions) (*Checkpointer, error) {
	if opts.Key == nil {
		return nil, errors.New("checkpointer: a signing key is required")
	}
	if opts.Stream == "" {
		opts.Stream = eventstore.DefaultStream
	}
	if opts.AuditStream == "" {
		opts.AuditStream = DefaultAuditStream
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if _, err := js.Stream(ctx, opts.AuditStream); errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := js.CreateStream(ctx, AuditStreamConfig(opts.AuditStream, opts.Replicas)); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("create audit stream: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("audit stream: %w", err)
	}
	c := &Checkpointer{js: js, opts: opts}
	if opts.Verifier != nil {
		c.chains = opts.Verifier.Chains(0)
	}
	if err := c.reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// reload rebuilds the tree from every stored checkpoint.
func (c *Checkpointer) reload(ctx context.Context) error {
	cps, err := ReadCheckpoints(ctx, c.js, c.opts.AuditStream)
	if err != nil {
		return err
	}
	t := newTree()
	pub := c.opts.Key.Public().(ed25519.PublicKey)
	var last uint64
	var lastTime time.Time
	for _, cp := range cps {
		if err := cp.VerifySignature(pub); err != nil {
			return fmt.Errorf("audit stream position %d: checkpoint of size %d: %w", cp.Seq, cp.Size, err)
		}
		if cp.From != t.size() {
			return fmt.Errorf("audit stream position %d: checkpoint starts at leaf %d, expected %d", cp.Seq, cp.From, t.size())
		}
		for i := range cp.LeafCount() {
			t.append(cp.Leaf(i))
		}
		if !equalHash(t.root(), cp.Root) {
			return fmt.Errorf("audit stream position %d: checkpoint of size %d does not match its own leaves", cp.Seq, cp.Size)
		}
		last, lastTime = cp.Seq, cp.Time
	}
	c.tree, c.lastSeq, c.lastTime = t, last, lastTime
	return nil
}

// PublicKey is the key that verifies this checkpointer's signatures.
func (c *Checkpointer) PublicKey() ed25519.PublicKey { return c.opts.Key.Public().(ed25519.PublicKey) }

// Origin names the log this checkpointer signs.
func (c *Checkpointer) Origin() string { return Origin(c.opts.Stream) }

// LogSize is the number of events in the log now.
func (c *Checkpointer) LogSize(ctx context.Context) (uint64, error) {
	return (&JetStreamSource{JS: c.js, Stream: c.opts.Stream, AuditStream: c.opts.AuditStream}).LastSeq(ctx)
}

// Size is the number of events covered by the last checkpoint.
func (c *Checkpointer) Size() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tree.size()
}

// Checkpoint signs every event appended since the last checkpoint and
// returns the checkpoints written (none when the log has not grown). It
// refuses to sign over a gap in the log or an event whose content does not
// match its own floe-hash.
func (c *Checkpointer) Checkpoint(ctx context.Context) ([]*Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stream, err := c.js.Stream(ctx, c.opts.Stream)
	if err != nil {
		return nil, fmt.Errorf("event stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("event stream: %w", err)
	}
	end := info.State.LastSeq
	var written []*Checkpoint
	for attempt := 0; c.tree.size() < end; {
		from := c.tree.size()
		upTo := min(end, from+MaxLeavesPerCheckpoint)
		leaves, err := c.leaves(ctx, from+1, upTo)
		if err != nil {
			return written, err
		}
		next := c.tree.clone()
		for _, l := range leaves {
			next.append(l)
		}
		// Never older than the checkpoint before it (Verify requires time order),
		// even when that one was written by a checkpointer whose clock is ahead.
		now := c.opts.Clock().UTC()
		if now.Before(c.lastTime) {
			now = c.lastTime
		}
		cp := &Checkpoint{Origin: Origin(c.opts.Stream), Size: next.size(), Root: next.root(), Time: now, From: from}
		for _, l := range leaves {
			cp.Leaves = append(cp.Leaves, l...)
		}
		cp.Sign(c.opts.Key)
		body, err := cp.Marshal()
		if err != nil {
			return written, err
		}
		ack, err := c.js.Publish(ctx, CheckpointSubject, body, jetstream.WithExpectStream(c.opts.AuditStream), jetstream.WithExpectLastSequence(c.lastSeq))
		if err != nil {
			// Another checkpointer wrote first: adopt its checkpoints and go on from there.
			if attempt++; attempt <= 3 && eventstore.IsWrongLastSequence(err) {
				if err := c.reload(ctx); err != nil {
					return written, err
				}
				continue
			}
			return written, fmt.Errorf("write checkpoint: %w", err)
		}
		cp.Seq = ack.Sequence
		c.tree, c.lastSeq, c.lastTime = next, ack.Sequence, cp.Time
		written = append(written, cp)
	}
	return written, nil
}

func (c *Checkpointer) leaves(ctx context.Context, from, upTo uint64) ([][]byte, error) {
	out := make([][]byte, 0, upTo-from+1)
	next := from
	err := eventstore.ReadRaw(ctx, c.js, c.opts.Stream, eventstore.SubjectPrefix+">", from, upTo, func(m *jetstream.RawStreamMsg) (bool, error) {
		if m.Sequence != next {
			return false, fmt.Errorf("refusing to sign: log positions %d..%d are missing", next, m.Sequence-1)
		}
		hash := m.Header.Get(eventstore.HdrHash)
		if c.chains != nil {
			if err := c.verify(ctx, m); err != nil {
				return false, err
			}
		} else if got := eventstore.ComputeHash(m.Subject, m.Header, m.Data); got != hash {
			return false, fmt.Errorf("refusing to sign: event at position %d does not match its floe-hash", m.Sequence)
		}
		out = append(out, LeafHash(m.Sequence, hash))
		next++
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if next != upTo+1 {
		return nil, fmt.Errorf("refusing to sign: log positions %d..%d are missing", next, upTo)
	}
	return out, nil
}

// verify checks one event with the verifier: nil to sign it (a good event,
// or a bad one an administrator acknowledged: the log holds it either way).
func (c *Checkpointer) verify(ctx context.Context, m *jetstream.RawStreamMsg) error {
	e, err := eventstore.Decode(m.Sequence, m.Subject, m.Header, m.Data)
	if err != nil {
		err = c.opts.Verifier.Malformed(ctx, m.Sequence, m.Subject, err)
	} else if _, err = c.chains.Check(ctx, e); err == nil {
		return nil
	}
	var te *eventstore.TamperError
	if errors.As(err, &te) {
		return &RefusedError{Seq: te.Seq, Subject: te.Subject, Reason: te.Reason}
	}
	return err
}

// RefusedError is the checkpointer's refusal to sign a range holding an
// event that fails verification (until an administrator acknowledges it).
type RefusedError struct {
	Seq     uint64
	Subject string
	Reason  string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to sign: the event at position %d (%s) fails verification: %s; acknowledge it (floe integrity ack %d) once investigated", e.Seq, e.Subject, e.Reason, e.Seq)
}

// Run writes a checkpoint every interval while the log grows, until ctx ends.
// Failures are reported to onErr (if set) and retried at the next tick.
func (c *Checkpointer) Run(ctx context.Context, interval time.Duration, onErr func(error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := c.Checkpoint(ctx); err != nil && onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}

// ReadCheckpoints returns every checkpoint in the audit stream, in order.
func ReadCheckpoints(ctx context.Context, js jetstream.JetStream, auditStream string) ([]*Checkpoint, error) {
	var out []*Checkpoint
	if _, err := js.Stream(ctx, auditStream); errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	err := eventstore.ReadRaw(ctx, js, auditStream, CheckpointSubject, 1, 0, func(m *jetstream.RawStreamMsg) (bool, error) {
		cp, err := ParseCheckpoint(m.Data)
		if err != nil {
			return false, fmt.Errorf("audit stream position %d: %w", m.Sequence, err)
		}
		cp.Seq = m.Sequence
		out = append(out, cp)
		return true, nil
	})
	return out, err
}
