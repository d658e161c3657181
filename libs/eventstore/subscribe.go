package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/natsx"
)

// ReactionOrigin is the causal origin of work a component does in reaction to
// event e: the component acts as "system:<component>", the event is the
// direct cause, the correlation id carries on unchanged, and the idempotency
// key is derived from the component and the event, so a redelivered event
// changes nothing twice.
func ReactionOrigin(component string, e *RecordedEvent) causal.Origin {
	return causal.Origin{
		Actor: "system:" + component, CorrelationID: e.CorrelationID, CausationID: e.ID,
		Key: causal.Key("event", component, e.ID),
	}
}

// Handler processes one event. It must be idempotent: delivery is at least
// once. An error makes the subscription retry the same event (with backoff)
// before any later one, so per-aggregate order is never broken.
type Handler func(ctx context.Context, e *RecordedEvent) error

// Subscription is a durable, ordered, at-least-once reader of the log.
type Subscription struct {
	// Name is the durable consumer name, e.g. "release-reactor". Its position
	// survives restarts.
	Name string
	// Filters are subject filters; all events when empty.
	Filters []string
	// Handler processes each event.
	Handler Handler
	// OnError is told of each failed attempt (for logs and metrics); optional.
	OnError func(e *RecordedEvent, attempt int, err error)
	// MaxBackoff caps the retry delay; default 30s.
	MaxBackoff time.Duration
	// Verifier checks each event before the handler sees it: a bad event is
	// terminated unhandled (the alarm is raised), an acknowledged bad event
	// is acknowledged unhandled. Without one, events are handled as read.
	Verifier *Verifier

	chains *Chains
}

// priorityGroup pins a durable consumer to one client at a time: several
// instances of a service may subscribe, one receives (in order) and the
// others stand by to take over, which keeps per-aggregate order under
// horizontal scaling.
const priorityGroup = "floe"

// Subscribe runs sub until ctx is cancelled. Events reach the handler in log
// order; each is acknowledged after the handler succeeds. At most one event
// is outstanding at a time (MaxAckPending 1), so even after a crash nothing
// newer is delivered before an unacknowledged event is redelivered: order
// holds across restarts, at the price of one round trip per event (ample for
// release-management volumes). On a clean stop the subscription naks what it
// holds and releases its pin, so a successor starts at once. A message that is
// not a well-formed event is reported to OnError and terminated (it can never
// succeed); nothing else is ever skipped. The handler's context carries the
// event's trace and its ReactionOrigin, so appends made in reaction name the
// event as their cause, keep its correlation id, and are idempotent.
func Subscribe(ctx context.Context, js jetstream.JetStream, stream string, sub Subscription) error {
	if sub.Name == "" || sub.Handler == nil {
		return errors.New("subscribe: name and handler are required")
	}
	if len(sub.Filters) == 0 {
		sub.Filters = []string{SubjectPrefix + ">"}
	}
	if sub.MaxBackoff <= 0 {
		sub.MaxBackoff = 30 * time.Second
	}
	if sub.Verifier != nil {
		sub.chains = sub.Verifier.Chains(0)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:        sub.Name,
		Description:    "Floe subscription " + sub.Name,
		FilterSubjects: sub.Filters,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        15 * time.Second, // kept alive with InProgress while a handler retries
		MaxDeliver:     -1,
		MaxAckPending:  1,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{priorityGroup},
		PinnedTTL:      15 * time.Second, // failover time after a crash
	}
	// A cluster that has just started (or lost a node) may not answer yet:
	// a transient failure is tried again, with backoff, until ctx ends,
	// rather than ending the subscription (and the process with it).
	var cons jetstream.Consumer
	var err error
	for backoff := 200 * time.Millisecond; ; backoff = min(2*backoff, sub.MaxBackoff) {
		if cons, err = js.CreateOrUpdateConsumer(ctx, stream, cfg); err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !natsx.Transient(err) {
			return fmt.Errorf("subscription %s: %w", sub.Name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
	it, err := cons.Messages(jetstream.PullPriorityGroup(priorityGroup), jetstream.PullMaxMessages(16))
	if err != nil {
		return fmt.Errorf("subscription %s: %w", sub.Name, err)
	}
	stopWatch := context.AfterFunc(ctx, it.Drain) // buffered messages stay readable; we nak them below
	defer stopWatch()
	defer func() {
		it.Stop()
		// Release the pin so another instance (or this one restarted) takes over now, not after PinnedTTL.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if st, err := js.Stream(uctx, stream); err == nil {
			_ = st.UnpinConsumer(uctx, sub.Name, priorityGroup)
		}
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			if transientPull(err) {
				// Missed heartbeats (this process was paused, or its NATS
				// node died and the client moved): the iterator pulls
				// again; the subscription goes on.
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			return fmt.Errorf("subscription %s: %w", sub.Name, err)
		}
		if ctx.Err() != nil {
			_ = msg.Nak() // pulled but not handled: hand it back for immediate redelivery
			continue
		}
		if err := deliver(ctx, msg, sub); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

// transientPull reports whether a pull iterator's error passes on its own:
// missed heartbeats, a leadership change, a reconnection.
func transientPull(err error) bool {
	return errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerLeadershipChanged) || natsx.Transient(err)
}

func deliver(ctx context.Context, msg jetstream.Msg, sub Subscription) error {
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return nil
	}
	e, err := Decode(md.Sequence.Stream, msg.Subject(), msg.Headers(), msg.Data())
	if err != nil {
		if sub.OnError != nil {
			sub.OnError(&RecordedEvent{Seq: md.Sequence.Stream, Subject: msg.Subject()}, 1, err)
		}
		_ = msg.TermWithReason("not a well-formed Floe event")
		return nil
	}
	hctx := natsx.ExtractTrace(ctx, msg.Headers())
	hctx = causal.With(hctx, ReactionOrigin(sub.Name, e))
	backoff := min(100*time.Millisecond, sub.MaxBackoff)
	verified := sub.chains == nil
	for attempt := 1; ; attempt++ {
		var err error
		if !verified {
			var use bool
			use, err = sub.chains.Check(ctx, e)
			var te *TamperError
			switch {
			case errors.As(err, &te):
				if sub.OnError != nil {
					sub.OnError(e, attempt, err)
				}
				_ = msg.TermWithReason("fails verification")
				return nil
			case err == nil && !use:
				return msg.Ack() // an acknowledged bad event, or one already passed
			case err == nil:
				verified = true
			}
		}
		if err == nil {
			err = sub.Handler(hctx, e)
		}
		if err == nil {
			return msg.Ack()
		}
		if sub.OnError != nil {
			sub.OnError(e, attempt, err)
		}
		_ = msg.InProgress() // keep the message ours while we retry
		select {
		case <-ctx.Done():
			_ = msg.Nak()
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, sub.MaxBackoff)
	}
}
