package status

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Field limits.
const (
	MaxID         = 64
	MaxName       = 255
	MaxBody       = 25_000
	MaxLink       = 2_000
	MaxComponents = 200 // named in one command
)

// reasonRefused is the catalogued reason of every refusal here: the state of
// the incident or maintenance does not allow the command.
const reasonRefused = errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION

// Default bodies of maintenance updates posted without one.
const (
	defaultStartBody    = "Scheduled maintenance is currently in progress. We will provide updates as necessary."
	defaultVerifyBody   = "Verification is currently underway for the maintenance items."
	defaultCompleteBody = "The scheduled maintenance has been completed."
)

// Config describes the page itself.
type Config struct {
	ID   string
	Name string
	// URL is the public address of the page.
	URL string
	// Location is the page's time zone: day buckets of the uptime bars start
	// at its midnight and the JSON shows times in it. Nil means UTC.
	Location *time.Location
}

// Page is the status page: its components, incidents and maintenances. It
// is changed only by Apply; the decide methods (AddComponent, CreateIncident,
// …) read it, validate a command and return the changes it leads to, or an
// error: *errs.InvalidArgumentError listing every bad field,
// *errs.NotFoundError, *errs.AlreadyExistsError or *errs.PreconditionError
// when the current state refuses the command. A Page is not safe for
// concurrent use.
type Page struct {
	id, name, url string
	loc           *time.Location
	updatedAt     time.Time

	groups       map[string]*Group
	components   map[string]*Component
	timelines    map[string][]StatusChange
	incidents    map[string]*Incident
	maintenances map[string]*Maintenance
}

// NewPage returns an empty page.
func NewPage(cfg Config) (*Page, error) {
	var v errs.Violations
	checkID(&v, "id", cfg.ID)
	checkText(&v, "name", cfg.Name, MaxName, true)
	checkLink(&v, "url", cfg.URL, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Page{
		id: cfg.ID, name: cfg.Name, url: cfg.URL, loc: loc,
		groups:       map[string]*Group{},
		components:   map[string]*Component{},
		timelines:    map[string][]StatusChange{},
		incidents:    map[string]*Incident{},
		maintenances: map[string]*Maintenance{},
	}, nil
}

// ---- commands ----

// AddGroup adds a group of components.
type AddGroup struct {
	ID          string
	Name        string
	Description string
	Position    int
}

// AddComponent adds a component. Status defaults to operational.
type AddComponent struct {
	ID                 string
	Name               string
	Description        string
	GroupID            string
	Position           int
	Status             ComponentStatus
	Showcase           bool
	OnlyShowIfDegraded bool
}

// SetComponentStatus sets a component's status by hand.
type SetComponentStatus struct {
	ComponentID string
	Status      ComponentStatus
}

// CreateIncident opens an incident. Status defaults to investigating;
// Impact, when empty, follows the affected components (see [ImpactOf]);
// StartedAt defaults to now. Components sets the status of each affected
// component.
type CreateIncident struct {
	ID                   string
	UpdateID             string
	Name                 string
	Body                 string
	Status               IncidentStatus
	Impact               Impact
	Shortlink            string
	StartedAt            time.Time
	Components           map[string]ComponentStatus
	DeliverNotifications bool
}

// UpdateIncident edits an open incident. Empty fields stay as they are; an
// Impact sets it for good (no longer derived from the components).
type UpdateIncident struct {
	IncidentID string
	Name       string
	Impact     Impact
	Shortlink  string
}

// AddIncidentUpdate posts an update on an incident. Status, when empty,
// stays as it is; resolved resolves the incident (see [ResolveIncident]);
// postmortem is the only update a resolved incident takes.
type AddIncidentUpdate struct {
	IncidentID           string
	UpdateID             string
	Status               IncidentStatus
	Body                 string
	Components           map[string]ComponentStatus
	DeliverNotifications bool
}

// ResolveIncident resolves an open incident. The incident's components not
// named in Components return to operational, unless another open incident
// still holds them.
type ResolveIncident struct {
	IncidentID           string
	UpdateID             string
	Body                 string
	Components           map[string]ComponentStatus
	DeliverNotifications bool
}

// ScheduleMaintenance plans maintenance of Components between ScheduledFor
// and ScheduledUntil.
type ScheduleMaintenance struct {
	ID                   string
	UpdateID             string
	Name                 string
	Body                 string
	Shortlink            string
	ScheduledFor         time.Time
	ScheduledUntil       time.Time
	Components           []string
	DeliverNotifications bool
}

// StartMaintenance starts a scheduled maintenance: its components go under
// maintenance. An empty Body posts Statuspage's usual wording.
type StartMaintenance struct {
	MaintenanceID        string
	UpdateID             string
	Body                 string
	DeliverNotifications bool
}

// VerifyMaintenance moves a maintenance in progress to verifying.
type VerifyMaintenance struct {
	MaintenanceID        string
	UpdateID             string
	Body                 string
	DeliverNotifications bool
}

// CompleteMaintenance completes a maintenance under way: its components
// still under maintenance return to operational, unless another active
// maintenance holds them.
type CompleteMaintenance struct {
	MaintenanceID        string
	UpdateID             string
	Body                 string
	DeliverNotifications bool
}

// ---- decisions ----

// AddGroup decides a new group.
func (p *Page) AddGroup(cmd AddGroup, now time.Time) ([]Change, error) {
	var v errs.Violations
	checkID(&v, "id", cmd.ID)
	checkText(&v, "name", cmd.Name, MaxName, true)
	checkText(&v, "description", cmd.Description, MaxBody, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if p.groups[cmd.ID] != nil || p.components[cmd.ID] != nil {
		return nil, &errs.AlreadyExistsError{Kind: "component", ID: cmd.ID}
	}
	return []Change{GroupAdded{GroupID: cmd.ID, Name: cmd.Name, Description: cmd.Description, Position: cmd.Position, At: now}}, nil
}

// AddComponent decides a new component.
func (p *Page) AddComponent(cmd AddComponent, now time.Time) ([]Change, error) {
	var v errs.Violations
	checkID(&v, "id", cmd.ID)
	checkText(&v, "name", cmd.Name, MaxName, true)
	checkText(&v, "description", cmd.Description, MaxBody, false)
	if cmd.GroupID != "" && p.groups[cmd.GroupID] == nil {
		v.Add("group_id", "no group %q on this page", cmd.GroupID)
	}
	st := cmd.Status
	if st == "" {
		st = Operational
	}
	if !st.Valid() {
		v.Add("status", "%q is not one of operational, degraded_performance, partial_outage, major_outage, under_maintenance", cmd.Status)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if p.groups[cmd.ID] != nil || p.components[cmd.ID] != nil {
		return nil, &errs.AlreadyExistsError{Kind: "component", ID: cmd.ID}
	}
	return []Change{ComponentAdded{
		ComponentID: cmd.ID, Name: cmd.Name, Description: cmd.Description, GroupID: cmd.GroupID,
		Position: cmd.Position, Status: st, Showcase: cmd.Showcase, OnlyShowIfDegraded: cmd.OnlyShowIfDegraded, At: now,
	}}, nil
}

// SetComponentStatus decides a status set by hand. Setting the status a
// component already has decides nothing.
func (p *Page) SetComponentStatus(cmd SetComponentStatus, now time.Time) ([]Change, error) {
	var v errs.Violations
	if !cmd.Status.Valid() {
		v.Add("status", "%q is not a component status", cmd.Status)
	}
	if cmd.ComponentID == "" {
		v.Add("component_id", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := p.components[cmd.ComponentID]
	if c == nil {
		return nil, &errs.NotFoundError{Kind: "component", ID: cmd.ComponentID}
	}
	if c.Status == cmd.Status {
		return nil, nil
	}
	return []Change{ComponentStatusChanged{ComponentID: c.ID, From: c.Status, To: cmd.Status, At: now}}, nil
}

// CreateIncident decides a new incident and the component statuses it sets.
func (p *Page) CreateIncident(cmd CreateIncident, now time.Time) ([]Change, error) {
	var v errs.Violations
	checkID(&v, "id", cmd.ID)
	checkID(&v, "update_id", cmd.UpdateID)
	checkText(&v, "name", cmd.Name, MaxName, true)
	checkText(&v, "body", cmd.Body, MaxBody, true)
	checkLink(&v, "shortlink", cmd.Shortlink, false)
	st := cmd.Status
	if st == "" {
		st = Investigating
	}
	if !st.Open() {
		v.Add("status", "%q: a new incident is investigating, identified or monitoring", cmd.Status)
	}
	if cmd.Impact != "" && !cmd.Impact.Valid() {
		v.Add("impact", "%q is not one of none, minor, major, critical", cmd.Impact)
	}
	started := cmd.StartedAt
	if started.IsZero() {
		started = now
	} else if started.After(now) {
		v.Add("started_at", "%s is in the future", started.Format(time.RFC3339))
	}
	p.checkComponentStatuses(&v, cmd.Components)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if p.incidents[cmd.ID] != nil {
		return nil, &errs.AlreadyExistsError{Kind: "incident", ID: cmd.ID}
	}
	if p.updateIDTaken(cmd.UpdateID) {
		return nil, &errs.AlreadyExistsError{Kind: "update", ID: cmd.UpdateID}
	}
	affected, changes := p.componentChanges(cmd.Components, now, cmd.ID, "")
	impact, override := cmd.Impact, cmd.Impact != ""
	if !override {
		impact = ImpactOf(worstNew(affected))
	}
	created := IncidentCreated{
		IncidentID: cmd.ID, Name: cmd.Name, Impact: impact, ImpactOverride: override, Shortlink: cmd.Shortlink, StartedAt: started,
		Update: Update{ID: cmd.UpdateID, Status: string(st), Body: cmd.Body, At: now, Affected: affected, DeliverNotifications: cmd.DeliverNotifications},
	}
	return append([]Change{created}, changes...), nil
}

// UpdateIncident decides an edit of an open incident.
func (p *Page) UpdateIncident(cmd UpdateIncident, now time.Time) ([]Change, error) {
	var v errs.Violations
	if cmd.Name != "" {
		checkText(&v, "name", cmd.Name, MaxName, true)
	}
	if cmd.Impact != "" && !cmd.Impact.Valid() {
		v.Add("impact", "%q is not one of none, minor, major, critical", cmd.Impact)
	}
	checkLink(&v, "shortlink", cmd.Shortlink, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	in, err := p.incident(cmd.IncidentID)
	if err != nil {
		return nil, err
	}
	if !in.Status.Open() {
		return nil, errs.Refuse(reasonRefused, "incident %s is %s: only an open incident can be edited", in.ID, in.Status)
	}
	ch := IncidentChanged{IncidentID: in.ID, Name: in.Name, Impact: in.Impact, ImpactOverride: in.ImpactOverride, Shortlink: in.Shortlink, At: now}
	if cmd.Name != "" {
		ch.Name = cmd.Name
	}
	if cmd.Impact != "" {
		ch.Impact, ch.ImpactOverride = cmd.Impact, true
	}
	if cmd.Shortlink != "" {
		ch.Shortlink = cmd.Shortlink
	}
	if ch.Name == in.Name && ch.Impact == in.Impact && ch.ImpactOverride == in.ImpactOverride && ch.Shortlink == in.Shortlink {
		return nil, nil
	}
	return []Change{ch}, nil
}

// AddIncidentUpdate decides an update of an incident.
func (p *Page) AddIncidentUpdate(cmd AddIncidentUpdate, now time.Time) ([]Change, error) {
	var v errs.Violations
	checkID(&v, "update_id", cmd.UpdateID)
	checkText(&v, "body", cmd.Body, MaxBody, true)
	if cmd.Status != "" && !cmd.Status.Valid() {
		v.Add("status", "%q is not one of investigating, identified, monitoring, resolved, postmortem", cmd.Status)
	}
	p.checkComponentStatuses(&v, cmd.Components)
	if err := v.Err(); err != nil {
		return nil, err
	}
	in, err := p.incident(cmd.IncidentID)
	if err != nil {
		return nil, err
	}
	to := cmd.Status
	if to == "" {
		to = in.Status
	}
	switch {
	case in.Status == Postmortem:
		return nil, errs.Refuse(reasonRefused, "incident %s has its postmortem: it takes no more updates", in.ID)
	case in.Status == Resolved && to != Postmortem:
		return nil, errs.Refuse(reasonRefused, "incident %s is resolved: the only update it takes is its postmortem", in.ID)
	case to == Postmortem && in.Status != Resolved:
		return nil, errs.Refuse(reasonRefused, "incident %s is %s: a postmortem follows resolution", in.ID, in.Status)
	case to == Postmortem && len(cmd.Components) > 0:
		return nil, errs.Invalid("components", "a postmortem changes no component")
	}
	if p.updateIDTaken(cmd.UpdateID) {
		return nil, &errs.AlreadyExistsError{Kind: "update", ID: cmd.UpdateID}
	}
	statuses := cmd.Components
	if to == Resolved {
		statuses = p.restoreOnResolve(in, cmd.Components)
	}
	affected, changes := p.componentChanges(statuses, now, in.ID, "")
	impact := in.Impact
	if !in.ImpactOverride {
		if i := ImpactOf(worstNew(affected)); i.rank() > impact.rank() {
			impact = i
		}
	}
	posted := IncidentUpdatePosted{IncidentID: in.ID, Impact: impact, Update: Update{
		ID: cmd.UpdateID, Status: string(to), Body: cmd.Body, At: now, Affected: affected, DeliverNotifications: cmd.DeliverNotifications,
	}}
	return append([]Change{posted}, changes...), nil
}

// ResolveIncident decides the resolution of an open incident.
func (p *Page) ResolveIncident(cmd ResolveIncident, now time.Time) ([]Change, error) {
	return p.AddIncidentUpdate(AddIncidentUpdate{
		IncidentID: cmd.IncidentID, UpdateID: cmd.UpdateID, Status: Resolved, Body: cmd.Body,
		Components: cmd.Components, DeliverNotifications: cmd.DeliverNotifications,
	}, now)
}

// ScheduleMaintenance decides a new maintenance.
func (p *Page) ScheduleMaintenance(cmd ScheduleMaintenance, now time.Time) ([]Change, error) {
	var v errs.Violations
	checkID(&v, "id", cmd.ID)
	checkID(&v, "update_id", cmd.UpdateID)
	checkText(&v, "name", cmd.Name, MaxName, true)
	checkText(&v, "body", cmd.Body, MaxBody, true)
	checkLink(&v, "shortlink", cmd.Shortlink, false)
	switch {
	case cmd.ScheduledFor.IsZero():
		v.Add("scheduled_for", "is required")
	case cmd.ScheduledUntil.IsZero():
		v.Add("scheduled_until", "is required")
	case !cmd.ScheduledUntil.After(cmd.ScheduledFor):
		v.Add("scheduled_until", "must be after scheduled_for")
	case !cmd.ScheduledUntil.After(now):
		v.Add("scheduled_until", "is in the past")
	}
	if len(cmd.Components) > MaxComponents {
		v.Add("components", "%d components, over the limit of %d", len(cmd.Components), MaxComponents)
	}
	seen := map[string]bool{}
	for i, id := range cmd.Components {
		switch {
		case p.components[id] == nil:
			v.Add(fmt.Sprintf("components[%d]", i), "no component %q on this page", id)
		case seen[id]:
			v.Add(fmt.Sprintf("components[%d]", i), "component %q named twice", id)
		}
		seen[id] = true
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if p.maintenances[cmd.ID] != nil {
		return nil, &errs.AlreadyExistsError{Kind: "maintenance", ID: cmd.ID}
	}
	if p.updateIDTaken(cmd.UpdateID) {
		return nil, &errs.AlreadyExistsError{Kind: "update", ID: cmd.UpdateID}
	}
	return []Change{MaintenanceScheduled{
		MaintenanceID: cmd.ID, Name: cmd.Name, Shortlink: cmd.Shortlink, Components: slices.Clone(cmd.Components),
		ScheduledFor: cmd.ScheduledFor, ScheduledUntil: cmd.ScheduledUntil,
		Update: Update{ID: cmd.UpdateID, Status: string(Scheduled), Body: cmd.Body, At: now, DeliverNotifications: cmd.DeliverNotifications},
	}}, nil
}

// StartMaintenance decides the start of a scheduled maintenance.
func (p *Page) StartMaintenance(cmd StartMaintenance, now time.Time) ([]Change, error) {
	m, err := p.maintenanceStep(cmd.MaintenanceID, cmd.UpdateID, cmd.Body, InProgress)
	if err != nil {
		return nil, err
	}
	statuses := map[string]ComponentStatus{}
	for _, id := range m.Components {
		statuses[id] = UnderMaintenance
	}
	return p.postMaintenance(m, cmd.UpdateID, cmd.Body, defaultStartBody, InProgress, statuses, cmd.DeliverNotifications, now), nil
}

// VerifyMaintenance decides the move of a maintenance in progress to verifying.
func (p *Page) VerifyMaintenance(cmd VerifyMaintenance, now time.Time) ([]Change, error) {
	m, err := p.maintenanceStep(cmd.MaintenanceID, cmd.UpdateID, cmd.Body, Verifying)
	if err != nil {
		return nil, err
	}
	return p.postMaintenance(m, cmd.UpdateID, cmd.Body, defaultVerifyBody, Verifying, nil, cmd.DeliverNotifications, now), nil
}

// CompleteMaintenance decides the completion of a maintenance under way.
func (p *Page) CompleteMaintenance(cmd CompleteMaintenance, now time.Time) ([]Change, error) {
	m, err := p.maintenanceStep(cmd.MaintenanceID, cmd.UpdateID, cmd.Body, Completed)
	if err != nil {
		return nil, err
	}
	statuses := map[string]ComponentStatus{}
	for _, id := range m.Components {
		if p.components[id].Status == UnderMaintenance && !p.heldByOtherMaintenance(id, m.ID) {
			statuses[id] = Operational
		}
	}
	return p.postMaintenance(m, cmd.UpdateID, cmd.Body, defaultCompleteBody, Completed, statuses, cmd.DeliverNotifications, now), nil
}

// maintenanceStep validates a move of maintenance id to status to.
func (p *Page) maintenanceStep(id, updateID, body string, to MaintenanceStatus) (*Maintenance, error) {
	var v errs.Violations
	checkID(&v, "update_id", updateID)
	checkText(&v, "body", body, MaxBody, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	m := p.maintenances[id]
	if m == nil {
		return nil, &errs.NotFoundError{Kind: "maintenance", ID: id}
	}
	allowed := map[MaintenanceStatus][]MaintenanceStatus{
		InProgress: {Scheduled},
		Verifying:  {InProgress},
		Completed:  {InProgress, Verifying},
	}[to]
	if !slices.Contains(allowed, m.Status) {
		return nil, errs.Refuse(reasonRefused, "maintenance %s is %s: it cannot move to %s (only from %s)", m.ID, m.Status, to, joinStatuses(allowed))
	}
	if p.updateIDTaken(updateID) {
		return nil, &errs.AlreadyExistsError{Kind: "update", ID: updateID}
	}
	return m, nil
}

func (p *Page) postMaintenance(m *Maintenance, updateID, body, defaultBody string, to MaintenanceStatus, statuses map[string]ComponentStatus, notify bool, now time.Time) []Change {
	if body == "" {
		body = defaultBody
	}
	affected, changes := p.componentChanges(statuses, now, "", m.ID)
	posted := MaintenanceUpdatePosted{MaintenanceID: m.ID, Update: Update{
		ID: updateID, Status: string(to), Body: body, At: now, Affected: affected, DeliverNotifications: notify,
	}}
	return append([]Change{posted}, changes...)
}

// restoreOnResolve is the component statuses a resolution sets: those asked
// for, and operational for the incident's other components that are not
// operational, unless another open incident holds them or they are under a
// maintenance.
func (p *Page) restoreOnResolve(in *Incident, asked map[string]ComponentStatus) map[string]ComponentStatus {
	out := map[string]ComponentStatus{}
	for id, st := range asked {
		out[id] = st
	}
	for _, id := range in.Components {
		if _, ok := out[id]; ok {
			continue
		}
		c := p.components[id]
		if c == nil || c.Status == Operational || c.Status == UnderMaintenance || p.heldByOtherIncident(id, in.ID) {
			continue
		}
		out[id] = Operational
	}
	return out
}

func (p *Page) heldByOtherIncident(componentID, except string) bool {
	for _, in := range p.incidents {
		if in.ID != except && in.Status.Open() && slices.Contains(in.Components, componentID) {
			return true
		}
	}
	return false
}

func (p *Page) heldByOtherMaintenance(componentID, except string) bool {
	for _, m := range p.maintenances {
		if m.ID != except && m.Status.Active() && slices.Contains(m.Components, componentID) {
			return true
		}
	}
	return false
}

// componentChanges turns wanted statuses into the update's affected list
// (every component named, in id order) and a change for each that moves.
func (p *Page) componentChanges(want map[string]ComponentStatus, now time.Time, incidentID, maintenanceID string) ([]AffectedComponent, []Change) {
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var affected []AffectedComponent
	var changes []Change
	for _, id := range ids {
		c := p.components[id]
		affected = append(affected, AffectedComponent{ComponentID: id, OldStatus: c.Status, NewStatus: want[id]})
		if c.Status != want[id] {
			changes = append(changes, ComponentStatusChanged{ComponentID: id, From: c.Status, To: want[id], At: now, IncidentID: incidentID, MaintenanceID: maintenanceID})
		}
	}
	return affected, changes
}

func (p *Page) checkComponentStatuses(v *errs.Violations, m map[string]ComponentStatus) {
	if len(m) > MaxComponents {
		v.Add("components", "%d components, over the limit of %d", len(m), MaxComponents)
		return
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		field := fmt.Sprintf("components[%q]", id)
		if p.components[id] == nil {
			v.Add(field, "no component %q on this page", id)
		}
		if !m[id].Valid() {
			v.Add(field, "%q is not a component status", m[id])
		}
	}
}

func (p *Page) incident(id string) (*Incident, error) {
	in := p.incidents[id]
	if in == nil {
		return nil, &errs.NotFoundError{Kind: "incident", ID: id}
	}
	return in, nil
}

func (p *Page) updateIDTaken(id string) bool {
	for _, in := range p.incidents {
		for _, u := range in.Updates {
			if u.ID == id {
				return true
			}
		}
	}
	for _, m := range p.maintenances {
		for _, u := range m.Updates {
			if u.ID == id {
				return true
			}
		}
	}
	return false
}

func worstNew(affected []AffectedComponent) ComponentStatus {
	worst := Operational
	for _, a := range affected {
		if a.NewStatus.rank() > worst.rank() {
			worst = a.NewStatus
		}
	}
	return worst
}

func joinStatuses(s []MaintenanceStatus) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, " or ")
}

// ---- apply ----

// ErrUnknownChange reports a change Apply does not know.
var ErrUnknownChange = errors.New("unknown change")

// Apply folds changes into the page, in order. It is the one way the page
// changes, both for changes just decided and for stored ones replayed; it
// fails only on a change that does not fit the page (a reference to
// something that does not exist, a duplicate), which means the stored
// changes were not decided by this package.
func (p *Page) Apply(changes ...Change) error {
	for i, c := range changes {
		if err := p.apply(c); err != nil {
			return fmt.Errorf("apply change %d (%T): %w", i, c, err)
		}
	}
	return nil
}

func (p *Page) apply(c Change) error {
	switch c := c.(type) {
	case GroupAdded:
		if p.groups[c.GroupID] != nil {
			return fmt.Errorf("group %q exists", c.GroupID)
		}
		p.groups[c.GroupID] = &Group{ID: c.GroupID, Name: c.Name, Description: c.Description, Position: c.Position, CreatedAt: c.At, UpdatedAt: c.At}
		p.touch(c.At)
	case ComponentAdded:
		if p.components[c.ComponentID] != nil {
			return fmt.Errorf("component %q exists", c.ComponentID)
		}
		p.components[c.ComponentID] = &Component{
			ID: c.ComponentID, Name: c.Name, Description: c.Description, GroupID: c.GroupID, Position: c.Position,
			Status: c.Status, Showcase: c.Showcase, OnlyShowIfDegraded: c.OnlyShowIfDegraded, CreatedAt: c.At, UpdatedAt: c.At,
		}
		p.timelines[c.ComponentID] = []StatusChange{{At: c.At, Status: c.Status}}
		p.touch(c.At)
	case ComponentStatusChanged:
		comp := p.components[c.ComponentID]
		if comp == nil {
			return fmt.Errorf("no component %q", c.ComponentID)
		}
		comp.Status, comp.UpdatedAt = c.To, c.At
		p.timelines[c.ComponentID] = append(p.timelines[c.ComponentID], StatusChange{At: c.At, Status: c.To})
		if g := p.groups[comp.GroupID]; g != nil {
			g.UpdatedAt = c.At
		}
		p.touch(c.At)
	case IncidentCreated:
		if p.incidents[c.IncidentID] != nil {
			return fmt.Errorf("incident %q exists", c.IncidentID)
		}
		in := &Incident{
			ID: c.IncidentID, Name: c.Name, Impact: c.Impact, ImpactOverride: c.ImpactOverride, Shortlink: c.Shortlink,
			CreatedAt: c.Update.At, StartedAt: c.StartedAt,
		}
		p.incidents[c.IncidentID] = in
		postIncident(in, c.Update)
		p.touch(c.Update.At)
	case IncidentChanged:
		in := p.incidents[c.IncidentID]
		if in == nil {
			return fmt.Errorf("no incident %q", c.IncidentID)
		}
		in.Name, in.Impact, in.ImpactOverride, in.Shortlink, in.UpdatedAt = c.Name, c.Impact, c.ImpactOverride, c.Shortlink, c.At
		p.touch(c.At)
	case IncidentUpdatePosted:
		in := p.incidents[c.IncidentID]
		if in == nil {
			return fmt.Errorf("no incident %q", c.IncidentID)
		}
		in.Impact = c.Impact
		postIncident(in, c.Update)
		p.touch(c.Update.At)
	case MaintenanceScheduled:
		if p.maintenances[c.MaintenanceID] != nil {
			return fmt.Errorf("maintenance %q exists", c.MaintenanceID)
		}
		m := &Maintenance{
			ID: c.MaintenanceID, Name: c.Name, Shortlink: c.Shortlink, Components: slices.Clone(c.Components),
			ScheduledFor: c.ScheduledFor, ScheduledUntil: c.ScheduledUntil, CreatedAt: c.Update.At,
		}
		p.maintenances[c.MaintenanceID] = m
		postMaintenance(m, c.Update)
		p.touch(c.Update.At)
	case MaintenanceUpdatePosted:
		m := p.maintenances[c.MaintenanceID]
		if m == nil {
			return fmt.Errorf("no maintenance %q", c.MaintenanceID)
		}
		postMaintenance(m, c.Update)
		p.touch(c.Update.At)
	default:
		return fmt.Errorf("%w %T", ErrUnknownChange, c)
	}
	return nil
}

func postIncident(in *Incident, u Update) {
	u.Affected = slices.Clone(u.Affected)
	in.Updates = append(in.Updates, u)
	in.Status = IncidentStatus(u.Status)
	in.UpdatedAt = u.At
	for _, a := range u.Affected {
		if !slices.Contains(in.Components, a.ComponentID) {
			in.Components = append(in.Components, a.ComponentID)
		}
	}
	switch in.Status {
	case Monitoring:
		if in.MonitoringAt.IsZero() {
			in.MonitoringAt = u.At
		}
	case Resolved:
		in.ResolvedAt = u.At
	}
}

func postMaintenance(m *Maintenance, u Update) {
	u.Affected = slices.Clone(u.Affected)
	m.Updates = append(m.Updates, u)
	m.Status = MaintenanceStatus(u.Status)
	m.UpdatedAt = u.At
	switch m.Status {
	case InProgress:
		m.StartedAt = u.At
	case Completed:
		m.CompletedAt = u.At
	}
}

func (p *Page) touch(at time.Time) {
	if at.After(p.updatedAt) {
		p.updatedAt = at
	}
}

// ---- field checks ----

func checkID(v *errs.Violations, field, id string) {
	switch {
	case id == "":
		v.Add(field, "is required")
	case len(id) > MaxID:
		v.Add(field, "is %d bytes, over the limit of %d", len(id), MaxID)
	default:
		for _, r := range id {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				v.Add(field, "%q: only letters, digits, '-', '_' and '.'", id)
				return
			}
		}
	}
}

func checkText(v *errs.Violations, field, s string, limit int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "is required")
	case len(s) > limit:
		v.Add(field, "is %d bytes, over the limit of %d", len(s), limit)
	case !utf8.ValidString(s):
		v.Add(field, "is not valid UTF-8")
	case strings.ContainsRune(s, 0):
		v.Add(field, "contains a NUL character")
	}
}

func checkLink(v *errs.Violations, field, s string, required bool) {
	if s == "" {
		if required {
			v.Add(field, "is required")
		}
		return
	}
	if len(s) > MaxLink {
		v.Add(field, "is %d bytes, over the limit of %d", len(s), MaxLink)
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.Add(field, "%q is not an absolute http(s) URL", s)
	}
}
