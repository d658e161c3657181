package change

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

// The decisions. Each is a function of the change's state, a command and,
// where time matters, now; it returns the events to append or an error:
// *errs.NotFoundError for a change never submitted, *errs.InvalidArgumentError
// with every bad field at its path, *errs.PreconditionError with every
// reason the state refuses the command. A decision that would only repeat
// what is already recorded (a redelivered deployment or check) returns no
// events and no error, so reactions can be retried.

// SubmitCommand submits a change request (the guide's ChangeRequest).
type SubmitCommand struct {
	Submitter string
	Class     Class
	// Template names the pre-approved template of a standard change
	// (required for standard, refused otherwise).
	Template string
	// Justification says why an emergency change cannot wait (required
	// for an emergency).
	Justification string

	Title, Description string
	Type               Type
	Priority           Priority
	Impact             Impact
	Risk               Risk
	RegulatoryImpact   string
	Environments       []string
	Schedule           Timing
	Approvers          []string
	Releases           []string
	Implementation     Plan
	Rollback           Plan
	Testing            Plan
}

// Submit decides a new change request under policy p (validated at start).
// A normal change then awaits technical review; an emergency change awaits
// its approval (or review, when the policy asks); a standard change is
// approved at once by its template.
func Submit(c *ChangeRequest, cmd SubmitCommand, p Policy) ([]Event, error) {
	if c.Exists() {
		return nil, &errs.AlreadyExistsError{Kind: "change request", ID: c.id}
	}
	var v errs.Violations
	ident.Check(&v, "id", c.id)
	checkPrincipalID(&v, "submitter", cmd.Submitter)
	checkEnum(&v, "class", cmd.Class, cmd.Class.Valid(), Classes)
	switch {
	case cmd.Class == ClassStandard:
		switch {
		case cmd.Template == "":
			v.Add("template", "is required: a standard change is made from a pre-approved template")
		case !ident.Check(&v, "template", cmd.Template):
		case len(p.StandardTemplates) == 0:
			v.Add("template", "%s is not a pre-approved template: none is configured, so every change is reviewed and approved (class normal)", ident.Quote(cmd.Template))
		case !slices.Contains(p.StandardTemplates, cmd.Template):
			v.Add("template", "%s is not a pre-approved template (pre-approved: %s)", ident.Quote(cmd.Template), strings.Join(p.StandardTemplates, ", "))
		}
	case cmd.Template != "":
		v.Add("template", "only a standard change is made from a template; this one is %s", cmd.Class)
	}
	checkText(&v, "justification", cmd.Justification, MaxText, cmd.Class == ClassEmergency)
	checkText(&v, "title", cmd.Title, MaxTitle, true)
	checkText(&v, "description", cmd.Description, MaxDescription, false)
	checkEnum(&v, "type", cmd.Type, cmd.Type.Valid(), Types)
	checkEnum(&v, "priority", cmd.Priority, cmd.Priority.Valid(), Priorities)
	checkEnum(&v, "impact", cmd.Impact, cmd.Impact.Valid(), Impacts)
	checkEnum(&v, "risk", cmd.Risk, cmd.Risk.Valid(), Risks)
	checkText(&v, "regulatory_impact", cmd.RegulatoryImpact, MaxText, false)
	checkIDs(&v, "environments", cmd.Environments, true)
	checkIDs(&v, "releases", cmd.Releases, true)
	if cmd.Schedule.PlannedStart.IsZero() {
		v.Add("schedule.planned_start", "is required")
	}
	if d := cmd.Schedule.DurationMinutes; d < 1 || d > MaxDurationMinutes {
		v.Add("schedule.duration_minutes", "must be between 1 and %d", MaxDurationMinutes)
	} else if need := cmd.Implementation.ExpectedMinutes(); need > d {
		v.Add("schedule.duration_minutes", "is %d; the implementation plan's steps are expected to take %d", d, need)
	}
	checkPrincipalIDs(&v, "approvers", cmd.Approvers)
	if i := slices.Index(cmd.Approvers, cmd.Submitter); i >= 0 && cmd.Submitter != "" {
		v.Add(fmt.Sprintf("approvers[%d]", i), "separation of duties: the submitter may not approve their own change")
	}
	checkPlan(&v, "implementation", cmd.Implementation)
	checkPlan(&v, "rollback", cmd.Rollback)
	checkPlan(&v, "testing", cmd.Testing)
	if err := v.Err(); err != nil {
		return nil, err
	}

	s := Submitted{
		ID: c.id, Submitter: cmd.Submitter, Class: cmd.Class, Template: cmd.Template, Justification: cmd.Justification,
		Title: strings.TrimSpace(cmd.Title), Description: cmd.Description,
		Type: cmd.Type, Priority: cmd.Priority, Impact: cmd.Impact, Risk: cmd.Risk, RegulatoryImpact: cmd.RegulatoryImpact,
		Environments: slices.Clone(cmd.Environments), Schedule: cmd.Schedule,
		Approvers: slices.Clone(cmd.Approvers), Releases: slices.Clone(cmd.Releases),
		Implementation: cmd.Implementation.clone(), Rollback: cmd.Rollback.clone(), Testing: cmd.Testing.clone(),
		Requirements: p.requirements(cmd.Class), ReviewRequired: p.reviewRequired(cmd.Class),
		Validations: slices.Clone(p.Validations),
	}
	if cmd.Class == ClassEmergency {
		s.PIRDeadline = p.PIRDeadline
	}
	out := []Event{s}
	switch {
	case cmd.Class == ClassStandard:
		out = append(out, Approved{PreApproved: true, Template: cmd.Template})
	case !s.ReviewRequired && len(s.Requirements) == 0:
		out = append(out, Approved{})
	}
	return out, nil
}

// StartReview decides that reviewer takes the technical review of a
// submitted change. Separation of duties: not the submitter.
func StartReview(c *ChangeRequest, reviewer string) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkPrincipalID(&v, "reviewer", reviewer)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "start a technical review", StateSubmitted)
	c.notSubmitter(&refuse, reviewer, "review")
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []Event{ReviewStarted{Reviewer: reviewer}}, nil
}

// CompleteReviewCommand ends a technical review.
type CompleteReviewCommand struct {
	Reviewer string
	Outcome  ReviewOutcome
	// Notes are the review's findings; required when it rejects the change.
	Notes string
}

// CompleteReview decides the outcome of a technical review under way: a
// passed change goes on to approval, a rejected one is over. Any reviewer
// but the submitter may complete it.
func CompleteReview(c *ChangeRequest, cmd CompleteReviewCommand) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkPrincipalID(&v, "reviewer", cmd.Reviewer)
	checkEnum(&v, "outcome", cmd.Outcome, cmd.Outcome.Valid(), []ReviewOutcome{ReviewPassed, ReviewRejected})
	checkText(&v, "notes", cmd.Notes, MaxText, cmd.Outcome == ReviewRejected)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "complete a technical review", StateInReview)
	c.notSubmitter(&refuse, cmd.Reviewer, "review")
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	out := []Event{ReviewCompleted{Reviewer: cmd.Reviewer, Outcome: cmd.Outcome, Notes: cmd.Notes}}
	switch {
	case cmd.Outcome == ReviewRejected:
		out = append(out, Rejected{By: cmd.Reviewer, Reason: cmd.Notes, Stage: "review"})
	case len(c.requirements) == 0:
		out = append(out, Approved{})
	}
	return out, nil
}

// ApproveCommand approves a change.
type ApproveCommand struct {
	Approver Principal
	// As is the role the approval is given as; empty to let the decision
	// pick the approver's role that meets a requirement still open.
	As      string
	Comment string
}

// Approve decides an approval of a change awaiting approval. Separation of
// duties: the submitter never approves their own change, and each person
// approves once. An approval is given as one role the approver holds and
// the change's requirements accept; it counts toward one requirement, so
// an approval as a role whose requirements are already met is recorded
// but does not count. The last approval needed also approves the change.
func Approve(c *ChangeRequest, cmd ApproveCommand) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkPrincipalID(&v, "approver.id", cmd.Approver.ID)
	if cmd.As != "" {
		ident.Check(&v, "as", cmd.As)
	}
	checkText(&v, "comment", cmd.Comment, MaxText, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "be approved", StatePendingApproval)
	c.notSubmitter(&refuse, cmd.Approver.ID, "approve")
	if i := slices.IndexFunc(c.approvals, func(a Approval) bool { return a.Approver == cmd.Approver.ID }); i >= 0 {
		refuse.Add(reasonAlreadyApproved, "%s has already approved change %s (as %s): each person approves once", cmd.Approver.ID, c.id, c.approvals[i].As)
	}
	as, problem := c.approveAs(cmd.Approver, cmd.As)
	if problem != "" {
		refuse.Add(reasonNotApprover, "%s", problem)
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	before := c.approvalRoles()
	after := append(slices.Clone(before), as)
	nowMet := met(match(c.requirements, after))
	out := []Event{ApprovalGranted{
		Approver: cmd.Approver.ID, As: as, Roles: slices.Clone(cmd.Approver.Roles), Comment: cmd.Comment,
		Counts: nowMet > met(match(c.requirements, before)),
	}}
	if nowMet == len(c.requirements) {
		out = append(out, Approved{Approvals: len(after), Required: len(c.requirements)})
	}
	return out, nil
}

// approverRoles are the roles the change's requirements accept, in the
// requirements' order.
func (c *ChangeRequest) approverRoles() []string {
	var out []string
	for _, r := range c.requirements {
		for _, role := range r.AnyOf {
			if !slices.Contains(out, role) {
				out = append(out, role)
			}
		}
	}
	return out
}

// approveAs is the role p approves as (asked is p's choice, "" for none),
// or why p cannot approve the change.
func (c *ChangeRequest) approveAs(p Principal, asked string) (string, string) {
	accepted := c.approverRoles()
	if asked != "" {
		switch {
		case !p.Has(asked):
			return "", fmt.Sprintf("%s does not hold the role %s (holds: %s)", p.ID, asked, listOrNone(p.Roles))
		case !slices.Contains(accepted, asked):
			return "", fmt.Sprintf("change %s is approved as %s, not as %s", c.id, listOrNone(accepted), asked)
		}
		return asked, ""
	}
	var held []string
	for _, role := range accepted {
		if p.Has(role) {
			held = append(held, role)
		}
	}
	if len(held) == 0 {
		return "", fmt.Sprintf("%s holds none of the roles that approve change %s (%s; holds: %s)", p.ID, c.id, listOrNone(accepted), listOrNone(p.Roles))
	}
	// Prefer a role that meets a requirement still open.
	base := met(match(c.requirements, c.approvalRoles()))
	for _, role := range held {
		if met(match(c.requirements, append(c.approvalRoles(), role))) > base {
			return role, ""
		}
	}
	return held[0], ""
}

// RejectCommand rejects a change awaiting approval.
type RejectCommand struct {
	By     Principal
	Reason string
}

// Reject decides the rejection of a change awaiting approval by one of its
// approvers (a holder of a role its requirements accept). The submitter
// does not reject their own change: they cancel it.
func Reject(c *ChangeRequest, cmd RejectCommand) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkPrincipalID(&v, "by.id", cmd.By.ID)
	checkText(&v, "reason", cmd.Reason, MaxText, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "be rejected", StatePendingApproval)
	if cmd.By.ID == c.submitter {
		refuse.Add(reasonBySubmitter, "%s submitted change %s: withdraw it with cancel rather than reject it", cmd.By.ID, c.id)
	}
	accepted := c.approverRoles()
	if !slices.ContainsFunc(accepted, cmd.By.Has) {
		refuse.Add(reasonNotApprover, "%s holds none of the roles that approve change %s (%s; holds: %s)", cmd.By.ID, c.id, listOrNone(accepted), listOrNone(cmd.By.Roles))
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []Event{Rejected{By: cmd.By.ID, Reason: cmd.Reason, Stage: "approval"}}, nil
}

// ScheduleCommand assigns a deployment window to a change. The window is
// the window service's: its id, its range [Start, End), whether it is a
// maintenance window and the environments it applies to (none: all).
type ScheduleCommand struct {
	WindowID     string
	Start, End   time.Time
	Maintenance  bool
	Environments []string
	// At is when the change starts within the window; zero for the
	// requested planned start when it fits the window, else the window's
	// start (or now, once the window is open).
	At time.Time
}

// Schedule decides the window of an approved change, or a new one for a
// scheduled change (rescheduling). The change's slot [At, At+duration)
// must lie within the window, the window must not be over, must apply to
// every environment of the change and be a maintenance window when the
// change asks for one.
func Schedule(c *ChangeRequest, cmd ScheduleCommand, now time.Time) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	ident.Check(&v, "window_id", cmd.WindowID)
	if cmd.Start.IsZero() {
		v.Add("start", "is required")
	}
	if cmd.End.IsZero() {
		v.Add("end", "is required")
	} else if !cmd.End.After(cmd.Start) {
		v.Add("end", "must be after start")
	}
	checkIDs(&v, "environments", cmd.Environments, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	win := Window{ID: cmd.WindowID, Start: cmd.Start, End: cmd.End, Maintenance: cmd.Maintenance, Environments: slices.Clone(cmd.Environments)}
	at := cmd.At
	if at.IsZero() {
		at = latest(cmd.Start, now)
		if p := c.schedule.PlannedStart; !p.Before(at) && win.Contains(p) {
			at = p
		}
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "be scheduled", StateApproved, StateScheduled)
	dur := c.schedule.Duration()
	switch {
	case !cmd.End.After(now):
		refuse.Add(reasonWindow, "window %s ended at %s", cmd.WindowID, stamp(cmd.End))
	case at.Before(cmd.Start) || at.Add(dur).After(cmd.End):
		refuse.Add(reasonWindow, "change %s needs %d minutes from %s, outside window %s [%s, %s)",
			c.id, c.schedule.DurationMinutes, stamp(at), cmd.WindowID, stamp(cmd.Start), stamp(cmd.End))
	case !cmd.At.IsZero() && cmd.At.Before(now):
		refuse.Add(reasonWindow, "the change's slot would start at %s, before now (%s)", stamp(cmd.At), stamp(now))
	}
	if c.schedule.Maintenance && !cmd.Maintenance {
		refuse.Add(reasonWindow, "change %s asks for a maintenance window; window %s is not one", c.id, cmd.WindowID)
	}
	if len(cmd.Environments) > 0 {
		for _, env := range c.environments {
			if !slices.Contains(cmd.Environments, env) {
				refuse.Add(reasonWindow, "window %s does not apply to %s (it applies to %s)", cmd.WindowID, env, strings.Join(cmd.Environments, ", "))
			}
		}
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	ev := Scheduled{WindowID: cmd.WindowID, Start: cmd.Start, End: cmd.End, At: at, Maintenance: cmd.Maintenance, Environments: slices.Clone(cmd.Environments)}
	if c.state == StateScheduled && c.window != nil && sameWindow(*c.window, ev) {
		return nil, nil
	}
	return []Event{ev}, nil
}

func sameWindow(w Window, s Scheduled) bool {
	return w.ID == s.WindowID && w.Start.Equal(s.Start) && w.End.Equal(s.End) && w.At.Equal(s.At) &&
		w.Maintenance == s.Maintenance && slices.Equal(w.Environments, s.Environments)
}

// Cancel decides the withdrawal of a change before its implementation.
func Cancel(c *ChangeRequest, reason string) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "reason", reason, MaxText, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "be cancelled", StateSubmitted, StateInReview, StatePendingApproval, StateApproved, StateScheduled)
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []Event{Cancelled{Reason: reason}}, nil
}

// StartImplementationCommand links a deployment that started to the
// change: the deployer's deployment of a linked release in one of the
// change's environments.
type StartImplementationCommand struct {
	DeploymentID string
	ReleaseID    string
	Environment  string
}

// StartImplementation decides that a deployment implements the change: the
// first one moves a scheduled change to implementing (and starts an
// emergency's review clock, due PIRDeadline later); later ones, while
// implementing, add the change's other environments. A deployment outside
// the window is recorded as such, not refused: it happened, and the audit
// must show it. A deployment already recorded is no news (no events).
func StartImplementation(c *ChangeRequest, cmd StartImplementationCommand, now time.Time) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	ident.Check(&v, "deployment_id", cmd.DeploymentID)
	ident.Check(&v, "release_id", cmd.ReleaseID)
	ident.Check(&v, "environment", cmd.Environment)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if i := c.deployment(cmd.DeploymentID); i >= 0 {
		d := c.deployments[i]
		if d.ReleaseID == cmd.ReleaseID && d.Environment == cmd.Environment {
			return nil, nil
		}
		return nil, errs.Refuse(reasonDeployment, "deployment %s is already recorded for release %s in %s", d.ID, d.ReleaseID, d.Environment)
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "start its implementation", StateScheduled, StateImplementing)
	if !slices.Contains(c.releases, cmd.ReleaseID) {
		refuse.Add(reasonNotCovered, "change %s does not cover release %s (it covers %s)", c.id, cmd.ReleaseID, strings.Join(c.releases, ", "))
	}
	if !slices.Contains(c.environments, cmd.Environment) {
		refuse.Add(reasonNotCovered, "change %s does not cover %s (it covers %s)", c.id, cmd.Environment, strings.Join(c.environments, ", "))
	}
	if i := slices.IndexFunc(c.deployments, func(d Deployment) bool { return d.Environment == cmd.Environment }); i >= 0 {
		refuse.Add(reasonDeployment, "change %s is already implemented in %s by deployment %s", c.id, cmd.Environment, c.deployments[i].ID)
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	ev := ImplementationStarted{
		DeploymentID: cmd.DeploymentID, ReleaseID: cmd.ReleaseID, Environment: cmd.Environment,
		OutsideWindow: c.window == nil || !c.window.Contains(now),
	}
	if c.pirRequired() && c.pirDue.IsZero() {
		ev.PIRDue = now.Add(c.pirDeadline)
	}
	return []Event{ev}, nil
}

// RecordValidationCommand records one check of one deployment of the
// change: the deployment's own outcome, its gates, its bake.
type RecordValidationCommand struct {
	DeploymentID string
	Check        string
	Outcome      Outcome
	Detail       string
}

// RecordValidation decides the record of a check. A failed check fails the
// change. A succeeded one validates the change once every environment of
// the change has a deployment and every deployment passed every check the
// policy requires. The same outcome recorded again is no news (no events).
func RecordValidation(c *ChangeRequest, cmd RecordValidationCommand) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	ident.Check(&v, "deployment_id", cmd.DeploymentID)
	ident.Check(&v, "check", cmd.Check)
	checkEnum(&v, "outcome", cmd.Outcome, cmd.Outcome.Valid(), []Outcome{OutcomeSucceeded, OutcomeFailed})
	checkText(&v, "detail", cmd.Detail, MaxText, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	i := c.deployment(cmd.DeploymentID)
	if i >= 0 && c.deployments[i].Checks[cmd.Check] == cmd.Outcome {
		return nil, nil
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "record a validation", StateImplementing, StateValidated)
	if i < 0 {
		refuse.Add(reasonNotCovered, "deployment %s does not implement change %s (%s)", cmd.DeploymentID, c.id, c.deploymentList())
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	out := []Event{ValidationRecorded{DeploymentID: cmd.DeploymentID, Check: cmd.Check, Outcome: cmd.Outcome, Detail: cmd.Detail}}
	if cmd.Outcome == OutcomeFailed {
		reason := fmt.Sprintf("%s of deployment %s failed", cmd.Check, cmd.DeploymentID)
		if cmd.Detail != "" {
			reason += ": " + cmd.Detail
		}
		return append(out, Failed{Reason: reason, DeploymentID: cmd.DeploymentID}), nil
	}
	if c.state == StateImplementing && len(c.pendingValidation(cmd.DeploymentID, cmd.Check)) == 0 {
		out = append(out, Validated{})
	}
	return out, nil
}

// pendingValidation lists what the change still needs to be validated,
// counting (deployment, check) as succeeded.
func (c *ChangeRequest) pendingValidation(deployment, check string) []string {
	var out []string
	for _, env := range c.environments {
		if !slices.ContainsFunc(c.deployments, func(d Deployment) bool { return d.Environment == env }) {
			out = append(out, "a deployment to "+env)
		}
	}
	for _, d := range c.deployments {
		var missing []string
		for _, want := range c.validations {
			if d.Checks[want] != OutcomeSucceeded && (d.ID != deployment || want != check) {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			out = append(out, fmt.Sprintf("%s of deployment %s", strings.Join(missing, ", "), d.ID))
		}
	}
	return out
}

func (c *ChangeRequest) deploymentList() string {
	if len(c.deployments) == 0 {
		return "it has no deployments"
	}
	ids := make([]string, len(c.deployments))
	for i, d := range c.deployments {
		ids[i] = d.ID
	}
	return "its deployments: " + strings.Join(ids, ", ")
}

// FailCommand records that the implementation failed.
type FailCommand struct {
	Reason string
	// DeploymentID is the failing deployment, when one is known.
	DeploymentID string
}

// Fail decides that the implementation of a change failed: while it is
// implementing, or after validation when a problem shows up before closure.
func Fail(c *ChangeRequest, cmd FailCommand) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "reason", cmd.Reason, MaxText, true)
	if cmd.DeploymentID != "" {
		ident.Check(&v, "deployment_id", cmd.DeploymentID)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "fail", StateImplementing, StateValidated)
	if cmd.DeploymentID != "" && c.deployment(cmd.DeploymentID) < 0 {
		refuse.Add(reasonNotCovered, "deployment %s does not implement change %s (%s)", cmd.DeploymentID, c.id, c.deploymentList())
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []Event{Failed{Reason: cmd.Reason, DeploymentID: cmd.DeploymentID}}, nil
}

// PostImplementationReviewCommand records a post-implementation review.
type PostImplementationReviewCommand struct {
	Reviewer   string
	RootCause  string
	Prevention []Action
	Notes      string
}

// CompletePostImplementationReview decides the record of a change's
// retrospective, once its implementation has started: the root cause and
// at least one prevention action with an owner. Mandatory for an emergency
// change (closure waits for it), welcome for any other; recorded once. A
// review recorded after its deadline is marked late.
func CompletePostImplementationReview(c *ChangeRequest, cmd PostImplementationReviewCommand, now time.Time) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkPrincipalID(&v, "reviewer", cmd.Reviewer)
	checkText(&v, "root_cause", cmd.RootCause, MaxText, true)
	switch {
	case len(cmd.Prevention) == 0:
		v.Add("prevention", "must list at least one action that prevents a recurrence")
	case len(cmd.Prevention) > MaxSteps:
		v.Add("prevention", "lists %d actions; the limit is %d", len(cmd.Prevention), MaxSteps)
	default:
		for i, a := range cmd.Prevention {
			f := fmt.Sprintf("prevention[%d]", i)
			checkText(&v, f+".description", a.Description, MaxText, true)
			checkText(&v, f+".owner", a.Owner, MaxTitle, true)
		}
	}
	checkText(&v, "notes", cmd.Notes, MaxDescription, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "record a post-implementation review", StateImplementing, StateValidated, StateFailed)
	if c.pir != nil {
		refuse.Add(reasonState, "the post-implementation review of change %s was recorded by %s at %s", c.id, c.pir.Reviewer, stamp(c.pir.At))
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []Event{PostImplementationReviewed{
		Reviewer: cmd.Reviewer, RootCause: cmd.RootCause, Prevention: slices.Clone(cmd.Prevention), Notes: cmd.Notes,
		Late: !c.pirDue.IsZero() && now.After(c.pirDue),
	}}, nil
}

// Close decides the closure of a validated or failed change, documenting
// its outcome. An emergency change closes only once its
// post-implementation review is recorded.
func Close(c *ChangeRequest, notes string, now time.Time) ([]Event, error) {
	if err := c.found(); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "notes", notes, MaxDescription, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	c.requireState(&refuse, "be closed", StateValidated, StateFailed)
	if c.pirRequired() && c.pir == nil && (c.state == StateValidated || c.state == StateFailed) {
		if c.Overdue(now) {
			refuse.Add(reasonPIR, "the post-implementation review of emergency change %s was due at %s and is overdue: record it before closing", c.id, stamp(c.pirDue))
		} else {
			refuse.Add(reasonPIR, "emergency change %s needs its post-implementation review (due by %s) before closing", c.id, stamp(c.pirDue))
		}
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	outcome := ClosedSuccessful
	if c.state == StateFailed {
		outcome = ClosedFailed
	}
	return []Event{Closed{Outcome: outcome, Notes: notes}}, nil
}

// found refuses a change that was never submitted.
func (c *ChangeRequest) found() error {
	if !c.Exists() {
		return &errs.NotFoundError{Kind: "change request", ID: c.id}
	}
	return nil
}

// requireState adds a refusal unless the change is in one of allowed,
// saying where it is and what would let it do what.
func (c *ChangeRequest) requireState(r *errs.Refusals, what string, allowed ...State) {
	if slices.Contains(allowed, c.state) {
		return
	}
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	r.Add(reasonState, "change %s %s: only a change that is %s can %s", c.id, c.describeState(), strings.Join(names, " or "), what)
}

// describeState says where the change is, with what it waits for.
func (c *ChangeRequest) describeState() string {
	switch c.state {
	case StateSubmitted:
		return "is submitted and awaits its technical review"
	case StateInReview:
		return "is in technical review by " + c.reviewer
	case StatePendingApproval:
		var missing []string
		for _, m := range c.Missing() {
			missing = append(missing, m.String())
		}
		return "awaits approval (still needed: " + listOrNone(missing) + ")"
	case StateApproved:
		return "is approved but not scheduled: it has no window yet"
	case StateScheduled:
		return fmt.Sprintf("is scheduled in window %s [%s, %s)", c.window.ID, stamp(c.window.Start), stamp(c.window.End))
	case StateImplementing:
		return "is implementing (still needed: " + listOrNone(c.pendingValidation("", "")) + ")"
	case StateValidated:
		return "is validated"
	case StateRejected:
		return fmt.Sprintf("was rejected by %s: %s", c.by, c.reason)
	case StateCancelled:
		return "was cancelled: " + c.reason
	case StateFailed:
		return "failed: " + c.reason
	case StateClosed:
		return "is closed"
	}
	return "is " + string(c.state)
}

// notSubmitter adds the separation-of-duties refusal when who submitted the change.
func (c *ChangeRequest) notSubmitter(r *errs.Refusals, who, what string) {
	if who == c.submitter {
		r.Add(reasonBySubmitter, "separation of duties: %s submitted change %s and may not %s it", who, c.id, what)
	}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// stamp is a time in messages: RFC 3339 in UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
