package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/secrets/secretsetup"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

func TestParseConfigRef(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     *configv1.ConfigRef
		err      string
	}{
		{name: "current", in: "staging", want: &configv1.ConfigRef{Environment: "staging"}},
		{name: "version", in: "production@3", want: &configv1.ConfigRef{Environment: "production", Version: 3}},
		{name: "spaces", in: " production@12 ", want: &configv1.ConfigRef{Environment: "production", Version: 12}},
		{name: "no version after @", in: "production@", err: "number from 1"},
		{name: "version 0", in: "production@0", err: "number from 1"},
		{name: "not a number", in: "production@latest", err: "number from 1"},
		{name: "negative", in: "production@-1", err: "number from 1"},
		{name: "no environment", in: "@3", err: "ENV or ENV@VERSION"},
		{name: "empty", in: "", err: "ENV or ENV@VERSION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseConfigRef(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseConfigRef(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("parseConfigRef(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestConfigWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"digest", shortDigest("sha256:0123456789abcdef0123"), "sha256:0123456789ab"},
		{"short digest", shortDigest("sha256:abc"), "sha256:abc"},
		{"no algorithm", shortDigest("0123456789abcdef"), "0123456789ab"},
		{"no digest", shortDigest(""), "-"},
		{"set", configSource(&configv1.ConfigVersion{Source: configv1.ConfigSource_CONFIG_SOURCE_SET}), "set"},
		{"patch", configSource(&configv1.ConfigVersion{Source: configv1.ConfigSource_CONFIG_SOURCE_PATCH}), "patch"},
		{"promotion", configSource(&configv1.ConfigVersion{Source: configv1.ConfigSource_CONFIG_SOURCE_PROMOTION, FromEnvironment: "staging", FromVersion: 7}), "promotion from staging@7"},
		{"unspecified", configSource(&configv1.ConfigVersion{}), "-"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestPrintConfigHeaderAndDocument(t *testing.T) {
	t.Parallel()
	var head, doc bytes.Buffer
	c := &configv1.ConfigVersion{
		Environment: "production", Version: 4, Digest: "sha256:feed", Actor: "alice", Reason: "pool\nsize",
		Time: timestamppb.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), Source: configv1.ConfigSource_CONFIG_SOURCE_PATCH,
	}
	if err := printConfigHeader(&head, c); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "header", head.String(), "ENVIRONMENT production", "VERSION 4", "DIGEST sha256:feed", "ACTOR alice",
		"TIME 2026-03-01 12:00:00Z", "SOURCE patch", "REASON pool size")
	if err := printJSONText(&doc, `{"a":{"b":1},"c":[1,2]}`); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": {\n    \"b\": 1\n  },\n  \"c\": [\n    1,\n    2\n  ]\n}\n"
	if diff := cmp.Diff(want, doc.String()); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
}

func TestConfigValidatesBeforeCalling(t *testing.T) {
	t.Parallel()
	conn := []string{"--server", "127.0.0.1:1", "--token", "floe_x", "--timeout", "2s"}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"get without ENV", []string{"config", "get"}, "", "missing ENV"},
		{"set without reason", []string{"config", "set", "staging"}, "{}", "--reason is required"},
		{"set with blank reason", []string{"config", "set", "staging", "--reason", " "}, "{}", "--reason is required"},
		{"set empty document", []string{"config", "set", "staging", "--reason", "x"}, " \n", "stdin: the document is empty"},
		{"set missing file", []string{"config", "set", "staging", "--reason", "x", "--file", "/nonexistent/doc.json"}, "", "no such file"},
		{"patch empty", []string{"config", "patch", "staging", "--reason", "x"}, "", "stdin: the patch is empty"},
		{"diff one side", []string{"config", "diff", "staging"}, "", "missing TO"},
		{"diff bad version", []string{"config", "diff", "staging@x", "production"}, "", "number from 1"},
		{"diff bad version right", []string{"config", "diff", "staging", "production@0"}, "", "number from 1"},
		{"promote without reason", []string{"config", "promote", "staging", "production"}, "", "--reason is required"},
		{"promote bad ref", []string{"config", "promote", "staging@", "production", "--reason", "x"}, "", "number from 1"},
		{"history page size", []string{"config", "history", "staging", "--page-size", "0"}, "", "--page-size 0"},
		{"history page size too big", []string{"config", "history", "staging", "--page-size", "500"}, "", "--page-size 500"},
		{"schema set without reason", []string{"config", "schema", "set", "staging"}, "", "--reason is required"},
		{"too many", []string{"config", "get", "staging", "production"}, "", "too many arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runFloeIn(context.Background(), tc.stdin, append(append([]string{}, conn...), tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("floe %s = %v, want an error containing %q", strings.Join(tc.args, " "), err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "Unavailable") {
				t.Errorf("floe %s reached the network before validating: %v", strings.Join(tc.args, " "), err)
			}
		})
	}
}

func TestConfigAndSecretsHelp(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := Execute(context.Background(), []string{"--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"config", "secrets"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("--help does not list %s:\n%s", cmd, out.String())
		}
	}
	g := &globals{}
	check := func(prefix string, cmds []*cobra.Command) {
		for _, c := range cmds {
			if c.HasSubCommands() {
				continue
			}
			if c.Short == "" || !strings.Contains(c.Long, "  floe "+prefix+" "+c.Name()) {
				t.Errorf("floe %s %s lacks help with an example", prefix, c.Name())
			}
		}
	}
	check("config", newConfigCmd(g).Commands())
	check("config schema", newConfigSchemaCmd(g).Commands())
	check("secrets", newSecretsCmd(g).Commands())
}

// runFloeIn runs the command line in-process with stdin, its error rendered
// as Execute renders it (field violations on their own lines).
func runFloeIn(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	root := newRoot(&out, &errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	if err = root.ExecuteContext(ctx); err != nil {
		err = errors.New(errs.Describe(err))
	}
	return out.String(), errOut.String(), err
}

// ---- against a real flag service (ConfigService, SecretService) ----

// configUsers: root administers; alice develops (config.write); dave
// operates (config.write, secret.write); grace supports (config.read only).
var configUsers = map[string][]auth.RoleBinding{
	"root":  testkit.Roles(auth.RoleAdmin),
	"alice": testkit.Roles(auth.RoleDeveloper),
	"dave":  testkit.Roles(auth.RoleOperations),
	"grace": testkit.Roles(auth.RoleSupport),
	"bob":   testkit.Roles(auth.RoleReleaseManager),
	"erin":  testkit.Roles(auth.RoleSecurity),
}

// noApprovals is an environments file whose staging and production change
// their configuration without approvals (floe config approve has its own test).
const noApprovals = `environments:
  - name: development
  - name: staging
    after: [development]
  - name: production
    after: [staging]
`

// configServer is the real flag service in one process on loopback, over an
// embedded JetStream, with a builtin secrets provider keyed by a test KEK.
type configServer struct {
	*testkit.Process
}

func startConfigServer(t *testing.T) *configServer {
	t.Helper()
	envs := filepath.Join(t.TempDir(), "environments.yaml")
	if err := os.WriteFile(envs, []byte(noApprovals), 0o600); err != nil {
		t.Fatal(err)
	}
	return startConfigServerWith(t, envs)
}

// startConfigServerWith starts the server with an environments file ("": the built-in one).
func startConfigServerWith(t *testing.T, environments string) *configServer {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyring := filepath.Join(t.TempDir(), "secrets.keyring")
	if err := os.WriteFile(keyring, []byte("kek-test:"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testkit.Start(t, testkit.Options{
		Users: configUsers,
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(flagsvc.Service, flagsvc.Config{Options: flagsvc.Options{TickInterval: time.Second, Secrets: secretsetup.Config{Provider: "builtin", Keyring: keyring}}, EnvironmentsFile: environments})}
		},
	})
	return &configServer{Process: p}
}

// run runs floe as user with stdin.
func (s *configServer) run(t *testing.T, user, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return runFloeIn(ctx, stdin, append([]string{"--server", s.Addr, "--token", s.Token(user)}, args...)...)
}

// must runs a command that must succeed and returns its stdout and stderr.
func (s *configServer) must(t *testing.T, user, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := s.run(t, user, stdin, args...)
	if err != nil {
		t.Fatalf("floe %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout, stderr
}

const stagingDoc = `{
  "database": {"host": "db.staging.internal", "port": 5432, "password": "secret://db/password", "connectionPool": {"min": 2, "max": 10}},
  "features": {"darkMode": {"enabled": true}},
  "payments": {"currency": "EUR", "retries": 3}
}`

func jsonEqual(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s is not JSON (%v):\n%s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// The configuration's life through the CLI: set, read, patched, refused
// when stale or leaking a credential, compared, promoted, with its history.
func TestConfigOfARealServer(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	file := filepath.Join(t.TempDir(), "staging.json")
	if err := os.WriteFile(file, []byte(stagingDoc), 0o600); err != nil {
		t.Fatal(err)
	}

	out, _ := s.must(t, "alice", "", "config", "set", "staging", "--file", file, "--reason", "first staging config")
	wantLines(t, "set", out, "staging: version 1 (set, sha256:")

	// get: the document on stdout (indented JSON, pipeable), the metadata on stderr.
	out, errOut := s.must(t, "grace", "", "config", "get", "staging")
	jsonEqual(t, "get", out, stagingDoc)
	if !strings.Contains(out, "\n  \"database\": {") {
		t.Errorf("get does not indent the document:\n%s", out)
	}
	wantLines(t, "get header", errOut, "ENVIRONMENT staging", "VERSION 1", "DIGEST sha256:", "ACTOR alice", "SOURCE set", "REASON first staging config")

	// -o json: one object with the metadata and the document.
	out, _ = s.must(t, "grace", "", "-o", "json", "config", "get", "staging")
	var got struct {
		Environment, Document, Digest, Actor, Reason, Source, Version string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("get -o json: %v\n%s", err, out)
	}
	if got.Environment != "staging" || got.Version != "1" || got.Actor != "alice" || got.Source != "CONFIG_SOURCE_SET" || !strings.HasPrefix(got.Digest, "sha256:") {
		t.Errorf("get -o json = %+v", got)
	}
	jsonEqual(t, "get -o json document", got.Document, stagingDoc)

	// patch from stdin; a stale --expected-version is refused.
	out, _ = s.must(t, "alice", `{"database":{"connectionPool":{"max":20}}}`, "config", "patch", "staging", "--reason", "more connections")
	wantLines(t, "patch", out, "staging: version 2 (patch, sha256:")
	if _, _, err := s.run(t, "alice", stagingDoc, "config", "set", "staging", "--reason", "stale edit", "--expected-version", "1"); err == nil {
		t.Error("set with a stale --expected-version succeeded")
	}
	// A credential in the document is refused, naming its path.
	_, _, err := s.run(t, "alice", `{"database":{"password":"hunter2-Very-Secret"}}`, "config", "patch", "staging", "--reason", "oops")
	if err == nil || !strings.Contains(err.Error(), "InvalidArgument") || !strings.Contains(err.Error(), "database.password") {
		t.Errorf("patch with a literal password = %v, want InvalidArgument naming database.password", err)
	}
	if err != nil && strings.Contains(err.Error(), "hunter2-Very-Secret") {
		t.Errorf("the refusal repeats the credential: %v", err)
	}
	// Support reads but does not write.
	if _, _, err := s.run(t, "grace", `{"x":1}`, "config", "patch", "staging", "--reason", "x"); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("patch by support = %v, want PermissionDenied", err)
	}
	// --version reads an older one.
	out, errOut = s.must(t, "grace", "", "config", "get", "staging", "--version", "1")
	jsonEqual(t, "get --version 1", out, stagingDoc)
	wantLines(t, "get --version 1 header", errOut, "VERSION 1")

	// diff of two versions: the server's text, by path; -o json: the changes.
	out, errOut = s.must(t, "grace", "", "config", "diff", "staging@1", "staging")
	if !strings.Contains(out, "database.connectionPool.max") {
		t.Errorf("diff staging@1 staging does not name the changed path:\n%s", out)
	}
	wantLines(t, "diff header", errOut, "--- staging@1 (sha256:", "+++ staging@2 (sha256:")
	out, _ = s.must(t, "grace", "", "-o", "json", "config", "diff", "staging@1", "staging@2")
	var diff configv1.DiffConfigResponse
	if err := protojsonUnmarshal(out, &diff); err != nil {
		t.Fatalf("diff -o json: %v\n%s", err, out)
	}
	if len(diff.GetChanges()) != 1 || diff.GetChanges()[0].GetPath() != "database.connectionPool.max" ||
		diff.GetChanges()[0].GetKind() != configv1.ConfigChangeKind_CONFIG_CHANGE_KIND_CHANGED ||
		diff.GetChanges()[0].GetOld().GetNumberValue() != 10 || diff.GetChanges()[0].GetNew().GetNumberValue() != 20 {
		t.Errorf("diff -o json changes = %v", diff.GetChanges())
	}

	// promote staging to production, then they do not differ.
	out, _ = s.must(t, "dave", "", "config", "promote", "staging", "production", "--reason", "release 1.4 configuration")
	wantLines(t, "promote", out, "production: version 1 (promotion from staging@2, sha256:")
	out, _ = s.must(t, "grace", "", "config", "diff", "staging", "production")
	if strings.TrimSpace(out) != "no differences" {
		t.Errorf("diff after promotion =\n%s", out)
	}
	out, _ = s.must(t, "grace", "", "config", "diff", "staging@1", "production")
	if !strings.Contains(out, "database.connectionPool.max") {
		t.Errorf("diff staging@1 production:\n%s", out)
	}

	// history: newest first, with source, actor and reason.
	out, _ = s.must(t, "grace", "", "config", "history", "staging")
	wantLines(t, "history", out, "VERSION TIME ACTOR SOURCE DIGEST REASON", "patch sha256:", "more connections", "set sha256:", "first staging config")
	if strings.Index(out, "more connections") > strings.Index(out, "first staging config") {
		t.Errorf("history is not newest first:\n%s", out)
	}
	out, _ = s.must(t, "grace", "", "config", "history", "production")
	wantLines(t, "history production", out, "1", "dave promotion from staging@2", "release 1.4 configuration")
	out, _ = s.must(t, "grace", "", "config", "history", "nowhere")
	if strings.TrimSpace(out) != "no configuration versions in nowhere" {
		t.Errorf("history of an environment without configuration = %q", out)
	}
}

// protojsonUnmarshal reads -o json output.
func protojsonUnmarshal(text string, m proto.Message) error {
	return protojson.Unmarshal([]byte(text), m)
}

func TestConfigHistoryPagesAndLimits(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	s.must(t, "alice", `{"payments":{"retries":0}}`, "config", "set", "staging", "--reason", "r0")
	for i := 1; i < 5; i++ {
		s.must(t, "alice", fmt.Sprintf(`{"payments":{"retries":%d}}`, i), "config", "patch", "staging", "--reason", fmt.Sprintf("r%d", i))
	}
	versions := func(out string) []string {
		var resp configv1.ListConfigVersionsResponse
		if err := protojsonUnmarshal(out, &resp); err != nil {
			t.Fatalf("history -o json: %v\n%s", err, out)
		}
		var got []string
		for _, v := range resp.GetVersions() {
			got = append(got, fmt.Sprintf("%d %s", v.GetVersion(), v.GetReason()))
		}
		return got
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"all in pages of 2", []string{"--limit", "0", "--page-size", "2"}, []string{"5 r4", "4 r3", "3 r2", "2 r1", "1 r0"}},
		{"limit across pages", []string{"--limit", "3", "--page-size", "2"}, []string{"5 r4", "4 r3", "3 r2"}},
		{"limit in one page", []string{"--limit", "2"}, []string{"5 r4", "4 r3"}},
		{"default", nil, []string{"5 r4", "4 r3", "3 r2", "2 r1", "1 r0"}},
	} {
		out, _ := s.must(t, "grace", "", append([]string{"-o", "json", "config", "history", "staging"}, tc.args...)...)
		if diff := cmp.Diff(tc.want, versions(out)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	out, errOut := s.must(t, "grace", "", "config", "history", "staging", "--limit", "2", "--page-size", "1")
	wantLines(t, "history --limit 2", out, "5 ", "4 ")
	if strings.Contains(out, "r2") || !strings.Contains(errOut, "older versions not shown") {
		t.Errorf("history --limit 2:\n%s%s", out, errOut)
	}
}

func TestConfigSchemaOfARealServer(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	_, errOut := s.must(t, "grace", "", "config", "schema", "get", "production")
	if !strings.Contains(errOut, "no schema of its own") {
		t.Errorf("schema get without a schema: stderr %q", errOut)
	}
	out, _ := s.must(t, "grace", "", "config", "schema", "get", "production", "--builtin")
	var builtin map[string]any
	if err := json.Unmarshal([]byte(out), &builtin); err != nil || builtin["title"] != "EnvironmentConfig" {
		t.Errorf("schema get --builtin = %v (%v)", builtin["title"], err)
	}

	schema := `{"type":"object","required":["payments"],"properties":{"payments":{"type":"object","required":["currency"]}}}`
	out, _ = s.must(t, "dave", schema, "config", "schema", "set", "production", "--reason", "payments section is required")
	wantLines(t, "schema set", out, "production: schema set (sha256:")
	out, errOut = s.must(t, "grace", "", "config", "schema", "get", "production")
	jsonEqual(t, "schema get", out, schema)
	wantLines(t, "schema get header", errOut, "DIGEST sha256:", "ACTOR dave")

	// The schema holds: a document without payments is refused.
	if _, _, err := s.run(t, "dave", `{"features":{"darkMode":{"enabled":true}}}`, "config", "set", "production", "--reason", "x"); err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Errorf("set breaking the schema = %v, want InvalidArgument", err)
	}
	s.must(t, "dave", `{"payments":{"currency":"EUR"}}`, "config", "set", "production", "--reason", "with payments")

	// An empty file clears it.
	out, _ = s.must(t, "dave", "\n", "config", "schema", "set", "production", "--reason", "no longer needed")
	wantLines(t, "schema clear", out, "production: schema cleared")
	_, errOut = s.must(t, "grace", "", "config", "schema", "get", "production")
	if !strings.Contains(errOut, "no schema of its own") {
		t.Errorf("schema get after clearing: stderr %q", errOut)
	}
	s.must(t, "dave", `{"features":{"darkMode":{"enabled":true}}}`, "config", "set", "production", "--reason", "without payments")
}

// Approving a configuration change from the CLI, with the built-in policy
// (production: two approvers other than the proposer).
func TestConfigApprovalOfARealServer(t *testing.T) {
	s := startConfigServerWith(t, "")
	out, errOut := s.must(t, "dave", stagingDoc, "config", "set", "production", "--reason", "first production config")
	wantLines(t, "set", out, "production: proposal 1 pending (set, sha256:", "by dave, 0 of 2 approval(s)")
	wantLines(t, "set hint", errOut, "floe config approve production 1")
	_, errOut, err := s.run(t, "grace", "", "config", "get", "production")
	if err == nil || !strings.Contains(errOut, "PENDING") || !strings.Contains(err.Error(), "no configuration version yet") {
		t.Fatalf("get while the first version is proposed: %v\n%s", err, errOut)
	}
	out, _ = s.must(t, "grace", "", "config", "proposal", "production")
	wantLines(t, "proposal", out, "reason: first production config", "+ database")
	if _, _, err := s.run(t, "dave", "", "config", "approve", "production", "1"); err == nil || !strings.Contains(err.Error(), "separation of duties") {
		t.Fatalf("approval by the proposer: %v", err)
	}
	if _, _, err := s.run(t, "dave", "", "config", "approve", "production", "x"); err == nil || !strings.Contains(err.Error(), "from 1") {
		t.Fatalf("a bad proposal number: %v", err)
	}
	out, _ = s.must(t, "erin", "", "config", "approve", "production", "1", "--comment", "looks right")
	wantLines(t, "first approval", out, "production: proposal 1 pending", "1 of 2 approval(s)")
	out, _ = s.must(t, "bob", "", "config", "approve", "production", "1")
	wantLines(t, "second approval", out, "production: version 1 (set, sha256:", "by bob")
	s.must(t, "alice", `{"x-note": "a"}`, "config", "patch", "production", "--reason", "note")
	out, _ = s.must(t, "alice", "", "config", "reject", "production", "2", "--reason", "not needed after all")
	wantLines(t, "withdrawal", out, "production: proposal 2 withdrawn", "by alice: not needed after all")
}
