package ident_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "ULID", in: "01JUNKJUNKJUNKJUNKJUNKJUNK", want: true},
		{name: "UUID", in: "6f1c0f5e-3b8a-4a57-9a8e-1d2b3c4d5e6f", want: true},
		{name: "lower, upper, digits, dash and underscore", in: "aZ09-_", want: true},
		{name: "one character", in: "a", want: true},
		{name: "leading dash", in: "-a", want: true},
		{name: "64 characters", in: strings.Repeat("a", 64), want: true},
		{name: "65 characters", in: strings.Repeat("a", 65)},
		{name: "empty", in: ""},
		{name: "wildcard star", in: "*"},
		{name: "wildcard gt", in: ">"},
		{name: "subject separator", in: "."},
		{name: "dotted", in: "a.b"},
		{name: "space", in: "a b"},
		{name: "tab", in: "a\tb"},
		{name: "newline", in: "a\nb"},
		{name: "carriage return", in: "a\rb"},
		{name: "NUL byte", in: "a\x00b"},
		{name: "DEL byte", in: "a\x7fb"},
		{name: "latin letter with accent", in: "é"},
		{name: "CJK letters", in: "日本"},
		{name: "fullwidth letter", in: "ａ"},
		{name: "invalid UTF-8", in: "a\xffb"},
		{name: "slash", in: "a/b"},
		{name: "colon", in: "a:b"},
		{name: "equals", in: "a=b"},
		{name: "plus", in: "a+b"},
	}
	re := regexp.MustCompile(ident.Pattern)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ident.Valid(tt.in); got != tt.want {
				t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if got := re.MatchString(tt.in); got != tt.want {
				t.Errorf("Pattern matches %q = %v, want %v (Valid and Pattern disagree)", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	rule := "1-64 ASCII letters, digits, '-' or '_' (^[A-Za-z0-9_-]{1,64}$)"
	tests := []struct {
		name string
		in   string
		want []errs.FieldViolation // nil: valid
	}{
		{name: "valid", in: "penguinmails"},
		{name: "empty is required", in: "", want: []errs.FieldViolation{{Field: "product", Description: "is required"}}},
		{name: "space", in: "a b", want: []errs.FieldViolation{{Field: "product", Description: `"a b" is not a valid identifier: ` + rule}}},
		{name: "NUL byte escaped", in: "a\x00b", want: []errs.FieldViolation{{Field: "product", Description: `"a\x00b" is not a valid identifier: ` + rule}}},
		{name: "invalid UTF-8 escaped", in: "\xff", want: []errs.FieldViolation{{Field: "product", Description: `"\xff" is not a valid identifier: ` + rule}}},
		{name: "a long value is cut", in: strings.Repeat("x", 100) + ".", want: []errs.FieldViolation{
			{Field: "product", Description: `"` + strings.Repeat("x", 64) + `"… (101 bytes) is not a valid identifier: ` + rule}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v errs.Violations
			ok := ident.Check(&v, "product", tt.in)
			if ok != (tt.want == nil) {
				t.Errorf("Check(%q) = %v, want %v", tt.in, ok, tt.want == nil)
			}
			var got []errs.FieldViolation
			var ia *errs.InvalidArgumentError
			if errors.As(v.Err(), &ia) {
				got = ia.Violations
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "a b", want: `"a b"`},
		{name: "letters outside ASCII kept", in: "日本", want: `"日本"`},
		{name: "control bytes escaped", in: "a\x00\tb\n", want: `"a\x00\tb\n"`},
		{name: "invalid UTF-8 escaped", in: "\xcd\xff", want: `"\xcd\xff"`},
		{name: "80 bytes whole", in: strings.Repeat("a", 80), want: `"` + strings.Repeat("a", 80) + `"`},
		{name: "81 bytes cut after 64", in: strings.Repeat("a", 81), want: `"` + strings.Repeat("a", 64) + `"… (81 bytes)`},
		// Found by FuzzValid: 72 invalid bytes are quoted whole, 4 bytes each.
		{name: "72 invalid bytes", in: strings.Repeat("\xcd", 72), want: `"` + strings.Repeat(`\xcd`, 72) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ident.Quote(tt.in)
			if got != tt.want {
				t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if len(got) > ident.MaxQuote {
				t.Errorf("Quote(%q) is %d bytes, over MaxQuote %d", tt.in, len(got), ident.MaxQuote)
			}
		})
	}
}

// TestRuleNarrowsOnly: a stricter rule refuses what its Allow refuses, and
// can never accept what Valid refuses, whatever its Allow says.
func TestRuleNarrowsOnly(t *testing.T) {
	t.Parallel()
	lower := ident.Rule{Noun: "product name", Description: "lower case", Pattern: "^[a-z]+$", Allow: func(s string) bool { return strings.ToLower(s) == s }}
	anything := ident.Rule{Noun: "name", Allow: func(string) bool { return true }}
	tests := []struct {
		name string
		rule ident.Rule
		in   string
		want bool
	}{
		{name: "allowed by both", rule: lower, in: "shop", want: true},
		{name: "refused by the rule", rule: lower, in: "Shop"},
		{name: "refused by ident although Allow says yes", rule: anything, in: "a.b"},
		{name: "empty refused although Allow says yes", rule: anything, in: ""},
		{name: "too long although Allow says yes", rule: anything, in: strings.Repeat("a", 65)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.rule.Valid(tt.in); got != tt.want {
				t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	var v errs.Violations
	lower.Check(&v, "product", "Shop")
	want := `invalid argument: product: "Shop" is not a valid product name: lower case (^[a-z]+$)`
	if got := v.Err().Error(); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// FuzzValid: Valid agrees with Pattern, Check agrees with Valid, and a
// refusal's message is valid UTF-8 (it travels in a protobuf string) of
// bounded length whatever the input.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"", "a", "*", ">", ".", "a.b", "a b", "é", "日本", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"a\x00b", "a\tb", "a\nb", "\xff", "01JUNKJUNKJUNKJUNKJUNKJUNK", "-", "_"} {
		f.Add(s)
	}
	re := regexp.MustCompile(ident.Pattern)
	f.Fuzz(func(t *testing.T, s string) {
		valid := ident.Valid(s)
		if want := re.MatchString(s); valid != want {
			t.Fatalf("Valid(%q) = %v, Pattern says %v", s, valid, want)
		}
		var v errs.Violations
		if ok := ident.Check(&v, "f", s); ok != valid {
			t.Fatalf("Check(%q) = %v, Valid says %v", s, ok, valid)
		}
		if valid {
			if v.Len() != 0 {
				t.Fatalf("Check(%q) added %v", s, v.Err())
			}
			return
		}
		msg := v.Err().Error()
		if !utf8.ValidString(msg) {
			t.Fatalf("message for %q is not valid UTF-8: %q", s, msg)
		}
		if q := ident.Quote(s); len(q) > ident.MaxQuote || !utf8.ValidString(q) {
			t.Fatalf("Quote of a %d-byte input is %d bytes (limit %d): %q", len(s), len(q), ident.MaxQuote, q)
		}
		if s != "" && !strings.Contains(msg, ident.Quote(s)) {
			t.Fatalf("message %q does not quote the value as Quote does", msg)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	id := "01JUNKJUNKJUNKJUNKJUNKJUNK"
	for b.Loop() {
		if !ident.Valid(id) {
			b.Fatal("refused a ULID")
		}
	}
}
