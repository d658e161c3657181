package secrets

import (
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a Value prints as, in every format.
const Redacted = "[redacted]"

// Value is a secret value. It prints as Redacted through fmt (every verb,
// %#v included), encoding/json, encoding.TextMarshaler, log/slog and
// zerolog (whose Interface and Any encode with MarshalJSON, and Stringer
// with String); only Reveal returns the bytes.
//
// The bytes sit behind a pointer so that even a Value inside a struct
// printed by reflection (an unexported field fmt cannot call methods on)
// shows an address, not the bytes. Copies of a Value share its bytes: Wipe
// on one wipes them all. The zero Value is empty.
type Value struct{ p *payload }

type payload struct{ b []byte }

// NewValue returns a Value holding a copy of b; the caller may wipe b.
func NewValue(b []byte) Value {
	return Value{p: &payload{b: append(make([]byte, 0, len(b)), b...)}}
}

// NewValueString returns a Value holding the bytes of s.
func NewValueString(s string) Value { return NewValue([]byte(s)) }

// Reveal returns the secret bytes: the Value's own, not a copy, so that Wipe
// reaches them. Do not keep, modify or log them.
func (v Value) Reveal() []byte {
	if v.p == nil {
		return nil
	}
	return v.p.b
}

// Len is the length of the value in bytes (a length is not secret here:
// ciphertexts reveal it anyway).
func (v Value) Len() int { return len(v.Reveal()) }

// IsZero reports whether the value is empty.
func (v Value) IsZero() bool { return v.Len() == 0 }

// Equal reports whether v and w hold the same bytes, in time that depends
// only on their lengths.
func (v Value) Equal(w Value) bool {
	return subtle.ConstantTimeCompare(v.Reveal(), w.Reveal()) == 1
}

// Wipe overwrites the bytes with zeros and empties the Value (and every copy
// of it). It is best effort: Go may have copied the bytes before (a string
// conversion, a grown slice), but it shortens the time they stay in memory.
func (v Value) Wipe() {
	if v.p == nil {
		return
	}
	clear(v.p.b)
	v.p.b = nil
}

// String returns Redacted.
func (Value) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (Value) GoString() string { return Redacted }

// Format prints Redacted for every verb and flag (%q quotes it).
func (Value) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, `"`+Redacted+`"`)
		return
	}
	_, _ = io.WriteString(f, Redacted)
}

// MarshalJSON returns the JSON string "[redacted]": a value never reaches
// an API response or a JSON log through encoding/json.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns Redacted.
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue makes log/slog print Redacted.
func (Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

var (
	_ fmt.Stringer   = Value{}
	_ fmt.GoStringer = Value{}
	_ fmt.Formatter  = Value{}
	_ slog.LogValuer = Value{}
)
