// Package ports serves floe.monitor.v1.MonitorService over gRPC.
//
// The names of alert rules and triggers and deployment ids name aggregates
// (NATS subject tokens), so they are checked before anything reads the log:
// names against domain.NameRule, deployment ids against libs/ident. A bad
// value is InvalidArgument naming the field. Names inside a rule or trigger
// being created or updated are checked with the rest of it by the domain.
package ports

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/app"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// Permissions of the monitor.
const (
	PermRead  auth.Permission = "monitor.read"
	PermWrite auth.Permission = "monitor.write"
)

// Rules are the authorization rules of every RPC. Rules and triggers apply
// to every environment, so the permissions are not environment-scoped.
func Rules() auth.Rules {
	r := auth.Rules{}
	for _, m := range []string{
		monitorv1.MonitorService_GetAlertRule_FullMethodName, monitorv1.MonitorService_ListAlertRules_FullMethodName,
		monitorv1.MonitorService_GetRollbackTrigger_FullMethodName, monitorv1.MonitorService_ListRollbackTriggers_FullMethodName,
		monitorv1.MonitorService_ListAlerts_FullMethodName, monitorv1.MonitorService_GetMonitoring_FullMethodName,
		monitorv1.MonitorService_GetAnalysis_FullMethodName, monitorv1.MonitorService_WatchAlerts_FullMethodName,
	} {
		r[m] = auth.Rule{Permission: PermRead}
	}
	for _, m := range []string{
		monitorv1.MonitorService_CreateAlertRule_FullMethodName, monitorv1.MonitorService_UpdateAlertRule_FullMethodName,
		monitorv1.MonitorService_DeleteAlertRule_FullMethodName, monitorv1.MonitorService_CreateRollbackTrigger_FullMethodName,
		monitorv1.MonitorService_UpdateRollbackTrigger_FullMethodName, monitorv1.MonitorService_DeleteRollbackTrigger_FullMethodName,
	} {
		r[m] = auth.Rule{Permission: PermWrite}
	}
	return r
}

// Server implements monitorv1.MonitorServiceServer.
type Server struct {
	monitorv1.UnimplementedMonitorServiceServer
	svc      *app.Service
	verifier *eventstore.Verifier
}

// NewServer wires the server; WatchAlerts reads the log through v (only
// verified events are relayed).
func NewServer(svc *app.Service, v *eventstore.Verifier) (*Server, error) {
	if svc == nil || v == nil {
		return nil, errors.New("monitor server: service and verifier are required")
	}
	return &Server{svc: svc, verifier: v}, nil
}

// ready waits until the catalog has read the log (right after a start), so a
// list never answers from a half-built view.
func (s *Server) ready(ctx context.Context) error {
	select {
	case <-s.svc.Catalog().Ready():
		return nil
	case <-ctx.Done():
		return &errs.UnavailableError{What: "monitor catalog (still reading the log)", Err: ctx.Err()}
	}
}

// requireName is nil when name is a rule or trigger name, else the InvalidArgument naming field.
func requireName(field, name string) error {
	var v errs.Violations
	domain.NameRule.Check(&v, field, name)
	return v.Err()
}

// deploymentID is nil when id is a deployment id, else the InvalidArgument naming deployment_id.
func deploymentID(id string) error {
	var v errs.Violations
	ident.Check(&v, "deployment_id", id)
	return v.Err()
}

// CreateAlertRule implements the RPC.
func (s *Server) CreateAlertRule(ctx context.Context, req *monitorv1.CreateAlertRuleRequest) (*monitorv1.CreateAlertRuleResponse, error) {
	if req.GetRule() == nil {
		return nil, errs.Invalid("rule", "is required")
	}
	r, err := s.svc.CreateAlertRule(ctx, domain.AlertRuleFromProto(req.GetRule()))
	if err != nil {
		return nil, prefixed("rule", err)
	}
	return &monitorv1.CreateAlertRuleResponse{Rule: domain.AlertRuleToProto(r), Warnings: s.lint(rules.Set{AlertRules: []domain.AlertRule{r}})}, nil
}

// GetAlertRule implements the RPC.
func (s *Server) GetAlertRule(ctx context.Context, req *monitorv1.GetAlertRuleRequest) (*monitorv1.GetAlertRuleResponse, error) {
	if err := requireName("name", req.GetName()); err != nil {
		return nil, err
	}
	r, err := s.svc.GetAlertRule(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &monitorv1.GetAlertRuleResponse{Rule: domain.AlertRuleToProto(r)}, nil
}

// ListAlertRules implements the RPC.
func (s *Server) ListAlertRules(ctx context.Context, _ *monitorv1.ListAlertRulesRequest) (*monitorv1.ListAlertRulesResponse, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	all := s.svc.Catalog().AlertRules()
	resp := &monitorv1.ListAlertRulesResponse{}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		resp.Rules = append(resp.Rules, domain.AlertRuleToProto(all[name]))
	}
	return resp, nil
}

// UpdateAlertRule implements the RPC.
func (s *Server) UpdateAlertRule(ctx context.Context, req *monitorv1.UpdateAlertRuleRequest) (*monitorv1.UpdateAlertRuleResponse, error) {
	if req.GetRule() == nil {
		return nil, errs.Invalid("rule", "is required")
	}
	r, err := s.svc.UpdateAlertRule(ctx, domain.AlertRuleFromProto(req.GetRule()), req.GetExpectedVersion())
	if err != nil {
		return nil, prefixed("rule", err)
	}
	return &monitorv1.UpdateAlertRuleResponse{Rule: domain.AlertRuleToProto(r), Warnings: s.lint(rules.Set{AlertRules: []domain.AlertRule{r}})}, nil
}

// DeleteAlertRule implements the RPC.
func (s *Server) DeleteAlertRule(ctx context.Context, req *monitorv1.DeleteAlertRuleRequest) (*monitorv1.DeleteAlertRuleResponse, error) {
	if err := requireName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := s.svc.DeleteAlertRule(ctx, req.GetName(), req.GetExpectedVersion()); err != nil {
		return nil, err
	}
	return &monitorv1.DeleteAlertRuleResponse{}, nil
}

// CreateRollbackTrigger implements the RPC.
func (s *Server) CreateRollbackTrigger(ctx context.Context, req *monitorv1.CreateRollbackTriggerRequest) (*monitorv1.CreateRollbackTriggerResponse, error) {
	if req.GetTrigger() == nil {
		return nil, errs.Invalid("trigger", "is required")
	}
	t, err := s.svc.CreateTrigger(ctx, domain.TriggerFromProto(req.GetTrigger()))
	if err != nil {
		return nil, prefixed("trigger", err)
	}
	return &monitorv1.CreateRollbackTriggerResponse{Trigger: domain.TriggerToProto(t), Warnings: s.lint(rules.Set{Triggers: []domain.Trigger{t}})}, nil
}

// GetRollbackTrigger implements the RPC.
func (s *Server) GetRollbackTrigger(ctx context.Context, req *monitorv1.GetRollbackTriggerRequest) (*monitorv1.GetRollbackTriggerResponse, error) {
	if err := requireName("name", req.GetName()); err != nil {
		return nil, err
	}
	t, err := s.svc.GetTrigger(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &monitorv1.GetRollbackTriggerResponse{Trigger: domain.TriggerToProto(t)}, nil
}

// ListRollbackTriggers implements the RPC.
func (s *Server) ListRollbackTriggers(ctx context.Context, _ *monitorv1.ListRollbackTriggersRequest) (*monitorv1.ListRollbackTriggersResponse, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	all := s.svc.Catalog().Triggers()
	resp := &monitorv1.ListRollbackTriggersResponse{}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		resp.Triggers = append(resp.Triggers, domain.TriggerToProto(all[name]))
	}
	return resp, nil
}

// UpdateRollbackTrigger implements the RPC.
func (s *Server) UpdateRollbackTrigger(ctx context.Context, req *monitorv1.UpdateRollbackTriggerRequest) (*monitorv1.UpdateRollbackTriggerResponse, error) {
	if req.GetTrigger() == nil {
		return nil, errs.Invalid("trigger", "is required")
	}
	t, err := s.svc.UpdateTrigger(ctx, domain.TriggerFromProto(req.GetTrigger()), req.GetExpectedVersion())
	if err != nil {
		return nil, prefixed("trigger", err)
	}
	return &monitorv1.UpdateRollbackTriggerResponse{Trigger: domain.TriggerToProto(t), Warnings: s.lint(rules.Set{Triggers: []domain.Trigger{t}})}, nil
}

// DeleteRollbackTrigger implements the RPC.
func (s *Server) DeleteRollbackTrigger(ctx context.Context, req *monitorv1.DeleteRollbackTriggerRequest) (*monitorv1.DeleteRollbackTriggerResponse, error) {
	if err := requireName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := s.svc.DeleteTrigger(ctx, req.GetName(), req.GetExpectedVersion()); err != nil {
		return nil, err
	}
	return &monitorv1.DeleteRollbackTriggerResponse{}, nil
}

// ListAlerts implements the RPC.
func (s *Server) ListAlerts(ctx context.Context, req *monitorv1.ListAlertsRequest) (*monitorv1.ListAlertsResponse, error) {
	severity, ok := enumtext.Resolve(req.GetSeverityType(), req.GetSeverity())
	if !ok {
		return nil, errs.Invalid("severity", "%q is not one of critical, warning, info (or it disagrees with severity_type %s)",
			req.GetSeverity(), enumtext.Name(req.GetSeverityType()))
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	all, err := s.svc.Alerts(ctx)
	if err != nil {
		return nil, err
	}
	resp := &monitorv1.ListAlertsResponse{}
	for _, a := range all {
		if (a.GetStateType() == monitorv1.AlertState_ALERT_STATE_RESOLVED && !req.GetIncludeResolved()) || (severity != 0 && a.GetSeverityType() != severity) {
			continue
		}
		resp.Alerts = append(resp.Alerts, a)
	}
	return resp, nil
}

func (s *Server) monitoring(ctx context.Context, id string) (*domain.Monitoring, error) {
	if err := deploymentID(id); err != nil {
		return nil, err
	}
	m, err := s.svc.LoadMonitoring(ctx, id)
	if err != nil {
		return nil, err
	}
	if !m.Exists() {
		return nil, &errs.NotFoundError{Kind: "deployment monitoring", ID: id}
	}
	return m, nil
}

// GetMonitoring implements the RPC.
func (s *Server) GetMonitoring(ctx context.Context, req *monitorv1.GetMonitoringRequest) (*monitorv1.GetMonitoringResponse, error) {
	if req.GetAsOfPosition() > 0 || req.GetAsOfTime() != nil {
		if err := deploymentID(req.GetDeploymentId()); err != nil {
			return nil, err
		}
		m, err := s.svc.MonitoringAsOf(ctx, req.GetDeploymentId(), req.GetAsOfPosition(), req.GetAsOfTime())
		if err != nil {
			return nil, err
		}
		return &monitorv1.GetMonitoringResponse{Monitoring: m.Status()}, nil
	}
	m, err := s.monitoring(ctx, req.GetDeploymentId())
	if err != nil {
		return nil, err
	}
	return &monitorv1.GetMonitoringResponse{Monitoring: m.Status()}, nil
}

// GetAnalysis implements the RPC.
func (s *Server) GetAnalysis(ctx context.Context, req *monitorv1.GetAnalysisRequest) (*monitorv1.GetAnalysisResponse, error) {
	m, err := s.monitoring(ctx, req.GetDeploymentId())
	if err != nil {
		return nil, err
	}
	a, ok := m.Analysis(req.GetStep())
	switch {
	case !ok:
		return nil, &errs.NotFoundError{Kind: "analysis step", ID: req.GetDeploymentId() + " step " + strconv.FormatUint(uint64(req.GetStep()), 10)}
	case a.Verdict == nil:
		reason := "the analysis step has not started"
		if !a.Start.IsZero() {
			reason = "the analysis window ends at " + a.Start.Add(a.Window).UTC().Format("15:04:05Z07:00")
		}
		return nil, &errs.PreconditionError{Reasons: []string{"no verdict yet: " + reason}}
	}
	return &monitorv1.GetAnalysisResponse{Verdict: a.Verdict}, nil
}

// WatchStartHeader is the response header WatchAlerts sends once it is
// live: the stream sequence after which it relays events. A client that
// needs to know no later event can be missed waits for the headers.
const WatchStartHeader = "floe-watch-after-seq"

// WatchAlerts implements the RPC: it relays monitor events as they are
// appended (evaluations that changed nothing are left out). It follows the
// stream, so it relays only what was stored (a core subscription would also
// relay a batch the stream refused) and never drops anything: a slow client
// slows its own relay.
func (s *Server) WatchAlerts(req *monitorv1.WatchAlertsRequest, stream monitorv1.MonitorService_WatchAlertsServer) error {
	ctx := stream.Context()
	subjects := []string{
		eventstore.KindFilter(app.AggAlert), eventstore.KindFilter(app.AggMonitoring),
		eventstore.KindFilter(app.AggAlertRule), eventstore.KindFilter(app.AggTrigger),
	}
	if id := req.GetDeploymentId(); id != "" {
		if err := deploymentID(id); err != nil {
			return err
		}
		subjects = []string{eventstore.AggregateSubject(app.AggMonitoring, id)}
	}
	var headerErr error
	err := s.verifier.Tail(ctx, subjects, func(e *eventstore.RecordedEvent) error {
		msg, err := e.Decode()
		if err != nil {
			return nil // an event type this build does not know: nothing to relay
		}
		summary := app.Summarize(msg)
		if summary == "" {
			return nil
		}
		body, _ := protojson.Marshal(msg)
		return stream.Send(&monitorv1.WatchAlertsResponse{Event: e.Type, Subject: e.AggregateID, Summary: summary, BodyJson: string(body)})
	}, func(last uint64) {
		headerErr = stream.SendHeader(metadata.Pairs(WatchStartHeader, strconv.FormatUint(last, 10)))
	})
	if headerErr != nil {
		return headerErr
	}
	if err != nil && ctx.Err() == nil {
		return &errs.UnavailableError{What: "event log", Err: err}
	}
	return nil
}

// prefixed puts field violations of a nested message under its field name.
func prefixed(field string, err error) error {
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		return err
	}
	var v errs.Violations
	v.Merge(field, err)
	return v.Err()
}

// lint is what the rule linter finds in set (its metrics: the service's
// catalogue), as the API's warnings.
func (s *Server) lint(set rules.Set) []*monitorv1.LintFinding {
	set.Metrics = s.svc.Metrics()
	var out []*monitorv1.LintFinding
	for _, f := range lint.Lint(set) {
		out = append(out, &monitorv1.LintFinding{Check: f.Check, Severity: f.Severity, Problem: f.Problem, Suggestion: f.Suggestion, Rewrite: f.Rewrite})
	}
	return out
}
