package rulestest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/monitor/rules/rulestest"
)

func run(t *testing.T, path string) *rulestest.Result {
	t.Helper()
	res, err := rulestest.Run(context.Background(), path)
	if err != nil {
		t.Fatalf("Run(%s): %v", path, err)
	}
	return res
}

// failures maps each test's name to its failures.
func failures(res *rulestest.Result) map[string][]string {
	out := map[string][]string{}
	for _, tr := range res.Tests {
		out[tr.Name] = tr.Failures
	}
	return out
}

// writeFile writes a test file into a temporary directory; rules.yaml there
// is the testdata's.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"rules.yaml", "nodata_rules.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "t.test.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExamplePasses: the users' example passes: the guide's alert goes
// pending and fires after its `for`, the error_rate trigger rolls back
// exactly 300 s after the breach starts (at started_at+300s when the canary
// is already failing), measuring only its deployment, and the p95 trigger
// alerts after 180 s.
func TestExamplePasses(t *testing.T) {
	t.Parallel()
	res := run(t, filepath.Join("testdata", "example.test.yaml"))
	var out bytes.Buffer
	res.Write(&out)
	if !res.Passed() {
		t.Fatalf("example failed:\n%s", out.String())
	}
	want := `Unit testing: testdata/example.test.yaml
  PASS  the guide's high_error_rate alert is pending for 2m, then fires
  PASS  an error rate above 10% rolls the canary back once sustained for 300s
  PASS  a p95 response time above 5s raises an alert after 180s
SUCCESS: 3 tests passed
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// TestFailingAssertions: every kind of assertion fails when its expectation
// is wrong, saying what was expected and what was found.
func TestFailingAssertions(t *testing.T) {
	t.Parallel()
	res := run(t, filepath.Join("testdata", "failing.test.yaml"))
	const labels = `{environment="production", status="500", version="1.2.0"}`
	const deployment = "(production 1.2.0 from 0s)"
	want := map[string][]string{
		"alert expected before it fires": {
			"alert high_error_rate at 4m: expected 1 firing alert, got 0\n" +
				"  missing firing " + labels + ": pending since 2m15s, value 1",
		},
		"alert with the wrong labels": {
			"alert high_error_rate at 5m: expected 1 firing alert, got 1\n" +
				`  missing firing {environment="production", status="500", version="1.2.1"}: inactive (the condition returns no such series)` + "\n" +
				"  unexpected firing " + labels + ": firing since 4m15s, value 1",
		},
		"alert firing where none is expected": {
			"alert high_error_rate at 5m: expected 0 firing alerts, got 1\n" +
				"  unexpected firing " + labels + ": firing since 4m15s, value 1",
		},
		"alert in the wrong state or with the wrong value": {
			"alert high_error_rate at 4m15s: expected 0 firing alerts, got 1\n" +
				"  missing pending " + labels + ": firing since 4m15s, value 1",
			"alert high_error_rate at 5m: expected 1 firing alert, got 1\n" +
				"  firing " + labels + ": value 1, expected 0.2",
		},
		"unknown alert rule and trigger": {
			"alert HighErrorRate at 1m: no such alert rule; the rules files define high_error_rate",
			"trigger errors at 1m " + deployment + ": no such trigger; the rules files define error_rate, response_time_p95",
		},
		"expected firing missing": {
			"trigger error_rate at 5m " + deployment + ": expected firing [rollback at 5m15s (breach)], got no firing (state: breaching since 15s, sustained 4m45s of 5m)",
		},
		"unexpected firing": {
			"trigger error_rate at 10m " + deployment + ": expected no firing, got firing [rollback at 5m15s (breach)] (state: fired (breaching since 15s))",
		},
		"firing at the wrong time, in the wrong state": {
			"trigger error_rate at 6m " + deployment + ": expected firing [rollback at 5m (breach)], got firing [rollback at 5m15s (breach)] (state: fired (breaching since 15s))",
			"trigger error_rate at 6m " + deployment + ": expected state breaching, got fired (breaching since 15s)",
		},
		"wrong deployment": {
			"trigger error_rate at 10m (staging 1.2.0 from 0s): expected firing [rollback at 5m15s (breach)], got no firing (state: no_data (policy hold))",
		},
		"wrong promql result": {
			`promql sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m])) at 5m: expected [{} 0.25], got [{} 0.2]` + "\n" +
				"  {}: value 0.2, expected 0.25",
			`promql sum by (code) (rate(http_requests_total[1m])) at 5m: expected [{code="500"} 2, {code="503"} 2], got [{code="200"} 7.999999999999999, {code="500"} 1.9999999999999998]` + "\n" +
				`  missing {code="503"} 2` + "\n" +
				`  unexpected {code="200"} 7.999999999999999`,
		},
	}
	if diff := cmp.Diff(want, failures(res)); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if res.Passed() || res.Failed() != len(want) {
		t.Errorf("Passed() = %v, Failed() = %d, want false, %d", res.Passed(), res.Failed(), len(want))
	}
}

// TestNoData: `_` values and stale markers; a no-data run fires the
// no_data: rollback trigger with cause no_data after its duration, the hold
// policy pauses the breach timer, and a no-data firing expected as a breach
// fails.
func TestNoData(t *testing.T) {
	t.Parallel()
	res := run(t, filepath.Join("testdata", "nodata.test.yaml"))
	const where = "trigger error_rate_or_silence at 4m (production 1.2.0 from 0s)"
	want := map[string][]string{
		"traffic that stops fires the no-data rollback":                   nil,
		"the hold policy pauses the breach timer through missing samples": nil,
		"a stale marker ends a series at once, a missing value does not":  nil,
		"FAIL: a no-data firing is not a breach": {
			where + ": expected firing [rollback at 3m45s (breach)], got firing [rollback at 3m45s (no_data)] (state: fired (no data since 2m45s))",
			where + ": expected state no_data, got fired (no data since 2m45s)",
		},
	}
	if diff := cmp.Diff(want, failures(res)); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

// TestUnusableFiles: a file that cannot be run is an error listing every
// problem, with its line and field path.
func TestUnusableFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []string // each problem must contain its entry, in order
	}{
		{"no_such.test.yaml", []string{"open testdata/no_such.test.yaml: no such file or directory"}},
		{"unusable_missing_rule_file.test.yaml", []string{
			"line 1: rule_files[1]: open testdata/no_such_rules.yaml: no such file or directory",
		}},
		{"unusable_series.test.yaml", []string{
			`line 6: tests[0].input_series[1]: invalid series "http_requests_total{code=\"500\"" with values "0+20x40": `,
			`line 8: tests[0].input_series[2]: invalid series "http_requests_total{code=\"503\"}" with values "0+20x": `,
			`line 10: tests[0].input_series[3].series: "http_requests_total{code=\"200\"}" is already input_series[0]`,
		}},
		{"unusable_fields.test.yaml", []string{
			`line 2: "15" needs a unit, e.g. 15s or 15m`,
			`line 5: "-15s": a duration must not be negative`,
			`line 9: unknown field "type" (known here: series, values)`,
			"line 11: tests[0].alert_rule_test[0].alertname: is required",
			`line 14: tests[0].alert_rule_test[0].exp_alerts[0].exp_state: "resolved" is not one of firing, pending`,
			"line 18: tests[0].trigger_test[0].deployment.version: is required",
			`line 20: tests[0].trigger_test[0].exp_fired[0].action: "restart" is not one of rollback, alert, scale_up`,
			`line 20: tests[0].trigger_test[0].exp_fired[0].cause: "silence" is not one of breach, no_data`,
			"line 20: tests[0].trigger_test[0].exp_fired[0].at: is required",
			`line 22: tests[0].promql_expr_test[0].expr: invalid PromQL "sum(up"`,
			`line 24: unknown field "exp_sample" (known here: expr, eval_time, exp_samples)`,
			`line 29: tests[0].promql_expr_test[1].exp_samples[0].labels: "{job=api}" is not a series such as '{code="500"}' or 'up{job="api"}'`,
		}},
		{"unusable_rules.test.yaml", []string{
			`line 2: rule_files[0]: bad_rules.yaml: alert_rules[0].name: "high.error.rate" is not a valid name: 1-64 ASCII letters`,
			`line 2: rule_files[0]: bad_rules.yaml: alert_rules[0].severity: "page" is not one of critical, warning, info`,
			`line 2: rule_files[0]: bad_rules.yaml: alert_rules[0].condition: invalid PromQL "rate(http_requests_total[5m]"`,
			"line 2: rule_files[0]: bad_rules.yaml: rollback_triggers[0].threshold: is required",
			`line 2: rule_files[0]: bad_rules.yaml: rollback_triggers[0].operator: "=>" is not one of > < >= <= == !=`,
			`line 2: rule_files[2]: rules.yaml: alert rule "high_error_rate" is already defined in rules.yaml`,
			`line 2: rule_files[2]: rules.yaml: trigger "error_rate" is already defined in rules.yaml`,
			`line 2: rule_files[2]: rules.yaml: trigger "response_time_p95" is already defined in rules.yaml`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tt.file)
			res, err := rulestest.Run(context.Background(), path)
			var fe *rulestest.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Run = %v, %v; want a *FileError", res, err)
			}
			if fe.File != path {
				t.Errorf("File = %q, want %q", fe.File, path)
			}
			if len(fe.Problems) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%v", len(fe.Problems), len(tt.want), err)
			}
			for i := range min(len(fe.Problems), len(tt.want)) {
				if !strings.Contains(fe.Problems[i], tt.want[i]) {
					t.Errorf("problem %d = %q\nwant it to contain %q", i, fe.Problems[i], tt.want[i])
				}
			}
			if !strings.HasPrefix(err.Error(), "rules test "+path+": ") {
				t.Errorf("Error() = %q, want it to name the file", err)
			}
		})
	}
}

// TestFileChecks: the checks of a test file's structure, on small files.
func TestFileChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		want          []string
	}{
		{"empty file", "", []string{"rule_files: must name at least one rules file", "tests: no tests"}},
		{"not a mapping", "- rules.yaml", []string{"line 1: a test file is a mapping with rule_files, evaluation_interval and tests, not !!seq"}},
		{"broken YAML", "rule_files: [rules.yaml\n", []string{"did not find expected ',' or ']'"}},
		{"zero evaluation interval", "rule_files: [rules.yaml]\nevaluation_interval: 0s\ntests: [{}]\n",
			[]string{"line 2: evaluation_interval: must be positive"}},
		{"eval_time too far", "rule_files: [rules.yaml]\nevaluation_interval: 1s\ntests:\n  - promql_expr_test: [{expr: up, eval_time: 1y}]\n",
			[]string{"line 4: tests[0].promql_expr_test[0].eval_time: 1y is more than 100000 evaluations of 1s"}},
		{"duration not a scalar", "rule_files: [rules.yaml]\nevaluation_interval: [1m]\ntests: [{}]\n",
			[]string{"line 2: a duration is a string such as 15s, 5m or 1h30m"}},
		{"junk duration", "rule_files: [rules.yaml]\ntests: [{interval: often}]\n",
			[]string{`line 2: "often" is not a duration (e.g. 15s, 5m, 1h30m)`}},
		{"series without labels", "rule_files: [rules.yaml]\ntests:\n  - input_series: [{series: '{}', values: '1'}]\n",
			[]string{`line 3: tests[0].input_series[0].series: "{}" has no labels`}},
		{"series missing", "rule_files: [rules.yaml]\ntests:\n  - input_series: [{values: '1'}]\n",
			[]string{"line 3: tests[0].input_series[0].series: is required"}},
		{"histogram values", "rule_files: [rules.yaml]\ntests:\n  - input_series: [{series: 'h', values: '{{schema:0 sum:1 count:1}}'}]\n",
			[]string{"line 3: tests[0].input_series[0].values: native histograms are not supported"}},
		{"alert labels", "rule_files: [rules.yaml]\ntests:\n  - alert_rule_test:\n      - alertname: high_error_rate\n        exp_alerts: [{exp_labels: {__name__: x}}, {exp_labels: {a: b}}, {exp_labels: {a: b}}]\n",
			[]string{`line 5: tests[0].alert_rule_test[0].exp_alerts[0].exp_labels: "__name__" is not a label an alert can have`,
				`line 5: tests[0].alert_rule_test[0].exp_alerts[2].exp_labels: {a="b"} is listed twice`}},
		{"trigger test without trigger nor deployment", "rule_files: [rules.yaml]\ntests:\n  - trigger_test: [{eval_time: 1m, exp_state: dead}]\n",
			[]string{"line 3: tests[0].trigger_test[0].trigger: is required",
				"line 3: tests[0].trigger_test[0].deployment.environment: is required",
				"line 3: tests[0].trigger_test[0].deployment.version: is required",
				`line 3: tests[0].trigger_test[0].exp_state: "dead" is not one of ok, breaching, no_data, fired`}},
		{"metric defined twice differently", "rule_files: [a.yaml, b.yaml]\ntests: [{}]\n",
			[]string{`line 1: rule_files[1]: b.yaml: metric "q" is already defined differently in a.yaml`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.content)
			dir := filepath.Dir(path)
			for name, content := range map[string]string{"a.yaml": "metrics: {q: up, same: vector(1)}\n", "b.yaml": "metrics: {q: down, same: vector(1)}\n"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := rulestest.Run(context.Background(), path)
			var fe *rulestest.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Run: %v, want a *FileError", err)
			}
			if len(fe.Problems) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant %d", strings.Join(fe.Problems, "\n"), len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(fe.Problems[i], w) {
					t.Errorf("problem %d = %q\nwant it to contain %q", i, fe.Problems[i], w)
				}
			}
		})
	}
}

// TestRuleFilesMerge: rules files are merged in order, so a trigger of a
// later file can use a named metric of an earlier one.
func TestRuleFilesMerge(t *testing.T) {
	t.Parallel()
	path := writeFile(t, `
rule_files: [rules.yaml, metrics.yaml, triggers.yaml]
tests:
  - input_series:
      - series: 'jobs_waiting{environment="staging", version="2.0.0"}'
        values: '50x20'
    trigger_test:
      - eval_time: 2m
        trigger: backlog
        deployment: {environment: staging, version: 2.0.0}
        exp_fired: [{action: scale_up, at: 1m}]
      - eval_time: 2m
        trigger: error_rate
        deployment: {environment: staging, version: 2.0.0}
        exp_state: no_data
`)
	dir := filepath.Dir(path)
	for name, content := range map[string]string{
		"metrics.yaml":  "metrics:\n  backlog: max(jobs_waiting)\n",
		"triggers.yaml": "rollback_triggers:\n  - {name: backlog, metric: backlog, operator: '>', threshold: 10, duration: 60, action: scale_up}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res := run(t, path)
	if diff := cmp.Diff(map[string][]string{"test #1": nil}, failures(res)); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

// TestCasesAreIndependent: a case evaluates from 0 whatever the cases
// before it (going back in time, the same trigger for another deployment
// start); a deployment starting between evaluations is first evaluated at
// the next one; an evaluation interval coarser than the series interval
// moves the firing to its grid.
func TestCasesAreIndependent(t *testing.T) {
	t.Parallel()
	const series = `
    input_series:
      - series: 'http_requests_total{code="200", environment="production", version="1.2.0"}'
        values: '0+120x80'
      - series: 'http_requests_total{code="500", environment="production", version="1.2.0"}'
        values: '0+30x80'
`
	path := writeFile(t, `
rule_files: [rules.yaml]
tests:
  - name: back and forth
`+series+`
    trigger_test:
      - {eval_time: 10m, trigger: error_rate, deployment: {environment: production, version: 1.2.0}, exp_fired: [{action: rollback, at: 5m15s}]}
      - {eval_time: 5m, trigger: error_rate, deployment: {environment: production, version: 1.2.0}, exp_state: breaching}
      - {eval_time: 5m15s, trigger: error_rate, deployment: {environment: production, version: 1.2.0}, exp_fired: [{action: rollback, at: 5m15s}]}
      # Started between two evaluations: the first one observed is at 1m15s.
      - {eval_time: 20m, trigger: error_rate, deployment: {environment: production, version: 1.2.0, started_at: 1m10s}, exp_fired: [{action: rollback, at: 6m15s}]}
      - {eval_time: 1m, trigger: error_rate, deployment: {environment: production, version: 1.2.0, started_at: 1m10s}, exp_state: ok}
`)
	if diff := cmp.Diff(map[string][]string{"back and forth": nil}, failures(run(t, path))); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	alerts := writeFile(t, `
rule_files: [rules.yaml]
tests:
  - name: alerts back and forth
    input_series:
      - series: 'http_requests_total{status="500", environment="production", version="1.2.0"}'
        values: '0x8 30+30x31'
    alert_rule_test:
      - eval_time: 5m
        alertname: high_error_rate
        exp_alerts: [{exp_labels: {status: "500", environment: production, version: 1.2.0}}]
      - eval_time: 3m
        alertname: high_error_rate
        exp_alerts: [{exp_labels: {status: "500", environment: production, version: 1.2.0}, exp_state: pending}]
      - eval_time: 2m
        alertname: high_error_rate
      - eval_time: 4m15s
        alertname: high_error_rate
        exp_alerts: [{exp_labels: {status: "500", environment: production, version: 1.2.0}}]
`)
	if diff := cmp.Diff(map[string][]string{"alerts back and forth": nil}, failures(run(t, alerts))); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	coarse := writeFile(t, `
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 15s
`+series+`
    trigger_test:
      # Evaluated at 0, 1m, 2m…: the breach starts at 1m and fires at 6m.
      - {eval_time: 5m59s, trigger: error_rate, deployment: {environment: production, version: 1.2.0}, exp_state: breaching}
      - {eval_time: 6m, trigger: error_rate, deployment: {environment: production, version: 1.2.0}, exp_fired: [{action: rollback, at: 6m}]}
    alert_rule_test:
      - {eval_time: 1m, alertname: high_error_rate}
`)
	if diff := cmp.Diff(map[string][]string{"test #1": nil}, failures(run(t, coarse))); diff != "" {
		t.Errorf("coarse evaluations (-want +got):\n%s", diff)
	}
}

// TestWrite: the report's layout, multi-line failures indented.
func TestWrite(t *testing.T) {
	t.Parallel()
	res := &rulestest.Result{File: "x.test.yaml", Tests: []rulestest.TestResult{
		{Name: "good"},
		{Name: "bad", Failures: []string{"first\n  detail", "second"}},
	}}
	var out bytes.Buffer
	res.Write(&out)
	want := `Unit testing: x.test.yaml
  PASS  good
  FAIL  bad
        first
          detail
        second
FAILED: 1 of 2 tests failed
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if res.Passed() || res.Failed() != 1 || !res.Tests[0].Passed() || res.Tests[1].Passed() {
		t.Errorf("Passed/Failed wrong for %+v", res)
	}
	one := &rulestest.Result{File: "y", Tests: []rulestest.TestResult{{Name: "only"}}}
	out.Reset()
	one.Write(&out)
	if !strings.HasSuffix(out.String(), "SUCCESS: 1 test passed\n") || !one.Passed() {
		t.Errorf("report %q", out.String())
	}
}

// TestRunCancelled: a cancelled context stops the run with its error.
func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := rulestest.Run(ctx, filepath.Join("testdata", "example.test.yaml"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run(cancelled) = %v, want context.Canceled", err)
	}
}

// TestDisabledRules: a disabled alert rule or trigger never fires, and a
// failure says it is disabled.
func TestDisabledRules(t *testing.T) {
	t.Parallel()
	path := writeFile(t, `
rule_files: [disabled.yaml]
tests:
  - name: nothing fires
    alert_rule_test: [{eval_time: 1m, alertname: always}]
    trigger_test: [{eval_time: 1m, trigger: always, deployment: {environment: e, version: v}, exp_state: ok}]
  - name: expecting a firing fails
    alert_rule_test: [{eval_time: 1m, alertname: always, exp_alerts: [{exp_labels: {}}]}]
    trigger_test: [{eval_time: 1m, trigger: always, deployment: {environment: e, version: v}, exp_fired: [{action: alert, at: 0s}]}]
`)
	rules := `
alert_rules:
  - {name: always, condition: vector(1) > 0, severity: info, channels: [x], enabled: false}
rollback_triggers:
  - {name: always, metric: vector(1), operator: ">", threshold: 0, action: alert, enabled: false}
`
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "disabled.yaml"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"nothing fires": nil,
		"expecting a firing fails": {
			"alert always at 1m (the rule is disabled): expected 1 firing alert, got 0\n  missing firing {}: the condition holds but the alert is inactive, value 1",
			"trigger always at 1m (e v from 0s) (the trigger is disabled): expected firing [alert at 0s (breach)], got no firing (state: ok)",
		},
	}
	if diff := cmp.Diff(want, failures(run(t, path))); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

// TestProblemLinesFollowAliases: a problem inside an aliased node is
// reported at the anchored text, where it can be fixed.
func TestProblemLinesFollowAliases(t *testing.T) {
	t.Parallel()
	path := writeFile(t, `rule_files: [rules.yaml]
tests:
  - input_series: &s
      - series: 'up'
        values: 'x'
  - input_series: *s
`)
	_, err := rulestest.Run(context.Background(), path)
	var fe *rulestest.FileError
	if !errors.As(err, &fe) || len(fe.Problems) != 2 {
		t.Fatalf("Run: %v, want 2 problems", err)
	}
	for i, want := range []string{"line 4: tests[0].input_series[0]: invalid series", "line 4: tests[1].input_series[0]: invalid series"} {
		if !strings.HasPrefix(fe.Problems[i], want) {
			t.Errorf("problem %d = %q, want prefix %q", i, fe.Problems[i], want)
		}
	}
}
