// Package adapters connects the notifier to NATS: its views (groups and
// notifications, rebuilt from the log), its subscriptions and the loop that
// evaluates due groups and delivers due notifications.
package adapters

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/projection"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/app"
	"github.com/penguinmails/floe/services/notifier/internal/domain"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Groups is the view of the notification groups: when each is next due.
type Groups struct {
	proj *projection.Projection[*domain.Group]
	due  *projection.DueIndex
}

// NewGroups builds the view under cfg; Projection runs it.
func NewGroups(ctx context.Context, js jetstream.JetStream, cfg *routing.Config, opts projection.Options) (*Groups, error) {
	v := &Groups{due: projection.NewDueIndex()}
	spec := projection.Aggregates("notify_groups", app.GroupKind(cfg))
	spec.OnChange = func(id string, g *domain.Group, deleted bool) {
		if deleted {
			v.due.Set(id, time.Time{})
			return
		}
		v.due.Set(id, g.Next())
	}
	spec.OnReset = v.due.Reset
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	return v, nil
}

// Projection is the view's projection.
func (v *Groups) Projection() *projection.Projection[*domain.Group] { return v.proj }

// Due lists the groups due at now, soonest first.
func (v *Groups) Due(now time.Time) []string { return v.due.Due(now) }

// Notifications is the view of the notifications: for the API, the
// delivery loop (what is due) and threads (an episode's first message to
// a receiver).
type Notifications struct {
	proj   *projection.Projection[*domain.Delivery]
	policy domain.Policy
	due    *projection.DueIndex
	mu     sync.Mutex
	ids    map[string]struct{}
	thread map[string]threadRef // receiver + "\x00" + episode → its first delivered message
}

type threadRef struct {
	seq uint64
	ref string
}

// NewNotifications builds the view; Projection runs it.
func NewNotifications(ctx context.Context, js jetstream.JetStream, policy domain.Policy, opts projection.Options) (*Notifications, error) {
	v := &Notifications{policy: policy, due: projection.NewDueIndex(), ids: map[string]struct{}{}, thread: map[string]threadRef{}}
	spec := projection.Aggregates("notifications", app.DeliveryKind)
	spec.OnChange = func(id string, d *domain.Delivery, deleted bool) {
		if deleted {
			v.due.Set(id, time.Time{})
		} else {
			v.due.Set(id, d.NextDue(policy))
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		if deleted {
			delete(v.ids, id)
		} else {
			v.ids[id] = struct{}{}
		}
		if deleted || d.N == nil || d.N.GetStatus() != notifyv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED || d.N.GetRef() == "" {
			return
		}
		k := d.N.GetReceiver() + "\x00" + d.N.GetGroupKey() + "/" + d.N.GetGeneration()
		if t, ok := v.thread[k]; !ok || d.N.GetSeq() < t.seq {
			v.thread[k] = threadRef{seq: d.N.GetSeq(), ref: d.N.GetRef()}
		}
	}
	spec.OnReset = func() {
		v.due.Reset()
		v.mu.Lock()
		defer v.mu.Unlock()
		clear(v.ids)
		clear(v.thread)
	}
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	return v, nil
}

// Projection is the view's projection.
func (v *Notifications) Projection() *projection.Projection[*domain.Delivery] { return v.proj }

// Due lists the notifications due at now, soonest first.
func (v *Notifications) Due(now time.Time) []string { return v.due.Due(now) }

// Thread implements app.Threads: the episode's first delivered message to
// the receiver (episode is render's Message.Episode: group key/generation).
func (v *Notifications) Thread(receiver, episode string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.thread[receiver+"\x00"+episode].ref
}

// Query filters List.
type Query struct {
	Receiver string
	Status   notifyv1.DeliveryStatus
	Episode  string
}

// List is every notification matching q, newest first (by decision time, then id).
func (v *Notifications) List(q Query) []*notifyv1.Notification {
	var out []*notifyv1.Notification
	v.proj.Read(func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		for id := range v.ids {
			d, ok := v.proj.Get(id)
			if !ok || d.N == nil {
				continue
			}
			n := d.N
			if q.Receiver != "" && n.GetReceiver() != q.Receiver || q.Status != 0 && n.GetStatus() != q.Status {
				continue
			}
			if q.Episode != "" && !slices.ContainsFunc(n.GetEpisodes(), func(e *notifyv1.EpisodeStatus) bool { return e.GetKey() == q.Episode }) {
				continue
			}
			out = append(out, proto.CloneOf(n))
		}
	})
	slices.SortFunc(out, func(a, b *notifyv1.Notification) int {
		if c := b.GetDecidedAt().AsTime().Compare(a.GetDecidedAt().AsTime()); c != 0 {
			return c
		}
		return strings.Compare(a.GetId(), b.GetId())
	})
	return out
}
