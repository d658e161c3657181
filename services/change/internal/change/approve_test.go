package change_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// scenario is one given / when / then: the decided events (and the state
// they lead to), or a refusal (its kinds and facts some reason states), or
// the invalid fields.
type scenario struct {
	name  string
	given [][]ev
	when  func(c *change.ChangeRequest) ([]change.Event, error)
	// then: events, and the state after them (StateNone: not checked).
	want  []change.Event
	state change.State
	// or: a refusal.
	kinds   []errs.Reason
	refused [][]string
	// or: invalid fields.
	invalid []string
}

func runScenarios(t *testing.T, tests []scenario) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := given(t, tt.given...)
			got, err := tt.when(c)
			switch {
			case tt.invalid != nil:
				if diff := cmp.Diff(tt.invalid, violationFields(t, err)); diff != "" {
					t.Errorf("violated fields (-want +got):\n%s", diff)
				}
			case tt.kinds != nil || tt.refused != nil:
				if tt.kinds != nil {
					wantKinds(t, err, tt.kinds...)
				}
				for _, facts := range tt.refused {
					wantReason(t, err, facts...)
				}
			default:
				mustOK(t, err)
				diffEvents(t, tt.want, got)
				apply(c, "actor", now, got)
				if tt.state != change.StateNone && c.State() != tt.state {
					t.Errorf("state %s, want %s", c.State(), tt.state)
				}
			}
			if err != nil && got != nil {
				t.Errorf("events %v decided along with error %v", got, err)
			}
		})
	}
}

func TestReview(t *testing.T) {
	t.Parallel()
	normal := submitted(change.ClassNormal)
	inReview := by("rita", change.ReviewStarted{Reviewer: "rita"})
	complete := func(who string, outcome change.ReviewOutcome, notes string) func(c *change.ChangeRequest) ([]change.Event, error) {
		return func(c *change.ChangeRequest) ([]change.Event, error) {
			return change.CompleteReview(c, change.CompleteReviewCommand{Reviewer: who, Outcome: outcome, Notes: notes})
		}
	}
	runScenarios(t, []scenario{
		{
			name: "a reviewer starts the review", given: [][]ev{normal},
			when: func(c *change.ChangeRequest) ([]change.Event, error) { return change.StartReview(c, "rita") },
			want: events(change.ReviewStarted{Reviewer: "rita"}), state: change.StateInReview,
		},
		{
			name: "separation of duties: the submitter does not review", given: [][]ev{normal},
			when:    func(c *change.ChangeRequest) ([]change.Event, error) { return change.StartReview(c, "alice") },
			kinds:   []errs.Reason{kindSubmitter},
			refused: [][]string{{"separation of duties: alice submitted change CR-1 and may not review it"}},
		},
		{
			name: "a reviewer is required", given: [][]ev{normal},
			when:    func(c *change.ChangeRequest) ([]change.Event, error) { return change.StartReview(c, " ") },
			invalid: []string{"reviewer"},
		},
		{
			name: "a review already under way is not restarted", given: [][]ev{normal, inReview},
			when:    func(c *change.ChangeRequest) ([]change.Event, error) { return change.StartReview(c, "dave") },
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"is in technical review by rita", "only a change that is submitted can start a technical review"}},
		},
		{
			name: "passed: on to approval", given: [][]ev{normal, inReview}, when: complete("rita", change.ReviewPassed, ""),
			want: events(change.ReviewCompleted{Reviewer: "rita", Outcome: change.ReviewPassed}), state: change.StatePendingApproval,
		},
		{
			name: "another engineer may complete it", given: [][]ev{normal, inReview}, when: complete("dave", change.ReviewPassed, "LGTM"),
			want: events(change.ReviewCompleted{Reviewer: "dave", Outcome: change.ReviewPassed, Notes: "LGTM"}), state: change.StatePendingApproval,
		},
		{
			name: "rejected: the change is over", given: [][]ev{normal, inReview}, when: complete("rita", change.ReviewRejected, "No rollback for the DNS part."),
			want: events(
				change.ReviewCompleted{Reviewer: "rita", Outcome: change.ReviewRejected, Notes: "No rollback for the DNS part."},
				change.Rejected{By: "rita", Reason: "No rollback for the DNS part.", Stage: "review"},
			),
			state: change.StateRejected,
		},
		{
			name: "a rejection says why", given: [][]ev{normal, inReview}, when: complete("rita", change.ReviewRejected, ""),
			invalid: []string{"notes"},
		},
		{
			name: "an unknown outcome", given: [][]ev{normal, inReview}, when: complete("rita", "maybe", ""),
			invalid: []string{"outcome"},
		},
		{
			name: "review notes are scanned for secrets", given: [][]ev{normal, inReview},
			when:    complete("rita", change.ReviewPassed, "tested with xoxb-123456789012-1234567890123-abcdefghijABCDEFGHIJklmn"),
			invalid: []string{"notes"},
		},
		{
			name: "separation of duties: the submitter does not complete it", given: [][]ev{normal, inReview}, when: complete("alice", change.ReviewPassed, ""),
			kinds: []errs.Reason{kindSubmitter},
		},
		{
			name: "completing a review never started", given: [][]ev{normal}, when: complete("rita", change.ReviewPassed, ""),
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"is submitted and awaits its technical review", "only a change that is in_review can complete a technical review"}},
		},
	})
}

func approve(p change.Principal, as string) func(c *change.ChangeRequest) ([]change.Event, error) {
	return func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.Approve(c, change.ApproveCommand{Approver: p, As: as})
	}
}

func TestApprove(t *testing.T) {
	t.Parallel()
	pending := [][]ev{submitted(change.ClassNormal), reviewed()}
	withPat := plus(pending, by("pat", granted("pat", "product", true)))
	pat2 := change.Principal{ID: "pat2", Roles: []string{"product"}}
	runScenarios(t, []scenario{
		{
			name: "the first approval counts", given: pending, when: approve(pat, ""),
			want: events(granted("pat", "product", true)), state: change.StatePendingApproval,
		},
		{
			name: "the last kind needed approves the change", given: withPat, when: approve(otto, ""),
			want: events(granted("otto", "operations", true), change.Approved{Approvals: 2, Required: 2}), state: change.StateApproved,
		},
		{
			name: "a holder of both roles meets the open one", given: withPat, when: approve(olga, ""),
			want: events(granted("olga", "operations", true), change.Approved{Approvals: 2, Required: 2}), state: change.StateApproved,
		},
		{
			name: "a holder of both roles, first: the first requirement", given: pending, when: approve(olga, ""),
			want: events(granted("olga", "product", true)), state: change.StatePendingApproval,
		},
		{
			name: "wrong kind: a second product approval is recorded but does not count", given: withPat,
			when: approve(pat2, ""),
			want: events(change.ApprovalGranted{Approver: "pat2", As: "product", Roles: []string{"product"}}), state: change.StatePendingApproval,
		},
		{
			name: "wrong kind: approving as product by choice when operations is open does not count", given: withPat,
			when: approve(olga, "product"),
			want: events(granted("olga", "product", false)), state: change.StatePendingApproval,
		},
		{
			name: "a role the approver does not hold", given: pending, when: approve(pat, "operations"),
			kinds:   []errs.Reason{kindRole},
			refused: [][]string{{"pat does not hold the role operations (holds: product)"}},
		},
		{
			name: "a role the change does not take", given: pending, when: approve(sam, "security"),
			kinds:   []errs.Reason{kindRole},
			refused: [][]string{{"change CR-1 is approved as product, operations, not as security"}},
		},
		{
			name: "no approving role at all", given: pending, when: approve(dave, ""),
			kinds:   []errs.Reason{kindRole},
			refused: [][]string{{"dave holds none of the roles that approve change CR-1 (product, operations; holds: developer)"}},
		},
		{
			name: "separation of duties: the submitter never approves, whatever roles they hold", given: pending, when: approve(aliceOps, ""),
			kinds:   []errs.Reason{kindSubmitter},
			refused: [][]string{{"separation of duties: alice submitted change CR-1 and may not approve it"}},
		},
		{
			name: "an approver approves once", given: withPat, when: approve(pat, ""),
			kinds:   []errs.Reason{kindOnce},
			refused: [][]string{{"pat has already approved change CR-1 (as product): each person approves once"}},
		},
		{
			name: "an approver approves once, even as another role", given: plus(pending, by("olga", granted("olga", "product", true))),
			when:  approve(olga, "operations"),
			kinds: []errs.Reason{kindOnce},
		},
		{
			name: "before the technical review", given: [][]ev{submitted(change.ClassNormal)}, when: approve(pat, ""),
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"is submitted and awaits its technical review"}},
		},
		{
			name: "every reason at once", given: [][]ev{submitted(change.ClassNormal)}, when: approve(change.Principal{ID: "alice"}, ""),
			kinds: []errs.Reason{kindState, kindSubmitter, kindRole},
		},
		{
			name: "once approved, no more approvals", given: plus(withPat, approvedNormal()[1:]), when: approve(olga, ""),
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"is approved but not scheduled"}},
		},
		{
			name: "fields: approver, role, comment", given: pending,
			when: func(c *change.ChangeRequest) ([]change.Event, error) {
				return change.Approve(c, change.ApproveCommand{Approver: change.Principal{ID: "a\x00b"}, As: "ops team", Comment: "api_key=Zq8xR2mN7vK4"})
			},
			invalid: []string{"approver.id", "as", "comment"},
		},
	})
}

func TestApproveEmergency(t *testing.T) {
	t.Parallel()
	pending := [][]ev{submitted(change.ClassEmergency)}
	runScenarios(t, []scenario{
		{
			name: "one operations approval approves it", given: pending, when: approve(otto, ""),
			want: events(granted("otto", "operations", true), change.Approved{Approvals: 1, Required: 1}), state: change.StateApproved,
		},
		{
			name: "or one security approval", given: pending, when: approve(sam, ""),
			want: events(granted("sam", "security", true), change.Approved{Approvals: 1, Required: 1}), state: change.StateApproved,
		},
		{
			name: "product does not approve an emergency", given: pending, when: approve(pat, ""),
			kinds:   []errs.Reason{kindRole},
			refused: [][]string{{"pat holds none of the roles that approve change CR-1 (operations, security; holds: product)"}},
		},
		{
			name: "separation of duties: not the submitter, even an operations one", given: pending, when: approve(aliceOps, ""),
			kinds: []errs.Reason{kindSubmitter},
		},
	})
}

// TestApprovalMatching: requirements that overlap are met by the best
// assignment, not the first fit. With [operations or security] and
// [operations], otto (operations) then sam (security) meet both.
func TestApprovalMatching(t *testing.T) {
	t.Parallel()
	s := submittedFor(cmdFor(change.ClassEmergency))
	s.Requirements = []change.Requirement{{AnyOf: []string{"operations", "security"}}, {AnyOf: []string{"operations"}}}
	pending := [][]ev{by("alice", s)}
	withOtto := plus(pending, by("otto", granted("otto", "operations", true)))
	runScenarios(t, []scenario{
		{
			name: "operations first", given: pending, when: approve(otto, ""),
			want: events(granted("otto", "operations", true)), state: change.StatePendingApproval,
		},
		{
			name: "security second meets the first requirement, operations moves to the second", given: withOtto, when: approve(sam, ""),
			want: events(granted("sam", "security", true), change.Approved{Approvals: 2, Required: 2}), state: change.StateApproved,
		},
	})
	c := given(t, withOtto...)
	if diff := cmp.Diff([]change.Requirement{{AnyOf: []string{"operations", "security"}}}, c.Missing()); diff != "" {
		t.Errorf("Missing() (-want +got):\n%s", diff)
	}
}

func TestReject(t *testing.T) {
	t.Parallel()
	pending := [][]ev{submitted(change.ClassNormal), reviewed()}
	reject := func(p change.Principal, reason string) func(c *change.ChangeRequest) ([]change.Event, error) {
		return func(c *change.ChangeRequest) ([]change.Event, error) {
			return change.Reject(c, change.RejectCommand{By: p, Reason: reason})
		}
	}
	runScenarios(t, []scenario{
		{
			name: "an approver rejects", given: pending, when: reject(otto, "Not during the sale."),
			want: events(change.Rejected{By: "otto", Reason: "Not during the sale.", Stage: "approval"}), state: change.StateRejected,
		},
		{
			name: "even after approving", given: plus(pending, by("pat", granted("pat", "product", true))), when: reject(pat, "Changed my mind."),
			want: events(change.Rejected{By: "pat", Reason: "Changed my mind.", Stage: "approval"}), state: change.StateRejected,
		},
		{
			name: "the submitter cancels rather than rejects", given: pending, when: reject(aliceOps, "Oops."),
			kinds:   []errs.Reason{kindSubmitter},
			refused: [][]string{{"alice submitted change CR-1: withdraw it with cancel rather than reject it"}},
		},
		{
			name: "only an approver rejects", given: pending, when: reject(dave, "Meh."),
			kinds: []errs.Reason{kindRole},
		},
		{
			name: "a rejection says why", given: pending, when: reject(otto, ""),
			invalid: []string{"reason"},
		},
		{
			name: "not before the review", given: [][]ev{submitted(change.ClassNormal)}, when: reject(otto, "No."),
			kinds: []errs.Reason{kindState},
		},
	})
}
