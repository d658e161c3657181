package status

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// View is a read-only copy of a page at one instant, what the JSON and HTML
// renderers read. It shares nothing with the Page it came from, so it can be
// handed to HTTP handlers while the page moves on.
type View struct {
	ID, Name, URL string
	Location      *time.Location
	UpdatedAt     time.Time
	Now           time.Time
	Status        Overall
	Groups        []Group       // by position, then name
	Components    []Component   // by position, then name
	Incidents     []Incident    // newest first
	Maintenances  []Maintenance // by scheduled start
	// Uptime holds the 90-day uptime of every showcased component.
	Uptime map[string]Uptime
}

// View copies the page as it is at now.
func (p *Page) View(now time.Time) View {
	v := View{ID: p.id, Name: p.name, URL: p.url, Location: p.loc, UpdatedAt: p.updatedAt, Now: now, Uptime: map[string]Uptime{}}
	for _, g := range p.groups {
		v.Groups = append(v.Groups, *g)
	}
	slices.SortFunc(v.Groups, func(a, b Group) int { return cmpPos(a.Position, b.Position, a.Name, b.Name) })
	statuses := make([]ComponentStatus, 0, len(p.components))
	for _, c := range p.components {
		v.Components = append(v.Components, *c)
		statuses = append(statuses, c.Status)
		if c.Showcase {
			v.Uptime[c.ID] = ComputeUptime(p.timelines[c.ID], now, UptimeDays, p.loc)
		}
	}
	slices.SortFunc(v.Components, func(a, b Component) int { return cmpPos(a.Position, b.Position, a.Name, b.Name) })
	var open []Impact
	for _, in := range p.incidents {
		cp := *in
		cp.Components = slices.Clone(in.Components)
		cp.Updates = cloneUpdates(in.Updates)
		v.Incidents = append(v.Incidents, cp)
		if in.Status.Open() {
			open = append(open, in.Impact)
		}
	}
	slices.SortFunc(v.Incidents, func(a, b Incident) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	for _, m := range p.maintenances {
		cp := *m
		cp.Components = slices.Clone(m.Components)
		cp.Updates = cloneUpdates(m.Updates)
		v.Maintenances = append(v.Maintenances, cp)
	}
	slices.SortFunc(v.Maintenances, func(a, b Maintenance) int {
		if c := a.ScheduledFor.Compare(b.ScheduledFor); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	v.Status = OverallStatus(statuses, open)
	return v
}

// Uptime computes the uptime of a component over the days days ending at now.
func (p *Page) Uptime(componentID string, now time.Time, days int) (Uptime, bool) {
	tl, ok := p.timelines[componentID]
	if !ok {
		return Uptime{}, false
	}
	return ComputeUptime(tl, now, days, p.loc), true
}

// Timeline returns a copy of a component's status timeline, oldest first.
func (p *Page) Timeline(componentID string) []StatusChange {
	return slices.Clone(p.timelines[componentID])
}

// Unresolved is the open incidents, newest first.
func (v View) Unresolved() []Incident {
	var out []Incident
	for _, in := range v.Incidents {
		if in.Status.Open() {
			out = append(out, in)
		}
	}
	return out
}

// Upcoming is the maintenances still scheduled, soonest first.
func (v View) Upcoming() []Maintenance {
	var out []Maintenance
	for _, m := range v.Maintenances {
		if m.Status == Scheduled {
			out = append(out, m)
		}
	}
	return out
}

// Active is the maintenances under way (in progress or verifying).
func (v View) Active() []Maintenance {
	var out []Maintenance
	for _, m := range v.Maintenances {
		if m.Status.Active() {
			out = append(out, m)
		}
	}
	return out
}

// component finds a component by id.
func (v View) component(id string) (Component, bool) {
	for _, c := range v.Components {
		if c.ID == id {
			return c, true
		}
	}
	return Component{}, false
}

// groupStatus is the worst status of a group's components.
func (v View) groupStatus(groupID string) ComponentStatus {
	worst := Operational
	for _, c := range v.Components {
		if c.GroupID == groupID && c.Status.rank() > worst.rank() {
			worst = c.Status
		}
	}
	return worst
}

func cloneUpdates(us []Update) []Update {
	out := make([]Update, len(us))
	for i, u := range us {
		u.Affected = slices.Clone(u.Affected)
		out[i] = u
	}
	return out
}

func cmpPos(a, b int, na, nb string) int {
	if a != b {
		if a < b {
			return -1
		}
		return 1
	}
	return strings.Compare(na, nb)
}

func formatFloat2(f float64) string {
	return strconv.FormatFloat(f, 'f', 2, 64)
}
