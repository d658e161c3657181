package lint

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// counterSuffixes are the name endings of counters and of the counter
// series of histograms and summaries (Prometheus naming conventions; the
// client libraries add _total to every counter).
var counterSuffixes = []string{"_total", "_count", "_sum", "_bucket"}

func isCounterName(name string) bool {
	for _, s := range counterSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// counterFuncs need a counter; gaugeFuncs are their counterparts for gauges.
var (
	counterFuncs = map[string]string{"rate": "deriv", "irate": "deriv", "increase": "delta"}
	gaugeFuncs   = map[string]string{"deriv": "rate", "delta": "increase", "idelta": "irate"}
)

// checkRate is promql/rate. pint asks the server for the scrape interval and
// the metric's type; offline, the range is compared with the default
// interval and the type is read from the naming conventions.
func checkRate(t *target, root parser.Expr) []Finding {
	var out []Finding
	walk(root, func(n parser.Expr, path []parser.Expr) bool {
		call, ok := n.(*parser.Call)
		if !ok || call.Func == nil || len(call.Args) == 0 {
			return true
		}
		name := call.Func.Name
		_, counterFunc := counterFuncs[name]
		_, gaugeFunc := gaugeFuncs[name]
		if !counterFunc && !gaugeFunc {
			return true
		}
		switch arg := unwrap(call.Args[0]).(type) {
		case *parser.MatrixSelector:
			if counterFunc {
				if f := checkRange(t, call, arg); f != nil {
					out = append(out, *f)
				}
			}
			if f := checkCounterType(t, call, arg, path); f != nil {
				out = append(out, *f)
			}
		case *parser.SubqueryExpr:
			if f := checkChainedRate(t, call, arg); f != nil {
				out = append(out, *f)
			}
		}
		return true
	})
	return out
}

// checkRange: a rate needs two samples in its range.
func checkRange(t *target, call *parser.Call, ms *parser.MatrixSelector) *Finding {
	if ms.RangeExpr != nil || ms.Range <= 0 || ms.Range >= MinRateRange {
		return nil
	}
	rw := rewrite(t.expr, ms, func(e parser.Expr) parser.Expr {
		e.(*parser.MatrixSelector).Range = time.Minute
		return e
	})
	f := t.finding(CheckRate, SeverityWarning,
		fmt.Sprintf("%s: %s() over [%s] needs two samples in the range, and the monitor scrapes and evaluates every 15 s by default: with fewer than two samples the rate returns nothing",
			t.what(), call.Func.Name, model.Duration(ms.Range)),
		t.rewriteSuggestion(fmt.Sprintf("use a range of at least %s (four intervals is the usual choice)", model.Duration(MinRateRange)), rw), rw)
	return &f
}

// checkCounterType: rate and friends on a gauge, delta and friends on a counter.
func checkCounterType(t *target, call *parser.Call, ms *parser.MatrixSelector, path []parser.Expr) *Finding {
	vs, ok := ms.VectorSelector.(*parser.VectorSelector)
	if !ok || vs.Name == "" {
		return nil
	}
	name := call.Func.Name
	var repl, problem string
	if alt, ok := counterFuncs[name]; ok {
		if isCounterName(vs.Name) || underHistogramFunc(path) {
			return nil // a counter, or a native histogram
		}
		repl = alt
		problem = fmt.Sprintf("%s: %s() is for counters, but %s is not named like one (counters end in _total, histogram and summary series in _count, _sum or _bucket): a gauge going down reads as a counter reset and inflates the %s",
			t.what(), name, quote(vs.Name), name)
	} else {
		alt := gaugeFuncs[name]
		if !isCounterName(vs.Name) {
			return nil
		}
		repl = alt
		problem = fmt.Sprintf("%s: %s() is for gauges, but %s is named like a counter: a counter reset (every restart) reads as a large drop",
			t.what(), name, quote(vs.Name))
	}
	rw := rewrite(t.expr, call, func(e parser.Expr) parser.Expr {
		c := e.(*parser.Call)
		c.Func = parser.Functions[repl]
		return c
	})
	f := t.finding(CheckRate, SeverityWarning, problem,
		t.rewriteSuggestion(fmt.Sprintf("use %s() (or rename the metric if it really is a %s)", repl, map[bool]string{true: "counter", false: "gauge"}[gaugeFuncs[repl] != ""]), rw), rw)
	return &f
}

// underHistogramFunc reports whether a histogram_* function is an ancestor
// (rate of a native histogram has no counter suffix).
func underHistogramFunc(path []parser.Expr) bool {
	for _, p := range path {
		if c, ok := p.(*parser.Call); ok && c.Func != nil && strings.HasPrefix(c.Func.Name, "histogram_") {
			return true
		}
	}
	return false
}

// checkChainedRate: rate(sum(x)[5m:]) — an aggregation hides the resets of
// the counters it adds up, so its rate is wrong at every reset.
func checkChainedRate(t *target, call *parser.Call, sq *parser.SubqueryExpr) *Finding {
	if _, ok := counterFuncs[call.Func.Name]; !ok {
		return nil
	}
	var agg *parser.AggregateExpr
	walk(sq.Expr, func(n parser.Expr, _ []parser.Expr) bool {
		if a, ok := n.(*parser.AggregateExpr); ok && agg == nil {
			agg = a
		}
		return agg == nil
	})
	if agg == nil {
		return nil
	}
	rw := ""
	if a, ok := unwrap(sq.Expr).(*parser.AggregateExpr); ok && sq.RangeExpr == nil && sq.Range > 0 {
		if vs, ok := unwrap(a.Expr).(*parser.VectorSelector); ok {
			rw = rewrite(t.expr, call, func(parser.Expr) parser.Expr {
				inner := &parser.Call{Func: call.Func, Args: parser.Expressions{&parser.MatrixSelector{VectorSelector: vs, Range: sq.Range}}}
				return &parser.AggregateExpr{Op: a.Op, Expr: inner, Param: a.Param, Grouping: a.Grouping, Without: a.Without}
			})
		}
	}
	suggestion := "take the rate of each counter first, then aggregate: sum(rate(x_total[5m])), never rate(sum(x_total)[5m:])"
	if rw != "" {
		suggestion = t.rewriteSuggestion("take the rate of each counter first, then aggregate", rw)
	}
	f := t.finding(CheckRate, SeverityBug,
		fmt.Sprintf("%s: %s() over a subquery of %s: the aggregation hides when each counter resets, so every restart reads as a huge drop or jump",
			t.what(), call.Func.Name, quote(agg.String())),
		suggestion, rw)
	return &f
}
