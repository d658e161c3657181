package lint_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// FuzzLint lints arbitrary expressions as an alert condition, a trigger's
// PromQL metric and a named metric: Lint and LintSeries never panic, Lint is
// deterministic, every finding is well formed (a known check and severity,
// a problem, a suggestion) and every rewrite is PromQL. An expression that
// does not parse has exactly the promql/syntax finding. The corpus is
// seeded with every expression of the check tests and some edge cases:
//
//	go test ./rules/lint -run '^$' -fuzz FuzzLint -fuzztime 1m
func FuzzLint(f *testing.F) {
	for _, tc := range checkCases() {
		for _, s := range []rules.Set{tc.bad, tc.good} {
			for _, r := range s.AlertRules {
				f.Add(r.Condition, uint8(0))
			}
			for _, tr := range s.Triggers {
				f.Add(s.Resolve(tr.Metric), uint8(1))
			}
		}
	}
	for _, q := range []string{
		"", "1", `"s"`, "-up", "up @ start()", "up offset -5m", "time() > bool 1", "1 > bool 2", `{__name__=~".*"}`,
		`{__name__=~"^up$",job!~".+"}`, `up{job=~"(?i)API"}`, `up{job=~"^$"}`, `up{job=~"a$|^b"}`, `up{job=~"\\^x\\$"}`,
		`label_replace(up, "dst", "$1", "src", "(.*)") / up`, `count_values("v", up) > 1`, `quantile(0.9, up) > 1`,
		`rate(x_total[5m:1m]) > 1`, `rate((sum(x_total) + 1)[5m:])`, `irate(sum without (a) (x_total)[1m:])`,
		`histogram_quantile(0.9, rate(x_seconds[5m])) > 1`, `histogram_quantile(0.9, sum by (le) (sum(x_bucket)))`,
		`histogram_fraction(0, 1, sum(rate(x_bucket[5m])))`, `sum by (le) (x_bucket) / on (le) group_left (job) sum by (le, job) (y_bucket)`,
		`x{a="1"} / on (a) group_right (b) y{b="2"}`, `x{a="1"} and ignoring (a) y`, `x{a="1"} unless y{b=""}`,
		`absent_over_time(up{job="a"}[5m])`, `scalar(up) > 1`, `vector(time()) or up`, `sort_desc(topk(3, up))`,
		`bottomk(1, up) * on () group_left () vector(2)`, `max_over_time((x > 1)[5m:])`, `deriv(x_total[5m] @ 100)`,
		"((up))", "up[5m]", `sum(up) by (`, "rate(x[1m]) +", "\x00", "up{",
	} {
		f.Add(q, uint8(0))
		f.Add(q, uint8(255))
	}
	checks := lint.Checks()
	f.Fuzz(func(t *testing.T, expr string, knobs uint8) {
		s := rules.Set{
			Metrics: map[string]string{"m": expr},
			AlertRules: []domain.AlertRule{{
				Name: "r", Condition: expr, Severity: domain.SeverityInfo, Channels: []string{"x"},
				For: time.Duration(knobs&1) * time.Minute, Enabled: true,
			}},
			Triggers: []domain.Trigger{
				{Name: "t", Metric: expr, Operator: domain.OpGreater, Threshold: float64(knobs) / 100, Action: domain.ActionRollback, Duration: time.Duration(knobs>>1) * time.Second},
				{Name: "n", Metric: "m", Operator: domain.OpEqual, Threshold: float64(knobs & 1), Action: domain.ActionAlert, NoData: domain.NoDataAlert},
			},
		}
		got := lint.Lint(s)
		if diff := cmp.Diff(got, lint.Lint(s)); diff != "" {
			t.Fatalf("Lint(%q) is not deterministic:\n%s", expr, diff)
		}
		for _, fd := range got {
			switch {
			case fd.Rule != "r" && fd.Rule != "t" && fd.Rule != "n",
				fd.Kind != lint.KindAlertRule && fd.Kind != lint.KindTrigger,
				!slices.Contains(checks, fd.Check),
				fd.Severity != lint.SeverityWarning && fd.Severity != lint.SeverityBug,
				fd.Problem == "", fd.Suggestion == "":
				t.Errorf("Lint(%q): malformed finding %+v", expr, fd)
			}
			if fd.Rewrite != "" {
				if err := metrics.Validate(fd.Rewrite); err != nil {
					t.Errorf("Lint(%q): rewrite %q is not PromQL: %v", expr, fd.Rewrite, err)
				}
			}
		}
		if metrics.Validate(expr) != nil {
			if len(got) != 3 || slices.ContainsFunc(got, func(fd lint.Finding) bool { return fd.Check != lint.CheckSyntax }) {
				t.Errorf("Lint(%q) of invalid PromQL = %v, want one promql/syntax finding per rule", expr, got)
			}
		}
		src := httpSeries()
		if _, err := lint.LintSeries(context.Background(), s, src); err != nil {
			t.Errorf("LintSeries(%q): %v", expr, err)
		}
	})
}
