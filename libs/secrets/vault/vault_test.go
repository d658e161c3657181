// These tests run the Vault provider, through Vault's official Go client,
// against vaulttest: a loopback HTTP stand-in for Vault that implements the
// documented KV v2 and AppRole endpoints the provider uses, because no Vault
// server can run here. It checks the X-Vault-Token header and fails the
// test on any other endpoint.
package vault_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/leakcheck"
	"github.com/penguinmails/floe/libs/secrets/secretstest"
	"github.com/penguinmails/floe/libs/secrets/vault"
	"github.com/penguinmails/floe/libs/secrets/vault/vaulttest"
)

func newProvider(t *testing.T, cfg vault.Config) *vault.Provider {
	t.Helper()
	cfg.Timeout = 10 * time.Second
	p, err := vault.New(natstest.Context(t), cfg)
	if err != nil {
		t.Fatalf("vault.New: %v", err)
	}
	return p
}

func TestConformanceToken(t *testing.T) {
	t.Parallel()
	srv := vaulttest.New(t, vaulttest.Options{})
	secretstest.Run(t, func(t *testing.T) secrets.Provider {
		return newProvider(t, vault.Config{Address: srv.URL, Token: secrets.NewValueString(srv.RootToken)})
	})
	t.Cleanup(func() { checkEndpoints(t, srv, "secret") }) // after the parallel subtests
}

func TestConformanceAppRole(t *testing.T) {
	t.Parallel()
	secretID := leakcheck.Canary()
	srv := vaulttest.New(t, vaulttest.Options{Mount: "kv", RoleID: "floe-flag", SecretID: secretID})
	secretstest.Run(t, func(t *testing.T) secrets.Provider {
		return newProvider(t, vault.Config{Address: srv.URL, Mount: "kv", Prefix: "apps/floe",
			AppRole: &vault.AppRole{RoleID: "floe-flag", SecretID: secrets.NewValueString(secretID)}})
	})
	t.Cleanup(func() { checkEndpoints(t, srv, "kv") })
}

// checkEndpoints asserts every request used a documented endpoint.
func checkEndpoints(t *testing.T, srv *vaulttest.Server, mount string) {
	t.Helper()
	allowed := []string{
		"PUT /v1/" + mount + "/data/", "GET /v1/" + mount + "/data/", "GET /v1/" + mount + "/metadata/",
		"PUT /v1/" + mount + "/destroy/", "PUT /v1/auth/approle/login",
	}
	for _, r := range srv.Requests() {
		if !slices.ContainsFunc(allowed, func(p string) bool { return strings.HasPrefix(r, p) }) {
			t.Errorf("request %s is not one of the documented endpoints", r)
		}
	}
}

func TestStoredShapeAndReadField(t *testing.T) {
	t.Parallel()
	srv := vaulttest.New(t, vaulttest.Options{})
	p := newProvider(t, vault.Config{Address: srv.URL, Token: secrets.NewValueString(srv.RootToken)})
	ctx := natstest.Context(t)
	canary := leakcheck.Canary()
	v, err := p.Put(ctx, "payments/stripe", secrets.NewValueString(canary))
	if err != nil {
		t.Fatal(err)
	}
	if v.Number != 1 || v.KeyID != vault.KeyID || v.Digest != "" {
		t.Errorf("Put = %+v, want version 1, key id %q, no digest", v, vault.KeyID)
	}
	if got := srv.Data("floe/payments/stripe", 1); fmt.Sprint(got[vault.ValueField]) != canary || len(got) != 1 {
		t.Errorf("Vault holds %d fields under floe/payments/stripe; want only %q with the value", len(got), vault.ValueField)
	}

	// An operator's secret, read through a vault:// reference.
	srv.Write("teams/db", map[string]any{"username": "app", "password": canary, "port": 5432, "tls": true, "nested": map[string]any{"a": 1}})
	ref, err := secrets.ParseRef("vault://teams/db#password")
	if err != nil {
		t.Fatal(err)
	}
	got, err := secrets.Resolver{Secrets: p, Vault: p}.Resolve(ctx, ref)
	if err != nil || string(got.Reveal()) != canary {
		t.Fatalf("Resolve(%s): %v", ref, err)
	}
	for key, want := range map[string]string{"username": "app", "port": "5432", "tls": "true"} {
		got, err := p.ReadField(ctx, "teams/db", key)
		if err != nil || string(got.Reveal()) != want {
			t.Errorf("ReadField(teams/db, %s) = %v, %v; want %s", key, got.Reveal(), err, want)
		}
	}
	if _, err := p.ReadField(ctx, "teams/db", "missing"); !secrets.IsNotFound(err) {
		t.Errorf("ReadField of a missing field: %v, want NotFound", err)
	}
	if _, err := p.ReadField(ctx, "teams/db", "nested"); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Errorf("ReadField of an object: %v, want an error saying it is not text", err)
	}
	if _, err := p.ReadField(ctx, "teams/none", "password"); !secrets.IsNotFound(err) {
		t.Errorf("ReadField of a missing secret: %v, want NotFound", err)
	}
	if _, err := p.ReadField(ctx, "../x", "k"); err == nil {
		t.Error("ReadField of an invalid path succeeded")
	}
	if _, err := p.Put(ctx, "bin", secrets.NewValue([]byte{0xff, 0xfe, 0x00, 0x01})); err == nil {
		t.Error("Put of a non-UTF-8 value succeeded; Vault's JSON cannot hold it")
	}
	checkEndpoints(t, srv, "secret")
}

func TestAppRoleLoginAgainWhenTokenExpires(t *testing.T) {
	t.Parallel()
	secretID := leakcheck.Canary()
	srv := vaulttest.New(t, vaulttest.Options{RoleID: "floe", SecretID: secretID})
	p := newProvider(t, vault.Config{Address: srv.URL, AppRole: &vault.AppRole{RoleID: "floe", SecretID: secrets.NewValueString(secretID)}})
	ctx := natstest.Context(t)
	if _, err := p.Put(ctx, "a", secrets.NewValueString("one value")); err != nil {
		t.Fatal(err)
	}
	srv.RevokeTokens()
	if _, err := p.Get(ctx, "a", 1); err != nil {
		t.Fatalf("Get after the token expired: %v", err)
	}
	logins := 0
	for _, r := range srv.Requests() {
		if r == "PUT /v1/auth/approle/login" {
			logins++
		}
	}
	if logins != 2 {
		t.Errorf("%d logins, want 2 (one at start, one after the token expired)", logins)
	}
}

func TestAuthFailuresHoldNoSecrets(t *testing.T) {
	t.Parallel()
	secretID := leakcheck.Canary()
	srv := vaulttest.New(t, vaulttest.Options{RoleID: "floe", SecretID: secretID})
	ctx := natstest.Context(t)

	wrongID := leakcheck.Canary()
	_, err := vault.New(ctx, vault.Config{Address: srv.URL, AppRole: &vault.AppRole{RoleID: "floe", SecretID: secrets.NewValueString(wrongID)}})
	var ue *errs.UnavailableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("login with a wrong secret id: %v, want Unavailable with HTTP 400", err)
	}
	leakcheck.Check(t, []byte(wrongID), map[string][]byte{"the login error": []byte(fmt.Sprint(err))})

	badToken := leakcheck.Canary()
	p := newProvider(t, vault.Config{Address: srv.URL, Token: secrets.NewValueString(badToken)})
	canary := leakcheck.Canary()
	_, err = p.Put(ctx, "x", secrets.NewValueString(canary))
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("Put with a bad token: %v, want Unavailable with HTTP 403 permission denied", err)
	}
	leakcheck.Check(t, []byte(canary), map[string][]byte{"the error": []byte(fmt.Sprint(err))})
	leakcheck.Check(t, []byte(badToken), map[string][]byte{"the error": []byte(fmt.Sprint(err))})
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	srv := vaulttest.New(t, vaulttest.Options{})
	p := newProvider(t, vault.Config{Address: "http://127.0.0.1:1", Token: secrets.NewValueString(srv.RootToken),
		HTTPClient: &http.Client{Timeout: 2 * time.Second}})
	_, err := p.Get(natstest.Context(t), "x", 1)
	var ue *errs.UnavailableError
	if !errors.As(err, &ue) {
		t.Errorf("Get from an unreachable Vault: %v, want Unavailable", err)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tok := secrets.NewValueString("hvs.token")
	tests := []struct {
		name  string
		cfg   vault.Config
		field string
	}{
		{"no address", vault.Config{Token: tok}, "vault.address"},
		{"no credentials", vault.Config{Address: "http://x"}, "vault"},
		{"both credentials", vault.Config{Address: "http://x", Token: tok, AppRole: &vault.AppRole{RoleID: "r", SecretID: tok}}, "vault"},
		{"approle without secret id", vault.Config{Address: "http://x", AppRole: &vault.AppRole{RoleID: "r"}}, "vault.approle.secret_id"},
		{"bad mount", vault.Config{Address: "http://x", Token: tok, Mount: "../sys"}, "vault.mount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := vault.New(t.Context(), tt.cfg)
			var ia *errs.InvalidArgumentError
			if !errors.As(err, &ia) || !slices.ContainsFunc(ia.Violations, func(v errs.FieldViolation) bool { return v.Field == tt.field }) {
				t.Errorf("New: %v, want a violation of %s", err, tt.field)
			}
			if err != nil && strings.Contains(err.Error(), "hvs.token") {
				t.Errorf("the error holds the token: %v", err)
			}
		})
	}
}
