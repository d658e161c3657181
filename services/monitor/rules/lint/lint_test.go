package lint_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// alert is a valid alert rule named "r" with condition cond, held for forDur.
func alert(cond string, forDur time.Duration) rules.Set {
	return rules.Set{Metrics: rules.DefaultMetrics(), AlertRules: []domain.AlertRule{{
		Name: "r", Condition: cond, Severity: domain.SeverityWarning, Channels: []string{"slack"},
		For: forDur, Enabled: true, Version: 1,
	}}}
}

// trigger is a valid trigger named "t" (duration 120 s unless changed by opts).
func trigger(metric string, op domain.Operator, threshold float64, opts ...func(*domain.Trigger)) rules.Set {
	tr := domain.Trigger{
		Name: "t", Metric: metric, Operator: op, Threshold: threshold, Duration: 120 * time.Second,
		Action: domain.ActionRollback, NoData: domain.NoDataHold, Enabled: true, Version: 1,
	}
	for _, o := range opts {
		o(&tr)
	}
	return rules.Set{Metrics: rules.DefaultMetrics(), Triggers: []domain.Trigger{tr}}
}

func duration(d time.Duration) func(*domain.Trigger) {
	return func(t *domain.Trigger) { t.Duration = d }
}
func action(a string) func(*domain.Trigger) { return func(t *domain.Trigger) { t.Action = a } }
func noData(p string) func(*domain.Trigger) { return func(t *domain.Trigger) { t.NoData = p } }

// checkCase is a rule that a check flags and its corrected form.
type checkCase struct {
	name     string
	check    string
	severity string
	bad      rules.Set
	// problem and rewrite are expected in the finding (rewrite exactly, "" for none).
	problem string
	rewrite string
	good    rules.Set
}

func checkCases() []checkCase {
	return []checkCase{
		{
			name: "syntax error", check: lint.CheckSyntax, severity: lint.SeverityBug,
			bad:     rules.Set{AlertRules: []domain.AlertRule{{Name: "r", Condition: "sum(rate(x_total[5m])"}}},
			problem: "is not PromQL",
			good:    alert("sum(rate(x_total[5m])) > 1", 0),
		},

		// alerts/comparison
		{
			name: "alert without a comparison", check: lint.CheckComparison, severity: lint.SeverityWarning,
			bad:     alert(`sum(rate(http_requests_total{code=~"5.."}[5m]))`, 0),
			problem: "has no comparison",
			rewrite: `sum(rate(http_requests_total{code=~"5.."}[5m])) > 0`,
			good:    alert(`sum(rate(http_requests_total{code=~"5.."}[5m])) > 1`, 0),
		},
		{
			name: "alert with an unconditional or branch", check: lint.CheckComparison, severity: lint.SeverityWarning,
			bad:     alert(`up{job="api"} == 0 or up{job="db"}`, 0),
			problem: "has no comparison",
			rewrite: `(up{job="api"} == 0 or up{job="db"}) > 0`,
			good:    alert(`up{job="api"} == 0 or up{job="db"} == 0`, 0),
		},
		{
			name: "alert with bool", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     alert(`up{job="api"} == bool 0`, 0),
			problem: "bool modifier",
			rewrite: `up{job="api"} == 0`,
			good:    alert(`up{job="api"} == 0`, 0),
		},
		{
			name: "alert on a constant", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     alert(`vector(1)`, 0),
			problem: "always returns a result",
			good:    alert(`absent(up{job="api"})`, 0),
		},
		{
			name: "trigger metric filtered by a comparison", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     trigger(`sum(rate(errors_total[1m])) > 1`, domain.OpGreater, 0),
			problem: "a breach is never cleared",
			rewrite: `sum(rate(errors_total[1m]))`,
			good:    trigger(`sum(rate(errors_total[1m]))`, domain.OpGreater, 1),
		},
		{
			name: "trigger metric filtered with no_data rollback", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     trigger(`1 < sum(rate(errors_total[1m]))`, domain.OpGreater, 0, noData(domain.NoDataRollback)),
			problem: "no_data: rollback fires rollback",
			rewrite: `sum(rate(errors_total[1m]))`,
			good:    trigger(`sum(rate(errors_total[1m]))`, domain.OpGreater, 1, noData(domain.NoDataRollback)),
		},
		{
			name: "trigger on absent()", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     trigger(`absent(up{job="api"})`, domain.OpEqual, 1),
			problem: "absent()",
			rewrite: `up{job="api"}`,
			good:    trigger(`up{job="api"}`, domain.OpLess, 1, noData(domain.NoDataRollback)),
		},
		{
			name: "trigger filtered deeper in the metric", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     trigger(`sum(rate(errors_total[1m]) > 1)`, domain.OpGreater, 0),
			problem: "is filtered",
			rewrite: `sum(rate(errors_total[1m]) > bool 1)`,
			good:    trigger(`sum(rate(errors_total[1m]) > bool 1)`, domain.OpGreater, 0),
		},
		{
			name: "trigger on a 0/1 metric that always holds", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     trigger(`max(up{job="api"}) == bool 0`, domain.OpGreaterEqual, 0),
			problem: "the trigger always fires",
			good:    trigger(`max(up{job="api"}) == bool 0`, domain.OpEqual, 1),
		},
		{
			name: "trigger on a 0/1 metric that never holds", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     trigger(`max(up{job="api"}) == bool 0`, domain.OpGreater, 1),
			problem: "the trigger never fires",
			good:    trigger(`max(up{job="api"}) == bool 0`, domain.OpGreater, 0.5),
		},
		{
			name: "trigger on a constant", check: lint.CheckComparison, severity: lint.SeverityBug,
			bad:     trigger(`vector(1)`, domain.OpGreater, 0),
			problem: "reads no series",
			good:    trigger(`error_rate`, domain.OpGreater, 0.1),
		},

		// alerts/for
		{
			name: "rollback on a single sample", check: lint.CheckFor, severity: lint.SeverityWarning,
			bad:     trigger(`response_time_p95`, domain.OpGreater, 5, duration(0)),
			problem: "duration is 0",
			good:    trigger(`response_time_p95`, domain.OpGreater, 5, duration(time.Minute)),
		},

		// promql/aggregate
		{
			name: "histogram_quantile without le", check: lint.CheckAggregate, severity: lint.SeverityBug,
			bad:     alert(`histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m]))) > 2`, 0),
			problem: "needs the `le` label",
			rewrite: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 2`,
			good:    alert(`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 2`, 0),
		},
		{
			name: "histogram_quantile with le removed by without", check: lint.CheckAggregate, severity: lint.SeverityBug,
			bad:     trigger(`histogram_quantile(0.95, sum without (le, instance) (rate(http_request_duration_seconds_bucket[1m])))`, domain.OpGreater, 2),
			problem: "needs the `le` label",
			rewrite: `histogram_quantile(0.95, sum without (instance) (rate(http_request_duration_seconds_bucket[1m])))`,
			good:    trigger(`histogram_quantile(0.95, sum without (instance) (rate(http_request_duration_seconds_bucket[1m])))`, domain.OpGreater, 2),
		},
		{
			name: "grouping by a label already removed", check: lint.CheckAggregate, severity: lint.SeverityWarning,
			bad:     alert(`max by (job) (sum by (instance) (rate(http_requests_total[5m]))) > 100`, 0),
			problem: "groups by job",
			rewrite: `max(sum by (instance) (rate(http_requests_total[5m]))) > 100`,
			good:    alert(`max by (job) (sum by (instance, job) (rate(http_requests_total[5m]))) > 100`, 0),
		},

		// promql/fragile
		{
			name: "topk in an alert", check: lint.CheckFragile, severity: lint.SeverityWarning,
			bad:     alert(`topk(3, sum by (path) (rate(http_requests_total[5m]))) > 100`, 0),
			problem: "uses topk",
			rewrite: `sum by (path) (rate(http_requests_total[5m])) > 100`,
			good:    alert(`sum by (path) (rate(http_requests_total[5m])) > 100`, 0),
		},
		{
			name: "ratio of aggregations without for", check: lint.CheckFragile, severity: lint.SeverityWarning,
			bad:     alert(`sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05`, 0),
			problem: "from two aggregations",
			good:    alert(`sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05`, 2*time.Minute),
		},
		{
			name: "trigger on a ratio of aggregations with duration 0", check: lint.CheckFragile, severity: lint.SeverityWarning,
			bad:     trigger(`error_rate`, domain.OpGreater, 0.1, duration(0), action(domain.ActionAlert)),
			problem: "named metric error_rate computes",
			good:    trigger(`error_rate`, domain.OpGreater, 0.1, duration(time.Minute), action(domain.ActionAlert)),
		},

		// promql/rate
		{
			name: "range too short", check: lint.CheckRate, severity: lint.SeverityWarning,
			bad:     alert(`sum(rate(http_requests_total[20s])) > 100`, 0),
			problem: "over [20s] needs two samples",
			rewrite: `sum(rate(http_requests_total[1m])) > 100`,
			good:    alert(`sum(rate(http_requests_total[1m])) > 100`, 0),
		},
		{
			name: "rate of a gauge", check: lint.CheckRate, severity: lint.SeverityWarning,
			bad:     alert(`rate(job_queue_depth[5m]) > 10`, 0),
			problem: "is not named like one",
			rewrite: `deriv(job_queue_depth[5m]) > 10`,
			good:    alert(`deriv(job_queue_depth[5m]) > 10`, 0),
		},
		{
			name: "increase of a gauge", check: lint.CheckRate, severity: lint.SeverityWarning,
			bad:     trigger(`increase(memory_used_bytes[5m])`, domain.OpGreater, 1e9),
			problem: "increase() is for counters",
			rewrite: `delta(memory_used_bytes[5m])`,
			good:    trigger(`delta(memory_used_bytes[5m])`, domain.OpGreater, 1e9),
		},
		{
			name: "delta of a counter", check: lint.CheckRate, severity: lint.SeverityWarning,
			bad:     alert(`delta(http_requests_total[5m]) > 1000`, 0),
			problem: "named like a counter",
			rewrite: `increase(http_requests_total[5m]) > 1000`,
			good:    alert(`increase(http_requests_total[5m]) > 1000`, 0),
		},
		{
			name: "rate of a sum", check: lint.CheckRate, severity: lint.SeverityBug,
			bad:     alert(`rate(sum by (job) (http_requests_total)[5m:1m]) > 100`, 0),
			problem: "hides when each counter resets",
			rewrite: `sum by (job) (rate(http_requests_total[5m])) > 100`,
			good:    alert(`sum by (job) (rate(http_requests_total[5m])) > 100`, 0),
		},

		// promql/regexp
		{
			name: "regexp on a plain string", check: lint.CheckRegexp, severity: lint.SeverityWarning,
			bad:     alert(`up{job=~"api"} == 0`, 0),
			problem: "plain string",
			rewrite: `up{job="api"} == 0`,
			good:    alert(`up{job="api"} == 0`, 0),
		},
		{
			name: "negative regexp on a plain string", check: lint.CheckRegexp, severity: lint.SeverityWarning,
			bad:     alert(`up{job!~"api\\.v1"} == 0`, 0),
			problem: "plain string",
			rewrite: `up{job!="api.v1"} == 0`,
			good:    alert(`up{job!="api.v1"} == 0`, 0),
		},
		{
			name: "redundant anchors", check: lint.CheckRegexp, severity: lint.SeverityWarning,
			bad:     alert(`up{job=~"^(api|web)$"} == 0`, 0),
			problem: "anchors",
			rewrite: `up{job=~"(api|web)"} == 0`,
			good:    alert(`up{job=~"api|web"} == 0`, 0),
		},
		{
			name: "match-all regexp", check: lint.CheckRegexp, severity: lint.SeverityWarning,
			bad:     alert(`up{job="api",instance=~".*"} == 0`, 0),
			problem: "filters nothing",
			rewrite: `up{job="api"} == 0`,
			good:    alert(`up{job="api"} == 0`, 0),
		},
		{
			name: "match-nothing regexp", check: lint.CheckRegexp, severity: lint.SeverityBug,
			bad:     alert(`up{job="api",instance!~".*"} == 0`, 0),
			problem: "matches no series",
			good:    alert(`up{job="api",instance=""} == 0`, 0),
		},
		{
			name: "non-empty regexp", check: lint.CheckRegexp, severity: lint.SeverityWarning,
			bad:     alert(`up{job=~".+"} == 0`, 0),
			problem: "only tests whether the label is set",
			rewrite: `up{job!=""} == 0`,
			good:    alert(`up{job!=""} == 0`, 0),
		},
		{
			name: "empty negative regexp", check: lint.CheckRegexp, severity: lint.SeverityWarning,
			bad:     alert(`up{job!~".+"} == 0`, 0),
			problem: "only tests whether the label is set",
			rewrite: `up{job=""} == 0`,
			good:    alert(`up{job=""} == 0`, 0),
		},
		{
			name: "smelly selector", check: lint.CheckRegexp, severity: lint.SeverityWarning,
			bad:     alert(`up{job=~"myservice_.+_production"} == 0`, 0),
			problem: "picks parts out of one label value",
			good:    alert(`up{job="myservice",env="production"} == 0`, 0),
		},

		// promql/vector_matching
		{
			name: "the guide's ratio of a series to itself", check: lint.CheckVectorMatching, severity: lint.SeverityBug,
			bad:     alert(`rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05`, 2*time.Minute),
			problem: "status included), so the result is 1",
			rewrite: `sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05`,
			good:    alert(`sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05`, 2*time.Minute),
		},
		{
			name: "a trigger's ratio of a series to itself, kept per series", check: lint.CheckVectorMatching, severity: lint.SeverityBug,
			bad:     trigger(`sum without (instance) (rate(http_requests_total{code!="200"}[1m])) / sum without (instance) (rate(http_requests_total[1m]))`, domain.OpGreater, 0.1),
			problem: "code included",
			rewrite: `sum(sum without (instance) (rate(http_requests_total{code!="200"}[1m]))) / sum(sum without (instance) (rate(http_requests_total[1m])))`,
			good:    trigger(`sum without (instance, code) (rate(http_requests_total{code!="200"}[1m])) / sum without (instance, code) (rate(http_requests_total[1m]))`, domain.OpGreater, 0.1),
		},
		{
			name: "sides that never match", check: lint.CheckVectorMatching, severity: lint.SeverityBug,
			bad:     alert(`sum by (job) (rate(errors_total{job="api"}[5m])) / sum(rate(requests_total[5m])) > 0.01`, time.Minute),
			problem: "job is always set on the left and never on the right",
			rewrite: `sum by (job) (rate(errors_total{job="api"}[5m])) / on () group_left () sum(rate(requests_total[5m])) > 0.01`,
			good:    alert(`sum by (job) (rate(errors_total{job="api"}[5m])) / on () group_left () sum(rate(requests_total[5m])) > 0.01`, time.Minute),
		},
		{
			name: "a trigger's sides that never match because of the scope", check: lint.CheckVectorMatching, severity: lint.SeverityBug,
			bad:     trigger(`sum(rate(errors_total[1m])) / rate(requests_total[1m])`, domain.OpGreater, 0.1),
			problem: "environment is always set on the right and never on the left",
			rewrite: `sum(rate(errors_total[1m])) / sum(rate(requests_total[1m]))`,
			good:    trigger(`sum(rate(errors_total[1m])) / sum(rate(requests_total[1m]))`, domain.OpGreater, 0.1),
		},
		{
			name: "and that is always empty", check: lint.CheckVectorMatching, severity: lint.SeverityBug,
			bad:     alert(`sum by (job) (rate(errors_total{job="api"}[5m])) > 1 and sum by (instance) (up{instance="a"}) == 1`, 0),
			problem: "is always empty",
			good:    alert(`sum by (job) (rate(errors_total{job="api"}[5m])) > 1 and on () sum(up{instance="a"}) == 1`, 0),
		},
	}
}

// TestChecks: for every check, a rule that triggers it (with the expected
// severity, problem and rewrite) and a corrected rule with no finding at
// all. A finding's rewrite, put in place of the expression, no longer
// triggers the check.
func TestChecks(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{lint.CheckSeries: true} // series_test.go covers it
	// coherence_test.go covers Coherence's checks.
	for _, c := range coherenceChecks() {
		covered[c] = true
	}
	for _, tc := range checkCases() {
		covered[tc.check] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := lint.Lint(tc.bad)
			i := slices.IndexFunc(got, func(f lint.Finding) bool { return f.Check == tc.check })
			if i < 0 {
				t.Fatalf("Lint(bad) = %v, want a %s finding", got, tc.check)
			}
			f := got[i]
			kind, name := lint.KindAlertRule, "r"
			if len(tc.bad.Triggers) > 0 {
				kind, name = lint.KindTrigger, "t"
			}
			if f.Rule != name || f.Kind != kind || f.Severity != tc.severity {
				t.Errorf("finding = %+v, want rule %s, kind %s, severity %s", f, name, kind, tc.severity)
			}
			if !strings.Contains(f.Problem, tc.problem) {
				t.Errorf("problem %q does not contain %q", f.Problem, tc.problem)
			}
			if f.Suggestion == "" {
				t.Error("no suggestion")
			}
			if f.Rewrite != tc.rewrite {
				t.Errorf("rewrite = %q, want %q", f.Rewrite, tc.rewrite)
			}
			if f.Rewrite != "" {
				if !strings.Contains(f.Suggestion, f.Rewrite) {
					t.Errorf("suggestion %q does not show the rewrite %q", f.Suggestion, f.Rewrite)
				}
				fixed := withExpr(tc.bad, f.Rewrite)
				if again := lint.Lint(fixed); slices.ContainsFunc(again, func(g lint.Finding) bool { return g.Check == tc.check && g.Problem == f.Problem }) {
					t.Errorf("the rewrite %q still has the finding: %v", f.Rewrite, again)
				}
			}
			if got := lint.Lint(tc.good); len(got) != 0 {
				t.Errorf("Lint(good) = %v, want no findings", got)
			}
		})
	}
	for _, c := range lint.Checks() {
		if !covered[c] {
			t.Errorf("check %s has no test case", c)
		}
	}
}

// withExpr is s with its rule's expression replaced by expr.
func withExpr(s rules.Set, expr string) rules.Set {
	out := rules.Set{Metrics: s.Metrics, AlertRules: slices.Clone(s.AlertRules), Triggers: slices.Clone(s.Triggers)}
	if len(out.AlertRules) > 0 {
		out.AlertRules[0].Condition = expr
	} else {
		out.Triggers[0].Metric = expr
	}
	return out
}

// TestDefaultsAreClean: the monitor's default rules have no findings.
func TestDefaultsAreClean(t *testing.T) {
	t.Parallel()
	if got := lint.Lint(rules.Default()); len(got) != 0 {
		t.Errorf("Lint(rules.Default()) = %v, want no findings", got)
	}
}

// TestNamedMetricFindings: a trigger on a named metric is linted as the
// metric's PromQL, and the suggestion rewrites the named metric.
func TestNamedMetricFindings(t *testing.T) {
	t.Parallel()
	s := trigger("ratio", domain.OpGreater, 0.1)
	s.Metrics["ratio"] = `rate(http_requests_total{code=~"5.."}[1m]) / rate(http_requests_total[1m])`
	got := lint.Lint(s)
	want := []lint.Finding{{
		Rule: "t", Kind: lint.KindTrigger, Check: lint.CheckVectorMatching, Severity: lint.SeverityBug,
		Problem: "named metric ratio: `rate(http_requests_total{code=~\"5..\"}[1m]) / rate(http_requests_total[1m])` matches each series of the left " +
			"with the same series on the right (one-to-one matching compares every label, code included), so the result is 1 (NaN for 0/0) " +
			"for every series that exists on the left, whatever the values",
		Suggestion: "aggregate both sides so that the ratio is over all series (or sum without (code) on both sides for one ratio per remaining label set): " +
			`metrics.ratio: sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`,
		Rewrite: `sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lint (-want +got):\n%s", diff)
	}
}

// TestOrder: findings come in rule order (alert rules, then triggers), then
// check order, without duplicates, and the same every time.
func TestOrder(t *testing.T) {
	t.Parallel()
	s := rules.Set{Metrics: rules.DefaultMetrics()}
	s.AlertRules = append(alert(`up{job=~"a"} == bool 0`, 0).AlertRules, alert(`rate(x_total{job=~"b"}[10s]) / rate(x_total{job=~"b"}[10s])`, 0).AlertRules...)
	s.AlertRules[1].Name = "r2"
	s.Triggers = trigger(`up{job=~"a"} > 0`, domain.OpGreater, 0, duration(0)).Triggers
	var got []string
	for _, f := range lint.Lint(s) {
		got = append(got, f.Rule+" "+f.Check)
	}
	want := []string{
		"r alerts/comparison", "r promql/regexp",
		"r2 alerts/comparison", "r2 promql/rate", "r2 promql/regexp", "r2 promql/vector_matching",
		"t alerts/comparison", "t alerts/for", "t promql/regexp",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(lint.Lint(s), lint.Lint(s)); diff != "" {
		t.Errorf("Lint is not deterministic:\n%s", diff)
	}
}
