// Package eventstore is Floe's append-only, hash-chained event log: the
// source of every service's state and the compliance audit trail.
//
// Events live in one JetStream stream (FLOE_EVENTS) on subjects
// floe.evt.<aggregate>.<id>.<EventName>. An append names the aggregate's
// expected version and the server enforces it (optimistic concurrency,
// Nats-Expected-Last-Subject-Sequence scoped to the aggregate's subjects); a
// multi-event append is one atomic batch. Each event is a CloudEvents 1.0
// binary-mode message: ce-* headers, Floe's actor, correlation and causation
// ids, traceparent, the aggregate version, and floe-prev-hash/floe-hash, a
// SHA-256 chain per aggregate; the body is the protojson of a proto event
// message, so any NATS client with a JSON parser can read it.
//
// Store is the port; JetStreamStore is the implementation, and
// eventstoretest.Run is the conformance suite every implementation passes.
package eventstore

import (
	"context"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Version is an aggregate's version: the number of events it has. NoStream
// (0) is the expected version of an aggregate that does not exist yet.
type Version uint64

// NoStream is the expected version for creating an aggregate.
const NoStream Version = 0

// Limits on what an append may carry.
const (
	// MaxEventBytes bounds one event's body (its protojson).
	MaxEventBytes = 256 << 10
	// MaxBatch bounds the events of one append (the server's atomic batch limit is 1000).
	MaxBatch = 100
)

// Event is an event to append.
type Event struct {
	// ID is the CloudEvents id. Leave empty for a new UUIDv7; give a
	// deterministic id (derived from the command) to make retries of the same
	// command idempotent.
	ID string
	// Message is the event, a message from proto/floe/<domain>/v1/events.proto.
	// Its short name is the event name in the subject; its full name is ce-type.
	Message proto.Message
}

// Meta is who and what caused the events of an append. Every append states
// it explicitly; the command kernel builds it from the request's causal
// origin (see libs/causal) and trace context.
type Meta struct {
	// Actor is the principal id (never a secret). Required.
	Actor string
	// CorrelationID ties together everything one request caused: the request
	// id, carried unchanged by every event that follows from it.
	CorrelationID string
	// CausationID is the id of the request or event that directly caused these events.
	CausationID string
	// TraceParent and TraceState are the W3C trace context of the work that
	// appends (traceparent is covered by floe-hash, tracestate is not).
	TraceParent string
	TraceState  string
}

// RecordedEvent is an event as stored in the log.
type RecordedEvent struct {
	Seq           uint64    // global position in the log (stream sequence), from 1
	Subject       string    // floe.evt.<aggregate>.<id>.<Name>
	Aggregate     string    // e.g. "release"
	AggregateID   string    // e.g. a ULID
	Name          string    // short event name, e.g. "ReleaseApproved"
	Type          string    // full proto name, e.g. "floe.release.v1.ReleaseApproved"
	ID            string    // CloudEvents id
	Source        string    // the service that wrote it
	Version       Version   // aggregate version after this event
	Time          time.Time // when it was appended (ce-time)
	Actor         string
	CorrelationID string
	CausationID   string
	TraceParent   string
	PrevHash      string // hex; 64 zeros for an aggregate's first event
	Hash          string // hex SHA-256, see ComputeHash
	KeyID         string // the writer's key (floe-key)
	Signature     string // the writer's signature of Hash (floe-sig)
	Data          []byte // protojson body

	// header is the message's header as read from the log (nil for events
	// this process built), kept to recompute the hash when verifying.
	header map[string][]string
}

// Decode unmarshals the body into a new message of the event's type, looked
// up in the global proto registry (generated event packages register themselves).
func (e *RecordedEvent) Decode() (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(e.Type))
	if err != nil {
		return nil, &DecodeError{Seq: e.Seq, Type: e.Type, Err: err}
	}
	m := mt.New().Interface()
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(e.Data, m); err != nil {
		return nil, &DecodeError{Seq: e.Seq, Type: e.Type, Err: err}
	}
	return m, nil
}

// DecodeInto unmarshals the body into m, which must be of the event's type.
func (e *RecordedEvent) DecodeInto(m proto.Message) error {
	if got := string(m.ProtoReflect().Descriptor().FullName()); got != e.Type {
		return &DecodeError{Seq: e.Seq, Type: e.Type, Err: errTypeMismatch(got)}
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(e.Data, m); err != nil {
		return &DecodeError{Seq: e.Seq, Type: e.Type, Err: err}
	}
	return nil
}

// AppendResult says where an append landed.
type AppendResult struct {
	FirstSeq uint64  // global position of the first event
	LastSeq  uint64  // global position of the last event
	Version  Version // the aggregate's version after the append
	Hash     string  // floe-hash of the last event
	// Duplicate is true when these exact events (same ids at the same
	// versions) were already stored by an earlier attempt, and nothing new was written.
	Duplicate bool
	// Events are the events as stored (nil for a Duplicate): a writer folds
	// them into its state without reading them back.
	Events []*RecordedEvent
}

// Stream is an aggregate's events as loaded.
type Stream struct {
	Aggregate string
	ID        string
	// Snapshot is the snapshot the load started from, or nil.
	Snapshot *Snapshot
	// Events are the events after the snapshot (all events when there is none).
	Events []*RecordedEvent
	// Version is the aggregate's current version (0 when it does not exist).
	Version Version
	// LastSeq and Hash identify the aggregate's last event.
	LastSeq uint64
	Hash    string
	// HeadSeq is the position of the last message on the aggregate's
	// subjects: LastSeq, or later when acknowledged bad events follow it
	// (the next append must name it as the last position it expects).
	HeadSeq uint64
}

// Snapshot is an aggregate's state at a version, kept to shorten loads. It is
// a cache: never part of the audit trail, and it can be dropped at any time.
type Snapshot struct {
	Version Version `json:"version"`
	Seq     uint64  `json:"seq"`
	Hash    string  `json:"hash"`
	// Schema identifies the state's encoding; a snapshot whose schema differs
	// from the reader's is ignored.
	Schema string `json:"schema"`
	State  []byte `json:"state"`
	// MAC authenticates the snapshot as its writer's (see Snapshots.SignedBy).
	MAC []byte `json:"mac,omitempty"`
	// Revision is the KV revision it was read at (for compare-and-swap).
	Revision uint64 `json:"-"`
}

// Store is the event store port.
type Store interface {
	// Append stores events for one aggregate atomically if the aggregate is at
	// version expected, returning ErrConcurrency (errs.ConflictError) when it
	// is not. meta is stamped on every event; an actor is required.
	Append(ctx context.Context, aggregate, id string, expected Version, meta Meta, events ...Event) (*AppendResult, error)
	// Load returns an aggregate's events after the given snapshot version
	// (0 = all). An unknown aggregate id returns an empty Stream, not an error.
	Load(ctx context.Context, aggregate, id string, after *Snapshot) (*Stream, error)
	// ReadAll calls fn for every event from global position from (1 = start)
	// up to the end of the log as it was when ReadAll began, in order.
	ReadAll(ctx context.Context, from uint64, fn func(*RecordedEvent) error) error
	// LastSeq is the global position of the newest event (0 for an empty log).
	LastSeq(ctx context.Context) (uint64, error)
	// Head is an aggregate's version and the position of its last event,
	// read from the log now (0, 0 when it has none): one cheap read that
	// tells a cache whether it is current.
	Head(ctx context.Context, aggregate, id string) (Version, uint64, error)
	// PositionAt is the position of the last event stored at or before t (0: none).
	PositionAt(ctx context.Context, t time.Time) (uint64, error)
}
