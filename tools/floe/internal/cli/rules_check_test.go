package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lintFindingsFile is a valid rules file with two lint findings: the
// guide's self-dividing ratio (bug) and a rollback trigger with duration 0
// (warning).
var lintFindingsFile = filepath.Join("..", "..", "..", "..", "services", "monitor", "rules", "lint", "testdata", "findings.yaml")

// ---- rules check: the linter ----

func TestRulesCheckLintFindings(t *testing.T) {
	t.Parallel()
	wantLines := []string{
		lintFindingsFile + ": 1 alert rule, 1 rollback trigger, 2 named metrics: OK, 2 lint findings:",
		"  alert rule high_error_rate: promql/vector_matching (bug): the condition: " +
			"`rate(http_requests_total{status=~\"5..\"}[5m]) / rate(http_requests_total[5m])` matches each series of the left with the same series on the right",
		`    suggestion: aggregate both sides so that the ratio is over all series (or sum without (status) on both sides for one ratio per remaining label set): ` +
			`condition: sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05`,
		"  trigger slow: alerts/for (warning): duration is 0: a single breaching sample",
		"    suggestion: require the breach to last a few evaluation intervals: duration: 60",
		rulesFile("nodata_rules.yaml") + ": 0 alert rules, 1 rollback trigger, 2 named metrics: OK\n",
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"findings do not fail the check", nil, ""},
		{"--strict fails on findings", []string{"--strict"}, "rules check --strict: 2 lint findings in 1 file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"rules", "check"}, tc.args...), lintFindingsFile, rulesFile("nodata_rules.yaml"))
			out, _, err := runFloe(context.Background(), args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("rules check = %v, want success\n%s", err, out)
			case tc.wantErr != "" && (exitStatus(err) != 1 || err.Error() != tc.wantErr):
				t.Fatalf("rules check = %v (exit %d), want exit 1 with %q", err, exitStatus(err), tc.wantErr)
			}
			for _, want := range wantLines {
				if !strings.Contains(out, want) {
					t.Errorf("rules check output lacks %q:\n%s", want, out)
				}
			}
		})
	}

	// --strict on clean files succeeds.
	guide := filepath.Join("..", "..", "..", "..", "services", "monitor", "rules", "testdata", "guide.yaml")
	if out, _, err := runFloe(context.Background(), "rules", "check", "--strict", guide); err != nil {
		t.Errorf("rules check --strict of a clean file = %v\n%s", err, out)
	}
	// An invalid file fails as before, whatever --strict says.
	if _, _, err := runFloe(context.Background(), "rules", "check", "--strict", rulesFile("bad_rules.yaml")); err == nil || err.Error() != "rules check: 1 of 1 file invalid" {
		t.Errorf("rules check --strict of an invalid file = %v", err)
	}
}

func TestRulesCheckLintJSON(t *testing.T) {
	t.Parallel()
	out, _, err := runFloe(context.Background(), "-o", "json", "rules", "check", "--strict", lintFindingsFile, rulesFile("bad_rules.yaml"))
	if exitStatus(err) != 1 {
		t.Fatalf("rules check -o json --strict = %v", err)
	}
	var doc struct {
		Files []jsonCheck `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("rules check -o json is not JSON: %v\n%s", err, out)
	}
	if len(doc.Files) != 2 {
		t.Fatalf("rules check -o json = %+v, want two files", doc)
	}
	var got []string
	for _, f := range doc.Files[0].Findings {
		got = append(got, f.Rule+" "+f.Kind+" "+f.Check+" "+f.Severity)
		if f.Problem == "" || f.Suggestion == "" {
			t.Errorf("finding without a problem or a suggestion: %+v", f)
		}
	}
	want := []string{
		"high_error_rate alert_rule promql/vector_matching bug",
		"slow trigger alerts/for warning",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if rw := doc.Files[0].Findings[0].Rewrite; rw != `sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05` {
		t.Errorf("rewrite = %q", rw)
	}
	if bad := doc.Files[1]; bad.OK || bad.Findings == nil || len(bad.Findings) != 0 {
		t.Errorf("invalid file = %+v, want findings: [] (not linted)", bad)
	}
	// Every field of a finding is in the JSON, by these names.
	var raw struct {
		Files []struct {
			Findings []map[string]any `json:"findings"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"rule", "kind", "check", "severity", "problem", "suggestion", "rewrite"} {
		if _, ok := raw.Files[0].Findings[0][key]; !ok {
			t.Errorf("JSON finding lacks %q: %v", key, raw.Files[0].Findings[0])
		}
	}
}

func TestRulesCheckHelpDescribesTheLinter(t *testing.T) {
	t.Parallel()
	out, _, err := runFloe(context.Background(), "rules", "check", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--strict", "docs/rules-lint.md", "promql/vector_matching", "floe rules check --strict -o json"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules check --help lacks %q:\n%s", want, out)
		}
	}
}

// TestRulesCheckCoherence: with --deployer-config (and --monitor-config),
// check reports a rollback trigger that outlasts the deployer's canary and
// the monitor's bake (coherence/duration) after the lint findings, in text
// and JSON, and --strict fails on it; with the monitor's default bake
// (bake_auto: [production]) the same rules are coherent.
func TestRulesCheckCoherence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	deployer := write("deployer.yaml", `app: web
strategies:
  production:
    canary:
      steps: [setWeight 10, pause 30s, analysis 1m, setWeight 50, pause 30s, analysis 1m]
`)
	noBake := write("monitor.yaml", "bake: {production: 0s}\n")
	rulesPath := write("rules.yaml", `rollback_triggers:
  - name: error_rate
    metric: error_rate
    operator: ">"
    threshold: 0.1
    duration: 300
    action: rollback
  - name: response_time_p95
    metric: response_time_p95
    operator: ">"
    threshold: 5
    duration: 180
    action: alert
`)
	wantLines := []string{
		rulesPath + ": 0 alert rules, 2 rollback triggers, 2 named metrics: OK, 1 lint finding:",
		"  trigger error_rate: coherence/duration (warning): duration 5m is longer than the monitor watches the production canary deployments (app web): " +
			"they run 3m (pauses and analysis windows) and bake 0s, so the breach never lasts long enough to roll one back there",
		"    suggestion: bake production for at least 2m (monitor config: bake: {production: 2m}, or production in bake_auto, " +
			"which bakes for the longest rollback trigger plus one interval), or shorten the breach it needs: duration: 180",
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"findings do not fail the check", nil, ""},
		{"--strict fails on them", []string{"--strict"}, "rules check --strict: 1 lint finding in 1 file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"rules", "check", "--deployer-config", deployer, "--monitor-config", noBake}, tc.args...)
			out, _, err := runFloe(ctx, append(args, rulesPath)...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("rules check = %v, want success\n%s", err, out)
			case tc.wantErr != "" && (exitStatus(err) != 1 || err.Error() != tc.wantErr):
				t.Fatalf("rules check = %v (exit %d), want exit 1 with %q", err, exitStatus(err), tc.wantErr)
			}
			for _, want := range wantLines {
				if !strings.Contains(out, want) {
					t.Errorf("rules check output lacks %q:\n%s", want, out)
				}
			}
		})
	}

	// After the lint findings, in JSON too.
	out, _, err := runFloe(ctx, "-o", "json", "rules", "check", "--deployer-config", deployer, "--monitor-config", noBake, lintFindingsFile, rulesPath)
	if err != nil {
		t.Fatalf("rules check -o json = %v\n%s", err, out)
	}
	var doc struct {
		Files []jsonCheck `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("rules check -o json is not JSON: %v\n%s", err, out)
	}
	var got []string
	for _, f := range doc.Files {
		for _, fd := range f.Findings {
			got = append(got, filepath.Base(f.File)+" "+fd.Rule+" "+fd.Check+" "+fd.Severity)
		}
	}
	want := []string{
		"findings.yaml high_error_rate promql/vector_matching bug",
		"findings.yaml slow alerts/for warning",
		"rules.yaml error_rate coherence/duration warning",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	// The monitor's default bake (production: the longest rollback trigger + 15s) lets it fire.
	if out, _, err := runFloe(ctx, "rules", "check", "--strict", "--deployer-config", deployer, rulesPath); err != nil || strings.Contains(out, "coherence/") {
		t.Errorf("rules check --strict with the default bake = %v\n%s", err, out)
	}
	// --monitor-config alone is refused; an unreadable deployer config fails.
	if _, _, err := runFloe(ctx, "rules", "check", "--monitor-config", noBake, rulesPath); err == nil || !strings.Contains(err.Error(), "needs --deployer-config") {
		t.Errorf("rules check --monitor-config without --deployer-config = %v", err)
	}
	if _, _, err := runFloe(ctx, "rules", "check", "--deployer-config", filepath.Join(dir, "missing.yaml"), rulesPath); err == nil {
		t.Error("rules check with a missing deployer config succeeded")
	}
	help, _, err := runFloe(ctx, "rules", "check", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--deployer-config", "--monitor-config", "coherence/duration", "floe rules check --deployer-config deployer.yaml --monitor-config monitor.yaml"} {
		if !strings.Contains(help, want) {
			t.Errorf("rules check --help lacks %q", want)
		}
	}
}
