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
		return e.RolloutConfig(ctx, d.Environment(), cr.GetConfigVersion(), d.Strategy(), cr.GetReason(), requestedBy)
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
