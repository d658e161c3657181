package statuspage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/status"
)

// Permissions of the StatusService: the notifier's own.
const (
	PermRead  auth.Permission = "notify.read"
	PermWrite auth.Permission = "notify.write"
)

// Rules are the authorization rules of every StatusService RPC.
func Rules() auth.Rules {
	r := auth.Rules{}
	for m, p := range map[string]auth.Permission{
		notifyv1.StatusService_GetStatusPage_FullMethodName:       PermRead,
		notifyv1.StatusService_ListIncidents_FullMethodName:       PermRead,
		notifyv1.StatusService_AddComponent_FullMethodName:        PermWrite,
		notifyv1.StatusService_SetComponentStatus_FullMethodName:  PermWrite,
		notifyv1.StatusService_CreateIncident_FullMethodName:      PermWrite,
		notifyv1.StatusService_AddIncidentUpdate_FullMethodName:   PermWrite,
		notifyv1.StatusService_ResolveIncident_FullMethodName:     PermWrite,
		notifyv1.StatusService_ScheduleMaintenance_FullMethodName: PermWrite,
		notifyv1.StatusService_StartMaintenance_FullMethodName:    PermWrite,
		notifyv1.StatusService_CompleteMaintenance_FullMethodName: PermWrite,
	} {
		r[m] = auth.Rule{Permission: p}
	}
	return r
}

// Server implements notifyv1.StatusServiceServer on the App. Requests
// become the model's commands field for field; the model validates them
// and its errors (libs/errs) reach the client as gRPC codes.
type Server struct {
	notifyv1.UnimplementedStatusServiceServer
	app *App
}

// NewServer returns the server of a.
func NewServer(a *App) (*Server, error) {
	if a == nil {
		return nil, errors.New("status server: an app is required")
	}
	return &Server{app: a}, nil
}

// GetStatusPage implements the RPC.
func (s *Server) GetStatusPage(ctx context.Context, _ *notifyv1.GetStatusPageRequest) (*notifyv1.GetStatusPageResponse, error) {
	st, err := s.app.State(ctx)
	if err != nil {
		return nil, err
	}
	v := st.View
	tz := "UTC"
	if v.Location != nil {
		tz = v.Location.String()
	}
	out := &notifyv1.GetStatusPageResponse{
		Id: v.ID, Name: v.Name, Url: v.URL, TimeZone: tz, UpdatedAt: ts(v.UpdatedAt),
		Indicator:   indicatorProto(v.Status.Indicator),
		Description: v.Status.Description,
	}
	for _, c := range v.Components {
		out.Components = append(out.Components, componentProto(st, c))
	}
	for _, in := range v.Unresolved() {
		out.Incidents = append(out.Incidents, incidentProto(in))
	}
	for _, m := range append(v.Active(), v.Upcoming()...) {
		out.Maintenances = append(out.Maintenances, maintenanceProto(m))
	}
	return out, nil
}

// Page sizes of ListIncidents.
const (
	defaultIncidentPage = 50
	maxIncidentPage     = 200
)

// ListIncidents implements the RPC: the incidents newest first, a page at
// a time; the page token is the last incident's id.
func (s *Server) ListIncidents(ctx context.Context, req *notifyv1.ListIncidentsRequest) (*notifyv1.ListIncidentsResponse, error) {
	size := int(req.GetPageSize())
	if size > maxIncidentPage {
		var v errs.Violations
		v.Add("page_size", "%d is more than %d", size, maxIncidentPage)
		return nil, v.Err()
	}
	if size == 0 {
		size = defaultIncidentPage
	}
	st, err := s.app.State(ctx)
	if err != nil {
		return nil, err
	}
	// The token is found among every incident (newest first), so that a
	// page of unresolved ones goes on after an incident resolved since.
	all := st.View.Incidents
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		i := slices.IndexFunc(all, func(in status.Incident) bool { return in.ID == tok })
		if i < 0 {
			var v errs.Violations
			v.Add("page_token", "%q names no incident", tok)
			return nil, v.Err()
		}
		start = i + 1
	}
	out := &notifyv1.ListIncidentsResponse{}
	for i := start; i < len(all); i++ {
		if req.GetUnresolvedOnly() && !all[i].Status.Open() {
			continue
		}
		if len(out.Incidents) == size {
			out.NextPageToken = out.Incidents[size-1].GetId()
			break
		}
		out.Incidents = append(out.Incidents, incidentProto(all[i]))
	}
	return out, nil
}

// AddComponent implements the RPC.
func (s *Server) AddComponent(ctx context.Context, req *notifyv1.AddComponentRequest) (*notifyv1.AddComponentResponse, error) {
	var v errs.Violations
	st := componentStatus(&v, "status", req.GetStatus(), true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.app.AddComponent(ctx, status.AddComponent{
		ID: req.GetId(), Name: req.GetName(), Description: req.GetDescription(), Position: int(req.GetPosition()), Status: st,
		Showcase: !req.GetHideUptime(), OnlyShowIfDegraded: req.GetOnlyShowIfDegraded(),
	})
	if err != nil {
		return nil, err
	}
	c, err := findComponent(page, req.GetId())
	return &notifyv1.AddComponentResponse{Component: c}, err
}

// SetComponentStatus implements the RPC.
func (s *Server) SetComponentStatus(ctx context.Context, req *notifyv1.SetComponentStatusRequest) (*notifyv1.SetComponentStatusResponse, error) {
	var v errs.Violations
	st := componentStatus(&v, "status", req.GetStatus(), false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.app.SetComponentStatus(ctx, status.SetComponentStatus{ComponentID: req.GetComponentId(), Status: st})
	if err != nil {
		return nil, err
	}
	c, err := findComponent(page, req.GetComponentId())
	return &notifyv1.SetComponentStatusResponse{Component: c}, err
}

// CreateIncident implements the RPC.
func (s *Server) CreateIncident(ctx context.Context, req *notifyv1.CreateIncidentRequest) (*notifyv1.CreateIncidentResponse, error) {
	var v errs.Violations
	cmd := status.CreateIncident{
		ID: req.GetId(), Name: req.GetName(), Body: req.GetBody(), Shortlink: req.GetShortlink(),
		Status:     incidentStatus(&v, req.GetStatus()),
		Impact:     impact(&v, req.GetImpact()),
		Components: componentStatuses(&v, req.GetComponents()),
	}
	if req.GetStartedAt() != nil {
		cmd.StartedAt = req.GetStartedAt().AsTime()
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	id, page, err := s.app.CreateIncident(ctx, cmd)
	if err != nil {
		return nil, err
	}
	in, err := findIncident(page, id)
	return &notifyv1.CreateIncidentResponse{Incident: in}, err
}

// AddIncidentUpdate implements the RPC.
func (s *Server) AddIncidentUpdate(ctx context.Context, req *notifyv1.AddIncidentUpdateRequest) (*notifyv1.AddIncidentUpdateResponse, error) {
	var v errs.Violations
	cmd := status.AddIncidentUpdate{
		IncidentID: req.GetIncidentId(), Body: req.GetBody(),
		Status:     incidentStatus(&v, req.GetStatus()),
		Components: componentStatuses(&v, req.GetComponents()),
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.app.AddIncidentUpdate(ctx, cmd)
	if err != nil {
		return nil, err
	}
	in, err := findIncident(page, req.GetIncidentId())
	return &notifyv1.AddIncidentUpdateResponse{Incident: in}, err
}

// ResolveIncident implements the RPC.
func (s *Server) ResolveIncident(ctx context.Context, req *notifyv1.ResolveIncidentRequest) (*notifyv1.ResolveIncidentResponse, error) {
	var v errs.Violations
	cmd := status.ResolveIncident{IncidentID: req.GetIncidentId(), Body: req.GetBody(), Components: componentStatuses(&v, req.GetComponents())}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.app.ResolveIncident(ctx, cmd)
	if err != nil {
		return nil, err
	}
	in, err := findIncident(page, req.GetIncidentId())
	return &notifyv1.ResolveIncidentResponse{Incident: in}, err
}

// ScheduleMaintenance implements the RPC.
func (s *Server) ScheduleMaintenance(ctx context.Context, req *notifyv1.ScheduleMaintenanceRequest) (*notifyv1.ScheduleMaintenanceResponse, error) {
	cmd := status.ScheduleMaintenance{
		ID: req.GetId(), Name: req.GetName(), Body: req.GetBody(), Shortlink: req.GetShortlink(), Components: req.GetComponents(),
	}
	if req.GetScheduledFor() != nil {
		cmd.ScheduledFor = req.GetScheduledFor().AsTime()
	}
	if req.GetScheduledUntil() != nil {
		cmd.ScheduledUntil = req.GetScheduledUntil().AsTime()
	}
	id, page, err := s.app.ScheduleMaintenance(ctx, cmd)
	if err != nil {
		return nil, err
	}
	m, err := findMaintenance(page, id)
	return &notifyv1.ScheduleMaintenanceResponse{Maintenance: m}, err
}

// StartMaintenance implements the RPC.
func (s *Server) StartMaintenance(ctx context.Context, req *notifyv1.StartMaintenanceRequest) (*notifyv1.StartMaintenanceResponse, error) {
	page, err := s.app.StartMaintenance(ctx, status.StartMaintenance{MaintenanceID: req.GetMaintenanceId(), Body: req.GetBody()})
	if err != nil {
		return nil, err
	}
	m, err := findMaintenance(page, req.GetMaintenanceId())
	return &notifyv1.StartMaintenanceResponse{Maintenance: m}, err
}

// CompleteMaintenance implements the RPC.
func (s *Server) CompleteMaintenance(ctx context.Context, req *notifyv1.CompleteMaintenanceRequest) (*notifyv1.CompleteMaintenanceResponse, error) {
	page, err := s.app.CompleteMaintenance(ctx, status.CompleteMaintenance{MaintenanceID: req.GetMaintenanceId(), Body: req.GetBody()})
	if err != nil {
		return nil, err
	}
	m, err := findMaintenance(page, req.GetMaintenanceId())
	return &notifyv1.CompleteMaintenanceResponse{Maintenance: m}, err
}

// ---- requests → the model ----

// componentStatus is the model's status of an enum value; unspecified is
// "" (the model's default) when optional, else a violation.
func componentStatus(v *errs.Violations, field string, s notifyv1.ComponentStatus, optional bool) status.ComponentStatus {
	if s == notifyv1.ComponentStatus_COMPONENT_STATUS_UNSPECIFIED {
		if !optional {
			v.Add(field, "is required: one of %s", namesOf[notifyv1.ComponentStatus]())
		}
		return ""
	}
	name := enumtext.Name(s)
	if name == "" {
		v.Add(field, "%d is not a component status", s)
	}
	return status.ComponentStatus(name)
}

func componentStatuses(v *errs.Violations, m map[string]notifyv1.ComponentStatus) map[string]status.ComponentStatus {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]status.ComponentStatus, len(m))
	for id, s := range m {
		out[id] = componentStatus(v, "components["+id+"]", s, false)
	}
	return out
}

func incidentStatus(v *errs.Violations, s notifyv1.IncidentStatus) status.IncidentStatus {
	if s == notifyv1.IncidentStatus_INCIDENT_STATUS_UNSPECIFIED {
		return ""
	}
	name := enumtext.Name(s)
	if name == "" {
		v.Add("status", "%d is not an incident status", s)
	}
	return status.IncidentStatus(name)
}

func impact(v *errs.Violations, i notifyv1.IncidentImpact) status.Impact {
	if i == notifyv1.IncidentImpact_INCIDENT_IMPACT_UNSPECIFIED {
		return ""
	}
	name := enumtext.Name(i)
	if name == "" {
		v.Add("impact", "%d is not an impact", i)
	}
	return status.Impact(name)
}

func namesOf[E enumtext.Enum]() string { return strings.Join(enumtext.Names[E](), ", ") }

// ---- the model → responses ----

func findComponent(st State, id string) (*notifyv1.StatusComponent, error) {
	for _, c := range st.View.Components {
		if c.ID == id {
			return componentProto(st, c), nil
		}
	}
	return nil, &errs.NotFoundError{Kind: "component", ID: id}
}

func findIncident(st State, id string) (*notifyv1.StatusIncident, error) {
	for _, in := range st.View.Incidents {
		if in.ID == id {
			return incidentProto(in), nil
		}
	}
	return nil, &errs.NotFoundError{Kind: "incident", ID: id}
}

func findMaintenance(st State, id string) (*notifyv1.StatusMaintenance, error) {
	for _, m := range st.View.Maintenances {
		if m.ID == id {
			return maintenanceProto(m), nil
		}
	}
	return nil, &errs.NotFoundError{Kind: "maintenance", ID: id}
}

func componentProto(st State, c status.Component) *notifyv1.StatusComponent {
	out := &notifyv1.StatusComponent{
		Id: c.ID, Name: c.Name, Description: c.Description, Status: componentStatusProto(c.Status), Position: int32(c.Position),
		Showcase: c.Showcase, OnlyShowIfDegraded: c.OnlyShowIfDegraded, CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt),
	}
	if u, ok := st.Uptime[c.ID]; ok {
		up := &notifyv1.StatusUptime{Percent: u.Percent(), HasData: u.HasData()}
		for _, d := range u.Days {
			up.Days = append(up.Days, &notifyv1.StatusUptimeDay{
				Date: d.Date, HasData: d.HasData(), Percent: 100 * d.Fraction(), Worst: componentStatusProto(d.Worst),
			})
		}
		out.Uptime = up
	}
	return out
}

func incidentProto(in status.Incident) *notifyv1.StatusIncident {
	st, _ := enumtext.Parse[notifyv1.IncidentStatus](string(in.Status))
	imp, _ := enumtext.Parse[notifyv1.IncidentImpact](string(in.Impact))
	return &notifyv1.StatusIncident{
		Id: in.ID, Name: in.Name, Status: st, Impact: imp, Shortlink: in.Shortlink, Components: slices.Clone(in.Components),
		Updates: updatesProto(in.Updates), CreatedAt: ts(in.CreatedAt), UpdatedAt: ts(in.UpdatedAt), StartedAt: ts(in.StartedAt),
		MonitoringAt: ts(in.MonitoringAt), ResolvedAt: ts(in.ResolvedAt),
	}
}

func maintenanceProto(m status.Maintenance) *notifyv1.StatusMaintenance {
	st, _ := enumtext.Parse[notifyv1.MaintenanceStatus](string(m.Status))
	return &notifyv1.StatusMaintenance{
		Id: m.ID, Name: m.Name, Status: st, Shortlink: m.Shortlink, Components: slices.Clone(m.Components), Updates: updatesProto(m.Updates),
		ScheduledFor: ts(m.ScheduledFor), ScheduledUntil: ts(m.ScheduledUntil), CreatedAt: ts(m.CreatedAt), UpdatedAt: ts(m.UpdatedAt),
		StartedAt: ts(m.StartedAt), CompletedAt: ts(m.CompletedAt),
	}
}

// updatesProto lists updates newest first, as Statuspage does.
func updatesProto(us []status.Update) []*notifyv1.StatusUpdate {
	out := make([]*notifyv1.StatusUpdate, 0, len(us))
	for i := len(us) - 1; i >= 0; i-- {
		u := us[i]
		pu := &notifyv1.StatusUpdate{Id: u.ID, Status: u.Status, Body: u.Body, At: ts(u.At)}
		for _, a := range u.Affected {
			pu.Affected = append(pu.Affected, &notifyv1.StatusAffectedComponent{
				ComponentId: a.ComponentID, OldStatus: componentStatusProto(a.OldStatus), NewStatus: componentStatusProto(a.NewStatus),
			})
		}
		out = append(out, pu)
	}
	return out
}

func componentStatusProto(s status.ComponentStatus) notifyv1.ComponentStatus {
	v, _ := enumtext.Parse[notifyv1.ComponentStatus](string(s))
	return v
}

func indicatorProto(i status.Indicator) notifyv1.StatusIndicator {
	v, _ := enumtext.Parse[notifyv1.StatusIndicator](string(i))
	return v
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
