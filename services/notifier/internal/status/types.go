package status

import "time"

// ComponentStatus is the state of one component, with Statuspage's names.
type ComponentStatus string

// The component statuses, best first.
const (
	Operational         ComponentStatus = "operational"
	UnderMaintenance    ComponentStatus = "under_maintenance"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
)

// Valid reports whether s is one of the five statuses.
func (s ComponentStatus) Valid() bool { return s.rank() >= 0 }

// rank orders statuses by severity, the order Statuspage uses to blend them
// (operational < under maintenance < degraded < partial < major); -1 when invalid.
func (s ComponentStatus) rank() int {
	switch s {
	case Operational:
		return 0
	case UnderMaintenance:
		return 1
	case DegradedPerformance:
		return 2
	case PartialOutage:
		return 3
	case MajorOutage:
		return 4
	}
	return -1
}

// Label is the status as a person reads it.
func (s ComponentStatus) Label() string {
	switch s {
	case Operational:
		return "Operational"
	case UnderMaintenance:
		return "Under maintenance"
	case DegradedPerformance:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return string(s)
}

// IncidentStatus is where an incident is in its life.
type IncidentStatus string

// The incident statuses. Postmortem follows resolved and is the last.
const (
	Investigating IncidentStatus = "investigating"
	Identified    IncidentStatus = "identified"
	Monitoring    IncidentStatus = "monitoring"
	Resolved      IncidentStatus = "resolved"
	Postmortem    IncidentStatus = "postmortem"
)

// Valid reports whether s is an incident status.
func (s IncidentStatus) Valid() bool {
	switch s {
	case Investigating, Identified, Monitoring, Resolved, Postmortem:
		return true
	}
	return false
}

// Open reports whether an incident in status s is unresolved.
func (s IncidentStatus) Open() bool {
	return s == Investigating || s == Identified || s == Monitoring
}

// Label is the status as a person reads it.
func (s IncidentStatus) Label() string {
	switch s {
	case Investigating:
		return "Investigating"
	case Identified:
		return "Identified"
	case Monitoring:
		return "Monitoring"
	case Resolved:
		return "Resolved"
	case Postmortem:
		return "Postmortem"
	}
	return string(s)
}

// Impact is how bad an incident is.
type Impact string

// The impacts, least first. ImpactMaintenance is only ever the impact of a
// scheduled maintenance in the public JSON.
const (
	ImpactNone        Impact = "none"
	ImpactMinor       Impact = "minor"
	ImpactMajor       Impact = "major"
	ImpactCritical    Impact = "critical"
	ImpactMaintenance Impact = "maintenance"
)

// Valid reports whether i is an impact an incident may have (not maintenance).
func (i Impact) Valid() bool { return i.rank() >= 0 }

func (i Impact) rank() int {
	switch i {
	case ImpactNone:
		return 0
	case ImpactMinor:
		return 1
	case ImpactMajor:
		return 2
	case ImpactCritical:
		return 3
	}
	return -1
}

// ImpactOf is the impact Statuspage derives from the worst status of an
// incident's affected components: major outage → critical, partial outage →
// major, degraded performance → minor, anything else → none
// (support.atlassian.com/statuspage/docs/top-level-status-and-incident-impact-calculations).
func ImpactOf(worst ComponentStatus) Impact {
	switch worst {
	case MajorOutage:
		return ImpactCritical
	case PartialOutage:
		return ImpactMajor
	case DegradedPerformance:
		return ImpactMinor
	}
	return ImpactNone
}

// MaintenanceStatus is where a scheduled maintenance is in its life.
type MaintenanceStatus string

// The maintenance statuses, in order.
const (
	Scheduled  MaintenanceStatus = "scheduled"
	InProgress MaintenanceStatus = "in_progress"
	Verifying  MaintenanceStatus = "verifying"
	Completed  MaintenanceStatus = "completed"
)

// Valid reports whether s is a maintenance status.
func (s MaintenanceStatus) Valid() bool {
	switch s {
	case Scheduled, InProgress, Verifying, Completed:
		return true
	}
	return false
}

// Active reports whether maintenance in status s is under way.
func (s MaintenanceStatus) Active() bool { return s == InProgress || s == Verifying }

// Label is the status as a person reads it.
func (s MaintenanceStatus) Label() string {
	switch s {
	case Scheduled:
		return "Scheduled"
	case InProgress:
		return "In progress"
	case Verifying:
		return "Verifying"
	case Completed:
		return "Completed"
	}
	return string(s)
}

// Indicator is the page's overall status in status.json.
type Indicator string

// The indicators. IndicatorMaintenance is what Statuspage reports while
// components are under maintenance and nothing is worse; its public API
// documentation lists only the other four.
const (
	IndicatorNone        Indicator = "none"
	IndicatorMinor       Indicator = "minor"
	IndicatorMajor       Indicator = "major"
	IndicatorCritical    Indicator = "critical"
	IndicatorMaintenance Indicator = "maintenance"
)

func (i Indicator) rank() int {
	switch i {
	case IndicatorMaintenance:
		return 1
	case IndicatorMinor:
		return 2
	case IndicatorMajor:
		return 3
	case IndicatorCritical:
		return 4
	}
	return 0
}

// Component is one thing whose status the page shows.
type Component struct {
	ID          string
	Name        string
	Description string
	// GroupID is the group the component is shown in, or "".
	GroupID  string
	Position int
	Status   ComponentStatus
	// Showcase shows the 90-day uptime bars of the component.
	Showcase bool
	// OnlyShowIfDegraded hides the component while it is operational.
	OnlyShowIfDegraded bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Group is a named set of components shown together. Its status is the worst
// of its components'.
type Group struct {
	ID          string
	Name        string
	Description string
	Position    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// StatusChange is one point of a component's timeline: from At on, the
// component was in Status.
type StatusChange struct {
	At     time.Time       `json:"at"`
	Status ComponentStatus `json:"status"`
}

// AffectedComponent is a component an update changed (or confirmed).
type AffectedComponent struct {
	ComponentID string          `json:"component_id"`
	OldStatus   ComponentStatus `json:"old_status"`
	NewStatus   ComponentStatus `json:"new_status"`
}

// Update is one message posted on an incident or a maintenance.
type Update struct {
	ID string `json:"id"`
	// Status is the incident's (or maintenance's) status the update set.
	Status   string              `json:"status"`
	Body     string              `json:"body"`
	At       time.Time           `json:"at"`
	Affected []AffectedComponent `json:"affected,omitempty"`
	// DeliverNotifications is false for an update posted silently.
	DeliverNotifications bool `json:"deliver_notifications"`
}

// Incident is an unplanned event shown on the page.
type Incident struct {
	ID     string
	Name   string
	Status IncidentStatus
	Impact Impact
	// ImpactOverride keeps Impact as set instead of deriving it from the
	// affected components.
	ImpactOverride bool
	Shortlink      string
	// Components are the ids of every component the incident ever affected,
	// in the order they were first named.
	Components   []string
	Updates      []Update // oldest first
	CreatedAt    time.Time
	UpdatedAt    time.Time
	StartedAt    time.Time
	MonitoringAt time.Time // zero until the incident first enters monitoring
	ResolvedAt   time.Time // zero while unresolved
}

// Maintenance is planned work shown on the page.
type Maintenance struct {
	ID             string
	Name           string
	Status         MaintenanceStatus
	Shortlink      string
	Components     []string
	Updates        []Update // oldest first
	ScheduledFor   time.Time
	ScheduledUntil time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	StartedAt      time.Time // zero until it starts
	CompletedAt    time.Time // zero until it completes
}
