package app_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/signtest"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/deployer/internal/adapters"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver/local"
)

var (
	buildOnce  sync.Once
	demoappBin string
	buildErr   error
)

func demoapp(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "floe-demoapp-")
		if err != nil {
			buildErr = err
			return
		}
		demoappBin = filepath.Join(dir, "demoapp")
		cmd := exec.Command("go", "build", "-o", demoappBin, "./demoapp")
		cmd.Dir = filepath.Join("..", "..", "..", "..", "tools")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build demoapp: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return demoappBin
}

type rig struct {
	engine *app.Engine
	store  *eventstore.JetStreamStore
	js     jetstream.JetStream
	proxy  string
	drv    *local.Driver
	cancel func()

	verifier *eventstore.Verifier
	canary   []string
	analyzer func(v *eventstore.Verifier, drv *local.Driver) app.Analyzer
}

// newRig runs an engine with the real local driver (demoapp processes behind
// the weighted proxy) on a real embedded JetStream.
func newRig(t testing.TB, canary []string) *rig { return newRigWith(t, canary, nil) }

// newRigWith is newRig with an analyzer built from the rig's connection and store (nil: the default).
func newRigWith(t testing.TB, canary []string, analyzer func(v *eventstore.Verifier, drv *local.Driver) app.Analyzer) *rig {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	store, verifier := signtest.Store(t, js, "floe/test", app.Aggregate, "release", "trigger", "monitoring")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	proxy := l.Addr().String()
	l.Close()
	r := &rig{store: store, js: js, proxy: proxy, verifier: verifier, canary: canary, analyzer: analyzer}
	r.start(t)
	t.Cleanup(func() { r.stop() })
	return r
}

// start runs an engine and a local driver (both new) over the rig's log.
func (r *rig) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	drv, err := local.New(local.Config{
		Command:    []string{demoapp(t), "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"},
		Proxies:    map[string]string{"production": r.proxy},
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := adapters.OpenRegistry(ctx, r.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := domain.DefaultStrategyConfig()
	cfg.Canary.Steps = r.canary
	var an app.Analyzer
	if r.analyzer != nil {
		an = r.analyzer(r.verifier, drv)
	}
	eng, err := app.NewEngine(r.store, nil, drv, reg, an, nil, app.Config{App: "demo", Strategies: map[string]domain.StrategyConfig{"production": cfg}, CheckAttempts: 2,
		Configs: &adapters.Configs{Verifier: r.verifier}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = eng.Run(ctx); close(done) }()
	r.engine, r.drv = eng, drv
	r.cancel = func() { cancel(); <-done }
}

// stop stops the engine and the driver (its processes end).
func (r *rig) stop() {
	r.cancel()
	_ = r.drv.Close(context.Background())
}

// testMeta is the metadata of the tests' own appends.
var testMeta = eventstore.Meta{Actor: "tester"}

func (r *rig) promote(t testing.TB, release, version string, strategy deployv1.DeploymentStrategy) string {
	t.Helper()
	ctx := causal.With(context.Background(), causal.Origin{Actor: "bob"})
	p := &releasev1.PromotionRequested{ReleaseId: release, Version: version, Environment: "production", StrategyType: strategy, RequestedBy: "bob", Attempt: 1}
	res, err := r.store.Append(ctx, "release", release, eventstore.NoStream, testMeta, eventstore.Event{Message: p})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := r.store.Load(ctx, "release", release, nil)
	if err := r.engine.OnPromotion(causal.With(ctx, eventstore.ReactionOrigin("deployer-promotions", st.Events[0])), st.Events[0]); err != nil {
		t.Fatal(err)
	}
	_ = res
	return domain.ID(release, "production", 1)
}

func (r *rig) waitFor(t testing.TB, id string, cond func(*domain.Deployment) bool, what string) *domain.Deployment {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := r.engine.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; deployment: %+v", what, domain.ToProto(d))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// share sends n requests through the proxy and returns each version's share.
func (r *rig) share(t testing.TB, n int) map[string]float64 {
	t.Helper()
	counts := map[string]int{}
	client := &http.Client{Timeout: 5 * time.Second}
	for range n {
		resp, err := client.Get("http://" + r.proxy + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		counts[resp.Header.Get("X-Floe-Version")]++
	}
	out := map[string]float64{}
	for v, c := range counts {
		out[v] = float64(c) / float64(n)
	}
	return out
}

func waitingAt(i int) func(*domain.Deployment) bool {
	return func(d *domain.Deployment) bool {
		a := domain.Next(d)
		return a.Kind == domain.ActWaitResume && a.Index == i
	}
}

// TestCanaryWeightsAndRollback runs a canary with manual pauses on the local
// driver; at each pause real HTTP traffic through the proxy is split as the
// step says (within a tolerance), and a rollback puts 100% back on stable.
func TestCanaryWeightsAndRollback(t *testing.T) {
	r := newRig(t, []string{"setWeight 20", "pause", "setWeight 60", "pause"})
	stable := r.promote(t, "r1", "1.0.0", domain.BigBang)
	r.waitFor(t, stable, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	}, "1.0.0 live")

	id := r.promote(t, "r2", "1.1.0", domain.Canary)
	// Plan: 0 start, 1 check, 2 setWeight 20, 3 pause, 4 setWeight 60, 5 pause, 6 setWeight 100, 7 check, 8 stop previous.
	for _, step := range []struct {
		pause int
		want  float64
	}{{3, 0.20}, {5, 0.60}} {
		r.waitFor(t, id, waitingAt(step.pause), fmt.Sprintf("the pause at step %d", step.pause))
		got := r.share(t, 600)
		if d := got["1.1.0"] - step.want; d < -0.07 || d > 0.07 {
			t.Errorf("at step %d the canary got %.1f%% of traffic, want %.0f%% ± 7", step.pause, 100*got["1.1.0"], 100*step.want)
		}
		if got["1.1.0"]+got["1.0.0"] < 0.999 {
			t.Errorf("traffic went elsewhere: %v", got)
		}
		if step.pause == 5 {
			break
		}
		if _, err := r.engine.Resume(ctxActor("ops"), id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.engine.Rollback(ctxActor("ops"), id, "error rate too high", "manual"); err != nil {
		t.Fatal(err)
	}
	d := r.waitFor(t, id, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK
	}, "rolled back")
	if got := r.share(t, 200); got["1.0.0"] != 1 {
		t.Errorf("after the rollback traffic is %v, want 100%% on 1.0.0", got)
	}
	if d.Reason() != "error rate too high" {
		t.Errorf("reason = %q", d.Reason())
	}
}

// trigger appends a RollbackTriggered as the monitor would and hands it to
// the engine as its subscription would.
func (r *rig) trigger(t testing.TB, deploymentID string, n int) { r.fire(t, deploymentID, n, false) }

// fire is trigger, during the deployment's bake when duringBake.
func (r *rig) fire(t testing.TB, deploymentID string, n int, duringBake bool) {
	t.Helper()
	ctx := causal.With(context.Background(), causal.Origin{Actor: "system:monitor"})
	aggID := fmt.Sprintf("error-rate-%d", n)
	_, err := r.store.Append(ctx, "monitoring", aggID, eventstore.NoStream, testMeta, eventstore.Event{Message: &monitorv1.RollbackTriggered{
		DeploymentId: deploymentID, Environment: "production", Trigger: "error_rate", RuleVersion: 1,
		Metric: `rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m])`, Operator: ">", Threshold: 0.1, Observed: 0.2, SustainedSeconds: 300,
		DuringBake: duringBake,
	}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.store.Load(ctx, "monitoring", aggID, nil)
	if err != nil {
		t.Fatal(err)
	}
	// As the subscription delivers it: acting for the deployer, caused by the event.
	if err := r.engine.OnRollbackTriggered(causal.With(ctx, eventstore.ReactionOrigin("deployer-rollback-triggers", st.Events[0])), st.Events[0]); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackTriggeredByMonitor: a RollbackTriggered event rolls the
// canary back, records the observed values as the reason, and a second
// delivery of it changes nothing.
func TestRollbackTriggeredByMonitor(t *testing.T) {
	r := newRig(t, []string{"setWeight 30", "pause"})
	stable := r.promote(t, "r1", "1.0.0", domain.BigBang)
	r.waitFor(t, stable, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	}, "1.0.0 live")
	id := r.promote(t, "r2", "1.1.0", domain.Canary)
	r.waitFor(t, id, waitingAt(3), "the canary pause")
	r.trigger(t, id, 1)
	d := r.waitFor(t, id, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK
	}, "rolled back")
	if d.RollbackTrigger() != "monitor" || !strings.Contains(d.Reason(), "error_rate") || !strings.Contains(d.Reason(), "observed 0.2") {
		t.Errorf("trigger %q reason %q", d.RollbackTrigger(), d.Reason())
	}
	if got := r.share(t, 100); got["1.0.0"] != 1 {
		t.Errorf("traffic after the triggered rollback: %v", got)
	}
	before := d.AggregateVersion()
	r.trigger(t, id, 2) // fired again, late: nothing happens
	if d2, _ := r.engine.Load(context.Background(), id); d2.AggregateVersion() != before {
		t.Errorf("a late trigger changed the finished deployment (version %d → %d)", before, d2.AggregateVersion())
	}
}

// TestBakeRollback: a trigger that fires during the bake of a deployment
// that succeeded puts the previous version back with a new deployment; once
// it succeeds the deployment is recorded as rolled back, with the cause.
// Redelivery starts nothing twice; nothing is rolled back when there is no
// previous version, nor a rollback itself.
func TestBakeRollback(t *testing.T) {
	r := newRig(t, []string{"setWeight 50"})
	stable := r.promote(t, "r1", "1.0.0", domain.BigBang)
	succeeded := func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	}
	r.waitFor(t, stable, succeeded, "1.0.0 live")
	r.fire(t, stable, 1, true) // nothing before it to go back to
	if d, _ := r.engine.Load(context.Background(), app.BakeRollbackID(stable)); d.Exists() {
		t.Fatalf("a rollback of the first deployment started: %+v", domain.ToProto(d))
	}

	id := r.promote(t, "r2", "1.1.0", domain.Canary)
	r.waitFor(t, id, succeeded, "1.1.0 live")
	r.fire(t, id, 2, true)
	rid := app.BakeRollbackID(id)
	rd := r.waitFor(t, rid, succeeded, "the bake's rollback deployment")
	if of, reason := rd.RollbackOf(); of != id || rd.Version() != "1.0.0" || !strings.Contains(reason, "error_rate") {
		t.Errorf("rollback deployment: of %q version %q reason %q", of, rd.Version(), reason)
	}
	if got := r.share(t, 100); got["1.0.0"] != 1 {
		t.Errorf("traffic after the bake's rollback: %v", got)
	}
	r.fire(t, id, 3, true) // redelivered, or fired again: nothing new
	if again, _ := r.engine.Load(context.Background(), rid); again.AggregateVersion() != rd.AggregateVersion() {
		t.Errorf("a second firing changed the rollback deployment")
	}

	// The subscription hands the engine the rollback deployment's success.
	ctx := causal.With(context.Background(), causal.Origin{Actor: "system:deployer"})
	st, err := r.store.Load(ctx, app.Aggregate, rid, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := st.Events[len(st.Events)-1]
	for range 2 { // redelivery records it once
		if err := r.engine.OnBakeRollbackDone(causal.With(ctx, eventstore.ReactionOrigin("deployer-bake-rollbacks", last)), last); err != nil {
			t.Fatal(err)
		}
	}
	d := r.waitFor(t, id, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK
	}, "1.1.0 recorded as rolled back")
	if !strings.Contains(d.Reason(), "during its bake by deployment "+rid) || !strings.Contains(d.Reason(), "error_rate") {
		t.Errorf("reason %q", d.Reason())
	}
	orig, err := r.store.Load(ctx, app.Aggregate, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(orig.Events); orig.Events[n-1].Name != "RolledBack" || orig.Events[n-2].Name != "DeploymentSucceeded" {
		t.Errorf("deployment %s ends with %s, %s", id, orig.Events[n-2].Name, orig.Events[n-1].Name)
	}

	r.fire(t, rid, 4, true) // a rollback is not rolled back
	if d, _ := r.engine.Load(context.Background(), app.BakeRollbackID(rid)); d.Exists() {
		t.Errorf("a rollback was rolled back")
	}
}

func ctxActor(who string) context.Context {
	return causal.With(context.Background(), causal.Origin{Actor: who})
}

// BenchmarkRollbackToStable measures the time from a RollbackTriggered event
// (appended as the monitor would, delivered as the subscription would) to all
// traffic back on the stable version (p50/p99 over the iterations).
func BenchmarkRollbackToStable(b *testing.B) {
	r := newRig(b, []string{"setWeight 50", "pause"})
	stable := r.promote(b, "base", "1.0.0", domain.BigBang)
	r.waitFor(b, stable, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	}, "stable live")
	var lat []time.Duration
	client := &http.Client{Timeout: 5 * time.Second}
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		id := r.promote(b, fmt.Sprintf("c%d", i), fmt.Sprintf("1.0.%d", i), domain.Canary)
		r.waitFor(b, id, waitingAt(3), "canary at 50%")
		b.StartTimer()
		start := time.Now()
		r.trigger(b, id, i)
		// Traffic is back when 20 consecutive requests all hit stable.
		for ok := 0; ok < 20; {
			resp, err := client.Get("http://" + r.proxy + "/")
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.Header.Get("X-Floe-Version") == "1.0.0" {
				ok++
			} else {
				ok = 0
			}
		}
		lat = append(lat, time.Since(start))
		b.StopTimer()
		r.waitFor(b, id, func(d *domain.Deployment) bool { return !d.Active() }, "rollback done")
		b.StartTimer()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// TestAbortPauseResumeRetry: commands are events; abort restores the
// previous version; a retry is a new attempt (a new deployment id) that runs
// to success, while the aborted attempt stays as it was.
func TestAbortPauseResumeRetry(t *testing.T) {
	r := newRig(t, []string{"setWeight 40", "pause 30s"})
	stable := r.promote(t, "r1", "1.0.0", domain.BigBang)
	r.waitFor(t, stable, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	}, "1.0.0 live")

	id := r.promote(t, "r2", "1.1.0", domain.Canary)
	// Wait for the timed pause (step 3), then pause by command: the deployment holds after it.
	r.waitFor(t, id, func(d *domain.Deployment) bool {
		a := domain.Next(d)
		return a.Kind == domain.ActWaitUntil && a.Index == 3
	}, "the timed pause")
	if _, err := r.engine.Pause(ctxActor("ops"), id, "looking at dashboards"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.engine.Pause(ctxActor("ops"), id, "again"); err == nil {
		t.Error("pausing a paused deployment was accepted")
	}
	if _, err := r.engine.Abort(ctxActor("ops"), id, " "); err == nil {
		t.Error("abort without a reason was accepted")
	}
	if _, err := r.engine.Abort(ctxActor("ops"), id, "wrong build"); err != nil {
		t.Fatal(err)
	}
	aborted := r.waitFor(t, id, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ABORTED
	}, "aborted")
	if got := r.share(t, 100); got["1.0.0"] != 1 {
		t.Errorf("traffic after abort: %v", got)
	}
	retried, err := r.engine.Retry(ctxActor("ops"), id, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if retried.ID() != domain.ID("r2", "production", 2) || retried.Attempt() != 2 {
		t.Fatalf("retry = %s attempt %d, want a second attempt", retried.ID(), retried.Attempt())
	}
	// The new attempt runs its own steps; the aborted one is left exactly as it was.
	r.waitFor(t, retried.ID(), func(d *domain.Deployment) bool { return d.Current() >= 3 }, "the retry's first steps")
	again, _ := r.engine.Load(context.Background(), id)
	if again.AggregateVersion() != aborted.AggregateVersion() {
		t.Errorf("the aborted attempt changed after the retry (version %d → %d)", aborted.AggregateVersion(), again.AggregateVersion())
	}
	if _, err := r.engine.Retry(ctxActor("ops"), retried.ID(), "ops"); err == nil {
		t.Error("retrying an active deployment was accepted")
	}
}
