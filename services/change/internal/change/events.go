package change

import "time"

// Event is one fact about a change request. The concrete types below are
// plain structs, one per event, so that the service can map each to its
// proto message (floe.change.v1.<Name()>) once one exists. The set is
// closed: only this package's types implement Event.
type Event interface {
	// Name is the event's name in the log, e.g. "ChangeSubmitted".
	Name() string
	event()
}

// Meta is what the log records about an event besides its body.
type Meta struct {
	Actor string
	Time  time.Time
}

// Submitted records a new change request, with the parts of the policy it
// is judged by (snapshotted here so that a later policy change does not
// alter a change in flight).
type Submitted struct {
	ID        string
	Submitter string
	Class     Class
	// Template is the pre-approved template of a standard change.
	Template string
	// Justification says why an emergency change cannot wait.
	Justification string

	Title, Description string
	Type               Type
	Priority           Priority
	Impact             Impact
	Risk               Risk
	// RegulatoryImpact is the assessment the compliance report shows
	// (guide §10, impact assessment); optional.
	RegulatoryImpact string
	Environments     []string
	Schedule         Timing
	// Approvers are the people asked to approve (notified; the policy,
	// not this list, decides whose approval counts).
	Approvers      []string
	Releases       []string
	Implementation Plan
	Rollback       Plan
	Testing        Plan

	// The policy, as it applies to this change.
	Requirements   []Requirement
	ReviewRequired bool
	Validations    []string
	// PIRDeadline is how long after implementation starts the
	// post-implementation review is due; zero when none is required.
	PIRDeadline time.Duration
}

// ReviewStarted records that a reviewer took the technical review.
type ReviewStarted struct {
	Reviewer string
}

// ReviewCompleted records the technical review's outcome.
type ReviewCompleted struct {
	Reviewer string
	Outcome  ReviewOutcome
	Notes    string
}

// ApprovalGranted records one approval.
type ApprovalGranted struct {
	Approver string
	As       string
	Roles    []string
	Comment  string
	// Counts says whether the approval met a requirement not met before.
	Counts bool
}

// Approved records that the change may go ahead: its approvals meet its
// requirements, or it is a standard change (PreApproved, from Template).
type Approved struct {
	Approvals, Required int
	PreApproved         bool
	Template            string
}

// Rejected records a refusal in review or approval; the change is over.
type Rejected struct {
	By     string
	Reason string
	// Stage is "review" or "approval".
	Stage string
}

// Scheduled records the window assigned to the change (again when
// rescheduled).
type Scheduled struct {
	WindowID     string
	Start, End   time.Time
	At           time.Time
	Maintenance  bool
	Environments []string
}

// Cancelled records that the change was withdrawn before implementation.
type Cancelled struct {
	Reason string
}

// ImplementationStarted records a deployment of a linked release that
// implements the change in one environment; the first one starts the
// implementation and, for an emergency, the post-implementation review's
// clock (PIRDue).
type ImplementationStarted struct {
	DeploymentID  string
	ReleaseID     string
	Environment   string
	OutsideWindow bool
	// PIRDue is when the post-implementation review is due; zero when none
	// is required or it was already set by an earlier deployment.
	PIRDue time.Time
}

// ValidationRecorded records one check of one deployment.
type ValidationRecorded struct {
	DeploymentID string
	Check        string
	Outcome      Outcome
	Detail       string
}

// Validated records that every deployment of every environment of the
// change passed every required check.
type Validated struct{}

// Failed records that the implementation or its validation failed.
type Failed struct {
	Reason       string
	DeploymentID string // the failing deployment, when one is known
}

// PostImplementationReviewed records the post-implementation review.
type PostImplementationReviewed struct {
	Reviewer   string
	RootCause  string
	Prevention []Action
	Notes      string
	// Late is set when the review was recorded after it was due.
	Late bool
}

// ReviewOverdue records that the post-implementation review passed its due
// time without being recorded; it is recorded once per change.
type ReviewOverdue struct {
	Due time.Time
}

// Closed records the change's closure, with its documented outcome
// ("successful" or "failed").
type Closed struct {
	Outcome string
	Notes   string
}

// Name implements Event.
func (Submitted) Name() string                  { return "ChangeSubmitted" }
func (ReviewStarted) Name() string              { return "ChangeReviewStarted" }
func (ReviewCompleted) Name() string            { return "ChangeReviewCompleted" }
func (ApprovalGranted) Name() string            { return "ChangeApprovalGranted" }
func (Approved) Name() string                   { return "ChangeApproved" }
func (Rejected) Name() string                   { return "ChangeRejected" }
func (Scheduled) Name() string                  { return "ChangeScheduled" }
func (Cancelled) Name() string                  { return "ChangeCancelled" }
func (ImplementationStarted) Name() string      { return "ChangeImplementationStarted" }
func (ValidationRecorded) Name() string         { return "ChangeValidationRecorded" }
func (Validated) Name() string                  { return "ChangeValidated" }
func (Failed) Name() string                     { return "ChangeFailed" }
func (PostImplementationReviewed) Name() string { return "ChangePostImplementationReviewed" }
func (ReviewOverdue) Name() string              { return "ChangeReviewOverdue" }
func (Closed) Name() string                     { return "ChangeClosed" }

func (Submitted) event()                  {}
func (ReviewStarted) event()              {}
func (ReviewCompleted) event()            {}
func (ApprovalGranted) event()            {}
func (Approved) event()                   {}
func (Rejected) event()                   {}
func (Scheduled) event()                  {}
func (Cancelled) event()                  {}
func (ImplementationStarted) event()      {}
func (ValidationRecorded) event()         {}
func (Validated) event()                  {}
func (Failed) event()                     {}
func (PostImplementationReviewed) event() {}
func (ReviewOverdue) event()              {}
func (Closed) event()                     {}

// Closure outcomes.
const (
	ClosedSuccessful = "successful"
	ClosedFailed     = "failed"
)
