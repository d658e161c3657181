package change

import (
	"slices"
	"time"
)

// ChangeRequest is the change request aggregate's state. It changes only
// through Apply; decisions read it and return events.
type ChangeRequest struct {
	id      string
	state   State
	version uint64

	submitter          string
	class              Class
	template           string
	justification      string
	title, description string
	typ                Type
	priority           Priority
	impact             Impact
	risk               Risk
	regulatoryImpact   string
	environments       []string
	schedule           Timing
	approvers          []string
	releases           []string
	implementation     Plan
	rollback           Plan
	testing            Plan

	requirements   []Requirement
	reviewRequired bool
	validations    []string
	pirDeadline    time.Duration

	submittedAt, updatedAt time.Time

	reviewer      string
	reviewOutcome ReviewOutcome
	reviewNotes   string

	approvals   []Approval
	approvedAt  time.Time
	preApproved bool

	window      *Window
	deployments []Deployment
	pirDue      time.Time
	pir         *PostImplementationReview
	// overdueNoticed is set once ReviewOverdue is recorded.
	overdueNoticed bool

	// reason is why the change was rejected, cancelled or failed; by who
	// rejected it.
	reason, by     string
	closureOutcome string
	closureNotes   string
}

// New is the state of change request id before any event: it does not
// exist yet (Exists is false) and only Submit applies to it.
func New(id string) *ChangeRequest { return &ChangeRequest{id: id} }

// Apply folds one event into the change request; it is the only way its
// state changes. Events are facts the decisions produced, so Apply trusts
// their order and never fails; an event of a foreign type is ignored.
func (c *ChangeRequest) Apply(e Event, m Meta) {
	c.version++
	c.updatedAt = m.Time
	switch e := e.(type) {
	case Submitted:
		c.id, c.submitter, c.class, c.template, c.justification = e.ID, e.Submitter, e.Class, e.Template, e.Justification
		c.title, c.description = e.Title, e.Description
		c.typ, c.priority, c.impact, c.risk, c.regulatoryImpact = e.Type, e.Priority, e.Impact, e.Risk, e.RegulatoryImpact
		c.environments, c.schedule = slices.Clone(e.Environments), e.Schedule
		c.approvers, c.releases = slices.Clone(e.Approvers), slices.Clone(e.Releases)
		c.implementation, c.rollback, c.testing = e.Implementation.clone(), e.Rollback.clone(), e.Testing.clone()
		c.requirements, c.reviewRequired = cloneRequirements(e.Requirements), e.ReviewRequired
		c.validations, c.pirDeadline = slices.Clone(e.Validations), e.PIRDeadline
		c.submittedAt = m.Time
		c.state = StatePendingApproval
		if e.ReviewRequired {
			c.state = StateSubmitted
		}
	case ReviewStarted:
		c.state, c.reviewer = StateInReview, e.Reviewer
	case ReviewCompleted:
		c.reviewer, c.reviewOutcome, c.reviewNotes = e.Reviewer, e.Outcome, e.Notes
		if e.Outcome == ReviewPassed {
			c.state = StatePendingApproval
		}
	case ApprovalGranted:
		c.approvals = append(c.approvals, Approval{Approver: e.Approver, As: e.As, Roles: slices.Clone(e.Roles), Comment: e.Comment, At: m.Time})
	case Approved:
		c.state, c.approvedAt, c.preApproved = StateApproved, m.Time, e.PreApproved
	case Rejected:
		c.state, c.reason, c.by = StateRejected, e.Reason, e.By
	case Scheduled:
		c.state = StateScheduled
		c.window = &Window{ID: e.WindowID, Start: e.Start, End: e.End, At: e.At, Maintenance: e.Maintenance, Environments: slices.Clone(e.Environments)}
	case Cancelled:
		c.state, c.reason = StateCancelled, e.Reason
	case ImplementationStarted:
		c.state = StateImplementing
		c.deployments = append(c.deployments, Deployment{
			ID: e.DeploymentID, ReleaseID: e.ReleaseID, Environment: e.Environment, StartedAt: m.Time,
			OutsideWindow: e.OutsideWindow, Checks: map[string]Outcome{},
		})
		if !e.PIRDue.IsZero() {
			c.pirDue = e.PIRDue
		}
	case ValidationRecorded:
		if i := c.deployment(e.DeploymentID); i >= 0 {
			c.deployments[i].Checks[e.Check] = e.Outcome
		}
	case Validated:
		c.state = StateValidated
	case Failed:
		c.state, c.reason = StateFailed, e.Reason
	case PostImplementationReviewed:
		c.pir = &PostImplementationReview{RootCause: e.RootCause, Prevention: slices.Clone(e.Prevention), Notes: e.Notes, Reviewer: e.Reviewer, At: m.Time}
	case ReviewOverdue:
		c.overdueNoticed = true
	case Closed:
		c.state, c.closureOutcome, c.closureNotes = StateClosed, e.Outcome, e.Notes
	}
}

// deployment is the index of deployment id, or -1.
func (c *ChangeRequest) deployment(id string) int {
	return slices.IndexFunc(c.deployments, func(d Deployment) bool { return d.ID == id })
}

// Exists reports whether the change has been submitted.
func (c *ChangeRequest) Exists() bool { return c.state != StateNone }

// ID is the change request's id.
func (c *ChangeRequest) ID() string { return c.id }

// State is where the change is in its workflow.
func (c *ChangeRequest) State() State { return c.state }

// Version is the number of events applied (the aggregate version).
func (c *ChangeRequest) Version() uint64 { return c.version }

// Class is the change's class.
func (c *ChangeRequest) Class() Class { return c.class }

// Submitter is who submitted the change.
func (c *ChangeRequest) Submitter() string { return c.submitter }

// Title is the change's title.
func (c *ChangeRequest) Title() string { return c.title }

// Environments are the environments the change covers.
func (c *ChangeRequest) Environments() []string { return slices.Clone(c.environments) }

// Releases are the ids of the releases the change covers.
func (c *ChangeRequest) Releases() []string { return slices.Clone(c.releases) }

// Schedule is the schedule the submitter asked for.
func (c *ChangeRequest) Schedule() Timing { return c.schedule }

// Requirements are the approvals the change needs (none for a standard change).
func (c *ChangeRequest) Requirements() []Requirement { return cloneRequirements(c.requirements) }

// Approvals are the approvals given, in order.
func (c *ChangeRequest) Approvals() []Approval {
	out := make([]Approval, len(c.approvals))
	for i, a := range c.approvals {
		a.Roles = slices.Clone(a.Roles)
		out[i] = a
	}
	return out
}

// ApprovalsMet is how many of the change's requirements its approvals meet.
func (c *ChangeRequest) ApprovalsMet() int { return met(match(c.requirements, c.approvalRoles())) }

// Missing lists the approvals still needed, one requirement each, with
// every role that would meet it (see open).
func (c *ChangeRequest) Missing() []Requirement { return open(c.requirements, c.approvalRoles()) }

// Satisfied reports whether the approvals meet every requirement (always
// true of a standard change, which has none).
func (c *ChangeRequest) Satisfied() bool { return c.ApprovalsMet() == len(c.requirements) }

func (c *ChangeRequest) approvalRoles() []string {
	out := make([]string, len(c.approvals))
	for i, a := range c.approvals {
		out[i] = a.As
	}
	return out
}

// PreApproved reports whether the change was approved by its standard template.
func (c *ChangeRequest) PreApproved() bool { return c.preApproved }

// Window is the window the change is scheduled in (false before scheduling).
func (c *ChangeRequest) Window() (Window, bool) {
	if c.window == nil {
		return Window{}, false
	}
	return c.window.clone(), true
}

// Deployments are the deployments implementing the change, in order.
func (c *ChangeRequest) Deployments() []Deployment {
	out := make([]Deployment, len(c.deployments))
	for i, d := range c.deployments {
		out[i] = d.clone()
	}
	return out
}

// PIRDue is when the post-implementation review is due: false when the
// change needs none or its implementation has not started.
func (c *ChangeRequest) PIRDue() (time.Time, bool) { return c.pirDue, !c.pirDue.IsZero() }

// PIR is the post-implementation review, nil until it is recorded.
func (c *ChangeRequest) PIR() *PostImplementationReview { return c.pir.clone() }

// Reason is why the change was rejected, cancelled or failed ("" otherwise).
func (c *ChangeRequest) Reason() string { return c.reason }

// ClosureOutcome is "successful" or "failed" once closed, "" before.
func (c *ChangeRequest) ClosureOutcome() string { return c.closureOutcome }

// pirRequired reports whether the change needs a post-implementation review.
func (c *ChangeRequest) pirRequired() bool { return c.pirDeadline > 0 }

// SubmittedAt is when the change was submitted.
func (c *ChangeRequest) SubmittedAt() time.Time { return c.submittedAt }

// UpdatedAt is when the last event was applied.
func (c *ChangeRequest) UpdatedAt() time.Time { return c.updatedAt }

// Description is the change's description.
func (c *ChangeRequest) Description() string { return c.description }

// Type is what the change is for.
func (c *ChangeRequest) Type() Type { return c.typ }

// Priority is how urgent the change is.
func (c *ChangeRequest) Priority() Priority { return c.priority }

// Impact is how much of the system the change touches.
func (c *ChangeRequest) Impact() Impact { return c.impact }

// Risk is the submitter's assessment of the change's risk.
func (c *ChangeRequest) Risk() Risk { return c.risk }

// RegulatoryImpact is the change's regulatory impact assessment ("" when none).
func (c *ChangeRequest) RegulatoryImpact() string { return c.regulatoryImpact }

// Approvers are the people asked to approve.
func (c *ChangeRequest) Approvers() []string { return slices.Clone(c.approvers) }

// Implementation is how the change is made.
func (c *ChangeRequest) Implementation() Plan { return c.implementation.clone() }

// Rollback is how the change is undone.
func (c *ChangeRequest) Rollback() Plan { return c.rollback.clone() }

// Testing is how the change is tested.
func (c *ChangeRequest) Testing() Plan { return c.testing.clone() }

// Template is a standard change's pre-approved template ("" otherwise).
func (c *ChangeRequest) Template() string { return c.template }

// Justification is why an emergency change cannot wait ("" otherwise).
func (c *ChangeRequest) Justification() string { return c.justification }

// ApprovalCounts reports, for each approval in order, whether it met a
// requirement the approvals before it did not (ApprovalGranted.Counts, as
// Approve decided it).
func (c *ChangeRequest) ApprovalCounts() []bool {
	roles := c.approvalRoles()
	out := make([]bool, len(roles))
	for i := range roles {
		out[i] = met(match(c.requirements, roles[:i+1])) > met(match(c.requirements, roles[:i]))
	}
	return out
}
