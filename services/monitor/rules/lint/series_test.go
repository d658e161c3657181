package lint_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// fakeSeries is an in-memory metric source: a list of series (label sets,
// the metric name as __name__) that answers selectors with the matchers'
// own semantics.
type fakeSeries struct {
	series []map[string]string
	// fail makes a lookup of this selector fail.
	fail string
	// asked records the selectors looked up.
	asked []string
}

func (f *fakeSeries) Series(_ context.Context, selector string) (int, error) {
	f.asked = append(f.asked, selector)
	if selector == f.fail {
		return 0, errors.New("source down")
	}
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(selector)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range f.series {
		all := true
		for _, m := range ms {
			all = all && m.Matches(s[m.Name])
		}
		if all {
			n++
		}
	}
	return n, nil
}

// httpSeries: requests with a `code` label (no 5xx so far) and a histogram.
func httpSeries() *fakeSeries {
	return &fakeSeries{series: []map[string]string{
		{"__name__": "http_requests_total", "code": "200", "environment": "production", "version": "1.2.0"},
		{"__name__": "http_requests_total", "code": "404", "environment": "production", "version": "1.2.0"},
		{"__name__": "http_request_duration_seconds_bucket", "le": "0.5", "environment": "production", "version": "1.2.0"},
		{"__name__": "http_request_duration_seconds_bucket", "le": "+Inf", "environment": "production", "version": "1.2.0"},
	}}
}

// TestLintSeries: selectors that match nothing, why, and the selectors
// whose absence is expected.
func TestLintSeries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		set   rules.Set
		want  []lint.Finding
		asked []string
	}{
		{
			name: "every selector matches",
			set:  trigger("response_time_p95", domain.OpGreater, 2),
		},
		{
			name: "metric without series",
			set:  alert(`sum(rate(http_requests_totl[5m])) > 1`, 0),
			want: []lint.Finding{{
				Rule: "r", Kind: lint.KindAlertRule, Check: lint.CheckSeries, Severity: lint.SeverityBug,
				Problem:    "the condition: metric `http_requests_totl` has no series in the metric source, so `http_requests_totl` matches nothing",
				Suggestion: "check the metric name and that the source scrapes the target that exports http_requests_totl",
			}},
		},
		{
			name: "label no series has",
			set:  trigger(`sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`, domain.OpGreater, 0.1),
			want: []lint.Finding{{
				Rule: "t", Kind: lint.KindTrigger, Check: lint.CheckSeries, Severity: lint.SeverityBug,
				Problem: "the metric: none of the 2 series of `http_requests_total` has a `status` label, so `http_requests_total{status=~\"5..\"}` matches nothing" +
					" (as written, before the deployment's scope matchers are added)",
				Suggestion: "check the label name: `http_requests_total{status!=\"\"}` matches no series while `http_requests_total` has 2",
			}},
		},
		{
			name: "value not seen yet",
			set:  rules.Set{Metrics: rules.DefaultMetrics(), Triggers: trigger("error_rate", domain.OpGreater, 0.1).Triggers},
			want: []lint.Finding{{
				Rule: "t", Kind: lint.KindTrigger, Check: lint.CheckSeries, Severity: lint.SeverityWarning,
				Problem: "named metric error_rate: `http_requests_total{code=~\"5..\"}` matches no series now: `http_requests_total` has 2 series, none with `code=~\"5..\"`" +
					" (as written, before the deployment's scope matchers are added)",
				Suggestion: "check the value of code; if it only appears later (such as the first 5xx response), this is expected",
			}},
		},
		{
			name: "matchers that match nothing together",
			set:  alert(`http_requests_total{code="200",environment="staging"} > 1 or http_requests_total{code="404",environment="production"} > 1`, 0),
			want: []lint.Finding{{
				Rule: "r", Kind: lint.KindAlertRule, Check: lint.CheckSeries, Severity: lint.SeverityWarning,
				Problem:    "the condition: `http_requests_total{code=\"200\",environment=\"staging\"}` matches no series now: `http_requests_total` has 2 series, none with `environment=\"staging\"`",
				Suggestion: "check the value of environment; if it only appears later (such as the first 5xx response), this is expected",
			}},
		},
		{
			name: "absence expected: absent(), or vector(0), unless",
			set: alert(`absent(up{job="api"}) or sum(rate(jobs_failed_total[5m]) or vector(0)) > 1 `+
				`or (http_requests_total{code="200"} > 1 unless http_requests_total{code="503"})`, 0),
			asked: []string{`http_requests_total{code="200"}`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := httpSeries()
			got, err := lint.LintSeries(context.Background(), tc.set, src)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LintSeries (-want +got):\n%s", diff)
			}
			if tc.asked != nil {
				if diff := cmp.Diff(tc.asked, src.asked); diff != "" {
					t.Errorf("selectors looked up (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestLintSeriesAsksOnce: a selector used by several rules is looked up once.
func TestLintSeriesAsksOnce(t *testing.T) {
	t.Parallel()
	s := rules.Default()
	s.AlertRules = alert(`sum(rate(http_requests_total[1m])) > 1000`, 0).AlertRules
	src := httpSeries()
	src.series = append(src.series, map[string]string{"__name__": "http_requests_total", "code": "500"})
	if got, err := lint.LintSeries(context.Background(), s, src); err != nil || len(got) != 0 {
		t.Fatalf("LintSeries = %v, %v; want no findings", got, err)
	}
	want := []string{"http_requests_total", `http_requests_total{code=~"5.."}`, "http_request_duration_seconds_bucket"}
	if diff := cmp.Diff(want, src.asked); diff != "" {
		t.Errorf("selectors looked up (-want +got):\n%s", diff)
	}
}

// TestLintSeriesError: the source's error stops the lint and is reported
// with the selector.
func TestLintSeriesError(t *testing.T) {
	t.Parallel()
	src := httpSeries()
	src.fail = "http_requests_total"
	got, err := lint.LintSeries(context.Background(), rules.Default(), src)
	if err == nil || got != nil || err.Error() != "promql/series: count http_requests_total: source down" {
		t.Errorf("LintSeries = %v, %v; want the source's error", got, err)
	}
}

// TestLintSeriesEmbedded runs promql/series against the monitor's real
// embedded source (TSDB and Prometheus engine) through SourceSeries.
func TestLintSeriesEmbedded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := metrics.OpenEmbedded(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, code := range []string{"200", "500"} {
		lbls := map[string]string{"__name__": "http_requests_total", "code": code, "environment": "production", "version": "1.2.0"}
		for i := range 5 {
			if err := db.Append(ctx, lbls, now.Add(time.Duration(i-4)*15*time.Second), float64(10*i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	src := lint.SourceSeries{Source: db, Now: func() time.Time { return now }}
	if n, err := src.Series(ctx, `http_requests_total{code=~"5.."}`); err != nil || n != 1 {
		t.Fatalf("Series(5xx) = %d, %v; want 1", n, err)
	}
	s := rules.Default() // error_rate matches; response_time_p95's histogram is not there
	s.AlertRules = nil
	got, err := lint.LintSeries(ctx, s, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []lint.Finding{{
		Rule: "response_time_p95", Kind: lint.KindTrigger, Check: lint.CheckSeries, Severity: lint.SeverityBug,
		Problem: "named metric response_time_p95: metric `http_request_duration_seconds_bucket` has no series in the metric source, " +
			"so `http_request_duration_seconds_bucket` matches nothing (as written, before the deployment's scope matchers are added)",
		Suggestion: "check the metric name and that the source scrapes the target that exports http_request_duration_seconds_bucket",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LintSeries (-want +got):\n%s", diff)
	}
	// Later than the lookback (5 min), the series are no longer there.
	later := lint.SourceSeries{Source: db, Now: func() time.Time { return now.Add(10 * time.Minute) }}
	if n, err := later.Series(ctx, "http_requests_total"); err != nil || n != 0 {
		t.Errorf("Series 10 min later = %d, %v; want 0", n, err)
	}
}
