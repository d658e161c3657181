package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// DEKSize is the size of a data key: AES-256.
const DEKSize = 32

// Sealed is a value encrypted under a data key of its own, with the data key
// wrapped by a KEK: everything that has to be stored to open it again, and
// nothing that opens it without the KEK.
type Sealed struct {
	// KeyID is the KEK that wraps the data key.
	KeyID string `json:"key_id"`
	// WrappedDEK is the data key encrypted with the KEK (nonce‖ciphertext).
	WrappedDEK []byte `json:"wrapped_dek"`
	// Nonce is the AES-GCM nonce of Ciphertext.
	Nonce []byte `json:"nonce"`
	// Ciphertext is the value encrypted with the data key (with GCM's tag).
	Ciphertext []byte `json:"ciphertext"`
}

// Digest is "sha256:" and the hex SHA-256 of Nonce‖Ciphertext, what the event log records
// of a version. It leaves WrappedDEK out so that a KEK rotation (Rewrap)
// keeps the digest; the wrapped key is authenticated by GCM anyway.
func (s Sealed) Digest() string {
	h := sha256.New()
	h.Write(s.Nonce)
	h.Write(s.Ciphertext)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// AAD is the additional data that binds a sealed value to its secret's
// name and version: a record copied to another name or version does not
// open. A name holds no NUL, so the encoding is unambiguous.
func AAD(name string, version uint64) []byte {
	return strconv.AppendUint(append([]byte(name), 0), version, 10)
}

func dataAAD(aad []byte) []byte {
	return append(append([]byte(dataContext), 0), aad...)
}

// Seal encrypts v under a new random data key (AES-256-GCM) and wraps that
// key with the primary KEK, both bound to aad (use AAD(name, version)).
func (k *Keyring) Seal(v Value, aad []byte) (Sealed, error) {
	dek := make([]byte, DEKSize)
	defer clear(dek)
	if _, err := rand.Read(dek); err != nil {
		return Sealed{}, fmt.Errorf("seal: generate data key: %w", err)
	}
	aead, err := dataGCM(dek)
	if err != nil {
		return Sealed{}, fmt.Errorf("seal: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("seal: nonce: %w", err)
	}
	ct := aead.Seal(nil, nonce, v.Reveal(), dataAAD(aad))
	keyID, wrapped, err := k.Wrap(dek, aad)
	if err != nil {
		return Sealed{}, fmt.Errorf("seal: %w", err)
	}
	return Sealed{KeyID: keyID, WrappedDEK: wrapped, Nonce: nonce, Ciphertext: ct}, nil
}

// Open unwraps the data key of s and decrypts its value. A KEK the keyring
// lacks is an *UnknownKeyError; anything else that does not open (a wrong
// key, other aad, tampered bytes) is ErrUndecryptable.
func (k *Keyring) Open(s Sealed, aad []byte) (Value, error) {
	dek, err := k.Unwrap(s.KeyID, s.WrappedDEK, aad)
	if err != nil {
		return Value{}, err
	}
	defer clear(dek)
	if len(dek) != DEKSize {
		return Value{}, ErrUndecryptable
	}
	aead, err := dataGCM(dek)
	if err != nil {
		return Value{}, ErrUndecryptable
	}
	if len(s.Nonce) != aead.NonceSize() {
		return Value{}, ErrUndecryptable
	}
	pt, err := aead.Open(nil, s.Nonce, s.Ciphertext, dataAAD(aad))
	if err != nil {
		return Value{}, ErrUndecryptable
	}
	v := Value{p: &payload{b: pt}} // pt is ours: no copy to wipe
	return v, nil
}

// RewrapSealed returns s with its data key wrapped by the primary KEK; the
// ciphertext, and so the Digest, are unchanged.
func (k *Keyring) RewrapSealed(s Sealed, aad []byte) (Sealed, error) {
	keyID, wrapped, err := k.Rewrap(s.KeyID, s.WrappedDEK, aad)
	if err != nil {
		return Sealed{}, err
	}
	s.KeyID, s.WrappedDEK = keyID, wrapped
	return s, nil
}

func dataGCM(dek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(dek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
