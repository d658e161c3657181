package status_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/notifier/internal/status"
)

// The fixed clock: t0 is when the page was set up; each step of a scenario
// happens a minute after the last.
var t0 = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// harness holds a page and the changes applied to it.
type harness struct {
	t       *testing.T
	page    *status.Page
	now     time.Time
	applied []status.Change
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	p, err := status.NewPage(status.Config{ID: "floe", Name: "Floe", URL: "https://status.example.com"})
	if err != nil {
		t.Fatalf("NewPage: %v", err)
	}
	h := &harness{t: t, page: p, now: t0}
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.AddGroup(status.AddGroup{ID: "core", Name: "Core", Position: 2}, now)
	})
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.AddComponent(status.AddComponent{ID: "api", Name: "API", Position: 1, Showcase: true}, now)
	})
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.AddComponent(status.AddComponent{ID: "web", Name: "Website", Position: 3, GroupID: "core"}, now)
	})
	return h
}

// do decides at the next minute and applies; a decision error fails the test.
func (h *harness) do(decide func(*status.Page, time.Time) ([]status.Change, error)) []status.Change {
	h.t.Helper()
	h.now = h.now.Add(time.Minute)
	changes, err := decide(h.page, h.now)
	if err != nil {
		h.t.Fatalf("decide at %s: %v", h.now, err)
	}
	if err := h.page.Apply(changes...); err != nil {
		h.t.Fatalf("apply: %v", err)
	}
	h.applied = append(h.applied, changes...)
	return changes
}

func (h *harness) openIncident() {
	h.t.Helper()
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.CreateIncident(status.CreateIncident{
			ID: "inc1", UpdateID: "u1", Name: "API errors", Body: "We are investigating.",
			Components: map[string]status.ComponentStatus{"api": status.PartialOutage},
		}, now)
	})
}

func TestCreateIncident(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.now = h.now.Add(time.Minute)
	got, err := h.page.CreateIncident(status.CreateIncident{
		ID: "inc1", UpdateID: "u1", Name: "API errors", Body: "We are investigating.", DeliverNotifications: true,
		Components: map[string]status.ComponentStatus{"api": status.PartialOutage, "web": status.Operational},
	}, h.now)
	if err != nil {
		t.Fatal(err)
	}
	want := []status.Change{
		status.IncidentCreated{IncidentID: "inc1", Name: "API errors", Impact: status.ImpactMajor, StartedAt: h.now, Update: status.Update{
			ID: "u1", Status: "investigating", Body: "We are investigating.", At: h.now, DeliverNotifications: true,
			Affected: []status.AffectedComponent{
				{ComponentID: "api", OldStatus: status.Operational, NewStatus: status.PartialOutage},
				{ComponentID: "web", OldStatus: status.Operational, NewStatus: status.Operational},
			},
		}},
		status.ComponentStatusChanged{ComponentID: "api", From: status.Operational, To: status.PartialOutage, At: h.now, IncidentID: "inc1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func TestDecisionsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		given  func(h *harness)
		decide func(p *status.Page, now time.Time) ([]status.Change, error)
		check  func(t *testing.T, err error)
	}{
		{
			name:  "update of a resolved incident",
			given: resolved,
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.AddIncidentUpdate(status.AddIncidentUpdate{IncidentID: "inc1", UpdateID: "u9", Status: status.Monitoring, Body: "again"}, now)
			},
			check: wantRefusal("resolved"),
		},
		{
			name:  "edit of a resolved incident",
			given: resolved,
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.UpdateIncident(status.UpdateIncident{IncidentID: "inc1", Name: "renamed"}, now)
			},
			check: wantRefusal("only an open incident"),
		},
		{
			name: "postmortem of an open incident",
			given: func(h *harness) {
				h.openIncident()
			},
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.AddIncidentUpdate(status.AddIncidentUpdate{IncidentID: "inc1", UpdateID: "u9", Status: status.Postmortem, Body: "pm"}, now)
			},
			check: wantRefusal("postmortem follows resolution"),
		},
		{
			name: "update after the postmortem",
			given: func(h *harness) {
				resolved(h)
				h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
					return p.AddIncidentUpdate(status.AddIncidentUpdate{IncidentID: "inc1", UpdateID: "pm", Status: status.Postmortem, Body: "what happened"}, now)
				})
			},
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.AddIncidentUpdate(status.AddIncidentUpdate{IncidentID: "inc1", UpdateID: "u9", Status: status.Postmortem, Body: "more"}, now)
			},
			check: wantRefusal("no more updates"),
		},
		{
			name:  "complete a maintenance not started",
			given: scheduled,
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.CompleteMaintenance(status.CompleteMaintenance{MaintenanceID: "m1", UpdateID: "mu9"}, now)
			},
			check: wantRefusal("cannot move to completed"),
		},
		{
			name: "start a completed maintenance",
			given: func(h *harness) {
				scheduled(h)
				h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
					return p.StartMaintenance(status.StartMaintenance{MaintenanceID: "m1", UpdateID: "mu2"}, now)
				})
				h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
					return p.CompleteMaintenance(status.CompleteMaintenance{MaintenanceID: "m1", UpdateID: "mu3"}, now)
				})
			},
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.StartMaintenance(status.StartMaintenance{MaintenanceID: "m1", UpdateID: "mu9"}, now)
			},
			check: wantRefusal("is completed"),
		},
		{
			name:  "unknown incident",
			given: func(*harness) {},
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.AddIncidentUpdate(status.AddIncidentUpdate{IncidentID: "nope", UpdateID: "u9", Body: "x"}, now)
			},
			check: func(t *testing.T, err error) {
				t.Helper()
				var nf *errs.NotFoundError
				if !errors.As(err, &nf) || nf.ID != "nope" {
					t.Errorf("err = %v, want NotFoundError for nope", err)
				}
			},
		},
		{
			name:  "duplicate incident",
			given: func(h *harness) { h.openIncident() },
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.CreateIncident(status.CreateIncident{ID: "inc1", UpdateID: "u9", Name: "again", Body: "x"}, now)
			},
			check: func(t *testing.T, err error) {
				t.Helper()
				var ae *errs.AlreadyExistsError
				if !errors.As(err, &ae) {
					t.Errorf("err = %v, want AlreadyExistsError", err)
				}
			},
		},
		{
			name:  "every invalid field at once",
			given: func(*harness) {},
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.CreateIncident(status.CreateIncident{
					ID: "bad id", UpdateID: "u1", Name: " ", Body: "x", Status: status.Resolved, Impact: "huge",
					Shortlink: "javascript:alert(1)", StartedAt: now.Add(time.Hour),
					Components: map[string]status.ComponentStatus{"db": status.MajorOutage, "api": "broken"},
				}, now)
			},
			check: wantFields("id", "name", "shortlink", "status", "impact", "started_at", `components["api"]`, `components["db"]`),
		},
		{
			name:  "maintenance window backwards",
			given: func(*harness) {},
			decide: func(p *status.Page, now time.Time) ([]status.Change, error) {
				return p.ScheduleMaintenance(status.ScheduleMaintenance{
					ID: "m1", UpdateID: "mu1", Name: "DB", Body: "x", ScheduledFor: now.Add(2 * time.Hour), ScheduledUntil: now.Add(time.Hour),
					Components: []string{"api", "api", "db"},
				}, now)
			},
			check: wantFields("scheduled_until", "components[1]", "components[2]"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			tt.given(h)
			changes, err := tt.decide(h.page, h.now.Add(time.Minute))
			if err == nil {
				t.Fatalf("decided %v, want an error", changes)
			}
			tt.check(t, err)
		})
	}
}

func resolved(h *harness) {
	h.openIncident()
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.ResolveIncident(status.ResolveIncident{IncidentID: "inc1", UpdateID: "u2", Body: "Fixed."}, now)
	})
}

func scheduled(h *harness) {
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.ScheduleMaintenance(status.ScheduleMaintenance{
			ID: "m1", UpdateID: "mu1", Name: "Database upgrade", Body: "Planned.",
			ScheduledFor: now.Add(time.Hour), ScheduledUntil: now.Add(2 * time.Hour), Components: []string{"api"},
		}, now)
	})
}

func wantRefusal(substr string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var pe *errs.PreconditionError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v (%T), want a PreconditionError", err, err)
		}
		if !strings.Contains(pe.Error(), substr) {
			t.Errorf("err = %q, want it to mention %q", pe.Error(), substr)
		}
	}
}

func wantFields(fields ...string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var ia *errs.InvalidArgumentError
		if !errors.As(err, &ia) {
			t.Fatalf("err = %v (%T), want an InvalidArgumentError", err, err)
		}
		var got []string
		for _, v := range ia.Violations {
			got = append(got, v.Field)
		}
		if diff := cmp.Diff(fields, got); diff != "" {
			t.Errorf("violated fields (-want +got):\n%s\n%v", diff, err)
		}
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.openIncident()
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.AddIncidentUpdate(status.AddIncidentUpdate{IncidentID: "inc1", UpdateID: "u2", Status: status.Monitoring, Body: "Fix deployed.",
			Components: map[string]status.ComponentStatus{"web": status.MajorOutage}}, now)
	})
	monitoringAt := h.now
	v := h.page.View(h.now)
	if got, want := v.Status, (status.Overall{Indicator: status.IndicatorCritical, Description: status.DescMajorOutage}); got != want {
		t.Errorf("overall while open = %+v, want %+v (critical impact)", got, want)
	}
	if got := v.Incidents[0].Impact; got != status.ImpactCritical {
		t.Errorf("impact = %s, want critical (raised by web's major outage)", got)
	}
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.ResolveIncident(status.ResolveIncident{IncidentID: "inc1", UpdateID: "u3", Body: "All good."}, now)
	})
	v = h.page.View(h.now)
	in := v.Incidents[0]
	if in.Status != status.Resolved || !in.ResolvedAt.Equal(h.now) || !in.MonitoringAt.Equal(monitoringAt) {
		t.Errorf("incident = %s resolved %s monitoring %s", in.Status, in.ResolvedAt, in.MonitoringAt)
	}
	for _, c := range v.Components {
		if c.Status != status.Operational {
			t.Errorf("component %s is %s after resolution, want operational", c.ID, c.Status)
		}
	}
	if got := in.Impact; got != status.ImpactCritical {
		t.Errorf("impact after recovery = %s, want critical kept", got)
	}
	if v.Status.Indicator != status.IndicatorNone {
		t.Errorf("overall after resolution = %+v", v.Status)
	}

	scheduled(h)
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.StartMaintenance(status.StartMaintenance{MaintenanceID: "m1", UpdateID: "mu2"}, now)
	})
	v = h.page.View(h.now)
	if got := v.Components[0].Status; got != status.UnderMaintenance {
		t.Errorf("api during maintenance = %s", got)
	}
	if v.Status.Description != status.DescUnderMaintenance {
		t.Errorf("overall during maintenance = %+v", v.Status)
	}
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.VerifyMaintenance(status.VerifyMaintenance{MaintenanceID: "m1", UpdateID: "mu3"}, now)
	})
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.CompleteMaintenance(status.CompleteMaintenance{MaintenanceID: "m1", UpdateID: "mu4"}, now)
	})
	v = h.page.View(h.now)
	if got := v.Components[0].Status; got != status.Operational {
		t.Errorf("api after maintenance = %s", got)
	}
	if m := v.Maintenances[0]; m.Status != status.Completed || len(m.Updates) != 4 || m.Updates[1].Body == "" {
		t.Errorf("maintenance = %+v", m)
	}
}

// TestChangesRoundTrip stores every change as JSON, replays them into a new
// page and expects the same view.
func TestChangesRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resolved(h)
	scheduled(h)
	replayed, err := status.NewPage(status.Config{ID: "floe", Name: "Floe", URL: "https://status.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range h.applied {
		data, err := status.MarshalChange(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := status.UnmarshalChange(data)
		if err != nil {
			t.Fatalf("unmarshal %s: %v", data, err)
		}
		if err := replayed.Apply(back); err != nil {
			t.Fatal(err)
		}
	}
	now := h.now.Add(time.Hour)
	sameLoc := cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })
	if diff := cmp.Diff(h.page.View(now), replayed.View(now), sameLoc); diff != "" {
		t.Errorf("replayed view (-want +got):\n%s", diff)
	}
	if _, err := status.UnmarshalChange([]byte(`{"kind":"incident_created","change":{"incident_id":"x","surprise":1}}`)); err == nil {
		t.Error("a change with an unknown field was accepted")
	}
	if err := replayed.Apply(status.ComponentStatusChanged{ComponentID: "ghost", To: status.MajorOutage}); err == nil {
		t.Error("a change for an unknown component was applied")
	}
}

func TestSetComponentStatusIdempotent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	changes, err := h.page.SetComponentStatus(status.SetComponentStatus{ComponentID: "api", Status: status.Operational}, h.now)
	if err != nil || len(changes) != 0 {
		t.Errorf("setting the current status = %v, %v; want nothing", changes, err)
	}
}
