package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/deployer/internal/adapters"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver/local"
)

// blockingAnalyzer never decides: it holds the step until its context ends.
type blockingAnalyzer struct{ started chan struct{} }

func (a *blockingAnalyzer) Analyze(ctx context.Context, _ *domain.Deployment, _ time.Duration) (bool, string, error) {
	select {
	case a.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return false, "", ctx.Err()
}

// TestRollbackInterruptsAnalysis: a rollback requested while an analysis step
// runs (a one-hour window here) does not wait for the window: the step is
// interrupted and the rollback completes.
func TestRollbackInterruptsAnalysis(t *testing.T) {
	blocking := &blockingAnalyzer{started: make(chan struct{}, 1)}
	r := newRigWith(t, []string{"setWeight 30", "analysis 1h"}, func(*eventstore.Verifier, *local.Driver) app.Analyzer { return blocking })
	stable := r.promote(t, "r1", "1.0.0", domain.BigBang)
	r.waitFor(t, stable, succeeded, "1.0.0 live")
	id := r.promote(t, "r2", "1.1.0", domain.Canary)
	select {
	case <-blocking.started:
	case <-time.After(60 * time.Second):
		t.Fatal("the analysis step did not start")
	}
	r.trigger(t, id, 1)
	d := r.waitFor(t, id, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK
	}, "rolled back during the analysis")
	if got := r.share(t, 50); got["1.0.0"] != 1 {
		t.Errorf("traffic after the rollback: %v", got)
	}
	if d.RollbackTrigger() != "monitor" {
		t.Errorf("rollback trigger %q", d.RollbackTrigger())
	}
}

func succeeded(d *domain.Deployment) bool {
	return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
}

// verdict appends the monitor's AnalysisCompleted for step of a deployment.
func (r *rig) verdict(t *testing.T, id string, step uint32, result string) {
	t.Helper()
	ctx := causal.With(context.Background(), causal.Origin{Actor: "system:monitor"})
	st, err := r.store.Load(ctx, "monitoring", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.store.Append(ctx, "monitoring", id, st.Version, testMeta, eventstore.Event{Message: &monitorv1.AnalysisCompleted{
		DeploymentId: id, Step: step, Verdict: &monitorv1.Verdict{Result: result, Reason: "error_rate: " + result},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMonitorAnalyzerVerdicts: with the monitor judging analysis steps, a
// pass verdict lets the canary go on, a fail verdict rolls it back with the
// monitor's reason, and an inconclusive one falls back to the health checks.
func TestMonitorAnalyzerVerdicts(t *testing.T) {
	monitorAnalyzer := func(v *eventstore.Verifier, drv *local.Driver) app.Analyzer {
		return &adapters.MonitorAnalyzer{Verifier: v, Grace: time.Minute, Health: &app.DefaultAnalyzer{Driver: drv, Interval: 100 * time.Millisecond}}
	}
	// Analysis step index: start(0), check(1), setWeight(2), analysis(3).
	const analysisStep = 3
	for _, tt := range []struct {
		result string
		want   deployv1.DeploymentStatus
		reason string
	}{
		{"pass", deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED, ""},
		{"fail", deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK, "analysis failed: monitor: error_rate: fail"},
		{"inconclusive", deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED, ""},
	} {
		t.Run(tt.result, func(t *testing.T) {
			r := newRigWith(t, []string{"setWeight 30", "analysis 2s"}, monitorAnalyzer)
			stable := r.promote(t, "r1", "1.0.0", domain.BigBang)
			r.waitFor(t, stable, succeeded, "1.0.0 live")
			id := r.promote(t, "r2", "1.1.0", domain.Canary)
			r.waitFor(t, id, func(d *domain.Deployment) bool { return d.Current() == analysisStep }, "the analysis step")
			r.verdict(t, id, analysisStep, tt.result)
			d := r.waitFor(t, id, func(d *domain.Deployment) bool { return !d.Active() }, "the end")
			if d.Status() != tt.want {
				t.Fatalf("status %s (%s), want %s", d.Status(), d.Reason(), tt.want)
			}
			if tt.reason != "" && d.Reason() != tt.reason {
				t.Errorf("reason %q, want %q", d.Reason(), tt.reason)
			}
			if tt.result == "inconclusive" {
				st, _ := r.engine.Load(context.Background(), id)
				if res := resultOf(st, analysisStep); !strings.Contains(res, "monitor inconclusive") || !strings.Contains(res, "healthy") {
					t.Errorf("step result %q: want the fallback to health checks recorded", res)
				}
			}
		})
	}
}

// Regression: the analyzer took verdicts from a core NATS subscription,
// which also receives the events of a batch the stream refuses. A monitor
// replica that lost the race to record a "fail" verdict still rolled the
// canary back, on a verdict the log never held.
func TestMonitorAnalyzerIgnoresRefusedVerdict(t *testing.T) {
	monitorAnalyzer := func(v *eventstore.Verifier, drv *local.Driver) app.Analyzer {
		return &adapters.MonitorAnalyzer{Verifier: v, Grace: time.Minute, Health: &app.DefaultAnalyzer{Driver: drv, Interval: 100 * time.Millisecond}}
	}
	const analysisStep = 3
	r := newRigWith(t, []string{"setWeight 30", "analysis 2s"}, monitorAnalyzer)
	stable := r.promote(t, "r1", "1.0.0", domain.BigBang)
	r.waitFor(t, stable, succeeded, "1.0.0 live")
	id := r.promote(t, "r2", "1.1.0", domain.Canary)
	r.waitFor(t, id, func(d *domain.Deployment) bool { return d.Current() == analysisStep }, "the analysis step")

	// Two monitor replicas: both read the aggregate, the first records the step's start, the
	// second's stale append of a fail verdict reaches the server and is refused.
	ctx := causal.With(context.Background(), causal.Origin{Actor: "system:monitor"})
	loser, err := eventstore.Open(ctx, r.js, eventstore.Options{Source: "floe/test", Aggregates: []string{"monitoring"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := loser.Load(ctx, "monitoring", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Append(ctx, "monitoring", id, st.Version, testMeta, eventstore.Event{Message: &monitorv1.AnalysisStarted{Step: analysisStep}}); err != nil {
		t.Fatal(err)
	}
	fail := &monitorv1.AnalysisCompleted{DeploymentId: id, Step: analysisStep, Verdict: &monitorv1.Verdict{Result: "fail", Reason: "the refused verdict"}}
	if _, err := loser.Append(ctx, "monitoring", id, st.Version, testMeta, eventstore.Event{Message: fail}, eventstore.Event{Message: fail}); err == nil {
		t.Fatal("the stale append was stored")
	}
	r.verdict(t, id, analysisStep, "pass")
	d := r.waitFor(t, id, func(d *domain.Deployment) bool { return !d.Active() }, "the end")
	if d.Status() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED {
		t.Fatalf("status %s (%s); want SUCCEEDED on the recorded pass verdict", d.Status(), d.Reason())
	}
}

func resultOf(d *domain.Deployment, step int) string {
	return domain.ToProto(d).GetSteps()[step].GetResult()
}
