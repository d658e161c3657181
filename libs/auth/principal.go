// Package auth authenticates callers and authorises what they may do.
//
// Every RPC carries a bearer token. Two authenticators exist: a tokens file
// (the embedded default; tokens are stored only as SHA-256 hashes) and OIDC
// JWT validation for production (issuer, audience, JWKS, roles from a claim).
// A Principal has roles, each granted in a set of environments; a Policy maps
// roles to permissions. The gRPC interceptor authenticates every call, refuses
// methods without a declared Rule, and checks the rule's permission; handlers
// check environment-scoped permissions with Require.
//
// A principal granted acts_for in the tokens file may call the methods it
// names on behalf of the principals it names (OnBehalfOf on the client,
// DelegationFrom in handlers); the call then runs as, and is recorded for,
// that principal, with the delegation beside it.
package auth

import (
	"context"
	"slices"
	"sort"
)

// Role is a named set of permissions from the release-management access matrix.
type Role string

// The roles of the access matrix.
const (
	RoleDeveloper      Role = "developer"
	RoleQA             Role = "qa"
	RoleProduct        Role = "product"
	RoleSecurity       Role = "security"
	RoleOperations     Role = "operations"
	RoleSupport        Role = "support"
	RoleReleaseManager Role = "release-manager"
	RoleAdmin          Role = "admin"
)

// Roles lists every known role, in a stable order.
var Roles = []Role{RoleDeveloper, RoleQA, RoleProduct, RoleSecurity, RoleOperations, RoleSupport, RoleReleaseManager, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// RoleBinding grants a role in some environments; no environments means all.
type RoleBinding struct {
	Role         Role     `yaml:"role" json:"role"`
	Environments []string `yaml:"environments,omitempty" json:"environments,omitempty"`
}

// Covers reports whether the binding applies in env. An empty env asks
// "in any environment" and is covered by every binding.
func (b RoleBinding) Covers(env string) bool {
	return env == "" || len(b.Environments) == 0 || slices.Contains(b.Environments, env)
}

// Principal is an authenticated caller. It is written onto every event the
// caller causes (as the floe-actor header), so it must never hold a secret.
type Principal struct {
	ID            string        // stable subject id
	Name          string        // display name, may be empty
	Authenticator string        // "token" or "oidc"
	Roles         []RoleBinding // sorted by role
	// ActsFor is the principal's delegation grant (tokens file only), or nil.
	ActsFor *ActsFor
}

// HasRole reports whether p holds role in env ("" = in any environment).
func (p *Principal) HasRole(role Role, env string) bool {
	for _, b := range p.Roles {
		if b.Role == role && b.Covers(env) {
			return true
		}
	}
	return false
}

// RoleNames returns the distinct role names p holds anywhere, sorted.
func (p *Principal) RoleNames() []string {
	var out []string
	for _, b := range p.Roles {
		if !slices.Contains(out, string(b.Role)) {
			out = append(out, string(b.Role))
		}
	}
	sort.Strings(out)
	return out
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal authenticated for this request, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// System is the principal of work Floe does on its own (timers, reactions to
// events). It holds no roles: such work is authorised by the event that caused it.
var System = &Principal{ID: "system:floe", Name: "Floe", Authenticator: "internal"}
