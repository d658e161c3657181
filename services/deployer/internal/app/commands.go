package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/kernel"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// checkID refuses a deployment id that is not an identifier (the API
// checks it first; this guards every other caller).
func checkID(id string) error {
	var v errs.Violations
	ident.Check(&v, "deployment_id", id)
	return v.Err()
}

// command runs decide on a deployment through the kernel and wakes its
// runner; it returns a copy of the deployment after the command.
func (e *Engine) command(ctx context.Context, id string, decide func(*domain.Deployment) ([]proto.Message, error)) (*domain.Deployment, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var out *domain.Deployment
	_, err := e.deployments.Execute(ctx, kernel.Command[*domain.Deployment]{
		ID: id, Decide: decide, Observe: func(d *domain.Deployment) { out = d.Clone() },
	})
	if err != nil {
		return nil, err
	}
	e.Wake(id)
	return out, nil
}

// Pause pauses a running deployment before its next step.
func (e *Engine) Pause(ctx context.Context, id, reason string) (*domain.Deployment, error) {
	return e.command(ctx, id, func(d *domain.Deployment) ([]proto.Message, error) { return domain.Pause(d, id, reason) })
}

// Resume resumes a paused deployment or ends a manual pause step.
func (e *Engine) Resume(ctx context.Context, id string) (*domain.Deployment, error) {
	return e.command(ctx, id, func(d *domain.Deployment) ([]proto.Message, error) { return domain.Resume(d, id) })
}

// Abort aborts and restores the previous version.
func (e *Engine) Abort(ctx context.Context, id, reason string) (*domain.Deployment, error) {
	return e.command(ctx, id, func(d *domain.Deployment) ([]proto.Message, error) { return domain.Abort(d, id, reason) })
}

// Rollback rolls back (trigger "manual" for people, "monitor" for RollbackTriggered).
func (e *Engine) Rollback(ctx context.Context, id, reason, trigger string) (*domain.Deployment, error) {
	return e.command(ctx, id, func(d *domain.Deployment) ([]proto.Message, error) { return domain.Rollback(d, id, reason, trigger) })
}

// Retry starts the next attempt of a finished, unsuccessful deployment.
func (e *Engine) Retry(ctx context.Context, id, requestedBy string) (*domain.Deployment, error) {
	d, err := e.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !d.Exists() {
		return nil, &errs.NotFoundError{Kind: "deployment", ID: id}
	}
	switch {
	case d.Active():
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_BUSY, "deployment %s is still %s: only a failed, aborted or rolled-back deployment is retried", id, statusText(d))
	case d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED:
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_ALREADY_DEPLOYED, "deployment %s succeeded: only a failed, aborted or rolled-back deployment is retried", id)
	}
	if cr := d.ConfigRollout(); cr != nil {
		// A configuration rollout is retried as a new one of the same version, onto what runs now.
		return e.RolloutConfig(ctx, d.App(), d.Environment(), cr.GetConfigVersion(), d.Strategy(), cr.GetReason(), requestedBy)
	}
	// A retry starts a deployment without a promotion: freezes and windows
	// hold it as they hold promotions, and a deployment a change authorized
	// is retried only while a change still authorizes it.
	changeID, err := e.checkChanges(ctx, d.ReleaseID(), d.Environment(), requestedBy, d.ChangeID() != "")
	if err != nil {
		return nil, err
	}
	next := d.Attempt() + 1
	p := &releasev1.PromotionRequested{ReleaseId: d.ReleaseID(), Product: d.Product(), Version: d.Version(), Environment: d.Environment(),
		StrategyType: d.Strategy(), Strategy: enumtext.Name(d.Strategy()), RequestedBy: requestedBy, Attempt: next, ChangeId: changeID}
	if err := e.start(ctx, p); err != nil {
		return nil, err
	}
	return e.Load(ctx, domain.ID(d.ReleaseID(), d.Environment(), next))
}

func statusText(d *domain.Deployment) string {
	return strings.ToLower(strings.TrimPrefix(d.Status().String(), "DEPLOYMENT_STATUS_"))
}

// OnRollbackTriggered rolls back the deployment a monitor trigger fired for.
// A deployment that already finished or is rolling back is left alone (the
// trigger fired late, or twice): redelivery is harmless.
func (e *Engine) OnRollbackTriggered(ctx context.Context, cause *eventstore.RecordedEvent) error {
	var rt monitorv1.RollbackTriggered
	if err := cause.DecodeInto(&rt); err != nil {
		return nil
	}
	id := rt.GetDeploymentId()
	if !eventstore.ValidID(id) {
		return nil
	}
	reason := fmt.Sprintf("%s: %s %s %g, observed %.4g for %.0fs", rt.GetTrigger(), rt.GetMetric(), rt.GetOperator(), rt.GetThreshold(), rt.GetObserved(), rt.GetSustainedSeconds())
	if rt.GetDuringBake() {
		return e.rollbackBake(ctx, id, reason)
	}
	_, err := e.command(ctx, id, func(d *domain.Deployment) ([]proto.Message, error) {
		if !d.Active() || d.RollingBack() {
			return nil, nil // finished or rolling back meanwhile
		}
		return domain.Rollback(d, id, reason, "monitor")
	})
	var pe *errs.PreconditionError
	if errors.As(err, &pe) {
		return nil
	}
	return err
}

// BakeRollbackID is the id of the deployment that rolls back the bake of deployment id.
func BakeRollbackID(id string) string { return id + "-rollback" }

// rollbackBake rolls the environment back from deployment id, which
// succeeded and was baking when a rollback trigger fired: a new deployment
// (big-bang) puts the previous version back, naming id as what it rolls
// back; when it succeeds, id is recorded as RolledBack (OnBakeRollbackDone).
// Nothing happens when id is no longer what the environment runs (a newer
// deployment replaced it) or there was nothing before it; redelivery starts
// nothing twice (the new deployment's id is fixed).
func (e *Engine) rollbackBake(ctx context.Context, id, reason string) error {
	d, err := e.Load(ctx, id)
	if err != nil || !d.Exists() || d.Status() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED {
		return err
	}
	if of, _ := d.RollbackOf(); of != "" {
		// Rolling back a rollback would put back the version that failed its bake.
		e.log.Warn().Str("deployment", id).Str("rollback_of", of).Msg("a rollback trigger fired during the bake of a rollback: left to people")
		return nil
	}
	prev := d.PreviousVersion()
	live, err := e.reg.Live(ctx, d.App())
	if err != nil {
		return err
	}
	if prev == "" || live[d.Environment()] != d.Version() {
		e.log.Warn().Str("deployment", id).Str("previous", prev).Str("live", live[d.Environment()]).
			Msg("a rollback trigger fired during the bake, but there is no previous version to go back to, or a newer deployment runs now")
		return nil
	}
	rid := BakeRollbackID(id)
	if rd, err := e.Load(ctx, rid); err != nil || rd.Exists() {
		return err
	}
	strategy := deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BIG_BANG
	base := &deployv1.DeploymentStarted{DeploymentId: rid, Version: prev, Environment: d.Environment(), StrategyType: strategy, Strategy: enumtext.Name(strategy),
		Attempt: 1, App: d.App(), RequestedBy: "system:monitor", Product: d.Product(), RollbackOf: id, RollbackReason: reason}
	busy, err := e.launch(ctx, base)
	if busy != "" {
		return fmt.Errorf("roll back the bake of %s: %s", id, busy) // retried until the environment is free
	}
	return err
}

// OnDeploymentEvent wakes the runner of the deployment an event is about
// when it runs here, and starts one for a deployment that just started (it
// runs where its target's lease is): with several deployer instances,
// a command handled by one reaches the runner in another this way.
func (e *Engine) OnDeploymentEvent(id, event string) {
	if !eventstore.ValidID(id) {
		return
	}
	e.mu.Lock()
	_, here := e.running[id]
	if event == "DeploymentSucceeded" {
		clear(e.lastLive) // a target's live version may come from this deployment now
	}
	e.mu.Unlock()
	if here || event == "DeploymentStarted" {
		e.Wake(id)
	}
}

// OnBakeRollbackDone records, when a bake's rollback deployment succeeded,
// that the deployment it rolled back is RolledBack (the release, change and
// notifier services read it like any rollback). Idempotent.
func (e *Engine) OnBakeRollbackDone(ctx context.Context, cause *eventstore.RecordedEvent) error {
	rd, err := e.Load(ctx, cause.AggregateID)
	if err != nil {
		return err
	}
	of, reason := rd.RollbackOf()
	if of == "" || rd.Status() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED {
		return nil
	}
	_, err = e.command(ctx, of, func(d *domain.Deployment) ([]proto.Message, error) {
		if d.Status() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED {
			return nil, nil // recorded already
		}
		return []proto.Message{&deployv1.RolledBack{DeploymentId: d.ID(), ReleaseId: d.ReleaseID(), Version: d.Version(), Environment: d.Environment(),
			RestoredVersion: rd.Version(), Reason: fmt.Sprintf("rolled back during its bake by deployment %s: %s", rd.ID(), reason)}}, nil
	})
	return err
}

// DefaultMaxReplicas is how many instances of a version scale_up triggers
// may bring it to when the config does not say.
const DefaultMaxReplicas = 3

// OnTriggerFired answers a monitor trigger whose action is scale_up (the
// others, alerts, are for people): one more instance of the deployment's
// version, up to MaxReplicas, while the deployment runs or bakes —
// DeploymentScaled — or ScaleUpRefused saying why not (the driver cannot
// scale, the maximum, the version no longer runs, the driver failed). Each
// firing is answered once: a redelivered one finds its answer recorded.
func (e *Engine) OnTriggerFired(ctx context.Context, cause *eventstore.RecordedEvent) error {
	var tf monitorv1.TriggerFired
	if err := cause.DecodeInto(&tf); err != nil || tf.GetActionType() != monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP {
		return nil
	}
	id := tf.GetDeploymentId()
	if !eventstore.ValidID(id) {
		return nil
	}
	d, err := e.Load(ctx, id)
	if err != nil || !d.Exists() || d.ScaleAnswered(cause.ID) {
		return err
	}
	reason := fmt.Sprintf("%s %s %g, observed %.4g", tf.GetMetric(), tf.GetOperator(), tf.GetThreshold(), tf.GetObserved())
	if tf.GetCause() == "no_data" {
		reason = fmt.Sprintf("no data for %s", tf.GetMetric())
	}
	live := ""
	if !d.Active() {
		all, err := e.reg.Live(ctx, d.App())
		if err != nil {
			return err
		}
		live = all[d.Environment()]
	}
	// With several instances the firing may reach one that does not own
	// the target: it records the decision, and the owner brings its driver
	// to the recorded count (claim, every half lease TTL).
	_, mine, err := e.own(d.App(), d.Environment())
	if err != nil {
		return err
	}
	drv := e.driverOf(d.App())
	scaler, scalable := drv.(driver.Scaler)
	replicas, refused := domain.ScaleUp(d, drv.Name(), scalable, live, uint32(e.cfg.MaxReplicas))
	if refused == "" && mine {
		if err := e.scale(ctx, scaler, d, replicas); err != nil {
			if ctx.Err() != nil {
				return err
			}
			refused = "the driver failed to start another instance: " + err.Error()
		}
	}
	var answer proto.Message = &deployv1.DeploymentScaled{DeploymentId: id, ReleaseId: d.ReleaseID(), Version: d.Version(), Environment: d.Environment(),
		Replicas: replicas, PreviousReplicas: d.Replicas(), Trigger: tf.GetTrigger(), Reason: reason, CauseEventId: cause.ID}
	if refused != "" {
		answer = &deployv1.ScaleUpRefused{DeploymentId: id, ReleaseId: d.ReleaseID(), Version: d.Version(), Environment: d.Environment(),
			Replicas: d.Replicas(), Trigger: tf.GetTrigger(), Reason: refused, CauseEventId: cause.ID}
		e.log.Warn().Str("deployment", id).Str("trigger", tf.GetTrigger()).Str("reason", refused).Msg("scale_up refused")
	}
	_, err = e.command(ctx, id, func(d *domain.Deployment) ([]proto.Message, error) {
		if d.ScaleAnswered(cause.ID) {
			return nil, nil
		}
		return []proto.Message{answer}, nil
	})
	return err
}

// scale runs replicas instances of d's version, each with the configuration
// (and secrets) its START step delivered.
func (e *Engine) scale(ctx context.Context, s driver.Scaler, d *domain.Deployment, replicas uint32) error {
	cfg, sec, failed, err := e.versionInput(ctx, d.Environment(), d.Version(), d.Delivery())
	if err != nil {
		return err
	}
	if failed != "" {
		return errors.New(failed)
	}
	defer wipe(sec)
	return s.Scale(ctx, e.target(d), driver.Version{Version: d.Version(), ReleaseID: d.ArtifactReleaseID(), Config: cfg, Secrets: sec}, int(replicas))
}
