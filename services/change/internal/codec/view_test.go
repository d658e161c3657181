package codec_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/change"
	"github.com/penguinmails/floe/services/change/internal/codec"
)

// decided applies the events of a decision to c as actor's at at and
// returns them.
func decided(t *testing.T, c *change.ChangeRequest, actor string, at time.Time) func([]change.Event, error) []change.Event {
	return func(es []change.Event, err error) []change.Event {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			c.Apply(e, change.Meta{Actor: actor, Time: at})
		}
		return es
	}
}

func submitCmd(class change.Class) change.SubmitCommand {
	return change.SubmitCommand{
		Submitter: "alice", Class: class, Title: "Fix the leak", Description: "Patch", Type: change.TypeBugFix,
		Priority: change.PriorityCritical, Impact: change.ImpactHigh, Risk: change.RiskMedium, RegulatoryImpact: "SOX",
		Environments: []string{"production"}, Releases: []string{"rel-220"}, Approvers: []string{"otto"},
		Schedule:       change.Timing{PlannedStart: t2, DurationMinutes: 90, Maintenance: true},
		Implementation: plan("deploy"), Rollback: plan("revert"), Testing: plan("test"),
	}
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func planProto(s string) *changev1.Plan {
	return &changev1.Plan{Steps: []*changev1.Step{
		{Description: s + " 1", Owner: "ops", ExpectedMinutes: 10, Verification: "check " + s},
		{Description: s + " 2", Owner: "dba", ExpectedMinutes: 20, Verification: "look"},
	}}
}

// An emergency change through approval, scheduling and implementation, its
// review coming due and recorded late.
func TestChangeRequestView(t *testing.T) {
	t.Parallel()
	c := change.New("c1")
	cmd := submitCmd(change.ClassEmergency)
	cmd.Justification = "outage"
	decided(t, c, "alice", t1)(change.Submit(c, cmd, change.DefaultPolicy()))
	decided(t, c, "otto", t1.Add(10*time.Minute))(change.Approve(c, change.ApproveCommand{
		Approver: change.Principal{ID: "otto", Roles: []string{"operations"}}, Comment: "go",
	}))
	decided(t, c, "otto", t1.Add(time.Hour))(change.Schedule(c, change.ScheduleCommand{
		WindowID: "w1", Start: t2, End: t3, Maintenance: true, Environments: []string{"production"},
	}, t1.Add(time.Hour)))
	decided(t, c, "deployer", t4)(change.StartImplementation(c, change.StartImplementationCommand{
		DeploymentID: "d1", ReleaseID: "rel-220", Environment: "production",
	}, t4))
	for i, check := range []string{"gates", "deployment"} {
		decided(t, c, "deployer", t4.Add(time.Duration(30+i)*time.Minute))(change.RecordValidation(c, change.RecordValidationCommand{
			DeploymentID: "d1", Check: check, Outcome: change.OutcomeSucceeded,
		}))
	}
	due := t4.Add(48 * time.Hour)

	want := &changev1.ChangeRequest{
		Id: "c1", State: changev1.ChangeState_CHANGE_STATE_IMPLEMENTING, Class: changev1.ChangeClass_CHANGE_CLASS_EMERGENCY,
		Submitter: "alice", SubmittedAt: ts(t1), Title: "Fix the leak", Description: "Patch",
		Type: changev1.ChangeType_CHANGE_TYPE_BUG_FIX, Priority: changev1.ChangePriority_CHANGE_PRIORITY_CRITICAL,
		Impact: changev1.ChangeImpact_CHANGE_IMPACT_HIGH, Risk: changev1.ChangeRisk_CHANGE_RISK_MEDIUM, RegulatoryImpact: "SOX",
		Environments: []string{"production"}, Schedule: &changev1.Timing{PlannedStart: ts(t2), DurationMinutes: 90, Maintenance: true},
		Approvers: []string{"otto"}, Releases: []string{"rel-220"},
		Implementation: planProto("deploy"), Rollback: planProto("revert"), Testing: planProto("test"),
		Justification: "outage",
		Requirements:  []*changev1.Requirement{{AnyOf: []string{"operations", "security"}}},
		Approvals: []*changev1.Approval{{
			Approver: "otto", As: "operations", Roles: []string{"operations"}, Comment: "go", At: ts(t1.Add(10 * time.Minute)), Counts: true,
		}},
		Window: &changev1.AssignedWindow{WindowId: "w1", Start: ts(t2), End: ts(t3), At: ts(t2), Maintenance: true, Environments: []string{"production"}},
		Deployments: []*changev1.ImplementingDeployment{{
			DeploymentId: "d1", ReleaseId: "rel-220", Environment: "production", StartedAt: ts(t4),
			Checks: []*changev1.Check{{Name: "deployment", Outcome: "succeeded"}, {Name: "gates", Outcome: "succeeded"}},
		}},
		ReviewDue: ts(due), Version: 7, UpdatedAt: ts(t4.Add(31 * time.Minute)),
	}
	if diff := cmp.Diff(want, codec.ChangeRequest(c, due), protocmp.Transform()); diff != "" {
		t.Errorf("view at the review's due time (-want +got):\n%s", diff)
	}
	if !codec.ChangeRequest(c, due.Add(time.Second)).GetReviewOverdue() {
		t.Error("review not overdue after its due time")
	}

	late := due.Add(time.Hour)
	decided(t, c, "sam", late)(change.CompletePostImplementationReview(c, change.PostImplementationReviewCommand{
		Reviewer: "sam", RootCause: "a leak", Prevention: []change.Action{{Description: "alert", Owner: "ops", Due: t3.Add(96 * time.Hour)}},
	}, late))
	got := codec.ChangeRequest(c, late)
	wantReview := &changev1.PostImplementationReview{
		Reviewer: "sam", RootCause: "a leak", Prevention: []*changev1.Action{{Description: "alert", Owner: "ops", Due: ts(t3.Add(96 * time.Hour))}},
		At: ts(late), Late: true,
	}
	if diff := cmp.Diff(wantReview, got.GetReview(), protocmp.Transform()); diff != "" || got.GetReviewOverdue() {
		t.Errorf("overdue %v after the review; review (-want +got):\n%s", got.GetReviewOverdue(), diff)
	}
}

// The view's counts and missing requirements are those the approvals
// decided: an approval as a role already met does not count.
func TestChangeRequestViewApprovals(t *testing.T) {
	t.Parallel()
	c := change.New("c2")
	decided(t, c, "alice", t1)(change.Submit(c, submitCmd(change.ClassNormal), change.DefaultPolicy()))
	decided(t, c, "rita", t1)(change.StartReview(c, "rita"))
	decided(t, c, "rita", t1)(change.CompleteReview(c, change.CompleteReviewCommand{Reviewer: "rita", Outcome: change.ReviewPassed}))

	var counts []bool
	for _, a := range []change.ApproveCommand{
		{Approver: change.Principal{ID: "pat", Roles: []string{"product"}}},
		{Approver: change.Principal{ID: "olga", Roles: []string{"product", "operations"}}, As: "product"},
	} {
		es := decided(t, c, a.Approver.ID, t1)(change.Approve(c, a))
		counts = append(counts, es[0].(change.ApprovalGranted).Counts)
	}
	got := codec.ChangeRequest(c, t1)
	if diff := cmp.Diff([]*changev1.Requirement{{AnyOf: []string{"operations"}}}, got.GetMissing(), protocmp.Transform()); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	es := decided(t, c, "otto", t1)(change.Approve(c, change.ApproveCommand{Approver: change.Principal{ID: "otto", Roles: []string{"operations"}}}))
	counts = append(counts, es[0].(change.ApprovalGranted).Counts)

	got = codec.ChangeRequest(c, t1)
	var viewCounts []bool
	for _, a := range got.GetApprovals() {
		viewCounts = append(viewCounts, a.GetCounts())
	}
	if diff := cmp.Diff([]bool{true, false, true}, counts); diff != "" {
		t.Fatalf("decided counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(counts, viewCounts); diff != "" {
		t.Errorf("view counts (-decided +view):\n%s", diff)
	}
	if got.GetState() != changev1.ChangeState_CHANGE_STATE_APPROVED || len(got.GetMissing()) != 0 || got.GetWindow() != nil || got.GetReviewDue() != nil {
		t.Errorf("approved view: state %v, missing %v, window %v, review due %v", got.GetState(), got.GetMissing(), got.GetWindow(), got.GetReviewDue())
	}
}
