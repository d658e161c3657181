package lint

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/penguinmails/floe/services/monitor/internal/metrics"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// Series is a metric source as promql/series needs it.
type Series interface {
	// Series is how many series the instant vector selector (PromQL, e.g.
	// `http_requests_total{code=~"5.."}`) matches now.
	Series(ctx context.Context, selector string) (int, error)
}

// SourceSeries counts series through a metric source's PromQL: the value of
// count(selector) at Now (time.Now when nil).
type SourceSeries struct {
	Source metrics.Source
	Now    func() time.Time
}

// Series implements Series.
func (s SourceSeries) Series(ctx context.Context, selector string) (int, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	samples, err := s.Source.Query(ctx, "count("+selector+")", now())
	if err != nil {
		return 0, err
	}
	if len(samples) == 0 {
		return 0, nil
	}
	return int(samples[0].Value), nil
}

// LintSeries is promql/series: every selector of every rule of s is looked
// up in src, and one that matches no series is a finding — a bug when its
// metric has no series at all (a misspelt name, a target not scraped), a
// warning when the metric has series but the matchers filter them all out
// (a misspelt label or value, or a value that appears only later, like the
// first 5xx). As in pint, selectors whose absence is expected are skipped:
// the argument of absent(), the left of `... or vector(0)`, the right of
// `unless`. A trigger's selectors are looked up as written, without the
// deployment's scope matchers, and without offset or @ modifiers (the
// series are looked up now). It stops at src's first error.
func LintSeries(ctx context.Context, s rules.Set, src Series) ([]Finding, error) {
	counts := map[string]int{}
	count := func(sel string) (int, error) {
		if n, ok := counts[sel]; ok {
			return n, nil
		}
		n, err := src.Series(ctx, sel)
		if err != nil {
			return 0, fmt.Errorf("promql/series: count %s: %w", sel, err)
		}
		counts[sel] = n
		return n, nil
	}
	var out []Finding
	for _, t := range targets(s) {
		root, err := parse(t.expr)
		if err != nil {
			continue // Lint reports it
		}
		done := map[string]bool{}
		for _, vs := range expectedSelectors(root) {
			// Now, whatever offset or @ the expression reads it at.
			vs = &parser.VectorSelector{Name: vs.Name, LabelMatchers: vs.LabelMatchers}
			sel := vs.String()
			if done[sel] {
				continue
			}
			done[sel] = true
			n, err := count(sel)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				continue
			}
			f, err := explainNoSeries(t, vs, count)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// expectedSelectors are the selectors of e that are expected to match series.
func expectedSelectors(e parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	walk(e, func(n parser.Expr, _ []parser.Expr) bool {
		switch n := n.(type) {
		case *parser.VectorSelector:
			out = append(out, n)
		case *parser.Call:
			if n.Func != nil && (n.Func.Name == "absent" || n.Func.Name == "absent_over_time") {
				return false
			}
		case *parser.BinaryExpr:
			switch {
			case n.Op == parser.LUNLESS:
				out = append(out, expectedSelectors(n.LHS)...)
				return false
			case n.Op == parser.LOR:
				if o, _ := returns(n.RHS); o == constant {
					return false
				}
			}
		}
		return true
	})
	return out
}

// explainNoSeries narrows down why vs matches nothing, as pint does: is the
// metric there at all, and which matcher filters everything out?
func explainNoSeries(t *target, vs *parser.VectorSelector, count func(string) (int, error)) (Finding, error) {
	sel := vs.String()
	scoped := ""
	if t.kind == KindTrigger {
		scoped = " (as written, before the deployment's scope matchers are added)"
	}
	if vs.Name == "" {
		return t.finding(CheckSeries, SeverityWarning,
			fmt.Sprintf("%s: %s matches no series in the metric source%s", t.what(), quote(sel), scoped),
			"check the matchers against the series the source has", ""), nil
	}
	n, err := count(vs.Name)
	if err != nil {
		return Finding{}, err
	}
	if n == 0 {
		return t.finding(CheckSeries, SeverityBug,
			fmt.Sprintf("%s: metric %s has no series in the metric source, so %s matches nothing%s", t.what(), quote(vs.Name), quote(sel), scoped),
			fmt.Sprintf("check the metric name and that the source scrapes the target that exports %s", vs.Name), ""), nil
	}
	for _, m := range vs.LabelMatchers {
		if m == nil || m.Name == labels.MetricName {
			continue
		}
		one := (&parser.VectorSelector{Name: vs.Name, LabelMatchers: []*labels.Matcher{m}}).String()
		k, err := count(one)
		if err != nil {
			return Finding{}, err
		}
		if k > 0 {
			continue
		}
		if !m.Matches("") {
			set := (&parser.VectorSelector{Name: vs.Name, LabelMatchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchNotEqual, m.Name, "")}}).String()
			k, err := count(set)
			if err != nil {
				return Finding{}, err
			}
			if k == 0 {
				return t.finding(CheckSeries, SeverityBug,
					fmt.Sprintf("%s: none of the %d series of %s has a %s label, so %s matches nothing%s", t.what(), n, quote(vs.Name), quote(m.Name), quote(sel), scoped),
					fmt.Sprintf("check the label name: %s matches no series while %s has %d", quote(set), quote(vs.Name), n), ""), nil
			}
		}
		return t.finding(CheckSeries, SeverityWarning,
			fmt.Sprintf("%s: %s matches no series now: %s has %d series, none with %s%s", t.what(), quote(sel), quote(vs.Name), n, quote(m.String()), scoped),
			fmt.Sprintf("check the value of %s; if it only appears later (such as the first 5xx response), this is expected", m.Name), ""), nil
	}
	return t.finding(CheckSeries, SeverityWarning,
		fmt.Sprintf("%s: %s matches no series now: each of its matchers matches some series of %s, but no series matches them all%s", t.what(), quote(sel), quote(vs.Name), scoped),
		"check the combination of matchers against the series the source has", ""), nil
}
