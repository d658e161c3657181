package codec

import (
	"maps"
	"slices"
	"time"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// ChangeRequest is the state of c as floe.change.v1 shows it at now (which
// decides review_overdue). Two fields are derived rather than recorded:
// an approval's counts (whether it met a requirement the approvals before
// it did not, as Approve decided) and the review's late (recorded after it
// was due, as CompletePostImplementationReview decided).
func ChangeRequest(c *change.ChangeRequest, now time.Time) *changev1.ChangeRequest {
	reviewDue, _ := c.PIRDue()
	v := &changev1.ChangeRequest{
		Id: c.ID(), State: enumOf[changev1.ChangeState](nil, "state", c.State()),
		Class: enumOf[changev1.ChangeClass](nil, "class", c.Class()), Submitter: c.Submitter(), SubmittedAt: timestamp(c.SubmittedAt()),
		Title: c.Title(), Description: c.Description(),
		Type:             enumOf[changev1.ChangeType](nil, "type", c.Type()),
		Priority:         enumOf[changev1.ChangePriority](nil, "priority", c.Priority()),
		Impact:           enumOf[changev1.ChangeImpact](nil, "impact", c.Impact()),
		Risk:             enumOf[changev1.ChangeRisk](nil, "risk", c.Risk()),
		RegulatoryImpact: c.RegulatoryImpact(), Environments: c.Environments(), Schedule: TimingProto(c.Schedule()),
		Approvers: c.Approvers(), Releases: c.Releases(),
		Implementation: PlanProto(c.Implementation()), Rollback: PlanProto(c.Rollback()), Testing: PlanProto(c.Testing()),
		Template: c.Template(), Justification: c.Justification(),
		Requirements: requirementsProto(c.Requirements()), Missing: requirementsProto(c.Missing()),
		Deployments: mapAll(c.Deployments(), deploymentProto),
		ReviewDue:   timestamp(reviewDue), ReviewOverdue: c.Overdue(now),
		Reason: c.Reason(), ClosureOutcome: c.ClosureOutcome(), Version: c.Version(), UpdatedAt: timestamp(c.UpdatedAt()),
	}
	counts := c.ApprovalCounts()
	for i, a := range c.Approvals() {
		v.Approvals = append(v.Approvals, &changev1.Approval{
			Approver: a.Approver, As: a.As, Roles: a.Roles, Comment: a.Comment, At: timestamp(a.At), Counts: counts[i],
		})
	}
	if w, ok := c.Window(); ok {
		v.Window = assignedWindowProto(w)
	}
	if r := c.PIR(); r != nil {
		v.Review = &changev1.PostImplementationReview{
			Reviewer: r.Reviewer, RootCause: r.RootCause, Prevention: ActionsProto(r.Prevention), Notes: r.Notes,
			At: timestamp(r.At), Late: !reviewDue.IsZero() && r.At.After(reviewDue),
		}
	}
	return v
}

// deploymentProto is a deployment with its checks in name order.
func deploymentProto(d change.Deployment) *changev1.ImplementingDeployment {
	return &changev1.ImplementingDeployment{
		DeploymentId: d.ID, ReleaseId: d.ReleaseID, Environment: d.Environment, StartedAt: timestamp(d.StartedAt),
		OutsideWindow: d.OutsideWindow,
		Checks: mapAll(slices.Sorted(maps.Keys(d.Checks)), func(name string) *changev1.Check {
			return &changev1.Check{Name: name, Outcome: string(d.Checks[name])}
		}),
	}
}
