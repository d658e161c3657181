package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// risk is a RiskAssessed event.
func risk(i releasev1.RiskImpact, l releasev1.RiskLikelihood) []ev {
	r := &releasev1.RiskAssessment{Impact: i, Likelihood: l}
	r.ExtraApprovals = domain.RiskExtraApprovals(r)
	return by("alice", &releasev1.RiskAssessed{Risk: r})
}

func granted(env, who string, rev uint64, roles ...string) *releasev1.ApprovalGranted {
	return &releasev1.ApprovalGranted{Environment: env, Approver: who, ContentRevision: rev, Roles: roles}
}

func TestApprove(t *testing.T) {
	t.Parallel()
	opsAndSecurity := principal("olga", auth.RoleBinding{Role: auth.RoleSecurity}, auth.RoleBinding{Role: auth.RoleOperations, Environments: []string{"production"}})
	tests := []struct {
		name  string
		given [][]ev
		who   *auth.Principal
		env   string
		want  []proto.Message
	}{
		{
			name: "qa bound to staging approves staging: one of one", given: [][]ev{planned220()}, who: quinn, env: "staging",
			want: msgs(granted("staging", "quinn", 1, "qa"), &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1}),
		},
		{
			name: "first of two for production", given: [][]ev{planned220()}, who: rita, env: "production",
			want: msgs(granted("production", "rita", 1, "release-manager")),
		},
		{
			name: "second of two for production reaches the requirement", given: [][]ev{planned220(), approval("production", "rita", 1)}, who: otto, env: "production",
			want: msgs(granted("production", "otto", 1, "operations"), &releasev1.ReleaseApproved{Environment: "production", Approvals: 2, Required: 2}),
		},
		{
			name: "third once approved adds only the approval",
			given: [][]ev{
				planned220(), approval("production", "rita", 1), approval("production", "otto", 1),
				by("otto", &releasev1.ReleaseApproved{Environment: "production", Approvals: 2, Required: 2}),
			},
			who: pat, env: "production",
			want: msgs(granted("production", "pat", 1, "product")),
		},
		{
			name: "roles held there, in the environment's order", given: [][]ev{planned220()}, who: opsAndSecurity, env: "production",
			want: msgs(granted("production", "olga", 1, "operations", "security")),
		},
		{
			name: "risk raises the requirement: second of four", given: [][]ev{planned220(), risk(releasev1.RiskImpact_RISK_IMPACT_HIGH, releasev1.RiskLikelihood_RISK_LIKELIHOOD_HIGH), approval("production", "rita", 1)},
			who: otto, env: "production",
			want: msgs(granted("production", "otto", 1, "operations")),
		},
		{
			name: "risk raises the requirement: fourth of four",
			given: [][]ev{
				planned220(), risk(releasev1.RiskImpact_RISK_IMPACT_CRITICAL, releasev1.RiskLikelihood_RISK_LIKELIHOOD_LOW),
				approval("production", "rita", 1), approval("production", "otto", 1), approval("production", "pat", 1),
			},
			who: sam, env: "production",
			want: msgs(granted("production", "sam", 1, "security"), &releasev1.ReleaseApproved{Environment: "production", Approvals: 4, Required: 4}),
		},
		{
			name: "approvals voided by a change do not count",
			given: [][]ev{
				planned220(), approval("production", "rita", 1),
				by("alice", &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "More"}}),
				by("alice", &releasev1.ApprovalsVoided{Environments: []string{"production"}, ContentRevision: 1, Reason: "a change was added"}),
			},
			who: otto, env: "production",
			want: msgs(granted("production", "otto", 2, "operations")),
		},
		{
			name: "approvals at an older revision do not count even without a void",
			given: [][]ev{
				planned220(), approval("production", "rita", 1),
				by("alice", &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "More"}}),
			},
			who: otto, env: "production",
			want: msgs(granted("production", "otto", 2, "operations")),
		},
		{
			name: "the voided approver may approve again", given: [][]ev{
				planned220(), approval("production", "rita", 1), approval("production", "otto", 1),
				by("alice", &releasev1.ReleaseUpdated{Title: "New", TargetEnvironments: []string{"development", "staging", "production"}, ContentChanged: true}),
				by("alice", &releasev1.ApprovalsVoided{Environments: []string{"production"}, ContentRevision: 1}),
				approval("production", "otto", 2),
			},
			who: rita, env: "production",
			want: msgs(granted("production", "rita", 2, "release-manager"), &releasev1.ReleaseApproved{Environment: "production", Approvals: 2, Required: 2}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given...)
			got, err := domain.Approve(r, relID, tt.who, domain.Channel{}, tt.env, "", envs)
			mustOK(t, err)
			diffEvents(t, tt.want, got)
		})
	}
}

func TestApproveKeepsTheComment(t *testing.T) {
	t.Parallel()
	got, err := domain.Approve(releaseFrom(t, planned220()), relID, rita, domain.Channel{}, "production", "LGTM after the soak", envs)
	mustOK(t, err)
	want := granted("production", "rita", 1, "release-manager")
	want.Comment = "LGTM after the soak"
	diffEvents(t, msgs(want), got)
}

// A decision a delegate relayed (the notifier, for a click in Slack) records
// the channel and the delegate beside the principal, and is judged as the
// principal's alone: the delegate's identity plays no part.
func TestApproveAndRejectThroughADelegate(t *testing.T) {
	t.Parallel()
	slack := domain.Channel{Via: "slack", Delegate: "notifier"}

	r := releaseFrom(t, planned220())
	got, err := domain.Approve(r, relID, rita, slack, "production", "ok", envs)
	mustOK(t, err)
	want := granted("production", "rita", 1, "release-manager")
	want.Comment, want.Via, want.Delegate = "ok", "slack", "notifier"
	diffEvents(t, msgs(want), got)
	apply(t, r, now, "rita", got...)
	wantApproval := &releasev1.Approval{Environment: "production", Approver: "rita", Comment: "ok", Time: timestamppb.New(now), Via: "slack", Delegate: "notifier"}
	if diff := cmp.Diff([]*releasev1.Approval{wantApproval}, envOf(r, "production").GetApprovals(), protocmp.Transform()); diff != "" {
		t.Errorf("rendered approvals (-want +got):\n%s", diff)
	}

	got, err = domain.Reject(r, relID, sam, slack, "production", "pen test", envs)
	mustOK(t, err)
	diffEvents(t, msgs(&releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "pen test", ContentRevision: 1, Via: "slack", Delegate: "notifier"}), got)
	apply(t, r, now, "sam", got...)
	wantRejection := &releasev1.Rejection{Environment: "production", RejectedBy: "sam", Reason: "pen test", Time: timestamppb.New(now), Via: "slack", Delegate: "notifier"}
	if diff := cmp.Diff([]*releasev1.Rejection{wantRejection}, envOf(r, "production").GetRejections(), protocmp.Transform()); diff != "" {
		t.Errorf("rendered rejections (-want +got):\n%s", diff)
	}

	// Separation of duties and approver roles apply to the principal.
	_, err = domain.Approve(releaseFrom(t, createdBy("rita", "2.2.0", minor)), relID, rita, slack, "production", "", envs)
	if diff := cmp.Diff([]string{"separation of duties: rita created the release and may not approve it"}, reasons(t, err)); diff != "" {
		t.Errorf("the author through a delegate: reasons mismatch (-want +got):\n%s", diff)
	}
	_, err = domain.Approve(releaseFrom(t, planned220()), relID, dave, domain.Channel{Via: "slack", Delegate: "rita"}, "staging", "", envs)
	wantDenied(t, err, "dave", "staging", "qa, release-manager")
	_, err = domain.Reject(releaseFrom(t, planned220()), relID, dave, slack, "staging", "x", envs)
	wantDenied(t, err, "dave", "staging", "qa, release-manager")
	// The delegate being the author does not matter either: it decides nothing.
	got, err = domain.Approve(releaseFrom(t, planned220()), relID, rita, domain.Channel{Via: "slack", Delegate: "alice"}, "production", "", envs)
	mustOK(t, err)
	if len(got) != 1 || got[0].(*releasev1.ApprovalGranted).GetApprover() != "rita" {
		t.Errorf("decided %v, want rita's approval", got)
	}
}

func TestApproveRefuses(t *testing.T) {
	t.Parallel()
	rolledBackInProduction := [][]ev{
		planned220(), deployedTo("development"), deployedTo("staging"),
		approval("production", "rita", 1), approval("production", "pat", 1),
		promoted("production", "otto", 1),
		system(&releasev1.ReleaseRolledBack{Environment: "production", DeploymentId: "dep-p", RestoredVersion: "2.1.4", Reason: "error rate"}),
	}
	tests := []struct {
		name  string
		given [][]ev
		who   *auth.Principal
		env   string
		check func(t *testing.T, err error)
	}{
		{
			name: "unknown release", who: rita, env: "production",
			check: func(t *testing.T, err error) { wantNotFound(t, err, "release", relID) },
		},
		{
			name: "the author, even with an approver role", given: [][]ev{createdBy("rita", "2.2.0", minor)}, who: rita, env: "production",
			check: func(t *testing.T, err error) {
				if diff := cmp.Diff([]string{"separation of duties: rita created the release and may not approve it"}, reasons(t, err)); diff != "" {
					t.Errorf("reasons mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "the principal who requested the promotion", given: rolledBackInProduction, who: otto, env: "production",
			check: func(t *testing.T, err error) {
				// After a rollback approvals may be added for the next attempt, but not by the requester.
				want := []string{
					"separation of duties: otto requested the promotion to production and may not approve it",
				}
				if diff := cmp.Diff(want, reasons(t, err)); diff != "" {
					t.Errorf("reasons mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "twice for the same environment", given: [][]ev{planned220(), approval("production", "rita", 1)}, who: rita, env: "production",
			check: func(t *testing.T, err error) {
				if diff := cmp.Diff([]string{"rita has already approved 2.2.0 for production"}, reasons(t, err)); diff != "" {
					t.Errorf("reasons mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "qa bound only to staging approving production", given: [][]ev{planned220()}, who: quinn, env: "production",
			check: func(t *testing.T, err error) {
				var pd *errs.PermissionDeniedError
				if !errors.As(err, &pd) {
					t.Fatalf("error = %T %v, want *errs.PermissionDeniedError", err, err)
				}
				want := &errs.PermissionDeniedError{
					Principal: "quinn", Permission: "release.approve", Environment: "production",
					Detail: "approving or rejecting for production needs one of the roles release-manager, operations, product, security there",
				}
				if diff := cmp.Diff(want, pd); diff != "" {
					t.Errorf("permission denied mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "a developer approving staging", given: [][]ev{planned220()}, who: dave, env: "staging",
			check: func(t *testing.T, err error) { wantDenied(t, err, "dave", "staging", "qa, release-manager") },
		},
		{
			name: "an admin is not an approver role of production", given: [][]ev{planned220()}, who: ada, env: "production",
			check: func(t *testing.T, err error) { wantDenied(t, err, "ada", "production", "release-manager") },
		},
		{
			name: "an environment nobody approves", given: [][]ev{planned220()}, who: rita, env: "development",
			check: func(t *testing.T, err error) { wantDenied(t, err, "rita", "development", "") },
		},
		{
			name: "unknown environment", given: [][]ev{planned220()}, who: rita, env: "moon",
			check: func(t *testing.T, err error) { wantViolation(t, err, "environment", `unknown environment "moon"`) },
		},
		{
			name: "not a target", given: [][]ev{planned220()}, who: rita, env: "dr",
			check: func(t *testing.T, err error) {
				wantReason(t, err, "dr is not a target of release 2.2.0 (targets: development, staging, production)")
			},
		},
		{
			name: "comment too long", given: [][]ev{planned220()}, who: rita, env: "production",
			check: func(t *testing.T, err error) { wantViolation(t, err, "comment", "the limit is 2000") },
		},
		{
			name: "cancelled", given: [][]ev{planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "x"})}, who: rita, env: "production",
			check: func(t *testing.T, err error) { wantReason(t, err, "the release is cancelled") },
		},
		{
			name: "already deploying there", given: [][]ev{planned220(), deployedTo("development"), promoted("staging", "dave", 1)}, who: quinn, env: "staging",
			check: func(t *testing.T, err error) { wantReason(t, err, "the release is already deploying in staging") },
		},
		{
			name: "already deployed there", given: [][]ev{planned220(), deployedTo("development"), deployedTo("staging")}, who: quinn, env: "staging",
			check: func(t *testing.T, err error) { wantReason(t, err, "the release is already deployed in staging") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given...)
			comment := ""
			if tt.name == "comment too long" {
				comment = strings.Repeat("c", domain.MaxReason+1)
			}
			got, err := domain.Approve(r, relID, tt.who, domain.Channel{}, tt.env, comment, envs)
			if err == nil {
				t.Fatalf("Approve decided %v, want a refusal", got)
			}
			tt.check(t, err)
		})
	}
}

func wantDenied(t *testing.T, err error, who, env, roles string) {
	t.Helper()
	var pd *errs.PermissionDeniedError
	if !errors.As(err, &pd) {
		t.Fatalf("error = %T %v, want *errs.PermissionDeniedError", err, err)
	}
	if pd.Principal != who || pd.Permission != "release.approve" || pd.Environment != env || !strings.Contains(pd.Detail, roles) {
		t.Errorf("denied = %+v, want %s lacking release.approve in %s (roles %s)", pd, who, env, roles)
	}
	if msg := err.Error(); !strings.Contains(msg, `"release.approve"`) || !strings.Contains(msg, fmt.Sprintf("%q", env)) {
		t.Errorf("message %q does not name release.approve and %s", msg, env)
	}
}

func TestReject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		given  [][]ev
		env    string
		reason string
		want   []proto.Message
		check  func(t *testing.T, err error)
	}{
		{
			name: "with a reason", given: [][]ev{planned220()}, env: "production", reason: "  pen test findings open ",
			want: msgs(&releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "pen test findings open", ContentRevision: 1}),
		},
		{
			name: "at the current revision", given: [][]ev{planned220(), by("alice", &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2"}})}, env: "production", reason: "x",
			want: msgs(&releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "x", ContentRevision: 2}),
		},
		{
			// Rejecting is the approvers' duty: security is not an approver role of staging.
			name: "without an approver role there", given: [][]ev{planned220()}, env: "staging", reason: "x",
			check: func(t *testing.T, err error) { wantDenied(t, err, "sam", "staging", "qa, release-manager") },
		},
		{
			name: "reason required", given: [][]ev{planned220()}, env: "production", reason: "  ",
			check: func(t *testing.T, err error) { wantViolation(t, err, "reason", "must not be empty") },
		},
		{
			name: "reason too long", given: [][]ev{planned220()}, env: "production", reason: strings.Repeat("r", domain.MaxReason+1),
			check: func(t *testing.T, err error) { wantViolation(t, err, "reason", "the limit is 2000") },
		},
		{
			name: "unknown environment", given: [][]ev{planned220()}, env: "moon", reason: "x",
			check: func(t *testing.T, err error) { wantViolation(t, err, "environment", `unknown environment "moon"`) },
		},
		{
			name: "not a target", given: [][]ev{planned220()}, env: "qa", reason: "x",
			check: func(t *testing.T, err error) { wantReason(t, err, "qa is not a target of release 2.2.0") },
		},
		{
			name: "cancelled", given: [][]ev{planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "x"})}, env: "production", reason: "x",
			check: func(t *testing.T, err error) { wantReason(t, err, "the release is cancelled") },
		},
		{
			name: "unknown release", env: "production", reason: "x",
			check: func(t *testing.T, err error) { wantNotFound(t, err, "release", relID) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given...)
			got, err := domain.Reject(r, relID, sam, domain.Channel{}, tt.env, tt.reason, envs)
			if tt.check != nil {
				if err == nil {
					t.Fatalf("Reject decided %v, want a refusal", got)
				}
				tt.check(t, err)
				return
			}
			mustOK(t, err)
			diffEvents(t, tt.want, got)
		})
	}
}

func TestRiskExtraApprovals(t *testing.T) {
	t.Parallel()
	const (
		iLow, iMed, iHigh, iCrit = releasev1.RiskImpact_RISK_IMPACT_LOW, releasev1.RiskImpact_RISK_IMPACT_MEDIUM, releasev1.RiskImpact_RISK_IMPACT_HIGH, releasev1.RiskImpact_RISK_IMPACT_CRITICAL
		lLow, lMed, lHigh        = releasev1.RiskLikelihood_RISK_LIKELIHOOD_LOW, releasev1.RiskLikelihood_RISK_LIKELIHOOD_MEDIUM, releasev1.RiskLikelihood_RISK_LIKELIHOOD_HIGH
	)
	// want[impact][likelihood], every combination.
	want := map[releasev1.RiskImpact]map[releasev1.RiskLikelihood]uint32{
		iLow:  {lLow: 0, lMed: 0, lHigh: 0},
		iMed:  {lLow: 0, lMed: 0, lHigh: 1},
		iHigh: {lLow: 1, lMed: 1, lHigh: 2},
		iCrit: {lLow: 2, lMed: 2, lHigh: 2},
	}
	prod, _ := envs.Get("production")
	dev, _ := envs.Get("development")
	for i, row := range want {
		for l, extra := range row {
			t.Run(fmt.Sprintf("%s×%s", i, l), func(t *testing.T) {
				t.Parallel()
				ra := &releasev1.RiskAssessment{Impact: i, Likelihood: l}
				if got := domain.RiskExtraApprovals(ra); got != extra {
					t.Errorf("RiskExtraApprovals = %d, want %d", got, extra)
				}
				r := releaseFrom(t, planned220(), risk(i, l))
				if got := r.RequiredApprovals(prod); got != 2+extra {
					t.Errorf("production requires %d, want %d", got, 2+extra)
				}
				if got := r.RequiredApprovals(dev); got != 0 {
					t.Errorf("development (no approvals) requires %d, want 0: risk only adds where approval is needed", got)
				}
			})
		}
	}
	if got := domain.RiskExtraApprovals(nil); got != 0 {
		t.Errorf("RiskExtraApprovals(nil) = %d, want 0", got)
	}
}

func TestSetRisk(t *testing.T) {
	t.Parallel()
	in := &releasev1.RiskAssessment{
		Impact: releasev1.RiskImpact_RISK_IMPACT_HIGH, Likelihood: releasev1.RiskLikelihood_RISK_LIKELIHOOD_MEDIUM,
		Mitigation: []string{"canary at 5%"}, Contingency: []string{"roll back"}, ExtraApprovals: 9,
	}
	got, err := domain.SetRisk(releaseFrom(t, planned220()), relID, in)
	mustOK(t, err)
	diffEvents(t, msgs(&releasev1.RiskAssessed{Risk: &releasev1.RiskAssessment{
		Impact: releasev1.RiskImpact_RISK_IMPACT_HIGH, Likelihood: releasev1.RiskLikelihood_RISK_LIKELIHOOD_MEDIUM,
		Mitigation: []string{"canary at 5%"}, Contingency: []string{"roll back"}, ExtraApprovals: 1,
	}}), got)
	if in.GetExtraApprovals() != 9 {
		t.Error("SetRisk changed the command's assessment")
	}

	_, err = domain.SetRisk(releaseFrom(t, planned220()), relID, &releasev1.RiskAssessment{Impact: 9, Mitigation: []string{" "}})
	if diff := cmp.Diff([]string{"impact", "likelihood", "mitigation[0]"}, violationFields(t, err)); diff != "" {
		t.Errorf("violated fields mismatch (-want +got):\n%s", diff)
	}
	_, err = domain.SetRisk(domain.NewRelease(), relID, in)
	wantNotFound(t, err, "release", relID)
}

// Through decisions: an approval, then a change; the old approval no longer
// counts for the promotion, and the same approver may approve the new content.
func TestApprovalsVoidedByAChangeDoNotCount(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, planned220())
	at := now
	decide := func(actor string, msgs []proto.Message, err error) {
		t.Helper()
		mustOK(t, err)
		at = at.Add(time.Minute)
		apply(t, r, at, actor, msgs...)
	}
	got, err := domain.Approve(r, relID, quinn, domain.Channel{}, "staging", "", envs)
	decide("quinn", got, err)
	if r.Status() != approved {
		t.Fatalf("Status() = %v after quinn's approval, want approved", r.Status())
	}
	got, err = domain.AddChange(r, relID, &releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Retry on 421"})
	decide("alice", got, err)
	diffEvents(t, msgs(
		&releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Retry on 421"}},
		&releasev1.ApprovalsVoided{Environments: []string{"staging"}, ContentRevision: 1, Reason: "a change was added"},
	), got)
	// Development goes live (no approvals needed), then staging is refused.
	got, err = domain.Promote(r, relID, dave, "development", anyStrategy, envs, nil, nil, at)
	decide("dave", got, err)
	decide("system:floe", msgs(&releasev1.ReleaseDeployed{Environment: "development", DeploymentId: "d1"}), nil)
	_, err = domain.Promote(r, relID, dave, "staging", anyStrategy, envs, nil, nil, at)
	if diff := cmp.Diff([]string{"approvals: staging needs 1 approval(s) from distinct people other than the author and the requester, has 0"}, reasons(t, err)); diff != "" {
		t.Errorf("reasons mismatch (-want +got):\n%s", diff)
	}
	// quinn approves the new content: counted again.
	got, err = domain.Approve(r, relID, quinn, domain.Channel{}, "staging", "", envs)
	diffEvents(t, msgs(granted("staging", "quinn", 2, "qa"), &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1}), got)
	decide("quinn", got, err)
	got, err = domain.Promote(r, relID, dave, "staging", anyStrategy, envs, nil, nil, at)
	mustOK(t, err)
	diffEvents(t, msgs(requested("staging", "blue-green", "dave", 1, "quinn")), got)
}

// Asking for approvals: only where the policy requires them and the release
// still needs them; what is asked names the requirement and what it has.
func TestRequestApproval(t *testing.T) {
	t.Parallel()
	got, err := domain.RequestApproval(releaseFrom(t, planned220(), approval("production", "rita", 1)), relID, "production", "soak passed", envs)
	mustOK(t, err)
	diffEvents(t, msgs(&releasev1.ApprovalRequested{Environment: "production", Required: 2, Approvals: 1,
		ApproverRoles: []string{"release-manager", "operations", "product", "security"}, Note: "soak passed", ContentRevision: 1}), got)

	for _, tc := range []struct {
		name  string
		given [][]ev
		env   string
	}{
		{"an environment that requires none", [][]ev{planned220()}, "development"},
		{"already approved", [][]ev{planned220(), approval("staging", "quinn", 1), by("quinn", &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1})}, "staging"},
	} {
		if _, err := domain.RequestApproval(releaseFrom(t, tc.given...), relID, tc.env, "", envs); !errors.As(err, new(*errs.PreconditionError)) {
			t.Errorf("%s: %v, want a refusal", tc.name, err)
		}
	}
	if _, err := domain.RequestApproval(releaseFrom(t, planned220()), relID, "production", "token ghp_"+strings.Repeat("a1B2", 9), envs); !errors.As(err, new(*errs.InvalidArgumentError)) {
		t.Errorf("a note with a credential: %v", err)
	}
}
