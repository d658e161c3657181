package runtime

import (
	"context"
	"sort"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/projection"
	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

// systemService implements floe.system.v1.SystemService for every process.
type systemService struct {
	systemv1.UnimplementedSystemServiceServer
	rt *Runtime
}

func registerSystem(r *Runtime) error {
	return r.Register(&systemv1.SystemService_ServiceDesc, &systemService{rt: r}, auth.Rules{
		systemv1.SystemService_GetServerInfo_FullMethodName: {Permission: auth.PermSystemRead},
		systemv1.SystemService_WhoAmI_FullMethodName:        {Permission: auth.PermSystemRead},
		systemv1.SystemService_ListViews_FullMethodName:     {Permission: auth.PermSystemRead},
		systemv1.SystemService_RebuildView_FullMethodName:   {Permission: auth.PermSystemAdmin},
	})
}

// ListViews implements the RPC.
func (s *systemService) ListViews(ctx context.Context, _ *systemv1.ListViewsRequest) (*systemv1.ListViewsResponse, error) {
	resp := &systemv1.ListViewsResponse{}
	for _, v := range s.rt.views() {
		resp.Views = append(resp.Views, viewProto(v.Status()))
	}
	if s.rt.logPosition != nil {
		pos, err := s.rt.logPosition(ctx)
		if err != nil {
			return nil, err
		}
		resp.LogPosition = pos
	}
	return resp, nil
}

// RebuildView implements the RPC.
func (s *systemService) RebuildView(ctx context.Context, req *systemv1.RebuildViewRequest) (*systemv1.RebuildViewResponse, error) {
	var names []string
	for _, v := range s.rt.views() {
		if v.Name() == req.GetName() {
			if err := v.Rebuild(ctx); err != nil {
				return nil, err
			}
			return &systemv1.RebuildViewResponse{View: viewProto(v.Status())}, nil
		}
		names = append(names, v.Name())
	}
	if req.GetName() == "" {
		return nil, errs.Invalid("name", "is required (views: %s)", strings.Join(names, ", "))
	}
	return nil, &errs.NotFoundError{Kind: "view", ID: req.GetName()}
}

func viewProto(st projection.Status) *systemv1.View {
	out := &systemv1.View{
		Name: st.Name, Position: st.Position, Checkpointed: st.Checkpointed, Rows: uint64(st.Rows), CaughtUp: st.CaughtUp,
		Rebuilding: st.Rebuilding, Target: st.Target, Applied: st.Applied,
	}
	for _, p := range st.Poison {
		out.Skipped = append(out.Skipped, &systemv1.SkippedEvent{Position: p.Seq, Subject: p.Subject, Type: p.Type, Error: p.Error, At: timestamppb.New(p.At)})
	}
	return out
}

func (s *systemService) GetServerInfo(context.Context, *systemv1.GetServerInfoRequest) (*systemv1.GetServerInfoResponse, error) {
	var names []string
	for name := range s.rt.grpc.GetServiceInfo() {
		names = append(names, name)
	}
	sort.Strings(names)
	return &systemv1.GetServerInfoResponse{
		Version:     s.rt.version,
		Environment: s.rt.cfg.Environment,
		Services:    names,
		StartedAt:   timestamppb.New(s.rt.started),
	}, nil
}

func (s *systemService) WhoAmI(ctx context.Context, _ *systemv1.WhoAmIRequest) (*systemv1.WhoAmIResponse, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &errs.UnauthenticatedError{Message: "no principal"}
	}
	return &systemv1.WhoAmIResponse{Principal: PrincipalProto(p)}, nil
}

// PrincipalProto converts a principal to its API form.
func PrincipalProto(p *auth.Principal) *systemv1.Principal {
	out := &systemv1.Principal{Id: p.ID, Name: p.Name, Authenticator: p.Authenticator}
	for _, b := range p.Roles {
		out.Roles = append(out.Roles, &systemv1.RoleBinding{Role: string(b.Role), Environments: b.Environments})
	}
	return out
}
