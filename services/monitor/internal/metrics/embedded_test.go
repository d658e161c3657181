package metrics_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func open(t *testing.T) *metrics.Embedded {
	t.Helper()
	e, err := metrics.OpenEmbedded(t.TempDir(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// TestGuideRuleEvaluatesUnchanged appends request counters for a version
// failing 20% of requests and evaluates the guide's error-rate expression
// and a ratio written the usual way.
func TestGuideRuleEvaluatesUnchanged(t *testing.T) {
	t.Parallel()
	e := open(t)
	ctx := context.Background()
	for i := 0; i <= 40; i++ { // 10 minutes, every 15 s: 8 ok and 2 failing requests a second
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		for status, perSec := range map[string]float64{"200": 8, "500": 2} {
			lbls := map[string]string{"__name__": "http_requests_total", "status": status, "version": "1.1.0"}
			if err := e.Append(ctx, lbls, at, perSec*15*float64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	at := t0.Add(10 * time.Minute)
	guide := `rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05`
	if err := metrics.Validate(guide); err != nil {
		t.Fatal(err)
	}
	got, err := e.Query(ctx, guide, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Labels["status"] != "500" {
		t.Fatalf("guide rule = %+v, want the 5xx series", got)
	}
	ratio := `sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))`
	got, err = e.Query(ctx, ratio, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || math.Abs(got[0].Value-0.2) > 0.001 {
		t.Errorf("error ratio = %+v, want 0.2", got)
	}
	if err := metrics.Validate(`rate(http_requests_total[5m]`); err == nil {
		t.Error("broken PromQL validated")
	}
}

// TestScrapeExposition scrapes a real HTTP endpoint serving the Prometheus
// text format (counters, gauges and a histogram) and queries what it stored.
func TestScrapeExposition(t *testing.T) {
	t.Parallel()
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n++
		fmt.Fprintf(w, `# TYPE floe_proxy_requests_total counter
floe_proxy_requests_total{version="1.1.0",code="500"} %d
floe_proxy_requests_total{version="1.1.0",code="200"} %d
# TYPE floe_proxy_request_duration_seconds histogram
floe_proxy_request_duration_seconds_bucket{version="1.1.0",le="0.1"} %d
floe_proxy_request_duration_seconds_bucket{version="1.1.0",le="+Inf"} %d
floe_proxy_request_duration_seconds_sum{version="1.1.0"} 1.5
floe_proxy_request_duration_seconds_count{version="1.1.0"} %d
`, n*10, n*40, n*45, n*50, n*50)
	}))
	defer srv.Close()
	e := open(t)
	ctx := context.Background()
	for i := 0; i <= 20; i++ {
		stored, err := e.Scrape(ctx, srv.URL, map[string]string{"job": "proxy"}, t0.Add(time.Duration(i)*15*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		// 2 counters, 2 buckets (the +Inf one listed, not added again), sum, count.
		if stored != 6 {
			t.Fatalf("scrape stored %d samples, want 6", stored)
		}
	}
	at := t0.Add(5 * time.Minute)
	got, err := e.Query(ctx, `sum(rate(floe_proxy_requests_total{code=~"5..",job="proxy"}[2m])) / sum(rate(floe_proxy_requests_total[2m]))`, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || math.Abs(got[0].Value-0.2) > 0.001 {
		t.Errorf("scraped error ratio = %+v, want 0.2", got)
	}
	got, err = e.Query(ctx, `histogram_quantile(0.95, sum by (le) (rate(floe_proxy_request_duration_seconds_bucket[2m])))`, at)
	// 10% of requests are slower than the last finite bucket, so the 95th
	// percentile lies in +Inf, which PromQL reports as that bucket's lower bound.
	if err != nil || len(got) != 1 || got[0].Value != 0.1 {
		t.Errorf("p95 = %+v, %v; want 0.1", got, err)
	}
	srv.Close()
	if _, err := e.Scrape(ctx, srv.URL, nil, at); err == nil {
		t.Error("scraping a closed endpoint succeeded")
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "not { exposition") }))
	defer bad.Close()
	if _, err := e.Scrape(ctx, bad.URL, nil, at); err == nil || !strings.Contains(err.Error(), "parse exposition") {
		t.Errorf("scraping garbage = %v, want a parse error", err)
	}
}

// TestGatherRegistry stores an in-process registry as a scrape would: the
// histogram's buckets once each (+Inf included) and PromQL over them.
func TestGatherRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "req_seconds", Buckets: []float64{0.1, 1}}, []string{"version"})
	reg.MustRegister(h)
	e := open(t)
	ctx := context.Background()
	for i := 0; i <= 8; i++ {
		for j := 0; j < 10; j++ {
			h.WithLabelValues("1.0.0").Observe(0.05) // 9 of 10 fast
		}
		h.WithLabelValues("1.0.0").Observe(5)
		stored, err := e.Gather(ctx, reg, map[string]string{"job": "self"}, t0.Add(time.Duration(i)*15*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if stored != 5 { // buckets 0.1, 1, +Inf; sum; count
			t.Fatalf("gather stored %d samples, want 5", stored)
		}
	}
	at := t0.Add(2 * time.Minute)
	got, err := e.Query(ctx, `count(req_seconds_bucket{job="self"})`, at)
	if err != nil || len(got) != 1 || got[0].Value != 3 {
		t.Fatalf("bucket series = %+v, %v; want 3", got, err)
	}
	got, err = e.Query(ctx, `histogram_quantile(0.5, sum by (le) (rate(req_seconds_bucket[1m])))`, at)
	if err != nil || len(got) != 1 || got[0].Value <= 0 || got[0].Value > 0.1 {
		t.Errorf("p50 = %+v, %v; want within the first bucket", got, err)
	}
}
