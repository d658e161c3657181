package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
)

const (
	testAudience = "floe"
	testKeyID    = "key-1"
)

// RSA key generation is slow under -race; the two keys are made once.
var (
	signingKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSAKey() })
	otherKey   = sync.OnceValue(func() *rsa.PrivateKey { return mustRSAKey() })
)

func mustRSAKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// provider is a minimal OpenID Connect provider: a discovery document and a
// JWKS holding the public half of signingKey.
type provider struct {
	srv *httptest.Server
}

func (p *provider) issuer() string  { return p.srv.URL }
func (p *provider) jwksURL() string { return p.srv.URL + "/keys" }

func newProvider(t *testing.T) *provider {
	t.Helper()
	pub := signingKey().PublicKey
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": testKeyID,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.issuer(),
			"jwks_uri":                              p.jwksURL(),
			"authorization_endpoint":                p.issuer() + "/authorize",
			"token_endpoint":                        p.issuer() + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// sign returns an RS256 JWT with the kid of the provider's JWKS.
func sign(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = testKeyID
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// claims returns valid claims for p, changed by edit.
func claims(p *provider, edit func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss":        p.issuer(),
		"aud":        testAudience,
		"sub":        "user-1",
		"name":       "Ada Lovelace",
		"email":      "ada@example.com",
		"iat":        now.Add(-time.Minute).Unix(),
		"exp":        now.Add(time.Hour).Unix(),
		"floe_roles": []string{"developer", "operations:staging,production"},
	}
	if edit != nil {
		edit(c)
	}
	return c
}

func TestOIDCAuthenticator(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	ctx := context.Background()

	modes := []struct {
		name string
		cfg  auth.OIDCConfig
	}{
		{name: "discovery", cfg: auth.OIDCConfig{Issuer: p.issuer(), Audience: testAudience}},
		{name: "jwks url", cfg: auth.OIDCConfig{Issuer: p.issuer(), Audience: testAudience, JWKSURL: p.jwksURL()}},
	}
	expiredAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  *auth.Principal
		// wantErr, when set, must appear in the *errs.UnauthenticatedError.
		wantErr string
	}{
		{
			name:  "valid token with role bindings",
			token: func(t *testing.T) string { return sign(t, signingKey(), claims(p, nil)) },
			want: &auth.Principal{ID: "user-1", Name: "Ada Lovelace", Authenticator: "oidc", Roles: []auth.RoleBinding{
				{Role: auth.RoleDeveloper},
				{Role: auth.RoleOperations, Environments: []string{"staging", "production"}},
			}},
		},
		{
			name: "roles are sorted and spaces trimmed",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) {
					c["floe_roles"] = []string{"qa: staging , ,production", "admin"}
				}))
			},
			want: &auth.Principal{ID: "user-1", Name: "Ada Lovelace", Authenticator: "oidc", Roles: []auth.RoleBinding{
				{Role: auth.RoleAdmin},
				{Role: auth.RoleQA, Environments: []string{"staging", "production"}},
			}},
		},
		{
			name: "email when there is no name, no roles claim",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) {
					delete(c, "name")
					delete(c, "floe_roles")
				}))
			},
			want: &auth.Principal{ID: "user-1", Name: "ada@example.com", Authenticator: "oidc"},
		},
		{
			name: "no subject",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) { delete(c, "sub") }))
			},
			wantErr: "no subject",
		},
		{
			name: "expired",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) {
					c["iat"] = expiredAt.Add(-time.Hour).Unix()
					c["exp"] = expiredAt.Unix()
				}))
			},
			wantErr: "token expired at " + expiredAt.UTC().Format(time.RFC3339),
		},
		{
			name: "wrong audience",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) { c["aud"] = "someone-else" }))
			},
			wantErr: "audience",
		},
		{
			name: "wrong issuer",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" }))
			},
			wantErr: "issued by a different provider",
		},
		{
			name:    "signed by a different key with the same kid",
			token:   func(t *testing.T) string { return sign(t, otherKey(), claims(p, nil)) },
			wantErr: "signature",
		},
		{
			name: "HMAC-signed token",
			token: func(t *testing.T) string {
				s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(p, nil)).SignedString([]byte("shared-secret"))
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			wantErr: "invalid token",
		},
		{
			name: "unknown role in the claim",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) { c["floe_roles"] = []string{"developer", "wizard:production"} }))
			},
			wantErr: `unknown role "wizard"`,
		},
		{
			name: "roles claim not a list",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) { c["floe_roles"] = "admin" }))
			},
			wantErr: "must be a list of strings",
		},
		{
			name: "roles claim with a non-string",
			token: func(t *testing.T) string {
				return sign(t, signingKey(), claims(p, func(c jwt.MapClaims) { c["floe_roles"] = []any{"developer", 7} }))
			},
			wantErr: "must be a list of strings",
		},
		{
			name:    "not a JWT",
			token:   func(*testing.T) string { return "floe_not-a-jwt" },
			wantErr: "invalid token",
		},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			a, err := auth.NewOIDCAuthenticator(ctx, m.cfg)
			if err != nil {
				t.Fatalf("NewOIDCAuthenticator: %v", err)
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					token := tt.token(t)
					got, err := a.Authenticate(ctx, token)
					if tt.wantErr == "" {
						if err != nil {
							t.Fatalf("Authenticate: %v", err)
						}
						if diff := cmp.Diff(tt.want, got); diff != "" {
							t.Errorf("Authenticate mismatch (-want +got):\n%s", diff)
						}
						return
					}
					var ue *errs.UnauthenticatedError
					if !errors.As(err, &ue) {
						t.Fatalf("Authenticate = %v, %T %v; want *errs.UnauthenticatedError", got, err, err)
					}
					if !strings.Contains(ue.Message, tt.wantErr) {
						t.Errorf("error message %q does not contain %q", ue.Message, tt.wantErr)
					}
					if strings.Contains(err.Error(), token) {
						t.Errorf("error %q echoes the token", err)
					}
				})
			}
		})
	}
}

func TestOIDCCustomRolesClaim(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	a, err := auth.NewOIDCAuthenticator(context.Background(), auth.OIDCConfig{
		Issuer: p.issuer(), Audience: testAudience, JWKSURL: p.jwksURL(), RolesClaim: "groups",
	})
	if err != nil {
		t.Fatal(err)
	}
	token := sign(t, signingKey(), claims(p, func(c jwt.MapClaims) { c["groups"] = []string{"security:production"} }))
	got, err := a.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := []auth.RoleBinding{{Role: auth.RoleSecurity, Environments: []string{"production"}}}
	if diff := cmp.Diff(want, got.Roles); diff != "" {
		t.Errorf("roles from the custom claim mismatch (-want +got):\n%s", diff)
	}
}

func TestNewOIDCAuthenticatorErrors(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	tests := []struct {
		name    string
		cfg     auth.OIDCConfig
		wantErr string
	}{
		{name: "no issuer", cfg: auth.OIDCConfig{Audience: testAudience}, wantErr: "issuer and audience are required"},
		{name: "no audience", cfg: auth.OIDCConfig{Issuer: p.issuer()}, wantErr: "issuer and audience are required"},
		{name: "discovery unreachable", cfg: auth.OIDCConfig{Issuer: down.URL, Audience: testAudience}, wantErr: "oidc discovery for " + down.URL},
		{name: "discovery names another issuer", cfg: auth.OIDCConfig{Issuer: p.issuer() + "/", Audience: testAudience}, wantErr: "oidc discovery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.NewOIDCAuthenticator(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewOIDCAuthenticator(%+v) error = %v, want one containing %q", tt.cfg, err, tt.wantErr)
			}
		})
	}
}

// TestChain routes JWT-shaped tokens to OIDC and the rest to the tokens file,
// with both authenticators real.
func TestChain(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	oidcAuth, err := auth.NewOIDCAuthenticator(context.Background(), auth.OIDCConfig{Issuer: p.issuer(), Audience: testAudience, JWKSURL: p.jwksURL()})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	data, err := (&auth.TokensFile{Principals: []auth.TokenEntry{{ID: "robot", TokenSHA256: auth.HashToken("floe_robot"), Roles: []auth.RoleBinding{{Role: auth.RoleSupport}}}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tokensAuth, err := auth.NewTokenFileAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	jwtToken := sign(t, signingKey(), claims(p, nil))

	tests := []struct {
		name      string
		chain     auth.Chain
		token     string
		wantID    string
		wantAuthn string
	}{
		{name: "JWT goes to OIDC", chain: auth.Chain{Tokens: tokensAuth, OIDC: oidcAuth}, token: jwtToken, wantID: "user-1", wantAuthn: "oidc"},
		{name: "opaque token goes to the tokens file", chain: auth.Chain{Tokens: tokensAuth, OIDC: oidcAuth}, token: "floe_robot", wantID: "robot", wantAuthn: "token"},
		{name: "JWT without OIDC falls to the tokens file", chain: auth.Chain{Tokens: tokensAuth}, token: jwtToken},
		{name: "opaque token without a tokens file", chain: auth.Chain{OIDC: oidcAuth}, token: "floe_robot"},
		{name: "nothing configured", chain: auth.Chain{}, token: "floe_robot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.chain.Authenticate(context.Background(), tt.token)
			if tt.wantID == "" {
				var ue *errs.UnauthenticatedError
				if !errors.As(err, &ue) {
					t.Errorf("Authenticate = %v, %v; want *errs.UnauthenticatedError", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if got.ID != tt.wantID || got.Authenticator != tt.wantAuthn {
				t.Errorf("Authenticate = %s via %s, want %s via %s", got.ID, got.Authenticator, tt.wantID, tt.wantAuthn)
			}
		})
	}
}
