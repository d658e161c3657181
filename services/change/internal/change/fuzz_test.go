package change_test

import (
	"slices"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// FuzzCommandSequences drives a change with random commands, from random
// principals, with random arguments, on a clock that moves forward by
// random steps. Whatever the sequence: no decision panics; a refusal is a
// typed client error and decides nothing; a final state decides nothing;
// and after every applied event the invariants hold — above all, nothing
// is approved, implemented or closed without its approvals.
func FuzzCommandSequences(f *testing.F) {
	for _, seed := range seeds {
		f.Add(seed.data)
	}
	f.Add([]byte{1, 3, 0, 0, 3, 7, 1, 6, 0, 4, 4, 0, 9, 0, 11, 0, 255, 254, 253})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) { runSequence(t, data) })
}

// program encodes a sequence: the policy, class and environments, then
// steps of (minutes/7 to wait, op, principal, arguments…).
func program(policy, class, envs byte, steps ...[]byte) []byte {
	return slices.Concat(append([][]byte{{policy, class, envs}}, steps...)...)
}

// seeds are the three paths to closure, as programs.
var seeds = []struct {
	name  string
	data  []byte
	class change.Class
}{
	{"normal", program(0, 1, 0,
		[]byte{1, 0, 2}, []byte{1, 1, 2, 0}, // rita reviews, passes
		[]byte{1, 2, 3, 0}, []byte{1, 2, 4, 0}, // pat, otto approve
		[]byte{1, 5, 2},                                                              // a window from now
		[]byte{1, 7, 2, 0, 0, 0},                                                     // d1 of rel-220 to production
		[]byte{1, 8, 2, 0, 0, 0}, []byte{1, 8, 2, 0, 1, 0}, []byte{1, 8, 2, 0, 2, 0}, // deployment, gates, bake succeeded
		[]byte{1, 11, 0}, // close
	), change.ClassNormal},
	{"emergency", program(0, 2, 0,
		[]byte{1, 2, 4, 0}, // otto approves
		[]byte{1, 5, 2}, []byte{1, 7, 2, 0, 0, 0},
		[]byte{1, 8, 2, 0, 0, 0}, []byte{1, 8, 2, 0, 1, 0}, []byte{1, 8, 2, 0, 2, 0},
		[]byte{1, 11, 0}, // refused: no review yet
		[]byte{1, 10, 2}, // the review
		[]byte{1, 11, 0}, // close
	), change.ClassEmergency},
	{"standard", program(0, 0, 0,
		[]byte{1, 5, 2}, []byte{1, 7, 2, 0, 0, 0},
		[]byte{1, 8, 2, 0, 0, 0}, []byte{1, 8, 2, 0, 1, 0}, []byte{1, 8, 2, 0, 2, 0},
		[]byte{1, 11, 0},
	), change.ClassStandard},
}

// TestSeedsReachClosure: the fuzz corpus's seeds do walk every class to
// closure, so the fuzzer starts from sequences that reach every state.
func TestSeedsReachClosure(t *testing.T) {
	t.Parallel()
	for _, seed := range seeds {
		t.Run(seed.name, func(t *testing.T) {
			t.Parallel()
			c := runSequence(t, seed.data)
			if c.Class() != seed.class || c.State() != change.StateClosed {
				t.Errorf("%s seed ends %s %s, want %s closed", seed.name, c.Class(), c.State(), seed.class)
			}
		})
	}
}

// runSequence decodes and runs one sequence, checking the invariants.
func runSequence(t *testing.T, data []byte) *change.ChangeRequest {
	t.Helper()
	r := &reader{data: data}
	classes := []change.Class{change.ClassStandard, change.ClassNormal, change.ClassEmergency}
	policies := []change.Policy{policy, func() change.Policy {
		p := policy
		p.EmergencyReview, p.EmergencyApprovals = true, 2
		return p
	}()}
	pol := policies[r.pick(2)]
	class := classes[r.pick(3)]
	envSets := [][]string{{"production"}, {"staging", "production"}}
	cmd := cmdFor(class, envSets[r.pick(2)]...)

	c := change.New(crID)
	inv := &invariants{}
	clock := t0
	decided, err := change.Submit(c, cmd, pol)
	if err != nil {
		t.Fatalf("a valid submission refused: %v", err)
	}
	inv.apply(t, c, "alice", clock, decided)

	people := []change.Principal{alice, aliceOps, rita, pat, otto, sam, olga, dave}
	roles := []string{"", "product", "operations", "security", "developer"}
	deps := []string{"d1", "d2", "d3"}
	envs := []string{"production", "staging", "dev"}
	rels := []string{release, "rel-999"}
	checks := []string{"deployment", "gates", "bake", "smoke"}
	outcomes := []change.Outcome{change.OutcomeSucceeded, change.OutcomeFailed, "bogus"}

	for steps := 0; !r.done() && steps < 200; steps++ {
		clock = clock.Add(time.Duration(r.next()) * 7 * time.Minute)
		op := r.pick(12)
		who := people[r.pick(len(people))]
		var evs []change.Event
		var err error
		switch op {
		case 0:
			evs, err = change.StartReview(c, who.ID)
		case 1:
			outcome := []change.ReviewOutcome{change.ReviewPassed, change.ReviewRejected}[r.pick(2)]
			evs, err = change.CompleteReview(c, change.CompleteReviewCommand{Reviewer: who.ID, Outcome: outcome, Notes: "n"})
		case 2:
			evs, err = change.Approve(c, change.ApproveCommand{Approver: who, As: roles[r.pick(len(roles))]})
		case 3:
			evs, err = change.Reject(c, change.RejectCommand{By: who, Reason: "r"})
		case 4:
			start := clock.Add(time.Duration(r.pick(8)-2) * time.Hour)
			evs, err = change.Schedule(c, change.ScheduleCommand{WindowID: "w", Start: start, End: start.Add(time.Duration(r.pick(6)) * time.Hour), Maintenance: r.pick(2) == 1}, clock)
		case 5:
			// A window that fits: from now, four hours.
			evs, err = change.Schedule(c, change.ScheduleCommand{WindowID: "wnow", Start: clock, End: clock.Add(4 * time.Hour), Maintenance: true}, clock)
		case 6:
			evs, err = change.Cancel(c, "c")
		case 7:
			evs, err = change.StartImplementation(c, change.StartImplementationCommand{
				DeploymentID: deps[r.pick(len(deps))], ReleaseID: rels[r.pick(len(rels))], Environment: envs[r.pick(len(envs))],
			}, clock)
		case 8:
			evs, err = change.RecordValidation(c, change.RecordValidationCommand{
				DeploymentID: deps[r.pick(len(deps))], Check: checks[r.pick(len(checks))], Outcome: outcomes[r.pick(len(outcomes))],
			})
		case 9:
			evs, err = change.Fail(c, change.FailCommand{Reason: "f"})
		case 10:
			evs, err = change.CompletePostImplementationReview(c, pirCmd(), clock)
		case 11:
			evs, err = change.Close(c, "", clock)
		}
		if err != nil {
			if !errs.IsClientError(err) {
				t.Fatalf("op %d: untyped error %T %v", op, err, err)
			}
			if evs != nil {
				t.Fatalf("op %d: events %v with error %v", op, evs, err)
			}
			continue
		}
		if c.State().Final() && len(evs) > 0 {
			t.Fatalf("op %d decided %v in final state %s", op, evs, c.State())
		}
		inv.apply(t, c, who.ID, clock, evs)
	}
	return c
}

// reader hands out the fuzz input a byte at a time (zeros once exhausted).
type reader struct {
	data []byte
	i    int
}

func (r *reader) done() bool { return r.i >= len(r.data) }

func (r *reader) next() int {
	if r.done() {
		return 0
	}
	r.i++
	return int(r.data[r.i-1])
}

func (r *reader) pick(n int) int { return r.next() % n }

// invariants tracks what the log has said and checks the state after
// every event.
type invariants struct {
	events                           int
	approved, validated, failed, pir bool
}

func (inv *invariants) apply(t *testing.T, c *change.ChangeRequest, actor string, at time.Time, evs []change.Event) {
	t.Helper()
	for _, e := range evs {
		switch e := e.(type) {
		case change.Approved:
			if c.State() != change.StatePendingApproval && !(c.Class() == change.ClassStandard && e.PreApproved) {
				t.Fatalf("approved from %s", c.State())
			}
			inv.approved = true
		case change.Validated:
			inv.validated = true
		case change.Failed:
			inv.failed = true
		case change.PostImplementationReviewed:
			inv.pir = true
		}
		c.Apply(e, change.Meta{Actor: actor, Time: at})
		inv.events++
		inv.check(t, c, e)
	}
}

func (inv *invariants) check(t *testing.T, c *change.ChangeRequest, last change.Event) {
	t.Helper()
	s := c.State()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %s (state %s): "+format, append([]any{last.Name(), s}, args...)...)
	}
	if !slices.Contains(change.States, s) {
		fail("unknown state")
	}
	if c.Version() != uint64(inv.events) {
		fail("version %d after %d events", c.Version(), inv.events)
	}
	// Separation of duties: never the submitter, each approver once.
	var seen []string
	for _, a := range c.Approvals() {
		if a.Approver == c.Submitter() {
			fail("the submitter approved")
		}
		if slices.Contains(seen, a.Approver) {
			fail("%s approved twice", a.Approver)
		}
		seen = append(seen, a.Approver)
	}
	// Nothing goes ahead without its approvals.
	if s.Approved() {
		if !inv.approved {
			fail("no ChangeApproved in the log")
		}
		if c.Class() == change.ClassStandard {
			if !c.PreApproved() {
				fail("a standard change approved otherwise than by its template")
			}
		} else if !c.Satisfied() || len(c.Requirements()) == 0 {
			fail("approvals met %d of %d", c.ApprovalsMet(), len(c.Requirements()))
		}
	}
	// Implementation needs a window and a deployment.
	if s == change.StateImplementing || s == change.StateValidated || s == change.StateFailed || (s == change.StateClosed) {
		if _, ok := c.Window(); !ok {
			fail("implemented without a window")
		}
		if len(c.Deployments()) == 0 {
			fail("implemented without a deployment")
		}
	}
	// Validated means every environment passed every required check.
	if s == change.StateValidated {
		for _, env := range c.Environments() {
			i := slices.IndexFunc(c.Deployments(), func(d change.Deployment) bool { return d.Environment == env })
			if i < 0 {
				fail("validated without a deployment to %s", env)
			}
			for _, check := range policy.Validations {
				if c.Deployments()[i].Checks[check] != change.OutcomeSucceeded {
					fail("validated without %s in %s", check, env)
				}
			}
		}
	}
	// Closure: approved, validated or failed, and reviewed when an emergency.
	if s == change.StateClosed {
		if !inv.approved || !(inv.validated || inv.failed) {
			fail("closed: approved %v, validated %v, failed %v", inv.approved, inv.validated, inv.failed)
		}
		if c.Class() == change.ClassEmergency && !inv.pir {
			fail("an emergency closed without its post-implementation review")
		}
	}
	if c.Class() == change.ClassEmergency && len(c.Deployments()) > 0 {
		if _, ok := c.PIRDue(); !ok {
			fail("an emergency implemented without a review deadline")
		}
	}
}
