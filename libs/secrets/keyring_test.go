package secrets_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/leakcheck"
)

func kek(t *testing.T) secrets.KEK {
	t.Helper()
	k, err := secrets.GenerateKEK()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func line(k secrets.KEK) string { return k.ID + ":" + base64.StdEncoding.EncodeToString(k.Key) }

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	a, b := kek(t), kek(t)
	short := secrets.KEK{ID: "short", Key: bytes.Repeat([]byte{7}, 16)}
	tests := []struct {
		name        string
		text        string
		wantIDs     []string
		wantErr     string
		mustNotLeak []secrets.KEK
	}{
		{"one line", line(a) + "\n", []string{a.ID}, "", nil},
		{"comments and blank lines, last is primary", "# keys\n\n" + line(a) + "\n  " + line(b) + "  \n", []string{a.ID, b.ID}, "", nil},
		{"comma separated (an environment variable)", line(a) + "," + line(b), []string{a.ID, b.ID}, "", nil},
		{"space separated", line(a) + " " + line(b), []string{a.ID, b.ID}, "", nil},
		{"empty", "# nothing\n", nil, "no key-encryption key", nil},
		{"no colon", base64.StdEncoding.EncodeToString(a.Key), nil, "entry 1: want <id>:<base64 key>", []secrets.KEK{a}},
		{"bad base64", a.ID + ":" + base64.StdEncoding.EncodeToString(a.Key)[:10] + "!!", nil, "not standard base64", []secrets.KEK{a}},
		{"short key", line(short), nil, "is 16 bytes, want 32", []secrets.KEK{short}},
		{"bad id", "a.b:" + base64.StdEncoding.EncodeToString(a.Key), nil, "id \"a.b\" is not valid", []secrets.KEK{a}},
		{"duplicate id", line(a) + "\n" + a.ID + ":" + base64.StdEncoding.EncodeToString(b.Key), nil, "appears twice", []secrets.KEK{a, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := secrets.ParseKeyring([]byte(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKeyring: %v, want %q", err, tt.wantErr)
				}
				for _, kk := range tt.mustNotLeak {
					leakcheck.Check(t, kk.Key, map[string][]byte{"the error": []byte(err.Error())})
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.IDs(); fmt.Sprint(got) != fmt.Sprint(tt.wantIDs) {
				t.Errorf("IDs = %v, want %v", got, tt.wantIDs)
			}
			if k.Primary() != tt.wantIDs[len(tt.wantIDs)-1] {
				t.Errorf("Primary = %s, want the last", k.Primary())
			}
		})
	}
}

func TestKEKPrintsWithoutKey(t *testing.T) {
	t.Parallel()
	k := kek(t)
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		fmt.Fprintf(&out, verb+"\n", k)
		fmt.Fprintf(&out, verb+"\n", []secrets.KEK{k})
	}
	j, _ := json.Marshal(k)
	out.Write(j)
	if len(k.ID) < 20 || !strings.HasPrefix(k.ID, "kek-") {
		t.Errorf("id %q", k.ID)
	}
	leakcheck.Check(t, k.Key, map[string][]byte{"printed KEK": out.Bytes()})
}

func TestKeyringFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "keyring")

	if _, err := secrets.LoadKeyringFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadKeyringFile of a missing file: %v", err)
	}
	k1, err := secrets.EnsureKeyringFile(path) // as `floe dev` does
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	k2, err := secrets.EnsureKeyringFile(path)
	if err != nil || k2.Primary() != k1.Primary() {
		t.Fatalf("EnsureKeyringFile of an existing file made a new key: %v", err)
	}
	if _, err := secrets.CreateKeyringFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateKeyringFile over an existing file: %v, want ErrExist", err)
	}

	// A value sealed with the first KEK opens after rotation.
	sealed, err := k1.Seal(secrets.NewValueString("rotate me please"), secrets.AAD("x", 1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := secrets.AddKEKToFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k3, err := secrets.LoadKeyringFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if k3.Primary() != id || len(k3.IDs()) != 2 || !k3.Has(k1.Primary()) {
		t.Fatalf("after AddKEKToFile: ids %v primary %s, want the new %s primary", k3.IDs(), k3.Primary(), id)
	}
	if v, err := k3.Open(sealed, secrets.AAD("x", 1)); err != nil || string(v.Reveal()) != "rotate me please" {
		t.Fatalf("Open after rotation: %v", err)
	}

	// Other users may not read it.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.LoadKeyringFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadKeyringFile of a 0644 file: %v, want a refusal", err)
	}
}

func TestEnsureKeyringFileConcurrently(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyring")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			k, err := secrets.EnsureKeyringFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.Primary()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent EnsureKeyringFile returned different keys: %v", ids)
		}
	}
}

func TestLoadKeyringEnv(t *testing.T) {
	a, b := kek(t), kek(t)
	t.Setenv("FLOE_TEST_KEKS", line(a)+","+line(b))
	k, err := secrets.LoadKeyringEnv("FLOE_TEST_KEKS")
	if err != nil || k.Primary() != b.ID {
		t.Fatalf("LoadKeyringEnv: %v", err)
	}
	t.Setenv("FLOE_TEST_KEKS", a.ID+":not-base64-"+base64.StdEncoding.EncodeToString(a.Key))
	_, err = secrets.LoadKeyringEnv("FLOE_TEST_KEKS")
	if err == nil || !strings.Contains(err.Error(), "FLOE_TEST_KEKS") {
		t.Fatalf("LoadKeyringEnv of a bad value: %v", err)
	}
	leakcheck.Check(t, a.Key, map[string][]byte{"the error": []byte(err.Error())})
	if _, err := secrets.LoadKeyringEnv("FLOE_TEST_KEKS_UNSET"); err == nil {
		t.Error("LoadKeyringEnv of an unset variable succeeded")
	}
}

func TestWrapUnwrapRewrap(t *testing.T) {
	t.Parallel()
	oldK, newK := kek(t), kek(t)
	before, _ := secrets.NewKeyring(oldK)
	during, _ := secrets.NewKeyring(oldK, newK)
	after, _ := secrets.NewKeyring(newK)
	dek := bytes.Repeat([]byte{0x42}, 32)
	aad := secrets.AAD("db", 3)

	id, wrapped, err := before.Wrap(dek, aad)
	if err != nil || id != oldK.ID {
		t.Fatalf("Wrap: %s %v", id, err)
	}
	if bytes.Contains(wrapped, dek) {
		t.Fatal("the wrapped key holds the key")
	}
	tests := []struct {
		name    string
		k       *secrets.Keyring
		id      string
		wrapped []byte
		aad     []byte
		wantErr error
	}{
		{"same keyring", before, id, wrapped, aad, nil},
		{"rotating keyring", during, id, wrapped, aad, nil},
		{"other version", before, id, wrapped, secrets.AAD("db", 4), secrets.ErrUndecryptable},
		{"other secret", before, id, wrapped, secrets.AAD("dc", 3), secrets.ErrUndecryptable},
		{"other key id claimed", during, newK.ID, wrapped, aad, secrets.ErrUndecryptable},
		{"truncated", before, id, wrapped[:10], aad, secrets.ErrUndecryptable},
		{"flipped bit", before, id, flipped(wrapped), aad, secrets.ErrUndecryptable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.k.Unwrap(tt.id, tt.wrapped, tt.aad)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Unwrap: %v, want %v", err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(got, dek) {
				t.Fatal("Unwrap returned another key")
			}
		})
	}
	var uk *secrets.UnknownKeyError
	if _, err := after.Unwrap(id, wrapped, aad); !errors.As(err, &uk) || uk.KeyID != oldK.ID {
		t.Errorf("Unwrap with a keyring without the KEK: %v", err)
	}

	newID, rewrapped, err := during.Rewrap(id, wrapped, aad)
	if err != nil || newID != newK.ID {
		t.Fatalf("Rewrap: %s %v", newID, err)
	}
	if got, err := after.Unwrap(newID, rewrapped, aad); err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("Unwrap of the rewrapped key without the old KEK: %v", err)
	}
	if sameID, same, err := during.Rewrap(newID, rewrapped, aad); err != nil || sameID != newID || !bytes.Equal(same, rewrapped) {
		t.Errorf("Rewrap of a key under the primary changed it: %v", err)
	}
}

func flipped(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 1
	return c
}

func TestNewKeyringRefusesBadKeys(t *testing.T) {
	t.Parallel()
	if _, err := secrets.NewKeyring(); err == nil {
		t.Error("empty keyring accepted")
	}
	if _, err := secrets.NewKeyring(secrets.KEK{ID: "", Key: make([]byte, 32)}); err == nil {
		t.Error("empty id accepted")
	}
	if _, err := secrets.NewKeyring(secrets.KEK{ID: "k", Key: make([]byte, 24)}); err == nil {
		t.Error("AES-192 key accepted")
	}
}
