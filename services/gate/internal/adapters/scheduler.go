package adapters

import (
	"context"
	"time"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/services/gate/internal/app"
)

// Scheduler fires the runs' deadlines and override expiries. Its state is
// the runs view, rebuilt from the log, so a deadline that passed while no
// instance ran fires as soon as one starts; two instances firing the same
// deadline append once (the kernel decides on the run's current state).
type Scheduler struct {
	Runs     *Runs
	Service  *app.Service
	Interval time.Duration // how often due runs are looked for (default 1s)
	OnError  func(error)
}

// Run fires due runs until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Second
	}
	select { // the view first restores what the log holds
	case <-s.Runs.Projection().Ready():
	case <-ctx.Done():
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, id := range s.Runs.Due(s.Service.Now()) {
			tctx := causal.System(ctx, "gate-scheduler", causal.Key("gate-tick", id), "")
			if err := s.Service.Tick(tctx, id); err != nil && s.OnError != nil && ctx.Err() == nil {
				s.OnError(err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
