package rules_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/rules"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// violations is the field violations of err, which must be an
// *errs.InvalidArgumentError.
func violations(t *testing.T, err error) []errs.FieldViolation {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("error %T %v, want *errs.InvalidArgumentError", err, err)
	}
	return ia.Violations
}

// TestParseFullFile converts every field of testdata/full.yaml: units
// (seconds for a trigger's duration, minutes for cooldowns, Go duration
// strings for both), `for`, enabled defaulting to true, the version, and
// named metrics added to and overriding the defaults.
func TestParseFullFile(t *testing.T) {
	t.Parallel()
	got, err := rules.Parse(read(t, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := rules.Set{
		Metrics: map[string]string{
			"error_rate":        `sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`,
			"response_time_p95": rules.DefaultMetrics()["response_time_p95"],
			"queue_depth":       `max(job_queue_depth)`,
		},
		AlertRules: []domain.AlertRule{
			{
				Name: "high_error_rate", Description: "API error rate above 5%",
				Condition: `sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05`,
				Severity:  domain.SeverityCritical, Channels: []string{"slack", "email", "sms"},
				For: 2 * time.Minute, Cooldown: 5 * time.Minute, Enabled: true, Version: 1,
			},
			{
				Name: "queue-backlog", Condition: `max(job_queue_depth) > 1000`,
				Severity: domain.SeverityInfo, Channels: []string{"email"},
				For: 0, Cooldown: 90 * time.Minute, Enabled: false, Version: 1,
			},
			{
				Name:      "Slow2",
				Condition: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 2`,
				Severity:  domain.SeverityWarning, Channels: []string{"slack"},
				Cooldown: 150 * time.Second, Enabled: true, Version: 1,
			},
		},
		Triggers: []domain.Trigger{
			{
				Name: "error_rate", Metric: "error_rate", Operator: domain.OpGreater, Threshold: 0.1,
				Duration: 5 * time.Minute, Action: domain.ActionRollback, Cooldown: time.Hour,
				NoData: domain.NoDataHold, Enabled: true, Version: 1,
			},
			{
				Name: "response_time_p95", Metric: "response_time_p95", Operator: domain.OpGreaterEqual, Threshold: 5,
				Duration: 3 * time.Minute, Action: domain.ActionAlert, Cooldown: 30 * time.Minute,
				NoData: domain.NoDataAlert, Enabled: true, Version: 1,
			},
			{
				Name: "queue", Metric: "queue_depth", Operator: domain.OpLess, Threshold: 0,
				Action: domain.ActionScaleUp, NoData: domain.NoDataRollback, Enabled: true, Version: 1,
			},
			{
				Name: "saturation", Metric: "avg(node_cpu_utilisation) * 100", Operator: domain.OpNotEqual, Threshold: -1.5,
				Duration: 90*time.Second + 500*time.Millisecond, Action: domain.ActionAlert, Enabled: false, Version: 1,
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(full.yaml) (-want +got):\n%s", diff)
	}
}

// TestParseGuideExample parses the package documentation's example.
func TestParseGuideExample(t *testing.T) {
	t.Parallel()
	got, err := rules.Parse(read(t, "guide.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AlertRules) != 1 || got.AlertRules[0].For != 2*time.Minute || got.AlertRules[0].Cooldown != 5*time.Minute {
		t.Errorf("alert rules = %+v, want high_error_rate for 2m, cooldown 5m", got.AlertRules)
	}
	// The guide's trigger is the default one, field for field.
	if diff := cmp.Diff(domain.DefaultTriggers()[:1], got.Triggers); diff != "" {
		t.Errorf("triggers (-want +got):\n%s", diff)
	}
}

// TestParseEmpty: an empty file (or only comments) is an empty rule set
// with the default named metrics.
func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "# nothing yet\n", "metrics: {}\nalert_rules: []\n"} {
		got, err := rules.Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		want := rules.Set{Metrics: rules.DefaultMetrics()}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", in, diff)
		}
	}
}

// TestParseReportsEveryViolation: every invalid field of testdata/invalid.yaml
// is reported at once, with its path.
func TestParseReportsEveryViolation(t *testing.T) {
	t.Parallel()
	_, err := rules.Parse(read(t, "invalid.yaml"))
	type v struct{ field, contains string }
	want := []v{
		{"metrics.broken", `invalid PromQL "sum(rate(x[1m])"`},
		{"alert_rules[0].name", `"high.error.rate" is not a valid name: 1-64 ASCII letters, digits, '-' or '_', starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)`},
		{"alert_rules[0].severity", `"page" is not one of critical, warning, info`},
		{"alert_rules[0].channels", "must name at least one channel"},
		{"alert_rules[0].condition", `invalid PromQL "rate(http_requests_total[5m]"`},
		{"alert_rules[1].channels[1]", `"email" is listed twice`},
		{"alert_rules[2].condition", "must be a PromQL expression, not empty"},
		{"alert_rules[2].name", `"dup" is defined twice`},
		{"rollback_triggers[0].threshold", "is required"},
		{"rollback_triggers[0].name", `"error.rate" is not a valid name: 1-64 ASCII letters`},
		{"rollback_triggers[0].operator", `"=>" is not one of > < >= <= == !=`},
		{"rollback_triggers[0].action", `"restart" is not one of rollback, alert, scale_up`},
		{"rollback_triggers[0].no_data", `"panic" is not one of hold, alert, rollback`},
		{"rollback_triggers[0].metric", `is neither a named metric (broken, error_rate, response_time_p95) nor PromQL: invalid PromQL "error rate"`},
		{"rollback_triggers[2].metric", "must be a PromQL expression, not empty"},
		{"rollback_triggers[2].name", `"t2" is defined twice`},
	}
	got := violations(t, err)
	if len(got) != len(want) {
		t.Errorf("%d violations, want %d:\n%v", len(got), len(want), err)
	}
	for i := range min(len(got), len(want)) {
		if got[i].Field != want[i].field || !strings.Contains(got[i].Description, want[i].contains) {
			t.Errorf("violation %d = %s: %s\n                want %s: …%s…", i, got[i].Field, got[i].Description, want[i].field, want[i].contains)
		}
	}
}

// TestParseRefusesYAMLProblems: unknown fields, a bare number for `for`,
// negative durations and wrong shapes are refused with the line and a
// message that says what to write instead.
func TestParseRefusesYAMLProblems(t *testing.T) {
	t.Parallel()
	const rule = "alert_rules:\n  - {name: a, condition: up == 0, severity: info, channels: [x]"
	const trigger = "rollback_triggers:\n  - {name: a, metric: up, operator: '>', threshold: 1, action: alert"
	tests := []struct {
		name, in string
		want     []string // substrings of the single (yaml) violation
	}{
		{"unknown field", rule + ", sevrity: info}", []string{"line 2", "field sevrity not found"}},
		{"unknown top-level field", "rollback_trigger: []", []string{"line 1", "field rollback_trigger not found"}},
		{"for as a bare number", rule + ", for: 30}", []string{"line 2", `"30" needs a unit, e.g. 30s`}},
		{"for as a bare fraction", rule + ", for: 1.5}", []string{`"1.5" needs a unit`}},
		{"negative for", rule + ", for: -2m}", []string{"line 2", `"-2m": a duration must not be negative`}},
		{"negative alert cooldown", rule + ", cooldown: -5}", []string{`"-5": a duration must not be negative`}},
		{"negative trigger duration in seconds", trigger + ", duration: -300}", []string{"line 2", `"-300": a duration must not be negative`}},
		{"negative trigger duration as a string", trigger + ", duration: -5m}", []string{`"-5m": a duration must not be negative`}},
		{"negative trigger cooldown", trigger + ", cooldown: -60}", []string{`"-60": a duration must not be negative`}},
		{"NaN duration", trigger + ", duration: NaN}", []string{`"NaN" is not a valid duration`}},
		{"overflowing duration", trigger + ", cooldown: 1e300}", []string{`"1e300" is not a valid duration`}},
		{"duration not a scalar", trigger + ", duration: [5]}", []string{"a duration is a number or a string like 5m"}},
		{"junk duration", trigger + ", duration: soon}", []string{`"soon" is not a duration (a number or e.g. 5m)`}},
		{"threshold not a number", "rollback_triggers: [{name: a, threshold: high}]", []string{"cannot unmarshal !!str `high` into float64"}},
		{"not a mapping", "[]", []string{"cannot unmarshal !!seq"}},
		{"metrics not a map", "metrics: 5", []string{"cannot unmarshal !!int"}},
		{"broken YAML", "alert_rules: [", []string{"did not find expected node content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := rules.Parse([]byte(tt.in))
			got := violations(t, err)
			if len(got) != 1 || got[0].Field != "(yaml)" {
				t.Fatalf("violations = %+v, want one (yaml) violation", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0].Description, w) {
					t.Errorf("description %q does not contain %q", got[0].Description, w)
				}
			}
		})
	}
}

// TestDurationForms: the accepted spellings of each duration kind.
func TestDurationForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field, value string
		want         time.Duration
	}{
		{"duration", "300", 5 * time.Minute},
		{"duration", "0", 0},
		{"duration", "0.5", 500 * time.Millisecond},
		{"duration", `"5m"`, 5 * time.Minute},
		{"duration", "1h30m", 90 * time.Minute},
		{"cooldown", "60", time.Hour},
		{"cooldown", "0.5", 30 * time.Second},
		{"cooldown", "90s", 90 * time.Second},
	}
	for _, tt := range tests {
		in := "rollback_triggers:\n  - {name: a, metric: up, operator: '>', threshold: 1, action: alert, " + tt.field + ": " + tt.value + "}"
		set, err := rules.Parse([]byte(in))
		if err != nil {
			t.Errorf("%s: %s: %v", tt.field, tt.value, err)
			continue
		}
		got := set.Triggers[0].Duration
		if tt.field == "cooldown" {
			got = set.Triggers[0].Cooldown
		}
		if got != tt.want {
			t.Errorf("%s: %s = %s, want %s", tt.field, tt.value, got, tt.want)
		}
	}
	for value, want := range map[string]time.Duration{"0": 0, "2m": 2 * time.Minute, "90s": 90 * time.Second, `"1h"`: time.Hour} {
		in := "alert_rules:\n  - {name: a, condition: up == 0, severity: info, channels: [x], for: " + value + "}"
		set, err := rules.Parse([]byte(in))
		if err != nil {
			t.Errorf("for: %s: %v", value, err)
			continue
		}
		if got := set.AlertRules[0].For; got != want {
			t.Errorf("for: %s = %s, want %s", value, got, want)
		}
	}
}

// TestResolve: a named metric resolves to its PromQL, anything else to itself.
func TestResolve(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse(read(t, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for metric, want := range map[string]string{
		"error_rate":        `sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`, // overridden
		"response_time_p95": rules.DefaultMetrics()["response_time_p95"],                                              // default
		"queue_depth":       "max(job_queue_depth)",                                                                   // added
		"up == 0":           "up == 0",                                                                                // PromQL
		"job_queue_depth":   "job_queue_depth",                                                                        // not a name: a selector
	} {
		if got := set.Resolve(metric); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", metric, got, want)
		}
	}
	if got := rules.Default().Resolve("error_rate"); got != rules.DefaultMetrics()["error_rate"] {
		t.Errorf("Default().Resolve(error_rate) = %q", got)
	}
}

// TestDefault: the default set is the guide's two triggers over the default
// metrics and its two alert rules, and it validates.
func TestDefault(t *testing.T) {
	t.Parallel()
	d := rules.Default()
	if diff := cmp.Diff(domain.DefaultTriggers(), d.Triggers); diff != "" {
		t.Errorf("triggers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(rules.DefaultAlertRules(), d.AlertRules); diff != "" || len(d.AlertRules) != 2 {
		t.Errorf("alert rules (-want +got):\n%s", diff)
	}
	for _, r := range d.AlertRules {
		if err := rules.ValidateAlertRule(r); err != nil {
			t.Errorf("default alert rule %s: %v", r.Name, err)
		}
	}
	// The guide's thresholds, severities, channels and cooldowns.
	byName := map[string]domain.AlertRule{}
	for _, r := range d.AlertRules {
		byName[r.Name] = r
	}
	if r := byName["high_error_rate"]; !strings.HasSuffix(r.Condition, "> 0.05") || r.Severity != "critical" || strings.Join(r.Channels, ",") != "slack,email,sms" || r.Cooldown != 5*time.Minute {
		t.Errorf("high_error_rate: %+v", r)
	}
	if r := byName["slow_response_time"]; !strings.HasSuffix(r.Condition, "> 2") || r.Severity != "warning" || strings.Join(r.Channels, ",") != "slack" || r.Cooldown != 15*time.Minute {
		t.Errorf("slow_response_time: %+v", r)
	}
	for _, tr := range d.Triggers {
		if err := d.ValidateTrigger(tr); err != nil {
			t.Errorf("default trigger %s: %v", tr.Name, err)
		}
		if _, ok := d.Metrics[tr.Metric]; !ok {
			t.Errorf("default trigger %s: metric %q is not a default named metric", tr.Name, tr.Metric)
		}
	}
}

// TestValidateTrigger: a trigger's metric must be a named metric of the set
// or PromQL; the other fields are checked by the domain.
func TestValidateTrigger(t *testing.T) {
	t.Parallel()
	set := rules.Set{Metrics: map[string]string{"errors": "sum(rate(x[1m]))"}}
	ok := domain.DefaultTriggers()[0]
	for _, metric := range []string{"errors", "sum(rate(y[1m]))", "error_rate"} { // error_rate is a valid selector here
		tr := ok
		tr.Metric = metric
		if err := set.ValidateTrigger(tr); err != nil {
			t.Errorf("metric %q: %v", metric, err)
		}
	}
	bad := ok
	bad.Metric, bad.Threshold, bad.Action = "error rate", math.Inf(1), "page"
	got := violations(t, set.ValidateTrigger(bad))
	fields := make([]string, 0, len(got))
	for _, v := range got {
		fields = append(fields, v.Field)
	}
	if diff := cmp.Diff([]string{"threshold", "action", "metric"}, fields); diff != "" {
		t.Errorf("violated fields (-want +got):\n%s", diff)
	}
	if d := got[len(got)-1].Description; !strings.Contains(d, "neither a named metric (errors) nor PromQL") {
		t.Errorf("metric violation %q does not name the set's metrics", d)
	}
}

// TestValidateAlertRule: the condition must be PromQL, beside the domain's checks.
func TestValidateAlertRule(t *testing.T) {
	t.Parallel()
	r := domain.AlertRule{Name: "a", Condition: "up == 0", Severity: domain.SeverityInfo, Channels: []string{"x"}, Enabled: true}
	if err := rules.ValidateAlertRule(r); err != nil {
		t.Fatal(err)
	}
	r.Condition = "up =="
	got := violations(t, rules.ValidateAlertRule(r))
	if len(got) != 1 || got[0].Field != "condition" || !strings.Contains(got[0].Description, `invalid PromQL "up =="`) {
		t.Errorf("violations = %+v, want one invalid PromQL condition", got)
	}
}

// TestLoad reads a file from disk; its errors name the file.
func TestLoad(t *testing.T) {
	t.Parallel()
	set, err := rules.Load(filepath.Join("testdata", "guide.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Triggers) != 1 || set.Triggers[0].Name != "error_rate" {
		t.Errorf("triggers = %+v", set.Triggers)
	}
	if _, err := rules.Load(filepath.Join("testdata", "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a not-exist error", err)
	}
	path := filepath.Join("testdata", "invalid.yaml")
	_, err = rules.Load(path)
	if err == nil || !strings.Contains(err.Error(), "rules file "+path+": ") {
		t.Errorf("Load(invalid) = %v, want an error naming the file", err)
	}
	if v := violations(t, err); len(v) == 0 || v[0].Field != "metrics.broken" {
		t.Errorf("Load(invalid) violations = %+v, want them unwrapped", v)
	}
}

// TestParseReportsEveryYAMLProblem: bad durations do not stop the decoder, so
// every one of them is reported together.
func TestParseReportsEveryYAMLProblem(t *testing.T) {
	t.Parallel()
	_, err := rules.Parse([]byte("alert_rules:\n  - {name: a, for: 30, cooldown: -1}\nrollback_triggers:\n  - {name: b, duration: soon}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`line 2: "30" needs a unit`, `line 2: "-1": a duration must not be negative`, `line 4: "soon" is not a duration`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
