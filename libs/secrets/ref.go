package secrets

import (
	"strconv"
	"strings"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

// The schemes of a Ref.
const (
	// SchemeSecret is a secret of the configured Provider: secret://<name>[@<version>].
	SchemeSecret = "secret"
	// SchemeVault is a field of a Vault KV v2 secret: vault://<path>#<key>,
	// the path relative to the configured mount.
	SchemeVault = "vault"
)

// The rules for the parts of a Ref, for code, messages and docs.
const (
	// MaxNameLen is the length of the longest secret name or Vault path, in bytes.
	MaxNameLen = 200
	// NamePattern is the rule for a secret name as a regular expression:
	// '/'-separated segments of lower-case letters, digits, '.', '-' and
	// '_', each starting with a letter or digit (so no "." or ".." segment,
	// no empty one, no leading or trailing '/').
	NamePattern = `^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`
	// NameDescription is the rule for a secret name in words.
	NameDescription = "1-200 bytes of '/'-separated segments of lower-case letters, digits, '.', '-' or '_', each starting with a letter or digit"
	// PathPattern is the rule for a Vault path: a name that may also hold upper-case letters.
	PathPattern = `^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`
	// PathDescription is the rule for a Vault path in words.
	PathDescription = "1-200 bytes of '/'-separated segments of letters, digits, '.', '-' or '_', each starting with a letter or digit"
	// MaxKeyLen is the length of the longest Vault key.
	MaxKeyLen = 128
	// KeyPattern is the rule for the key of a vault:// reference.
	KeyPattern = `^[A-Za-z0-9._-]{1,128}$`
	// KeyDescription is the rule for the key of a vault:// reference in words.
	KeyDescription = "1-128 letters, digits, '.', '-' or '_'"
)

// RefSyntax is the syntax of a reference, for messages and docs.
const RefSyntax = "secret://<name>[@<version>] or vault://<path>#<key>"

// Ref is a reference to a secret, what configuration holds instead of a
// value. It holds no secret itself, so it may be logged and stored in events.
type Ref struct {
	// Scheme is SchemeSecret or SchemeVault.
	Scheme string
	// Name is the secret's name (SchemeSecret).
	Name string
	// Version pins a version (SchemeSecret); 0 is the latest live version,
	// resolved at delivery.
	Version uint64
	// Path is the Vault secret's path under the mount (SchemeVault).
	Path string
	// Key is the field of the Vault secret's data (SchemeVault).
	Key string
}

// String is the reference in its canonical form; ParseRef(r.String()) == r
// for every valid r.
func (r Ref) String() string {
	switch r.Scheme {
	case SchemeSecret:
		s := SchemeSecret + "://" + r.Name
		if r.Version != 0 {
			s += "@" + strconv.FormatUint(r.Version, 10)
		}
		return s
	case SchemeVault:
		return SchemeVault + "://" + r.Path + "#" + r.Key
	}
	return ""
}

// IsRef reports whether s is written as a reference (starts with a known
// scheme), valid or not: configuration uses it to tell a reference from a
// plain value.
func IsRef(s string) bool {
	return strings.HasPrefix(s, SchemeSecret+"://") || strings.HasPrefix(s, SchemeVault+"://")
}

// ParseRef parses a reference. Its error is an *errs.InvalidArgumentError
// whose field is "ref"; CheckRef reports under a field of the caller's.
func ParseRef(s string) (Ref, error) {
	var v errs.Violations
	r, _ := CheckRef(&v, "ref", s)
	return r, v.Err()
}

// CheckRef parses s as a reference, adding every violation to v under field,
// and reports whether it is valid. A string without a known scheme is not
// quoted in the message: it may be a value written where a reference
// belongs, and messages never repeat values.
func CheckRef(v *errs.Violations, field, s string) (Ref, bool) {
	before := v.Len()
	switch {
	case s == "":
		v.Add(field, "is required: want %s", RefSyntax)
	case strings.HasPrefix(s, SchemeSecret+"://"):
		rest := s[len(SchemeSecret+"://"):]
		r := Ref{Scheme: SchemeSecret, Name: rest}
		if name, ver, ok := strings.Cut(rest, "@"); ok {
			r.Name = name
			n, err := strconv.ParseUint(ver, 10, 64)
			switch {
			case err != nil || n == 0 || ver != strconv.FormatUint(n, 10):
				v.Add(field, "version %s is not a version: want a decimal number from 1 (leave out @<version> for the latest)", ident.Quote(ver))
			default:
				r.Version = n
			}
		}
		CheckName(v, field, r.Name)
		if v.Len() == before {
			return r, true
		}
	case strings.HasPrefix(s, SchemeVault+"://"):
		rest := s[len(SchemeVault+"://"):]
		path, key, ok := strings.Cut(rest, "#")
		if !ok {
			v.Add(field, "a vault reference needs a key: want vault://<path>#<key>")
			return Ref{}, false
		}
		r := Ref{Scheme: SchemeVault, Path: path, Key: key}
		checkPath(v, field, path)
		switch {
		case key == "":
			v.Add(field, "key is required: want vault://<path>#<key>")
		case !validKey(key):
			v.Add(field, "key %s is not valid: %s (%s)", ident.Quote(key), KeyDescription, KeyPattern)
		}
		if v.Len() == before {
			return r, true
		}
	default:
		v.Add(field, "is not a secret reference: want %s", RefSyntax)
	}
	return Ref{}, false
}

// ValidName reports whether name is a secret name (NamePattern).
func ValidName(name string) bool { return validSegments(name, false) }

// CheckName adds a violation of field to v unless name is a secret name,
// and reports whether it is.
func CheckName(v *errs.Violations, field, name string) bool {
	switch {
	case name == "":
		v.Add(field, "name is required: want %s", RefSyntax)
		return false
	case ValidName(name):
		return true
	}
	v.Add(field, "name %s is not valid: %s (%s)", ident.Quote(name), NameDescription, NamePattern)
	return false
}

// ValidPath reports whether path is a Vault path (PathPattern).
func ValidPath(path string) bool { return validSegments(path, true) }

func checkPath(v *errs.Violations, field, path string) bool {
	switch {
	case path == "":
		v.Add(field, "path is required: want vault://<path>#<key>")
		return false
	case ValidPath(path):
		return true
	}
	v.Add(field, "path %s is not valid: %s (%s)", ident.Quote(path), PathDescription, PathPattern)
	return false
}

// validSegments checks NamePattern (PathPattern with upper).
func validSegments(s string, upper bool) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	start := true // at the first byte of a segment
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || upper && c >= 'A' && c <= 'Z'
		switch {
		case start && !alnum:
			return false
		case c == '/':
			start = true
			continue
		case !alnum && c != '.' && c != '-' && c != '_':
			return false
		}
		start = false
	}
	return !start
}

func validKey(k string) bool {
	if len(k) == 0 || len(k) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
