package service

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/penguinmails/floe/libs/eventstore"
)

// Keys are the process's writer keys and the trust store its readers use.
type Keys struct {
	// Trust lists every writer key the process accepts.
	Trust *eventstore.TrustStore
	// Key returns the signing key of the named service (or component, e.g.
	// "audit" for the checkpointer's tamper reports).
	Key func(name string) (ed25519.PrivateKey, error)
}

// TrustFileName is the trust store DevKeys keeps in its directory.
const TrustFileName = "trust.json"

// Writer is the ce-source a named service writes as.
func Writer(name string) string { return "floe/" + name }

// DevKeys keeps, in dir, one signing key per writer (<name>.key, created on
// first use, mode 0600) and a trust store (trust.json) listing each with
// the aggregates it may write (every writer may also write integrity
// records). Keys already in the trust store are kept, so rotating by hand
// (a new key beside a retired one) survives restarts. For `floe dev`, a
// service binary on its own embedded NATS, and tests; production uses
// --signing-key and --trust-store.
func DevKeys(dir string, writers map[string][]string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	trustPath := filepath.Join(dir, TrustFileName)
	var keys []eventstore.TrustedKey
	switch t, err := eventstore.LoadTrust(trustPath); {
	case err == nil:
		keys = t.Keys()
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	priv := map[string]ed25519.PrivateKey{}
	changed := false
	names := make([]string, 0, len(writers))
	for name := range writers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		k, err := eventstore.LoadOrCreateKey(filepath.Join(dir, name+".key"))
		if err != nil {
			return nil, fmt.Errorf("signing key of %s: %w", name, err)
		}
		priv[name] = k
		want := eventstore.NewSigner(Writer(name), k).Trusted(withIntegrity(writers[name])...)
		i := slices.IndexFunc(keys, func(t eventstore.TrustedKey) bool { return t.ID == want.ID })
		switch {
		case i < 0:
			keys = append(keys, want)
			changed = true
		case !sameAggregates(keys[i].Aggregates, want.Aggregates):
			keys[i].Aggregates = want.Aggregates // a service that now owns more kinds
			changed = true
		}
	}
	trust, err := eventstore.NewTrust(keys...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", trustPath, err)
	}
	if changed {
		data, err := trust.Marshal()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(trustPath, data, 0o644); err != nil {
			return nil, err
		}
	}
	return &Keys{Trust: trust, Key: func(name string) (ed25519.PrivateKey, error) {
		if k, ok := priv[name]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("no signing key for %s in %s", name, dir)
	}}, nil
}

func withIntegrity(aggs []string) []string {
	out := slices.Clone(aggs)
	if !slices.Contains(out, eventstore.IntegrityAggregate) {
		out = append(out, eventstore.IntegrityAggregate)
	}
	slices.Sort(out)
	return out
}

func sameAggregates(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// FileKeys is production's keys: the named writer's key from a file and the
// trust store from another.
func FileKeys(name, keyPath, trustPath string) (*Keys, error) {
	k, err := eventstore.LoadKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	trust, err := eventstore.LoadTrust(trustPath)
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	return &Keys{Trust: trust, Key: func(n string) (ed25519.PrivateKey, error) {
		if n != name {
			return nil, fmt.Errorf("this process signs only as %s (--signing-key), not as %s", name, n)
		}
		return k, nil
	}}, nil
}

// signerFor returns the named writer's signer, checking that the trust store
// lets it write aggregates (its readers would refuse its events otherwise).
func (k *Keys) signerFor(name string, aggregates []string) (*eventstore.Signer, error) {
	priv, err := k.Key(name)
	if err != nil {
		return nil, err
	}
	s := eventstore.NewSigner(Writer(name), priv)
	t, ok := k.Trust.Key(s.KeyID())
	if !ok {
		return nil, fmt.Errorf("the trust store does not list %s's signing key %s: add it (see docs/operations.md, 'Writer keys') or its events will be refused", name, s.KeyID())
	}
	if t.Writer != s.Writer() {
		return nil, fmt.Errorf("the trust store lists key %s for %s, not for %s", s.KeyID(), t.Writer, s.Writer())
	}
	for _, a := range aggregates {
		if !slices.Contains(t.Aggregates, a) {
			return nil, fmt.Errorf("the trust store does not let %s's key %s write %s events", name, s.KeyID(), a)
		}
	}
	if t.RetiredAfter != 0 {
		return nil, fmt.Errorf("%s's signing key %s is retired (after position %d): sign with its successor", name, s.KeyID(), t.RetiredAfter)
	}
	return s, nil
}
