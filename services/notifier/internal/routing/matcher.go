package routing

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchType is a matcher's operator.
type MatchType string

// The operators of a matcher, as Alertmanager writes them.
const (
	MatchEqual     MatchType = "="
	MatchNotEqual  MatchType = "!="
	MatchRegexp    MatchType = "=~"
	MatchNotRegexp MatchType = "!~"
)

// Matcher tests one name of an event's label set (see Event.LabelSet). A
// missing label has the value "", so `team=""` matches events without a team
// and `team!=""` those with one, as in Alertmanager.
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
	re    *regexp.Regexp
}

// maxMatcherLen bounds a matcher's text, and so the regular expressions
// compiled from configuration.
const maxMatcherLen = 1024

var matcherName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-/]*$`)

// ParseMatcher reads a matcher written `name op value`, op one of = != =~ !~,
// the value bare or double-quoted (escapes \\, \" and \n): `severity="critical"`,
// `environment=~"prod|staging"`, `product!=demo`. A regular expression is
// anchored at both ends, as in Alertmanager: `env=~"prod"` does not match
// "preprod".
func ParseMatcher(s string) (Matcher, error) {
	if len(s) > maxMatcherLen {
		return Matcher{}, fmt.Errorf("is %d bytes, over the limit of %d", len(s), maxMatcherLen)
	}
	i := strings.IndexAny(s, "=!")
	if i < 0 {
		return Matcher{}, fmt.Errorf("%s is not a matcher: want name=value, name!=value, name=~regex or name!~regex", strconv.Quote(s))
	}
	name := strings.TrimSpace(s[:i])
	rest := s[i:]
	var m Matcher
	for _, op := range []MatchType{MatchRegexp, MatchNotRegexp, MatchNotEqual, MatchEqual} {
		if strings.HasPrefix(rest, string(op)) {
			m.Type = op
			rest = rest[len(op):]
			break
		}
	}
	if m.Type == "" {
		return Matcher{}, fmt.Errorf("%s has no operator: want = != =~ or !~", strconv.Quote(s))
	}
	if !matcherName.MatchString(name) {
		return Matcher{}, fmt.Errorf("label name %s is not valid: want a letter or '_' then letters, digits, '_', '.', '-' or '/'", strconv.Quote(name))
	}
	m.Name = name
	val := strings.TrimSpace(rest)
	if strings.HasPrefix(val, `"`) {
		u, ok := unquote(val)
		if !ok {
			return Matcher{}, fmt.Errorf("value of %s is not a valid double-quoted string", strconv.Quote(s))
		}
		val = u
	}
	m.Value = val
	if err := m.compile(); err != nil {
		return Matcher{}, err
	}
	return m, nil
}

// unquote reads a double-quoted value as Alertmanager does: \\, \" and \n
// are escapes, any other backslash stays (so `"floe\.release"` is the
// regular expression floe\.release).
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return "", false
		case c != '\\':
			b.WriteByte(c)
		case i+1 == len(s):
			return "", false
		default:
			i++
			switch s[i] {
			case '\\', '"':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		}
	}
	return b.String(), true
}

// NewMatcher builds a matcher, compiling its regular expression.
func NewMatcher(name string, t MatchType, value string) (Matcher, error) {
	m := Matcher{Name: name, Type: t, Value: value}
	switch t {
	case MatchEqual, MatchNotEqual, MatchRegexp, MatchNotRegexp:
	default:
		return Matcher{}, fmt.Errorf("operator %s is not one of = != =~ !~", strconv.Quote(string(t)))
	}
	if !matcherName.MatchString(name) {
		return Matcher{}, fmt.Errorf("label name %s is not valid", strconv.Quote(name))
	}
	if err := m.compile(); err != nil {
		return Matcher{}, err
	}
	return m, nil
}

func (m *Matcher) compile() error {
	if m.Type != MatchRegexp && m.Type != MatchNotRegexp {
		return nil
	}
	re, err := regexp.Compile("^(?:" + m.Value + ")$")
	if err != nil {
		return fmt.Errorf("regular expression of %s: %v", strconv.Quote(m.Name), err)
	}
	m.re = re
	return nil
}

// Matches reports whether the label set satisfies m.
func (m Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re != nil && m.re.MatchString(v)
	case MatchNotRegexp:
		return m.re != nil && !m.re.MatchString(v)
	}
	return false
}

// String is the matcher in the form ParseMatcher reads.
func (m Matcher) String() string {
	v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(m.Value)
	return m.Name + string(m.Type) + `"` + v + `"`
}

// Matchers all have to match.
type Matchers []Matcher

// Matches reports whether every matcher matches (true for none).
func (ms Matchers) Matches(labels map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(labels) {
			return false
		}
	}
	return true
}

// String lists the matchers in the form ParseMatcher reads, comma-separated.
func (ms Matchers) String() string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
