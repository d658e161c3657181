package notifiersvc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/notifiersvc"
)

// The public JSON as Atlassian Statuspage writes it, decoded strictly: a
// field Statuspage does not have, or one of another type, fails the test.
type (
	spPage struct {
		ID        string  `json:"id"`
		Name      string  `json:"name"`
		URL       string  `json:"url"`
		TimeZone  string  `json:"time_zone"`
		UpdatedAt *string `json:"updated_at"`
	}
	spStatus struct {
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	}
	spComponent struct {
		ID                 string   `json:"id"`
		Name               string   `json:"name"`
		Status             string   `json:"status"`
		CreatedAt          *string  `json:"created_at"`
		UpdatedAt          *string  `json:"updated_at"`
		Position           int      `json:"position"`
		Description        *string  `json:"description"`
		Showcase           bool     `json:"showcase"`
		StartDate          *string  `json:"start_date"`
		GroupID            *string  `json:"group_id"`
		PageID             string   `json:"page_id"`
		Group              bool     `json:"group"`
		OnlyShowIfDegraded bool     `json:"only_show_if_degraded"`
		Components         []string `json:"components"`
	}
	spAffected struct {
		Code      string `json:"code"`
		Name      string `json:"name"`
		OldStatus string `json:"old_status"`
		NewStatus string `json:"new_status"`
	}
	spUpdate struct {
		ID                   string       `json:"id"`
		Status               string       `json:"status"`
		Body                 string       `json:"body"`
		IncidentID           string       `json:"incident_id"`
		CreatedAt            *string      `json:"created_at"`
		UpdatedAt            *string      `json:"updated_at"`
		DisplayAt            *string      `json:"display_at"`
		AffectedComponents   []spAffected `json:"affected_components"`
		DeliverNotifications bool         `json:"deliver_notifications"`
		CustomTweet          *string      `json:"custom_tweet"`
		TweetID              *string      `json:"tweet_id"`
	}
	spIncident struct {
		ID              string        `json:"id"`
		Name            string        `json:"name"`
		Status          string        `json:"status"`
		CreatedAt       *string       `json:"created_at"`
		UpdatedAt       *string       `json:"updated_at"`
		MonitoringAt    *string       `json:"monitoring_at"`
		ResolvedAt      *string       `json:"resolved_at"`
		Impact          string        `json:"impact"`
		Shortlink       string        `json:"shortlink"`
		StartedAt       *string       `json:"started_at"`
		PageID          string        `json:"page_id"`
		IncidentUpdates []spUpdate    `json:"incident_updates"`
		Components      []spComponent `json:"components"`
	}
	spIncidents struct {
		Page      spPage       `json:"page"`
		Incidents []spIncident `json:"incidents"`
	}
	spSummary struct {
		Page                  spPage            `json:"page"`
		Components            []spComponent     `json:"components"`
		Incidents             []spIncident      `json:"incidents"`
		ScheduledMaintenances []json.RawMessage `json:"scheduled_maintenances"`
		Status                spStatus          `json:"status"`
	}
)

// statusWorld is a notifier serving its status page on a free port, with
// automatic incidents on.
type statusWorld struct {
	*world
	p    *testkit.Process
	base string // http://<addr>/status
}

func startStatus(t *testing.T) *statusWorld {
	t.Helper()
	w := start(t)
	w.procs[0].Stop()
	w.cfg.HTTPAddr = "127.0.0.1:0"
	w.cfg.Status = notifiersvc.StatusOptions{Incidents: true, Name: "Penguin Mails"}
	s := &statusWorld{world: w}
	s.restart(w.procs[0])
	return s
}

// restart starts the notifier again (on shared's NATS), as a new process.
func (s *statusWorld) restart(shared *testkit.Process) {
	s.t.Helper()
	s.p = s.process(shared)
	s.base = "http://" + s.p.Handles["notifier"].(*notifiersvc.Notifier).HTTPAddr + "/status"
}

// get fetches a public path of the page (no token) and returns the response and body.
func (s *statusWorld) get(path string) (*http.Response, []byte) {
	s.t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, body
}

// doc fetches a JSON document into v, strictly.
func (s *statusWorld) doc(path string, v any) error {
	resp, body := s.get(path)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
	return nil
}

func (s *statusWorld) unresolved() []spIncident {
	s.t.Helper()
	var d spIncidents
	if err := s.doc("/api/v2/incidents/unresolved.json", &d); err != nil {
		s.t.Fatal(err)
	}
	return d.Incidents
}

func (s *statusWorld) incidents() []spIncident {
	s.t.Helper()
	var d spIncidents
	if err := s.doc("/api/v2/incidents.json", &d); err != nil {
		s.t.Fatal(err)
	}
	return d.Incidents
}

func (s *statusWorld) summary() spSummary {
	s.t.Helper()
	var d spSummary
	if err := s.doc("/api/v2/summary.json", &d); err != nil {
		s.t.Fatal(err)
	}
	return d
}

// rollback records, as the deployer would, a production deployment of
// penguinmails and the start of its rollback (RolledBack is appended by rolledBack).
func (s *statusWorld) rollback(id string) {
	s.t.Helper()
	ctx := context.Background()
	meta := eventstore.Meta{Actor: "system:deployer"}
	if _, err := s.deploys.Append(ctx, "deployment", id, eventstore.NoStream, meta, eventstore.Event{Message: &deployv1.DeploymentStarted{
		DeploymentId: id, ReleaseId: "r1", Version: "1.0.0", Environment: "production", App: "demo", Product: "penguinmails",
		StrategyType: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY}}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.deploys.Append(ctx, "deployment", id, 1, meta, eventstore.Event{Message: &deployv1.RollbackStarted{
		Reason: "error rate 12% > 10% for 5m", Trigger: "error-rate"}}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *statusWorld) rolledBack(id string) {
	s.t.Helper()
	if _, err := s.deploys.Append(context.Background(), "deployment", id, 2, eventstore.Meta{Actor: "system:deployer"}, eventstore.Event{Message: &deployv1.RolledBack{
		DeploymentId: id, ReleaseId: "r1", Environment: "production", RestoredVersion: "0.9.0", Reason: "error rate 12% > 10% for 5m"}}); err != nil {
		s.t.Fatal(err)
	}
}

// pageEvents counts the status page's events in the log.
func (s *statusWorld) pageEvents() []*eventstore.RecordedEvent {
	s.t.Helper()
	st, err := s.p.Store("notifier").Load(context.Background(), "statuspage", "public", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return st.Events
}

// caughtUp waits until the status subscription has handled every event of the log.
func (s *statusWorld) caughtUp() {
	s.t.Helper()
	_, js := natstest.Connect(s.t, s.p.NATS)
	testkit.EventuallyWithin(s.t, 30*time.Second, func() error {
		c, err := js.Consumer(context.Background(), eventstore.DefaultStream, "notifier-status")
		if err != nil {
			return err
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("notifier-status: %d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
		}
		return nil
	})
}

// A production rollback opens an incident on its product's component, which
// the public JSON and HTML show; the rollback's end resolves it. A restart,
// and the whole log delivered again, open no second incident.
func TestStatusPageIncidentFromARollback(t *testing.T) {
	s := startStatus(t)
	var open []spIncident
	s.rollback("r1-production-1")
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		if open = s.unresolved(); len(open) != 1 {
			return fmt.Errorf("%d unresolved incidents", len(open))
		}
		return nil
	})
	in := open[0]
	if in.Status != "investigating" || in.Impact != "critical" || !strings.Contains(in.Name, "Rolling back penguinmails 1.0.0 in production") ||
		in.ResolvedAt != nil || in.StartedAt == nil || !strings.HasPrefix(in.ID, "deployment-") {
		t.Errorf("the incident: %+v", in)
	}
	if len(in.Components) != 1 || in.Components[0].ID != "penguinmails" || in.Components[0].Status != "major_outage" {
		t.Errorf("its components: %+v", in.Components)
	}
	if len(in.IncidentUpdates) != 1 || len(in.IncidentUpdates[0].AffectedComponents) != 1 ||
		in.IncidentUpdates[0].AffectedComponents[0] != (spAffected{Code: "penguinmails", Name: "penguinmails", OldStatus: "operational", NewStatus: "major_outage"}) {
		t.Errorf("its first update: %+v", in.IncidentUpdates)
	}
	// The page's URL defaults to the bound --notifier-http-addr (a port picked for :0): a link that works.
	if in.Shortlink != s.base+"/incidents/"+in.ID || strings.Contains(in.Shortlink, ":0/") {
		t.Errorf("shortlink %q, want %s/incidents/%s", in.Shortlink, s.base, in.ID)
	}
	sum := s.summary()
	if sum.Status.Indicator != "critical" || sum.Page.Name != "Penguin Mails" || sum.Page.ID != "public" || len(sum.Incidents) != 1 {
		t.Errorf("summary while open: %+v %+v, %d incidents", sum.Status, sum.Page, len(sum.Incidents))
	}

	s.rolledBack("r1-production-1")
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		if n := len(s.unresolved()); n != 0 {
			return fmt.Errorf("%d unresolved incidents", n)
		}
		return nil
	})
	all := s.incidents()
	if len(all) != 1 || all[0].Status != "resolved" || all[0].ResolvedAt == nil || len(all[0].IncidentUpdates) != 2 ||
		!strings.HasPrefix(all[0].IncidentUpdates[0].Body, "resolved: penguinmails 1.0.0 rolled back in production to 0.9.0") {
		t.Errorf("after RolledBack: %+v", all)
	}
	sum = s.summary()
	if sum.Status.Indicator != "none" || sum.Status.Description != "All Systems Operational" || len(sum.Components) != 1 || sum.Components[0].Status != "operational" {
		t.Errorf("summary after: %+v %+v", sum.Status, sum.Components)
	}
	for _, path := range []string{"/api/v2/status.json", "/api/v2/components.json", "/api/v2/scheduled-maintenances.json",
		"/api/v2/scheduled-maintenances/upcoming.json", "/api/v2/scheduled-maintenances/active.json"} {
		if resp, body := s.get(path); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("GET %s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}

	// The HTML page: server-rendered, no script, under a strict CSP.
	resp, body := s.get("")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/status/" {
		t.Fatalf("GET /status: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
	html := string(body)
	if strings.Contains(strings.ToLower(html), "<script") || !strings.Contains(html, "Penguin Mails status") || !strings.Contains(html, "penguinmails") ||
		!strings.Contains(html, `href="api/v2/summary.json"`) {
		t.Errorf("the page:\n%s", html)
	}
	if resp, _ := s.get("/api/v2/nothing.json"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown document: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v2/summary.json", strings.NewReader("{}"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to the page: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A restart, then every event delivered again: nothing changes.
	s.caughtUp()
	before := len(s.pageEvents())
	s.p.Stop()
	s.restart(s.p)
	s.caughtUp()
	s.p.Stop()
	_, js := natstest.Connect(t, s.p.NATS)
	if err := js.DeleteConsumer(context.Background(), eventstore.DefaultStream, "notifier-status"); err != nil {
		t.Fatal(err)
	}
	s.restart(s.p)
	s.caughtUp()
	if after := len(s.pageEvents()); after != before {
		t.Errorf("the page had %d events, %d after a restart and a redelivery of the log", before, after)
	}
	if all := s.incidents(); len(all) != 1 {
		t.Errorf("%d incidents after a redelivery", len(all))
	}

	// The component's uptime: it was down for a while.
	page, err := notifyv1.NewStatusServiceClient(s.p.Conn("viewer")).GetStatusPage(testkit.Context(t), &notifyv1.GetStatusPageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.GetComponents()) != 1 {
		t.Fatalf("components: %v", page.GetComponents())
	}
	up := page.GetComponents()[0].GetUptime()
	if !up.GetHasData() || up.GetPercent() >= 100 || up.GetPercent() <= 0 || len(up.GetDays()) != 90 {
		t.Fatalf("uptime: %.4f %% (has data %v), %d days", up.GetPercent(), up.GetHasData(), len(up.GetDays()))
	}
	if d := up.GetDays(); d[89].GetWorst() != notifyv1.ComponentStatus_COMPONENT_STATUS_MAJOR_OUTAGE &&
		d[88].GetWorst() != notifyv1.ComponentStatus_COMPONENT_STATUS_MAJOR_OUTAGE { // (the test may cross midnight)
		t.Errorf("the last days' worst: %s, %s", d[88].GetWorst(), d[89].GetWorst())
	}
	if page.GetIndicator() != notifyv1.StatusIndicator_STATUS_INDICATOR_NONE || page.GetName() != "Penguin Mails" {
		t.Errorf("page: %s %s", page.GetIndicator(), page.GetName())
	}
}

// People keep the page through StatusService: components, incidents and
// their updates, maintenance; the page refuses bad transitions and bad
// fields, and a reader cannot write.
func TestStatusServiceCommands(t *testing.T) {
	s := startStatus(t)
	ctx := testkit.Context(t)
	ops := notifyv1.NewStatusServiceClient(s.p.Conn("ops"))
	viewer := notifyv1.NewStatusServiceClient(s.p.Conn("viewer"))
	wantCode := func(what string, err error, code codes.Code, text ...string) {
		t.Helper()
		if status.Code(err) != code {
			t.Errorf("%s: %v, want %s", what, err, code)
			return
		}
		for _, want := range text {
			if !strings.Contains(errs.Describe(err), want) {
				t.Errorf("%s: %s\nsays nothing of %q", what, errs.Describe(err), want)
			}
		}
	}

	comp, err := ops.AddComponent(ctx, &notifyv1.AddComponentRequest{Id: "api", Name: "API", Description: "The public API"})
	if err != nil {
		t.Fatal(err)
	}
	if c := comp.GetComponent(); c.GetStatus() != notifyv1.ComponentStatus_COMPONENT_STATUS_OPERATIONAL || !c.GetShowcase() || !c.GetUptime().GetHasData() {
		t.Errorf("component: %v", c)
	}
	if _, err := ops.AddComponent(ctx, &notifyv1.AddComponentRequest{Id: "web", Name: "Website", HideUptime: true}); err != nil {
		t.Fatal(err)
	}
	set, err := ops.SetComponentStatus(ctx, &notifyv1.SetComponentStatusRequest{ComponentId: "web", Status: notifyv1.ComponentStatus_COMPONENT_STATUS_DEGRADED_PERFORMANCE})
	if err != nil || set.GetComponent().GetStatus() != notifyv1.ComponentStatus_COMPONENT_STATUS_DEGRADED_PERFORMANCE {
		t.Fatalf("set: %v %v", set, err)
	}

	created, err := ops.CreateIncident(ctx, &notifyv1.CreateIncidentRequest{RequestId: "inc-1", Name: "API errors", Body: "We are investigating errors on the API.",
		Components: map[string]notifyv1.ComponentStatus{"api": notifyv1.ComponentStatus_COMPONENT_STATUS_PARTIAL_OUTAGE}})
	if err != nil {
		t.Fatal(err)
	}
	in := created.GetIncident()
	if in.GetStatus() != notifyv1.IncidentStatus_INCIDENT_STATUS_INVESTIGATING || in.GetImpact() != notifyv1.IncidentImpact_INCIDENT_IMPACT_MAJOR || in.GetId() == "" {
		t.Errorf("created: %v", in)
	}
	again, err := ops.CreateIncident(ctx, &notifyv1.CreateIncidentRequest{RequestId: "inc-1", Name: "API errors", Body: "We are investigating errors on the API."})
	if err != nil || again.GetIncident().GetId() != in.GetId() {
		t.Errorf("a retry of the same request: %v %v", again, err)
	}
	upd, err := ops.AddIncidentUpdate(ctx, &notifyv1.AddIncidentUpdateRequest{IncidentId: in.GetId(), Status: notifyv1.IncidentStatus_INCIDENT_STATUS_IDENTIFIED,
		Body: "A bad cache node; we are replacing it."})
	if err != nil || upd.GetIncident().GetStatus() != notifyv1.IncidentStatus_INCIDENT_STATUS_IDENTIFIED || len(upd.GetIncident().GetUpdates()) != 2 {
		t.Fatalf("update: %v %v", upd, err)
	}
	res, err := ops.ResolveIncident(ctx, &notifyv1.ResolveIncidentRequest{IncidentId: in.GetId(), Body: "The node is replaced; errors are back to normal."})
	if err != nil || res.GetIncident().GetStatus() != notifyv1.IncidentStatus_INCIDENT_STATUS_RESOLVED || res.GetIncident().GetResolvedAt() == nil {
		t.Fatalf("resolve: %v %v", res, err)
	}
	_, err = ops.ResolveIncident(ctx, &notifyv1.ResolveIncidentRequest{IncidentId: in.GetId(), Body: "again"})
	wantCode("resolving a resolved incident", err, codes.FailedPrecondition, "is resolved")
	_, err = ops.CreateIncident(ctx, &notifyv1.CreateIncidentRequest{Body: "x",
		Components: map[string]notifyv1.ComponentStatus{"nope": notifyv1.ComponentStatus_COMPONENT_STATUS_MAJOR_OUTAGE}})
	wantCode("an incident without a name, on an unknown component", err, codes.InvalidArgument, "name: is required", `components["nope"]: no component "nope"`)
	_, err = ops.SetComponentStatus(ctx, &notifyv1.SetComponentStatusRequest{ComponentId: "api"})
	wantCode("a status without a status", err, codes.InvalidArgument, "status: is required")
	_, err = ops.AddIncidentUpdate(ctx, &notifyv1.AddIncidentUpdateRequest{IncidentId: "nope", Body: "x"})
	wantCode("an update of no incident", err, codes.NotFound)
	_, err = viewer.CreateIncident(ctx, &notifyv1.CreateIncidentRequest{Name: "x", Body: "x"})
	wantCode("a reader's incident", err, codes.PermissionDenied, "notify.write")

	// Listing: the resolved incident too, newest first, a page at a time.
	var opened []string
	for _, name := range []string{"Slow web", "Login failures"} {
		c, err := ops.CreateIncident(ctx, &notifyv1.CreateIncidentRequest{Name: name, Body: "Investigating."})
		if err != nil {
			t.Fatal(err)
		}
		opened = append(opened, c.GetIncident().GetId())
	}
	list := func(req *notifyv1.ListIncidentsRequest) []string {
		t.Helper()
		resp, err := viewer.ListIncidents(ctx, req)
		if err != nil {
			t.Fatalf("ListIncidents %v: %v", req, err)
		}
		var names []string
		for _, in := range resp.GetIncidents() {
			names = append(names, in.GetName())
		}
		if resp.GetNextPageToken() != "" {
			names = append(names, "next:"+resp.GetNextPageToken())
		}
		return names
	}
	if got := list(&notifyv1.ListIncidentsRequest{}); strings.Join(got, ",") != "Login failures,Slow web,API errors" {
		t.Errorf("every incident: %q, want the three newest first, the resolved one included", got)
	}
	if got := list(&notifyv1.ListIncidentsRequest{UnresolvedOnly: true}); strings.Join(got, ",") != "Login failures,Slow web" {
		t.Errorf("unresolved incidents: %q", got)
	}
	first := list(&notifyv1.ListIncidentsRequest{PageSize: 2})
	if len(first) != 3 || !strings.HasPrefix(first[2], "next:") {
		t.Fatalf("a page of 2: %q, want two and a next page token", first)
	}
	if got := list(&notifyv1.ListIncidentsRequest{PageSize: 2, PageToken: strings.TrimPrefix(first[2], "next:")}); strings.Join(got, ",") != "API errors" {
		t.Errorf("the second page: %q, want the last incident and no token", got)
	}
	_, err = viewer.ListIncidents(ctx, &notifyv1.ListIncidentsRequest{PageToken: "nope"})
	wantCode("a page token naming no incident", err, codes.InvalidArgument, "page_token")
	_, err = viewer.ListIncidents(ctx, &notifyv1.ListIncidentsRequest{PageSize: 201})
	wantCode("a page of 201", err, codes.InvalidArgument, "page_size")
	// A page of unresolved incidents goes on after one resolved since its token was given.
	page1 := list(&notifyv1.ListIncidentsRequest{UnresolvedOnly: true, PageSize: 1})
	if len(page1) != 2 || page1[0] != "Login failures" || !strings.HasPrefix(page1[1], "next:") {
		t.Fatalf("the first page of one unresolved incident: %q", page1)
	}
	for _, id := range []string{opened[1], opened[0]} { // Login failures, then Slow web
		if _, err := ops.ResolveIncident(ctx, &notifyv1.ResolveIncidentRequest{IncidentId: id, Body: "Fine again."}); err != nil {
			t.Fatal(err)
		}
		if id == opened[1] {
			if got := list(&notifyv1.ListIncidentsRequest{UnresolvedOnly: true, PageSize: 1, PageToken: strings.TrimPrefix(page1[1], "next:")}); strings.Join(got, ",") != "Slow web" {
				t.Errorf("the page after a token whose incident is resolved since: %q, want Slow web", got)
			}
		}
	}

	now := time.Now()
	sched, err := ops.ScheduleMaintenance(ctx, &notifyv1.ScheduleMaintenanceRequest{Name: "Database upgrade", Body: "The database moves to a new version.",
		ScheduledFor: timestamppb.New(now.Add(time.Hour)), ScheduledUntil: timestamppb.New(now.Add(2 * time.Hour)), Components: []string{"api"}})
	if err != nil || sched.GetMaintenance().GetStatus() != notifyv1.MaintenanceStatus_MAINTENANCE_STATUS_SCHEDULED {
		t.Fatalf("schedule: %v %v", sched, err)
	}
	mid := sched.GetMaintenance().GetId()
	page, err := viewer.GetStatusPage(ctx, &notifyv1.GetStatusPageRequest{})
	if err != nil || len(page.GetMaintenances()) != 1 || len(page.GetIncidents()) != 0 {
		t.Fatalf("page with a scheduled maintenance: %v %v", page, err)
	}
	if _, err := ops.StartMaintenance(ctx, &notifyv1.StartMaintenanceRequest{MaintenanceId: mid}); err != nil {
		t.Fatal(err)
	}
	_, err = ops.StartMaintenance(ctx, &notifyv1.StartMaintenanceRequest{MaintenanceId: mid})
	wantCode("starting a maintenance twice", err, codes.FailedPrecondition, "in_progress")
	page, err = viewer.GetStatusPage(ctx, &notifyv1.GetStatusPageRequest{})
	if err != nil || page.GetComponents()[0].GetStatus() != notifyv1.ComponentStatus_COMPONENT_STATUS_UNDER_MAINTENANCE {
		t.Fatalf("page during the maintenance: %v %v", page, err)
	}
	done, err := ops.CompleteMaintenance(ctx, &notifyv1.CompleteMaintenanceRequest{MaintenanceId: mid, Body: "Done."})
	if err != nil || done.GetMaintenance().GetStatus() != notifyv1.MaintenanceStatus_MAINTENANCE_STATUS_COMPLETED || done.GetMaintenance().GetCompletedAt() == nil {
		t.Fatalf("complete: %v %v", done, err)
	}

	// Every change is on the log, by the caller.
	events := s.pageEvents()
	if len(events) == 0 || events[len(events)-1].Actor != "ops" {
		t.Errorf("%d events; the last by %q", len(events), events[len(events)-1].Actor)
	}
	page, err = viewer.GetStatusPage(ctx, &notifyv1.GetStatusPageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if page.GetIndicator() != notifyv1.StatusIndicator_STATUS_INDICATOR_MINOR || len(page.GetComponents()) != 2 || len(page.GetMaintenances()) != 0 {
		t.Errorf("page at the end: %s, %d components, %d maintenances", page.GetIndicator(), len(page.GetComponents()), len(page.GetMaintenances()))
	}
	var sum spSummary
	if err := s.doc("/api/v2/summary.json", &sum); err != nil || sum.Status.Indicator != "minor" {
		t.Errorf("summary.json: %+v %v", sum.Status, err)
	}
}
