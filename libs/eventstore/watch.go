package eventstore

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/errs"
)

// WatchAggregate calls onChange("") once, then onChange(name) after events
// are appended to the aggregate (name is the event's short name), until ctx
// ends (it then returns nil) or onChange returns an error. It subscribes
// before the first call, so no event falls between reading the state and
// watching it. A slow watcher may skip names, never the last change: callers
// re-read the aggregate on each call.
func WatchAggregate(ctx context.Context, nc *nats.Conn, aggregate, id string, onChange func(event string) error) error {
	events := make(chan string, 64)
	sub, err := nc.Subscribe(AggregateSubject(aggregate, id), func(m *nats.Msg) {
		_, _, name, _ := ParseSubject(m.Subject)
		select {
		case events <- name:
		default: // behind; the next call reads the latest state anyway
		}
	})
	if err != nil {
		return &errs.UnavailableError{What: "NATS", Err: err}
	}
	defer sub.Unsubscribe()
	if err := onChange(""); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case name := <-events:
			if err := onChange(name); err != nil {
				return err
			}
		}
	}
}
