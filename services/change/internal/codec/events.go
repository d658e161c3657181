package codec

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// Event is the floe.change.v1 message of a change event, named as
// e.Name(). It fails for an event without a mapping and for an enum whose
// text has no floe.change.v1 value (naming the field).
func Event(e change.Event) (proto.Message, error) {
	var p problems
	var m proto.Message
	switch e := e.(type) {
	case change.Submitted:
		m = &changev1.ChangeSubmitted{
			Id: e.ID, Submitter: e.Submitter, Class: enumOf[changev1.ChangeClass](&p, "class", e.Class),
			Template: e.Template, Justification: e.Justification, Title: e.Title, Description: e.Description,
			Type:             enumOf[changev1.ChangeType](&p, "type", e.Type),
			Priority:         enumOf[changev1.ChangePriority](&p, "priority", e.Priority),
			Impact:           enumOf[changev1.ChangeImpact](&p, "impact", e.Impact),
			Risk:             enumOf[changev1.ChangeRisk](&p, "risk", e.Risk),
			RegulatoryImpact: e.RegulatoryImpact, Environments: e.Environments, Schedule: TimingProto(e.Schedule),
			Approvers: e.Approvers, Releases: e.Releases,
			Implementation: PlanProto(e.Implementation), Rollback: PlanProto(e.Rollback), Testing: PlanProto(e.Testing),
			Requirements: requirementsProto(e.Requirements), ReviewRequired: e.ReviewRequired, Validations: e.Validations,
			ReviewDeadline: duration(e.PIRDeadline),
		}
	case change.ReviewStarted:
		m = &changev1.ChangeReviewStarted{Reviewer: e.Reviewer}
	case change.ReviewCompleted:
		m = &changev1.ChangeReviewCompleted{Reviewer: e.Reviewer, Outcome: string(e.Outcome), Notes: e.Notes}
	case change.ApprovalGranted:
		m = &changev1.ChangeApprovalGranted{Approver: e.Approver, As: e.As, Roles: e.Roles, Comment: e.Comment, Counts: e.Counts}
	case change.Approved:
		m = &changev1.ChangeApproved{
			Approvals: uint32(e.Approvals), Required: uint32(e.Required), PreApproved: e.PreApproved, Template: e.Template,
		}
	case change.Rejected:
		m = &changev1.ChangeRejected{By: e.By, Reason: e.Reason, Stage: e.Stage}
	case change.Scheduled:
		m = &changev1.ChangeScheduled{Window: assignedWindowProto(change.Window{
			ID: e.WindowID, Start: e.Start, End: e.End, At: e.At, Maintenance: e.Maintenance, Environments: e.Environments,
		})}
	case change.Cancelled:
		m = &changev1.ChangeCancelled{Reason: e.Reason}
	case change.ImplementationStarted:
		m = &changev1.ChangeImplementationStarted{
			DeploymentId: e.DeploymentID, ReleaseId: e.ReleaseID, Environment: e.Environment,
			OutsideWindow: e.OutsideWindow, ReviewDue: timestamp(e.PIRDue),
		}
	case change.ValidationRecorded:
		m = &changev1.ChangeValidationRecorded{
			DeploymentId: e.DeploymentID, Check: e.Check, Outcome: string(e.Outcome), Detail: e.Detail,
		}
	case change.Validated:
		m = &changev1.ChangeValidated{}
	case change.Failed:
		m = &changev1.ChangeFailed{Reason: e.Reason, DeploymentId: e.DeploymentID}
	case change.PostImplementationReviewed:
		m = &changev1.ChangePostImplementationReviewed{
			Reviewer: e.Reviewer, RootCause: e.RootCause, Prevention: ActionsProto(e.Prevention), Notes: e.Notes, Late: e.Late,
		}
	case change.ReviewOverdue:
		m = &changev1.ChangeReviewOverdue{ReviewDue: timestamp(e.Due)}
	case change.Closed:
		m = &changev1.ChangeClosed{Outcome: e.Outcome, Notes: e.Notes}
	default:
		return nil, fmt.Errorf("change event %T has no floe.change.v1 message", e)
	}
	if err := p.err(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", e.Name(), err)
	}
	return m, nil
}

// FromProto is the change event of a floe.change.v1 message; ok is false
// for a message that is not one (a calendar event, say). An enum number
// the message's enum does not define fails, naming the field (ok is true:
// it is a change event, but not one this version understands).
func FromProto(m proto.Message) (e change.Event, ok bool, err error) {
	var p problems
	switch m := m.(type) {
	case *changev1.ChangeSubmitted:
		e = change.Submitted{
			ID: m.GetId(), Submitter: m.GetSubmitter(), Class: textOf[change.Class](&p, "class", m.GetClass()),
			Template: m.GetTemplate(), Justification: m.GetJustification(), Title: m.GetTitle(), Description: m.GetDescription(),
			Type:             textOf[change.Type](&p, "type", m.GetType()),
			Priority:         textOf[change.Priority](&p, "priority", m.GetPriority()),
			Impact:           textOf[change.Impact](&p, "impact", m.GetImpact()),
			Risk:             textOf[change.Risk](&p, "risk", m.GetRisk()),
			RegulatoryImpact: m.GetRegulatoryImpact(), Environments: m.GetEnvironments(), Schedule: Timing(m.GetSchedule()),
			Approvers: m.GetApprovers(), Releases: m.GetReleases(),
			Implementation: Plan(m.GetImplementation()), Rollback: Plan(m.GetRollback()), Testing: Plan(m.GetTesting()),
			Requirements: requirements(m.GetRequirements()), ReviewRequired: m.GetReviewRequired(), Validations: m.GetValidations(),
			PIRDeadline: durationOf(m.GetReviewDeadline()),
		}
	case *changev1.ChangeReviewStarted:
		e = change.ReviewStarted{Reviewer: m.GetReviewer()}
	case *changev1.ChangeReviewCompleted:
		e = change.ReviewCompleted{Reviewer: m.GetReviewer(), Outcome: change.ReviewOutcome(m.GetOutcome()), Notes: m.GetNotes()}
	case *changev1.ChangeApprovalGranted:
		e = change.ApprovalGranted{
			Approver: m.GetApprover(), As: m.GetAs(), Roles: m.GetRoles(), Comment: m.GetComment(), Counts: m.GetCounts(),
		}
	case *changev1.ChangeApproved:
		e = change.Approved{
			Approvals: int(m.GetApprovals()), Required: int(m.GetRequired()), PreApproved: m.GetPreApproved(), Template: m.GetTemplate(),
		}
	case *changev1.ChangeRejected:
		e = change.Rejected{By: m.GetBy(), Reason: m.GetReason(), Stage: m.GetStage()}
	case *changev1.ChangeScheduled:
		w := m.GetWindow()
		e = change.Scheduled{
			WindowID: w.GetWindowId(), Start: timeOf(w.GetStart()), End: timeOf(w.GetEnd()), At: timeOf(w.GetAt()),
			Maintenance: w.GetMaintenance(), Environments: w.GetEnvironments(),
		}
	case *changev1.ChangeCancelled:
		e = change.Cancelled{Reason: m.GetReason()}
	case *changev1.ChangeImplementationStarted:
		e = change.ImplementationStarted{
			DeploymentID: m.GetDeploymentId(), ReleaseID: m.GetReleaseId(), Environment: m.GetEnvironment(),
			OutsideWindow: m.GetOutsideWindow(), PIRDue: timeOf(m.GetReviewDue()),
		}
	case *changev1.ChangeValidationRecorded:
		e = change.ValidationRecorded{
			DeploymentID: m.GetDeploymentId(), Check: m.GetCheck(), Outcome: change.Outcome(m.GetOutcome()), Detail: m.GetDetail(),
		}
	case *changev1.ChangeValidated:
		e = change.Validated{}
	case *changev1.ChangeFailed:
		e = change.Failed{Reason: m.GetReason(), DeploymentID: m.GetDeploymentId()}
	case *changev1.ChangePostImplementationReviewed:
		e = change.PostImplementationReviewed{
			Reviewer: m.GetReviewer(), RootCause: m.GetRootCause(), Prevention: Actions(m.GetPrevention()), Notes: m.GetNotes(), Late: m.GetLate(),
		}
	case *changev1.ChangeReviewOverdue:
		e = change.ReviewOverdue{Due: timeOf(m.GetReviewDue())}
	case *changev1.ChangeClosed:
		e = change.Closed{Outcome: m.GetOutcome(), Notes: m.GetNotes()}
	default:
		return nil, false, nil
	}
	if err := p.err(); err != nil {
		return nil, true, fmt.Errorf("decode %s: %w", e.Name(), err)
	}
	return e, true, nil
}
