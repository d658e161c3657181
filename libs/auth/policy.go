package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/penguinmails/floe/libs/errs"
)

// Permission is "<domain>.<action>", e.g. "release.approve". A policy may
// grant "<domain>.*" or "*".
type Permission string

// Permissions used across services. Each service documents which RPC needs which.
const (
	PermSystemRead  Permission = "system.read"  // server info, whoami, list views
	PermSystemAdmin Permission = "system.admin" // rebuild views
	PermAuditRead   Permission = "audit.read"   // read and verify the audit log
	PermAuditAdmin  Permission = "audit.admin"  // write checkpoints on demand
)

// Policy maps each role to the permissions it grants.
type Policy map[Role][]Permission

// DefaultPolicy is the built-in access matrix, from the release-management
// guide: developers build and ship to lower environments, QA owns testing,
// product approves scope, security reviews and audits, operations runs
// production, support reads, release managers run the process, admins do all.
// Where a role applies (which environments) comes from its binding, not from
// here.
func DefaultPolicy() Policy {
	read := []Permission{"system.read", "release.read", "gate.read", "deploy.read", "flag.read", "config.read", "monitor.read", "notify.read", "integrity.read", "change.read"}
	return Policy{
		RoleDeveloper:      append(read, "release.write", "release.promote", "gate.record", "flag.write", "config.write", "deploy.operate", "change.submit"),
		RoleQA:             append(read, "release.approve", "gate.record", "gate.override"),
		RoleProduct:        append(read, "release.approve", "flag.write", "change.submit", "change.approve"),
		RoleSecurity:       append(read, "release.approve", "gate.record", "audit.read", "audit.admin", "integrity.acknowledge", "secret.read", "change.review", "change.approve"),
		RoleOperations:     append(read, "release.approve", "release.promote", "deploy.operate", "deploy.rollback", "flag.write", "flag.kill", "config.write", "secret.read", "secret.write", "monitor.write", "notify.write", "change.submit", "change.review", "change.approve", "change.schedule", "change.calendar", "change.override"),
		RoleSupport:        append(read[:0:0], read...),
		RoleReleaseManager: append(read, "release.*", "gate.*", "deploy.*", "flag.*", "config.*", "secret.*", "monitor.*", "notify.*", "change.*", "audit.read"),
		RoleAdmin:          {"*"},
	}
}

// Grants reports whether the policy gives role the permission perm.
func (pol Policy) Grants(role Role, perm Permission) bool {
	for _, g := range pol[role] {
		if g == "*" || g == perm {
			return true
		}
		if prefix, ok := strings.CutSuffix(string(g), ".*"); ok && strings.HasPrefix(string(perm), prefix+".") {
			return true
		}
	}
	return false
}

// Allows reports whether p holds perm in env (env "" = in at least one environment).
func (pol Policy) Allows(p *Principal, perm Permission, env string) bool {
	for _, b := range p.Roles {
		if b.Covers(env) && pol.Grants(b.Role, perm) {
			return true
		}
	}
	return false
}

// Authorizer checks permissions against a policy.
type Authorizer struct{ policy Policy }

// NewAuthorizer returns an Authorizer for pol (DefaultPolicy when nil).
func NewAuthorizer(pol Policy) *Authorizer {
	if pol == nil {
		pol = DefaultPolicy()
	}
	return &Authorizer{policy: pol}
}

// Require returns nil when the request's principal holds perm in env, an
// *errs.UnauthenticatedError when there is no principal, and an
// *errs.PermissionDeniedError naming the permission otherwise.
func (a *Authorizer) Require(ctx context.Context, perm Permission, env string) error {
	p, ok := FromContext(ctx)
	if !ok {
		return &errs.UnauthenticatedError{Message: "no authenticated principal"}
	}
	if a.policy.Allows(p, perm, env) {
		return nil
	}
	detail := ""
	if len(p.Roles) == 0 {
		detail = "the principal has no roles"
	} else {
		detail = fmt.Sprintf("roles held: %s", strings.Join(p.RoleNames(), ", "))
	}
	return &errs.PermissionDeniedError{Principal: p.ID, Permission: string(perm), Environment: env, Detail: detail}
}
