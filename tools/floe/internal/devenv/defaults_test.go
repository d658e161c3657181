package devenv

import (
	"testing"

	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// floe dev's deployer plans and monitor triggers fit each other: the
// coherence checks the deployer runs at start find nothing, and the linter
// finds nothing in the monitor's rules.
func TestDefaultsAreCoherent(t *testing.T) {
	set := *MonitorDefaults().RuleSet
	findings, skipped, err := DeployerDefaults().CheckCoherence(set.ProtoTriggers())
	if err != nil || skipped != nil {
		t.Fatalf("err %v, skipped %v", err, skipped)
	}
	for _, f := range append(findings, lint.Lint(set)...) {
		t.Errorf("%s %s: %s: %s (suggestion: %s)", f.Kind, f.Rule, f.Check, f.Problem, f.Suggestion)
	}
	if len(set.Triggers) == 0 {
		t.Fatal("floe dev has no rollback triggers to check")
	}
}
