package domain

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Deployment is the Deployment aggregate's state.
type Deployment struct {
	ID, ReleaseID, Version, Environment, App, Strategy, PreviousVersion, RequestedBy string
	Attempt                                                                          uint32
	Plan                                                                             []*deployv1.Step
	// started[i] / completed[i] are when step i started and completed (zero: not yet).
	started, completed []time.Time
	results            []string
	Status             deployv1.DeploymentStatus
	// Current is the first step not completed.
	Current int
	// Paused by a command (at the end of the current step) or by a manual pause step.
	Paused      bool
	PauseReason string
	// Rollback requested (by a failure, a command, an abort or the monitor).
	RollingBack      bool
	RollbackReason   string
	RollbackTrigger  string
	Aborted          bool
	Reason           string
	StartedAt        time.Time
	UpdatedAt        time.Time
	AggregateVersion uint64
}

// NewDeployment returns the state of a deployment with no events.
func NewDeployment() *Deployment { return &Deployment{} }

// Exists reports whether the deployment was started.
func (d *Deployment) Exists() bool { return d.ID != "" }

// Active reports whether the deployer still has work to do on it.
func (d *Deployment) Active() bool {
	switch d.Status {
	case deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, deployv1.DeploymentStatus_DEPLOYMENT_STATUS_PAUSED, deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLING_BACK:
		return true
	}
	return false
}

// ID for a deployment of a release to an environment, attempt n.
func ID(releaseID, env string, attempt uint32) string {
	return fmt.Sprintf("%s-%s-%d", releaseID, env, attempt)
}

// Apply folds one event into the deployment at time at.
func Apply(d *Deployment, ev proto.Message, at time.Time) {
	d.AggregateVersion++
	d.UpdatedAt = at
	switch e := ev.(type) {
	case *deployv1.DeploymentStarted:
		d.ID, d.ReleaseID, d.Version, d.Environment = e.GetDeploymentId(), e.GetReleaseId(), e.GetVersion(), e.GetEnvironment()
		d.App, d.Strategy, d.Attempt, d.PreviousVersion, d.RequestedBy = e.GetApp(), e.GetStrategy(), e.GetAttempt(), e.GetPreviousVersion(), e.GetRequestedBy()
		d.Plan = e.GetPlan()
		d.started, d.completed, d.results = make([]time.Time, len(d.Plan)), make([]time.Time, len(d.Plan)), make([]string, len(d.Plan))
		d.Status, d.StartedAt = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, at
	case *deployv1.DeploymentStepStarted:
		if i := int(e.GetIndex()); i < len(d.Plan) && d.started[i].IsZero() {
			d.started[i] = at
		}
	case *deployv1.DeploymentStepCompleted:
		if i := int(e.GetIndex()); i < len(d.Plan) {
			d.completed[i], d.results[i] = at, e.GetResult()
			if i == d.Current {
				d.Current++
			}
		}
	case *deployv1.DeploymentPaused:
		d.Paused, d.PauseReason = true, e.GetReason()
		d.Status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_PAUSED
	case *deployv1.DeploymentResumed:
		d.Paused, d.PauseReason = false, ""
		d.Status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING
		// A manual pause step ends when resumed.
		if i := int(e.GetIndex()); i < len(d.Plan) && i == d.Current && isManualPause(d.Plan[i]) && d.completed[i].IsZero() {
			d.completed[i], d.results[i] = at, "resumed"
			d.Current++
		}
	case *deployv1.DeploymentAborted:
		d.Aborted, d.Reason = true, e.GetReason()
	case *deployv1.RollbackStarted:
		d.RollingBack, d.RollbackReason, d.RollbackTrigger = true, e.GetReason(), e.GetTrigger()
		d.Status, d.Reason = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLING_BACK, e.GetReason()
	case *deployv1.RolledBack:
		d.Status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK
		if d.Aborted {
			d.Status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ABORTED
		}
	case *deployv1.DeploymentSucceeded:
		d.Status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	case *deployv1.DeploymentFailed:
		d.Status, d.Reason = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED, e.GetReason()
	}
}

func isManualPause(s *deployv1.Step) bool {
	return s.GetKind() == deployv1.StepKind_STEP_KIND_PAUSE && s.GetDuration().AsDuration() == 0
}

// ActionKind is what the engine must do next.
type ActionKind int

// The engine's actions.
const (
	// ActNone: nothing to do (finished).
	ActNone ActionKind = iota
	// ActStartStep: record that step Index starts (append DeploymentStepStarted).
	ActStartStep
	// ActRunStep: perform step Index's operation, then complete it.
	ActRunStep
	// ActWaitUntil: sleep until At (a timed pause or analysis window), then complete the step.
	ActWaitUntil
	// ActWaitResume: nothing until a Resume command.
	ActWaitResume
	// ActSucceed: every step is done: append DeploymentSucceeded.
	ActSucceed
	// ActRollback: restore the previous version, then append RolledBack.
	ActRollback
)

// Action is the next thing the engine does.
type Action struct {
	Kind  ActionKind
	Index int
	Step  *deployv1.Step
	At    time.Time
}

// Next decides the engine's next action from the log alone; after a crash
// it gives the same answer, which is how a deployment resumes at the same
// step, with a timed pause keeping its remaining time (its end is the step's
// start time plus its duration).
func Next(d *Deployment) Action {
	switch {
	case !d.Active():
		return Action{Kind: ActNone}
	case d.RollingBack:
		return Action{Kind: ActRollback}
	case d.Current >= len(d.Plan):
		return Action{Kind: ActSucceed}
	}
	i := d.Current
	s := d.Plan[i]
	if d.started[i].IsZero() {
		if d.Paused {
			return Action{Kind: ActWaitResume, Index: i, Step: s} // a Pause command holds before the next step
		}
		return Action{Kind: ActStartStep, Index: i, Step: s}
	}
	switch {
	case isManualPause(s):
		return Action{Kind: ActWaitResume, Index: i, Step: s}
	case s.GetKind() == deployv1.StepKind_STEP_KIND_PAUSE:
		return Action{Kind: ActWaitUntil, Index: i, Step: s, At: d.started[i].Add(s.GetDuration().AsDuration())}
	}
	return Action{Kind: ActRunStep, Index: i, Step: s}
}

// StepStarted and completed times, for views.
func (d *Deployment) StepTimes(i int) (started, completed time.Time) {
	if i < 0 || i >= len(d.Plan) {
		return time.Time{}, time.Time{}
	}
	return d.started[i], d.completed[i]
}

// DriverState is what the log says the driver should be running now: the
// versions needed (the previous one until it is stopped; the new one once
// started) and the traffic split of the last completed SET_WEIGHT step (the
// previous version's 100% before any; nil when nothing routes yet).
func (d *Deployment) DriverState() (needed []string, weights map[string]int) {
	startedNew, stoppedPrev := false, false
	for i, s := range d.Plan {
		if d.completed[i].IsZero() {
			break
		}
		switch s.GetKind() {
		case deployv1.StepKind_STEP_KIND_START:
			startedNew = true
		case deployv1.StepKind_STEP_KIND_SET_WEIGHT:
			weights = d.Weights(s.GetWeight())
		case deployv1.StepKind_STEP_KIND_STOP_PREVIOUS:
			stoppedPrev = true
			weights = map[string]int{d.Version: 100}
		}
	}
	if startedNew {
		needed = []string{d.Version}
	}
	if d.PreviousVersion != "" && d.PreviousVersion != d.Version && !stoppedPrev {
		needed = append(needed, d.PreviousVersion)
		if weights == nil {
			weights = map[string]int{d.PreviousVersion: 100}
		}
	}
	return needed, weights
}

// Weights is the traffic split a SET_WEIGHT step of w percent means.
func (d *Deployment) Weights(w uint32) map[string]int {
	if d.PreviousVersion == "" || w >= 100 {
		return map[string]int{d.Version: 100}
	}
	if w == 0 {
		return map[string]int{d.PreviousVersion: 100}
	}
	return map[string]int{d.Version: int(w), d.PreviousVersion: 100 - int(w)}
}

var reasonPrecondition = errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION

func notFound(d *Deployment, id string) error {
	if !d.Exists() {
		return &errs.NotFoundError{Kind: "deployment", ID: id}
	}
	return nil
}

func statusName(s deployv1.DeploymentStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "DEPLOYMENT_STATUS_"))
}

// Pause decides a Pause command.
func Pause(d *Deployment, id, reason string) ([]proto.Message, error) {
	if err := notFound(d, id); err != nil {
		return nil, err
	}
	if d.Status != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING || d.RollingBack {
		return nil, errs.Precondition(reasonPrecondition, fmt.Sprintf("deployment %s is %s: only a running deployment can be paused", id, statusName(d.Status)))
	}
	if reason == "" {
		reason = "paused by request"
	}
	return []proto.Message{&deployv1.DeploymentPaused{Index: uint32(d.Current), Reason: reason}}, nil
}

// Resume decides a Resume command (also ends a manual pause step).
func Resume(d *Deployment, id string) ([]proto.Message, error) {
	if err := notFound(d, id); err != nil {
		return nil, err
	}
	waiting := d.Paused || (d.Current < len(d.Plan) && isManualPause(d.Plan[d.Current]) && !d.started[d.Current].IsZero())
	if !d.Active() || d.RollingBack || !waiting {
		return nil, errs.Precondition(reasonPrecondition, fmt.Sprintf("deployment %s is %s and not waiting to be resumed", id, statusName(d.Status)))
	}
	return []proto.Message{&deployv1.DeploymentResumed{Index: uint32(d.Current)}}, nil
}

// Abort decides an Abort command: traffic back to the previous version.
func Abort(d *Deployment, id, reason string) ([]proto.Message, error) {
	if err := notFound(d, id); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, errs.Invalid("reason", "must not be empty")
	}
	if !d.Active() || d.RollingBack {
		return nil, errs.Precondition(reasonPrecondition, fmt.Sprintf("deployment %s is %s: nothing to abort", id, statusName(d.Status)))
	}
	return []proto.Message{&deployv1.DeploymentAborted{Reason: reason}, &deployv1.RollbackStarted{Reason: "aborted: " + reason, Trigger: "abort"}}, nil
}

// Rollback decides a rollback by a person, the monitor or a failure.
// A succeeded deployment can be rolled back too (if its previous version is known).
func Rollback(d *Deployment, id, reason, trigger string) ([]proto.Message, error) {
	if err := notFound(d, id); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, errs.Invalid("reason", "must not be empty")
	}
	switch {
	case d.RollingBack:
		return nil, errs.Precondition(reasonPrecondition, fmt.Sprintf("deployment %s is already rolling back (%s)", id, d.RollbackReason))
	case d.Status == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED && d.PreviousVersion == "":
		return nil, errs.Precondition(reasonPrecondition, fmt.Sprintf("deployment %s was the environment's first: there is no previous version to roll back to", id))
	case !d.Active() && d.Status != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED:
		return nil, errs.Precondition(reasonPrecondition, fmt.Sprintf("deployment %s is %s: nothing to roll back", id, statusName(d.Status)))
	}
	return []proto.Message{&deployv1.RollbackStarted{Reason: reason, Trigger: trigger}}, nil
}

// ToProto renders the deployment for the API.
func ToProto(d *Deployment) *deployv1.Deployment {
	out := &deployv1.Deployment{
		Id: d.ID, ReleaseId: d.ReleaseID, Version: d.Version, Environment: d.Environment, App: d.App, Strategy: d.Strategy,
		Attempt: d.Attempt, PreviousVersion: d.PreviousVersion, Status: d.Status, CurrentStep: uint32(d.Current),
		Reason: d.Reason, StartedAt: timestamppb.New(d.StartedAt), UpdatedAt: timestamppb.New(d.UpdatedAt),
		RequestedBy: d.RequestedBy, AggregateVersion: d.AggregateVersion,
	}
	for i, s := range d.Plan {
		st := &deployv1.StepState{Step: s, Index: uint32(i), Result: d.results[i]}
		if !d.started[i].IsZero() {
			st.StartedAt = timestamppb.New(d.started[i])
			if s.GetKind() == deployv1.StepKind_STEP_KIND_PAUSE && s.GetDuration().AsDuration() > 0 {
				st.ResumeAt = timestamppb.New(d.started[i].Add(s.GetDuration().AsDuration()))
			}
		}
		if !d.completed[i].IsZero() {
			st.CompletedAt = timestamppb.New(d.completed[i])
		}
		out.Steps = append(out.Steps, st)
	}
	return out
}

// Describe is a one-line description of a step.
func Describe(s *deployv1.Step) string {
	switch s.GetKind() {
	case deployv1.StepKind_STEP_KIND_START:
		return "start the new version"
	case deployv1.StepKind_STEP_KIND_SET_WEIGHT:
		return fmt.Sprintf("setWeight %d", s.GetWeight())
	case deployv1.StepKind_STEP_KIND_CHECK:
		return "health check"
	case deployv1.StepKind_STEP_KIND_PAUSE:
		if d := s.GetDuration().AsDuration(); d > 0 {
			return "pause " + d.String()
		}
		return "pause until resumed"
	case deployv1.StepKind_STEP_KIND_ANALYSIS:
		return "analysis " + s.GetDuration().AsDuration().String()
	case deployv1.StepKind_STEP_KIND_STOP_PREVIOUS:
		return "stop the previous version"
	case deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT:
		return fmt.Sprintf("flag %s rollout %d%%", s.GetFlag(), s.GetWeight())
	}
	return s.GetKind().String()
}
