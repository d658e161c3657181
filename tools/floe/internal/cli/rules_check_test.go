package cli

import (
	"context"
	"encoding/json"
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
