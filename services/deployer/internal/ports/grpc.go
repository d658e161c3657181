// Package ports serves floe.deploy.v1.DeployService over gRPC.
package ports

import (
	"context"
	"errors"
	"sort"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
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
	}
}

// Server implements deployv1.DeployServiceServer.
type Server struct {
	deployv1.UnimplementedDeployServiceServer
	engine *app.Engine
	store  eventstore.Store
	authz  *auth.Authorizer
	nc     *nats.Conn
}

// NewServer wires the server; every dependency is required.
func NewServer(engine *app.Engine, store eventstore.Store, authz *auth.Authorizer, nc *nats.Conn) (*Server, error) {
	if engine == nil || store == nil || authz == nil || nc == nil {
		return nil, errors.New("deploy server: engine, store, authorizer and NATS connection are required")
	}
	return &Server{engine: engine, store: store, authz: authz, nc: nc}, nil
}

func (s *Server) get(ctx context.Context, id string) (*domain.Deployment, error) {
	d, _, err := s.engine.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !d.Exists() {
		return nil, &errs.NotFoundError{Kind: "deployment", ID: id}
	}
	return d, nil
}

// authorize checks perm in the deployment's environment.
func (s *Server) authorize(ctx context.Context, id string, perm auth.Permission) error {
	d, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	return s.authz.Require(ctx, perm, d.Environment)
}

func principalID(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return p.ID
	}
	return ""
}

// GetDeployment implements the RPC.
func (s *Server) GetDeployment(ctx context.Context, req *deployv1.GetDeploymentRequest) (*deployv1.GetDeploymentResponse, error) {
	d, err := s.get(ctx, req.GetDeploymentId())
	if err != nil {
		return nil, err
	}
	return &deployv1.GetDeploymentResponse{Deployment: domain.ToProto(d)}, nil
}

// ListDeployments implements the RPC by reading the deployment aggregates from the log.
func (s *Server) ListDeployments(ctx context.Context, req *deployv1.ListDeploymentsRequest) (*deployv1.ListDeploymentsResponse, error) {
	ids := map[string]bool{}
	err := s.store.ReadAll(ctx, 1, func(e *eventstore.RecordedEvent) error {
		if e.Aggregate == app.Aggregate {
			ids[e.AggregateID] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp := &deployv1.ListDeploymentsResponse{}
	for id := range ids {
		d, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if (req.GetEnvironment() != "" && d.Environment != req.GetEnvironment()) || (req.GetReleaseId() != "" && d.ReleaseID != req.GetReleaseId()) || (req.GetActive() && !d.Active()) {
			continue
		}
		resp.Deployments = append(resp.Deployments, domain.ToProto(d))
	}
	sort.Slice(resp.Deployments, func(i, j int) bool {
		return resp.Deployments[i].GetStartedAt().AsTime().After(resp.Deployments[j].GetStartedAt().AsTime())
	})
	return resp, nil
}

// WatchDeployment implements the RPC.
func (s *Server) WatchDeployment(req *deployv1.WatchDeploymentRequest, stream deployv1.DeployService_WatchDeploymentServer) error {
	ctx := stream.Context()
	id := req.GetDeploymentId()
	if !eventstore.ValidID(id) {
		return errs.Invalid("deployment_id", "%q is not a deployment id", id)
	}
	var sent uint64
	return eventstore.WatchAggregate(ctx, s.nc, app.Aggregate, id, func(c eventstore.Change) (uint64, error) {
		d, err := s.get(ctx, id)
		if err != nil {
			return 0, err
		}
		if c.Event != "" && d.AggregateVersion <= sent {
			return d.AggregateVersion, nil
		}
		sent = d.AggregateVersion
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
