package flagsvc_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/secrets/leakcheck"
	"github.com/penguinmails/floe/libs/testkit"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

func (w *world) config(user string) configv1.ConfigServiceClient {
	return configv1.NewConfigServiceClient(w.Conn(user))
}

func (w *world) secrets(user string) configv1.SecretServiceClient {
	return configv1.NewSecretServiceClient(w.Conn(user))
}

const stagingDoc = `{
  "database": {"host": "db.staging.internal", "port": 5432, "database": "penguin", "user": "app",
               "password": "secret://db/password", "connectionPool": {"min": 2, "max": 10}},
  "features": {"newCheckout": {"enabled": true}},
  "billing": {"currency": "EUR"}
}`

// haystack is everywhere a secret's value must never be: the service's
// debug log, the answers, every stream of the NATS server (the event log,
// the key-value buckets) and the traces' spans.
func (w *world) haystack(t *testing.T, answers []proto.Message) map[string][]byte {
	t.Helper()
	where := map[string][]byte{"service log (debug)": []byte(w.log.String())}
	for i, a := range answers {
		b, _ := protojson.Marshal(a)
		where[fmt.Sprintf("answer %d (%s)", i, a.ProtoReflect().Descriptor().Name())] = b
	}
	for name, b := range testkit.Streams(t, w.NATS.ClientURL()) {
		where["stream "+name] = b
	}
	spans, n := w.Spans.Text()
	if n == 0 || !strings.Contains(spans, "floe.config.v1.SecretService/PutSecret") {
		t.Fatalf("the traces hold %d spans, none of PutSecret: they cannot be searched", n)
	}
	where["traces"] = []byte(spans)
	return where
}

// fieldOf is the field violations of an InvalidArgument error, by field.
func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("want InvalidArgument, got %v", err)
	}
	out := map[string]string{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out[v.GetField()] = v.GetDescription()
			}
		}
	}
	return out
}

// A configuration's life: set, refused with the path of each problem,
// patched, compared across versions and environments, promoted, held to a
// user's schema, and read back at any version.
func TestConfigLifecycle(t *testing.T) {
	w := start(t)
	ctx := ctxT(t)
	alice, grace := w.config("alice"), w.config("grace")

	if _, err := grace.SetConfig(ctx, &configv1.SetConfigRequest{Environment: "development", Document: stagingDoc, Reason: "first"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("set by support: %v", err)
	}
	v1, err := alice.SetConfig(ctx, &configv1.SetConfigRequest{Environment: "development", Document: stagingDoc, Reason: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if c := v1.GetConfig(); c.GetVersion() != 1 || c.GetSource() != configv1.ConfigSource_CONFIG_SOURCE_SET || c.GetActor() != "alice" || !strings.HasPrefix(c.GetDigest(), "sha256:") {
		t.Fatalf("version 1: %v", c)
	}

	// A literal credential and a bad pool are refused, each at its path.
	bad := strings.Replace(stagingDoc, `"secret://db/password"`, `"hunter2-but-longer"`, 1)
	bad = strings.Replace(bad, `"max": 10`, `"max": "ten"`, 1)
	before := w.LogPosition(t)
	_, err = alice.SetConfig(ctx, &configv1.SetConfigRequest{Environment: "development", Document: bad, Reason: "oops"})
	got := fieldsOf(t, err)
	if _, ok := got["document.database.password"]; !ok {
		t.Fatalf("literal password not refused at its path: %v", got)
	}
	if _, ok := got["document.database.connectionPool.max"]; !ok {
		t.Fatalf("bad pool size not refused at its path: %v", got)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the refusal repeats the value: %v", err)
	}
	if _, err := alice.SetConfig(ctx, &configv1.SetConfigRequest{Environment: "development", Document: `{"a": 1, "a": 2}`, Reason: "dup"}); fieldsOf(t, err)["document.a"] == "" {
		t.Fatalf("duplicate key: %v", err)
	}
	if after := w.LogPosition(t); after != before {
		t.Fatalf("refused documents appended events (%d → %d)", before, after)
	}

	// Patch; the same document again makes no version; a stale expectation is refused.
	v2, err := alice.PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "development", Patch: `{"database": {"connectionPool": {"max": 20}}, "billing": null}`, Reason: "more connections", ExpectedVersion: 1})
	if err != nil || v2.GetConfig().GetVersion() != 2 || v2.GetConfig().GetSource() != configv1.ConfigSource_CONFIG_SOURCE_PATCH {
		t.Fatalf("patch: %v %v", v2, err)
	}
	same, err := alice.PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "development", Patch: `{"database": {"connectionPool": {"max": 20}}}`, Reason: "again"})
	if err != nil || same.GetConfig().GetVersion() != 2 {
		t.Fatalf("a patch that changes nothing: %v %v", same, err)
	}
	if _, err := alice.PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "development", Patch: `{"x-note": "a"}`, Reason: "stale", ExpectedVersion: 1}); status.Code(err) != codes.Aborted {
		t.Fatalf("stale expected version: %v", err)
	}

	// Versions, newest first, paged; any version can be read back.
	page, err := grace.ListConfigVersions(ctx, &configv1.ListConfigVersionsRequest{Environment: "development", PageSize: 1})
	if err != nil || len(page.GetVersions()) != 1 || page.GetVersions()[0].GetVersion() != 2 || page.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", page, err)
	}
	page, err = grace.ListConfigVersions(ctx, &configv1.ListConfigVersionsRequest{Environment: "development", PageSize: 1, PageToken: page.GetNextPageToken()})
	if err != nil || len(page.GetVersions()) != 1 || page.GetVersions()[0].GetVersion() != 1 || page.GetNextPageToken() != "" {
		t.Fatalf("second page: %v %v", page, err)
	}
	old, err := grace.GetConfig(ctx, &configv1.GetConfigRequest{Environment: "development", Version: 1})
	if err != nil || old.GetConfig().GetDigest() != v1.GetConfig().GetDigest() || !strings.Contains(old.GetConfig().GetDocument(), `"currency":"EUR"`) {
		t.Fatalf("version 1 read back: %v %v", old, err)
	}
	if _, err := grace.GetConfig(ctx, &configv1.GetConfigRequest{Environment: "development", Version: 9}); status.Code(err) != codes.NotFound {
		t.Fatalf("version 9: %v", err)
	}

	// Diff between versions, and with an environment that has none yet.
	d, err := grace.DiffConfig(ctx, &configv1.DiffConfigRequest{From: &configv1.ConfigRef{Environment: "development", Version: 1}, To: &configv1.ConfigRef{Environment: "development"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.GetText(), "~ database.connectionPool.max: 10 → 20") || !strings.Contains(d.GetText(), "- billing") || len(d.GetChanges()) != 2 {
		t.Fatalf("diff of versions:\n%s\n%v", d.GetText(), d.GetChanges())
	}
	d, err = grace.DiffConfig(ctx, &configv1.DiffConfigRequest{From: &configv1.ConfigRef{Environment: "development"}, To: &configv1.ConfigRef{Environment: "qa"}})
	if err != nil || d.GetTo().GetVersion() != 0 || len(d.GetChanges()) != 2 { // database and features removed
		t.Fatalf("diff with an empty environment: %v %v", d, err)
	}

	// Promotion makes qa's first version, naming where it came from.
	p, err := alice.PromoteConfig(ctx, &configv1.PromoteConfigRequest{From: &configv1.ConfigRef{Environment: "development"}, ToEnvironment: "qa", Reason: "release 1.4"})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.GetConfig(); c.GetVersion() != 1 || c.GetSource() != configv1.ConfigSource_CONFIG_SOURCE_PROMOTION || c.GetFromEnvironment() != "development" || c.GetFromVersion() != 2 || c.GetDigest() != v2.GetConfig().GetDigest() {
		t.Fatalf("promotion: %v", c)
	}
	d, err = grace.DiffConfig(ctx, &configv1.DiffConfigRequest{From: &configv1.ConfigRef{Environment: "development"}, To: &configv1.ConfigRef{Environment: "qa"}})
	if err != nil || len(d.GetChanges()) != 0 {
		t.Fatalf("after the promotion, development and qa differ: %v %v", d, err)
	}

	// A user schema: refused while the document does not satisfy it.
	schema := `{"type": "object", "required": ["billing"], "properties": {"billing": {"type": "object", "required": ["currency"],
		"properties": {"currency": {"enum": ["EUR", "USD"]}}}}}`
	if _, err := alice.SetConfigSchema(ctx, &configv1.SetConfigSchemaRequest{Environment: "development", Schema: schema, Reason: "billing is required"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a schema the current document does not satisfy: %v", err)
	}
	if _, err := alice.SetConfigSchema(ctx, &configv1.SetConfigSchemaRequest{Environment: "development", Schema: `{"type": "nonsense"}`, Reason: "x"}); fieldsOf(t, err)["schema"] == "" {
		t.Fatalf("a schema that does not compile: %v", err)
	}
	if _, err := alice.PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "development", Patch: `{"billing": {"currency": "USD"}}`, Reason: "billing back"}); err != nil {
		t.Fatal(err)
	}
	sc, err := alice.SetConfigSchema(ctx, &configv1.SetConfigSchemaRequest{Environment: "development", Schema: schema, Reason: "billing is required"})
	if err != nil || sc.GetSchema().GetDigest() == "" {
		t.Fatalf("schema: %v %v", sc, err)
	}
	_, err = alice.PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "development", Patch: `{"billing": {"currency": "GBP"}}`, Reason: "pounds"})
	if _, ok := fieldsOf(t, err)["document.billing.currency"]; !ok {
		t.Fatalf("a patch against the user schema: %v", err)
	}
	got2, err := grace.GetConfigSchema(ctx, &configv1.GetConfigSchemaRequest{Environment: "development"})
	if err != nil || got2.GetSchema().GetSchema() != schema || !strings.Contains(got2.GetBuiltin(), "connectionPool") {
		t.Fatalf("schema read back: %v", err)
	}
}

// A secret's value goes in and never comes out: not in any answer, not in
// the event log (nor any other stream), not in the service's debug log —
// across puts, reads, refusals and revocations.
func TestSecretsNeverLeak(t *testing.T) {
	w := start(t)
	ctx := ctxT(t)
	dave, alice, grace := w.secrets("dave"), w.secrets("alice"), w.secrets("grace")
	canary := leakcheck.Canary()
	var answers []proto.Message
	keep := func(m proto.Message, err error) error {
		if m != nil {
			answers = append(answers, m)
		}
		if err != nil {
			answers = append(answers, status.Convert(err).Proto())
		}
		return err
	}

	put := func(c configv1.SecretServiceClient, name, value string) (*configv1.PutSecretResponse, error) {
		r, err := c.PutSecret(ctx, &configv1.PutSecretRequest{Environment: "staging", Name: name, Value: []byte(value), Reason: "rotate by hand", Description: "the app's database password"})
		return r, keep(r, err)
	}
	if _, err := put(alice, "db/password", canary); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("put by a developer: %v", err)
	}
	r1, err := put(dave, "db/password", canary)
	if err != nil {
		t.Fatal(err)
	}
	if v := r1.GetVersion(); v.GetVersion() != 1 || v.GetKeyId() == "" || v.GetDigest() == "" || v.GetActor() != "dave" {
		t.Fatalf("version 1: %v", v)
	}
	if r1.GetSecret().GetReference() != "secret://db/password" || r1.GetSecret().GetProvider() != "builtin" {
		t.Fatalf("secret: %v", r1.GetSecret())
	}
	r2, err := put(dave, "db/password", canary+"-2")
	if err != nil || r2.GetVersion().GetVersion() != 2 {
		t.Fatalf("version 2: %v %v", r2, err)
	}
	for _, c := range []struct{ name, value string }{{"DB/Password", canary}, {"db/password", ""}, {"../etc", canary}} {
		if _, err := put(dave, c.name, c.value); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("put %q: %v", c.name, err)
		}
	}
	if _, err := dave.PutSecret(ctx, &configv1.PutSecretRequest{Environment: "staging", Name: "big", Value: make([]byte, 65<<10), Reason: "x"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a 65 KiB value: %v", err)
	}
	// Metadata is recorded for good: a token pasted in it is refused.
	token := "ghp_" + strings.Repeat("aB3dE6gH9j", 3) + "kLmNoP"
	if _, err := dave.PutSecret(ctx, &configv1.PutSecretRequest{Environment: "staging", Name: "gh", Value: []byte("v"), Reason: "x", Description: "token " + token}); fieldsOf(t, err)["description"] == "" || strings.Contains(err.Error(), token) {
		t.Fatalf("a token in the description: %v", err)
	}
	if _, err := dave.PutSecret(ctx, &configv1.PutSecretRequest{Environment: "staging", Name: "gh", Value: []byte("v"), Reason: "was " + token}); fieldsOf(t, err)["reason"] == "" {
		t.Fatalf("a token in the reason: %v", err)
	}

	got, err := dave.GetSecret(ctx, &configv1.GetSecretRequest{Environment: "staging", Name: "db/password"})
	if keep(got, err) != nil || len(got.GetSecret().GetVersions()) != 2 {
		t.Fatalf("get: %v %v", got, err)
	}
	if _, err := grace.GetSecret(ctx, &configv1.GetSecretRequest{Environment: "staging", Name: "db/password"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("support reads secret metadata: %v", err)
	}
	list, err := dave.ListSecrets(ctx, &configv1.ListSecretsRequest{Environment: "staging"})
	if keep(list, err) != nil || len(list.GetSecrets()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}

	rev, err := dave.RevokeSecretVersion(ctx, &configv1.RevokeSecretVersionRequest{Environment: "staging", Name: "db/password", Version: 1, Reason: "rotated"})
	if keep(rev, err) != nil || !rev.GetSecret().GetVersions()[0].GetRevoked() || rev.GetSecret().GetVersions()[0].GetRevokedBy() != "dave" {
		t.Fatalf("revoke: %v %v", rev, err)
	}
	if _, err := dave.RevokeSecretVersion(ctx, &configv1.RevokeSecretVersionRequest{Environment: "staging", Name: "db/password", Version: 7, Reason: "x"}); keep(nil, err) == nil || status.Code(err) != codes.NotFound {
		t.Fatalf("revoke an unknown version: %v", err)
	}

	// Search everything for the value.
	where := w.haystack(t, answers)
	leakcheck.Check(t, []byte(canary), where)
	if !strings.Contains(string(where["stream FLOE_EVENTS"]), "SecretVersionAdded") {
		t.Fatal("the event log scan read no secret event: it cannot have looked in the right place")
	}
}
