// Package app runs the notifier: events of the log become episodes in
// notification groups (domain.Group), groups decide notifications when they
// are due, and each notification is delivered through its receiver's
// channel with retries, every step an event.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/domain"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/interact"
	"github.com/penguinmails/floe/services/notifier/internal/render"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// GroupKind describes the group aggregate under cfg.
func GroupKind(cfg *routing.Config) kernel.Kind[*domain.Group] {
	return kernel.Kind[*domain.Group]{
		Name: domain.AggGroup,
		New:  func(id string) *domain.Group { return domain.NewGroup(cfg, id) },
		Apply: func(s *domain.Group, e *eventstore.RecordedEvent) (*domain.Group, error) {
			m, err := e.Decode()
			if err != nil {
				return nil, err
			}
			s.Apply(m, e.Time, e.Actor)
			return s, nil
		},
		Codec: kernel.Codec[*domain.Group]{Schema: domain.GroupSchema, Marshal: domain.MarshalGroup,
			Unmarshal: func(b []byte) (*domain.Group, error) { return domain.UnmarshalGroup(cfg, b) }},
		SnapshotEvery: 50,
	}
}

// DeliveryKind describes the notification aggregate.
var DeliveryKind = kernel.Kind[*domain.Delivery]{
	Name: domain.AggNotification,
	New:  domain.NewDelivery,
	Apply: func(d *domain.Delivery, e *eventstore.RecordedEvent) (*domain.Delivery, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		d.Apply(m, e.Time, e.Seq)
		return d, nil
	},
	Codec:         kernel.Codec[*domain.Delivery]{Schema: domain.DeliverySchema, Marshal: domain.MarshalDelivery, Unmarshal: domain.UnmarshalDelivery},
	SnapshotEvery: 50,
}

// Threads finds the reference of an episode's first message to a receiver
// (Slack threads later messages on it); "" when there is none yet.
type Threads interface {
	Thread(receiver, episode string) string
}

// Options configure the App.
type Options struct {
	Store     eventstore.Store
	Snapshots *eventstore.Snapshots
	// Routing is the routing configuration (receivers, routes, silences).
	Routing *routing.Config
	// Channels are the receivers' channels, by receiver name.
	Channels map[string]channel.Channel
	// Templates are the receivers' templates, by receiver name (nil: defaults).
	Templates map[string]*render.Set
	Render    render.Options
	Mapper    episode.Mapper
	Policy    domain.Policy
	// Instance names this process in the claims it makes.
	Instance string
	Now      func() time.Time
	Threads  Threads
	// SendTimeout bounds one attempt (default 30s).
	SendTimeout time.Duration
	// Silences are the silences created through the API (the view of
	// them); nil: none.
	Silences func() []routing.Silence
	// Interactive are the Slack receivers with interactivity: their messages
	// about releases awaiting approval carry Approve / Reject buttons.
	Interactive map[string]bool
}

// App is the notifier's application.
type App struct {
	opts     Options
	groups   *kernel.Handler[*domain.Group]
	notes    *kernel.Handler[*domain.Delivery]
	silences *kernel.Handler[*domain.Silence]
	mu       sync.Mutex
	rnd      *rand.Rand
	disabled map[string]string // receiver → why
}

// New returns the App.
func New(o Options) (*App, error) {
	if o.Store == nil || o.Routing == nil {
		return nil, errors.New("notifier: a store and a routing configuration are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	o.Policy = o.Policy.WithDefaults()
	groups, err := kernel.New(o.Store, GroupKind(o.Routing), kernel.Options{Snapshots: o.Snapshots, Clock: o.Now})
	if err != nil {
		return nil, err
	}
	notes, err := kernel.New(o.Store, DeliveryKind, kernel.Options{Snapshots: o.Snapshots, Clock: o.Now})
	if err != nil {
		return nil, err
	}
	silences, err := kernel.New(o.Store, SilenceKind, kernel.Options{Clock: o.Now})
	if err != nil {
		return nil, err
	}
	return &App{opts: o, groups: groups, notes: notes, silences: silences, rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)), disabled: map[string]string{}}, nil
}

// Routing is the routing configuration.
func (a *App) Routing() *routing.Config { return a.opts.Routing }

// kind is a receiver's kind ("" for one the configuration does not name).
func (a *App) kind(receiver string) string {
	if r, ok := a.opts.Routing.Receiver(receiver); ok {
		return r.Kind
	}
	return ""
}

// OnEvent routes one event of the log: mapped to an episode (most events
// are not told of), matched to routes, observed by each route's group —
// idempotently per route and event, so a redelivery changes nothing — and
// each group evaluated at once (a route without group_wait tells now).
func (a *App) OnEvent(ctx context.Context, e *eventstore.RecordedEvent) error {
	if e.Aggregate == domain.AggGroup || e.Aggregate == domain.AggNotification {
		return nil
	}
	ev, ok, err := a.opts.Mapper.Map(e)
	if err != nil {
		var de *eventstore.DecodeError
		if errors.As(err, &de) || errors.Is(err, episode.ErrNoEpisode) {
			return nil // nothing can be told of it; it is in the log for people to read
		}
		return err
	}
	if !ok {
		return nil
	}
	for _, r := range routing.Match(a.opts.Routing, ev) {
		id := domain.GroupID(r.ID(), routing.GroupKey(r, ev))
		if _, err := a.groups.Execute(ctx, kernel.Command[*domain.Group]{
			ID: id, Key: causal.Key("notify-observe", r.ID(), e.ID),
			Decide: func(*domain.Group) ([]proto.Message, error) { return domain.Observe(r, ev, e.ID, e.Type) },
		}); err != nil {
			return fmt.Errorf("group %s: %w", id, err)
		}
		if err := a.Evaluate(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// Evaluate decides what group id has due now and records it (nothing when
// nothing is due; another instance deciding the same moment wins or loses
// in the log).
func (a *App) Evaluate(ctx context.Context, id string) error {
	now := a.opts.Now()
	_, err := a.groups.Execute(unkeyed(ctx), kernel.Command[*domain.Group]{
		ID:     id,
		Decide: func(s *domain.Group) ([]proto.Message, error) { return domain.Evaluate(s, now, a.kind, a.live()) },
	})
	return err
}

// live is the routing configuration with the API's silences added (nil
// when there are none: the groups' own configuration applies).
func (a *App) live() *routing.Config {
	if a.opts.Silences == nil {
		return nil
	}
	extra := a.opts.Silences()
	if len(extra) == 0 {
		return nil
	}
	cfg := *a.opts.Routing
	cfg.Silences = append(slices.Clip(cfg.Silences), extra...)
	return &cfg
}

// unkeyed is ctx without an idempotency key: evaluations and delivery
// steps are decided afresh each time (their decisions are idempotent on the
// state), not replayed as the first outcome of a key.
func unkeyed(ctx context.Context) context.Context {
	o, ok := causal.From(ctx)
	if !ok {
		return ctx
	}
	o.Key = ""
	return causal.With(ctx, o)
}

// OnGroupEvaluated opens the delivery of each notification a group decided
// (muted ones are recorded as such and never sent).
func (a *App) OnGroupEvaluated(ctx context.Context, e *eventstore.RecordedEvent) error {
	var ev notifyv1.GroupEvaluated
	if err := e.DecodeInto(&ev); err != nil {
		return nil
	}
	for _, n := range ev.GetNotifications() {
		n = proto.CloneOf(n)
		n.Subject = a.subject(n)
		if _, err := a.notes.Execute(ctx, kernel.Command[*domain.Delivery]{
			ID: n.GetId(), Key: causal.Key("notify-plan", e.ID, n.GetId()),
			Decide: func(d *domain.Delivery) ([]proto.Message, error) { return domain.Plan(d, n), nil },
		}); err != nil {
			return fmt.Errorf("notification %s: %w", n.GetId(), err)
		}
	}
	return nil
}

// Deliver makes the next attempt of notification id when it is due and
// this instance wins the claim, and records the outcome.
func (a *App) Deliver(ctx context.Context, id string) error {
	ctx = unkeyed(ctx)
	now := a.opts.Now()
	var n *notifyv1.Notification
	res, err := a.notes.Execute(ctx, kernel.Command[*domain.Delivery]{
		ID: id,
		Decide: func(d *domain.Delivery) ([]proto.Message, error) {
			return domain.Claim(d, now, a.opts.Instance, a.opts.Policy), nil
		},
		Observe: func(d *domain.Delivery) {
			if d.N != nil {
				n = proto.CloneOf(d.N)
			}
		},
	})
	if err != nil || len(res.Events) != 1 || res.Events[0].Name != "DeliveryAttempted" {
		return err // not due, another instance won the claim, or dead-lettered
	}
	attempt := n.GetAttempts()
	o := a.send(ctx, n)
	_, err = a.notes.Execute(context.WithoutCancel(ctx), kernel.Command[*domain.Delivery]{
		ID: id,
		Decide: func(d *domain.Delivery) ([]proto.Message, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return domain.Record(d, attempt, a.opts.Instance, o, a.opts.Now(), a.opts.Policy, a.rnd), nil
		},
	})
	return err
}

// subject is the subject line n is sent with (recorded with its plan, for listings).
func (a *App) subject(n *notifyv1.Notification) string {
	ch := a.opts.Channels[n.GetReceiver()]
	dec, err := domain.Decision(n)
	if ch == nil || err != nil {
		return ""
	}
	m, _, err := render.Render(ch.Kind(), dec, a.opts.Templates[n.GetReceiver()], a.opts.Render)
	if err != nil {
		return ""
	}
	return m.Subject
}

// send renders n for its receiver and makes one attempt.
func (a *App) send(ctx context.Context, n *notifyv1.Notification) domain.Outcome {
	ch := a.opts.Channels[n.GetReceiver()]
	if ch == nil {
		return domain.Outcome{Err: fmt.Sprintf("receiver %s is not configured (any more)", n.GetReceiver()), Permanent: true}
	}
	a.mu.Lock()
	why, disabled := a.disabled[n.GetReceiver()]
	a.mu.Unlock()
	if disabled {
		return domain.Outcome{Err: "receiver " + n.GetReceiver() + " is disabled: " + why, Permanent: true, Disable: true}
	}
	dec, err := domain.Decision(n)
	if err != nil {
		return domain.Outcome{Err: err.Error(), Permanent: true}
	}
	m, _, err := render.Render(ch.Kind(), dec, a.opts.Templates[n.GetReceiver()], a.opts.Render)
	if err != nil {
		return domain.Outcome{Err: "render: " + err.Error(), Permanent: true}
	}
	if ch.Kind() == routing.KindSlack && a.opts.Interactive[n.GetReceiver()] {
		if m.Blocks, err = interact.WithBlocks(m.Blocks, interact.Blocks(dec)); err != nil {
			return domain.Outcome{Err: "blocks: " + err.Error(), Permanent: true}
		}
	}
	if ch.Kind() == routing.KindWebhook {
		if m.Event, err = cloudEvent(n, dec, m); err != nil {
			return domain.Outcome{Err: "event: " + err.Error(), Permanent: true}
		}
	}
	var th channel.Thread
	if a.opts.Threads != nil {
		th.Ref = a.opts.Threads.Thread(n.GetReceiver(), m.Episode)
	}
	sctx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	rc, err := ch.Send(sctx, m, th)
	if err == nil {
		return domain.Outcome{Ref: rc.Ref}
	}
	o := domain.Outcome{Err: err.Error()}
	var ce *channel.Error
	if errors.As(err, &ce) {
		o.Permanent, o.Disable, o.RetryAfter, o.Status = ce.Permanent, ce.Disable, ce.RetryAfter, ce.Status
	}
	if o.Disable {
		// The receiver asked not to be sent to again (a webhook's 410):
		// until the notifier restarts, its notifications are dead-lettered unsent.
		a.mu.Lock()
		a.disabled[n.GetReceiver()] = fmt.Sprintf("it answered notification %s with %d: %s", n.GetId(), o.Status, o.Err)
		a.mu.Unlock()
	}
	if o.Err == "" {
		o.Err = "failed"
	}
	return o
}

// cloudEvent is a webhook's body: the notification as a CloudEvents 1.0
// structured-mode event whose data is the message and its episodes.
func cloudEvent(n *notifyv1.Notification, dec routing.Notification, m channel.Message) ([]byte, error) {
	type episodeJSON struct {
		Key         string            `json:"key"`
		Status      string            `json:"status"`
		Changed     bool              `json:"changed,omitempty"`
		Type        string            `json:"type"`
		Environment string            `json:"environment,omitempty"`
		Product     string            `json:"product,omitempty"`
		Severity    string            `json:"severity,omitempty"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
		Since       time.Time         `json:"since"`
	}
	eps := make([]episodeJSON, 0, len(dec.Episodes))
	for _, ep := range dec.Episodes {
		eps = append(eps, episodeJSON{Key: ep.Key, Status: ep.Status, Changed: ep.Changed, Type: ep.Event.Type, Environment: ep.Event.Environment,
			Product: ep.Event.Product, Severity: ep.Event.Severity, Labels: ep.Event.Labels, Annotations: ep.Event.Annotations, Since: ep.Since})
	}
	return json.Marshal(map[string]any{
		"specversion": "1.0", "id": n.GetId(), "source": "floe/notifier", "type": "dev.floe.notification",
		"subject": dec.GroupKey, "time": dec.At.UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json",
		"data": map[string]any{
			"subject": m.Subject, "text": m.Text, "severity": m.Severity, "episode": m.Episode, "reason": string(dec.Reason),
			"receiver": dec.Receiver, "route": dec.Route, "seq": dec.Seq, "episodes": eps,
		},
	})
}

// Acknowledge records that the caller took on episode in group id.
func (a *App) Acknowledge(ctx context.Context, id, ep, comment string) error {
	var v errs.Violations
	if ep == "" {
		v.Add("episode", "is required")
	}
	if len(comment) > 1000 {
		v.Add("comment", "is longer than 1000 bytes")
	}
	if err := v.Err(); err != nil {
		return err
	}
	_, err := a.groups.Execute(ctx, kernel.Command[*domain.Group]{
		ID: id,
		Decide: func(s *domain.Group) ([]proto.Message, error) {
			if s.Routing() == nil {
				return nil, &errs.NotFoundError{Kind: "notification group", ID: id}
			}
			return domain.Acknowledge(s, ep, comment)
		},
	})
	return err
}

// Notification reads one notification.
func (a *App) Notification(ctx context.Context, id string) (*notifyv1.Notification, error) {
	var out *notifyv1.Notification
	err := a.notes.Read(ctx, id, func(d *domain.Delivery, _ eventstore.Version, _ uint64) error {
		if d.N != nil {
			out = proto.CloneOf(d.N)
		}
		return nil
	})
	if err == nil && out == nil {
		err = &errs.NotFoundError{Kind: "notification", ID: id}
	}
	return out, err
}
