package change_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// TestEmergencyPath: the fast track end to end. One operations approval,
// an immediate window, the deployment starts the review clock (due 48
// hours later), validation passes, closure is refused until the review is
// recorded — overdue one second after the deadline — and then succeeds.
func TestEmergencyPath(t *testing.T) {
	t.Parallel()
	incident := time.Date(2026, time.March, 5, 8, 50, 0, 0, time.UTC)
	start := incident.Add(10 * time.Minute) // the deployment
	due := start.Add(48 * time.Hour)
	cmd := cmdFor(change.ClassEmergency)
	cmd.Schedule.PlannedStart = start
	c := change.New(crID)

	decide := func(name, actor string, at time.Time, want []change.Event, state change.State, f func() ([]change.Event, error)) {
		t.Helper()
		got, err := f()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		diffEvents(t, want, got)
		apply(c, actor, at, got)
		if c.State() != state {
			t.Fatalf("%s: state %s, want %s", name, c.State(), state)
		}
	}
	sub := submittedFor(cmd)
	decide("submit", "alice", incident, events(sub), change.StatePendingApproval, func() ([]change.Event, error) { return change.Submit(c, cmd, policy) })
	decide("one approval", "otto", incident.Add(3*time.Minute), events(granted("otto", "operations", true), change.Approved{Approvals: 1, Required: 1}), change.StateApproved,
		func() ([]change.Event, error) { return change.Approve(c, change.ApproveCommand{Approver: otto}) })
	emergencyWindow := change.ScheduleCommand{WindowID: "emergency-0305", Start: incident.Add(5 * time.Minute), End: incident.Add(4 * time.Hour)}
	decide("an immediate window", "otto", incident.Add(5*time.Minute),
		events(change.Scheduled{WindowID: "emergency-0305", Start: emergencyWindow.Start, End: emergencyWindow.End, At: start}), change.StateScheduled,
		func() ([]change.Event, error) {
			return change.Schedule(c, emergencyWindow, incident.Add(5*time.Minute))
		})
	decide("the deployment starts the review clock", "system:change", start,
		events(change.ImplementationStarted{DeploymentID: "dep-1", ReleaseID: release, Environment: "production", PIRDue: due}), change.StateImplementing,
		func() ([]change.Event, error) {
			return change.StartImplementation(c, change.StartImplementationCommand{DeploymentID: "dep-1", ReleaseID: release, Environment: "production"}, start)
		})
	for _, check := range []string{"deployment", "gates", "bake"} {
		got, err := change.RecordValidation(c, change.RecordValidationCommand{DeploymentID: "dep-1", Check: check, Outcome: change.OutcomeSucceeded})
		mustOK(t, err)
		apply(c, "system:change", start.Add(time.Hour), got)
	}
	if c.State() != change.StateValidated {
		t.Fatalf("state %s, want validated", c.State())
	}
	if got, ok := c.PIRDue(); !ok || !got.Equal(due) {
		t.Errorf("PIRDue() = %v, %v; want %v", got, ok, due)
	}

	// Before and at the deadline: due, not overdue; closure refused.
	for _, at := range []time.Time{start.Add(2 * time.Hour), due} {
		if c.Overdue(at) {
			t.Errorf("Overdue(%v) = true before the deadline passed", at)
		}
		_, err := change.Close(c, "", at)
		wantKinds(t, err, kindPIR)
		wantReason(t, err, "emergency change CR-1 needs its post-implementation review (due by 2026-03-07T09:00:00Z) before closing")
		if s := c.Summary(at); s.PIROverdue || s.PIRDone || !s.PIRDue.Equal(due) {
			t.Errorf("Summary(%v): overdue %v, done %v, due %v", at, s.PIROverdue, s.PIRDone, s.PIRDue)
		}
	}
	// One second after: overdue, visible, and still blocking closure.
	late := due.Add(time.Second)
	if !c.Overdue(late) {
		t.Errorf("Overdue(deadline+1s) = false")
	}
	if s := c.Summary(late); !s.PIROverdue {
		t.Errorf("Summary(deadline+1s).PIROverdue = false")
	}
	_, err := change.Close(c, "", late)
	wantKinds(t, err, kindPIR)
	wantReason(t, err, "was due at 2026-03-07T09:00:00Z and is overdue: record it before closing")

	// The review, late.
	decide("the review", "rita", late, events(change.PostImplementationReviewed{
		Reviewer: pirCmd().Reviewer, RootCause: pirCmd().RootCause, Prevention: pirCmd().Prevention, Late: true,
	}), change.StateValidated, func() ([]change.Event, error) { return change.CompletePostImplementationReview(c, pirCmd(), late) })
	if c.Overdue(late.Add(time.Hour)) {
		t.Errorf("Overdue after the review was recorded")
	}
	want := &change.PostImplementationReview{RootCause: pirCmd().RootCause, Prevention: pirCmd().Prevention, Reviewer: "rita", At: late}
	if diff := cmp.Diff(want, c.PIR()); diff != "" {
		t.Errorf("PIR() (-want +got):\n%s", diff)
	}
	decide("closure", "alice", late.Add(time.Hour), events(change.Closed{Outcome: change.ClosedSuccessful, Notes: "Relay fixed."}), change.StateClosed,
		func() ([]change.Event, error) { return change.Close(c, "Relay fixed.", late.Add(time.Hour)) })
}

func TestPostImplementationReview(t *testing.T) {
	t.Parallel()
	emergencyScheduled := [][]ev{submitted(change.ClassEmergency), by("otto", granted("otto", "operations", true), change.Approved{Approvals: 1, Required: 1}), scheduled()}
	implementing := plus(emergencyScheduled, started("dep-1", "production", implAt, pirDueAt))
	failed := plus(implementing, by("system:change", change.Failed{Reason: "Rolled back.", DeploymentID: "dep-1"}))
	reviewedPIR := by("rita", change.PostImplementationReviewed{Reviewer: "rita", RootCause: "x", Prevention: []change.Action{{Description: "y", Owner: "z"}}})
	pir := func(cmd change.PostImplementationReviewCommand, at time.Time) func(c *change.ChangeRequest) ([]change.Event, error) {
		return func(c *change.ChangeRequest) ([]change.Event, error) {
			return change.CompletePostImplementationReview(c, cmd, at)
		}
	}
	recorded := func(late bool) change.PostImplementationReviewed {
		p := pirCmd()
		return change.PostImplementationReviewed{Reviewer: p.Reviewer, RootCause: p.RootCause, Prevention: p.Prevention, Late: late}
	}
	edit := func(f func(*change.PostImplementationReviewCommand)) change.PostImplementationReviewCommand {
		p := pirCmd()
		f(&p)
		return p
	}
	closeAt := func(at time.Time) func(c *change.ChangeRequest) ([]change.Event, error) {
		return func(c *change.ChangeRequest) ([]change.Event, error) { return change.Close(c, "", at) }
	}
	runScenarios(t, []scenario{
		{
			name: "during the implementation", given: implementing, when: pir(pirCmd(), implAt.Add(time.Hour)),
			want: events(recorded(false)), state: change.StateImplementing,
		},
		{
			name: "exactly at the deadline is on time", given: implementing, when: pir(pirCmd(), pirDueAt),
			want: events(recorded(false)),
		},
		{
			name: "a second after it is late", given: implementing, when: pir(pirCmd(), pirDueAt.Add(time.Second)),
			want: events(recorded(true)),
		},
		{
			name: "after a failure", given: failed, when: pir(pirCmd(), implAt.Add(time.Hour)),
			want: events(recorded(false)), state: change.StateFailed,
		},
		{
			name: "a failed emergency closes only after its review", given: failed, when: closeAt(implAt.Add(time.Hour)),
			kinds:   []errs.Reason{kindPIR},
			refused: [][]string{{"needs its post-implementation review (due by 2026-03-07T22:05:00Z)"}},
		},
		{
			name: "a failed emergency with its review closes as failed", given: plus(failed, reviewedPIR), when: closeAt(implAt.Add(time.Hour)),
			want: events(change.Closed{Outcome: change.ClosedFailed}), state: change.StateClosed,
		},
		{
			name: "nothing to review before implementation", given: emergencyScheduled, when: pir(pirCmd(), implAt),
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"only a change that is implementing or validated or failed can record a post-implementation review"}},
		},
		{
			name: "recorded once", given: plus(implementing, reviewedPIR), when: pir(pirCmd(), implAt.Add(time.Hour)),
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"the post-implementation review of change CR-1 was recorded by rita at"}},
		},
		{
			name: "a normal change may have one too", given: plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{})), when: pir(pirCmd(), implAt),
			want: events(recorded(false)),
		},
		{
			name: "fields: root cause, prevention owner and description, notes", given: implementing,
			when: pir(edit(func(p *change.PostImplementationReviewCommand) {
				p.RootCause = ""
				p.Prevention[0].Owner = ""
				p.Prevention[1].Description = "rotate AKIAIOSFODNN7EXAMPLE"
				p.Notes = strings.Repeat("n", 10_001)
			}), implAt),
			invalid: []string{"root_cause", "prevention[0].owner", "prevention[1].description", "notes"},
		},
		{
			name: "prevention is required", given: implementing,
			when:    pir(edit(func(p *change.PostImplementationReviewCommand) { p.Prevention = nil; p.Reviewer = "" }), implAt),
			invalid: []string{"reviewer", "prevention"},
		},
		{
			name: "the root cause is scanned for secrets", given: implementing,
			when: pir(edit(func(p *change.PostImplementationReviewCommand) {
				p.RootCause = "leaked sk_live_4eC39HqLyjWDarjtT1zdp7dc"
			}), implAt),
			invalid: []string{"root_cause"},
		},
	})
}

// TestNoReviewForNormalChanges: a normal change has no review due, is
// never overdue and closes without one.
func TestNoReviewForNormalChanges(t *testing.T) {
	t.Parallel()
	c := given(t, plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{}), passed("dep-1"), by("system:change", change.Validated{}))...)
	if _, ok := c.PIRDue(); ok {
		t.Errorf("PIRDue() set for a normal change")
	}
	if c.Overdue(implAt.Add(365 * 24 * time.Hour)) {
		t.Errorf("a normal change is overdue")
	}
	got, err := change.Close(c, "", implAt.Add(time.Hour))
	mustOK(t, err)
	diffEvents(t, events(change.Closed{Outcome: change.ClosedSuccessful}), got)
}

// TestReviewDeadlineFollowsThePolicy: the deadline is the policy's at
// submission, and is counted from the first deployment only.
func TestReviewDeadlineFollowsThePolicy(t *testing.T) {
	t.Parallel()
	p := change.DefaultPolicy()
	p.PIRDeadline = 24 * time.Hour
	c := change.New(crID)
	got, err := change.Submit(c, cmdFor(change.ClassEmergency, "staging", "production"), p)
	mustOK(t, err)
	apply(c, "alice", t0, got)
	apply(c, "otto", t0, events(granted("otto", "operations", true), change.Approved{Approvals: 1, Required: 1}, scheduledEvent()))
	got, err = change.StartImplementation(c, change.StartImplementationCommand{DeploymentID: "d1", ReleaseID: release, Environment: "staging"}, implAt)
	mustOK(t, err)
	diffEvents(t, events(change.ImplementationStarted{DeploymentID: "d1", ReleaseID: release, Environment: "staging", PIRDue: implAt.Add(24 * time.Hour)}), got)
	apply(c, "system:change", implAt, got)
	got, err = change.StartImplementation(c, change.StartImplementationCommand{DeploymentID: "d2", ReleaseID: release, Environment: "production"}, implAt.Add(time.Hour))
	mustOK(t, err)
	diffEvents(t, events(change.ImplementationStarted{DeploymentID: "d2", ReleaseID: release, Environment: "production"}), got)
	apply(c, "system:change", implAt.Add(time.Hour), got)
	if due, _ := c.PIRDue(); !due.Equal(implAt.Add(24 * time.Hour)) {
		t.Errorf("PIRDue() = %v, want the first deployment's + 24h", due)
	}
}
