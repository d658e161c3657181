package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// checkAggregate is promql/aggregate. pint's check enforces labels that a
// configuration says aggregations must keep or strip; Floe has no such
// configuration, but one label must always be kept (histogram_quantile needs
// `le`) and a label an inner aggregation removed cannot be kept.
func checkAggregate(t *target, root parser.Expr) []Finding {
	var out []Finding
	walk(root, func(n parser.Expr, _ []parser.Expr) bool {
		switch n := n.(type) {
		case *parser.Call:
			if f := checkQuantileLE(t, n); f != nil {
				out = append(out, *f)
			}
		case *parser.AggregateExpr:
			if f := checkDeadGrouping(t, n); f != nil {
				out = append(out, *f)
			}
		}
		return true
	})
	return out
}

// checkQuantileLE: histogram_quantile over classic buckets whose `le` label
// an aggregation removed returns nothing.
func checkQuantileLE(t *target, call *parser.Call) *Finding {
	if call.Func == nil || call.Func.Name != "histogram_quantile" || len(call.Args) != 2 {
		return nil
	}
	arg := call.Args[1]
	classic := false
	for _, vs := range selectors(arg) {
		classic = classic || strings.HasSuffix(vs.Name, "_bucket")
	}
	if !classic || !inferLabels(arg, t.scope).never("le") {
		return nil
	}
	agg := droppingAggregate(arg, "le", t.scope)
	rw := ""
	if agg != nil {
		rw = rewrite(t.expr, agg, func(e parser.Expr) parser.Expr {
			a := e.(*parser.AggregateExpr)
			if a.Without {
				a.Grouping = slices.DeleteFunc(a.Grouping, func(g string) bool { return g == "le" })
			} else {
				a.Grouping = append(a.Grouping, "le")
			}
			return a
		})
	}
	suggestion := "keep le in the aggregation, e.g. sum by (le) (rate(x_bucket[5m]))"
	if rw != "" {
		suggestion = t.rewriteSuggestion("keep le in the aggregation", rw)
	}
	f := t.finding(CheckAggregate, SeverityBug,
		fmt.Sprintf("%s: histogram_quantile needs the `le` label of the _bucket series, but %s removes it, so it returns nothing",
			t.what(), quote(arg.String())),
		suggestion, rw)
	return &f
}

// droppingAggregate is the outermost aggregation of e that removes label l
// (its input can have l, its output cannot).
func droppingAggregate(e parser.Expr, l string, scope []string) *parser.AggregateExpr {
	var found *parser.AggregateExpr
	walk(e, func(n parser.Expr, _ []parser.Expr) bool {
		if found != nil {
			return false
		}
		if a, ok := n.(*parser.AggregateExpr); ok && inferLabels(a, scope).never(l) && !inferLabels(a.Expr, scope).never(l) {
			found = a
			return false
		}
		return true
	})
	return found
}

// checkDeadGrouping: `by (l)` where no input series can have l groups nothing.
func checkDeadGrouping(t *target, a *parser.AggregateExpr) *Finding {
	if a.Without || len(a.Grouping) == 0 {
		return nil
	}
	inner := inferLabels(a.Expr, t.scope)
	var dead []string
	for _, g := range a.Grouping {
		if inner.never(g) {
			dead = append(dead, g)
		}
	}
	if len(dead) == 0 {
		return nil
	}
	rw := rewrite(t.expr, a, func(e parser.Expr) parser.Expr {
		n := e.(*parser.AggregateExpr)
		n.Grouping = slices.DeleteFunc(n.Grouping, func(g string) bool { return slices.Contains(dead, g) })
		return n
	})
	f := t.finding(CheckAggregate, SeverityWarning,
		fmt.Sprintf("%s groups by %s, which %s has already removed (an inner aggregation or matcher), so there is no such label to group by",
			t.what(), strings.Join(dead, ", "), quote(a.Expr.String())),
		t.rewriteSuggestion(fmt.Sprintf("keep %s in the inner aggregation if it matters, or drop it here", strings.Join(dead, ", ")), rw), rw)
	return &f
}
