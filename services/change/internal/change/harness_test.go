package change_test

// The harness: given events (body, actor, time) folded through Apply on a
// fixed clock; a command decided against that state; the decided events
// compared with cmp.Diff, or the refusal's reasons and catalogued kinds, or
// the invalid fields.

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// The fixed clock. The change is submitted at t0 (given events are stamped
// t0, t0+1m, … unless they say otherwise), scheduled at now, asks for
// planned (90 minutes), is scheduled in window w1 [winStart, winEnd) and
// implemented at implAt.
var (
	t0       = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	now      = time.Date(2026, time.March, 4, 12, 0, 0, 0, time.UTC)
	planned  = time.Date(2026, time.March, 5, 22, 0, 0, 0, time.UTC)
	winStart = planned
	winEnd   = winStart.Add(2 * time.Hour)
	implAt   = winStart.Add(5 * time.Minute)
	pirDueAt = implAt.Add(48 * time.Hour)
)

const (
	crID    = "CR-1"
	release = "rel-220"
	window  = "w1"
)

// The catalogued kinds of the refusals.
const (
	kindState      = errorsv1.ErrorReason_ERROR_REASON_CHANGE_WRONG_STATE
	kindWindow     = errorsv1.ErrorReason_ERROR_REASON_WINDOW_UNSUITABLE
	kindSubmitter  = errorsv1.ErrorReason_ERROR_REASON_APPROVAL_BY_AUTHOR
	kindOnce       = errorsv1.ErrorReason_ERROR_REASON_ALREADY_APPROVED
	kindRole       = errorsv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED
	kindNotCovered = errorsv1.ErrorReason_ERROR_REASON_NOT_A_TARGET
	kindPIR        = errorsv1.ErrorReason_ERROR_REASON_POST_IMPLEMENTATION_REVIEW_REQUIRED
	kindDeployment = errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_BUSY
)

// The cast: alice (developer) submits; rita (developer) reviews; pat is
// product, otto operations, sam security; olga is product and operations;
// dave is a developer with no approving role.
var (
	alice = change.Principal{ID: "alice", Roles: []string{"developer"}}
	rita  = change.Principal{ID: "rita", Roles: []string{"developer"}}
	pat   = change.Principal{ID: "pat", Roles: []string{"product"}}
	otto  = change.Principal{ID: "otto", Roles: []string{"operations"}}
	sam   = change.Principal{ID: "sam", Roles: []string{"security"}}
	olga  = change.Principal{ID: "olga", Roles: []string{"product", "operations"}}
	dave  = change.Principal{ID: "dave", Roles: []string{"developer"}}
	// aliceOps is alice holding operations too: roles never lift separation of duties.
	aliceOps = change.Principal{ID: "alice", Roles: []string{"developer", "operations", "security", "product"}}
)

var policy = func() change.Policy {
	p := change.DefaultPolicy()
	p.StandardTemplates = []string{"smtp-pool-switch"}
	return p
}()

// ev is one given event as the log records it.
type ev struct {
	e     change.Event
	actor string
	at    time.Time // zero: t0 + its position in minutes
}

// by is events written by actor at their default times.
func by(actor string, es ...change.Event) []ev {
	out := make([]ev, len(es))
	for i, e := range es {
		out[i] = ev{e: e, actor: actor}
	}
	return out
}

// byAt is events written by actor at a given time.
func byAt(actor string, at time.Time, es ...change.Event) []ev {
	out := by(actor, es...)
	for i := range out {
		out[i].at = at
	}
	return out
}

// given folds the given events, in order, into a new change.
func given(t *testing.T, parts ...[]ev) *change.ChangeRequest {
	t.Helper()
	c := change.New(crID)
	i := 0
	for _, part := range parts {
		for _, e := range part {
			at := e.at
			if at.IsZero() {
				at = t0.Add(time.Duration(i) * time.Minute)
			}
			c.Apply(e.e, change.Meta{Actor: e.actor, Time: at})
			i++
		}
	}
	return c
}

// apply folds decided events into c, as the service does after appending them.
func apply(c *change.ChangeRequest, actor string, at time.Time, es []change.Event) {
	for _, e := range es {
		c.Apply(e, change.Meta{Actor: actor, Time: at})
	}
}

// Builders. Each returns fresh values.

func step(desc, owner string, minutes int, verify string) change.Step {
	return change.Step{Description: desc, Owner: owner, ExpectedMinutes: minutes, Verification: verify}
}

// cmdFor is alice's valid change of class covering envs (production when none).
func cmdFor(class change.Class, envs ...string) change.SubmitCommand {
	if len(envs) == 0 {
		envs = []string{"production"}
	}
	cmd := change.SubmitCommand{
		Submitter: "alice", Class: class,
		Title:       "Move sends to the new SMTP pool",
		Description: "Switch outbound mail to the pool in eu-west-2.",
		Type:        change.TypeInfrastructure, Priority: change.PriorityHigh, Impact: change.ImpactMedium, Risk: change.RiskMedium,
		Environments: envs,
		Schedule:     change.Timing{PlannedStart: planned, DurationMinutes: 90},
		Approvers:    []string{"pat", "otto"},
		Releases:     []string{release},
		Implementation: change.Plan{Steps: []change.Step{
			step("Drain the old pool", "ops-team", 20, "queue depth is 0"),
			step("Switch the MX relay", "otto", 30, "test mail delivered"),
		}},
		Rollback: change.Plan{Steps: []change.Step{step("Switch the relay back", "otto", 10, "test mail delivered")}},
		Testing:  change.Plan{Steps: []change.Step{step("Send the canary campaign", "qa-team", 15, "")}},
	}
	switch class {
	case change.ClassStandard:
		cmd.Template = "smtp-pool-switch"
	case change.ClassEmergency:
		cmd.Justification = "Mail to Gmail bounces since 08:40."
		cmd.Priority = change.PriorityCritical
	}
	return cmd
}

// submittedFor is the Submitted event Submit decides for cmd under the default policy.
func submittedFor(cmd change.SubmitCommand) change.Submitted {
	s := change.Submitted{
		ID: crID, Submitter: cmd.Submitter, Class: cmd.Class, Template: cmd.Template, Justification: cmd.Justification,
		Title: cmd.Title, Description: cmd.Description, Type: cmd.Type, Priority: cmd.Priority, Impact: cmd.Impact, Risk: cmd.Risk,
		Environments: cmd.Environments, Schedule: cmd.Schedule, Approvers: cmd.Approvers, Releases: cmd.Releases,
		Implementation: cmd.Implementation, Rollback: cmd.Rollback, Testing: cmd.Testing,
		Validations: []string{"deployment", "gates", "bake"},
	}
	switch cmd.Class {
	case change.ClassNormal:
		s.Requirements = []change.Requirement{{AnyOf: []string{"product"}}, {AnyOf: []string{"operations"}}}
		s.ReviewRequired = true
	case change.ClassEmergency:
		s.Requirements = []change.Requirement{{AnyOf: []string{"operations", "security"}}}
		s.PIRDeadline = 48 * time.Hour
	}
	return s
}

// submitted is alice's Submitted of a change of class covering envs.
func submitted(class change.Class, envs ...string) []ev {
	return by("alice", submittedFor(cmdFor(class, envs...)))
}

// reviewed is rita's passed technical review.
func reviewed() []ev {
	return by("rita", change.ReviewStarted{Reviewer: "rita"}, change.ReviewCompleted{Reviewer: "rita", Outcome: change.ReviewPassed, Notes: "Plan is sound."})
}

// granted is who's approval as role.
func granted(who, as string, counts bool) change.ApprovalGranted {
	roles := map[string][]string{"pat": pat.Roles, "otto": otto.Roles, "sam": sam.Roles, "olga": olga.Roles, "dave": dave.Roles}[who]
	return change.ApprovalGranted{Approver: who, As: as, Roles: roles, Counts: counts}
}

// approvedNormal is pat's and otto's approvals of a reviewed normal change.
func approvedNormal() []ev {
	return slices.Concat(
		by("pat", granted("pat", "product", true)),
		by("otto", granted("otto", "operations", true), change.Approved{Approvals: 2, Required: 2}),
	)
}

// scheduledEvent is the change in w1 from its start.
func scheduledEvent() change.Scheduled {
	return change.Scheduled{WindowID: window, Start: winStart, End: winEnd, At: winStart}
}

func scheduled() []ev { return byAt("rita", now, scheduledEvent()) }

// normalScheduled is a normal change up to its window.
func normalScheduled(envs ...string) [][]ev {
	return [][]ev{submitted(change.ClassNormal, envs...), reviewed(), approvedNormal(), scheduled()}
}

// started is deployment dep of the release to env, started at at.
func started(dep, env string, at time.Time, pirDue time.Time) []ev {
	return byAt("system:change", at, change.ImplementationStarted{DeploymentID: dep, ReleaseID: release, Environment: env, PIRDue: pirDue})
}

// passed is every default check of dep succeeded.
func passed(dep string) []ev {
	var out []ev
	for _, c := range []string{"deployment", "gates", "bake"} {
		out = append(out, by("system:change", change.ValidationRecorded{DeploymentID: dep, Check: c, Outcome: change.OutcomeSucceeded})...)
	}
	return out
}

func events(es ...change.Event) []change.Event { return es }

// Assertions.

// diffEvents compares decided events, (-want +got).
func diffEvents(t *testing.T, want, got []change.Event) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decided events mismatch (-want +got):\n%s", diff)
	}
}

// mustOK fails the test on an error.
func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// refusal returns err as a PreconditionError; it fails unless err is one
// whose every reason has its catalogued kind.
func refusal(t *testing.T, err error) *errs.PreconditionError {
	t.Helper()
	var pe *errs.PreconditionError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %T %v, want *errs.PreconditionError", err, err)
	}
	if len(pe.Kinds) != len(pe.Reasons) || pe.Reason != pe.Kinds[0] {
		t.Errorf("refusal %v: every reason needs its catalogued kind (kinds %v, primary %v)", err, pe.Kinds, pe.Reason)
	}
	return pe
}

// wantKinds asserts err's refusals have exactly these catalogued kinds, in order.
func wantKinds(t *testing.T, err error, want ...errs.Reason) {
	t.Helper()
	if diff := cmp.Diff(want, refusal(t, err).Kinds); diff != "" {
		t.Errorf("refusal kinds of %v (-want +got):\n%s", err, diff)
	}
}

// wantReason asserts one of err's reasons contains every fact.
func wantReason(t *testing.T, err error, facts ...string) {
	t.Helper()
	rs := refusal(t, err).Reasons
	for _, r := range rs {
		if containsAll(r, facts) {
			return
		}
	}
	t.Errorf("no reason mentioning %q in %q", facts, rs)
}

// violations returns err's field violations; it fails unless err is an *errs.InvalidArgumentError.
func violations(t *testing.T, err error) []errs.FieldViolation {
	t.Helper()
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("error = %T %v, want *errs.InvalidArgumentError", err, err)
	}
	return ia.Violations
}

// violationFields lists the violated fields in order.
func violationFields(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	for _, v := range violations(t, err) {
		out = append(out, v.Field)
	}
	return out
}

// wantViolation asserts err has a violation of field whose description contains every fact.
func wantViolation(t *testing.T, err error, field string, facts ...string) {
	t.Helper()
	vs := violations(t, err)
	for _, v := range vs {
		if v.Field == field && containsAll(v.Description, facts) {
			return
		}
	}
	t.Errorf("no violation of %q mentioning %q in %+v", field, facts, vs)
}

func containsAll(s string, facts []string) bool {
	for _, f := range facts {
		if !strings.Contains(s, f) {
			return false
		}
	}
	return true
}

// pirCmd is rita's complete post-implementation review.
func pirCmd() change.PostImplementationReviewCommand {
	return change.PostImplementationReviewCommand{
		Reviewer:  "rita",
		RootCause: "The provider rotated its TLS chain; our pinning rejected it.",
		Prevention: []change.Action{
			{Description: "Alert on TLS handshake failures per provider", Owner: "otto", Due: pirDueAt.Add(7 * 24 * time.Hour)},
			{Description: "Drop certificate pinning for SMTP relays", Owner: "ops-team"},
		},
	}
}

// plus is base with more parts, in a new slice: scenarios built on one
// base never share its backing array.
func plus(base [][]ev, more ...[]ev) [][]ev { return slices.Concat(base, more) }
