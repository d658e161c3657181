package leakscan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/leakscan"
)

// fake builds a deterministic pseudo-random string of n characters from
// charset, so that no real-looking token is written literally in the source
// (which would trip other scanners) and every test run sees the same input.
func fake(charset string, n int, seed uint32) string {
	var b strings.Builder
	x := seed*2654435761 + 1
	for range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(charset[int(x%uint32(len(charset)))])
	}
	return b.String()
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	urlSafe     = alnum + "_-"
	hexLower    = "0123456789abcdef"
)

// Known tokens, assembled at run time.
var (
	awsKey       = "AKIA" + fake(upperDigits, 16, 1)
	awsSTS       = "ASIA" + fake(upperDigits, 16, 2)
	ghPAT        = "ghp_" + fake(alnum, 36, 3)
	ghOAuth      = "gho_" + fake(alnum, 36, 4)
	ghServer     = "ghs_" + fake(alnum, 36, 5)
	ghUser       = "ghu_" + fake(alnum, 36, 6)
	ghFine       = "github_pat_" + fake(alnum+"_", 82, 7)
	slackBot     = "xoxb-" + fake("0123456789", 12, 8) + "-" + fake("0123456789", 13, 9) + "-" + fake(alnum, 24, 10)
	slackHook    = "https://hooks.slack.com/services/T" + fake(upperDigits, 8, 11) + "/B" + fake(upperDigits, 8, 12) + "/" + fake(alnum, 24, 13)
	stripeLive   = "sk_live_" + fake(alnum, 24, 14)
	stripeRK     = "rk_live_" + fake(alnum, 24, 15)
	googleKey    = "AIza" + fake(urlSafe, 35, 16)
	pemHeader    = "-----BEGIN RSA " + "PRIVATE KEY-----"
	pemOpenSSH   = "-----BEGIN OPENSSH " + "PRIVATE KEY-----"
	jwt          = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0." + fake(urlSafe, 43, 17)
	twilio       = "SK" + fake(hexLower, 32, 18)
	sendgrid     = "SG." + fake(urlSafe, 22, 19) + "." + fake(urlSafe, 43, 20)
	npmToken     = "npm_" + fake(alnum, 36, 21)
	floeToken    = "floe_" + fake(urlSafe, 43, 22)
	randomB64    = fake(alnum+"+/", 40, 23)
	randomB64URL = fake(urlSafe, 32, 24)
)

func TestScanFinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		text   string
		rule   string
		secret string // text[Start:End] of the single finding
	}{
		{name: "aws access key id", text: "export AWS_ACCESS_KEY_ID=" + awsKey, rule: "aws-access-key-id", secret: awsKey},
		{name: "aws sts key id", text: "key " + awsSTS + ".", rule: "aws-access-key-id", secret: awsSTS},
		{name: "github pat", text: "use " + ghPAT + " to push", rule: "github-token", secret: ghPAT},
		{name: "github oauth", text: ghOAuth, rule: "github-token", secret: ghOAuth},
		{name: "github server", text: "(" + ghServer + ")", rule: "github-token", secret: ghServer},
		{name: "github user", text: `"` + ghUser + `"`, rule: "github-token", secret: ghUser},
		{name: "github fine grained", text: "token " + ghFine, rule: "github-token", secret: ghFine},
		{name: "slack bot token", text: "SLACK=" + slackBot, rule: "slack-token", secret: slackBot},
		{name: "slack webhook", text: "post to " + slackHook + " on deploy", rule: "slack-webhook", secret: strings.TrimPrefix(slackHook, "https://")},
		{name: "stripe live key", text: "stripe " + stripeLive, rule: "stripe-key", secret: stripeLive},
		{name: "stripe restricted key", text: stripeRK, rule: "stripe-key", secret: stripeRK},
		{name: "google api key", text: "maps key=" + googleKey + "\n", rule: "gcp-api-key", secret: googleKey},
		{name: "pem header", text: "here:\n" + pemHeader + "\nMIIE...", rule: "private-key", secret: pemHeader},
		{name: "openssh pem header", text: pemOpenSSH, rule: "private-key", secret: pemOpenSSH},
		{name: "jwt", text: "Authorization: Bearer " + jwt, rule: "jwt", secret: jwt},
		{name: "twilio", text: "twilio " + twilio, rule: "twilio-api-key", secret: twilio},
		{name: "sendgrid", text: "SENDGRID=" + sendgrid, rule: "sendgrid-api-key", secret: sendgrid},
		{name: "npm", text: "//registry.npmjs.org/:_authToken " + npmToken, rule: "npm-token", secret: npmToken},
		{name: "floe token", text: "floe login --token " + floeToken, rule: "floe-token", secret: floeToken},
		{name: "url with password", text: "DATABASE_URL=postgres://app:s3cretPw@db.internal:5432/floe", rule: "url-credentials", secret: "s3cretPw"},
		{name: "url with password in prose", text: "connect to https://admin:hunter22@example.com/x please", rule: "url-credentials", secret: "hunter22"},
		{name: "password assignment", text: "set password=hunter2 in the env", rule: "generic-assignment", secret: "hunter2"},
		{name: "quoted secret", text: `client_secret: "Zx9!pQ_ab"`, rule: "generic-assignment", secret: "Zx9!pQ_ab"},
		{name: "db password env", text: "DB_PASSWORD='P@ssw0rd!'", rule: "generic-assignment", secret: "P@ssw0rd!"},
		{name: "api key arrow", text: `"api_key" => "k3y-Value"`, rule: "generic-assignment", secret: "k3y-Value"},
		{name: "token colon equals", text: "token := abcDEF123", rule: "generic-assignment", secret: "abcDEF123"},
		{name: "random base64", text: "blob " + randomB64 + " end", rule: "high-entropy", secret: randomB64},
		{name: "random base64url", text: "id=" + randomB64URL, rule: "high-entropy", secret: randomB64URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := leakscan.Scan(tt.text)
			if len(got) != 1 {
				t.Fatalf("Scan(%q) = %d findings %+v, want 1", tt.text, len(got), got)
			}
			f := got[0]
			if f.Rule != tt.rule {
				t.Errorf("Rule = %q, want %q", f.Rule, tt.rule)
			}
			if s := tt.text[f.Start:f.End]; s != tt.secret {
				t.Errorf("text[Start:End] = %q, want %q", s, tt.secret)
			}
			if f.Hint != leakscan.Hint {
				t.Errorf("Hint = %q, want %q", f.Hint, leakscan.Hint)
			}
			checkRedacted(t, f, tt.secret)
		})
	}
}

func checkRedacted(t *testing.T, f leakscan.Finding, secret string) {
	t.Helper()
	if len(secret) >= 5 && strings.Contains(f.Description, secret[:5]) {
		t.Errorf("Description %q shows more than 4 characters of the secret", f.Description)
	}
	if strings.Contains(f.Description, secret) {
		t.Errorf("Description %q contains the secret", f.Description)
	}
}

func TestScanIgnores(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text string }{
		{name: "prose", text: "We fixed the login page. Users can now reset their password from the settings screen; the token expires after 30 minutes."},
		{name: "full commit sha", text: "Reverts 9fceb02d0ae598e95dc970b74767f19372d61af8 (fix: retry)"},
		{name: "short sha", text: "fix: retries (a1b2c3d)"},
		{name: "sha256 digest", text: "image ghcr.io/penguinmails/floe@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{name: "uuid", text: "deployment 123e4567-e89b-12d3-a456-426614174000 finished"},
		{name: "upper uuid", text: "request 3F2504E0-4F89-11D3-9A0C-0305E82C3301"},
		{name: "ulid", text: "release 01ARZ3NDEKTSV4RRFFQ69G5FAV promoted"},
		{name: "versions", text: "bump to 1.2.3-rc.1+build.20240101, then v2.0.0-beta.12 and 10.4.17"},
		{name: "url without credentials", text: "see https://github.com/penguinmails/floe/pull/1234 and https://example.com:8443/path?q=1#frag"},
		{name: "url with user only", text: "ssh://git@github.com/penguinmails/floe.git"},
		{name: "url with placeholder password", text: "postgres://app:${DB_PASSWORD}@db:5432/floe and redis://:<password>@cache:6379"},
		{name: "url with masked password", text: "mysql://root:****@localhost/db"},
		{name: "identifiers", text: "Renamed TestReleaseNotesV2Handler to getUserByEmailAndPassword2FA in HTTPServer2ConfigForTLS13Clients."},
		{name: "go import path", text: "github.com/penguinmails/floe/services/release/internal/domain moved to io.github.floe.v1alpha2.ReleaseService"},
		{name: "kebab and snake", text: "flag new-checkout-flow-enabled-for-beta-users and max_connections_per_pool_2"},
		{name: "password prose", text: "password: required, token: none, secret: optional"},
		{name: "password placeholders", text: "password=<your-password> token=${TOKEN} secret={{ .Secret }} api_key=$API_KEY pwd=changeme"},
		{name: "password short", text: "pwd=abc"},
		{name: "secret reference", text: "password=secret://prod/db-password2"},
		{name: "vault reference", text: "DATABASE_URL=vault://kv/data/payments#dsn and token: vault://kv/app#Zx9pQ4rT8uV2wX6yZ0aB3cD7eF1gH5iJ"},
		{name: "base32", text: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"},
		{name: "base64 of text", text: "aGVsbG8gd29ybGQ="},
		{name: "email", text: "contact release-team@penguinmails.dev for access"},
		{name: "empty", text: ""},
		{name: "ghp_ too short", text: "ghp_abc123"},
		{name: "akia inside word", text: "XAKIA" + fake(upperDigits, 16, 1) + "X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := leakscan.Scan(tt.text); len(got) != 0 {
				t.Errorf("Scan(%q) = %+v, want no findings", tt.text, got)
			}
		})
	}
}

func TestScanSeveral(t *testing.T) {
	t.Parallel()
	text := "first " + ghPAT + ", then password=hunter2 and " + awsKey
	got := leakscan.Scan(text)
	var rules []string
	for _, f := range got {
		rules = append(rules, f.Rule)
	}
	want := []string{"github-token", "generic-assignment", "aws-access-key-id"}
	if diff := cmp.Diff(want, rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Start < got[i-1].End {
			t.Errorf("findings %d and %d overlap: %+v", i-1, i, got)
		}
	}
}

func TestSpecificRuleWinsOverEntropy(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{floeToken, ghFine, googleKey, npmToken} {
		got := leakscan.Scan(" " + tok + " ")
		if len(got) != 1 || got[0].Rule == "high-entropy" {
			t.Errorf("Scan(%.8s…) = %+v, want one finding of a specific rule", tok, got)
		}
	}
}

func TestIsReference(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"secret://db-password":      true,
		"secret://prod/db/password": true,
		"vault://kv/data/app#dsn":   true,
		"vault://kv/data/app":       false, // no key
		"secret://":                 false,
		"https://example.com":       false,
		" secret://x":               false,
		"secret://x y":              false,
		"password":                  false,
		"vault://kv/data/app#dsn#x": true, // the key may hold '#'
		"secret://name#with-hash":   false,
	}
	for in, want := range tests {
		if got := leakscan.IsReference(in); got != want {
			t.Errorf("IsReference(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                     `"…"`,
		"hunter2":              `"…"`,
		"hunter22":             `"hu…"`,
		"ghp_abcdefghijklmnop": `"ghp_…"`,
		"日本語日本語日本語日本語":         `"日本語…"`,
	}
	for in, want := range tests {
		if got := leakscan.Redact(in); got != want {
			t.Errorf("Redact(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestScanJSON(t *testing.T) {
	t.Parallel()
	doc := decode(t, `{
		"environment": "production",
		"database": {
			"host": "db.internal",
			"password": "hunter2",
			"passwordRef": "secret://db",
			"url": "postgres://app:Sup3rSecret@db:5432/floe",
			"connectionPool": {"min": 2, "max": 20}
		},
		"email": {"apiKey": "secret://sendgrid", "smtp": {"password": "vault://kv/smtp#password"}},
		"storage": {"secretAccessKey": "", "accessKeyId": "not-a-key"},
		"hosts": ["a", "`+ghPAT+`"],
		"features": {"new.checkout": {"enabled": true, "note": "token=abcDEF123"}},
		"notes": "rolled back 9fceb02d0ae598e95dc970b74767f19372d61af8",
		"`+awsKey+`": 1
	}`)
	got := leakscan.ScanJSON(doc, "")
	type row struct{ Path, Rule, Value string }
	var rows []row
	for _, f := range got {
		rows = append(rows, row{f.Path, f.Rule, ""})
	}
	want := []row{
		{Path: awsKey, Rule: "aws-access-key-id"},
		{Path: "database.password", Rule: "secret-field"},
		{Path: "database.url", Rule: "url-credentials"},
		{Path: `features["new.checkout"].note`, Rule: "generic-assignment"},
		{Path: "hosts[1]", Rule: "github-token"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("ScanJSON (-want +got):\n%s", diff)
	}
	for _, f := range got {
		if strings.Contains(f.Description, "hunter2") || strings.Contains(f.Description, "Sup3r") {
			t.Errorf("Description %q reveals the value", f.Description)
		}
	}
}

func TestScanJSONPrefixAndNumbers(t *testing.T) {
	t.Parallel()
	dec := json.NewDecoder(strings.NewReader(`{"token": "s3cr3t-Value", "port": 5432, "big": 12345678901234567890}`))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	got := leakscan.ScanJSON(v, "sections.custom")
	if len(got) != 1 || got[0].Path != "sections.custom.token" {
		t.Fatalf("ScanJSON = %+v, want one finding at sections.custom.token", got)
	}
	if got := leakscan.ScanJSON("plain text", "note"); got != nil {
		t.Errorf("ScanJSON(string) = %+v, want none", got)
	}
}

func TestIsSecretKey(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"password": true, "db_password": true, "DB-PASSWORD": true, "apiKey": true, "api_key": true,
		"clientSecret": true, "accessToken": true, "secretAccessKey": true, "privateKey": true, "credentials": true,
		"passwordPolicy": false, "tokenUrl": false, "accessKeyId": false, "secretName": false, "host": false,
		"tokenExpiryMinutes": false, "keyPrefix": false,
	}
	for in, want := range tests {
		if got := leakscan.IsSecretKey(in); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestKeyPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ parent, key, want string }{
		{"", "database", "database"},
		{"database", "connectionPool", "database.connectionPool"},
		{"features", "new.checkout", `features["new.checkout"]`},
		{"", "1st", `["1st"]`},
		{"", "", `[""]`},
		{"x", `a"b`, `x["a\"b"]`},
		{"a", "snake_case-and-kebab", "a.snake_case-and-kebab"},
	}
	for _, tt := range tests {
		if got := leakscan.KeyPath(tt.parent, tt.key); got != tt.want {
			t.Errorf("KeyPath(%q, %q) = %s, want %s", tt.parent, tt.key, got, tt.want)
		}
	}
	if got := leakscan.IndexPath("hosts", 2); got != "hosts[2]" {
		t.Errorf("IndexPath = %s", got)
	}
}

func TestHighEntropy(t *testing.T) {
	t.Parallel()
	if !leakscan.HighEntropy(randomB64) {
		t.Errorf("HighEntropy(random) = false")
	}
	for _, s := range []string{
		"9fceb02d0ae598e95dc970b74767f19372d61af8",
		"123e4567-e89b-12d3-a456-426614174000",
		"TestReleaseNotesV2Handler",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaA1",
		"short1A",
	} {
		if leakscan.HighEntropy(s) {
			t.Errorf("HighEntropy(%q) = true", s)
		}
	}
	if got := leakscan.Shannon(""); got != 0 {
		t.Errorf("Shannon(\"\") = %v", got)
	}
	if got := leakscan.Shannon("abcd"); got != 2 {
		t.Errorf("Shannon(abcd) = %v, want 2", got)
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

type namedDoc map[string]any

func TestScanJSONNamedTypes(t *testing.T) {
	t.Parallel()
	got := leakscan.ScanJSON(namedDoc{"db": namedDoc{"password": "hunter2"}, "tokens": []string{ghPAT}}, "")
	var paths []string
	for _, f := range got {
		paths = append(paths, f.Path)
	}
	if diff := cmp.Diff([]string{"db.password", "tokens[0]"}, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}
