package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/leakcheck"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k, _ := secrets.NewKeyring(kek(t))
	canary := leakcheck.Canary()
	aad := secrets.AAD("payments/stripe", 7)
	s1, err := k.Seal(secrets.NewValueString(canary), aad)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := k.Seal(secrets.NewValueString(canary), aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(s1.WrappedDEK, s2.WrappedDEK) || bytes.Equal(s1.Ciphertext, s2.Ciphertext) || s1.Digest() == s2.Digest() {
		t.Error("two seals of one value share a data key or ciphertext: want a random data key per version")
	}
	leakcheck.Check(t, []byte(canary), map[string][]byte{
		"sealed": []byte(fmt.Sprintf("%+v %s %s %s", s1, s1.WrappedDEK, s1.Ciphertext, s1.Digest())),
	})
	if d := s1.Digest(); len(d) != 71 || !strings.HasPrefix(d, "sha256:") {
		t.Errorf("Digest %q, want sha256: and 64 hex digits", d)
	}

	got, err := k.Open(s1, aad)
	if err != nil || string(got.Reveal()) != canary {
		t.Fatalf("Open: %v", err)
	}

	mod := func(f func(*secrets.Sealed)) secrets.Sealed {
		c := secrets.Sealed{KeyID: s1.KeyID, WrappedDEK: bytes.Clone(s1.WrappedDEK), Nonce: bytes.Clone(s1.Nonce), Ciphertext: bytes.Clone(s1.Ciphertext)}
		f(&c)
		return c
	}
	other, _ := secrets.NewKeyring(kek(t))
	tests := []struct {
		name string
		k    *secrets.Keyring
		s    secrets.Sealed
		aad  []byte
	}{
		{"tampered ciphertext", k, mod(func(s *secrets.Sealed) { s.Ciphertext[0] ^= 1 }), aad},
		{"tampered tag", k, mod(func(s *secrets.Sealed) { s.Ciphertext[len(s.Ciphertext)-1] ^= 1 }), aad},
		{"tampered nonce", k, mod(func(s *secrets.Sealed) { s.Nonce[0] ^= 1 }), aad},
		{"short nonce", k, mod(func(s *secrets.Sealed) { s.Nonce = s.Nonce[:4] }), aad},
		{"tampered wrapped key", k, mod(func(s *secrets.Sealed) { s.WrappedDEK[20] ^= 1 }), aad},
		{"another's data key", k, mod(func(s *secrets.Sealed) { s.WrappedDEK = s2.WrappedDEK }), aad},
		{"other aad", k, s1, secrets.AAD("payments/stripe", 8)},
		{"wrong KEK", other, s1, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := tt.k.Open(tt.s, tt.aad)
			var uk *secrets.UnknownKeyError
			if !errors.Is(err, secrets.ErrUndecryptable) && !errors.As(err, &uk) {
				t.Fatalf("Open: %v, want ErrUndecryptable or UnknownKeyError", err)
			}
			if !v.IsZero() {
				t.Fatal("Open returned a value with an error")
			}
			leakcheck.Check(t, []byte(canary), map[string][]byte{"the error": []byte(err.Error())})
		})
	}
}

func TestRewrapSealedKeepsDigest(t *testing.T) {
	t.Parallel()
	oldK, newK := kek(t), kek(t)
	before, _ := secrets.NewKeyring(oldK)
	during, _ := secrets.NewKeyring(oldK, newK)
	after, _ := secrets.NewKeyring(newK)
	aad := secrets.AAD("a", 1)
	s, _ := before.Seal(secrets.NewValueString("the value"), aad)
	r, err := during.RewrapSealed(s, aad)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyID != newK.ID || r.Digest() != s.Digest() || bytes.Equal(r.WrappedDEK, s.WrappedDEK) {
		t.Errorf("RewrapSealed: key %s digest %s; want key %s and digest %s", r.KeyID, r.Digest(), newK.ID, s.Digest())
	}
	if v, err := after.Open(r, aad); err != nil || string(v.Reveal()) != "the value" {
		t.Fatalf("Open of the rewrapped value with the new KEK only: %v", err)
	}
}

func TestAADIsUnambiguous(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, c := range []struct {
		name string
		v    uint64
	}{{"a", 11}, {"a1", 1}, {"a", 1}, {"a/1", 1}} {
		key := string(secrets.AAD(c.name, c.v))
		if prev, dup := seen[key]; dup {
			t.Errorf("AAD(%s, %d) = AAD of %s", c.name, c.v, prev)
		}
		seen[key] = fmt.Sprint(c)
	}
}

// mapProvider is a Provider for the Resolver test.
type mapProvider map[string]string

func (m mapProvider) Put(context.Context, string, secrets.Value) (secrets.Version, error) {
	return secrets.Version{}, errors.New("read only")
}

func (m mapProvider) Get(_ context.Context, name string, version uint64) (secrets.Value, error) {
	v, ok := m[fmt.Sprintf("%s@%d", name, version)]
	if !ok {
		return secrets.Value{}, secrets.VersionNotFound(name, version)
	}
	return secrets.NewValueString(v), nil
}

func (m mapProvider) Versions(context.Context, string) ([]secrets.Version, error) { return nil, nil }

func (m mapProvider) Destroy(context.Context, string, uint64) error { return nil }

func TestResolver(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := secrets.Resolver{Secrets: mapProvider{"db@0": "latest", "db@2": "pinned"}}
	for in, want := range map[string]string{"secret://db": "latest", "secret://db@2": "pinned"} {
		ref, err := secrets.ParseRef(in)
		if err != nil {
			t.Fatal(err)
		}
		v, err := r.Resolve(ctx, ref)
		if err != nil || string(v.Reveal()) != want {
			t.Errorf("Resolve(%s): %v", in, err)
		}
	}
	ref, _ := secrets.ParseRef("secret://db@3")
	if _, err := r.Resolve(ctx, ref); !secrets.IsNotFound(err) {
		t.Errorf("Resolve of a missing version: %v", err)
	}
	ref, _ = secrets.ParseRef("vault://a#b")
	var pe *errs.PreconditionError
	if _, err := r.Resolve(ctx, ref); !errors.As(err, &pe) {
		t.Errorf("Resolve of vault:// without Vault: %v, want a PreconditionError", err)
	}
	if _, err := r.Resolve(ctx, secrets.Ref{}); err == nil {
		t.Error("Resolve of the zero Ref succeeded")
	}
}
