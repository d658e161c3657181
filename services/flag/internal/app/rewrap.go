package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/secrets"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	"github.com/penguinmails/floe/services/flag/internal/envcfg"
)

// Rewrap is what RewrapSecrets did, or, on a dry run, would do.
type Rewrap struct {
	// PrimaryKey is the keyring's primary KEK.
	PrimaryKey string
	// KeyUsage counts live versions per KEK id, every KEK of the keyring
	// listed (0: no live version needs it): after the rewrap, or now on a
	// dry run.
	KeyUsage map[string]uint64
	// Rewrapped are the versions whose recorded KEK changed (would change),
	// by environment, name and version.
	Rewrapped []RewrappedVersion
}

// RewrappedVersion is one version whose data key moved to another KEK.
type RewrappedVersion struct {
	Environment, Name    string
	Version              uint64
	KeyID, PreviousKeyID string
}

// RewrapSecrets is a KEK rotation's second step (the first added a KEK to
// the keyring): every live version's data key is wrapped with the primary
// KEK, then the log is reconciled with the store — each environment's
// versions whose recorded KEK is not the one the store has now get a
// SecretVersionRewrapped. The reconciliation compares with the store, not
// with what this run changed, so a run that stopped between the two (or
// failed some appends) is completed by the next. A dry run changes nothing
// and reports what would be recorded if every version were moved to the
// primary KEK.
//
// authorize is asked about every environment whose secrets it touches,
// before anything changes: the KEK is global, so a caller needs the
// permission everywhere.
func (c *Config) RewrapSecrets(ctx context.Context, reason string, dryRun bool, authorize func(env string) error) (*Rewrap, error) {
	if err := envcfg.CheckRewrap(reason); err != nil {
		return nil, err
	}
	kr, ok := c.provider.(secrets.KeyRotator)
	if !ok {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
			"the %s secrets provider manages its own encryption keys: Floe has no key-encryption key to rotate (rotate Vault's keys in Vault)", c.name)
	}
	live, err := kr.LiveVersions(ctx)
	if err != nil {
		return nil, err
	}
	byEnv := byEnvironment(live)
	for _, env := range sortedKeys(byEnv) {
		if err := authorize(env); err != nil {
			return nil, err
		}
	}
	out := &Rewrap{PrimaryKey: kr.PrimaryKey()}
	if dryRun {
		out.KeyUsage = keyUsage(kr.KeyIDs(), live)
		for _, vs := range byEnv { // as they would be after RewrapAll
			for i := range vs {
				vs[i].KeyID = out.PrimaryKey
			}
		}
		return out, c.reconcile(ctx, byEnv, reason, true, out)
	}
	if _, err := kr.RewrapAll(ctx); err != nil {
		return nil, rewrapError(err)
	}
	if live, err = kr.LiveVersions(ctx); err != nil {
		return nil, err
	}
	out.KeyUsage = keyUsage(kr.KeyIDs(), live)
	return out, c.reconcile(ctx, byEnvironment(live), reason, false, out)
}

// reconcile records (or, dry, only reports) the rewraps that bring each
// environment's secret set up to date with stored, environment by
// environment; it stops at the first environment that fails (the next run
// takes it up again).
func (c *Config) reconcile(ctx context.Context, stored map[string][]secrets.Version, reason string, dry bool, out *Rewrap) error {
	for _, env := range sortedKeys(stored) {
		var events []proto.Message
		decide := func(s *envcfg.SecretSet) ([]proto.Message, error) {
			var err error
			events, err = envcfg.Rewrapped(s, stored[env], reason) // the last call's are the ones appended
			return events, err
		}
		var err error
		if dry {
			err = c.secrets.Read(ctx, env, func(s *envcfg.SecretSet, _ eventstore.Version, _ uint64) error {
				_, err := decide(s)
				return err
			})
		} else {
			_, err = c.secrets.Execute(ctx, kernel.Command[*envcfg.SecretSet]{ID: env, Decide: decide})
		}
		if err != nil {
			return fmt.Errorf("secrets of %s: %w", env, err)
		}
		for _, e := range events {
			ev := e.(*configv1.SecretVersionRewrapped)
			out.Rewrapped = append(out.Rewrapped, RewrappedVersion{Environment: env, Name: ev.GetName(), Version: ev.GetVersion(),
				KeyID: ev.GetKeyId(), PreviousKeyID: ev.GetPreviousKeyId()})
		}
	}
	return nil
}

// byEnvironment groups the store's versions by environment (a store name is
// "<environment>/<name>", see storeName), each named without it. Names of
// another form are not the flag service's and are left out.
func byEnvironment(vs []secrets.Version) map[string][]secrets.Version {
	out := map[string][]secrets.Version{}
	for _, v := range vs {
		env, name, ok := strings.Cut(v.Name, "/")
		if !ok || !eventstore.ValidID(env) {
			continue
		}
		v.Name = name
		out[env] = append(out[env], v)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// keyUsage counts live versions per KEK: each of the keyring's (0 when
// unused, which is what says a KEK can go), and any other the store names.
func keyUsage(keyring []string, live []secrets.Version) map[string]uint64 {
	out := make(map[string]uint64, len(keyring))
	for _, id := range keyring {
		out[id] = 0
	}
	for _, v := range live {
		out[v.KeyID]++
	}
	return out
}

// rewrapError says what an operator can do about a version the keyring
// cannot rewrap; other errors pass as they are.
func rewrapError(err error) error {
	var unknown *secrets.UnknownKeyError
	switch {
	case errors.As(err, &unknown):
		return errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
			"%v: a live version still needs that KEK; put it back in the flag service's keyring (as an older entry, before the primary), restart the service and rewrap again", err)
	case errors.Is(err, secrets.ErrUndecryptable):
		return errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
			"%v: the keyring's KEK of that id does not open its data key (another key under the same id, or a tampered record): check the keyring, or revoke that version", err)
	}
	return err
}
