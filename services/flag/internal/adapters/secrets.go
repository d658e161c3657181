package adapters

import (
	"context"
	"fmt"
	"slices"
	"sync"
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
	mu   sync.Mutex
	next map[string]time.Time
}

// NewSecretSchedule builds the view; Projection runs it.
func NewSecretSchedule(ctx context.Context, js jetstream.JetStream, opts projection.Options) (*SecretSchedule, error) {
	v := &SecretSchedule{next: map[string]time.Time{}}
	spec := projection.Aggregates("secret_schedule", app.SecretSetKind)
	spec.OnChange = func(env string, s *envcfg.SecretSet, deleted bool) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if n := envcfg.Next(s); deleted || n.IsZero() {
			delete(v.next, env)
		} else {
			v.next[env] = n
		}
	}
	spec.OnReset = func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		clear(v.next)
	}
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	return v, nil
}

// Projection is the view's projection.
func (v *SecretSchedule) Projection() *projection.Projection[*envcfg.SecretSet] { return v.proj }

// Due lists the environments with work due at now.
func (v *SecretSchedule) Due(now time.Time) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for env, t := range v.next {
		if !t.After(now) {
			out = append(out, env)
		}
	}
	slices.Sort(out)
	return out
}

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
