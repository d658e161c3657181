package runtime

import (
	"context"
	"sort"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
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
	})
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
