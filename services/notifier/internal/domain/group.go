package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Aggregate kinds.
const (
	AggGroup        = "notifygroup"
	AggNotification = "notification"
)

// GroupID is the aggregate id of a route's group.
func GroupID(routeID, groupKey string) string {
	sum := sha256.Sum256([]byte(routeID + "\x00" + groupKey))
	return "g-" + hex.EncodeToString(sum[:12])
}

// Group is a notification group's state: routing's group, under the
// notifier's routing configuration.
type Group struct {
	ID string
	// Route and Key name the group (from its first event).
	Route, Key string
	// Orphan says why the group cannot be rebuilt under the configuration
	// (its route is gone): it decides nothing more.
	Orphan string
	g      *routing.Group
	cfg    *routing.Config
}

// NewGroup is a group before any event, under cfg.
func NewGroup(cfg *routing.Config, id string) *Group { return &Group{ID: id, cfg: cfg} }

// Routing is routing's group (nil before the first event or when orphaned).
func (s *Group) Routing() *routing.Group { return s.g }

// Next is when the group next has something to decide (zero: nothing).
func (s *Group) Next() time.Time {
	if s.g == nil {
		return time.Time{}
	}
	return s.g.Next()
}

// Apply folds one event recorded at at by actor.
func (s *Group) Apply(e proto.Message, at time.Time, actor string) {
	switch ev := e.(type) {
	case *notifyv1.EpisodeObserved:
		if s.Route == "" {
			s.Route, s.Key = ev.GetRoute(), ev.GetGroupKey()
		}
		if s.Orphan != "" {
			return
		}
		var re routing.Event
		if err := json.Unmarshal([]byte(ev.GetEvent()), &re); err != nil {
			s.Orphan = "an observed event does not decode: " + err.Error()
			return
		}
		if s.g == nil {
			r, ok := s.cfg.RouteByID(ev.GetRoute())
			if !ok {
				s.Orphan = fmt.Sprintf("route %s is not in the configuration", ev.GetRoute())
				return
			}
			s.g = routing.NewGroup(s.cfg, r, re)
		}
		if err := s.g.Observe(at, re); err != nil {
			s.Orphan = "an observed event is refused: " + err.Error()
		}
	case *notifyv1.GroupEvaluated:
		g, err := routing.RestoreGroup(s.cfg, []byte(ev.GetState()))
		if err != nil {
			s.g, s.Orphan = nil, "the group's state does not restore: "+err.Error()
			return
		}
		s.g, s.Orphan = g, ""
	case *notifyv1.EpisodeAcknowledged:
		if s.g != nil {
			_ = s.g.Acknowledge(at, ev.GetEpisode(), actor)
		}
	}
}

// Observe decides to feed e (matched by route) into the group.
func Observe(route *routing.Route, e routing.Event, sourceID, sourceType string) ([]proto.Message, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return []proto.Message{&notifyv1.EpisodeObserved{Route: route.ID(), GroupKey: routing.GroupKey(route, e), Event: string(b),
		SourceEventId: sourceID, SourceType: sourceType}}, nil
}

// Evaluate decides what is due at now under cfg (the configuration with
// the silences in force now; nil: the group's own): a GroupEvaluated with
// the notifications (nil when nothing is due). It works on a copy: the
// state changes only when the event is applied.
func Evaluate(s *Group, now time.Time, kinds func(receiver string) string, cfg *routing.Config) ([]proto.Message, error) {
	if s.g == nil || s.Orphan != "" {
		return nil, nil
	}
	state, err := s.g.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		cfg = s.cfg
	}
	g, err := routing.RestoreGroup(cfg, state)
	if err != nil {
		return nil, err
	}
	due := g.Due(now)
	if len(due) == 0 {
		return nil, nil
	}
	after, err := g.MarshalJSON()
	if err != nil {
		return nil, err
	}
	ev := &notifyv1.GroupEvaluated{At: timestamppb.New(now), State: string(after)}
	for _, n := range due {
		pn, err := NotificationProto(s.ID, n, kinds(n.Receiver))
		if err != nil {
			return nil, err
		}
		ev.Notifications = append(ev.Notifications, pn)
	}
	return []proto.Message{ev}, nil
}

// Acknowledge decides that actor took on episode.
func Acknowledge(s *Group, episode, comment string) ([]proto.Message, error) {
	if s.g == nil {
		return nil, fmt.Errorf("notification group %s has no episodes", s.ID)
	}
	return []proto.Message{&notifyv1.EpisodeAcknowledged{Episode: episode, Comment: comment}}, nil
}

// NotificationProto is a routing decision as the API and the log show it.
func NotificationProto(groupID string, n routing.Notification, kind string) (*notifyv1.Notification, error) {
	decision, err := json.Marshal(n)
	if err != nil {
		return nil, err
	}
	out := &notifyv1.Notification{
		Id: n.ID, Route: n.Route, GroupKey: n.GroupKey, Generation: n.Generation, GroupId: groupID, Receiver: n.Receiver,
		ReceiverKind: kind, Seq: n.Seq, Reason: string(n.Reason), DecidedAt: timestamppb.New(n.At), Muted: n.Muted,
		Decision: string(decision), Status: notifyv1.DeliveryStatus_DELIVERY_STATUS_PENDING,
	}
	if n.Muted {
		out.Status = notifyv1.DeliveryStatus_DELIVERY_STATUS_MUTED
	}
	for _, m := range n.MutedBy {
		out.MutedBy = append(out.MutedBy, m.Kind+" "+m.Name)
	}
	for _, ep := range n.Episodes {
		out.Episodes = append(out.Episodes, &notifyv1.EpisodeStatus{Key: ep.Key, Status: ep.Status, Changed: ep.Changed, Type: ep.Event.Type,
			Environment: ep.Event.Environment, Product: ep.Event.Product, Severity: ep.Event.Severity, Summary: ep.Event.Annotations["summary"]})
	}
	return out, nil
}

// Decision decodes a notification's routing decision.
func Decision(n *notifyv1.Notification) (routing.Notification, error) {
	var out routing.Notification
	if err := json.Unmarshal([]byte(n.GetDecision()), &out); err != nil {
		return out, fmt.Errorf("notification %s: its decision does not decode: %w", n.GetId(), err)
	}
	return out, nil
}
