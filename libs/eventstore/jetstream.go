package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/penguinmails/floe/libs/errs"
)

// DefaultStream is the name of the event log stream.
const DefaultStream = "FLOE_EVENTS"

// errCodeWrongLastSequence is JetStream's "wrong last sequence" (a failed expected-sequence check).
const errCodeWrongLastSequence = 10071

// Options configure a JetStreamStore.
type Options struct {
	// Stream is the stream name; DefaultStream when empty.
	Stream string
	// Source is the ce-source of events this process writes, e.g. "floe/release".
	Source string
	// Aggregates are the aggregate names this store accepts (e.g. "release").
	// Appending to or loading any other name is an InvalidArgument error, which
	// catches typos before they become subjects nobody reads.
	Aggregates []string
	// Replicas for a newly created stream (1 embedded; 3 or 5 in production).
	Replicas int
	// Clock stamps ce-time; time.Now when nil.
	Clock func() time.Time
	// HeadCacheSize bounds the cache of aggregate heads (last version, position
	// and hash) that saves a read before each append. Default 10,000.
	HeadCacheSize int
	// Signer signs every appended event (floe-key, floe-sig); its writer must
	// be Source. Without one, events are unsigned and no verifying reader
	// accepts them (tests and tools only).
	Signer *Signer
	// Verifier checks every event Load and Head read before it is used
	// (content, link, signature); a bad event is a *TamperError unless an
	// administrator acknowledged it, in which case it is skipped. Without
	// one, only the links are checked (a *ChainError).
	Verifier *Verifier
}

// JetStreamStore is the Store on a NATS JetStream stream.
type JetStreamStore struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	opts   Options

	mu    sync.Mutex
	heads map[string]head
}

// head is what an append needs to know about an aggregate's last event.
type head struct {
	version Version
	seq     uint64
	hash    string
	// lastIDs/lastFrom remember the most recent append through this store, so
	// an immediate retry of it is recognised without reading the log.
	lastFrom Version
	lastIDs  []string
	lastRes  AppendResult
}

var _ Store = (*JetStreamStore)(nil)

// Open ensures the stream exists with an immutable configuration (see
// EnsureStream) and returns a store on it.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*JetStreamStore, error) {
	if opts.Stream == "" {
		opts.Stream = DefaultStream
	}
	if opts.Source == "" {
		opts.Source = "floe"
	}
	if opts.Signer != nil && opts.Signer.Writer() != opts.Source {
		return nil, fmt.Errorf("eventstore: the signer writes as %q, not as the store's source %q", opts.Signer.Writer(), opts.Source)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.HeadCacheSize <= 0 {
		opts.HeadCacheSize = 10_000
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if len(opts.Aggregates) == 0 {
		return nil, errors.New("eventstore: Options.Aggregates is empty: name the aggregates this store writes and reads")
	}
	for _, a := range opts.Aggregates {
		if !ValidAggregateName(a) {
			return nil, fmt.Errorf("eventstore: aggregate name %q is not lower_snake_case of at most 32 characters", a)
		}
	}
	stream, err := EnsureStream(ctx, js, opts.Stream, opts.Replicas)
	if err != nil {
		return nil, err
	}
	return &JetStreamStore{js: js, stream: stream, opts: opts, heads: map[string]head{}}, nil
}

// StreamConfig is the configuration of the event log stream: file storage,
// no deletes, no purges, no rollups, no limits, no TTLs; atomic batches and
// direct gets on; a two-minute duplicate window.
func StreamConfig(name string, replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               name,
		Description:        "Floe event log: append-only, hash-chained; the compliance audit trail",
		Subjects:           []string{SubjectPrefix + ">"},
		Retention:          jetstream.LimitsPolicy,
		MaxConsumers:       -1,
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxAge:             0,
		MaxMsgsPerSubject:  -1,
		MaxMsgSize:         -1,
		Discard:            jetstream.DiscardNew,
		Storage:            jetstream.FileStorage,
		Replicas:           replicas,
		Duplicates:         2 * time.Minute,
		DenyDelete:         true,
		DenyPurge:          true,
		AllowRollup:        false,
		AllowDirect:        true,
		AllowAtomicPublish: true,
	}
}

// WeakStreamError reports a stream whose configuration would let events be
// removed or rewritten. The store refuses to run on it.
type WeakStreamError struct {
	Stream   string
	Problems []string
}

func (e *WeakStreamError) Error() string {
	return fmt.Sprintf("stream %s does not protect the event log: %s", e.Stream, strings.Join(e.Problems, "; "))
}

// EnsureStream creates the stream if it does not exist, and otherwise checks
// that its configuration keeps the log immutable, returning a
// *WeakStreamError listing every problem if not. It never weakens or
// "repairs" an existing stream: that is an operator's decision.
func EnsureStream(ctx context.Context, js jetstream.JetStream, name string, replicas int) (jetstream.Stream, error) {
	stream, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = js.CreateStream(ctx, StreamConfig(name, replicas))
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("create stream %s: %w", name, err)
		}
		if err != nil {
			stream, err = js.Stream(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	if err := CheckStreamConfig(stream.CachedInfo().Config); err != nil {
		return nil, err
	}
	return stream, nil
}

// CheckStreamConfig returns a *WeakStreamError when cfg lets events be lost.
func CheckStreamConfig(cfg jetstream.StreamConfig) error {
	var p []string
	if !cfg.DenyDelete {
		p = append(p, "message deletes are allowed (deny_delete is off)")
	}
	if !cfg.DenyPurge {
		p = append(p, "purges are allowed (deny_purge is off)")
	}
	if cfg.AllowRollup {
		p = append(p, "rollups are allowed (allow_rollup_hdrs is on)")
	}
	if cfg.Retention != jetstream.LimitsPolicy {
		p = append(p, fmt.Sprintf("retention is %s, which removes acknowledged messages (must be limits with no limits)", cfg.Retention))
	}
	if cfg.MaxAge > 0 {
		p = append(p, fmt.Sprintf("max_age is %s: old events would expire", cfg.MaxAge))
	}
	if cfg.MaxMsgs > 0 {
		p = append(p, fmt.Sprintf("max_msgs is %d: old events would be dropped", cfg.MaxMsgs))
	}
	if cfg.MaxBytes > 0 {
		p = append(p, fmt.Sprintf("max_bytes is %d: old events would be dropped", cfg.MaxBytes))
	}
	if cfg.MaxMsgsPerSubject > 0 {
		p = append(p, fmt.Sprintf("max_msgs_per_subject is %d: events would be dropped", cfg.MaxMsgsPerSubject))
	}
	if cfg.AllowMsgTTL {
		p = append(p, "per-message TTLs are allowed (allow_msg_ttl is on)")
	}
	if cfg.SubjectDeleteMarkerTTL > 0 {
		p = append(p, "subject delete markers are on")
	}
	if cfg.Storage != jetstream.FileStorage {
		p = append(p, "storage is not file storage: events would not survive a restart")
	}
	if cfg.Mirror != nil || len(cfg.Sources) > 0 {
		p = append(p, "the stream is a mirror or sources other streams")
	}
	if cfg.Sealed {
		p = append(p, "the stream is sealed: nothing can be appended")
	}
	if !cfg.AllowAtomicPublish {
		p = append(p, "atomic batch publish is off (allow_atomic is required for multi-event appends)")
	}
	if !slices.Contains(cfg.Subjects, SubjectPrefix+">") {
		p = append(p, fmt.Sprintf("subjects are %v, not [%s>]", cfg.Subjects, SubjectPrefix))
	}
	if len(p) == 0 {
		return nil
	}
	return &WeakStreamError{Stream: cfg.Name, Problems: p}
}

// CheckStream re-reads the stream's configuration from the server and checks
// it; services run it as a readiness check so a weakening update made behind
// their back is noticed.
func (s *JetStreamStore) CheckStream(ctx context.Context) error {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", s.opts.Stream, err)
	}
	return CheckStreamConfig(info.Config)
}

// StreamName is the name of the stream the store writes to.
func (s *JetStreamStore) StreamName() string { return s.opts.Stream }

func (s *JetStreamStore) checkTarget(aggregate, id string) error {
	var v errs.Violations
	if !slices.Contains(s.opts.Aggregates, aggregate) {
		v.Add("aggregate", "unknown aggregate %q (this store handles %s)", aggregate, strings.Join(s.opts.Aggregates, ", "))
	}
	if !ValidID(id) {
		v.Add("id", "%q is not a valid aggregate id: 1-64 letters, digits, '-' or '_'", id)
	}
	return v.Err()
}

type encoded struct {
	msg  *nats.Msg
	id   string
	hash string
	ev   *RecordedEvent
}

// encode builds the messages of an append, chaining hashes from h.
func (s *JetStreamStore) encode(aggregate, id string, h head, meta Meta, events []Event) ([]encoded, error) {
	var v errs.Violations
	if meta.Actor == "" {
		v.Add("actor", "every event needs an actor (eventstore.Meta.Actor)")
	}
	for _, f := range []struct{ name, value string }{
		{"actor", meta.Actor}, {"correlation_id", meta.CorrelationID}, {"causation_id", meta.CausationID},
		{"traceparent", meta.TraceParent}, {"tracestate", meta.TraceState},
	} {
		if len(f.value) > 512 || strings.ContainsAny(f.value, "\r\n") {
			v.Add("meta."+f.name, "must be at most 512 characters without line breaks")
		}
	}
	if len(events) == 0 {
		v.Add("events", "at least one event is required")
	}
	if len(events) > MaxBatch {
		v.Add("events", "%d events in one append; the limit is %d", len(events), MaxBatch)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	at := s.opts.Clock().UTC()
	now := at.Format(time.RFC3339Nano)
	out := make([]encoded, 0, len(events))
	prev := h.hash
	for i, ev := range events {
		field := "events[" + strconv.Itoa(i) + "]"
		if ev.Message == nil {
			v.Add(field+".message", "is nil")
			continue
		}
		desc := ev.Message.ProtoReflect().Descriptor()
		if declared := AggregateOf(ev.Message); declared != "" && declared != aggregate {
			v.Add(field+".message", "%s is an event of the %s aggregate, not of %s", desc.FullName(), declared, aggregate)
			continue
		}
		body, err := protojson.Marshal(ev.Message)
		if err != nil {
			v.Add(field+".message", "cannot be encoded: %v", err)
			continue
		}
		if len(body) > MaxEventBytes {
			return nil, &errs.TooLargeError{Field: field, Size: len(body), Limit: MaxEventBytes}
		}
		evID := ev.ID
		if evID == "" {
			u, err := uuid.NewV7()
			if err != nil {
				return nil, fmt.Errorf("event id: %w", err)
			}
			evID = u.String()
		} else if len(evID) > 128 || strings.ContainsAny(evID, "\r\n") {
			v.Add(field+".id", "must be at most 128 characters without line breaks")
			continue
		}
		hd := make(nats.Header, 18)
		msg := &nats.Msg{Subject: SubjectPrefix + aggregate + "." + id + "." + string(desc.Name()), Header: hd}
		hd.Set(HdrSpecVersion, specVersion)
		hd.Set(HdrID, evID)
		hd.Set(HdrSource, s.opts.Source)
		hd.Set(HdrType, string(desc.FullName()))
		hd.Set(HdrSubject, id)
		hd.Set(HdrTime, now)
		hd.Set(HdrContentType, contentTypeJSON)
		hd.Set(HdrActor, meta.Actor)
		if meta.CorrelationID != "" {
			hd.Set(HdrCorrelationID, meta.CorrelationID)
		}
		if meta.CausationID != "" {
			hd.Set(HdrCausationID, meta.CausationID)
		}
		if meta.TraceParent != "" {
			hd.Set(HdrTraceParent, meta.TraceParent)
			if meta.TraceState != "" {
				hd.Set(HdrTraceState, meta.TraceState)
			}
		}
		version := h.version + Version(i) + 1
		hd.Set(HdrVersion, strconv.FormatUint(uint64(version), 10))
		hd.Set(HdrPrevHash, prev)
		hash := ComputeHash(msg.Subject, hd, body)
		hd.Set(HdrHash, hash)
		var keyID, sig string
		if s.opts.Signer != nil {
			keyID, sig = s.opts.Signer.KeyID(), s.opts.Signer.Sign(hash)
			hd.Set(HdrKeyID, keyID)
			hd.Set(HdrSignature, sig)
		}
		msg.Data = body
		out = append(out, encoded{msg: msg, id: evID, hash: hash, ev: &RecordedEvent{
			Subject: msg.Subject, Aggregate: aggregate, AggregateID: id, Name: string(desc.Name()), Type: string(desc.FullName()),
			ID: evID, Source: s.opts.Source, Version: version, Time: at, Actor: meta.Actor,
			CorrelationID: meta.CorrelationID, CausationID: meta.CausationID, TraceParent: meta.TraceParent,
			PrevHash: prev, Hash: hash, KeyID: keyID, Signature: sig, Data: body,
		}})
		prev = hash
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	// The server enforces the expected version: the aggregate's last event must
	// still be the one at h.seq (0: it has none).
	first := out[0].msg.Header
	first.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(h.seq, 10))
	first.Set("Nats-Expected-Last-Subject-Sequence-Subject", AggregateSubject(aggregate, id))
	return out, nil
}

// Append implements Store.
func (s *JetStreamStore) Append(ctx context.Context, aggregate, id string, expected Version, meta Meta, events ...Event) (*AppendResult, error) {
	if err := s.checkTarget(aggregate, id); err != nil {
		return nil, err
	}
	h, err := s.headFor(ctx, aggregate, id, expected)
	if err != nil {
		return nil, err
	}
	if h.version != expected {
		return s.conflict(ctx, aggregate, id, expected, h, events)
	}
	enc, err := s.encode(aggregate, id, h, meta, events)
	if err != nil {
		return nil, err
	}
	var stored *AppendResult // what the server stored, for the verifier
	if s.opts.Verifier != nil && s.opts.Signer != nil {
		own := make([]*ownEvent, len(enc))
		for i, e := range enc {
			own[i] = s.opts.Verifier.signing(e.hash, e.ev.Signature)
		}
		defer func() { settle(own, stored) }()
	}
	lastSeq, err := s.publish(ctx, enc)
	switch {
	case err == nil:
	case IsWrongLastSequence(err):
		s.forget(aggregate, id)
		fresh, herr := s.serverHead(ctx, aggregate, id)
		if herr != nil {
			return nil, herr
		}
		return s.conflict(ctx, aggregate, id, expected, fresh, events)
	default:
		// The outcome is unknown (e.g. the ack was lost): look before reporting.
		s.forget(aggregate, id)
		if res, ok := s.alreadyStored(context.WithoutCancel(ctx), aggregate, id, expected, ids(enc)); ok {
			return res, nil // its readers verify it from the log
		}
		return nil, &errs.UnavailableError{What: "event log", Err: err}
	}
	res := &AppendResult{
		FirstSeq: lastSeq - uint64(len(enc)) + 1, LastSeq: lastSeq,
		Version: expected + Version(len(enc)), Hash: enc[len(enc)-1].hash,
	}
	for i, e := range enc {
		e.ev.Seq = res.FirstSeq + uint64(i)
		res.Events = append(res.Events, e.ev)
	}
	lastRes := *res
	lastRes.Events = nil
	s.remember(aggregate, id, head{version: res.Version, seq: res.LastSeq, hash: res.Hash, lastFrom: expected, lastIDs: ids(enc), lastRes: lastRes})
	if s.opts.Verifier != nil {
		s.opts.Verifier.noteChain(aggregate, id, Link{Version: res.Version, Seq: res.LastSeq, Hash: res.Hash})
	}
	stored = res
	return res, nil
}

func ids(enc []encoded) []string {
	out := make([]string, len(enc))
	for i, e := range enc {
		out[i] = e.id
	}
	return out
}

// conflict decides between an idempotent retry (the same event ids already
// stored at these versions) and a real concurrency conflict.
func (s *JetStreamStore) conflict(ctx context.Context, aggregate, id string, expected Version, h head, events []Event) (*AppendResult, error) {
	if h.version > expected && allHaveIDs(events) {
		want := make([]string, len(events))
		for i, e := range events {
			want[i] = e.ID
		}
		if h.lastFrom == expected && slices.Equal(h.lastIDs, want) {
			res := h.lastRes
			res.Duplicate = true
			return &res, nil
		}
		if res, ok := s.alreadyStored(ctx, aggregate, id, expected, want); ok {
			return res, nil
		}
	}
	if h.version == expected {
		return nil, &errs.ConflictError{Message: fmt.Sprintf("%s %s changed concurrently (its last message is now at position %d); reload and retry", aggregate, id, h.seq)}
	}
	return nil, &errs.ConflictError{Message: fmt.Sprintf("%s %s is at version %d, not the expected %d; reload and retry", aggregate, id, h.version, expected)}
}

func allHaveIDs(events []Event) bool {
	for _, e := range events {
		if e.ID == "" {
			return false
		}
	}
	return len(events) > 0
}

// alreadyStored reports whether the events with ids were stored at versions
// expected+1.. of the aggregate, and if so where.
func (s *JetStreamStore) alreadyStored(ctx context.Context, aggregate, id string, expected Version, want []string) (*AppendResult, bool) {
	var got []*RecordedEvent
	err := s.readSubject(ctx, AggregateSubject(aggregate, id), 1, func(e *RecordedEvent) (bool, error) {
		if e.Version > expected {
			got = append(got, e)
		}
		return e.Version < expected+Version(len(want)), nil
	})
	if err != nil || len(got) < len(want) {
		return nil, false
	}
	for i, w := range want {
		if got[i].ID != w {
			return nil, false
		}
	}
	last := got[len(want)-1]
	return &AppendResult{FirstSeq: got[0].Seq, LastSeq: last.Seq, Version: last.Version, Hash: last.Hash, Duplicate: true}, true
}

func (s *JetStreamStore) publish(ctx context.Context, enc []encoded) (uint64, error) {
	if len(enc) == 1 {
		ack, err := s.js.PublishMsg(ctx, enc[0].msg)
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	}
	msgs := make([]*nats.Msg, len(enc))
	for i := range enc {
		msgs[i] = enc[i].msg
	}
	// No ack of the first message: a stale expectation fails the commit all
	// the same, and the happy path saves a round trip. (On an R1 file stream
	// the server stages every atomic batch in a temporary fsynced store, which
	// costs a few milliseconds per multi-event append; see docs/performance.md.)
	ack, err := jetstreamext.PublishMsgBatch(ctx, s.js, msgs, jetstreamext.BatchFlowControl{AckFirst: false})
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// IsWrongLastSequence reports whether err is JetStream's refusal of an
// expected-last-sequence check (err_code 10071): someone else wrote first.
func IsWrongLastSequence(err error) bool {
	var jsErr jetstream.JetStreamError
	if errors.As(err, &jsErr) && jsErr.APIError() != nil {
		return jsErr.APIError().ErrorCode == errCodeWrongLastSequence
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeWrongLastSequence
}

func cacheKey(aggregate, id string) string { return aggregate + "." + id }

func (s *JetStreamStore) remember(aggregate, id string, h head) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.heads) >= s.opts.HeadCacheSize {
		clear(s.heads) // crude but bounded; heads are re-read on demand
	}
	s.heads[cacheKey(aggregate, id)] = h
}

func (s *JetStreamStore) forget(aggregate, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.heads, cacheKey(aggregate, id))
}

// headFor returns the aggregate's head, from the cache when it can answer
// for expected, else from the server. The cache is only ever behind the
// server (it records acknowledged appends), so a cached version above
// expected proves a conflict, and one below it means the cache is stale.
func (s *JetStreamStore) headFor(ctx context.Context, aggregate, id string, expected Version) (head, error) {
	s.mu.Lock()
	h, ok := s.heads[cacheKey(aggregate, id)]
	s.mu.Unlock()
	if ok && h.version >= expected {
		return h, nil
	}
	if !ok && expected == NoStream {
		// A create: the server's expected-sequence check (0: the aggregate
		// has no events) proves it is new, so the lookup is not needed. If
		// the aggregate exists after all, Append sees a conflict and reads
		// the head then.
		return head{hash: GenesisHash}, nil
	}
	return s.serverHead(ctx, aggregate, id)
}

// tail is the last message on the aggregate's subjects, decoded (nil when
// there is none).
func (s *JetStreamStore) tail(ctx context.Context, aggregate, id string) (*RecordedEvent, error) {
	msg, err := s.stream.GetLastMsgForSubject(ctx, AggregateSubject(aggregate, id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, &errs.UnavailableError{What: "event log", Err: err}
	}
	return Decode(msg.Sequence, msg.Subject, msg.Header, msg.Data)
}

// serverHead is the head an append builds on. With a verifier, the last
// event counts only if this process verified it as the end of its chain;
// otherwise the history is read and verified (a forger's event at the tail
// must not become the previous event of a genuine one).
func (s *JetStreamStore) serverHead(ctx context.Context, aggregate, id string) (head, error) {
	e, err := s.tail(ctx, aggregate, id)
	if e == nil && err == nil {
		return head{hash: GenesisHash}, nil
	}
	var unavailable *errs.UnavailableError
	if errors.As(err, &unavailable) {
		return head{}, err
	}
	if err == nil && s.opts.Verifier != nil && !s.opts.Verifier.Known(e) {
		err = errors.New("not verified here yet")
	}
	if err != nil {
		// Not an event this store can build on: the verified history says
		// where the aggregate stands (or why it cannot be used).
		st, lerr := s.Load(ctx, aggregate, id, nil)
		if lerr != nil {
			return head{}, lerr
		}
		return head{version: st.Version, seq: st.HeadSeq, hash: st.Hash}, nil
	}
	h := head{version: e.Version, seq: e.Seq, hash: e.Hash}
	s.remember(aggregate, id, h)
	return h, nil
}

// Load implements Store. With a snapshot, it reads only the snapshot's own
// event (which must have the snapshot's version and hash) and the events after
// it, and checks that the first of them chains onto the snapshot's hash.
func (s *JetStreamStore) Load(ctx context.Context, aggregate, id string, after *Snapshot) (*Stream, error) {
	if err := s.checkTarget(aggregate, id); err != nil {
		return nil, err
	}
	st := &Stream{Aggregate: aggregate, ID: id, Hash: GenesisHash, Snapshot: after}
	from := uint64(1)
	// anchor is the position of the snapshot's own event, read first to check
	// that the snapshot describes the log. Without it a snapshot with no events
	// after it would go unchecked, and the next append would chain onto its hash.
	var anchor uint64
	if after != nil {
		st.Version, st.LastSeq, st.Hash, from = after.Version, after.Seq, after.Hash, after.Seq+1
		if after.Seq > 0 {
			from, anchor = after.Seq, after.Seq
		} else if after.Version != 0 || after.Hash != GenesisHash {
			return nil, &ChainError{Aggregate: aggregate, ID: id, Reason: fmt.Sprintf("snapshot at version %d names no log position", after.Version)}
		}
	}
	v := s.opts.Verifier
	// Read everything first, so that the costly part of verification (the
	// hash and the signature of each event) runs on every core; the chain is
	// then walked in order.
	type read struct {
		m   *jetstream.RawStreamMsg
		e   *RecordedEvent
		err error
	}
	var msgs []read
	err := ReadRaw(ctx, s.js, s.opts.Stream, AggregateSubject(aggregate, id), from, 0, func(m *jetstream.RawStreamMsg) (bool, error) {
		e, err := Decode(m.Sequence, m.Subject, m.Header, m.Data)
		msgs = append(msgs, read{m, e, err})
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if v != nil {
		events := make([]*RecordedEvent, 0, len(msgs))
		for _, r := range msgs {
			if r.e != nil {
				events = append(events, r.e)
			}
		}
		v.prefetch(events)
	}
	step := func(m *jetstream.RawStreamMsg, e *RecordedEvent, err error) (bool, error) {
		st.HeadSeq = m.Sequence
		if err != nil {
			if v == nil || anchor > 0 {
				return false, err
			}
			if err := v.Malformed(ctx, m.Sequence, m.Subject, err); err != nil {
				return false, err
			}
			return true, nil // acknowledged: skip it
		}
		if anchor > 0 {
			ok := e.Seq == anchor && e.Version == after.Version && e.Hash == after.Hash
			anchor = 0
			if !ok {
				return false, &ChainError{Seq: after.Seq, Aggregate: aggregate, ID: id, Reason: fmt.Sprintf(
					"the snapshot (version %d, hash %.12s…) is not the aggregate's event at that position", after.Version, after.Hash)}
			}
			return true, nil
		}
		if v != nil {
			skip, err := v.Verify(ctx, Link{Version: st.Version, Seq: st.LastSeq, Hash: st.Hash}, e)
			if err != nil || skip {
				return err == nil, err
			}
		} else if e.Version != st.Version+1 || e.PrevHash != st.Hash {
			return false, &ChainError{Seq: e.Seq, Aggregate: aggregate, ID: id, Reason: fmt.Sprintf(
				"event version %d with prev-hash %.12s… does not follow version %d with hash %.12s…", e.Version, e.PrevHash, st.Version, st.Hash)}
		}
		st.Events = append(st.Events, e)
		st.Version, st.LastSeq, st.Hash = e.Version, e.Seq, e.Hash
		return true, nil
	}
	for _, r := range msgs {
		more, serr := step(r.m, r.e, r.err)
		if serr != nil || !more {
			err = serr
			break
		}
	}
	if err == nil && anchor > 0 {
		err = &ChainError{Seq: after.Seq, Aggregate: aggregate, ID: id, Reason: fmt.Sprintf(
			"the snapshot's event (version %d) is not in the log", after.Version)}
	}
	if err != nil {
		return nil, err
	}
	st.HeadSeq = max(st.HeadSeq, st.LastSeq)
	s.remember(aggregate, id, head{version: st.Version, seq: st.HeadSeq, hash: st.Hash})
	if v != nil && st.LastSeq != 0 {
		v.noteChain(aggregate, id, Link{Version: st.Version, Seq: st.LastSeq, Hash: st.Hash})
	}
	return st, nil
}

// ChainError reports events that do not chain (a gap, a reordering, or a
// snapshot that does not match the log).
type ChainError struct {
	Seq       uint64
	Aggregate string
	ID        string
	Reason    string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("hash chain of %s %s broken at position %d: %s", e.Aggregate, e.ID, e.Seq, e.Reason)
}

// readBatch is the number of messages asked for per direct-get batch.
const readBatch = 512

// readSubject calls fn for each message on filter from seq on, in order,
// until fn returns false or the messages run out.
func (s *JetStreamStore) readSubject(ctx context.Context, filter string, seq uint64, fn func(*RecordedEvent) (bool, error)) error {
	return ReadDirect(ctx, s.js, s.opts.Stream, filter, seq, 0, fn)
}

// ReadDirect reads stream messages matching filter from seq through upTo
// (0 = to the end) with batched direct gets, decoding each as an event.
func ReadDirect(ctx context.Context, js jetstream.JetStream, stream, filter string, seq, upTo uint64, fn func(*RecordedEvent) (bool, error)) error {
	return ReadRaw(ctx, js, stream, filter, seq, upTo, func(m *jetstream.RawStreamMsg) (bool, error) {
		e, err := Decode(m.Sequence, m.Subject, m.Header, m.Data)
		if err != nil {
			return false, err
		}
		return fn(e)
	})
}

// ReadLeader is ReadDirect through the stream's leader: one request per
// message (the JetStream API's STREAM.MSG.GET, next_by_subj), slower than
// the batched direct gets any replica may answer, but never behind the
// log — for a reader that must tell a replica's lag from a gap.
func ReadLeader(ctx context.Context, js jetstream.JetStream, stream, filter string, seq, upTo uint64, fn func(*RecordedEvent) (bool, error)) error {
	prefix := js.Options().APIPrefix
	switch {
	case js.Options().Domain != "":
		prefix = "$JS." + js.Options().Domain + ".API."
	case prefix == "":
		prefix = jetstream.DefaultAPIPrefix
	}
	subject := prefix + "STREAM.MSG.GET." + stream
	for upTo == 0 || seq <= upTo {
		req, _ := json.Marshal(struct {
			Seq  uint64 `json:"seq"`
			Next string `json:"next_by_subj"`
		}{seq, filter})
		msg, err := js.Conn().RequestWithContext(ctx, subject, req)
		if err != nil {
			return &errs.UnavailableError{What: "event log", Err: err}
		}
		var resp struct {
			Error   *jetstream.APIError `json:"error"`
			Message *struct {
				Subject  string `json:"subject"`
				Sequence uint64 `json:"seq"`
				Header   []byte `json:"hdrs"`
				Data     []byte `json:"data"`
			} `json:"message"`
		}
		if err := json.Unmarshal(msg.Data, &resp); err != nil {
			return &errs.UnavailableError{What: "event log", Err: err}
		}
		if resp.Error != nil {
			if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
				return nil
			}
			return &errs.UnavailableError{What: "event log", Err: resp.Error}
		}
		m := resp.Message
		if m == nil || (upTo > 0 && m.Sequence > upTo) {
			return nil
		}
		var hdr nats.Header
		if len(m.Header) > 0 {
			if hdr, err = nats.DecodeHeadersMsg(m.Header); err != nil {
				return &errs.UnavailableError{What: "event log", Err: err}
			}
		}
		e, err := Decode(m.Sequence, m.Subject, hdr, m.Data)
		if err != nil {
			return err
		}
		if more, err := fn(e); err != nil || !more {
			return err
		}
		seq = m.Sequence + 1
	}
	return nil
}

// ReadRaw reads the raw stream messages matching filter from seq through
// upTo (0 = to the end) with batched direct gets, without decoding them.
func ReadRaw(ctx context.Context, js jetstream.JetStream, stream, filter string, seq, upTo uint64, fn func(*jetstream.RawStreamMsg) (bool, error)) error {
	for {
		it, err := jetstreamext.GetBatch(ctx, js, stream, readBatch, jetstreamext.GetBatchSubject(filter), jetstreamext.GetBatchSeq(seq))
		if err != nil {
			return &errs.UnavailableError{What: "event log", Err: err}
		}
		n, pending := 0, uint64(0)
		for m, err := range it {
			if errors.Is(err, jetstreamext.ErrNoMessages) {
				return nil
			}
			if err != nil {
				return &errs.UnavailableError{What: "event log", Err: err}
			}
			if upTo > 0 && m.Sequence > upTo {
				return nil
			}
			n++
			seq = m.Sequence + 1
			pending, _ = strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			more, err := fn(m)
			if err != nil || !more {
				return err
			}
		}
		if n == 0 || pending == 0 || (upTo > 0 && seq > upTo) {
			return nil
		}
	}
}

// ReadAll implements Store.
func (s *JetStreamStore) ReadAll(ctx context.Context, from uint64, fn func(*RecordedEvent) error) error {
	last, err := s.LastSeq(ctx)
	if err != nil || last == 0 {
		return err
	}
	if from == 0 {
		from = 1
	}
	return ReadDirect(ctx, s.js, s.opts.Stream, SubjectPrefix+">", from, last, func(e *RecordedEvent) (bool, error) {
		return true, fn(e)
	})
}

// Head implements Store: the version and position the aggregate's last
// message claims, unverified (Load verifies; an append builds on a verified
// head only).
func (s *JetStreamStore) Head(ctx context.Context, aggregate, id string) (Version, uint64, error) {
	if err := s.checkTarget(aggregate, id); err != nil {
		return 0, 0, err
	}
	e, err := s.tail(ctx, aggregate, id)
	var de *DecodeError
	if errors.As(err, &de) {
		h, err := s.serverHead(ctx, aggregate, id) // not an event: what does the verified history say?
		return h.version, h.seq, err
	}
	if e == nil || err != nil {
		return 0, 0, err
	}
	return e.Version, e.Seq, nil
}

// PositionAt is the position of the last event the log had stored at time
// t (0 when it held none then): the position a page shown "as of" t reads
// up to. The stream's own storage times decide, through an ephemeral
// ordered consumer starting at t.
func (s *JetStreamStore) PositionAt(ctx context.Context, t time.Time) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, &errs.UnavailableError{What: "event log", Err: err}
	}
	st := info.State
	switch {
	case st.LastSeq == 0 || st.FirstTime.After(t):
		return st.FirstSeq - min(st.FirstSeq, 1), nil
	case !st.LastTime.After(t):
		return st.LastSeq, nil
	}
	c, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t})
	if err != nil {
		return 0, &errs.UnavailableError{What: "event log", Err: err}
	}
	msg, err := c.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		return 0, &errs.UnavailableError{What: "event log", Err: fmt.Errorf("the first event after %s: %w", t.UTC().Format(time.RFC3339Nano), err)}
	}
	md, err := msg.Metadata()
	if err != nil {
		return 0, err
	}
	return md.Sequence.Stream - 1, nil
}

// LastSeq implements Store.
func (s *JetStreamStore) LastSeq(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, &errs.UnavailableError{What: "event log", Err: err}
	}
	return info.State.LastSeq, nil
}
