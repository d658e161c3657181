package domain_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

func TestOnDeploymentEvent(t *testing.T) {
	t.Parallel()
	promotedToStaging := slices.Concat(planned220(), deployedTo("development"), promoted("staging", "dave", 1))
	startedStaging := slices.Concat(promotedToStaging, system(&releasev1.ReleaseDeploying{Environment: "staging", DeploymentId: "d7"}))
	tests := []struct {
		name        string
		given       []ev
		event       proto.Message
		wantRelease []proto.Message
		wantProduct []proto.Message
	}{
		{
			name: "started", given: promotedToStaging,
			event:       &deployv1.DeploymentStarted{DeploymentId: "d7", ReleaseId: relID, Version: "2.2.0", Environment: "staging", Strategy: "blue-green", Attempt: 1},
			wantRelease: msgs(&releasev1.ReleaseDeploying{Environment: "staging", DeploymentId: "d7"}),
		},
		{
			name: "succeeded", given: startedStaging,
			event:       &deployv1.DeploymentSucceeded{DeploymentId: "d7", ReleaseId: relID, Version: "2.2.0", Environment: "staging"},
			wantRelease: msgs(deployedIn("staging", "d7", notes220("March 2, 2026"))),
			wantProduct: msgs(&releasev1.ProductDeployed{Environment: "staging", Version: "2.2.0", ReleaseId: relID}),
		},
		{
			name: "succeeded without a started seen", given: promotedToStaging,
			event:       &deployv1.DeploymentSucceeded{DeploymentId: "d7", ReleaseId: relID, Version: "2.2.0", Environment: "staging"},
			wantRelease: msgs(deployedIn("staging", "d7", notes220("March 2, 2026"))),
			wantProduct: msgs(&releasev1.ProductDeployed{Environment: "staging", Version: "2.2.0", ReleaseId: relID}),
		},
		{
			name: "failed", given: startedStaging,
			event:       &deployv1.DeploymentFailed{DeploymentId: "d7", ReleaseId: relID, Version: "2.2.0", Environment: "staging", Reason: "health check timed out"},
			wantRelease: msgs(&releasev1.ReleaseDeploymentFailed{Environment: "staging", DeploymentId: "d7", Reason: "health check timed out"}),
		},
		{
			name: "rolled back", given: startedStaging,
			event:       &deployv1.RolledBack{DeploymentId: "d7", ReleaseId: relID, Version: "2.2.0", Environment: "staging", RestoredVersion: "2.1.4", Reason: "error rate"},
			wantRelease: msgs(&releasev1.ReleaseRolledBack{Environment: "staging", DeploymentId: "d7", RestoredVersion: "2.1.4", Reason: "error rate"}),
			wantProduct: msgs(&releasev1.ProductDeployed{Environment: "staging", Version: "2.1.4"}),
		},
		{
			name: "rolled back to nothing known", given: startedStaging,
			event:       &deployv1.RolledBack{DeploymentId: "d7", ReleaseId: relID, Version: "2.2.0", Environment: "staging", Reason: "first deploy"},
			wantRelease: msgs(&releasev1.ReleaseRolledBack{Environment: "staging", DeploymentId: "d7", Reason: "first deploy"}),
			// The environment runs no release now: the product forgets its version.
			wantProduct: msgs(&releasev1.ProductDeployed{Environment: "staging"}),
		},
		{
			name: "rolled back after it went live", given: slices.Concat(planned220(), deployedTo("development")),
			event:       &deployv1.RolledBack{DeploymentId: "dep-development", ReleaseId: relID, Environment: "development", RestoredVersion: "2.1.4", Reason: "manual"},
			wantRelease: msgs(&releasev1.ReleaseRolledBack{Environment: "development", DeploymentId: "dep-development", RestoredVersion: "2.1.4", Reason: "manual"}),
			wantProduct: msgs(&releasev1.ProductDeployed{Environment: "development", Version: "2.1.4"}),
		},
		{
			name: "a new attempt's start after a failure", given: slices.Concat(startedStaging, system(&releasev1.ReleaseDeploymentFailed{Environment: "staging", DeploymentId: "d7"}), promoted("staging", "dave", 2)),
			event:       &deployv1.DeploymentStarted{DeploymentId: "d8", ReleaseId: relID, Environment: "staging", Attempt: 2},
			wantRelease: msgs(&releasev1.ReleaseDeploying{Environment: "staging", DeploymentId: "d8"}),
		},
		{
			// Notes of a release live in production are dated that day: as floe release notes prints them then.
			name: "succeeded in production", given: slices.Concat(readyForProduction(), promoted("production", "dave", 1)),
			event:       &deployv1.DeploymentSucceeded{DeploymentId: "d9", ReleaseId: relID, Version: "2.2.0", Environment: "production"},
			wantRelease: msgs(deployedIn("production", "d9", notes220("March 5, 2026"))),
			wantProduct: msgs(&releasev1.ProductDeployed{Environment: "production", Version: "2.2.0", ReleaseId: relID}),
		},
		{name: "unknown release", event: &deployv1.DeploymentSucceeded{DeploymentId: "d7", ReleaseId: relID, Environment: "staging"}},
		{name: "not a deployer event", given: startedStaging, event: &releasev1.ReleaseCancelled{Reason: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given)
			gotRelease, gotProduct := domain.OnDeploymentEvent(r, tt.event, now)
			diffEvents(t, tt.wantRelease, gotRelease)
			if diff := cmp.Diff(tt.wantProduct, gotProduct, protocmp.Transform()); diff != "" {
				t.Errorf("product events mismatch (-want +got):\n%s", diff)
			}
			if len(gotRelease) == 0 {
				return
			}
			// Redelivered after its result is applied: nothing more.
			apply(t, r, now, "system:floe", gotRelease...)
			again, againProduct := domain.OnDeploymentEvent(r, tt.event, now)
			if len(again) != 0 || len(againProduct) != 0 {
				t.Errorf("redelivery decided %v and %v, want nothing", again, againProduct)
			}
		})
	}
}

// deployedIn is the ReleaseDeployed OnDeploymentEvent decides for 2.2.0 (planned220).
func deployedIn(env, deploymentID, notes string) *releasev1.ReleaseDeployed {
	return &releasev1.ReleaseDeployed{
		Environment: env, DeploymentId: deploymentID, Product: product, Version: "2.2.0", Title: "Faster sends", Notes: notes,
	}
}

// notes220 are the Markdown notes of planned220 dated date.
func notes220(date string) string {
	return "# Release 2.2.0 - floe (" + date + ")\n\n**Faster sends**\n\nBatch the SMTP handshake.\n\n## ✨ New Features\n- Batch sends\n"
}

// TestDeployedNotesAreTheNotes: the notes a ReleaseDeployed carries are
// what floe release notes prints once the event is applied.
func TestDeployedNotesAreTheNotes(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"development", "staging", "production"} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			var given []ev
			switch env {
			case "development":
				given = slices.Concat(planned220(), promoted("development", "dave", 1))
			case "staging":
				given = slices.Concat(planned220(), deployedTo("development"), promoted("staging", "dave", 1))
			default:
				given = slices.Concat(readyForProduction(), promoted("production", "dave", 1))
			}
			r := releaseFrom(t, given)
			at := time.Date(2026, time.April, 3, 23, 59, 0, 0, time.FixedZone("CEST", 2*60*60)) // April 3 here, April 3 in UTC
			rel, _ := domain.OnDeploymentEvent(r, &deployv1.DeploymentSucceeded{DeploymentId: "d", ReleaseId: relID, Environment: env}, at)
			if len(rel) != 1 {
				t.Fatalf("decided %v, want one ReleaseDeployed", rel)
			}
			got := rel[0].(*releasev1.ReleaseDeployed).GetNotes()
			apply(t, r, at, "system:floe", rel...)
			if want := domain.ReleaseNotes(r).Markdown(); got != want {
				t.Errorf("notes differ from ReleaseNotes after the event (-want +got):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

// TestDeployedNotesAreBounded: long notes are cut at a line to
// MaxDeployedNotes bytes, with a last line saying where the rest is.
func TestDeployedNotesAreBounded(t *testing.T) {
	t.Parallel()
	var changes []*releasev1.Change
	for i := range 400 {
		changes = append(changes, &releasev1.Change{
			Id: fmt.Sprintf("c%d", i), Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: fmt.Sprintf("Change %d: %s", i, strings.Repeat("é", 30)),
		})
	}
	longLine := strings.Repeat("ü", domain.MaxDeployedNotes) // one line longer than the bound
	tests := []struct {
		name string
		msg  *releasev1.ReleaseCreated
	}{
		{name: "many changes", msg: &releasev1.ReleaseCreated{ReleaseId: relID, Product: product, Version: "2.2.0", Type: minor, Title: "Big", Changes: changes}},
		{name: "one long line", msg: &releasev1.ReleaseCreated{ReleaseId: relID, Product: product, Version: "2.2.0", Type: minor, Title: "Long", Description: longLine}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.msg.TargetEnvironments = []string{"development"}
			r := releaseFrom(t, byAt("alice", t0, tt.msg), promoted("development", "dave", 1))
			full := domain.ReleaseNotes(r).Markdown()
			got := domain.DeployedNotes(r, "development", now)
			if len(full) <= domain.MaxDeployedNotes {
				t.Fatalf("the notes have %d bytes: the case does not exceed the bound", len(full))
			}
			if len(got) > domain.MaxDeployedNotes || len(got) < domain.MaxDeployedNotes/2 {
				t.Errorf("cut notes have %d bytes, want at most %d and not much less", len(got), domain.MaxDeployedNotes)
			}
			if !utf8.ValidString(got) {
				t.Error("cut notes are not valid UTF-8")
			}
			const tail = "\n\n_… cut at 16 KiB: `floe release notes " + relID + "` prints them whole._\n"
			kept, ok := strings.CutSuffix(got, tail)
			if !ok {
				t.Fatalf("cut notes do not end with the note %q: …%q", tail, got[max(len(got)-120, 0):])
			}
			if !strings.HasPrefix(full, kept) {
				t.Error("what is kept is not the beginning of the notes")
			}
			if tt.name == "many changes" && !strings.HasPrefix(full[len(kept):], "\n") {
				t.Errorf("not cut at a line: the next text is %q", full[len(kept):min(len(kept)+20, len(full))])
			}
		})
	}
}

// TestReleaseDeployedWithoutNotes: events recorded before ReleaseDeployed
// carried what went live still apply.
func TestReleaseDeployedWithoutNotes(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, slices.Concat(planned220(), promoted("development", "dave", 1)),
		system(&releasev1.ReleaseDeployed{Environment: "development", DeploymentId: "d1"}))
	if st := envOf(r, "development"); st.GetStatus() != deployed || st.GetDeploymentId() != "d1" {
		t.Errorf("development: %+v, want deployed by d1", st)
	}
}

func TestDeploymentReleaseID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   proto.Message
		want string
	}{
		{name: "started", ev: &deployv1.DeploymentStarted{ReleaseId: "r1"}, want: "r1"},
		{name: "succeeded", ev: &deployv1.DeploymentSucceeded{ReleaseId: "r2"}, want: "r2"},
		{name: "failed", ev: &deployv1.DeploymentFailed{ReleaseId: "r3"}, want: "r3"},
		{name: "rolled back", ev: &deployv1.RolledBack{ReleaseId: "r4"}, want: "r4"},
		{name: "anything else", ev: &releasev1.ReleaseCreated{ReleaseId: "r5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.DeploymentReleaseID(tt.ev); got != tt.want {
				t.Errorf("DeploymentReleaseID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given []ev
		want  releasev1.ReleaseStatus
	}{
		{name: "created", given: planned220(), want: planned},
		{name: "approvals short of the requirement", given: slices.Concat(planned220(), approval("production", "rita", 1)), want: planned},
		{
			name: "approved before any promotion", want: approved,
			given: slices.Concat(planned220(), approval("staging", "quinn", 1), by("quinn", &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1})),
		},
		{
			name: "approval voided", want: planned,
			given: slices.Concat(planned220(), approval("staging", "quinn", 1), by("quinn", &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1}),
				by("alice", &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2"}}), by("alice", &releasev1.ApprovalsVoided{Environments: []string{"staging"}, ContentRevision: 1})),
		},
		{name: "promoted", given: slices.Concat(planned220(), promoted("development", "dave", 1)), want: deploying},
		{name: "deployed to development", given: slices.Concat(planned220(), deployedTo("development")), want: deployed},
		{
			name: "follows the environment that changed last, not the furthest", want: deploying,
			given: slices.Concat(planned220(), deployedTo("development"), deployedTo("staging"),
				approval("staging", "quinn", 1), by("quinn", &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1}),
				promoted("production", "dave", 1), system(&releasev1.ReleaseDeploymentFailed{Environment: "production"}),
				system(&releasev1.ReleaseRolledBack{Environment: "staging"}), promoted("staging", "dave", 2)),
		},
		{
			name: "failed in production", want: failed,
			given: slices.Concat(readyForProduction(), promoted("production", "dave", 1), system(&releasev1.ReleaseDeploymentFailed{Environment: "production", Reason: "x"})),
		},
		{
			name: "rolled back in production", want: rolledBack,
			given: slices.Concat(readyForProduction(), deployedTo("production"), system(&releasev1.ReleaseRolledBack{Environment: "production"})),
		},
		{
			name: "an approval after a promotion does not change it", want: deployed,
			given: slices.Concat(planned220(), deployedTo("development"), approval("staging", "quinn", 1), by("quinn", &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1})),
		},
		{name: "cancelled", given: slices.Concat(planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "x"})), want: cancelled},
		{name: "cancelled after a deployment", given: slices.Concat(planned220(), deployedTo("development"), by("alice", &releasev1.ReleaseCancelled{Reason: "x"})), want: cancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := releaseFrom(t, tt.given).Status(); got != tt.want {
				t.Errorf("Status() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestApplyPromotionState(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, slices.Concat(planned220(),
		byAt("dave", t0.Add(time.Hour), &releasev1.PromotionRequested{Environment: "development", Strategy: "big-bang", RequestedBy: "dave", Attempt: 1}),
		byAt("system:floe", t0.Add(2*time.Hour), &releasev1.ReleaseDeploying{Environment: "development", DeploymentId: "d1"}),
		byAt("system:floe", t0.Add(3*time.Hour), &releasev1.ReleaseDeploymentFailed{Environment: "development", DeploymentId: "d1", Reason: "image pull"}),
	))
	want := &releasev1.EnvironmentState{
		Environment: "development", Status: failed, PromotedBy: "dave", PromotedAt: timestamppb.New(t0.Add(time.Hour)),
		Strategy: "big-bang", StrategyType: bigBang, DeploymentId: "d1", UpdatedAt: timestamppb.New(t0.Add(3 * time.Hour)), Reason: "image pull",
	}
	if diff := cmp.Diff(want, envOf(r, "development"), protocmp.Transform()); diff != "" {
		t.Errorf("development state mismatch (-want +got):\n%s", diff)
	}
	// A new promotion clears the last attempt's deployment and reason.
	apply(t, r, t0.Add(4*time.Hour), "dave", &releasev1.PromotionRequested{Environment: "development", Strategy: "canary", RequestedBy: "dave", Attempt: 2})
	st := envOf(r, "development")
	if st.GetStatus() != deploying || st.GetDeploymentId() != "" || st.GetReason() != "" || st.GetStrategyType() != canary {
		t.Errorf("after a new promotion: %+v, want deploying with canary, no deployment, no reason", st)
	}
	if v := view(r); v.GetAggregateVersion() != 5 || !v.GetUpdatedAt().AsTime().Equal(t0.Add(4*time.Hour)) {
		t.Errorf("AggregateVersion %d, UpdatedAt %v; want 5 at t0+4h", v.GetAggregateVersion(), v.GetUpdatedAt().AsTime())
	}
}

func TestToProto(t *testing.T) {
	t.Parallel()
	overdueAt := timestamppb.New(now.Add(-time.Hour))
	r := releaseFrom(t, slices.Concat(
		byAt("alice", t0, &releasev1.ReleaseCreated{
			ReleaseId: relID, Product: product, Version: "2.2.0", Type: minor, Title: "Faster sends",
			Changes:            []*releasev1.Change{{Id: "c1", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "Batch sends"}},
			TargetEnvironments: []string{"development", "staging", "production"},
		}),
		byAt("otto", t0.Add(time.Minute), &releasev1.ApprovalGranted{Environment: "production", Approver: "otto", ContentRevision: 1}),
		byAt("alice", t0.Add(2*time.Minute), &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Fix"}}),
		byAt("rita", t0.Add(3*time.Minute), &releasev1.ApprovalGranted{Environment: "staging", Approver: "rita", ContentRevision: 2}),
		byAt("alice", t0.Add(4*time.Minute), &releasev1.RiskAssessed{Risk: &releasev1.RiskAssessment{Impact: releasev1.RiskImpact_RISK_IMPACT_HIGH, Likelihood: releasev1.RiskLikelihood_RISK_LIKELIHOOD_LOW, ExtraApprovals: 1}}),
		byAt("alice", t0.Add(5*time.Minute), &releasev1.PrerequisiteAdded{Prerequisite: &releasev1.Prerequisite{Id: "p1", Description: "Migrate", Status: pending, Deadline: overdueAt}}),
		byAt("dave", t0.Add(6*time.Minute), &releasev1.PromotionRequested{Environment: "development", Strategy: "rolling-update", RequestedBy: "dave", Attempt: 1}),
	))
	got := domain.ToProto(r, envs, now)
	want := &releasev1.Release{
		Id: relID, Product: product, Version: "2.2.0", Type: minor, Title: "Faster sends",
		Changes: []*releasev1.Change{
			{Id: "c1", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "Batch sends"},
			{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Fix"},
		},
		TargetEnvironments: []string{"development", "staging", "production"},
		Status:             deploying,
		Environments: []*releasev1.EnvironmentState{
			{
				Environment: "development", Status: deploying, PromotedBy: "dave", PromotedAt: timestamppb.New(t0.Add(6 * time.Minute)),
				Strategy: "rolling-update", StrategyType: rolling, UpdatedAt: timestamppb.New(t0.Add(6 * time.Minute)),
			},
			{
				Environment: "staging", Status: planned, ApprovalsRequired: 2,
				Approvals: []*releasev1.Approval{{Environment: "staging", Approver: "rita", Time: timestamppb.New(t0.Add(3 * time.Minute))}},
			},
			// otto's approval was at revision 1: not shown at revision 2.
			{Environment: "production", Status: planned, ApprovalsRequired: 3},
		},
		Prerequisites:   []*releasev1.Prerequisite{{Id: "p1", Description: "Migrate", Status: pending, Deadline: overdueAt, Overdue: true}},
		Risk:            &releasev1.RiskAssessment{Impact: releasev1.RiskImpact_RISK_IMPACT_HIGH, Likelihood: releasev1.RiskLikelihood_RISK_LIKELIHOOD_LOW, ExtraApprovals: 1},
		Author:          "alice",
		CreatedAt:       timestamppb.New(t0),
		UpdatedAt:       timestamppb.New(t0.Add(6 * time.Minute)),
		ContentRevision: 2, AggregateVersion: 7,
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("ToProto mismatch (-want +got):\n%s", diff)
	}
	// The view's overdue flag is computed: it does not leak into the state.
	if domain.ToProto(r, envs, overdueAt.AsTime().Add(-time.Second)).GetPrerequisites()[0].GetOverdue() != false || !got.GetPrerequisites()[0].GetOverdue() {
		t.Error("the overdue flag is not computed per rendering")
	}
	// Earlier than the deadline it is not overdue.
	if domain.ToProto(r, envs, overdueAt.AsTime().Add(-time.Second)).GetPrerequisites()[0].GetOverdue() {
		t.Error("prerequisite overdue before its deadline")
	}
}
