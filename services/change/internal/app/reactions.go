package app

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// DeploymentEvents are the deployer's events the change service reacts to.
var DeploymentEvents = eventstore.EventFilters(&deployv1.DeploymentStarted{}, &deployv1.DeploymentSucceeded{}, &deployv1.DeploymentFailed{}, &deployv1.RolledBack{})

// ChangeOf finds the change a deployment implements ("" when none).
type ChangeOf func(ctx context.Context, deploymentID string) (string, error)

// React applies one deployer event to the change that authorized the
// deployment: its start implements the change, its outcome is the
// deployment check of its validation. A redelivered event takes effect
// once (its id is the command's key); a refusal (the change was cancelled
// meanwhile, say) is reported and not retried.
func (s *Service) React(ctx context.Context, e *eventstore.RecordedEvent, changeOf ChangeOf) error {
	m, err := e.Decode()
	if err != nil {
		return nil // the projection of the log reports undecodable events
	}
	var id string
	var decide func(c *change.ChangeRequest) ([]change.Event, error)
	switch ev := m.(type) {
	case *deployv1.DeploymentStarted:
		id = ev.GetChangeId()
		decide = func(c *change.ChangeRequest) ([]change.Event, error) {
			return change.StartImplementation(c, change.StartImplementationCommand{DeploymentID: ev.GetDeploymentId(), ReleaseID: ev.GetReleaseId(), Environment: ev.GetEnvironment()}, e.Time)
		}
	case *deployv1.DeploymentSucceeded:
		decide = s.check(ev.GetDeploymentId(), change.OutcomeSucceeded, "")
	case *deployv1.DeploymentFailed:
		decide = s.check(ev.GetDeploymentId(), change.OutcomeFailed, "failed: "+ev.GetReason())
	case *deployv1.RolledBack:
		decide = s.check(ev.GetDeploymentId(), change.OutcomeFailed, fmt.Sprintf("rolled back to %s: %s", orNone(ev.GetRestoredVersion()), ev.GetReason()))
	default:
		return nil
	}
	if id == "" {
		if _, started := m.(*deployv1.DeploymentStarted); started {
			return nil // no change authorized it
		}
		if id, err = changeOf(ctx, e.AggregateID); err != nil || id == "" {
			return err
		}
	}
	ctx = causal.System(ctx, "change", e.CorrelationID, e.ID)
	_, err = s.changes.Execute(ctx, kernel.Command[*Change]{
		ID: id, Key: causal.Key("deploy", e.ID),
		Decide: func(c *Change) ([]proto.Message, error) {
			if !c.CR.Exists() {
				return nil, &errs.NotFoundError{Kind: "change request", ID: id}
			}
			evs, err := decide(c.CR)
			if err != nil {
				return nil, err
			}
			return events(evs)
		},
	})
	var pe *errs.PreconditionError
	var nf *errs.NotFoundError
	if errors.As(err, &pe) || errors.As(err, &nf) {
		return &Refused{Change: id, Event: e.Name, Err: err}
	}
	return err
}

func (s *Service) check(deploymentID string, outcome change.Outcome, detail string) func(c *change.ChangeRequest) ([]change.Event, error) {
	return func(c *change.ChangeRequest) ([]change.Event, error) {
		return change.RecordValidation(c, change.RecordValidationCommand{DeploymentID: deploymentID, Check: change.CheckDeployment, Outcome: outcome, Detail: detail})
	}
}

// Refused is a reaction the change's state refused: reported, not retried.
type Refused struct {
	Change, Event string
	Err           error
}

func (r *Refused) Error() string {
	return fmt.Sprintf("change %s refused the reaction to %s: %v", r.Change, r.Event, r.Err)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// NoticeOverdue records, once, that change id's post-implementation review
// is overdue (nothing when it is not, or is recorded already).
func (s *Service) NoticeOverdue(ctx context.Context, id string) error {
	ctx = causal.System(ctx, "change", "", "")
	_, err := s.changes.Execute(ctx, kernel.Command[*Change]{
		ID: id, Key: causal.Key("review-overdue", id),
		Decide: func(c *Change) ([]proto.Message, error) {
			return events(change.NoticeOverdue(c.CR, s.now()))
		},
	})
	return err
}
