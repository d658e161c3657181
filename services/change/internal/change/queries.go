package change

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Overdue reports whether the change's post-implementation review is past
// due at now: it is required, its implementation started, it is not
// recorded and now is after the due time (at the due time itself it is
// still on time).
func (c *ChangeRequest) Overdue(now time.Time) bool {
	return c.pir == nil && !c.pirDue.IsZero() && now.After(c.pirDue)
}

// Authorizes reports whether the change authorizes deploying release to
// env at now, and why (or why not): the change is scheduled or
// implementing, linked to the release, covers env, and its window
// contains now (start inclusive, end exclusive). An approved change
// authorizes nothing until it has a window. The release service asks this
// before a promotion that needs an approved change.
func Authorizes(c *ChangeRequest, releaseID, env string, now time.Time) (bool, string) {
	if !c.Exists() {
		return false, fmt.Sprintf("change %s does not exist", c.id)
	}
	var why []string
	scheduled := c.state == StateScheduled || c.state == StateImplementing
	if !scheduled {
		why = append(why, fmt.Sprintf("change %s %s", c.id, c.describeState()))
	}
	if !slices.Contains(c.releases, releaseID) {
		why = append(why, fmt.Sprintf("change %s does not cover release %s", c.id, releaseID))
	}
	if !slices.Contains(c.environments, env) {
		why = append(why, fmt.Sprintf("change %s does not cover %s", c.id, env))
	}
	if w := c.window; scheduled && w != nil {
		switch {
		case now.Before(w.Start):
			why = append(why, fmt.Sprintf("window %s opens at %s", w.ID, stamp(w.Start)))
		case !now.Before(w.End):
			why = append(why, fmt.Sprintf("window %s closed at %s", w.ID, stamp(w.End)))
		}
	}
	if len(why) > 0 {
		return false, strings.Join(why, "; ")
	}
	return true, fmt.Sprintf("change %s authorizes release %s in %s during window %s until %s", c.id, releaseID, env, c.window.ID, stamp(c.window.End))
}

// Summary is a change request as a listing shows it.
type Summary struct {
	ID        string
	Title     string
	Class     Class
	Type      Type
	Priority  Priority
	Impact    Impact
	Risk      Risk
	State     State
	Submitter string

	Environments []string
	Releases     []string
	PlannedStart time.Time

	// Approvals is how many approvals were given; ApprovalsMet how many
	// requirements they meet, of ApprovalsRequired; MissingApprovals
	// describes the open ones ("product", "operations or security").
	Approvals         int
	ApprovalsMet      int
	ApprovalsRequired int
	MissingApprovals  []string

	// WindowID, WindowStart and WindowEnd are the window once scheduled.
	WindowID               string
	WindowStart, WindowEnd time.Time
	// OutsideWindow counts deployments that started outside the window.
	OutsideWindow int

	// PIRDue is when the post-implementation review is due (zero when none
	// is); PIRDone whether it is recorded; PIROverdue whether it is late.
	PIRDue     time.Time
	PIRDone    bool
	PIROverdue bool

	SubmittedAt, UpdatedAt time.Time
}

// Summary is the change as a listing shows it at now.
func (c *ChangeRequest) Summary(now time.Time) Summary {
	s := Summary{
		ID: c.id, Title: c.title, Class: c.class, Type: c.typ, Priority: c.priority, Impact: c.impact, Risk: c.risk,
		State: c.state, Submitter: c.submitter,
		Environments: slices.Clone(c.environments), Releases: slices.Clone(c.releases), PlannedStart: c.schedule.PlannedStart,
		Approvals: len(c.approvals), ApprovalsMet: c.ApprovalsMet(), ApprovalsRequired: len(c.requirements),
		PIRDue: c.pirDue, PIRDone: c.pir != nil, PIROverdue: c.Overdue(now),
		SubmittedAt: c.submittedAt, UpdatedAt: c.updatedAt,
	}
	for _, m := range c.Missing() {
		s.MissingApprovals = append(s.MissingApprovals, m.String())
	}
	if w := c.window; w != nil {
		s.WindowID, s.WindowStart, s.WindowEnd = w.ID, w.Start, w.End
	}
	for _, d := range c.deployments {
		if d.OutsideWindow {
			s.OutsideWindow++
		}
	}
	return s
}

// Describe is a one-line description of an event for a change's history.
func Describe(e Event, actor string) string {
	switch e := e.(type) {
	case Submitted:
		s := fmt.Sprintf("%s submitted %s change %q (%s, priority %s, risk %s) for %s", actor, e.Class, e.Title, e.Type, e.Priority, e.Risk, strings.Join(e.Environments, ", "))
		if e.Class == ClassEmergency {
			s = "EMERGENCY: " + s + ": " + e.Justification
		}
		return s
	case ReviewStarted:
		return e.Reviewer + " started the technical review"
	case ReviewCompleted:
		s := fmt.Sprintf("%s completed the technical review: %s", e.Reviewer, e.Outcome)
		if e.Notes != "" {
			s += ": " + e.Notes
		}
		return s
	case ApprovalGranted:
		s := fmt.Sprintf("%s approved as %s", e.Approver, e.As)
		if !e.Counts {
			s += " (not counted: the requirements it meets are met already)"
		}
		return s
	case Approved:
		if e.PreApproved {
			return "approved by standard template " + e.Template
		}
		return fmt.Sprintf("approved (%d approvals, %d required)", e.Approvals, e.Required)
	case Rejected:
		return fmt.Sprintf("%s rejected the change in %s: %s", e.By, e.Stage, e.Reason)
	case Scheduled:
		return fmt.Sprintf("%s scheduled the change in window %s [%s, %s) from %s", actor, e.WindowID, stamp(e.Start), stamp(e.End), stamp(e.At))
	case Cancelled:
		return fmt.Sprintf("%s cancelled the change: %s", actor, e.Reason)
	case ImplementationStarted:
		s := fmt.Sprintf("deployment %s of release %s to %s started", e.DeploymentID, e.ReleaseID, e.Environment)
		if e.OutsideWindow {
			s += " OUTSIDE the change's window"
		}
		if !e.PIRDue.IsZero() {
			s += "; post-implementation review due by " + stamp(e.PIRDue)
		}
		return s
	case ValidationRecorded:
		s := fmt.Sprintf("%s of deployment %s %s", e.Check, e.DeploymentID, e.Outcome)
		if e.Detail != "" {
			s += ": " + e.Detail
		}
		return s
	case Validated:
		return "validated"
	case Failed:
		return "failed: " + e.Reason
	case PostImplementationReviewed:
		s := fmt.Sprintf("%s recorded the post-implementation review (%d prevention actions)", e.Reviewer, len(e.Prevention))
		if e.Late {
			s += ", late"
		}
		return s
	case ReviewOverdue:
		return "the post-implementation review is OVERDUE (it was due by " + stamp(e.Due) + ")"
	case Closed:
		return fmt.Sprintf("%s closed the change (%s)", actor, e.Outcome)
	}
	return e.Name()
}
