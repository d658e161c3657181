package app_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/app"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

// Benchmarks of the monitor's evaluation round on a real JetStream event log
// and a real embedded TSDB, with the guide's default triggers and metrics,
// against a bare append to the same log in the same run. They run only with
// -bench; see docs/performance.md, "Monitor".

const benchInterval = 15 * time.Second

// benchEnv is the test harness's setup for benchmarks (testing.TB): a
// monitor with the guide's two default triggers (error_rate > 0.10 for
// 300 s → rollback, response_time_p95 > 5 s for 180 s → alert) over the
// default metrics, evaluated every 15 s of a clock the benchmark moves.
type benchEnv struct {
	tb      testing.TB
	ctx     context.Context
	store   *eventstore.JetStreamStore
	deploys *eventstore.JetStreamStore
	tsdb    *metrics.Embedded
	svc     *app.Service

	mu  sync.Mutex
	now time.Time
	// requests counted so far, by version
	total map[string]float64
}

func newBenchEnv(tb testing.TB) *benchEnv {
	tb.Helper()
	_, _, js := natstest.JetStream(tb)
	ctx := causal.With(tb.Context(), causal.Origin{Actor: "bench"})
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/monitor", Aggregates: []string{app.AggMonitoring, app.AggTrigger, app.AggAlertRule, app.AggAlert}})
	if err != nil {
		tb.Fatal(err)
	}
	env := &benchEnv{tb: tb, ctx: ctx, store: store, now: time.Now().Truncate(time.Second), total: map[string]float64{}}
	if env.deploys, err = eventstore.Open(ctx, js, eventstore.Options{Source: "floe/deployer", Aggregates: []string{"deployment"}, Clock: env.clock}); err != nil {
		tb.Fatal(err)
	}
	if env.tsdb, err = metrics.OpenEmbedded(tb.TempDir(), 24*time.Hour); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = env.tsdb.Close() })
	env.svc = benchService(tb, ctx, js, store, env.tsdb)
	env.svc.SetClock(env.clock)
	for _, t := range domain.DefaultTriggers() {
		if _, err := env.svc.CreateTrigger(ctx, t); err != nil {
			tb.Fatal(err)
		}
	}
	return env
}

// benchService starts a catalog following the log and a service on it, with
// the default metrics (Config.Metrics nil) and a 15 s interval.
func benchService(tb testing.TB, ctx context.Context, js jetstream.JetStream, store *eventstore.JetStreamStore, src metrics.Source) *app.Service {
	tb.Helper()
	catalog := startCatalog(tb, ctx, js)
	svc, err := app.New(store, nil, src, nil, catalog, app.Config{Interval: benchInterval}, zerolog.Nop(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

func (e *benchEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *benchEnv) advance() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(benchInterval)
}

// deploymentEvent appends a deployer event and hands it to the monitor, as
// its subscription would, then waits until the catalog has followed.
func (e *benchEnv) deploymentEvent(id string, m proto.Message) {
	e.tb.Helper()
	st, err := e.deploys.Load(e.ctx, "deployment", id, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	if _, err := e.deploys.Append(e.ctx, "deployment", id, st.Version, eventstore.Meta{Actor: "tester"}, eventstore.Event{Message: m}); err != nil {
		e.tb.Fatal(err)
	}
	if st, err = e.deploys.Load(e.ctx, "deployment", id, nil); err != nil {
		e.tb.Fatal(err)
	}
	cause := st.Events[len(st.Events)-1]
	if err := e.svc.OnDeploymentEvent(causal.With(e.ctx, eventstore.ReactionOrigin("monitor-deployments", cause)), cause); err != nil {
		e.tb.Fatal(err)
	}
	mon, err := e.store.Load(e.ctx, app.AggMonitoring, id, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	if n := len(mon.Events); n > 0 {
		if err := e.svc.Catalog().Wait(e.ctx, mon.Events[n-1].Seq); err != nil {
			e.tb.Fatal(err)
		}
	}
}

func (e *benchEnv) start(id, version string) {
	e.deploymentEvent(id, &deployv1.DeploymentStarted{DeploymentId: id, ReleaseId: "r-" + id, Version: version, Environment: "staging", App: "demo",
		Plan: []*deployv1.Step{{Kind: deployv1.StepKind_STEP_KIND_START}, {Kind: deployv1.StepKind_STEP_KIND_SET_WEIGHT, Weight: 20}}})
}

// traffic stores one scrape of a version's metrics at the clock's time, as
// the embedded source would: 10 requests a second since the last scrape, the
// share failed failing, and a latency histogram with p95 ≈ 0.5 s.
func (e *benchEnv) traffic(version string, failed float64) {
	e.tb.Helper()
	e.total[version] += 10 * benchInterval.Seconds()
	total := e.total[version]
	lp := func(k, v string) *dto.LabelPair { return &dto.LabelPair{Name: proto.String(k), Value: proto.String(v)} }
	counter := func(code string, v float64) *dto.Metric {
		return &dto.Metric{Label: []*dto.LabelPair{lp("code", code)}, Counter: &dto.Counter{Value: proto.Float64(v)}}
	}
	count := uint64(total)
	var buckets []*dto.Bucket
	for _, b := range []struct{ le, share float64 }{{0.1, 0.5}, {0.25, 0.8}, {0.5, 0.95}, {1, 0.99}, {5, 1}} {
		buckets = append(buckets, &dto.Bucket{UpperBound: proto.Float64(b.le), CumulativeCount: proto.Uint64(uint64(b.share * total))})
	}
	families := []*dto.MetricFamily{
		{Name: proto.String("http_requests_total"), Type: dto.MetricType_COUNTER.Enum(),
			Metric: []*dto.Metric{counter("200", total*(1-failed)), counter("500", total*failed)}},
		{Name: proto.String("http_request_duration_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(),
			Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: proto.Uint64(count), SampleSum: proto.Float64(0.2 * total), Bucket: buckets}}}},
	}
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return families, nil })
	if _, err := e.tsdb.Gather(e.ctx, g, map[string]string{"environment": "staging", "version": version}, e.clock()); err != nil {
		e.tb.Fatal(err)
	}
}

func (e *benchEnv) tick() time.Duration {
	start := time.Now()
	if err := e.svc.Tick(e.ctx); err != nil {
		e.tb.Fatalf("tick at %s: %v", e.clock(), err)
	}
	return time.Since(start)
}

// reportDurations reports the median and 99th percentile of ds.
func reportDurations(b *testing.B, ds []time.Duration, suffix string) (p50 time.Duration) {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	// nearest rank: the smallest duration at or above a share p of them
	q := func(p float64) time.Duration { return ds[max(0, int(math.Ceil(p*float64(len(ds))))-1)] }
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "p50-ms"+suffix)
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms"+suffix)
	return q(0.5)
}

// BenchmarkTick is one evaluation round (Service.Tick) with n active
// deployments × the 2 default triggers, all healthy (1 % errors, p95 0.5 s):
// per deployment, 2 PromQL queries and one append of the round's 2
// TriggerEvaluated events to the deployment's `monitoring` aggregate. Each
// iteration is a round 15 s after the previous one; storing the scrape that
// precedes it is not timed. Reports p50/p99 of the round and the p50 per
// deployment.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("deployments=%d", n), func(b *testing.B) {
			env := newBenchEnv(b)
			versions := make([]string, n)
			for i := range n {
				versions[i] = fmt.Sprintf("1.%d.0", i)
				env.start(fmt.Sprintf("r%d-staging-1", i), versions[i])
			}
			scrape := func() {
				env.advance()
				for _, v := range versions {
					env.traffic(v, 0.01)
				}
			}
			// Warm up: the caches are loaded, the rate windows have data.
			for range 4 {
				scrape()
				env.tick()
			}
			var ds, base []time.Duration
			heads := map[string]eventstore.Version{}
			two := benchBatches()[1]
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				scrape()
				base = append(base, bareAppend(b, env.ctx, env.store, heads, "baseline", two))
				b.StartTimer()
				ds = append(ds, env.tick())
			}
			b.StopTimer()
			m, err := env.svc.LoadMonitoring(env.ctx, "r0-staging-1")
			if err != nil {
				b.Fatal(err)
			}
			if got, want := len(m.Samples("error_rate")), 4+len(ds); got != want || len(m.Fired()) != 0 || m.Last("error_rate").GetNoData() {
				b.Fatalf("after %d rounds: %d error_rate samples (want %d), %d firings, last %v", len(ds), got, want, len(m.Fired()), m.Last("error_rate"))
			}
			p50 := reportDurations(b, ds, "")
			perDeployment := float64(p50.Microseconds()) / 1000 / float64(n)
			b.ReportMetric(perDeployment, "ms/deployment")
			slices.Sort(base)
			append2 := float64(base[(len(base)-1)/2].Microseconds()) / 1000
			b.ReportMetric(append2, "append2-p50-ms")
			b.ReportMetric(perDeployment/append2, "x-append2")
		})
	}
}

// BenchmarkDecisionLatency is the time of the evaluation round at which a
// canary's error_rate breach (20 % errors, > 0.10) reaches the trigger's 300
// s: from the start of Service.Tick until it returns, RollbackTriggered
// durably appended to the log (checked after each iteration). One active
// deployment; each iteration starts a new one, scrapes and evaluates it
// untimed until the next round is due to fire, times that round, and ends
// the deployment (RollbackStarted) as the deployer would. The round before
// it (breaching, not yet due) is reported too, as p50-ms-prev/p99-ms-prev.
func BenchmarkDecisionLatency(b *testing.B) {
	env := newBenchEnv(b)
	trigger := domain.DefaultTriggers()[0]
	var fire, prev, base1, base3 []time.Duration
	heads := map[string]eventstore.Version{}
	batches := benchBatches()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		id, version := fmt.Sprintf("r%d-staging-1", i), fmt.Sprintf("2.%d.0", i)
		i++
		env.start(id, version)
		for rounds := 0; ; rounds++ {
			if rounds > 40 {
				b.Fatalf("%s: no firing due after %d rounds", id, rounds)
			}
			env.advance()
			env.traffic(version, 0.2)
			m, err := env.svc.LoadMonitoring(env.ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			st, ok := m.TriggerState(trigger.Name)
			if ok && st.Breach.Active && st.LastBreaching && st.Breach.Sustained+benchInterval >= trigger.Duration {
				break
			}
			d := env.tick()
			if ok && st.Breach.Active && st.LastBreaching && st.Breach.Sustained+2*benchInterval >= trigger.Duration {
				prev = append(prev, d)
			}
		}
		b.StartTimer()
		fire = append(fire, env.tick())
		b.StopTimer()
		m, err := env.svc.LoadMonitoring(env.ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Fired()) != 1 {
			b.Fatalf("%s: %d firings after the due round, want 1", id, len(m.Fired()))
		}
		if rt, ok := m.Fired()[0].(*monitorv1.RollbackTriggered); !ok || rt.GetSustainedSeconds() != trigger.Duration.Seconds() {
			b.Fatalf("%s: fired %v", id, m.Fired()[0])
		}
		// The baselines, right after the round, on the same log.
		if i%2 == 0 {
			base1 = append(base1, bareAppend(b, env.ctx, env.store, heads, "baseline-1", batches[0]))
			base3 = append(base3, bareAppend(b, env.ctx, env.store, heads, "baseline-3", batches[2]))
		} else {
			base3 = append(base3, bareAppend(b, env.ctx, env.store, heads, "baseline-3", batches[2]))
			base1 = append(base1, bareAppend(b, env.ctx, env.store, heads, "baseline-1", batches[0]))
		}
		env.deploymentEvent(id, &deployv1.RollbackStarted{Reason: trigger.Name, Trigger: "monitor"})
		if n := len(env.svc.Catalog().Active()); n != 0 {
			b.Fatalf("%d deployments still active", n)
		}
		b.StartTimer()
	}
	b.StopTimer()
	p50 := reportDurations(b, fire, "")
	reportDurations(b, prev, "-prev")
	a1, a3 := reportDurations(b, base1, "-append1"), reportDurations(b, base3, "-append3")
	b.ReportMetric(float64(p50)/float64(a1), "x-append1")
	b.ReportMetric(float64(p50)/float64(a3), "x-append3")
}

// benchEvaluated is a TriggerEvaluated as a breaching round records it.
func benchEvaluated(trigger string) proto.Message {
	return &monitorv1.TriggerEvaluated{Trigger: trigger, RuleVersion: 1, At: timestamppb.Now(), Observed: 0.2, Kind: domain.KindNone,
		Query:     `sum(rate(http_requests_total{code=~"5..",environment="staging",version="2.0.0"}[1m])) / sum(rate(http_requests_total{environment="staging",version="2.0.0"}[1m]))`,
		Reason:    "error_rate: 0.2 > 0.1, sustained 4m45s of 5m0s",
		Sustained: durationpb.New(285 * time.Second)}
}

// benchFired is a RollbackTriggered as the firing round records it.
func benchFired() proto.Message {
	return &monitorv1.RollbackTriggered{DeploymentId: "r0-staging-1", ReleaseId: "r0", Environment: "staging", Version: "2.0.0",
		Trigger: "error_rate", RuleVersion: 1, Metric: "error_rate", Operator: ">", Threshold: 0.1, Observed: 0.2, SustainedSeconds: 300,
		BreachStartedAt: timestamppb.Now(), Cause: domain.CauseBreach, Reason: "error_rate: 0.2 > 0.1, sustained 5m0s of 5m0s; fired rollback"}
}

// benchBatches are the bare appends the baselines make: 1 TriggerEvaluated
// (a single-event append), 2 (what a round appends per deployment with the
// 2 default triggers) and 2 + RollbackTriggered (the firing round).
func benchBatches() [][]proto.Message {
	return [][]proto.Message{
		{benchEvaluated("error_rate")},
		{benchEvaluated("error_rate"), benchEvaluated("response_time_p95")},
		{benchEvaluated("error_rate"), benchEvaluated("response_time_p95"), benchFired()},
	}
}

// bareAppend appends msgs to a `monitoring` aggregate of its own with
// store.Append, nothing else, and returns how long the append took.
func bareAppend(tb testing.TB, ctx context.Context, store *eventstore.JetStreamStore, heads map[string]eventstore.Version, id string, msgs []proto.Message) time.Duration {
	tb.Helper()
	events := make([]eventstore.Event, len(msgs))
	for i, m := range msgs {
		events[i] = eventstore.Event{Message: m}
	}
	start := time.Now()
	res, err := store.Append(ctx, app.AggMonitoring, id, heads[id], eventstore.Meta{Actor: "tester"}, events...)
	d := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	heads[id] = res.Version
	return d
}

// BenchmarkAppendBaseline is the raw baseline: a bare store.Append to a
// `monitoring` aggregate on the same kind of log of each of benchBatches, as
// the evaluation builds them. Reports p50/p99.
func BenchmarkAppendBaseline(b *testing.B) {
	for _, batch := range benchBatches() {
		b.Run(fmt.Sprintf("events=%d", len(batch)), func(b *testing.B) {
			_, _, js := natstest.JetStream(b)
			ctx := causal.With(b.Context(), causal.Origin{Actor: "bench"})
			store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/monitor", Aggregates: []string{app.AggMonitoring}})
			if err != nil {
				b.Fatal(err)
			}
			heads := map[string]eventstore.Version{}
			var ds []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				ds = append(ds, bareAppend(b, ctx, store, heads, "baseline", batch))
			}
			reportDurations(b, ds, "")
		})
	}
}
