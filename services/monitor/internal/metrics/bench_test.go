package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/eval"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

// Benchmarks of the monitor's evaluation path, each next to the raw baseline
// it adds to, measured in the same run (absolute figures on shared machines
// are noise). They run only with -bench; see docs/performance.md, "Monitor".

// benchRule is the guide's error-ratio alert condition.
const benchRule = `sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m])) > 0.05`

// benchByInstance is the same condition per instance: one result series, and
// so one alert state, per instance.
const benchByInstance = `sum by (instance) (rate(http_requests_total{code=~"5.."}[1m])) / sum by (instance) (rate(http_requests_total[1m])) > 0.05`

// benchMetric is the guide's error_rate metric, which a trigger scopes to a deployment.
const benchMetric = `sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`

var (
	benchT0     = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	benchEvalAt = benchT0.Add(10 * time.Minute)
	benchDeploy = domain.Deployment{ID: "r1-staging-1", Environment: "staging", Version: "1.1.0", StartedAt: benchT0}
)

// benchFixture is a TSDB holding 10 minutes of 15 s samples (41 scrapes) of
// http_requests_total for series/2 instances × code 200 and 500, all of the
// deployment's environment and version: 9 ok and 1.5 failing requests a
// second per instance, an error ratio of 0.14 that breaches both the rule
// (> 0.05) and the guide's trigger (> 0.10).
func benchFixture(b *testing.B, series int) *metrics.Embedded {
	b.Helper()
	e, err := metrics.OpenEmbedded(b.TempDir(), 24*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close() })
	ctx := context.Background()
	for i := 0; i <= 40; i++ {
		secs := 15 * float64(i)
		mf := &dto.MetricFamily{Name: proto.String("http_requests_total"), Type: dto.MetricType_COUNTER.Enum()}
		for inst := 0; inst < series/2; inst++ {
			for code, perSec := range map[string]float64{"200": 9, "500": 1.5} {
				mf.Metric = append(mf.Metric, &dto.Metric{
					Label: []*dto.LabelPair{
						{Name: proto.String("code"), Value: proto.String(code)},
						{Name: proto.String("instance"), Value: proto.String(fmt.Sprintf("i-%05d", inst))},
					},
					Counter: &dto.Counter{Value: proto.Float64(perSec * secs)},
				})
			}
		}
		g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return []*dto.MetricFamily{mf}, nil })
		n, err := e.Gather(ctx, g, benchDeploy.Labels(), benchT0.Add(time.Duration(i)*15*time.Second))
		if err != nil || n != series {
			b.Fatalf("fixture: stored %d samples, want %d: %v", n, series, err)
		}
	}
	return e
}

func benchAlertRule(cond string) domain.AlertRule {
	return domain.AlertRule{Name: "high_error_rate", Condition: cond, Severity: domain.SeverityWarning, Channels: []string{"ops"},
		For: 5 * time.Minute, Cooldown: 30 * time.Minute, Enabled: true, Version: 1}
}

// perSeries reports the time per rule (per op) and per 1,000 series the selector matches.
func perSeries(b *testing.B, series int) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/rule")
	b.ReportMetric(ns/(float64(series)/1000), "ns/1k-series")
}

// BenchmarkEval evaluates, against a TSDB whose `http_requests_total`
// selector matches `series` series:
//
//   - rule-engine: the bare Prometheus engine query of the alert condition
//     (Embedded.Query), the baseline of rule-alerts;
//   - rule-alerts: eval.Alerts of the rule, with its series states kept
//     between evaluations, as the service does (one result series);
//   - byinstance-engine / byinstance-alerts: the same per instance, so that
//     Alerts keeps series/2 alert states;
//   - trigger-engine: the bare query of the guide's error_rate scoped to the
//     deployment, the baseline of trigger-eval;
//   - trigger-eval: what the service does per trigger and deployment at each
//     evaluation: eval.TriggerQuery (scoping), eval.TriggerSample and
//     TriggerState.Observe of the guide's error_rate > 0.10 for 300 s;
//   - rule-paired, byinstance-paired, trigger-paired: the baseline and ours
//     alternately in one loop, each call timed, so that both see the same
//     load; they report the medians (base-ns/rule, ns/rule) and their ratio
//     (x-base). On a shared machine load drifts between sub-benchmarks by
//     more than the overhead being measured; read the ratio from these.
//
// Successive evaluations are 1 µs apart (the domain ignores an evaluation not
// later than the last one); the engine works in milliseconds, so every
// evaluation reads the same data.
func BenchmarkEval(b *testing.B) {
	ctx := context.Background()
	for _, series := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("series=%d", series), func(b *testing.B) {
			e := benchFixture(b, series)
			// Sanity: the rule holds, per instance too.
			if got, err := e.Query(ctx, benchRule, benchEvalAt); err != nil || len(got) != 1 {
				b.Fatalf("rule = %v, %v; want one series", got, err)
			}
			if got, err := e.Query(ctx, benchByInstance, benchEvalAt); err != nil || len(got) != series/2 {
				b.Fatalf("per-instance rule: %d series, %v; want %d", len(got), err, series/2)
			}
			t := domain.DefaultTriggers()[0]
			t.Metric = benchMetric
			scoped, err := eval.TriggerQuery(t.Metric, benchDeploy)
			if err != nil {
				b.Fatal(err)
			}
			// Each kind: the bare query, and a fresh instance of ours (its state kept across calls).
			kinds := []struct {
				name, query string
				ours        func(b *testing.B) func()
			}{
				{"rule", benchRule, func(b *testing.B) func() { return alertsEval(ctx, b, e, benchRule, 1) }},
				{"byinstance", benchByInstance, func(b *testing.B) func() { return alertsEval(ctx, b, e, benchByInstance, series/2) }},
				{"trigger", scoped, func(b *testing.B) func() { return triggerEval(ctx, b, e, t) }},
			}
			for _, k := range kinds {
				engine := func() {
					if _, err := e.Query(ctx, k.query, benchEvalAt); err != nil {
						b.Fatal(err)
					}
				}
				b.Run(k.name+"-engine", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						engine()
					}
					perSeries(b, series)
				})
				oursName := k.name + "-alerts"
				if k.name == "trigger" {
					oursName = "trigger-eval"
				}
				b.Run(oursName, func(b *testing.B) {
					ours := k.ours(b)
					b.ReportAllocs()
					for b.Loop() {
						ours()
					}
					perSeries(b, series)
				})
				b.Run(k.name+"-paired", func(b *testing.B) {
					ours := k.ours(b)
					var base, mine []time.Duration
					timed := func(f func()) time.Duration { s := time.Now(); f(); return time.Since(s) }
					for i := 0; b.Loop(); i++ {
						if i%2 == 0 {
							base = append(base, timed(engine))
							mine = append(mine, timed(ours))
						} else {
							mine = append(mine, timed(ours))
							base = append(base, timed(engine))
						}
					}
					mb, mo := median(base), median(mine)
					b.ReportMetric(float64(mb.Nanoseconds()), "base-ns/rule")
					b.ReportMetric(float64(mo.Nanoseconds()), "ns/rule")
					b.ReportMetric(float64(mo)/float64(mb), "x-base")
				})
			}
		})
	}
}

// alertsEval returns one evaluation of an alert rule with condition cond
// through eval.Alerts, its series states kept from one call to the next; the
// states are checked (want of them) when the benchmark ends.
func alertsEval(ctx context.Context, b *testing.B, e *metrics.Embedded, cond string, want int) func() {
	r := benchAlertRule(cond)
	states := map[string]*eval.Series{}
	at := benchEvalAt
	b.Cleanup(func() {
		if len(states) != want {
			b.Errorf("%d alert states, want %d", len(states), want)
		}
	})
	return func() {
		at = at.Add(time.Microsecond)
		if _, err := eval.Alerts(ctx, e, r, states, at); err != nil {
			b.Fatal(err)
		}
	}
}

// triggerEval returns one evaluation of trigger t for the deployment as the
// service does it (scope, sample, observe), its state kept from one call to
// the next; the trigger must be breaching when the benchmark ends.
func triggerEval(ctx context.Context, b *testing.B, e *metrics.Embedded, t domain.Trigger) func() {
	st := domain.NewTriggerState(benchDeploy)
	at := benchEvalAt
	b.Cleanup(func() {
		if !st.Breach.Active || !st.LastBreaching {
			b.Errorf("trigger not breaching: %+v", st)
		}
	})
	return func() {
		at = at.Add(time.Microsecond)
		q, err := eval.TriggerQuery(t.Metric, benchDeploy)
		if err != nil {
			b.Fatal(err)
		}
		s, err := eval.TriggerSample(ctx, e, q, t, at)
		if err != nil {
			b.Fatal(err)
		}
		st.Observe(t, s)
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[(len(ds)-1)/2]
}

// BenchmarkScope is eval.TriggerQuery alone: parse the trigger's PromQL, add
// the deployment's matchers, print it back.
func BenchmarkScope(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eval.TriggerQuery(benchMetric, benchDeploy); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkObserve is the pure domain: TriggerState.Observe of a breaching
// sample (error_rate > 0.10 for 300 s, the breach sustained but not yet due),
// of a healthy one, and AlertState.Observe of a holding condition (pending,
// For 5 min not yet reached).
func BenchmarkObserve(b *testing.B) {
	t := domain.DefaultTriggers()[0]
	b.Run("trigger-breaching", func(b *testing.B) {
		st := domain.NewTriggerState(benchDeploy)
		at := benchEvalAt
		b.ReportAllocs()
		for b.Loop() {
			at = at.Add(time.Microsecond)
			st.Observe(t, domain.Sample{At: at, Value: 0.14})
		}
		if !st.Breach.Active {
			b.Fatal("not breaching")
		}
	})
	b.Run("trigger-healthy", func(b *testing.B) {
		st := domain.NewTriggerState(benchDeploy)
		at := benchEvalAt
		b.ReportAllocs()
		for b.Loop() {
			at = at.Add(time.Microsecond)
			st.Observe(t, domain.Sample{At: at, Value: 0.01})
		}
	})
	b.Run("alert-pending", func(b *testing.B) {
		r := benchAlertRule(benchRule)
		var st domain.AlertState
		at := benchEvalAt
		b.ReportAllocs()
		for b.Loop() {
			at = at.Add(time.Microsecond)
			st.Observe(r, true, 0.14, at)
		}
		if st.Current() != domain.AlertPending {
			b.Fatalf("alert %s, want pending", st.Current())
		}
	})
}

// benchRegistry is a registry exposing 1,000 series: for each of 100
// instances, http_requests_total for code 200 and 500 and a histogram of 5
// buckets (+Inf, sum and count: 8 series).
func benchRegistry(b *testing.B) *prometheus.Registry {
	b.Helper()
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"instance", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "Latency.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1}}, []string{"instance"})
	reg.MustRegister(reqs, dur)
	for i := range 100 {
		inst := fmt.Sprintf("i-%03d", i)
		reqs.WithLabelValues(inst, "200").Add(float64(1000 + i))
		reqs.WithLabelValues(inst, "500").Add(float64(i))
		for j := range 10 {
			dur.WithLabelValues(inst).Observe(float64(j) / 10)
		}
	}
	return reg
}

const benchRegistrySeries = 1000

// perSample reports the time per stored series sample and the rate.
func perSample(b *testing.B, n int) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns/float64(n), "ns/series")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "series/s")
}

// BenchmarkGather stores what an in-process registry of 1,000 series
// exposes (Embedded.Gather), against the registry's own Gather in the same
// run. Successive gathers are 1 s apart.
func BenchmarkGather(b *testing.B) {
	reg := benchRegistry(b)
	b.Run("registry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
		perSample(b, benchRegistrySeries)
	})
	b.Run("embedded", func(b *testing.B) {
		e, err := metrics.OpenEmbedded(b.TempDir(), 24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = e.Close() })
		ctx := context.Background()
		extra := map[string]string{"job": "demo", "environment": "staging", "version": "1.1.0"}
		at := benchT0
		b.ReportAllocs()
		for b.Loop() {
			at = at.Add(time.Second)
			n, err := e.Gather(ctx, reg, extra, at)
			if err != nil || n != benchRegistrySeries {
				b.Fatalf("gathered %d, %v", n, err)
			}
		}
		perSample(b, benchRegistrySeries)
	})
}

// BenchmarkScrape scrapes the same registry over loopback HTTP from a real
// promhttp handler (text exposition, gzip as the client negotiates):
// Embedded.Scrape, against a bare GET that reads the body in the same run.
func BenchmarkScrape(b *testing.B) {
	srv := httptest.NewServer(promhttp.HandlerFor(benchRegistry(b), promhttp.HandlerOpts{}))
	b.Cleanup(srv.Close)
	b.Run("http-get", func(b *testing.B) {
		client := &http.Client{Timeout: 10 * time.Second}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("get: %s, %v", resp.Status, err)
			}
		}
		perSample(b, benchRegistrySeries)
	})
	b.Run("embedded", func(b *testing.B) {
		e, err := metrics.OpenEmbedded(b.TempDir(), 24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = e.Close() })
		ctx := context.Background()
		extra := map[string]string{"job": "demo", "environment": "staging", "version": "1.1.0"}
		at := benchT0
		b.ReportAllocs()
		for b.Loop() {
			at = at.Add(time.Second)
			// n is 1,100: a text exposition lists each histogram's +Inf
			// bucket, and ingest adds one more from the count (the same
			// series and value, stored once).
			n, err := e.Scrape(ctx, srv.URL, extra, at)
			if err != nil || n < benchRegistrySeries {
				b.Fatalf("scraped %d, %v", n, err)
			}
		}
		b.StopTimer()
		// The +Inf buckets are single series: 6 bucket series per instance.
		if got, err := e.Query(ctx, `count(http_request_duration_seconds_bucket)`, at); err != nil || len(got) != 1 || got[0].Value != 600 {
			b.Fatalf("bucket series: %v, %v; want 600", got, err)
		}
		perSample(b, benchRegistrySeries)
	})
}
