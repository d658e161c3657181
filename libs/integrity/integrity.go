// Package integrity turns events that fail verification into a record and
// an alarm, and lets an administrator acknowledge them.
//
// Every reader of the log verifies what it reads (eventstore.Verifier); the
// first to find a bad event raises the process's alarm once. The Reporter
// answers it with a metric, an error log line and a TamperDetected event on
// the bad event's integrity aggregate (id: its position), appended only if
// none exists, so one bad event is recorded once however many processes
// find it. The Server (floe.integrity.v1.IntegrityService) lists them and
// appends TamperAcknowledged for an administrator; from then on readers skip
// the bad event and its aggregate works again.
package integrity

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	integrityv1 "github.com/penguinmails/floe/proto/gen/floe/integrity/v1"
)

// Permissions of the IntegrityService.
const (
	PermRead        auth.Permission = "integrity.read"
	PermAcknowledge auth.Permission = "integrity.acknowledge"
)

// record is one integrity aggregate: a bad event and what was done about it.
type record struct {
	Detected     *integrityv1.TamperDetected     `json:"-"`
	DetectedAt   time.Time                       `json:"-"`
	Acknowledged *integrityv1.TamperAcknowledged `json:"-"`
	AckedBy      string                          `json:"-"`
	AckedAt      time.Time                       `json:"-"`
}

func (r *record) apply(e *eventstore.RecordedEvent) error {
	m, err := e.Decode()
	if err != nil {
		return err
	}
	switch ev := m.(type) {
	case *integrityv1.TamperDetected:
		if r.Detected == nil {
			r.Detected, r.DetectedAt = ev, e.Time
		}
	case *integrityv1.TamperAcknowledged:
		if r.Acknowledged == nil {
			r.Acknowledged, r.AckedBy, r.AckedAt = ev, e.Actor, e.Time
		}
	}
	return nil
}

// kind is the integrity aggregate (no snapshots: two events at most).
var kind = kernel.Kind[*record]{
	Name:  eventstore.IntegrityAggregate,
	New:   func(string) *record { return &record{} },
	Apply: func(r *record, e *eventstore.RecordedEvent) (*record, error) { return r, r.apply(e) },
}

// Reporter records detected bad events (see the package documentation).
type Reporter struct {
	records *kernel.Handler[*record]
	writer  string
	log     zerolog.Logger
	found   *prometheus.CounterVec
	queue   chan *eventstore.TamperError
}

// NewReporter returns a reporter appending through store as writer
// ("floe/release"); its metric floe_tamper_detected_total{aggregate} is
// registered with reg.
func NewReporter(store eventstore.Store, writer string, reg prometheus.Registerer, log zerolog.Logger) (*Reporter, error) {
	h, err := kernel.New(store, kind, kernel.Options{CacheSize: 100})
	if err != nil {
		return nil, err
	}
	found := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "floe_tamper_detected_total",
		Help: "Events of the log this process found failing verification (hash, link or writer signature), by aggregate kind.",
	}, []string{"aggregate"})
	if reg != nil {
		if err := reg.Register(found); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			found = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &Reporter{records: h, writer: writer, log: log, found: found, queue: make(chan *eventstore.TamperError, 1024)}, nil
}

// Alarm is the verifier's alarm (eventstore.Verifier.OnTamper): it counts and
// logs the bad event at once and queues its record. It never blocks.
func (r *Reporter) Alarm(te *eventstore.TamperError) {
	r.found.WithLabelValues(te.Aggregate).Inc()
	r.log.Error().Uint64("position", te.Seq).Str("subject", te.Subject).Str("reason", te.Reason).
		Msg("TAMPERING: an event of the log fails verification; it is not used, and its aggregate is refused until an administrator acknowledges it")
	select {
	case r.queue <- te:
	default:
		r.log.Error().Uint64("position", te.Seq).Msg("tamper reports are backed up; this one is logged only")
	}
}

// Run appends the queued records until ctx ends.
func (r *Reporter) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case te := <-r.queue:
			backoff := 100 * time.Millisecond
			for {
				err := r.record(ctx, te)
				if err == nil || ctx.Err() != nil {
					break
				}
				r.log.Warn().Err(err).Uint64("position", te.Seq).Msg("recording a detected tampering failed; retrying")
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 10*time.Second)
			}
		}
	}
}

func (r *Reporter) record(ctx context.Context, te *eventstore.TamperError) error {
	ctx = causal.System(ctx, "integrity", "", "")
	_, err := r.records.Execute(ctx, kernel.Command[*record]{
		ID: eventstore.IntegrityID(te.Seq),
		Decide: func(rec *record) ([]proto.Message, error) {
			if rec.Detected != nil {
				return nil, nil // another reader recorded it first
			}
			return []proto.Message{&integrityv1.TamperDetected{
				Position: te.Seq, Subject: te.Subject, Aggregate: te.Aggregate, AggregateId: te.ID, Reason: te.Reason, DetectedBy: r.writer,
			}}, nil
		},
	})
	return err
}

// Server is the IntegrityService.
type Server struct {
	integrityv1.UnimplementedIntegrityServiceServer
	records  *kernel.Handler[*record]
	verifier *eventstore.Verifier
	js       jetstream.JetStream
	stream   string
}

// NewServer returns the IntegrityService on store (which appends
// acknowledgements) and verifier (which re-checks what is acknowledged).
func NewServer(store eventstore.Store, verifier *eventstore.Verifier, js jetstream.JetStream, stream string) (*Server, error) {
	h, err := kernel.New(store, kind, kernel.Options{CacheSize: 100})
	if err != nil {
		return nil, err
	}
	return &Server{records: h, verifier: verifier, js: js, stream: stream}, nil
}

// Rules are the service's authorization rules.
func Rules() auth.Rules {
	return auth.Rules{
		integrityv1.IntegrityService_ListTamperings_FullMethodName:       {Permission: PermRead},
		integrityv1.IntegrityService_AcknowledgeTampering_FullMethodName: {Permission: PermAcknowledge},
	}
}

// ListTamperings implements the RPC.
func (s *Server) ListTamperings(ctx context.Context, _ *integrityv1.ListTamperingsRequest) (*integrityv1.ListTamperingsResponse, error) {
	recs := map[string]*record{}
	err := eventstore.ReadDirect(ctx, s.js, s.stream, eventstore.SubjectPrefix+eventstore.IntegrityAggregate+".>", 1, 0, func(e *eventstore.RecordedEvent) (bool, error) {
		if te := s.verifier.Content(e); te != nil {
			s.verifier.Tampered(te) // a forged integrity record is itself tampering
			return true, nil
		}
		r := recs[e.AggregateID]
		if r == nil {
			r = &record{}
			recs[e.AggregateID] = r
		}
		return true, r.apply(e)
	})
	if err != nil {
		return nil, err
	}
	out := &integrityv1.ListTamperingsResponse{}
	for _, r := range recs {
		if t := toProto(r); t != nil {
			out.Tamperings = append(out.Tamperings, t)
		}
	}
	sort.Slice(out.Tamperings, func(i, j int) bool { return out.Tamperings[i].GetPosition() < out.Tamperings[j].GetPosition() })
	return out, nil
}

func toProto(r *record) *integrityv1.Tampering {
	if r.Detected == nil && r.Acknowledged == nil {
		return nil
	}
	t := &integrityv1.Tampering{}
	if d := r.Detected; d != nil {
		t.Position, t.Subject, t.Aggregate, t.AggregateId, t.Reason, t.DetectedBy = d.GetPosition(), d.GetSubject(), d.GetAggregate(), d.GetAggregateId(), d.GetReason(), d.GetDetectedBy()
		t.DetectedAt = timestamppb.New(r.DetectedAt)
	}
	if a := r.Acknowledged; a != nil {
		t.Position = a.GetPosition()
		t.Acknowledged, t.AcknowledgedBy, t.AcknowledgementReason = true, r.AckedBy, a.GetReason()
		t.AcknowledgedAt = timestamppb.New(r.AckedAt)
	}
	return t
}

// AcknowledgeTampering implements the RPC. The event at the position is
// verified again first: only one that still fails may be acknowledged.
func (s *Server) AcknowledgeTampering(ctx context.Context, req *integrityv1.AcknowledgeTamperingRequest) (*integrityv1.AcknowledgeTamperingResponse, error) {
	var v errs.Violations
	if req.GetPosition() == 0 {
		v.Add("position", "is required: the log position of the bad event (floe integrity list)")
	}
	reason := strings.TrimSpace(req.GetReason())
	if reason == "" {
		v.Add("reason", "is required: say what was found and why the event may be passed over")
	} else if len(reason) > 2000 {
		v.Add("reason", "must be at most 2000 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	te, err := s.check(ctx, req.GetPosition())
	if err != nil {
		return nil, err
	}
	var out *record
	_, err = s.records.Execute(ctx, kernel.Command[*record]{
		ID:      eventstore.IntegrityID(req.GetPosition()),
		Observe: func(r *record) { out = r },
		Decide: func(r *record) ([]proto.Message, error) {
			if r.Acknowledged != nil {
				return nil, nil
			}
			var evs []proto.Message
			if r.Detected == nil {
				// Found by this check (or by audit verify), not by a reader yet.
				evs = append(evs, &integrityv1.TamperDetected{
					Position: te.Seq, Subject: te.Subject, Aggregate: te.Aggregate, AggregateId: te.ID, Reason: te.Reason, DetectedBy: "integrity.AcknowledgeTampering",
				})
			}
			return append(evs, &integrityv1.TamperAcknowledged{Position: req.GetPosition(), Reason: reason}), nil
		},
	})
	if err != nil {
		return nil, err
	}
	return &integrityv1.AcknowledgeTamperingResponse{Tampering: toProto(out)}, nil
}

// check verifies the event at seq against its aggregate's previous good
// event; it returns the failure, or NOT_TAMPERED when it verifies.
func (s *Server) check(ctx context.Context, seq uint64) (*eventstore.TamperError, error) {
	st, err := s.js.Stream(ctx, s.stream)
	if err != nil {
		return nil, &errs.UnavailableError{What: "event log", Err: err}
	}
	msg, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, &errs.NotFoundError{Kind: "log position", ID: strconv.FormatUint(seq, 10)}
	}
	if err != nil {
		return nil, &errs.UnavailableError{What: "event log", Err: err}
	}
	e, derr := eventstore.Decode(msg.Sequence, msg.Subject, msg.Header, msg.Data)
	if derr != nil {
		// Not even an event (it names no aggregate a reader would fold).
		return &eventstore.TamperError{Seq: seq, Subject: msg.Subject, Reason: derr.Error()}, nil
	}
	te := s.verifier.Content(e)
	if te == nil {
		prev, err := s.verifier.Before(ctx, e)
		if err != nil {
			return nil, err
		}
		te = prev.Check(e)
	}
	if te == nil {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_NOT_TAMPERED, "the event at position %d (%s) verifies: there is nothing to acknowledge", seq, e.Subject)
	}
	return te, nil
}
