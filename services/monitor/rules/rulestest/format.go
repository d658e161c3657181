package rulestest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/eval"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
	"github.com/penguinmails/floe/services/monitor/rules"
)

const (
	defaultEvaluationInterval = 15 * time.Second
	// maxEvaluations bounds the evaluations (eval_time / evaluation_interval)
	// and the values of a series, so a typo cannot run for hours.
	maxEvaluations = 100_000
)

// testFile is the YAML form of a test file.
type testFile struct {
	RuleFiles          []string    `yaml:"rule_files"`
	EvaluationInterval duration    `yaml:"evaluation_interval"`
	Tests              []testGroup `yaml:"tests"`
}

type testGroup struct {
	Name            string        `yaml:"name"`
	Interval        duration      `yaml:"interval"`
	InputSeries     []inputSeries `yaml:"input_series"`
	AlertRuleTests  []alertTest   `yaml:"alert_rule_test"`
	TriggerTests    []triggerTest `yaml:"trigger_test"`
	PromQLExprTests []promQLTest  `yaml:"promql_expr_test"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertTest struct {
	EvalTime  duration   `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []expAlert `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels map[string]string `yaml:"exp_labels"`
	ExpState  string            `yaml:"exp_state"`
	ExpValue  *float64          `yaml:"exp_value"`
}

type triggerTest struct {
	EvalTime   duration    `yaml:"eval_time"`
	Trigger    string      `yaml:"trigger"`
	Deployment deployment  `yaml:"deployment"`
	ExpFired   []expFiring `yaml:"exp_fired"`
	ExpState   string      `yaml:"exp_state"`
}

type deployment struct {
	Environment string   `yaml:"environment"`
	Version     string   `yaml:"version"`
	StartedAt   duration `yaml:"started_at"`
}

type expFiring struct {
	Action string   `yaml:"action"`
	At     duration `yaml:"at"`
	Cause  string   `yaml:"cause"`
}

type promQLTest struct {
	Expr       string      `yaml:"expr"`
	EvalTime   duration    `yaml:"eval_time"`
	ExpSamples []expSample `yaml:"exp_samples"`
}

type expSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// duration is a test file duration: a Prometheus ("1d", "5m15s") or Go
// ("1.5m") duration string, not negative; a bare number other than 0 is refused.
type duration struct {
	d   time.Duration
	set bool
}

// UnmarshalYAML implements yaml.Unmarshaler. Its errors are *yaml.TypeError
// so that decoding goes on and every problem is reported.
func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	bad := func(format string, args ...any) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)}}
	}
	if n.Kind != yaml.ScalarNode {
		return bad("a duration is a string such as 15s, 5m or 1h30m")
	}
	v := strings.TrimSpace(n.Value)
	if _, err := strconv.ParseFloat(v, 64); err == nil && v != "0" {
		return bad("%q needs a unit, e.g. %ss or %sm", v, v, v)
	}
	if md, err := model.ParseDuration(v); err == nil {
		d.d, d.set = time.Duration(md), true
		return nil
	}
	gd, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return bad("%q is not a duration (e.g. 15s, 5m, 1h30m)", v)
	case gd < 0:
		return bad("%q: a duration must not be negative", v)
	}
	d.d, d.set = gd, true
	return nil
}

// suite is a test file checked and compiled.
type suite struct {
	file   string
	set    rules.Set
	every  time.Duration // evaluation_interval
	groups []group
}

type group struct {
	name     string
	interval time.Duration
	series   []series
	alerts   []alertCase
	triggers []triggerCase
	exprs    []exprCase
}

type series struct {
	labels map[string]string
	values []parser.SequenceValue
}

type alertCase struct {
	at   time.Duration
	name string
	exp  []wantAlert
}

type wantAlert struct {
	labels map[string]string
	state  string
	value  *float64
}

type triggerCase struct {
	at         time.Duration
	name       string
	deployment domain.Deployment // StartedAt as an offset from base
	fired      []wantFiring
	state      string
}

type wantFiring struct {
	action, cause string
	at            time.Duration
}

type exprCase struct {
	expr    string
	at      time.Duration
	samples []wantSample
}

type wantSample struct {
	labels labels.Labels
	value  float64
}

// Trigger states a trigger_test may expect (exp_state).
const (
	stateOK        = "ok"
	stateBreaching = "breaching"
	stateNoData    = "no_data"
	stateFired     = "fired"
)

// checker collects the problems of a test file, with their lines.
type checker struct {
	root     *yaml.Node
	problems []string
}

// addf records a problem of the field at path (string keys and int indices).
func (c *checker) addf(path []any, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	field := fieldPath(path)
	if field != "" {
		msg = field + ": " + msg
	}
	if line := lineOf(c.root, path); line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	c.problems = append(c.problems, msg)
}

// child appends elements to a path without aliasing it.
func child(path []any, elems ...any) []any {
	return append(slices.Clip(path), elems...)
}

func fieldPath(path []any) string {
	var b strings.Builder
	for _, e := range path {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, e)
		}
	}
	return b.String()
}

// lineOf is the line of the deepest node of the document reached by path
// (the key's line for a mapping entry), following aliases, or 0.
func lineOf(root *yaml.Node, path []any) int {
	n := root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, e := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias // into the anchored node, where the text is
		}
		switch e := e.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == e {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		case int:
			if n.Kind != yaml.SequenceNode || e >= len(n.Content) {
				return line
			}
			n = n.Content[e]
			line = n.Line
		}
	}
	return line
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type rulestest\.(\w+)`)

// fieldsOf names the fields of the file format's types, for unknown fields.
var fieldsOf = map[string]string{}

func init() {
	for _, v := range []any{testFile{}, testGroup{}, inputSeries{}, alertTest{}, expAlert{}, triggerTest{}, deployment{}, expFiring{}, promQLTest{}, expSample{}} {
		t := reflect.TypeOf(v)
		var names []string
		for f := range t.Fields() {
			names = append(names, strings.Split(f.Tag.Get("yaml"), ",")[0])
		}
		fieldsOf[t.Name()] = strings.Join(names, ", ")
	}
}

// explainYAML rewrites a decoding error of the YAML library for a person.
func explainYAML(e string) string {
	if m := unknownField.FindStringSubmatch(e); m != nil {
		return strings.Replace(e, m[0], fmt.Sprintf("unknown field %q (known here: %s)", m[1], fieldsOf[m[2]]), 1)
	}
	return e
}

// lineNumber is the line of a problem ("line N: …"), or 0.
func lineNumber(problem string) int {
	var n int
	if _, err := fmt.Sscanf(problem, "line %d:", &n); err != nil {
		return 0
	}
	return n
}

// load reads, checks and compiles the test file at path.
func load(path string) (*suite, error) {
	fail := func(problems ...string) error { return &FileError{File: path, Problems: problems} }
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail(err.Error())
	}
	c := &checker{root: &yaml.Node{}}
	if err := yaml.Unmarshal(data, c.root); err != nil {
		return nil, fail(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc := c.root.Content; len(doc) > 0 && doc[0].Kind != yaml.MappingNode {
		return nil, fail(fmt.Sprintf("line %d: a test file is a mapping with rule_files, evaluation_interval and tests, not %s", doc[0].Line, doc[0].ShortTag()))
	}
	var f testFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fail(strings.TrimPrefix(err.Error(), "yaml: "))
		}
		for _, e := range te.Errors {
			c.problems = append(c.problems, explainYAML(e))
		}
	}

	s := &suite{file: path, every: defaultEvaluationInterval}
	if f.EvaluationInterval.set {
		s.every = f.EvaluationInterval.d
		if s.every <= 0 {
			c.addf([]any{"evaluation_interval"}, "must be positive")
			s.every = defaultEvaluationInterval
		}
	}
	s.set = loadRules(c, filepath.Dir(path), f.RuleFiles)
	if len(f.Tests) == 0 {
		c.addf([]any{"tests"}, "no tests")
	}
	p := parser.NewParser(parser.Options{})
	for i, tg := range f.Tests {
		s.groups = append(s.groups, s.compileGroup(c, p, []any{"tests", i}, i, tg))
	}
	if len(c.problems) > 0 {
		slices.SortStableFunc(c.problems, func(a, b string) int { return lineNumber(a) - lineNumber(b) })
		return nil, fail(c.problems...)
	}
	return s, nil
}

// loadRules parses and merges the rules files.
func loadRules(c *checker, dir string, files []string) rules.Set {
	merged := rules.Set{Metrics: rules.DefaultMetrics()}
	if len(files) == 0 {
		c.addf([]any{"rule_files"}, "must name at least one rules file")
		return merged
	}
	defaults := rules.DefaultMetrics()
	metricFrom := map[string]string{} // explicitly defined metric → file
	ruleFrom := map[string]string{}
	triggerFrom := map[string]string{}
	for i, name := range files {
		path := []any{"rule_files", i}
		full := name
		if !filepath.IsAbs(full) {
			full = filepath.Join(dir, name)
		}
		data, err := os.ReadFile(full)
		if err != nil {
			c.addf(path, "%v", err)
			continue
		}
		set, err := rules.Parse(data)
		if err != nil {
			var ia *errs.InvalidArgumentError
			if !errors.As(err, &ia) {
				c.addf(path, "%s: %v", name, err)
				continue
			}
			for _, v := range ia.Violations {
				c.addf(path, "%s: %s: %s", name, v.Field, v.Description)
			}
			continue
		}
		for _, m := range slices.Sorted(maps.Keys(set.Metrics)) {
			q := set.Metrics[m]
			if d, ok := defaults[m]; ok && d == q {
				continue // a default, not defined by this file
			}
			if prev, ok := metricFrom[m]; ok && merged.Metrics[m] != q {
				c.addf(path, "%s: metric %q is already defined differently in %s", name, m, prev)
				continue
			}
			metricFrom[m], merged.Metrics[m] = name, q
		}
		for _, r := range set.AlertRules {
			if prev, ok := ruleFrom[r.Name]; ok {
				c.addf(path, "%s: alert rule %q is already defined in %s", name, r.Name, prev)
				continue
			}
			ruleFrom[r.Name] = name
			merged.AlertRules = append(merged.AlertRules, r)
		}
		for _, t := range set.Triggers {
			if prev, ok := triggerFrom[t.Name]; ok {
				c.addf(path, "%s: trigger %q is already defined in %s", name, t.Name, prev)
				continue
			}
			triggerFrom[t.Name] = name
			merged.Triggers = append(merged.Triggers, t)
		}
	}
	return merged
}

// evalTime checks an eval_time-like offset against the evaluation bound.
func (s *suite) evalTime(c *checker, path []any, d duration) time.Duration {
	if d.d/s.every > maxEvaluations {
		c.addf(path, "%s is more than %d evaluations of %s", offset(d.d), maxEvaluations, offset(s.every))
	}
	return d.d
}

func (s *suite) compileGroup(c *checker, p parser.Parser, path []any, i int, tg testGroup) group {
	g := group{name: tg.Name, interval: s.every}
	if strings.TrimSpace(g.name) == "" {
		g.name = fmt.Sprintf("test #%d", i+1)
	}
	if tg.Interval.set {
		if tg.Interval.d <= 0 {
			c.addf(child(path, "interval"), "must be positive")
		} else {
			g.interval = tg.Interval.d
		}
	}

	seen := map[string]int{}
	for j, is := range tg.InputSeries {
		sp := child(path, "input_series", j)
		if strings.TrimSpace(is.Series) == "" {
			c.addf(child(sp, "series"), "is required")
			continue
		}
		lbls, values, err := p.ParseSeriesDesc(is.Series + " " + is.Values)
		if err != nil {
			c.addf(sp, "invalid series %q with values %q: %v", is.Series, is.Values, err)
			continue
		}
		if lbls.IsEmpty() {
			c.addf(child(sp, "series"), "%q has no labels", is.Series)
			continue
		}
		if len(values) > maxEvaluations {
			c.addf(child(sp, "values"), "%d values, more than %d", len(values), maxEvaluations)
			continue
		}
		if slices.ContainsFunc(values, func(v parser.SequenceValue) bool { return v.Histogram != nil }) {
			c.addf(child(sp, "values"), "native histograms are not supported")
			continue
		}
		key := lbls.String()
		if prev, ok := seen[key]; ok {
			c.addf(child(sp, "series"), "%q is already input_series[%d]", is.Series, prev)
			continue
		}
		seen[key] = j
		g.series = append(g.series, series{labels: lbls.Map(), values: values})
	}

	for j, t := range tg.AlertRuleTests {
		tp := child(path, "alert_rule_test", j)
		ac := alertCase{at: s.evalTime(c, child(tp, "eval_time"), t.EvalTime), name: t.Alertname}
		if strings.TrimSpace(t.Alertname) == "" {
			c.addf(child(tp, "alertname"), "is required")
		}
		for k, e := range t.ExpAlerts {
			ep := child(tp, "exp_alerts", k)
			w := wantAlert{labels: e.ExpLabels, state: e.ExpState, value: e.ExpValue}
			if w.labels == nil {
				w.labels = map[string]string{}
			}
			switch w.state {
			case "":
				w.state = domain.AlertFiring
			case domain.AlertFiring, domain.AlertPending:
			default:
				c.addf(child(ep, "exp_state"), "%q is not one of firing, pending", e.ExpState)
			}
			for _, k2 := range slices.Sorted(maps.Keys(w.labels)) {
				if k2 == "__name__" || !model.UTF8Validation.IsValidLabelName(k2) {
					c.addf(child(ep, "exp_labels"), "%q is not a label an alert can have", k2)
				}
			}
			for _, prev := range ac.exp {
				if maps.Equal(prev.labels, w.labels) {
					c.addf(child(ep, "exp_labels"), "%s is listed twice", eval.Key(w.labels))
				}
			}
			ac.exp = append(ac.exp, w)
		}
		g.alerts = append(g.alerts, ac)
	}

	for j, t := range tg.TriggerTests {
		tp := child(path, "trigger_test", j)
		tc := triggerCase{at: s.evalTime(c, child(tp, "eval_time"), t.EvalTime), name: t.Trigger, state: t.ExpState}
		if strings.TrimSpace(t.Trigger) == "" {
			c.addf(child(tp, "trigger"), "is required")
		}
		dp := child(tp, "deployment")
		if t.Deployment.Environment == "" {
			c.addf(child(dp, "environment"), "is required")
		}
		if t.Deployment.Version == "" {
			c.addf(child(dp, "version"), "is required")
		}
		tc.deployment = domain.Deployment{
			ID:          "rulestest",
			Environment: t.Deployment.Environment,
			Version:     t.Deployment.Version,
			StartedAt:   base.Add(t.Deployment.StartedAt.d),
		}
		switch t.ExpState {
		case "", stateOK, stateBreaching, stateNoData, stateFired:
		default:
			c.addf(child(tp, "exp_state"), "%q is not one of ok, breaching, no_data, fired", t.ExpState)
		}
		for k, e := range t.ExpFired {
			fp := child(tp, "exp_fired", k)
			w := wantFiring{action: e.Action, cause: e.Cause, at: e.At.d}
			switch w.action {
			case domain.ActionRollback, domain.ActionAlert, domain.ActionScaleUp:
			default:
				c.addf(child(fp, "action"), "%q is not one of rollback, alert, scale_up", e.Action)
			}
			switch w.cause {
			case "":
				w.cause = domain.CauseBreach
			case domain.CauseBreach, domain.CauseNoData:
			default:
				c.addf(child(fp, "cause"), "%q is not one of breach, no_data", e.Cause)
			}
			if !e.At.set {
				c.addf(child(fp, "at"), "is required")
			}
			tc.fired = append(tc.fired, w)
		}
		g.triggers = append(g.triggers, tc)
	}

	for j, t := range tg.PromQLExprTests {
		tp := child(path, "promql_expr_test", j)
		ec := exprCase{expr: t.Expr, at: s.evalTime(c, child(tp, "eval_time"), t.EvalTime)}
		if strings.TrimSpace(t.Expr) == "" {
			c.addf(child(tp, "expr"), "is required")
		} else if err := metrics.Validate(t.Expr); err != nil {
			c.addf(child(tp, "expr"), "%v", err)
		}
		for k, e := range t.ExpSamples {
			sp := child(tp, "exp_samples", k)
			lbls, err := p.ParseMetric(e.Labels)
			if err != nil {
				c.addf(child(sp, "labels"), "%q is not a series such as '{code=\"500\"}' or 'up{job=\"api\"}': %v", e.Labels, err)
				continue
			}
			ec.samples = append(ec.samples, wantSample{labels: lbls, value: e.Value})
		}
		g.exprs = append(g.exprs, ec)
	}
	return g
}

// offset formats an offset from the base time: 5m15s, 1h, 0s.
func offset(d time.Duration) string {
	if d%time.Millisecond != 0 || d < 0 {
		return d.String()
	}
	return model.Duration(d).String()
}

// formatValue formats a sample value.
func formatValue(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
