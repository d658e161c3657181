package configdoc

import (
	"sort"
	"strings"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/leakscan"
)

// Flatten returns the environment-variable form of doc, for delivery to a
// process. The rule:
//
//   - a scalar at path a.b.c becomes the variable A_B_C; each key is turned
//     into upper snake case: camelCase and acronyms split at case changes
//     (connectionPool → CONNECTION_POOL, idleTimeoutMillis →
//     IDLE_TIMEOUT_MILLIS, HTTPServer → HTTP_SERVER), every character other
//     than an ASCII letter or digit becomes '_', runs of '_' collapse and
//     leading or trailing '_' are dropped; a variable name starting with a
//     digit gets a leading '_', and the document's own scalars (none in
//     practice) would be "_";
//   - strings are the string itself (secret references stay references, to be
//     resolved by the deliverer), numbers their canonical form, booleans
//     "true" or "false";
//   - arrays are not split: the variable holds the array's canonical JSON;
//   - objects recurse; null and empty objects produce no variable.
//
// So {"database": {"connectionPool": {"max": 20}}} gives
// DATABASE_CONNECTION_POOL_MAX=20. Two paths that give the same name
// ("dbHost" and "db_host") are an *errs.InvalidArgumentError on the later path.
func Flatten(doc Document) (map[string]string, error) {
	out := map[string]string{}
	from := map[string]string{} // variable → path
	var v errs.Violations
	flatten("", nil, map[string]any(doc), out, from, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func flatten(path string, words []string, val any, out, from map[string]string, v *errs.Violations) {
	var s string
	switch val := val.(type) {
	case map[string]any:
		for _, k := range sortedKeys(val) {
			w := words
			if word := envWord(k); word != "" {
				w = append(words[:len(words):len(words)], word)
			}
			flatten(leakscan.KeyPath(path, k), w, val[k], out, from, v)
		}
		return
	case nil:
		return
	case string:
		s = val
	default:
		s = CanonicalJSON(val)
	}
	name := strings.Join(words, "_")
	if name == "" || isDigitASCII(name[0]) {
		name = "_" + name
	}
	if prev, dup := from[name]; dup {
		v.Add(path, "becomes the variable %s, as %s does", name, prev)
		return
	}
	from[name] = path
	out[name] = s
}

// EnvName turns a key into upper snake case as Flatten does.
func EnvName(key string) string {
	name := envWord(key)
	if name != "" && isDigitASCII(name[0]) {
		name = "_" + name
	}
	return name
}

// envWord is EnvName without the leading '_' before a digit.
func envWord(key string) string {
	var b strings.Builder
	under := false
	emit := func(c byte) {
		b.WriteByte(c)
		under = false
	}
	sep := func() {
		if b.Len() > 0 && !under {
			b.WriteByte('_')
			under = true
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case isUpperASCII(c):
			// A capital starts a word after a lower case letter or digit, and
			// ends an acronym when a lower case letter follows (HTTPServer).
			if i > 0 && (isLowerASCII(key[i-1]) || isDigitASCII(key[i-1])) ||
				i > 0 && isUpperASCII(key[i-1]) && i+1 < len(key) && isLowerASCII(key[i+1]) {
				sep()
			}
			emit(c)
		case isLowerASCII(c):
			emit(c - ('a' - 'A'))
		case isDigitASCII(c):
			emit(c)
		default:
			sep()
		}
	}
	return strings.TrimRight(b.String(), "_")
}

func isUpperASCII(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLowerASCII(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigitASCII(c byte) bool { return c >= '0' && c <= '9' }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
