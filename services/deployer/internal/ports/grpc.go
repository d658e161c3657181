// Package ports serves floe.deploy.v1.DeployService over gRPC.
//
// deployment_id names an aggregate and becomes a NATS subject token, so it
// is checked (libs/ident) before anything reads the log; so are the
// release_id and environment filters of ListDeployments, which can only
// ever match identifiers. A bad value is InvalidArgument naming the field.
package ports

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/deployer/internal/adapters"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
)

// Permissions of the deployer.
const (
	PermRead     auth.Permission = "deploy.read"
	PermOperate  auth.Permission = "deploy.operate"
	PermRollback auth.Permission = "deploy.rollback"
)

// Rules are the authorization rules of every RPC; the environment-scoped
// check happens in the handler once the deployment's environment is known.
func Rules() auth.Rules {
	return auth.Rules{
		deployv1.DeployService_GetDeployment_FullMethodName:   {Permission: PermRead},
		deployv1.DeployService_ListDeployments_FullMethodName: {Permission: PermRead},
		deployv1.DeployService_WatchDeployment_FullMethodName: {Permission: PermRead},
		deployv1.DeployService_Pause_FullMethodName:           {Permission: PermOperate},
		deployv1.DeployService_Resume_FullMethodName:          {Permission: PermOperate},
		deployv1.DeployService_Abort_FullMethodName:           {Permission: PermOperate},
		deployv1.DeployService_Retry_FullMethodName:           {Permission: PermOperate},
		deployv1.DeployService_Rollback_FullMethodName:        {Permission: PermRollback},
		deployv1.DeployService_RolloutConfig_FullMethodName:   {Permission: PermOperate},
	}
}

// Server implements deployv1.DeployServiceServer.
type Server struct {
	deployv1.UnimplementedDeployServiceServer
	engine *app.Engine
	views  *adapters.Deployments
	authz  *auth.Authorizer
	nc     *nats.Conn
}

// NewServer wires the server; every dependency is required.
func NewServer(engine *app.Engine, views *adapters.Deployments, authz *auth.Authorizer, nc *nats.Conn) (*Server, error) {
	if engine == nil || views == nil || authz == nil || nc == nil {
		return nil, errors.New("deploy server: engine, views, authorizer and NATS connection are required")
	}
	return &Server{engine: engine, views: views, authz: authz, nc: nc}, nil
}

// deploymentID is nil when id is a deployment id, else the InvalidArgument naming deployment_id.
func deploymentID(id string) error {
	var v errs.Violations
	ident.Check(&v, "deployment_id", id)
	return v.Err()
}

// get reads a deployment from the view, as of its latest event.
func (s *Server) get(ctx context.Context, id string) (*deployv1.Deployment, error) {
	if err := deploymentID(id); err != nil {
		return nil, err
	}
	return s.views.Get(ctx, id)
}

// authorize checks perm in the deployment's environment.
func (s *Server) authorize(ctx context.Context, id string, perm auth.Permission) error {
	d, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	return s.authz.Require(ctx, perm, d.GetEnvironment())
}

func principalID(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return p.ID
	}
	return ""
}

// GetDeployment implements the RPC.
func (s *Server) GetDeployment(ctx context.Context, req *deployv1.GetDeploymentRequest) (*deployv1.GetDeploymentResponse, error) {
	if req.GetAsOfPosition() > 0 || req.GetAsOfTime() != nil {
		if err := deploymentID(req.GetDeploymentId()); err != nil {
			return nil, err
		}
		d, err := s.views.AsOf(ctx, req.GetDeploymentId(), req.GetAsOfPosition(), req.GetAsOfTime())
		if err != nil {
			return nil, err
		}
		return &deployv1.GetDeploymentResponse{Deployment: d}, nil
	}
	d, err := s.get(ctx, req.GetDeploymentId())
	if err != nil {
		return nil, err
	}
	return &deployv1.GetDeploymentResponse{Deployment: d}, nil
}

// ListDeployments implements the RPC (from the view; newest first; cursor pagination).
func (s *Server) ListDeployments(ctx context.Context, req *deployv1.ListDeploymentsRequest) (*deployv1.ListDeploymentsResponse, error) {
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
	if env := req.GetEnvironment(); env != "" {
		ident.Check(&v, "environment", env)
	}
	if id := req.GetReleaseId(); id != "" {
		ident.Check(&v, "release_id", id)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, next, total, err := s.views.List(ctx, adapters.ListQuery{
		Environment: req.GetEnvironment(), ReleaseID: req.GetReleaseId(), Active: req.GetActive(), PageSize: size, PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	return &deployv1.ListDeploymentsResponse{Deployments: page, NextPageToken: next, Total: uint32(total)}, nil
}

// WatchDeployment implements the RPC.
func (s *Server) WatchDeployment(req *deployv1.WatchDeploymentRequest, stream deployv1.DeployService_WatchDeploymentServer) error {
	ctx := stream.Context()
	id := req.GetDeploymentId()
	if err := deploymentID(id); err != nil {
		return err
	}
	var sent uint64
	return eventstore.WatchAggregate(ctx, s.nc, app.Aggregate, id, func(c eventstore.Change) (uint64, error) {
		d, err := s.engine.Load(ctx, id)
		if err != nil {
			return 0, err
		}
		if !d.Exists() {
			return 0, &errs.NotFoundError{Kind: "deployment", ID: id}
		}
		if c.Event != "" && d.AggregateVersion() <= sent {
			return d.AggregateVersion(), nil
		}
		sent = d.AggregateVersion()
		return sent, stream.Send(&deployv1.WatchDeploymentResponse{Deployment: domain.ToProto(d), Event: c.Event})
	})
}

// Pause implements the RPC.
func (s *Server) Pause(ctx context.Context, req *deployv1.PauseRequest) (*deployv1.PauseResponse, error) {
	if err := s.authorize(ctx, req.GetDeploymentId(), PermOperate); err != nil {
		return nil, err
	}
	d, err := s.engine.Pause(ctx, req.GetDeploymentId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &deployv1.PauseResponse{Deployment: domain.ToProto(d)}, nil
}

// Resume implements the RPC.
func (s *Server) Resume(ctx context.Context, req *deployv1.ResumeRequest) (*deployv1.ResumeResponse, error) {
	if err := s.authorize(ctx, req.GetDeploymentId(), PermOperate); err != nil {
		return nil, err
	}
	d, err := s.engine.Resume(ctx, req.GetDeploymentId())
	if err != nil {
		return nil, err
	}
	return &deployv1.ResumeResponse{Deployment: domain.ToProto(d)}, nil
}

// Abort implements the RPC.
func (s *Server) Abort(ctx context.Context, req *deployv1.AbortRequest) (*deployv1.AbortResponse, error) {
	if err := s.authorize(ctx, req.GetDeploymentId(), PermOperate); err != nil {
		return nil, err
	}
	d, err := s.engine.Abort(ctx, req.GetDeploymentId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &deployv1.AbortResponse{Deployment: domain.ToProto(d)}, nil
}

// Retry implements the RPC.
func (s *Server) Retry(ctx context.Context, req *deployv1.RetryRequest) (*deployv1.RetryResponse, error) {
	if err := s.authorize(ctx, req.GetDeploymentId(), PermOperate); err != nil {
		return nil, err
	}
	d, err := s.engine.Retry(ctx, req.GetDeploymentId(), principalID(ctx))
	if err != nil {
		return nil, err
	}
	return &deployv1.RetryResponse{Deployment: domain.ToProto(d)}, nil
}

// Rollback implements the RPC.
func (s *Server) Rollback(ctx context.Context, req *deployv1.RollbackRequest) (*deployv1.RollbackResponse, error) {
	if err := s.authorize(ctx, req.GetDeploymentId(), PermRollback); err != nil {
		return nil, err
	}
	d, err := s.engine.Rollback(ctx, req.GetDeploymentId(), req.GetReason(), "manual")
	if err != nil {
		return nil, err
	}
	return &deployv1.RollbackResponse{Deployment: domain.ToProto(d)}, nil
}

// RolloutConfig implements the RPC.
func (s *Server) RolloutConfig(ctx context.Context, req *deployv1.RolloutConfigRequest) (*deployv1.RolloutConfigResponse, error) {
	var v errs.Violations
	ident.Check(&v, "environment", req.GetEnvironment())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, PermOperate, req.GetEnvironment()); err != nil {
		return nil, err
	}
	d, err := s.engine.RolloutConfig(ctx, req.GetApp(), req.GetEnvironment(), req.GetConfigVersion(), req.GetStrategy(), req.GetReason(), principalID(ctx))
	if err != nil {
		return nil, err
	}
	return &deployv1.RolloutConfigResponse{Deployment: domain.ToProto(d)}, nil
}
