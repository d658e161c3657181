package domain

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
)

// DeploymentSchema names MarshalDeployment's encoding; bump it with any change.
const DeploymentSchema = "deployment/7"

type deploymentJSON struct {
	ID               string            `json:"id"`
	ReleaseID        string            `json:"release_id"`
	Version          string            `json:"version"`
	Environment      string            `json:"environment"`
	App              string            `json:"app"`
	PreviousVersion  string            `json:"previous_version,omitempty"`
	RequestedBy      string            `json:"requested_by,omitempty"`
	Product          string            `json:"product,omitempty"`
	Strategy         int32             `json:"strategy"`
	Attempt          uint32            `json:"attempt"`
	Plan             []json.RawMessage `json:"plan"`
	Started          []time.Time       `json:"started"`
	Completed        []time.Time       `json:"completed"`
	Results          []string          `json:"results"`
	Status           int32             `json:"status"`
	Current          int               `json:"current"`
	Paused           bool              `json:"paused,omitempty"`
	PauseReason      string            `json:"pause_reason,omitempty"`
	RollingBack      bool              `json:"rolling_back,omitempty"`
	RollbackReason   string            `json:"rollback_reason,omitempty"`
	RollbackTrigger  string            `json:"rollback_trigger,omitempty"`
	Aborted          bool              `json:"aborted,omitempty"`
	Reason           string            `json:"reason,omitempty"`
	StartedAt        time.Time         `json:"started_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
	AggregateVersion uint64            `json:"aggregate_version"`
	Origin           Origin            `json:"origin"`
	LastEvent        string            `json:"last_event,omitempty"`
	Delivery         json.RawMessage   `json:"delivery,omitempty"`
	ConfigRollout    json.RawMessage   `json:"config_rollout,omitempty"`
	ChangeID         string            `json:"change_id,omitempty"`
	RollbackOf       string            `json:"rollback_of,omitempty"`
	RollbackOfReason string            `json:"rollback_of_reason,omitempty"`
	Replicas         uint32            `json:"replicas,omitempty"`
	ScaleCauses      []string          `json:"scale_causes,omitempty"`
}

// MarshalDeployment encodes a deployment for snapshots and view checkpoints.
func MarshalDeployment(d *Deployment) ([]byte, error) {
	j := deploymentJSON{
		ID: d.id, ReleaseID: d.releaseID, Version: d.version, Environment: d.environment, App: d.app, PreviousVersion: d.previousVersion,
		RequestedBy: d.requestedBy, Product: d.product, Strategy: int32(d.strategy), Attempt: d.attempt, Started: d.started, Completed: d.completed, Results: d.results,
		Status: int32(d.status), Current: d.current, Paused: d.paused, PauseReason: d.pauseReason, RollingBack: d.rollingBack,
		RollbackReason: d.rollbackReason, RollbackTrigger: d.rollbackTrigger, Aborted: d.aborted, Reason: d.reason,
		StartedAt: d.startedAt, UpdatedAt: d.updatedAt, AggregateVersion: d.aggregateVersion, Origin: d.origin, LastEvent: d.lastEvent,
		ChangeID: d.changeID, RollbackOf: d.rollbackOf, RollbackOfReason: d.rollbackOfReason,
		Replicas: d.replicas, ScaleCauses: d.scaleCauses,
	}
	for _, s := range d.plan {
		b, err := protojson.Marshal(s)
		if err != nil {
			return nil, err
		}
		j.Plan = append(j.Plan, b)
	}
	if d.delivery != nil {
		b, err := protojson.Marshal(d.delivery)
		if err != nil {
			return nil, err
		}
		j.Delivery = b
	}
	if d.configRollout != nil {
		b, err := protojson.Marshal(d.configRollout)
		if err != nil {
			return nil, err
		}
		j.ConfigRollout = b
	}
	return json.Marshal(j)
}

// UnmarshalDeployment decodes MarshalDeployment's encoding.
func UnmarshalDeployment(b []byte) (*Deployment, error) {
	var j deploymentJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("deployment snapshot: %w", err)
	}
	if len(j.Started) != len(j.Plan) || len(j.Completed) != len(j.Plan) || len(j.Results) != len(j.Plan) {
		return nil, fmt.Errorf("deployment snapshot: %d steps but %d/%d/%d step times and results", len(j.Plan), len(j.Started), len(j.Completed), len(j.Results))
	}
	d := &Deployment{
		id: j.ID, releaseID: j.ReleaseID, version: j.Version, environment: j.Environment, app: j.App, previousVersion: j.PreviousVersion,
		requestedBy: j.RequestedBy, product: j.Product, strategy: deployv1.DeploymentStrategy(j.Strategy), attempt: j.Attempt, started: j.Started,
		completed: j.Completed, results: j.Results, status: deployv1.DeploymentStatus(j.Status), current: j.Current, paused: j.Paused,
		pauseReason: j.PauseReason, rollingBack: j.RollingBack, rollbackReason: j.RollbackReason, rollbackTrigger: j.RollbackTrigger,
		aborted: j.Aborted, reason: j.Reason, startedAt: j.StartedAt, updatedAt: j.UpdatedAt, aggregateVersion: j.AggregateVersion,
		origin: j.Origin, lastEvent: j.LastEvent, changeID: j.ChangeID,
		rollbackOf: j.RollbackOf, rollbackOfReason: j.RollbackOfReason, replicas: j.Replicas, scaleCauses: j.ScaleCauses,
	}
	for _, raw := range j.Plan {
		s := &deployv1.Step{}
		if err := protojson.Unmarshal(raw, s); err != nil {
			return nil, fmt.Errorf("deployment snapshot: %w", err)
		}
		d.plan = append(d.plan, s)
	}
	if len(j.ConfigRollout) > 0 {
		d.configRollout = &deployv1.ConfigRollout{}
		if err := protojson.Unmarshal(j.ConfigRollout, d.configRollout); err != nil {
			return nil, fmt.Errorf("deployment snapshot: %w", err)
		}
	}
	if len(j.Delivery) > 0 {
		d.delivery = &deployv1.ConfigDelivered{}
		if err := protojson.Unmarshal(j.Delivery, d.delivery); err != nil {
			return nil, fmt.Errorf("deployment snapshot: %w", err)
		}
	}
	return d, nil
}
