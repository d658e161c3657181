package status

import (
	"slices"
	"time"
)

// The public JSON documents, shaped as Atlassian Statuspage's public API v2
// (/api/v2/summary.json and friends) so that existing clients, widgets and
// aggregators read a Floe status page unchanged. Field names, nulls and
// nesting follow Statuspage's responses (for instance
// www.cloudflarestatus.com/api/v2/summary.json): times are ISO 8601 with
// milliseconds in the page's time zone, absent times and texts are null.

// Time is a timestamp as Statuspage writes it: "2026-05-16T17:54:09.673Z".
type Time struct{ time.Time }

// MarshalJSON writes the time with milliseconds, or null when zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.Format("2006-01-02T15:04:05.000Z07:00") + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 time or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	return t.Time.UnmarshalJSON(b)
}

// APIPage is the "page" object.
type APIPage struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt Time   `json:"updated_at"`
}

// APIComponent is a component, or a group (Group true, with the ids of its
// Components; a leaf has no "components" key at all, as on Statuspage).
type APIComponent struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Status             string   `json:"status"`
	CreatedAt          Time     `json:"created_at"`
	UpdatedAt          Time     `json:"updated_at"`
	Position           int      `json:"position"`
	Description        *string  `json:"description"`
	Showcase           bool     `json:"showcase"`
	StartDate          *string  `json:"start_date"`
	GroupID            *string  `json:"group_id"`
	PageID             string   `json:"page_id"`
	Group              bool     `json:"group"`
	OnlyShowIfDegraded bool     `json:"only_show_if_degraded"`
	Components         []string `json:"components,omitempty"`
}

// APIAffectedComponent is a component an update changed.
type APIAffectedComponent struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

// APIIncidentUpdate is one update of an incident or maintenance.
type APIIncidentUpdate struct {
	ID                   string                 `json:"id"`
	Status               string                 `json:"status"`
	Body                 string                 `json:"body"`
	IncidentID           string                 `json:"incident_id"`
	CreatedAt            Time                   `json:"created_at"`
	UpdatedAt            Time                   `json:"updated_at"`
	DisplayAt            Time                   `json:"display_at"`
	AffectedComponents   []APIAffectedComponent `json:"affected_components"`
	DeliverNotifications bool                   `json:"deliver_notifications"`
	CustomTweet          *string                `json:"custom_tweet"`
	TweetID              *string                `json:"tweet_id"`
}

// APIIncident is an incident; its updates are newest first.
type APIIncident struct {
	ID              string              `json:"id"`
	Name            string              `json:"name"`
	Status          string              `json:"status"`
	CreatedAt       Time                `json:"created_at"`
	UpdatedAt       Time                `json:"updated_at"`
	MonitoringAt    Time                `json:"monitoring_at"`
	ResolvedAt      Time                `json:"resolved_at"`
	Impact          string              `json:"impact"`
	Shortlink       string              `json:"shortlink"`
	StartedAt       Time                `json:"started_at"`
	PageID          string              `json:"page_id"`
	IncidentUpdates []APIIncidentUpdate `json:"incident_updates"`
	Components      []APIComponent      `json:"components"`
}

// APIScheduledMaintenance is a maintenance: an incident of impact
// "maintenance" with its window.
type APIScheduledMaintenance struct {
	ID              string              `json:"id"`
	Name            string              `json:"name"`
	Status          string              `json:"status"`
	CreatedAt       Time                `json:"created_at"`
	UpdatedAt       Time                `json:"updated_at"`
	MonitoringAt    Time                `json:"monitoring_at"`
	ResolvedAt      Time                `json:"resolved_at"`
	Impact          string              `json:"impact"`
	Shortlink       string              `json:"shortlink"`
	StartedAt       Time                `json:"started_at"`
	PageID          string              `json:"page_id"`
	IncidentUpdates []APIIncidentUpdate `json:"incident_updates"`
	Components      []APIComponent      `json:"components"`
	ScheduledFor    Time                `json:"scheduled_for"`
	ScheduledUntil  Time                `json:"scheduled_until"`
}

// SummaryDoc is /api/v2/summary.json: the status, every component, the
// unresolved incidents and the upcoming and active maintenances.
type SummaryDoc struct {
	Page                  APIPage                   `json:"page"`
	Components            []APIComponent            `json:"components"`
	Incidents             []APIIncident             `json:"incidents"`
	ScheduledMaintenances []APIScheduledMaintenance `json:"scheduled_maintenances"`
	Status                Overall                   `json:"status"`
}

// StatusDoc is /api/v2/status.json.
type StatusDoc struct {
	Page   APIPage `json:"page"`
	Status Overall `json:"status"`
}

// ComponentsDoc is /api/v2/components.json.
type ComponentsDoc struct {
	Page       APIPage        `json:"page"`
	Components []APIComponent `json:"components"`
}

// IncidentsDoc is /api/v2/incidents.json and incidents/unresolved.json.
type IncidentsDoc struct {
	Page      APIPage       `json:"page"`
	Incidents []APIIncident `json:"incidents"`
}

// MaintenancesDoc is /api/v2/scheduled-maintenances.json and its upcoming
// and active variants.
type MaintenancesDoc struct {
	Page                  APIPage                   `json:"page"`
	ScheduledMaintenances []APIScheduledMaintenance `json:"scheduled_maintenances"`
}

// MaxListed is how many incidents or maintenances the list documents hold,
// the most recent ones, as on Statuspage.
const MaxListed = 50

// Summary renders summary.json.
func (v View) Summary() SummaryDoc {
	return SummaryDoc{
		Page:                  v.apiPage(),
		Components:            v.apiComponents(),
		Incidents:             v.apiIncidents(v.Unresolved()),
		ScheduledMaintenances: v.apiMaintenances(append(v.Active(), v.Upcoming()...)),
		Status:                v.Status,
	}
}

// StatusJSON renders status.json.
func (v View) StatusJSON() StatusDoc { return StatusDoc{Page: v.apiPage(), Status: v.Status} }

// ComponentsJSON renders components.json.
func (v View) ComponentsJSON() ComponentsDoc {
	return ComponentsDoc{Page: v.apiPage(), Components: v.apiComponents()}
}

// IncidentsJSON renders incidents.json: the latest incidents, newest first.
func (v View) IncidentsJSON() IncidentsDoc {
	return IncidentsDoc{Page: v.apiPage(), Incidents: v.apiIncidents(v.Incidents)}
}

// UnresolvedJSON renders incidents/unresolved.json.
func (v View) UnresolvedJSON() IncidentsDoc {
	return IncidentsDoc{Page: v.apiPage(), Incidents: v.apiIncidents(v.Unresolved())}
}

// MaintenancesJSON renders scheduled-maintenances.json: the latest
// maintenances, newest scheduled first.
func (v View) MaintenancesJSON() MaintenancesDoc {
	all := slices.Clone(v.Maintenances)
	slices.Reverse(all)
	return MaintenancesDoc{Page: v.apiPage(), ScheduledMaintenances: v.apiMaintenances(all)}
}

// UpcomingJSON renders scheduled-maintenances/upcoming.json.
func (v View) UpcomingJSON() MaintenancesDoc {
	return MaintenancesDoc{Page: v.apiPage(), ScheduledMaintenances: v.apiMaintenances(v.Upcoming())}
}

// ActiveJSON renders scheduled-maintenances/active.json.
func (v View) ActiveJSON() MaintenancesDoc {
	return MaintenancesDoc{Page: v.apiPage(), ScheduledMaintenances: v.apiMaintenances(v.Active())}
}

func (v View) t(at time.Time) Time {
	if at.IsZero() {
		return Time{}
	}
	return Time{at.In(v.loc())}
}

func (v View) loc() *time.Location {
	if v.Location == nil {
		return time.UTC
	}
	return v.Location
}

func (v View) apiPage() APIPage {
	tz := v.loc().String()
	if tz == "UTC" {
		tz = "Etc/UTC"
	}
	return APIPage{ID: v.ID, Name: v.Name, URL: v.URL, TimeZone: tz, UpdatedAt: v.t(v.UpdatedAt)}
}

// apiComponents lists groups and components together by position, a group
// before its members, as Statuspage does.
func (v View) apiComponents() []APIComponent {
	out := []APIComponent{}
	for _, g := range v.Groups {
		var members []string
		for _, c := range v.Components {
			if c.GroupID == g.ID {
				members = append(members, c.ID)
			}
		}
		out = append(out, APIComponent{
			ID: g.ID, Name: g.Name, Status: string(v.groupStatus(g.ID)), CreatedAt: v.t(g.CreatedAt), UpdatedAt: v.t(g.UpdatedAt),
			Position: g.Position, Description: optional(g.Description), PageID: v.ID, Group: true, Components: members,
		})
	}
	for _, c := range v.Components {
		out = append(out, v.apiComponent(c))
	}
	slices.SortStableFunc(out, func(a, b APIComponent) int { return cmpPos(a.Position, b.Position, "", "") })
	return out
}

func (v View) apiComponent(c Component) APIComponent {
	return APIComponent{
		ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: v.t(c.CreatedAt), UpdatedAt: v.t(c.UpdatedAt),
		Position: c.Position, Description: optional(c.Description), Showcase: c.Showcase,
		StartDate: optional(c.CreatedAt.In(v.loc()).Format(time.DateOnly)), GroupID: optional(c.GroupID),
		PageID: v.ID, OnlyShowIfDegraded: c.OnlyShowIfDegraded,
	}
}

func (v View) apiComponentList(ids []string) []APIComponent {
	out := []APIComponent{}
	for _, id := range ids {
		if c, ok := v.component(id); ok {
			out = append(out, v.apiComponent(c))
		}
	}
	return out
}

func (v View) apiUpdates(parentID string, us []Update) []APIIncidentUpdate {
	out := make([]APIIncidentUpdate, 0, len(us))
	for i := len(us) - 1; i >= 0; i-- {
		u := us[i]
		var affected []APIAffectedComponent
		for _, a := range u.Affected {
			name := a.ComponentID
			if c, ok := v.component(a.ComponentID); ok {
				name = c.Name
			}
			affected = append(affected, APIAffectedComponent{Code: a.ComponentID, Name: name, OldStatus: string(a.OldStatus), NewStatus: string(a.NewStatus)})
		}
		out = append(out, APIIncidentUpdate{
			ID: u.ID, Status: u.Status, Body: u.Body, IncidentID: parentID,
			CreatedAt: v.t(u.At), UpdatedAt: v.t(u.At), DisplayAt: v.t(u.At),
			AffectedComponents: affected, DeliverNotifications: u.DeliverNotifications,
		})
	}
	return out
}

func (v View) apiIncidents(ins []Incident) []APIIncident {
	out := []APIIncident{}
	for _, in := range ins {
		if len(out) == MaxListed {
			break
		}
		out = append(out, APIIncident{
			ID: in.ID, Name: in.Name, Status: string(in.Status),
			CreatedAt: v.t(in.CreatedAt), UpdatedAt: v.t(in.UpdatedAt), MonitoringAt: v.t(in.MonitoringAt), ResolvedAt: v.t(in.ResolvedAt),
			Impact: string(in.Impact), Shortlink: v.shortlink(in.Shortlink, "incidents", in.ID), StartedAt: v.t(in.StartedAt), PageID: v.ID,
			IncidentUpdates: v.apiUpdates(in.ID, in.Updates), Components: v.apiComponentList(in.Components),
		})
	}
	return out
}

func (v View) apiMaintenances(ms []Maintenance) []APIScheduledMaintenance {
	out := []APIScheduledMaintenance{}
	for _, m := range ms {
		if len(out) == MaxListed {
			break
		}
		out = append(out, APIScheduledMaintenance{
			ID: m.ID, Name: m.Name, Status: string(m.Status),
			CreatedAt: v.t(m.CreatedAt), UpdatedAt: v.t(m.UpdatedAt), ResolvedAt: v.t(m.CompletedAt),
			Impact: string(ImpactMaintenance), Shortlink: v.shortlink(m.Shortlink, "incidents", m.ID), StartedAt: v.t(firstNonZero(m.StartedAt, m.CreatedAt)), PageID: v.ID,
			IncidentUpdates: v.apiUpdates(m.ID, m.Updates), Components: v.apiComponentList(m.Components),
			ScheduledFor: v.t(m.ScheduledFor), ScheduledUntil: v.t(m.ScheduledUntil),
		})
	}
	return out
}

// shortlink is the incident's own link, else its address on this page.
func (v View) shortlink(link, kind, id string) string {
	if link != "" {
		return link
	}
	return trimSlash(v.URL) + "/" + kind + "/" + id
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
