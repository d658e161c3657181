package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Follow reads the events matching filters from the start of the log, in
// order, then keeps following new ones until ctx ends (it then returns nil)
// or fn returns an error. caughtUp (optional) is called once, after fn has
// seen every matching event that existed when Follow began: a service that
// rebuilds in-memory state from the log waits for it before serving.
//
// Follow uses an ephemeral ordered consumer, so it keeps no position: every
// call replays from the beginning. It suits small, complete views (rule
// definitions, the set of active deployments), not work that must happen
// once (use Subscribe for that). A message that is not a well-formed event is
// an error: a view that skipped it would be wrong.
func Follow(ctx context.Context, js jetstream.JetStream, stream string, filters []string, fn func(*RecordedEvent) error, caughtUp func()) error {
	return follow(ctx, js, stream, jetstream.OrderedConsumerConfig{FilterSubjects: filters}, nil, fn, caughtUp)
}

// Follow is eventstore.Follow on the verifier's stream, with every event
// verified before fn sees it: a bad event is never passed on (the alarm is
// raised), an acknowledged one is skipped.
func (v *Verifier) Follow(ctx context.Context, filters []string, fn func(*RecordedEvent) error, caughtUp func()) error {
	return follow(ctx, v.js, v.stream, jetstream.OrderedConsumerConfig{FilterSubjects: filters}, v.Chains(0), fn, caughtUp)
}

// FollowFrom is Follow from log position seq (≥ 1).
func FollowFrom(ctx context.Context, js jetstream.JetStream, stream string, filters []string, seq uint64, fn func(*RecordedEvent) error, caughtUp func()) error {
	return follow(ctx, js, stream, jetstream.OrderedConsumerConfig{FilterSubjects: filters, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: seq}, nil, fn, caughtUp)
}

// FollowFrom is Verifier.Follow from log position seq (≥ 1).
func (v *Verifier) FollowFrom(ctx context.Context, filters []string, seq uint64, fn func(*RecordedEvent) error, caughtUp func()) error {
	return follow(ctx, v.js, v.stream, jetstream.OrderedConsumerConfig{FilterSubjects: filters, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: seq}, v.Chains(0), fn, caughtUp)
}

// Tail is eventstore.Tail on the verifier's stream, verified as Follow is.
func (v *Verifier) Tail(ctx context.Context, filters []string, fn func(*RecordedEvent) error, started func(lastSeq uint64)) error {
	return tail(ctx, v.js, v.stream, v.Chains(0), filters, fn, started)
}

// Tail is Follow from the end of the log: fn sees, in order, every matching
// event appended after the stream's last sequence at the time of the call,
// and nothing older. started (optional) is called with that sequence once the
// starting point is fixed: an RPC that relays events can tell its client the
// watch is live.
//
// Unlike a core NATS subscription to the same subjects, Tail delivers only
// what the stream stored: the messages of an atomic batch that the stream
// refuses (a lost optimistic-concurrency race) reach core subscribers all
// the same. Nor does it drop anything: a slow fn slows the pulls.
func Tail(ctx context.Context, js jetstream.JetStream, stream string, filters []string, fn func(*RecordedEvent) error, started func(lastSeq uint64)) error {
	return tail(ctx, js, stream, nil, filters, fn, started)
}

func tail(ctx context.Context, js jetstream.JetStream, stream string, chains *Chains, filters []string, fn func(*RecordedEvent) error, started func(lastSeq uint64)) error {
	st, err := js.Stream(ctx, stream)
	if ended(ctx) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tail %v: %w", filters, err)
	}
	last := st.CachedInfo().State.LastSeq // fresh: js.Stream just fetched it
	if started != nil {
		started(last)
	}
	return follow(ctx, js, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: last + 1,
	}, chains, fn, nil)
}

// followResetAttempts bounds the attempts at creating a follower's
// consumer again (each up to 10 s, 1-10 s apart).
const followResetAttempts = 5

func follow(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, chains *Chains, fn func(*RecordedEvent) error, caughtUp func()) error {
	if len(cfg.FilterSubjects) == 0 {
		cfg.FilterSubjects = []string{SubjectPrefix + ">"}
	}
	filters := cfg.FilterSubjects
	if cfg.MaxResetAttempts == 0 {
		// nats.go retries a reset for ever by default, ignoring ctx (a
		// fetch takes no context): a consumer that cannot be created again
		// — seen after a NATS node died under load — hung its reader
		// silently. Bounded, the error reaches the caller, which retries.
		cfg.MaxResetAttempts = followResetAttempts
	}
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if ended(ctx) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("follow %v: %w", filters, err)
	}
	handle := func(m jetstream.Msg) error {
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("follow: %w", err)
		}
		e, err := Decode(meta.Sequence.Stream, m.Subject(), m.Headers(), m.Data())
		if err != nil {
			return err
		}
		if chains != nil {
			use, err := chains.Check(ctx, e)
			var te *TamperError
			if errors.As(err, &te) {
				return nil // never passed on; the alarm is raised
			}
			if err != nil || !use {
				return err
			}
		}
		return fn(e)
	}
	// fetch runs one pull request and handles what it returns; n counts the messages.
	fetch := func(wait bool) (n int, err error) {
		var batch jetstream.MessageBatch
		if wait {
			fctx, cancel := context.WithTimeout(ctx, followWait)
			defer cancel()
			batch, err = cons.Fetch(256, jetstream.FetchContext(fctx))
		} else {
			batch, err = cons.FetchNoWait(256)
		}
		if err != nil {
			return 0, fmt.Errorf("follow %v: %w", filters, err)
		}
		for m := range batch.Messages() {
			n++
			if err := handle(m); err != nil {
				return n, err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return n, fmt.Errorf("follow %v: %w", filters, err)
		}
		return n, nil
	}
	// Catch up without waiting, until nothing is left; then follow with
	// long-polling pull requests (each returns messages as they arrive).
	caught := false
	for {
		n, err := fetch(caught)
		if ended(ctx) {
			return nil
		}
		if err != nil {
			return err
		}
		if n == 0 && !caught {
			caught = true
			if caughtUp != nil {
				caughtUp()
			}
		}
	}
}

// ended reports whether ctx is done or its deadline has passed: nats.go
// refuses a request past the deadline ("context deadline already exceeded")
// a moment before ctx itself reports it.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// followWait is how long one pull request of Follow waits for new events.
const followWait = 5 * time.Second
