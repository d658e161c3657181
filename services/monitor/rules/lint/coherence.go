package lint

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// Watch is how long the monitor watches an environment's deployments (of one
// app, or "" any): the analysis windows of its plans, how long a deployment
// runs (the sum of its pauses and analysis windows), and its bake.
//
// Runs is a lower bound: starting instances and health checks take time too,
// and a pause without a duration (until resumed) counts as none.
type Watch struct {
	// Environment, App ("" for any) and Strategy (e.g. "canary", for
	// messages) say whose deployments these are.
	Environment, App, Strategy string
	// Analyses are the plan's analysis windows, in order.
	Analyses []time.Duration
	// Runs is how long a deployment runs; Bake how long the monitor goes on
	// watching it after it succeeds (the monitor config's bake, or its
	// bake_auto: AutoBake).
	Runs, Bake time.Duration
}

// name is the watch in messages: "the production canary deployments (app web)".
func (w Watch) name() string {
	s := "the " + w.Environment
	if w.Strategy != "" {
		s += " " + w.Strategy
	}
	s += " deployments"
	if w.App != "" {
		s += " (app " + w.App + ")"
	}
	return s
}

// rule is the watch as a finding's Rule: "production/canary".
func (w Watch) rule() string {
	s := w.Environment
	if w.Strategy != "" {
		s += "/" + w.Strategy
	}
	if w.App != "" {
		s = w.App + "@" + s
	}
	return s
}

// covers reports whether t judges the watch's deployments: its scope covers
// the environment and, for a watch of any app, it is not limited to apps
// (or it is: some app's deployments are judged by it).
func (w Watch) covers(t domain.Trigger) bool {
	if w.App == "" {
		return len(t.Environments) == 0 || slices.Contains(t.Environments, w.Environment)
	}
	return t.Covers(w.Environment, w.App)
}

// AutoBake is the bake the monitor gives env's deployments of app ("" any)
// when its config lists env in bake_auto and does not name it in bake: the
// longest enabled rollback trigger of s that covers them plus one interval,
// so that every rollback trigger can fire within it; 0 without such a
// trigger. It is the monitor's own rule (app.Config.BakeFor) over the
// triggers a deployment would have in force.
func AutoBake(s rules.Set, env, app string, interval time.Duration) time.Duration {
	w := Watch{Environment: env, App: app}
	var longest time.Duration
	for _, t := range s.Triggers {
		if t.Enabled && t.Action == domain.ActionRollback && w.covers(t) {
			longest = max(longest, t.Duration)
		}
	}
	if longest == 0 {
		return 0
	}
	return longest + interval
}

// Coherence checks the triggers of s against how the monitor watches
// deployments (watches, built from the deployer's plans and the monitor's
// bake): a rollback trigger whose duration cannot elapse while a
// deployment is watched (coherence/duration), an analysis step that no
// trigger can judge (coherence/analysis), a trigger whose PromQL has
// environment or version matchers of its own, which fight the deployment's
// scope (coherence/scope; it needs no watch). Findings come in trigger
// order (by check, then watch), then the findings about watches themselves
// (kind KindPlan), without duplicates.
func Coherence(s rules.Set, watches []Watch) []Finding {
	var out []Finding
	seen := map[string]bool{}
	add := func(fs ...Finding) {
		for _, f := range fs {
			key := f.Kind + "\x00" + f.Rule + "\x00" + f.Check + "\x00" + f.Problem
			if !seen[key] {
				seen[key] = true
				out = append(out, f)
			}
		}
	}
	for _, t := range targets(s) {
		if t.kind != KindTrigger {
			continue
		}
		for _, w := range watches {
			add(checkCoherenceDuration(t, w)...)
		}
		for _, w := range watches {
			add(checkAnalysisWindows(t, s, w)...)
		}
		add(checkCoherenceScope(t, watches)...)
	}
	for _, w := range watches {
		add(checkAnalysisJudged(s, w)...)
	}
	return out
}

// checkCoherenceDuration is coherence/duration: the monitor watches a
// deployment while it runs and during its bake, so a rollback trigger whose
// breach must last longer than that never rolls a deployment back.
func checkCoherenceDuration(t *target, w Watch) []Finding {
	tr := t.trigger.In(w.Environment)
	if !tr.Enabled || tr.Action != domain.ActionRollback || !w.covers(tr) {
		return nil
	}
	watched := w.Runs + w.Bake
	if tr.Duration <= watched {
		return nil
	}
	bake := roundUp(tr.Duration-w.Runs, time.Minute)
	suggestion := fmt.Sprintf("bake %s for at least %s (monitor config: bake: {%s: %s}, or %s in bake_auto, which bakes for the longest rollback trigger plus one interval)",
		w.Environment, short(bake), w.Environment, short(bake), w.Environment)
	if secs := int64(watched / time.Second); secs > 0 {
		suggestion += fmt.Sprintf(", or shorten the breach it needs: duration: %d", secs)
	}
	return []Finding{t.finding(CheckCoherenceDuration, SeverityWarning,
		fmt.Sprintf("duration %s is longer than the monitor watches %s: they run %s (pauses and analysis windows) and bake %s, so the breach never lasts long enough to roll one back there",
			short(tr.Duration), w.name(), short(w.Runs), short(w.Bake)),
		suggestion, "")}
}

// checkAnalysisWindows is the second half of coherence/analysis: the only
// trigger judging a plan's analyses, with a duration longer than a window,
// can never fail one by a sustained breach; only the fraction of breaching
// samples judges.
func checkAnalysisWindows(t *target, s rules.Set, w Watch) []Finding {
	if !t.trigger.Enabled || !w.covers(t.trigger) || len(judges(s, w)) != 1 {
		return nil
	}
	var shorter []string
	var shortest time.Duration
	for _, a := range w.Analyses {
		if a > 0 && t.trigger.Duration > a {
			shorter = append(shorter, short(a))
			if shortest == 0 || a < shortest {
				shortest = a
			}
		}
	}
	if len(shorter) == 0 {
		return nil
	}
	return []Finding{t.finding(CheckCoherenceAnalysis, SeverityWarning,
		fmt.Sprintf("duration %s is longer than the analysis windows of %s (%s) and it is the only trigger that judges them: its breach cannot be sustained within a window, so only the fraction of breaching samples (max_breach_fraction) can fail an analysis",
			short(t.trigger.Duration), w.name(), strings.Join(shorter, ", ")),
		fmt.Sprintf("add a trigger covering %s whose duration fits the windows (any action: an alert trigger judges analyses too), or shorten this one: duration: %d",
			w.Environment, int64(shortest/time.Second)), "")}
}

// checkAnalysisJudged is the first half of coherence/analysis: a plan with
// analysis steps and no enabled trigger to judge them.
func checkAnalysisJudged(s rules.Set, w Watch) []Finding {
	var windows []string
	for _, a := range w.Analyses {
		if a > 0 {
			windows = append(windows, short(a))
		}
	}
	if len(windows) == 0 || len(judges(s, w)) > 0 {
		return nil
	}
	return []Finding{{
		Rule: w.rule(), Kind: KindPlan, Check: CheckCoherenceAnalysis, Severity: SeverityWarning,
		Problem: fmt.Sprintf("%s have analysis steps (%s) and no enabled trigger judges them: every verdict is inconclusive, and the deployer decides by its health checks alone",
			w.name(), strings.Join(windows, ", ")),
		Suggestion: fmt.Sprintf("enable a trigger whose scope covers %s (environments: [%s], or none), such as the default error_rate trigger", w.Environment, w.Environment),
	}}
}

// judges are the enabled triggers of s that judge the watch's deployments
// (whatever their action: every one judges an analysis).
func judges(s rules.Set, w Watch) []domain.Trigger {
	var out []domain.Trigger
	for _, t := range s.Triggers {
		if t.Enabled && w.covers(t) {
			out = append(out, t)
		}
	}
	return out
}

// checkCoherenceScope is coherence/scope: the monitor adds the deployment's
// environment and version matchers to every selector of a trigger's
// PromQL, so a matcher of its own on those labels can only select nothing
// (in the environments, or for the versions, it does not match) or be
// redundant. Environments are limited with the trigger's environments.
func checkCoherenceScope(t *target, watches []Watch) []Finding {
	node, err := parse(t.expr)
	if err != nil {
		return nil // Lint reports promql/syntax
	}
	var own []*labels.Matcher
	for _, vs := range selectors(node) {
		for _, m := range vs.LabelMatchers {
			if m != nil && slices.Contains(t.scope, m.Name) && !slices.ContainsFunc(own, func(o *labels.Matcher) bool { return o.String() == m.String() }) {
				own = append(own, m)
			}
		}
	}
	if len(own) == 0 {
		return nil
	}
	var envMatchers []*labels.Matcher
	var quoted []string
	restricts := false
	for _, m := range own {
		quoted = append(quoted, quote(m.String()))
		if m.Name != "environment" {
			restricts = restricts || !matchesAny(m) // a version matcher: every release has a new version
			continue
		}
		envMatchers = append(envMatchers, m)
		if len(t.trigger.Environments) == 0 {
			restricts = restricts || !matchesAny(m)
			continue
		}
		for _, env := range t.trigger.Environments {
			restricts = restricts || !m.Matches(env)
		}
	}
	envs := environmentsFor(envMatchers, watches)
	rw := withoutScopeMatchers(t.expr, t.scope)
	what := fmt.Sprintf("%s has its own %s %s", t.what(), plural(len(own), "matcher", "matchers"), strings.Join(quoted, ", "))

	var problem, why string
	severity := SeverityBug
	switch {
	case !restricts:
		severity = SeverityWarning
		problem = what + ", which the deployment's scope makes redundant (the monitor adds the deployment's environment and version to every selector); " +
			"if the trigger's environments grew, it would select nothing in the new ones"
		why = "drop the matcher"
	default:
		problem = what + ": the monitor adds the deployment's environment and version to every selector as well, so for the deployments the matcher rejects " +
			"(other environments, other versions: every release has a new one) it selects nothing — " + noDataEffect(t.trigger)
		why = "drop the matcher; the monitor measures each deployment's own environment and version"
	}
	switch {
	case len(envMatchers) == 0:
	case !restricts:
		if len(t.trigger.Environments) > 0 {
			why = fmt.Sprintf("drop the matcher: environments: [%s] already limits the trigger", strings.Join(t.trigger.Environments, ", "))
		}
	case len(envs) > 0:
		why = fmt.Sprintf("limit the trigger with environments: [%s] instead and drop the matcher (the monitor adds the deployment's own)", strings.Join(envs, ", "))
	default:
		why = "list the environments the trigger should judge in environments: instead and drop the matcher (the monitor adds the deployment's own)"
	}
	suggestion := why
	if rw != "" {
		suggestion = t.rewriteSuggestion(why, rw)
	}
	return []Finding{t.finding(CheckCoherenceScope, severity, problem, suggestion, rw)}
}

// noDataEffect says what selecting nothing does to the trigger.
func noDataEffect(t domain.Trigger) string {
	if p := t.NoDataPolicy(); p == domain.NoDataAlert || p == domain.NoDataRollback {
		return fmt.Sprintf("no data, on which its no_data policy fires a %s after %s", p, short(t.Duration))
	}
	return "no data, so it never fires there (no_data: hold)"
}

// matchesAny reports whether m accepts every non-empty value (=~".*",
// =~".+", !="", !~""): such a matcher restricts nothing.
func matchesAny(m *labels.Matcher) bool {
	switch m.Type {
	case labels.MatchRegexp:
		return m.Value == ".*" || m.Value == ".+"
	case labels.MatchNotEqual, labels.MatchNotRegexp:
		return m.Value == ""
	}
	return false
}

// envNameRE is an environment name as a literal alternative of a regexp.
var envNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// environmentsFor are the environments that every environment matcher
// accepts, among the values the matchers name (=, and =~ alternatives of
// literal names) and the watched environments; sorted.
func environmentsFor(ms []*labels.Matcher, watches []Watch) []string {
	var candidates []string
	for _, m := range ms {
		switch m.Type {
		case labels.MatchEqual:
			candidates = append(candidates, m.Value)
		case labels.MatchRegexp:
			for alt := range strings.SplitSeq(m.Value, "|") {
				if envNameRE.MatchString(alt) {
					candidates = append(candidates, alt)
				}
			}
		}
	}
	for _, w := range watches {
		candidates = append(candidates, w.Environment)
	}
	var out []string
	for _, env := range candidates {
		if env != "" && !slices.Contains(out, env) && !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches(env) }) {
			out = append(out, env)
		}
	}
	slices.Sort(out)
	return out
}

// withoutScopeMatchers is expr without any matcher on the scope labels, or
// "" when a selector would be left without a matcher that selects anything.
func withoutScopeMatchers(expr string, scope []string) string {
	root, err := parse(expr)
	if err != nil {
		return ""
	}
	ok := true
	for _, vs := range selectors(root) {
		ms := slices.DeleteFunc(slices.Clone(vs.LabelMatchers), func(m *labels.Matcher) bool { return m != nil && slices.Contains(scope, m.Name) })
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return m != nil && !m.Matches("") }) {
			ok = false
		}
		vs.LabelMatchers = ms
	}
	if !ok {
		return ""
	}
	out := root.String()
	if _, err := parse(out); err != nil {
		return ""
	}
	return out
}

// roundUp is d rounded up to a multiple of unit.
func roundUp(d, unit time.Duration) time.Duration {
	if r := d % unit; r != 0 {
		return d + unit - r
	}
	return d
}

// short is d without trailing zero units: "2m" rather than "2m0s".
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// plural is one or many, by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
