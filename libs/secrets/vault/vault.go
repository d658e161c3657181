// Package vault is the secrets.Provider on HashiCorp Vault's KV v2 secrets
// engine, through Vault's official Go client (github.com/hashicorp/vault/api):
// the guide's `secrets: strategy: 'vault'`.
//
// A secret://<name> is the Vault secret <Prefix>/<name> under the KV v2
// mount, its value in the data field "value" (Vault stores JSON, so a value
// must be UTF-8 text); Vault numbers the versions, keeps several live, and
// Destroy uses Vault's destroy endpoint, which removes a version's data for
// good. A vault://<path>#<key> reference reads field key of the secret at
// path under the same mount (ReadField), for secrets Floe does not write.
//
// It authenticates with a token, or with AppRole (auth/<mount>/login),
// logging in again once when Vault answers 403 (an expired token). The
// endpoints it uses are exactly:
//
//	PUT  /v1/<mount>/data/<path>               write a version
//	GET  /v1/<mount>/data/<path>[?version=N]   read the latest or version N
//	GET  /v1/<mount>/metadata/<path>           the versions
//	PUT  /v1/<mount>/destroy/<path>            destroy versions
//	PUT  /v1/auth/<approle mount>/login        AppRole login
//
// Errors carry the operation, path, HTTP status and Vault's own error
// messages, never a request or response body: no value can leak through them.
package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/vault/api"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Defaults of Config.
const (
	DefaultMount        = "secret"
	DefaultPrefix       = "floe"
	DefaultAppRoleMount = "approle"
	// ValueField is the data field a secret://<name> value is kept in.
	ValueField = "value"
	// KeyID is the Version.KeyID of a Vault version: Vault holds the keys.
	KeyID = "vault"
)

// Config configures the Vault provider.
type Config struct {
	// Address is Vault's URL, e.g. https://vault.example:8200 (required).
	Address string
	// Mount is the KV v2 mount (DefaultMount when empty).
	Mount string
	// Prefix is the path under Mount where secret://<name> secrets live
	// (DefaultPrefix when empty); vault:// paths are not prefixed.
	Prefix string
	// Namespace is the Vault Enterprise namespace, if any.
	Namespace string
	// Token authenticates with a token. Exactly one of Token and AppRole.
	Token secrets.Value
	// AppRole authenticates with AppRole.
	AppRole *AppRole
	// HTTPClient is the client to use (TLS settings); Vault's default when nil.
	HTTPClient *http.Client
	// Timeout bounds each request (Vault's default, 60s, when 0).
	Timeout time.Duration
}

// AppRole are AppRole credentials.
type AppRole struct {
	// Mount is the AppRole auth mount (DefaultAppRoleMount when empty).
	Mount string
	// RoleID is the role's id (not secret by itself).
	RoleID string
	// SecretID is the role's secret id.
	SecretID secrets.Value
}

// Provider is the Vault secrets.Provider. It is safe for concurrent use.
type Provider struct {
	client  *api.Client
	kv      *api.KVv2
	mount   string
	prefix  string
	appRole *AppRole

	loginMu sync.Mutex
}

var (
	_ secrets.Provider    = (*Provider)(nil)
	_ secrets.FieldReader = (*Provider)(nil)
)

// New returns a Provider, logged in when it uses AppRole.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	var v errs.Violations
	if cfg.Address == "" {
		v.Add("vault.address", "is required")
	}
	if cfg.Mount == "" {
		cfg.Mount = DefaultMount
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !secrets.ValidPath(cfg.Mount) {
		v.Add("vault.mount", "is not a valid path: %s", secrets.PathDescription)
	}
	if !secrets.ValidPath(cfg.Prefix) {
		v.Add("vault.prefix", "is not a valid path: %s", secrets.PathDescription)
	}
	switch {
	case cfg.Token.IsZero() && cfg.AppRole == nil:
		v.Add("vault", "needs a token or AppRole credentials")
	case !cfg.Token.IsZero() && cfg.AppRole != nil:
		v.Add("vault", "has both a token and AppRole credentials: choose one")
	case cfg.AppRole != nil:
		if cfg.AppRole.Mount == "" {
			cfg.AppRole.Mount = DefaultAppRoleMount
		}
		if !secrets.ValidPath(cfg.AppRole.Mount) {
			v.Add("vault.approle.mount", "is not a valid path: %s", secrets.PathDescription)
		}
		if cfg.AppRole.RoleID == "" {
			v.Add("vault.approle.role_id", "is required")
		}
		if cfg.AppRole.SecretID.IsZero() {
			v.Add("vault.approle.secret_id", "is required")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	vc := api.DefaultConfig() // reads VAULT_* variables; what follows overrides them
	vc.Address = cfg.Address
	if cfg.HTTPClient != nil {
		vc.HttpClient = cfg.HTTPClient
	}
	if cfg.Timeout > 0 {
		vc.Timeout = cfg.Timeout
	}
	client, err := api.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	client.ClearToken() // never a VAULT_TOKEN from the environment by accident
	if cfg.Namespace != "" {
		client.SetNamespace(cfg.Namespace)
	}
	p := &Provider{client: client, kv: client.KVv2(cfg.Mount), mount: cfg.Mount, prefix: cfg.Prefix, appRole: cfg.AppRole}
	if cfg.AppRole != nil {
		if err := p.login(ctx, ""); err != nil {
			return nil, err
		}
	} else {
		client.SetToken(string(cfg.Token.Reveal()))
	}
	return p, nil
}

// login logs in with AppRole unless another goroutine did since stale (the
// token that failed) was current.
func (p *Provider) login(ctx context.Context, stale string) error {
	p.loginMu.Lock()
	defer p.loginMu.Unlock()
	if stale != "" && p.client.Token() != stale {
		return nil
	}
	path := "auth/" + p.appRole.Mount + "/login"
	p.client.ClearToken()
	s, err := p.client.Logical().WriteWithContext(ctx, path, map[string]any{
		"role_id":   p.appRole.RoleID,
		"secret_id": string(p.appRole.SecretID.Reveal()),
	})
	if err != nil {
		return describe("AppRole login", path, err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return &errs.UnavailableError{What: "vault", Err: errors.New("AppRole login: the answer holds no token")}
	}
	p.client.SetToken(s.Auth.ClientToken)
	return nil
}

// call runs op, logging in again and retrying once when Vault refuses the
// token (403) and AppRole is configured.
func (p *Provider) call(ctx context.Context, op func() error) error {
	token := p.client.Token()
	err := op()
	var re *api.ResponseError
	if p.appRole == nil || !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		return err
	}
	if lerr := p.login(ctx, token); lerr != nil {
		return lerr
	}
	return op()
}

// describe turns an error of the Vault client into one that names the
// operation and path but holds no body: a 404 is NotFound, anything else
// Unavailable with the status and Vault's own messages.
func describe(op, path string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("vault: %s %s: %w", op, path, err)
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		msg := fmt.Sprintf("%s %s: HTTP %d", op, path, re.StatusCode)
		if !re.RawError && len(re.Errors) > 0 { // Vault's messages; a raw body is never repeated
			msg += ": " + strings.Join(re.Errors, "; ")
		}
		return &errs.UnavailableError{What: "vault", Err: errors.New(msg)}
	}
	if errors.Is(err, api.ErrSecretNotFound) {
		return &errs.NotFoundError{Kind: "vault secret", ID: path}
	}
	// A transport error (dial, TLS, timeout) names the URL and the cause;
	// anything else is the client failing to parse an answer, whose text
	// could quote it, so it is not repeated.
	var ue *url.Error
	if errors.As(err, &ue) {
		return &errs.UnavailableError{What: "vault", Err: fmt.Errorf("%s %s: %w", op, path, ue)}
	}
	return &errs.UnavailableError{What: "vault", Err: fmt.Errorf("%s %s: unexpected answer", op, path)}
}

func (p *Provider) path(name string) string { return p.prefix + "/" + name }

func checkName(name string) error {
	var v errs.Violations
	secrets.CheckName(&v, "name", name)
	return v.Err()
}

// Put writes v as a new version of name.
func (p *Provider) Put(ctx context.Context, name string, v secrets.Value) (secrets.Version, error) {
	if err := checkName(name); err != nil {
		return secrets.Version{}, err
	}
	switch {
	case v.IsZero():
		return secrets.Version{}, errs.Invalid("value", "is required")
	case !utf8.Valid(v.Reveal()):
		return secrets.Version{}, errs.Invalid("value", "is not UTF-8 text, which Vault's JSON needs")
	}
	path := p.path(name)
	var s *api.KVSecret
	err := p.call(ctx, func() (err error) {
		s, err = p.kv.Put(ctx, path, map[string]any{ValueField: string(v.Reveal())})
		return err
	})
	if err != nil {
		return secrets.Version{}, describe("write", p.mount+"/data/"+path, err)
	}
	if s == nil || s.VersionMetadata == nil || s.VersionMetadata.Version <= 0 {
		return secrets.Version{}, &errs.UnavailableError{What: "vault", Err: fmt.Errorf("write %s: the answer holds no version", path)}
	}
	return version(name, *s.VersionMetadata), nil
}

func version(name string, m api.KVVersionMetadata) secrets.Version {
	return secrets.Version{Name: name, Number: uint64(m.Version), KeyID: KeyID, CreatedAt: m.CreatedTime}
}

func live(m api.KVVersionMetadata) bool { return !m.Destroyed && m.DeletionTime.IsZero() }

// Get reads a version of name; 0 is the latest live one.
func (p *Provider) Get(ctx context.Context, name string, version uint64) (secrets.Value, error) {
	if err := checkName(name); err != nil {
		return secrets.Value{}, err
	}
	if version == 0 {
		vs, err := p.Versions(ctx, name)
		if err != nil {
			return secrets.Value{}, err
		}
		version = vs[len(vs)-1].Number
	}
	if version > uint64(maxInt) {
		return secrets.Value{}, secrets.VersionNotFound(name, version)
	}
	s, err := p.read(ctx, p.path(name), int(version))
	if err != nil {
		if secrets.IsNotFound(err) {
			return secrets.Value{}, secrets.VersionNotFound(name, version)
		}
		return secrets.Value{}, err
	}
	return field(s, ValueField, fmt.Sprintf("secret %s@%d", name, version))
}

const maxInt = int(^uint(0) >> 1)

// read reads the secret at path, version n (0: the latest); a deleted or
// destroyed version is NotFound.
func (p *Provider) read(ctx context.Context, path string, n int) (*api.KVSecret, error) {
	var s *api.KVSecret
	err := p.call(ctx, func() (err error) {
		if n == 0 {
			s, err = p.kv.Get(ctx, path)
		} else {
			s, err = p.kv.GetVersion(ctx, path, n)
		}
		return err
	})
	if err != nil {
		return nil, describe("read", p.mount+"/data/"+path, err)
	}
	if s == nil || s.Data == nil || s.VersionMetadata != nil && !live(*s.VersionMetadata) {
		return nil, &errs.NotFoundError{Kind: "vault secret", ID: path}
	}
	return s, nil
}

// field extracts a text field of a secret's data. Its errors say what the
// field is, never what it holds.
func field(s *api.KVSecret, key, what string) (secrets.Value, error) {
	raw, ok := s.Data[key]
	if !ok {
		return secrets.Value{}, &errs.NotFoundError{Kind: "vault secret field", ID: what + "#" + key}
	}
	switch x := raw.(type) {
	case string:
		return secrets.NewValueString(x), nil
	case json.Number:
		return secrets.NewValueString(x.String()), nil
	case bool:
		return secrets.NewValueString(strconv.FormatBool(x)), nil
	}
	return secrets.Value{}, errs.Precondition(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, fmt.Sprintf("%s: field %q is not text (a %s)", what, key, kind(raw)))
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "JSON object"
	case []any:
		return "JSON array"
	}
	return fmt.Sprintf("%T", v)
}

// ReadField returns field key of the latest version of the secret at path
// (a vault:// reference; path is relative to the mount, without Prefix).
func (p *Provider) ReadField(ctx context.Context, path, key string) (secrets.Value, error) {
	var v errs.Violations
	secrets.CheckRef(&v, "ref", secrets.Ref{Scheme: secrets.SchemeVault, Path: path, Key: key}.String())
	if err := v.Err(); err != nil {
		return secrets.Value{}, err
	}
	s, err := p.read(ctx, path, 0)
	if err != nil {
		return secrets.Value{}, err
	}
	return field(s, key, "vault://"+path)
}

// Versions lists the live versions of name (neither deleted nor destroyed), oldest first.
func (p *Provider) Versions(ctx context.Context, name string) ([]secrets.Version, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	path := p.path(name)
	var list []api.KVVersionMetadata
	err := p.call(ctx, func() (err error) {
		list, err = p.kv.GetVersionsAsList(ctx, path)
		return err
	})
	if err != nil {
		if err = describe("list versions", p.mount+"/metadata/"+path, err); secrets.IsNotFound(err) {
			return nil, secrets.VersionNotFound(name, 0)
		}
		return nil, err
	}
	var out []secrets.Version
	for _, m := range list {
		if live(m) {
			out = append(out, version(name, m))
		}
	}
	if len(out) == 0 {
		return nil, secrets.VersionNotFound(name, 0)
	}
	return out, nil
}

// Destroy destroys a live version of name with Vault's destroy endpoint:
// Vault removes its data for good.
func (p *Provider) Destroy(ctx context.Context, name string, version uint64) error {
	if err := checkName(name); err != nil {
		return err
	}
	if version == 0 {
		return errs.Invalid("version", "is required: Destroy revokes one version")
	}
	vs, err := p.Versions(ctx, name)
	if err != nil {
		if secrets.IsNotFound(err) {
			return secrets.VersionNotFound(name, version)
		}
		return err
	}
	found := false
	for _, v := range vs {
		found = found || v.Number == version
	}
	if !found || version > uint64(maxInt) {
		return secrets.VersionNotFound(name, version)
	}
	path := p.path(name)
	err = p.call(ctx, func() error { return p.kv.Destroy(ctx, path, []int{int(version)}) })
	if err != nil {
		return describe("destroy", p.mount+"/destroy/"+path, err)
	}
	return nil
}
