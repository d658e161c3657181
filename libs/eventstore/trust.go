package eventstore

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/penguinmails/floe/libs/errs"
)

// Writer signatures. Every event carries the id of its writer's key
// (floe-key) and an ed25519 signature (floe-sig, standard base64) over
//
//	"floe-event-sig-v1\n" ‖ floe-hash (64 lower-case hex characters)
//
// floe-hash covers the subject, the body and every other envelope header
// (see ComputeHash), so the signature binds all of them to the writer. A
// trust store says which key may write which aggregate kinds.
const (
	HdrKeyID     = "floe-key"
	HdrSignature = "floe-sig"

	sigPrefix = "floe-event-sig-v1\n"
	macPrefix = "floe-cache-mac-v1\n"

	// TrustFormat identifies a trust store file.
	TrustFormat = "floe-trust/v1"
)

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Signer signs the events one writer (a service identity) appends, and
// authenticates what the writer keeps for itself outside the log
// (snapshots, view checkpoints) so that nobody without its key can plant
// state there.
type Signer struct {
	writer string
	id     string
	key    ed25519.PrivateKey
	mac    []byte
}

// NewSigner returns the signer of writer (a ce-source such as "floe/release").
func NewSigner(writer string, key ed25519.PrivateKey) *Signer {
	pub := key.Public().(ed25519.PublicKey)
	mac := sha256.Sum256(append([]byte(macPrefix), key.Seed()...))
	return &Signer{writer: writer, id: KeyID(pub), key: key, mac: mac[:]}
}

// Writer is the ce-source the signer writes as.
func (s *Signer) Writer() string { return s.writer }

// KeyID is the id of the signer's key.
func (s *Signer) KeyID() string { return s.id }

// Public is the signer's public key.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Trusted is the trust store entry for this signer, allowed to write aggregates.
func (s *Signer) Trusted(aggregates ...string) TrustedKey {
	return TrustedKey{ID: s.id, Writer: s.writer, PublicKey: s.Public(), Aggregates: aggregates}
}

// Sign signs an event hash.
func (s *Signer) Sign(hash string) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, sigMessage(hash)))
}

// MAC authenticates parts (HMAC-SHA-256 under a key derived from the
// signer's private key; only the same writer can compute or check it).
func (s *Signer) MAC(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.mac)
	for _, p := range parts {
		var n [8]byte
		for i, l := 0, uint64(len(p)); i < 8; i++ {
			n[i] = byte(l >> (8 * i))
		}
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// CheckMAC reports whether mac authenticates parts.
func (s *Signer) CheckMAC(mac []byte, parts ...[]byte) bool {
	return hmac.Equal(mac, s.MAC(parts...))
}

func sigMessage(hash string) []byte {
	return append([]byte(sigPrefix), hash...)
}

// TrustedKey is one writer key a reader accepts.
type TrustedKey struct {
	// ID is KeyID(PublicKey).
	ID string `json:"id"`
	// Writer is the ce-source the key writes as, e.g. "floe/release".
	Writer string `json:"writer"`
	// PublicKey is the ed25519 public key (base64 in JSON).
	PublicKey ed25519.PublicKey `json:"public_key"`
	// Aggregates are the aggregate kinds the key may write.
	Aggregates []string `json:"aggregates"`
	// RetiredAfter, when non-zero, retires the key: an event it signed at a
	// log position after this one is refused. Positions are assigned by the
	// server, so a leaked retired key cannot backdate new events.
	RetiredAfter uint64 `json:"retired_after,omitempty"`
}

// TrustStore is the set of writer keys readers accept.
type TrustStore struct {
	keys map[string]TrustedKey
}

type trustFile struct {
	Format string       `json:"format"`
	Keys   []TrustedKey `json:"keys"`
}

// NewTrust returns a trust store of keys, checked as ParseTrust checks a file.
func NewTrust(keys ...TrustedKey) (*TrustStore, error) {
	t := &TrustStore{keys: map[string]TrustedKey{}}
	var v errs.Violations
	for i, k := range keys {
		f := fmt.Sprintf("keys[%d]", i)
		switch {
		case len(k.PublicKey) != ed25519.PublicKeySize:
			v.Add(f+".public_key", "must be an ed25519 public key (%d bytes), not %d bytes", ed25519.PublicKeySize, len(k.PublicKey))
			continue
		case k.ID != KeyID(k.PublicKey):
			v.Add(f+".id", "%q is not the key's id (%s: the first 8 bytes of SHA-256 of the public key, hex)", k.ID, KeyID(k.PublicKey))
		case k.Writer == "" || strings.ContainsAny(k.Writer, "\r\n"):
			v.Add(f+".writer", "is required (the ce-source the key writes as, e.g. floe/release)")
		case len(k.Aggregates) == 0:
			v.Add(f+".aggregates", "name at least one aggregate kind the key may write")
		}
		for _, a := range k.Aggregates {
			if !ValidAggregateName(a) {
				v.Add(f+".aggregates", "%q is not an aggregate kind", a)
			}
		}
		if _, dup := t.keys[k.ID]; dup {
			v.Add(f+".id", "key %s is listed twice", k.ID)
		}
		k.Aggregates = slices.Clone(k.Aggregates)
		t.keys[k.ID] = k
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseTrust reads a trust store file (JSON, format floe-trust/v1).
func ParseTrust(data []byte) (*TrustStore, error) {
	var f trustFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	if f.Format != TrustFormat {
		return nil, fmt.Errorf("trust store: format %q, want %q", f.Format, TrustFormat)
	}
	t, err := NewTrust(f.Keys...)
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	return t, nil
}

// LoadTrust reads the trust store file at path.
func LoadTrust(path string) (*TrustStore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := ParseTrust(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Keys are the trusted keys, by writer then id.
func (t *TrustStore) Keys() []TrustedKey {
	out := make([]TrustedKey, 0, len(t.keys))
	for _, k := range t.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Writer != out[j].Writer {
			return out[i].Writer < out[j].Writer
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Marshal encodes the store as a trust store file.
func (t *TrustStore) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(trustFile{Format: TrustFormat, Keys: t.Keys()}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Key returns the trusted key with id.
func (t *TrustStore) Key(id string) (TrustedKey, bool) {
	k, ok := t.keys[id]
	return k, ok
}

// CheckSignature checks that a trusted key allowed to write e's aggregate,
// as e's writer, signed e's hash: "" when it did, else why not.
func (t *TrustStore) CheckSignature(e *RecordedEvent) string { return t.checkSignature(e) }

func (t *TrustStore) checkSignature(e *RecordedEvent) string {
	k, reason := t.checkKey(e)
	if reason != "" {
		return reason
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(k.PublicKey, sigMessage(e.Hash), sig) {
		return fmt.Sprintf("its signature is not key %s's signature of its hash", e.KeyID)
	}
	return ""
}

// checkKey is checkSignature without the signature itself: the trust store
// lets e's key write e, as its writer, at its position.
func (t *TrustStore) checkKey(e *RecordedEvent) (TrustedKey, string) {
	if e.KeyID == "" || e.Signature == "" {
		return TrustedKey{}, "it is not signed (no floe-key or floe-sig)"
	}
	k, ok := t.keys[e.KeyID]
	switch {
	case !ok:
		return k, fmt.Sprintf("it is signed by key %s, which the trust store does not know", e.KeyID)
	case k.Writer != e.Source:
		return k, fmt.Sprintf("its ce-source is %q but key %s belongs to %s", e.Source, e.KeyID, k.Writer)
	case !slices.Contains(k.Aggregates, e.Aggregate):
		return k, fmt.Sprintf("key %s (%s) may not write %s events", e.KeyID, k.Writer, e.Aggregate)
	case k.RetiredAfter != 0 && e.Seq > k.RetiredAfter:
		return k, fmt.Sprintf("key %s (%s) was retired after position %d", e.KeyID, k.Writer, k.RetiredAfter)
	}
	return k, ""
}

// LoadKey reads an ed25519 private key (PKCS#8 PEM, as `openssl genpkey
// -algorithm ed25519` writes it).
func LoadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: not a PEM file", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key", path)
	}
	return priv, nil
}

// LoadOrCreateKey reads the key at path, or creates one there (mode 0600).
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	k, err := LoadKey(path)
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadKey(path) // created concurrently
		}
		return nil, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		_ = f.Close()
		return nil, err
	}
	return priv, f.Close()
}
