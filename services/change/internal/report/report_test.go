package report_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/internal/report"
)

func TestReportScenario(t *testing.T) {
	t.Parallel()
	s := newScenario()
	r := s.report(t)

	tests := []struct {
		name string
		got  any
		want any
	}{
		{
			name: "period and positions",
			got:  []any{r.GetFrom().AsTime(), r.GetTo().AsTime(), r.GetEnvironments(), r.GetGeneratedAt().AsTime(), r.GetFirstPosition(), r.GetLastPosition()},
			want: []any{from, to, []string{prod}, now, s.first, s.last},
		},
		{
			name: "summary",
			got:  r.GetSummary(),
			want: &changev1.ReportSummary{
				Deployments: 3, WithChangeRequest: 2, WithoutChangeRequest: 1, Rollbacks: 1, Failed: 1,
				EmergencyChanges: 2, ReviewsOverdue: 1, FreezeOverrides: 1, SelfApprovals: 2,
			},
		},
		{
			// rel-0 was promoted before the period (its deployment in it does not
			// count), the staging promotion is another environment, and the
			// promotion stamped at `to` is after the period.
			name: "the changes reported",
			got:  positions(r.GetChanges()),
			want: []uint64{s.promo1, s.promo2, s.promo3},
		},
		{
			// Release, change and gate evidence come from February's context;
			// the evidence reported after the promotion is left out.
			name: "a normal change, approved, with staging's gate evidence, succeeded",
			got:  r.GetChanges()[0],
			want: &changev1.ReportedChange{
				DeploymentId: "rel-1-production-1", ReleaseId: "rel-1", Product: "shop", Version: "1.4.0", Environment: prod,
				Strategy: "blue-green", RequestedAt: timestamppb.New(at(time.March, 3, 10, 0)), RequestedBy: "bob",
				ReleaseApprovers: []string{"frank"}, ReleaseAuthor: "alice",
				FinishedAt: timestamppb.New(at(time.March, 3, 10, 20)), Outcome: report.OutcomeSucceeded,
				ChangeId: "CHG-1", ChangeClass: changev1.ChangeClass_CHANGE_CLASS_NORMAL, ChangeTitle: "Ship shop 1.4.0", ChangeSubmitter: "carol",
				ChangeApprovals: []*changev1.Approval{
					{Approver: "pat", As: "product", Roles: []string{"product"}, At: timestamppb.New(at(time.February, 21, 9, 0)), Counts: true},
					{Approver: "otto", As: "operations", Roles: []string{"operations"}, At: timestamppb.New(at(time.February, 21, 10, 0)), Counts: true},
				},
				SeparationOfDuties: true,
				GateEvidence: []*changev1.GateEvidence{
					{Environment: "staging", Gate: "Integration Tests", Suite: "api", Format: "junit", Sha256: "aaa111", Passed: true},
					{Environment: "staging", Gate: "Security", Suite: "gosec", Format: "sarif", Sha256: "bbb222", Passed: true},
				},
				Position: s.promo1,
			},
		},
		{
			name: "a promotion without a change request, self-approved, rolled back",
			got:  r.GetChanges()[1],
			want: &changev1.ReportedChange{
				DeploymentId: "rel-2-production-1", ReleaseId: "rel-2", Product: "shop", Version: "1.5.0", Environment: prod,
				RequestedAt: timestamppb.New(at(time.March, 6, 10, 0)), RequestedBy: "gina",
				ReleaseApprovers: []string{"gina"}, ReleaseAuthor: "gina",
				FinishedAt: timestamppb.New(at(time.March, 6, 10, 35)), Outcome: report.OutcomeRolledBack,
				OutcomeDetail: "error rate 5% > 1%; trigger monitor; restored 1.4.0",
				SeparationProblems: []string{
					"release rel-2 approved by its author gina",
					"release rel-2 approved by gina, who promoted it",
				},
				Position: s.promo2,
			},
		},
		{
			name: "a change its submitter approved, through a freeze override, failed",
			got: []any{
				r.GetChanges()[2].GetSeparationOfDuties(), r.GetChanges()[2].GetSeparationProblems(), r.GetChanges()[2].GetFreezeOverride(),
				r.GetChanges()[2].GetOutcome(), r.GetChanges()[2].GetOutcomeDetail(), r.GetChanges()[2].GetStrategy(),
			},
			want: []any{false, []string{"change CHG-3 approved by its submitter judy"}, "fz-quarter-end", report.OutcomeFailed, "health check failed", "canary"},
		},
		{
			// CHG-E3 covers staging only.
			name: "emergency changes",
			got:  r.GetEmergencies(),
			want: []*changev1.ReportedEmergency{
				{
					ChangeId: "CHG-E1", Title: "Payments down", Submitter: "hank", Justification: "customers cannot pay",
					Approvals:     []*changev1.Approval{{Approver: "sam", As: "security", Roles: []string{"security"}, At: timestamppb.New(at(time.March, 10, 9, 10)), Counts: true}},
					ImplementedAt: timestamppb.New(at(time.March, 10, 12, 0)), ReviewDue: timestamppb.New(at(time.March, 12, 12, 0)),
					ReviewStatus: report.ReviewOverdue, State: changev1.ChangeState_CHANGE_STATE_IMPLEMENTING,
				},
				{
					ChangeId: "CHG-E2", Title: "Hotfix | login\nbypass", Submitter: "hank", Justification: "customers cannot pay",
					Approvals:     []*changev1.Approval{{Approver: "otto", As: "operations", Roles: []string{"operations"}, At: timestamppb.New(at(time.March, 15, 9, 10)), Counts: true}},
					ImplementedAt: timestamppb.New(at(time.March, 15, 10, 0)), ReviewDue: timestamppb.New(at(time.March, 17, 10, 0)),
					ReviewStatus: report.ReviewLate, State: changev1.ChangeState_CHANGE_STATE_IMPLEMENTING,
					Review: &changev1.PostImplementationReview{Reviewer: "hank", RootCause: "expired certificate", At: timestamppb.New(at(time.March, 18, 9, 0)), Late: true},
				},
			},
		},
		{
			name: "freeze overrides in the period and environment",
			got:  r.GetFreezeOverrides(),
			want: []*changev1.FreezeOverride{{
				FreezeId: "fz-quarter-end", Environment: prod, Reason: "quarter-end fix", RequestedBy: "kim", OverriddenBy: "olga",
				Roles: []string{"release-manager"}, GrantedAt: timestamppb.New(at(time.March, 20, 9, 0)), ExpiresAt: timestamppb.New(at(time.March, 20, 13, 0)),
			}},
		},
		{
			name: "no verification: the caller attaches it",
			got:  r.GetVerification(),
			want: (*changev1.AuditVerification)(nil),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.got, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportIsRepeatable(t *testing.T) {
	t.Parallel()
	s := newScenario()
	b := report.New(from, to, []string{prod})
	for _, e := range s.log.events {
		b.Add(e)
	}
	first := b.Report(now)
	first.Changes[0].Outcome = "tampered"
	first.Changes[0].GateEvidence[0].Sha256 = "tampered"
	first.Emergencies[0].Approvals[0].Approver = "tampered"
	second := b.Report(now)
	if diff := cmp.Diff(s.report(t), second, protocmp.Transform()); diff != "" {
		t.Errorf("a second report differs after the first was modified (-want +got):\n%s", diff)
	}
}

func TestPositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		times       []time.Time
		first, last uint64
	}{
		{name: "empty log", first: 0, last: 0},
		{name: "only context before the period", times: []time.Time{at(time.February, 1, 0, 0), at(time.February, 28, 23, 59)}},
		{name: "at the end of the period is outside it", times: []time.Time{at(time.February, 1, 0, 0), to}},
		{name: "from is inside", times: []time.Time{at(time.February, 1, 0, 0), from, at(time.March, 9, 0, 0), to}, first: 2, last: 3},
		{name: "one event", times: []time.Time{at(time.March, 31, 23, 59)}, first: 1, last: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var l eventLog
			for _, tm := range tt.times {
				l.add(tm, "x", "release", "rel-x", &releasev1.ReleaseCancelled{})
			}
			r := l.build(t, from, to, []string{prod}, now)
			if r.GetFirstPosition() != tt.first || r.GetLastPosition() != tt.last {
				t.Errorf("positions = %d..%d, want %d..%d", r.GetFirstPosition(), r.GetLastPosition(), tt.first, tt.last)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	const (
		rel = "rel-9"
		dep = "rel-9-production-2"
	)
	type ev struct {
		id  string
		msg proto.Message
	}
	tm := at(time.March, 10, 12, 0)
	finished := at(time.March, 10, 13, 0)
	tests := []struct {
		name       string
		events     []ev // after the promotion (attempt 2), a minute apart
		endedBy    int  // the index of the event that ends the deployment (stamped finished), when not the last
		deployment string
		outcome    string
		detail     string
	}{
		{name: "no deployment event yet", deployment: dep, outcome: report.OutcomeInProgress},
		{
			name:       "started, not finished",
			events:     []ev{{dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Environment: prod, Attempt: 2}}},
			deployment: dep, outcome: report.OutcomeInProgress,
		},
		{
			name:       "succeeded",
			events:     []ev{{dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Environment: prod, Attempt: 2}}, {dep, &deployv1.DeploymentSucceeded{DeploymentId: dep}}},
			deployment: dep, outcome: report.OutcomeSucceeded,
		},
		{
			name: "the deployer's own deployment id",
			events: []ev{
				{"dep-77", &deployv1.DeploymentStarted{DeploymentId: "dep-77", ReleaseId: rel, Environment: prod, Attempt: 2}},
				{"dep-77", &deployv1.DeploymentSucceeded{DeploymentId: "dep-77"}},
			},
			deployment: "dep-77", outcome: report.OutcomeSucceeded,
		},
		{
			name:       "failed",
			events:     []ev{{dep, &deployv1.DeploymentFailed{DeploymentId: dep, Reason: "image pull failed"}}},
			deployment: dep, outcome: report.OutcomeFailed, detail: "image pull failed",
		},
		{
			name: "aborted and rolled back",
			events: []ev{
				{dep, &deployv1.DeploymentAborted{Reason: "wrong build"}},
				{dep, &deployv1.RollbackStarted{Reason: "aborted: wrong build", Trigger: "abort"}},
				{dep, &deployv1.RolledBack{DeploymentId: dep, RestoredVersion: "1.0.0"}},
			},
			deployment: dep, outcome: report.OutcomeRolledBack, detail: "aborted: wrong build; trigger abort; restored 1.0.0",
		},
		{
			name: "succeeded, then rolled back by a person",
			events: []ev{
				{dep, &deployv1.DeploymentSucceeded{DeploymentId: dep}},
				{dep, &deployv1.RollbackStarted{Reason: "customer complaints", Trigger: "manual"}},
				{dep, &deployv1.RolledBack{DeploymentId: dep, RestoredVersion: "1.0.0"}},
			},
			deployment: dep, outcome: report.OutcomeRolledBack, detail: "customer complaints; trigger manual; restored 1.0.0",
		},
		{
			name:       "only the release's mirror of the rollback",
			events:     []ev{{rel, &releasev1.ReleaseRolledBack{Environment: prod, DeploymentId: dep, RestoredVersion: "1.0.0", Reason: "latency"}}},
			deployment: dep, outcome: report.OutcomeRolledBack, detail: "latency; restored 1.0.0",
		},
		{
			name: "a late mirror does not undo the deployer's rollback",
			events: []ev{
				{dep, &deployv1.DeploymentSucceeded{DeploymentId: dep}},
				{dep, &deployv1.RolledBack{DeploymentId: dep, Reason: "latency", RestoredVersion: "1.0.0"}},
				{rel, &releasev1.ReleaseDeployed{Environment: prod, DeploymentId: dep}},
			},
			endedBy:    1,
			deployment: dep, outcome: report.OutcomeRolledBack, detail: "latency; restored 1.0.0",
		},
		{
			name:       "another release's events",
			events:     []ev{{"rel-8-production-2", &deployv1.DeploymentSucceeded{DeploymentId: "rel-8-production-2"}}},
			deployment: dep, outcome: report.OutcomeInProgress,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var l eventLog
			l.promote(tm, &releasev1.PromotionRequested{ReleaseId: rel, Environment: prod, RequestedBy: "bob", Attempt: 2})
			ender := len(tt.events) - 1
			if tt.endedBy > 0 {
				ender = tt.endedBy
			}
			for i, e := range tt.events {
				when := tm.Add(time.Duration(i+1) * time.Minute)
				if i == ender {
					when = finished
				} else if i > ender {
					when = finished.Add(time.Duration(i) * time.Minute)
				}
				aggregate := "deployment"
				if e.id == rel {
					aggregate = "release"
				}
				l.add(when, "deployer", aggregate, e.id, e.msg)
			}
			r := l.build(t, from, to, []string{prod}, now)
			if len(r.GetChanges()) != 1 {
				t.Fatalf("%d changes reported, want 1", len(r.GetChanges()))
			}
			c := r.GetChanges()[0]
			got := []string{c.GetDeploymentId(), c.GetOutcome(), c.GetOutcomeDetail()}
			want := []string{tt.deployment, tt.outcome, tt.detail}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("deployment, outcome, detail (-want +got):\n%s", diff)
			}
			if ended := tt.outcome != report.OutcomeInProgress; ended != (c.GetFinishedAt() != nil) || ended && !c.GetFinishedAt().AsTime().Equal(finished) {
				t.Errorf("finished_at = %v, want %v when it ended", c.GetFinishedAt(), finished)
			}
		})
	}
}
