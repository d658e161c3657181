package lint

import (
	"fmt"
	"strconv"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// outcome is when an expression returns a result, from weakest (a result
// only when a condition holds) to strongest (always a result).
type outcome int

const (
	// filtered: a comparison (or absent()) returns series only when it holds.
	filtered outcome = iota
	// unconditional: returns every series its selectors match, whatever their values.
	unconditional
	// boolean: a `bool` comparison, 0 or 1 for every series.
	boolean
	// constant: a result whatever the data (a number, vector(), time()).
	constant
)

// returns is when e returns a result, and the node responsible when it is
// not filtered (the weakest branch of an `or`).
func returns(e parser.Expr) (outcome, parser.Expr) {
	switch n := e.(type) {
	case *parser.ParenExpr:
		return returns(n.Expr)
	case *parser.StepInvariantExpr:
		return returns(n.Expr)
	case *parser.UnaryExpr:
		return returns(n.Expr)
	case *parser.SubqueryExpr:
		return returns(n.Expr)
	case *parser.MatrixSelector, *parser.VectorSelector:
		return unconditional, e
	case *parser.NumberLiteral, *parser.StringLiteral:
		return constant, e
	case *parser.AggregateExpr:
		// An aggregation of nothing is nothing.
		return returns(n.Expr)
	case *parser.Call:
		if n.Func == nil {
			return unconditional, e
		}
		switch n.Func.Name {
		case "absent", "absent_over_time":
			return filtered, nil
		case "vector", "time", "pi":
			return constant, e
		}
		for _, a := range n.Args {
			if t := a.Type(); t == parser.ValueTypeVector || t == parser.ValueTypeMatrix {
				return returns(a)
			}
		}
		return constant, e
	case *parser.BinaryExpr:
		lt, rt := n.LHS.Type(), n.RHS.Type()
		if n.Op.IsComparisonOperator() {
			switch {
			case n.ReturnBool:
				if lt == parser.ValueTypeScalar && rt == parser.ValueTypeScalar {
					return constant, e
				}
				return boolean, e
			case lt == parser.ValueTypeScalar && rt == parser.ValueTypeScalar:
				return constant, e
			}
			return filtered, nil
		}
		switch n.Op {
		case parser.LUNLESS:
			// pint skips `a unless b`: b says when not to return a.
			return filtered, nil
		case parser.LOR:
			lo, ln := returns(n.LHS)
			ro, rn := returns(n.RHS)
			if ro > lo {
				return ro, rn
			}
			return lo, ln
		}
		// and, arithmetic: both sides must return a series for a result.
		switch {
		case lt == parser.ValueTypeScalar:
			return returns(n.RHS)
		case rt == parser.ValueTypeScalar:
			return returns(n.LHS)
		}
		lo, ln := returns(n.LHS)
		ro, rn := returns(n.RHS)
		if ro < lo {
			return ro, rn
		}
		return lo, ln
	}
	return unconditional, e
}

// checkComparison is alerts/comparison.
func checkComparison(t *target, root parser.Expr) []Finding {
	if t.kind == KindTrigger {
		return checkTriggerComparison(t, root)
	}
	o, culprit := returns(root)
	switch o {
	case unconditional:
		rw := rewrite(t.expr, root, func(e parser.Expr) parser.Expr {
			return &parser.BinaryExpr{Op: parser.GTR, LHS: paren(e), RHS: &parser.NumberLiteral{Val: 0}}
		})
		return []Finding{t.finding(CheckComparison, SeverityWarning,
			fmt.Sprintf("%s has no comparison, so every series it returns is a firing alert, even with a value of 0", t.what()),
			t.rewriteSuggestion("compare it with the value that should alert", rw), rw)}
	case boolean:
		rw := rewrite(t.expr, culprit, func(e parser.Expr) parser.Expr {
			e.(*parser.BinaryExpr).ReturnBool = false
			return e
		})
		return []Finding{t.finding(CheckComparison, SeverityBug,
			fmt.Sprintf("%s uses the bool modifier (%s): it returns 0 or 1 for every series instead of filtering, so the alert always fires",
				t.what(), quote(culprit.String())),
			t.rewriteSuggestion("drop bool so that only the series that satisfy the comparison are returned", rw), rw)}
	case constant:
		return []Finding{t.finding(CheckComparison, SeverityBug,
			fmt.Sprintf("%s always returns a result (%s does not depend on any series), so the alert always fires",
				t.what(), quote(culprit.String())),
			"compare a series with a threshold instead, e.g. condition: sum(rate(http_requests_total[5m])) > 100", "")}
	}
	return nil
}

// checkTriggerComparison is alerts/comparison for a trigger, whose
// comparison is its operator and threshold: a result must exist whether the
// deployment is healthy or not.
func checkTriggerComparison(t *target, root parser.Expr) []Finding {
	tr := t.trigger
	if len(selectors(root)) == 0 {
		return []Finding{t.finding(CheckComparison, SeverityBug,
			fmt.Sprintf("%s reads no series (%s is a constant), so the trigger either always or never fires", t.what(), quote(root.String())),
			"measure the deployment, e.g. metric: sum(rate(http_requests_total{code=~\"5..\"}[1m])) / sum(rate(http_requests_total[1m]))", "")}
	}
	o, culprit := returns(root)
	switch o {
	case filtered:
		return []Finding{triggerFiltered(t, root)}
	case boolean:
		zero, one := tr.Operator.Holds(0, tr.Threshold), tr.Operator.Holds(1, tr.Threshold)
		if zero != one {
			return nil
		}
		what := "never"
		if zero {
			what = "always"
		}
		return []Finding{t.finding(CheckComparison, SeverityBug,
			fmt.Sprintf("%s is a bool comparison (%s), 0 or 1, and %s %s holds for %s of them, so the trigger %s fires",
				t.what(), quote(culprit.String()), tr.Operator, formatNumber(tr.Threshold), map[bool]string{true: "both", false: "neither"}[zero], what),
			`compare the 0/1 result with 1: operator: "==", threshold: 1`, "")}
	}
	return nil
}

// triggerFiltered is the finding for a trigger metric that returns nothing
// while the deployment is healthy.
func triggerFiltered(t *target, root parser.Expr) Finding {
	effect := "a breach is never cleared (no data holds the breach timer), so separate breaches add up to the duration and fire"
	if policy := t.trigger.NoDataPolicy(); policy != domain.NoDataHold {
		effect = fmt.Sprintf("a healthy deployment looks like missing data, and no_data: %s fires %s after the duration", policy, policy)
	}
	problem := fmt.Sprintf("%s is filtered (by a comparison or absent()), so it returns nothing while the deployment is healthy instead of a value that does not breach: %s",
		t.what(), effect)
	top := unwrap(root)
	if call, ok := top.(*parser.Call); ok && call.Func != nil && (call.Func.Name == "absent" || call.Func.Name == "absent_over_time") && len(call.Args) == 1 {
		rw := unwrap(call.Args[0]).String()
		if call.Func.Name == "absent_over_time" {
			if ms, ok := unwrap(call.Args[0]).(*parser.MatrixSelector); ok {
				rw = ms.VectorSelector.String()
			}
		}
		return t.finding(CheckComparison, SeverityBug, problem,
			fmt.Sprintf("let the no-data policy judge a missing metric: %s: %s, no_data: rollback (or alert)", t.field(), rw), rw)
	}
	if b, ok := top.(*parser.BinaryExpr); ok && b.Op.IsComparisonOperator() && !b.ReturnBool {
		vec, num, op := b.LHS, unwrap(b.RHS), b.Op
		if unwrap(b.LHS).Type() == parser.ValueTypeScalar {
			vec, num, op = b.RHS, unwrap(b.LHS), flip(b.Op)
		}
		if lit, ok := num.(*parser.NumberLiteral); ok && (b.VectorMatching == nil || b.LHS.Type() == parser.ValueTypeScalar || b.RHS.Type() == parser.ValueTypeScalar) {
			rw := unwrap(vec).String()
			return t.finding(CheckComparison, SeverityBug, problem,
				fmt.Sprintf("move the comparison to the trigger: %s: %s, operator: %q, threshold: %s", t.field(), rw, op.String(), formatNumber(lit.Val)), rw)
		}
	}
	rw := rewrite(t.expr, root, func(e parser.Expr) parser.Expr {
		walk(e, func(n parser.Expr, _ []parser.Expr) bool {
			if b, ok := n.(*parser.BinaryExpr); ok && b.Op.IsComparisonOperator() && !(b.LHS.Type() == parser.ValueTypeScalar && b.RHS.Type() == parser.ValueTypeScalar) {
				b.ReturnBool = true
				return false
			}
			return true
		})
		return e
	})
	return t.finding(CheckComparison, SeverityBug, problem,
		fmt.Sprintf("make the comparison return 0 or 1 with bool and fire on 1: %s: %s, operator: \"==\", threshold: 1", t.field(), rw), rw)
}

// flip is the comparison with its operands swapped (1 < x is x > 1).
func flip(op parser.ItemType) parser.ItemType {
	switch op {
	case parser.LSS:
		return parser.GTR
	case parser.GTR:
		return parser.LSS
	case parser.LTE:
		return parser.GTE
	case parser.GTE:
		return parser.LTE
	}
	return op
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
