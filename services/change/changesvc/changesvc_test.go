package changesvc_test

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/change/changesvc"
)

// clock is the service's clock, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type world struct {
	t   *testing.T
	p   *testkit.Process
	clk *clock
	dep *eventstore.JetStreamStore
}

func start(t *testing.T) *world {
	dir := t.TempDir()
	pub := filepath.Join(dir, "audit.pub")
	key, err := audit.LoadOrCreateKey(filepath.Join(dir, "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.WritePublicKey(pub, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	p := testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{
			"alice": testkit.Roles(auth.RoleDeveloper), "bob": testkit.Roles(auth.RoleReleaseManager),
			"dave": testkit.Roles(auth.RoleOperations), "ops2": testkit.Roles(auth.RoleOperations),
			"erin": testkit.Roles(auth.RoleSecurity), "frank": testkit.Roles(auth.RoleProduct), "grace": testkit.Roles(auth.RoleSupport),
			"stageops": {{Role: auth.RoleOperations, Environments: []string{"staging"}}},
		},
		Clock: clk.now,
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(changesvc.Service, changesvc.Config{Options: changesvc.Options{AuditPublicKey: pub}})}
		},
		Writers: map[string][]string{"deployer": {"deployment"}}, // the test plays the deployer
	})
	return &world{t: t, p: p, clk: clk, dep: p.Store("deployer")}
}

func (w *world) changes(who string) changev1.ChangeServiceClient {
	return changev1.NewChangeServiceClient(w.p.Conn(who))
}

func (w *world) windows(who string) changev1.WindowServiceClient {
	return changev1.NewWindowServiceClient(w.p.Conn(who))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(interface{ GetReason() string }); ok {
			return info.GetReason()
		}
	}
	return ""
}

// refused checks err is code with reason (and a message containing want).
func refused(t *testing.T, what string, err error, code codes.Code, reason, want string) {
	t.Helper()
	if status.Code(err) != code || (reason != "" && reasonOf(err) != reason) || !strings.Contains(status.Convert(err).Message(), want) {
		t.Errorf("%s: %v (reason %s), want %v %s saying %q", what, err, reasonOf(err), code, reason, want)
	}
}

func normalChange(id string) *changev1.SubmitRequest {
	return &changev1.SubmitRequest{
		Id: id, Class: changev1.ChangeClass_CHANGE_CLASS_NORMAL, Title: "Release 2.1.0", Description: "Campaign scheduling",
		Type: changev1.ChangeType_CHANGE_TYPE_ENHANCEMENT, Priority: changev1.ChangePriority_CHANGE_PRIORITY_MEDIUM,
		Impact: changev1.ChangeImpact_CHANGE_IMPACT_MEDIUM, Risk: changev1.ChangeRisk_CHANGE_RISK_LOW,
		Environments: []string{"production"}, Releases: []string{"rel1"},
		Schedule:       &changev1.Timing{PlannedStart: timestamppb.Now(), DurationMinutes: 30},
		Implementation: &changev1.Plan{Steps: []*changev1.Step{{Description: "Canary to production", Owner: "bob", ExpectedMinutes: 20}}},
		Rollback:       &changev1.Plan{Steps: []*changev1.Step{{Description: "Roll back with the deployer"}}},
		Testing:        &changev1.Plan{Steps: []*changev1.Step{{Description: "Smoke tests"}}},
	}
}

// deploy writes the deployer's events of a deployment implementing change (ok: succeeded, else rolled back).
func (w *world) deploy(deployment, release, change string, ok bool) {
	w.t.Helper()
	evs := []eventstore.Event{{Message: &deployv1.DeploymentStarted{DeploymentId: deployment, ReleaseId: release, Version: "2.1.0", Environment: "production", Attempt: 1, ChangeId: change}}}
	if ok {
		evs = append(evs, eventstore.Event{Message: &deployv1.DeploymentSucceeded{DeploymentId: deployment, ReleaseId: release, Version: "2.1.0", Environment: "production"}})
	} else {
		evs = append(evs, eventstore.Event{Message: &deployv1.RolledBack{DeploymentId: deployment, ReleaseId: release, Version: "2.1.0", Environment: "production", RestoredVersion: "2.0.0", Reason: "error rate"}})
	}
	if _, err := w.dep.Append(ctx(w.t), "deployment", deployment, eventstore.NoStream, eventstore.Meta{Actor: "system:deployer"}, evs...); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) waitState(id string, want changev1.ChangeState) *changev1.ChangeRequest {
	w.t.Helper()
	var got *changev1.ChangeRequest
	testkit.Eventually(w.t, func() error {
		r, err := w.changes("grace").Get(ctx(w.t), &changev1.GetRequest{ChangeId: id})
		if err != nil {
			return err
		}
		got = r.GetChange()
		if got.GetState() != want {
			return status.Errorf(codes.Unknown, "change %s is %v, want %v", id, got.GetState(), want)
		}
		return nil
	})
	return got
}

// The normal path over gRPC: submission, refusals, review, approvals by
// product and operations, a window of the calendar, the deployment that
// implements it and validates it, closure, with its history and listing.
func TestNormalChange(t *testing.T) {
	w := start(t)
	_, err := w.changes("grace").Submit(ctx(t), normalChange("c1"))
	refused(t, "support submitting", err, codes.PermissionDenied, "", "change.submit")
	bad := normalChange("c1")
	bad.Title = ""
	_, err = w.changes("alice").Submit(ctx(t), bad)
	refused(t, "no title", err, codes.InvalidArgument, "", "title")
	typo := normalChange("c1")
	typo.Environments = []string{"prodution"}
	_, err = w.changes("alice").Submit(ctx(t), typo)
	refused(t, "an unknown environment", err, codes.InvalidArgument, "", "unknown environment \"prodution\"")

	c, err := w.changes("alice").Submit(ctx(t), normalChange("c1"))
	if err != nil {
		t.Fatal(err)
	}
	if c.GetChange().GetState() != changev1.ChangeState_CHANGE_STATE_SUBMITTED || c.GetChange().GetSubmitter() != "alice" {
		t.Fatalf("submitted: %v", c.GetChange())
	}
	_, err = w.changes("dave").Approve(ctx(t), &changev1.ApproveRequest{ChangeId: "c1"})
	refused(t, "approving before review", err, codes.FailedPrecondition, "CHANGE_WRONG_STATE", "submitted")
	_, err = w.changes("alice").Review(ctx(t), &changev1.ReviewRequest{ChangeId: "c1", Outcome: "passed"})
	refused(t, "the developer reviewing", err, codes.PermissionDenied, "", "change.review")
	if _, err := w.changes("erin").Review(ctx(t), &changev1.ReviewRequest{ChangeId: "c1", Outcome: "passed", Notes: "plans are complete"}); err != nil {
		t.Fatal(err)
	}
	r, err := w.changes("frank").Approve(ctx(t), &changev1.ApproveRequest{ChangeId: "c1", Comment: "scope agreed"})
	if err != nil || r.GetChange().GetState() != changev1.ChangeState_CHANGE_STATE_PENDING_APPROVAL || len(r.GetChange().GetMissing()) != 1 {
		t.Fatalf("after product's approval: %v %v", r.GetChange(), err)
	}
	_, err = w.changes("frank").Approve(ctx(t), &changev1.ApproveRequest{ChangeId: "c1"})
	refused(t, "approving twice", err, codes.FailedPrecondition, "", "approves once")
	if r, err = w.changes("dave").Approve(ctx(t), &changev1.ApproveRequest{ChangeId: "c1"}); err != nil || r.GetChange().GetState() != changev1.ChangeState_CHANGE_STATE_APPROVED {
		t.Fatalf("after operations' approval: %v %v", r.GetChange(), err)
	}

	// A daily window of production, open now (it started an hour ago, lasts four).
	now := w.clk.now().UTC()
	at := now.Add(-time.Hour).Truncate(time.Minute)
	cw, err := w.windows("dave").CreateWindow(ctx(t), &changev1.CreateWindowRequest{Window: &changev1.DeploymentWindow{
		Id: "daily", Environment: "production", Name: "Daily", TimeZone: "UTC", DurationMinutes: 240,
		Recurrence: &changev1.Recurrence{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, At: at.Format("15:04")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !cw.GetNextStart().AsTime().Equal(at) {
		t.Errorf("window's occurrence starts %v, want %v", cw.GetNextStart().AsTime(), at)
	}
	_, err = w.windows("alice").CreateWindow(ctx(t), &changev1.CreateWindowRequest{Window: &changev1.DeploymentWindow{Id: "x", Environment: "production"}})
	refused(t, "a developer defining windows", err, codes.PermissionDenied, "", "change.calendar")
	s, err := w.changes("dave").Schedule(ctx(t), &changev1.ScheduleRequest{ChangeId: "c1", WindowId: "daily"})
	if err != nil || s.GetChange().GetState() != changev1.ChangeState_CHANGE_STATE_SCHEDULED || s.GetChange().GetWindow().GetWindowId() != "daily" {
		t.Fatalf("scheduled: %v %v", s.GetChange(), err)
	}

	w.deploy("rel1-production-1", "rel1", "c1", true)
	done := w.waitState("c1", changev1.ChangeState_CHANGE_STATE_VALIDATED)
	if d := done.GetDeployments(); len(d) != 1 || d[0].GetDeploymentId() != "rel1-production-1" || len(d[0].GetChecks()) != 1 || d[0].GetChecks()[0].GetOutcome() != "succeeded" {
		t.Errorf("deployments: %v", d)
	}
	if _, err := w.changes("erin").Close(ctx(t), &changev1.CloseRequest{ChangeId: "c1", Notes: "all good"}); err != nil {
		t.Fatal(err)
	}
	g, err := w.changes("grace").Get(ctx(t), &changev1.GetRequest{ChangeId: "c1"})
	if err != nil || g.GetChange().GetState() != changev1.ChangeState_CHANGE_STATE_CLOSED {
		t.Fatalf("get: %v %v", g, err)
	}
	var events []string
	for _, h := range g.GetHistory() {
		events = append(events, h.GetEvent())
		if h.GetSummary() == "" || h.GetPosition() == 0 {
			t.Errorf("history entry %v lacks its summary or position", h)
		}
	}
	want := "ChangeSubmitted ChangeReviewStarted ChangeReviewCompleted ChangeApprovalGranted ChangeApprovalGranted ChangeApproved ChangeScheduled ChangeImplementationStarted ChangeValidationRecorded ChangeValidated ChangeClosed"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("history:\n got %s\nwant %s", got, want)
	}
	l, err := w.changes("grace").List(ctx(t), &changev1.ListRequest{ReleaseId: "rel1", States: []changev1.ChangeState{changev1.ChangeState_CHANGE_STATE_CLOSED}})
	if err != nil || len(l.GetChanges()) != 1 || l.GetChanges()[0].GetId() != "c1" {
		t.Errorf("list closed changes of rel1: %v %v", l, err)
	}
	// Time travel: the list as it was when the change was approved, rebuilt from the log.
	var approvedAt uint64
	for _, h := range g.GetHistory() {
		if h.GetEvent() == "ChangeApproved" {
			approvedAt = h.GetPosition()
		}
	}
	// A second change, submitted after all that, was not there then.
	if _, err := w.changes("alice").Submit(ctx(t), normalChange("c2")); err != nil {
		t.Fatal(err)
	}
	l, err = w.changes("grace").List(ctx(t), &changev1.ListRequest{ReleaseId: "rel1", AsOfPosition: approvedAt})
	if err != nil || len(l.GetChanges()) != 1 || l.GetChanges()[0].GetId() != "c1" || l.GetChanges()[0].GetState() != changev1.ChangeState_CHANGE_STATE_APPROVED {
		t.Errorf("rel1's changes as of position %d (the approval): %v %v; want c1 approved, alone", approvedAt, l, err)
	}
	l, err = w.changes("grace").List(ctx(t), &changev1.ListRequest{ReleaseId: "rel1", AsOfTime: timestamppb.Now()})
	states := map[string]changev1.ChangeState{}
	for _, c := range l.GetChanges() {
		states[c.GetId()] = c.GetState()
	}
	if err != nil || len(states) != 2 || states["c1"] != changev1.ChangeState_CHANGE_STATE_CLOSED || states["c2"] != changev1.ChangeState_CHANGE_STATE_SUBMITTED {
		t.Errorf("rel1's changes as of now: %v %v; want c1 closed and c2 submitted", states, err)
	}
	_, err = w.changes("grace").List(ctx(t), &changev1.ListRequest{AsOfPosition: approvedAt, AsOfTime: timestamppb.Now()})
	refused(t, "a position and a time", err, codes.InvalidArgument, "", "as_of_time")
	// After a restart the reactor resumes where it was: nothing is applied twice.
	before := len(g.GetHistory())
	w.p.Restart()
	g, err = w.changes("grace").Get(ctx(t), &changev1.GetRequest{ChangeId: "c1"})
	if err != nil || len(g.GetHistory()) != before {
		t.Errorf("after a restart the change has %d events, want %d (%v)", len(g.GetHistory()), before, err)
	}
}

// The emergency path: one approval from operations, implementation starts
// the review's clock, an overdue review shows in listings and blocks
// closure; the report lists the change and verifies the log it read.
func TestEmergencyChange(t *testing.T) {
	w := start(t)
	req := normalChange("e1")
	req.Class, req.Justification = changev1.ChangeClass_CHANGE_CLASS_EMERGENCY, "customers cannot send mail"
	req.Type, req.Priority = changev1.ChangeType_CHANGE_TYPE_BUG_FIX, changev1.ChangePriority_CHANGE_PRIORITY_CRITICAL
	c, err := w.changes("alice").Submit(ctx(t), req)
	if err != nil || c.GetChange().GetState() != changev1.ChangeState_CHANGE_STATE_PENDING_APPROVAL {
		t.Fatalf("emergency submitted: %v %v", c.GetChange(), err)
	}
	_, err = w.changes("frank").Approve(ctx(t), &changev1.ApproveRequest{ChangeId: "e1"})
	refused(t, "product approving an emergency", err, codes.FailedPrecondition, "", "operations")
	if _, err := w.changes("dave").Approve(ctx(t), &changev1.ApproveRequest{ChangeId: "e1"}); err != nil {
		t.Fatal(err)
	}
	now := w.clk.now()
	if _, err := w.changes("dave").Schedule(ctx(t), &changev1.ScheduleRequest{ChangeId: "e1", Start: timestamppb.New(now.Add(-time.Minute)), End: timestamppb.New(now.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	w.deploy("rel1-production-1", "rel1", "e1", true)
	v := w.waitState("e1", changev1.ChangeState_CHANGE_STATE_VALIDATED)
	if v.GetReviewDue() == nil || v.GetReviewOverdue() {
		t.Fatalf("review due %v overdue %v, want due and not overdue", v.GetReviewDue(), v.GetReviewOverdue())
	}
	overdue := func() []*changev1.ChangeRequest {
		l, err := w.changes("grace").List(ctx(t), &changev1.ListRequest{ReviewOverdue: true})
		if err != nil {
			t.Fatal(err)
		}
		return l.GetChanges()
	}
	if got := overdue(); len(got) != 0 {
		t.Errorf("overdue before the deadline: %v", got)
	}
	w.clk.add(49 * time.Hour)
	if got := overdue(); len(got) != 1 || got[0].GetId() != "e1" || !got[0].GetReviewOverdue() {
		t.Errorf("overdue after the deadline: %v", got)
	}
	// The change service records it once, so that people are told.
	testkit.Eventually(t, func() error {
		g, err := w.changes("grace").Get(ctx(t), &changev1.GetRequest{ChangeId: "e1"})
		if err != nil {
			return err
		}
		n := 0
		for _, h := range g.GetHistory() {
			if h.GetEvent() == "ChangeReviewOverdue" {
				n++
			}
		}
		if n != 1 {
			return status.Errorf(codes.Unknown, "%d ChangeReviewOverdue events, want 1", n)
		}
		return nil
	})
	_, err = w.changes("erin").Close(ctx(t), &changev1.CloseRequest{ChangeId: "e1"})
	refused(t, "closing without the review", err, codes.FailedPrecondition, "POST_IMPLEMENTATION_REVIEW_REQUIRED", "review")

	from, to := now.Add(-time.Hour), now.Add(72*time.Hour)
	rep, err := changev1.NewComplianceServiceClient(w.p.Conn("erin")).GetComplianceReport(ctx(t), &changev1.GetComplianceReportRequest{
		From: timestamppb.New(from), To: timestamppb.New(to), Environments: []string{"production"}, Format: "markdown"})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.GetReport()
	if len(r.GetEmergencies()) != 1 || r.GetEmergencies()[0].GetReviewStatus() != "overdue" || r.GetSummary().GetReviewsOverdue() != 1 {
		t.Errorf("report's emergencies: %v (summary %v)", r.GetEmergencies(), r.GetSummary())
	}
	if ver := r.GetVerification(); !ver.GetOk() || ver.GetEvents() == 0 || ver.GetFirstPosition() != r.GetFirstPosition() || ver.GetLastPosition() != r.GetLastPosition() {
		t.Errorf("verification %v, want OK over positions %d..%d", ver, r.GetFirstPosition(), r.GetLastPosition())
	}
	if !strings.Contains(rep.GetRendered(), "e1") || !strings.Contains(rep.GetRendered(), "overdue") {
		t.Errorf("markdown lacks the emergency:\n%s", rep.GetRendered())
	}
	_, err = changev1.NewComplianceServiceClient(w.p.Conn("alice")).GetComplianceReport(ctx(t), &changev1.GetComplianceReportRequest{From: timestamppb.New(from), To: timestamppb.New(to)})
	refused(t, "a developer asking for the report", err, codes.PermissionDenied, "", "audit.read")

	if _, err := w.changes("erin").CompletePostImplementationReview(ctx(t), &changev1.CompletePostImplementationReviewRequest{ChangeId: "e1",
		RootCause: "an expired certificate", Prevention: []*changev1.Action{{Description: "alert 30 days before expiry", Owner: "dave"}}}); err != nil {
		t.Fatal(err)
	}
	if cl, err := w.changes("erin").Close(ctx(t), &changev1.CloseRequest{ChangeId: "e1"}); err != nil || !cl.GetChange().GetReview().GetLate() {
		t.Errorf("closed after a late review: %v %v", cl.GetChange(), err)
	}
}

// Freezes and their overrides: declared by operations, an override needs a
// second person with an override role, in effect during the freeze.
func TestFreezeOverride(t *testing.T) {
	w := start(t)
	now := w.clk.now()
	f, err := w.windows("dave").CreateFreeze(ctx(t), &changev1.CreateFreezeRequest{Freeze: &changev1.Freeze{
		Id: "year-end", Environments: []string{"production"}, Reason: "year-end", Start: timestamppb.New(now.Add(-time.Minute)), End: timestamppb.New(now.Add(time.Hour))}})
	if err != nil || f.GetFreeze().GetCreatedBy() != "dave" {
		t.Fatalf("freeze: %v %v", f, err)
	}
	// Operations in staging only may freeze staging, not every environment, nor production.
	everywhere := &changev1.Freeze{Id: "all", Reason: "outage", Start: timestamppb.New(now), End: timestamppb.New(now.Add(time.Hour))}
	_, err = w.windows("stageops").CreateFreeze(ctx(t), &changev1.CreateFreezeRequest{Freeze: everywhere})
	refused(t, "freezing every environment with a role in one", err, codes.PermissionDenied, "", "change.calendar")
	_, err = w.windows("stageops").DeleteFreeze(ctx(t), &changev1.DeleteFreezeRequest{Id: "year-end", Reason: "mine now"})
	refused(t, "lifting production's freeze with a role in staging", err, codes.PermissionDenied, "", "production")
	everywhere.Environments = []string{"staging"}
	if _, err := w.windows("stageops").CreateFreeze(ctx(t), &changev1.CreateFreezeRequest{Freeze: everywhere}); err != nil {
		t.Errorf("freezing staging with a role there: %v", err)
	}
	l, err := w.windows("grace").ListWindows(ctx(t), &changev1.ListWindowsRequest{Environment: "production"})
	if err != nil || len(l.GetEnvironments()) != 1 || l.GetEnvironments()[0].GetOpen() || l.GetEnvironments()[0].GetFrozenBy() != "year-end" {
		t.Fatalf("production's calendar: %v %v", l, err)
	}
	_, err = w.windows("dave").OverrideFreeze(ctx(t), &changev1.OverrideFreezeRequest{FreezeId: "year-end", Environment: "production", RequestedBy: "dave", Reason: "hotfix"})
	refused(t, "overriding for oneself", err, codes.InvalidArgument, "", "second person")
	_, err = w.windows("frank").OverrideFreeze(ctx(t), &changev1.OverrideFreezeRequest{FreezeId: "year-end", Environment: "production", RequestedBy: "bob", Reason: "hotfix"})
	refused(t, "product overriding", err, codes.PermissionDenied, "", "change.override")
	_, err = w.windows("ops2").OverrideFreeze(ctx(t), &changev1.OverrideFreezeRequest{FreezeId: "year-end", Environment: "production", RequestedBy: "bob"})
	refused(t, "an override without a reason", err, codes.InvalidArgument, "", "reason")
	o, err := w.windows("ops2").OverrideFreeze(ctx(t), &changev1.OverrideFreezeRequest{FreezeId: "year-end", Environment: "production", RequestedBy: "bob", Reason: "hotfix for mail delivery"})
	if err != nil || o.GetOverride().GetOverriddenBy() != "ops2" || o.GetOverride().GetGrantedAt() == nil {
		t.Fatalf("override: %v %v", o, err)
	}
	w.clk.add(2 * time.Hour)
	_, err = w.windows("ops2").OverrideFreeze(ctx(t), &changev1.OverrideFreezeRequest{FreezeId: "year-end", Environment: "production", RequestedBy: "bob", Reason: "again"})
	refused(t, "overriding a freeze that ended", err, codes.FailedPrecondition, "", "not in effect")
	if _, err := w.windows("dave").DeleteFreeze(ctx(t), &changev1.DeleteFreezeRequest{Id: "year-end"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("deleting without a reason: %v", err)
	}
	if _, err := w.windows("dave").DeleteFreeze(ctx(t), &changev1.DeleteFreezeRequest{Id: "year-end", Reason: "over"}); err != nil {
		t.Fatal(err)
	}
	l, err = w.windows("grace").ListWindows(ctx(t), &changev1.ListWindowsRequest{})
	if err != nil || len(l.GetFreezes()) != 1 || l.GetFreezes()[0].GetId() != "all" || len(l.GetOverrides()) != 1 {
		t.Errorf("calendar after the freeze was lifted: %v %v", l, err)
	}
}
