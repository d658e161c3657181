package domain_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   proto.Message
		want string
	}{
		{
			name: "created",
			ev:   &releasev1.ReleaseCreated{Version: "2.2.0", Type: minor, Title: "Faster sends", TargetEnvironments: []string{"development", "staging", "production"}},
			want: `alice planned minor 2.2.0 "Faster sends" for development → staging → production`,
		},
		{name: "hotfix created", ev: &releasev1.ReleaseCreated{Version: "2.1.5", Type: hotfix, Title: "Fix", TargetEnvironments: []string{"production"}}, want: `alice planned hotfix 2.1.5 "Fix" for production`},
		{name: "updated", ev: &releasev1.ReleaseUpdated{Title: "x"}, want: "alice edited the release"},
		{name: "updated content", ev: &releasev1.ReleaseUpdated{Title: "x", ContentChanged: true}, want: "alice edited the release (content changed)"},
		{
			name: "change added", ev: &releasev1.ChangeAdded{Change: &releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Retry on 421"}},
			want: `alice added bug_fix "Retry on 421"`,
		},
		{
			name: "approvals voided", ev: &releasev1.ApprovalsVoided{Environments: []string{"staging", "production"}, ContentRevision: 1, Reason: "a change was added"},
			want: "approvals for staging, production voided: a change was added",
		},
		{
			name: "approval granted", ev: &releasev1.ApprovalGranted{Environment: "production", Approver: "olga", Roles: []string{"operations", "security"}},
			want: "olga approved for production as operations, security",
		},
		{name: "approved", ev: &releasev1.ReleaseApproved{Environment: "production", Approvals: 2, Required: 2}, want: "approved for production (2 of 2 approvals)"},
		{name: "rejected", ev: &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "pen test"}, want: "sam rejected for production: pen test"},
		{
			name: "approval relayed by a delegate", ev: &releasev1.ApprovalGranted{Environment: "production", Approver: "olga", Roles: []string{"operations"}, Via: "slack", Delegate: "notifier"},
			want: "olga approved for production as operations (via slack, relayed by notifier)",
		},
		{
			name: "rejection relayed by a delegate", ev: &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "pen test", Via: "slack", Delegate: "notifier"},
			want: "sam rejected for production: pen test (via slack, relayed by notifier)",
		},
		{
			name: "prerequisite added", ev: &releasev1.PrerequisiteAdded{Prerequisite: &releasev1.Prerequisite{Id: "p1", Description: "Migrate the sends table"}},
			want: "alice added prerequisite p1: Migrate the sends table",
		},
		{
			name: "prerequisite status", ev: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Status: completed},
			want: "alice updated prerequisite p1: status completed",
		},
		{
			name: "prerequisite owner only", ev: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Owner: "bob"},
			want: "alice updated prerequisite p1: owner bob",
		},
		{
			name: "prerequisite everything", ev: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p2", Status: prFailed, Owner: "bob", Deadline: timestamppb.New(now)},
			want: "alice updated prerequisite p2: status failed, owner bob, deadline 2026-03-05T12:00:00Z",
		},
		{
			name: "risk", ev: &releasev1.RiskAssessed{Risk: &releasev1.RiskAssessment{Impact: releasev1.RiskImpact_RISK_IMPACT_HIGH, Likelihood: releasev1.RiskLikelihood_RISK_LIKELIHOOD_HIGH, ExtraApprovals: 2}},
			want: "alice assessed risk: impact high, likelihood high (+2 approvals)",
		},
		{
			name: "promotion", ev: &releasev1.PromotionRequested{Environment: "production", Strategy: "canary", RequestedBy: "dave", Attempt: 2},
			want: "dave requested promotion to production (canary, attempt 2)",
		},
		{name: "deploying", ev: &releasev1.ReleaseDeploying{Environment: "staging", DeploymentId: "d7"}, want: "deploying to staging (deployment d7)"},
		{name: "deployed", ev: &releasev1.ReleaseDeployed{Environment: "staging", DeploymentId: "d7"}, want: "deployed to staging"},
		{name: "failed", ev: &releasev1.ReleaseDeploymentFailed{Environment: "staging", Reason: "health check"}, want: "deployment to staging failed: health check"},
		{name: "failed without a reason", ev: &releasev1.ReleaseDeploymentFailed{Environment: "staging"}, want: "deployment to staging failed"},
		{
			name: "rolled back", ev: &releasev1.ReleaseRolledBack{Environment: "production", RestoredVersion: "2.1.4", Reason: "error rate"},
			want: "rolled back in production to 2.1.4: error rate",
		},
		{
			name: "rolled back with nothing to restore", ev: &releasev1.ReleaseRolledBack{Environment: "staging", Reason: "first deploy"},
			want: "rolled back in staging: first deploy",
		},
		{name: "rolled back without a reason", ev: &releasev1.ReleaseRolledBack{Environment: "staging", RestoredVersion: "2.1.4"}, want: "rolled back in staging to 2.1.4"},
		{name: "cancelled", ev: &releasev1.ReleaseCancelled{Reason: "superseded"}, want: "alice cancelled the release: superseded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.Summarize(tt.ev, "alice"); got != tt.want {
				t.Errorf("Summarize = %q, want %q", got, tt.want)
			}
		})
	}
}

// productEvents belong to the Product aggregate; they never appear in a
// release's history.
var productEvents = map[protoreflect.Name]bool{"VersionReserved": true, "ProductDeployed": true}

// Every release event the proto package defines gets a real line, not its
// bare name: a new event without a summary fails here.
func TestSummarizeCoversEveryReleaseEvent(t *testing.T) {
	t.Parallel()
	all := releasev1.File_floe_release_v1_events_proto.Messages()
	if all.Len() < 16 {
		t.Fatalf("events.proto defines %d messages; expected at least 16", all.Len())
	}
	for i := range all.Len() {
		md := all.Get(i)
		if productEvents[md.Name()] {
			continue
		}
		t.Run(string(md.Name()), func(t *testing.T) {
			t.Parallel()
			mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
			if err != nil {
				t.Fatalf("message type %s not registered: %v", md.FullName(), err)
			}
			got := domain.Summarize(mt.New().Interface(), "alice")
			if got == string(md.Name()) || strings.TrimSpace(got) == "" {
				t.Errorf("Summarize(%s) = %q: falls through to the bare name", md.Name(), got)
			}
		})
	}
}
