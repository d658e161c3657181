// Package rules is the monitor's rules file: named metrics, alert rules and
// rollback triggers in YAML, with the release guide's field names and units
// (a trigger's duration in seconds, cooldowns in minutes; Go duration strings
// such as "5m" are accepted too). The monitor seeds its rules from one;
// `floe rules check|apply|test` read them.
//
//	metrics:
//	  error_rate: sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))
//	alert_rules:
//	  - name: high_error_rate
//	    description: API error rate above 5%
//	    condition: sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05
//	    severity: critical
//	    channels: [slack, email, sms]
//	    for: 2m
//	    cooldown: 5          # minutes
//	rollback_triggers:
//	  - name: error_rate
//	    metric: error_rate   # a named metric, or PromQL
//	    operator: ">"
//	    threshold: 0.1
//	    duration: 300        # seconds
//	    action: rollback
//	    cooldown: 60         # minutes
//	    no_data: hold
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/errs"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

// Set is a validated set of rules.
type Set struct {
	// Metrics maps a metric name to its PromQL.
	Metrics    map[string]string
	AlertRules []domain.AlertRule
	Triggers   []domain.Trigger
}

// DefaultMetrics are the named metrics the guide's triggers use, over the
// conventional HTTP server metrics (http_requests_total with a `code` label,
// http_request_duration_seconds histogram).
func DefaultMetrics() map[string]string {
	return map[string]string{
		"error_rate":        `sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`,
		"response_time_p95": `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))`,
	}
}

// Default is the guide's two rollback triggers over DefaultMetrics and its
// two alert rules (DefaultAlertRules).
func Default() Set {
	return Set{Metrics: DefaultMetrics(), AlertRules: DefaultAlertRules(), Triggers: domain.DefaultTriggers()}
}

// DefaultAlertRules are the guide's two alert rules with its thresholds,
// severities, channels and cooldowns, written as the ratios and quantiles
// they mean per environment and version over the conventional HTTP metrics
// (the guide's literal conditions divide each series by itself, and take a
// quantile per bucket series; see docs/rules-lint.md):
//
//   - High Error Rate: more than 5 % of requests fail; critical; slack,
//     email, sms; cooldown 5 min;
//   - Slow Response Time: p95 above 2 s; warning; slack; cooldown 15 min.
func DefaultAlertRules() []domain.AlertRule {
	return []domain.AlertRule{
		{
			Name: "high_error_rate", Description: "API error rate above 5%",
			Condition: `sum by (environment, version) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (environment, version) (rate(http_requests_total[5m])) > 0.05`,
			Severity:  domain.SeverityCritical, Channels: []string{"slack", "email", "sms"}, For: time.Minute, Cooldown: 5 * time.Minute, Enabled: true, Version: 1,
		},
		{
			Name: "slow_response_time", Description: "95th percentile response time above 2 seconds",
			Condition: `histogram_quantile(0.95, sum by (environment, version, le) (rate(http_request_duration_seconds_bucket[5m]))) > 2`,
			Severity:  domain.SeverityWarning, Channels: []string{"slack"}, For: time.Minute, Cooldown: 15 * time.Minute, Enabled: true, Version: 1,
		},
	}
}

// Resolve is the PromQL of a trigger's metric: the named metric's
// expression, or the metric itself when it is not a name in the catalogue.
func (s Set) Resolve(metric string) string {
	if q, ok := s.Metrics[metric]; ok {
		return q
	}
	return metric
}

// file is the YAML form.
type file struct {
	Metrics          map[string]string `yaml:"metrics"`
	AlertRules       []alertRule       `yaml:"alert_rules"`
	RollbackTriggers []trigger         `yaml:"rollback_triggers"`
}

type alertRule struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Condition   string   `yaml:"condition"`
	Severity    string   `yaml:"severity"`
	Channels    []string `yaml:"channels"`
	For         Duration `yaml:"for"`
	Cooldown    Minutes  `yaml:"cooldown"`
	Enabled     *bool    `yaml:"enabled"`
	// Environments and Apps limit the series it watches (none: all).
	Environments []string `yaml:"environments"`
	Apps         []string `yaml:"apps"`
}

type trigger struct {
	Name      string   `yaml:"name"`
	Metric    string   `yaml:"metric"`
	Operator  string   `yaml:"operator"`
	Threshold *float64 `yaml:"threshold"`
	Duration  Seconds  `yaml:"duration"`
	Action    string   `yaml:"action"`
	Cooldown  Minutes  `yaml:"cooldown"`
	NoData    string   `yaml:"no_data"`
	Enabled   *bool    `yaml:"enabled"`
	// Environments and Apps limit the deployments it judges (none: all);
	// Thresholds replace Threshold per environment.
	Environments []string           `yaml:"environments"`
	Apps         []string           `yaml:"apps"`
	Thresholds   map[string]float64 `yaml:"thresholds"`
	// Severity and Channels tell an alert action's firing (default warning).
	Severity string   `yaml:"severity"`
	Channels []string `yaml:"channels"`
}

// Load reads a rules file. Named metrics it defines are added to (and
// override) DefaultMetrics.
func Load(path string) (Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Set{}, fmt.Errorf("rules file: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return Set{}, fmt.Errorf("rules file %s: %w", path, err)
	}
	return s, nil
}

// Parse reads a rules file's content and validates it, reporting every
// problem at once as an *errs.InvalidArgumentError (fields such as
// "rollback_triggers[1].operator"); unknown fields are errors.
func Parse(data []byte) (Set, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return Set{}, &errs.InvalidArgumentError{Violations: []errs.FieldViolation{{Field: "(yaml)", Description: err.Error()}}}
	}
	set := Set{Metrics: DefaultMetrics()}
	var v errs.Violations
	for _, name := range slices.Sorted(maps.Keys(f.Metrics)) {
		if err := metrics.Validate(f.Metrics[name]); err != nil {
			v.Add("metrics."+name, "%v", err)
		}
		set.Metrics[name] = f.Metrics[name]
	}
	names := map[string]bool{}
	for i, r := range f.AlertRules {
		ar := domain.AlertRule{
			Name: r.Name, Description: r.Description, Condition: r.Condition, Severity: r.Severity,
			Channels: r.Channels, For: time.Duration(r.For), Cooldown: time.Duration(r.Cooldown),
			Enabled: r.Enabled == nil || *r.Enabled, Version: 1, Environments: r.Environments, Apps: r.Apps,
		}
		prefix := fmt.Sprintf("alert_rules[%d]", i)
		v.Merge(prefix, ValidateAlertRule(ar))
		if names[r.Name] && r.Name != "" {
			v.Add(prefix+".name", "%q is defined twice", r.Name)
		}
		names[r.Name] = true
		set.AlertRules = append(set.AlertRules, ar)
	}
	names = map[string]bool{}
	for i, t := range f.RollbackTriggers {
		prefix := fmt.Sprintf("rollback_triggers[%d]", i)
		threshold := math.NaN()
		if t.Threshold != nil {
			threshold = *t.Threshold
		}
		tr := domain.Trigger{
			Name: t.Name, Metric: t.Metric, Operator: domain.Operator(t.Operator), Threshold: threshold,
			Duration: time.Duration(t.Duration), Action: t.Action, Cooldown: time.Duration(t.Cooldown),
			NoData: t.NoData, Enabled: t.Enabled == nil || *t.Enabled, Version: 1,
			Environments: t.Environments, Apps: t.Apps, Thresholds: t.Thresholds, Severity: t.Severity, Channels: t.Channels,
		}
		if t.Threshold == nil {
			v.Add(prefix+".threshold", "is required")
			tr.Threshold = 0
		}
		v.Merge(prefix, set.ValidateTrigger(tr))
		if names[t.Name] && t.Name != "" {
			v.Add(prefix+".name", "%q is defined twice", t.Name)
		}
		names[t.Name] = true
		set.Triggers = append(set.Triggers, tr)
	}
	if err := v.Err(); err != nil {
		return Set{}, err
	}
	return set, nil
}

// ValidateAlertRule checks a rule's fields and that its condition is PromQL.
func ValidateAlertRule(r domain.AlertRule) error {
	var v errs.Violations
	v.Merge("", r.Validate())
	if strings.TrimSpace(r.Condition) != "" {
		if err := metrics.Validate(r.Condition); err != nil {
			v.Add("condition", "%v", err)
		}
	}
	return v.Err()
}

// ValidateTrigger checks a trigger's fields and that its metric is a named
// metric of the set or PromQL.
func (s Set) ValidateTrigger(t domain.Trigger) error {
	var v errs.Violations
	v.Merge("", t.Validate())
	if strings.TrimSpace(t.Metric) != "" {
		if _, named := s.Metrics[t.Metric]; !named {
			if err := metrics.Validate(t.Metric); err != nil {
				v.Add("metric", "is neither a named metric (%s) nor PromQL: %v", strings.Join(slices.Sorted(maps.Keys(s.Metrics)), ", "), err)
			}
		}
	}
	return v.Err()
}

// Duration is a YAML duration: a Go duration string ("90s", "2m").
// A bare number is refused, since its unit would be a guess.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if _, err := strconv.ParseFloat(n.Value, 64); err == nil && n.Value != "0" {
		return typeErr("line %d: %q needs a unit, e.g. %ss", n.Line, n.Value, n.Value)
	}
	return parseInto((*time.Duration)(d), n, time.Second)
}

// Seconds is a duration given as a number of seconds (the guide's unit) or a Go duration string.
type Seconds time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Seconds) UnmarshalYAML(n *yaml.Node) error {
	return parseInto((*time.Duration)(d), n, time.Second)
}

// Minutes is a duration given as a number of minutes (the guide's unit for cooldowns) or a Go duration string.
type Minutes time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Minutes) UnmarshalYAML(n *yaml.Node) error {
	return parseInto((*time.Duration)(d), n, time.Minute)
}

// parseInto reads a duration node. Its errors are *yaml.TypeError, which
// the decoder collects, so every bad field of a file is reported at once.
func parseInto(d *time.Duration, n *yaml.Node, unit time.Duration) error {
	if n.Kind != yaml.ScalarNode {
		return typeErr("line %d: a duration is a number or a string like 5m", n.Line)
	}
	if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
		switch {
		case f < 0:
			return typeErr("line %d: %q: a duration must not be negative", n.Line, n.Value)
		case math.IsNaN(f) || f > float64(math.MaxInt64)/float64(unit):
			return typeErr("line %d: %q is not a valid duration", n.Line, n.Value)
		}
		*d = time.Duration(f * float64(unit))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		return typeErr("line %d: %q is not a duration (a number or e.g. 5m)", n.Line, n.Value)
	case v < 0:
		return typeErr("line %d: %q: a duration must not be negative", n.Line, n.Value)
	}
	*d = v
	return nil
}

func typeErr(format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf(format, args...)}}
}

// FromTriggers is the set of the monitor's default named metrics and the
// given triggers (as the log records them), validated.
func FromTriggers(ts []*monitorv1.RollbackTrigger) (Set, error) {
	s := Set{Metrics: DefaultMetrics()}
	var problems []error
	for _, p := range ts {
		t := domain.TriggerFromProto(p)
		if err := s.ValidateTrigger(t); err != nil {
			problems = append(problems, fmt.Errorf("trigger %s: %w", t.Name, err))
			continue
		}
		s.Triggers = append(s.Triggers, t)
	}
	return s, errors.Join(problems...)
}

// ProtoTriggers are s's triggers as the log records them (FromTriggers' input).
func (s Set) ProtoTriggers() []*monitorv1.RollbackTrigger {
	out := make([]*monitorv1.RollbackTrigger, len(s.Triggers))
	for i, t := range s.Triggers {
		out[i] = domain.TriggerToProto(t)
	}
	return out
}

// MarshalYAML implements yaml.Marshaler: a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalYAML implements yaml.Marshaler: a Go duration string (Parse reads it back).
func (d Seconds) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalYAML implements yaml.Marshaler: a Go duration string (Parse reads it back).
func (d Minutes) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Marshal writes s as a rules file that Parse reads back to s (named
// metrics that are DefaultMetrics' own are left out).
func Marshal(s Set) ([]byte, error) {
	f := file{Metrics: map[string]string{}}
	defaults := DefaultMetrics()
	for name, q := range s.Metrics {
		if d, ok := defaults[name]; !ok || d != q {
			f.Metrics[name] = q
		}
	}
	for _, r := range s.AlertRules {
		f.AlertRules = append(f.AlertRules, alertRule{Name: r.Name, Description: r.Description, Condition: r.Condition, Severity: r.Severity,
			Channels: r.Channels, For: Duration(r.For), Cooldown: Minutes(r.Cooldown), Enabled: &r.Enabled, Environments: r.Environments, Apps: r.Apps})
	}
	for _, t := range s.Triggers {
		f.RollbackTriggers = append(f.RollbackTriggers, trigger{Name: t.Name, Metric: t.Metric, Operator: string(t.Operator), Threshold: &t.Threshold,
			Duration: Seconds(t.Duration), Action: t.Action, Cooldown: Minutes(t.Cooldown), NoData: t.NoData, Enabled: &t.Enabled,
			Environments: t.Environments, Apps: t.Apps, Thresholds: t.Thresholds, Severity: t.Severity, Channels: t.Channels})
	}
	return yaml.Marshal(f)
}
