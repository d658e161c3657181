package eventstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// IntegrityAggregate is the aggregate kind of the log's own integrity
// records (floe.integrity.v1): its ids are positions of bad events. Every
// writer may append to it.
const IntegrityAggregate = "integrity"

// IntegrityID is the integrity aggregate id of the event at position seq.
func IntegrityID(seq uint64) string { return strconv.FormatUint(seq, 10) }

// TamperError reports an event that fails verification: its content does
// not match its hash, it does not link to its aggregate's previous event, or
// it is not signed by a trusted key allowed to write its aggregate. It is a
// failed precondition (AGGREGATE_TAMPERED) for the aggregate's commands and
// reads until an administrator acknowledges it.
type TamperError struct {
	Seq       uint64
	Subject   string
	Aggregate string
	ID        string
	Reason    string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("%s %s: the event at position %d fails verification: %s", e.Aggregate, e.ID, e.Seq, e.Reason)
}

// Unwrap is the refusal clients see.
func (e *TamperError) Unwrap() error {
	return &errs.PreconditionError{
		Reason: errorsv1.ErrorReason_ERROR_REASON_AGGREGATE_TAMPERED,
		Reasons: []string{fmt.Sprintf("%s %s cannot be used: the event at position %d fails verification (%s); "+
			"an administrator must investigate and acknowledge it (floe integrity ack %d --reason ...)", e.Aggregate, e.ID, e.Seq, e.Reason, e.Seq)},
		Kinds:    []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_AGGREGATE_TAMPERED},
		Metadata: map[string]string{"position": strconv.FormatUint(e.Seq, 10), "aggregate": e.Aggregate, "id": e.ID},
	}
}

func tamper(e *RecordedEvent, format string, args ...any) *TamperError {
	return &TamperError{Seq: e.Seq, Subject: e.Subject, Aggregate: e.Aggregate, ID: e.AggregateID, Reason: fmt.Sprintf(format, args...)}
}

// Verifier checks events read from the log before anything uses them, and
// remembers what it has checked so a process verifies each event once. One
// Verifier serves a whole process.
type Verifier struct {
	trust  *TrustStore
	js     jetstream.JetStream
	stream string

	mu      sync.Mutex
	st      jetstream.Stream
	good    map[uint64]string // position → hash of events whose content verified
	older   map[uint64]string // the previous generation of good (bounded memory)
	acked   map[uint64]bool
	alarmed map[uint64]bool
	chains  map[string]Link      // aggregate → last event verified in its chain (bounded: cleared when full)
	own     map[string]*ownEvent // hash → events this process signed (two generations)
	ownOld  map[string]*ownEvent
	alarm   func(*TamperError)
	// direct reads the events a chain misses (ReadDirect; a test puts a
	// replica that is behind in its place).
	direct reader
}

// verifiedGeneration bounds the memory of verified positions: two
// generations of this many entries.
const verifiedGeneration = 1 << 17

// NewVerifier returns a verifier of the events of stream against trust.
func NewVerifier(js jetstream.JetStream, stream string, trust *TrustStore) *Verifier {
	if stream == "" {
		stream = DefaultStream
	}
	return &Verifier{trust: trust, js: js, stream: stream, good: map[uint64]string{}, own: map[string]*ownEvent{}, acked: map[uint64]bool{}, alarmed: map[uint64]bool{}, chains: map[string]Link{}, direct: ReadDirect}
}

// Trust is the verifier's trust store.
func (v *Verifier) Trust() *TrustStore { return v.trust }

// OnTamper sets what happens, once per bad event, when one is found (the
// service reports it as a TamperDetected event and a metric). fn must not block.
func (v *Verifier) OnTamper(fn func(*TamperError)) {
	v.mu.Lock()
	v.alarm = fn
	v.mu.Unlock()
}

// Tampered raises the alarm for te (once per position).
func (v *Verifier) Tampered(te *TamperError) {
	v.mu.Lock()
	first := !v.alarmed[te.Seq]
	v.alarmed[te.Seq] = true
	fn := v.alarm
	v.mu.Unlock()
	if first && fn != nil {
		fn(te)
	}
}

// Content checks one event on its own: its hash is the hash of its content,
// and a trusted key allowed to write its aggregate signed it as its writer.
// Events this process built itself (not read from the log) pass.
func (v *Verifier) Content(e *RecordedEvent) *TamperError {
	if e.header == nil {
		return nil
	}
	v.mu.Lock()
	h, ok := v.good[e.Seq]
	if !ok {
		h, ok = v.older[e.Seq]
	}
	v.mu.Unlock()
	if ok && h == e.Hash {
		return nil
	}
	if got := ComputeHash(e.Subject, e.header, e.Data); got != e.Hash {
		return tamper(e, "its content does not match its floe-hash")
	}
	var reason string
	if v.ownOf(e) != nil {
		// Signed by this process: the signature is known to be right, the
		// trust store must still let the key write the event.
		_, reason = v.trust.checkKey(e)
	} else {
		reason = v.trust.checkSignature(e)
	}
	if reason != "" {
		return tamper(e, "%s", reason)
	}
	v.mu.Lock()
	if len(v.good) >= verifiedGeneration {
		v.older, v.good = v.good, make(map[uint64]string, verifiedGeneration)
	}
	v.good[e.Seq] = e.Hash
	v.mu.Unlock()
	return nil
}

// ownEvent is an event this process signed for an append: its signature
// and, once the server stored it, its position (0 if it did not).
type ownEvent struct {
	sig  string
	seq  uint64
	done chan struct{} // closed when the append's outcome is known
}

// ownGeneration bounds the memory of events this process signed: two
// generations of this many (readers normally see them within milliseconds).
const ownGeneration = 1 << 13

// signing records that this process is about to append an event with this
// hash and signature, built on a head it verified. Until the append
// completes (settle) readers that meet the event wait for its outcome.
func (v *Verifier) signing(hash, sig string) *ownEvent {
	o := &ownEvent{sig: sig, done: make(chan struct{})}
	v.mu.Lock()
	if len(v.own) >= ownGeneration {
		v.ownOld, v.own = v.own, make(map[string]*ownEvent, ownGeneration)
	}
	v.own[hash] = o
	v.mu.Unlock()
	return o
}

// settle records the positions the server stored own events at (nil: the
// outcome is unknown) and releases the readers waiting for them.
func settle(own []*ownEvent, res *AppendResult) {
	for i, o := range own {
		if o == nil {
			continue
		}
		if res != nil {
			o.seq = res.FirstSeq + uint64(i)
		}
		close(o.done)
	}
}

// ownOf is the record of e if this process signed it (same hash, same
// signature).
func (v *Verifier) ownOf(e *RecordedEvent) *ownEvent {
	if e.Signature == "" {
		return nil
	}
	v.mu.Lock()
	o, ok := v.own[e.Hash]
	if !ok {
		o = v.ownOld[e.Hash]
	}
	v.mu.Unlock()
	if o == nil || o.sig != e.Signature {
		return nil
	}
	return o
}

// appendedHere reports whether e is at the position where this process
// appended it — the server then checked that it follows the head this
// process had verified — or is the verified end of its aggregate's chain.
// Either way what came before it was checked. A copy of an event of this
// process republished elsewhere in the log is neither.
func (v *Verifier) appendedHere(ctx context.Context, e *RecordedEvent) bool {
	if o := v.ownOf(e); o != nil {
		select {
		case <-o.done:
			if o.seq == e.Seq {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
	return v.Known(e)
}

// noteChain records that aggregate id's verified chain ends at l.
func (v *Verifier) noteChain(aggregate, id string, l Link) {
	v.mu.Lock()
	if len(v.chains) >= verifiedGeneration {
		clear(v.chains)
	}
	v.chains[aggregate+"."+id] = l
	v.mu.Unlock()
}

// Known reports whether e is the last event of its aggregate's chain as this
// process verified it.
func (v *Verifier) Known(e *RecordedEvent) bool {
	v.mu.Lock()
	l, ok := v.chains[e.Aggregate+"."+e.AggregateID]
	v.mu.Unlock()
	return ok && l.Seq == e.Seq && l.Hash == e.Hash
}

// prefetch checks the content of events on every core (a load's first
// pass): the outcomes are remembered for Verify, which walks the chain.
func (v *Verifier) prefetch(events []*RecordedEvent) {
	workers := runtime.GOMAXPROCS(0)
	if len(events) < 16 || workers < 2 {
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(events); i = int(next.Add(1)) - 1 {
				v.Content(events[i])
			}
		}()
	}
	wg.Wait()
}

// Acknowledged reports whether an administrator acknowledged the bad event
// at seq (a verified TamperAcknowledged on its integrity aggregate).
func (v *Verifier) Acknowledged(ctx context.Context, seq uint64) (bool, error) {
	v.mu.Lock()
	ok := v.acked[seq]
	v.mu.Unlock()
	if ok {
		return true, nil
	}
	st, err := v.logStream(ctx)
	if err != nil {
		return false, &errs.UnavailableError{What: "event log", Err: err}
	}
	msg, err := st.GetLastMsgForSubject(ctx, SubjectPrefix+IntegrityAggregate+"."+IntegrityID(seq)+".TamperAcknowledged")
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, &errs.UnavailableError{What: "event log", Err: err}
	}
	e, err := Decode(msg.Sequence, msg.Subject, msg.Header, msg.Data)
	if err != nil {
		return false, nil // not an acknowledgement anyone could have written
	}
	if te := v.Content(e); te != nil {
		v.Tampered(te) // a forged acknowledgement is tampering too
		return false, nil
	}
	v.mu.Lock()
	v.acked[seq] = true
	v.mu.Unlock()
	return true, nil
}

func (v *Verifier) logStream(ctx context.Context) (jetstream.Stream, error) {
	v.mu.Lock()
	st := v.st
	v.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := v.js.Stream(ctx, v.stream)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.st = st
	v.mu.Unlock()
	return st, nil
}

// Verify checks e against the previous event of its aggregate, prev (the
// zero Link for its first event): nil to use it; skip=true for a bad event
// an administrator acknowledged; otherwise a *TamperError (the alarm is
// raised) or the error of reading the log.
func (v *Verifier) Verify(ctx context.Context, prev Link, e *RecordedEvent) (skip bool, err error) {
	te := v.Content(e)
	if te == nil {
		te = prev.Check(e)
	}
	if te == nil {
		return false, nil
	}
	acked, err := v.Acknowledged(ctx, e.Seq)
	if err != nil {
		return false, err
	}
	if acked {
		return true, nil
	}
	v.Tampered(te)
	return false, te
}

// Link is an aggregate's last verified event: what its next event must follow.
type Link struct {
	Version Version
	Seq     uint64
	Hash    string
}

// LinkOf is the link e leaves.
func LinkOf(e *RecordedEvent) Link { return Link{Version: e.Version, Seq: e.Seq, Hash: e.Hash} }

// Check reports whether e follows l (nil) or not.
func (l Link) Check(e *RecordedEvent) *TamperError {
	prevHash := l.Hash
	if prevHash == "" {
		prevHash = GenesisHash
	}
	if e.Version != l.Version+1 || e.PrevHash != prevHash || (l.Seq != 0 && e.Seq <= l.Seq) {
		return tamper(e, "it does not follow its aggregate's previous event (version %d, hash %.12s…): it claims version %d after %.12s…",
			l.Version, prevHash, e.Version, e.PrevHash)
	}
	return nil
}

// Malformed is the verdict on a message on an event subject that is not an
// event at all (Decode failed): nil to skip it (acknowledged), or the
// *TamperError (the alarm is raised).
func (v *Verifier) Malformed(ctx context.Context, seq uint64, subject string, decodeErr error) error {
	agg, id, _, _ := ParseSubject(subject)
	te := &TamperError{Seq: seq, Subject: subject, Aggregate: agg, ID: id, Reason: "it is not a well-formed Floe event: " + decodeErr.Error()}
	acked, err := v.Acknowledged(ctx, seq)
	if err != nil {
		return err
	}
	if acked {
		return nil
	}
	v.Tampered(te)
	return te
}

// Before is the link of the last good event before e of its aggregate, read
// from the log and verified. Bad events are passed over (and reported,
// unless acknowledged): the link is the last good one.
func (v *Verifier) Before(ctx context.Context, e *RecordedEvent) (Link, error) {
	return v.advance(ctx, e.Aggregate, e.AggregateID, Link{}, e)
}

// advance verifies the events of e's aggregate after l and before e, and
// returns the link of the last good one (l when there are none). They are
// read with direct gets, which any replica of the stream may answer — and
// a replica may be behind the leader, holding only a prefix of the log:
// when what it returned does not reach e, the events are read again from
// the stream's leader before anyone calls the gap tampering.
func (v *Verifier) advance(ctx context.Context, aggregate, id string, l Link, e *RecordedEvent) (Link, error) {
	got, err := v.advanceWith(ctx, v.direct, aggregate, id, l, e.Seq)
	if err != nil || got.Version+1 == e.Version {
		return got, err
	}
	return v.advanceWith(ctx, ReadLeader, aggregate, id, l, e.Seq)
}

// reader reads a stream's events matching filter between two positions.
type reader func(ctx context.Context, js jetstream.JetStream, stream, filter string, seq, upTo uint64, fn func(*RecordedEvent) (bool, error)) error

func (v *Verifier) advanceWith(ctx context.Context, read reader, aggregate, id string, l Link, seq uint64) (Link, error) {
	if seq <= l.Seq+1 {
		return l, nil
	}
	err := read(ctx, v.js, v.stream, AggregateSubject(aggregate, id), l.Seq+1, seq-1, func(e *RecordedEvent) (bool, error) {
		skip, err := v.Verify(ctx, l, e)
		var te *TamperError
		switch {
		case errors.As(err, &te):
		case err != nil:
			return false, err
		case !skip:
			l = LinkOf(e)
		}
		return true, nil
	})
	return l, err
}

// Chains verifies a stream of events in log order, as a subscription or a
// view receives them: each event's content, and its link to the previous
// event of its aggregate (remembered, or read from the log the first time
// an aggregate is seen).
type Chains struct {
	v     *Verifier
	mu    sync.Mutex
	links map[string]Link
	max   int
}

// Chains returns a chain tracker remembering at most max aggregates (the
// others are read again from the log when they next appear).
func (v *Verifier) Chains(max int) *Chains {
	if max <= 0 {
		max = 100_000
	}
	return &Chains{v: v, links: map[string]Link{}, max: max}
}

// Check verifies e: use=true to apply it; use=false with a nil error for an
// acknowledged bad event (skip it) or one already checked; a *TamperError
// for a bad event (not to be applied; the alarm is raised); any other error
// means the log could not be read (retry).
func (c *Chains) Check(ctx context.Context, e *RecordedEvent) (use bool, err error) {
	key := e.Aggregate + "." + e.AggregateID
	c.mu.Lock()
	l, ok := c.links[key]
	c.mu.Unlock()
	if ok && e.Seq <= l.Seq {
		if e.Seq == l.Seq && e.Hash == l.Hash {
			return true, nil // delivered again
		}
		ok = false // an older event: the reader went back; ask the log
	}
	switch {
	case !ok && c.v.appendedHere(ctx, e):
		l = Link{Version: e.Version - 1, Hash: e.PrevHash}
	case !ok:
		l = Link{}
		fallthrough
	case e.Version != l.Version+1:
		// Events in between that this reader does not receive (its filter
		// names some event types only), or an aggregate it has not seen:
		// verify the ones it missed, from the log.
		if l, err = c.v.advance(ctx, e.Aggregate, e.AggregateID, l, e); err != nil {
			return false, err
		}
	}
	skip, err := c.v.Verify(ctx, l, e)
	if err != nil || skip {
		return false, err
	}
	c.mu.Lock()
	if len(c.links) >= c.max {
		for k := range c.links { // drop about a quarter, arbitrarily
			delete(c.links, k)
			if len(c.links) < c.max*3/4 {
				break
			}
		}
	}
	c.links[key] = LinkOf(e)
	c.mu.Unlock()
	c.v.noteChain(e.Aggregate, e.AggregateID, LinkOf(e))
	return true, nil
}

// Forget drops what c remembers (a reader starting over).
func (c *Chains) Forget() {
	c.mu.Lock()
	clear(c.links)
	c.mu.Unlock()
}
