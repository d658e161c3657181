package leakscan

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// secretKeySuffixes name credentials when they end a normalised key (lower
// case, without '_', '-' and '.').
var secretKeySuffixes = []string{
	"password", "passwd", "passphrase", "secret", "token", "apikey", "privatekey", "secretkey",
	"accesskey", "credential", "credentials", "pwd",
}

// IsSecretKey reports whether an object key names a credential (e.g.
// "password", "db_password", "apiKey", "client-secret", "accessToken"), so
// that a literal string under it is a finding of the secret-field rule.
func IsSecretKey(key string) bool {
	norm := strings.Map(func(r rune) rune {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, key)
	for _, s := range secretKeySuffixes {
		if strings.HasSuffix(norm, s) {
			return true
		}
	}
	return false
}

// ScanJSON walks a document decoded by encoding/json (map[string]any, []any,
// string, float64 or json.Number, bool, nil; named map, slice and string
// types are accepted too) and scans every string value and
// every object key. path is the path of value itself ("" for a document
// root); findings carry the path of the value or key they were found in, and
// are ordered by path, then offset.
func ScanJSON(value any, path string) []Finding {
	var found []Finding
	scanValue(value, path, "", &found)
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].Path != found[j].Path {
			return found[i].Path < found[j].Path
		}
		return found[i].Start < found[j].Start
	})
	return found
}

func scanValue(v any, path, key string, found *[]Finding) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			childPath := KeyPath(path, k)
			for _, f := range Scan(k) {
				f.Path = childPath
				*found = append(*found, f)
			}
			scanValue(child, childPath, k, found)
		}
	case []any:
		for i, child := range v {
			scanValue(child, IndexPath(path, i), key, found)
		}
	case string:
		fs := Scan(v)
		if len(fs) == 0 && key != "" && IsSecretKey(key) && !IsReference(v) && !isPlaceholder(v) {
			fs = []Finding{newFinding("secret-field", "literal value of "+strconv.Quote(key), v, 0, len(v))}
		}
		for _, f := range fs {
			f.Path = path
			*found = append(*found, f)
		}
	case json.Number, float64, bool, nil:
	default:
		// Named map and slice types (type Document map[string]any).
		rv := reflect.ValueOf(v)
		switch {
		case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
			m := make(map[string]any, rv.Len())
			for it := rv.MapRange(); it.Next(); {
				m[it.Key().String()] = it.Value().Interface()
			}
			scanValue(m, path, key, found)
		case rv.Kind() == reflect.Slice:
			a := make([]any, rv.Len())
			for i := range a {
				a[i] = rv.Index(i).Interface()
			}
			scanValue(a, path, key, found)
		case rv.Kind() == reflect.String:
			scanValue(rv.String(), path, key, found)
		}
	}
}

// KeyPath appends an object key to a dotted path: "database" + "pool" →
// "database.pool". Keys that are not simple identifiers (letters, digits,
// '_' and '-', not starting with a digit) are written as ["key"] with JSON
// quoting: "features" + "new.checkout" → `features["new.checkout"]`.
func KeyPath(parent, key string) string {
	if !simpleKey(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// IndexPath appends an array index to a path: "hosts" + 2 → "hosts[2]".
func IndexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func simpleKey(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
