package status_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/notifier/internal/status"
)

// The keys of each object, as in Statuspage's public API v2 responses (for
// example www.cloudflarestatus.com/api/v2/summary.json).
var (
	pageKeys        = []string{"id", "name", "url", "time_zone", "updated_at"}
	statusKeys      = []string{"indicator", "description"}
	componentKeys   = []string{"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded"}
	groupKeys       = append(slices.Clone(componentKeys), "components")
	incidentKeys    = []string{"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact", "shortlink", "started_at", "page_id", "incident_updates", "components"}
	maintenanceKeys = append(slices.Clone(incidentKeys), "scheduled_for", "scheduled_until")
	updateKeys      = []string{"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at", "affected_components", "deliver_notifications", "custom_tweet", "tweet_id"}
	affectedKeys    = []string{"code", "name", "old_status", "new_status"}
)

// richPage has a group, components, an open and a resolved incident, and a
// maintenance under way and one to come.
func richPage(t *testing.T) (*status.Page, time.Time) {
	t.Helper()
	h := newHarness(t)
	resolved(h)
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.CreateIncident(status.CreateIncident{ID: "inc2", UpdateID: "v1", Name: "<script>alert(1)</script> & more", Body: "Body <b>bold</b>\nline 2",
			Components: map[string]status.ComponentStatus{"web": status.MajorOutage}}, now)
	})
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.AddIncidentUpdate(status.AddIncidentUpdate{IncidentID: "inc2", UpdateID: "v2", Status: status.Monitoring, Body: "Watching."}, now)
	})
	scheduled(h)
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.ScheduleMaintenance(status.ScheduleMaintenance{ID: "m2", UpdateID: "mv1", Name: "Network", Body: "Soon.",
			ScheduledFor: now.Add(-time.Minute), ScheduledUntil: now.Add(time.Hour), Components: []string{"web"}}, now)
	})
	h.do(func(p *status.Page, now time.Time) ([]status.Change, error) {
		return p.StartMaintenance(status.StartMaintenance{MaintenanceID: "m2", UpdateID: "mv2"}, now)
	})
	return h.page, h.now.Add(time.Minute)
}

func TestJSONShapes(t *testing.T) {
	t.Parallel()
	p, now := richPage(t)
	v := p.View(now)
	tests := []struct {
		name  string
		doc   any
		top   []string
		check func(t *testing.T, doc map[string]any)
	}{
		{"summary.json", v.Summary(), []string{"page", "components", "incidents", "scheduled_maintenances", "status"}, nil},
		{"status.json", v.StatusJSON(), []string{"page", "status"}, nil},
		{"components.json", v.ComponentsJSON(), []string{"page", "components"}, nil},
		{"incidents.json", v.IncidentsJSON(), []string{"page", "incidents"}, func(t *testing.T, doc map[string]any) {
			t.Helper()
			ins := doc["incidents"].([]any)
			if len(ins) != 2 || ins[0].(map[string]any)["id"] != "inc2" {
				t.Errorf("incidents not newest first: %v", ins)
			}
		}},
		{"incidents/unresolved.json", v.UnresolvedJSON(), []string{"page", "incidents"}, func(t *testing.T, doc map[string]any) {
			t.Helper()
			if n := len(doc["incidents"].([]any)); n != 1 {
				t.Errorf("%d unresolved, want 1", n)
			}
		}},
		{"scheduled-maintenances.json", v.MaintenancesJSON(), []string{"page", "scheduled_maintenances"}, nil},
		{"scheduled-maintenances/upcoming.json", v.UpcomingJSON(), []string{"page", "scheduled_maintenances"}, func(t *testing.T, doc map[string]any) {
			t.Helper()
			ms := doc["scheduled_maintenances"].([]any)
			if len(ms) != 1 || ms[0].(map[string]any)["status"] != "scheduled" {
				t.Errorf("upcoming = %v", ms)
			}
		}},
		{"scheduled-maintenances/active.json", v.ActiveJSON(), []string{"page", "scheduled_maintenances"}, func(t *testing.T, doc map[string]any) {
			t.Helper()
			ms := doc["scheduled_maintenances"].([]any)
			if len(ms) != 1 || ms[0].(map[string]any)["status"] != "in_progress" || ms[0].(map[string]any)["impact"] != "maintenance" {
				t.Errorf("active = %v", ms)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			wantKeys(t, tt.name, tt.top, doc)
			checkObjects(t, doc)
			if tt.check != nil {
				tt.check(t, doc)
			}
			// And the documented example's structs decode it with nothing left over.
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			var mirror spSummary
			if err := dec.Decode(&mirror); err != nil {
				t.Errorf("decoding into the documented shape: %v", err)
			}
		})
	}
}

// checkObjects checks the keys of every nested object of a document.
func checkObjects(t *testing.T, doc map[string]any) {
	t.Helper()
	wantKeys(t, "page", pageKeys, doc["page"].(map[string]any))
	if s, ok := doc["status"]; ok {
		wantKeys(t, "status", statusKeys, s.(map[string]any))
	}
	components := func(where string, list any) {
		for _, c := range list.([]any) {
			c := c.(map[string]any)
			if c["group"] == true {
				wantKeys(t, where+" group", groupKeys, c)
			} else {
				wantKeys(t, where+" component", componentKeys, c)
			}
		}
	}
	if cs, ok := doc["components"]; ok {
		components("components", cs)
	}
	incidents := func(key string, keys []string) {
		list, ok := doc[key]
		if !ok {
			return
		}
		for _, in := range list.([]any) {
			in := in.(map[string]any)
			wantKeys(t, key, keys, in)
			components(key+".components", in["components"])
			for _, u := range in["incident_updates"].([]any) {
				u := u.(map[string]any)
				wantKeys(t, key+".incident_updates", updateKeys, u)
				if u["incident_id"] != in["id"] {
					t.Errorf("update %v of %v has incident_id %v", u["id"], in["id"], u["incident_id"])
				}
				if a, ok := u["affected_components"].([]any); ok {
					for _, a := range a {
						wantKeys(t, "affected_components", affectedKeys, a.(map[string]any))
					}
				}
			}
		}
	}
	incidents("incidents", incidentKeys)
	incidents("scheduled_maintenances", maintenanceKeys)
}

func wantKeys(t *testing.T, where string, want []string, obj map[string]any) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	w := slices.Sorted(slices.Values(want))
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("%s keys (-want +got):\n%s", where, diff)
	}
}

// The documented example's shape, for a strict decode.
type spSummary struct {
	Page                  spPage          `json:"page"`
	Status                *spStatus       `json:"status"`
	Components            []spComponent   `json:"components"`
	Incidents             []spIncident    `json:"incidents"`
	ScheduledMaintenances []spMaintenance `json:"scheduled_maintenances"`
}
type spPage struct {
	ID, Name, URL string
	TimeZone      string    `json:"time_zone"`
	UpdatedAt     time.Time `json:"updated_at"`
}
type spStatus struct{ Indicator, Description string }
type spComponent struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Status             string    `json:"status"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	Position           int       `json:"position"`
	Description        *string   `json:"description"`
	Showcase           bool      `json:"showcase"`
	StartDate          *string   `json:"start_date"`
	GroupID            *string   `json:"group_id"`
	PageID             string    `json:"page_id"`
	Group              bool      `json:"group"`
	OnlyShowIfDegraded bool      `json:"only_show_if_degraded"`
	Components         []string  `json:"components"`
}
type spUpdate struct {
	ID                 string    `json:"id"`
	Status             string    `json:"status"`
	Body               string    `json:"body"`
	IncidentID         string    `json:"incident_id"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	DisplayAt          time.Time `json:"display_at"`
	AffectedComponents []struct {
		Code      string `json:"code"`
		Name      string `json:"name"`
		OldStatus string `json:"old_status"`
		NewStatus string `json:"new_status"`
	} `json:"affected_components"`
	DeliverNotifications bool    `json:"deliver_notifications"`
	CustomTweet          *string `json:"custom_tweet"`
	TweetID              *string `json:"tweet_id"`
}
type spIncident struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Status          string        `json:"status"`
	CreatedAt       time.Time     `json:"created_at"`
	UpdatedAt       time.Time     `json:"updated_at"`
	MonitoringAt    *time.Time    `json:"monitoring_at"`
	ResolvedAt      *time.Time    `json:"resolved_at"`
	Impact          string        `json:"impact"`
	Shortlink       string        `json:"shortlink"`
	StartedAt       time.Time     `json:"started_at"`
	PageID          string        `json:"page_id"`
	IncidentUpdates []spUpdate    `json:"incident_updates"`
	Components      []spComponent `json:"components"`
}
type spMaintenance struct {
	spIncident
	ScheduledFor   time.Time `json:"scheduled_for"`
	ScheduledUntil time.Time `json:"scheduled_until"`
}

func TestJSONValues(t *testing.T) {
	t.Parallel()
	p, now := richPage(t)
	data, err := json.Marshal(p.View(now).Summary())
	if err != nil {
		t.Fatal(err)
	}
	var s spSummary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Page.TimeZone != "Etc/UTC" || s.Status.Indicator != "critical" || s.Status.Description != "Major System Outage" {
		t.Errorf("page %+v status %+v", s.Page, s.Status)
	}
	if !strings.Contains(string(data), `"resolved_at":null`) || !strings.Contains(string(data), `"custom_tweet":null`) {
		t.Errorf("absent values are not null: %s", data)
	}
	in := s.Incidents[0]
	if in.ID != "inc2" || in.Status != "monitoring" || in.Impact != "critical" || in.MonitoringAt == nil || in.ResolvedAt != nil {
		t.Errorf("incident = %+v", in)
	}
	if len(in.IncidentUpdates) != 2 || in.IncidentUpdates[0].ID != "v2" {
		t.Errorf("updates not newest first: %+v", in.IncidentUpdates)
	}
	if a := in.IncidentUpdates[1].AffectedComponents; len(a) != 1 || a[0].Code != "web" || a[0].Name != "Website" || a[0].NewStatus != "major_outage" {
		t.Errorf("affected = %+v", a)
	}
	if in.Shortlink != "https://status.example.com/incidents/inc2" {
		t.Errorf("shortlink = %s", in.Shortlink)
	}
	var group *spComponent
	for i := range s.Components {
		if s.Components[i].Group {
			group = &s.Components[i]
		}
	}
	if group == nil || group.Status != "under_maintenance" || !slices.Equal(group.Components, []string{"web"}) {
		t.Errorf("group = %+v", group)
	}
	if got := len(s.ScheduledMaintenances); got != 2 {
		t.Errorf("%d maintenances in the summary, want the active and the upcoming one", got)
	}
}

func TestHTML(t *testing.T) {
	t.Parallel()
	p, now := richPage(t)
	var buf bytes.Buffer
	if err := p.View(now).RenderHTML(&buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, bad := range []string{"<script", "<b>bold</b>", "style=\"", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt; &amp; more",
		"Body &lt;b&gt;bold&lt;/b&gt;",
		`<html lang="en">`,
		"<h1>Floe status</h1>",
		"Major System Outage",
		"Active incidents", "Maintenance in progress", "Scheduled maintenance", "Components",
		`aria-label="Uptime of Floe API over the last 90 days, oldest first"`,
		" % uptime</span>",
		"Database upgrade", "Network",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(html, `<li class="d-`); n != 90 {
		t.Errorf("%d uptime bars, want 90 (one showcased component)", n)
	}
	// The one inline style is the one the CSP allows.
	start := strings.Index(html, "<style>") + len("<style>")
	end := strings.Index(html, "</style>")
	sum := sha256.Sum256([]byte(html[start:end]))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(status.ContentSecurityPolicy(), want) {
		t.Errorf("CSP %q does not allow the page's style (%s)", status.ContentSecurityPolicy(), want)
	}
	if strings.Count(html, "<style") != 1 {
		t.Error("more than one style element")
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	p, now := richPage(t)
	h, err := status.NewHandler(func(context.Context) (status.View, error) { return p.View(now), nil })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tests := []struct {
		method, path string
		code         int
		ctype, csp   string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", status.ContentSecurityPolicy()},
		{"GET", "/api/v2/summary.json", 200, "application/json; charset=utf-8", ""},
		{"GET", "/api/v2/incidents/unresolved.json", 200, "application/json; charset=utf-8", ""},
		{"GET", "/api/v2/scheduled-maintenances/active.json", 200, "application/json; charset=utf-8", ""},
		{"POST", "/api/v2/summary.json", 405, "", ""},
		{"GET", "/nope", 404, "", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.code)
		}
		if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
			t.Errorf("%s content type %q", tt.path, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Content-Security-Policy") != tt.csp {
			t.Errorf("%s CSP %q, want %q", tt.path, resp.Header.Get("Content-Security-Policy"), tt.csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s without nosniff", tt.path)
		}
	}
	if _, err := status.NewHandler(nil); err == nil {
		t.Error("NewHandler(nil) succeeded")
	}
}
