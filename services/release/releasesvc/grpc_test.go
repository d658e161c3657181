package releasesvc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/ident/identtest"
	"github.com/penguinmails/floe/libs/testkit"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

func createRelease(t *testing.T, e *env, version string, typ releasev1.ReleaseType, changes ...*releasev1.Change) *releasev1.Release {
	t.Helper()
	resp, err := e.client("alice").CreateRelease(ctxT(t), &releasev1.CreateReleaseRequest{
		Product: "penguinmails", Version: version, Type: typ, Title: "Release " + version, Changes: changes,
	})
	if err != nil {
		t.Fatalf("create %s: %v", version, err)
	}
	return resp.GetRelease()
}

func envState(r *releasev1.Release, name string) *releasev1.EnvironmentState {
	for _, e := range r.GetEnvironments() {
		if e.GetEnvironment() == name {
			return e
		}
	}
	return nil
}

// fieldViolations returns the BadRequest fields of a status error.
func fieldViolations(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField()+": "+v.GetDescription())
			}
		}
	}
	return out
}

func TestCreateValidation(t *testing.T) {
	e := startEnv(t)
	createRelease(t, e, "2.1.4", releasev1.ReleaseType_RELEASE_TYPE_PATCH)
	cases := []struct {
		name  string
		req   *releasev1.CreateReleaseRequest
		field string
		text  string
	}{
		{"invalid semver", &releasev1.CreateReleaseRequest{Version: "2.2", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "x"}, "version", "not a semantic version"},
		{"not greater", &releasev1.CreateReleaseRequest{Version: "2.1.3", Type: releasev1.ReleaseType_RELEASE_TYPE_PATCH, Title: "x"}, "version", "not greater than 2.1.4"},
		{"bump mismatch", &releasev1.CreateReleaseRequest{Version: "2.3.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "x"}, "version", "after 2.1.4 is 2.2.0"},
		{"type says major", &releasev1.CreateReleaseRequest{Version: "2.2.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "x"}, "version", "is 3.0.0"},
		{"unknown environment", &releasev1.CreateReleaseRequest{Version: "2.2.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "x", TargetEnvironments: []string{"development", "moon"}}, "target_environments[1]", "unknown environment"},
		{"empty title", &releasev1.CreateReleaseRequest{Version: "2.2.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "  "}, "title", "empty"},
		{"oversize description", &releasev1.CreateReleaseRequest{Version: "2.2.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "x", Description: strings.Repeat("d", 10_001)}, "description", "limit"},
		{"oversize change", &releasev1.CreateReleaseRequest{Version: "2.2.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "x",
			Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: strings.Repeat("s", 501)}}}, "changes[0].summary", "limit"},
		{"no type", &releasev1.CreateReleaseRequest{Version: "2.2.0", Title: "x"}, "type", "major, minor, patch, hotfix"},
		{"hotfix with nothing in production", &releasev1.CreateReleaseRequest{Version: "2.1.5", Type: releasev1.ReleaseType_RELEASE_TYPE_HOTFIX, Title: "x"}, "version", "production"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Product = "penguinmails"
			_, err := e.client("alice").CreateRelease(ctxT(t), tc.req)
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want InvalidArgument", status.Code(err), err)
			}
			fv := fieldViolations(err)
			if !slices.ContainsFunc(fv, func(s string) bool { return strings.HasPrefix(s, tc.field+": ") && strings.Contains(s, tc.text) }) {
				t.Errorf("field violations %q lack %s mentioning %q", fv, tc.field, tc.text)
			}
		})
	}
	// Several problems at once are all reported.
	_, err := e.client("alice").CreateRelease(ctxT(t), &releasev1.CreateReleaseRequest{Version: "x", Title: "", TargetEnvironments: []string{"moon"}})
	if fv := fieldViolations(err); len(fv) < 4 {
		t.Errorf("want every violation at once, got %q", fv)
	}
}

func TestRetriedCreateMakesOneRelease(t *testing.T) {
	e := startEnv(t)
	req := &releasev1.CreateReleaseRequest{RequestId: "ci-build-42", Product: "penguinmails", Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "First"}
	// Sequential retries and concurrent duplicates of the same request.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.client("alice").CreateRelease(ctxT(t), req)
			errs[i] = err
			ids[i] = resp.GetRelease().GetId()
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("call %d: id %q err %v; want all %q", i, ids[i], errs[i], ids[0])
		}
	}
	again, err := e.client("alice").CreateRelease(ctxT(t), req)
	if err != nil || again.GetRelease().GetId() != ids[0] {
		t.Fatalf("retry: %v %v", again, err)
	}
	list, err := e.client("alice").ListReleases(ctxT(t), &releasev1.ListReleasesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, func() error {
		list, err = e.client("alice").ListReleases(ctxT(t), &releasev1.ListReleasesRequest{})
		if err != nil {
			return fmt.Errorf("ListReleases: %w", err)
		}
		if list.GetTotal() < 1 {
			return fmt.Errorf("the list view holds %d releases, want the created one", list.GetTotal())
		}
		return nil
	})
	if list.GetTotal() != 1 {
		t.Errorf("%d releases listed, want 1", list.GetTotal())
	}
	// The same request id from another principal is another request.
	if _, err := e.client("bob").CreateRelease(ctxT(t), req); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bob reusing alice's request id for the same version = %v, want InvalidArgument (version taken)", err)
	}
}

func TestConcurrentApprovalsLandOnce(t *testing.T) {
	e := startEnv(t)
	r := createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	approvers := []string{"ops1", "ops2", "ops3", "ops4", "ops5", "ops6", "ops7", "ops8"}
	var wg sync.WaitGroup
	errs := make([]error, len(approvers))
	for i, who := range approvers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.client(who).Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production", RequestId: "approve-" + who})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", approvers[i], err)
		}
	}
	got, err := e.client("alice").GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	prod := envState(got.GetRelease(), "production")
	var who []string
	for _, a := range prod.GetApprovals() {
		who = append(who, a.GetApprover())
	}
	slices.Sort(who)
	if !slices.Equal(who, approvers) {
		t.Errorf("approvals = %v, want each of %v exactly once", who, approvers)
	}
	if prod.GetStatus() != releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED {
		t.Errorf("production status = %v, want approved", prod.GetStatus())
	}
	hist, err := e.client("alice").GetHistory(ctxT(t), &releasev1.GetHistoryRequest{ReleaseId: r.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	granted, approved := 0, 0
	for _, h := range hist.GetEntries() {
		switch h.GetEvent() {
		case "ApprovalGranted":
			granted++
		case "ReleaseApproved":
			approved++
		}
	}
	if granted != len(approvers) || approved != 1 {
		t.Errorf("history has %d ApprovalGranted and %d ReleaseApproved, want %d and 1", granted, approved, len(approvers))
	}
	// A retried approval (same request id) is accepted without a second event.
	if _, err := e.client("ops1").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production", RequestId: "approve-ops1"}); err != nil {
		t.Errorf("retried approval: %v", err)
	}
	// A new approval by the same person is refused with the reason.
	_, err = e.client("ops1").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "already approved") {
		t.Errorf("second approval = %v, want FailedPrecondition 'already approved'", err)
	}
}

func TestSeparationOfDutiesAndPermissions(t *testing.T) {
	e := startEnv(t)
	r := createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	// The author may not approve (alice is a developer: she lacks release.approve altogether).
	_, err := e.client("alice").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "staging"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "release.approve") {
		t.Errorf("developer approving = %v, want PermissionDenied naming release.approve", err)
	}
	// qa bound to staging only: may approve staging, not production.
	if _, err := e.client("stagingqa").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "staging"}); err != nil {
		t.Errorf("staging-only qa approving staging: %v", err)
	}
	_, err = e.client("stagingqa").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "production") {
		t.Errorf("staging-only qa approving production = %v, want PermissionDenied for production", err)
	}
	// Support can read but not write.
	if _, err := e.client("grace").GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId()}); err != nil {
		t.Errorf("support reading: %v", err)
	}
	if _, err := e.client("grace").CancelRelease(ctxT(t), &releasev1.CancelReleaseRequest{ReleaseId: r.GetId(), Reason: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("support cancelling = %v, want PermissionDenied", err)
	}
}

func TestPromotionFlowWithDeployerEvents(t *testing.T) {
	e := startEnv(t)
	r := createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR,
		&releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "Campaign scheduling"})
	id := r.GetId()
	bob := e.client("bob")
	// Promoting to production first is refused with every reason.
	_, err := bob.Promote(ctxT(t), &releasev1.PromoteRequest{ReleaseId: id, Environment: "production"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "staging first") || !strings.Contains(err.Error(), "approvals") {
		t.Fatalf("early production promotion = %v, want order and approval reasons", err)
	}
	if _, err := bob.Promote(ctxT(t), &releasev1.PromoteRequest{ReleaseId: id, Environment: "development"}); err != nil {
		t.Fatalf("promote development: %v", err)
	}
	deploy := deployer(t, e)
	deploy(id, "development", true)
	waitEnv(t, e, id, "development", releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED)
	if _, err := e.client("carol").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: id, Environment: "staging"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Promote(ctxT(t), &releasev1.PromoteRequest{ReleaseId: id, Environment: "staging"}); err != nil {
		t.Fatalf("promote staging: %v", err)
	}
	deploy(id, "staging", true)
	waitEnv(t, e, id, "staging", releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED)
	// The recorded ReleaseDeployed tells what went live: the notes GetReleaseNotes renders.
	deployedNotes := func() string {
		stream, err := e.Store("release").Load(ctxT(t), "release", id, nil) // reads only
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range stream.Events {
			if m, err := ev.Decode(); err == nil {
				if d, ok := m.(*releasev1.ReleaseDeployed); ok && d.GetEnvironment() == "staging" {
					if d.GetProduct() != "penguinmails" || d.GetVersion() != "1.0.0" || d.GetTitle() != r.GetTitle() {
						t.Errorf("ReleaseDeployed names %q %q %q, want penguinmails 1.0.0 %q", d.GetProduct(), d.GetVersion(), d.GetTitle(), r.GetTitle())
					}
					return d.GetNotes()
				}
			}
		}
		t.Fatal("no ReleaseDeployed for staging in the release's events")
		return ""
	}()
	if notes, err := e.client("grace").GetReleaseNotes(ctxT(t), &releasev1.GetReleaseNotesRequest{ReleaseId: id}); err != nil || notes.GetMarkdown() != deployedNotes {
		t.Errorf("ReleaseDeployed's notes differ from GetReleaseNotes (%v) (-want +got):\n%s", err, cmp.Diff(notes.GetMarkdown(), deployedNotes))
	}
	for _, who := range []string{"dave", "erin"} {
		if _, err := e.client(who).Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: id, Environment: "production"}); err != nil {
			t.Fatal(err)
		}
	}
	// dave approved, so dave's own promotion counts only erin's approval: refused.
	_, err = e.client("dave").Promote(ctxT(t), &releasev1.PromoteRequest{ReleaseId: id, Environment: "production"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "does not count") {
		t.Errorf("approver promoting = %v, want FailedPrecondition explaining separation of duties", err)
	}
	// Production requires a change request: none links the release yet.
	_, err = bob.Promote(ctxT(t), &releasev1.PromoteRequest{ReleaseId: id, Environment: "production", Strategy: "canary"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "requires an approved change request") {
		t.Fatalf("production promotion without a change = %v, want CHANGE_REQUEST_REQUIRED", err)
	}
	changeID := approvedChange(t, e, id)
	if _, err := bob.Promote(ctxT(t), &releasev1.PromoteRequest{ReleaseId: id, Environment: "production", Strategy: "canary"}); err != nil {
		t.Fatalf("promote production: %v", err)
	}
	if got := lastPromotion(t, e, id, "production").GetChangeId(); got != changeID {
		t.Errorf("PromotionRequested names change %q, want %q", got, changeID)
	}
	deploy(id, "production", false, changeID) // rolled back
	waitEnv(t, e, id, "production", releasev1.ReleaseStatus_RELEASE_STATUS_ROLLED_BACK)
	// The change service followed the deployment: implemented, then failed by the rollback.
	testkit.Eventually(t, func() error {
		c, err := changev1.NewChangeServiceClient(e.Conn("grace")).Get(ctxT(t), &changev1.GetRequest{ChangeId: changeID})
		if err != nil {
			return err
		}
		if c.GetChange().GetState() != changev1.ChangeState_CHANGE_STATE_FAILED || !strings.Contains(c.GetChange().GetReason(), "rolled back") {
			return fmt.Errorf("change is %v (%s), want failed by the rollback", c.GetChange().GetState(), c.GetChange().GetReason())
		}
		return nil
	})
	got, _ := e.client("alice").GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: id})
	if got.GetRelease().GetStatus() != releasev1.ReleaseStatus_RELEASE_STATUS_ROLLED_BACK {
		t.Errorf("overall status = %v, want rolled_back", got.GetRelease().GetStatus())
	}
	notes, err := e.client("grace").GetReleaseNotes(ctxT(t), &releasev1.GetReleaseNotesRequest{ReleaseId: id})
	if err != nil || !strings.Contains(notes.GetMarkdown(), "# Release 1.0.0 - penguinmails") || !strings.Contains(notes.GetMarkdown(), "- Campaign scheduling") {
		t.Errorf("notes = %q, %v", notes.GetMarkdown(), err)
	}
	// The environment's deployment is recorded on the product: staging runs 1.0.0,
	// so a hotfix (which needs production) is still refused, with the reason.
	_, err = e.client("alice").CreateRelease(ctxT(t), &releasev1.CreateReleaseRequest{Product: "penguinmails", Version: "1.0.1", Type: releasev1.ReleaseType_RELEASE_TYPE_HOTFIX, Title: "fix"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("hotfix with production rolled back to nothing = %v", err)
	}
}

// deployer returns a function that writes deployer events as the deployer
// service would (aggregate "deployment"): started, then succeeded or rolled back.
// A change id, when given, is the change the promotion named (the deployer copies it).
func deployer(t *testing.T, e *env) func(releaseID, env string, ok bool, changeID ...string) {
	store := e.Store("deployer")
	n := 0
	return func(releaseID, env string, ok bool, changeID ...string) {
		n++
		depID := fmt.Sprintf("dep%d", n)
		events := []eventstore.Event{{Message: &deployv1.DeploymentStarted{DeploymentId: depID, ReleaseId: releaseID, Version: "1.0.0", Environment: env, Attempt: 1, ChangeId: strings.Join(changeID, "")}}}
		if ok {
			events = append(events, eventstore.Event{Message: &deployv1.DeploymentSucceeded{DeploymentId: depID, ReleaseId: releaseID, Version: "1.0.0", Environment: env}})
		} else {
			events = append(events, eventstore.Event{Message: &deployv1.RolledBack{DeploymentId: depID, ReleaseId: releaseID, Version: "1.0.0", Environment: env, Reason: "error rate 12% > 10% for 300s"}})
		}
		if _, err := store.Append(ctxT(t), "deployment", depID, eventstore.NoStream, eventstore.Meta{Actor: "system:deployer"}, events...); err != nil {
			t.Fatal(err)
		}
	}
}

// approvedChange submits a normal change for release id in production (by
// alice), has it reviewed (erin), approved by product (frank) and operations
// (dave) and scheduled (dave) in a window open now; it returns its id.
func approvedChange(t *testing.T, e *env, id string) string {
	t.Helper()
	changes := func(who string) changev1.ChangeServiceClient { return changev1.NewChangeServiceClient(e.Conn(who)) }
	c, err := changes("alice").Submit(ctxT(t), &changev1.SubmitRequest{
		Class: changev1.ChangeClass_CHANGE_CLASS_NORMAL, Title: "Release 1.0.0 to production", Description: "Campaign scheduling",
		Type: changev1.ChangeType_CHANGE_TYPE_ENHANCEMENT, Priority: changev1.ChangePriority_CHANGE_PRIORITY_MEDIUM,
		Impact: changev1.ChangeImpact_CHANGE_IMPACT_MEDIUM, Risk: changev1.ChangeRisk_CHANGE_RISK_LOW,
		Environments: []string{"production"}, Releases: []string{id},
		Schedule:       &changev1.Timing{PlannedStart: timestamppb.Now(), DurationMinutes: 30},
		Implementation: &changev1.Plan{Steps: []*changev1.Step{{Description: "Promote with a canary", Owner: "bob"}}},
		Rollback:       &changev1.Plan{Steps: []*changev1.Step{{Description: "The monitor rolls back on errors"}}},
		Testing:        &changev1.Plan{Steps: []*changev1.Step{{Description: "Staging gates"}}},
	})
	if err != nil {
		t.Fatalf("submit a change: %v", err)
	}
	cid := c.GetChange().GetId()
	steps := []struct {
		who string
		do  func(changev1.ChangeServiceClient) error
	}{
		{"erin", func(c changev1.ChangeServiceClient) error {
			_, err := c.Review(ctxT(t), &changev1.ReviewRequest{ChangeId: cid, Outcome: "passed"})
			return err
		}},
		{"frank", func(c changev1.ChangeServiceClient) error {
			_, err := c.Approve(ctxT(t), &changev1.ApproveRequest{ChangeId: cid})
			return err
		}},
		{"dave", func(c changev1.ChangeServiceClient) error {
			_, err := c.Approve(ctxT(t), &changev1.ApproveRequest{ChangeId: cid})
			return err
		}},
		{"dave", func(c changev1.ChangeServiceClient) error {
			now := time.Now()
			_, err := c.Schedule(ctxT(t), &changev1.ScheduleRequest{ChangeId: cid, Start: timestamppb.New(now.Add(-time.Minute)), End: timestamppb.New(now.Add(time.Hour))})
			return err
		}},
	}
	for i, st := range steps {
		if err := st.do(changes(st.who)); err != nil {
			t.Fatalf("change step %d by %s: %v", i, st.who, err)
		}
	}
	return cid
}

// lastPromotion is the release's last PromotionRequested for env, from the log.
func lastPromotion(t *testing.T, e *env, id, env string) *releasev1.PromotionRequested {
	t.Helper()
	stream, err := e.Store("release").Load(ctxT(t), "release", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out *releasev1.PromotionRequested
	for _, ev := range stream.Events {
		if m, err := ev.Decode(); err == nil {
			if p, ok := m.(*releasev1.PromotionRequested); ok && p.GetEnvironment() == env {
				out = p
			}
		}
	}
	if out == nil {
		t.Fatalf("no PromotionRequested for %s", env)
	}
	return out
}

func waitEnv(t *testing.T, e *env, id, name string, want releasev1.ReleaseStatus) {
	t.Helper()
	testkit.Eventually(t, func() error {
		got, err := e.client("alice").GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: id})
		if err != nil {
			return fmt.Errorf("GetRelease %s: %w", id, err)
		}
		if st := envState(got.GetRelease(), name).GetStatus(); st != want {
			return fmt.Errorf("status of %s in %s is %v, want %v", id, name, st, want)
		}
		return nil
	})
}

func TestRestartServesSameState(t *testing.T) {
	e := startEnv(t)
	r := createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	if _, err := e.client("carol").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "staging", Comment: "lgtm"}); err != nil {
		t.Fatal(err)
	}
	before, _ := e.client("alice").GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId()})
	e.restart()
	after, err := e.client("alice").GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if b, a := before.GetRelease(), after.GetRelease(); a.GetAggregateVersion() != b.GetAggregateVersion() || a.GetStatus() != b.GetStatus() ||
		len(envState(a, "staging").GetApprovals()) != 1 || a.GetUpdatedAt().AsTime() != b.GetUpdatedAt().AsTime() {
		t.Errorf("after restart %v\nbefore %v", a, b)
	}
	testkit.Eventually(t, func() error {
		l, err := e.client("alice").ListReleases(ctxT(t), &releasev1.ListReleasesRequest{Status: releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED})
		if err != nil {
			return fmt.Errorf("ListReleases after restart: %w", err)
		}
		var ids []string
		for _, rel := range l.GetReleases() {
			ids = append(ids, rel.GetId())
		}
		if l.GetTotal() != 1 || len(ids) == 0 || ids[0] != r.GetId() {
			return fmt.Errorf("after restart the list view of approved releases holds %d: %v; want only %s", l.GetTotal(), ids, r.GetId())
		}
		return nil
	})
}

func TestListFiltersAndPages(t *testing.T) {
	e := startEnv(t)
	createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	for i := 1; i <= 6; i++ {
		createRelease(t, e, fmt.Sprintf("1.%d.0", i), releasev1.ReleaseType_RELEASE_TYPE_MINOR,
			&releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: fmt.Sprintf("feature number %d", i)})
	}
	c := e.client("grace")
	testkit.Eventually(t, func() error {
		l, err := c.ListReleases(ctxT(t), &releasev1.ListReleasesRequest{})
		if err != nil {
			return fmt.Errorf("ListReleases: %w", err)
		}
		if l.GetTotal() != 7 {
			return fmt.Errorf("the list view holds %d releases, want 7", l.GetTotal())
		}
		return nil
	})
	var seen []string
	token := ""
	for {
		l, err := c.ListReleases(ctxT(t), &releasev1.ListReleasesRequest{Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, PageSize: 4, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.GetReleases() {
			seen = append(seen, r.GetVersion())
		}
		if token = l.GetNextPageToken(); token == "" {
			break
		}
	}
	if want := []string{"1.6.0", "1.5.0", "1.4.0", "1.3.0", "1.2.0", "1.1.0"}; !slices.Equal(seen, want) {
		t.Errorf("paged minors = %v, want %v", seen, want)
	}
	l, err := c.ListReleases(ctxT(t), &releasev1.ListReleasesRequest{Text: "NUMBER 3"})
	if err != nil || l.GetTotal() != 1 || l.GetReleases()[0].GetVersion() != "1.3.0" {
		t.Errorf("text search = %v, %v", l, err)
	}
	_, err = c.ListReleases(ctxT(t), &releasev1.ListReleasesRequest{PageToken: "garbage", Environment: "moon", PageSize: 1000})
	if fv := fieldViolations(err); len(fv) != 3 {
		t.Errorf("bad list request violations = %q, want page_token, environment and page_size", fv)
	}
}

func TestWatchRelease(t *testing.T) {
	e := startEnv(t)
	r := createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	stream, err := e.client("grace").WatchRelease(ctxT(t), &releasev1.WatchReleaseRequest{ReleaseId: r.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil || first.GetRelease().GetId() != r.GetId() || first.GetEvent() != "" {
		t.Fatalf("first watch message = %v, %v", first, err)
	}
	if _, err := e.client("carol").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "staging"}); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) || err != nil {
			t.Fatalf("watch ended: %v", err)
		}
		if envState(msg.GetRelease(), "staging").GetStatus() == releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED {
			break
		}
	}
	if _, err := e.client("grace").WatchRelease(ctxT(t), &releasev1.WatchReleaseRequest{ReleaseId: "bad.id"}); err != nil {
		t.Fatal(err) // the error arrives on Recv
	}
	s2, _ := e.client("grace").WatchRelease(ctxT(t), &releasev1.WatchReleaseRequest{ReleaseId: "nope"})
	if _, err := s2.Recv(); status.Code(err) != codes.NotFound {
		t.Errorf("watching an unknown release = %v, want NotFound", err)
	}
}

func TestIllegalTransitions(t *testing.T) {
	e := startEnv(t)
	r := createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	if _, err := e.client("bob").CancelRelease(ctxT(t), &releasev1.CancelReleaseRequest{ReleaseId: r.GetId(), Reason: "superseded"}); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"update after cancel": func() error {
			_, err := e.client("alice").UpdateRelease(ctxT(t), &releasev1.UpdateReleaseRequest{ReleaseId: r.GetId(), Title: "new"})
			return err
		},
		"promote after cancel": func() error {
			_, err := e.client("bob").Promote(ctxT(t), &releasev1.PromoteRequest{ReleaseId: r.GetId(), Environment: "development"})
			return err
		},
		"cancel twice": func() error {
			_, err := e.client("bob").CancelRelease(ctxT(t), &releasev1.CancelReleaseRequest{ReleaseId: r.GetId(), Reason: "again"})
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("%s = %v, want FailedPrecondition mentioning cancelled", name, err)
		}
	}
	if _, err := e.client("alice").GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: "01JUNKJUNKJUNKJUNKJUNKJUNK"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown release = %v, want NotFound", err)
	}
}

// identifierFields are the release service's fields that name an
// aggregate or an environment, each sent by an RPC whose other fields are
// valid; id is an existing release, for the environments checked beside it.
func identifierFields(e *env, id string) []identtest.Field {
	alice, bob := e.client("alice"), e.client("bob") // author; release manager (release.*)
	const unknownEnv = "unknown environment"
	major := releasev1.ReleaseType_RELEASE_TYPE_MAJOR
	product := func(rpc string, optional bool, call func(ctx context.Context, v string) error) identtest.Field {
		return identtest.Field{RPC: rpc, Name: "product", Optional: optional, Rule: domain.NamePattern, Valid: domain.ProductName.Valid, Call: call}
	}
	environment := func(rpc string, optional bool, call func(ctx context.Context, v string) error) identtest.Field {
		known := func(v string) bool { _, ok := domain.DefaultEnvironments().Get(v); return ok }
		return identtest.Field{RPC: rpc, Name: "environment", Optional: optional, Rule: unknownEnv, Valid: known, Call: call}
	}
	releaseID := func(rpc string, call func(ctx context.Context, v string) error) identtest.Field {
		return identtest.Field{RPC: rpc, Name: "release_id", Rule: ident.Pattern, Call: call}
	}
	return []identtest.Field{
		product("CreateRelease", false, func(ctx context.Context, v string) error {
			_, err := alice.CreateRelease(ctx, &releasev1.CreateReleaseRequest{Product: v, Version: "1.0.0", Type: major, Title: "x"})
			return err
		}),
		product("ListReleases", true, func(ctx context.Context, v string) error {
			_, err := alice.ListReleases(ctx, &releasev1.ListReleasesRequest{Product: v})
			return err
		}),
		environment("ListReleases", true, func(ctx context.Context, v string) error {
			_, err := alice.ListReleases(ctx, &releasev1.ListReleasesRequest{Environment: v})
			return err
		}),
		releaseID("GetRelease", func(ctx context.Context, v string) error {
			_, err := alice.GetRelease(ctx, &releasev1.GetReleaseRequest{ReleaseId: v})
			return err
		}),
		releaseID("UpdateRelease", func(ctx context.Context, v string) error {
			_, err := bob.UpdateRelease(ctx, &releasev1.UpdateReleaseRequest{ReleaseId: v, Title: "x"})
			return err
		}),
		releaseID("AddChange", func(ctx context.Context, v string) error {
			_, err := bob.AddChange(ctx, &releasev1.AddChangeRequest{ReleaseId: v, Change: &releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "x"}})
			return err
		}),
		releaseID("Approve", func(ctx context.Context, v string) error {
			_, err := bob.Approve(ctx, &releasev1.ApproveRequest{ReleaseId: v, Environment: "staging"})
			return err
		}),
		environment("Approve", false, func(ctx context.Context, v string) error {
			_, err := bob.Approve(ctx, &releasev1.ApproveRequest{ReleaseId: id, Environment: v})
			return err
		}),
		releaseID("Reject", func(ctx context.Context, v string) error {
			_, err := bob.Reject(ctx, &releasev1.RejectRequest{ReleaseId: v, Environment: "staging", Reason: "x"})
			return err
		}),
		environment("Reject", false, func(ctx context.Context, v string) error {
			_, err := bob.Reject(ctx, &releasev1.RejectRequest{ReleaseId: id, Environment: v, Reason: "x"})
			return err
		}),
		releaseID("Promote", func(ctx context.Context, v string) error {
			_, err := bob.Promote(ctx, &releasev1.PromoteRequest{ReleaseId: v, Environment: "development"})
			return err
		}),
		environment("Promote", false, func(ctx context.Context, v string) error {
			_, err := bob.Promote(ctx, &releasev1.PromoteRequest{ReleaseId: id, Environment: v})
			return err
		}),
		releaseID("CancelRelease", func(ctx context.Context, v string) error {
			_, err := bob.CancelRelease(ctx, &releasev1.CancelReleaseRequest{ReleaseId: v, Reason: "x"})
			return err
		}),
		releaseID("AddPrerequisite", func(ctx context.Context, v string) error {
			_, err := bob.AddPrerequisite(ctx, &releasev1.AddPrerequisiteRequest{ReleaseId: v, Type: releasev1.PrerequisiteType_PREREQUISITE_TYPE_DATABASE, Description: "x"})
			return err
		}),
		releaseID("UpdatePrerequisite", func(ctx context.Context, v string) error {
			_, err := bob.UpdatePrerequisite(ctx, &releasev1.UpdatePrerequisiteRequest{ReleaseId: v, PrerequisiteId: "p1", Status: releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_COMPLETED})
			return err
		}),
		releaseID("SetRiskAssessment", func(ctx context.Context, v string) error {
			_, err := bob.SetRiskAssessment(ctx, &releasev1.SetRiskAssessmentRequest{ReleaseId: v, Impact: releasev1.RiskImpact_RISK_IMPACT_LOW, Likelihood: releasev1.RiskLikelihood_RISK_LIKELIHOOD_LOW})
			return err
		}),
		releaseID("GetReleaseNotes", func(ctx context.Context, v string) error {
			_, err := alice.GetReleaseNotes(ctx, &releasev1.GetReleaseNotesRequest{ReleaseId: v})
			return err
		}),
		releaseID("GetHistory", func(ctx context.Context, v string) error {
			_, err := alice.GetHistory(ctx, &releasev1.GetHistoryRequest{ReleaseId: v})
			return err
		}),
		releaseID("WatchRelease", func(ctx context.Context, v string) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel() // a watch of an existing release runs until cancelled
			stream, err := alice.WatchRelease(ctx, &releasev1.WatchReleaseRequest{ReleaseId: v})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}),
	}
}

// TestIdentifierFieldsRefused: every field that names an aggregate or an
// environment refuses NATS wildcards and separators, a space, non-ASCII
// letters, the empty string (where a value is required), 65 characters and a
// NUL with InvalidArgument naming the field and its rule, and appends nothing.
func TestIdentifierFieldsRefused(t *testing.T) {
	e := startEnv(t)
	id := createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR).GetId()
	identtest.Run(t, identifierFields(e, id), e.LogPosition)
}

// TestCreateReleaseRequiresProduct: an empty product is refused (it used to
// become "default"), with every other problem of the request at once.
func TestCreateReleaseRequiresProduct(t *testing.T) {
	e := startEnv(t)
	_, err := e.client("alice").CreateRelease(ctxT(t), &releasev1.CreateReleaseRequest{Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "x"})
	if fv := fieldViolations(err); status.Code(err) != codes.InvalidArgument || !slices.Equal(fv, []string{"product: is required"}) {
		t.Fatalf("create without a product = %v %q, want InvalidArgument with only product: is required", status.Code(err), fv)
	}
	_, err = e.client("alice").CreateRelease(ctxT(t), &releasev1.CreateReleaseRequest{Product: "a b", Version: "x", TargetEnvironments: []string{"moon"}})
	var fields []string
	for _, v := range fieldViolations(err) {
		fields = append(fields, v[:strings.Index(v, ":")])
	}
	if want := []string{"product", "type", "version", "title", "target_environments[0]"}; !slices.Equal(fields, want) {
		t.Errorf("violated fields = %q, want %q", fields, want)
	}
	// A product that is an identifier but not a product name is refused the same way.
	_, err = e.client("alice").CreateRelease(ctxT(t), &releasev1.CreateReleaseRequest{Product: "Shop", Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "x"})
	want := `product: "Shop" is not a valid product name: ` + domain.NameDescription + " (" + domain.NamePattern + ")"
	if fv := fieldViolations(err); !slices.Equal(fv, []string{want}) {
		t.Errorf("product Shop: violations %q, want %q", fv, want)
	}
	if n := e.LogPosition(t); n != 0 {
		t.Errorf("refused creates appended %d events", n)
	}
}
