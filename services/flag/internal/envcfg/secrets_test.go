package envcfg_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/internal/envcfg"
)

var t0 = time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)

// given folds events into staging's secret set, one a minute from t0.
func given(events ...proto.Message) *envcfg.SecretSet {
	s := envcfg.NewSecretSet("staging")
	for i, e := range events {
		s.Apply(e, envcfg.Meta{Actor: "dave", Time: t0.Add(time.Duration(i) * time.Minute), Position: uint64(i + 1)})
	}
	return s
}

func added(name string, version uint64, keyID, digest string) *configv1.SecretVersionAdded {
	return &configv1.SecretVersionAdded{Name: name, Version: version, KeyId: keyID, Digest: digest, Provider: "builtin", Reason: "put"}
}

// sameEvents reports how want and got differ ("" when they do not): the
// flag module keeps to the standard library and protobuf for its tests.
func sameEvents(want, got []proto.Message) string {
	text := func(ms []proto.Message) string {
		var b strings.Builder
		for _, m := range ms {
			b.WriteString(string(m.ProtoReflect().Descriptor().Name()) + " {" + prototext.MarshalOptions{}.Format(m) + "}\n")
		}
		return b.String()
	}
	if len(want) == len(got) {
		same := true
		for i := range want {
			same = same && proto.Equal(want[i], got[i])
		}
		if same {
			return ""
		}
	}
	return "want:\n" + text(want) + "got:\n" + text(got)
}

func stored(name string, version uint64, keyID, digest string) secrets.Version {
	return secrets.Version{Name: name, Number: version, KeyID: keyID, Digest: digest}
}

// A KEK rotation records a SecretVersionRewrapped for each live version the
// store keeps under another KEK than the log says, and nothing else.
func TestRewrapped(t *testing.T) {
	t.Parallel()
	history := []proto.Message{
		added("db/password", 1, "kek-a", "d1"),
		added("db/password", 2, "kek-a", "d2"),
		&configv1.SecretVersionRevoked{Name: "db/password", Version: 1, Reason: "rotated"},
		added("api/key", 1, "kek-b", "d3"),
	}
	token := "ghp_" + strings.Repeat("aB3dE6gH9j", 3) + "kLmNoP"
	for _, tc := range []struct {
		name   string
		stored []secrets.Version
		reason string
		want   []proto.Message
		field  string // an InvalidArgument on this field
		refuse string // a FailedPrecondition containing this
	}{
		{
			name:   "moved to the new KEK",
			stored: []secrets.Version{stored("db/password", 2, "kek-b", "d2"), stored("api/key", 1, "kek-b", "d3")},
			reason: "KEK rotation",
			want: []proto.Message{&configv1.SecretVersionRewrapped{Name: "db/password", Version: 2, KeyId: "kek-b", PreviousKeyId: "kek-a",
				Digest: "d2", Reason: "KEK rotation"}},
		},
		{
			name:   "in order of name and version, whatever the store's order",
			stored: []secrets.Version{stored("db/password", 2, "kek-c", "d2"), stored("api/key", 1, "kek-c", "d3")},
			reason: "KEK rotation",
			want: []proto.Message{
				&configv1.SecretVersionRewrapped{Name: "api/key", Version: 1, KeyId: "kek-c", PreviousKeyId: "kek-b", Digest: "d3", Reason: "KEK rotation"},
				&configv1.SecretVersionRewrapped{Name: "db/password", Version: 2, KeyId: "kek-c", PreviousKeyId: "kek-a", Digest: "d2", Reason: "KEK rotation"},
			},
		},
		{
			name:   "already recorded",
			stored: []secrets.Version{stored("db/password", 2, "kek-a", "d2"), stored("api/key", 1, "kek-b", "d3")},
			reason: "KEK rotation",
		},
		{
			name:   "revoked in the log, or unknown to it: left alone",
			stored: []secrets.Version{stored("db/password", 1, "kek-b", "d1"), stored("db/password", 3, "kek-b", "d9"), stored("other", 1, "kek-b", "d8")},
			reason: "KEK rotation",
		},
		{
			name:   "a digest other than the recorded one",
			stored: []secrets.Version{stored("db/password", 2, "kek-b", "forged")},
			reason: "KEK rotation",
			refuse: "secret db/password@2 in staging: the stored ciphertext's digest is not the one recorded",
		},
		{name: "no reason", stored: []secrets.Version{stored("db/password", 2, "kek-b", "d2")}, field: "reason"},
		{name: "a token in the reason", stored: []secrets.Version{stored("db/password", 2, "kek-b", "d2")}, reason: "new key " + token, field: "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := envcfg.Rewrapped(given(history...), tc.stored, tc.reason)
			switch {
			case tc.field != "":
				var ia *errs.InvalidArgumentError
				if !errors.As(err, &ia) || len(ia.Violations) == 0 || ia.Violations[0].Field != tc.field {
					t.Fatalf("Rewrapped = %v, %v; want InvalidArgument on %s", got, err, tc.field)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("the refusal repeats the token: %v", err)
				}
				return
			case tc.refuse != "":
				var pe *errs.PreconditionError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.refuse) {
					t.Fatalf("Rewrapped = %v, %v; want a FailedPrecondition containing %q", got, err, tc.refuse)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if diff := sameEvents(tc.want, got); diff != "" {
				t.Errorf("Rewrapped:\n%s", diff)
			}
		})
	}
}

// SecretVersionRewrapped changes the version's key id and nothing else; it
// survives the snapshot codec.
func TestApplyRewrapped(t *testing.T) {
	t.Parallel()
	s := given(
		added("db/password", 1, "kek-a", "d1"),
		added("db/password", 2, "kek-a", "d2"),
		&configv1.SecretVersionRewrapped{Name: "db/password", Version: 1, KeyId: "kek-b", PreviousKeyId: "kek-a", Digest: "d1", Reason: "KEK rotation"},
		&configv1.SecretVersionRewrapped{Name: "db/password", Version: 7, KeyId: "kek-b", PreviousKeyId: "kek-a", Digest: "d7", Reason: "unknown version"},
		&configv1.SecretVersionRewrapped{Name: "nothing", Version: 1, KeyId: "kek-b", PreviousKeyId: "kek-a", Digest: "d7", Reason: "unknown secret"},
	)
	want := given(added("db/password", 1, "kek-a", "d1"), added("db/password", 2, "kek-a", "d2"))
	want.Secrets["db/password"].Versions[0].KeyId = "kek-b"
	if s.Version != 5 || len(s.Secrets) != 1 || !proto.Equal(want.Secrets["db/password"], s.Secrets["db/password"]) {
		t.Errorf("after the rewrap: version %d, secrets %v; want version 5 and only db/password@1's key changed: %v", s.Version, s.Secrets, want.Secrets)
	}

	b, err := envcfg.MarshalSecretSet(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := envcfg.UnmarshalSecretSet(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != s.Version || back.Environment != s.Environment || len(back.Secrets) != 1 || !proto.Equal(s.Secrets["db/password"], back.Secrets["db/password"]) {
		t.Errorf("snapshot round trip = %+v, want %+v", back, s)
	}
	if got := back.Secrets["db/password"].GetVersions()[0].GetKeyId(); got != "kek-b" {
		t.Errorf("key id after the round trip = %s, want kek-b", got)
	}
}
