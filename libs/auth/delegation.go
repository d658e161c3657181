package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/penguinmails/floe/libs/errs"
)

// Headers of a delegated call ("act on behalf"): a caller holding an acts_for
// grant sends them with its own bearer token to make the call as another
// principal. Both are required together.
const (
	// OnBehalfOfHeader names the principal (its id) the call is made for.
	OnBehalfOfHeader = "floe-on-behalf-of"
	// ViaHeader names the channel the principal's decision came through
	// ("slack"): a short token matching ViaPattern.
	ViaHeader = "floe-via"
)

// ViaPattern is what a channel name in ViaHeader must match.
const ViaPattern = `^[a-z0-9-]{1,32}$`

var validVia = regexp.MustCompile(ViaPattern)

// PermActsFor is the permission named by the PermissionDeniedError of a
// refused delegation (the ErrorInfo metadata "permission"). No role grants
// it: delegation is granted per principal, by acts_for in the tokens file.
const PermActsFor = "acts_for"

// methodShape is a full gRPC method name, "/pkg.Service/Method".
var methodShape = regexp.MustCompile(`^/[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+/[A-Za-z_][A-Za-z0-9_]*$`)

// ActsFor is a delegation grant: the principal holding it may call Methods
// on behalf of Principals, naming them in OnBehalfOfHeader. Both lists are
// explicit — no wildcards — and the grant adds nothing to what the holder may
// do as itself. It is granted in the tokens file only (see TokenEntry).
type ActsFor struct {
	// Methods are full method names ("/floe.release.v1.ReleaseService/Approve").
	Methods []string `yaml:"methods" json:"methods"`
	// Principals are the ids of the principals it may act for.
	Principals []string `yaml:"principals" json:"principals"`
}

// Directory looks principals up by id, without a token: the interceptor
// asks it for the principal a delegated call is made for, whose roles then
// decide what the call may do. TokenFileAuthenticator is one (its file's
// principals); OIDC users are not in any directory, so they cannot be the
// target of a delegation.
type Directory interface {
	// Lookup returns the principal with id, or an error wrapping
	// ErrUnknownPrincipal when there is none.
	Lookup(ctx context.Context, id string) (*Principal, error)
}

// ErrUnknownPrincipal is returned by a Directory for an id it does not hold.
var ErrUnknownPrincipal = errors.New("unknown principal")

// Delegation describes a call made on behalf of the context's principal.
type Delegation struct {
	// By is the id of the principal that made the call (the delegate: its
	// token authenticated the call, its acts_for grant allowed it).
	By string
	// Via is the channel the principal's decision came through ("slack").
	Via string
}

type delegationKey struct{}

// WithDelegation returns ctx recording that its principal's call was made by d.By via d.Via.
func WithDelegation(ctx context.Context, d Delegation) context.Context {
	return context.WithValue(ctx, delegationKey{}, d)
}

// DelegationFrom reports whether the request was made on behalf of the
// context's principal (FromContext), and by whom and through what channel.
// Handlers record it beside the principal in what they write.
func DelegationFrom(ctx context.Context) (Delegation, bool) {
	d, ok := ctx.Value(delegationKey{}).(Delegation)
	return d, ok
}

// OnBehalfOf returns ctx whose outgoing gRPC calls are made on behalf of
// the principal principalID, the decision having come through channel via
// (e.g. "slack"). The caller's own credentials still authenticate the call;
// the server accepts it only when they hold an acts_for grant covering the
// method and the principal. Earlier values of the two headers are replaced.
func OnBehalfOf(ctx context.Context, principalID, via string) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set(OnBehalfOfHeader, principalID)
	md.Set(ViaHeader, via)
	return metadata.NewOutgoingContext(ctx, md)
}

// delegationRequested reports whether the request carries either delegation header.
func delegationRequested(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get(OnBehalfOfHeader)) > 0 || len(md.Get(ViaHeader)) > 0
}

// delegationHeaders reads and checks the delegation headers: exactly one
// value each, a non-empty principal id, a channel matching ViaPattern.
func delegationHeaders(ctx context.Context) (principal, via string, err error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var v errs.Violations
	one := func(name string) (string, bool) {
		switch vals := md.Get(name); len(vals) {
		case 0:
			v.Add(name, "is required: send %s and %s together", OnBehalfOfHeader, ViaHeader)
		case 1:
			return vals[0], true
		default:
			v.Add(name, "is sent %d times; send it once", len(vals))
		}
		return "", false
	}
	principal, okP := one(OnBehalfOfHeader)
	via, okV := one(ViaHeader)
	if okP && principal == "" {
		v.Add(OnBehalfOfHeader, "is empty: name the id of the principal the call is made for")
	}
	if okV && !validVia.MatchString(via) {
		v.Add(ViaHeader, "%q is not a channel name: 1-32 lower case ASCII letters, digits or '-' (%s)", via, ViaPattern)
	}
	return principal, via, v.Err()
}

// delegate checks a delegated call to method by caller and returns the
// principal it is made for. The caller's grant must cover the method and the
// principal, the method must accept delegated calls (its rule records them),
// and the directory must know the principal.
func (i *Interceptor) delegate(ctx context.Context, caller *Principal, method string, rule Rule) (*Principal, Delegation, error) {
	target, via, err := delegationHeaders(ctx)
	if err != nil {
		return nil, Delegation{}, err
	}
	refuse := func(format string, args ...any) error {
		return &errs.PermissionDeniedError{Principal: caller.ID, Permission: PermActsFor,
			Detail: fmt.Sprintf("may not call %s on behalf of %s: ", method, target) + fmt.Sprintf(format, args...)}
	}
	g := caller.ActsFor
	switch {
	case g == nil:
		return nil, Delegation{}, refuse("%s holds no acts_for grant", caller.ID)
	case !slices.Contains(g.Methods, method):
		return nil, Delegation{}, refuse("its acts_for grant does not cover the method (it covers %s)", strings.Join(g.Methods, ", "))
	case !slices.Contains(g.Principals, target):
		return nil, Delegation{}, refuse("its acts_for grant does not cover the principal (it covers %s)", strings.Join(g.Principals, ", "))
	case !rule.Delegable:
		return nil, Delegation{}, refuse("the method does not accept delegated calls (it would not record the delegation)")
	case i.dir == nil:
		return nil, Delegation{}, refuse("the server has no directory of principals (delegation targets must be principals of the tokens file)")
	}
	p, err := i.dir.Lookup(ctx, target)
	if errors.Is(err, ErrUnknownPrincipal) {
		return nil, Delegation{}, refuse("%s is not in the directory of principals (delegation targets must be principals of the tokens file)", target)
	}
	if err != nil {
		return nil, Delegation{}, fmt.Errorf("look up principal %s: %w", target, err)
	}
	return p, Delegation{By: caller.ID, Via: via}, nil
}
