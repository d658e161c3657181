package natsstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/leakcheck"
	"github.com/penguinmails/floe/libs/secrets/natsstore"
	"github.com/penguinmails/floe/libs/secrets/secretstest"
)

func keyring(t *testing.T, keks ...secrets.KEK) *secrets.Keyring {
	t.Helper()
	k, err := secrets.NewKeyring(keks...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newKEK(t *testing.T) secrets.KEK {
	t.Helper()
	k, err := secrets.GenerateKEK()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func open(t *testing.T, js jetstream.JetStream, keys *secrets.Keyring) *natsstore.Store {
	t.Helper()
	s, err := natsstore.Open(natstest.Context(t), js, keys, natsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	// One embedded JetStream server for the suite; the suite's names keep
	// subtests apart.
	_, _, js := natstest.JetStream(t)
	keys := keyring(t, newKEK(t))
	secretstest.Run(t, func(t *testing.T) secrets.Provider { return open(t, js, keys) })
}

// rawStream returns every message of the bucket's stream, as a leaked copy
// of the store (a dump, a backup) would hold them.
func rawStream(t *testing.T, js jetstream.JetStream) []byte {
	t.Helper()
	ctx := natstest.Context(t)
	st, err := js.Stream(ctx, "KV_"+natsstore.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&all, "%s %v %s\n", m.Subject, m.Header, m.Data)
	}
	return all.Bytes()
}

type stored struct {
	KeyID      string `json:"key_id"`
	WrappedDEK []byte `json:"wrapped_dek"`
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
	Digest     string `json:"digest"`
}

func record(t *testing.T, kv jetstream.KeyValue, key string) (stored, []byte) {
	t.Helper()
	e, err := kv.Get(natstest.Context(t), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	var r stored
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		t.Fatal(err)
	}
	return r, e.Value()
}

func TestStoredFormHoldsNoValue(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	s := open(t, js, keyring(t, newKEK(t)))
	ctx := natstest.Context(t)
	canary := leakcheck.Canary()
	v, err := s.Put(ctx, "payments/stripe.key", secrets.NewValueString(canary))
	if err != nil {
		t.Fatal(err)
	}
	leakcheck.Check(t, []byte(canary), map[string][]byte{"the KV bucket": rawStream(t, js)})

	kv, err := js.KeyValue(ctx, natsstore.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := record(t, kv, "v.payments/stripe=2ekey.1")
	want := secrets.Sealed{Nonce: r.Nonce, Ciphertext: r.Ciphertext}.Digest()
	if v.Digest != want || r.Digest != want || r.KeyID != v.KeyID {
		t.Errorf("Version %+v, record digest %s key %s: want digest %s of nonce‖ciphertext", v, r.Digest, r.KeyID, want)
	}
}

// TestDestroyLeavesNoDataKey shows why Destroy is a revocation: after it,
// no message of the bucket holds the version's wrapped data key, so the
// ciphertext, wherever a copy of it went, can no longer be decrypted, even
// with the KEK.
func TestDestroyLeavesNoDataKey(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	keys := keyring(t, newKEK(t))
	s := open(t, js, keys)
	ctx := natstest.Context(t)
	canary := leakcheck.Canary()
	if _, err := s.Put(ctx, "db", secrets.NewValueString(canary)); err != nil {
		t.Fatal(err)
	}
	kv, _ := js.KeyValue(ctx, natsstore.DefaultBucket)
	leaked, _ := record(t, kv, "v.db.1") // an attacker's copy, taken before the destroy
	if leakcheck.Find(rawStream(t, js), leaked.WrappedDEK) == nil {
		t.Fatal("the scan does not see the wrapped data key even before Destroy")
	}
	if err := s.Destroy(ctx, "db", 1); err != nil {
		t.Fatal(err)
	}
	raw := rawStream(t, js)
	for what, b := range map[string][]byte{"wrapped data key": leaked.WrappedDEK, "ciphertext": leaked.Ciphertext} {
		if f := leakcheck.Find(raw, b); f != nil {
			t.Errorf("after Destroy the bucket still holds the %s (%v)", what, f)
		}
	}
	if _, err := kv.Get(ctx, "v.db.1"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("Get of the destroyed key: %v, want ErrKeyNotFound", err)
	}
	// The leaked ciphertext with some other wrapped key does not open.
	other, err := keys.Seal(secrets.NewValueString("other"), secrets.AAD("db", 1))
	if err != nil {
		t.Fatal(err)
	}
	forged := secrets.Sealed{KeyID: other.KeyID, WrappedDEK: other.WrappedDEK, Nonce: leaked.Nonce, Ciphertext: leaked.Ciphertext}
	if _, err := keys.Open(forged, secrets.AAD("db", 1)); !errors.Is(err, secrets.ErrUndecryptable) {
		t.Errorf("open the leaked ciphertext with another data key: %v, want ErrUndecryptable", err)
	}
}

func TestWrongKeyAndTampering(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	kek := newKEK(t)
	s := open(t, js, keyring(t, kek))
	ctx := natstest.Context(t)
	canary := leakcheck.Canary()
	for _, name := range []string{"a", "b"} {
		if _, err := s.Put(ctx, name, secrets.NewValueString(canary)); err != nil {
			t.Fatal(err)
		}
	}
	kv, _ := js.KeyValue(ctx, natsstore.DefaultBucket)

	t.Run("another keyring", func(t *testing.T) {
		other := open(t, js, keyring(t, newKEK(t)))
		_, err := other.Get(ctx, "a", 1)
		var uk *secrets.UnknownKeyError
		if !errors.As(err, &uk) || uk.KeyID != kek.ID {
			t.Errorf("Get with a keyring without the KEK: %v, want UnknownKeyError for %s", err, kek.ID)
		}
		leakcheck.Check(t, []byte(canary), map[string][]byte{"the error": []byte(fmt.Sprint(err))})
	})
	t.Run("same id, other key", func(t *testing.T) {
		impostor := newKEK(t)
		impostor.ID = kek.ID
		other := open(t, js, keyring(t, impostor))
		_, err := other.Get(ctx, "a", 1)
		if !errors.Is(err, secrets.ErrUndecryptable) {
			t.Errorf("Get with a wrong key: %v, want ErrUndecryptable", err)
		}
		leakcheck.Check(t, []byte(canary), map[string][]byte{"the error": []byte(fmt.Sprint(err))})
	})

	tamper := []struct {
		name   string
		key    string
		modify func(r map[string]any)
	}{
		{"ciphertext", "v.a.1", func(r map[string]any) { r["ciphertext"] = flip(r["ciphertext"].(string)) }},
		{"nonce", "v.a.1", func(r map[string]any) { r["nonce"] = flip(r["nonce"].(string)) }},
		{"wrapped data key", "v.a.1", func(r map[string]any) { r["wrapped_dek"] = flip(r["wrapped_dek"].(string)) }},
	}
	for _, tc := range tamper {
		t.Run("tampered "+tc.name, func(t *testing.T) {
			e, err := kv.Get(ctx, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			var r map[string]any
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				t.Fatal(err)
			}
			tc.modify(r)
			body, _ := json.Marshal(r)
			if _, err := kv.Put(ctx, tc.key, body); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = kv.Put(ctx, tc.key, e.Value()) })
			_, err = s.Get(ctx, "a", 1)
			if !errors.Is(err, secrets.ErrUndecryptable) {
				t.Errorf("Get: %v, want ErrUndecryptable", err)
			}
			leakcheck.Check(t, []byte(canary), map[string][]byte{"the error": []byte(fmt.Sprint(err))})
		})
	}

	t.Run("record moved to another secret", func(t *testing.T) {
		// b@1's record copied over a@1: the AAD binds it to b@1, so it does not open as a@1.
		ea, _ := kv.Get(ctx, "v.a.1")
		eb, _ := kv.Get(ctx, "v.b.1")
		if _, err := kv.Put(ctx, "v.a.1", eb.Value()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = kv.Put(ctx, "v.a.1", ea.Value()) })
		if _, err := s.Get(ctx, "a", 1); !errors.Is(err, secrets.ErrUndecryptable) {
			t.Errorf("Get of a moved record: %v, want ErrUndecryptable", err)
		}
	})
}

// flip changes one bit of base64-encoded bytes.
func flip(b64 string) string {
	var b []byte
	_ = json.Unmarshal([]byte(`"`+b64+`"`), &b)
	b[len(b)/2] ^= 0x01
	out, _ := json.Marshal(b)
	return string(out[1 : len(out)-1])
}

func TestKEKRotation(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	ctx := natstest.Context(t)
	oldKEK, newKEKey := newKEK(t), newKEK(t)

	before := open(t, js, keyring(t, oldKEK))
	vals := map[string]string{"a": leakcheck.Canary(), "b/c.d": leakcheck.Canary()}
	digests := map[string]string{}
	for name, val := range vals {
		v, err := before.Put(ctx, name, secrets.NewValueString(val))
		if err != nil {
			t.Fatal(err)
		}
		if v.KeyID != oldKEK.ID {
			t.Fatalf("key id %s, want %s", v.KeyID, oldKEK.ID)
		}
		digests[name] = v.Digest
	}

	// Step 1: the new KEK becomes primary; old versions still open, new ones use it.
	during := open(t, js, keyring(t, oldKEK, newKEKey))
	for name, val := range vals {
		got, err := during.Get(ctx, name, 1)
		if err != nil || string(got.Reveal()) != val {
			t.Fatalf("Get(%s) during rotation: %v", name, err)
		}
	}
	v2, err := during.Put(ctx, "a", secrets.NewValueString(leakcheck.Canary()))
	if err != nil || v2.KeyID != newKEKey.ID {
		t.Fatalf("Put during rotation: %+v, %v; want key %s", v2, err, newKEKey.ID)
	}
	usage, err := during.KeyUsage(ctx)
	if err != nil || usage[oldKEK.ID] != 2 || usage[newKEKey.ID] != 1 {
		t.Fatalf("KeyUsage = %v, %v; want 2 old and 1 new", usage, err)
	}

	// Step 2: rewrap everything under the new KEK.
	changed, err := during.RewrapAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 2 {
		t.Fatalf("RewrapAll changed %+v, want the 2 versions under the old KEK", changed)
	}
	for _, v := range changed {
		if v.KeyID != newKEKey.ID || v.Digest != digests[v.Name] {
			t.Errorf("rewrapped %+v: want key %s and the digest unchanged (%s)", v, newKEKey.ID, digests[v.Name])
		}
	}
	if again, err := during.RewrapAll(ctx); err != nil || len(again) != 0 {
		t.Errorf("a second RewrapAll changed %+v, %v; want nothing", again, err)
	}

	// Step 3: the old KEK is removed; everything still opens; the old keyring opens nothing.
	after := open(t, js, keyring(t, newKEKey))
	for name, val := range vals {
		got, err := after.Get(ctx, name, 1)
		if err != nil || string(got.Reveal()) != val {
			t.Fatalf("Get(%s) after rotation: %v", name, err)
		}
		var uk *secrets.UnknownKeyError
		if _, err := before.Get(ctx, name, 1); !errors.As(err, &uk) {
			t.Errorf("Get(%s) with only the retired KEK: %v, want UnknownKeyError", name, err)
		}
	}
}

// LiveVersions is what a KEK rotation reconciles the log with: every live
// version of every secret with the KEK that wraps it, destroyed ones left
// out, the key ids following RewrapAll.
func TestLiveVersionsFollowRewrap(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	ctx := natstest.Context(t)
	oldKEK, newKEKey := newKEK(t), newKEK(t)

	before := open(t, js, keyring(t, oldKEK))
	if live, err := before.LiveVersions(ctx); err != nil || len(live) != 0 {
		t.Fatalf("LiveVersions of an empty store = %+v, %v; want none", live, err)
	}
	digests := map[string]string{}
	for _, name := range []string{"b/c.d", "a", "a"} {
		v, err := before.Put(ctx, name, secrets.NewValueString(leakcheck.Canary()))
		if err != nil {
			t.Fatal(err)
		}
		digests[fmt.Sprintf("%s@%d", v.Name, v.Number)] = v.Digest
	}
	if err := before.Destroy(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name   string
		Number uint64
		KeyID  string
		Digest string
	}
	rows := func(s *natsstore.Store) []row {
		t.Helper()
		live, err := s.LiveVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []row
		for _, v := range live {
			out = append(out, row{v.Name, v.Number, v.KeyID, v.Digest})
		}
		return out
	}
	want := []row{{"a", 2, oldKEK.ID, digests["a@2"]}, {"b/c.d", 1, oldKEK.ID, digests["b/c.d@1"]}}
	if diff := cmp.Diff(want, rows(before)); diff != "" {
		t.Errorf("LiveVersions before the rotation (-want +got):\n%s", diff)
	}
	if before.PrimaryKey() != oldKEK.ID {
		t.Errorf("PrimaryKey = %s, want %s", before.PrimaryKey(), oldKEK.ID)
	}

	during := open(t, js, keyring(t, oldKEK, newKEKey))
	if during.PrimaryKey() != newKEKey.ID || !slices.Equal(during.KeyIDs(), []string{oldKEK.ID, newKEKey.ID}) {
		t.Errorf("PrimaryKey %s, KeyIDs %v; want %s last of [%s %s]", during.PrimaryKey(), during.KeyIDs(), newKEKey.ID, oldKEK.ID, newKEKey.ID)
	}
	if _, err := during.RewrapAll(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].KeyID = newKEKey.ID // the digests stay
	}
	if diff := cmp.Diff(want, rows(during)); diff != "" {
		t.Errorf("LiveVersions after RewrapAll (-want +got):\n%s", diff)
	}
	usage, err := during.KeyUsage(ctx)
	if diff := cmp.Diff(map[string]int{newKEKey.ID: 2}, usage); err != nil || diff != "" {
		t.Errorf("KeyUsage after RewrapAll: %v (-want +got):\n%s", err, diff)
	}

	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := during.LiveVersions(ctxDone); !errors.Is(err, context.Canceled) {
		t.Errorf("LiveVersions with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestPutLimitsAndClock(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := natsstore.Open(natstest.Context(t), js, keyring(t, newKEK(t)), natsstore.Options{Bucket: "other_secrets", Clock: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := natstest.Context(t)
	v, err := s.Put(ctx, "x", secrets.NewValueString("some value"))
	if err != nil || !v.CreatedAt.Equal(at) {
		t.Fatalf("Put = %+v, %v; want created at %s", v, err, at)
	}
	if _, err := s.Put(ctx, "x", secrets.NewValue(make([]byte, natsstore.MaxValueSize+1))); err == nil {
		t.Error("Put of an oversized value succeeded")
	}
	if _, err := natsstore.Open(ctx, js, nil, natsstore.Options{}); err == nil {
		t.Error("Open without a keyring succeeded")
	}
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	s := open(t, js, keyring(t, newKEK(t)))
	ctx, cancel := context.WithCancel(natstest.Context(t))
	cancel()
	if _, err := s.Versions(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Versions with a cancelled context: %v, want context.Canceled", err)
	}
}
