package domain_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

func TestDefaultEnvironments(t *testing.T) {
	t.Parallel()
	e := domain.DefaultEnvironments()
	if diff := cmp.Diff([]string{"local", "development", "qa", "staging", "production", "dr"}, e.Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	prod, ok := e.Get("production")
	if !ok {
		t.Fatal("Get(production) not found")
	}
	want := &releasev1.EnvironmentSpec{
		Name: "production", Purpose: "Live user-facing system", After: []string{"staging"},
		Infrastructure: []string{"VPS: 8-16 vCPUs, 32-64GB RAM (auto-scaling)", "Database: NileDB production cluster", "Storage: geo-redundant cloud storage", "Networking: global CDN with WAF"},
		DataSource:     "Live user data", DataRetention: "Per data classification policy", Backup: "Continuous replication",
		Access:            []string{"users: application access", "support: limited debugging access", "operations: administrative access", "security: 24/7 monitoring"},
		RequiredApprovals: 2, ApproverRoles: []string{"release-manager", "operations", "product", "security"}, HotfixMaySkip: []string{"staging"}, Strategy: "canary", StrategyType: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY,
	}
	if diff := cmp.Diff(want, domain.EnvironmentProto(prod), protocmp.Transform()); diff != "" {
		t.Errorf("production mismatch (-want +got):\n%s", diff)
	}
	if _, ok := e.Get("moon"); ok {
		t.Error("Get(moon) found an environment that does not exist")
	}
	all := e.All()
	all[0].Name = "mutated"
	if e.Names()[0] != "local" {
		t.Error("All() shares its slice with the environments")
	}
}

func TestParseEnvironmentsKeepsFileOrder(t *testing.T) {
	t.Parallel()
	e, err := domain.ParseEnvironments([]byte(`
environments:
  - name: zeta
  - name: alpha
    after: [zeta]
    required_approvals: 1
    approver_roles: [qa]
  - name: mid
    after: [zeta, alpha]
`))
	mustOK(t, err)
	if diff := cmp.Diff([]string{"zeta", "alpha", "mid"}, e.Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseEnvironmentsRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // every fact must be in the error
	}{
		{
			name: "duplicate name",
			yaml: "environments:\n  - name: dev\n  - name: dev\n",
			want: []string{"environments[1] (dev)", "name used twice"},
		},
		{
			name: "after names an unknown environment",
			yaml: "environments:\n  - name: dev\n    after: [moon]\n",
			want: []string{"environments[0] (dev)", `after "moon" must name an environment listed before it`},
		},
		{
			name: "after names a later environment",
			yaml: "environments:\n  - name: staging\n    after: [dev]\n  - name: dev\n",
			want: []string{"environments[0] (staging)", `after "dev" must name an environment listed before it`},
		},
		{
			name: "after names itself",
			yaml: "environments:\n  - name: dev\n    after: [dev]\n",
			want: []string{`after "dev" must name an environment listed before it`},
		},
		{
			name: "hotfix_may_skip not in after",
			yaml: "environments:\n  - name: dev\n  - name: staging\n  - name: prod\n    after: [staging]\n    hotfix_may_skip: [dev]\n",
			want: []string{"environments[2] (prod)", `hotfix_may_skip "dev" is not in after`},
		},
		{
			name: "approvals required without approver roles",
			yaml: "environments:\n  - name: prod\n    required_approvals: 2\n",
			want: []string{"environments[0] (prod)", "approver_roles is empty but approvals are required"},
		},
		{
			name: "required approvals out of range",
			yaml: "environments:\n  - name: prod\n    required_approvals: 11\n    approver_roles: [qa]\n",
			want: []string{"required_approvals must be 0-10"},
		},
		{
			name: "unknown role",
			yaml: "environments:\n  - name: prod\n    required_approvals: 1\n    approver_roles: [wizard]\n",
			want: []string{`approver role "wizard" is not one of`, "release-manager"},
		},
		{
			name: "unknown strategy",
			yaml: "environments:\n  - name: prod\n    strategy: yolo\n",
			want: []string{`strategy "yolo" is not one of`, "canary"},
		},
		{
			name: "upper case name",
			yaml: "environments:\n  - name: Prod\n",
			want: []string{"environments[0] (Prod)", "name must be 1-32 lower case ASCII letters, digits or '-' (^[a-z0-9-]{1,32}$)"},
		},
		{
			name: "empty name",
			yaml: "environments:\n  - purpose: nameless\n",
			want: []string{"environments[0] ()", "name must be 1-32 lower case"},
		},
		{
			name: "name with a dot (unsafe in a subject)",
			yaml: "environments:\n  - name: prod.eu\n",
			want: []string{"name must be 1-32 lower case"},
		},
		{
			name: "name over 32 characters",
			yaml: "environments:\n  - name: " + strings.Repeat("a", 33) + "\n",
			want: []string{"name must be 1-32 lower case"},
		},
		{
			name: "unknown YAML field",
			yaml: "environments:\n  - name: prod\n    approvers_roles: [qa]\n",
			want: []string{"environments file", "approvers_roles"},
		},
		{
			name: "no environments",
			yaml: "environments: []\n",
			want: []string{"no environments defined"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.ParseEnvironments([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseEnvironments accepted it: %v", got.Names())
			}
			for _, f := range tt.want {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not mention %q", err, f)
				}
			}
		})
	}
}

func TestParseEnvironmentsReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := domain.ParseEnvironments([]byte(`
environments:
  - name: dev
    after: [moon]
  - name: dev
  - name: Bad_Name
  - name: prod
    after: [staging]
    hotfix_may_skip: [dev]
    required_approvals: 1
  - name: dr
    required_approvals: 1
    approver_roles: [wizard]
    strategy: yolo
`))
	if err == nil {
		t.Fatal("ParseEnvironments accepted a file with seven problems")
	}
	msg := err.Error()
	for _, f := range []string{
		`environments[0] (dev): after "moon" must name an environment listed before it`,
		"environments[1] (dev): name used twice",
		"environments[2] (Bad_Name): name must be 1-32 lower case",
		`environments[3] (prod): after "staging" must name an environment listed before it`,
		`environments[3] (prod): hotfix_may_skip "dev" is not in after`,
		"environments[3] (prod): approver_roles is empty but approvals are required",
		`environments[4] (dr): approver role "wizard" is not one of`,
		`environments[4] (dr): strategy "yolo" is not one of`,
	} {
		if !strings.Contains(msg, f) {
			t.Errorf("error does not mention %q:\n%s", f, msg)
		}
	}
	if n := strings.Count(msg, "; ") + 1; n != 8 {
		t.Errorf("error lists %d problems, want 8:\n%s", n, msg)
	}
}
