package domain

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/leakscan"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// AggSilence is the aggregate of a silence created through the API.
const AggSilence = "silence"

// Limits of a silence.
const (
	MaxSilenceMatchers = 32
	MaxSilence         = 90 * 24 * time.Hour
	MaxSilenceComment  = 1000
)

// Silence is a silence's state.
type Silence struct {
	S *notifyv1.Silence // nil before SilenceCreated
}

// NewSilence is a silence before any event.
func NewSilence(string) *Silence { return &Silence{} }

// Apply folds one event of silence id by actor at at.
func (s *Silence) Apply(id string, e proto.Message, at time.Time, actor string) {
	switch ev := e.(type) {
	case *notifyv1.SilenceCreated:
		s.S = &notifyv1.Silence{Id: id, Matchers: ev.GetMatchers(), StartsAt: ev.GetStartsAt(), EndsAt: ev.GetEndsAt(), CreatedBy: actor, Comment: ev.GetComment()}
	case *notifyv1.SilenceExpired:
		if s.S != nil {
			s.S.EndsAt, s.S.ExpiredBy, s.S.ExpiredReason = timestamppb.New(at), actor, ev.GetReason()
		}
	}
}

// State of a silence at now: active, pending or expired.
func State(s *notifyv1.Silence, now time.Time) string {
	switch {
	case !now.Before(s.GetEndsAt().AsTime()):
		return "expired"
	case now.Before(s.GetStartsAt().AsTime()):
		return "pending"
	}
	return "active"
}

// CreateSilence decides a new silence (starts zero: now).
func CreateSilence(s *Silence, matchers []string, starts, ends time.Time, comment string, now time.Time) ([]proto.Message, error) {
	if s.S != nil {
		return nil, &errs.AlreadyExistsError{Kind: "silence", ID: s.S.GetId()}
	}
	var v errs.Violations
	if len(matchers) == 0 {
		v.Add("matchers", "at least one is required: a silence of everything would mute every notification")
	}
	if len(matchers) > MaxSilenceMatchers {
		v.Add("matchers", "at most %d", MaxSilenceMatchers)
	}
	for i, m := range matchers {
		if _, err := routing.ParseMatcher(m); err != nil {
			v.Add("matchers["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	if starts.IsZero() {
		starts = now
	}
	switch {
	case ends.IsZero():
		v.Add("ends_at", "is required (or a duration)")
	case !ends.After(starts):
		v.Add("ends_at", "must be after starts_at")
	case !ends.After(now):
		v.Add("ends_at", "is in the past")
	case ends.Sub(starts) > MaxSilence:
		v.Add("ends_at", "a silence lasts at most %s", MaxSilence)
	}
	switch {
	case strings.TrimSpace(comment) == "":
		v.Add("comment", "is required: say why these notifications are muted")
	case len(comment) > MaxSilenceComment:
		v.Add("comment", "is longer than %d bytes", MaxSilenceComment)
	default:
		for _, f := range leakscan.Scan(comment) {
			v.Add("comment", "%s; %s", f.Description, f.Hint)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&notifyv1.SilenceCreated{Matchers: matchers, StartsAt: timestamppb.New(starts), EndsAt: timestamppb.New(ends), Comment: comment}}, nil
}

// ExpireSilence decides to end a silence now.
func ExpireSilence(s *Silence, id, reason string, now time.Time) ([]proto.Message, error) {
	if s.S == nil {
		return nil, &errs.NotFoundError{Kind: "silence", ID: id}
	}
	if State(s.S, now) == "expired" {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "silence %s has ended already", id)
	}
	if len(reason) > MaxSilenceComment {
		return nil, errs.Invalid("reason", "is longer than %d bytes", MaxSilenceComment)
	}
	return []proto.Message{&notifyv1.SilenceExpired{Reason: reason}}, nil
}

// RoutingSilence is s as routing applies it.
func RoutingSilence(s *notifyv1.Silence) (routing.Silence, bool) {
	out := routing.Silence{ID: s.GetId(), StartsAt: s.GetStartsAt().AsTime(), EndsAt: s.GetEndsAt().AsTime(), CreatedBy: s.GetCreatedBy(), Comment: s.GetComment()}
	for _, raw := range s.GetMatchers() {
		m, err := routing.ParseMatcher(raw)
		if err != nil {
			return routing.Silence{}, false
		}
		out.Matchers = append(out.Matchers, m)
	}
	return out, true
}

// MarshalSilence encodes a silence (view checkpoints).
func MarshalSilence(s *Silence) ([]byte, error) {
	if s.S == nil {
		return []byte("{}"), nil
	}
	return protojson.Marshal(s.S)
}

// UnmarshalSilence decodes MarshalSilence's encoding.
func UnmarshalSilence(b []byte) (*Silence, error) {
	if string(b) == "{}" {
		return &Silence{}, nil
	}
	s := &notifyv1.Silence{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, err
	}
	return &Silence{S: s}, nil
}
