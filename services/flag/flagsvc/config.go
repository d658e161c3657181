package flagsvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/natsstore"
	"github.com/penguinmails/floe/libs/secrets/vault"
	"github.com/penguinmails/floe/libs/service"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/ports"
)

// SecretsConfig selects where secret values are kept.
type SecretsConfig struct {
	Provider          string `env:"FLOE_SECRETS_PROVIDER" flag:"secrets-provider" default:"builtin" usage:"where secret values are kept: builtin (AES-256-GCM envelope encryption, ciphertext in NATS KV) or vault (HashiCorp Vault KV v2)"`
	Keyring           string `env:"FLOE_SECRETS_KEYRING" flag:"secrets-keyring" usage:"key-encryption keys of the builtin provider: a file of id:base64 lines, the last one primary, mode 0600 (or the keys themselves in FLOE_SECRETS_KEKS); default on an embedded NATS: <data-dir>/keys/secrets.keyring, created"`
	VaultAddr         string `env:"FLOE_VAULT_ADDR" flag:"vault-addr" usage:"Vault's URL for --secrets-provider vault"`
	VaultMount        string `env:"FLOE_VAULT_MOUNT" flag:"vault-mount" default:"secret" usage:"the KV v2 mount in Vault"`
	VaultTokenFile    string `env:"FLOE_VAULT_TOKEN_FILE" flag:"vault-token-file" usage:"file holding a Vault token (or use AppRole)"`
	VaultRoleID       string `env:"FLOE_VAULT_ROLE_ID" flag:"vault-role-id" usage:"AppRole role id"`
	VaultSecretIDFile string `env:"FLOE_VAULT_SECRET_ID_FILE" flag:"vault-secret-id-file" usage:"file holding the AppRole secret id"`
}

// registerConfig serves ConfigService and SecretService.
func registerConfig(ctx context.Context, d service.Deps[Config]) error {
	provider, name, err := secretsProvider(ctx, d)
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	cfg, err := app.NewConfig(d.Store, d.Snapshots, d.Clock, provider, name)
	if err != nil {
		return err
	}
	srv, err := ports.NewConfigServer(cfg, d.Runtime.Authz)
	if err != nil {
		return err
	}
	if err := d.Runtime.Register(&configv1.ConfigService_ServiceDesc, srv, ports.ConfigRules()); err != nil {
		return err
	}
	return d.Runtime.Register(&configv1.SecretService_ServiceDesc, srv, ports.SecretRules())
}

// secretsProvider builds the configured provider. A builtin provider
// without keys answers every secret request Unavailable (saying how to
// configure keys) rather than keep the service from starting.
func secretsProvider(ctx context.Context, d service.Deps[Config]) (secrets.Provider, string, error) {
	c := d.Config.Secrets
	switch c.Provider {
	case "", "builtin":
		keys, err := keyring(d)
		if err != nil {
			return nil, "", err
		}
		if keys == nil {
			return unconfigured{}, "builtin", nil
		}
		store, err := natsstore.Open(ctx, d.NATS.JS, keys, natsstore.Options{Replicas: d.Replicas, Clock: d.Clock})
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
func keyring(d service.Deps[Config]) (*secrets.Keyring, error) {
	switch {
	case d.Config.Secrets.Keyring != "":
		return secrets.LoadKeyringFile(d.Config.Secrets.Keyring)
	case os.Getenv(secrets.KeyringEnv) != "":
		return secrets.LoadKeyringEnv("")
	case d.Embedded && d.DataDir != "":
		return secrets.EnsureKeyringFile(filepath.Join(d.DataDir, "keys", "secrets.keyring"))
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

// unconfigured is the builtin provider without keys.
type unconfigured struct{}

var errNoKeys = &errs.UnavailableError{What: "secrets", Err: errors.New("no key-encryption keys are configured: set --secrets-keyring or FLOE_SECRETS_KEKS on the flag service")}

func (unconfigured) Put(context.Context, string, secrets.Value) (secrets.Version, error) {
	return secrets.Version{}, errNoKeys
}
func (unconfigured) Get(context.Context, string, uint64) (secrets.Value, error) {
	return secrets.Value{}, errNoKeys
}
func (unconfigured) Versions(context.Context, string) ([]secrets.Version, error) {
	return nil, errNoKeys
}
func (unconfigured) Destroy(context.Context, string, uint64) error { return errNoKeys }
