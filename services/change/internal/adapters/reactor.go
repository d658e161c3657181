package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/services/change/changeview"
	"github.com/penguinmails/floe/services/change/internal/app"
)

// DeploymentReactor implements and validates changes as their deployments
// start and finish, until ctx ends. A reaction the change refuses is
// reported (onRefused) and not retried; other failures are retried.
func DeploymentReactor(ctx context.Context, js jetstream.JetStream, stream string, v *eventstore.Verifier, svc *app.Service, view *changeview.View, onRefused, onErr func(error)) error {
	changeOf := func(ctx context.Context, deploymentID string) (string, error) {
		if err := view.Sync(ctx); err != nil {
			return "", err
		}
		return view.ChangeOfDeployment(deploymentID), nil
	}
	return eventstore.Subscribe(ctx, js, stream, eventstore.Subscription{
		Name: "change-deployments", Filters: app.DeploymentEvents, Verifier: v,
		Handler: func(ctx context.Context, e *eventstore.RecordedEvent) error {
			err := svc.React(ctx, e, changeOf)
			var refused *app.Refused
			if errors.As(err, &refused) {
				if onRefused != nil {
					onRefused(err)
				}
				return nil
			}
			return err
		},
		MaxBackoff: 10 * time.Second,
		OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
			if onErr != nil {
				onErr(fmt.Errorf("deployment event %d (attempt %d): %w", e.Seq, attempt, err))
			}
		},
	})
}

// ReviewTimer records post-implementation reviews as overdue when their
// due time passes (once each: the view forgets a change once recorded).
type ReviewTimer struct {
	View     *changeview.View
	Service  *app.Service
	Interval time.Duration
	OnError  func(error)
}

// Run checks every Interval until ctx ends.
func (r *ReviewTimer) Run(ctx context.Context) error {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, id := range r.View.OverdueReviews(r.Service.Now()) {
			if err := r.Service.NoticeOverdue(ctx, id); err != nil && ctx.Err() == nil && r.OnError != nil {
				r.OnError(fmt.Errorf("record change %s's overdue review: %w", id, err))
			}
		}
	}
}
