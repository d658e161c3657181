package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
)

// knownHashes are SHA-256 test vectors, so HashToken is checked against
// values computed elsewhere rather than against itself.
var knownHashes = map[string]string{
	"":     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"test": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	"abc":  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
}

func TestHashToken(t *testing.T) {
	t.Parallel()
	for in, want := range knownHashes {
		if got := HashToken(in); got != want {
			t.Errorf("HashToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGenerateToken(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		tok, err := GenerateToken()
		if err != nil {
			t.Fatalf("GenerateToken: %v", err)
		}
		rest, ok := strings.CutPrefix(tok, TokenPrefix)
		if !ok {
			t.Fatalf("token %q lacks prefix %q", tok, TokenPrefix)
		}
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil {
			t.Fatalf("token %q is not URL-safe base64 after the prefix: %v", tok, err)
		}
		if len(raw) != 32 {
			t.Errorf("token %q carries %d random bytes, want 32", tok, len(raw))
		}
		if seen[tok] {
			t.Fatalf("GenerateToken returned %q twice", tok)
		}
		seen[tok] = true
	}
}

func TestParseTokensFile(t *testing.T) {
	t.Parallel()
	h1, h2 := HashToken("one"), HashToken("two")
	tests := []struct {
		name string
		yaml string
		want *TokensFile
		// wantProblems must all appear in the error; nil means no error.
		wantProblems []string
	}{
		{
			name: "valid",
			yaml: `
principals:
  - id: alice
    name: Alice Developer
    token_sha256: ` + h1 + `
    roles:
      - role: developer
        environments: [development, staging]
      - role: qa
  - id: bob
    token_sha256: ` + strings.ToUpper(h2) + `
    roles: [{role: admin}]
`,
			want: &TokensFile{Principals: []TokenEntry{
				{ID: "alice", Name: "Alice Developer", TokenSHA256: h1, Roles: []RoleBinding{
					{Role: RoleDeveloper, Environments: []string{"development", "staging"}},
					{Role: RoleQA},
				}},
				{ID: "bob", TokenSHA256: strings.ToUpper(h2), Roles: []RoleBinding{{Role: RoleAdmin}}},
			}},
		},
		{
			name: "empty file has no principals",
			yaml: "",
			want: &TokensFile{},
		},
		{
			name: "every problem is reported together",
			yaml: `
principals:
  - id: ""
    token_sha256: ` + h1 + `
  - id: alice
    token_sha256: ` + h2 + `
  - id: alice
    token_sha256: not-a-hash
  - id: carol
    token_sha256: ` + strings.ToUpper(h1) + `
  - id: dave
    token_sha256: ` + HashToken("three") + `
    roles: [{role: wizard}]
`,
			wantProblems: []string{
				"principals[0].id is empty",
				`principals[2].id "alice" is used twice`,
				"principals[2].token_sha256 must be 64 hex characters",
				"principals[3].token_sha256 is used twice",
				`principals[4].roles[0].role "wizard" is not one of`,
			},
		},
		{
			name: "acts_for grant",
			yaml: `
principals:
  - id: notifier
    token_sha256: ` + h1 + `
    roles: []
    acts_for:
      methods: [/floe.release.v1.ReleaseService/Approve, /floe.release.v1.ReleaseService/Reject]
      principals: [alice]
  - id: alice
    token_sha256: ` + h2 + `
    roles: [{role: qa}]
`,
			want: &TokensFile{Principals: []TokenEntry{
				{ID: "notifier", TokenSHA256: h1, Roles: []RoleBinding{}, ActsFor: &ActsFor{
					Methods:    []string{"/floe.release.v1.ReleaseService/Approve", "/floe.release.v1.ReleaseService/Reject"},
					Principals: []string{"alice"},
				}},
				{ID: "alice", TokenSHA256: h2, Roles: []RoleBinding{{Role: RoleQA}}},
			}},
		},
		{
			name: "acts_for problems name the entry and the field",
			yaml: `
principals:
  - id: notifier
    token_sha256: ` + h1 + `
    acts_for:
      methods: [Approve, "/floe.release.v1.ReleaseService/*", /floe.release.v1.ReleaseService/Approve, /floe.release.v1.ReleaseService/Approve, /NoPackage/Approve]
      principals: ["*", mallory, notifier, alice, alice, ""]
  - id: alice
    token_sha256: ` + h2 + `
  - id: relay
    token_sha256: ` + HashToken("three") + `
    acts_for: {}
`,
			wantProblems: []string{
				`principals[0].acts_for.methods[0] "Approve" is not a full method name ("/pkg.Service/Method", no wildcards) (entry "notifier")`,
				`principals[0].acts_for.methods[1] "/floe.release.v1.ReleaseService/*" is not a full method name`,
				`principals[0].acts_for.methods[3] "/floe.release.v1.ReleaseService/Approve" is listed twice (entry "notifier")`,
				`principals[0].acts_for.methods[4] "/NoPackage/Approve" is not a full method name`,
				`principals[0].acts_for.principals[0] "*" is not the id of a principal in this file (no wildcards) (entry "notifier")`,
				`principals[0].acts_for.principals[1] "mallory" is not the id of a principal in this file`,
				`principals[0].acts_for.principals[2] "notifier" is the entry itself`,
				`principals[0].acts_for.principals[4] "alice" is listed twice`,
				`principals[0].acts_for.principals[5] "" is not the id of a principal in this file`,
				`principals[2].acts_for.methods is empty: list the full method names ("/pkg.Service/Method") it may call for others (entry "relay")`,
				`principals[2].acts_for.principals is empty: list the ids of the principals it may act for (entry "relay")`,
			},
		},
		{
			name:         "hash of the wrong length",
			yaml:         "principals: [{id: a, token_sha256: abcd}]",
			wantProblems: []string{"principals[0].token_sha256 must be 64 hex characters"},
		},
		{
			name:         "plain token instead of a hash",
			yaml:         "principals: [{id: a, token_sha256: floe_abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghi}]",
			wantProblems: []string{"principals[0].token_sha256 must be 64 hex characters"},
		},
		{
			name:         "not YAML",
			yaml:         "principals: [",
			wantProblems: []string{"parse tokens file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTokensFile([]byte(tt.yaml))
			if tt.wantProblems == nil {
				if err != nil {
					t.Fatalf("ParseTokensFile: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ParseTokensFile mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseTokensFile succeeded, want problems %q", tt.wantProblems)
			}
			for _, p := range tt.wantProblems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not report %q", err, p)
				}
			}
		})
	}
}

func TestTokensFileMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	tf := &TokensFile{Principals: []TokenEntry{
		{ID: "alice", Name: "Alice", TokenSHA256: HashToken("a"), Roles: []RoleBinding{{Role: RoleOperations, Environments: []string{"production"}}}},
		{ID: "bob", TokenSHA256: HashToken("b"), Roles: []RoleBinding{{Role: RoleSupport}}},
		{ID: "notifier", TokenSHA256: HashToken("n"), Roles: []RoleBinding{}, ActsFor: &ActsFor{Methods: []string{"/a.v1.S/M"}, Principals: []string{"alice"}}},
	}}
	data, err := tf.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !strings.HasPrefix(string(data), "# ") {
		t.Errorf("marshalled file does not start with an explanatory comment:\n%s", data)
	}
	got, err := ParseTokensFile(data)
	if err != nil {
		t.Fatalf("ParseTokensFile(Marshal()): %v", err)
	}
	if diff := cmp.Diff(tf, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

// writeTokens writes a tokens file with the given entries and sets its
// modification time to mtime.
func writeTokens(t *testing.T, path string, mtime time.Time, entries ...TokenEntry) {
	t.Helper()
	data, err := (&TokensFile{Principals: entries}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeRaw(t, path, mtime, data)
}

func writeRaw(t *testing.T, path string, mtime time.Time, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestTokenFileAuthenticator(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	writeTokens(t, path, time.Now(),
		TokenEntry{ID: "alice", Name: "Alice", TokenSHA256: HashToken("alice-token"), Roles: []RoleBinding{
			{Role: RoleQA},
			{Role: RoleDeveloper, Environments: []string{"staging"}},
		}},
		TokenEntry{ID: "bob", TokenSHA256: strings.ToUpper(HashToken("bob-token"))},
	)
	a, err := NewTokenFileAuthenticator(path)
	if err != nil {
		t.Fatalf("NewTokenFileAuthenticator: %v", err)
	}
	tests := []struct {
		name    string
		token   string
		want    *Principal
		wantErr bool
	}{
		{
			name:  "known token, roles sorted",
			token: "alice-token",
			want: &Principal{ID: "alice", Name: "Alice", Authenticator: "token", Roles: []RoleBinding{
				{Role: RoleDeveloper, Environments: []string{"staging"}},
				{Role: RoleQA},
			}},
		},
		{
			name:  "hash stored in upper case",
			token: "bob-token",
			want:  &Principal{ID: "bob", Authenticator: "token", Roles: []RoleBinding{}},
		},
		{name: "unknown token", token: "mallory-token", wantErr: true},
		{name: "the hash itself is not a token", token: HashToken("alice-token"), wantErr: true},
		{name: "empty token", token: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := a.Authenticate(context.Background(), tt.token)
			if tt.wantErr {
				var ue *errs.UnauthenticatedError
				if !errors.As(err, &ue) {
					t.Fatalf("Authenticate(%q) = %v, %v; want *errs.UnauthenticatedError", tt.token, got, err)
				}
				if strings.Contains(err.Error(), tt.token) && tt.token != "" {
					t.Errorf("error %q echoes the token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate(%q): %v", tt.token, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpEmptySlices); diff != "" {
				t.Errorf("Authenticate(%q) mismatch (-want +got):\n%s", tt.token, diff)
			}
		})
	}
}

var cmpEmptySlices = cmp.Transformer("emptyBindingsAsNil", func(s []RoleBinding) []RoleBinding {
	if len(s) == 0 {
		return nil
	}
	return s
})

func TestNewTokenFileAuthenticatorErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	invalid := filepath.Join(dir, "invalid.yaml")
	writeRaw(t, invalid, time.Now(), []byte("principals: [{id: a, token_sha256: nope}]"))
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{name: "missing file", path: filepath.Join(dir, "missing.yaml"), wantErr: "tokens file"},
		{name: "invalid file names the path", path: invalid, wantErr: invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewTokenFileAuthenticator(tt.path); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewTokenFileAuthenticator(%s) error = %v, want one containing %q", tt.path, err, tt.wantErr)
			}
		})
	}
}

// TestTokenFileAuthenticatorReload drives the authenticator's clock to show
// that a rewritten file is picked up once recheckEvery has passed, that an
// invalid rewrite keeps the last good contents, and that LastError reports it.
func TestTokenFileAuthenticatorReload(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	mtime := time.Now().Add(-time.Hour)
	writeTokens(t, path, mtime, TokenEntry{ID: "alice", TokenSHA256: HashToken("alice-token"), Roles: []RoleBinding{{Role: RoleDeveloper}}})
	a, err := NewTokenFileAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	ctx := context.Background()

	authAs := func(token string) string {
		t.Helper()
		p, err := a.Authenticate(ctx, token)
		if err != nil {
			var ue *errs.UnauthenticatedError
			if !errors.As(err, &ue) {
				t.Fatalf("Authenticate(%q) error %T %v, want *errs.UnauthenticatedError", token, err, err)
			}
			return "unauthenticated"
		}
		return p.ID
	}
	step := func(name string, want map[string]string) {
		t.Helper()
		got := map[string]string{}
		for token := range want {
			got[token] = authAs(token)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: token → principal mismatch (-want +got):\n%s", name, diff)
		}
	}

	step("initial", map[string]string{"alice-token": "alice", "bob-token": "unauthenticated"})

	// Revoke alice, add bob.
	mtime = mtime.Add(time.Minute)
	writeTokens(t, path, mtime, TokenEntry{ID: "bob", TokenSHA256: HashToken("bob-token"), Roles: []RoleBinding{{Role: RoleQA}}})
	now = now.Add(recheckEvery / 2)
	step("before recheckEvery has passed the file is not looked at", map[string]string{"alice-token": "alice", "bob-token": "unauthenticated"})

	now = now.Add(recheckEvery)
	step("after recheckEvery the rewrite is picked up", map[string]string{"alice-token": "unauthenticated", "bob-token": "bob"})
	if err := a.LastError(); err != nil {
		t.Errorf("LastError() after a good reload = %v, want nil", err)
	}

	// An invalid rewrite keeps the last good contents.
	mtime = mtime.Add(time.Minute)
	writeRaw(t, path, mtime, []byte("principals: [{id: eve, token_sha256: not-a-hash}]"))
	now = now.Add(recheckEvery)
	step("invalid file keeps the last good contents", map[string]string{"bob-token": "bob"})
	if err := a.LastError(); err == nil || !strings.Contains(err.Error(), "token_sha256") {
		t.Errorf("LastError() after an invalid rewrite = %v, want the parse problem", err)
	}

	// A removed file also keeps the last good contents.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	now = now.Add(recheckEvery)
	step("removed file keeps the last good contents", map[string]string{"bob-token": "bob"})
	if err := a.LastError(); err == nil {
		t.Error("LastError() with the file removed = nil, want an error")
	}

	// Fixing the file clears the error.
	mtime = mtime.Add(time.Minute)
	writeTokens(t, path, mtime, TokenEntry{ID: "carol", TokenSHA256: HashToken("carol-token")})
	now = now.Add(recheckEvery)
	step("fixed file", map[string]string{"bob-token": "unauthenticated", "carol-token": "carol"})
	if err := a.LastError(); err != nil {
		t.Errorf("LastError() after the file was fixed = %v, want nil", err)
	}
}

// TestTokenFileAuthenticatorLookup: the tokens file is the Directory of
// delegation targets, re-read like the authenticator's own view of it.
func TestTokenFileAuthenticatorLookup(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	mtime := time.Now().Add(-time.Hour)
	grant := &ActsFor{Methods: []string{"/a.v1.S/M"}, Principals: []string{"alice"}}
	writeTokens(t, path, mtime,
		TokenEntry{ID: "alice", Name: "Alice", TokenSHA256: HashToken("alice-token"), Roles: []RoleBinding{{Role: RoleQA}, {Role: RoleDeveloper}}},
		TokenEntry{ID: "notifier", TokenSHA256: HashToken("notifier-token"), ActsFor: grant},
	)
	a, err := NewTokenFileAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	ctx := context.Background()

	got, err := a.Lookup(ctx, "alice")
	if err != nil {
		t.Fatalf("Lookup(alice): %v", err)
	}
	byToken, err := a.Authenticate(ctx, "alice-token")
	if err != nil {
		t.Fatal(err)
	}
	want := &Principal{ID: "alice", Name: "Alice", Authenticator: "token", Roles: []RoleBinding{{Role: RoleDeveloper}, {Role: RoleQA}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lookup(alice) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(byToken, got); diff != "" {
		t.Errorf("Lookup and Authenticate disagree (-authenticate +lookup):\n%s", diff)
	}
	if p, err := a.Authenticate(ctx, "notifier-token"); err != nil || !cmp.Equal(grant, p.ActsFor) {
		t.Errorf("the notifier's principal carries grant %+v (%v), want %+v", p.ActsFor, err, grant)
	}
	for _, id := range []string{"mallory", "", "ALICE"} {
		if p, err := a.Lookup(ctx, id); !errors.Is(err, ErrUnknownPrincipal) || !strings.Contains(err.Error(), fmt.Sprintf("%q", id)) {
			t.Errorf("Lookup(%q) = %v, %v; want ErrUnknownPrincipal naming it", id, p, err)
		}
	}

	// A rewrite that removes alice is seen by Lookup once recheckEvery has passed.
	mtime = mtime.Add(time.Minute)
	writeTokens(t, path, mtime, TokenEntry{ID: "bob", TokenSHA256: HashToken("bob-token")})
	now = now.Add(recheckEvery)
	if _, err := a.Lookup(ctx, "alice"); !errors.Is(err, ErrUnknownPrincipal) {
		t.Errorf("Lookup(alice) after her removal = %v, want ErrUnknownPrincipal", err)
	}
	if p, err := a.Lookup(ctx, "bob"); err != nil || p.ID != "bob" {
		t.Errorf("Lookup(bob) after the rewrite = %v, %v", p, err)
	}

	// Chain looks up in its tokens file; without one, nobody is known.
	if p, err := (Chain{Tokens: a}).Lookup(ctx, "bob"); err != nil || p.ID != "bob" {
		t.Errorf("Chain.Lookup(bob) = %v, %v", p, err)
	}
	if _, err := (Chain{}).Lookup(ctx, "bob"); !errors.Is(err, ErrUnknownPrincipal) || !strings.Contains(err.Error(), "no tokens file") {
		t.Errorf("Chain{}.Lookup = %v, want ErrUnknownPrincipal saying there is no tokens file", err)
	}
}
