package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
)

func TestPolicyGrants(t *testing.T) {
	t.Parallel()
	pol := auth.Policy{
		auth.RoleDeveloper:      {"release.read", "release.write"},
		auth.RoleReleaseManager: {"release.*", "gate.*"},
		auth.RoleAdmin:          {"*"},
		auth.RoleSupport:        {},
	}
	tests := []struct {
		name string
		role auth.Role
		perm auth.Permission
		want bool
	}{
		{name: "exact grant", role: auth.RoleDeveloper, perm: "release.write", want: true},
		{name: "exact grant does not cover a sibling", role: auth.RoleDeveloper, perm: "release.approve", want: false},
		{name: "domain wildcard", role: auth.RoleReleaseManager, perm: "release.approve", want: true},
		{name: "second domain wildcard", role: auth.RoleReleaseManager, perm: "gate.override", want: true},
		{name: "domain wildcard stops at its domain", role: auth.RoleReleaseManager, perm: "deploy.operate", want: false},
		{name: "domain wildcard is not a string prefix", role: auth.RoleReleaseManager, perm: "releases.read", want: false},
		{name: "domain wildcard needs an action", role: auth.RoleReleaseManager, perm: "release", want: false},
		{name: "star grants everything", role: auth.RoleAdmin, perm: "audit.admin", want: true},
		{name: "star grants unknown permissions too", role: auth.RoleAdmin, perm: "anything.at-all", want: true},
		{name: "role with no permissions", role: auth.RoleSupport, perm: "system.read", want: false},
		{name: "role missing from the policy", role: auth.RoleQA, perm: "system.read", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pol.Grants(tt.role, tt.perm); got != tt.want {
				t.Errorf("Grants(%s, %s) = %v, want %v", tt.role, tt.perm, got, tt.want)
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	pol := auth.DefaultPolicy()
	for _, r := range auth.Roles {
		if !pol.Grants(r, auth.PermSystemRead) {
			t.Errorf("default policy: role %s lacks %s", r, auth.PermSystemRead)
		}
	}
	tests := []struct {
		role auth.Role
		perm auth.Permission
		want bool
	}{
		{auth.RoleSupport, "release.write", false},
		{auth.RoleDeveloper, "deploy.rollback", false},
		{auth.RoleOperations, "deploy.rollback", true},
		{auth.RoleSecurity, auth.PermAuditAdmin, true},
		{auth.RoleReleaseManager, "flag.kill", true},
		{auth.RoleReleaseManager, auth.PermAuditAdmin, false},
		{auth.RoleAdmin, auth.PermAuditAdmin, true},
	}
	for _, tt := range tests {
		if got := pol.Grants(tt.role, tt.perm); got != tt.want {
			t.Errorf("default policy Grants(%s, %s) = %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}

	// Each call returns an independent matrix: changing one must not leak
	// into another role or a later call.
	pol[auth.RoleDeveloper][0] = "changed"
	again := auth.DefaultPolicy()
	if again[auth.RoleDeveloper][0] != auth.PermSystemRead || again[auth.RoleQA][0] != auth.PermSystemRead {
		t.Errorf("DefaultPolicy shares slices between calls or roles: developer %v, qa %v", again[auth.RoleDeveloper], again[auth.RoleQA])
	}
}

func TestPolicyAllowsRespectsEnvironments(t *testing.T) {
	t.Parallel()
	pol := auth.DefaultPolicy()
	p := &auth.Principal{ID: "alice", Roles: []auth.RoleBinding{
		{Role: auth.RoleDeveloper}, // every environment
		{Role: auth.RoleOperations, Environments: []string{"staging", "production"}},
	}}
	tests := []struct {
		name string
		perm auth.Permission
		env  string
		want bool
	}{
		{name: "unscoped binding covers any environment", perm: "release.write", env: "production", want: true},
		{name: "scoped binding in one of its environments", perm: "deploy.rollback", env: "production", want: true},
		{name: "scoped binding outside its environments", perm: "deploy.rollback", env: "development", want: false},
		{name: "empty env asks for any environment", perm: "deploy.rollback", env: "", want: true},
		{name: "permission no binding grants", perm: "audit.read", env: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pol.Allows(p, tt.perm, tt.env); got != tt.want {
				t.Errorf("Allows(%s, %q) = %v, want %v", tt.perm, tt.env, got, tt.want)
			}
		})
	}
}

func TestAuthorizerRequire(t *testing.T) {
	t.Parallel()
	withPrincipal := func(p *auth.Principal) context.Context {
		return auth.WithPrincipal(context.Background(), p)
	}
	ops := &auth.Principal{ID: "olga", Roles: []auth.RoleBinding{
		{Role: auth.RoleOperations, Environments: []string{"staging"}},
		{Role: auth.RoleDeveloper},
	}}
	tests := []struct {
		name       string
		ctx        context.Context
		perm       auth.Permission
		env        string
		wantNil    bool
		wantUnau   bool
		wantDenied *errs.PermissionDeniedError
	}{
		{name: "allowed", ctx: withPrincipal(ops), perm: "deploy.rollback", env: "staging", wantNil: true},
		{
			name: "denied names permission and environment",
			ctx:  withPrincipal(ops), perm: "deploy.rollback", env: "production",
			wantDenied: &errs.PermissionDeniedError{Principal: "olga", Permission: "deploy.rollback", Environment: "production", Detail: "roles held: developer, operations"},
		},
		{
			name: "denied without environment",
			ctx:  withPrincipal(ops), perm: "audit.read",
			wantDenied: &errs.PermissionDeniedError{Principal: "olga", Permission: "audit.read", Detail: "roles held: developer, operations"},
		},
		{
			name: "principal without roles",
			ctx:  withPrincipal(&auth.Principal{ID: "nobody"}), perm: "system.read",
			wantDenied: &errs.PermissionDeniedError{Principal: "nobody", Permission: "system.read", Detail: "the principal has no roles"},
		},
		{name: "the system principal holds nothing by itself", ctx: withPrincipal(auth.System), perm: "system.read",
			wantDenied: &errs.PermissionDeniedError{Principal: auth.System.ID, Permission: "system.read", Detail: "the principal has no roles"}},
		{name: "no principal", ctx: context.Background(), perm: "system.read", wantUnau: true},
		{name: "nil principal", ctx: withPrincipal(nil), perm: "system.read", wantUnau: true},
	}
	a := auth.NewAuthorizer(nil) // DefaultPolicy
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := a.Require(tt.ctx, tt.perm, tt.env)
			switch {
			case tt.wantNil:
				if err != nil {
					t.Errorf("Require = %v, want nil", err)
				}
			case tt.wantUnau:
				var ue *errs.UnauthenticatedError
				if !errors.As(err, &ue) {
					t.Errorf("Require = %T %v, want *errs.UnauthenticatedError", err, err)
				}
			default:
				var pd *errs.PermissionDeniedError
				if !errors.As(err, &pd) {
					t.Fatalf("Require = %T %v, want *errs.PermissionDeniedError", err, err)
				}
				if diff := cmp.Diff(tt.wantDenied, pd); diff != "" {
					t.Errorf("Require mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestAuthorizerUsesGivenPolicy(t *testing.T) {
	t.Parallel()
	a := auth.NewAuthorizer(auth.Policy{auth.RoleSupport: {"ticket.read"}})
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{ID: "s", Roles: []auth.RoleBinding{{Role: auth.RoleSupport}}})
	if err := a.Require(ctx, "ticket.read", ""); err != nil {
		t.Errorf("Require(ticket.read) = %v, want nil", err)
	}
	if err := a.Require(ctx, auth.PermSystemRead, ""); err == nil {
		t.Error("Require(system.read) = nil under a policy that does not grant it")
	}
}

func TestPrincipal(t *testing.T) {
	t.Parallel()
	p := &auth.Principal{ID: "p", Roles: []auth.RoleBinding{
		{Role: auth.RoleQA, Environments: []string{"staging"}},
		{Role: auth.RoleDeveloper},
		{Role: auth.RoleQA, Environments: []string{"production"}},
	}}
	if diff := cmp.Diff([]string{"developer", "qa"}, p.RoleNames()); diff != "" {
		t.Errorf("RoleNames mismatch (-want +got):\n%s", diff)
	}
	tests := []struct {
		role auth.Role
		env  string
		want bool
	}{
		{auth.RoleQA, "staging", true},
		{auth.RoleQA, "production", true},
		{auth.RoleQA, "development", false},
		{auth.RoleQA, "", true},
		{auth.RoleDeveloper, "anything", true},
		{auth.RoleAdmin, "", false},
	}
	for _, tt := range tests {
		if got := p.HasRole(tt.role, tt.env); got != tt.want {
			t.Errorf("HasRole(%s, %q) = %v, want %v", tt.role, tt.env, got, tt.want)
		}
	}
	if auth.Role("wizard").Valid() || !auth.RoleReleaseManager.Valid() {
		t.Error("Role.Valid does not match the role list")
	}
	if _, ok := auth.FromContext(context.Background()); ok {
		t.Error("FromContext found a principal in an empty context")
	}
	if got, ok := auth.FromContext(auth.WithPrincipal(context.Background(), p)); !ok || got != p {
		t.Errorf("FromContext = %v, %v; want the stored principal", got, ok)
	}
}

func TestRulesMerge(t *testing.T) {
	t.Parallel()
	r := auth.Rules{"/a.v1.S/One": {Permission: "a.read"}}
	if err := r.Merge(auth.Rules{"/a.v1.S/Two": {Permission: "a.write"}}); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	err := r.Merge(auth.Rules{"/a.v1.S/One": {Public: true}})
	if err == nil || !strings.Contains(err.Error(), "/a.v1.S/One") {
		t.Errorf("Merge of a duplicate = %v, want an error naming /a.v1.S/One", err)
	}
	if r["/a.v1.S/One"].Public {
		t.Error("a refused duplicate replaced the original rule")
	}
}

func TestRulesMissing(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer()
	handler := func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) { return nil, nil }
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.v1.Svc",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Do", Handler: handler}, {MethodName: "Undeclared", Handler: handler}},
		Streams:     []grpc.StreamDesc{{StreamName: "Watch", Handler: func(any, grpc.ServerStream) error { return nil }, ServerStreams: true}},
	}, struct{}{})
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "grpc.health.v1.Health",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Check", Handler: handler}},
	}, struct{}{})
	rules := auth.Rules{"/test.v1.Svc/Do": {Permission: "x.read"}}
	want := []string{"/test.v1.Svc/Undeclared", "/test.v1.Svc/Watch"}
	if diff := cmp.Diff(want, rules.Missing(srv)); diff != "" {
		t.Errorf("Missing mismatch (-want +got):\n%s", diff)
	}
}

func TestNewInterceptorRequiresEverything(t *testing.T) {
	t.Parallel()
	if _, err := auth.NewInterceptor(nil, auth.NewAuthorizer(nil), auth.Rules{}); err == nil {
		t.Error("NewInterceptor without an authenticator succeeded")
	}
	if _, err := auth.NewInterceptor(auth.Chain{}, nil, auth.Rules{}); err == nil {
		t.Error("NewInterceptor without an authorizer succeeded")
	}
	if _, err := auth.NewInterceptor(auth.Chain{}, auth.NewAuthorizer(nil), nil); err == nil {
		t.Error("NewInterceptor without rules succeeded")
	}
}

func TestBearerCredentials(t *testing.T) {
	t.Parallel()
	md, err := auth.BearerCredentials{Token: "floe_abc"}.GetRequestMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"authorization": "Bearer floe_abc"}, md); diff != "" {
		t.Errorf("GetRequestMetadata mismatch (-want +got):\n%s", diff)
	}
	if !(auth.BearerCredentials{}).RequireTransportSecurity() {
		t.Error("BearerCredentials sends tokens over plaintext by default")
	}
	if (auth.BearerCredentials{AllowInsecure: true}).RequireTransportSecurity() {
		t.Error("AllowInsecure does not permit plaintext")
	}
}
