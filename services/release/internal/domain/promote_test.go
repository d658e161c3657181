package domain_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// readyForProduction: deployed to development and staging, approved for
// production by rita and otto.
func readyForProduction() []ev {
	return slices.Concat(planned220(), deployedTo("development"), deployedTo("staging"),
		approval("production", "rita", 1), approval("production", "otto", 1))
}

// requested is the PromotionRequested Promote decides for 2.2.0.
func requested(env, strategy, by string, attempt uint32, approvedBy ...string) *releasev1.PromotionRequested {
	return &releasev1.PromotionRequested{
		ReleaseId: relID, Product: product, Version: "2.2.0", Environment: env, Strategy: strategy, StrategyType: strategyOf(strategy),
		RequestedBy: by, ApprovedBy: approvedBy, Attempt: attempt,
	}
}

func noGates(string, string, bool) []string { return nil }

func TestPromote(t *testing.T) {
	t.Parallel()
	hotfixRequested := func(skipped ...string) *releasev1.PromotionRequested {
		return &releasev1.PromotionRequested{
			ReleaseId: relID, Product: product, Version: "2.1.5", Environment: "production", Strategy: "canary", StrategyType: canary,
			RequestedBy: "dave", ApprovedBy: []string{"rita", "otto"}, Attempt: 1, SkippedEnvironments: skipped,
		}
	}
	tests := []struct {
		name     string
		given    []ev
		who      *auth.Principal
		env      string
		strategy string
		want     *releasev1.PromotionRequested
	}{
		{
			name: "development first, with its default strategy", given: planned220(), who: dave, env: "development",
			want: requested("development", "rolling-update", "dave", 1),
		},
		{
			name:  "staging after development, approved by qa",
			given: slices.Concat(planned220(), deployedTo("development"), approval("staging", "quinn", 1)), who: dave, env: "staging",
			want: requested("staging", "blue-green", "dave", 1, "quinn"),
		},
		{
			name: "production after staging, two approvals", given: readyForProduction(), who: dave, env: "production",
			want: requested("production", "canary", "dave", 1, "rita", "otto"),
		},
		{
			name: "a strategy named in the request", given: readyForProduction(), who: dave, env: "production", strategy: "feature-flag",
			want: requested("production", "feature-flag", "dave", 1, "rita", "otto"),
		},
		{
			name: "the author may promote; approvers count", given: readyForProduction(), who: alice, env: "production",
			want: requested("production", "canary", "alice", 1, "rita", "otto"),
		},
		{
			name:  "an approver may promote when enough others approved",
			given: slices.Concat(readyForProduction(), approval("production", "pat", 1)), who: otto, env: "production",
			want: requested("production", "canary", "otto", 1, "rita", "pat"),
		},
		{
			name:  "an approval repeated in the log counts once",
			given: slices.Concat(readyForProduction(), approval("production", "rita", 1)), who: dave, env: "production",
			want: requested("production", "canary", "dave", 1, "rita", "otto"),
		},
		{
			name:  "hotfix straight to production skips staging",
			given: slices.Concat(created("2.1.5", hotfix, "production"), approval("production", "rita", 1), approval("production", "otto", 1)),
			who:   dave, env: "production", want: hotfixRequested("staging"),
		},
		{
			name: "hotfix through development skips staging",
			given: slices.Concat(created("2.1.5", hotfix, "development", "production"), deployedTo("development"),
				approval("production", "rita", 1), approval("production", "otto", 1)),
			who: dave, env: "production", want: hotfixRequested("staging"),
		},
		{
			name: "hotfix that went through staging skips nothing",
			given: slices.Concat(created("2.1.5", hotfix), deployedTo("development"), deployedTo("staging"),
				approval("production", "rita", 1), approval("production", "otto", 1)),
			who: dave, env: "production", want: hotfixRequested(),
		},
		{
			name: "hotfix still deploying to staging may skip it",
			given: slices.Concat(created("2.1.5", hotfix), deployedTo("development"), promoted("staging", "dave", 1),
				approval("production", "rita", 1), approval("production", "otto", 1)),
			who: dave, env: "production", want: hotfixRequested("staging"),
		},
		{
			name:  "completed prerequisites do not block",
			given: slices.Concat(readyForProduction(), prereq("p1", "", completed, timestamppb.New(t0)), prereq("p2", "production", completed, nil)),
			who:   dave, env: "production", want: requested("production", "canary", "dave", 1, "rita", "otto"),
		},
		{
			name:  "a prerequisite of another environment does not block",
			given: slices.Concat(readyForProduction(), prereq("p1", "staging", pending, timestamppb.New(t0)), prereq("p2", "staging", prFailed, nil)),
			who:   dave, env: "production", want: requested("production", "canary", "dave", 1, "rita", "otto"),
		},
		{
			name:  "a rejection in another environment does not block",
			given: slices.Concat(readyForProduction(), by("quinn", &releasev1.ReleaseRejected{Environment: "staging", RejectedBy: "quinn", Reason: "flaky"})),
			who:   dave, env: "production", want: requested("production", "canary", "dave", 1, "rita", "otto"),
		},
		{
			name: "again after a failure: attempt 2",
			given: slices.Concat(planned220(), promoted("development", "dave", 1),
				system(&releasev1.ReleaseDeploymentFailed{Environment: "development", DeploymentId: "d1", Reason: "image pull"})),
			who: dave, env: "development", want: requested("development", "rolling-update", "dave", 2),
		},
		{
			name: "again after two rollbacks: attempt 3",
			given: slices.Concat(readyForProduction(),
				promoted("production", "dave", 1), system(&releasev1.ReleaseRolledBack{Environment: "production"}),
				promoted("production", "dave", 2), system(&releasev1.ReleaseRolledBack{Environment: "production"})),
			who: dave, env: "production", want: requested("production", "canary", "dave", 3, "rita", "otto"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given)
			got, err := domain.Promote(r, relID, tt.who, tt.env, strategyOf(tt.strategy), envs, noGates, nil, now)
			mustOK(t, err)
			diffEvents(t, msgs(tt.want), got)
		})
	}
}

func TestPromoteAsksTheGatesAboutThisPromotion(t *testing.T) {
	t.Parallel()
	var asked [][2]string
	gates := func(releaseID, env string, skipped bool) []string {
		asked = append(asked, [2]string{releaseID, env})
		if skipped {
			t.Errorf("%s was not skipped", env)
		}
		return nil
	}
	_, err := domain.Promote(releaseFrom(t, readyForProduction()), relID, dave, "production", anyStrategy, envs, gates, nil, now)
	mustOK(t, err)
	// The gates of the environment before production, not production's own.
	if diff := cmp.Diff([][2]string{{relID, "staging"}}, asked); diff != "" {
		t.Errorf("gate checks mismatch (-want +got):\n%s", diff)
	}
	// No gate checker: nothing to ask.
	_, err = domain.Promote(releaseFrom(t, readyForProduction()), relID, dave, "production", anyStrategy, envs, nil, nil, now)
	mustOK(t, err)
}

func TestPromoteDefaultStrategy(t *testing.T) {
	t.Parallel()
	custom, err := domain.ParseEnvironments([]byte("environments:\n  - name: development\n  - name: staging\n    after: [development]\n    strategy: big-bang\n  - name: production\n    after: [staging]\n"))
	mustOK(t, err)
	tests := []struct {
		name, env, strategy, want string
	}{
		{name: "environment without a strategy: rolling-update", env: "development", want: "rolling-update"},
		{name: "environment's strategy", env: "staging", want: "big-bang"},
		{name: "requested overrides the environment's", env: "staging", strategy: "canary", want: "canary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, planned220(), deployedTo("development"))
			if tt.env == "development" {
				r = releaseFrom(t, planned220())
			}
			got, err := domain.Promote(r, relID, dave, tt.env, strategyOf(tt.strategy), custom, nil, nil, now)
			mustOK(t, err)
			diffEvents(t, msgs(requested(tt.env, tt.want, "dave", 1)), got)
		})
	}
}

func TestPromoteRefuses(t *testing.T) {
	t.Parallel()
	overdue := timestamppb.New(now.Add(-24 * time.Hour)) // 2026-03-04T12:00:00Z
	notYet := timestamppb.New(now.Add(24 * time.Hour))
	tests := []struct {
		name     string
		given    []ev
		who      *auth.Principal
		env      string
		gates    []string
		reasons  []string // exactly these, in order
		strategy string
	}{
		{
			name: "staging before development", given: planned220(), who: dave, env: "staging",
			reasons: []string{
				"promotion order: 2.2.0 must be deployed to development first (it is planned there)",
				"approvals: staging needs 1 approval(s) from distinct people other than the author and the requester, has 0",
			},
		},
		{
			name: "staging while development is deploying", given: slices.Concat(planned220(), promoted("development", "dave", 1), approval("staging", "quinn", 1)),
			who: dave, env: "staging",
			reasons: []string{"promotion order: 2.2.0 must be deployed to development first (it is deploying there)"},
		},
		{
			name:  "production before staging",
			given: slices.Concat(planned220(), deployedTo("development"), approval("production", "rita", 1), approval("production", "otto", 1)),
			who:   dave, env: "production",
			reasons: []string{"promotion order: 2.2.0 must be deployed to staging first (it is planned there)"},
		},
		{
			name: "production after staging was rolled back",
			given: slices.Concat(readyForProduction()[:len(readyForProduction())-2],
				system(&releasev1.ReleaseRolledBack{Environment: "staging", RestoredVersion: "2.1.4"}),
				approval("production", "rita", 1), approval("production", "otto", 1)),
			who: dave, env: "production",
			reasons: []string{"promotion order: 2.2.0 must be deployed to staging first (it is rolled_back there)"},
		},
		{
			name:  "a hotfix may not skip what its policy does not allow",
			given: slices.Concat(created("2.1.5", hotfix), approval("production", "rita", 1), approval("production", "otto", 1), approval("staging", "quinn", 1)),
			who:   dave, env: "staging",
			reasons: []string{"promotion order: 2.1.5 must be deployed to development first (it is planned there)"},
		},
		{
			name: "no approvals", given: slices.Concat(planned220(), deployedTo("development"), deployedTo("staging")), who: dave, env: "production",
			reasons: []string{"approvals: production needs 2 approval(s) from distinct people other than the author and the requester, has 0"},
		},
		{
			name: "one of two", given: slices.Concat(readyForProduction()[:len(readyForProduction())-1]), who: dave, env: "production",
			reasons: []string{"approvals: production needs 2 approval(s) from distinct people other than the author and the requester, has 1"},
		},
		{
			name: "the requester's own approval does not count", given: readyForProduction(), who: otto, env: "production",
			reasons: []string{"approvals: production needs 2 approval(s) from distinct people other than the author and the requester, has 1; otto's own approval does not count for a promotion otto requests"},
		},
		{
			name: "an author's approval in the log does not count", given: slices.Concat(readyForProduction()[:len(readyForProduction())-1], approval("production", "alice", 1)),
			who: dave, env: "production",
			reasons: []string{"approvals: production needs 2 approval(s) from distinct people other than the author and the requester, has 1"},
		},
		{
			name: "approvals at an older content revision",
			given: slices.Concat(planned220(), approval("production", "rita", 1), approval("production", "otto", 1),
				by("alice", &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "More"}}),
				deployedTo("development"), deployedTo("staging")),
			who: dave, env: "production",
			reasons: []string{"approvals: production needs 2 approval(s) from distinct people other than the author and the requester, has 0"},
		},
		{
			name: "risk adds approvals", given: slices.Concat(readyForProduction(), risk(releasev1.RiskImpact_RISK_IMPACT_CRITICAL, releasev1.RiskLikelihood_RISK_LIKELIHOOD_HIGH)),
			who: dave, env: "production",
			reasons: []string{"approvals: production needs 4 approval(s) from distinct people other than the author and the requester, has 2 (2 added by the risk assessment)"},
		},
		{
			name: "a rejection", given: slices.Concat(readyForProduction(), by("sam", &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "pen test findings open"})),
			who: dave, env: "production",
			reasons: []string{"rejected for production by sam: pen test findings open"},
		},
		{
			name: "pending prerequisites, overdue or not, with or without owner",
			given: slices.Concat(readyForProduction(), prereq("p1", "", pending, overdue), prereq("p2", "production", pending, notYet),
				by("alice", &releasev1.PrerequisiteAdded{Prerequisite: &releasev1.Prerequisite{Id: "p3", Description: "Sign the DPA", Status: pending}})),
			who: dave, env: "production",
			reasons: []string{
				"prerequisite p1 (Migrate the sends table) is pending, owner dba-team, overdue since 2026-03-04T12:00:00Z",
				"prerequisite p2 (Migrate the sends table) is pending, owner dba-team",
				"prerequisite p3 (Sign the DPA) is pending, owner (none)",
			},
		},
		{
			name: "a failed prerequisite", given: slices.Concat(readyForProduction(), prereq("p1", "production", prFailed, overdue)), who: dave, env: "production",
			reasons: []string{"prerequisite p1 (Migrate the sends table) failed"},
		},
		{
			name: "a prerequisite completed then failed again",
			given: slices.Concat(readyForProduction(), prereq("p1", "", pending, nil),
				by("alice", &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Status: completed}),
				by("alice", &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Status: prFailed})),
			who: dave, env: "production",
			reasons: []string{"prerequisite p1 (Migrate the sends table) failed"},
		},
		{
			name: "gates", given: readyForProduction(), who: dave, env: "production", gates: []string{"gate load-test: p95 420ms over 300ms", "gate security-scan: 2 high findings"},
			reasons: []string{"gate load-test: p95 420ms over 300ms", "gate security-scan: 2 high findings"},
		},
		{
			name: "cancelled", given: slices.Concat(readyForProduction(), by("alice", &releasev1.ReleaseCancelled{Reason: "x"})), who: dave, env: "production",
			reasons: []string{"the release is cancelled"},
		},
		{
			name: "already deploying", given: slices.Concat(planned220(), promoted("development", "dave", 1)), who: dave, env: "development",
			reasons: []string{"a deployment to development is already in progress"},
		},
		{
			name: "already deploying after the deployer started", given: slices.Concat(planned220(), promoted("development", "dave", 1),
				system(&releasev1.ReleaseDeploying{Environment: "development", DeploymentId: "d1"})), who: dave, env: "development",
			reasons: []string{"a deployment to development is already in progress"},
		},
		{
			name: "already deployed", given: slices.Concat(planned220(), deployedTo("development")), who: dave, env: "development",
			reasons: []string{"2.2.0 is already deployed to development"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given)
			gates := func(string, string, bool) []string { return tt.gates }
			got, err := domain.Promote(r, relID, tt.who, tt.env, strategyOf(tt.strategy), envs, gates, nil, now)
			if err == nil {
				t.Fatalf("Promote decided %v, want a refusal", got)
			}
			if diff := cmp.Diff(tt.reasons, reasons(t, err)); diff != "" {
				t.Errorf("reasons mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A refusal lists every reason at once, in a stable order: state,
// approvals, rejections, prerequisites, gates (the order's own refusal is
// in TestPromoteListsOrderWithEveryOtherReason).
func TestPromoteListsEveryReasonAtOnce(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, slices.Concat(
		planned220(), deployedTo("development"), deployedTo("staging"),
		approval("production", "rita", 1), approval("production", "dave", 1), // dave will request: his does not count
		by("sam", &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "pen test findings open"}),
		prereq("p1", "", pending, timestamppb.New(time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC))),
		by("alice", &releasev1.PrerequisiteAdded{Prerequisite: &releasev1.Prerequisite{Id: "p2", Description: "Raise the SES quota", Status: prFailed, Environment: "production"}}),
		prereq("p3", "staging", pending, nil), // another environment's: not listed
		by("alice", &releasev1.ReleaseCancelled{Reason: "x"}),
	))
	gates := func(string, string, bool) []string { return []string{"gate load-test: p95 420ms over 300ms"} }
	_, err := domain.Promote(r, relID, dave, "production", anyStrategy, envs, gates, nil, now)
	want := []string{
		"the release is cancelled",
		"approvals: production needs 2 approval(s) from distinct people other than the author and the requester, has 1; dave's own approval does not count for a promotion dave requests",
		"rejected for production by sam: pen test findings open",
		"prerequisite p1 (Migrate the sends table) is pending, owner dba-team, overdue since 2026-03-01T12:00:00Z",
		"prerequisite p2 (Raise the SES quota) failed",
		"gate load-test: p95 420ms over 300ms",
	}
	got := reasons(t, err)
	if len(got) != 6 {
		t.Errorf("%d reasons, want 6", len(got))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons mismatch (-want +got):\n%s", diff)
	}
}

// An environment the release has not reached is refused for the order; its
// gates are not asked about (they cannot have opened).
func TestPromoteListsOrderWithEveryOtherReason(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, slices.Concat(planned220(), deployedTo("development"))) // staging never promoted
	asked := 0
	gates := func(string, string, bool) []string { asked++; return []string{"never"} }
	_, err := domain.Promote(r, relID, dave, "production", anyStrategy, envs, gates, nil, now)
	got := reasons(t, err)
	if len(got) == 0 || got[0] != "promotion order: 2.2.0 must be deployed to staging first (it is planned there)" || asked != 0 {
		t.Fatalf("reasons %q, gates asked %d times", got, asked)
	}
}

func TestPromoteInvalid(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, planned220())
	_, err := domain.Promote(r, relID, dave, "development", deployv1.DeploymentStrategy(99), envs, nil, nil, now)
	wantViolation(t, err, "strategy_type", `99 is not one of rolling-update, blue-green, canary, feature-flag, big-bang`)
	_, err = domain.Promote(r, relID, dave, "moon", anyStrategy, envs, nil, nil, now)
	wantViolation(t, err, "environment", `unknown environment "moon"`)
	_, err = domain.Promote(r, relID, dave, "qa", anyStrategy, envs, nil, nil, now)
	if diff := cmp.Diff([]string{"qa is not a target of release 2.2.0 (targets: development, staging, production)"}, reasons(t, err)); diff != "" {
		t.Errorf("reasons mismatch (-want +got):\n%s", diff)
	}
	_, err = domain.Promote(domain.NewRelease(), relID, dave, "development", anyStrategy, envs, nil, nil, now)
	wantNotFound(t, err, "release", relID)
}

// The whole way through decisions and reactions: promote, roll back, promote
// again is attempt 2 and the product follows what production runs.
func TestPromoteRollBackPromoteAgain(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, readyForProduction())
	p := productFrom(t, reserved("2.1.4"), runs("production", "2.1.4"), reserved("2.2.0"))
	clock := now
	step := func(actor string, msgs []proto.Message, err error) {
		t.Helper()
		mustOK(t, err)
		if len(msgs) == 0 {
			t.Fatal("decided nothing")
		}
		clock = clock.Add(time.Minute)
		apply(t, r, clock, actor, msgs...)
	}
	react := func(ev proto.Message) {
		t.Helper()
		rel, prod := domain.OnDeploymentEvent(r, ev, clock)
		step("system:floe", rel, nil)
		for _, m := range prod {
			domain.ApplyProduct(p, m)
		}
	}

	first, err := domain.Promote(r, relID, dave, "production", anyStrategy, envs, nil, nil, clock)
	step("dave", first, err)
	react(&deployv1.DeploymentStarted{DeploymentId: "d1", ReleaseId: relID, Version: "2.2.0", Environment: "production", Strategy: "canary", Attempt: 1})
	react(&deployv1.DeploymentSucceeded{DeploymentId: "d1", ReleaseId: relID, Version: "2.2.0", Environment: "production"})
	if p.Runs("production") != "2.2.0" || r.Status() != deployed {
		t.Fatalf("after success: production runs %q, status %v", p.Runs("production"), r.Status())
	}
	react(&deployv1.RolledBack{DeploymentId: "d1", ReleaseId: relID, Version: "2.2.0", Environment: "production", RestoredVersion: "2.1.4", Reason: "error rate 4%"})
	if p.Runs("production") != "2.1.4" || r.Status() != rolledBack || envOf(r, "production").GetReason() != "error rate 4%" {
		t.Fatalf("after rollback: production runs %q, status %v, reason %q", p.Runs("production"), r.Status(), envOf(r, "production").GetReason())
	}
	got, err := domain.Promote(r, relID, dave, "production", blueGreen, envs, nil, nil, clock)
	mustOK(t, err)
	diffEvents(t, msgs(requested("production", "blue-green", "dave", 2, "rita", "otto")), got)
}

// A hotfix that skips staging does not skip staging's gates: they are asked
// about, as skipped (only the blocking ones count), and refuse it.
func TestHotfixSkippingStagingStillAsksItsGates(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, slices.Concat(created("2.1.5", hotfix, "production"), approval("production", "rita", 1), approval("production", "otto", 1)))
	var asked []string
	gates := func(_, env string, skipped bool) []string {
		asked = append(asked, fmt.Sprintf("%s skipped=%v", env, skipped))
		return []string{"staging gate Security Tests is pending"}
	}
	_, err := domain.Promote(r, relID, dave, "production", anyStrategy, envs, gates, nil, now)
	if got := reasons(t, err); len(got) != 1 || got[0] != "staging gate Security Tests is pending" {
		t.Fatalf("reasons: %q", got)
	}
	if diff := cmp.Diff([]string{"staging skipped=true"}, asked); diff != "" {
		t.Fatalf("gates asked (-want +got):\n%s", diff)
	}
}

// Change management's part of a promotion: the checker is asked with the
// environment's change_required, its refusals join the others with their
// kinds, its authorization is recorded; the release's own planned window
// holds where a change is required.
func TestPromoteChangeManagement(t *testing.T) {
	t.Parallel()
	type ask struct {
		Release, Env, Requester string
		Required                bool
	}
	var asked []ask
	allow := func(releaseID, env, requester string, required bool) (domain.ChangeAuthorization, error) {
		asked = append(asked, ask{releaseID, env, requester, required})
		return domain.ChangeAuthorization{ChangeID: "chg-1", WindowID: "weekdays", FreezeOverride: "year-end (granted by otto: hotfix)"}, nil
	}
	got, err := domain.Promote(releaseFrom(t, readyForProduction()), relID, dave, "production", anyStrategy, envs, nil, allow, now)
	mustOK(t, err)
	want := requested("production", "canary", "dave", 1, "rita", "otto")
	want.ChangeId, want.WindowId, want.FreezeOverride = "chg-1", "weekdays", "year-end (granted by otto: hotfix)"
	diffEvents(t, msgs(want), got)
	if diff := cmp.Diff([]ask{{relID, "production", "dave", true}}, asked); diff != "" {
		t.Errorf("checker asked (-want +got):\n%s", diff)
	}
	asked = nil
	_, err = domain.Promote(releaseFrom(t, planned220()), relID, dave, "development", anyStrategy, envs, nil, allow, now)
	mustOK(t, err)
	if len(asked) != 1 || asked[0].Required {
		t.Errorf("development asked %+v, want asked without a required change", asked)
	}

	refuse := func(string, string, string, bool) (domain.ChangeAuthorization, error) {
		return domain.ChangeAuthorization{}, &errs.PreconditionError{Reasons: []string{"frozen", "no change"},
			Kinds: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_FROZEN, errorsv1.ErrorReason_ERROR_REASON_CHANGE_REQUEST_REQUIRED}}
	}
	_, err = domain.Promote(releaseFrom(t, planned220()), relID, dave, "production", anyStrategy, envs, nil, refuse, now)
	wantKinds(t, err, errorsv1.ErrorReason_ERROR_REASON_PROMOTION_ORDER, errorsv1.ErrorReason_ERROR_REASON_APPROVALS_MISSING,
		errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_FROZEN, errorsv1.ErrorReason_ERROR_REASON_CHANGE_REQUEST_REQUIRED)

	// The release planned [now+1h, now+3h): production is refused before it, development is not held.
	scheduled := by("alice", &releasev1.ReleaseUpdated{TargetEnvironments: []string{"development", "staging", "production"},
		Schedule: &releasev1.Schedule{WindowStart: timestamppb.New(now.Add(time.Hour)), WindowEnd: timestamppb.New(now.Add(3 * time.Hour))}})
	_, err = domain.Promote(releaseFrom(t, readyForProduction(), scheduled), relID, dave, "production", anyStrategy, envs, nil, allow, now)
	wantKinds(t, err, errorsv1.ErrorReason_ERROR_REASON_OUTSIDE_DEPLOYMENT_WINDOW)
	_, err = domain.Promote(releaseFrom(t, readyForProduction(), scheduled), relID, dave, "production", anyStrategy, envs, nil, allow, now.Add(2*time.Hour))
	mustOK(t, err)
	_, err = domain.Promote(releaseFrom(t, planned220(), scheduled), relID, dave, "development", anyStrategy, envs, nil, allow, now)
	mustOK(t, err)
}
