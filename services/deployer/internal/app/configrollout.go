package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/leakscan"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// Configuration-only rollouts. A new configuration version reaches an
// environment with its next release deployment, or now, through
// RolloutConfig: the live release's artifact is deployed again, as the
// version "<artifact>+config.<N>" (driver.WithConfig), with configuration
// version N — by a strategy's steps like a release: started beside the
// live version, checked, analysed by the monitor, given the traffic, the
// previous one stopped; a failure rolls back to the previous version with
// the configuration it was deployed with. The deployment names no release
// (the release's status does not move); ConfigRollout names the artifact's.

// MaxRolloutReason bounds a configuration rollout's reason.
const MaxRolloutReason = 1000

// ConfigRolloutID is the id of attempt n of rolling out configuration
// version cv to env: "config-<env>-v<cv>-<n>" for the deployer's default
// app (what a deployer of one app has always written), with the app named
// after "config-" for the others.
func (e *Engine) ConfigRolloutID(app, env string, cv uint64, n uint32) string {
	if app == e.cfg.App {
		return fmt.Sprintf("config-%s-v%d-%d", env, cv, n)
	}
	return fmt.Sprintf("config-%s-%s-v%d-%d", app, env, cv, n)
}

// RolloutConfig starts a configuration-only rollout of configuration
// version cv (0: the current one) to what app runs in env, by requestedBy;
// app may be "" when the deployer deploys one app.
func (e *Engine) RolloutConfig(ctx context.Context, app, env string, cv uint64, strategy deployv1.DeploymentStrategy, reason, requestedBy string) (*domain.Deployment, error) {
	var v errs.Violations
	ident.Check(&v, "environment", env)
	apps := e.apps()
	switch {
	case app == "" && len(apps) == 1:
		app = apps[0]
	case app == "":
		v.Add("app", "is required: this deployer deploys %s", strings.Join(apps, ", "))
	case !slices.Contains(apps, app):
		v.Add("app", "%q is not one this deployer deploys (%s)", app, strings.Join(apps, ", "))
	}
	switch {
	case strings.TrimSpace(reason) == "":
		v.Add("reason", "is required: say why the configuration is rolled out")
	case len(reason) > MaxRolloutReason:
		v.Add("reason", "is %d bytes; the limit is %d", len(reason), MaxRolloutReason)
	case !utf8.ValidString(reason):
		v.Add("reason", "is not valid UTF-8")
	default:
		for _, f := range leakscan.Scan(reason) {
			v.Add("reason", "%s; %s", f.Description, f.Hint)
		}
	}
	if strategy == deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_UNSPECIFIED {
		strategy = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_ROLLING_UPDATE
	} else if enumtext.Name(strategy) == "" {
		v.Add("strategy", "is not a known strategy")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if e.cfg.Configs == nil {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "this deployer reads no environment configuration")
	}
	// A configuration rollout starts instances like a promotion does: freezes and windows hold it.
	if _, err := e.checkChanges(ctx, "", env, requestedBy, false); err != nil {
		return nil, err
	}
	var (
		ver ConfigVersion
		ok  bool
		err error
	)
	if cv == 0 {
		ver, ok, err = e.cfg.Configs.Latest(ctx, env)
	} else {
		ver, ok, err = e.cfg.Configs.Version(ctx, env, cv)
	}
	switch {
	case err != nil:
		return nil, err
	case !ok && cv == 0:
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "%s has no configuration to roll out (floe config set)", env)
	case !ok:
		return nil, &errs.NotFoundError{Kind: "configuration version", ID: fmt.Sprintf("%s@%d", env, cv)}
	}
	state, err := e.drv.State(ctx, driver.Target{Environment: env, App: app})
	if err != nil {
		return nil, &errs.UnavailableError{What: "driver " + e.driverOf(app).Name(), Err: err}
	}
	live := liveVersion(state, "")
	if live == "" {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
			"nothing runs in %s to roll configuration version %d out to: deploy a release first (it takes the current configuration)", env, ver.Version)
	}
	version := driver.WithConfig(live, ver.Version)
	if version == live {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "%s already runs %s, with configuration version %d", env, live, ver.Version)
	}
	artifactRelease := ""
	if last, _, err := e.cfg.Configs.LastDelivery(ctx, app, env, live); err != nil {
		return nil, err
	} else if last != "" {
		if ld, err := e.Load(ctx, last); err == nil {
			artifactRelease = ld.ArtifactReleaseID()
		}
	}
	for n := uint32(1); ; n++ {
		id := e.ConfigRolloutID(app, env, ver.Version, n)
		d, err := e.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		if d.Exists() {
			if d.Active() {
				return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "configuration version %d is being rolled out to %s: deployment %s", ver.Version, env, id)
			}
			continue
		}
		base := &deployv1.DeploymentStarted{DeploymentId: id, Version: version, Environment: env, StrategyType: strategy, Strategy: enumtext.Name(strategy),
			Attempt: n, App: app, RequestedBy: requestedBy,
			ConfigRollout: &deployv1.ConfigRollout{ConfigVersion: ver.Version, Artifact: driver.Artifact(live), ArtifactReleaseId: artifactRelease, Reason: reason}}
		busy, err := e.launch(ctx, base)
		if busy != "" {
			return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "%s", busy)
		}
		if err != nil {
			return nil, err
		}
		return e.Load(ctx, id)
	}
}
