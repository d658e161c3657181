package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/penguinmails/floe/libs/ident"
)

// KEKSize is the size of a key-encryption key: AES-256.
const KEKSize = 32

// KeyringEnv is the environment variable a keyring is read from when no
// file is configured.
const KeyringEnv = "FLOE_SECRETS_KEKS"

// KEK is a key-encryption key and its id. Its Key is secret: KEK prints
// without it.
type KEK struct {
	// ID names the key in every wrapped data key and in the event log;
	// an identifier (ident.Valid).
	ID string
	// Key is the 32-byte AES-256 key.
	Key []byte
}

// String prints the id only.
func (k KEK) String() string { return "KEK " + k.ID }

// GoString prints the id only, for %#v.
func (k KEK) GoString() string { return k.String() }

// Format prints the id only, for every verb.
func (k KEK) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, k.String()) }

// MarshalJSON encodes the id only: the key is never marshalled by accident.
func (k KEK) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]string{"id": k.ID}) }

// GenerateKEK returns a new random KEK whose id, "kek-" and a ULID, sorts
// after every id generated before it.
func GenerateKEK() (KEK, error) {
	key := make([]byte, KEKSize)
	if _, err := rand.Read(key); err != nil {
		return KEK{}, fmt.Errorf("generate key-encryption key: %w", err)
	}
	return KEK{ID: "kek-" + strings.ToLower(ulid.Make().String()), Key: key}, nil
}

// Keyring holds the KEKs: one primary, which wraps every new data key, and
// older ones that still unwrap the data keys they wrapped until Rewrap moves
// those to the primary. It keeps no raw key bytes, only AES-GCM instances,
// and is safe for concurrent use.
//
// # File format
//
// A keyring file (or the KeyringEnv variable) holds one KEK per entry as
// "<id>:<base64 of the 32 key bytes>" (standard base64, padded). Entries are
// separated by newlines, commas or spaces; a line starting with '#' is a
// comment. The LAST entry is the primary: rotating the KEK is appending a
// new entry (AddKEKToFile), rewrapping (natsstore.Store.RewrapAll), then
// deleting the old entry. The format is chosen over JSON because it fits an
// environment variable and a secret manager's single-string field alike.
//
//	# floe secrets keyring
//	kek-01jd6y5x7r2m3n4p5q6r7s8t9v:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=
type Keyring struct {
	ids   []string // in file order; the last is primary
	aeads map[string]cipher.AEAD
}

// NewKeyring builds a keyring of keys, the last one primary. It refuses an
// empty list, an invalid or repeated id and a key that is not 32 bytes.
func NewKeyring(keys ...KEK) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no key-encryption key")
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, kek := range keys {
		if !ident.Valid(kek.ID) {
			return nil, fmt.Errorf("keyring: key %d: id %s is not valid: %s", i+1, ident.Quote(kek.ID), ident.Description)
		}
		if _, dup := k.aeads[kek.ID]; dup {
			return nil, fmt.Errorf("keyring: key id %q appears twice", kek.ID)
		}
		if len(kek.Key) != KEKSize {
			return nil, fmt.Errorf("keyring: key %q is %d bytes, want %d (AES-256)", kek.ID, len(kek.Key), KEKSize)
		}
		aead, err := newGCM(kek.Key)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", kek.ID, err)
		}
		k.ids = append(k.ids, kek.ID)
		k.aeads[kek.ID] = aead
	}
	return k, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ParseKeyring parses the keyring format (see Keyring). Its errors name
// entries by position and id, never by content.
func ParseKeyring(text []byte) (*Keyring, error) {
	var keys []KEK
	defer func() {
		for _, k := range keys {
			clear(k.Key)
		}
	}()
	n := 0
	for line := range bytes.Lines(text) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		for _, entry := range bytes.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			n++
			id, b64, ok := bytes.Cut(entry, []byte(":"))
			if !ok {
				return nil, fmt.Errorf("keyring: entry %d: want <id>:<base64 key>", n)
			}
			key := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
			m, err := base64.StdEncoding.Decode(key, b64)
			if err != nil {
				clear(key)
				return nil, fmt.Errorf("keyring: entry %d (%s): the key is not standard base64", n, ident.Quote(string(id)))
			}
			keys = append(keys, KEK{ID: string(id), Key: key[:m]})
		}
	}
	return NewKeyring(keys...)
}

// LoadKeyringFile reads a keyring file. Like ssh with its private keys, it
// refuses a file that other users may read or write (mode & 0o007 != 0) on
// systems with Unix permissions.
func LoadKeyringFile(path string) (*Keyring, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keyring file: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("keyring file %s is accessible to other users (mode %v); chmod 600 it", path, info.Mode().Perm())
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring file: %w", err)
	}
	defer clear(text)
	k, err := ParseKeyring(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadKeyringEnv reads a keyring from the environment variable name
// (KeyringEnv by default when name is "").
func LoadKeyringEnv(name string) (*Keyring, error) {
	if name == "" {
		name = KeyringEnv
	}
	text, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("keyring: environment variable %s is not set", name)
	}
	k, err := ParseKeyring([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return k, nil
}

// CreateKeyringFile writes a new keyring file at path holding one new KEK,
// mode 0600 (its directory is created 0700), and refuses to overwrite one.
func CreateKeyringFile(path string) (*Keyring, error) {
	kek, err := GenerateKEK()
	if err != nil {
		return nil, err
	}
	defer clear(kek.Key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("keyring file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keyring file: %w", err)
	}
	body := []byte("# floe secrets keyring: <id>:<base64 AES-256 key>, the last one primary. Keep it secret, keep it safe.\n")
	body = append(body, entry(kek)...)
	_, werr := f.Write(body)
	clear(body)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("keyring file: %w", werr)
	}
	return NewKeyring(kek)
}

// EnsureKeyringFile loads the keyring file at path, creating it with one
// new KEK when it does not exist: what `floe dev` does in its data dir.
func EnsureKeyringFile(path string) (*Keyring, error) {
	k, err := LoadKeyringFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err = CreateKeyringFile(path)
		if errors.Is(err, fs.ErrExist) { // created concurrently
			return LoadKeyringFile(path)
		}
	}
	return k, err
}

// AddKEKToFile appends a new KEK to the keyring file at path, making it the
// primary, and returns its id: the first step of a KEK rotation.
func AddKEKToFile(path string) (string, error) {
	if _, err := LoadKeyringFile(path); err != nil {
		return "", err
	}
	kek, err := GenerateKEK()
	if err != nil {
		return "", err
	}
	defer clear(kek.Key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("keyring file: %w", err)
	}
	line := append([]byte("\n"), entry(kek)...)
	_, werr := f.Write(line)
	clear(line)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("keyring file: %w", werr)
	}
	return kek.ID, nil
}

func entry(k KEK) []byte {
	out := append([]byte(k.ID), ':')
	out = base64.StdEncoding.AppendEncode(out, k.Key)
	return append(out, '\n')
}

// Primary is the id of the primary KEK.
func (k *Keyring) Primary() string { return k.ids[len(k.ids)-1] }

// IDs are the KEK ids, oldest first (the last is Primary).
func (k *Keyring) IDs() []string { return slices.Clone(k.ids) }

// Has reports whether the keyring holds the KEK id.
func (k *Keyring) Has(id string) bool { _, ok := k.aeads[id]; return ok }

// wrapAAD binds a wrapped data key to its KEK id and to aad (the secret's
// name and version): an id holds no NUL (ident), so the encoding is unambiguous.
func wrapAAD(keyID string, aad []byte) []byte {
	out := make([]byte, 0, len(dekContext)+len(keyID)+len(aad)+2)
	out = append(out, dekContext...)
	out = append(out, 0)
	out = append(out, keyID...)
	out = append(out, 0)
	return append(out, aad...)
}

const (
	dekContext  = "floe/secrets/dek/v1"
	dataContext = "floe/secrets/data/v1"
)

// Wrap encrypts a data key with the primary KEK (AES-256-GCM, a random
// nonce, additional data binding the KEK id and aad) and returns the KEK's
// id and nonce‖ciphertext.
func (k *Keyring) Wrap(dek, aad []byte) (keyID string, wrapped []byte, err error) {
	keyID = k.Primary()
	aead := k.aeads[keyID]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(dek)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("wrap data key: %w", err)
	}
	return keyID, aead.Seal(nonce, nonce, dek, wrapAAD(keyID, aad)), nil
}

// Unwrap decrypts a data key wrapped by the KEK keyID with aad. A KEK not in
// the keyring is an *UnknownKeyError; a wrong KEK, other aad or tampered
// bytes are ErrUndecryptable.
func (k *Keyring) Unwrap(keyID string, wrapped, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, &UnknownKeyError{KeyID: keyID}
	}
	if len(wrapped) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrUndecryptable
	}
	ns := aead.NonceSize()
	dek, err := aead.Open(nil, wrapped[:ns], wrapped[ns:], wrapAAD(keyID, aad))
	if err != nil {
		return nil, ErrUndecryptable
	}
	return dek, nil
}

// Rewrap unwraps a data key with the KEK keyID and wraps it again with the
// primary, for KEK rotation; the data key never leaves the call. A data key
// already under the primary is returned as it is.
func (k *Keyring) Rewrap(keyID string, wrapped, aad []byte) (string, []byte, error) {
	dek, err := k.Unwrap(keyID, wrapped, aad)
	if err != nil {
		return "", nil, err
	}
	defer clear(dek)
	if keyID == k.Primary() {
		return keyID, wrapped, nil
	}
	return k.Wrap(dek, aad)
}
