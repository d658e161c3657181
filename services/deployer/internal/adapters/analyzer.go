package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/eventstore"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
)

// MonitorAnalyzer implements app.Analyzer: it takes an analysis step's verdict from the monitor: the
// monitor records AnalysisCompleted (monitoring.<deployment id>) once the
// step's window has passed, judged from the PromQL rollback triggers'
// measurements. A fail verdict fails the step (and rolls back). An
// inconclusive verdict (too little data: say no traffic reached the new
// version) falls back to the health checks the Health analyzer ran over the
// same window. No verdict within the window plus Grace fails the step: a
// release must not pass an analysis nobody made.
type MonitorAnalyzer struct {
	// Verifier reads the log: only a verified verdict counts.
	Verifier *eventstore.Verifier
	// Health runs alongside, for inconclusive verdicts.
	Health app.Analyzer
	// Grace is how long after the window the verdict may take. Default 1m.
	Grace time.Duration
}

// Analyze implements Analyzer for the step d.Current().
func (a *MonitorAnalyzer) Analyze(ctx context.Context, d *domain.Deployment, window time.Duration) (bool, string, error) {
	step := uint32(d.Current())
	grace := a.Grace
	if grace <= 0 {
		grace = time.Minute
	}
	started, _ := d.StepTimes(d.Current())
	if started.IsZero() {
		started = time.Now()
	}
	deadline := started.Add(window + grace)

	type healthResult struct {
		pass    bool
		summary string
		err     error
	}
	healthCtx, stopHealth := context.WithCancel(ctx)
	defer stopHealth()
	health := make(chan healthResult, 1)
	go func() {
		if a.Health == nil {
			health <- healthResult{pass: false, summary: "no health analyzer"}
			return
		}
		p, s, err := a.Health.Analyze(healthCtx, d, window)
		health <- healthResult{p, s, err}
	}()

	v, err := a.verdict(ctx, d.ID(), step, deadline)
	if err != nil {
		return false, "", err
	}
	if v == nil {
		return false, fmt.Sprintf("no verdict from the monitor within %s after the window", grace), nil
	}
	result, _ := enumtext.Resolve(v.GetResultType(), v.GetResult())
	switch result {
	case monitorv1.VerdictResult_VERDICT_RESULT_PASS:
		return true, "monitor: " + v.GetReason(), nil
	case monitorv1.VerdictResult_VERDICT_RESULT_FAIL:
		return false, "monitor: " + v.GetReason(), nil
	}
	h := <-health
	if h.err != nil {
		return false, "", h.err
	}
	return h.pass, fmt.Sprintf("monitor inconclusive (%s); health checks: %s", v.GetReason(), h.summary), nil
}

// verdict waits until deadline for the AnalysisCompleted of step; nil when
// none came. It reads the stream (a verdict already recorded, say before a
// deployer restart, counts), never a core subscription: a core subscriber also
// receives the events of a batch the stream refused.
func (a *MonitorAnalyzer) verdict(ctx context.Context, id string, step uint32, deadline time.Time) (*monitorv1.Verdict, error) {
	wait, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var found *monitorv1.Verdict
	err := a.Verifier.Follow(wait, []string{eventstore.EventFilterOf(&monitorv1.AnalysisCompleted{}, id)},
		func(e *eventstore.RecordedEvent) error {
			var ac monitorv1.AnalysisCompleted
			if e.DecodeInto(&ac) == nil && ac.GetStep() == step {
				found = ac.GetVerdict()
				cancel()
			}
			return nil
		}, nil)
	if found != nil {
		return found, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, ctx.Err()
}
