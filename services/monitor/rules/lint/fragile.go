package lint

import (
	"fmt"

	"github.com/prometheus/prometheus/promql/parser"
)

// checkFragile is promql/fragile: queries whose result flaps or is wrong on
// partial data.
func checkFragile(t *target, root parser.Expr) []Finding {
	var out []Finding
	if t.kind == KindAlertRule {
		out = append(out, checkSampling(t, root)...)
	}
	if f := checkPartialData(t, root); f != nil {
		out = append(out, *f)
	}
	return out
}

// checkSampling: topk and bottomk may return different series at each
// evaluation, and each series is an alert, so alerts flap (triggers take the
// most breaching value of the series, so it does not matter there).
func checkSampling(t *target, root parser.Expr) []Finding {
	if top := inferLabels(root, t.scope); top.bounded && len(top.upper) == 0 {
		return nil // an outer aggregation leaves one series whatever topk picks
	}
	var out []Finding
	walk(root, func(n parser.Expr, _ []parser.Expr) bool {
		a, ok := n.(*parser.AggregateExpr)
		if !ok || (a.Op != parser.TOPK && a.Op != parser.BOTTOMK) {
			return true
		}
		rw := rewrite(t.expr, a, func(e parser.Expr) parser.Expr { return paren(e.(*parser.AggregateExpr).Expr) })
		out = append(out, t.finding(CheckFragile, SeverityWarning,
			fmt.Sprintf("%s uses %s, which may pick different series at each evaluation; each series is an alert, so alerts resolve and fire again as the selection changes",
				t.what(), a.Op),
			t.rewriteSuggestion(fmt.Sprintf("alert on every series past the threshold instead of the %s", a.Op), rw), rw))
		return true
	})
	return out
}

// checkPartialData: arithmetic between two aggregations acted on at the
// first evaluation. Right after a restart (of Prometheus, or of a target)
// one side may aggregate fewer series than the other, and a ratio of
// partial sums can cross any threshold for one evaluation.
func checkPartialData(t *target, root parser.Expr) *Finding {
	switch t.kind {
	case KindAlertRule:
		if t.alert.For > 0 {
			return nil
		}
		if o, _ := returns(root); o != filtered {
			return nil // alerts/comparison reports it
		}
	case KindTrigger:
		if t.trigger.Duration > 0 {
			return nil
		}
	}
	var bad *parser.BinaryExpr
	walk(root, func(n parser.Expr, _ []parser.Expr) bool {
		if bad != nil {
			return false
		}
		b, ok := n.(*parser.BinaryExpr)
		if !ok || !isArithmetic(b.Op) {
			return true
		}
		if isAggregate(b.LHS) && isAggregate(b.RHS) {
			bad = b
			return false
		}
		return true
	})
	if bad == nil {
		return nil
	}
	suggestion := "require the condition to hold for at least one scrape interval: for: 2m"
	if t.kind == KindTrigger {
		suggestion = "require the breach to last at least one scrape interval: duration: 60"
	}
	f := t.finding(CheckFragile, SeverityWarning,
		fmt.Sprintf("%s computes %s from two aggregations and acts on the first evaluation; on partial data (after a restart, one side with fewer series than the other) the result can cross the threshold for one evaluation",
			t.what(), quote(bad.String())),
		suggestion, "")
	return &f
}

func isArithmetic(op parser.ItemType) bool {
	switch op {
	case parser.ADD, parser.SUB, parser.MUL, parser.DIV, parser.MOD, parser.POW, parser.ATAN2:
		return true
	}
	return false
}

// isAggregate reports whether e is an aggregation (through parentheses and
// functions of one vector argument).
func isAggregate(e parser.Expr) bool {
	switch n := unwrap(e).(type) {
	case *parser.AggregateExpr:
		return n.Op != parser.TOPK && n.Op != parser.BOTTOMK
	case *parser.Call:
		if n.Func == nil || n.Func.Name == "histogram_quantile" {
			return false
		}
		for _, a := range n.Args {
			if a.Type() == parser.ValueTypeVector {
				return isAggregate(a)
			}
		}
	}
	return false
}
