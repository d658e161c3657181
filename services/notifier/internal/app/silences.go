package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/domain"
	"github.com/penguinmails/floe/services/notifier/internal/render"
)

// SilenceKind describes the silence aggregate.
var SilenceKind = kernel.Kind[*domain.Silence]{
	Name: domain.AggSilence,
	New:  domain.NewSilence,
	Apply: func(s *domain.Silence, e *eventstore.RecordedEvent) (*domain.Silence, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		s.Apply(e.AggregateID, m, e.Time, e.Actor)
		return s, nil
	},
	Codec: kernel.Codec[*domain.Silence]{Schema: "silence/1", Marshal: domain.MarshalSilence, Unmarshal: domain.UnmarshalSilence},
}

// silenceID is a new silence's id: derived from the request id when there
// is one (a retried create makes one silence), else a new ULID.
func silenceID(ctx context.Context, requestID string) string {
	if requestID == "" {
		return "s-" + strings.ToLower(ulid.Make().String())
	}
	o, _ := causal.From(ctx)
	sum := sha256.Sum256([]byte(o.Actor + "\x00" + requestID))
	return "s-" + hex.EncodeToString(sum[:12])
}

// CreateSilence creates a silence (starts zero: now; ends zero: starts + d).
func (a *App) CreateSilence(ctx context.Context, requestID string, matchers []string, starts, ends time.Time, d time.Duration, comment string) (*notifyv1.Silence, error) {
	now := a.opts.Now()
	if ends.IsZero() && d > 0 {
		ends = starts
		if ends.IsZero() {
			ends = now
		}
		ends = ends.Add(d)
	}
	id := silenceID(ctx, requestID)
	var out *notifyv1.Silence
	_, err := a.silences.Execute(unkeyed(ctx), kernel.Command[*domain.Silence]{
		ID: id,
		Decide: func(s *domain.Silence) ([]proto.Message, error) {
			if s.S != nil && requestID != "" {
				return nil, nil // the retried create of the same request
			}
			return domain.CreateSilence(s, matchers, starts, ends, comment, now)
		},
		Observe: func(s *domain.Silence) {
			if s.S != nil {
				out = proto.CloneOf(s.S)
				out.State = domain.State(out, now)
			}
		},
	})
	return out, err
}

// ExpireSilence ends silence id now.
func (a *App) ExpireSilence(ctx context.Context, id, reason string) (*notifyv1.Silence, error) {
	now := a.opts.Now()
	var out *notifyv1.Silence
	_, err := a.silences.Execute(unkeyed(ctx), kernel.Command[*domain.Silence]{
		ID:     id,
		Decide: func(s *domain.Silence) ([]proto.Message, error) { return domain.ExpireSilence(s, id, reason, now) },
		Observe: func(s *domain.Silence) {
			if s.S != nil {
				out = proto.CloneOf(s.S)
				out.State = domain.State(out, a.opts.Now())
			}
		},
	})
	return out, err
}

// TestReceiver sends the first sample notification to receiver now,
// outside any group, and says how it went.
func (a *App) TestReceiver(ctx context.Context, receiver string) (*notifyv1.TestReceiverResponse, error) {
	ch := a.opts.Channels[receiver]
	if ch == nil {
		return nil, &errs.NotFoundError{Kind: "receiver", ID: receiver}
	}
	sample := render.Samples()[0].Notification
	sample.ID = "test-" + strings.ToLower(ulid.Make().String())
	sample.Receiver = receiver
	m, _, err := render.Render(ch.Kind(), sample, a.opts.Templates[receiver], a.opts.Render)
	if err != nil {
		return nil, err
	}
	m.Subject = "[TEST] " + m.Subject
	sctx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	rc, err := ch.Send(sctx, m, channel.Thread{})
	if err != nil {
		return &notifyv1.TestReceiverResponse{Error: fmt.Sprintf("%v", err), Subject: m.Subject}, nil
	}
	return &notifyv1.TestReceiverResponse{Delivered: true, Ref: rc.Ref, Subject: m.Subject}, nil
}

// ConfigSilences are the configuration file's silences as the API shows them.
func (a *App) ConfigSilences(now time.Time) []*notifyv1.Silence {
	var out []*notifyv1.Silence
	for _, s := range a.opts.Routing.Silences {
		ms := make([]string, 0, len(s.Matchers))
		for _, m := range s.Matchers {
			ms = append(ms, m.String())
		}
		ps := &notifyv1.Silence{Id: s.ID, Matchers: ms, CreatedBy: s.CreatedBy, Comment: s.Comment, FromConfig: true}
		ps.StartsAt, ps.EndsAt = tsOf(s.StartsAt), tsOf(s.EndsAt)
		ps.State = domain.State(ps, now)
		out = append(out, ps)
	}
	return out
}

func tsOf(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
