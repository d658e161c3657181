package report_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/report"
)

// verified is the scenario's report with a verification of exactly its range.
func verified(t *testing.T, s *scenario) *changev1.ComplianceReport {
	t.Helper()
	r := s.report(t)
	r.Verification = &changev1.AuditVerification{
		Ok: true, FirstPosition: r.GetFirstPosition(), LastPosition: r.GetLastPosition(),
		Events: r.GetLastPosition() - r.GetFirstPosition() + 1, Checkpoints: 3, KeyId: "audit-2026", UnsignedEvents: 4,
	}
	return r
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	s := newScenario()
	md := report.Markdown(verified(t, s))
	for _, want := range []string{
		"# Compliance report: 2026-03-01T00:00:00Z to 2026-04-01T00:00:00Z, production\n",
		fmt.Sprintf("log positions %d to %d", s.first, s.last),
		"| Deployments | 3 |",
		"| Without a change request | 1 |",
		"| Rolled back | 1 |",
		"| Post-implementation reviews overdue | 1 |",
		"| Self-approvals | 2 |",
		fmt.Sprintf("| %d | rel-1-production-1 | shop@1.4.0 | production | bob | release: frank; change: pat (product), otto (operations) | CHG-1 (normal) | succeeded | ✓ |", s.promo1),
		fmt.Sprintf("| %d | rel-2-production-1 | shop@1.5.0 | production | gina | release: gina | none | rolled_back: error rate 5%% > 1%%; trigger monitor; restored 1.4.0 | ✗ release rel-2 approved by its author gina; release rel-2 approved by gina, who promoted it |", s.promo2),
		"failed: health check failed (through freeze override fz-quarter-end)",
		"✗ change CHG-3 approved by its submitter judy",
		"| CHG-E1 | Payments down | hank | customers cannot pay | sam | 2026-03-10T12:00:00Z | 2026-03-12T12:00:00Z | overdue |",
		`| CHG-E2 | Hotfix \| login bypass | hank |`,
		"late (by hank at 2026-03-18T09:00:00Z)",
		"| fz-quarter-end | production | kim | olga | quarter-end fix | 2026-03-20T09:00:00Z | 2026-03-20T13:00:00Z |",
		"### rel-1-production-1 (shop@1.4.0 to production)",
		"| staging | Integration Tests | api | junit | `aaa111` | yes |",
		"| staging | Security | gosec | sarif | `bbb222` | yes |",
		"### rel-2-production-1 (shop@1.5.0 to production)\n\nNo gate evidence before the promotion.",
		fmt.Sprintf("**OK** over log positions %d to %d: %d events, 3 checkpoints signed by key audit-2026, 4 events after the last checkpoint", s.first, s.last, s.last-s.first+1),
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the markdown lacks %q:\n%s", want, md)
		}
	}
	for _, absent := range []string{"Hotfix | login", "login\nbypass", "ccc333", "fz-feb", "CHG-E3", "Warning", "Sample:"} {
		if strings.Contains(md, absent) {
			t.Errorf("the markdown has %q:\n%s", absent, md)
		}
	}
	checkTables(t, md)
}

// checkTables fails unless every row of every table has as many cells as its header.
func checkTables(t *testing.T, md string) {
	t.Helper()
	cells := func(line string) int {
		n, backslashes := 0, 0
		for _, r := range line {
			switch {
			case r == '\\':
				backslashes++
				continue
			case r == '|' && backslashes%2 == 0:
				n++
			}
			backslashes = 0
		}
		return n - 1
	}
	header := 0
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			header = 0
			continue
		}
		if header == 0 {
			header = cells(line)
			continue
		}
		if got := cells(line); got != header {
			t.Errorf("line %d has %d cells, its table %d: %q", i+1, got, header, line)
		}
	}
}

// User text cannot break the tables, start a heading or bring HTML.
func TestMarkdownEscapes(t *testing.T) {
	t.Parallel()
	hostile := "a | b\n# heading\r\n<script>x</script> \\| c"
	r := &changev1.ComplianceReport{
		Environments: []string{"prod\n# injected"},
		Summary:      &changev1.ReportSummary{},
		Changes: []*changev1.ReportedChange{{
			DeploymentId: "d|1", ReleaseId: "rel-1", Environment: "production", RequestedBy: hostile, Outcome: "failed", OutcomeDetail: hostile,
			ChangeId: "CHG-1", SeparationProblems: []string{hostile},
			GateEvidence: []*changev1.GateEvidence{{Environment: "staging", Gate: hostile, Suite: "s", Sha256: "ab|cd"}},
		}},
		Emergencies:     []*changev1.ReportedEmergency{{ChangeId: "CHG-2", Title: hostile, Justification: hostile, ReviewStatus: report.ReviewPending}},
		FreezeOverrides: []*changev1.FreezeOverride{{FreezeId: "fz", Environment: "production", Reason: hostile}},
		Verification:    &changev1.AuditVerification{Problems: []string{hostile}},
	}
	md := report.Markdown(r)
	checkTables(t, md)
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "# Compliance report") {
			t.Errorf("user text started a heading: %q", line)
		}
	}
	for _, absent := range []string{"<script>", "\r"} {
		if strings.Contains(md, absent) {
			t.Errorf("the markdown has %q:\n%s", absent, md)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") && strings.Contains(line, "a | b") {
			t.Errorf("a table row has an unescaped pipe: %q", line)
		}
	}
	for _, want := range []string{`a \| b # heading &lt;script>x&lt;/script> \\\| c`, "# Compliance report: — to —, prod # injected\n", "**FAILED**"} {
		if !strings.Contains(md, want) {
			t.Errorf("the markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestMarkdownVerification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		v      *changev1.AuditVerification
		want   []string
		absent []string
	}{
		{name: "none attached", want: []string{"Not run: no verification is attached to this report."}, absent: []string{"**OK**", "**FAILED**"}},
		{name: "skipped", v: &changev1.AuditVerification{Skipped: "no trusted key configured"}, want: []string{"Not run: no trusted key configured"}, absent: []string{"**OK**", "**FAILED**"}},
		{
			name: "failed",
			v:    &changev1.AuditVerification{FirstPosition: 10, LastPosition: 90, Events: 81, Checkpoints: 2, KeyId: "k1", Problems: []string{"position 42: hash chain broken", "checkpoint 2: bad signature"}},
			want: []string{"**FAILED** over log positions 10 to 90: 81 events, 2 checkpoints signed by key k1", "- position 42: hash chain broken\n- checkpoint 2: bad signature\n"},
		},
		{
			name: "another range than the report's",
			v:    &changev1.AuditVerification{Ok: true, FirstPosition: 11, LastPosition: 90, Events: 80},
			want: []string{"**OK** over log positions 11 to 90", "Warning: the report reads positions 10 to 90; the verification does not cover exactly those."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			md := report.Markdown(&changev1.ComplianceReport{FirstPosition: 10, LastPosition: 90, Verification: tt.v})
			section := md[strings.Index(md, "## Audit verification"):]
			for _, want := range tt.want {
				if !strings.Contains(section, want) {
					t.Errorf("the verification section lacks %q:\n%s", want, section)
				}
			}
			for _, absent := range tt.absent {
				if strings.Contains(section, absent) {
					t.Errorf("the verification section has %q:\n%s", absent, section)
				}
			}
		})
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    *changev1.ComplianceReport
	}{
		{name: "the scenario, verified", r: verified(t, newScenario())},
		{name: "an empty period", r: report.New(from, to, []string{prod}).Report(now)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := report.JSON(tt.r)
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			got := &changev1.ComplianceReport{}
			if err := protojson.Unmarshal(b, got); err != nil {
				t.Fatalf("the JSON does not parse back: %v\n%s", err, b)
			}
			if diff := cmp.Diff(tt.r, got, protocmp.Transform()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if !proto.Equal(tt.r, got) {
				t.Error("round trip: not proto.Equal")
			}
			// The proto names, and the counts even when zero.
			var doc struct {
				FirstPosition *string        `json:"first_position"`
				Summary       map[string]any `json:"summary"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if doc.FirstPosition == nil {
				t.Errorf("no first_position in\n%s", b)
			}
			var keys []string
			for k := range doc.Summary {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			want := []string{"deployments", "emergency_changes", "failed", "freeze_overrides", "reviews_overdue", "rollbacks", "self_approvals", "with_change_request", "without_change_request"}
			if diff := cmp.Diff(want, keys); diff != "" {
				t.Errorf("summary keys (-want +got):\n%s", diff)
			}
			if !strings.Contains(string(b), "\n  ") {
				t.Errorf("not indented:\n%s", b)
			}
		})
	}
}
