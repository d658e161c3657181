package configdoc_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/configdoc"
)

func decodeValue(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

// TestMergePatchRFC7396 runs the examples of RFC 7396, Appendix A.
func TestMergePatchRFC7396(t *testing.T) {
	t.Parallel()
	tests := []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.target+"+"+tt.patch, func(t *testing.T) {
			t.Parallel()
			target, patch := decodeValue(t, tt.target), decodeValue(t, tt.patch)
			before := configdoc.CanonicalJSON(target)
			got := configdoc.MergePatchValue(target, patch)
			if g := configdoc.CanonicalJSON(got); g != tt.want {
				t.Errorf("MergePatch(%s, %s) = %s, want %s", tt.target, tt.patch, g, tt.want)
			}
			if after := configdoc.CanonicalJSON(target); after != before {
				t.Errorf("target modified: %s → %s", before, after)
			}
		})
	}
}

func TestMergePatchDocument(t *testing.T) {
	t.Parallel()
	doc := load(t, "staging.json")
	before := configdoc.Digest(doc)
	patch := parse(t, `{"database": {"connectionPool": {"max": 20}, "ssl": null}, "features": {"darkMode": null, "beta": {"enabled": false}}}`)
	got := configdoc.MergePatch(doc, patch)
	if configdoc.Digest(doc) != before {
		t.Fatal("MergePatch modified its input")
	}
	want := []configdoc.Change{
		{Path: "database.connectionPool.max", Kind: configdoc.Changed, Old: json.Number("10"), New: json.Number("20")},
		{Path: "database.ssl", Kind: configdoc.Removed, Old: true},
		{Path: "features.beta", Kind: configdoc.Added, New: map[string]any{"enabled": false}},
		{Path: "features.darkMode", Kind: configdoc.Removed, Old: map[string]any{"enabled": true}},
	}
	if diff := cmp.Diff(want, configdoc.Diff(doc, got)); diff != "" {
		t.Errorf("Diff(doc, patched) (-want +got):\n%s", diff)
	}
	// Mutating the result leaves the input alone.
	got["database"].(map[string]any)["host"] = "elsewhere"
	if configdoc.Digest(doc) != before {
		t.Error("result shares memory with the input")
	}
	if got := configdoc.MergePatch(nil, configdoc.Document{"a": json.Number("1")}); configdoc.CanonicalJSON(got) != `{"a":1}` {
		t.Errorf("MergePatch(nil, …) = %v", got)
	}
}

func TestDiffStagingProduction(t *testing.T) {
	t.Parallel()
	staging, production := load(t, "staging.json"), load(t, "production.json")
	want := strings.TrimLeft(`
~ cache.password: "secret://staging/redis" → "secret://production/redis"
~ cache.url: "redis://cache.staging.internal:6379/0" → "redis://cache.prod.internal:6379/0"
~ database.connectionPool.max: 10 → 20
~ database.connectionPool.min: 2 → 5
~ database.host: "db.staging.internal" → "db.prod.internal"
~ database.password: "secret://staging/db-password" → "vault://kv/data/production/db#password"
~ email.apiKey: "secret://staging/sendgrid" → "secret://production/sendgrid"
~ email.from: "releases@staging.penguinmails.dev" → "releases@penguinmails.dev"
- email.sandbox: true
~ environment: "staging" → "production"
~ features.darkMode.enabled: true → false
~ features.newCheckout.percentage: 100 → 25
~ monitoring.errorTracking.dsn: "secret://staging/sentry-dsn" → "secret://production/sentry-dsn"
~ monitoring.logLevel: "debug" → "info"
~ monitoring.tracing.sampleRate: 1 → 0.1
~ payments.retries: 3 → 5
~ security.cors.allowedOrigins[0]: "https://staging.penguinmails.dev" → "https://penguinmails.dev"
- security.cors.allowedOrigins[1]: "http://localhost:3000"
~ security.jwtSecret: "secret://staging/jwt" → "secret://production/jwt"
~ security.tls.minVersion: "1.2" → "1.3"
~ storage.accessKeyId: "vault://kv/data/staging/s3#access_key_id" → "vault://kv/data/production/s3#access_key_id"
~ storage.bucket: "floe-staging-artifacts" → "floe-production-artifacts"
~ storage.secretAccessKey: "vault://kv/data/staging/s3#secret_access_key" → "vault://kv/data/production/s3#secret_access_key"
`, "\n")
	if diff := cmp.Diff(want, configdoc.Format(configdoc.Diff(staging, production))); diff != "" {
		t.Errorf("Format(Diff(staging, production)) (-want +got):\n%s", diff)
	}
	if got := configdoc.Diff(production, production); len(got) != 0 {
		t.Errorf("Diff(x, x) = %v, want none", got)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, a, b string
		want       string
	}{
		{name: "equal numbers in other forms", a: `{"n": 20, "f": 0.5}`, b: `{"n": 20.0, "f": 5e-1}`, want: ""},
		{name: "type change", a: `{"x": {"a": 1}}`, b: `{"x": [1]}`, want: "~ x: {\"a\":1} → [1]\n"},
		{name: "array grows", a: `{"x": [1]}`, b: `{"x": [1, 2, 3]}`, want: "+ x[1]: 2\n+ x[2]: 3\n"},
		{name: "array index order", a: `{"x": [0,0,0,0,0,0,0,0,0,0,0,0]}`, b: `{"x": [0,0,1,0,0,0,0,0,0,0,0,1]}`, want: "~ x[2]: 0 → 1\n~ x[11]: 0 → 1\n"},
		{name: "null vs missing", a: `{"x": null}`, b: `{}`, want: "- x: null\n"},
		{name: "quoted key", a: `{}`, b: `{"features": {"new.checkout": {"enabled": true}}}`, want: "+ features: {\"new.checkout\":{\"enabled\":true}}\n"},
		{name: "nested quoted key", a: `{"features": {}}`, b: `{"features": {"new.checkout": true}}`, want: "+ features[\"new.checkout\"]: true\n"},
		{name: "big integers", a: `{"n": 12345678901234567890}`, b: `{"n": 12345678901234567891}`, want: "~ n: 12345678901234567890 → 12345678901234567891\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := configdoc.Format(configdoc.Diff(parse(t, tt.a), parse(t, tt.b))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRefs(t *testing.T) {
	t.Parallel()
	doc := parse(t, `{
		"database": {"password": "secret://prod/db", "url": "postgres://db/floe"},
		"hosts": ["a", "vault://kv/data/hosts#b"],
		"notes": "see secret://prod/db for details",
		"features": {"x.y": {"token": "secret://flags/x"}}
	}`)
	want := []configdoc.Ref{
		{Path: "database.password", Ref: "secret://prod/db"},
		{Path: `features["x.y"].token`, Ref: "secret://flags/x"},
		{Path: "hosts[1]", Ref: "vault://kv/data/hosts#b"},
	}
	got := configdoc.Refs(doc)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
	parts := func(r configdoc.Ref) [3]string { return [3]string{r.Scheme(), r.Name(), r.Key()} }
	if p := parts(got[0]); p != [3]string{"secret", "prod/db", ""} {
		t.Errorf("parts(%s) = %v", got[0].Ref, p)
	}
	if p := parts(got[2]); p != [3]string{"vault", "kv/data/hosts", "b"} {
		t.Errorf("parts(%s) = %v", got[2].Ref, p)
	}
	if n := len(configdoc.Refs(load(t, "production.json"))); n != 7 {
		t.Errorf("len(Refs(production)) = %d, want 7", n)
	}
}

func TestFlatten(t *testing.T) {
	t.Parallel()
	doc := parse(t, `{
		"database": {"host": "db", "connectionPool": {"max": 20, "idleTimeoutMillis": 30000}, "ssl": true, "password": "secret://db"},
		"security": {"cors": {"allowedOrigins": ["https://a", "https://b"]}},
		"features": {"new-checkout": {"enabled": false, "percentage": 12.50}, "2fa": {"enabled": true}},
		"HTTPServer": {"readTimeout": 5},
		"empty": {}, "nothing": null, "big": 12345678901234567890
	}`)
	got, err := configdoc.Flatten(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"DATABASE_HOST":                                "db",
		"DATABASE_CONNECTION_POOL_MAX":                 "20",
		"DATABASE_CONNECTION_POOL_IDLE_TIMEOUT_MILLIS": "30000",
		"DATABASE_SSL":                                 "true",
		"DATABASE_PASSWORD":                            "secret://db",
		"SECURITY_CORS_ALLOWED_ORIGINS":                `["https://a","https://b"]`,
		"FEATURES_NEW_CHECKOUT_ENABLED":                "false",
		"FEATURES_NEW_CHECKOUT_PERCENTAGE":             "12.5",
		"FEATURES_2FA_ENABLED":                         "true",
		"HTTP_SERVER_READ_TIMEOUT":                     "5",
		"BIG":                                          "12345678901234567890",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Flatten (-want +got):\n%s", diff)
	}

	_, err = configdoc.Flatten(parse(t, `{"db": {"hostName": "a", "host_name": "b"}}`))
	vs := violations(t, err)
	if len(vs) != 1 || vs[0].Field != "db.host_name" || !strings.Contains(vs[0].Description, "DB_HOST_NAME, as db.hostName does") {
		t.Errorf("collision violations = %+v", vs)
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"connectionPool":    "CONNECTION_POOL",
		"idleTimeoutMillis": "IDLE_TIMEOUT_MILLIS",
		"HTTPServer":        "HTTP_SERVER",
		"userID":            "USER_ID",
		"oauth2Client":      "OAUTH2_CLIENT",
		"new-checkout":      "NEW_CHECKOUT",
		"a..b__c":           "A_B_C",
		"_x_":               "X",
		"2fa":               "_2FA",
		"":                  "",
		"日本":                "",
		"max":               "MAX",
	}
	for in, want := range tests {
		if got := configdoc.EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalNumber(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"20": "20", "20.0": "20", "2e1": "20", "2E+1": "20", "-0": "0", "-0.0": "0", "0.50": "0.5",
		"1.5e-3": "0.0015", "-12.340": "-12.34", "12345678901234567890": "12345678901234567890",
		"1e401": "1e401", "1e-401": "1e-401", "1/3": "1/3", "0x10": "0x10", "": "", "01": "01", "1.": "1.",
	}
	for in, want := range tests {
		if got := configdoc.CanonicalNumber(json.Number(in)); got != want {
			t.Errorf("CanonicalNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalAndDigest(t *testing.T) {
	t.Parallel()
	a := parse(t, `{"b": 1, "a": {"y": "<&>", "x": "line\nbreak\u0001"}, "c": [2.0, "é"]}`)
	b := parse(t, `{"c": [2, "é"], "a": {"x": "line\nbreak\u0001", "y": "<&>"}, "b": 1.0}`)
	want := `{"a":{"x":"line\nbreak\u0001","y":"<&>"},"b":1,"c":[2,"é"]}`
	if got := string(configdoc.Canonical(a)); got != want {
		t.Errorf("Canonical = %s, want %s", got, want)
	}
	if configdoc.Digest(a) != configdoc.Digest(b) {
		t.Error("equal documents have different digests")
	}
	if d := configdoc.Digest(a); !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 {
		t.Errorf("Digest = %q", d)
	}
	if !configdoc.Equal(a, b) {
		t.Error("Equal(a, b) = false")
	}
	// The canonical form parses back to an equal document.
	back := parse(t, string(configdoc.Canonical(a)))
	if !configdoc.Equal(a, back) {
		t.Error("canonical form does not round-trip")
	}
}
