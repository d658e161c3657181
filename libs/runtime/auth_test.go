package runtime_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/testkit"
	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

// principalView flattens a systemv1.Principal for cmp.
type principalView struct {
	ID, Name, Authenticator string
	Roles                   []string // "role" or "role:env1,env2"
}

func viewOf(p *systemv1.Principal) principalView {
	v := principalView{ID: p.GetId(), Name: p.GetName(), Authenticator: p.GetAuthenticator()}
	for _, b := range p.GetRoles() {
		r := b.GetRole()
		if len(b.GetEnvironments()) > 0 {
			r += ":" + strings.Join(b.GetEnvironments(), ",")
		}
		v.Roles = append(v.Roles, r)
	}
	return v
}

// errorInfo returns the ErrorInfo detail of a status error.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// TestWhoAmIThroughInterceptor calls floe.system.v1.SystemService/WhoAmI on a
// real server with a tokens-file authenticator and a policy in which support
// holds nothing.
func TestWhoAmIThroughInterceptor(t *testing.T) {
	t.Parallel()
	policy := auth.Policy{
		auth.RoleDeveloper: {auth.PermSystemRead},
		auth.RoleQA:        {"release.approve"},
		auth.RoleSupport:   {},
		auth.RoleAdmin:     {"*"},
	}
	ts := startServer(t, serverOptions{policy: policy})
	client := systemv1.NewSystemServiceClient(ts.conn)

	tests := []struct {
		name string
		// header is the raw authorization header; empty sends none.
		header     string
		want       *principalView
		wantCode   codes.Code
		wantReason string
		wantMD     map[string]string
		wantMsg    string // substring of the status message
	}{
		{
			name:   "valid token returns the principal",
			header: "Bearer " + aliceToken,
			want: &principalView{ID: "alice", Name: "Alice Developer", Authenticator: "token", Roles: []string{
				"developer:development,staging", "qa",
			}},
		},
		{
			name:   "scheme is case-insensitive",
			header: "bearer " + rootToken,
			want:   &principalView{ID: "root", Authenticator: "token", Roles: []string{"admin"}},
		},
		{name: "missing token", wantCode: codes.Unauthenticated, wantReason: "UNAUTHENTICATED", wantMsg: "missing bearer token"},
		{name: "unknown token", header: "Bearer floe_wrong", wantCode: codes.Unauthenticated, wantReason: "UNAUTHENTICATED", wantMsg: "unknown token"},
		{name: "basic auth", header: "Basic x", wantCode: codes.Unauthenticated, wantReason: "UNAUTHENTICATED", wantMsg: "malformed authorization header"},
		{name: "bearer without token", header: "Bearer   ", wantCode: codes.Unauthenticated, wantReason: "UNAUTHENTICATED", wantMsg: "malformed authorization header"},
		{name: "token without scheme", header: aliceToken, wantCode: codes.Unauthenticated, wantReason: "UNAUTHENTICATED", wantMsg: "malformed authorization header"},
		{
			name: "role without system.read", header: "Bearer " + samToken,
			wantCode: codes.PermissionDenied, wantReason: "PERMISSION_DENIED",
			wantMD: map[string]string{"permission": "system.read"}, wantMsg: `sam lacks permission "system.read"`,
		},
		{
			name: "principal without roles", header: "Bearer " + nobodyTok,
			wantCode: codes.PermissionDenied, wantReason: "PERMISSION_DENIED",
			wantMD: map[string]string{"permission": "system.read"}, wantMsg: "no roles",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			if tt.header != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", tt.header)
			}
			resp, err := client.WhoAmI(ctx, &systemv1.WhoAmIRequest{})
			if tt.want != nil {
				if err != nil {
					t.Fatalf("WhoAmI: %v", err)
				}
				if diff := cmp.Diff(*tt.want, viewOf(resp.GetPrincipal())); diff != "" {
					t.Errorf("WhoAmI principal mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("WhoAmI code = %v (%v), want %v", got, err, tt.wantCode)
			}
			if got := errs.ReasonOf(err); got != tt.wantReason {
				t.Errorf("reason = %q, want %q", got, tt.wantReason)
			}
			if tt.wantMD != nil {
				if diff := cmp.Diff(tt.wantMD, errorInfo(err).GetMetadata()); diff != "" {
					t.Errorf("ErrorInfo metadata mismatch (-want +got):\n%s", diff)
				}
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
		})
	}
}

// TestWhoAmIWithBearerCredentials uses the client-side credentials type.
func TestWhoAmIWithBearerCredentials(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	resp, err := systemv1.NewSystemServiceClient(ts.conn).WhoAmI(testCtx(t), &systemv1.WhoAmIRequest{}, bearer(samToken))
	if err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	want := principalView{ID: "sam", Name: "Sam Support", Authenticator: "token", Roles: []string{"support"}}
	if diff := cmp.Diff(want, viewOf(resp.GetPrincipal())); diff != "" {
		t.Errorf("WhoAmI mismatch (-want +got):\n%s", diff)
	}
}

func TestHealthAndReflectionNeedNoToken(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	ctx := testCtx(t)

	hc := healthpb.NewHealthClient(ts.conn)
	testkit.Eventually(t, func() error {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("health Check without a token: %v", err)
		}
		if got := resp.GetStatus(); got != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health is %v, want SERVING", got)
		}
		return nil
	})
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: systemv1.SystemService_ServiceDesc.ServiceName})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health of %s = %v, %v; want SERVING", systemv1.SystemService_ServiceDesc.ServiceName, resp.GetStatus(), err)
	}

	stream, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatalf("reflection without a token: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil {
		t.Fatalf("reflection send: %v", err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection without a token: %v", err)
	}
	var names []string
	for _, s := range r.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !slices.Contains(names, "floe.system.v1.SystemService") {
		t.Errorf("reflection lists %v, want it to include floe.system.v1.SystemService", names)
	}
	_ = stream.CloseSend()

	// The same connection without a token is refused elsewhere.
	if _, err := systemv1.NewSystemServiceClient(ts.conn).GetServerInfo(ctx, &systemv1.GetServerInfoRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("GetServerInfo without a token = %v, want Unauthenticated", err)
	}
}

// TestStreamAuthentication shows that streams are authenticated too and that
// their auth and handler errors are mapped to status codes.
func TestStreamAuthentication(t *testing.T) {
	t.Parallel()
	svc := service{name: "test.v1.Streams", streams: map[string]streamFunc{
		"Watch": func(ctx context.Context, in string, send func(string) error) error {
			p, _ := auth.FromContext(ctx)
			if err := send("hello " + p.ID); err != nil {
				return err
			}
			if in == "missing" {
				return &errs.NotFoundError{Kind: "release", ID: "r-9"}
			}
			return nil
		},
	}}
	ts := startServer(t, serverOptions{setup: func(t *testing.T, rt *runtime.Runtime) {
		svc.register(t, rt, auth.Rules{"/test.v1.Streams/Watch": {Permission: "release.read"}})
	}})
	const method = "/test.v1.Streams/Watch"
	tests := []struct {
		name       string
		in         string
		opts       []grpc.CallOption
		want       []string
		wantCode   codes.Code
		wantReason string
	}{
		{name: "authorised", opts: []grpc.CallOption{bearer(aliceToken)}, want: []string{"hello alice"}},
		{name: "no token", wantCode: codes.Unauthenticated, wantReason: "UNAUTHENTICATED"},
		{name: "no permission", opts: []grpc.CallOption{bearer(nobodyTok)}, wantCode: codes.PermissionDenied, wantReason: "PERMISSION_DENIED"},
		{name: "handler error after a message", in: "missing", opts: []grpc.CallOption{bearer(aliceToken)}, want: []string{"hello alice"}, wantCode: codes.NotFound, wantReason: "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := callStream(testCtx(t), ts.conn, method, tt.in, tt.opts...)
			if code := status.Code(err); code != tt.wantCode {
				t.Fatalf("stream ended with %v (%v), want %v", code, err, tt.wantCode)
			}
			if reason := errs.ReasonOf(err); reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", reason, tt.wantReason)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
