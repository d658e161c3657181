package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
)

// command loads a deployment, decides, appends (retrying lost races) and
// wakes its runner.
func (e *Engine) command(ctx context.Context, id string, decide func(*domain.Deployment) ([]proto.Message, error)) (*domain.Deployment, error) {
	for attempt := 0; ; attempt++ {
		d, _, err := e.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		msgs, err := decide(d)
		if err != nil {
			return nil, err
		}
		err = e.append(ctx, d, "", msgs...)
		if errors.Is(err, errs.ErrConcurrency) && attempt < 20 {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		if err != nil {
			return nil, err
		}
		e.Wake(id)
		d, _, err = e.Load(ctx, id)
		return d, err
	}
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
	d, _, err := e.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !d.Exists() {
		return nil, &errs.NotFoundError{Kind: "deployment", ID: id}
	}
	if d.Active() || d.Status.String() == "DEPLOYMENT_STATUS_SUCCEEDED" {
		return nil, errs.Precondition(0, "deployment "+id+" is "+d.Status.String()+": only a failed, aborted or rolled-back deployment is retried")
	}
	next := d.Attempt + 1
	p := &releasev1.PromotionRequested{ReleaseId: d.ReleaseID, Version: d.Version, Environment: d.Environment, Strategy: d.Strategy,
		RequestedBy: requestedBy, Attempt: next}
	if err := e.start(ctx, p, "retry:"+id); err != nil {
		return nil, err
	}
	nd, _, err := e.Load(ctx, domain.ID(d.ReleaseID, d.Environment, next))
	return nd, err
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
	d, _, err := e.Load(ctx, id)
	if err != nil {
		return err
	}
	if !d.Active() || d.RollingBack {
		return nil
	}
	reason := fmt.Sprintf("%s: %s %s %g, observed %.4g for %.0fs", rt.GetTrigger(), rt.GetMetric(), rt.GetOperator(), rt.GetThreshold(), rt.GetObserved(), rt.GetSustainedSeconds())
	_, err = e.Rollback(ctx, id, reason, "monitor")
	var pe *errs.PreconditionError
	if errors.As(err, &pe) {
		return nil // finished or rolling back meanwhile
	}
	return err
}
