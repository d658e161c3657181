package configdoc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/leakscan"
)

// Limits of a parsed document (and of a user schema).
const (
	// MaxSize is the largest document accepted, in bytes.
	MaxSize = 1 << 20
	// MaxDepth is the deepest nesting of objects and arrays accepted; the
	// document object itself is depth 1.
	MaxDepth = 32
)

// Document is an environment's configuration: a JSON object as decoded by
// encoding/json with UseNumber. Values are map[string]any, []any, string,
// json.Number, bool and nil; numbers are json.Number so that large integers
// and decimals keep every digit. Functions of this package never modify a
// Document they are given.
type Document map[string]any

// Parse decodes data into a Document. It refuses, as an
// *errs.InvalidArgumentError whose violation names the JSON path of the
// problem ("" for the document itself), anything that is not one JSON object:
// invalid UTF-8, syntax errors, trailing data, nesting deeper than MaxDepth and
// duplicate keys (which encoding/json would silently collapse). A document
// over MaxSize is an *errs.TooLargeError on field "document".
func Parse(data []byte) (Document, error) {
	v, err := parseJSON(data, "document")
	if err != nil {
		return nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errs.Invalid("", "must be a JSON object, not %s", typeName(v))
	}
	return Document(doc), nil
}

// parseJSON decodes one JSON value of at most MaxSize bytes with the limits
// of Parse; what names the input in a TooLargeError.
func parseJSON(data []byte, what string) (any, error) {
	if len(data) > MaxSize {
		return nil, &errs.TooLargeError{Field: what, Size: len(data), Limit: MaxSize}
	}
	if !utf8.Valid(data) {
		return nil, errs.Invalid("", "is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := parser{dec: dec}
	v, err := p.value("", 1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errs.Invalid("", "unexpected data after the JSON value at byte %d", dec.InputOffset())
	}
	return v, nil
}

type parser struct{ dec *json.Decoder }

func (p *parser) syntax(path string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errs.Invalid(path, "invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	return errs.Invalid(path, "invalid JSON at byte %d: %s", p.dec.InputOffset(), err.Error())
}

// value reads the value at path, which sits at nesting depth (objects and
// arrays inside it are at depth+1).
func (p *parser) value(path string, depth int) (any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(path, err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth > MaxDepth {
		return nil, errs.Invalid(path, "nesting is deeper than %d levels", MaxDepth)
	}
	switch delim {
	case '{':
		obj := map[string]any{}
		for p.dec.More() {
			tok, err := p.dec.Token()
			if err != nil {
				return nil, p.syntax(path, err)
			}
			key, ok := tok.(string)
			if !ok {
				return nil, p.syntax(path, fmt.Errorf("object key is %v", tok))
			}
			child := leakscan.KeyPath(path, key)
			if _, dup := obj[key]; dup {
				return nil, errs.Invalid(child, "duplicate key %q", key)
			}
			v, err := p.value(child, depth+1)
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := p.dec.Token(); err != nil {
			return nil, p.syntax(path, err)
		}
		return obj, nil
	case '[':
		arr := []any{}
		for p.dec.More() {
			v, err := p.value(leakscan.IndexPath(path, len(arr)), depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := p.dec.Token(); err != nil {
			return nil, p.syntax(path, err)
		}
		return arr, nil
	}
	return nil, p.syntax(path, fmt.Errorf("unexpected %v", delim))
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any, Document:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64, int, int64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("a %T", v)
}

// Canonical returns the canonical JSON encoding of doc: object keys sorted
// by their UTF-8 bytes, no insignificant white space, no HTML escaping,
// strings escaped minimally, and numbers in canonical form (see
// CanonicalNumber). Two documents that are equal for Diff have the same
// canonical encoding.
func Canonical(doc Document) []byte {
	var b bytes.Buffer
	writeCanonical(&b, map[string]any(doc))
	return b.Bytes()
}

// Digest is the SHA-256 of Canonical(doc), as "sha256:<hex>": the identity of
// a version's content.
func Digest(doc Document) string {
	sum := sha256.Sum256(Canonical(doc))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CanonicalJSON is the canonical encoding of any document value.
func CanonicalJSON(v any) string {
	var b bytes.Buffer
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case Document:
		writeCanonical(b, map[string]any(v))
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case string:
		writeString(b, v)
	case json.Number:
		b.WriteString(CanonicalNumber(v))
	case float64:
		b.WriteString(CanonicalNumber(json.Number(strconv.FormatFloat(v, 'g', -1, 64))))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	default:
		// Not a decoded JSON value; encode it as encoding/json would.
		data, err := json.Marshal(v)
		if err != nil {
			b.WriteString("null")
			return
		}
		b.Write(data)
	}
}

func writeString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
}

// maxExponent bounds the exponents CanonicalNumber expands; beyond it a
// number keeps its written form (1e999999 would otherwise become a million
// digits).
const maxExponent = 400

// maxNumberLen bounds the length of the numbers CanonicalNumber rewrites.
const maxNumberLen = 1000

// isJSONNumber checks the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// ratOf is the exact value of n, unless n is not a JSON number, is longer
// than maxNumberLen or its exponent is beyond ±maxExponent.
func ratOf(n json.Number) (*big.Rat, bool) {
	s := string(n)
	if len(s) > maxNumberLen || !isJSONNumber(s) {
		return nil, false
	}
	if e := strings.IndexAny(s, "eE"); e >= 0 {
		exp, err := strconv.Atoi(s[e+1:])
		if err != nil || exp > maxExponent || exp < -maxExponent {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}

// CanonicalNumber writes n exactly, in plain decimal notation without
// redundant zeros or sign: "20.0", "2e1" and "20" are all "20", "-0" is "0",
// "0.50" is "0.5", "1.5e-3" is "0.0015". Integers of any size keep every
// digit. Numbers with an exponent beyond ±400 and text that is not a JSON
// number are returned unchanged.
func CanonicalNumber(n json.Number) string {
	s := string(n)
	r, ok := ratOf(n)
	if !ok {
		return s
	}
	if r.IsInt() {
		return r.Num().String()
	}
	// A decimal's denominator is 2^a·5^b; max(a, b) digits write it exactly.
	d := new(big.Int).Set(r.Denom())
	two, five := big.NewInt(2), big.NewInt(5)
	var twos, fives int
	m := new(big.Int)
	for {
		if m.Mod(d, two).Sign() != 0 {
			break
		}
		d.Quo(d, two)
		twos++
	}
	for {
		if m.Mod(d, five).Sign() != 0 {
			break
		}
		d.Quo(d, five)
		fives++
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return s // not a terminating decimal: cannot come from JSON text
	}
	return r.FloatString(max(twos, fives))
}

// Equal reports whether two document values are equal: same structure, same
// strings and booleans, numbers equal in value.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case Document:
		return Equal(map[string]any(a), b)
	case map[string]any:
		bm, ok := asObject(b)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		ba, ok := b.([]any)
		if !ok || len(a) != len(ba) {
			return false
		}
		for i := range a {
			if !Equal(a[i], ba[i]) {
				return false
			}
		}
		return true
	case json.Number, float64:
		switch b.(type) {
		case json.Number, float64:
			return CanonicalJSON(a) == CanonicalJSON(b)
		}
		return false
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case nil:
		return b == nil
	}
	return false
}

func asObject(v any) (map[string]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return v, true
	case Document:
		return map[string]any(v), true
	}
	return nil, false
}

// clone deep-copies a document value.
func clone(v any) any {
	switch v := v.(type) {
	case Document:
		return clone(map[string]any(v))
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = clone(e)
		}
		return out
	}
	return v
}
