package flagsvc_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

// Where the environments' policy requires approvals (the built-in one:
// staging 1 of qa or release-manager, production 2 of release-manager,
// operations, product or security), a set, patch or promotion is a proposal
// that becomes a version only when enough approvers other than its
// proposer approve it; rejections and withdrawals drop it; it survives a
// restart.
func TestConfigApprovals(t *testing.T) {
	w := start(t)
	ctx := ctxT(t)
	alice, carol, bob, dave, erin, grace := w.config("alice"), w.config("carol"), w.config("bob"), w.config("dave"), w.config("erin"), w.config("grace")
	pending := configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_PENDING

	// Staging: one approval.
	r, err := alice.SetConfig(ctx, &configv1.SetConfigRequest{Environment: "staging", Document: stagingDoc, Reason: "first"})
	if err != nil {
		t.Fatal(err)
	}
	p := r.GetProposal()
	if r.GetConfig() != nil || p.GetProposal() != 1 || p.GetStatus() != pending || p.GetRequiredApprovals() != 1 || p.GetProposedBy() != "alice" ||
		p.GetBaseVersion() != 0 || p.GetVersion() != 1 || len(p.GetChanges()) != 3 {
		t.Fatalf("a set in staging must be a pending proposal of 3 changes: %v", r)
	}
	g, err := grace.GetConfig(ctx, &configv1.GetConfigRequest{Environment: "staging"})
	if err != nil || g.GetConfig() != nil || g.GetPending().GetProposal() != 1 {
		t.Fatalf("get while the first version is proposed: %v %v", g, err)
	}
	if _, err := alice.ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "staging", Proposal: 1}); status.Code(err) != codes.PermissionDenied ||
		!strings.Contains(err.Error(), "qa, release-manager") {
		t.Fatalf("approval by a developer: %v", err)
	}
	a, err := carol.ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "staging", Proposal: 1, Comment: "checked the pool sizes"})
	if err != nil {
		t.Fatal(err)
	}
	if c := a.GetConfig(); c.GetVersion() != 1 || c.GetProposal() != 1 || strings.Join(c.GetApprovers(), ",") != "carol" || c.GetActor() != "carol" ||
		a.GetProposal().GetStatus() != configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_APPLIED {
		t.Fatalf("the approved proposal must become version 1: %v", a)
	}

	// Production: a promotion needs two approvers, neither the proposer.
	pr, err := alice.PromoteConfig(ctx, &configv1.PromoteConfigRequest{From: &configv1.ConfigRef{Environment: "staging"}, ToEnvironment: "production", Reason: "release 1.4"})
	if err != nil || pr.GetConfig() != nil || pr.GetProposal().GetRequiredApprovals() != 2 || pr.GetProposal().GetSource() != configv1.ConfigSource_CONFIG_SOURCE_PROMOTION {
		t.Fatalf("promotion to production: %v %v", pr, err)
	}
	if _, err := dave.PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "production", Patch: `{"x-note": "a"}`, Reason: "meanwhile"}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "proposal 1") {
		t.Fatalf("a second proposal while one is pending: %v", err)
	}
	if a, err = bob.ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "production", Proposal: 1}); err != nil || a.GetConfig() != nil ||
		len(a.GetProposal().GetApprovals()) != 1 || a.GetProposal().GetStatus() != pending {
		t.Fatalf("first approval: %v %v", a, err)
	}
	if _, err := bob.ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "production", Proposal: 1}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("the same approver twice: %v", err)
	}
	w.Restart() // the half-approved proposal is in the log
	dave, erin, grace = w.config("dave"), w.config("erin"), w.config("grace")
	if a, err = dave.ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "production", Proposal: 1}); err != nil {
		t.Fatal(err)
	}
	if c := a.GetConfig(); c.GetVersion() != 1 || strings.Join(c.GetApprovers(), ",") != "bob,dave" || c.GetFromEnvironment() != "staging" {
		t.Fatalf("second approval must make version 1: %v", a)
	}

	// Rejected by an approver; withdrawn by its proposer; never approved by its proposer.
	px, err := w.config("alice").PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "production", Patch: `{"database": {"connectionPool": {"max": 200}}}`, Reason: "more"})
	if err != nil || px.GetProposal().GetProposal() != 2 {
		t.Fatalf("patch proposal: %v %v", px, err)
	}
	if _, err := grace.RejectConfigChange(ctx, &configv1.RejectConfigChangeRequest{Environment: "production", Proposal: 2, Reason: "no"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("rejection by support: %v", err)
	}
	if _, err := erin.RejectConfigChange(ctx, &configv1.RejectConfigChangeRequest{Environment: "production", Proposal: 2}); fieldsOf(t, err)["reason"] == "" {
		t.Fatalf("rejection without a reason: %v", err)
	}
	rj, err := erin.RejectConfigChange(ctx, &configv1.RejectConfigChangeRequest{Environment: "production", Proposal: 2, Reason: "200 connections exhaust the database"})
	if err != nil || rj.GetProposal().GetStatus() != configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_REJECTED || rj.GetProposal().GetRejectedBy() != "erin" {
		t.Fatalf("rejection: %v %v", rj, err)
	}
	if _, err := dave.ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "production", Proposal: 2}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("approving a rejected proposal: %v", err)
	}
	if _, err := dave.ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "production", Proposal: 9}); status.Code(err) != codes.NotFound {
		t.Fatalf("approving a proposal never made: %v", err)
	}
	if _, err := dave.PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "production", Patch: `{"x-note": "b"}`, Reason: "note"}); err != nil {
		t.Fatal(err)
	}
	if _, err := dave.ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "production", Proposal: 3}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "separation of duties") {
		t.Fatalf("approval by the proposer: %v", err)
	}
	wd, err := dave.RejectConfigChange(ctx, &configv1.RejectConfigChangeRequest{Environment: "production", Proposal: 3, Reason: "not needed"})
	if err != nil || wd.GetProposal().GetStatus() != configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_WITHDRAWN {
		t.Fatalf("withdrawal: %v %v", wd, err)
	}

	// Production is still at the approved version; its history names the approvals.
	g, err = grace.GetConfig(ctx, &configv1.GetConfigRequest{Environment: "production"})
	if err != nil || g.GetConfig().GetVersion() != 1 || g.GetPending() != nil {
		t.Fatalf("production after the rejections: %v %v", g, err)
	}
	// Environments without approvals change at once (development).
	if r, err := w.config("alice").SetConfig(ctx, &configv1.SetConfigRequest{Environment: "development", Document: stagingDoc, Reason: "first"}); err != nil || r.GetConfig().GetVersion() != 1 || r.GetProposal() != nil {
		t.Fatalf("development: %v %v", r, err)
	}
}
