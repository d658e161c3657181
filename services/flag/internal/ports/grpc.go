// Package ports serves floe.flag.v1.FlagService over gRPC. The environment
// (the flag set's aggregate id) and the flag key are identifiers, checked
// here before anything reads the log.
package ports

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/flag/internal/adapters"
	"github.com/penguinmails/floe/services/flag/internal/app"
)

// Permissions of the flag service.
const (
	PermRead  auth.Permission = "flag.read"
	PermWrite auth.Permission = "flag.write"
	PermKill  auth.Permission = "flag.kill"
)

// Rules are the authorization rules of every RPC (checked in some
// environment by the interceptor, then in the request's by the handler).
func Rules() auth.Rules {
	r := auth.Rules{}
	for m, p := range map[string]auth.Permission{
		flagv1.FlagService_CreateFlag_FullMethodName:            PermWrite,
		flagv1.FlagService_UpdateFlag_FullMethodName:            PermWrite,
		flagv1.FlagService_SetRollout_FullMethodName:            PermWrite,
		flagv1.FlagService_KillFlag_FullMethodName:              PermKill,
		flagv1.FlagService_ScheduleChange_FullMethodName:        PermWrite,
		flagv1.FlagService_CancelScheduledChange_FullMethodName: PermWrite,
		flagv1.FlagService_GetFlag_FullMethodName:               PermRead,
		flagv1.FlagService_ListFlags_FullMethodName:             PermRead,
		flagv1.FlagService_GetFlagHistory_FullMethodName:        PermRead,
		flagv1.FlagService_ImportFlagd_FullMethodName:           PermWrite,
		flagv1.FlagService_ExportFlagd_FullMethodName:           PermRead,
		flagv1.FlagService_Evaluate_FullMethodName:              PermRead,
		flagv1.FlagService_EvaluateAll_FullMethodName:           PermRead,
		flagv1.FlagService_WatchFlags_FullMethodName:            PermRead,
	} {
		r[m] = auth.Rule{Permission: p}
	}
	return r
}

// Server implements the management and read RPCs of flagv1.FlagServiceServer.
type Server struct {
	flagv1.UnimplementedFlagServiceServer
	svc   *app.Service
	sets  *adapters.FlagSets
	authz *auth.Authorizer
}

// NewServer wires the server; every dependency is required.
func NewServer(svc *app.Service, sets *adapters.FlagSets, authz *auth.Authorizer) (*Server, error) {
	if svc == nil || sets == nil || authz == nil {
		return nil, errors.New("flag server: every dependency is required")
	}
	return &Server{svc: svc, sets: sets, authz: authz}, nil
}

// target checks the environment and key fields and the permission in the environment.
func (s *Server) target(ctx context.Context, perm auth.Permission, envField, env, keyField, key string) error {
	var v errs.Violations
	ident.Check(&v, envField, env)
	if keyField != "" {
		ident.Check(&v, keyField, key)
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.authz.Require(ctx, perm, env)
}

// CreateFlag implements the RPC.
func (s *Server) CreateFlag(ctx context.Context, req *flagv1.CreateFlagRequest) (*flagv1.CreateFlagResponse, error) {
	if err := s.target(ctx, PermWrite, "flag.environment", req.GetFlag().GetEnvironment(), "flag.key", req.GetFlag().GetKey()); err != nil {
		return nil, err
	}
	f, err := s.svc.Create(ctx, req.GetFlag(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &flagv1.CreateFlagResponse{Flag: f}, nil
}

// UpdateFlag implements the RPC.
func (s *Server) UpdateFlag(ctx context.Context, req *flagv1.UpdateFlagRequest) (*flagv1.UpdateFlagResponse, error) {
	if err := s.target(ctx, PermWrite, "flag.environment", req.GetFlag().GetEnvironment(), "flag.key", req.GetFlag().GetKey()); err != nil {
		return nil, err
	}
	f, err := s.svc.Update(ctx, req.GetFlag(), req.GetReason(), req.GetExpectedPosition())
	if err != nil {
		return nil, err
	}
	return &flagv1.UpdateFlagResponse{Flag: f}, nil
}

// SetRollout implements the RPC.
func (s *Server) SetRollout(ctx context.Context, req *flagv1.SetRolloutRequest) (*flagv1.SetRolloutResponse, error) {
	if err := s.target(ctx, PermWrite, "environment", req.GetEnvironment(), "key", req.GetKey()); err != nil {
		return nil, err
	}
	f, err := s.svc.SetRollout(ctx, req.GetEnvironment(), req.GetKey(), req.GetRollout(), req.GetReason(), req.GetReleaseId(), "")
	if err != nil {
		return nil, err
	}
	return &flagv1.SetRolloutResponse{Flag: f}, nil
}

// KillFlag implements the RPC.
func (s *Server) KillFlag(ctx context.Context, req *flagv1.KillFlagRequest) (*flagv1.KillFlagResponse, error) {
	if err := s.target(ctx, PermKill, "environment", req.GetEnvironment(), "key", req.GetKey()); err != nil {
		return nil, err
	}
	f, err := s.svc.Kill(ctx, req.GetEnvironment(), req.GetKey(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &flagv1.KillFlagResponse{Flag: f}, nil
}

// ScheduleChange implements the RPC.
func (s *Server) ScheduleChange(ctx context.Context, req *flagv1.ScheduleChangeRequest) (*flagv1.ScheduleChangeResponse, error) {
	if err := s.target(ctx, PermWrite, "environment", req.GetEnvironment(), "key", req.GetKey()); err != nil {
		return nil, err
	}
	if !req.GetAt().IsValid() {
		return nil, errs.Invalid("at", "is required")
	}
	c, err := s.svc.Schedule(ctx, req.GetEnvironment(), req.GetKey(), req.GetAt().AsTime(), req.GetChange(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &flagv1.ScheduleChangeResponse{Change: c}, nil
}

// CancelScheduledChange implements the RPC.
func (s *Server) CancelScheduledChange(ctx context.Context, req *flagv1.CancelScheduledChangeRequest) (*flagv1.CancelScheduledChangeResponse, error) {
	if err := s.target(ctx, PermWrite, "environment", req.GetEnvironment(), "key", req.GetKey()); err != nil {
		return nil, err
	}
	f, err := s.svc.Cancel(ctx, req.GetEnvironment(), req.GetKey(), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &flagv1.CancelScheduledChangeResponse{Flag: f}, nil
}

// GetFlag implements the RPC.
func (s *Server) GetFlag(ctx context.Context, req *flagv1.GetFlagRequest) (*flagv1.GetFlagResponse, error) {
	if err := s.target(ctx, PermRead, "environment", req.GetEnvironment(), "key", req.GetKey()); err != nil {
		return nil, err
	}
	set, err := s.set(ctx, req.GetEnvironment(), req.GetAsOfPosition(), req.GetAsOfTime())
	if err != nil {
		return nil, err
	}
	f := set.Flag(req.GetKey())
	if f == nil {
		return nil, &errs.NotFoundError{Kind: "flag", ID: req.GetEnvironment() + "/" + req.GetKey()}
	}
	return &flagv1.GetFlagResponse{Flag: f}, nil
}

// set is env's flag set now, or as of log position pos or moment at.
func (s *Server) set(ctx context.Context, env string, pos uint64, at *timestamppb.Timestamp) (*adapters.Snapshot, error) {
	if pos > 0 || at != nil {
		return s.sets.AsOf(ctx, env, pos, at)
	}
	return s.sets.Get(ctx, env)
}

// ListFlags implements the RPC.
func (s *Server) ListFlags(ctx context.Context, req *flagv1.ListFlagsRequest) (*flagv1.ListFlagsResponse, error) {
	var v errs.Violations
	if req.GetTag() != "" {
		ident.Check(&v, "tag", req.GetTag())
	}
	if req.GetReleaseId() != "" {
		ident.Check(&v, "release_id", req.GetReleaseId())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.target(ctx, PermRead, "environment", req.GetEnvironment(), "", ""); err != nil {
		return nil, err
	}
	set, err := s.set(ctx, req.GetEnvironment(), req.GetAsOfPosition(), req.GetAsOfTime())
	if err != nil {
		return nil, err
	}
	out := &flagv1.ListFlagsResponse{Version: set.Version}
	for _, f := range set.Flags {
		if (req.GetTag() == "" || slices.Contains(f.GetTags(), req.GetTag())) && (req.GetReleaseId() == "" || f.GetReleaseId() == req.GetReleaseId()) {
			out.Flags = append(out.Flags, f)
		}
	}
	return out, nil
}

// WatchFlags implements the RPC.
func (s *Server) WatchFlags(req *flagv1.WatchFlagsRequest, stream grpc.ServerStreamingServer[flagv1.WatchFlagsResponse]) error {
	if err := s.target(stream.Context(), PermRead, "environment", req.GetEnvironment(), "", ""); err != nil {
		return err
	}
	return s.sets.Watch(stream.Context(), req.GetEnvironment(), func(set *adapters.Snapshot) error {
		return stream.Send(&flagv1.WatchFlagsResponse{Flags: set.Flags, Version: set.Version, Position: set.Position})
	})
}

// GetFlagHistory implements the RPC.
func (s *Server) GetFlagHistory(ctx context.Context, req *flagv1.GetFlagHistoryRequest) (*flagv1.GetFlagHistoryResponse, error) {
	if err := s.target(ctx, PermRead, "environment", req.GetEnvironment(), "key", req.GetKey()); err != nil {
		return nil, err
	}
	entries, err := s.svc.History(ctx, req.GetEnvironment(), req.GetKey())
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, &errs.NotFoundError{Kind: "flag", ID: req.GetEnvironment() + "/" + req.GetKey()}
	}
	return &flagv1.GetFlagHistoryResponse{Entries: entries}, nil
}
