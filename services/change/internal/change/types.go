package change

import (
	"slices"
	"strings"
	"time"
)

// Type is what a change is for (the guide's ChangeRequest.type).
type Type string

// The change types.
const (
	TypeEnhancement    Type = "enhancement"
	TypeBugFix         Type = "bug_fix"
	TypeSecurity       Type = "security"
	TypeInfrastructure Type = "infrastructure"
)

// Types lists every valid Type.
var Types = []Type{TypeEnhancement, TypeBugFix, TypeSecurity, TypeInfrastructure}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool { return slices.Contains(Types, t) }

// Priority is how urgent a change is.
type Priority string

// The priorities, lowest first.
const (
	PriorityLow      Priority = "low"
	PriorityMedium   Priority = "medium"
	PriorityHigh     Priority = "high"
	PriorityCritical Priority = "critical"
)

// Priorities lists every valid Priority, lowest first.
var Priorities = []Priority{PriorityLow, PriorityMedium, PriorityHigh, PriorityCritical}

// Valid reports whether p is one of Priorities.
func (p Priority) Valid() bool { return slices.Contains(Priorities, p) }

// Impact is how much of the system a change touches.
type Impact string

// The impacts, smallest first.
const (
	ImpactNone       Impact = "none"
	ImpactLow        Impact = "low"
	ImpactMedium     Impact = "medium"
	ImpactHigh       Impact = "high"
	ImpactSystemWide Impact = "system_wide"
)

// Impacts lists every valid Impact, smallest first.
var Impacts = []Impact{ImpactNone, ImpactLow, ImpactMedium, ImpactHigh, ImpactSystemWide}

// Valid reports whether i is one of Impacts.
func (i Impact) Valid() bool { return slices.Contains(Impacts, i) }

// Risk is the submitter's assessment of what could go wrong. The guide
// names four levels rather than a score, so this is a level too.
type Risk string

// The risk levels, lowest first.
const (
	RiskLow      Risk = "low"
	RiskMedium   Risk = "medium"
	RiskHigh     Risk = "high"
	RiskCritical Risk = "critical"
)

// Risks lists every valid Risk, lowest first.
var Risks = []Risk{RiskLow, RiskMedium, RiskHigh, RiskCritical}

// Valid reports whether r is one of Risks.
func (r Risk) Valid() bool { return slices.Contains(Risks, r) }

// Class is the path a change takes through the workflow.
type Class string

// The change classes.
const (
	// ClassStandard is a change made from a pre-approved template: it is
	// approved on submission, with no review and no approvals.
	ClassStandard Class = "standard"
	// ClassNormal goes through technical review and the policy's approvals.
	ClassNormal Class = "normal"
	// ClassEmergency is the fast track: reduced approvals, usually no
	// technical review, and a mandatory post-implementation review.
	ClassEmergency Class = "emergency"
)

// Classes lists every valid Class.
var Classes = []Class{ClassStandard, ClassNormal, ClassEmergency}

// Valid reports whether c is one of Classes.
func (c Class) Valid() bool { return slices.Contains(Classes, c) }

// State is where a change request is in its workflow; see the package doc
// for the transitions.
type State string

// The states. Rejected, cancelled and closed are final; failed leads only
// to closure.
const (
	StateNone            State = ""                 // nothing submitted yet
	StateSubmitted       State = "submitted"        // awaiting technical review
	StateInReview        State = "in_review"        // technical review under way
	StatePendingApproval State = "pending_approval" // awaiting the required approvals
	StateApproved        State = "approved"         // approved, awaiting a window
	StateScheduled       State = "scheduled"        // a window is assigned
	StateImplementing    State = "implementing"     // its deployments have started
	StateValidated       State = "validated"        // every required check succeeded
	StateClosed          State = "closed"           // documented and closed
	StateRejected        State = "rejected"         // refused in review or approval
	StateCancelled       State = "cancelled"        // withdrawn before implementation
	StateFailed          State = "failed"           // the implementation or its validation failed
)

// States lists every state a submitted change can be in, in workflow order.
var States = []State{
	StateSubmitted, StateInReview, StatePendingApproval, StateApproved, StateScheduled, StateImplementing,
	StateValidated, StateClosed, StateRejected, StateCancelled, StateFailed,
}

// Final reports whether no command changes s any more.
func (s State) Final() bool {
	return s == StateClosed || s == StateRejected || s == StateCancelled
}

// Approved reports whether a change in s has been approved (its approvals
// were satisfied, or it is a standard change).
func (s State) Approved() bool {
	switch s {
	case StateApproved, StateScheduled, StateImplementing, StateValidated, StateFailed, StateClosed:
		return true
	}
	return false
}

// Principal is who acts: an id and the roles they hold where the change
// applies (the service resolves them from its identity provider).
type Principal struct {
	ID    string
	Roles []string
}

// Has reports whether p holds role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// Timing is when the submitter would like the change made (the guide's
// ChangeRequest.schedule).
type Timing struct {
	// PlannedStart is the requested start.
	PlannedStart time.Time
	// DurationMinutes is how long the change takes, in minutes.
	DurationMinutes int
	// Maintenance asks for a maintenance window (expected downtime).
	Maintenance bool
}

// Duration is DurationMinutes as a time.Duration.
func (s Timing) Duration() time.Duration { return time.Duration(s.DurationMinutes) * time.Minute }

// Step is one step of a plan, in the plan's order.
type Step struct {
	// Description says what is done.
	Description string
	// Owner is who does it (a person or a team); optional.
	Owner string
	// ExpectedMinutes is how long it should take; 0 when not estimated.
	ExpectedMinutes int
	// Verification says how to tell the step worked; optional.
	Verification string
}

// Plan is an ordered list of steps: how a change is implemented, rolled
// back or tested.
type Plan struct {
	Steps []Step
}

// ExpectedMinutes is the sum of the steps' estimates.
func (p Plan) ExpectedMinutes() int {
	n := 0
	for _, s := range p.Steps {
		n += s.ExpectedMinutes
	}
	return n
}

func (p Plan) clone() Plan { return Plan{Steps: slices.Clone(p.Steps)} }

// Requirement is one approval a change needs: from one person who approves
// as any one of AnyOf (role names, e.g. "operations"). A change's
// requirements are met by distinct people, one approval each.
type Requirement struct {
	AnyOf []string
}

func (r Requirement) String() string { return strings.Join(r.AnyOf, " or ") }

func cloneRequirements(in []Requirement) []Requirement {
	out := make([]Requirement, len(in))
	for i, r := range in {
		out[i] = Requirement{AnyOf: slices.Clone(r.AnyOf)}
	}
	return out
}

// Approval is one approval given to a change.
type Approval struct {
	Approver string
	// As is the role the approval was given as; it counts toward the
	// requirements that accept that role.
	As string
	// Roles are all the roles the approver held when approving.
	Roles   []string
	Comment string
	At      time.Time
}

// Window is the deployment window a change is scheduled in: the window's id
// and its range [Start, End), and the change's own slot in it, starting at
// At and lasting the change's duration.
type Window struct {
	ID          string
	Start, End  time.Time
	At          time.Time
	Maintenance bool
	// Environments the window applies to; empty for every environment.
	Environments []string
}

// Contains reports whether t is in [Start, End).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

func (w Window) clone() Window {
	w.Environments = slices.Clone(w.Environments)
	return w
}

// Outcome is the result of a validation check.
type Outcome string

// The outcomes.
const (
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeFailed    Outcome = "failed"
)

// Valid reports whether o is succeeded or failed.
func (o Outcome) Valid() bool { return o == OutcomeSucceeded || o == OutcomeFailed }

// The checks the default policy requires of every deployment of a change.
const (
	CheckDeployment = "deployment" // the deployment's own outcome
	CheckGates      = "gates"      // the environment's quality gates
	CheckBake       = "bake"       // the monitor's bake period
)

// ReviewOutcome is how a technical review ends.
type ReviewOutcome string

// The review outcomes.
const (
	ReviewPassed   ReviewOutcome = "passed"
	ReviewRejected ReviewOutcome = "rejected"
)

// Valid reports whether o is passed or rejected.
func (o ReviewOutcome) Valid() bool { return o == ReviewPassed || o == ReviewRejected }

// Deployment is one deployment that implements a change in one environment.
type Deployment struct {
	ID          string
	ReleaseID   string
	Environment string
	StartedAt   time.Time
	// OutsideWindow is set when the deployment started outside the
	// change's window (recorded, for the audit, rather than refused: the
	// deployment happened).
	OutsideWindow bool
	// Checks are the latest outcome of each check recorded for it.
	Checks map[string]Outcome
}

func (d Deployment) clone() Deployment {
	c := d
	c.Checks = make(map[string]Outcome, len(d.Checks))
	for k, v := range d.Checks {
		c.Checks[k] = v
	}
	return c
}

// Action is one prevention action of a post-implementation review.
type Action struct {
	Description string
	Owner       string
	// Due is when the action should be done; zero when not set.
	Due time.Time
}

// PostImplementationReview is the retrospective of a change: why it was
// needed (for an emergency, the root cause of the incident) and what
// prevents a recurrence.
type PostImplementationReview struct {
	RootCause  string
	Prevention []Action
	Notes      string
	Reviewer   string
	At         time.Time
}

func (r *PostImplementationReview) clone() *PostImplementationReview {
	if r == nil {
		return nil
	}
	c := *r
	c.Prevention = slices.Clone(r.Prevention)
	return &c
}
