package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/services/release/internal/app"
)

// DeploymentReactor applies the deployer's events to releases until ctx ends.
func DeploymentReactor(ctx context.Context, js jetstream.JetStream, stream string, v *eventstore.Verifier, svc *app.Service, onErr func(error)) error {
	return eventstore.Subscribe(ctx, js, stream, eventstore.Subscription{
		Name: "release-deployments", Filters: app.DeploymentEvents, Verifier: v,
		Handler:    svc.OnDeploymentEvent,
		MaxBackoff: 10 * time.Second,
		OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
			if onErr != nil {
				onErr(fmt.Errorf("deployment event %d (attempt %d): %w", e.Seq, attempt, err))
			}
		},
	})
}
