// Package lint finds rules that parse but cannot work: alert rules that
// always fire or never can, rollback triggers whose breach timer never
// resets, ratios that divide a series by itself, rates of gauges. It is the
// `floe rules check` linter, modelled on the offline checks of Cloudflare's
// pint (https://cloudflare.github.io/pint/checks/) and adapted to the
// monitor's model: an alert rule's condition is evaluated as written and
// every series it returns is an alert; a trigger's metric gets the
// deployment's scope matchers (environment, version) added to every selector
// and is compared with the trigger's operator and threshold, and its no-data
// policy decides what an empty result means.
//
// The checks (docs/rules-lint.md has an example and its fix for each):
//
//   - promql/syntax (bug): the expression does not parse.
//   - alerts/comparison (alert rules): a condition with no comparison fires
//     whenever it returns anything (warning); one that always returns a
//     result — a `bool` comparison, vector(), a number — always fires (bug).
//     (triggers): a metric filtered by a comparison returns no data when
//     healthy, which never resets a breach and looks like no data to the
//     no-data policy (bug); a 0/1 metric whose operator and threshold hold
//     for both values or for neither (bug); a metric that reads no series (bug).
//   - alerts/for (triggers): a rollback trigger with duration 0 rolls back on
//     a single breaching sample (warning).
//   - promql/aggregate: histogram_quantile over classic `_bucket` series
//     whose aggregation drops `le` returns nothing (bug); grouping by a label
//     an inner aggregation already removed (warning).
//   - promql/fragile: topk/bottomk in an alert condition (warning); arithmetic
//     between two aggregations evaluated without `for` or `duration`, which
//     fires on partial data (warning).
//   - promql/rate: a range shorter than two default evaluation intervals
//     (MinRateRange, warning); rate, irate or increase of a name that is not a
//     counter's, and delta, idelta or deriv of one that is (warning); rate of
//     an aggregation through a subquery (bug).
//   - promql/regexp: a regexp matcher on a plain string, redundant anchors,
//     `=~".*"`, `=~".+"`, `!~".+"` (warning); `!~".*"`, which matches nothing
//     (bug); smelly selectors that pick substrings out of one label (warning).
//   - promql/vector_matching: a ratio or difference of a selector and the same
//     selector with more matchers, without aggregation — each series matches
//     itself, so the ratio is always 1 (bug, the release guide's condition);
//     a binary operation whose sides can never have the same labels, so it
//     returns nothing (bug).
//   - promql/series (LintSeries, with a metric source): a selector that
//     matches no series (bug when the metric has no series at all, warning
//     when its matchers filter every series out).
//
// Coherence checks the triggers against how the deployer's plans and the
// monitor's bake watch deployments (Watch; `floe rules check
// --deployer-config`):
//
//   - coherence/duration (warning): a rollback trigger whose duration is
//     longer than a deployment runs plus its bake: it never rolls back there.
//   - coherence/analysis (warning): a plan with analysis steps that no
//     enabled trigger judges (every verdict inconclusive); the only trigger
//     judging them with a duration longer than a window.
//   - coherence/scope: a trigger's PromQL with an environment or version
//     matcher of its own, which the deployment's scope matchers contradict
//     (bug) or make redundant (warning).
//
// Lint is deterministic and never panics on any expression; findings come in
// rule order (alert rules, then triggers), then by check.
package lint

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// Kinds of rule a finding is about; KindPlan is a deployment plan (a Watch)
// that no rule serves (coherence/analysis).
const (
	KindAlertRule = "alert_rule"
	KindTrigger   = "trigger"
	KindPlan      = "plan"
)

// Severities: a warning is probably a mistake; a bug certainly is (the rule
// cannot work as written).
const (
	SeverityWarning = "warning"
	SeverityBug     = "bug"
)

// Check names, pint's where Floe adopted the check.
const (
	CheckSyntax         = "promql/syntax"
	CheckComparison     = "alerts/comparison"
	CheckFor            = "alerts/for"
	CheckAggregate      = "promql/aggregate"
	CheckFragile        = "promql/fragile"
	CheckRate           = "promql/rate"
	CheckRegexp         = "promql/regexp"
	CheckVectorMatching = "promql/vector_matching"
	CheckSeries         = "promql/series"

	// Coherence's checks: the triggers against the deployer's plans and the
	// monitor's bake (Floe's own).
	CheckCoherenceDuration = "coherence/duration"
	CheckCoherenceAnalysis = "coherence/analysis"
	CheckCoherenceScope    = "coherence/scope"
)

// Checks are the names of every check, Lint's, then LintSeries's, then Coherence's.
func Checks() []string {
	return []string{CheckSyntax, CheckComparison, CheckFor, CheckAggregate, CheckFragile, CheckRate, CheckRegexp,
		CheckVectorMatching, CheckSeries, CheckCoherenceDuration, CheckCoherenceAnalysis, CheckCoherenceScope}
}

// MinRateRange is the shortest range promql/rate accepts: two evaluation (and
// scrape) intervals of the monitor's default configuration (15 s), so that a
// range always holds the two samples a rate needs.
const MinRateRange = 30 * time.Second

// Finding is one problem with one rule.
type Finding struct {
	// Rule is the alert rule's or trigger's name.
	Rule string `json:"rule"`
	// Kind is KindAlertRule or KindTrigger (KindPlan for a coherence/analysis
	// finding about a plan; Rule is then "environment/strategy", prefixed
	// with "app@" for one app's plan).
	Kind string `json:"kind"`
	// Check is the check's name, e.g. "promql/rate".
	Check string `json:"check"`
	// Severity is SeverityWarning or SeverityBug.
	Severity string `json:"severity"`
	// Problem says what is wrong and what it does at evaluation.
	Problem string `json:"problem"`
	// Suggestion is the fix, with the rewritten field (an expression, or a
	// trigger's operator and threshold) where there is one.
	Suggestion string `json:"suggestion"`
	// Rewrite is the rewritten PromQL alone (the alert rule's condition or the
	// trigger's metric — the named metric's expression for a named metric)
	// when the fix is an expression; empty otherwise.
	Rewrite string `json:"rewrite,omitempty"`
}

// String is the finding on one line: kind, rule, check, severity, problem and suggestion.
func (f Finding) String() string {
	return fmt.Sprintf("%s %s: %s (%s): %s; %s", strings.ReplaceAll(f.Kind, "_", " "), f.Rule, f.Check, f.Severity, f.Problem, f.Suggestion)
}

// target is one rule as the checks see it.
type target struct {
	kind, name string
	// expr is the PromQL: the condition, or the trigger's resolved metric.
	expr string
	// named is the trigger's named metric, when its metric is one.
	named   string
	alert   domain.AlertRule
	trigger domain.Trigger
	// scope are the labels the evaluator adds to every selector (triggers).
	scope []string
}

// field names the rewritten field in suggestions: "condition", "metric" or
// "metrics.<name>".
func (t *target) field() string {
	switch {
	case t.kind == KindAlertRule:
		return "condition"
	case t.named != "":
		return "metrics." + t.named
	}
	return "metric"
}

// what describes the expression in problems: "the condition", "the metric"
// or "named metric error_rate".
func (t *target) what() string {
	switch {
	case t.kind == KindAlertRule:
		return "the condition"
	case t.named != "":
		return "named metric " + t.named
	}
	return "the metric"
}

// finding starts a finding about t.
func (t *target) finding(check, severity, problem, suggestion, rewrite string) Finding {
	return Finding{Rule: t.name, Kind: t.kind, Check: check, Severity: severity, Problem: problem, Suggestion: suggestion, Rewrite: rewrite}
}

// rewriteSuggestion is the usual suggestion: why, then the field rewritten.
func (t *target) rewriteSuggestion(why, rewrite string) string {
	return fmt.Sprintf("%s: %s: %s", why, t.field(), rewrite)
}

// scopeLabels are the label names a trigger's selectors are scoped by.
func scopeLabels() []string {
	return slices.Sorted(maps.Keys(domain.Deployment{}.Labels()))
}

// targets lists the rules of s in order: alert rules, then triggers.
func targets(s rules.Set) []*target {
	out := make([]*target, 0, len(s.AlertRules)+len(s.Triggers))
	for _, r := range s.AlertRules {
		out = append(out, &target{kind: KindAlertRule, name: r.Name, expr: r.Condition, alert: r})
	}
	scope := scopeLabels()
	for _, tr := range s.Triggers {
		t := &target{kind: KindTrigger, name: tr.Name, expr: s.Resolve(tr.Metric), trigger: tr, scope: scope}
		if _, ok := s.Metrics[tr.Metric]; ok {
			t.named = tr.Metric
		}
		out = append(out, t)
	}
	return out
}

// parse parses PromQL the way the monitor does (metrics.Validate).
func parse(expr string) (parser.Expr, error) {
	return parser.NewParser(parser.Options{}).ParseExpr(expr)
}

// offlineChecks run in this order for every rule that parses.
var offlineChecks = []func(*target, parser.Expr) []Finding{
	checkComparison,
	checkFor,
	checkAggregate,
	checkFragile,
	checkRate,
	checkRegexp,
	checkVectorMatching,
}

// Lint runs the offline checks over every alert rule and trigger of s
// (disabled ones too: they are meant to be enabled). A trigger's metric is
// linted as its named metric's PromQL when it names one. The findings are in
// rule order, then check order, without duplicates.
func Lint(s rules.Set) []Finding {
	var out []Finding
	for _, t := range targets(s) {
		out = append(out, lintTarget(t)...)
	}
	return out
}

func lintTarget(t *target) []Finding {
	node, err := parse(t.expr)
	if err != nil {
		return []Finding{t.finding(CheckSyntax, SeverityBug,
			fmt.Sprintf("%s is not PromQL: %v", t.what(), err),
			"fix the expression so that it parses (floe rules check reports where)", "")}
	}
	var out []Finding
	seen := map[string]bool{}
	for _, check := range offlineChecks {
		for _, f := range check(t, node) {
			key := f.Check + "\x00" + f.Problem
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, f)
		}
	}
	return out
}

// ---- AST helpers ----

// unwrap removes parentheses and step-invariant wrappers.
func unwrap(e parser.Expr) parser.Expr {
	for {
		switch n := e.(type) {
		case *parser.ParenExpr:
			e = n.Expr
		case *parser.StepInvariantExpr:
			e = n.Expr
		default:
			return e
		}
	}
}

// children are an expression's operands, in order.
func children(e parser.Expr) []parser.Expr {
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if n.Param != nil {
			return []parser.Expr{n.Param, n.Expr}
		}
		return []parser.Expr{n.Expr}
	case *parser.BinaryExpr:
		return []parser.Expr{n.LHS, n.RHS}
	case *parser.Call:
		return n.Args
	case *parser.MatrixSelector:
		return []parser.Expr{n.VectorSelector}
	case *parser.SubqueryExpr:
		return []parser.Expr{n.Expr}
	case *parser.ParenExpr:
		return []parser.Expr{n.Expr}
	case *parser.UnaryExpr:
		return []parser.Expr{n.Expr}
	case *parser.StepInvariantExpr:
		return []parser.Expr{n.Expr}
	}
	return nil
}

// walk calls f for every node of e, parents before children, with the path
// of ancestors (outermost first). f returns false to skip a node's children.
func walk(e parser.Expr, f func(n parser.Expr, path []parser.Expr) bool) {
	var rec func(n parser.Expr, path []parser.Expr)
	rec = func(n parser.Expr, path []parser.Expr) {
		if n == nil || !f(n, path) {
			return
		}
		path = append(path, n)
		for _, c := range children(n) {
			rec(c, path)
		}
	}
	rec(e, nil)
}

// selectors are the vector selectors of e, in order.
func selectors(e parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	walk(e, func(n parser.Expr, _ []parser.Expr) bool {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return true
	})
	return out
}

// sameNode reports whether a and b are the same node of two parses of one text.
func sameNode(a, b parser.Expr) bool {
	return fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b) && a.PositionRange() == b.PositionRange()
}

// rewrite re-parses src (from which target was parsed), replaces the node
// at target's position with what f makes of it (f may change it in place and
// return it), and prints the result. It returns "" when it cannot.
func rewrite(src string, target parser.Expr, f func(parser.Expr) parser.Expr) string {
	root, err := parse(src)
	if err != nil {
		return ""
	}
	if !replace(&root, target, f) {
		return ""
	}
	out := root.String()
	if _, err := parse(out); err != nil {
		return ""
	}
	return out
}

func replace(e *parser.Expr, target parser.Expr, f func(parser.Expr) parser.Expr) bool {
	if *e == nil {
		return false
	}
	if sameNode(*e, target) {
		*e = f(*e)
		return *e != nil
	}
	switch n := (*e).(type) {
	case *parser.AggregateExpr:
		return replace(&n.Expr, target, f) || replace(&n.Param, target, f)
	case *parser.BinaryExpr:
		return replace(&n.LHS, target, f) || replace(&n.RHS, target, f)
	case *parser.Call:
		for i := range n.Args {
			if replace(&n.Args[i], target, f) {
				return true
			}
		}
	case *parser.MatrixSelector:
		return replace(&n.VectorSelector, target, f)
	case *parser.SubqueryExpr:
		return replace(&n.Expr, target, f)
	case *parser.ParenExpr:
		return replace(&n.Expr, target, f)
	case *parser.UnaryExpr:
		return replace(&n.Expr, target, f)
	case *parser.StepInvariantExpr:
		return replace(&n.Expr, target, f)
	}
	return false
}

// paren wraps a binary expression in parentheses, so it can be an operand.
func paren(e parser.Expr) parser.Expr {
	if _, ok := e.(*parser.BinaryExpr); ok {
		return &parser.ParenExpr{Expr: e}
	}
	return e
}

// quote is a name or expression in backquotes, for problems.
func quote(s string) string { return "`" + s + "`" }
