package adapters

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/penguinmails/floe/libs/eventstore"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
)

// FlagRollouts implements app.FlagRollouts: it takes a FLAG_ROLLOUT step's
// answer from the flag service's events on the deployment environment's flag
// set (flagset.<environment>): RolloutSet or FlagRolloutRefused naming the
// deployment and the step. It reads the stream from its start (an answer
// recorded while the deployer was down counts), verified (only an answer the
// flag service signed counts), never a core subscription: a core subscriber
// also receives the events of a batch the stream refused.
type FlagRollouts struct {
	// Verifier reads the log.
	Verifier *eventstore.Verifier
}

// Await implements app.FlagRollouts. The wait ends at deadline, but never
// before the events already in the log have been read.
func (f *FlagRollouts) Await(ctx context.Context, d *domain.Deployment, index int, deadline time.Time) (app.FlagAnswer, error) {
	if f.Verifier == nil {
		return app.FlagAnswer{}, errors.New("flag rollouts: a verifier is required")
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		ans   app.FlagAnswer
		timer *time.Timer
	)
	defer func() {
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
	}()
	step := uint32(index)
	env := d.Environment()
	filters := []string{eventstore.EventFilterOf(&flagv1.RolloutSet{}, env), eventstore.EventFilterOf(&flagv1.FlagRolloutRefused{}, env)}
	err := f.Verifier.Follow(wctx, filters, func(e *eventstore.RecordedEvent) error {
		m, err := e.Decode()
		if err != nil {
			return nil // not an answer this deployer can read
		}
		var got app.FlagAnswer
		switch ev := m.(type) {
		case *flagv1.RolloutSet:
			if ev.GetDeploymentId() != d.ID() || ev.GetStep() != step {
				return nil
			}
			got = app.FlagAnswer{Answered: true, Applied: true, Detail: ev.GetRollout().GetVariant() + " for " + percent(ev), Position: e.Seq}
		case *flagv1.FlagRolloutRefused:
			if ev.GetDeploymentId() != d.ID() || ev.GetStep() != step {
				return nil
			}
			got = app.FlagAnswer{Answered: true, Detail: ev.GetReason(), Position: e.Seq}
		default:
			return nil
		}
		mu.Lock()
		ans = got
		mu.Unlock()
		cancel()
		return nil
	}, func() {
		// Caught up with the log: from now on, wait no longer than the deadline.
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(max(0, time.Until(deadline)), cancel)
	})
	mu.Lock()
	defer mu.Unlock()
	if ans.Answered {
		return ans, nil
	}
	if err != nil {
		return app.FlagAnswer{}, err
	}
	if ctx.Err() != nil {
		return app.FlagAnswer{}, ctx.Err()
	}
	return app.FlagAnswer{}, nil // the deadline passed
}

func percent(ev *flagv1.RolloutSet) string {
	if p, ok := ev.GetRollout().GetStrategy().(*flagv1.Rollout_Percentage); ok {
		return fmt.Sprintf("%d%%", p.Percentage.GetPercent())
	}
	return "a rollout"
}
