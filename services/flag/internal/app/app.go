// Package app runs the flag service's commands on the command kernel: an
// environment's flag set is one aggregate, so every change to it is ordered
// and a sync stream or an ETag can name its version.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/flageval"
	"github.com/penguinmails/floe/libs/kernel"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/flag/internal/domain"
)

// FlagSetKind describes an environment's flag set to the kernel and views.
var FlagSetKind = kernel.Kind[*domain.FlagSet]{
	Name: domain.AggFlagSet,
	New:  domain.NewFlagSet,
	Apply: func(s *domain.FlagSet, e *eventstore.RecordedEvent) (*domain.FlagSet, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		s.Apply(m, domain.Meta{Actor: e.Actor, Time: e.Time, Position: e.Seq})
		return s, nil
	},
	Codec:         kernel.Codec[*domain.FlagSet]{Schema: domain.FlagSetSchema, Marshal: domain.MarshalFlagSet, Unmarshal: domain.UnmarshalFlagSet},
	SnapshotEvery: 100,
}

// ReleaseEvents are the release events the flag service reacts to.
var ReleaseEvents = eventstore.EventFilters(&releasev1.ReleaseRolledBack{})

// DeploymentEvents are the deployer events the flag service reacts to (the
// FLAG_ROLLOUT steps of feature-flag deployments).
var DeploymentEvents = eventstore.EventFilters(&deployv1.DeploymentStepStarted{})

// ReactionEvents are every event the flag service reacts to. One
// subscription reads them all, in log order: a deployment's flag steps come
// before the release's rollback in the log, so they are applied before it is
// reverted even when the flag service catches up after a stop.
var ReactionEvents = append(append([]string{}, ReleaseEvents...), DeploymentEvents...)

// Service handles flag commands.
type Service struct {
	sets *kernel.Handler[*domain.FlagSet]
	now  func() time.Time
}

// New returns a Service on store.
func New(store eventstore.Store, snaps *eventstore.Snapshots, now func() time.Time) (*Service, error) {
	if store == nil {
		return nil, errors.New("flag app: a store is required")
	}
	if now == nil {
		now = time.Now
	}
	sets, err := kernel.New(store, FlagSetKind, kernel.Options{Snapshots: snaps, Clock: now})
	if err != nil {
		return nil, err
	}
	return &Service{sets: sets, now: now}, nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// change runs one decision on env's flag set and returns the flag key's
// state after it (a copy).
func (s *Service) change(ctx context.Context, env, key string, decide func(*domain.FlagSet) ([]proto.Message, error)) (*flagv1.Flag, error) {
	var out *flagv1.Flag
	_, err := s.sets.Execute(ctx, kernel.Command[*domain.FlagSet]{
		ID:     env,
		Decide: decide,
		Observe: func(fs *domain.FlagSet) {
			if f := fs.Flags[key]; f != nil {
				out = proto.Clone(f).(*flagv1.Flag)
			}
		},
	})
	return out, err
}

// Create adds a flag.
func (s *Service) Create(ctx context.Context, f *flagv1.Flag, reason string) (*flagv1.Flag, error) {
	return s.change(ctx, f.GetEnvironment(), f.GetKey(), func(fs *domain.FlagSet) ([]proto.Message, error) { return domain.Create(fs, f, reason) })
}

// Update replaces a flag's definition.
func (s *Service) Update(ctx context.Context, f *flagv1.Flag, reason string, expected uint64) (*flagv1.Flag, error) {
	return s.change(ctx, f.GetEnvironment(), f.GetKey(), func(fs *domain.FlagSet) ([]proto.Message, error) {
		return domain.Update(fs, f, reason, expected)
	})
}

// SetRollout sets a flag's rollout, under a release when one is named.
func (s *Service) SetRollout(ctx context.Context, env, key string, r *flagv1.Rollout, reason, release, deployment string) (*flagv1.Flag, error) {
	return s.change(ctx, env, key, func(fs *domain.FlagSet) ([]proto.Message, error) {
		return domain.SetRollout(fs, key, r, reason, release, deployment)
	})
}

// Kill disables a flag at once.
func (s *Service) Kill(ctx context.Context, env, key, reason string) (*flagv1.Flag, error) {
	return s.change(ctx, env, key, func(fs *domain.FlagSet) ([]proto.Message, error) { return domain.Kill(fs, key, reason) })
}

// Schedule schedules a change; its id is new.
func (s *Service) Schedule(ctx context.Context, env, key string, at time.Time, c *flagv1.FlagChange, reason string) (*flagv1.ScheduledChange, error) {
	id := "sc-" + ulid.Make().String()
	f, err := s.change(ctx, env, key, func(fs *domain.FlagSet) ([]proto.Message, error) {
		return domain.Schedule(fs, key, id, at, c, reason, s.now())
	})
	if err != nil {
		return nil, err
	}
	for _, sc := range f.GetScheduled() {
		if sc.GetId() == id {
			return sc, nil
		}
	}
	return nil, errors.New("flag app: the scheduled change is not in the flag after its append")
}

// Cancel cancels a scheduled change.
func (s *Service) Cancel(ctx context.Context, env, key, id, reason string) (*flagv1.Flag, error) {
	return s.change(ctx, env, key, func(fs *domain.FlagSet) ([]proto.Message, error) { return domain.Cancel(fs, key, id, reason) })
}

// Tick applies the scheduled changes of env that are due.
func (s *Service) Tick(ctx context.Context, env string) error {
	now := s.now()
	_, err := s.sets.Execute(ctx, kernel.Command[*domain.FlagSet]{
		ID:     env,
		Decide: func(fs *domain.FlagSet) ([]proto.Message, error) { return domain.Due(fs, now), nil },
	})
	return err
}

// OnEvent handles an event of ReactionEvents.
func (s *Service) OnEvent(ctx context.Context, cause *eventstore.RecordedEvent) error {
	m, err := cause.Decode()
	if err != nil {
		return nil
	}
	switch m.(type) {
	case *releasev1.ReleaseRolledBack:
		return s.OnReleaseEvent(ctx, cause)
	case *deployv1.DeploymentStepStarted:
		return s.OnDeploymentEvent(ctx, cause)
	}
	return nil
}

// OnDeploymentEvent applies a feature-flag deployment's FLAG_ROLLOUT step
// (DeploymentStepStarted) to the environment's flag set: RolloutSet naming
// the deployment and step, or FlagRolloutRefused with the reason; the
// deployer waits for either. Other steps, and steps recorded before
// DeploymentStepStarted named its environment and release, are ignored. A
// redelivered event changes nothing twice: the command's idempotency key
// derives from the event (ctx's reaction origin), so a retry replays the
// first outcome.
func (s *Service) OnDeploymentEvent(ctx context.Context, cause *eventstore.RecordedEvent) error {
	var ev deployv1.DeploymentStepStarted
	if err := cause.DecodeInto(&ev); err != nil {
		return nil
	}
	if ev.GetStep().GetKind() != deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT || !eventstore.ValidID(ev.GetEnvironment()) || ev.GetReleaseId() == "" {
		return nil
	}
	deployment := ev.GetDeploymentId()
	if deployment == "" {
		deployment = cause.AggregateID
	}
	st := domain.DeploymentStep{Deployment: deployment, Release: ev.GetReleaseId(), Index: ev.GetIndex(),
		Key: ev.GetStep().GetFlag(), Percent: ev.GetStep().GetWeight(), Variant: ev.GetStep().GetVariant()}
	_, err := s.sets.Execute(ctx, kernel.Command[*domain.FlagSet]{
		ID:     ev.GetEnvironment(),
		Decide: func(fs *domain.FlagSet) ([]proto.Message, error) { return domain.DeploymentRollout(fs, st), nil },
	})
	return err
}

// OnReleaseEvent reverts the flag changes a release made in an environment
// when it is rolled back there. A redelivered event reverts nothing twice
// (what was reverted is no longer recorded as the release's).
func (s *Service) OnReleaseEvent(ctx context.Context, cause *eventstore.RecordedEvent) error {
	m, err := cause.Decode()
	if err != nil {
		return nil
	}
	ev, ok := m.(*releasev1.ReleaseRolledBack)
	if !ok || !eventstore.ValidID(ev.GetEnvironment()) {
		return nil
	}
	_, err = s.sets.Execute(ctx, kernel.Command[*domain.FlagSet]{
		ID: ev.GetEnvironment(),
		Decide: func(fs *domain.FlagSet) ([]proto.Message, error) {
			return domain.Revert(fs, cause.AggregateID, ev.GetDeploymentId(), ev.GetReason()), nil
		},
	})
	return err
}

// History lists every change of a flag, oldest first, from the log.
func (s *Service) History(ctx context.Context, env, key string) ([]*flagv1.FlagHistoryEntry, error) {
	_, events, err := s.sets.Replay(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []*flagv1.FlagHistoryEntry
	for _, e := range events {
		m, err := e.Decode()
		if err != nil {
			continue
		}
		summary, reason, release, ok := domain.Describe(m, key)
		if !ok {
			continue
		}
		out = append(out, &flagv1.FlagHistoryEntry{
			Position: e.Seq, At: timestamppb.New(e.Time), Actor: e.Actor, Type: e.Type,
			Summary: summary, Reason: reason, ReleaseId: release, CausationId: e.CausationID,
		})
	}
	return out, nil
}

// Import adds or replaces flags of env from a flagd flag-definition file,
// validated as flagd would first (each problem with its JSON path).
func (s *Service) Import(ctx context.Context, env string, data []byte, reason string) ([]*flagv1.Flag, error) {
	if _, err := flageval.Parse(data); err != nil {
		var de *flageval.DefinitionError
		if errors.As(err, &de) {
			var v errs.Violations
			for _, p := range de.Problems {
				v.Add("definition", "%s", p.String())
			}
			return nil, v.Err()
		}
		return nil, errs.Invalid("definition", "%v", err)
	}
	flags, err := domain.FromFlagd(data, env)
	if err != nil {
		return nil, errs.Invalid("definition", "%v", err)
	}
	sum := sha256.Sum256(data)
	var out []*flagv1.Flag
	_, err = s.sets.Execute(ctx, kernel.Command[*domain.FlagSet]{
		ID: env,
		Decide: func(fs *domain.FlagSet) ([]proto.Message, error) {
			return domain.Import(fs, flags, reason, "sha256:"+hex.EncodeToString(sum[:]))
		},
		Observe: func(fs *domain.FlagSet) {
			out = out[:0]
			for _, f := range flags {
				if cur := fs.Flags[f.GetKey()]; cur != nil {
					out = append(out, proto.Clone(cur).(*flagv1.Flag))
				}
			}
		},
	})
	return out, err
}
