package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Change is a fact decided by one of the Page's decide methods and folded by
// [Page.Apply]. Changes are what a caller stores (as JSON, see
// [MarshalChange]); the page is rebuilt by applying them in order.
type Change interface {
	// Kind names the change in its JSON envelope, e.g. "incident_created".
	Kind() string
}

// GroupAdded adds a group of components.
type GroupAdded struct {
	GroupID     string    `json:"group_id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Position    int       `json:"position"`
	At          time.Time `json:"at"`
}

// ComponentAdded adds a component in its first status.
type ComponentAdded struct {
	ComponentID        string          `json:"component_id"`
	Name               string          `json:"name"`
	Description        string          `json:"description,omitempty"`
	GroupID            string          `json:"group_id,omitempty"`
	Position           int             `json:"position"`
	Status             ComponentStatus `json:"status"`
	Showcase           bool            `json:"showcase"`
	OnlyShowIfDegraded bool            `json:"only_show_if_degraded"`
	At                 time.Time       `json:"at"`
}

// ComponentStatusChanged moves a component to another status: by hand, or
// as part of an incident or maintenance (IncidentID, MaintenanceID).
type ComponentStatusChanged struct {
	ComponentID   string          `json:"component_id"`
	From          ComponentStatus `json:"from"`
	To            ComponentStatus `json:"to"`
	At            time.Time       `json:"at"`
	IncidentID    string          `json:"incident_id,omitempty"`
	MaintenanceID string          `json:"maintenance_id,omitempty"`
}

// IncidentCreated opens an incident with its first update.
type IncidentCreated struct {
	IncidentID     string    `json:"incident_id"`
	Name           string    `json:"name"`
	Impact         Impact    `json:"impact"`
	ImpactOverride bool      `json:"impact_override"`
	Shortlink      string    `json:"shortlink,omitempty"`
	StartedAt      time.Time `json:"started_at"`
	Update         Update    `json:"update"`
}

// IncidentChanged edits an open incident's name, impact or shortlink.
type IncidentChanged struct {
	IncidentID     string    `json:"incident_id"`
	Name           string    `json:"name"`
	Impact         Impact    `json:"impact"`
	ImpactOverride bool      `json:"impact_override"`
	Shortlink      string    `json:"shortlink,omitempty"`
	At             time.Time `json:"at"`
}

// IncidentUpdatePosted posts an update; Update.Status is the incident's
// status from then on and Impact its impact.
type IncidentUpdatePosted struct {
	IncidentID string `json:"incident_id"`
	Impact     Impact `json:"impact"`
	Update     Update `json:"update"`
}

// MaintenanceScheduled plans a maintenance with its first update.
type MaintenanceScheduled struct {
	MaintenanceID  string    `json:"maintenance_id"`
	Name           string    `json:"name"`
	Shortlink      string    `json:"shortlink,omitempty"`
	Components     []string  `json:"components,omitempty"`
	ScheduledFor   time.Time `json:"scheduled_for"`
	ScheduledUntil time.Time `json:"scheduled_until"`
	Update         Update    `json:"update"`
}

// MaintenanceUpdatePosted posts an update; Update.Status is the
// maintenance's status from then on.
type MaintenanceUpdatePosted struct {
	MaintenanceID string `json:"maintenance_id"`
	Update        Update `json:"update"`
}

// Kind implements Change.
func (GroupAdded) Kind() string { return "group_added" }

// Kind implements Change.
func (ComponentAdded) Kind() string { return "component_added" }

// Kind implements Change.
func (ComponentStatusChanged) Kind() string { return "component_status_changed" }

// Kind implements Change.
func (IncidentCreated) Kind() string { return "incident_created" }

// Kind implements Change.
func (IncidentChanged) Kind() string { return "incident_changed" }

// Kind implements Change.
func (IncidentUpdatePosted) Kind() string { return "incident_update_posted" }

// Kind implements Change.
func (MaintenanceScheduled) Kind() string { return "maintenance_scheduled" }

// Kind implements Change.
func (MaintenanceUpdatePosted) Kind() string { return "maintenance_update_posted" }

type envelope struct {
	Kind   string          `json:"kind"`
	Change json.RawMessage `json:"change"`
}

// MarshalChange encodes c as {"kind": c.Kind(), "change": {…}}.
func MarshalChange(c Change) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("marshal change: nil")
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", c.Kind(), err)
	}
	return json.Marshal(envelope{Kind: c.Kind(), Change: body})
}

// UnmarshalChange decodes what MarshalChange encoded. Unknown fields are
// rejected so that a change written by a newer version is not half-applied.
func UnmarshalChange(data []byte) (Change, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("unmarshal change envelope: %w", err)
	}
	switch env.Kind {
	case GroupAdded{}.Kind():
		return decodeAs[GroupAdded](env)
	case ComponentAdded{}.Kind():
		return decodeAs[ComponentAdded](env)
	case ComponentStatusChanged{}.Kind():
		return decodeAs[ComponentStatusChanged](env)
	case IncidentCreated{}.Kind():
		return decodeAs[IncidentCreated](env)
	case IncidentChanged{}.Kind():
		return decodeAs[IncidentChanged](env)
	case IncidentUpdatePosted{}.Kind():
		return decodeAs[IncidentUpdatePosted](env)
	case MaintenanceScheduled{}.Kind():
		return decodeAs[MaintenanceScheduled](env)
	case MaintenanceUpdatePosted{}.Kind():
		return decodeAs[MaintenanceUpdatePosted](env)
	}
	return nil, fmt.Errorf("unmarshal change: unknown kind %q", env.Kind)
}

func decodeAs[T Change](env envelope) (Change, error) {
	var c T
	dec := json.NewDecoder(bytes.NewReader(env.Change))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("unmarshal %s: %w", env.Kind, err)
	}
	return c, nil
}
