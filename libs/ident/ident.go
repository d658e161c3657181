// Package ident is the one rule for the identifiers Floe puts into NATS
// subjects (floe.evt.<aggregate>.<id>.<Event>) and KV keys: aggregate ids,
// product, environment, rule and trigger names. NATS gives '.', '*', '>' and
// whitespace a meaning in subjects, and KV keys refuse more, so an identifier
// is 1-64 ASCII letters, digits, '-' or '_' — ULIDs, UUIDs and names qualify.
//
// Every service checks each request field that becomes one at its API edge,
// so a bad value is InvalidArgument naming the field, never a NATS error
// surfacing as Unavailable. A field may have a stricter documented Rule (a
// product name, an alert rule's name); no Rule accepts what Valid refuses.
package ident

import (
	"fmt"
	"strconv"

	"github.com/penguinmails/floe/libs/errs"
)

// The rule, for code (MaxLen), messages and docs (Description, Pattern).
const (
	// MaxLen is the length of the longest identifier, in bytes.
	MaxLen = 64
	// Pattern is the rule as a regular expression.
	Pattern = `^[A-Za-z0-9_-]{1,64}$`
	// Description is the rule in words.
	Description = "1-64 ASCII letters, digits, '-' or '_'"
)

// Valid reports whether s is an identifier: it matches Pattern. It looks at
// bytes, so every non-ASCII rune, control byte, space, '.', '*' and '>' is
// refused, and it allocates nothing.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !allowed[s[i]] {
			return false
		}
	}
	return true
}

// allowed marks the bytes an identifier may hold.
var allowed = func() (a [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		a[c], a[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		a[c] = true
	}
	a['-'], a['_'] = true, true
	return a
}()

// Rule is a documented rule for one kind of identifier: Identifier itself,
// or a stricter one a service states for a field. Its Valid is ident's Valid
// and then Allow, so a Rule can narrow the rule but never widen it.
type Rule struct {
	// Noun names what is checked in messages, e.g. "identifier" or "product name".
	Noun string
	// Description is the rule in words, Pattern the same as a regular
	// expression; messages quote both.
	Description, Pattern string
	// Allow is the rule's own test of an identifier (nil: none).
	Allow func(string) bool
}

// Identifier is the rule itself.
var Identifier = Rule{Noun: "identifier", Description: Description, Pattern: Pattern}

// Valid reports whether s is an identifier the rule allows.
func (r Rule) Valid(s string) bool { return Valid(s) && (r.Allow == nil || r.Allow(s)) }

// Check adds a violation of field to v unless s satisfies the rule, and
// reports whether it does: "is required" for "", else a description naming
// the rule, e.g. `"a b" is not a valid identifier: 1-64 ASCII letters,
// digits, '-' or '_' (^[A-Za-z0-9_-]{1,64}$)`.
func (r Rule) Check(v *errs.Violations, field, s string) bool {
	switch {
	case s == "":
		v.Add(field, "is required")
		return false
	case r.Valid(s):
		return true
	}
	v.Add(field, "%s is not a valid %s: %s (%s)", Quote(s), r.Noun, r.Description, r.Pattern)
	return false
}

// Check is Identifier.Check: it adds a violation of field to v unless s is
// an identifier, and reports whether it is.
func Check(v *errs.Violations, field, s string) bool { return Identifier.Check(v, field, s) }

// maxQuoted is the longest value a message repeats whole.
const maxQuoted = 80

// MaxQuote bounds the length of Quote's result: every byte quoted takes at
// most 4 ("\xff"), plus the quotes and, for a cut value, its length.
const MaxQuote = 4*maxQuoted + 2

// Quote is s for a message about a refused value: a Go string literal
// (control and invalid bytes escaped, so the message is valid UTF-8, as a
// protobuf string must be), cut after MaxLen bytes, with its length, when s
// is longer than 80 bytes. The result is at most MaxQuote bytes.
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:MaxLen]), len(s))
}
