package change_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// TestNormalPathEndToEnd drives a normal change through the guide's seven
// steps, one decision at a time, folding each decision's events before
// the next, and checks every decision's events and the state it leads to.
func TestNormalPathEndToEnd(t *testing.T) {
	t.Parallel()
	c := change.New(crID)
	steps := []struct {
		name   string
		actor  string
		at     time.Time
		decide func() ([]change.Event, error)
		want   []change.Event
		state  change.State
	}{
		{
			name: "1 submission", actor: "alice", at: t0,
			decide: func() ([]change.Event, error) { return change.Submit(c, cmdFor(change.ClassNormal), policy) },
			want:   events(submittedFor(cmdFor(change.ClassNormal))),
			state:  change.StateSubmitted,
		},
		{
			name: "2a technical review starts", actor: "rita", at: t0.Add(time.Hour),
			decide: func() ([]change.Event, error) { return change.StartReview(c, "rita") },
			want:   events(change.ReviewStarted{Reviewer: "rita"}),
			state:  change.StateInReview,
		},
		{
			name: "2b technical review passes", actor: "rita", at: t0.Add(2 * time.Hour),
			decide: func() ([]change.Event, error) {
				return change.CompleteReview(c, change.CompleteReviewCommand{Reviewer: "rita", Outcome: change.ReviewPassed, Notes: "Plan is sound."})
			},
			want:  events(change.ReviewCompleted{Reviewer: "rita", Outcome: change.ReviewPassed, Notes: "Plan is sound."}),
			state: change.StatePendingApproval,
		},
		{
			name: "3a product approves", actor: "pat", at: t0.Add(3 * time.Hour),
			decide: func() ([]change.Event, error) {
				return change.Approve(c, change.ApproveCommand{Approver: pat, Comment: "Go."})
			},
			want:  events(change.ApprovalGranted{Approver: "pat", As: "product", Roles: []string{"product"}, Comment: "Go.", Counts: true}),
			state: change.StatePendingApproval,
		},
		{
			name: "3b operations approves: approved", actor: "otto", at: t0.Add(4 * time.Hour),
			decide: func() ([]change.Event, error) { return change.Approve(c, change.ApproveCommand{Approver: otto}) },
			want:   events(granted("otto", "operations", true), change.Approved{Approvals: 2, Required: 2}),
			state:  change.StateApproved,
		},
		{
			name: "4 scheduling in w1", actor: "rita", at: now,
			decide: func() ([]change.Event, error) {
				return change.Schedule(c, change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd}, now)
			},
			want:  events(scheduledEvent()),
			state: change.StateScheduled,
		},
		{
			name: "5 implementation starts with the deployment", actor: "system:change", at: implAt,
			decide: func() ([]change.Event, error) {
				return change.StartImplementation(c, change.StartImplementationCommand{DeploymentID: "dep-1", ReleaseID: release, Environment: "production"}, implAt)
			},
			want:  events(change.ImplementationStarted{DeploymentID: "dep-1", ReleaseID: release, Environment: "production"}),
			state: change.StateImplementing,
		},
		{
			name: "6a the deployment succeeded", actor: "system:change", at: implAt.Add(20 * time.Minute),
			decide: func() ([]change.Event, error) {
				return change.RecordValidation(c, change.RecordValidationCommand{DeploymentID: "dep-1", Check: "deployment", Outcome: change.OutcomeSucceeded})
			},
			want:  events(change.ValidationRecorded{DeploymentID: "dep-1", Check: "deployment", Outcome: change.OutcomeSucceeded}),
			state: change.StateImplementing,
		},
		{
			name: "6b the gates passed", actor: "system:change", at: implAt.Add(30 * time.Minute),
			decide: func() ([]change.Event, error) {
				return change.RecordValidation(c, change.RecordValidationCommand{DeploymentID: "dep-1", Check: "gates", Outcome: change.OutcomeSucceeded, Detail: "3 of 3 gates"})
			},
			want:  events(change.ValidationRecorded{DeploymentID: "dep-1", Check: "gates", Outcome: change.OutcomeSucceeded, Detail: "3 of 3 gates"}),
			state: change.StateImplementing,
		},
		{
			name: "6c the bake passed: validated", actor: "system:change", at: implAt.Add(90 * time.Minute),
			decide: func() ([]change.Event, error) {
				return change.RecordValidation(c, change.RecordValidationCommand{DeploymentID: "dep-1", Check: "bake", Outcome: change.OutcomeSucceeded})
			},
			want:  events(change.ValidationRecorded{DeploymentID: "dep-1", Check: "bake", Outcome: change.OutcomeSucceeded}, change.Validated{}),
			state: change.StateValidated,
		},
		{
			name: "7 closure", actor: "alice", at: implAt.Add(2 * time.Hour),
			decide: func() ([]change.Event, error) {
				return change.Close(c, "Pool switched; no bounces.", implAt.Add(2*time.Hour))
			},
			want:  events(change.Closed{Outcome: change.ClosedSuccessful, Notes: "Pool switched; no bounces."}),
			state: change.StateClosed,
		},
	}
	for _, s := range steps {
		got, err := s.decide()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		diffEvents(t, s.want, got)
		apply(c, s.actor, s.at, got)
		if c.State() != s.state {
			t.Fatalf("%s: state %s, want %s", s.name, c.State(), s.state)
		}
	}
	if got, want := c.Version(), uint64(13); got != want {
		t.Errorf("Version() = %d, want %d (one per event)", got, want)
	}
	if !c.Satisfied() || c.ApprovalsMet() != 2 || len(c.Missing()) != 0 {
		t.Errorf("approvals: satisfied %v, met %d, missing %v", c.Satisfied(), c.ApprovalsMet(), c.Missing())
	}
	if c.ClosureOutcome() != change.ClosedSuccessful {
		t.Errorf("ClosureOutcome() = %q", c.ClosureOutcome())
	}
}

// stateGivens build a two-environment normal change (staging, production)
// in each state, for the state × command matrix.
var stateGivens = map[change.State]func() [][]ev{
	change.StateSubmitted: func() [][]ev { return [][]ev{submitted(change.ClassNormal, "staging", "production")} },
	change.StateInReview: func() [][]ev {
		return [][]ev{submitted(change.ClassNormal, "staging", "production"), by("rita", change.ReviewStarted{Reviewer: "rita"})}
	},
	change.StatePendingApproval: func() [][]ev { return [][]ev{submitted(change.ClassNormal, "staging", "production"), reviewed()} },
	change.StateApproved: func() [][]ev {
		return [][]ev{submitted(change.ClassNormal, "staging", "production"), reviewed(), approvedNormal()}
	},
	change.StateScheduled: func() [][]ev { return normalScheduled("staging", "production") },
	change.StateImplementing: func() [][]ev {
		return plus(normalScheduled("staging", "production"), started("dep-stg", "staging", implAt, time.Time{}))
	},
	change.StateValidated: func() [][]ev {
		return plus(normalScheduled("staging", "production"),
			started("dep-stg", "staging", implAt, time.Time{}), passed("dep-stg"),
			started("dep-prd", "production", implAt.Add(time.Hour), time.Time{}), passed("dep-prd"), by("system:change", change.Validated{}))
	},
	change.StateFailed: func() [][]ev {
		return plus(normalScheduled("staging", "production"), started("dep-stg", "staging", implAt, time.Time{}),
			by("system:change", change.ValidationRecorded{DeploymentID: "dep-stg", Check: "gates", Outcome: change.OutcomeFailed},
				change.Failed{Reason: "gates of deployment dep-stg failed", DeploymentID: "dep-stg"}))
	},
	change.StateRejected: func() [][]ev {
		return [][]ev{submitted(change.ClassNormal, "staging", "production"), reviewed(), by("otto", change.Rejected{By: "otto", Reason: "Not now.", Stage: "approval"})}
	},
	change.StateCancelled: func() [][]ev {
		return [][]ev{submitted(change.ClassNormal, "staging", "production"), by("alice", change.Cancelled{Reason: "Superseded."})}
	},
}

func init() {
	// stateGivens refers to itself (closed builds on validated); Go needs the entry set after initialisation.
	stateGivens[change.StateClosed] = func() [][]ev {
		return plus(stateGivens[change.StateValidated](), by("alice", change.Closed{Outcome: change.ClosedSuccessful}))
	}
}

// command is one valid invocation of a command.
type command struct {
	name   string
	decide func(c *change.ChangeRequest) ([]change.Event, error)
}

// commands are one valid invocation of each command (for the matrix).
var commands = []command{
	{"StartReview", func(c *change.ChangeRequest) ([]change.Event, error) { return change.StartReview(c, "rita") }},
	{"CompleteReview", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.CompleteReview(c, change.CompleteReviewCommand{Reviewer: "rita", Outcome: change.ReviewPassed})
	}},
	{"Approve", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.Approve(c, change.ApproveCommand{Approver: pat})
	}},
	{"Reject", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.Reject(c, change.RejectCommand{By: otto, Reason: "Too risky before the sale."})
	}},
	{"Schedule", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.Schedule(c, change.ScheduleCommand{WindowID: "w2", Start: winStart.Add(24 * time.Hour), End: winEnd.Add(24 * time.Hour)}, now)
	}},
	{"Cancel", func(c *change.ChangeRequest) ([]change.Event, error) { return change.Cancel(c, "Not needed any more.") }},
	{"StartImplementation", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.StartImplementation(c, change.StartImplementationCommand{DeploymentID: "dep-new", ReleaseID: release, Environment: "production"}, implAt)
	}},
	{"RecordValidation", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.RecordValidation(c, change.RecordValidationCommand{DeploymentID: "dep-stg", Check: "smoke", Outcome: change.OutcomeSucceeded})
	}},
	{"Fail", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.Fail(c, change.FailCommand{Reason: "Bounce rate doubled."})
	}},
	{"CompletePostImplementationReview", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.CompletePostImplementationReview(c, pirCmd(), implAt.Add(time.Hour))
	}},
	{"Close", func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.Close(c, "", implAt.Add(3*time.Hour))
	}},
}

// allowed is the state machine of doc.go: for each state, the commands it
// allows and the state each leads to (with the matrix's invocations).
var allowed = map[change.State]map[string]change.State{
	change.StateSubmitted:       {"StartReview": change.StateInReview, "Cancel": change.StateCancelled},
	change.StateInReview:        {"CompleteReview": change.StatePendingApproval, "Cancel": change.StateCancelled},
	change.StatePendingApproval: {"Approve": change.StatePendingApproval, "Reject": change.StateRejected, "Cancel": change.StateCancelled},
	change.StateApproved:        {"Schedule": change.StateScheduled, "Cancel": change.StateCancelled},
	change.StateScheduled:       {"Schedule": change.StateScheduled, "Cancel": change.StateCancelled, "StartImplementation": change.StateImplementing},
	change.StateImplementing: {
		"StartImplementation": change.StateImplementing, "RecordValidation": change.StateImplementing,
		"Fail": change.StateFailed, "CompletePostImplementationReview": change.StateImplementing,
	},
	change.StateValidated: {
		"RecordValidation": change.StateValidated, "Fail": change.StateFailed,
		"CompletePostImplementationReview": change.StateValidated, "Close": change.StateClosed,
	},
	change.StateFailed:    {"CompletePostImplementationReview": change.StateFailed, "Close": change.StateClosed},
	change.StateRejected:  {},
	change.StateCancelled: {},
	change.StateClosed:    {},
}

// TestStateMachine runs every command in every state: an allowed command
// decides events leading to the documented state; any other is refused
// with the state kind and a reason naming the state and the states that
// would allow it. Submit on an existing change is AlreadyExists.
func TestStateMachine(t *testing.T) {
	t.Parallel()
	for _, state := range change.States {
		for _, cmd := range commands {
			t.Run(fmt.Sprintf("%s/%s", state, cmd.name), func(t *testing.T) {
				t.Parallel()
				c := given(t, stateGivens[state]()...)
				if c.State() != state {
					t.Fatalf("given state %s, want %s", c.State(), state)
				}
				got, err := cmd.decide(c)
				next, ok := allowed[state][cmd.name]
				if !ok {
					pe := refusal(t, err)
					if !slices.Contains(pe.Kinds, kindState) {
						t.Errorf("kinds %v lack the state kind", pe.Kinds)
					}
					wantReason(t, err, "change CR-1 ", "only a change that is ")
					return
				}
				mustOK(t, err)
				if len(got) == 0 {
					t.Fatalf("no events")
				}
				apply(c, "someone", implAt, got)
				if c.State() != next {
					t.Errorf("state after %s: %s, want %s", cmd.name, c.State(), next)
				}
			})
		}
		t.Run(string(state)+"/Submit", func(t *testing.T) {
			t.Parallel()
			c := given(t, stateGivens[state]()...)
			_, err := change.Submit(c, cmdFor(change.ClassNormal), policy)
			var ae *errs.AlreadyExistsError
			if !errors.As(err, &ae) || ae.ID != crID {
				t.Errorf("Submit on an existing change: %v, want AlreadyExists %s", err, crID)
			}
		})
	}
}

// TestNotFound: every decision but Submit on a change never submitted.
func TestNotFound(t *testing.T) {
	t.Parallel()
	for _, cmd := range commands {
		t.Run(cmd.name, func(t *testing.T) {
			t.Parallel()
			_, err := cmd.decide(change.New(crID))
			var nf *errs.NotFoundError
			if !errors.As(err, &nf) || nf.Kind != "change request" || nf.ID != crID {
				t.Errorf("error %v, want NotFound change request %s", err, crID)
			}
		})
	}
}

// TestRefusalMessages: what a refusal says about where the change is.
func TestRefusalMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state change.State
		cmd   string
		facts []string
	}{
		{"submitted awaits review", change.StateSubmitted, "Approve", []string{"is submitted and awaits its technical review", "only a change that is pending_approval can be approved"}},
		{"in review names the reviewer", change.StateInReview, "Approve", []string{"is in technical review by rita"}},
		{"pending approval names what is missing", change.StatePendingApproval, "Schedule", []string{"awaits approval (still needed: product, operations)", "approved or scheduled"}},
		{"approved has no window", change.StateApproved, "StartImplementation", []string{"is approved but not scheduled: it has no window yet", "scheduled or implementing"}},
		{"scheduled names the window", change.StateScheduled, "Close", []string{"is scheduled in window w1 [2026-03-05T22:00:00Z, 2026-03-06T00:00:00Z)"}},
		{"implementing names the missing checks", change.StateImplementing, "Close", []string{"still needed: a deployment to production, deployment, gates, bake of deployment dep-stg"}},
		{"rejected names who and why", change.StateRejected, "Cancel", []string{"was rejected by otto: Not now."}},
		{"cancelled says why", change.StateCancelled, "StartReview", []string{"was cancelled: Superseded."}},
		{"failed says why", change.StateFailed, "Fail", []string{"failed: gates of deployment dep-stg failed"}},
		{"closed", change.StateClosed, "Fail", []string{"is closed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := given(t, stateGivens[tt.state]()...)
			i := slices.IndexFunc(commands, func(x command) bool { return x.name == tt.cmd })
			_, err := commands[i].decide(c)
			wantReason(t, err, tt.facts...)
		})
	}
}
