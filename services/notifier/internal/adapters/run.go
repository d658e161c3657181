package adapters

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/app"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
)

// Events feeds every event of the log to the notifier, in order, until ctx
// ends (a durable subscription: one instance receives, the others stand
// by); scopes learn from each first.
func Events(ctx context.Context, js jetstream.JetStream, stream string, v *eventstore.Verifier, a *app.App, scopes *Scopes, onErr func(error)) error {
	return eventstore.Subscribe(ctx, js, stream, eventstore.Subscription{
		Name: "notifier-events", Verifier: v, MaxBackoff: 10 * time.Second,
		Handler: func(ctx context.Context, e *eventstore.RecordedEvent) error {
			if scopes != nil {
				_ = scopes.Table.Observe(e) // a scope event that does not decode is the mapper's to report
			}
			return a.OnEvent(ctx, e)
		},
		OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
			if onErr != nil {
				onErr(fmt.Errorf("event %d %s (attempt %d): %w", e.Seq, e.Type, attempt, err))
			}
		},
	})
}

// Plans opens the delivery of every notification the groups decide, until ctx ends.
func Plans(ctx context.Context, js jetstream.JetStream, stream string, v *eventstore.Verifier, a *app.App, onErr func(error)) error {
	return eventstore.Subscribe(ctx, js, stream, eventstore.Subscription{
		Name: "notifier-plans", Verifier: v, Handler: a.OnGroupEvaluated, MaxBackoff: 10 * time.Second,
		Filters: eventstore.EventFilters(&notifyv1.GroupEvaluated{}),
		OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
			if onErr != nil {
				onErr(fmt.Errorf("group evaluation %d (attempt %d): %w", e.Seq, attempt, err))
			}
		},
	})
}

// Loop evaluates the groups and delivers the notifications that are due,
// every Interval. Deliveries run concurrently (at most Workers at a time,
// one per notification), so a slow receiver holds up only its own.
type Loop struct {
	App           *app.App
	Groups        *Groups
	Notifications *Notifications
	Now           func() time.Time
	Interval      time.Duration // default 1s
	Workers       int           // default 8
	OnError       func(error)
}

// Run works until ctx ends.
func (l *Loop) Run(ctx context.Context) error {
	if l.Interval <= 0 {
		l.Interval = time.Second
	}
	if l.Workers <= 0 {
		l.Workers = 8
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	ctx = causal.System(ctx, "notifier", "", "")
	sem := make(chan struct{}, l.Workers)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inflight = map[string]bool{}
	)
	defer wg.Wait()
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		now := l.Now()
		for _, id := range l.Groups.Due(now) {
			if err := l.App.Evaluate(ctx, id); err != nil && ctx.Err() == nil && l.OnError != nil {
				l.OnError(fmt.Errorf("evaluate group %s: %w", id, err))
			}
		}
		for _, id := range l.Notifications.Due(now) {
			mu.Lock()
			busy := inflight[id]
			inflight[id] = true
			mu.Unlock()
			if busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			wg.Add(1)
			go func() {
				defer func() {
					<-sem
					mu.Lock()
					delete(inflight, id)
					mu.Unlock()
					wg.Done()
				}()
				if err := l.App.Deliver(ctx, id); err != nil && ctx.Err() == nil && l.OnError != nil {
					l.OnError(fmt.Errorf("deliver notification %s: %w", id, err))
				}
			}()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Scopes implements episode.Scopes: what earlier events said of a release,
// deployment or gate run (its environment, product, version), learned as
// events pass and, for one not seen since this process started, read from
// the aggregate's first events in the log.
type Scopes struct {
	Table  *episode.ScopeTable
	Stores map[string]eventstore.Store // by aggregate kind
}

// Scope implements episode.Scopes.
func (s *Scopes) Scope(aggregate, id string) (episode.Scope, bool) {
	if sc, ok := s.Table.Scope(aggregate, id); ok {
		return sc, true
	}
	st := s.Stores[aggregate]
	if st == nil || !eventstore.ValidID(id) {
		return episode.Scope{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := st.Load(ctx, aggregate, id, nil)
	if err != nil {
		return episode.Scope{}, false
	}
	for _, e := range stream.Events {
		_ = s.Table.Observe(e)
		if sc, ok := s.Table.Scope(aggregate, id); ok {
			return sc, true
		}
	}
	return episode.Scope{}, false
}
