package lint

import (
	"maps"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// labelSet is what can be known offline about the labels of an expression's
// result series (the metric name aside: vector matching ignores it).
type labelSet struct {
	// bounded: every result series has only labels in upper.
	bounded bool
	upper   map[string]bool
	// lower are labels every result series has, with a non-empty value.
	lower map[string]bool
	// absent are labels no result series has.
	absent map[string]bool
}

func newLabelSet() labelSet {
	return labelSet{upper: map[string]bool{}, lower: map[string]bool{}, absent: map[string]bool{}}
}

// noLabels is the label set of a scalar, vector() or an aggregation without grouping.
func noLabels() labelSet {
	s := newLabelSet()
	s.bounded = true
	return s
}

func (s labelSet) clone() labelSet {
	return labelSet{bounded: s.bounded, upper: maps.Clone(s.upper), lower: maps.Clone(s.lower), absent: maps.Clone(s.absent)}
}

// has reports whether every result series has label l.
func (s labelSet) has(l string) bool { return s.lower[l] }

// never reports whether no result series has label l.
func (s labelSet) never(l string) bool { return s.absent[l] || (s.bounded && !s.upper[l]) }

// drop removes label l from every series.
func (s *labelSet) drop(l string) {
	delete(s.upper, l)
	delete(s.lower, l)
	s.absent[l] = true
}

// unknown makes label l's presence unknown (it may be set or not).
func (s *labelSet) unknown(l string) {
	delete(s.lower, l)
	delete(s.absent, l)
	if s.bounded {
		s.upper[l] = true
	}
}

// inferLabels is the label set of e's result; scope are labels added to
// every selector with a non-empty value (a trigger's deployment labels).
func inferLabels(e parser.Expr, scope []string) labelSet {
	switch n := e.(type) {
	case *parser.VectorSelector:
		s := newLabelSet()
		for _, m := range n.LabelMatchers {
			if m == nil || m.Name == labels.MetricName {
				continue
			}
			switch {
			case !m.Matches(""):
				s.lower[m.Name] = true
			case !m.Matches("x") && !m.Matches("0") && (m.Type == labels.MatchEqual || m.Type == labels.MatchNotRegexp):
				s.absent[m.Name] = true
			}
		}
		for _, l := range scope {
			s.lower[l] = true
			delete(s.absent, l) // the selector then matches nothing; promql/series says so
		}
		return s
	case *parser.MatrixSelector:
		return inferLabels(n.VectorSelector, scope)
	case *parser.SubqueryExpr:
		return inferLabels(n.Expr, scope)
	case *parser.ParenExpr:
		return inferLabels(n.Expr, scope)
	case *parser.StepInvariantExpr:
		return inferLabels(n.Expr, scope)
	case *parser.UnaryExpr:
		return inferLabels(n.Expr, scope)
	case *parser.NumberLiteral, *parser.StringLiteral:
		return noLabels()
	case *parser.Call:
		return inferCall(n, scope)
	case *parser.AggregateExpr:
		return inferAggregate(n, scope)
	case *parser.BinaryExpr:
		return inferBinary(n, scope)
	}
	s := newLabelSet() // unknown node: nothing known
	return s
}

func inferCall(n *parser.Call, scope []string) labelSet {
	if n.Func == nil {
		return newLabelSet()
	}
	switch n.Func.Name {
	case "vector":
		return noLabels()
	case "absent", "absent_over_time":
		// absent() returns the labels of its selector's equality matchers.
		s := noLabels()
		for _, vs := range selectors(n) {
			for _, m := range vs.LabelMatchers {
				if m != nil && m.Name != labels.MetricName && m.Type == labels.MatchEqual && m.Value != "" {
					s.upper[m.Name], s.lower[m.Name] = true, true
				}
			}
		}
		return s
	case "histogram_quantile", "histogram_fraction":
		if len(n.Args) == 0 {
			return newLabelSet()
		}
		s := inferLabels(n.Args[len(n.Args)-1], scope).clone()
		s.drop("le")
		return s
	case "label_replace", "label_join":
		if len(n.Args) < 2 {
			return newLabelSet()
		}
		s := inferLabels(n.Args[0], scope).clone()
		if dst, ok := unwrap(n.Args[1]).(*parser.StringLiteral); ok {
			s.unknown(dst.Val)
		} else {
			return newLabelSet()
		}
		return s
	}
	if n.Func.ReturnType == parser.ValueTypeScalar {
		return noLabels()
	}
	for _, a := range n.Args {
		if t := a.Type(); t == parser.ValueTypeVector || t == parser.ValueTypeMatrix {
			return inferLabels(a, scope)
		}
	}
	return noLabels()
}

func inferAggregate(n *parser.AggregateExpr, scope []string) labelSet {
	inner := inferLabels(n.Expr, scope)
	switch n.Op {
	case parser.TOPK, parser.BOTTOMK, parser.LIMITK, parser.LIMIT_RATIO:
		return inner
	}
	var s labelSet
	switch {
	case n.Without:
		s = inner.clone()
		for _, g := range n.Grouping {
			s.drop(g)
		}
	default: // by (possibly empty)
		s = noLabels()
		for _, g := range n.Grouping {
			if inner.never(g) {
				s.absent[g] = true
				continue
			}
			s.upper[g] = true
			if inner.has(g) {
				s.lower[g] = true
			}
		}
	}
	if n.Op == parser.COUNT_VALUES {
		if l, ok := unwrap(n.Param).(*parser.StringLiteral); ok {
			s.unknown(l.Val)
			s.lower[l.Val] = true
		}
	}
	return s
}

func inferBinary(n *parser.BinaryExpr, scope []string) labelSet {
	lt, rt := n.LHS.Type(), n.RHS.Type()
	switch {
	case lt == parser.ValueTypeScalar && rt == parser.ValueTypeScalar:
		return noLabels()
	case lt == parser.ValueTypeScalar:
		return inferLabels(n.RHS, scope)
	case rt == parser.ValueTypeScalar:
		return inferLabels(n.LHS, scope)
	}
	l, r := inferLabels(n.LHS, scope), inferLabels(n.RHS, scope)
	switch n.Op {
	case parser.LOR:
		s := newLabelSet()
		s.bounded = l.bounded && r.bounded
		if s.bounded {
			maps.Copy(s.upper, l.upper)
			maps.Copy(s.upper, r.upper)
		}
		for k := range l.lower {
			if r.lower[k] {
				s.lower[k] = true
			}
		}
		for k := range l.absent {
			if r.never(k) {
				s.absent[k] = true
			}
		}
		for k := range r.absent {
			if l.never(k) {
				s.absent[k] = true
			}
		}
		return s
	case parser.LAND, parser.LUNLESS:
		return l
	}
	vm := n.VectorMatching
	if vm == nil {
		return l.clone()
	}
	base, other := l, r
	if vm.Card == parser.CardOneToMany {
		base, other = r, l
	}
	s := base.clone()
	if vm.Card == parser.CardOneToOne {
		if vm.On {
			keep := map[string]bool{}
			for _, g := range vm.MatchingLabels {
				keep[g] = true
			}
			kept := noLabels()
			for g := range keep {
				switch {
				case s.never(g):
					kept.absent[g] = true
				default:
					kept.upper[g] = true
					if s.has(g) {
						kept.lower[g] = true
					}
				}
			}
			s = kept
		} else {
			for _, g := range vm.MatchingLabels {
				s.drop(g)
			}
		}
	}
	for _, g := range vm.Include {
		// group_x(g) copies g from the "one" side, or deletes it there is none.
		switch {
		case other.has(g):
			s.unknown(g)
			s.lower[g] = true
		case other.never(g):
			s.drop(g)
		default:
			s.unknown(g)
		}
	}
	return s
}
