package domain_test

// The harness: given events (body, actor, time, id) folded through
// domain.Apply with a fixed clock; a command decided against that state; the
// decided events compared with cmp.Diff(want, got, protocmp.Transform()).

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// The fixed clock: given events are stamped t0, t0+1m, t0+2m, … in order
// unless they say otherwise, and decisions that read the clock get now.
var (
	t0  = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	now = time.Date(2026, time.March, 5, 12, 0, 0, 0, time.UTC)
)

const (
	relID   = "01JRELEASE0000000000000001"
	product = "floe"
)

// Release types, short.
const (
	major  = releasev1.ReleaseType_RELEASE_TYPE_MAJOR
	minor  = releasev1.ReleaseType_RELEASE_TYPE_MINOR
	patch  = releasev1.ReleaseType_RELEASE_TYPE_PATCH
	hotfix = releasev1.ReleaseType_RELEASE_TYPE_HOTFIX
)

// Strategies, short.
const (
	anyStrategy = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_UNSPECIFIED
	rolling     = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_ROLLING_UPDATE
	blueGreen   = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BLUE_GREEN
	canary      = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY
	bigBang     = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BIG_BANG
)

// strategyOf parses a strategy's text ("" is unspecified).
func strategyOf(s string) deployv1.DeploymentStrategy {
	v, _ := enumtext.Parse[deployv1.DeploymentStrategy](s)
	return v
}

// Statuses, short.
const (
	planned    = releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED
	approved   = releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED
	deploying  = releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING
	deployed   = releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED
	rolledBack = releasev1.ReleaseStatus_RELEASE_STATUS_ROLLED_BACK
	failed     = releasev1.ReleaseStatus_RELEASE_STATUS_FAILED
	cancelled  = releasev1.ReleaseStatus_RELEASE_STATUS_CANCELLED
)

// The cast. alice writes releases; dave (developer) promotes; quinn is qa in
// staging only; rita is release manager everywhere; otto operations; pat
// product; sam security; ada admin.
var (
	alice = principal("alice", auth.RoleBinding{Role: auth.RoleDeveloper})
	dave  = principal("dave", auth.RoleBinding{Role: auth.RoleDeveloper})
	quinn = principal("quinn", auth.RoleBinding{Role: auth.RoleQA, Environments: []string{"staging"}})
	rita  = principal("rita", auth.RoleBinding{Role: auth.RoleReleaseManager})
	otto  = principal("otto", auth.RoleBinding{Role: auth.RoleOperations})
	pat   = principal("pat", auth.RoleBinding{Role: auth.RoleProduct})
	sam   = principal("sam", auth.RoleBinding{Role: auth.RoleSecurity})
	ada   = principal("ada", auth.RoleBinding{Role: auth.RoleAdmin})
)

func principal(id string, roles ...auth.RoleBinding) *auth.Principal {
	return &auth.Principal{ID: id, Name: id, Authenticator: "token", Roles: roles}
}

// envs is the built-in environments file (parsed once; read-only).
var envs = domain.DefaultEnvironments()

// ev is one given event as the log records it.
type ev struct {
	msg   proto.Message
	actor string
	at    time.Time // zero: t0 + its position in minutes
}

// by is an event written by actor at its default time.
func by(actor string, msg proto.Message) []ev { return []ev{{msg: msg, actor: actor}} }

// byAt is an event written by actor at a given time.
func byAt(actor string, at time.Time, msg proto.Message) []ev {
	return []ev{{msg: msg, actor: actor, at: at}}
}

// system is an event written by a reaction.
func system(msg proto.Message) []ev { return by("system:floe", msg) }

// releaseFrom folds the given events, in order, into a new release.
func releaseFrom(t *testing.T, given ...[]ev) *domain.Release {
	t.Helper()
	r := domain.NewRelease()
	i := 0
	for _, part := range given {
		for _, e := range part {
			at := e.at
			if at.IsZero() {
				at = t0.Add(time.Duration(i) * time.Minute)
			}
			domain.Apply(r, e.msg, domain.Meta{Actor: e.actor, Time: at})
			i++
		}
	}
	return r
}

// apply folds decided events into r, as the app does after appending them.
func apply(t *testing.T, r *domain.Release, at time.Time, actor string, msgs ...proto.Message) {
	t.Helper()
	for _, m := range msgs {
		domain.Apply(r, m, domain.Meta{Actor: actor, Time: at})
	}
}

// view is the release as the API renders it now: the observable state.
func view(r *domain.Release) *releasev1.Release { return domain.ToProto(r, envs, now) }

// envOf is one environment's state as the API renders it (nil when the release has none).
func envOf(r *domain.Release, name string) *releasev1.EnvironmentState {
	for _, e := range view(r).GetEnvironments() {
		if e.GetEnvironment() == name {
			return e
		}
	}
	return nil
}

// productFrom folds product events into a new product.
func productFrom(t *testing.T, given ...proto.Message) *domain.Product {
	t.Helper()
	p := domain.NewProduct(product)
	for _, m := range given {
		domain.ApplyProduct(p, m)
	}
	return p
}

// reserved is a product's VersionReserved.
func reserved(v string) proto.Message {
	return &releasev1.VersionReserved{Version: v, ReleaseId: "rel-" + v, Type: minor}
}

// runs is a product's ProductDeployed.
func runs(env, v string) proto.Message {
	return &releasev1.ProductDeployed{Environment: env, Version: v, ReleaseId: "rel-" + v}
}

// Given-event builders. Each call returns fresh messages: Apply may keep and
// update what it is given (prerequisites), so tests never share them.

// created is alice's ReleaseCreated of version with the given targets
// (development, staging, production when none).
func created(version string, typ releasev1.ReleaseType, targets ...string) []ev {
	return createdBy("alice", version, typ, targets...)
}

// createdBy is created with another author.
func createdBy(author, version string, typ releasev1.ReleaseType, targets ...string) []ev {
	if len(targets) == 0 {
		targets = []string{"development", "staging", "production"}
	}
	return by(author, &releasev1.ReleaseCreated{
		ReleaseId: relID, Product: product, Version: version, Type: typ,
		Title: "Faster sends", Description: "Batch the SMTP handshake.",
		Changes:            []*releasev1.Change{{Id: "c1", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "Batch sends"}},
		TargetEnvironments: targets,
	})
}

// planned220 is the usual release under test: minor 2.2.0 through development, staging, production.
func planned220() []ev { return created("2.2.0", minor) }

// approval is who's ApprovalGranted for env at content revision rev.
func approval(env, who string, rev uint64) []ev {
	return by(who, &releasev1.ApprovalGranted{Environment: env, Approver: who, ContentRevision: rev, Roles: []string{"release-manager"}})
}

// promoted is a PromotionRequested for env by who.
func promoted(env, who string, attempt uint32) []ev {
	return by(who, &releasev1.PromotionRequested{
		ReleaseId: relID, Product: product, Version: "2.2.0", Environment: env,
		Strategy: "rolling-update", RequestedBy: who, Attempt: attempt,
	})
}

// deployedTo is a promotion to env by dave that went live.
func deployedTo(env string) []ev {
	return slices.Concat(
		promoted(env, "dave", 1),
		system(&releasev1.ReleaseDeploying{Environment: env, DeploymentId: "dep-" + env}),
		system(&releasev1.ReleaseDeployed{Environment: env, DeploymentId: "dep-" + env}),
	)
}

// prereq is a PrerequisiteAdded.
func prereq(id, env string, status releasev1.PrerequisiteStatus, deadline *timestamppb.Timestamp) []ev {
	return by("alice", &releasev1.PrerequisiteAdded{Prerequisite: &releasev1.Prerequisite{
		Id: id, Type: releasev1.PrerequisiteType_PREREQUISITE_TYPE_DATABASE, Description: "Migrate the sends table",
		Status: status, Owner: "dba-team", Deadline: deadline, Environment: env,
	}})
}

// Assertions.

// diffEvents compares decided events, (-want +got).
func diffEvents(t *testing.T, want, got []proto.Message) {
	t.Helper()
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("decided events mismatch (-want +got):\n%s", diff)
	}
}

func msgs(m ...proto.Message) []proto.Message { return m }

// mustOK fails the test on an error.
func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
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

// wantInvalidReason asserts err is an InvalidArgument with the catalogued reason.
func wantInvalidReason(t *testing.T, err error, want errs.Reason) {
	t.Helper()
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) || ia.Reason != want {
		t.Errorf("error %v: reason %v, want %v", err, reasonOf(ia), want)
	}
}

func reasonOf(ia *errs.InvalidArgumentError) errs.Reason {
	if ia == nil {
		return 0
	}
	return ia.Reason
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

// reasons returns err's reasons; it fails unless err is an *errs.PreconditionError.
func reasons(t *testing.T, err error) []string {
	t.Helper()
	var pe *errs.PreconditionError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %T %v, want *errs.PreconditionError", err, err)
	}
	if len(pe.Kinds) != len(pe.Reasons) || pe.Reason != pe.Kinds[0] {
		t.Errorf("refusal %v: every reason needs its catalogued kind (kinds %v, primary %v)", err, pe.Kinds, pe.Reason)
	}
	for _, k := range pe.Kinds {
		if k == errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION || k == 0 {
			t.Errorf("refusal %v has the generic kind %v: use a specific reason", err, k)
		}
	}
	return pe.Reasons
}

// wantKinds asserts err's refusals have exactly these catalogued reasons, in order.
func wantKinds(t *testing.T, err error, want ...errs.Reason) {
	t.Helper()
	var pe *errs.PreconditionError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %T %v, want *errs.PreconditionError", err, err)
	}
	if diff := cmp.Diff(want, pe.Kinds); diff != "" {
		t.Errorf("refusal kinds of %v (-want +got):\n%s", err, diff)
	}
}

// wantReason asserts one of err's reasons contains every fact.
func wantReason(t *testing.T, err error, facts ...string) {
	t.Helper()
	rs := reasons(t, err)
	for _, r := range rs {
		if containsAll(r, facts) {
			return
		}
	}
	t.Errorf("no reason mentioning %q in %q", facts, rs)
}

// wantNotFound asserts err is an *errs.NotFoundError of kind and id.
func wantNotFound(t *testing.T, err error, kind, id string) {
	t.Helper()
	var nf *errs.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("error = %T %v, want *errs.NotFoundError", err, err)
	}
	if diff := cmp.Diff(&errs.NotFoundError{Kind: kind, ID: id}, nf); diff != "" {
		t.Errorf("not-found mismatch (-want +got):\n%s", diff)
	}
}

func containsAll(s string, facts []string) bool {
	for _, f := range facts {
		if !strings.Contains(s, f) {
			return false
		}
	}
	return true
}
