package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/envcfg"
)

// SecretSchedule is the view of when each environment's secrets next need
// work (a rotation, the end of a grace period, an overdue report), rebuilt
// from the log, so work due while no instance ran is done when one starts.
type SecretSchedule struct {
	proj *projection.Projection[*envcfg.SecretSet]
	due  *projection.DueIndex
}

// NewSecretSchedule builds the view; Projection runs it.
func NewSecretSchedule(ctx context.Context, js jetstream.JetStream, opts projection.Options) (*SecretSchedule, error) {
	v := &SecretSchedule{due: projection.NewDueIndex()}
	spec := projection.Aggregates("secret_schedule", app.SecretSetKind)
	spec.OnChange = func(env string, s *envcfg.SecretSet, deleted bool) {
		if deleted {
			v.due.Set(env, time.Time{})
			return
		}
		v.due.Set(env, envcfg.Next(s))
	}
	spec.OnReset = v.due.Reset
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	return v, nil
}

// Projection is the view's projection.
func (v *SecretSchedule) Projection() *projection.Projection[*envcfg.SecretSet] { return v.proj }

// Due lists the environments with work due at now, soonest first.
func (v *SecretSchedule) Due(now time.Time) []string { return v.due.Due(now) }

// SecretScheduler does the secrets' due work every Interval.
type SecretScheduler struct {
	View     *SecretSchedule
	Config   *app.Config
	Now      func() time.Time
	Interval time.Duration // default 1s
	OnError  func(error)
}

// Run works until ctx ends.
func (s *SecretScheduler) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Second
	}
	select {
	case <-s.View.Projection().Ready():
	case <-ctx.Done():
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, env := range s.View.Due(s.Now()) {
			if err := s.Config.TickSecrets(causal.System(ctx, "secret-scheduler", "", ""), env); err != nil && s.OnError != nil && ctx.Err() == nil {
				s.OnError(fmt.Errorf("secrets of %s: %w", env, err))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
