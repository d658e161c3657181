package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/services/flag/internal/app"
)

// ReactorName is the flag service's durable subscription to other services'
// events. It kept the name it had when it read release rollbacks only: a
// durable consumer keeps its position across the change of its filters, so
// nothing it already handled is handled again.
const ReactorName = "flag-releases"

// ReleaseReactor runs the flag service's reactions until ctx ends, from one
// durable subscription (ReactorName) over app.ReactionEvents, in log order:
// a feature-flag deployment's FLAG_ROLLOUT steps (DeploymentStepStarted) are
// applied to the environment's flags — or refused, on the record — and the
// flag changes of a release rolled back in an environment (ReleaseRolledBack)
// are reverted. One subscription rather than two keeps their order: a
// deployment's steps precede its rollback in the log, so a flag service that
// catches up after a stop never applies a step after the revert that should
// have undone it.
func ReleaseReactor(ctx context.Context, js jetstream.JetStream, stream string, v *eventstore.Verifier, svc *app.Service, onErr func(error)) error {
	return eventstore.Subscribe(ctx, js, stream, eventstore.Subscription{
		Name: ReactorName, Filters: app.ReactionEvents, Verifier: v,
		Handler:    svc.OnEvent,
		MaxBackoff: 10 * time.Second,
		OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
			if onErr != nil {
				onErr(fmt.Errorf("%s event %d (attempt %d): %w", e.Name, e.Seq, attempt, err))
			}
		},
	})
}
