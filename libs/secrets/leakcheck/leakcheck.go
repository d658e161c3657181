// Package leakcheck finds a secret value where it must not be: in event
// log messages, logs, traces, API responses. Tests store a distinctive
// value (Canary), drive the system, and scan everything it wrote with Find
// or Check, which look for the value as it is and in the encodings that
// carry bytes through JSON, protobuf and headers: hex (both cases) and
// base64 (standard and URL alphabets, padded or not, at every alignment,
// so the value is found inside a longer encoded blob too).
package leakcheck

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// MinLen is the length of the shortest value Find looks for: a shorter one
// would be found by chance.
const MinLen = 8

// Canary returns a distinctive random value to store as a secret and then
// look for: "floe-canary-" and 24 hex digits.
func Canary() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "floe-canary-" + hex.EncodeToString(b)
}

// Form is one encoding of a value.
type Form struct {
	// Name says which, e.g. "plain", "hex", "base64 (offset 1)".
	Name string
	// Text is the value in that form.
	Text []byte
}

// Forms returns the forms Find looks for. A base64 form at offset k is the
// part of the encoding of the value that follows k other bytes and depends
// on the value alone (so it appears in the encoding of any blob holding the
// value at an offset ≡ k mod 3); parts shorter than MinLen are left out.
func Forms(secret []byte) []Form {
	forms := []Form{
		{"plain", secret},
		{"hex", []byte(hex.EncodeToString(secret))},
		{"HEX", bytes.ToUpper([]byte(hex.EncodeToString(secret)))},
	}
	for _, enc := range []struct {
		name string
		enc  *base64.Encoding
	}{{"base64", base64.RawStdEncoding}, {"base64url", base64.RawURLEncoding}} {
		for k := range 3 {
			buf := append(make([]byte, k), secret...)
			s := enc.enc.EncodeToString(buf)
			from := (8*k + 5) / 6           // first char made of value bits only
			to := 8 * (k + len(secret)) / 6 // chars made of whole 6-bit groups
			if to-from < MinLen {
				continue
			}
			name := enc.name
			if k > 0 {
				name += " (offset " + string(rune('0'+k)) + ")"
			}
			forms = append(forms, Form{name, []byte(s[from:to])})
		}
	}
	// Drop repeats (e.g. base64 and base64url agree for most values).
	out := forms[:0]
	for _, f := range forms {
		dup := false
		for _, g := range out {
			dup = dup || bytes.Equal(f.Text, g.Text)
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// Finding is where a form of the value was found.
type Finding struct {
	// Form is the Form's Name.
	Form string
	// Offset is the byte offset in the haystack.
	Offset int
}

// Find returns every form of secret found in haystack (nil when none). It
// panics on a secret shorter than MinLen: a test bug, not a finding.
func Find(haystack, secret []byte) []Finding {
	if len(secret) < MinLen {
		panic("leakcheck: the value is too short to be distinctive")
	}
	var out []Finding
	for _, f := range Forms(secret) {
		if i := bytes.Index(haystack, f.Text); i >= 0 {
			out = append(out, Finding{Form: f.Name, Offset: i})
		}
	}
	return out
}

// FindString is Find on strings.
func FindString(haystack, secret string) []Finding { return Find([]byte(haystack), []byte(secret)) }

// Check fails t for every form of secret found in each haystack (named by
// where, e.g. "event log" or "service log"). Its messages name the form and
// offset, never the value.
func Check(t testing.TB, secret []byte, haystacks map[string][]byte) {
	t.Helper()
	if len(secret) < MinLen {
		t.Fatalf("leakcheck: the value is %d bytes, too short to be distinctive (want %d or more)", len(secret), MinLen)
	}
	for where, h := range haystacks {
		for _, f := range Find(h, secret) {
			t.Errorf("the secret leaked into %s: %s form at byte %d", where, f.Form, f.Offset)
		}
	}
}
