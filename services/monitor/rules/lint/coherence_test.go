package lint_test

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/monitor/internal/app"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// coherenceChecks are Coherence's checks, which this file's tests cover
// (TestChecks and TestDocExamples leave them to it).
func coherenceChecks() []string {
	return []string{lint.CheckCoherenceDuration, lint.CheckCoherenceAnalysis, lint.CheckCoherenceScope}
}

// canary is the deployer's default canary plan in env (setWeight 10, pause
// 30s, analysis 1m, setWeight 50, pause 30s, analysis 1m), baking for bake.
func canary(env string, bake time.Duration) lint.Watch {
	return lint.Watch{Environment: env, App: "web", Strategy: "canary", Analyses: []time.Duration{time.Minute, time.Minute},
		Runs: 3 * time.Minute, Bake: bake}
}

// blueGreen is a blue-green plan in env without an analysis, baking an hour:
// the watch of coherence/scope's cases, which the other checks leave alone.
func blueGreen(env string) lint.Watch {
	return lint.Watch{Environment: env, Strategy: "blue-green", Runs: 30 * time.Second, Bake: time.Hour}
}

// withTriggers is s with more triggers (named t2, t3, …), each changed by its option.
func withTriggers(s rules.Set, opts ...func(*domain.Trigger)) rules.Set {
	s.Triggers = slices.Clone(s.Triggers)
	for i, o := range opts {
		tr := s.Triggers[0]
		tr.Name = "t" + strconv.Itoa(i+2)
		o(&tr)
		s.Triggers = append(s.Triggers, tr)
	}
	return s
}

func environments(envs ...string) func(*domain.Trigger) {
	return func(t *domain.Trigger) { t.Environments = envs }
}
func disabled(t *domain.Trigger) { t.Enabled = false }
func alertFor(d time.Duration) func(*domain.Trigger) {
	return func(t *domain.Trigger) { t.Action, t.Duration = domain.ActionAlert, d }
}

const (
	errorRatio     = `sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`
	prodErrorRatio = `sum(rate(http_requests_total{code=~"5..",environment="production"}[1m])) / sum(rate(http_requests_total{environment="production"}[1m]))`
)

// coherenceCase is a rules set and watches that a check flags, and the
// corrected set (or watches) with no finding at all.
type coherenceCase struct {
	name     string
	check    string
	severity string
	bad      rules.Set
	watches  []lint.Watch
	// kind and rule of the finding: the trigger "t" unless set.
	kind, rule string
	// problem and suggestion are expected in the finding, rewrite exactly.
	problem, suggestion, rewrite string
	good                         rules.Set
	goodWatches                  []lint.Watch // watches when nil
}

func coherenceCases() []coherenceCase {
	// Two triggers, so that coherence/analysis's "only trigger" does not apply.
	pair := func(opts ...func(*domain.Trigger)) rules.Set {
		return withTriggers(trigger("error_rate", domain.OpGreater, 0.1, opts...), alertFor(30*time.Second))
	}
	named := trigger("error_rate", domain.OpGreater, 0.1, duration(time.Minute))
	named.Metrics = map[string]string{"error_rate": prodErrorRatio}
	namedGood := trigger("error_rate", domain.OpGreater, 0.1, duration(time.Minute), environments("production"))
	namedGood.Metrics = map[string]string{"error_rate": errorRatio}
	return []coherenceCase{
		// coherence/duration
		{
			name: "rollback longer than the canary, no bake", check: lint.CheckCoherenceDuration, severity: lint.SeverityWarning,
			bad:         pair(duration(300 * time.Second)),
			watches:     []lint.Watch{canary("production", 0)},
			problem:     "duration 5m is longer than the monitor watches the production canary deployments (app web): they run 3m (pauses and analysis windows) and bake 0s",
			suggestion:  "bake production for at least 2m (monitor config: bake: {production: 2m}, or production in bake_auto, which bakes for the longest rollback trigger plus one interval), or shorten the breach it needs: duration: 180",
			good:        pair(duration(300 * time.Second)),
			goodWatches: []lint.Watch{canary("production", 2*time.Minute)},
		},
		{
			name: "rollback longer than the canary and a short bake, rounded up", check: lint.CheckCoherenceDuration, severity: lint.SeverityWarning,
			bad:        pair(duration(250 * time.Second)),
			watches:    []lint.Watch{canary("staging", 30*time.Second)},
			problem:    "duration 4m10s is longer than the monitor watches the staging canary deployments (app web): they run 3m (pauses and analysis windows) and bake 30s",
			suggestion: "bake staging for at least 2m (monitor config: bake: {staging: 2m}",
			good:       pair(duration(210 * time.Second)),
		},
		{
			name: "rollback longer than the canary, a shorter duration", check: lint.CheckCoherenceDuration, severity: lint.SeverityWarning,
			bad:     pair(duration(300 * time.Second)),
			watches: []lint.Watch{canary("production", 0)},
			problem: "duration 5m is longer",
			good:    pair(duration(180 * time.Second)),
		},
		{
			name: "rollback longer than the canary, limited to another environment", check: lint.CheckCoherenceDuration, severity: lint.SeverityWarning,
			bad:     pair(duration(300 * time.Second)),
			watches: []lint.Watch{canary("staging", 0)},
			problem: "the staging canary deployments",
			good: withTriggers(trigger("error_rate", domain.OpGreater, 0.1, duration(300*time.Second), environments("production")),
				func(t *domain.Trigger) {
					t.Action, t.Duration, t.Environments = domain.ActionAlert, 30*time.Second, nil
				}),
		},
		{
			name: "rollback longer than the canary, an alert instead", check: lint.CheckCoherenceDuration, severity: lint.SeverityWarning,
			bad:     pair(duration(300 * time.Second)),
			watches: []lint.Watch{canary("staging", 0)},
			problem: "the staging canary deployments",
			good:    pair(duration(300*time.Second), action(domain.ActionAlert)),
		},

		// coherence/analysis
		{
			name: "analysis steps and no trigger in the environment", check: lint.CheckCoherenceAnalysis, severity: lint.SeverityWarning,
			bad:        pair(environments("staging")),
			watches:    []lint.Watch{canary("production", 0)},
			kind:       lint.KindPlan,
			rule:       "web@production/canary",
			problem:    "the production canary deployments (app web) have analysis steps (1m, 1m) and no enabled trigger judges them: every verdict is inconclusive",
			suggestion: "enable a trigger whose scope covers production",
			good:       pair(environments("staging", "production")),
		},
		{
			name: "analysis steps and only a disabled trigger", check: lint.CheckCoherenceAnalysis, severity: lint.SeverityWarning,
			bad:     trigger("error_rate", domain.OpGreater, 0.1, duration(time.Minute), disabled),
			watches: []lint.Watch{canary("production", 0)},
			kind:    lint.KindPlan,
			rule:    "web@production/canary",
			problem: "no enabled trigger judges them",
			good:    trigger("error_rate", domain.OpGreater, 0.1, duration(time.Minute)),
		},
		{
			name: "the only trigger is longer than the analysis windows", check: lint.CheckCoherenceAnalysis, severity: lint.SeverityWarning,
			bad:        trigger("error_rate", domain.OpGreater, 0.1, duration(2*time.Minute)),
			watches:    []lint.Watch{canary("production", 0)},
			problem:    "duration 2m is longer than the analysis windows of the production canary deployments (app web) (1m, 1m) and it is the only trigger that judges them",
			suggestion: "or shorten this one: duration: 60",
			good:       trigger("error_rate", domain.OpGreater, 0.1, duration(time.Minute)),
		},
		{
			name: "the only trigger is longer than the analysis windows, a second trigger", check: lint.CheckCoherenceAnalysis, severity: lint.SeverityWarning,
			bad:     trigger("error_rate", domain.OpGreater, 0.1, duration(2*time.Minute)),
			watches: []lint.Watch{canary("production", 0)},
			problem: "it is the only trigger that judges them",
			good:    withTriggers(trigger("error_rate", domain.OpGreater, 0.1, duration(2*time.Minute)), alertFor(30*time.Second)),
		},

		// coherence/scope
		{
			name: "an environment matcher of the trigger's own", check: lint.CheckCoherenceScope, severity: lint.SeverityBug,
			bad: trigger(prodErrorRatio, domain.OpGreater, 0.1),
			problem: "the metric has its own matcher `environment=\"production\"`: the monitor adds the deployment's environment and version to every selector as well, " +
				"so for the deployments the matcher rejects (other environments, other versions: every release has a new one) it selects nothing — no data, so it never fires there (no_data: hold)",
			suggestion: "limit the trigger with environments: [production] instead and drop the matcher (the monitor adds the deployment's own): metric: " + errorRatio,
			rewrite:    errorRatio,
			good:       trigger(errorRatio, domain.OpGreater, 0.1, environments("production")),
		},
		{
			name: "an environment matcher with a no-data rollback", check: lint.CheckCoherenceScope, severity: lint.SeverityBug,
			bad:     trigger(prodErrorRatio, domain.OpGreater, 0.1, noData(domain.NoDataRollback)),
			problem: "no data, on which its no_data policy fires a rollback after 2m",
			rewrite: errorRatio,
			good:    trigger(errorRatio, domain.OpGreater, 0.1, noData(domain.NoDataRollback), environments("production")),
		},
		{
			name: "a version matcher", check: lint.CheckCoherenceScope, severity: lint.SeverityBug,
			bad:        trigger(`sum(rate(http_requests_total{code=~"5..",version="1.2.0"}[1m])) / sum(rate(http_requests_total[1m]))`, domain.OpGreater, 0.1),
			problem:    "the metric has its own matcher `version=\"1.2.0\"`",
			suggestion: "drop the matcher; the monitor measures each deployment's own environment and version: metric: " + errorRatio,
			rewrite:    errorRatio,
			good:       trigger(errorRatio, domain.OpGreater, 0.1),
		},
		{
			name: "an environment regexp, watched environments", check: lint.CheckCoherenceScope, severity: lint.SeverityBug,
			bad:        trigger(`sum(rate(http_requests_total{code=~"5..",environment=~"staging|production"}[1m])) / sum(rate(http_requests_total[1m]))`, domain.OpGreater, 0.1),
			watches:    []lint.Watch{blueGreen("development"), blueGreen("production"), blueGreen("staging")},
			suggestion: "limit the trigger with environments: [production, staging] instead",
			rewrite:    errorRatio,
			good:       trigger(errorRatio, domain.OpGreater, 0.1, environments("staging", "production")),
		},
		{
			name: "a negative environment matcher, watched environments", check: lint.CheckCoherenceScope, severity: lint.SeverityBug,
			bad:        trigger(`sum(rate(http_requests_total{code=~"5..",environment!="development"}[1m])) / sum(rate(http_requests_total[1m]))`, domain.OpGreater, 0.1),
			watches:    []lint.Watch{blueGreen("development"), blueGreen("production"), blueGreen("staging")},
			suggestion: "limit the trigger with environments: [production, staging] instead",
			rewrite:    errorRatio,
			good:       trigger(errorRatio, domain.OpGreater, 0.1, environments("staging", "production")),
		},
		{
			name: "a redundant environment matcher", check: lint.CheckCoherenceScope, severity: lint.SeverityWarning,
			bad:        trigger(prodErrorRatio, domain.OpGreater, 0.1, environments("production")),
			problem:    "which the deployment's scope makes redundant",
			suggestion: "drop the matcher: environments: [production] already limits the trigger: metric: " + errorRatio,
			rewrite:    errorRatio,
			good:       trigger(errorRatio, domain.OpGreater, 0.1, environments("production")),
		},
		{
			name: "an environment matcher in a named metric", check: lint.CheckCoherenceScope, severity: lint.SeverityBug,
			bad:        named,
			problem:    "named metric error_rate has its own matcher `environment=\"production\"`:",
			suggestion: "limit the trigger with environments: [production] instead and drop the matcher (the monitor adds the deployment's own): metrics.error_rate: " + errorRatio,
			rewrite:    errorRatio,
			good:       namedGood,
		},
		{
			name: "a selector with only an environment matcher", check: lint.CheckCoherenceScope, severity: lint.SeverityBug,
			bad:        trigger(`count({environment="production"})`, domain.OpLess, 1),
			suggestion: "limit the trigger with environments: [production] instead and drop the matcher (the monitor adds the deployment's own)",
			rewrite:    "", // {} selects nothing: no rewrite
			good:       trigger(`count(up)`, domain.OpLess, 1, environments("production")),
		},
	}
}

// TestCoherence: for every coherence check, rules and watches that it flags
// (with the expected kind, rule, severity, problem, suggestion and rewrite)
// and a corrected form with no finding at all.
func TestCoherence(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, tc := range coherenceCases() {
		covered[tc.check] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := lint.Coherence(tc.bad, tc.watches)
			i := slices.IndexFunc(got, func(f lint.Finding) bool { return f.Check == tc.check })
			if i < 0 {
				t.Fatalf("Coherence(bad) = %v, want a %s finding", got, tc.check)
			}
			f := got[i]
			kind, rule := lint.KindTrigger, "t"
			if tc.kind != "" {
				kind, rule = tc.kind, tc.rule
			}
			if f.Rule != rule || f.Kind != kind || f.Severity != tc.severity {
				t.Errorf("finding = %+v, want rule %s, kind %s, severity %s", f, rule, kind, tc.severity)
			}
			if !strings.Contains(f.Problem, tc.problem) {
				t.Errorf("problem %q does not contain %q", f.Problem, tc.problem)
			}
			if f.Suggestion == "" || !strings.Contains(f.Suggestion, tc.suggestion) {
				t.Errorf("suggestion %q does not contain %q", f.Suggestion, tc.suggestion)
			}
			if f.Rewrite != tc.rewrite {
				t.Errorf("rewrite = %q, want %q", f.Rewrite, tc.rewrite)
			}
			if f.Rewrite != "" {
				if again := lint.Coherence(withExpr(tc.bad, f.Rewrite), tc.watches); slices.ContainsFunc(again, func(g lint.Finding) bool { return g.Check == tc.check }) {
					t.Errorf("the rewrite %q still has the finding: %v", f.Rewrite, again)
				}
			}
			watches := tc.goodWatches
			if watches == nil {
				watches = tc.watches
			}
			if got := lint.Coherence(tc.good, watches); len(got) != 0 {
				t.Errorf("Coherence(good) = %v, want no findings", got)
			}
			if got := lint.Lint(tc.good); len(got) != 0 {
				t.Errorf("Lint(good) = %v, want no findings", got)
			}
		})
	}
	for _, c := range coherenceChecks() {
		if !covered[c] {
			t.Errorf("check %s has no test case", c)
		}
		if !slices.Contains(lint.Checks(), c) {
			t.Errorf("lint.Checks() lacks %s", c)
		}
	}
}

// TestCoherenceOfTheDefaults: the monitor's default triggers against the
// deployer's default canary: production (bake_auto) is coherent; an
// environment without a bake cannot roll back on error_rate (300 s) within
// the canary's 3 minutes — the issue that brought the bake.
func TestCoherenceOfTheDefaults(t *testing.T) {
	t.Parallel()
	s := rules.Default()
	prod := canary("production", lint.AutoBake(s, "production", "web", 15*time.Second))
	if prod.Bake != 315*time.Second {
		t.Errorf("AutoBake(defaults, production) = %s, want 5m15s", prod.Bake)
	}
	if got := lint.Coherence(s, []lint.Watch{prod}); len(got) != 0 {
		t.Errorf("Coherence(defaults, production) = %v, want none", got)
	}
	var got []string
	for _, f := range lint.Coherence(s, []lint.Watch{prod, canary("staging", 0)}) {
		got = append(got, f.Kind+" "+f.Rule+" "+f.Check+" "+f.Severity)
	}
	if diff := cmp.Diff([]string{"trigger error_rate coherence/duration warning"}, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestCoherenceOrder: findings in trigger order (by check, then watch),
// then the plans' own, without duplicates, and the same every time.
func TestCoherenceOrder(t *testing.T) {
	t.Parallel()
	s := trigger(prodErrorRatio, domain.OpGreater, 0.1, duration(5*time.Minute))
	s.Triggers = append(s.Triggers, s.Triggers[0])
	s.Triggers[1].Name, s.Triggers[1].Environments = "u", []string{"production"}
	watches := []lint.Watch{
		canary("production", 0), canary("staging", 0), canary("production", 0), // a duplicate watch adds nothing
		{Environment: "development", Strategy: "blue-green", Analyses: []time.Duration{30 * time.Second}, Runs: time.Minute},
	}
	var got []string
	for _, f := range lint.Coherence(s, watches) {
		problem, _, _ := strings.Cut(f.Problem, ":")
		got = append(got, f.Rule+" "+f.Check+" "+problem)
	}
	want := []string{
		"t coherence/duration duration 5m is longer than the monitor watches the production canary deployments (app web)",
		"t coherence/duration duration 5m is longer than the monitor watches the staging canary deployments (app web)",
		"t coherence/duration duration 5m is longer than the monitor watches the development blue-green deployments",
		"t coherence/analysis duration 5m is longer than the analysis windows of the staging canary deployments (app web) (1m, 1m) and it is the only trigger that judges them",
		"t coherence/analysis duration 5m is longer than the analysis windows of the development blue-green deployments (30s) and it is the only trigger that judges them",
		"t coherence/scope the metric has its own matcher `environment=\"production\"`",
		"u coherence/duration duration 5m is longer than the monitor watches the production canary deployments (app web)",
		"u coherence/scope the metric has its own matcher `environment=\"production\"`, which the deployment's scope makes redundant (the monitor adds the deployment's environment and version to every selector); if the trigger's environments grew, it would select nothing in the new ones",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(lint.Coherence(s, watches), lint.Coherence(s, watches)); diff != "" {
		t.Errorf("Coherence is not deterministic:\n%s", diff)
	}
	if got := lint.Coherence(rules.Set{}, nil); len(got) != 0 {
		t.Errorf("Coherence of nothing = %v", got)
	}
}

// TestAutoBakeIsTheMonitors: AutoBake is the monitor's bake_auto rule
// (app.Config.BakeFor) over the triggers in force for a deployment.
func TestAutoBakeIsTheMonitors(t *testing.T) {
	t.Parallel()
	s := withTriggers(trigger("error_rate", domain.OpGreater, 0.1, duration(2*time.Minute)),
		func(t *domain.Trigger) { t.Duration, t.Environments = 10*time.Minute, []string{"production"} },
		func(t *domain.Trigger) { t.Duration = 20 * time.Minute; t.Enabled = false },
		func(t *domain.Trigger) { t.Duration, t.Action = 30*time.Minute, domain.ActionAlert },
		func(t *domain.Trigger) { t.Duration, t.Apps = 7*time.Minute, []string{"api"} },
	)
	for _, tc := range []struct{ env, app string }{{"production", "web"}, {"production", "api"}, {"staging", "web"}, {"staging", "api"}} {
		var inForce []domain.Trigger
		for _, tr := range s.Triggers {
			if tr.Enabled && tr.Covers(tc.env, tc.app) {
				inForce = append(inForce, tr)
			}
		}
		cfg := app.Config{Interval: 15 * time.Second, BakeAuto: []string{tc.env}}
		if got, want := lint.AutoBake(s, tc.env, tc.app, cfg.Interval), cfg.BakeFor(tc.env, inForce); got != want {
			t.Errorf("AutoBake(%s, %s) = %s, want the monitor's %s", tc.env, tc.app, got, want)
		}
	}
	if got := lint.AutoBake(rules.Set{}, "production", "", time.Second); got != 0 {
		t.Errorf("AutoBake without triggers = %s, want 0", got)
	}
}

// coherenceMarkerRE is the comment before a docs/rules-lint.md block that
// illustrates a coherence check: the rules block has exactly that one
// Coherence finding ("expect CHECK"), or none ("clean"), against one watch.
var coherenceMarkerRE = regexp.MustCompile(`^<!-- rules-coherence: (?:expect (\S+)|clean) in (\S+)/(\S+) runs (\S+) bake (\S+)(?: analyses (\S+))? -->$`)

// TestCoherenceDocExamples: every rules block of docs/rules-lint.md marked
// with rules-coherence has the Coherence findings its marker says, and
// every coherence check has an example there. (TestDocExamples lints the
// same blocks: none may have a Lint finding.)
func TestCoherenceDocExamples(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(lintDoc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	illustrated := map[string]bool{}
	for _, b := range yamlBlocks(t, lintDoc) {
		prev := ""
		for i := b.line - 2; i >= 0; i-- {
			if prev = strings.TrimSpace(lines[i]); prev != "" {
				break
			}
		}
		m := coherenceMarkerRE.FindStringSubmatch(prev)
		if m == nil {
			if strings.Contains(prev, "rules-coherence") {
				t.Errorf("%s:%d: malformed marker %q", lintDoc, b.line, prev)
			}
			continue
		}
		where := lintDoc + ":" + strconv.Itoa(b.line)
		w := lint.Watch{Environment: m[2], Strategy: m[3], Runs: docDuration(t, where, m[4]), Bake: docDuration(t, where, m[5])}
		if m[6] != "" {
			for a := range strings.SplitSeq(m[6], ",") {
				w.Analyses = append(w.Analyses, docDuration(t, where, a))
			}
		}
		set, err := rules.Parse([]byte(b.text))
		if err != nil {
			t.Errorf("%s: the rules block does not parse: %v", where, err)
			continue
		}
		got := lint.Coherence(set, []lint.Watch{w})
		switch check := m[1]; {
		case check == "" && len(got) != 0:
			t.Errorf("%s: the example has coherence findings:\n%s", where, findingLines(got))
		case check != "" && (len(got) != 1 || got[0].Check != check):
			t.Errorf("%s: the example of %s has findings\n%s; want exactly one of %s", where, check, findingLines(got), check)
		case check != "":
			illustrated[check] = true
		}
	}
	for _, c := range coherenceChecks() {
		if !illustrated[c] {
			t.Errorf("%s has no example of %s (a rules block after <!-- rules-coherence: expect %s in ENV/STRATEGY runs D bake D analyses D,D -->)", lintDoc, c, c)
		}
	}
}

func docDuration(t *testing.T, where, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Errorf("%s: marker duration %q: %v", where, s, err)
	}
	return d
}
