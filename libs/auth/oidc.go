package auth

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/penguinmails/floe/libs/errs"
)

// OIDCConfig configures JWT validation against an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the expected "iss" claim; discovery is read from Issuer/.well-known/openid-configuration
	// unless JWKSURL is set.
	Issuer string
	// Audience is the expected "aud" claim (Floe's client id at the provider).
	Audience string
	// JWKSURL, when set, is used directly instead of discovery.
	JWKSURL string
	// RolesClaim names the claim holding roles: a list of "role" (every
	// environment) or "role:env1,env2" strings. Default "floe_roles".
	RolesClaim string
	// Algorithms accepted; default RS256, ES256 and EdDSA.
	Algorithms []string
}

// OIDCAuthenticator validates JWT bearer tokens: signature (JWKS), issuer,
// audience and expiry.
type OIDCAuthenticator struct {
	verifier   *oidc.IDTokenVerifier
	rolesClaim string
}

// NewOIDCAuthenticator prepares validation. With no JWKSURL it performs
// discovery now and fails if the provider cannot be reached.
func NewOIDCAuthenticator(ctx context.Context, cfg OIDCConfig) (*OIDCAuthenticator, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("oidc: issuer and audience are required")
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "floe_roles"
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{oidc.RS256, oidc.ES256, oidc.EdDSA}
	}
	vc := &oidc.Config{ClientID: cfg.Audience, SupportedSigningAlgs: cfg.Algorithms}
	var v *oidc.IDTokenVerifier
	if cfg.JWKSURL != "" {
		v = oidc.NewVerifier(cfg.Issuer, oidc.NewRemoteKeySet(context.WithoutCancel(ctx), cfg.JWKSURL), vc)
	} else {
		p, err := oidc.NewProvider(ctx, cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("oidc discovery for %s: %w", cfg.Issuer, err)
		}
		v = p.Verifier(vc)
	}
	return &OIDCAuthenticator{verifier: v, rolesClaim: cfg.RolesClaim}, nil
}

// Authenticate implements Authenticator.
func (a *OIDCAuthenticator) Authenticate(ctx context.Context, token string) (*Principal, error) {
	tok, err := a.verifier.Verify(ctx, token)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return nil, &errs.UnauthenticatedError{Message: "token expired at " + expired.Expiry.UTC().Format("2006-01-02T15:04:05Z")}
		}
		// go-oidc's messages name the failed check (issuer, audience, signature) without echoing the token.
		return nil, &errs.UnauthenticatedError{Message: "invalid token: " + err.Error()}
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, &errs.UnauthenticatedError{Message: "invalid token claims"}
	}
	if tok.Subject == "" {
		// The subject becomes the actor on every event; a token without one cannot be attributed.
		return nil, &errs.UnauthenticatedError{Message: "token has no subject (sub) claim"}
	}
	p := &Principal{ID: tok.Subject, Authenticator: "oidc"}
	if n, ok := claims["name"].(string); ok {
		p.Name = n
	} else if e, ok := claims["email"].(string); ok {
		p.Name = e
	}
	roles, err := parseRoleClaims(claims[a.rolesClaim])
	if err != nil {
		return nil, &errs.UnauthenticatedError{Message: fmt.Sprintf("claim %q: %v", a.rolesClaim, err)}
	}
	p.Roles = roles
	return p, nil
}

// parseRoleClaims reads ["developer", "operations:staging,production"].
// Unknown roles are refused rather than ignored, so a typo in the identity
// provider shows up instead of silently granting less.
func parseRoleClaims(v any) ([]RoleBinding, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("must be a list of strings")
	}
	var out []RoleBinding
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, errors.New("must be a list of strings")
		}
		role, envs, _ := strings.Cut(s, ":")
		rb := RoleBinding{Role: Role(strings.TrimSpace(role))}
		if !rb.Role.Valid() {
			return nil, fmt.Errorf("unknown role %q", role)
		}
		if envs != "" {
			for _, e := range strings.Split(envs, ",") {
				if e = strings.TrimSpace(e); e != "" {
					rb.Environments = append(rb.Environments, e)
				}
			}
		}
		out = append(out, rb)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Role < out[j].Role })
	return out, nil
}

// Chain tries JWT-shaped tokens on the OIDC authenticator and everything else
// on the tokens file. Either may be nil, but not both.
type Chain struct {
	Tokens Authenticator
	OIDC   Authenticator
}

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if strings.Count(token, ".") == 2 && c.OIDC != nil {
		return c.OIDC.Authenticate(ctx, token)
	}
	if c.Tokens != nil {
		return c.Tokens.Authenticate(ctx, token)
	}
	return nil, &errs.UnauthenticatedError{Message: "token is not a JWT and no tokens file is configured"}
}

// Lookup implements Directory with the tokens file's principals: OIDC users
// are known only from their tokens, so they are never delegation targets.
func (c Chain) Lookup(ctx context.Context, id string) (*Principal, error) {
	if d, ok := c.Tokens.(Directory); ok {
		return d.Lookup(ctx, id)
	}
	return nil, fmt.Errorf("%w %q: no tokens file is configured", ErrUnknownPrincipal, id)
}
