package app_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/envpolicy"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore/signtest"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/secrets/vault"
	"github.com/penguinmails/floe/libs/secrets/vault/vaulttest"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/envcfg"
)

// Only a provider with a keyring of its own has a KEK to rotate: Vault
// keeps its keys, and the builtin provider without keys says how to add them.
func TestRewrapNeedsAKeyring(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	store, _ := signtest.Store(t, js, "floe/test", envcfg.AggSecretSet)
	ctx := causal.System(natstest.Context(t), "test", "", "")
	srv := vaulttest.New(t, vaulttest.Options{})
	vp, err := vault.New(ctx, vault.Config{Address: srv.URL, Token: secrets.NewValueString(srv.RootToken), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vp.Put(ctx, "staging/db/password", secrets.NewValueString("kept-in-vault-7f3a")); err != nil {
		t.Fatal(err)
	}
	authorize := func(env string) error {
		t.Errorf("authorize(%s) called: there is nothing to authorize without a keyring", env)
		return nil
	}
	for _, tc := range []struct {
		name     string
		provider secrets.Provider
		check    func(error) bool
		says     string
	}{
		{"vault", vp, func(err error) bool { var pe *errs.PreconditionError; return errors.As(err, &pe) }, "the vault secrets provider manages its own encryption keys"},
		{"builtin without keys", secretsetup.Unconfigured{}, func(err error) bool { var ue *errs.UnavailableError; return errors.As(err, &ue) }, "--secrets-keyring"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.Fields(tc.name)[0]
			cfg, err := app.NewConfig(store, nil, nil, tc.provider, name, envpolicy.DefaultEnvironments())
			if err != nil {
				t.Fatal(err)
			}
			for _, dry := range []bool{true, false} {
				_, err := cfg.RewrapSecrets(ctx, "KEK rotation", dry, authorize)
				if !tc.check(err) || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("RewrapSecrets (dry run %v) = %v; want an error saying %q", dry, err, tc.says)
				}
			}
			// The reason is checked first, whatever the provider.
			var ia *errs.InvalidArgumentError
			if _, err := cfg.RewrapSecrets(ctx, "", false, authorize); !errors.As(err, &ia) || ia.Violations[0].Field != "reason" {
				t.Errorf("RewrapSecrets without a reason = %v, want InvalidArgument on reason", err)
			}
		})
	}
}
