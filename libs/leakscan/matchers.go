package leakscan

import "strings"

// The two rules below are hand-written rather than regular expressions: they
// have no literal prefix, and Go's regexp engine would walk every byte of a
// note through its NFA (milliseconds for 10 KB). Each starts from a substring
// search instead.

const (
	maxAuthority = 512 // bytes of a URL authority examined
	maxValue     = 256 // bytes of an assigned value examined
)

// findURLCredentials returns the password of every scheme://user:password@host.
func findURLCredentials(text, _ string) [][2]int {
	var out [][2]int
	for from := 0; ; {
		i := strings.Index(text[from:], "://")
		if i < 0 {
			return out
		}
		i += from
		from = i + 3
		// The scheme: letters, digits, + . - back to a letter.
		s := i
		for s > 0 && i-s < 32 && isSchemeChar(text[s-1]) {
			s--
		}
		for s < i && !isLetter(text[s]) {
			s++
		}
		if s == i {
			continue
		}
		// The authority ends at the path, query, fragment or a delimiter.
		a := from
		for a < len(text) && a-from < maxAuthority && !isAuthorityEnd(text[a]) {
			a++
		}
		auth := text[from:a]
		at := strings.LastIndexByte(auth, '@')
		if at < 0 || at == len(auth)-1 {
			continue
		}
		colon := strings.IndexByte(auth[:at], ':')
		if colon < 0 || colon == at-1 {
			continue
		}
		password := auth[colon+1 : at]
		if isPlaceholder(password) {
			continue
		}
		out = append(out, [2]int{from + colon + 1, from + at})
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isSchemeChar(c byte) bool { return isAlnum(c) || c == '+' || c == '.' || c == '-' }

func isAuthorityEnd(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\n', '\r', '\f', '\v', '"', '\'', '<', '>', '`':
		return true
	}
	return false
}

// assignKeywords are the names whose assignment the generic rule inspects,
// lower case; "key" counts only after api, access, secret or private.
var assignKeywords = []string{"password", "passwd", "pwd", "secret", "token", "key", "credential"}

// findAssignments returns the value of every `name = value`, `name: value`,
// `name := value` or `name => value` whose name ends in an assignKeyword and
// whose value looks like a credential.
func findAssignments(text, lower string) [][2]int {
	var out [][2]int
	for _, kw := range assignKeywords {
		for from := 0; ; {
			i := strings.Index(lower[from:], kw)
			if i < 0 {
				break
			}
			i += from
			from = i + len(kw)
			if kw == "key" && !keyQualified(lower[:i]) {
				continue
			}
			end := i + len(kw)
			if kw == "credential" && end < len(lower) && lower[end] == 's' {
				end++
			}
			if start, stop, ok := assignedValue(text, end); ok && looksLikeCredential(text[start:stop]) {
				out = append(out, [2]int{start, stop})
			}
		}
	}
	return out
}

// keyQualified reports whether before ends in api, access, secret or private,
// optionally followed by '_' or '-'.
func keyQualified(before string) bool {
	before = strings.TrimRight(before, "_-")
	for _, q := range []string{"api", "access", "secret", "private"} {
		if strings.HasSuffix(before, q) {
			return true
		}
	}
	return false
}

// assignedValue parses `["']? [ \t]* (=>|:=|=|:) [ \t]* ["'`]? value` at i
// and returns the value's offsets.
func assignedValue(text string, i int) (start, end int, ok bool) {
	if i < len(text) && (text[i] == '"' || text[i] == '\'') {
		i++
	}
	i = skipBlanks(text, i)
	switch {
	case strings.HasPrefix(text[i:], "=>"), strings.HasPrefix(text[i:], ":="):
		i += 2
	case i < len(text) && (text[i] == '=' || text[i] == ':'):
		i++
	default:
		return 0, 0, false
	}
	i = skipBlanks(text, i)
	if i < len(text) && (text[i] == '"' || text[i] == '\'' || text[i] == '`') {
		i++
	}
	start = i
	for i < len(text) && i-start < maxValue && !isValueEnd(text[i]) {
		i++
	}
	return start, i, i > start
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', '"', '\'', '`', ',', ';':
		return true
	}
	return false
}
