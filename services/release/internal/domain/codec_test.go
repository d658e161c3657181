package domain_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// A snapshot round trip keeps everything the release renders and everything
// its next decisions read: the restored release takes further events and
// decides exactly as the original.
func TestReleaseSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	scenarios := map[string]*domain.Release{
		"new":      domain.NewRelease(),
		"planned":  releaseFrom(t, planned220()),
		"approved": releaseFrom(t, planned220(), approval("staging", "rita", 1), approval("production", "otto", 1)),
		"everything": releaseFrom(t, planned220(), approval("staging", "rita", 1),
			by("alice", &releasev1.ReleaseUpdated{Title: "T", Description: "D", TargetEnvironments: []string{"development", "staging", "production"},
				Schedule: &releasev1.Schedule{WindowStart: timestamppb.New(t0), WindowEnd: timestamppb.New(t0.Add(time.Hour))}, ContentChanged: true}),
			by("alice", &releasev1.RiskAssessed{Risk: &releasev1.RiskAssessment{Impact: releasev1.RiskImpact_RISK_IMPACT_HIGH, Likelihood: releasev1.RiskLikelihood_RISK_LIKELIHOOD_LOW}}),
			prereq("p1", "production", pending, timestamppb.New(now.Add(-time.Hour))),
			deployedTo("development"),
			by("erin", &releasev1.ReleaseRejected{Environment: "staging", RejectedBy: "erin", Reason: "no", ContentRevision: 2}),
		),
		"cancelled": releaseFrom(t, planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "superseded"})),
		"relayed by a delegate": releaseFrom(t, planned220(),
			by("rita", &releasev1.ApprovalGranted{Environment: "production", Approver: "rita", ContentRevision: 1, Via: "slack", Delegate: "notifier"}),
			by("sam", &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "no", ContentRevision: 1, Via: "slack", Delegate: "notifier"})),
	}
	for name, r := range scenarios {
		t.Run(name, func(t *testing.T) {
			b, err := domain.MarshalRelease(r)
			mustOK(t, err)
			back, err := domain.UnmarshalRelease(b)
			mustOK(t, err)
			if diff := cmp.Diff(view(r), view(back), protocmp.Transform()); diff != "" {
				t.Errorf("rendered after the round trip (-want +got):\n%s", diff)
			}
			if r.Status() != back.Status() || r.CancelReason() != back.CancelReason() {
				t.Errorf("status %v/%v, cancel reason %q/%q", r.Status(), back.Status(), r.CancelReason(), back.CancelReason())
			}
			if !r.Exists() {
				return
			}
			// The same next decision and the same state after it.
			next := by("otto", &releasev1.ApprovalGranted{Environment: "production", Approver: "otto", ContentRevision: view(r).GetContentRevision()})
			for _, x := range []*domain.Release{r, back} {
				domain.Apply(x, next[0].msg, domain.Meta{Actor: "otto", Time: now})
			}
			a, errA := domain.Promote(r, relID, dave, "staging", anyStrategy, envs, nil, nil, now)
			b2, errB := domain.Promote(back, relID, dave, "staging", anyStrategy, envs, nil, nil, now)
			if diff := cmp.Diff(a, b2, protocmp.Transform()); diff != "" || (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
				t.Errorf("decisions differ: %v / %v (-orig +restored):\n%s", errA, errB, diff)
			}
			if diff := cmp.Diff(view(r), view(back), protocmp.Transform()); diff != "" {
				t.Errorf("after one more event (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := domain.UnmarshalRelease([]byte(`{"changes":[{"kind":7}]`)); err == nil {
		t.Error("a truncated snapshot decoded")
	}
}

// Every refusal carries the catalogued reason a client switches on.
func TestRefusalKinds(t *testing.T) {
	t.Parallel()
	reason := func(name string) errorsv1.ErrorReason {
		return errorsv1.ErrorReason(errorsv1.ErrorReason_value["ERROR_REASON_"+name])
	}
	t.Run("approval by the author and the promoter, twice", func(t *testing.T) {
		byRita := releaseFrom(t, createdBy("rita", "2.2.0", minor))
		_, err := domain.Approve(byRita, relID, rita, domain.Channel{}, "staging", "", envs)
		wantKinds(t, err, reason("APPROVAL_BY_AUTHOR"))
		r := releaseFrom(t, planned220(), deployedTo("development"), approval("staging", "quinn", 1), promoted("staging", "quinn", 1),
			system(&releasev1.ReleaseDeploymentFailed{Environment: "staging"}))
		_, err = domain.Approve(r, relID, quinn, domain.Channel{}, "staging", "", envs)
		wantKinds(t, err, reason("APPROVAL_BY_PROMOTER"), reason("ALREADY_APPROVED"))
	})
	t.Run("promotion refused for several reasons", func(t *testing.T) {
		r := releaseFrom(t, planned220(), by("erin", &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "erin", Reason: "no", ContentRevision: 1}),
			prereq("p1", "production", pending, nil))
		_, err := domain.Promote(r, relID, dave, "production", anyStrategy, envs, func(string, string, bool) []string { return []string{"gate: e2e failed"} }, nil, now)
		wantKinds(t, err, reason("PROMOTION_ORDER"), reason("APPROVALS_MISSING"), reason("RELEASE_REJECTED"), reason("PREREQUISITE_NOT_MET"))
		// Gates are asked about the environments the release has reached.
		r = releaseFrom(t, planned220(), deployedTo("development"), deployedTo("staging"), prereq("p1", "production", pending, nil))
		_, err = domain.Promote(r, relID, dave, "production", anyStrategy, envs, func(string, string, bool) []string { return []string{"gate: e2e failed"} }, nil, now)
		wantKinds(t, err, reason("APPROVALS_MISSING"), reason("PREREQUISITE_NOT_MET"), reason("GATE_NOT_PASSED"))
	})
	t.Run("busy, deployed, cancelled, not a target, not editable", func(t *testing.T) {
		deploying := releaseFrom(t, planned220(), promoted("development", "dave", 1))
		_, err := domain.Promote(deploying, relID, dave, "development", anyStrategy, envs, nil, nil, now)
		wantKinds(t, err, reason("ENVIRONMENT_BUSY"))
		_, err = domain.Cancel(deploying, relID, "stop")
		wantKinds(t, err, reason("ENVIRONMENT_BUSY"))
		_, err = domain.AddChange(deploying, relID, &releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "late"})
		wantKinds(t, err, reason("RELEASE_NOT_EDITABLE"))
		deployed := releaseFrom(t, planned220(), deployedTo("development"))
		_, err = domain.Promote(deployed, relID, dave, "development", anyStrategy, envs, nil, nil, now)
		wantKinds(t, err, reason("ALREADY_DEPLOYED"))
		cancelled := releaseFrom(t, planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "x"}))
		_, err = domain.Reject(cancelled, relID, rita, domain.Channel{}, "staging", "late", envs)
		wantKinds(t, err, reason("RELEASE_CANCELLED"))
		onlyDev := releaseFrom(t, created("2.2.0", minor, "development"))
		_, err = domain.Approve(onlyDev, relID, rita, domain.Channel{}, "staging", "", envs)
		wantKinds(t, err, reason("NOT_A_TARGET"))
	})
}
