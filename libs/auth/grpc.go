package auth

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/penguinmails/floe/libs/errs"
)

// Rule says who may call one RPC. Public methods skip authentication (only
// health checking and reflection are public); every other method needs a
// valid token and, at the interceptor, Permission in at least one
// environment. Handlers narrow that to the environment the request names
// with Authorizer.Require.
//
// InHandler methods are authenticated by their handler, not here: protocols
// whose clients cannot send an authorization header (flagd's sync protocol
// carries its credential in the request's selector) read the token where it
// travels and call Authenticator and Authorizer themselves.
//
// Delegable methods accept delegated calls (OnBehalfOf): their handlers
// record DelegationFrom beside the principal in what they write, so the log
// shows who decided and through whom. Other methods refuse them, whatever
// acts_for grants say.
type Rule struct {
	Public     bool
	InHandler  bool
	Permission Permission
	Delegable  bool
}

// Rules maps full method names ("/pkg.Service/Method") to their rule.
type Rules map[string]Rule

// PublicPrefixes are the services any caller may reach without a token:
// gRPC health checking (load balancers and probes carry no tokens) and
// server reflection (it exposes the schema, never data).
var PublicPrefixes = []string{"/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"}

// Merge adds other's rules to r, failing on a method declared twice.
func (r Rules) Merge(other Rules) error {
	for m, rule := range other {
		if _, dup := r[m]; dup {
			return fmt.Errorf("authorization rule for %s declared twice", m)
		}
		r[m] = rule
	}
	return nil
}

// Missing returns the methods of srv that have no rule and are not public.
// Servers refuse to start while any exist: a new RPC is never open by accident.
func (r Rules) Missing(srv *grpc.Server) []string {
	var missing []string
	for svc, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + svc + "/" + m.Name
			if _, ok := r[full]; !ok && !isPublic(full) {
				missing = append(missing, full)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

func isPublic(method string) bool {
	for _, p := range PublicPrefixes {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

// Interceptor authenticates and authorises gRPC calls.
//
// A call carrying OnBehalfOfHeader and ViaHeader is delegated: the caller
// authenticates as usual, its acts_for grant must cover the method and the
// principal named, the method's rule must be Delegable, and the Directory
// must know the principal. The call then runs as that principal (its roles,
// not the caller's, meet the rule) with DelegationFrom saying by whom and
// via what. Malformed headers are InvalidArgument; every refusal is
// PermissionDenied naming PermActsFor and what is missing. Public and
// InHandler methods refuse the headers.
type Interceptor struct {
	authn Authenticator
	authz *Authorizer
	rules Rules
	dir   Directory
	// OnPrincipal, if set, is told of each authenticated principal (the
	// runtime uses it to put user_id on the request's log line). For a
	// delegated call it is told twice: of the caller, then — with a context
	// carrying DelegationFrom — of the principal the call is made for.
	OnPrincipal func(ctx context.Context, p *Principal)
}

// NewInterceptor returns an interceptor; authn, authz and rules must not be
// nil. When authn is also a Directory (TokenFileAuthenticator, Chain), it
// is the directory of delegation targets; otherwise delegated calls are
// refused.
func NewInterceptor(authn Authenticator, authz *Authorizer, rules Rules) (*Interceptor, error) {
	if authn == nil || authz == nil || rules == nil {
		return nil, fmt.Errorf("auth interceptor: authenticator, authorizer and rules are required")
	}
	dir, _ := authn.(Directory)
	return &Interceptor{authn: authn, authz: authz, rules: rules, dir: dir}, nil
}

func (i *Interceptor) check(ctx context.Context, method string) (context.Context, error) {
	rule, ok := i.rules[method]
	delegated := delegationRequested(ctx)
	if isPublic(method) || (ok && (rule.Public || rule.InHandler)) {
		if delegated {
			// Nothing here would check the grant: refuse rather than ignore.
			return ctx, &errs.PermissionDeniedError{Principal: "the caller", Permission: PermActsFor,
				Detail: fmt.Sprintf("%s and %s are not accepted on %s, which is public or authenticates in its handler", OnBehalfOfHeader, ViaHeader, method)}
		}
		return ctx, nil
	}
	token, err := bearer(ctx)
	if err != nil {
		return ctx, err
	}
	p, err := i.authn.Authenticate(ctx, token)
	if err != nil {
		return ctx, err
	}
	ctx = WithPrincipal(ctx, p)
	if i.OnPrincipal != nil {
		i.OnPrincipal(ctx, p)
	}
	if !ok {
		return ctx, &errs.PermissionDeniedError{Principal: p.ID, Permission: "(none declared)", Detail: "method " + method + " has no authorization rule"}
	}
	if delegated {
		target, d, err := i.delegate(ctx, p, method, rule)
		if err != nil {
			return ctx, err
		}
		// From here on the call is the target's: its roles meet the rule,
		// and it is the actor of what the call writes.
		ctx = WithDelegation(WithPrincipal(ctx, target), d)
		if i.OnPrincipal != nil {
			i.OnPrincipal(ctx, target)
		}
	}
	return ctx, i.authz.Require(ctx, rule.Permission, "")
}

// BearerToken is the token of the request's 'authorization: Bearer' header
// (an UnauthenticatedError when it is missing or malformed).
func BearerToken(ctx context.Context) (string, error) { return bearer(ctx) }

func bearer(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return "", &errs.UnauthenticatedError{Message: "missing bearer token: send the header 'authorization: Bearer <token>'"}
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return "", &errs.UnauthenticatedError{Message: "malformed authorization header: expected 'Bearer <token>'"}
	}
	return strings.TrimSpace(token), nil
}

// Unary is the unary server interceptor.
func (i *Interceptor) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, err := i.check(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// Stream is the stream server interceptor.
func (i *Interceptor) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, err := i.check(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return h(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

// BearerCredentials is a grpc.PerRPCCredentials sending a static bearer token.
type BearerCredentials struct {
	Token string
	// AllowInsecure permits sending the token over a plaintext connection
	// (loopback development only).
	AllowInsecure bool
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b BearerCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.Token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (b BearerCredentials) RequireTransportSecurity() bool { return !b.AllowInsecure }
