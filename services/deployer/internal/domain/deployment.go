package domain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Deployment is the Deployment aggregate's state.
type Deployment struct {
	id, releaseID, version, environment, app, previousVersion, requestedBy, product string
	strategy                                                                        deployv1.DeploymentStrategy
	attempt                                                                         uint32
	plan                                                                            []*deployv1.Step
	// started[i] / completed[i] are when step i started and completed (zero: not yet).
	started, completed []time.Time
	results            []string
	status             deployv1.DeploymentStatus
	// current is the first step not completed.
	current int
	// paused by a command (at the end of the current step) or by a manual pause step.
	paused      bool
	pauseReason string
	// A rollback was requested (by a failure, a command, an abort or the monitor).
	rollingBack      bool
	rollbackReason   string
	rollbackTrigger  string
	aborted          bool
	reason           string
	startedAt        time.Time
	updatedAt        time.Time
	aggregateVersion uint64
	// origin is where the deployment came from: the correlation id and trace
	// of the request that started it, which every step carries on.
	origin Origin
	// configRollout is set for a configuration-only rollout.
	configRollout *deployv1.ConfigRollout
	// changeID is the change request that authorized the promotion ("" when none).
	changeID string
	// rollbackOf is the deployment whose bake this one rolls back (it puts
	// the previous version back), with why; "" for any other deployment.
	rollbackOf, rollbackOfReason string
	// lastEvent is the id of the deployment's latest event: the cause of the runner's next step.
	lastEvent string
	// delivery is the configuration its START step delivered (nil: none recorded).
	delivery *deployv1.ConfigDelivered
	// replicas is how many instances of the version scale_up triggers asked
	// for (0: never scaled, one instance); scaleCauses are the TriggerFired
	// events answered (DeploymentScaled, ScaleUpRefused), the latest last.
	replicas    uint32
	scaleCauses []string
}

// maxScaleCauses bounds the answered scale_up causes a deployment remembers:
// a redelivery comes long before that many later firings.
const maxScaleCauses = 32

// Origin is the causal origin of a deployment (from its DeploymentStarted).
type Origin struct {
	CorrelationID string `json:"correlation_id,omitempty"`
	TraceParent   string `json:"traceparent,omitempty"`
}

// ID is the deployment id.
func (d *Deployment) ID() string { return d.id }

// ReleaseID is the release deployed.
func (d *Deployment) ReleaseID() string { return d.releaseID }

// Version is the version deployed.
func (d *Deployment) Version() string { return d.version }

// Environment is the environment deployed to.
func (d *Deployment) Environment() string { return d.environment }

// App is the application deployed.
func (d *Deployment) App() string { return d.app }

// Product is the release's product ("" for deployments started before it was recorded).
func (d *Deployment) Product() string { return d.product }

// Strategy is the deployment strategy.
func (d *Deployment) Strategy() deployv1.DeploymentStrategy { return d.strategy }

// PreviousVersion is the version live before ("" for the environment's first).
func (d *Deployment) PreviousVersion() string { return d.previousVersion }

// Attempt is the promotion attempt, from 1.
func (d *Deployment) Attempt() uint32 { return d.attempt }

// Plan is the deployment's steps.
func (d *Deployment) Plan() []*deployv1.Step { return d.plan }

// Status is the deployment's status.
func (d *Deployment) Status() deployv1.DeploymentStatus { return d.status }

// Current is the index of the first step not completed.
func (d *Deployment) Current() int { return d.current }

// RollingBack reports whether a rollback was requested.
func (d *Deployment) RollingBack() bool { return d.rollingBack }

// RollbackReason is why it rolls back.
func (d *Deployment) RollbackReason() string { return d.rollbackReason }

// RollbackTrigger is what asked for the rollback (check, analysis, manual, monitor, abort).
func (d *Deployment) RollbackTrigger() string { return d.rollbackTrigger }

// Aborted reports whether a person aborted it.
func (d *Deployment) Aborted() bool { return d.aborted }

// Reason is why it failed, was aborted or rolled back.
func (d *Deployment) Reason() string { return d.reason }

// AggregateVersion is the number of events applied.
func (d *Deployment) AggregateVersion() uint64 { return d.aggregateVersion }

// Origin is the correlation id and trace of the request that started the deployment.
func (d *Deployment) Origin() Origin { return d.origin }

// LastEvent is the id of the deployment's latest event.
func (d *Deployment) LastEvent() string { return d.lastEvent }

// Delivery is the configuration the START step delivered to the new
// version, as recorded before it started (nil when none was: the
// environment had no configuration, or the step has not run). Callers must
// not modify it.
func (d *Deployment) Delivery() *deployv1.ConfigDelivered { return d.delivery }

// ConfigVersion is the configuration version delivered to the new version (0: none).
func (d *Deployment) ConfigVersion() uint64 { return d.delivery.GetConfigVersion() }

// Meta is what the log says about an event besides its body.
type Meta struct {
	ID            string
	Time          time.Time
	CorrelationID string
	TraceParent   string
}

// NewDeployment returns the state of a deployment with no events.
func NewDeployment() *Deployment { return &Deployment{} }

// ConfigRollout describes a configuration-only rollout (nil for a release's deployment).
func (d *Deployment) ConfigRollout() *deployv1.ConfigRollout { return d.configRollout }

// ChangeID is the change request that authorized the deployment's promotion ("" when none).
func (d *Deployment) ChangeID() string { return d.changeID }

// RollbackOf is the deployment whose bake this one rolls back, and why ("" for any other deployment).
func (d *Deployment) RollbackOf() (id, reason string) { return d.rollbackOf, d.rollbackOfReason }

// ArtifactReleaseID is the release whose artifact the deployment runs: its
// release, or for a configuration-only rollout the live release's.
func (d *Deployment) ArtifactReleaseID() string {
	if d.configRollout != nil {
		return d.configRollout.GetArtifactReleaseId()
	}
	return d.releaseID
}

// Replicas is how many instances of the version run by the deployment's
// scale_up answers: 1 until a DeploymentScaled.
func (d *Deployment) Replicas() uint32 { return max(d.replicas, 1) }

// ScaleAnswered reports whether the TriggerFired event causeID was answered
// (scaled or refused).
func (d *Deployment) ScaleAnswered(causeID string) bool {
	return slices.Contains(d.scaleCauses, causeID)
}

func (d *Deployment) answered(causeID string) {
	if causeID == "" {
		return
	}
	d.scaleCauses = append(d.scaleCauses, causeID)
	if n := len(d.scaleCauses); n > maxScaleCauses {
		d.scaleCauses = slices.Clone(d.scaleCauses[n-maxScaleCauses:])
	}
}

// Exists reports whether the deployment was started.
func (d *Deployment) Exists() bool { return d.id != "" }

// Active reports whether the deployer still has work to do on it.
func (d *Deployment) Active() bool {
	switch d.status {
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
func Apply(d *Deployment, ev proto.Message, m Meta) {
	at := m.Time
	d.aggregateVersion++
	d.updatedAt, d.lastEvent = at, m.ID
	switch e := ev.(type) {
	case *deployv1.DeploymentStarted:
		d.id, d.releaseID, d.version, d.environment = e.GetDeploymentId(), e.GetReleaseId(), e.GetVersion(), e.GetEnvironment()
		d.app, d.attempt, d.previousVersion, d.requestedBy, d.product = e.GetApp(), e.GetAttempt(), e.GetPreviousVersion(), e.GetRequestedBy(), e.GetProduct()
		d.strategy, _ = enumtext.Resolve(e.GetStrategyType(), e.GetStrategy())
		d.origin = Origin{CorrelationID: m.CorrelationID, TraceParent: m.TraceParent}
		d.plan, d.configRollout, d.changeID = e.GetPlan(), e.GetConfigRollout(), e.GetChangeId()
		d.rollbackOf, d.rollbackOfReason = e.GetRollbackOf(), e.GetRollbackReason()
		d.started, d.completed, d.results = make([]time.Time, len(d.plan)), make([]time.Time, len(d.plan)), make([]string, len(d.plan))
		d.status, d.startedAt = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, at
	case *deployv1.DeploymentStepStarted:
		if i := int(e.GetIndex()); i < len(d.plan) && d.started[i].IsZero() {
			d.started[i] = at
		}
	case *deployv1.DeploymentStepCompleted:
		if i := int(e.GetIndex()); i < len(d.plan) {
			d.completed[i], d.results[i] = at, e.GetResult()
			if i == d.current {
				d.current++
			}
		}
	case *deployv1.DeploymentPaused:
		d.paused, d.pauseReason = true, e.GetReason()
		d.status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_PAUSED
	case *deployv1.DeploymentResumed:
		d.paused, d.pauseReason = false, ""
		d.status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING
		// A manual pause step ends when resumed.
		if i := int(e.GetIndex()); i < len(d.plan) && i == d.current && isManualPause(d.plan[i]) && d.completed[i].IsZero() {
			d.completed[i], d.results[i] = at, "resumed"
			d.current++
		}
	case *deployv1.DeploymentAborted:
		d.aborted, d.reason = true, e.GetReason()
	case *deployv1.RollbackStarted:
		d.rollingBack, d.rollbackReason, d.rollbackTrigger = true, e.GetReason(), e.GetTrigger()
		d.status, d.reason = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLING_BACK, e.GetReason()
	case *deployv1.RolledBack:
		if !d.rollingBack {
			// Rolled back after it succeeded (during its bake): the event says why.
			d.reason = e.GetReason()
		}
		d.status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK
		if d.aborted {
			d.status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ABORTED
		}
	case *deployv1.DeploymentSucceeded:
		d.status = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	case *deployv1.DeploymentFailed:
		d.status, d.reason = deployv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED, e.GetReason()
	case *deployv1.DeploymentScaled:
		d.replicas = e.GetReplicas()
		d.answered(e.GetCauseEventId())
	case *deployv1.ScaleUpRefused:
		d.answered(e.GetCauseEventId())
	case *deployv1.ConfigDelivered:
		// Only the START step's delivery to the new version is the
		// deployment's; a RESTART repeats an earlier one.
		if e.GetKind() == deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_START && e.GetVersion() == d.version {
			d.delivery = e
		}
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
	case d.rollingBack:
		return Action{Kind: ActRollback}
	case d.current >= len(d.plan):
		return Action{Kind: ActSucceed}
	}
	i := d.current
	s := d.plan[i]
	if d.started[i].IsZero() {
		if d.paused {
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
	if i < 0 || i >= len(d.plan) {
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
	for i, s := range d.plan {
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
			weights = map[string]int{d.version: 100}
		}
	}
	if startedNew {
		needed = []string{d.version}
	}
	if d.previousVersion != "" && d.previousVersion != d.version && !stoppedPrev {
		needed = append(needed, d.previousVersion)
		if weights == nil {
			weights = map[string]int{d.previousVersion: 100}
		}
	}
	return needed, weights
}

// Weights is the traffic split a SET_WEIGHT step of w percent means.
func (d *Deployment) Weights(w uint32) map[string]int {
	if d.previousVersion == "" || w >= 100 {
		return map[string]int{d.version: 100}
	}
	if w == 0 {
		return map[string]int{d.previousVersion: 100}
	}
	return map[string]int{d.version: int(w), d.previousVersion: 100 - int(w)}
}

// The catalogued reasons of the deployer's refusals.
const (
	reasonNotActive   = errorsv1.ErrorReason_ERROR_REASON_DEPLOYMENT_NOT_ACTIVE
	reasonNotPaused   = errorsv1.ErrorReason_ERROR_REASON_DEPLOYMENT_NOT_PAUSED
	reasonRollingBack = errorsv1.ErrorReason_ERROR_REASON_ALREADY_ROLLING_BACK
	reasonNoPrevious  = errorsv1.ErrorReason_ERROR_REASON_NO_PREVIOUS_VERSION
)

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
	if d.status != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING || d.rollingBack {
		return nil, errs.Refuse(reasonNotActive, "deployment %s is %s: only a running deployment can be paused", id, statusName(d.status))
	}
	if reason == "" {
		reason = "paused by request"
	}
	return []proto.Message{&deployv1.DeploymentPaused{Index: uint32(d.current), Reason: reason}}, nil
}

// Resume decides a Resume command (also ends a manual pause step).
func Resume(d *Deployment, id string) ([]proto.Message, error) {
	if err := notFound(d, id); err != nil {
		return nil, err
	}
	waiting := d.paused || (d.current < len(d.plan) && isManualPause(d.plan[d.current]) && !d.started[d.current].IsZero())
	if !d.Active() || d.rollingBack || !waiting {
		return nil, errs.Refuse(reasonNotPaused, "deployment %s is %s and not waiting to be resumed", id, statusName(d.status))
	}
	return []proto.Message{&deployv1.DeploymentResumed{Index: uint32(d.current)}}, nil
}

// Abort decides an Abort command: traffic back to the previous version.
func Abort(d *Deployment, id, reason string) ([]proto.Message, error) {
	if err := notFound(d, id); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, errs.Invalid("reason", "must not be empty")
	}
	if !d.Active() || d.rollingBack {
		return nil, errs.Refuse(reasonNotActive, "deployment %s is %s: nothing to abort", id, statusName(d.status))
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
	case d.rollingBack:
		return nil, errs.Refuse(reasonRollingBack, "deployment %s is already rolling back (%s)", id, d.rollbackReason)
	case d.status == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED && d.previousVersion == "":
		return nil, errs.Refuse(reasonNoPrevious, "deployment %s was the environment's first: there is no previous version to roll back to", id)
	case !d.Active() && d.status != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED:
		return nil, errs.Refuse(reasonNotActive, "deployment %s is %s: nothing to roll back", id, statusName(d.status))
	}
	return []proto.Message{&deployv1.RollbackStarted{Reason: reason, Trigger: trigger}}, nil
}

// ToProto renders the deployment for the API.
func ToProto(d *Deployment) *deployv1.Deployment {
	out := &deployv1.Deployment{
		Id: d.id, ReleaseId: d.releaseID, Version: d.version, Environment: d.environment, App: d.app,
		StrategyType: d.strategy, Strategy: enumtext.Name(d.strategy),
		Attempt: d.attempt, PreviousVersion: d.previousVersion, Status: d.status, CurrentStep: uint32(d.current),
		Reason: d.reason, StartedAt: timestamppb.New(d.startedAt), UpdatedAt: timestamppb.New(d.updatedAt),
		RequestedBy: d.requestedBy, AggregateVersion: d.aggregateVersion,
		ConfigVersion: d.delivery.GetConfigVersion(), ConfigDigest: d.delivery.GetConfigDigest(), ConfigRollout: d.configRollout,
		Replicas: d.Replicas(),
	}
	for i, s := range d.plan {
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
		if s.GetVariant() != "" {
			return fmt.Sprintf("flag %s rollout %d%% (variant %s)", s.GetFlag(), s.GetWeight(), s.GetVariant())
		}
		return fmt.Sprintf("flag %s rollout %d%%", s.GetFlag(), s.GetWeight())
	}
	return s.GetKind().String()
}

// Clone is an independent copy of d (steps are shared: they never change).
func (d *Deployment) Clone() *Deployment {
	c := *d
	c.plan = slices.Clone(d.plan)
	c.started, c.completed, c.results = slices.Clone(d.started), slices.Clone(d.completed), slices.Clone(d.results)
	c.scaleCauses = slices.Clone(d.scaleCauses)
	return &c
}

// ScaleUp decides the answer to a scale_up trigger that fired for d: the
// instances its version should run (one more than now), or why none is
// added. driverName is the driver's, scalable whether it can run more than
// one instance of a version, live the version the environment runs when
// the deployment no longer is active, max the deployer's max_replicas.
func ScaleUp(d *Deployment, driverName string, scalable bool, live string, maxReplicas uint32) (replicas uint32, refused string) {
	switch {
	case !scalable:
		return 0, fmt.Sprintf("the %s driver cannot run more than one instance of a version", driverName)
	case d.rollingBack || (!d.Active() && d.status != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED):
		return 0, fmt.Sprintf("deployment %s is %s", d.id, statusName(d.status))
	case !d.Active() && live != d.version:
		return 0, fmt.Sprintf("%s no longer runs in %s (%s does)", d.version, d.environment, cmp.Or(live, "nothing"))
	case d.Replicas() >= maxReplicas:
		return 0, fmt.Sprintf("%s already runs %d instances, the deployer's max_replicas", d.version, d.Replicas())
	}
	return d.Replicas() + 1, ""
}
