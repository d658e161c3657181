package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
	"github.com/penguinmails/floe/services/monitor/rules/rulestest"
)

// exitError is an error with a process exit status other than 1 (`floe
// rules test` exits 2 when a test file is unusable).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// checkOutputFlag validates -o for commands that do not dial (dial checks it otherwise).
func (g *globals) checkOutputFlag() error {
	if g.output != "table" && g.output != "json" {
		return fmt.Errorf("--output %q: use table, json or yaml", g.output)
	}
	return nil
}

// printJSONDoc prints a JSON document (not a proto message) indented like printJSON.
// Operators stay readable (">" rather than "\u003e").
func printJSONDoc(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// protoRaw is m as protojson, for embedding in a JSON document.
func protoRaw(m proto.Message) (json.RawMessage, error) {
	return protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(m)
}

// printMergedJSON prints the fields of several responses as one JSON object
// (their field names do not collide: rules/triggers, rule/trigger).
func printMergedJSON(w io.Writer, msgs ...proto.Message) error {
	merged := map[string]json.RawMessage{}
	for _, m := range msgs {
		raw, err := protoRaw(m)
		if err != nil {
			return err
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return err
		}
		maps.Copy(merged, fields)
	}
	return printJSONDoc(w, merged)
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// indentLines indents the continuation lines of a multi-line message.
func indentLines(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}

func newRulesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check, test and apply the monitor's alert rules and rollback triggers",
		Long: `The monitor watches alert rules (a PromQL condition held for a while) and
rollback triggers (a metric of a deployment beyond a threshold for a sustained
duration: roll back, alert or scale up). Both are versioned: every change bumps
the version, and an update or delete can name the version it expects.

A rules file is YAML with named metrics, alert_rules and rollback_triggers, in
the release guide's units (a trigger's duration in seconds, cooldowns in
minutes; "5m"-style durations are accepted too):

  metrics:
    error_rate: sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))
  alert_rules:
    - name: high_error_rate
      condition: sum by (environment) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (environment) (rate(http_requests_total[5m])) > 0.05
      severity: critical        # critical, warning or info
      channels: [slack, email]
      for: 2m
      cooldown: 5               # minutes
      environments: [production] # optional: only these environments' (and apps:) series
  rollback_triggers:
    - name: error_rate
      metric: error_rate        # a named metric, or PromQL
      operator: ">"
      threshold: 0.1
      duration: 300             # seconds
      action: rollback          # rollback, alert or scale_up
      cooldown: 60              # minutes
      no_data: hold             # hold, alert or rollback
      environments: [staging, production]   # optional: judges only these (and apps:) deployments
      thresholds: {production: 0.05}        # optional: the threshold in an environment

'check' and 'test' work offline; the other commands talk to the server
(reads need monitor.read, changes monitor.write).`,
	}
	cmd.AddCommand(newRulesCheckCmd(g), newRulesTestCmd(g), newRulesApplyCmd(g), newRulesListCmd(g), newRulesGetCmd(g),
		newRulesDeleteCmd(g), newRulesToggleCmd(g, "enable"), newRulesToggleCmd(g, "disable"))
	return cmd
}

// fileArgs checks that at least one FILE was given.
func fileArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("missing FILE (usage: %s)", cmd.UseLine())
	}
	for _, a := range args {
		if strings.TrimSpace(a) == "" {
			return errors.New("FILE must not be empty")
		}
	}
	return nil
}

type jsonViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

type jsonCheck struct {
	File             string          `json:"file"`
	OK               bool            `json:"ok"`
	AlertRules       int             `json:"alertRules"`
	RollbackTriggers int             `json:"rollbackTriggers"`
	NamedMetrics     int             `json:"namedMetrics"`
	Violations       []jsonViolation `json:"violations"`
	// Findings are the linter's, for a valid file (lint.Finding's JSON).
	Findings []lint.Finding `json:"findings"`
}

// loadRules reads a rules file; problems are the violations (field, description)
// of an invalid file, or one problem for an unreadable one.
func loadRules(path string) (rules.Set, []jsonViolation) {
	set, err := rules.Load(path)
	if err == nil {
		return set, nil
	}
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		return set, []jsonViolation{{Field: "", Description: err.Error()}}
	}
	out := make([]jsonViolation, 0, len(ia.Violations))
	for _, v := range ia.Violations {
		out = append(out, jsonViolation{Field: v.Field, Description: v.Description})
	}
	return set, out
}

// printViolations writes a file's problems, one per line.
func printViolations(w io.Writer, file string, vs []jsonViolation) {
	if len(vs) == 1 && vs[0].Field == "" {
		fmt.Fprintf(w, "%s: %s\n", file, indentLines(vs[0].Description, "    "))
		return
	}
	fmt.Fprintf(w, "%s: %s:\n", file, count(len(vs), "problem", "problems"))
	for _, v := range vs {
		fmt.Fprintf(w, "  %s: %s\n", v.Field, indentLines(v.Description, "    "))
	}
}

func newRulesCheckCmd(g *globals) *cobra.Command {
	var (
		strict                        bool
		deployerConfig, monitorConfig string
	)
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Validate and lint rules files offline: every problem, with its field path",
		Long: `check parses and validates rules files the way the monitor reads them (unknown
fields, PromQL syntax, names, operators, actions, severities, durations) without
contacting a server. For a valid file it prints what the file defines (the
named metrics include the monitor's defaults, error_rate and
response_time_p95); for an invalid one, every problem with its field path. It
exits non-zero when any file is invalid.

A valid file is then linted: rules that parse but cannot work as meant, the
classes of mistakes Cloudflare's pint catches without a server (alerts/comparison,
alerts/for, promql/aggregate, promql/fragile, promql/rate, promql/regexp,
promql/vector_matching). Each finding names the rule, the check, its severity
(warning or bug), the problem and a suggested rewrite; docs/rules-lint.md in
the Floe repository describes every check. Findings do not change the exit
status unless --strict is given.

With --deployer-config, the triggers are also checked against how the
monitor watches deployments (coherence/duration, coherence/analysis,
coherence/scope): the deployer's plans for every environment of its
strategies (every strategy whose plan pauses or analyses, with a previous
version running) say how long a deployment runs and its analysis windows
(judged by the monitor when the deployer's analysis is monitor);
--monitor-config gives the bake after success (bake, bake_auto and interval;
without it the monitor's defaults: bake_auto [production], interval 15s).
They report a rollback trigger whose duration outlasts a deployment and its
bake (it can never roll back there), analysis steps no trigger judges, and
environment or version matchers that the deployment's own scope contradicts.
Their findings follow the linter's, in the same form, and count for --strict.

  floe rules check monitor-rules.yaml
  floe rules check -o json rules/*.yaml
  floe rules check --strict -o json rules/*.yaml     # in CI: any finding fails
  floe rules check --deployer-config deployer.yaml --monitor-config monitor.yaml monitor-rules.yaml`,
		Args: fileArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutputFlag(); err != nil {
				return err
			}
			watch, err := loadWatching(deployerConfig, monitorConfig)
			if err != nil {
				return err
			}
			var results []jsonCheck
			bad, findings, linted := 0, 0, 0
			for _, path := range args {
				set, problems := loadRules(path)
				r := jsonCheck{File: path, OK: len(problems) == 0, Violations: problems, Findings: []lint.Finding{}}
				if r.OK {
					r.AlertRules, r.RollbackTriggers, r.NamedMetrics = len(set.AlertRules), len(set.Triggers), len(set.Metrics)
					r.Violations = []jsonViolation{}
					fs := lint.Lint(set)
					if watch != nil {
						fs = append(fs, lint.Coherence(set, watch.watches(set))...)
					}
					if len(fs) > 0 {
						r.Findings = fs
						findings += len(fs)
						linted++
					}
				} else {
					bad++
				}
				results = append(results, r)
				if g.output == "json" {
					continue
				}
				if !r.OK {
					printViolations(g.out, path, problems)
					continue
				}
				summary := fmt.Sprintf("%s: %s, %s, %s: OK", path, count(r.AlertRules, "alert rule", "alert rules"),
					count(r.RollbackTriggers, "rollback trigger", "rollback triggers"), count(r.NamedMetrics, "named metric", "named metrics"))
				if len(r.Findings) == 0 {
					fmt.Fprintln(g.out, summary)
					continue
				}
				fmt.Fprintf(g.out, "%s, %s:\n", summary, count(len(r.Findings), "lint finding", "lint findings"))
				printFindings(g.out, r.Findings)
			}
			if g.output == "json" {
				if err := printJSONDoc(g.out, map[string]any{"files": results}); err != nil {
					return err
				}
			}
			if bad > 0 {
				return fmt.Errorf("rules check: %d of %s invalid", bad, count(len(args), "file", "files"))
			}
			if strict && findings > 0 {
				return fmt.Errorf("rules check --strict: %s in %s", count(findings, "lint finding", "lint findings"), count(linted, "file", "files"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "exit non-zero when the linter finds anything (warnings included)")
	cmd.Flags().StringVar(&deployerConfig, "deployer-config", "", "deployer YAML whose plans the triggers are checked against (coherence checks)")
	cmd.Flags().StringVar(&monitorConfig, "monitor-config", "", "monitor YAML giving the bake and interval for the coherence checks (needs --deployer-config)")
	return cmd
}

// watching is how the monitor watches deployments, for the coherence
// checks: the deployer's plans and the monitor's bake settings.
type watching struct {
	apps     []string
	plans    []lint.Plan
	settings lint.MonitorSettings
}

// loadWatching reads the deployer's and the monitor's configs (nil without
// a deployer config).
func loadWatching(deployerPath, monitorPath string) (*watching, error) {
	if deployerPath == "" {
		if monitorPath != "" {
			return nil, errors.New("--monitor-config needs --deployer-config: the coherence checks are about the deployer's plans")
		}
		return nil, nil
	}
	df, err := deployersvc.Load(deployerPath, deployersvc.File{})
	if err != nil {
		return nil, err
	}
	settings, err := lint.LoadMonitorSettings(monitorPath)
	if err != nil {
		return nil, err
	}
	if _, err := df.Targets(); err != nil {
		return nil, err
	}
	return &watching{apps: df.AppNames(), plans: df.WatchedPlans(), settings: settings}, nil
}

// watches are the plans as the monitor watches them with the rules of set, for each app.
func (w *watching) watches(set rules.Set) []lint.Watch {
	var out []lint.Watch
	for _, app := range w.apps {
		out = append(out, w.settings.Watches(app, w.plans, set)...)
	}
	return out
}

// printFindings writes lint findings, each with its suggestion.
func printFindings(w io.Writer, fs []lint.Finding) {
	for _, f := range fs {
		fmt.Fprintf(w, "  %s %s: %s (%s): %s\n", strings.ReplaceAll(f.Kind, "_", " "), f.Rule, f.Check, f.Severity, indentLines(f.Problem, "    "))
		fmt.Fprintf(w, "    suggestion: %s\n", indentLines(f.Suggestion, "    "))
	}
}

type jsonTestFile struct {
	File     string         `json:"file"`
	Passed   bool           `json:"passed"`
	Unusable bool           `json:"unusable"`
	Problems []string       `json:"problems"`
	Tests    []jsonTestCase `json:"tests"`
}

type jsonTestCase struct {
	Name     string   `json:"name"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures"`
}

func newRulesTestCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "test FILE...",
		Short: "Run unit tests of rules files offline (like promtool test rules)",
		Long: `test runs rules unit test files, modelled on 'promtool test rules': each test
feeds synthetic series into a fresh in-process TSDB and checks what the alert
rules, the rollback triggers and PromQL expressions yield at given times,
evaluated exactly as the monitor evaluates them. No server is needed.

A test file:

  rule_files: [rules.yaml]          # relative to the test file
  evaluation_interval: 15s
  tests:
    - name: error rate rolls the canary back
      interval: 15s                 # spacing of the input values
      input_series:
        - series: 'http_requests_total{code="500", environment="production", version="1.2.0"}'
          values: '0+30x40'         # promtool notation: 1x5, 0+20x40, _ (missing), stale
      alert_rule_test:
        - eval_time: 5m
          alertname: high_error_rate
          exp_alerts:
            - exp_labels: {code: "500", environment: production, version: 1.2.0}
              exp_state: firing     # or pending
      trigger_test:
        - eval_time: 6m
          trigger: error_rate
          deployment: {environment: production, version: 1.2.0, started_at: 0s}
          exp_fired: [{action: rollback, at: 5m15s, cause: breach}]
          exp_state: fired          # ok, breaching, no_data or fired
      promql_expr_test:
        - expr: sum(rate(http_requests_total[1m]))
          eval_time: 2m
          exp_samples: [{labels: '{}', value: 2}]

A commented example is services/monitor/rules/rulestest/testdata/example.test.yaml
in the Floe repository; the package documentation of rulestest gives the exact
semantics.

It prints a PASS or FAIL line per test with each failed expectation, and
exits with status 1 when a test fails, or 2 when a file cannot be run at all
(unreadable, unknown fields, invalid rules file or series notation); every
file is run either way.

  floe rules test monitor-rules.test.yaml`,
		Args: fileArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutputFlag(); err != nil {
				return err
			}
			ctx := cmd.Context()
			var results []jsonTestFile
			failed, unusable := 0, 0
			for _, path := range args {
				res, err := rulestest.Run(ctx, path)
				if err != nil && ctx.Err() != nil {
					return ctx.Err()
				}
				r := jsonTestFile{File: path, Problems: []string{}, Tests: []jsonTestCase{}}
				if err != nil {
					unusable++
					r.Unusable = true
					var fe *rulestest.FileError
					if errors.As(err, &fe) {
						r.Problems = fe.Problems
					} else {
						r.Problems = []string{err.Error()}
					}
				} else {
					r.Passed = res.Passed()
					if !r.Passed {
						failed++
					}
					for _, t := range res.Tests {
						r.Tests = append(r.Tests, jsonTestCase{Name: t.Name, Passed: t.Passed(), Failures: append([]string{}, t.Failures...)})
					}
				}
				results = append(results, r)
				if g.output == "json" {
					continue
				}
				if r.Unusable {
					fmt.Fprintf(g.out, "Unit testing: %s\n  UNUSABLE  the file cannot be run: %s\n", path, count(len(r.Problems), "problem", "problems"))
					for _, p := range r.Problems {
						fmt.Fprintf(g.out, "        %s\n", indentLines(p, "        "))
					}
				} else {
					res.Write(g.out)
				}
			}
			if g.output == "json" {
				if err := printJSONDoc(g.out, map[string]any{"files": results}); err != nil {
					return err
				}
			}
			var parts []string
			if unusable > 0 {
				parts = append(parts, fmt.Sprintf("%d of %s unusable", unusable, count(len(args), "file", "files")))
			}
			if failed > 0 {
				parts = append(parts, fmt.Sprintf("%d of %s failed", failed, count(len(args), "file", "files")))
			}
			switch {
			case unusable > 0:
				return &exitError{code: 2, err: errors.New("rules test: " + strings.Join(parts, "; "))}
			case failed > 0:
				return &exitError{code: 1, err: errors.New("rules test: " + strings.Join(parts, "; "))}
			}
			return nil
		},
	}
}

// ---- apply ----

// fileDefinitions converts a rules file's definitions to their API form.
// A trigger whose metric is a named metric the file defines (or redefines)
// is sent with that metric's PromQL: the server resolves names with its own
// catalogue, which may not have it. inlined lists those metric names.
func fileDefinitions(set rules.Set) (ars []*monitorv1.AlertRule, trs []*monitorv1.RollbackTrigger, inlined []string) {
	defaults := rules.DefaultMetrics()
	for _, r := range set.AlertRules {
		ars = append(ars, &monitorv1.AlertRule{
			Name: r.Name, Description: r.Description, Condition: r.Condition, Severity: r.Severity, SeverityType: typed[monitorv1.Severity](r.Severity),
			Channels: slices.Clone(r.Channels), For: durationpb.New(r.For), Cooldown: durationpb.New(r.Cooldown), Enabled: r.Enabled,
			Environments: slices.Clone(r.Environments), Apps: slices.Clone(r.Apps),
		})
	}
	for _, t := range set.Triggers {
		metric := t.Metric
		if q, named := set.Metrics[metric]; named {
			if d, isDefault := defaults[metric]; !isDefault || d != q {
				metric = q
				if !slices.Contains(inlined, t.Metric) {
					inlined = append(inlined, t.Metric)
				}
			}
		}
		trs = append(trs, &monitorv1.RollbackTrigger{
			Name: t.Name, Metric: metric, Operator: string(t.Operator), Threshold: t.Threshold,
			Duration: durationpb.New(t.Duration), Action: t.Action, ActionType: typed[monitorv1.TriggerAction](t.Action),
			Cooldown: durationpb.New(t.Cooldown), NoData: t.NoData, Enabled: t.Enabled,
			Environments: slices.Clone(t.Environments), Apps: slices.Clone(t.Apps), Thresholds: maps.Clone(t.Thresholds),
			Severity: typed[monitorv1.Severity](t.Severity), Channels: slices.Clone(t.Channels),
		})
	}
	return ars, trs, inlined
}

// typed is the enum value named by text (unspecified when none is: the server then explains).
func typed[E enumtext.Enum](text string) E {
	v, _ := enumtext.Parse[E](text)
	return v
}

// sameAlertRule compares definitions, ignoring the version.
func sameAlertRule(a, b *monitorv1.AlertRule) bool {
	a, b = proto.CloneOf(a), proto.CloneOf(b)
	for _, r := range []*monitorv1.AlertRule{a, b} {
		r.Version = 0
		r.SeverityType, _ = enumtext.Resolve(r.GetSeverityType(), r.GetSeverity())
		r.Severity = enumtext.Name(r.SeverityType)
		r.For = durationpb.New(r.GetFor().AsDuration())
		r.Cooldown = durationpb.New(r.GetCooldown().AsDuration())
	}
	return proto.Equal(a, b)
}

// sameTrigger compares definitions, ignoring the version; no_data "" is hold.
func sameTrigger(a, b *monitorv1.RollbackTrigger) bool {
	a, b = proto.CloneOf(a), proto.CloneOf(b)
	for _, t := range []*monitorv1.RollbackTrigger{a, b} {
		t.Version = 0
		t.ActionType, _ = enumtext.Resolve(t.GetActionType(), t.GetAction())
		t.Action = enumtext.Name(t.ActionType)
		t.Duration = durationpb.New(t.GetDuration().AsDuration())
		t.Cooldown = durationpb.New(t.GetCooldown().AsDuration())
		if t.NoData == "" {
			t.NoData = "hold"
		}
	}
	return proto.Equal(a, b)
}

type applyItem struct {
	Kind        string `json:"kind"` // alertRule or rollbackTrigger
	Name        string `json:"name"`
	Result      string `json:"result"` // created, updated, unchanged
	FromVersion uint64 `json:"fromVersion,omitempty"`
	ToVersion   uint64 `json:"toVersion"`
}

func kindWord(kind string) string {
	if kind == "alertRule" {
		return "alert rule"
	}
	return "rollback trigger"
}

func (it applyItem) describe(dryRun bool) string {
	switch it.Result {
	case "created":
		if dryRun {
			return "would create"
		}
		return fmt.Sprintf("created v%d", it.ToVersion)
	case "updated":
		if dryRun {
			return fmt.Sprintf("would update v%d→v%d", it.FromVersion, it.ToVersion)
		}
		return fmt.Sprintf("updated v%d→v%d", it.FromVersion, it.ToVersion)
	}
	return fmt.Sprintf("unchanged (v%d)", it.ToVersion)
}

func notFound(err error) bool { return status.Code(err) == codes.NotFound }

// prefixStatus puts prefix before a status error's message, keeping its
// code and details (so errs.Describe still lists field violations).
func prefixStatus(prefix string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	p := st.Proto()
	p.Message = prefix + ": " + p.GetMessage()
	return status.FromProto(p).Err()
}

func newRulesApplyCmd(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Create or update the file's alert rules and rollback triggers on the server",
		Long: `apply validates a rules file (as 'floe rules check' does; the linter's
findings are printed as warnings and do not stop it), then makes the
server's alert rules and rollback triggers match each definition of the file:
a name the server does not have is created; one whose definition differs is
updated, naming the version read, so a concurrent change makes it fail rather
than be overwritten; one that is equal (ignoring the version) is unchanged and
not sent. It prints one line per definition:

  alert rule        high_error_rate    created v1
  rollback trigger  error_rate         updated v1→v2
  rollback trigger  response_time_p95  unchanged (v1)

apply never deletes: rules and triggers on the server that the file does not
define are left as they are (and listed); remove them with 'floe rules
delete'. The file's 'enabled' (default true) is applied too, so applying
re-enables a definition disabled with 'floe rules disable' unless the file
says enabled: false.

The server resolves a trigger's named metric with its own catalogue; a
trigger using a named metric that the file defines (or redefines) is sent
with that metric's PromQL instead of the name.

--dry-run reads the server and prints what would change, changing nothing.

  floe rules apply monitor-rules.yaml --dry-run
  floe rules apply monitor-rules.yaml`,
		Args: positional("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutputFlag(); err != nil {
				return err
			}
			path := args[0]
			set, problems := loadRules(path)
			if len(problems) > 0 {
				printViolations(g.errOut, path, problems)
				return fmt.Errorf("rules apply: %s is invalid; nothing was applied", path)
			}
			if fs := lint.Lint(set); len(fs) > 0 && g.output != "json" {
				// Warnings, as the server's answers carry them: they do not stop the apply.
				fmt.Fprintf(g.errOut, "%s: %d lint finding(s); applied all the same (floe rules check --strict fails on them):\n", path, len(fs))
				printFindings(g.errOut, fs)
			}
			alertRules, triggers, inlined := fileDefinitions(set)
			if len(inlined) > 0 && g.output != "json" {
				fmt.Fprintf(g.errOut, "note: named metrics defined in %s are sent as their PromQL: %s\n", path, strings.Join(inlined, ", "))
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				c := monitorClient(conn)
				var items []applyItem
				tw := newTable(g.out)
				if dryRun && g.output != "json" {
					fmt.Fprintln(g.out, "dry run: nothing is changed")
				}
				emit := func(it applyItem) {
					items = append(items, it)
					if g.output != "json" {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", kindWord(it.Kind), it.Name, it.describe(dryRun))
					}
				}
				run := func() error {
					for _, want := range alertRules {
						it, err := applyAlertRule(ctx, c, want, dryRun)
						if err != nil {
							return prefixStatus("alert rule "+want.GetName(), err)
						}
						emit(it)
					}
					for _, want := range triggers {
						it, err := applyTrigger(ctx, c, want, dryRun)
						if err != nil {
							return prefixStatus("rollback trigger "+want.GetName(), err)
						}
						emit(it)
					}
					return nil
				}
				err := run()
				_ = tw.Flush()
				if err != nil {
					return err
				}
				kept, err := notInFile(ctx, c, alertRules, triggers)
				if err != nil {
					return err
				}
				if g.output == "json" {
					if items == nil {
						items = []applyItem{}
					}
					return printJSONDoc(g.out, map[string]any{"file": path, "dryRun": dryRun, "items": items, "notInFile": kept})
				}
				n := map[string]int{}
				for _, it := range items {
					n[it.Result]++
				}
				verb := map[bool][2]string{false: {"created", "updated"}, true: {"to create", "to update"}}[dryRun]
				fmt.Fprintf(g.out, "%s: %d %s, %d %s, %d unchanged\n", count(len(items), "definition", "definitions"),
					n["created"], verb[0], n["updated"], verb[1], n["unchanged"])
				if len(kept) > 0 {
					names := make([]string, 0, len(kept))
					for _, k := range kept {
						names = append(names, kindWord(k.Kind)+" "+k.Name)
					}
					fmt.Fprintf(g.out, "on the server but not in the file (left as they are): %s\n", strings.Join(names, ", "))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change without changing anything")
	return cmd
}

// definition is what apply needs of an alert rule or a trigger.
type definition interface {
	proto.Message
	GetName() string
	GetVersion() uint64
}

// definitionAPI reads, creates and updates one kind of definition.
type definitionAPI[T definition] struct {
	kind   string
	get    func(context.Context, string) (T, error)
	create func(context.Context, T) (T, error)
	update func(context.Context, T, uint64) (T, error)
	same   func(have, want T) bool
}

// applyDefinition creates want, or updates the server's definition (naming
// the version it read) unless it is already the same.
func applyDefinition[T definition](ctx context.Context, api definitionAPI[T], want T, dryRun bool) (applyItem, error) {
	it := applyItem{Kind: api.kind, Name: want.GetName()}
	have, err := api.get(ctx, want.GetName())
	switch {
	case notFound(err):
		it.Result, it.ToVersion = "created", 1
		if dryRun {
			return it, nil
		}
		got, err := api.create(ctx, want)
		if err != nil {
			return it, err
		}
		it.ToVersion = got.GetVersion()
		return it, nil
	case err != nil:
		return it, err
	}
	if api.same(have, want) {
		it.Result, it.ToVersion = "unchanged", have.GetVersion()
		return it, nil
	}
	it.Result, it.FromVersion, it.ToVersion = "updated", have.GetVersion(), have.GetVersion()+1
	if dryRun {
		return it, nil
	}
	got, err := api.update(ctx, want, have.GetVersion())
	if err != nil {
		return it, err
	}
	it.ToVersion = got.GetVersion()
	return it, nil
}

func applyAlertRule(ctx context.Context, c monitorv1.MonitorServiceClient, want *monitorv1.AlertRule, dryRun bool) (applyItem, error) {
	return applyDefinition(ctx, definitionAPI[*monitorv1.AlertRule]{
		kind: "alertRule",
		get: func(ctx context.Context, name string) (*monitorv1.AlertRule, error) {
			r, err := c.GetAlertRule(ctx, &monitorv1.GetAlertRuleRequest{Name: name})
			return r.GetRule(), err
		},
		create: func(ctx context.Context, r *monitorv1.AlertRule) (*monitorv1.AlertRule, error) {
			resp, err := c.CreateAlertRule(ctx, &monitorv1.CreateAlertRuleRequest{Rule: r})
			return resp.GetRule(), err
		},
		update: func(ctx context.Context, r *monitorv1.AlertRule, expected uint64) (*monitorv1.AlertRule, error) {
			resp, err := c.UpdateAlertRule(ctx, &monitorv1.UpdateAlertRuleRequest{Rule: r, ExpectedVersion: expected})
			return resp.GetRule(), err
		},
		same: sameAlertRule,
	}, want, dryRun)
}

func applyTrigger(ctx context.Context, c monitorv1.MonitorServiceClient, want *monitorv1.RollbackTrigger, dryRun bool) (applyItem, error) {
	return applyDefinition(ctx, definitionAPI[*monitorv1.RollbackTrigger]{
		kind: "rollbackTrigger",
		get: func(ctx context.Context, name string) (*monitorv1.RollbackTrigger, error) {
			r, err := c.GetRollbackTrigger(ctx, &monitorv1.GetRollbackTriggerRequest{Name: name})
			return r.GetTrigger(), err
		},
		create: func(ctx context.Context, t *monitorv1.RollbackTrigger) (*monitorv1.RollbackTrigger, error) {
			resp, err := c.CreateRollbackTrigger(ctx, &monitorv1.CreateRollbackTriggerRequest{Trigger: t})
			return resp.GetTrigger(), err
		},
		update: func(ctx context.Context, t *monitorv1.RollbackTrigger, expected uint64) (*monitorv1.RollbackTrigger, error) {
			resp, err := c.UpdateRollbackTrigger(ctx, &monitorv1.UpdateRollbackTriggerRequest{Trigger: t, ExpectedVersion: expected})
			return resp.GetTrigger(), err
		},
		same: sameTrigger,
	}, want, dryRun)
}

type namedKind struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// notInFile lists the server's definitions the file does not define.
func notInFile(ctx context.Context, c monitorv1.MonitorServiceClient, ars []*monitorv1.AlertRule, trs []*monitorv1.RollbackTrigger) ([]namedKind, error) {
	out := []namedKind{}
	rs, err := c.ListAlertRules(ctx, &monitorv1.ListAlertRulesRequest{})
	if err != nil {
		return nil, err
	}
	for _, r := range rs.GetRules() {
		if !slices.ContainsFunc(ars, func(a *monitorv1.AlertRule) bool { return a.GetName() == r.GetName() }) {
			out = append(out, namedKind{"alertRule", r.GetName()})
		}
	}
	ts, err := c.ListRollbackTriggers(ctx, &monitorv1.ListRollbackTriggersRequest{})
	if err != nil {
		return nil, err
	}
	for _, t := range ts.GetTriggers() {
		if !slices.ContainsFunc(trs, func(a *monitorv1.RollbackTrigger) bool { return a.GetName() == t.GetName() }) {
			out = append(out, namedKind{"rollbackTrigger", t.GetName()})
		}
	}
	return out, nil
}

// ---- list, get, delete, enable, disable ----

// triggerCondition is "metric > 0.1 for 5m0s".
func triggerCondition(t *monitorv1.RollbackTrigger) string {
	return fmt.Sprintf("%s %s %s for %s", t.GetMetric(), t.GetOperator(), num(t.GetThreshold()), dur(t.GetDuration()))
}

func noDataPolicy(t *monitorv1.RollbackTrigger) string {
	if t.GetNoData() == "" {
		return "hold"
	}
	return t.GetNoData()
}

func newRulesListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the server's alert rules and rollback triggers",
		Long: `list prints two tables: the alert rules and the rollback triggers, by name,
with their versions and whether they are enabled. Long conditions are cut; see
'floe rules get NAME' for the whole definition. -o json prints one object with
"rules" and "triggers".

  floe rules list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				c := monitorClient(conn)
				rs, err := c.ListAlertRules(ctx, &monitorv1.ListAlertRulesRequest{})
				if err != nil {
					return err
				}
				ts, err := c.ListRollbackTriggers(ctx, &monitorv1.ListRollbackTriggersRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printMergedJSON(g.out, rs, ts)
				}
				fmt.Fprintln(g.out, "ALERT RULES")
				if len(rs.GetRules()) == 0 {
					fmt.Fprintln(g.out, "  (none)")
				} else {
					tw := newTable(g.out)
					fmt.Fprintln(tw, "NAME\tVERSION\tENABLED\tSEVERITY\tFOR\tCOOLDOWN\tCHANNELS\tCONDITION")
					for _, r := range rs.GetRules() {
						fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.GetName(), r.GetVersion(), yesNo(r.GetEnabled()), r.GetSeverity(),
							dur(r.GetFor()), dur(r.GetCooldown()), joinOrDash(r.GetChannels()), oneLine(r.GetCondition(), 60))
					}
					if err := tw.Flush(); err != nil {
						return err
					}
				}
				fmt.Fprintln(g.out)
				fmt.Fprintln(g.out, "ROLLBACK TRIGGERS")
				if len(ts.GetTriggers()) == 0 {
					fmt.Fprintln(g.out, "  (none)")
					return nil
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "NAME\tVERSION\tENABLED\tCONDITION\tACTION\tCOOLDOWN\tNO DATA")
				for _, t := range ts.GetTriggers() {
					cond := fmt.Sprintf("%s %s %s for %s", oneLine(t.GetMetric(), 50), t.GetOperator(), num(t.GetThreshold()), dur(t.GetDuration()))
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", t.GetName(), t.GetVersion(), yesNo(t.GetEnabled()), cond,
						t.GetAction(), dur(t.GetCooldown()), noDataPolicy(t))
				}
				return tw.Flush()
			})
		},
	}
}

func printAlertRule(w io.Writer, r *monitorv1.AlertRule) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "ALERT RULE\t%s\n", r.GetName())
	fmt.Fprintf(tw, "VERSION\t%d\n", r.GetVersion())
	fmt.Fprintf(tw, "ENABLED\t%s\n", yesNo(r.GetEnabled()))
	fmt.Fprintf(tw, "SEVERITY\t%s\n", r.GetSeverity())
	fmt.Fprintf(tw, "CHANNELS\t%s\n", joinOrDash(r.GetChannels()))
	fmt.Fprintf(tw, "FOR\t%s\n", dur(r.GetFor()))
	fmt.Fprintf(tw, "COOLDOWN\t%s\n", dur(r.GetCooldown()))
	fmt.Fprintf(tw, "DESCRIPTION\t%s\n", orDash(oneLine(r.GetDescription(), 0)))
	fmt.Fprintf(tw, "CONDITION\t%s\n", oneLine(r.GetCondition(), 0))
	return tw.Flush()
}

func printTrigger(w io.Writer, t *monitorv1.RollbackTrigger) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "ROLLBACK TRIGGER\t%s\n", t.GetName())
	fmt.Fprintf(tw, "VERSION\t%d\n", t.GetVersion())
	fmt.Fprintf(tw, "ENABLED\t%s\n", yesNo(t.GetEnabled()))
	fmt.Fprintf(tw, "METRIC\t%s\n", oneLine(t.GetMetric(), 0))
	fmt.Fprintf(tw, "CONDITION\t%s %s for %s\n", t.GetOperator(), num(t.GetThreshold()), dur(t.GetDuration()))
	fmt.Fprintf(tw, "ACTION\t%s\n", t.GetAction())
	fmt.Fprintf(tw, "COOLDOWN\t%s\n", dur(t.GetCooldown()))
	fmt.Fprintf(tw, "NO DATA\t%s\n", noDataPolicy(t))
	return tw.Flush()
}

func newRulesGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "get NAME",
		Aliases: []string{"show"},
		Short:   "Show an alert rule or rollback trigger",
		Long: `get shows the alert rule named NAME, or the rollback trigger of that name when
there is no such alert rule (both, when an alert rule and a trigger share the
name).

  floe rules get error_rate`,
		Args: positional("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				c := monitorClient(conn)
				ar, err := c.GetAlertRule(ctx, &monitorv1.GetAlertRuleRequest{Name: name})
				if err != nil && !notFound(err) {
					return err
				}
				hasRule := err == nil
				tr, err := c.GetRollbackTrigger(ctx, &monitorv1.GetRollbackTriggerRequest{Name: name})
				if err != nil && !notFound(err) {
					return err
				}
				hasTrigger := err == nil
				switch {
				case !hasRule && !hasTrigger:
					return status.Errorf(codes.NotFound, "no alert rule or rollback trigger is named %q (see 'floe rules list')", name)
				case g.output == "json":
					var msgs []proto.Message
					if hasRule {
						msgs = append(msgs, ar)
					}
					if hasTrigger {
						msgs = append(msgs, tr)
					}
					return printMergedJSON(g.out, msgs...)
				}
				if hasRule {
					if err := printAlertRule(g.out, ar.GetRule()); err != nil {
						return err
					}
					if hasTrigger {
						fmt.Fprintln(g.out)
					}
				}
				if hasTrigger {
					return printTrigger(g.out, tr.GetTrigger())
				}
				return nil
			})
		},
	}
}

// ruleKind parses the KIND argument: "alert" or "trigger".
func ruleKind(s string) (string, error) {
	switch enumKey(s) {
	case "alert", "alertrule", "rule":
		return "alertRule", nil
	case "trigger", "rollbacktrigger":
		return "rollbackTrigger", nil
	}
	return "", fmt.Errorf("unknown kind %q: use alert (an alert rule) or trigger (a rollback trigger)", s)
}

func completeKind(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return []string{"alert", "trigger"}, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

func newRulesDeleteCmd(g *globals) *cobra.Command {
	var expected uint64
	cmd := &cobra.Command{
		Use:   "delete alert|trigger NAME",
		Short: "Delete an alert rule or rollback trigger",
		Long: `delete removes an alert rule (its pending and firing alerts are cancelled) or
a rollback trigger (deployments stop evaluating it). --expected-version makes
the delete fail if the definition has changed since you read it.

  floe rules delete trigger response_time_p95
  floe rules delete alert high_error_rate --expected-version 3`,
		Args:              positional("alert|trigger", "NAME"),
		ValidArgsFunction: completeKind,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := ruleKind(args[0])
			if err != nil {
				return err
			}
			name := args[1]
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				c := monitorClient(conn)
				var resp proto.Message
				if kind == "alertRule" {
					resp, err = c.DeleteAlertRule(ctx, &monitorv1.DeleteAlertRuleRequest{Name: name, ExpectedVersion: expected})
				} else {
					resp, err = c.DeleteRollbackTrigger(ctx, &monitorv1.DeleteRollbackTriggerRequest{Name: name, ExpectedVersion: expected})
				}
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				fmt.Fprintf(g.out, "deleted %s %s\n", kindWord(kind), name)
				return nil
			})
		},
	}
	cmd.Flags().Uint64Var(&expected, "expected-version", 0, "fail unless the definition is at this version (0: any)")
	return cmd
}

func newRulesToggleCmd(g *globals, verb string) *cobra.Command {
	enable := verb == "enable"
	return &cobra.Command{
		Use:   verb + " alert|trigger NAME",
		Short: map[bool]string{true: "Enable an alert rule or rollback trigger", false: "Disable an alert rule or rollback trigger (kept, not evaluated)"}[enable],
		Long: fmt.Sprintf(`%s reads the definition, sets enabled to %v and updates it naming the
version read, so that a concurrent change makes it fail rather than be lost.
A definition already %sd is left alone (its version does not change). A
disabled alert rule is not evaluated (its alerts are cancelled); a disabled
trigger is not evaluated for deployments. Note that 'floe rules apply'
applies the file's enabled (default true).

  floe rules %s trigger response_time_p95`, verb, enable, verb, verb),
		Args:              positional("alert|trigger", "NAME"),
		ValidArgsFunction: completeKind,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := ruleKind(args[0])
			if err != nil {
				return err
			}
			name := args[1]
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				c := monitorClient(conn)
				var (
					resp        proto.Message
					from, to    uint64
					alreadyThat bool
				)
				if kind == "alertRule" {
					cur, err := c.GetAlertRule(ctx, &monitorv1.GetAlertRuleRequest{Name: name})
					if err != nil {
						return err
					}
					r := cur.GetRule()
					from, to, resp = r.GetVersion(), r.GetVersion(), cur
					if alreadyThat = r.GetEnabled() == enable; !alreadyThat {
						r.Enabled = enable
						up, err := c.UpdateAlertRule(ctx, &monitorv1.UpdateAlertRuleRequest{Rule: r, ExpectedVersion: from})
						if err != nil {
							return err
						}
						to, resp = up.GetRule().GetVersion(), up
					}
				} else {
					cur, err := c.GetRollbackTrigger(ctx, &monitorv1.GetRollbackTriggerRequest{Name: name})
					if err != nil {
						return err
					}
					t := cur.GetTrigger()
					from, to, resp = t.GetVersion(), t.GetVersion(), cur
					if alreadyThat = t.GetEnabled() == enable; !alreadyThat {
						t.Enabled = enable
						up, err := c.UpdateRollbackTrigger(ctx, &monitorv1.UpdateRollbackTriggerRequest{Trigger: t, ExpectedVersion: from})
						if err != nil {
							return err
						}
						to, resp = up.GetTrigger().GetVersion(), up
					}
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if alreadyThat {
					fmt.Fprintf(g.out, "%s %s is already %sd (v%d)\n", kindWord(kind), name, verb, from)
					return nil
				}
				fmt.Fprintf(g.out, "%sd %s %s: v%d→v%d\n", verb, kindWord(kind), name, from, to)
				return nil
			})
		},
	}
}
