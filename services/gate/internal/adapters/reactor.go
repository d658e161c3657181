package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/services/gate/internal/app"
)

// ReleaseReactor opens gate runs as releases are deployed, until ctx ends.
func ReleaseReactor(ctx context.Context, js jetstream.JetStream, stream string, v *eventstore.Verifier, svc *app.Service, onErr func(error)) error {
	return eventstore.Subscribe(ctx, js, stream, eventstore.Subscription{
		Name: "gate-releases", Filters: app.ReleaseEvents, Verifier: v,
		Handler:    svc.OnReleaseEvent,
		MaxBackoff: 10 * time.Second,
		OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
			if onErr != nil {
				onErr(fmt.Errorf("release event %d (attempt %d): %w", e.Seq, attempt, err))
			}
		},
	})
}
