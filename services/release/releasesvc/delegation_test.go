package releasesvc_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/testkit"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// grantDelegation gives the notifier an acts_for grant in the process's
// tokens file (testkit writes none) and waits until the server has read it.
func grantDelegation(t *testing.T, e *env, g *auth.ActsFor) {
	t.Helper()
	path := e.Runtime.Config().Auth.TokensFile
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := auth.ParseTokensFile(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tf.Principals {
		if tf.Principals[i].ID == "notifier" {
			tf.Principals[i].ActsFor = g
		}
	}
	if data, err = tf.Marshal(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute) // a modification time the server has not seen
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	// The file is re-read at most every 2 s: until then the grant is missing.
	testkit.Eventually(t, func() error {
		_, err := e.client("notifier").Approve(auth.OnBehalfOf(ctxT(t), g.Principals[0], "slack"),
			&releasev1.ApproveRequest{ReleaseId: "01JNOTARELEASE0000000000000", Environment: "staging"})
		if err != nil && strings.Contains(err.Error(), "holds no acts_for grant") {
			return fmt.Errorf("the grant is not in force yet: %v", err)
		}
		return nil
	})
}

// TestApproveOnBehalfOf: the notifier, granted acts_for on Approve and
// Reject for some principals, relays their decisions. Each event is the
// principal's (actor, approver, separation of duties, approver roles) and
// records the channel and the notifier; everything outside the grant, or
// sent by a principal without one, is refused and appends nothing.
func TestApproveOnBehalfOf(t *testing.T) {
	e := startEnv(t)
	grantDelegation(t, e, &auth.ActsFor{
		Methods: []string{
			releasev1.ReleaseService_Approve_FullMethodName, releasev1.ReleaseService_Reject_FullMethodName,
			releasev1.ReleaseService_GetRelease_FullMethodName, // granted, but the method records no delegation
		},
		Principals: []string{"carol", "bob", "alice", "grace"},
	})
	r := createRelease(t, e, "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR) // by alice
	notifier := e.client("notifier")
	onBehalf := func(who string) context.Context { return auth.OnBehalfOf(ctxT(t), who, "slack") }

	// carol approves staging from Slack.
	resp, err := notifier.Approve(onBehalf("carol"), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "staging", Comment: "from slack", RequestId: "slack-a1"})
	if err != nil {
		t.Fatalf("approve on behalf of carol: %v", err)
	}
	approvals := envState(resp.GetRelease(), "staging").GetApprovals()
	if len(approvals) != 1 || approvals[0].GetApprover() != "carol" || approvals[0].GetVia() != "slack" || approvals[0].GetDelegate() != "notifier" {
		t.Errorf("staging approvals = %v, want carol's via slack relayed by notifier", approvals)
	}
	// A retry of the same Slack action is the same request.
	if _, err := notifier.Approve(onBehalf("carol"), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "staging", Comment: "from slack", RequestId: "slack-a1"}); err != nil {
		t.Errorf("retried approval: %v", err)
	}
	// bob rejects production from Slack.
	if _, err := notifier.Reject(onBehalf("bob"), &releasev1.RejectRequest{ReleaseId: r.GetId(), Environment: "production", Reason: "not this week"}); err != nil {
		t.Fatalf("reject on behalf of bob: %v", err)
	}
	// dave approves production directly: nothing relayed.
	if _, err := e.client("dave").Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production"}); err != nil {
		t.Fatalf("dave approving: %v", err)
	}

	// The log: each event's actor is the principal; the body names the channel and the delegate.
	type recorded struct {
		Actor string
		Event proto.Message
	}
	var got []recorded
	st, err := e.Store("release").Load(ctxT(t), "release", r.GetId(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range st.Events {
		m, err := ev.Decode()
		if err != nil {
			t.Fatal(err)
		}
		switch m.(type) {
		case *releasev1.ApprovalGranted, *releasev1.ReleaseRejected:
			got = append(got, recorded{ev.Actor, m})
		}
	}
	want := []recorded{
		{"carol", &releasev1.ApprovalGranted{Environment: "staging", Approver: "carol", Comment: "from slack", ContentRevision: 1, Roles: []string{"qa"}, Via: "slack", Delegate: "notifier"}},
		{"bob", &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "bob", Reason: "not this week", ContentRevision: 1, Via: "slack", Delegate: "notifier"}},
		{"dave", &releasev1.ApprovalGranted{Environment: "production", Approver: "dave", ContentRevision: 1, Roles: []string{"operations"}}},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("approvals and rejections in the log (-want +got):\n%s", diff)
	}
	hist, err := e.client("alice").GetHistory(ctxT(t), &releasev1.GetHistoryRequest{ReleaseId: r.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, h := range hist.GetEntries() {
		if h.GetEvent() == "ApprovalGranted" || h.GetEvent() == "ReleaseRejected" {
			summaries = append(summaries, h.GetSummary())
		}
	}
	wantSummaries := []string{
		"carol approved for staging as qa (via slack, relayed by notifier)",
		"bob rejected for production: not this week (via slack, relayed by notifier)",
		"dave approved for production as operations",
	}
	if diff := cmp.Diff(wantSummaries, summaries); diff != "" {
		t.Errorf("history summaries (-want +got):\n%s", diff)
	}

	// bob wrote this one: separation of duties applies to him through Slack too.
	bobs, err := e.client("bob").CreateRelease(ctxT(t), &releasev1.CreateReleaseRequest{Product: "other", Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "Bob's"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.LogPosition(t)
	refusals := []struct {
		name     string
		call     func() error
		code     codes.Code
		contains []string
	}{
		{
			name: "the author, through a delegate",
			call: func() error {
				_, err := notifier.Approve(onBehalf("bob"), &releasev1.ApproveRequest{ReleaseId: bobs.GetRelease().GetId(), Environment: "production"})
				return err
			},
			code: codes.FailedPrecondition, contains: []string{"separation of duties: bob created the release"},
		},
		{
			// alice wrote the release and is a developer: her roles, not the notifier's, decide.
			name: "a principal without an approver role",
			call: func() error {
				_, err := notifier.Approve(onBehalf("alice"), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production"})
				return err
			},
			code: codes.PermissionDenied, contains: []string{`alice lacks permission "release.approve"`},
		},
		{
			name: "a principal outside the grant",
			call: func() error {
				_, err := notifier.Approve(onBehalf("frank"), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production"})
				return err
			},
			code: codes.PermissionDenied, contains: []string{`notifier lacks permission "acts_for"`, "does not cover the principal"},
		},
		{
			name: "a method outside the grant",
			call: func() error {
				_, err := notifier.Promote(onBehalf("carol"), &releasev1.PromoteRequest{ReleaseId: r.GetId(), Environment: "development"})
				return err
			},
			code: codes.PermissionDenied, contains: []string{"may not call " + releasev1.ReleaseService_Promote_FullMethodName, "does not cover the method"},
		},
		{
			name: "a granted method that records no delegation",
			call: func() error {
				_, err := notifier.GetRelease(onBehalf("carol"), &releasev1.GetReleaseRequest{ReleaseId: r.GetId()})
				return err
			},
			code: codes.PermissionDenied, contains: []string{"does not accept delegated calls"},
		},
		{
			name: "a principal with no grant sending the headers",
			call: func() error {
				_, err := e.client("frank").Approve(auth.OnBehalfOf(ctxT(t), "carol", "slack"), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production"})
				return err
			},
			code: codes.PermissionDenied, contains: []string{"frank holds no acts_for grant"},
		},
		{
			name: "a channel that is not a short token",
			call: func() error {
				_, err := notifier.Approve(auth.OnBehalfOf(ctxT(t), "carol", "Slack workspace"), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production"})
				return err
			},
			code: codes.InvalidArgument, contains: []string{auth.ViaHeader, "[a-z0-9-]{1,32}"},
		},
		{
			name: "the notifier as itself (no roles)",
			call: func() error {
				_, err := notifier.Approve(ctxT(t), &releasev1.ApproveRequest{ReleaseId: r.GetId(), Environment: "production"})
				return err
			},
			code: codes.PermissionDenied, contains: []string{`notifier lacks permission "release.approve"`, "no roles"},
		},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != tc.code {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tc.code)
			}
			for _, c := range tc.contains {
				if !strings.Contains(status.Convert(err).Message(), c) {
					t.Errorf("message %q does not say %q", status.Convert(err).Message(), c)
				}
			}
			if tc.code == codes.PermissionDenied && errs.ReasonOf(err) != "PERMISSION_DENIED" {
				t.Errorf("reason = %q, want PERMISSION_DENIED", errs.ReasonOf(err))
			}
		})
	}
	if after := e.LogPosition(t); after != before {
		t.Errorf("the refused calls moved the log from %d to %d", before, after)
	}
}
