package statuspage

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
	"github.com/penguinmails/floe/services/notifier/internal/status"
)

var t0 = time.Date(2026, 5, 16, 12, 0, 0, 0, time.UTC)

// step is one event fed to the page: the routing event and its source.
type step struct {
	ev  routing.Event
	id  string        // the source event's id
	age time.Duration // how old the event is when handled
}

func firing(key, env, product, severity, summary string) routing.Event {
	return routing.Event{
		Type: "floe.deploy.v1.RollbackStarted", EpisodeKey: key, Environment: env, Product: product, Severity: severity,
		Annotations: map[string]string{"summary": summary, "description": "The deployer is restoring the previous version."},
	}
}

func resolvedBy(e routing.Event, summary string) routing.Event {
	e.Resolved, e.Annotations = true, map[string]string{"summary": summary}
	return e
}

func finalOf(e routing.Event, summary string) routing.Event {
	e.Final, e.Annotations = true, map[string]string{"summary": summary}
	return e
}

// incidentRow is what a test checks of an incident.
type incidentRow struct {
	ID, Name, Status, Impact string
	Components               []string
	Bodies                   []string // oldest first
}

type pageRow struct {
	Incidents  []incidentRow // newest first
	Components map[string]status.ComponentStatus
}

func rows(v status.View) pageRow {
	out := pageRow{Components: map[string]status.ComponentStatus{}}
	for _, in := range v.Incidents {
		r := incidentRow{ID: in.ID, Name: in.Name, Status: string(in.Status), Impact: string(in.Impact), Components: in.Components}
		for _, u := range in.Updates {
			r.Bodies = append(r.Bodies, u.Body)
		}
		out.Incidents = append(out.Incidents, r)
	}
	for _, c := range v.Components {
		out.Components[c.ID] = c.Status
	}
	return out
}

// TestDecideAuto drives decideAuto through scenarios on a fixed clock: the
// page's incidents and components after the steps.
func TestDecideAuto(t *testing.T) {
	t.Parallel()
	const key = "deployment/r1-production-1"
	base := IncidentID(key)
	crit := firing(key, "production", "penguinmails", routing.SeverityCritical, "Rolling back penguinmails 1.0.0 in production")
	opened := incidentRow{ID: base, Name: "Rolling back penguinmails 1.0.0 in production", Status: "investigating", Impact: "critical",
		Components: []string{"penguinmails"}, Bodies: []string{"The deployer is restoring the previous version."}}
	resolved := opened
	resolved.Status = "resolved"
	resolved.Bodies = append(resolved.Bodies, "resolved: penguinmails rolled back")
	tests := []struct {
		name  string
		steps []step
		want  pageRow
	}{
		{
			name:  "a critical problem in production opens an incident on its product",
			steps: []step{{ev: crit, id: "e1"}},
			want:  pageRow{Incidents: []incidentRow{opened}, Components: map[string]status.ComponentStatus{"penguinmails": status.MajorOutage}},
		},
		{
			name: "a warning, another environment, a notice, a final event or an old event opens nothing",
			steps: []step{
				{ev: firing(key, "production", "penguinmails", routing.SeverityWarning, "paused"), id: "e1"},
				{ev: firing(key, "staging", "penguinmails", routing.SeverityCritical, "rolling back in staging"), id: "e2"},
				{ev: func() routing.Event { e := crit; e.Notice = true; return e }(), id: "e3"},
				{ev: finalOf(crit, "rolled back"), id: "e4"},
				{ev: crit, id: "e5", age: 25 * time.Hour},
				{ev: firing("secret/production/db", "production", "", routing.SeverityCritical, "rotation failed"), id: "e6"},
			},
			want: pageRow{Components: map[string]status.ComponentStatus{"penguinmails": status.Operational}},
		},
		{
			name: "later events update it; the final event resolves it and the component recovers",
			steps: []step{
				{ev: crit, id: "e1"},
				{ev: firing(key, "production", "penguinmails", routing.SeverityWarning, "Deployment aborted"), id: "e2"},
				{ev: finalOf(crit, "penguinmails rolled back"), id: "e3"},
			},
			want: pageRow{
				Incidents: []incidentRow{{ID: base, Name: opened.Name, Status: "resolved", Impact: "critical", Components: []string{"penguinmails"},
					Bodies: []string{opened.Bodies[0], "Deployment aborted", "resolved: penguinmails rolled back"}}},
				Components: map[string]status.ComponentStatus{"penguinmails": status.Operational},
			},
		},
		{
			name:  "a resolution resolves it",
			steps: []step{{ev: crit, id: "e1"}, {ev: resolvedBy(crit, "penguinmails rolled back"), id: "e2"}},
			want:  pageRow{Incidents: []incidentRow{resolved}, Components: map[string]status.ComponentStatus{"penguinmails": status.Operational}},
		},
		{
			name: "each event acts once: a redelivery changes nothing",
			steps: []step{
				{ev: crit, id: "e1"}, {ev: crit, id: "e1"},
				{ev: resolvedBy(crit, "penguinmails rolled back"), id: "e2"}, {ev: crit, id: "e1"}, {ev: resolvedBy(crit, "again"), id: "e2"},
			},
			want: pageRow{Incidents: []incidentRow{resolved}, Components: map[string]status.ComponentStatus{"penguinmails": status.Operational}},
		},
		{
			name: "the same episode firing again after its resolution opens the next incident",
			steps: []step{
				{ev: crit, id: "e1"}, {ev: resolvedBy(crit, "penguinmails rolled back"), id: "e2"}, {ev: crit, id: "e3"},
			},
			want: pageRow{
				Incidents: []incidentRow{
					{ID: base + "-2", Name: opened.Name, Status: "investigating", Impact: "critical", Components: []string{"penguinmails"}, Bodies: opened.Bodies},
					resolved,
				},
				Components: map[string]status.ComponentStatus{"penguinmails": status.MajorOutage},
			},
		},
		{
			name:  "without a product the incident is critical and names no component",
			steps: []step{{ev: firing("alert/errors/ab12", "production", "", routing.SeverityCritical, "errors firing in production"), id: "e1"}},
			want: pageRow{
				Incidents: []incidentRow{{ID: IncidentID("alert/errors/ab12"), Name: "errors firing in production", Status: "investigating", Impact: "critical",
					Bodies: []string{"The deployer is restoring the previous version."}}},
				Components: map[string]status.ComponentStatus{"penguinmails": status.Operational},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := status.NewPage(status.Config{ID: PageID, Name: "Floe", URL: "http://127.0.0.1:7403/status"})
			if err != nil {
				t.Fatal(err)
			}
			now := t0
			// The component exists, as Auto adds it before the incident's decision.
			add, err := p.AddComponent(status.AddComponent{ID: "penguinmails", Name: "penguinmails", Showcase: true}, now)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Apply(add...); err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				now = now.Add(time.Minute)
				changes, err := decideAuto(p, episode.Mapper{}, s.ev, source{ID: s.id, Time: now.Add(-s.age), MaxAge: DefaultMaxAge}, now)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if err := p.Apply(changes...); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if diff := cmp.Diff(tc.want, rows(p.View(now))); diff != "" {
				t.Errorf("page (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIncidentID(t *testing.T) {
	t.Parallel()
	for key, prefix := range map[string]string{
		"deployment/r1-production-1": "deployment-",
		"external/b4f1c0ffee":        "external-",
		"Weird Kind!/x":              "weirdkind-",
		"/x":                         "episode-",
	} {
		id := IncidentID(key)
		if !strings.HasPrefix(id, prefix) || len(id) != len(prefix)+20 || id != IncidentID(key) {
			t.Errorf("IncidentID(%q) = %q, want %s<20 hex>, the same every time", key, id, prefix)
		}
	}
	if IncidentID("alert/a/1") == IncidentID("alert/a/2") {
		t.Error("two episodes share an incident id")
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("é", 200) // 400 bytes
	got := clip(s, status.MaxName)
	if len(got) > status.MaxName || !strings.HasSuffix(got, "…") || !strings.HasPrefix(s, strings.TrimSuffix(got, "…")) {
		t.Errorf("clip: %d bytes %q", len(got), got)
	}
	if clip("short", 10) != "short" {
		t.Error("clip changed a short text")
	}
}
