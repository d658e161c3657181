package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// FuzzParse: Parse never panics, fails only with an *errs.InvalidArgumentError
// that has violations, and whatever it accepts validates again cleanly: every
// alert rule with ValidateAlertRule, every trigger with the set's
// ValidateTrigger, and every named metric and resolved trigger metric is
// valid PromQL; names are unique. The corpus is seeded with testdata/*.yaml
// (the rulestest examples too) and a few edge cases.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "rulestest/testdata/*rules*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, s := range []string{
		"",
		"metrics: {x: up}\nrollback_triggers: [{name: t, metric: x, operator: '<=', threshold: 0, action: alert}]",
		"alert_rules: [{name: a, condition: up == 0, severity: info, channels: [x], for: 0, enabled: false}]",
		"rollback_triggers: [{name: a, metric: up, operator: '>', threshold: 1e308, duration: 9223372036, action: alert}]",
		"rollback_triggers: [{name: a, metric: up, operator: '==', threshold: -0, cooldown: 1e-9, action: rollback}]",
		"metrics: {error_rate: 'vector(1)'}",
		"alert_rules: [{name: a, for: 30}]",
		"&a [*a]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := rules.Parse(data)
		if err != nil {
			var ia *errs.InvalidArgumentError
			if !errors.As(err, &ia) || len(ia.Violations) == 0 {
				t.Fatalf("Parse error %T %v, want an *errs.InvalidArgumentError with violations", err, err)
			}
			return
		}
		for name, q := range set.Metrics {
			if err := metrics.Validate(q); err != nil {
				t.Errorf("accepted metric %s = %q is not PromQL: %v", name, q, err)
			}
		}
		names := map[string]bool{}
		for i, r := range set.AlertRules {
			if err := rules.ValidateAlertRule(r); err != nil {
				t.Errorf("accepted alert rule %d (%+v) does not validate: %v", i, r, err)
			}
			if names[r.Name] {
				t.Errorf("alert rule %q accepted twice", r.Name)
			}
			names[r.Name] = true
		}
		names = map[string]bool{}
		for i, tr := range set.Triggers {
			if err := set.ValidateTrigger(tr); err != nil {
				t.Errorf("accepted trigger %d (%+v) does not validate: %v", i, tr, err)
			}
			if err := metrics.Validate(set.Resolve(tr.Metric)); err != nil {
				t.Errorf("trigger %s: metric %q resolves to something that is not PromQL: %v", tr.Name, tr.Metric, err)
			}
			if names[tr.Name] {
				t.Errorf("trigger %q accepted twice", tr.Name)
			}
			names[tr.Name] = true
		}
	})
}
