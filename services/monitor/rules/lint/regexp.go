package lint

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// checkRegexp is promql/regexp: regexp matchers that are plain strings,
// carry anchors Prometheus adds anyway, match everything or nothing, or pick
// substrings out of one label value.
func checkRegexp(t *target, root parser.Expr) []Finding {
	var out []Finding
	for _, vs := range selectors(root) {
		for i, m := range vs.LabelMatchers {
			if m == nil || (m.Type != labels.MatchRegexp && m.Type != labels.MatchNotRegexp) {
				continue
			}
			if f := regexpFinding(t, vs, i, m); f != nil {
				out = append(out, *f)
			}
		}
	}
	return out
}

// regexpFinding judges one regexp matcher of vs (its i-th).
func regexpFinding(t *target, vs *parser.VectorSelector, i int, m *labels.Matcher) *Finding {
	re, err := syntax.Parse(m.Value, syntax.Perl)
	if err != nil {
		return nil // the parser compiled it, with Prometheus' own flags; nothing to add
	}
	neg := m.Type == labels.MatchNotRegexp
	// with replaces the matcher (nil removes it) in the rewritten expression.
	with := func(n *labels.Matcher) string {
		return rewrite(t.expr, vs, func(e parser.Expr) parser.Expr {
			sel := e.(*parser.VectorSelector)
			ms := slices.Clone(sel.LabelMatchers)
			if n == nil {
				ms = slices.Delete(ms, i, i+1)
			} else {
				ms[i] = n
			}
			if len(ms) == 0 || (sel.Name == "" && !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches("") })) {
				return nil // the result would not be a valid selector
			}
			sel.LabelMatchers = ms
			return sel
		})
	}
	matcher := func(typ labels.MatchType, v string) *labels.Matcher {
		n, err := labels.NewMatcher(typ, m.Name, v)
		if err != nil {
			return nil
		}
		return n
	}
	eq, ne := labels.MatchEqual, labels.MatchNotEqual
	if neg {
		eq, ne = ne, eq
	}
	mk := func(severity, problem, why string, n *labels.Matcher, remove bool) *Finding {
		rw := ""
		if n != nil || remove {
			rw = with(n)
		}
		suggestion := why
		if rw != "" {
			suggestion = t.rewriteSuggestion(why, rw)
		}
		f := t.finding(CheckRegexp, severity, fmt.Sprintf("%s: %s: %s", t.what(), quote(m.String()), problem), suggestion, rw)
		return &f
	}

	// Anchors: Prometheus anchors every regexp, so ^ and $ are redundant.
	if v, anchored := stripAnchors(re, m.Value); anchored {
		return mk(SeverityWarning, "Prometheus anchors regexp matchers at both ends already, so ^ and $ are redundant",
			"remove the anchors", matcher(m.Type, v), false)
	}
	switch {
	case re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase == 0, re.Op == syntax.OpEmptyMatch:
		lit := string(re.Rune)
		return mk(SeverityWarning, "the regexp is a plain string; an equality matcher says so and is cheaper",
			"use "+map[bool]string{false: "=", true: "!="}[neg], matcher(eq, lit), false)
	case isAnyStar(re) && !neg:
		return mk(SeverityWarning, "matches every value, including a missing label, so it filters nothing",
			"remove the matcher", nil, true)
	case isAnyStar(re) && neg:
		return mk(SeverityBug, "excludes every value, including a missing label, so the selector matches no series",
			fmt.Sprintf("remove it, or use %s!=\"\" to keep the series without the label", m.Name), nil, false)
	case isAnyPlus(re):
		// =~".+" is != "", !~".+" is = "".
		return mk(SeverityWarning, "only tests whether the label is set; an equality matcher with \"\" says so and is cheaper",
			"use "+map[bool]string{false: `!=""`, true: `=""`}[neg], matcher(ne, ""), false)
	case smelly(re):
		return mk(SeverityWarning, "picks parts out of one label value (a wildcard between fixed strings); that value holds several labels in one",
			fmt.Sprintf("give each part its own label (relabelling at scrape) and match them with equality, e.g. {%s=\"myservice\", env=\"production\"}", m.Name), nil, false)
	}
	return nil
}

// stripAnchors removes a leading ^ and a trailing $ of a regexp, reporting
// whether there were any.
func stripAnchors(re *syntax.Regexp, v string) (string, bool) {
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	if len(subs) == 0 {
		return v, false
	}
	begin := subs[0].Op == syntax.OpBeginText && strings.HasPrefix(v, "^")
	end := subs[len(subs)-1].Op == syntax.OpEndText && strings.HasSuffix(v, "$") && !strings.HasSuffix(v, `\$`)
	if !begin && !end {
		return v, false
	}
	if begin {
		v = v[1:]
	}
	if end && v != "" {
		v = v[:len(v)-1]
	}
	return v, true
}

func isAnyChar(re *syntax.Regexp) bool {
	return re.Op == syntax.OpAnyChar || re.Op == syntax.OpAnyCharNotNL
}

func isAnyStar(re *syntax.Regexp) bool {
	return re.Op == syntax.OpStar && len(re.Sub) == 1 && isAnyChar(re.Sub[0])
}

func isAnyPlus(re *syntax.Regexp) bool {
	return re.Op == syntax.OpPlus && len(re.Sub) == 1 && isAnyChar(re.Sub[0])
}

func isWildcard(re *syntax.Regexp) bool { return isAnyStar(re) || isAnyPlus(re) }

// isWord is a literal with a character that is not a digit: `5..` (a status
// class) is not a substring pick, `_production` is.
func isWord(re *syntax.Regexp) bool {
	return re.Op == syntax.OpLiteral && slices.ContainsFunc(re.Rune, func(r rune) bool { return !unicode.IsDigit(r) })
}

// smelly reports a wildcard between two words or a word between two
// wildcards at the top level of the regexp, as pint's check does:
// `myservice_.+_production`, `.*production.*`.
func smelly(re *syntax.Regexp) bool {
	if re.Op != syntax.OpConcat {
		return false
	}
	var kinds []byte // w: word, *: wildcard, other parts skipped
	for _, s := range re.Sub {
		switch {
		case isWord(s):
			kinds = append(kinds, 'w')
		case isWildcard(s):
			kinds = append(kinds, '*')
		case s.Op == syntax.OpBeginText || s.Op == syntax.OpEndText || s.Op == syntax.OpEmptyMatch:
		default:
			kinds = append(kinds, '?')
		}
	}
	k := string(kinds)
	return strings.Contains(k, "w*w") || strings.Contains(k, "*w*")
}
