package leakcheck_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/secrets/leakcheck"
)

func TestFind(t *testing.T) {
	t.Parallel()
	secret := leakcheck.Canary()
	b64 := func(enc *base64.Encoding, prefix string) string {
		return enc.EncodeToString([]byte(prefix + secret + `"}`))
	}
	jsonBytes, _ := json.Marshal(struct{ B []byte }{[]byte(`{"password":"` + secret + `"}`)}) // protojson/JSON bytes fields are base64
	tests := []struct {
		name     string
		haystack string
		want     string // the first form found; "" for none
	}{
		{"plain in a log line", `{"level":"info","msg":"connect","dsn":"postgres://u:` + secret + `@db"}`, "plain"},
		{"hex", "body=" + hex.EncodeToString([]byte("xx"+secret+"yy")), "hex"},
		{"upper hex", "body=" + strings.ToUpper(hex.EncodeToString([]byte(secret))), "HEX"},
		{"base64 offset 0", b64(base64.StdEncoding, ""), "base64"},
		{"base64 offset 1", b64(base64.StdEncoding, "a"), "base64 (offset 1)"},
		{"base64 offset 2", b64(base64.StdEncoding, "ab"), "base64 (offset 2)"},
		{"base64 offset 3", b64(base64.StdEncoding, "abc"), "base64"},
		{"base64url offset 1", b64(base64.URLEncoding, "{"), "base64"},
		{"JSON bytes field", string(jsonBytes), "base64"},
		{"absent", "nothing to see " + leakcheck.Canary(), ""},
		{"a prefix only", secret[:len(secret)-1], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := leakcheck.FindString(tt.haystack, secret)
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("found %v in a haystack without the value", got)
			case tt.want != "" && (got == nil || !strings.HasPrefix(got[0].Form, strings.SplitN(tt.want, " ", 2)[0])):
				t.Errorf("Find = %v, want %s", got, tt.want)
			}
		})
	}
}

func TestFormsOfBinaryValues(t *testing.T) {
	t.Parallel()
	secret := []byte{0xfb, 0xff, 0xfe, 0x00, 0x3e, 0x3f, 0xfb, 0xef, 0xbe}
	for k := range 3 {
		blob := append(append(make([]byte, k+3), secret...), 1, 2, 3)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if leakcheck.Find([]byte(enc.EncodeToString(blob)), secret) == nil {
				t.Errorf("value at offset %d not found in its base64 form", k+3)
			}
		}
	}
}

func TestCheckReportsWithoutTheValue(t *testing.T) {
	t.Parallel()
	secret := leakcheck.Canary()
	rec := &recorder{TB: t}
	leakcheck.Check(rec, []byte(secret), map[string][]byte{"log": []byte("x " + secret)})
	if len(rec.msgs) != 1 || strings.Contains(rec.msgs[0], secret) || !strings.Contains(rec.msgs[0], "log") {
		t.Errorf("Check reported %q", rec.msgs)
	}
	rec = &recorder{TB: t}
	leakcheck.Check(rec, []byte("short"), nil)
	if len(rec.msgs) != 1 || !strings.Contains(rec.msgs[0], "too short") {
		t.Errorf("Check of a short value reported %q", rec.msgs)
	}
}

// recorder records failures instead of failing.
type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
