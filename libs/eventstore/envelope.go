package eventstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/ident"
)

// Subject layout and header names of the envelope.
const (
	SubjectPrefix = "floe.evt."

	HdrSpecVersion   = "ce-specversion"
	HdrID            = "ce-id"
	HdrSource        = "ce-source"
	HdrType          = "ce-type"
	HdrSubject       = "ce-subject"
	HdrTime          = "ce-time"
	HdrContentType   = "Content-Type"
	HdrActor         = "floe-actor"
	HdrCorrelationID = "floe-correlation-id"
	HdrCausationID   = "floe-causation-id"
	HdrTraceParent   = "traceparent"
	HdrTraceState    = "tracestate"
	HdrVersion       = "floe-version"
	HdrPrevHash      = "floe-prev-hash"
	HdrHash          = "floe-hash"

	contentTypeJSON = "application/json"
	specVersion     = "1.0"
)

// GenesisHash is the floe-prev-hash of an aggregate's first event.
var GenesisHash = strings.Repeat("0", 64)

// hashedHeaders are the headers covered by floe-hash, in the fixed order they
// are fed to the hash. floe-hash itself is not covered; NATS control headers
// (Nats-*) are not part of the event and are not covered either.
var hashedHeaders = []string{
	HdrContentType, HdrID, HdrSource, HdrSpecVersion, HdrSubject, HdrTime, HdrType,
	HdrActor, HdrCausationID, HdrCorrelationID, HdrPrevHash, HdrVersion, HdrTraceParent,
}

// ComputeHash returns the hex floe-hash of an event:
//
//	SHA-256("floe-event-v1\n" ‖ "subject:" subject "\n" ‖ for each covered
//	header in order: name ":" value "\n" ‖ len(body) "\n" ‖ body)
//
// floe-prev-hash is one of the covered headers, which chains each event to the
// one before it in its aggregate. Header values cannot contain newlines (NATS
// forbids them), so the encoding is unambiguous.
func ComputeHash(subject string, h nats.Header, body []byte) string {
	sum := sha256.New()
	buf := make([]byte, 0, 1024)
	buf = append(buf, "floe-event-v1\nsubject:"...)
	buf = append(buf, subject...)
	buf = append(buf, '\n')
	for _, k := range hashedHeaders {
		buf = append(buf, k...)
		buf = append(buf, ':')
		if v := h[k]; len(v) > 0 {
			buf = append(buf, v[0]...)
		}
		buf = append(buf, '\n')
	}
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = append(buf, '\n')
	sum.Write(buf)
	sum.Write(body)
	var out [sha256.Size]byte
	return hex.EncodeToString(sum.Sum(out[:0]))
}

var (
	aggregateRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	nameRe      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,127}$`)
)

// ValidAggregateName reports whether s can name an aggregate: lower case,
// digits and underscores, starting with a letter, at most 32 characters.
func ValidAggregateName(s string) bool { return aggregateRe.MatchString(s) }

// ValidID reports whether s is a subject-safe aggregate id: letters, digits,
// '-' and '_', 1 to 64 characters (ULIDs and UUIDs qualify).
func ValidID(s string) bool { return ident.Valid(s) }

// AggregateSubject is the subject filter of all of an aggregate's events.
func AggregateSubject(aggregate, id string) string {
	return SubjectPrefix + aggregate + "." + id + ".>"
}

// ParseSubject splits floe.evt.<aggregate>.<id>.<Name>.
func ParseSubject(subject string) (aggregate, id, name string, err error) {
	rest, ok := strings.CutPrefix(subject, SubjectPrefix)
	parts := strings.Split(rest, ".")
	if !ok || len(parts) != 3 || !ValidAggregateName(parts[0]) || !ValidID(parts[1]) || !nameRe.MatchString(parts[2]) {
		return "", "", "", fmt.Errorf("subject %q is not %s<aggregate>.<id>.<EventName>", subject, SubjectPrefix)
	}
	return parts[0], parts[1], parts[2], nil
}

// Decode turns a stored message into a RecordedEvent. It checks the
// envelope's shape, not the hash chain (see audit for that).
func Decode(seq uint64, subject string, h nats.Header, body []byte) (*RecordedEvent, error) {
	agg, id, name, err := ParseSubject(subject)
	if err != nil {
		return nil, &DecodeError{Seq: seq, Err: err}
	}
	e := &RecordedEvent{
		Seq: seq, Subject: subject, Aggregate: agg, AggregateID: id, Name: name,
		Type: h.Get(HdrType), ID: h.Get(HdrID), Source: h.Get(HdrSource),
		Actor: h.Get(HdrActor), CorrelationID: h.Get(HdrCorrelationID), CausationID: h.Get(HdrCausationID),
		TraceParent: h.Get(HdrTraceParent), PrevHash: h.Get(HdrPrevHash), Hash: h.Get(HdrHash), Data: body,
		KeyID: h.Get(HdrKeyID), Signature: h.Get(HdrSignature), header: h,
	}
	v, err := strconv.ParseUint(h.Get(HdrVersion), 10, 64)
	if err != nil || v == 0 {
		return nil, &DecodeError{Seq: seq, Type: e.Type, Err: fmt.Errorf("bad %s header %q", HdrVersion, h.Get(HdrVersion))}
	}
	e.Version = Version(v)
	if e.Time, err = time.Parse(time.RFC3339Nano, h.Get(HdrTime)); err != nil {
		return nil, &DecodeError{Seq: seq, Type: e.Type, Err: fmt.Errorf("bad %s header: %v", HdrTime, err)}
	}
	if e.ID == "" || e.Type == "" || e.Hash == "" || e.PrevHash == "" {
		return nil, &DecodeError{Seq: seq, Type: e.Type, Err: errors.New("missing ce-id, ce-type, floe-hash or floe-prev-hash header")}
	}
	return e, nil
}

// DecodeError reports a stored message that is not a well-formed event.
type DecodeError struct {
	Seq  uint64
	Type string
	Err  error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("event at position %d (%s): %v", e.Seq, e.Type, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

type errTypeMismatch string

func (e errTypeMismatch) Error() string { return "cannot decode into " + string(e) }
