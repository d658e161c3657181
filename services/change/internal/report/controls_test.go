package report_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/internal/report"
)

func TestReviewStatus(t *testing.T) {
	t.Parallel()
	const id = "CHG-E"
	emergency := changev1.ChangeClass_CHANGE_CLASS_EMERGENCY
	due := at(time.March, 12, 12, 0)
	tests := []struct {
		name string
		// submitted and implemented (zero: not) at, in envs; reviewed (zero: not) at, flagged late or not.
		submitted, implemented, reviewed time.Time
		envs, implementedIn              []string
		late                             bool
		now                              time.Time
		want                             string // "" when the change is not reported
	}{
		{name: "reviewed by the due time", submitted: at(time.March, 10, 9, 0), implemented: at(time.March, 10, 12, 0), reviewed: due, want: report.ReviewDone},
		{name: "reviewed after the due time", submitted: at(time.March, 10, 9, 0), implemented: at(time.March, 10, 12, 0), reviewed: due.Add(time.Minute), want: report.ReviewLate},
		{name: "recorded as late", submitted: at(time.March, 10, 9, 0), implemented: at(time.March, 10, 12, 0), reviewed: due.Add(-time.Hour), late: true, want: report.ReviewLate},
		{name: "not reviewed, past due", submitted: at(time.March, 10, 9, 0), implemented: at(time.March, 10, 12, 0), want: report.ReviewOverdue},
		{name: "not reviewed, due exactly at now", submitted: at(time.March, 10, 9, 0), implemented: at(time.March, 10, 12, 0), now: due, want: report.ReviewPending},
		{name: "not reviewed, not due at now", submitted: at(time.March, 10, 9, 0), implemented: at(time.March, 10, 12, 0), now: at(time.March, 11, 0, 0), want: report.ReviewPending},
		{name: "due after the period: judged as of its end", submitted: at(time.March, 30, 9, 0), implemented: at(time.March, 30, 12, 0), want: report.ReviewPending},
		{name: "not implemented", submitted: at(time.March, 10, 9, 0), want: report.ReviewPending},
		{name: "submitted before the period, implemented in it", submitted: at(time.February, 27, 9, 0), implemented: at(time.March, 10, 12, 0), want: report.ReviewOverdue},
		{name: "submitted and implemented before the period", submitted: at(time.February, 10, 9, 0), implemented: at(time.February, 10, 12, 0)},
		{name: "another environment", submitted: at(time.March, 10, 9, 0), implemented: at(time.March, 10, 12, 0), envs: []string{"staging"}, implementedIn: []string{"staging"}},
		{name: "implemented in a reported environment it did not name", submitted: at(time.March, 10, 9, 0), implemented: at(time.March, 10, 12, 0), envs: []string{"staging"}, want: report.ReviewOverdue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			envs, in := tt.envs, tt.implementedIn
			if envs == nil {
				envs = []string{prod}
			}
			if in == nil {
				in = []string{prod}
			}
			var l eventLog
			l.submit(tt.submitted, "hank", id, emergency, "Payments down", envs...)
			if !tt.implemented.IsZero() {
				l.implement(tt.implemented, id, "d-1", "rel-1", in[0], tt.implemented.Add(due.Sub(at(time.March, 10, 12, 0))))
			}
			if !tt.reviewed.IsZero() {
				l.review(tt.reviewed, "hank", id, tt.late)
			}
			when := now
			if !tt.now.IsZero() {
				when = tt.now
			}
			r := l.build(t, from, to, []string{prod}, when)
			var got []string
			for _, e := range r.GetEmergencies() {
				got = append(got, e.GetReviewStatus())
			}
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("review statuses (-want +got):\n%s", diff)
			}
			overdue := uint32(0)
			if tt.want == report.ReviewOverdue {
				overdue = 1
			}
			if got := r.GetSummary().GetReviewsOverdue(); got != overdue {
				t.Errorf("reviews_overdue = %d, want %d", got, overdue)
			}
		})
	}
}

func TestSeparationOfDuties(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		author, promoter        string
		releaseApprovers        []string
		submitter               string // "" for no change request
		changeApprovers         []string
		want                    []string
		wantSelfApprovals       uint32
		wantWithoutChangeReqest uint32
	}{
		{
			name: "separated", author: "alice", promoter: "bob", releaseApprovers: []string{"frank"},
			submitter: "carol", changeApprovers: []string{"pat", "otto"},
		},
		{
			name: "change approved by its submitter", author: "alice", promoter: "bob", releaseApprovers: []string{"frank"},
			submitter: "carol", changeApprovers: []string{"carol", "otto"},
			want: []string{"change CHG-1 approved by its submitter carol"}, wantSelfApprovals: 1,
		},
		{
			name: "release approved by its author", author: "alice", promoter: "bob", releaseApprovers: []string{"frank", "alice"},
			submitter: "carol", changeApprovers: []string{"pat"},
			want: []string{"release rel-1 approved by its author alice"}, wantSelfApprovals: 1,
		},
		{
			name: "release approved by its promoter", author: "alice", promoter: "bob", releaseApprovers: []string{"bob"},
			want: []string{"release rel-1 approved by bob, who promoted it"}, wantSelfApprovals: 1, wantWithoutChangeReqest: 1,
		},
		{
			name: "every violation, one self-approval", author: "alice", promoter: "alice", releaseApprovers: []string{"alice"},
			submitter: "alice", changeApprovers: []string{"alice"},
			want: []string{
				"change CHG-1 approved by its submitter alice",
				"release rel-1 approved by its author alice",
				"release rel-1 approved by alice, who promoted it",
			},
			wantSelfApprovals: 1,
		},
		{
			name: "the promoter may author the release", author: "bob", promoter: "bob", releaseApprovers: []string{"frank"},
			wantWithoutChangeReqest: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var l eventLog
			l.release(at(time.February, 1, 9, 0), tt.author, "rel-1", "shop", "1.0.0")
			changeID := ""
			if tt.submitter != "" {
				changeID = "CHG-1"
				l.submit(at(time.February, 2, 9, 0), tt.submitter, changeID, changev1.ChangeClass_CHANGE_CLASS_NORMAL, "Ship", prod)
				for _, a := range tt.changeApprovers {
					l.approveChange(at(time.February, 3, 9, 0), a, changeID, "product")
				}
			}
			l.promote(at(time.March, 3, 9, 0), &releasev1.PromotionRequested{
				ReleaseId: "rel-1", Environment: prod, RequestedBy: tt.promoter, ApprovedBy: tt.releaseApprovers, ChangeId: changeID,
			})
			r := l.build(t, from, to, []string{prod}, now)
			c := r.GetChanges()[0]
			if diff := cmp.Diff(tt.want, c.GetSeparationProblems()); diff != "" {
				t.Errorf("separation problems (-want +got):\n%s", diff)
			}
			if c.GetSeparationOfDuties() != (len(tt.want) == 0) {
				t.Errorf("separation_of_duties = %t with problems %q", c.GetSeparationOfDuties(), c.GetSeparationProblems())
			}
			s := r.GetSummary()
			if s.GetSelfApprovals() != tt.wantSelfApprovals || s.GetWithoutChangeRequest() != tt.wantWithoutChangeReqest {
				t.Errorf("self_approvals, without_change_request = %d, %d, want %d, %d",
					s.GetSelfApprovals(), s.GetWithoutChangeRequest(), tt.wantSelfApprovals, tt.wantWithoutChangeReqest)
			}
		})
	}
}

func TestReleaseApproversFromApprovals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		log  func(l *eventLog)
		want []string
	}{
		{
			name: "the promotion names them",
			log: func(l *eventLog) {
				l.approveRelease(at(time.March, 2, 9, 0), "frank", "rel-1", prod)
				l.promote(at(time.March, 3, 9, 0), &releasev1.PromotionRequested{ReleaseId: "rel-1", Environment: prod, RequestedBy: "bob", ApprovedBy: []string{"gina"}})
			},
			want: []string{"gina"},
		},
		{
			name: "an older promotion: the environment's approvals",
			log: func(l *eventLog) {
				l.approveRelease(at(time.February, 2, 9, 0), "frank", "rel-1", prod)
				l.approveRelease(at(time.February, 2, 9, 0), "gina", "rel-1", "staging")
				l.approveRelease(at(time.March, 2, 9, 0), "hank", "rel-1", prod)
				l.approveRelease(at(time.March, 2, 9, 1), "hank", "rel-1", prod)
				l.promote(at(time.March, 3, 9, 0), &releasev1.PromotionRequested{ReleaseId: "rel-1", Environment: prod, RequestedBy: "bob"})
			},
			want: []string{"frank", "hank"},
		},
		{
			name: "voided approvals do not count",
			log: func(l *eventLog) {
				l.approveRelease(at(time.March, 2, 9, 0), "frank", "rel-1", prod)
				l.add(at(time.March, 2, 10, 0), "alice", "release", "rel-1", &releasev1.ApprovalsVoided{Environments: []string{prod}})
				l.approveRelease(at(time.March, 2, 11, 0), "hank", "rel-1", prod)
				l.promote(at(time.March, 3, 9, 0), &releasev1.PromotionRequested{ReleaseId: "rel-1", Environment: prod, RequestedBy: "bob"})
			},
			want: []string{"hank"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var l eventLog
			l.release(at(time.February, 1, 9, 0), "alice", "rel-1", "shop", "1.0.0")
			tt.log(&l)
			r := l.build(t, from, to, []string{prod}, now)
			if diff := cmp.Diff(tt.want, r.GetChanges()[0].GetReleaseApprovers()); diff != "" {
				t.Errorf("release approvers (-want +got):\n%s", diff)
			}
		})
	}
}

// A deployment the deployer started without a promotion (a retry, a
// configuration rollout) is a production change too.
func TestDeploymentsWithoutPromotion(t *testing.T) {
	t.Parallel()
	var l eventLog
	l.release(at(time.February, 1, 9, 0), "alice", "rel-1", "shop", "1.0.0")
	p := l.promote(at(time.March, 3, 9, 0), &releasev1.PromotionRequested{ReleaseId: "rel-1", Environment: prod, RequestedBy: "bob", ApprovedBy: []string{"frank"}, ChangeId: "CHG-1"})
	l.started(at(time.March, 3, 9, 1), "rel-1-production-1", "rel-1", prod, 1)
	l.deployment(at(time.March, 3, 9, 5), "rel-1-production-1", &deployv1.DeploymentFailed{DeploymentId: "rel-1-production-1", Reason: "timeout"})
	retry := l.add(at(time.March, 3, 10, 0), "deployer", "deployment", "rel-1-production-2", &deployv1.DeploymentStarted{
		DeploymentId: "rel-1-production-2", ReleaseId: "rel-1", Version: "1.0.0", Environment: prod, Attempt: 2, RequestedBy: "bob",
		StrategyType: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_ROLLING_UPDATE,
	})
	l.deployment(at(time.March, 3, 10, 5), "rel-1-production-2", &deployv1.DeploymentSucceeded{DeploymentId: "rel-1-production-2"})
	config := l.add(at(time.March, 4, 10, 0), "deployer", "deployment", "cfg-7", &deployv1.DeploymentStarted{
		DeploymentId: "cfg-7", Version: "1.0.0+config.7", Environment: prod, Attempt: 1, RequestedBy: "olga", Product: "shop",
		ConfigRollout: &deployv1.ConfigRollout{ConfigVersion: 7, Artifact: "1.0.0"},
	})
	l.add(at(time.March, 4, 11, 0), "deployer", "deployment", "cfg-8", &deployv1.DeploymentStarted{DeploymentId: "cfg-8", Environment: "staging", Attempt: 1})

	r := l.build(t, from, to, []string{prod}, now)
	type row struct {
		Position                                          uint64
		Deployment, Release, Version, Requester, Strategy string
		Outcome, Change, Author                           string
		Approvers                                         []string
	}
	var got []row
	for _, c := range r.GetChanges() {
		got = append(got, row{c.GetPosition(), c.GetDeploymentId(), c.GetReleaseId(), c.GetVersion(), c.GetRequestedBy(), c.GetStrategy(),
			c.GetOutcome(), c.GetChangeId(), c.GetReleaseAuthor(), c.GetReleaseApprovers()})
	}
	want := []row{
		{p, "rel-1-production-1", "rel-1", "1.0.0", "bob", "", report.OutcomeFailed, "CHG-1", "alice", []string{"frank"}},
		{retry, "rel-1-production-2", "rel-1", "1.0.0", "bob", "rolling-update", report.OutcomeSucceeded, "", "alice", nil},
		{config, "cfg-7", "", "1.0.0+config.7", "olga", "", report.OutcomeInProgress, "", "", nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if s := r.GetSummary(); s.GetDeployments() != 3 || s.GetWithoutChangeRequest() != 2 || s.GetFailed() != 1 {
		t.Errorf("summary = %v, want 3 deployments, 2 without a change request, 1 failed", s)
	}
}

func TestEveryEnvironment(t *testing.T) {
	t.Parallel()
	s := newScenario()
	r := s.log.build(t, from, to, nil, now)
	envs := map[string]int{}
	for _, c := range r.GetChanges() {
		envs[c.GetEnvironment()]++
	}
	if diff := cmp.Diff(map[string]int{prod: 3, "staging": 1}, envs); diff != "" {
		t.Errorf("changes per environment (-want +got):\n%s", diff)
	}
	if got := r.GetSummary(); got.GetEmergencyChanges() != 3 || got.GetFreezeOverrides() != 2 {
		t.Errorf("emergencies, overrides = %d, %d, want 3, 2", got.GetEmergencyChanges(), got.GetFreezeOverrides())
	}
	if r.GetEnvironments() != nil {
		t.Errorf("environments = %q, want none (every one)", r.GetEnvironments())
	}
}
