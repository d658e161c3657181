// Package natsstore is the built-in secrets.Provider: each secret version
// is sealed with envelope encryption (secrets.Keyring.Seal: AES-256-GCM
// under a random data key of its own, the data key wrapped by the primary
// KEK) and kept in a NATS JetStream KV bucket, outside the immutable event
// log, so that a version can be destroyed for good.
//
// # Bucket layout
//
// Bucket DefaultBucket (file storage, history 1, so a rewrap or a purge
// leaves no older revision behind) holds, for a secret name encoded by
// keyName ('.' → "=2e": a name holds no '=', and a KV key's '.' separates
// subject tokens):
//
//	n.<encoded name>        the last version number allocated (decimal), updated
//	                        by compare-and-swap so numbers are never reused
//	v.<encoded name>.<N>    version N: a JSON record with the sealed value
//	                        (key id, wrapped data key, nonce, ciphertext),
//	                        its digest and creation time
//
// # Destroy
//
// Destroy purges v.<name>.<N>: JetStream removes every revision of the
// key and keeps only a purge marker. The wrapped data key existed only in
// that record, so the version's ciphertext is unreadable from then on
// wherever a copy of it went (a digest never allowed reading it; a copy of
// the ciphertext now lacks its key, even for someone holding the KEK). The
// file store reclaims the space of removed messages but does not overwrite
// them at once, and a backup of the bucket keeps the record: both stay
// readable only while their KEK exists, which KEK rotation (RewrapAll, then
// removing the old KEK from the keyring) ends.
package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/secrets"
)

// DefaultBucket is the KV bucket of the built-in store.
const DefaultBucket = natsx.SecretsBucket

// MaxValueSize is the largest value Put accepts, in bytes.
const MaxValueSize = 64 << 10

// maxCASAttempts bounds the retries of a version allocation that lost a race.
const maxCASAttempts = 16

// Options configure a Store.
type Options struct {
	// Bucket is the KV bucket (DefaultBucket when empty).
	Bucket string
	// Replicas of the bucket (1 when 0); 3 in a production cluster.
	Replicas int
	// Clock stamps versions (time.Now when nil).
	Clock func() time.Time
}

// Store is the built-in secrets.Provider on a NATS KV bucket. It is safe
// for concurrent use, by several processes too: version numbers are
// allocated by compare-and-swap.
type Store struct {
	kv    jetstream.KeyValue
	keys  *secrets.Keyring
	clock func() time.Time
}

var (
	_ secrets.Provider   = (*Store)(nil)
	_ secrets.KeyRotator = (*Store)(nil)
)

// Open creates (or updates) the bucket and returns the store. keys seals
// new versions with its primary KEK and opens versions of every KEK it holds.
func Open(ctx context.Context, js jetstream.JetStream, keys *secrets.Keyring, opts Options) (*Store, error) {
	if js == nil {
		return nil, errors.New("natsstore: nil JetStream")
	}
	if keys == nil {
		return nil, errors.New("natsstore: nil keyring")
	}
	if opts.Bucket == "" {
		opts.Bucket = DefaultBucket
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      opts.Bucket,
		Description: "Floe secrets: envelope-encrypted secret versions (never in the event log)",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("natsstore: open bucket %s: %w", opts.Bucket, err)
	}
	return &Store{kv: kv, keys: keys, clock: opts.Clock}, nil
}

// record is the stored form of a version.
type record struct {
	Format    int       `json:"format"`
	Name      string    `json:"name"`
	Version   uint64    `json:"version"`
	Digest    string    `json:"digest"`
	CreatedAt time.Time `json:"created_at"`
	secrets.Sealed
}

const recordFormat = 1

func (r record) version() secrets.Version {
	return secrets.Version{Name: r.Name, Number: r.Version, KeyID: r.KeyID, Digest: r.Digest, CreatedAt: r.CreatedAt}
}

// keyName encodes a secret name for a KV key: '.' separates subject tokens,
// so it becomes "=2e" ('=' is valid in a KV key and never in a name).
func keyName(name string) string { return strings.ReplaceAll(name, ".", "=2e") }

func nameOfKey(enc string) string { return strings.ReplaceAll(enc, "=2e", ".") }

func counterKey(name string) string { return "n." + keyName(name) }

func versionKey(name string, n uint64) string {
	return "v." + keyName(name) + "." + strconv.FormatUint(n, 10)
}

// parseVersionKey splits v.<encoded name>.<N>.
func parseVersionKey(key string) (string, uint64, bool) {
	rest, ok := strings.CutPrefix(key, "v.")
	if !ok {
		return "", 0, false
	}
	enc, num, ok := strings.Cut(rest, ".")
	if !ok {
		return "", 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 {
		return "", 0, false
	}
	return nameOfKey(enc), n, true
}

func checkName(name string) error {
	var v errs.Violations
	secrets.CheckName(&v, "name", name)
	return v.Err()
}

func unavailable(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("secret store: %s: %w", op, err)
	}
	return &errs.UnavailableError{What: "secret store", Err: fmt.Errorf("%s: %w", op, err)}
}

// Put seals v under a new data key and stores it as the next version.
func (s *Store) Put(ctx context.Context, name string, v secrets.Value) (secrets.Version, error) {
	if err := checkName(name); err != nil {
		return secrets.Version{}, err
	}
	switch {
	case v.IsZero():
		return secrets.Version{}, errs.Invalid("value", "is required")
	case v.Len() > MaxValueSize:
		return secrets.Version{}, &errs.TooLargeError{Field: "value", Size: v.Len(), Limit: MaxValueSize}
	}
	n, err := s.allocate(ctx, name)
	if err != nil {
		return secrets.Version{}, err
	}
	sealed, err := s.keys.Seal(v, secrets.AAD(name, n))
	if err != nil {
		return secrets.Version{}, err
	}
	rec := record{Format: recordFormat, Name: name, Version: n, Digest: sealed.Digest(), CreatedAt: s.clock().UTC(), Sealed: sealed}
	body, err := json.Marshal(rec)
	if err != nil {
		return secrets.Version{}, fmt.Errorf("secret store: encode %s@%d: %w", name, n, err)
	}
	if _, err := s.kv.Create(ctx, versionKey(name, n), body); err != nil {
		return secrets.Version{}, unavailable(fmt.Sprintf("write %s@%d", name, n), err)
	}
	return rec.version(), nil
}

// allocate reserves the next version number of name.
func (s *Store) allocate(ctx context.Context, name string) (uint64, error) {
	key := counterKey(name)
	for range maxCASAttempts {
		e, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if _, err := s.kv.Create(ctx, key, []byte("1")); err == nil {
				return 1, nil
			} else if !errors.Is(err, jetstream.ErrKeyExists) {
				return 0, unavailable("allocate a version of "+name, err)
			}
			continue
		case err != nil:
			return 0, unavailable("allocate a version of "+name, err)
		}
		last, err := strconv.ParseUint(string(e.Value()), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("secret store: version counter of %s is corrupt", name)
		}
		n := last + 1
		_, err = s.kv.Update(ctx, key, []byte(strconv.FormatUint(n, 10)), e.Revision())
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
			continue
		default:
			return 0, unavailable("allocate a version of "+name, err)
		}
	}
	return 0, &errs.ConflictError{Message: fmt.Sprintf("too many concurrent writes to secret %q; retry", name)}
}

// load reads and decodes version n of name.
func (s *Store) load(ctx context.Context, name string, n uint64) (record, uint64, error) {
	e, err := s.kv.Get(ctx, versionKey(name, n))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return record{}, 0, secrets.VersionNotFound(name, n)
	case err != nil:
		return record{}, 0, unavailable(fmt.Sprintf("read %s@%d", name, n), err)
	}
	var rec record
	if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Format != recordFormat {
		return record{}, 0, fmt.Errorf("secret store: %s@%d: record is corrupt: %w", name, n, secrets.ErrUndecryptable)
	}
	return rec, e.Revision(), nil
}

// Get opens a version; 0 is the latest live one. The AAD is built from
// the name and version asked for, not from the record, so a record copied
// under another key does not open.
func (s *Store) Get(ctx context.Context, name string, version uint64) (secrets.Value, error) {
	if err := checkName(name); err != nil {
		return secrets.Value{}, err
	}
	if version == 0 {
		vs, err := s.Versions(ctx, name)
		if err != nil {
			return secrets.Value{}, err
		}
		version = vs[len(vs)-1].Number
	}
	rec, _, err := s.load(ctx, name, version)
	if err != nil {
		return secrets.Value{}, err
	}
	v, err := s.keys.Open(rec.Sealed, secrets.AAD(name, version))
	if err != nil {
		return secrets.Value{}, fmt.Errorf("secret %s@%d: %w", name, version, err)
	}
	return v, nil
}

// Versions lists the live versions of name, oldest first.
func (s *Store) Versions(ctx context.Context, name string) ([]secrets.Version, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	nums, err := s.list(ctx, "v."+keyName(name)+".*")
	if err != nil {
		return nil, err
	}
	out := make([]secrets.Version, 0, len(nums))
	for _, k := range nums {
		rec, _, err := s.load(ctx, name, k.n)
		if secrets.IsNotFound(err) { // destroyed since it was listed
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec.version())
	}
	if len(out) == 0 {
		return nil, secrets.VersionNotFound(name, 0)
	}
	return out, nil
}

type listed struct {
	name string
	n    uint64
}

// list returns the version keys matching filter, by name then number.
func (s *Store) list(ctx context.Context, filter string) ([]listed, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("list versions", err)
	}
	var out []listed
	for key := range lister.Keys() {
		if name, n, ok := parseVersionKey(key); ok {
			out = append(out, listed{name, n})
		}
	}
	// The lister closes its channel early, without an error, when ctx ends.
	if err := ctx.Err(); err != nil {
		return nil, unavailable("list versions", err)
	}
	slices.SortFunc(out, func(a, b listed) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmpUint(a.n, b.n)
	})
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Destroy purges a version's record and with it the only copy of its
// wrapped data key (see the package doc): the version can no longer be
// read, and neither can any copy of its ciphertext.
func (s *Store) Destroy(ctx context.Context, name string, version uint64) error {
	if err := checkName(name); err != nil {
		return err
	}
	if version == 0 {
		return errs.Invalid("version", "is required: Destroy revokes one version")
	}
	_, rev, err := s.load(ctx, name, version)
	if err != nil {
		return err
	}
	err = s.kv.Purge(ctx, versionKey(name, version), jetstream.LastRevision(rev))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
		// Changed since loaded: destroyed or rewrapped concurrently. Look again.
		if _, _, lerr := s.load(ctx, name, version); secrets.IsNotFound(lerr) {
			return lerr
		}
		return &errs.ConflictError{Message: fmt.Sprintf("secret %s@%d changed while being destroyed; retry", name, version)}
	}
	return unavailable(fmt.Sprintf("destroy %s@%d", name, version), err)
}

// Rewrap wraps the data key of a version with the primary KEK (a no-op
// when it already is) and returns the version with its new key id; the
// ciphertext and digest stay. It is one step of a KEK rotation.
func (s *Store) Rewrap(ctx context.Context, name string, version uint64) (secrets.Version, error) {
	if err := checkName(name); err != nil {
		return secrets.Version{}, err
	}
	rec, rev, err := s.load(ctx, name, version)
	if err != nil {
		return secrets.Version{}, err
	}
	if rec.KeyID == s.keys.Primary() {
		return rec.version(), nil
	}
	sealed, err := s.keys.RewrapSealed(rec.Sealed, secrets.AAD(name, version))
	if err != nil {
		return secrets.Version{}, fmt.Errorf("secret %s@%d: %w", name, version, err)
	}
	rec.Sealed = sealed
	body, err := json.Marshal(rec)
	if err != nil {
		return secrets.Version{}, fmt.Errorf("secret store: encode %s@%d: %w", name, version, err)
	}
	if _, err := s.kv.Update(ctx, versionKey(name, version), body, rev); err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			return secrets.Version{}, &errs.ConflictError{Message: fmt.Sprintf("secret %s@%d changed while being rewrapped; retry", name, version)}
		}
		return secrets.Version{}, unavailable(fmt.Sprintf("rewrap %s@%d", name, version), err)
	}
	return rec.version(), nil
}

// RewrapAll rewraps every live version not under the primary KEK and
// returns the versions it changed. After it succeeds, no live version needs
// an older KEK, and that KEK can be removed from the keyring. Versions
// destroyed meanwhile are skipped; a concurrent change is a conflict
// (run it again).
func (s *Store) RewrapAll(ctx context.Context) ([]secrets.Version, error) {
	all, err := s.list(ctx, "v.>")
	if err != nil {
		return nil, err
	}
	var changed []secrets.Version
	for _, k := range all {
		rec, _, err := s.load(ctx, k.name, k.n)
		if secrets.IsNotFound(err) {
			continue
		}
		if err != nil {
			return changed, err
		}
		if rec.KeyID == s.keys.Primary() {
			continue
		}
		v, err := s.Rewrap(ctx, k.name, k.n)
		if secrets.IsNotFound(err) {
			continue
		}
		if err != nil {
			return changed, err
		}
		changed = append(changed, v)
	}
	return changed, nil
}

// PrimaryKey is the id of the KEK that seals new versions and that
// RewrapAll moves every live version to.
func (s *Store) PrimaryKey() string { return s.keys.Primary() }

// KeyIDs are the ids of the keyring's KEKs, oldest first (the last is PrimaryKey).
func (s *Store) KeyIDs() []string { return s.keys.IDs() }

// LiveVersions lists every live version of every secret, by name then
// number, each with the KEK that wraps its data key now. Versions destroyed
// while it reads are left out.
func (s *Store) LiveVersions(ctx context.Context) ([]secrets.Version, error) {
	all, err := s.list(ctx, "v.>")
	if err != nil {
		return nil, err
	}
	out := make([]secrets.Version, 0, len(all))
	for _, k := range all {
		rec, _, err := s.load(ctx, k.name, k.n)
		if secrets.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		v := rec.version()
		v.Name, v.Number = k.name, k.n // where it is read from (a record moved elsewhere does not open there)
		out = append(out, v)
	}
	return out, nil
}

// KeyUsage counts the live versions under each KEK id, so an operator can
// see that an old KEK is no longer needed before removing it.
func (s *Store) KeyUsage(ctx context.Context) (map[string]int, error) {
	live, err := s.LiveVersions(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, v := range live {
		out[v.KeyID]++
	}
	return out, nil
}
