package auth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
)

// Methods of the delegation tests.
const (
	mApprove = "/test.v1.Release/Approve" // delegable, release.approve
	mPromote = "/test.v1.Release/Promote" // delegable, release.promote; granted to nobody
	mRead    = "/test.v1.Release/Get"     // not delegable, release.read; granted to the notifier anyway
	mHealth  = "/grpc.health.v1.Health/Check"
	mSync    = "/test.v1.Sync/Stream" // InHandler
)

var delegationRules = auth.Rules{
	mApprove: {Permission: "release.approve", Delegable: true},
	mPromote: {Permission: "release.promote", Delegable: true},
	mRead:    {Permission: "release.read"},
	mSync:    {InHandler: true},
}

// The principals of the delegation tests: the notifier holds a grant (and
// roles of its own, which must not count), alice and grace are targets,
// bob holds nothing but his roles.
var delegationPrincipals = []auth.TokenEntry{
	{ID: "notifier", TokenSHA256: auth.HashToken("notifier-token"), Roles: []auth.RoleBinding{{Role: auth.RoleAdmin}}, ActsFor: &auth.ActsFor{
		Methods:    []string{mApprove, mRead},
		Principals: []string{"alice", "grace"},
	}},
	{ID: "alice", Name: "Alice", TokenSHA256: auth.HashToken("alice-token"), Roles: []auth.RoleBinding{{Role: auth.RoleQA, Environments: []string{"staging"}}}},
	{ID: "grace", TokenSHA256: auth.HashToken("grace-token"), Roles: []auth.RoleBinding{{Role: auth.RoleSupport}}},
	{ID: "bob", TokenSHA256: auth.HashToken("bob-token"), Roles: []auth.RoleBinding{{Role: auth.RoleReleaseManager}}},
}

func tokensAuthenticator(t *testing.T, entries ...auth.TokenEntry) *auth.TokenFileAuthenticator {
	t.Helper()
	data, err := (&auth.TokensFile{Principals: entries}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := auth.NewTokenFileAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// seen is what a handler saw of the request's identity, and what the
// OnPrincipal hook was told.
type seen struct {
	Principal   string
	Roles       []string
	Delegation  *auth.Delegation
	OnPrincipal []string // "id" or "id (delegate/via)" per call
}

// callUnary runs the interceptor's unary path for method with the given
// incoming metadata (key, value pairs) and reports what the handler saw.
func callUnary(t *testing.T, authn auth.Authenticator, method string, md ...string) (seen, error) {
	t.Helper()
	i, err := auth.NewInterceptor(authn, auth.NewAuthorizer(nil), delegationRules)
	if err != nil {
		t.Fatal(err)
	}
	var got seen
	i.OnPrincipal = func(ctx context.Context, p *auth.Principal) {
		s := p.ID
		if d, ok := auth.DelegationFrom(ctx); ok {
			s += " (" + d.By + "/" + d.Via + ")"
		}
		got.OnPrincipal = append(got.OnPrincipal, s)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(md...))
	_, err = i.Unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
		if p, ok := auth.FromContext(ctx); ok {
			got.Principal, got.Roles = p.ID, p.RoleNames()
		}
		if d, ok := auth.DelegationFrom(ctx); ok {
			got.Delegation = &d
		}
		return nil, nil
	})
	return got, err
}

// as is the metadata of a call with token, on behalf of whom via what
// (each header left out when its value is "-").
func as(token, whom, via string) []string {
	md := []string{"authorization", "Bearer " + token}
	if whom != "-" {
		md = append(md, auth.OnBehalfOfHeader, whom)
	}
	if via != "-" {
		md = append(md, auth.ViaHeader, via)
	}
	return md
}

func TestInterceptorDelegation(t *testing.T) {
	t.Parallel()
	tokens := tokensAuthenticator(t, delegationPrincipals...)
	tests := []struct {
		name   string
		authn  auth.Authenticator // tokens when nil
		method string
		md     []string
		want   seen
		// wantErr: "denied", "invalid" or "unauthenticated"; wantMsg are substrings of the error.
		wantErr string
		wantMsg []string
		// wantField is the violated field of an InvalidArgumentError.
		wantField string
	}{
		{
			name: "a direct call runs as the caller", method: mApprove, md: []string{"authorization", "Bearer bob-token"},
			want: seen{Principal: "bob", Roles: []string{"release-manager"}, OnPrincipal: []string{"bob"}},
		},
		{
			name: "a delegated call runs as the principal, with the delegation", method: mApprove, md: as("notifier-token", "alice", "slack"),
			want: seen{
				Principal: "alice", Roles: []string{"qa"}, Delegation: &auth.Delegation{By: "notifier", Via: "slack"},
				OnPrincipal: []string{"notifier", "alice (notifier/slack)"},
			},
		},
		{
			name: "through the Chain's tokens file too", authn: auth.Chain{Tokens: tokens}, method: mApprove, md: as("notifier-token", "alice", "slack-2"),
			want: seen{
				Principal: "alice", Roles: []string{"qa"}, Delegation: &auth.Delegation{By: "notifier", Via: "slack-2"},
				OnPrincipal: []string{"notifier", "alice (notifier/slack-2)"},
			},
		},
		{
			// The notifier is an admin, grace is support: the rule is checked for grace.
			name: "the delegate's own roles do not count", method: mApprove, md: as("notifier-token", "grace", "slack"),
			wantErr: "denied", wantMsg: []string{`grace lacks permission "release.approve"`, "roles held: support"},
		},
		{
			name: "a principal outside the grant", method: mApprove, md: as("notifier-token", "bob", "slack"),
			wantErr: "denied", wantMsg: []string{`notifier lacks permission "acts_for"`, "on behalf of bob", "does not cover the principal (it covers alice, grace)"},
		},
		{
			name: "a method outside the grant", method: mPromote, md: as("notifier-token", "alice", "slack"),
			wantErr: "denied", wantMsg: []string{`notifier lacks permission "acts_for"`, "may not call " + mPromote, "does not cover the method"},
		},
		{
			name: "a granted method that does not record delegations", method: mRead, md: as("notifier-token", "alice", "slack"),
			wantErr: "denied", wantMsg: []string{"does not accept delegated calls"},
		},
		{
			name: "a principal without a grant", method: mApprove, md: as("bob-token", "alice", "slack"),
			wantErr: "denied", wantMsg: []string{`bob lacks permission "acts_for"`, "bob holds no acts_for grant"},
		},
		{
			name: "acting for oneself needs a grant too", method: mApprove, md: as("bob-token", "bob", "slack"),
			wantErr: "denied", wantMsg: []string{"bob holds no acts_for grant"},
		},
		{
			name: "a target the directory does not know", authn: fakeDirAuthn{}, method: mApprove, md: as("x", "ghost", "slack"),
			wantErr: "denied", wantMsg: []string{"ghost is not in the directory of principals", "tokens file"},
		},
		{
			name: "no directory at all", authn: fakeAuthn{}, method: mApprove, md: as("x", "ghost", "slack"),
			wantErr: "denied", wantMsg: []string{"no directory of principals"},
		},
		{
			name: "no token", method: mApprove, md: []string{auth.OnBehalfOfHeader, "alice", auth.ViaHeader, "slack"},
			wantErr: "unauthenticated",
		},
		{
			name: "a public method refuses the headers", method: mHealth, md: []string{auth.OnBehalfOfHeader, "alice", auth.ViaHeader, "slack"},
			wantErr: "denied", wantMsg: []string{"not accepted on " + mHealth},
		},
		{
			name: "an in-handler method refuses them", method: mSync, md: as("notifier-token", "alice", "slack"),
			wantErr: "denied", wantMsg: []string{"not accepted on " + mSync},
		},
		{name: "an in-handler method without them", method: mSync, md: nil},
		{name: "via missing", method: mApprove, md: as("notifier-token", "alice", "-"), wantErr: "invalid", wantField: auth.ViaHeader},
		{name: "on-behalf-of missing", method: mApprove, md: as("notifier-token", "-", "slack"), wantErr: "invalid", wantField: auth.OnBehalfOfHeader},
		{name: "on-behalf-of empty", method: mApprove, md: as("notifier-token", "", "slack"), wantErr: "invalid", wantField: auth.OnBehalfOfHeader},
		{name: "via upper case", method: mApprove, md: as("notifier-token", "alice", "Slack"), wantErr: "invalid", wantField: auth.ViaHeader},
		{name: "via empty", method: mApprove, md: as("notifier-token", "alice", ""), wantErr: "invalid", wantField: auth.ViaHeader},
		{name: "via with a space", method: mApprove, md: as("notifier-token", "alice", "sl ack"), wantErr: "invalid", wantField: auth.ViaHeader},
		{name: "via too long", method: mApprove, md: as("notifier-token", "alice", strings.Repeat("s", 33)), wantErr: "invalid", wantField: auth.ViaHeader},
		{
			name: "via of 32 characters", method: mApprove, md: as("notifier-token", "alice", strings.Repeat("s", 32)),
			want: seen{Principal: "alice", Roles: []string{"qa"}, Delegation: &auth.Delegation{By: "notifier", Via: strings.Repeat("s", 32)},
				OnPrincipal: []string{"notifier", "alice (notifier/" + strings.Repeat("s", 32) + ")"}},
		},
		{
			name: "a header sent twice", method: mApprove, md: append(as("notifier-token", "alice", "slack"), auth.OnBehalfOfHeader, "grace"),
			wantErr: "invalid", wantField: auth.OnBehalfOfHeader,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			authn := tt.authn
			if authn == nil {
				authn = tokens
			}
			got, err := callUnary(t, authn, tt.method, tt.md...)
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("handler saw (-want +got):\n%s", diff)
				}
				return
			case "denied":
				var pd *errs.PermissionDeniedError
				if !errors.As(err, &pd) {
					t.Fatalf("error = %T %v, want *errs.PermissionDeniedError", err, err)
				}
			case "invalid":
				var ia *errs.InvalidArgumentError
				if !errors.As(err, &ia) {
					t.Fatalf("error = %T %v, want *errs.InvalidArgumentError", err, err)
				}
				if len(ia.Violations) != 1 || ia.Violations[0].Field != tt.wantField {
					t.Errorf("violations %+v, want one of %s", ia.Violations, tt.wantField)
				}
			case "unauthenticated":
				var ue *errs.UnauthenticatedError
				if !errors.As(err, &ue) {
					t.Fatalf("error = %T %v, want *errs.UnauthenticatedError", err, err)
				}
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if got.Principal != "" {
				t.Errorf("the handler ran as %s despite the refusal", got.Principal)
			}
		})
	}
}

// TestInterceptorDelegationOnStreams: the stream path checks the same way.
func TestInterceptorDelegationOnStreams(t *testing.T) {
	t.Parallel()
	i, err := auth.NewInterceptor(tokensAuthenticator(t, delegationPrincipals...), auth.NewAuthorizer(nil), delegationRules)
	if err != nil {
		t.Fatal(err)
	}
	run := func(method string, md ...string) (string, error) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(md...))
		var who string
		err := i.Stream(nil, fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: method}, func(_ any, ss grpc.ServerStream) error {
			p, _ := auth.FromContext(ss.Context())
			d, _ := auth.DelegationFrom(ss.Context())
			who = p.ID + " by " + d.By + " via " + d.Via
			return nil
		})
		return who, err
	}
	if who, err := run(mApprove, as("notifier-token", "alice", "slack")...); err != nil || who != "alice by notifier via slack" {
		t.Errorf("delegated stream ran as %q, %v", who, err)
	}
	var pd *errs.PermissionDeniedError
	if _, err := run(mPromote, as("notifier-token", "alice", "slack")...); !errors.As(err, &pd) {
		t.Errorf("delegated stream outside the grant: %v, want PermissionDenied", err)
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s fakeStream) Context() context.Context { return s.ctx }

// fakeAuthn authenticates every token as a principal granted to act for
// ghost on mApprove. It is no Directory.
type fakeAuthn struct{}

func (f fakeAuthn) Authenticate(context.Context, string) (*auth.Principal, error) {
	return &auth.Principal{ID: "relay", ActsFor: &auth.ActsFor{Methods: []string{mApprove}, Principals: []string{"ghost"}}}, nil
}

// fakeDirAuthn is fakeAuthn with a Directory that knows nobody.
type fakeDirAuthn struct{ fakeAuthn }

func (fakeDirAuthn) Lookup(_ context.Context, id string) (*auth.Principal, error) {
	return nil, auth.ErrUnknownPrincipal
}

func TestOnBehalfOf(t *testing.T) {
	t.Parallel()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "r1", auth.ViaHeader, "email")
	ctx = auth.OnBehalfOf(ctx, "bob", "sms")
	ctx = auth.OnBehalfOf(ctx, "alice", "slack") // the last call wins
	md, _ := metadata.FromOutgoingContext(ctx)
	want := metadata.MD{"x-request-id": {"r1"}, auth.OnBehalfOfHeader: {"alice"}, auth.ViaHeader: {"slack"}}
	if diff := cmp.Diff(want, md); diff != "" {
		t.Errorf("outgoing metadata (-want +got):\n%s", diff)
	}
	if _, ok := auth.DelegationFrom(ctx); ok {
		t.Error("OnBehalfOf set a delegation on the client's own context")
	}
	if d, ok := auth.DelegationFrom(auth.WithDelegation(context.Background(), auth.Delegation{By: "n", Via: "slack"})); !ok || d.By != "n" || d.Via != "slack" {
		t.Errorf("DelegationFrom(WithDelegation) = %+v, %v", d, ok)
	}
}
