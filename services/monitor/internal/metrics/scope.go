package metrics

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Scope returns expr with an equality matcher for every label of lbls added
// to each of its series selectors, so that a trigger's PromQL, written once,
// measures one deployment: `rate(x[1m])` scoped to environment=staging
// becomes `rate(x{environment="staging"}[1m])`. Matchers the expression
// already has are kept (all matchers of a selector must hold, so the result
// can only select fewer series). The result is the parsed expression printed
// back, so it is also normalised.
func Scope(expr string, lbls map[string]string) (string, error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return "", fmt.Errorf("invalid PromQL %q: %w", expr, err)
	}
	if len(lbls) == 0 {
		return node.String(), nil
	}
	names := make([]string, 0, len(lbls))
	for k := range lbls {
		names = append(names, k)
	}
	sort.Strings(names)
	extra := make([]*labels.Matcher, 0, len(names))
	for _, k := range names {
		m, err := labels.NewMatcher(labels.MatchEqual, k, lbls[k])
		if err != nil {
			return "", fmt.Errorf("label %s: %w", k, err)
		}
		extra = append(extra, m)
	}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, extra...)
		}
		return nil
	})
	return node.String(), nil
}

// Restrict returns expr with a matcher label=~"v1|v2|…" (the values quoted
// literally) added to each of its series selectors: an alert rule limited
// to environments or apps watches only their series. No values: expr as is.
func Restrict(expr, label string, values []string) (string, error) {
	if len(values) == 0 {
		return expr, nil
	}
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return "", fmt.Errorf("invalid PromQL %q: %w", expr, err)
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	m, err := labels.NewMatcher(labels.MatchRegexp, label, strings.Join(quoted, "|"))
	if err != nil {
		return "", fmt.Errorf("label %s: %w", label, err)
	}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, m)
		}
		return nil
	})
	return node.String(), nil
}
