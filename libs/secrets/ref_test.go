package secrets_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
)

func TestParseRef(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", secrets.MaxNameLen)
	tests := []struct {
		name    string
		in      string
		want    secrets.Ref
		wantErr string // a substring of the error; "" for none
	}{
		{"name", "secret://db-password", secrets.Ref{Scheme: "secret", Name: "db-password"}, ""},
		{"path name", "secret://payments/stripe.api_key", secrets.Ref{Scheme: "secret", Name: "payments/stripe.api_key"}, ""},
		{"pinned version", "secret://db@42", secrets.Ref{Scheme: "secret", Name: "db", Version: 42}, ""},
		{"max version", "secret://db@18446744073709551615", secrets.Ref{Scheme: "secret", Name: "db", Version: 1<<64 - 1}, ""},
		{"longest name", "secret://" + long, secrets.Ref{Scheme: "secret", Name: long}, ""},
		{"vault", "vault://teams/db#password", secrets.Ref{Scheme: "vault", Path: "teams/db", Key: "password"}, ""},
		{"vault upper", "vault://Teams/DB_1#Pass.word-2", secrets.Ref{Scheme: "vault", Path: "Teams/DB_1", Key: "Pass.word-2"}, ""},

		{"empty", "", secrets.Ref{}, "is required"},
		{"no scheme", "hunter2", secrets.Ref{}, "is not a secret reference"},
		{"other scheme", "https://x", secrets.Ref{}, "is not a secret reference"},
		{"scheme case", "SECRET://db", secrets.Ref{}, "is not a secret reference"},
		{"empty name", "secret://", secrets.Ref{}, "name is required"},
		{"upper name", "secret://DB", secrets.Ref{}, "is not valid"},
		{"space", "secret://a b", secrets.Ref{}, "is not valid"},
		{"dot segment", "secret://a/../b", secrets.Ref{}, "is not valid"},
		{"leading slash", "secret:///a", secrets.Ref{}, "is not valid"},
		{"trailing slash", "secret://a/", secrets.Ref{}, "is not valid"},
		{"empty segment", "secret://a//b", secrets.Ref{}, "is not valid"},
		{"leading dot", "secret://.a", secrets.Ref{}, "is not valid"},
		{"wildcards", "secret://a.*", secrets.Ref{}, "is not valid"},
		{"too long", "secret://" + long + "a", secrets.Ref{}, "is not valid"},
		{"version zero", "secret://db@0", secrets.Ref{}, "not a version"},
		{"version leading zero", "secret://db@01", secrets.Ref{}, "not a version"},
		{"version sign", "secret://db@+1", secrets.Ref{}, "not a version"},
		{"version overflow", "secret://db@18446744073709551616", secrets.Ref{}, "not a version"},
		{"empty version", "secret://db@", secrets.Ref{}, "not a version"},
		{"two versions", "secret://db@1@2", secrets.Ref{}, "not a version"},
		{"fragment on secret", "secret://db#k", secrets.Ref{}, "is not valid"},
		{"vault without key", "vault://teams/db", secrets.Ref{}, "needs a key"},
		{"vault empty key", "vault://teams/db#", secrets.Ref{}, "key is required"},
		{"vault empty path", "vault://#k", secrets.Ref{}, "path is required"},
		{"vault bad key", "vault://teams/db#a#b", secrets.Ref{}, "key"},
		{"vault traversal", "vault://../sys/raw#k", secrets.Ref{}, "is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := secrets.ParseRef(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseRef(%q): %v", tt.in, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ParseRef(%q) (-want +got):\n%s", tt.in, diff)
				}
				if got.String() != tt.in {
					t.Errorf("String() = %q, want %q", got.String(), tt.in)
				}
				if !secrets.IsRef(tt.in) {
					t.Errorf("IsRef(%q) = false", tt.in)
				}
				return
			}
			var ia *errs.InvalidArgumentError
			if !errors.As(err, &ia) || len(ia.Violations) == 0 || ia.Violations[0].Field != "ref" {
				t.Fatalf("ParseRef(%q) = %+v, %v; want an InvalidArgumentError of field ref", tt.in, got, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRef(%q): %v, want it to say %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestRefErrorsDoNotRepeatNonReferences(t *testing.T) {
	t.Parallel()
	// A value written where a reference belongs must not come back in the message.
	_, err := secrets.ParseRef("correct-horse-battery-staple")
	if err == nil || strings.Contains(err.Error(), "staple") {
		t.Errorf("ParseRef of a plain value: %v", err)
	}
	var v errs.Violations
	secrets.CheckRef(&v, "config.db_password", "hunter2hunter2")
	if err := v.Err(); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "config.db_password") {
		t.Errorf("CheckRef: %v", err)
	}
}

const (
	notARef  = "is not a secret reference: want " + secrets.RefSyntax
	required = "is required: want " + secrets.RefSyntax
)

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"", "secret://a", "secret://a@1", "secret://a/b.c_d-e@18446744073709551615", "secret://a@0", "secret://a@01",
		"secret://A", "secret://a//b", "secret://a/../b", "secret://a@1@2", "secret:///", "vault://a#b", "vault://a/b#c.d",
		"vault://a", "vault://#", "vault://a#b#c", "vault://../x#k", "secret://\x00", "secret://é", "vault://a#é",
		"secret://" + strings.Repeat("a", 201), "https://x", "hunter2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := secrets.ParseRef(s)
		if err != nil {
			var ia *errs.InvalidArgumentError
			if !errors.As(err, &ia) {
				t.Fatalf("ParseRef(%q): %T %v, want an InvalidArgumentError", s, err, err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("ParseRef(%q): the message is not UTF-8", s)
			}
			if r != (secrets.Ref{}) {
				t.Fatalf("ParseRef(%q) returned %+v with an error", s, r)
			}
			// A string without a scheme gets a fixed message: it may be a value.
			if !secrets.IsRef(s) && (len(ia.Violations) != 1 || ia.Violations[0].Description != notARef && ia.Violations[0].Description != required) {
				t.Fatalf("ParseRef(%q): %v, want only the fixed message for a non-reference", s, err)
			}
			return
		}
		// A valid reference round-trips and holds only safe bytes.
		if got := r.String(); got != s {
			t.Fatalf("ParseRef(%q).String() = %q", s, got)
		}
		again, err := secrets.ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("reparse of %q: %+v, %v", s, again, err)
		}
		switch r.Scheme {
		case secrets.SchemeSecret:
			if !secrets.ValidName(r.Name) || len(r.Name) > secrets.MaxNameLen || strings.ToLower(r.Name) != r.Name {
				t.Fatalf("ParseRef(%q) accepted name %q", s, r.Name)
			}
			for seg := range strings.SplitSeq(r.Name, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("ParseRef(%q) accepted segment %q", s, seg)
				}
			}
		case secrets.SchemeVault:
			if !secrets.ValidPath(r.Path) || r.Key == "" {
				t.Fatalf("ParseRef(%q) accepted path %q key %q", s, r.Path, r.Key)
			}
		default:
			t.Fatalf("ParseRef(%q) returned scheme %q", s, r.Scheme)
		}
		for _, c := range []byte(s) {
			if c <= ' ' || c >= 0x7f || c == '*' || c == '>' {
				t.Fatalf("ParseRef(%q) accepted byte %q", s, c)
			}
		}
	})
}
