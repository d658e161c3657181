// Package secretsetup builds the secrets provider a service is configured
// with — the builtin store (envelope encryption, records in NATS KV) or
// Vault — from the flags every service that touches secrets shares (the flag
// service stores values; the deployer resolves references at delivery).
package secretsetup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/natsstore"
	"github.com/penguinmails/floe/libs/secrets/vault"
)

// Config selects where secret values are kept.
type Config struct {
	Provider          string `env:"FLOE_SECRETS_PROVIDER" flag:"secrets-provider" default:"builtin" usage:"where secret values are kept: builtin (AES-256-GCM envelope encryption, ciphertext in NATS KV) or vault (HashiCorp Vault KV v2)"`
	Keyring           string `env:"FLOE_SECRETS_KEYRING" flag:"secrets-keyring" usage:"key-encryption keys of the builtin provider: a file of id:base64 lines, the last one primary, mode 0600 (or the keys themselves in FLOE_SECRETS_KEKS); default on an embedded NATS: <data-dir>/keys/secrets.keyring, created"`
	VaultAddr         string `env:"FLOE_VAULT_ADDR" flag:"vault-addr" usage:"Vault's URL for --secrets-provider vault"`
	VaultMount        string `env:"FLOE_VAULT_MOUNT" flag:"vault-mount" default:"secret" usage:"the KV v2 mount in Vault"`
	VaultTokenFile    string `env:"FLOE_VAULT_TOKEN_FILE" flag:"vault-token-file" usage:"file holding a Vault token (or use AppRole)"`
	VaultRoleID       string `env:"FLOE_VAULT_ROLE_ID" flag:"vault-role-id" usage:"AppRole role id"`
	VaultSecretIDFile string `env:"FLOE_VAULT_SECRET_ID_FILE" flag:"vault-secret-id-file" usage:"file holding the AppRole secret id"`
}

// Host is what the provider needs of the process.
type Host struct {
	JS       jetstream.JetStream
	Replicas int
	Clock    func() time.Time
	// DataDir and Embedded: on an embedded NATS, a keyring is created in
	// <DataDir>/keys/secrets.keyring when none is configured.
	DataDir  string
	Embedded bool
}

// Open builds the configured provider and says which it is ("builtin" or
// "vault"). A builtin provider without keys answers every request
// Unavailable (saying how to configure keys) rather than keep the service
// from starting.
func Open(ctx context.Context, c Config, h Host) (secrets.Provider, string, error) {
	switch c.Provider {
	case "", "builtin":
		keys, err := keyring(c, h)
		if err != nil {
			return nil, "", err
		}
		if keys == nil {
			return Unconfigured{}, "builtin", nil
		}
		store, err := natsstore.Open(ctx, h.JS, keys, natsstore.Options{Replicas: h.Replicas, Clock: h.Clock})
		if err != nil {
			return nil, "", err
		}
		return store, "builtin", nil
	case "vault":
		vc := vault.Config{Address: c.VaultAddr, Mount: c.VaultMount, Timeout: 30 * time.Second}
		if c.VaultTokenFile != "" {
			tok, err := readSecretFile(c.VaultTokenFile)
			if err != nil {
				return nil, "", err
			}
			vc.Token = tok
		}
		if c.VaultRoleID != "" {
			sid, err := readSecretFile(c.VaultSecretIDFile)
			if err != nil {
				return nil, "", err
			}
			vc.AppRole = &vault.AppRole{RoleID: c.VaultRoleID, SecretID: sid}
		}
		p, err := vault.New(ctx, vc)
		if err != nil {
			return nil, "", err
		}
		return p, "vault", nil
	}
	return nil, "", errs.Invalid("secrets-provider", "%q is not one of builtin, vault", c.Provider)
}

// keyring loads the builtin provider's keys (nil when none are configured
// outside an embedded NATS).
func keyring(c Config, h Host) (*secrets.Keyring, error) {
	switch {
	case c.Keyring != "":
		return secrets.LoadKeyringFile(c.Keyring)
	case os.Getenv(secrets.KeyringEnv) != "":
		return secrets.LoadKeyringEnv("")
	case h.Embedded && h.DataDir != "":
		return secrets.EnsureKeyringFile(filepath.Join(h.DataDir, "keys", "secrets.keyring"))
	}
	return nil, nil
}

func readSecretFile(path string) (secrets.Value, error) {
	if path == "" {
		return secrets.Value{}, errors.New("a file holding the credential is required")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return secrets.Value{}, err
	}
	v := secrets.NewValue([]byte(strings.TrimRight(string(b), "\r\n")))
	clear(b)
	return v, nil
}

// Unconfigured is the builtin provider without keys.
type Unconfigured struct{}

var _ secrets.KeyRotator = Unconfigured{}

// ErrNoKeys is every answer of Unconfigured.
var ErrNoKeys = &errs.UnavailableError{What: "secrets", Err: errors.New("no key-encryption keys are configured: set --secrets-keyring or FLOE_SECRETS_KEKS")}

// Put implements secrets.Provider.
func (Unconfigured) Put(context.Context, string, secrets.Value) (secrets.Version, error) {
	return secrets.Version{}, ErrNoKeys
}

// Get implements secrets.Provider.
func (Unconfigured) Get(context.Context, string, uint64) (secrets.Value, error) {
	return secrets.Value{}, ErrNoKeys
}

// Versions implements secrets.Provider.
func (Unconfigured) Versions(context.Context, string) ([]secrets.Version, error) {
	return nil, ErrNoKeys
}

// Destroy implements secrets.Provider.
func (Unconfigured) Destroy(context.Context, string, uint64) error { return ErrNoKeys }

// PrimaryKey implements secrets.KeyRotator: there is none.
func (Unconfigured) PrimaryKey() string { return "" }

// KeyIDs implements secrets.KeyRotator: there are none.
func (Unconfigured) KeyIDs() []string { return nil }

// RewrapAll implements secrets.KeyRotator.
func (Unconfigured) RewrapAll(context.Context) ([]secrets.Version, error) { return nil, ErrNoKeys }

// LiveVersions implements secrets.KeyRotator.
func (Unconfigured) LiveVersions(context.Context) ([]secrets.Version, error) { return nil, ErrNoKeys }
