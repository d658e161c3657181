package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// checkVectorMatching is promql/vector_matching. pint samples series from
// the server to find binary operations whose sides never share a label set;
// offline, the labels each side can and must have are inferred from the
// expression (aggregations, matchers, and a trigger's scope labels), and the
// release guide's mistake — a filtered selector divided by the same
// selector, series by series — is recognised from its shape.
func checkVectorMatching(t *target, root parser.Expr) []Finding {
	var out []Finding
	walk(root, func(n parser.Expr, _ []parser.Expr) bool {
		b, ok := n.(*parser.BinaryExpr)
		if !ok || b.LHS.Type() != parser.ValueTypeVector || b.RHS.Type() != parser.ValueTypeVector {
			return true
		}
		if f := checkSelfMatch(t, b); f != nil {
			out = append(out, *f)
			return true
		}
		if f := checkDisjointLabels(t, b); f != nil {
			out = append(out, *f)
		}
		return true
	})
	return out
}

// checkSelfMatch: `rate(x{code=~"5.."}[5m]) / rate(x[5m])` matches each
// 5xx series of the left with the same series on the right (one-to-one
// matching on all labels, code included), so the ratio is 1 for every
// series with errors, whatever the error rate.
func checkSelfMatch(t *target, b *parser.BinaryExpr) *Finding {
	if b.Op != parser.DIV && b.Op != parser.SUB {
		return nil
	}
	vm := b.VectorMatching
	if vm == nil || vm.Card != parser.CardOneToOne || vm.On {
		return nil
	}
	filtered, extra, ok := sameButMatchers(b.LHS, b.RHS)
	if !ok {
		return nil
	}
	// Every extra label must still be on the filtered side's result and be
	// matched on: then each series can only match itself.
	side := inferLabels(filtered, t.scope)
	for _, l := range extra {
		if side.never(l) || slices.Contains(vm.MatchingLabels, l) {
			return nil
		}
	}
	value := map[parser.ItemType]string{parser.DIV: "1 (NaN for 0/0)", parser.SUB: "0"}[b.Op]
	problem := fmt.Sprintf("%s: %s matches each series of the left with the same series on the right (one-to-one matching compares every label", t.what(), quote(b.String()))
	if len(extra) > 0 {
		problem += ", " + strings.Join(extra, ", ") + " included"
	}
	problem += fmt.Sprintf("), so the result is %s for every series that exists on the left, whatever the values", value)
	// The fix: aggregate both sides, which also removes the filtered labels.
	sum := func(e parser.Expr) parser.Expr {
		return &parser.AggregateExpr{Op: parser.SUM, Expr: e}
	}
	rw := rewrite(t.expr, b, func(e parser.Expr) parser.Expr {
		n := e.(*parser.BinaryExpr)
		n.LHS, n.RHS = sum(unwrap(n.LHS)), sum(unwrap(n.RHS))
		n.VectorMatching = &parser.VectorMatching{Card: parser.CardOneToOne}
		return n
	})
	why := "aggregate both sides so that the ratio is over all series"
	if len(extra) > 0 {
		why += fmt.Sprintf(" (or sum without (%s) on both sides for one ratio per remaining label set)", strings.Join(extra, ", "))
	}
	f := t.finding(CheckVectorMatching, SeverityBug, problem, t.rewriteSuggestion(why, rw), rw)
	return &f
}

// sameButMatchers reports whether a and b are the same expression except
// that the selectors of one side have extra label matchers; it returns that
// side and the names of the extra matchers' labels.
func sameButMatchers(a, b parser.Expr) (parser.Expr, []string, bool) {
	sa, sb := selectors(a), selectors(b)
	if len(sa) == 0 || len(sa) != len(sb) || bare(a) != bare(b) {
		return nil, nil, false
	}
	var aExtra, bExtra []string
	for i := range sa {
		ma, mb := matcherSet(sa[i]), matcherSet(sb[i])
		for k, m := range ma {
			if _, ok := mb[k]; !ok {
				aExtra = append(aExtra, m.Name)
			}
		}
		for k, m := range mb {
			if _, ok := ma[k]; !ok {
				bExtra = append(bExtra, m.Name)
			}
		}
	}
	dedupe := func(s []string) []string { slices.Sort(s); return slices.Compact(s) }
	switch {
	case len(aExtra) > 0 && len(bExtra) > 0:
		return nil, nil, false
	case len(bExtra) > 0:
		return b, dedupe(bExtra), true
	}
	return a, dedupe(aExtra), true
}

// matcherSet is a selector's matchers by their text, the metric name aside.
func matcherSet(vs *parser.VectorSelector) map[string]*labels.Matcher {
	out := map[string]*labels.Matcher{}
	for _, m := range vs.LabelMatchers {
		if m != nil && m.Name != labels.MetricName {
			out[m.String()] = m
		}
	}
	return out
}

// bare is e printed with the label matchers of its selectors removed (the
// metric name kept), to compare the shape of two expressions.
func bare(e parser.Expr) string {
	c, err := parse(e.String())
	if err != nil {
		return e.String()
	}
	for _, vs := range selectors(c) {
		vs.LabelMatchers = slices.DeleteFunc(slices.Clone(vs.LabelMatchers), func(m *labels.Matcher) bool {
			return m == nil || m.Name != labels.MetricName
		})
		if vs.Name == "" {
			vs.Name = "_"
		}
	}
	return c.String()
}

// checkDisjointLabels: a binary operation that needs matching series on both
// sides where one side always has a label the other never has.
func checkDisjointLabels(t *target, b *parser.BinaryExpr) *Finding {
	if b.Op == parser.LOR {
		return nil
	}
	vm := b.VectorMatching
	if vm == nil {
		return nil
	}
	l, r := inferLabels(b.LHS, t.scope), inferLabels(b.RHS, t.scope)
	var names []string
	for k := range l.lower {
		names = append(names, k)
	}
	for k := range r.lower {
		names = append(names, k)
	}
	for k := range l.upper {
		names = append(names, k)
	}
	for k := range r.upper {
		names = append(names, k)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var conflicts []string
	for _, k := range names {
		if k == labels.MetricName || vm.On != slices.Contains(vm.MatchingLabels, k) {
			continue // not matched on
		}
		if (l.has(k) && r.never(k)) || (r.has(k) && l.never(k)) {
			conflicts = append(conflicts, k)
		}
	}
	if len(conflicts) == 0 {
		return nil
	}
	never := map[parser.ItemType]string{parser.LAND: "is always empty", parser.LUNLESS: "never removes anything"}[b.Op]
	if never == "" {
		never = "never returns anything"
	}
	var parts []string
	for _, k := range conflicts {
		side, other := "left", "right"
		if r.has(k) {
			side, other = "right", "left"
		}
		parts = append(parts, fmt.Sprintf("%s is always set on the %s and never on the %s", k, side, other))
	}
	problem := fmt.Sprintf("%s: the sides of %s can never have the same labels (%s), so it %s",
		t.what(), quote(b.String()), strings.Join(parts, "; "), never)
	rw, why := alignSides(t, b, l, r)
	suggestion := why
	if rw != "" {
		suggestion = t.rewriteSuggestion(why, rw)
	}
	f := t.finding(CheckVectorMatching, SeverityBug, problem, suggestion, rw)
	return &f
}

// alignSides proposes a rewrite of b whose sides can match: matching on the
// labels both sides can have (with group_left or group_right when one side
// has more), or the same aggregation on both sides.
func alignSides(t *target, b *parser.BinaryExpr, l, r labelSet) (string, string) {
	la, lok := unwrap(b.LHS).(*parser.AggregateExpr)
	ra, rok := unwrap(b.RHS).(*parser.AggregateExpr)
	if l.bounded && r.bounded && b.Op != parser.LAND && b.Op != parser.LUNLESS {
		var common []string
		for k := range l.upper {
			if r.upper[k] {
				common = append(common, k)
			}
		}
		slices.Sort(common)
		lExtra, rExtra := len(l.upper) > len(common), len(r.upper) > len(common)
		if !(lExtra && rExtra) {
			rw := rewrite(t.expr, b, func(e parser.Expr) parser.Expr {
				n := e.(*parser.BinaryExpr)
				card := parser.CardOneToOne
				switch {
				case lExtra:
					card = parser.CardManyToOne
				case rExtra:
					card = parser.CardOneToMany
				}
				n.VectorMatching = &parser.VectorMatching{Card: card, On: true, MatchingLabels: common}
				return n
			})
			return rw, "match on the labels both sides have, the side with more labels being the many"
		}
		if lok && rok && !la.Without && !ra.Without {
			rw := rewrite(t.expr, b, func(e parser.Expr) parser.Expr {
				n := e.(*parser.BinaryExpr)
				if a, ok := unwrap(n.RHS).(*parser.AggregateExpr); ok {
					a.Grouping = slices.Clone(la.Grouping)
				}
				return n
			})
			return rw, "aggregate both sides by the same labels"
		}
	}
	// One side aggregated, the other not: aggregate it the same way.
	agg, other, otherIsRight := la, b.RHS, true
	if !lok {
		agg, other, otherIsRight = ra, b.LHS, false
	}
	if (lok != rok) && agg != nil {
		if _, isAgg := unwrap(other).(*parser.AggregateExpr); !isAgg {
			rw := rewrite(t.expr, b, func(e parser.Expr) parser.Expr {
				n := e.(*parser.BinaryExpr)
				wrap := func(x parser.Expr) parser.Expr {
					return &parser.AggregateExpr{Op: agg.Op, Param: agg.Param, Grouping: slices.Clone(agg.Grouping), Without: agg.Without, Expr: unwrap(x)}
				}
				if otherIsRight {
					n.RHS = wrap(n.RHS)
				} else {
					n.LHS = wrap(n.LHS)
				}
				return n
			})
			return rw, "aggregate both sides the same way"
		}
	}
	return "", "match on the labels both sides have with on(...), or aggregate both sides the same way"
}
