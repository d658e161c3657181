package conventional

import (
	"regexp"
	"strings"
	"unicode"
)

// Commit is one parsed commit message.
type Commit struct {
	// Hash is the commit id, as given by the caller (empty from Parse).
	Hash string
	// Type is the lower-cased commit type (feat, fix, perf, refactor, docs,
	// chore, ...), or "" when the subject is not a conventional commit.
	Type string
	// Scope is the trimmed text between the parentheses, or "".
	Scope string
	// Breaking reports a "!" before the colon or a BREAKING CHANGE /
	// BREAKING-CHANGE footer.
	Breaking bool
	// Description is the trimmed subject text after ": " (the whole trimmed
	// first line for a non-conventional commit).
	Description string
	// Body is the trimmed text between the subject and the footers.
	Body string
	// BreakingNote is the value of the BREAKING CHANGE footers, joined by
	// blank lines, or "".
	BreakingNote string
	// Refs are the issue and pull-request references of the Refs, Closes,
	// Fixes, ... footers, in order and without duplicates.
	Refs []string
	// Author is the author, as given by the caller (empty from Parse).
	Author string
}

// subjectRE matches `type(scope)!: description`; the scope's characters are
// checked separately by validScope.
var subjectRE = regexp.MustCompile(`^([A-Za-z]+)(?:\(([^()]*)\))?(!)?:[ \t]+(.*)$`)

// breakingToken is the canonical token of a breaking-change footer.
const breakingToken = "BREAKING CHANGE"

// refTokens are the footer tokens (lower case) whose values are references.
var refTokens = map[string]bool{
	"refs": true, "ref": true, "references": true, "see": true,
	"closes": true, "close": true, "closed": true,
	"fixes": true, "fix": true, "fixed": true,
	"resolves": true, "resolve": true, "resolved": true,
	"issue": true, "issues": true, "related": true,
}

// Parse parses one full commit message: a subject line, then optionally a
// blank line and a body, then optionally footers. It never panics. A message
// whose subject is not a conventional commit gives a Commit with Type "",
// Description set to the trimmed first line and Body to the rest. See the
// package documentation for the exact rules.
func Parse(message string) Commit {
	message = strings.ReplaceAll(message, "\r\n", "\n")
	message = strings.ReplaceAll(message, "\r", "\n")
	message = strings.TrimSpace(message)
	lines := strings.Split(message, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	subject, rest := lines[0], lines[1:]

	c, ok := parseSubject(subject)
	if !ok {
		return Commit{
			Description: strings.TrimSpace(subject),
			Body:        strings.TrimSpace(strings.Join(rest, "\n")),
		}
	}

	start := footerStart(rest)
	c.Body = strings.TrimSpace(strings.Join(rest[:start], "\n"))
	var notes []string
	seen := map[string]bool{}
	for _, f := range parseFooters(rest[start:]) {
		switch {
		case f.token == breakingToken:
			c.Breaking = true
			if f.value != "" {
				notes = append(notes, f.value)
			}
		case refTokens[strings.ToLower(f.token)]:
			c.Refs = appendRefs(c.Refs, seen, f.value)
		}
	}
	c.BreakingNote = strings.Join(notes, "\n\n")
	return c
}

// parseSubject parses a conventional subject line; ok is false when the line
// is not one.
func parseSubject(line string) (c Commit, ok bool) {
	m := subjectRE.FindStringSubmatch(line)
	if m == nil {
		return Commit{}, false
	}
	scope := strings.TrimSpace(m[2])
	desc := strings.TrimSpace(m[4])
	if desc == "" || !validScope(scope) {
		return Commit{}, false
	}
	return Commit{
		Type:        strings.ToLower(m[1]),
		Scope:       scope,
		Breaking:    m[3] == "!",
		Description: desc,
	}, true
}

// validScope reports whether s only holds characters allowed in a scope.
func validScope(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r):
		case strings.ContainsRune(" -_/.,@+*", r):
		default:
			return false
		}
	}
	return true
}

// footer is one parsed footer.
type footer struct {
	token string // breakingToken for both spellings of a breaking change
	value string
}

// footerLine parses a footer's first line. For `Token #value` the "#" is kept
// in the value.
func footerLine(line string) (token, value string, ok bool) {
	for _, bt := range [...]string{"BREAKING CHANGE", "BREAKING-CHANGE"} {
		rest, found := strings.CutPrefix(line, bt)
		if !found {
			continue
		}
		switch {
		case rest == ":":
			return breakingToken, "", true
		case strings.HasPrefix(rest, ": "), strings.HasPrefix(rest, ":\t"):
			return breakingToken, rest[2:], true
		case strings.HasPrefix(rest, " #"):
			return breakingToken, rest[1:], true
		}
	}
	n := 0
	for n < len(line) {
		b := line[n]
		if isASCIILetter(b) || n > 0 && (b >= '0' && b <= '9' || b == '-') {
			n++
			continue
		}
		break
	}
	if n == 0 {
		return "", "", false
	}
	rest := line[n:]
	switch {
	case strings.HasPrefix(rest, ": "):
		return line[:n], rest[2:], true
	case strings.HasPrefix(rest, " #"):
		return line[:n], rest[1:], true
	}
	return "", "", false
}

func isASCIILetter(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// footerStart returns the index in lines (the message after the subject) of
// the first footer line, or len(lines) when there are no footers.
func footerStart(lines []string) int {
	for i, l := range lines {
		token, _, ok := footerLine(l)
		if !ok {
			continue
		}
		if token == breakingToken || i == 0 || lines[i-1] == "" {
			return i
		}
	}
	return len(lines)
}

// parseFooters parses the footer section; lines[0] is a footer line unless
// lines is empty.
func parseFooters(lines []string) []footer {
	var footers []footer
	var value []string
	flush := func() {
		if len(footers) > 0 {
			footers[len(footers)-1].value = strings.TrimSpace(strings.Join(value, "\n"))
		}
	}
	for _, l := range lines {
		if token, v, ok := footerLine(l); ok {
			flush()
			footers = append(footers, footer{token: token})
			value = append(value[:0], v)
			continue
		}
		value = append(value, l)
	}
	flush()
	return footers
}

// appendRefs appends the references in a footer value that are not in seen
// to refs, and adds them to seen.
func appendRefs(refs []string, seen map[string]bool, value string) []string {
	words := strings.FieldsFunc(value, func(r rune) bool {
		return r == ',' || r == ';' || unicode.IsSpace(r)
	})
	for _, w := range words {
		w = strings.Trim(w, `()[]<>{}.:!?'"`)
		if !strings.ContainsAny(w, "0123456789") {
			continue
		}
		if !seen[w] {
			seen[w] = true
			refs = append(refs, w)
		}
	}
	return refs
}
