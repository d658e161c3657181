package releasesvc_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// TestGetReleaseAsOf: a release shown as it was at a past log position —
// before an approval, the approval missing; at it, there; before the
// release existed, NotFound — rebuilt from its events up to there.
func TestGetReleaseAsOf(t *testing.T) {
	e := startEnv(t)
	r := createRelease(t, e, "2.1.0", releasev1.ReleaseType_RELEASE_TYPE_MINOR)
	c := e.client("carol")
	if _, err := c.Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "staging", Comment: "QA passed"}); err != nil {
		t.Fatal(err)
	}
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
}
