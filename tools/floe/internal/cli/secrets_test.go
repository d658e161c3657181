package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

func TestReadSecretValue(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", maxSecretValue)
	for _, tc := range []struct {
		name  string
		in    string
		keep  bool
		want  string
		error string
	}{
		{name: "plain", in: "s3cret", want: "s3cret"},
		{name: "one newline stripped", in: "s3cret\n", want: "s3cret"},
		{name: "only one newline stripped", in: "s3cret\n\n", want: "s3cret\n"},
		{name: "carriage return kept", in: "s3cret\r\n", want: "s3cret\r"},
		{name: "inner newlines kept", in: "line1\nline2\n", want: "line1\nline2"},
		{name: "keep newline", in: "s3cret\n", keep: true, want: "s3cret\n"},
		{name: "spaces kept", in: " s3cret ", want: " s3cret "},
		{name: "empty", in: "", error: "the value is empty"},
		{name: "only a newline", in: "\n", error: "the value is empty"},
		{name: "a newline kept", in: "\n", keep: true, want: "\n"},
		{name: "64 KiB", in: big, want: big},
		{name: "64 KiB and a newline", in: big + "\n", want: big},
		{name: "over 64 KiB", in: big + "y", error: "larger than 64 KiB"},
		{name: "far over 64 KiB", in: big + big, error: "larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readSecretValue(strings.NewReader(tc.in), tc.keep)
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("readSecretValue = %d bytes, %v; want an error containing %q", len(got), err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("readSecretValue(%q) = %q, want %q", oneLine(tc.in, 20), oneLine(string(got), 20), oneLine(tc.want, 20))
			}
		})
	}
}

// A character device on stdin (a terminal; /dev/null stands in for one
// here) is refused with the advice to pipe the value, before reading.
func TestReadSecretInputRefusesATerminal(t *testing.T) {
	t.Parallel()
	dev, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if !isTerminal(dev) {
		t.Fatalf("%s is not a character device here: the test needs one to stand in for a terminal", os.DevNull)
	}
	if _, err := readSecretInput(dev, "", false); err == nil || !strings.Contains(err.Error(), "terminal") || !strings.Contains(err.Error(), `printf %s "$VALUE" | floe secrets put`) {
		t.Errorf("stdin a terminal = %v, want a refusal saying to pipe the value", err)
	}
	// --from-file reads the file, whatever stdin is.
	file := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readSecretInput(dev, file, false); err != nil || string(got) != "from-file" {
		t.Errorf("--from-file = %q, %v", got, err)
	}
	if _, err := readSecretInput(strings.NewReader("x"), filepath.Join(t.TempDir(), "missing"), false); err == nil {
		t.Error("--from-file of a missing file succeeded")
	}
	if isTerminal(strings.NewReader("x")) {
		t.Error("a reader is a terminal")
	}
}

// secrets put takes no value argument and no empty value; it says so
// without repeating the would-be value, and before calling the server.
func TestSecretsPutRefusesArgumentValueAndEmptyStdin(t *testing.T) {
	t.Parallel()
	const value = "hunter2-Arg-Value-9f81"
	conn := []string{"--server", "127.0.0.1:1", "--token", "floe_x", "--timeout", "2s"}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"value as an argument", []string{"secrets", "put", "production", "db/password", value, "--reason", "x"}, "", "the value is never an argument"},
		{"value as an argument with stdin", []string{"secrets", "put", "production", "db/password", value, "--reason", "x"}, "other", "the value is never an argument"},
		{"value as a flag", []string{"secrets", "put", "production", "db/password", "--value", value, "--reason", "x"}, "", "unknown flag: --value"},
		{"value as a flag with =", []string{"secrets", "put", "production", "db/password", "--value=" + value, "--reason", "x"}, "", "unknown flag: --value"},
		{"empty stdin", []string{"secrets", "put", "production", "db/password", "--reason", "x"}, "", "stdin: the value is empty"},
		{"only a newline", []string{"secrets", "put", "production", "db/password", "--reason", "x"}, "\n", "stdin: the value is empty"},
		{"empty file", []string{"secrets", "put", "production", "db/password", "--reason", "x", "--from-file", os.DevNull}, "", "the value is empty"},
		{"value in the description", []string{"secrets", "put", "production", "db/password", "--reason", "x", "--description", "pw " + value}, value + "\n", "--description contains the secret's value"},
		{"value in the reason", []string{"secrets", "put", "production", "db/password", "--reason", "set to " + value}, value, "--reason contains the secret's value"},
		{"no reason", []string{"secrets", "put", "production", "db/password"}, value, "--reason is required"},
		{"no name", []string{"secrets", "put", "production", "--reason", "x"}, value, "missing NAME"},
		{"revoke bad version", []string{"secrets", "revoke", "production", "db/password", "latest", "--reason", "x"}, "", "a version number from 1"},
		{"revoke no reason", []string{"secrets", "revoke", "production", "db/password", "2"}, "", "--reason is required"},
		{"versions without name", []string{"secrets", "versions", "production"}, "", "missing NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, err := runFloeIn(context.Background(), tc.stdin, append(append([]string{}, conn...), tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("floe %s = %v, want an error containing %q", strings.Join(tc.args, " "), err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "Unavailable") {
				t.Errorf("floe %s reached the network before validating: %v", strings.Join(tc.args, " "), err)
			}
			if err != nil && strings.Contains(out+errOut+err.Error(), value) {
				t.Errorf("floe %s repeats the value: %v\n%s%s", strings.Join(tc.args, " "), err, out, errOut)
			}
		})
	}
}

// digestLine is put's summary: the version, its key and its digest (the
// proto promises "sha256:<hex>"; the server gives bare hex for now).
var digestLine = regexp.MustCompile(`(?m)^production db/password: version 1 \(key kek-test, digest (sha256:)?[0-9a-f]{12}\) by dave$`)

// leaks reports whether text holds the value in any form a client might
// print it: as is, base64 (protojson's bytes) or hex.
func leaks(text, value string) bool {
	return strings.Contains(text, value) ||
		strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(value))) ||
		strings.Contains(text, base64.RawURLEncoding.EncodeToString([]byte(value))) ||
		strings.Contains(text, hex.EncodeToString([]byte(value)))
}

// The secret's life through the CLI: put from stdin and from a file, listed,
// its versions shown, one revoked; the value never in any output.
func TestSecretsOfARealServer(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	const v1, v2 = "Tr0ub4dor&3-first-value-5a1e", "correct horse battery staple 7c2d"
	var all bytes.Buffer // every output of every command
	run := func(user, stdin string, args ...string) (string, error) {
		t.Helper()
		out, errOut, err := s.run(t, user, stdin, args...)
		all.WriteString(out + errOut)
		if err != nil {
			all.WriteString(err.Error())
		}
		return out, err
	}
	must := func(user, stdin string, args ...string) string {
		t.Helper()
		out, err := run(user, stdin, args...)
		if err != nil {
			t.Fatalf("floe %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	out := must("dave", v1+"\n", "secrets", "put", "production", "db/password", "--reason", "first password", "--description", "the app's database password")
	// The digest is the ciphertext's (shortened): never derived from the value alone.
	if !digestLine.MatchString(out) {
		t.Errorf("put =\n%s\nwant a line matching %s", out, digestLine)
	}
	wantLines(t, "put", out, "reference: secret://db/password")
	file := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(file, []byte(v2), 0o600); err != nil {
		t.Fatal(err)
	}
	out = must("dave", "", "-o", "json", "secrets", "put", "production", "db/password", "--from-file", file, "--reason", "rotated")
	var put configv1.PutSecretResponse
	if err := protojsonUnmarshal(out, &put); err != nil {
		t.Fatalf("put -o json: %v\n%s", err, out)
	}
	if put.GetVersion().GetVersion() != 2 || put.GetVersion().GetKeyId() != "kek-test" || put.GetSecret().GetReference() != "secret://db/password" || len(put.GetSecret().GetVersions()) != 2 {
		t.Errorf("put -o json = %v", &put)
	}
	must("dave", "another-value-0000", "secrets", "put", "production", "smtp/api-key", "--reason", "mail")

	out = must("dave", "", "secrets", "list", "production")
	wantLines(t, "list", out, "NAME LATEST VERSIONS PROVIDER DESCRIPTION", "db/password 2 2 builtin the app's database password", "smtp/api-key 1 1 builtin -")
	must("dave", "", "-o", "json", "secrets", "list", "production")
	out = must("dave", "", "secrets", "list", "staging")
	if strings.TrimSpace(out) != "no secrets in staging" {
		t.Errorf("list of an environment without secrets = %q", out)
	}

	out = must("dave", "", "secrets", "versions", "production", "db/password")
	wantLines(t, "versions", out, "VERSION CREATED ACTOR KEY DIGEST REVOKED REASON", "dave kek-test", "- rotated", "- first password")
	if strings.Index(out, "rotated") > strings.Index(out, "first password") {
		t.Errorf("versions is not newest first:\n%s", out)
	}
	must("dave", "", "-o", "json", "secrets", "versions", "production", "db/password")

	out = must("dave", "", "secrets", "revoke", "production", "db/password", "1", "--reason", "leaked in INC-12")
	wantLines(t, "revoke", out, "production db/password: version 1 revoked by dave; it resolves no more (latest now: 2)")
	out = must("dave", "", "secrets", "versions", "production", "db/password")
	wantLines(t, "versions after revoke", out, "by dave first password")
	out = must("dave", "", "secrets", "list", "production")
	wantLines(t, "list after revoke", out, "db/password 2 2 (1 revoked) builtin")
	must("dave", "", "-o", "json", "secrets", "revoke", "production", "smtp/api-key", "1", "--reason", "unused")

	// Refusals name the problem, not the value.
	if _, err := run("grace", v1, "secrets", "put", "production", "db/password", "--reason", "x"); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("put by support = %v, want PermissionDenied", err)
	}
	if _, err := run("grace", "", "secrets", "list", "production"); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("list by support (no secret.read) = %v, want PermissionDenied", err)
	}
	if _, err := run("dave", v1, "secrets", "put", "production", "DB Password", "--reason", "x"); err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Errorf("put with a bad name = %v, want InvalidArgument", err)
	}
	if _, err := run("dave", "", "secrets", "versions", "production", "no/such"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("versions of a missing secret = %v, want NotFound", err)
	}
	if _, err := run("dave", "", "secrets", "revoke", "production", "db/password", "9", "--reason", "x"); err == nil {
		t.Error("revoking a missing version succeeded")
	}

	for _, v := range []string{v1, v2, "another-value-0000"} {
		if leaks(all.String(), v) {
			t.Errorf("a secret value appears in the CLI's output:\n%s", all.String())
		}
	}
}

func TestSecretsRotationCommands(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	run := func(args ...string) (string, error) {
		t.Helper()
		out, errOut, err := s.run(t, "dave", "", args...)
		return out + errOut, err
	}
	if _, _, err := s.run(t, "dave", "first-value-0000\n", "secrets", "put", "staging", "api/key", "--reason", "initial"); err != nil {
		t.Fatal(err)
	}
	if out, err := run("secrets", "rotate", "staging", "api/key", "--reason", "now"); err == nil || !strings.Contains(err.Error(), "no rotation policy") {
		t.Fatalf("rotate without a policy: %v\n%s", err, out)
	}
	out, err := run("secrets", "policy", "staging", "api/key", "--rotator", "generate", "--reason", "the guide's policy")
	if err != nil || !strings.Contains(out, "rotated every 720h0m0s, grace 168h0m0s; next rotation ") {
		t.Fatalf("policy: %v\n%s", err, out)
	}
	out, err = run("secrets", "rotate", "staging", "api/key", "--reason", "now")
	if err != nil || !strings.Contains(out, "staging api/key: version 2; next rotation ") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	if out, err := run("secrets", "policy", "staging", "api/key", "--rotator", "sometimes", "--reason", "x"); err == nil || !strings.Contains(err.Error(), "one of generate, exec, manual") {
		t.Fatalf("a bad rotator: %v\n%s", err, out)
	}
	out, err = run("secrets", "policy", "staging", "api/key", "--none", "--reason", "no more")
	if err != nil || !strings.Contains(out, "no automatic rotation") {
		t.Fatalf("policy --none: %v\n%s", err, out)
	}
}

// startKeyringServer is startConfigServer with its keyring file in the
// test's hands: the file is read again at every restart.
func startKeyringServer(t *testing.T) (*configServer, string) {
	t.Helper()
	keyring := filepath.Join(t.TempDir(), "secrets.keyring")
	if _, err := secrets.CreateKeyringFile(keyring); err != nil {
		t.Fatal(err)
	}
	p := testkit.Start(t, testkit.Options{
		Users: configUsers,
		Entries: func() []service.Entry {
			var c flagsvc.Config
			c.TickInterval, c.Secrets = time.Second, secretsetup.Config{Provider: "builtin", Keyring: keyring}
			return []service.Entry{service.Of(flagsvc.Service, c)}
		},
	})
	return &configServer{Process: p}, keyring
}

// kek add and rewrap refuse what they can tell is wrong before touching a
// file or the network.
func TestSecretsKEKRefusals(t *testing.T) {
	t.Parallel()
	loose := filepath.Join(t.TempDir(), "loose.keyring")
	if _, err := secrets.CreateKeyringFile(loose); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--server", "127.0.0.1:1", "--token", "floe_x", "--timeout", "2s"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"kek add without a keyring", []string{"secrets", "kek", "add"}, "--keyring is required"},
		{"kek add of a missing file", []string{"secrets", "kek", "add", "--keyring", filepath.Join(t.TempDir(), "none")}, "no such file"},
		{"kek add of a file others may read", []string{"secrets", "kek", "add", "--keyring", loose}, "chmod 600"},
		{"rewrap without a reason", []string{"secrets", "rewrap", "--dry-run"}, "--reason is required"},
		{"rewrap with an argument", []string{"secrets", "rewrap", "production", "--reason", "x"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runFloeIn(context.Background(), "", append(append([]string{}, conn...), tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("floe %s = %v, want an error containing %q", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
}

// A KEK rotation through the CLI, following its own help: kek add, restart,
// rewrap --dry-run, rewrap, the old key at 0, its line removed, restart.
func TestSecretsKEKRotation(t *testing.T) {
	t.Parallel()
	s, keyring := startKeyringServer(t)
	first, err := secrets.LoadKeyringFile(keyring)
	if err != nil {
		t.Fatal(err)
	}
	oldKEK := first.Primary()
	var all bytes.Buffer
	must := func(user, stdin string, args ...string) string {
		t.Helper()
		out, errOut := s.must(t, user, stdin, args...)
		all.WriteString(out + errOut)
		return out
	}
	values := []string{"Tr0ub4dor&3-rotation-value-1", "correct horse battery staple 2", "smtp-key-value-0003"}
	must("dave", values[0], "secrets", "put", "production", "db/password", "--reason", "first")
	must("dave", values[1], "secrets", "put", "production", "db/password", "--reason", "second")
	must("dave", values[2], "secrets", "put", "staging", "smtp/api-key", "--reason", "mail")

	// The help states the whole procedure.
	help := must("", "", "secrets", "rewrap", "--help")
	for _, step := range []string{"floe secrets kek add --keyring FILE", "The deployer's keyring first", "Restart them, the deployer first",
		"floe secrets rewrap --reason TEXT", "the old KEK at 0 live versions", "Remove the old KEK's line from every keyring"} {
		if !strings.Contains(help, step) {
			t.Errorf("rewrap --help does not say %q:\n%s", step, help)
		}
	}
	if kekHelp := must("", "", "secrets", "kek", "add", "--help"); !strings.Contains(kekHelp, "never run kek add on each copy") {
		t.Errorf("kek add --help lacks the procedure:\n%s", kekHelp)
	}

	// 1. kek add: offline; the id and the next steps, never a key.
	out := must("", "", "secrets", "kek", "add", "--keyring", keyring)
	after, err := secrets.LoadKeyringFile(keyring)
	if err != nil {
		t.Fatal(err)
	}
	newKEK := after.Primary()
	if newKEK == oldKEK || !slices.Equal(after.IDs(), []string{oldKEK, newKEK}) {
		t.Fatalf("keyring after kek add: %v", after.IDs())
	}
	wantLines(t, "kek add", out, "added key-encryption key "+newKEK+" to "+keyring+": it is the keyring's primary now",
		"floe secrets rewrap --reason", "when it shows "+oldKEK+" at 0 live versions")
	text, _ := os.ReadFile(keyring)
	for line := range strings.Lines(string(text)) {
		if _, key, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.Contains(out, key) {
			t.Errorf("kek add prints a key:\n%s", out)
		}
	}
	s.Restart()

	// 2. Only an administrator; the dry run changes nothing.
	if _, _, err := s.run(t, "dave", "", "secrets", "rewrap", "--reason", "KEK rotation"); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("rewrap by an operator = %v, want PermissionDenied", err)
	}
	out = must("root", "", "secrets", "rewrap", "--reason", "KEK rotation", "--dry-run")
	wantLines(t, "rewrap --dry-run", out, "would rewrap 3 secret versions to "+newKEK,
		"ENVIRONMENT NAME VERSION FROM TO",
		"production db/password 1 "+oldKEK+" "+newKEK,
		"production db/password 2 "+oldKEK+" "+newKEK,
		"staging smtp/api-key 1 "+oldKEK+" "+newKEK,
		"KEY LIVE VERSIONS", oldKEK+" 3", newKEK+" 0 primary", "dry run: nothing was changed")
	out = must("dave", "", "secrets", "versions", "production", "db/password")
	wantLines(t, "versions after the dry run", out, "dave "+oldKEK)

	// 3. The rewrap; the old KEK at 0.
	out = must("root", "", "secrets", "rewrap", "--reason", "KEK rotation")
	wantLines(t, "rewrap", out, "rewrapped 3 secret versions to "+newKEK, "staging smtp/api-key 1 "+oldKEK+" "+newKEK,
		oldKEK+" 0 unused: remove it from every keyring, then restart", newKEK+" 3 primary")
	out = must("dave", "", "secrets", "versions", "production", "db/password")
	if strings.Contains(out, oldKEK) || strings.Count(out, newKEK) != 2 {
		t.Errorf("versions after the rewrap:\n%s", out)
	}
	out = must("root", "", "-o", "json", "secrets", "rewrap", "--reason", "KEK rotation")
	var again configv1.RewrapSecretsResponse
	if err := protojsonUnmarshal(out, &again); err != nil {
		t.Fatalf("rewrap -o json: %v\n%s", err, out)
	}
	if len(again.GetRewrapped()) != 0 || again.GetPrimaryKeyId() != newKEK || again.GetKeyUsage()[newKEK] != 3 || again.GetKeyUsage()[oldKEK] != 0 {
		t.Errorf("a second rewrap -o json = %v", &again)
	}

	// 5-6. The old line removed, the service restarted: it still serves.
	var kept []string
	for line := range strings.Lines(string(text)) {
		if !strings.HasPrefix(line, oldKEK+":") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(keyring, []byte(strings.Join(kept, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	out = must("root", "", "secrets", "rewrap", "--reason", "KEK rotation", "--dry-run")
	wantLines(t, "rewrap --dry-run with the new KEK alone", out, "would rewrap 0 secret versions to "+newKEK, newKEK+" 3 primary")
	if strings.Contains(out, oldKEK) {
		t.Errorf("the retired KEK is still listed:\n%s", out)
	}
	must("dave", "a-new-value-after-rotation", "secrets", "put", "production", "db/password", "--reason", "after the rotation")

	for _, v := range values {
		if leaks(all.String(), v) {
			t.Errorf("a secret value appears in the CLI's output:\n%s", all.String())
		}
	}
}
