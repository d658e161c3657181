package secrets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Version is what may be said about a secret version anywhere: in the event
// log, logs and API responses. It never holds the value.
type Version struct {
	// Name is the secret's name.
	Name string
	// Number is the version, from 1, never reused (not even after Destroy).
	Number uint64
	// KeyID is the id of the KEK that wraps the version's data key (the
	// built-in store), or "vault" for a version kept by Vault.
	KeyID string
	// Digest is the hex SHA-256 of the stored ciphertext (see
	// Sealed.Digest); empty for Vault, which does not expose its ciphertext.
	// It is a digest of ciphertext, never of the value, so it helps no one
	// guess a weak value offline.
	Digest string
	// CreatedAt is when the version was written.
	CreatedAt time.Time
}

// Provider is the port both backends implement: the built-in store
// (natsstore) and Vault KV v2 (vault). secretstest.Run is its conformance
// suite. Several versions of a secret are live at once (rotation keeps the
// old one valid during the grace period) until Destroy revokes one.
//
// Errors never include values: a missing or destroyed version is an
// *errs.NotFoundError (Kind "secret version" or "secret"), a bad name an
// *errs.InvalidArgumentError, a backend that cannot be reached an
// *errs.UnavailableError.
type Provider interface {
	// Put stores v as a new version of the secret name and returns it.
	Put(ctx context.Context, name string, v Value) (Version, error)
	// Get returns a version's value; version 0 is the latest live version.
	Get(ctx context.Context, name string, version uint64) (Value, error)
	// Versions lists the live (not destroyed) versions of name, oldest
	// first; a secret without live versions is NotFound.
	Versions(ctx context.Context, name string) ([]Version, error)
	// Destroy revokes a version for good: its value can no longer be read
	// by anyone, from the backend or from a copy of its ciphertext.
	// Destroying a version that does not exist (or no longer does) is
	// NotFound.
	Destroy(ctx context.Context, name string, version uint64) error
}

// KeyRotator is implemented by a Provider that wraps data keys with
// key-encryption keys of its own keyring (the built-in store), so that its
// KEK can be rotated: add a KEK to the keyring (it becomes the primary),
// RewrapAll, then remove the old KEK once no live version needs it. Vault
// manages its own keys and does not implement it.
type KeyRotator interface {
	// PrimaryKey is the id of the KEK that wraps new data keys, and that
	// RewrapAll moves every live version to.
	PrimaryKey() string
	// KeyIDs are the ids of the keyring's KEKs, oldest first (the last is
	// PrimaryKey).
	KeyIDs() []string
	// RewrapAll wraps the data key of every live version not under the
	// primary KEK with it, and returns the versions it changed. Values,
	// ciphertexts and digests do not change.
	RewrapAll(ctx context.Context) ([]Version, error)
	// LiveVersions lists every live version of every secret with the KEK
	// that wraps it, by name then number.
	LiveVersions(ctx context.Context) ([]Version, error)
}

// FieldReader reads one field of a Vault secret (a vault:// reference).
type FieldReader interface {
	// ReadField returns field key of the latest live version of the secret at path.
	ReadField(ctx context.Context, path, key string) (Value, error)
}

// ErrUndecryptable reports a ciphertext or wrapped key that does not open:
// the wrong key, or data that was tampered with or moved to another secret
// or version. It never says more, so it cannot leak.
var ErrUndecryptable = errors.New("secret does not decrypt: wrong key, or tampered or misplaced data")

// UnknownKeyError reports a KEK id that the keyring does not hold.
type UnknownKeyError struct{ KeyID string }

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("key-encryption key %q is not in the keyring", e.KeyID)
}

// VersionNotFound is the error for a missing or destroyed version (0: no live version).
func VersionNotFound(name string, version uint64) error {
	if version == 0 {
		return &errs.NotFoundError{Kind: "secret", ID: name}
	}
	return &errs.NotFoundError{Kind: "secret version", ID: fmt.Sprintf("%s@%d", name, version)}
}

// IsNotFound reports whether err says a secret or version does not exist.
func IsNotFound(err error) bool {
	var nf *errs.NotFoundError
	return errors.As(err, &nf)
}

// Resolver turns references into values at delivery, and only there.
type Resolver struct {
	// Secrets resolves secret:// references (required).
	Secrets Provider
	// Vault resolves vault:// references; nil refuses them.
	Vault FieldReader
}

// Resolve returns the value ref refers to: the pinned version of a
// secret://, else its latest live version (the running one).
func (r Resolver) Resolve(ctx context.Context, ref Ref) (Value, error) {
	switch ref.Scheme {
	case SchemeSecret:
		if r.Secrets == nil {
			return Value{}, errs.Precondition(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "no secret provider is configured")
		}
		return r.Secrets.Get(ctx, ref.Name, ref.Version)
	case SchemeVault:
		if r.Vault == nil {
			return Value{}, errs.Precondition(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "vault:// references need the vault secrets strategy")
		}
		return r.Vault.ReadField(ctx, ref.Path, ref.Key)
	}
	return Value{}, errs.Invalid("ref", "is not a secret reference: want %s", RefSyntax)
}
