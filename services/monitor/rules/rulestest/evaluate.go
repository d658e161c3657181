package rulestest

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/eval"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

// base is the time every offset of a test file counts from.
var base = time.Unix(0, 0).UTC()

// run runs one test group in a fresh TSDB and returns its failures. The
// error is a problem of the machinery (the TSDB cannot be created) or ctx's.
func (s *suite) run(ctx context.Context, g group) (failures []string, err error) {
	dir, err := os.MkdirTemp("", "floe-rulestest-")
	if err != nil {
		return nil, fmt.Errorf("rules test %s: %w", s.file, err)
	}
	defer os.RemoveAll(dir)
	db, err := metrics.OpenEmbedded(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("rules test %s: %w", s.file, err)
	}
	defer db.Close()

	if err := g.load(ctx, db); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return []string{err.Error()}, nil
	}
	r := &runner{suite: s, src: db, alertRuns: map[string]*alertRun{}, triggerRuns: map[string]*triggerRun{}}
	for _, c := range g.alerts {
		failures = append(failures, r.checkAlert(ctx, c)...)
	}
	for _, c := range g.triggers {
		failures = append(failures, r.checkTrigger(ctx, c)...)
	}
	for _, c := range g.exprs {
		failures = append(failures, r.checkExpr(ctx, c)...)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return failures, nil
}

// load appends the input series, in time order across series so that the
// TSDB head accepts every sample.
func (g group) load(ctx context.Context, db *metrics.Embedded) error {
	n := 0
	for _, s := range g.series {
		n = max(n, len(s.values))
	}
	for i := range n {
		at := base.Add(time.Duration(i) * g.interval)
		for _, s := range g.series {
			if i >= len(s.values) || s.values[i].Omitted {
				continue
			}
			if err := db.Append(ctx, s.labels, at, s.values[i].Value); err != nil {
				return fmt.Errorf("loading input series %s at %s: %w", labels.FromMap(s.labels), offset(at.Sub(base)), err)
			}
		}
	}
	return nil
}

// runner evaluates the cases of one test group. Evaluation is deterministic,
// so a case whose eval_time is not before the previous case of the same rule
// (or trigger and deployment) continues that case's evaluations instead of
// starting again from 0: the result is the same.
type runner struct {
	*suite
	src         metrics.Source
	alertRuns   map[string]*alertRun
	triggerRuns map[string]*triggerRun
}

// steps calls f at 0, every, 2·every, … for those of them in [from, to]
// (from is a step index) and returns the next step index.
func (r *runner) steps(from int64, to time.Duration, f func(at time.Time) error) (int64, error) {
	k := from
	for ; time.Duration(k)*r.every <= to; k++ {
		if err := f(base.Add(time.Duration(k) * r.every)); err != nil {
			return k, err
		}
	}
	return k, nil
}

type alertRun struct {
	states map[string]*eval.Series
	next   int64
	at     time.Duration // eval_time reached
}

func (r *runner) checkAlert(ctx context.Context, c alertCase) []string {
	where := fmt.Sprintf("alert %s at %s", c.name, offset(c.at))
	i := slices.IndexFunc(r.set.AlertRules, func(a domain.AlertRule) bool { return a.Name == c.name })
	if i < 0 {
		return []string{fmt.Sprintf("%s: no such alert rule; the rules files define %s", where, known(r.set.AlertRules, func(a domain.AlertRule) string { return a.Name }))}
	}
	rule := r.set.AlertRules[i]
	if !rule.Enabled {
		where += " (the rule is disabled)"
	}
	run := r.alertRuns[c.name]
	if run == nil || c.at < run.at {
		run = &alertRun{states: map[string]*eval.Series{}}
		r.alertRuns[c.name] = run
	}
	var err error
	run.next, err = r.steps(run.next, c.at, func(at time.Time) error {
		_, err := eval.Alerts(ctx, r.src, rule, run.states, at)
		return err
	})
	run.at = c.at
	if err != nil {
		delete(r.alertRuns, c.name)
		return []string{fmt.Sprintf("%s: evaluating the condition: %v", where, err)}
	}
	// The condition's values at the last evaluation, for exp_value and the report.
	values := map[string]float64{}
	res, err := r.src.Query(ctx, rule.Condition, base.Add(time.Duration(run.next-1)*r.every))
	if err != nil {
		return []string{fmt.Sprintf("%s: evaluating the condition: %v", where, err)}
	}
	for _, s := range res {
		delete(s.Labels, "__name__")
		values[eval.Key(s.Labels)] = s.Value
	}

	var details []string
	nWant, expected := 0, map[string]bool{}
	for _, w := range c.exp {
		key := eval.Key(w.labels)
		expected[key] = true
		if w.state == domain.AlertFiring {
			nWant++
		}
		st := run.states[key]
		if st == nil || st.State.Current() != w.state {
			details = append(details, fmt.Sprintf("missing %s %s: %s", w.state, key, describeAlert(st, values, key)))
			continue
		}
		if w.value != nil {
			if got, ok := values[key]; !ok || !sameValue(got, *w.value) {
				details = append(details, fmt.Sprintf("%s %s: value %s, expected %s", w.state, key, valueOrNone(got, ok), formatValue(*w.value)))
			}
		}
	}
	nGot := 0
	for _, key := range slices.Sorted(maps.Keys(run.states)) {
		st := run.states[key]
		if st.State.Current() != domain.AlertFiring {
			continue
		}
		nGot++
		if !expected[key] {
			details = append(details, fmt.Sprintf("unexpected firing %s: %s", key, describeAlert(st, values, key)))
		}
	}
	if len(details) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: expected %d firing %s, got %d\n  %s",
		where, nWant, plural(nWant, "alert", "alerts"), nGot, strings.Join(details, "\n  "))}
}

// describeAlert says what an alert series is doing, times as offsets.
func describeAlert(st *eval.Series, values map[string]float64, key string) string {
	v, ok := values[key]
	value := ""
	if ok {
		value = ", value " + formatValue(v)
	}
	if st == nil {
		if ok {
			return "the condition holds but the alert is inactive" + value
		}
		return "inactive (the condition returns no such series)"
	}
	switch st.State.Current() {
	case domain.AlertPending:
		return fmt.Sprintf("pending since %s%s", offset(st.State.ActiveSince.Sub(base)), value)
	case domain.AlertFiring:
		return fmt.Sprintf("firing since %s%s", offset(st.State.FiredAt.Sub(base)), value)
	case domain.AlertResolved:
		return fmt.Sprintf("resolved at %s", offset(st.State.ResolvedAt.Sub(base)))
	}
	return st.State.Current()
}

type triggerRun struct {
	state   *domain.TriggerState
	fired   []domain.Decision
	missing bool // the last sample observed was missing
	next    int64
	at      time.Duration
}

func (r *runner) checkTrigger(ctx context.Context, c triggerCase) []string {
	where := fmt.Sprintf("trigger %s at %s (%s %s from %s)", c.name, offset(c.at),
		c.deployment.Environment, c.deployment.Version, offset(c.deployment.StartedAt.Sub(base)))
	i := slices.IndexFunc(r.set.Triggers, func(t domain.Trigger) bool { return t.Name == c.name })
	if i < 0 {
		return []string{fmt.Sprintf("%s: no such trigger; the rules files define %s", where, known(r.set.Triggers, func(t domain.Trigger) string { return t.Name }))}
	}
	trigger := r.set.Triggers[i]
	if !trigger.Enabled {
		where += " (the trigger is disabled)"
	}
	query, err := eval.TriggerQuery(r.set.Resolve(trigger.Metric), c.deployment)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	key := strings.Join([]string{c.name, c.deployment.Environment, c.deployment.Version, c.deployment.StartedAt.String()}, "\x00")
	run := r.triggerRuns[key]
	if run == nil || c.at < run.at {
		run = &triggerRun{state: domain.NewTriggerState(c.deployment)}
		r.triggerRuns[key] = run
	}
	run.next, err = r.steps(run.next, c.at, func(at time.Time) error {
		sample, err := eval.TriggerSample(ctx, r.src, query, trigger, at)
		if err != nil {
			return err
		}
		before := run.state.Samples
		d := run.state.Observe(trigger, sample)
		if run.state.Samples != before {
			run.missing = sample.Missing()
		}
		if d.Kind == domain.KindFired {
			run.fired = append(run.fired, d)
		}
		return nil
	})
	run.at = c.at
	if err != nil {
		delete(r.triggerRuns, key)
		return []string{fmt.Sprintf("%s: evaluating %s: %v", where, query, err)}
	}

	var failures []string
	got := make([]wantFiring, 0, len(run.fired))
	for _, d := range run.fired {
		got = append(got, wantFiring{action: d.Action, cause: d.Cause, at: d.At.Sub(base)})
	}
	if !slices.Equal(got, c.fired) {
		failures = append(failures, fmt.Sprintf("%s: expected %s, got %s (state: %s)",
			where, firings(c.fired), firings(got), describeTrigger(run, trigger)))
	}
	if c.state != "" {
		if s := triggerState(run); s != c.state {
			failures = append(failures, fmt.Sprintf("%s: expected state %s, got %s", where, c.state, describeTrigger(run, trigger)))
		}
	}
	return failures
}

// triggerState is the state of a trigger run, as documented in the package doc.
func triggerState(run *triggerRun) string {
	st := run.state
	switch {
	case st.Breach.Active && st.Breach.Fired, st.NoData.Active && st.NoData.Fired:
		return stateFired
	case st.Breach.Active:
		return stateBreaching
	case st.Samples > 0 && run.missing:
		return stateNoData
	}
	return stateOK
}

// describeTrigger is the state of a trigger run with its details.
func describeTrigger(run *triggerRun, t domain.Trigger) string {
	st := run.state
	since := func(t time.Time) string { return offset(t.Sub(base)) }
	switch triggerState(run) {
	case stateFired:
		if st.Breach.Active && st.Breach.Fired {
			return fmt.Sprintf("fired (breaching since %s)", since(st.Breach.Since))
		}
		return fmt.Sprintf("fired (no data since %s)", since(st.NoData.Since))
	case stateBreaching:
		msg := fmt.Sprintf("breaching since %s, sustained %s of %s", since(st.Breach.Since), offset(st.Breach.Sustained), offset(t.Duration))
		if st.Breach.Suppressed {
			msg += ", suppressed by the cooldown"
		}
		if run.missing {
			msg += ", held through no data"
		}
		return msg
	case stateNoData:
		if st.NoData.Active {
			return fmt.Sprintf("no_data since %s (policy %s, %s of %s)", since(st.NoData.Since), t.NoDataPolicy(), offset(st.NoData.Sustained), offset(t.Duration))
		}
		return fmt.Sprintf("no_data (policy %s)", t.NoDataPolicy())
	}
	if st.Samples == 0 {
		return "ok, no evaluation in the deployment yet"
	}
	return "ok"
}

func firings(fs []wantFiring) string {
	if len(fs) == 0 {
		return "no firing"
	}
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%s at %s (%s)", f.action, offset(f.at), f.cause))
	}
	return plural(len(fs), "firing ", "firings ") + "[" + strings.Join(parts, ", ") + "]"
}

func (r *runner) checkExpr(ctx context.Context, c exprCase) []string {
	where := fmt.Sprintf("promql %s at %s", c.expr, offset(c.at))
	res, err := r.src.Query(ctx, c.expr, base.Add(c.at))
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	got := make([]wantSample, 0, len(res))
	for _, s := range res {
		got = append(got, wantSample{labels: labels.FromMap(s.Labels), value: s.Value})
	}
	sortSamples(got)
	want := slices.Clone(c.samples)
	sortSamples(want)

	var details []string
	for _, w := range want {
		i := slices.IndexFunc(got, func(g wantSample) bool { return labels.Equal(g.labels, w.labels) })
		switch {
		case i < 0:
			details = append(details, fmt.Sprintf("missing %s %s", w.labels, formatValue(w.value)))
		case !sameValue(got[i].value, w.value):
			details = append(details, fmt.Sprintf("%s: value %s, expected %s", w.labels, formatValue(got[i].value), formatValue(w.value)))
		}
	}
	for _, g := range got {
		if !slices.ContainsFunc(want, func(w wantSample) bool { return labels.Equal(g.labels, w.labels) }) {
			details = append(details, fmt.Sprintf("unexpected %s %s", g.labels, formatValue(g.value)))
		}
	}
	if len(details) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: expected %s, got %s\n  %s", where, samples(want), samples(got), strings.Join(details, "\n  "))}
}

func sortSamples(s []wantSample) {
	sort.SliceStable(s, func(i, j int) bool { return labels.Compare(s[i].labels, s[j].labels) < 0 })
}

func samples(s []wantSample) string {
	if len(s) == 0 {
		return "no series"
	}
	parts := make([]string, 0, len(s))
	for _, x := range s {
		parts = append(parts, x.labels.String()+" "+formatValue(x.value))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// sameValue compares values with a relative tolerance of 1e-9; NaN equals
// NaN and infinities only themselves.
func sameValue(got, want float64) bool {
	switch {
	case got == want, math.IsNaN(got) && math.IsNaN(want):
		return true
	case math.IsInf(got, 0), math.IsInf(want, 0), math.IsNaN(got), math.IsNaN(want):
		return false
	}
	return math.Abs(got-want) <= 1e-9*math.Max(math.Abs(got), math.Abs(want))
}

func valueOrNone(v float64, ok bool) string {
	if !ok {
		return "none (the condition returns no such series)"
	}
	return formatValue(v)
}

// known lists the names of xs for a failure message.
func known[T any](xs []T, name func(T) string) string {
	if len(xs) == 0 {
		return "none"
	}
	names := make([]string, 0, len(xs))
	for _, x := range xs {
		names = append(names, name(x))
	}
	return strings.Join(names, ", ")
}
