package releasesvc_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// TestGetReleaseAsOf: a release shown as it was at a past log position —
// before an approval, the approval missing; at it, there; before the
// release existed, NotFound — rebuilt from its events up to there.
func TestGetReleaseAsOf(t *testing.T) {
	e := startEnv(t)
	beforeAll := time.Now()
	time.Sleep(10 * time.Millisecond)
	r := createRelease(t, e, "2.1.0", releasev1.ReleaseType_RELEASE_TYPE_MINOR)
	afterCreate := time.Now() // the creation is stored; the approval not yet
	time.Sleep(10 * time.Millisecond)
	c := e.client("carol")
	if _, err := c.Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "staging", Comment: "QA passed"}); err != nil {
		t.Fatal(err)
	}
	afterApproval := time.Now()
	hist, err := c.GetHistory(ctxT(t), &releasev1.GetHistoryRequest{ReleaseId: r.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	created, approved := hist.GetEntries()[0].GetPosition(), hist.GetEntries()[len(hist.GetEntries())-1].GetPosition()
	approvals := func(pos uint64) int {
		t.Helper()
		resp, err := c.GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId(), AsOfPosition: pos})
		if err != nil {
			t.Fatalf("as of %d: %v", pos, err)
		}
		for _, env := range resp.GetRelease().GetEnvironments() {
			if env.GetEnvironment() == "staging" {
				return len(env.GetApprovals())
			}
		}
		return -1
	}
	if n := approvals(created); n != 0 {
		t.Errorf("as of its creation (position %d), staging has %d approvals", created, n)
	}
	if n := approvals(approved); n != 1 {
		t.Errorf("as of the approval (position %d), staging has %d approvals", approved, n)
	}
	// The same rendering as the live view's.
	now, err := c.GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	then, err := c.GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId(), AsOfPosition: approved})
	if err != nil {
		t.Fatal(err)
	}
	if now.GetRelease().GetAggregateVersion() != then.GetRelease().GetAggregateVersion() || now.GetRelease().GetStatus() != then.GetRelease().GetStatus() {
		t.Errorf("as of its last event the release differs from the live view: %v vs %v", then.GetRelease(), now.GetRelease())
	}
	if _, err := c.GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId(), AsOfPosition: created - 1}); status.Code(err) != codes.NotFound {
		t.Errorf("as of before its creation: %v, want NotFound", err)
	}
	// As of a moment: the last position the log had stored by then.
	atTime := func(at time.Time) (*releasev1.Release, error) {
		resp, err := c.GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId(), AsOfTime: timestamppb.New(at)})
		return resp.GetRelease(), err
	}
	for _, m := range []struct {
		name string
		at   time.Time
		want int
	}{{"after its creation", afterCreate, 0}, {"after the approval", afterApproval, 1}} {
		rel, err := atTime(m.at)
		if err != nil {
			t.Errorf("as of the moment %s: %v", m.name, err)
			continue
		}
		for _, env := range rel.GetEnvironments() {
			if env.GetEnvironment() == "staging" && len(env.GetApprovals()) != m.want {
				t.Errorf("as of the moment %s, staging has %d approvals, want %d", m.name, len(env.GetApprovals()), m.want)
			}
		}
	}
	if _, err := atTime(beforeAll); status.Code(err) != codes.NotFound {
		t.Errorf("as of a moment before it existed: %v, want NotFound", err)
	}
	if _, err := c.GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: r.GetId(), AsOfPosition: created, AsOfTime: timestamppb.Now()}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("both a position and a moment: %v, want InvalidArgument", err)
	}
}
