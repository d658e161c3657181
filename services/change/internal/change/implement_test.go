package change_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/change/internal/change"
)

func startImpl(dep, rel, env string, at time.Time) func(c *change.ChangeRequest) ([]change.Event, error) {
	return func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.StartImplementation(c, change.StartImplementationCommand{DeploymentID: dep, ReleaseID: rel, Environment: env}, at)
	}
}

func TestStartImplementation(t *testing.T) {
	t.Parallel()
	impl := func(dep, env string, outside bool) change.ImplementationStarted {
		return change.ImplementationStarted{DeploymentID: dep, ReleaseID: release, Environment: env, OutsideWindow: outside}
	}
	twoEnvs := normalScheduled("staging", "production")
	runScenarios(t, []scenario{
		{
			name: "the deployment starts the implementation", given: normalScheduled(), when: startImpl("dep-1", release, "production", implAt),
			want: events(impl("dep-1", "production", false)), state: change.StateImplementing,
		},
		{
			name: "at the window's start", given: normalScheduled(), when: startImpl("dep-1", release, "production", winStart),
			want: events(impl("dep-1", "production", false)), state: change.StateImplementing,
		},
		{
			name: "before the window: recorded, marked outside", given: normalScheduled(), when: startImpl("dep-1", release, "production", winStart.Add(-time.Second)),
			want: events(impl("dep-1", "production", true)), state: change.StateImplementing,
		},
		{
			name: "at the window's end: outside (the end is exclusive)", given: normalScheduled(), when: startImpl("dep-1", release, "production", winEnd),
			want: events(impl("dep-1", "production", true)), state: change.StateImplementing,
		},
		{
			name: "an unscheduled change is not implemented", given: [][]ev{submitted(change.ClassNormal), reviewed(), approvedNormal()},
			when:    startImpl("dep-1", release, "production", implAt),
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"change CR-1 is approved but not scheduled: it has no window yet: only a change that is scheduled or implementing can start its implementation"}},
		},
		{
			name: "an unapproved change is not implemented", given: [][]ev{submitted(change.ClassNormal), reviewed()},
			when:  startImpl("dep-1", release, "production", implAt),
			kinds: []errs.Reason{kindState},
		},
		{
			name: "a release the change does not cover", given: normalScheduled(), when: startImpl("dep-1", "rel-999", "production", implAt),
			kinds:   []errs.Reason{kindNotCovered},
			refused: [][]string{{"change CR-1 does not cover release rel-999 (it covers rel-220)"}},
		},
		{
			name: "an environment the change does not cover", given: normalScheduled(), when: startImpl("dep-1", release, "staging", implAt),
			kinds:   []errs.Reason{kindNotCovered},
			refused: [][]string{{"change CR-1 does not cover staging (it covers production)"}},
		},
		{
			name: "the same deployment again is no news", given: plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{})),
			when: startImpl("dep-1", release, "production", implAt.Add(time.Minute)),
			want: nil, state: change.StateImplementing,
		},
		{
			name: "the same deployment id elsewhere", given: plus(twoEnvs, started("dep-1", "staging", implAt, time.Time{})),
			when:    startImpl("dep-1", release, "production", implAt),
			kinds:   []errs.Reason{kindDeployment},
			refused: [][]string{{"deployment dep-1 is already recorded for release rel-220 in staging"}},
		},
		{
			name: "the next environment while implementing", given: plus(twoEnvs, started("dep-stg", "staging", implAt, time.Time{})),
			when: startImpl("dep-prd", release, "production", implAt.Add(time.Hour)),
			want: events(impl("dep-prd", "production", false)), state: change.StateImplementing,
		},
		{
			name: "a second deployment to the same environment", given: plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{})),
			when:    startImpl("dep-2", release, "production", implAt),
			kinds:   []errs.Reason{kindDeployment},
			refused: [][]string{{"change CR-1 is already implemented in production by deployment dep-1"}},
		},
		{
			name: "fields", given: normalScheduled(), when: startImpl("", "rel 1", "prod.eu", implAt),
			invalid: []string{"deployment_id", "release_id", "environment"},
		},
	})
}

func validate(dep, check string, outcome change.Outcome, detail string) func(c *change.ChangeRequest) ([]change.Event, error) {
	return func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.RecordValidation(c, change.RecordValidationCommand{DeploymentID: dep, Check: check, Outcome: outcome, Detail: detail})
	}
}

func TestRecordValidation(t *testing.T) {
	t.Parallel()
	implementing := plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{}))
	rec := func(dep, check string, o change.Outcome, detail string) change.ValidationRecorded {
		return change.ValidationRecorded{DeploymentID: dep, Check: check, Outcome: o, Detail: detail}
	}
	gatesAndDeploy := by("system:change", rec("dep-1", "deployment", change.OutcomeSucceeded, ""), rec("dep-1", "gates", change.OutcomeSucceeded, ""))
	validated := plus(implementing, passed("dep-1"), by("system:change", change.Validated{}))
	twoEnvs := plus(normalScheduled("staging", "production"), started("dep-stg", "staging", implAt, time.Time{}), passed("dep-stg")[:2])
	runScenarios(t, []scenario{
		{
			name: "a check succeeded", given: implementing, when: validate("dep-1", "deployment", change.OutcomeSucceeded, ""),
			want: events(rec("dep-1", "deployment", change.OutcomeSucceeded, "")), state: change.StateImplementing,
		},
		{
			name: "the last required check validates the change", given: plus(implementing, gatesAndDeploy), when: validate("dep-1", "bake", change.OutcomeSucceeded, "30 minutes clean"),
			want: events(rec("dep-1", "bake", change.OutcomeSucceeded, "30 minutes clean"), change.Validated{}), state: change.StateValidated,
		},
		{
			name: "a check the policy does not require does not validate it", given: plus(implementing, gatesAndDeploy), when: validate("dep-1", "smoke", change.OutcomeSucceeded, ""),
			want: events(rec("dep-1", "smoke", change.OutcomeSucceeded, "")), state: change.StateImplementing,
		},
		{
			name: "a failed check fails the change", given: plus(implementing, gatesAndDeploy[:1]), when: validate("dep-1", "gates", change.OutcomeFailed, "2 of 3 gates failed"),
			want: events(
				rec("dep-1", "gates", change.OutcomeFailed, "2 of 3 gates failed"),
				change.Failed{Reason: "gates of deployment dep-1 failed: 2 of 3 gates failed", DeploymentID: "dep-1"},
			),
			state: change.StateFailed,
		},
		{
			name: "a failed deployment fails the change", given: implementing, when: validate("dep-1", "deployment", change.OutcomeFailed, ""),
			want:  events(rec("dep-1", "deployment", change.OutcomeFailed, ""), change.Failed{Reason: "deployment of deployment dep-1 failed", DeploymentID: "dep-1"}),
			state: change.StateFailed,
		},
		{
			name: "a failure after validation fails it too", given: validated, when: validate("dep-1", "smoke", change.OutcomeFailed, "checkout 500s"),
			want:  events(rec("dep-1", "smoke", change.OutcomeFailed, "checkout 500s"), change.Failed{Reason: "smoke of deployment dep-1 failed: checkout 500s", DeploymentID: "dep-1"}),
			state: change.StateFailed,
		},
		{
			name: "the same outcome again is no news", given: plus(implementing, gatesAndDeploy), when: validate("dep-1", "gates", change.OutcomeSucceeded, "again"),
			want: nil, state: change.StateImplementing,
		},
		{
			name: "two environments: staging's checks do not validate a change for production too", given: twoEnvs,
			when: validate("dep-stg", "bake", change.OutcomeSucceeded, ""),
			want: events(rec("dep-stg", "bake", change.OutcomeSucceeded, "")), state: change.StateImplementing,
		},
		{
			name: "two environments: production's last check does", given: plus(twoEnvs, passed("dep-stg")[2:], started("dep-prd", "production", implAt.Add(time.Hour), time.Time{}), passed("dep-prd")[:2]),
			when: validate("dep-prd", "bake", change.OutcomeSucceeded, ""),
			want: events(rec("dep-prd", "bake", change.OutcomeSucceeded, ""), change.Validated{}), state: change.StateValidated,
		},
		{
			name: "a deployment that does not implement the change", given: implementing, when: validate("dep-9", "gates", change.OutcomeSucceeded, ""),
			kinds:   []errs.Reason{kindNotCovered},
			refused: [][]string{{"deployment dep-9 does not implement change CR-1 (its deployments: dep-1)"}},
		},
		{
			name: "before implementation", given: normalScheduled(), when: validate("dep-1", "gates", change.OutcomeSucceeded, ""),
			kinds:   []errs.Reason{kindState, kindNotCovered},
			refused: [][]string{{"deployment dep-1 does not implement change CR-1 (it has no deployments)"}},
		},
		{
			name: "fields", given: implementing, when: validate("dep-1", "smoke test", "green", "password: Xy7!kq2ZZt"),
			invalid: []string{"check", "outcome", "detail"},
		},
	})
}

func TestFail(t *testing.T) {
	t.Parallel()
	implementing := plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{}))
	fail := func(reason, dep string) func(c *change.ChangeRequest) ([]change.Event, error) {
		return func(c *change.ChangeRequest) ([]change.Event, error) {
			return change.Fail(c, change.FailCommand{Reason: reason, DeploymentID: dep})
		}
	}
	runScenarios(t, []scenario{
		{
			name: "the implementation failed", given: implementing, when: fail("Rolled back by the monitor.", "dep-1"),
			want: events(change.Failed{Reason: "Rolled back by the monitor.", DeploymentID: "dep-1"}), state: change.StateFailed,
		},
		{
			name: "without a deployment", given: implementing, when: fail("Aborted by operations.", ""),
			want: events(change.Failed{Reason: "Aborted by operations."}), state: change.StateFailed,
		},
		{
			name: "an unknown deployment", given: implementing, when: fail("x", "dep-9"),
			kinds: []errs.Reason{kindNotCovered},
		},
		{
			name: "a reason is required", given: implementing, when: fail(" ", ""),
			invalid: []string{"reason"},
		},
		{
			name: "a scheduled change is cancelled, not failed", given: normalScheduled(), when: fail("x", ""),
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"only a change that is implementing or validated can fail"}},
		},
	})
}

func TestDeploymentsView(t *testing.T) {
	t.Parallel()
	c := given(t, plus(normalScheduled(), started("dep-1", "production", winStart.Add(-time.Minute), time.Time{}), passed("dep-1")[:1])...)
	want := []change.Deployment{{
		ID: "dep-1", ReleaseID: release, Environment: "production", StartedAt: winStart.Add(-time.Minute),
		Checks: map[string]change.Outcome{"deployment": change.OutcomeSucceeded},
	}}
	got := c.Deployments()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Deployments() (-want +got):\n%s", diff)
	}
	got[0].Checks["gates"] = change.OutcomeFailed // a copy: the state is not changed through it
	if diff := cmp.Diff(want, c.Deployments()); diff != "" {
		t.Errorf("Deployments() changed through a returned value (-want +got):\n%s", diff)
	}
}
