package configdoc_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/configdoc"
	"github.com/penguinmails/floe/libs/errs"
)

func load(t testing.TB, name string) configdoc.Document {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := configdoc.Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return doc
}

func parse(t testing.TB, s string) configdoc.Document {
	t.Helper()
	doc, err := configdoc.Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return doc
}

// violations returns err's violations, failing unless err is an
// *errs.InvalidArgumentError.
func violations(t *testing.T, err error) []errs.FieldViolation {
	t.Helper()
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("error %v (%T) is not an *errs.InvalidArgumentError", err, err)
	}
	return ia.Violations
}

func TestParse(t *testing.T) {
	t.Parallel()
	doc := parse(t, `{"database": {"connectionPool": {"max": 12345678901234567890, "ratio": 0.1}}, "hosts": ["a", null, true, {}]}`)
	want := `{"database":{"connectionPool":{"max":12345678901234567890,"ratio":0.1}},"hosts":["a",null,true,{}]}`
	if got := string(configdoc.Canonical(doc)); got != want {
		t.Errorf("Canonical = %s, want %s", got, want)
	}
	pool := doc["database"].(map[string]any)["connectionPool"].(map[string]any)
	if got := pool["max"]; got != json.Number("12345678901234567890") {
		t.Errorf("max = %#v, want json.Number", got)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, configdoc.MaxDepth) + `{}` + strings.Repeat(`}`, configdoc.MaxDepth)
	okDeep := strings.Repeat(`{"a":`, configdoc.MaxDepth-1) + `{}` + strings.Repeat(`}`, configdoc.MaxDepth-1)
	if _, err := configdoc.Parse([]byte(okDeep)); err != nil {
		t.Errorf("Parse(depth %d) = %v, want nil", configdoc.MaxDepth, err)
	}
	tests := []struct {
		name  string
		in    string
		field string
		desc  string // substring of the description
	}{
		{name: "duplicate key at top", in: `{"a": 1, "a": 2}`, field: "a", desc: `duplicate key "a"`},
		{name: "duplicate nested key", in: `{"database": {"connectionPool": {"max": 1, "max": 2}}}`, field: "database.connectionPool.max", desc: "duplicate key"},
		{name: "duplicate key in array element", in: `{"hosts": [{"n": 1}, {"n": 1, "n": 2}]}`, field: "hosts[1].n", desc: "duplicate key"},
		{name: "duplicate quoted key", in: `{"features": {"a.b": {}, "a.b": {}}}`, field: `features["a.b"]`, desc: "duplicate key"},
		{name: "too deep", in: deep, field: strings.TrimSuffix(strings.Repeat("a.", configdoc.MaxDepth), "."), desc: "deeper than 32"},
		{name: "array", in: `[1, 2]`, field: "", desc: "must be a JSON object, not an array"},
		{name: "string", in: `"x"`, field: "", desc: "not a string"},
		{name: "null", in: `null`, field: "", desc: "not null"},
		{name: "empty", in: ``, field: "", desc: "invalid JSON"},
		{name: "syntax error in a value", in: `{"database": {"port": tru}}`, field: "database.port", desc: "invalid JSON at byte"},
		{name: "syntax error after a value", in: `{"database": {"port": 54x}}`, field: "database", desc: "invalid JSON at byte 24"},
		{name: "unterminated", in: `{"database": {"port": 5432`, field: "database", desc: "invalid JSON"},
		{name: "trailing data", in: `{} {}`, field: "", desc: "unexpected data after"},
		{name: "trailing garbage", in: `{}x`, field: "", desc: "unexpected data after"},
		{name: "invalid utf-8", in: "{\"a\": \"\xff\"}", field: "", desc: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := configdoc.Parse([]byte(tt.in))
			vs := violations(t, err)
			if len(vs) != 1 {
				t.Fatalf("violations = %+v, want 1", vs)
			}
			if vs[0].Field != tt.field || !strings.Contains(vs[0].Description, tt.desc) {
				t.Errorf("violation = %+v, want field %q and description containing %q", vs[0], tt.field, tt.desc)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	t.Parallel()
	data := []byte(`{"a": "` + strings.Repeat("x", configdoc.MaxSize) + `"}`)
	_, err := configdoc.Parse(data)
	var tl *errs.TooLargeError
	if !errors.As(err, &tl) || tl.Field != "document" || tl.Limit != configdoc.MaxSize {
		t.Fatalf("Parse(too large) = %v, want *errs.TooLargeError on document", err)
	}
}

func TestValidateTypicalDocuments(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"staging.json", "production.json"} {
		if err := configdoc.Validate(load(t, name), nil); err != nil {
			t.Errorf("Validate(%s) = %v, want nil", name, err)
		}
	}
	if err := configdoc.Validate(configdoc.Document{}, nil); err != nil {
		t.Errorf("Validate(empty) = %v, want nil", err)
	}
	if err := configdoc.Validate(nil, nil); err != nil {
		t.Errorf("Validate(nil) = %v, want nil", err)
	}
}

const (
	refMsg = "must be a secret reference (secret://<name> or vault://<path>#<key>), not a literal value"
	urlMsg = "must be a URL without a password, or a secret reference (secret://<name> or vault://<path>#<key>) to one with a password"
	unkMsg = "is not a known setting here; put your own settings in a top-level section of your own or under a key starting with x-"
)

func TestValidateViolations(t *testing.T) {
	t.Parallel()
	ghToken := "ghp_" + strings.Repeat("aB3dE5fG7h", 4)[:36]
	tests := []struct {
		name string
		doc  string
		want []errs.FieldViolation
	}{
		{
			name: "literal password",
			doc:  `{"database": {"password": "hunter2"}}`,
			want: []errs.FieldViolation{{Field: "database.password", Description: refMsg}},
		},
		{
			name: "url with a password",
			doc:  `{"database": {"url": "postgres://app:Sup3rSecret@db:5432/floe"}}`,
			want: []errs.FieldViolation{{Field: "database.url", Description: urlMsg}},
		},
		{
			name: "wrong types and ranges",
			doc:  `{"database": {"port": 70000, "ssl": "yes", "connectionPool": {"max": "10", "min": -1}}}`,
			want: []errs.FieldViolation{
				{Field: "database.connectionPool.max", Description: "got string, want integer"},
				{Field: "database.connectionPool.min", Description: "minimum: got -1, want 0"},
				{Field: "database.port", Description: "maximum: got 70,000, want 65,535"},
				{Field: "database.ssl", Description: "got string, want boolean"},
			},
		},
		{
			name: "pool min above max",
			doc:  `{"database": {"connectionPool": {"min": 30, "max": 20}}}`,
			want: []errs.FieldViolation{{Field: "database.connectionPool.min", Description: "must not exceed database.connectionPool.max (20)"}},
		},
		{
			name: "unknown key in a built-in section",
			doc:  `{"database": {"hots": "db", "x-team": "payments"}, "cache": {"ttl": 5}}`,
			want: []errs.FieldViolation{
				{Field: "cache.ttl", Description: unkMsg},
				{Field: "database.hots", Description: unkMsg},
			},
		},
		{
			name: "feature without enabled and bad name",
			doc:  `{"features": {"newCheckout": {"percentage": 150}, "bad name": {"enabled": true}}}`,
			want: []errs.FieldViolation{
				{Field: "features.newCheckout.enabled", Description: "is required"},
				{Field: "features.newCheckout.percentage", Description: "maximum: got 150, want 100"},
				{Field: `features["bad name"]`, Description: "is not an allowed name here"},
			},
		},
		{
			name: "invalid email and enum",
			doc:  `{"email": {"from": "not-an-email", "provider": "pigeon"}, "environment": "Prod!"}`,
			want: []errs.FieldViolation{
				{Field: "email.from", Description: "is not a valid email"},
				{Field: "email.provider", Description: "value must be one of 'smtp', 'sendgrid', 'ses', 'postmark', 'mailgun', 'resend'"},
				{Field: "environment", Description: `does not match pattern "^[a-z][a-z0-9-]{0,62}$"`},
			},
		},
		{
			name: "secret in a user section",
			doc:  `{"payments": {"stripe": {"note": "token=` + ghToken + `"}}, "hosts": ["ok", "postgres://u:p4ssw0rd9@h/db"]}`,
			want: []errs.FieldViolation{
				{Field: "hosts[1]", Description: `password in a URL "p4…" (9 characters) looks like a secret; store it as a secret and refer to it as secret://<name>`},
				{Field: "payments.stripe.note", Description: `GitHub token "ghp_…" (40 characters) looks like a secret; store it as a secret and refer to it as secret://<name>`},
			},
		},
		{
			name: "secret under a secret-named key in a user section",
			doc:  `{"payments": {"webhookSecret": "whsec-plain-words"}}`,
			want: []errs.FieldViolation{
				{Field: "payments.webhookSecret", Description: `literal value of "webhookSecret" "whse…" (17 characters) looks like a secret; store it as a secret and refer to it as secret://<name>`},
			},
		},
		{
			name: "references are fine anywhere",
			doc:  `{"payments": {"webhookSecret": "secret://payments/webhook", "apiKey": "vault://kv/data/payments#api_key"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := configdoc.Validate(parse(t, tt.doc), nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			got := violations(t, err)
			if diff := cmp.Diff(tt.want, got, sortEnum()); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			for _, v := range got {
				for _, secret := range []string{"hunter2", "Sup3rSecret", ghToken, "p4ssw0rd9", "whsec-plain"} {
					if strings.Contains(v.Description, secret) {
						t.Errorf("violation %+v reveals %q", v, secret)
					}
				}
			}
		})
	}
}

// sortEnum lets the enum message list its values in any order (the schema
// library writes them in its own order).
func sortEnum() cmp.Option {
	return cmp.Transformer("sortEnum", func(v errs.FieldViolation) errs.FieldViolation {
		if rest, ok := strings.CutPrefix(v.Description, "value must be one of "); ok {
			parts := strings.Split(rest, ", ")
			sortStrings(parts)
			v.Description = "value must be one of " + strings.Join(parts, ", ")
		}
		return v
	})
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

const paymentsSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["payments"],
  "properties": {
    "payments": {
      "type": "object",
      "required": ["currency"],
      "properties": {
        "currency": {"enum": ["EUR", "USD"]},
        "retries": {"type": "integer", "maximum": 10},
        "webhookSecret": {"$ref": "https://floe.penguinmails.dev/schemas/environment-config.json#/$defs/secretRef"}
      }
    }
  }
}`

func TestValidateUserSchema(t *testing.T) {
	t.Parallel()
	if err := configdoc.Validate(load(t, "production.json"), []byte(paymentsSchema)); err != nil {
		t.Errorf("Validate(production, payments schema) = %v, want nil", err)
	}
	tests := []struct {
		name string
		doc  string
		want []errs.FieldViolation
	}{
		{
			name: "missing section",
			doc:  `{"environment": "staging"}`,
			want: []errs.FieldViolation{{Field: "payments", Description: "is required"}},
		},
		{
			name: "user and built-in violations together, sorted",
			doc:  `{"payments": {"currency": "GBP", "retries": 11, "webhookSecret": "s3cr3t"}, "database": {"port": 0}}`,
			want: []errs.FieldViolation{
				{Field: "database.port", Description: "minimum: got 0, want 1"},
				{Field: "payments.currency", Description: "value must be one of 'EUR', 'USD'"},
				{Field: "payments.retries", Description: "maximum: got 11, want 10"},
				{Field: "payments.webhookSecret", Description: refMsg},
			},
		},
	}
	v, err := configdoc.NewValidator([]byte(paymentsSchema))
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := violations(t, v.Validate(parse(t, tt.doc)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadUserSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema, desc string
	}{
		{name: "not json", schema: `{"type": `, desc: "invalid JSON"},
		{name: "invalid keyword value", schema: `{"type": 12}`, desc: "jsonschema"},
		{name: "invalid regex", schema: `{"properties": {"a": {"pattern": "(?=x)"}}}`, desc: "pattern"},
		{name: "file reference", schema: `{"$ref": "file:///etc/passwd"}`, desc: "external schema references are not allowed"},
		{name: "http reference", schema: `{"$ref": "https://example.com/schema.json"}`, desc: "external schema references are not allowed"},
		{name: "duplicate key", schema: `{"type": "object", "type": "array"}`, desc: "duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := configdoc.Validate(configdoc.Document{}, []byte(tt.schema))
			vs := violations(t, err)
			// Problems of the schema's JSON are at their path in it (schema.type).
			if len(vs) != 1 || (vs[0].Field != "schema" && !strings.HasPrefix(vs[0].Field, "schema.")) || !strings.Contains(vs[0].Description, tt.desc) {
				t.Errorf("violations = %+v, want one on schema (or a path in it) containing %q", vs, tt.desc)
			}
		})
	}
	if _, err := configdoc.NewValidator([]byte("  \n")); err != nil {
		t.Errorf("NewValidator(blank) = %v, want nil", err)
	}
}

func TestBuiltinSchemaIsValidJSON(t *testing.T) {
	t.Parallel()
	// Parse refuses duplicate keys, which encoding/json and the schema
	// library would silently collapse.
	v, err := configdoc.Parse(configdoc.BuiltinSchema())
	if err != nil {
		t.Fatal(err)
	}
	if v["$id"] != configdoc.BuiltinSchemaID {
		t.Errorf("$id = %v, want %s", v["$id"], configdoc.BuiltinSchemaID)
	}
}
