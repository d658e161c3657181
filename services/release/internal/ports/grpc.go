// Package ports serves floe.release.v1.ReleaseService over gRPC: it turns
// requests into app commands, checks environment-scoped permissions, and
// renders releases.
//
// Every field that names an aggregate is checked here, before anything reads
// the log, because it becomes a NATS subject token and a KV key: release_id
// is an identifier (libs/ident), product a product name
// (domain.ProductName); an environment must be a configured one. A bad value
// is InvalidArgument naming the field, with every other bad field.
package ports

import (
	"context"
	"errors"
	"strings"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/adapters"
	"github.com/penguinmails/floe/services/release/internal/app"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// Permissions of the release service.
const (
	PermRead    auth.Permission = "release.read"
	PermWrite   auth.Permission = "release.write"
	PermApprove auth.Permission = "release.approve"
	PermPromote auth.Permission = "release.promote"
)

// Rules are the authorization rules of every RPC (the interceptor checks the
// permission in some environment; Approve, Reject and Promote then check it
// in the environment the request names). Approve and Reject are delegable:
// their events record a delegation (via, delegate), so a principal with an
// acts_for grant may relay them for another (docs/auth.md).
func Rules() auth.Rules {
	r := auth.Rules{}
	for m, p := range map[string]auth.Permission{
		releasev1.ReleaseService_CreateRelease_FullMethodName:      PermWrite,
		releasev1.ReleaseService_GetRelease_FullMethodName:         PermRead,
		releasev1.ReleaseService_ListReleases_FullMethodName:       PermRead,
		releasev1.ReleaseService_UpdateRelease_FullMethodName:      PermWrite,
		releasev1.ReleaseService_AddChange_FullMethodName:          PermWrite,
		releasev1.ReleaseService_Approve_FullMethodName:            PermApprove,
		releasev1.ReleaseService_Reject_FullMethodName:             PermApprove,
		releasev1.ReleaseService_RequestApproval_FullMethodName:    PermPromote,
		releasev1.ReleaseService_Promote_FullMethodName:            PermPromote,
		releasev1.ReleaseService_CancelRelease_FullMethodName:      PermWrite,
		releasev1.ReleaseService_AddPrerequisite_FullMethodName:    PermWrite,
		releasev1.ReleaseService_UpdatePrerequisite_FullMethodName: PermWrite,
		releasev1.ReleaseService_SetRiskAssessment_FullMethodName:  PermWrite,
		releasev1.ReleaseService_GetReleaseNotes_FullMethodName:    PermRead,
		releasev1.ReleaseService_GetHistory_FullMethodName:         PermRead,
		releasev1.ReleaseService_WatchRelease_FullMethodName:       PermRead,
		releasev1.ReleaseService_ListEnvironments_FullMethodName:   PermRead,
	} {
		r[m] = auth.Rule{Permission: p}
	}
	for _, m := range []string{releasev1.ReleaseService_Approve_FullMethodName, releasev1.ReleaseService_Reject_FullMethodName} {
		rule := r[m]
		rule.Delegable = true
		r[m] = rule
	}
	return r
}

// Server implements releasev1.ReleaseServiceServer.
type Server struct {
	releasev1.UnimplementedReleaseServiceServer
	svc   *app.Service
	views *adapters.Releases
	authz *auth.Authorizer
	nc    *nats.Conn
}

// NewServer wires the server; every dependency is required.
func NewServer(svc *app.Service, views *adapters.Releases, authz *auth.Authorizer, nc *nats.Conn) (*Server, error) {
	if svc == nil || views == nil || authz == nil || nc == nil {
		return nil, errors.New("release server: service, views, authorizer and NATS connection are required")
	}
	return &Server{svc: svc, views: views, authz: authz, nc: nc}, nil
}

// releaseID is nil when id is a release id, else the InvalidArgument naming release_id.
func releaseID(id string) error {
	var v errs.Violations
	ident.Check(&v, "release_id", id)
	return v.Err()
}

// checkEnvironment adds a violation unless env names a configured
// environment (so no other string reaches the log or the deployer).
func (s *Server) checkEnvironment(v *errs.Violations, env string) {
	envs := s.svc.Environments()
	switch _, ok := envs.Get(env); {
	case env == "":
		v.Add("environment", "is required")
	case !ok:
		v.Add("environment", "unknown environment %s (known: %s)", ident.Quote(env), strings.Join(envs.Names(), ", "))
	}
}

// CreateRelease implements the RPC. The product is required.
func (s *Server) CreateRelease(ctx context.Context, req *releasev1.CreateReleaseRequest) (*releasev1.CreateReleaseResponse, error) {
	cmd := domain.CreateCommand{
		Product: req.GetProduct(), Version: req.GetVersion(), Type: req.GetType(), Title: req.GetTitle(),
		Description: req.GetDescription(), Changes: req.GetChanges(), Targets: req.GetTargetEnvironments(),
		Schedule: req.GetSchedule(), Approvers: req.GetApprovers(), RollbackPlan: req.GetRollbackPlan(), TestingPlan: req.GetTestingPlan(),
	}
	if !domain.ProductName.Valid(cmd.Product) {
		// The product aggregate cannot be loaded; report it with every other problem.
		return nil, domain.CheckCreate(cmd, s.svc.Environments())
	}
	r, err := s.svc.Create(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &releasev1.CreateReleaseResponse{Release: r}, nil
}

// GetRelease implements the RPC (from the view, as of the release's latest event).
func (s *Server) GetRelease(ctx context.Context, req *releasev1.GetReleaseRequest) (*releasev1.GetReleaseResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	if req.GetAsOfPosition() > 0 || req.GetAsOfTime() != nil {
		r, err := s.views.AsOf(ctx, req.GetReleaseId(), req.GetAsOfPosition(), req.GetAsOfTime())
		if err != nil {
			return nil, err
		}
		return &releasev1.GetReleaseResponse{Release: r}, nil
	}
	r, err := s.views.Get(ctx, req.GetReleaseId())
	if err != nil {
		return nil, err
	}
	return &releasev1.GetReleaseResponse{Release: r}, nil
}

// ListReleases implements the RPC (from the view; newest first; cursor pagination).
func (s *Server) ListReleases(ctx context.Context, req *releasev1.ListReleasesRequest) (*releasev1.ListReleasesResponse, error) {
	var v errs.Violations
	size := int(req.GetPageSize())
	if size == 0 {
		size = 50
	}
	if size > 500 {
		v.Add("page_size", "at most 500")
	}
	if !adapters.ValidPageToken(req.GetPageToken()) {
		v.Add("page_token", "is not a token this service issued")
	}
	if req.GetEnvironment() != "" {
		s.checkEnvironment(&v, req.GetEnvironment())
	}
	if p := req.GetProduct(); p != "" {
		domain.ProductName.Check(&v, "product", p)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, next, total, err := s.views.List(ctx, adapters.ListQuery{
		Status: req.GetStatus(), Type: req.GetType(), Product: req.GetProduct(), Environment: req.GetEnvironment(),
		Text: req.GetText(), PageSize: size, PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	return &releasev1.ListReleasesResponse{Releases: page, NextPageToken: next, Total: uint32(total)}, nil
}

// UpdateRelease implements the RPC.
func (s *Server) UpdateRelease(ctx context.Context, req *releasev1.UpdateReleaseRequest) (*releasev1.UpdateReleaseResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	r, err := s.svc.Update(ctx, req.GetReleaseId(), req.GetExpectedVersion(), domain.UpdateCommand{
		Title: req.GetTitle(), Description: req.GetDescription(), Targets: req.GetTargetEnvironments(), Schedule: req.GetSchedule(),
		Approvers: req.GetApprovers(), RollbackPlan: req.GetRollbackPlan(), TestingPlan: req.GetTestingPlan(),
	})
	if err != nil {
		return nil, err
	}
	return &releasev1.UpdateReleaseResponse{Release: r}, nil
}

// AddChange implements the RPC.
func (s *Server) AddChange(ctx context.Context, req *releasev1.AddChangeRequest) (*releasev1.AddChangeResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	r, err := s.svc.AddChange(ctx, req.GetReleaseId(), req.GetChange())
	if err != nil {
		return nil, err
	}
	return &releasev1.AddChangeResponse{Release: r}, nil
}

// requireIn checks the release id and the environment of a request, and
// fails with them and v (the request's other violations) all at once; then
// it checks that the caller holds perm in that environment.
func (s *Server) requireIn(ctx context.Context, perm auth.Permission, id, env string, v errs.Violations) error {
	ident.Check(&v, "release_id", id)
	s.checkEnvironment(&v, env)
	if err := v.Err(); err != nil {
		return err
	}
	return s.authz.Require(ctx, perm, env)
}

// Approve implements the RPC.
func (s *Server) Approve(ctx context.Context, req *releasev1.ApproveRequest) (*releasev1.ApproveResponse, error) {
	if err := s.requireIn(ctx, PermApprove, req.GetReleaseId(), req.GetEnvironment(), errs.Violations{}); err != nil {
		return nil, err
	}
	r, err := s.svc.Approve(ctx, req.GetReleaseId(), req.GetEnvironment(), req.GetComment())
	if err != nil {
		return nil, err
	}
	return &releasev1.ApproveResponse{Release: r}, nil
}

// RequestApproval implements the RPC (release.promote in the environment:
// who may ask for the promotion may ask for its approvals).
func (s *Server) RequestApproval(ctx context.Context, req *releasev1.RequestApprovalRequest) (*releasev1.RequestApprovalResponse, error) {
	if err := s.requireIn(ctx, PermPromote, req.GetReleaseId(), req.GetEnvironment(), errs.Violations{}); err != nil {
		return nil, err
	}
	r, err := s.svc.RequestApproval(ctx, req.GetReleaseId(), req.GetEnvironment(), req.GetNote())
	if err != nil {
		return nil, err
	}
	return &releasev1.RequestApprovalResponse{Release: r}, nil
}

// Reject implements the RPC.
func (s *Server) Reject(ctx context.Context, req *releasev1.RejectRequest) (*releasev1.RejectResponse, error) {
	if err := s.requireIn(ctx, PermApprove, req.GetReleaseId(), req.GetEnvironment(), errs.Violations{}); err != nil {
		return nil, err
	}
	r, err := s.svc.Reject(ctx, req.GetReleaseId(), req.GetEnvironment(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &releasev1.RejectResponse{Release: r}, nil
}

// Promote implements the RPC.
func (s *Server) Promote(ctx context.Context, req *releasev1.PromoteRequest) (*releasev1.PromoteResponse, error) {
	var v errs.Violations
	strategy, ok := enumtext.Resolve(req.GetStrategyType(), req.GetStrategy())
	if !ok {
		v.Add("strategy", "%s is not one of %s (or it disagrees with strategy_type %s)", ident.Quote(req.GetStrategy()),
			strings.Join(enumtext.Names[deployv1.DeploymentStrategy](), ", "), enumtext.Name(req.GetStrategyType()))
	}
	if err := s.requireIn(ctx, PermPromote, req.GetReleaseId(), req.GetEnvironment(), v); err != nil {
		return nil, err
	}
	r, err := s.svc.Promote(ctx, req.GetReleaseId(), req.GetEnvironment(), strategy)
	if err != nil {
		return nil, err
	}
	return &releasev1.PromoteResponse{Release: r}, nil
}

// CancelRelease implements the RPC.
func (s *Server) CancelRelease(ctx context.Context, req *releasev1.CancelReleaseRequest) (*releasev1.CancelReleaseResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	r, err := s.svc.Cancel(ctx, req.GetReleaseId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &releasev1.CancelReleaseResponse{Release: r}, nil
}

// AddPrerequisite implements the RPC.
func (s *Server) AddPrerequisite(ctx context.Context, req *releasev1.AddPrerequisiteRequest) (*releasev1.AddPrerequisiteResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	r, err := s.svc.AddPrerequisite(ctx, req.GetReleaseId(), &releasev1.Prerequisite{
		Type: req.GetType(), Description: req.GetDescription(), Owner: req.GetOwner(), Deadline: req.GetDeadline(), Environment: req.GetEnvironment(),
	})
	if err != nil {
		return nil, err
	}
	return &releasev1.AddPrerequisiteResponse{Release: r}, nil
}

// UpdatePrerequisite implements the RPC.
func (s *Server) UpdatePrerequisite(ctx context.Context, req *releasev1.UpdatePrerequisiteRequest) (*releasev1.UpdatePrerequisiteResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	r, err := s.svc.UpdatePrerequisite(ctx, req.GetReleaseId(), &releasev1.PrerequisiteUpdated{
		PrerequisiteId: req.GetPrerequisiteId(), Status: req.GetStatus(), Owner: req.GetOwner(), Deadline: req.GetDeadline(), Note: req.GetNote(),
	})
	if err != nil {
		return nil, err
	}
	return &releasev1.UpdatePrerequisiteResponse{Release: r}, nil
}

// SetRiskAssessment implements the RPC.
func (s *Server) SetRiskAssessment(ctx context.Context, req *releasev1.SetRiskAssessmentRequest) (*releasev1.SetRiskAssessmentResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	r, err := s.svc.SetRisk(ctx, req.GetReleaseId(), &releasev1.RiskAssessment{
		Impact: req.GetImpact(), Likelihood: req.GetLikelihood(), Mitigation: req.GetMitigation(), Contingency: req.GetContingency(),
	})
	if err != nil {
		return nil, err
	}
	return &releasev1.SetRiskAssessmentResponse{Release: r}, nil
}

// GetReleaseNotes implements the RPC.
func (s *Server) GetReleaseNotes(ctx context.Context, req *releasev1.GetReleaseNotesRequest) (*releasev1.GetReleaseNotesResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	resp := &releasev1.GetReleaseNotesResponse{}
	err := s.svc.Read(ctx, req.GetReleaseId(), func(r *domain.Release, _ uint64) error {
		n := domain.ReleaseNotes(r)
		resp.Markdown, resp.Json = n.Markdown(), n.JSON()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// GetHistory implements the RPC.
func (s *Server) GetHistory(ctx context.Context, req *releasev1.GetHistoryRequest) (*releasev1.GetHistoryResponse, error) {
	if err := releaseID(req.GetReleaseId()); err != nil {
		return nil, err
	}
	_, events, err := s.svc.History(ctx, req.GetReleaseId())
	if err != nil {
		return nil, err
	}
	resp := &releasev1.GetHistoryResponse{}
	for _, e := range events {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		data, _ := protojson.Marshal(m)
		resp.Entries = append(resp.Entries, &releasev1.HistoryEntry{
			Position: e.Seq, Version: uint64(e.Version), Event: e.Name, Time: timestamppb.New(e.Time), Actor: e.Actor,
			CorrelationId: e.CorrelationID, CausationId: e.CausationID, Summary: domain.Summarize(m, e.Actor), Data: string(data),
		})
	}
	return resp, nil
}

// WatchRelease implements the RPC: the current state, then the state after
// every event of the release, until the client goes away.
func (s *Server) WatchRelease(req *releasev1.WatchReleaseRequest, stream releasev1.ReleaseService_WatchReleaseServer) error {
	ctx := stream.Context()
	id := req.GetReleaseId()
	if err := releaseID(id); err != nil {
		return err
	}
	var sent uint64
	return eventstore.WatchAggregate(ctx, s.nc, app.AggRelease, id, func(c eventstore.Change) (uint64, error) {
		var out *releasev1.Release
		if err := s.svc.Read(ctx, id, func(r *domain.Release, _ uint64) error {
			out = s.svc.Render(r)
			return nil
		}); err != nil {
			return 0, err
		}
		if c.Event != "" && out.GetAggregateVersion() <= sent {
			return out.GetAggregateVersion(), nil
		}
		sent = out.GetAggregateVersion()
		return sent, stream.Send(&releasev1.WatchReleaseResponse{Release: out, Event: c.Event})
	})
}

// ListEnvironments implements the RPC.
func (s *Server) ListEnvironments(context.Context, *releasev1.ListEnvironmentsRequest) (*releasev1.ListEnvironmentsResponse, error) {
	resp := &releasev1.ListEnvironmentsResponse{}
	for _, e := range s.svc.Environments().All() {
		resp.Environments = append(resp.Environments, domain.EnvironmentProto(e))
	}
	return resp, nil
}
