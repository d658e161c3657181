package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	integrityv1 "github.com/penguinmails/floe/proto/gen/floe/integrity/v1"
)

// RawEvent is a stored message as the verifier sees it.
type RawEvent struct {
	Seq     uint64
	Subject string
	Header  nats.Header
	Data    []byte
}

// Source is what Verify reads: a live JetStream, or an exported bundle.
type Source interface {
	// Events calls fn for every stored message from position from, in order.
	Events(ctx context.Context, from uint64, fn func(*RawEvent) error) error
	// Checkpoints returns every checkpoint, in the order written.
	Checkpoints(ctx context.Context) ([]*Checkpoint, error)
	// Range is the first and last position the source should hold (0, 0 = the whole log).
	Range() (from, to uint64)
}

// JetStreamSource reads a live log.
type JetStreamSource struct {
	JS          jetstream.JetStream
	Stream      string // eventstore.DefaultStream when empty
	AuditStream string // DefaultAuditStream when empty
}

func (s *JetStreamSource) names() (string, string) {
	st, au := s.Stream, s.AuditStream
	if st == "" {
		st = eventstore.DefaultStream
	}
	if au == "" {
		au = DefaultAuditStream
	}
	return st, au
}

// Events implements Source.
func (s *JetStreamSource) Events(ctx context.Context, from uint64, fn func(*RawEvent) error) error {
	st, _ := s.names()
	stream, err := s.JS.Stream(ctx, st)
	if err != nil {
		return fmt.Errorf("event stream %s: %w", st, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.LastSeq == 0 {
		return nil
	}
	return eventstore.ReadRaw(ctx, s.JS, st, eventstore.SubjectPrefix+">", max(from, 1), info.State.LastSeq, func(m *jetstream.RawStreamMsg) (bool, error) {
		return true, fn(&RawEvent{Seq: m.Sequence, Subject: m.Subject, Header: m.Header, Data: m.Data})
	})
}

// Checkpoints implements Source.
func (s *JetStreamSource) Checkpoints(ctx context.Context) ([]*Checkpoint, error) {
	_, au := s.names()
	return ReadCheckpoints(ctx, s.JS, au)
}

// Range implements Source.
func (s *JetStreamSource) Range() (uint64, uint64) { return 0, 0 }

// Within is src limited to positions from..to (to 0: the end): a
// verification of it checks exactly those events, each against the leaf a
// checkpoint signed, and the checkpoints.
func Within(src Source, from, to uint64) Source { return within{Source: src, from: from, to: to} }

type within struct {
	Source
	from, to uint64
}

func (w within) Range() (uint64, uint64) { return w.from, w.to }

// LastSeq is the position of the newest event.
func (s *JetStreamSource) LastSeq(ctx context.Context) (uint64, error) {
	st, _ := s.names()
	stream, err := s.JS.Stream(ctx, st)
	if err != nil {
		return 0, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// Problem kinds.
const (
	KindCheckpoint = "checkpoint" // the audit trail itself is wrong (signature, continuity, root)
	KindGap        = "missing"    // positions absent from the log (deleted)
	KindMalformed  = "malformed"  // not a well-formed event envelope
	KindEdited     = "edited"     // content does not match its own floe-hash
	KindChain      = "chain"      // does not follow the previous event of its aggregate
	KindRewritten  = "rewritten"  // differs from what a signed checkpoint covers (edited with recomputed hashes, reordered, replaced)
	KindTruncated  = "truncated"  // the log is shorter than a signed checkpoint
	KindSignature  = "signature"  // not signed by a trusted writer allowed to write its aggregate (forged, or written outside Floe)
)

// Problem is one thing wrong with the log.
type Problem struct {
	Seq     uint64 `json:"seq"` // log position (0 for audit-trail problems)
	Subject string `json:"subject,omitempty"`
	Kind    string `json:"kind"`
	Detail  string `json:"detail"`
}

func (p Problem) String() string {
	if p.Seq == 0 {
		return fmt.Sprintf("%s: %s", p.Kind, p.Detail)
	}
	return fmt.Sprintf("position %d (%s): %s: %s", p.Seq, p.Subject, p.Kind, p.Detail)
}

// Report is the outcome of a verification.
type Report struct {
	Events         uint64    `json:"events"`          // events read
	FirstSeq       uint64    `json:"first_seq"`       // first position read
	LastSeq        uint64    `json:"last_seq"`        // last position read
	Aggregates     int       `json:"aggregates"`      // distinct aggregates seen
	Checkpoints    int       `json:"checkpoints"`     // checkpoints whose signature verified
	SignedSize     uint64    `json:"signed_size"`     // events covered by the last good checkpoint
	KeyID          string    `json:"key_id"`          // the trusted key
	Problems       []Problem `json:"problems"`        // sorted by position; capped at MaxProblems
	MoreProblems   int       `json:"more_problems"`   // problems beyond the cap
	UnsignedEvents uint64    `json:"unsigned_events"` // events after the last checkpoint (chain-checked only)
	// WriterKeys is the number of trusted writer keys events were checked
	// against (0: writer signatures were not checked).
	WriterKeys int `json:"writer_keys"`
	// Acknowledged are problems of bad events an administrator acknowledged
	// (a TamperAcknowledged record signed by a trusted writer): facts of the
	// log, shown, but not failures of the verification.
	Acknowledged []Problem `json:"acknowledged,omitempty"`
}

// ProblemLines are the report's problems as text, with "and N more" past the cap.
func (r *Report) ProblemLines() []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.String())
	}
	if r.MoreProblems > 0 {
		out = append(out, fmt.Sprintf("and %d more", r.MoreProblems))
	}
	return out
}

// MaxProblems caps the problems a report lists.
const MaxProblems = 100

// OK reports whether nothing is wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// FirstBadEvent returns the lowest-positioned event problem, or nil.
func (r *Report) FirstBadEvent() *Problem {
	for i := range r.Problems {
		if r.Problems[i].Seq > 0 {
			return &r.Problems[i]
		}
	}
	return nil
}

func (r *Report) add(p Problem) {
	if len(r.Problems) >= MaxProblems {
		r.MoreProblems++
		return
	}
	r.Problems = append(r.Problems, p)
}

type chainState struct {
	version eventstore.Version
	hash    string
}

// Options configure a verification.
type Options struct {
	// Key is the trusted checkpoint key (required).
	Key ed25519.PublicKey
	// Trust, when set, also checks every event's writer signature, and lets
	// acknowledged bad events pass as Acknowledged.
	Trust *eventstore.TrustStore
	// Progress (optional) is told the events read so far.
	Progress func(done uint64)
}

// Verify checks src against the trusted public key pub: checkpoint
// signatures and continuity (each extends the previous: the same leaves plus
// new ones), every event's own hash, every per-aggregate hash link, every
// event against the leaf a checkpoint signed, missing positions and
// truncation. It returns an error only when the source cannot be read; what is
// wrong with the log is in the Report.
func Verify(ctx context.Context, src Source, pub ed25519.PublicKey, progress func(done uint64)) (*Report, error) {
	return VerifyWith(ctx, src, Options{Key: pub, Progress: progress})
}

// VerifyWith is Verify with options: with a trust store it also checks that
// every event was signed by a trusted writer allowed to write its aggregate
// (an unsigned or wrongly signed event is a "signature" problem and does not
// become the previous event of its aggregate's chain), and reports bad
// events an administrator acknowledged in Acknowledged instead of Problems.
func VerifyWith(ctx context.Context, src Source, o Options) (*Report, error) {
	pub, progress := o.Key, o.Progress
	rep := &Report{KeyID: KeyID(pub)}
	if o.Trust != nil {
		rep.WriterKeys = len(o.Trust.Keys())
	}
	acked := map[uint64]bool{}
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	signed := verifyCheckpoints(cps, pub, rep)
	rep.SignedSize = uint64(len(signed))

	from, to := src.Range()
	if from == 0 {
		from = 1
	}
	chains := map[string]chainState{}
	next := from
	err = src.Events(ctx, from, func(m *RawEvent) error {
		if to > 0 && m.Seq > to {
			return nil
		}
		if m.Seq != next {
			if m.Seq > next {
				rep.add(Problem{Seq: next, Kind: KindGap, Detail: fmt.Sprintf("positions %d..%d are missing from the log (deleted)", next, m.Seq-1)})
			} else {
				rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindMalformed, Detail: fmt.Sprintf("position %d appears out of order after %d", m.Seq, next-1)})
			}
		}
		next = m.Seq + 1
		rep.Events++
		if rep.FirstSeq == 0 {
			rep.FirstSeq = m.Seq
		}
		rep.LastSeq = m.Seq
		checkEvent(m, chains, signed, from == 1, o.Trust, acked, rep)
		if progress != nil && rep.Events%50_000 == 0 {
			progress(rep.Events)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	rep.Aggregates = len(chains)
	end := next - 1
	if to > 0 && end < to {
		rep.add(Problem{Seq: end + 1, Kind: KindTruncated, Detail: fmt.Sprintf("the source should hold positions up to %d but ends at %d", to, end)})
	} else if to == 0 && end < rep.SignedSize {
		rep.add(Problem{Seq: end + 1, Kind: KindTruncated, Detail: fmt.Sprintf("a checkpoint signed %d events but the log ends at position %d: events %d..%d are gone", rep.SignedSize, end, end+1, rep.SignedSize)})
	}
	if end > rep.SignedSize {
		rep.UnsignedEvents = end - max(rep.SignedSize, from-1)
	}
	if len(acked) > 0 {
		kept := rep.Problems[:0]
		for _, p := range rep.Problems {
			if p.Seq > 0 && acked[p.Seq] {
				rep.Acknowledged = append(rep.Acknowledged, p)
			} else {
				kept = append(kept, p)
			}
		}
		rep.Problems = kept
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Seq < rep.Problems[j].Seq })
	if progress != nil {
		progress(rep.Events)
	}
	return rep, nil
}

// verifyCheckpoints returns the signed leaves of the longest prefix of
// checkpoints that verify, reporting the first one that does not.
func verifyCheckpoints(cps []*Checkpoint, pub ed25519.PublicKey, rep *Report) [][]byte {
	t := newTree()
	var leaves [][]byte
	var lastTime = cps0Time(cps)
	for i, cp := range cps {
		where := fmt.Sprintf("checkpoint #%d (audit position %d, size %d, %s)", i+1, cp.Seq, cp.Size, cp.Time.UTC().Format("2006-01-02T15:04:05Z"))
		if err := cp.VerifySignature(pub); err != nil {
			rep.add(Problem{Kind: KindCheckpoint, Detail: where + ": " + err.Error()})
			return leaves
		}
		if cp.Origin != "" && len(cps) > 0 && cp.Origin != cps[0].Origin {
			rep.add(Problem{Kind: KindCheckpoint, Detail: where + ": origin " + cp.Origin + " differs from " + cps[0].Origin})
			return leaves
		}
		if cp.From != t.size() {
			rep.add(Problem{Kind: KindCheckpoint, Detail: fmt.Sprintf("%s: starts at leaf %d but the previous checkpoint ended at %d (a checkpoint is missing or inserted)", where, cp.From, t.size())})
			return leaves
		}
		if cp.Time.Before(lastTime) {
			rep.add(Problem{Kind: KindCheckpoint, Detail: where + ": is older than the checkpoint before it"})
			return leaves
		}
		lastTime = cp.Time
		next := t.clone()
		for j := range cp.LeafCount() {
			next.append(cp.Leaf(j))
		}
		if !equalHash(next.root(), cp.Root) {
			rep.add(Problem{Kind: KindCheckpoint, Detail: where + ": its leaves do not produce its signed root (not consistent with the checkpoints before it)"})
			return leaves
		}
		t = next
		for j := range cp.LeafCount() {
			leaves = append(leaves, cp.Leaf(j))
		}
		rep.Checkpoints++
	}
	return leaves
}

func cps0Time(cps []*Checkpoint) (t0 time.Time) {
	if len(cps) > 0 {
		return cps[0].Time
	}
	return t0
}

func checkEvent(m *RawEvent, chains map[string]chainState, signed [][]byte, wholeLog bool, trust *eventstore.TrustStore, acked map[uint64]bool, rep *Report) {
	e, err := eventstore.Decode(m.Seq, m.Subject, m.Header, m.Data)
	if err != nil {
		rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindMalformed, Detail: err.Error()})
		return
	}
	computed := eventstore.ComputeHash(m.Subject, m.Header, m.Data)
	if computed != e.Hash {
		rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindEdited, Detail: "content does not match its floe-hash (the event was changed after it was written)"})
	}
	// A writer's signature covers its floe-hash: an event whose hash no
	// trusted writer signed does not extend its aggregate's chain (the
	// genuine events after it link to the last one that does).
	extends := true
	if trust != nil {
		if why := trust.CheckSignature(e); why != "" {
			rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindSignature, Detail: why})
			extends = false
		} else if computed == e.Hash && e.Aggregate == eventstore.IntegrityAggregate && e.Type == string((&integrityv1.TamperAcknowledged{}).ProtoReflect().Descriptor().FullName()) {
			var ack integrityv1.TamperAcknowledged
			if e.DecodeInto(&ack) == nil && eventstore.IntegrityID(ack.GetPosition()) == e.AggregateID {
				acked[ack.GetPosition()] = true
			}
		}
	}
	key := e.Aggregate + "." + e.AggregateID
	prev, seen := chains[key]
	switch {
	case !seen && e.Version == 1 && e.PrevHash != eventstore.GenesisHash:
		rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindChain, Detail: "first event of its aggregate does not start from the genesis hash"})
	case !seen && e.Version > 1 && wholeLog:
		rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindChain, Detail: fmt.Sprintf("aggregate starts at version %d: its earlier events are missing", e.Version)})
	case seen && e.Version != prev.version+1:
		rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindChain, Detail: fmt.Sprintf("version %d follows version %d of the same aggregate (an event was deleted, duplicated or reordered)", e.Version, prev.version)})
	case seen && e.PrevHash != prev.hash:
		rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindChain, Detail: "floe-prev-hash does not match the previous event of its aggregate (that event was changed or replaced)"})
	}
	if extends && (!seen || trust == nil || e.Version == prev.version+1) {
		chains[key] = chainState{version: e.Version, hash: e.Hash}
	}
	checkLeaf(m, computed, signed, rep)
}

// checkLeaf compares the event at m's position with the leaf a checkpoint signed.
func checkLeaf(m *RawEvent, computed string, signed [][]byte, rep *Report) {
	if m.Seq <= uint64(len(signed)) {
		if !equalHash(LeafHash(m.Seq, computed), signed[m.Seq-1]) {
			rep.add(Problem{Seq: m.Seq, Subject: m.Subject, Kind: KindRewritten, Detail: "differs from the event a signed checkpoint covers at this position"})
		}
	}
}
