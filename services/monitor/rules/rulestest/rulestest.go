// Package rulestest runs unit tests of the monitor's rules files, the engine
// behind `floe rules test`. It is modelled on `promtool test rules`: a test
// file names rules files, feeds synthetic series into a fresh embedded TSDB
// and asserts what the alert rules, the rollback triggers and plain PromQL
// expressions yield at given times. Alerts and triggers are evaluated with
// package eval and the domain's state machines, exactly as the running
// monitor evaluates them.
//
// # Test file
//
//	rule_files: [rules.yaml]      # relative to the test file, merged in order
//	evaluation_interval: 15s      # default 15s
//	tests:
//	  - name: error rate rolls the canary back   # default "test #N"
//	    interval: 15s             # spacing of input_series values; default evaluation_interval
//	    input_series:
//	      - series: 'http_requests_total{code="500", environment="production", version="1.2.0"}'
//	        values: '0+20x40'    # promtool notation: 1x5, 0+20x40, 5-1x3, _ (missing), stale
//	    alert_rule_test:
//	      - eval_time: 5m
//	        alertname: high_error_rate
//	        exp_alerts:
//	          - exp_labels: {code: "500", environment: production, version: 1.2.0}
//	            exp_state: firing # or pending; default firing
//	            exp_value: 0.2    # optional
//	    trigger_test:
//	      - eval_time: 6m
//	        trigger: error_rate
//	        deployment: {environment: production, version: 1.2.0, started_at: 0s}
//	        exp_fired:
//	          - {action: rollback, at: 5m15s, cause: breach}
//	        exp_state: fired      # optional: ok, breaching, no_data or fired
//	    promql_expr_test:
//	      - expr: sum(rate(http_requests_total[1m]))
//	        eval_time: 2m
//	        exp_samples:
//	          - labels: '{}'
//	            value: 1.3333333333333333
//
// Durations are Prometheus or Go duration strings ("15s", "5m15s", "1h30m",
// "1d"); a bare number other than 0 is refused, since its unit would be a
// guess. Unknown fields are errors.
//
// # Semantics
//
// Every test has its own empty TSDB. Time is an offset from a fixed base
// (the Unix epoch): the n-th value of an input series (from 0) is stored at
// n·interval, "_" stores nothing and "stale" stores a Prometheus staleness
// marker. Each series string must be unique within a test.
//
// Rules files are parsed with rules.Parse, as the monitor reads them, and
// merged in order: a later file may not define an alert rule, a trigger, or a
// named metric with different PromQL, that an earlier file defines.
//
// Alert rules and triggers are evaluated at 0, evaluation_interval,
// 2·evaluation_interval, … up to and including eval_time; what is checked is
// the state after the last evaluation at or before eval_time. Each case is
// evaluated from 0, independently of the others (a later case of the same
// rule may reuse the evaluations of an earlier one; they are deterministic).
//
//   - alert_rule_test: each evaluation folds the rule's condition through
//     eval.Alerts (so domain.AlertState.Observe). An alert's labels are those
//     of the condition's result series, without __name__. exp_alerts lists
//     every firing alert of the rule: a firing alert not listed, or a listed
//     one that is not firing, fails; an empty or omitted list means none
//     fires. An entry with exp_state: pending asserts that alert is pending
//     (pending alerts that are not listed are not checked, as in promtool).
//     exp_value is the condition's value for the alert's series at eval_time.
//   - trigger_test: the trigger's metric is resolved (rules.Set.Resolve),
//     scoped to the deployment with eval.TriggerQuery, sampled with
//     eval.TriggerSample and folded through domain.TriggerState.Observe with
//     the deployment starting at started_at (evaluations before it are
//     ignored, as the monitor ignores them). exp_fired lists every decision of
//     kind "fired" up to eval_time, in time order; omitted means none.
//     exp_state is the trigger's state after the last evaluation, the first
//     of these that applies:
//     fired: a breach or a no-data run is in progress and has fired;
//     breaching: a breach is in progress (held through missing samples, or
//     suppressed by a cooldown) and has not fired;
//     no_data: the last sample observed was missing (no series, or NaN);
//     ok: anything else, including a deployment with no sample observed yet.
//   - promql_expr_test: expr is evaluated at eval_time; the result must have
//     exactly the expected series (labels in promtool notation, with the
//     metric name when the result keeps it; '{}' for none), in any order.
//
// Values (exp_value, exp_samples) are equal when they are within a relative
// tolerance of 1e-9; NaN equals NaN and infinities must match exactly.
package rulestest

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Result is the outcome of one test file.
type Result struct {
	// File is the test file's path, as given to Run.
	File string
	// Tests has one entry per test group of the file, in file order.
	Tests []TestResult
}

// TestResult is the outcome of one test group.
type TestResult struct {
	// Name is the test's name, or "test #N" (from 1) when it has none.
	Name string
	// Failures are the failed assertions, in file order, each saying what
	// was expected and what was found. A failure may span several lines.
	Failures []string
}

// Passed reports whether the test had no failure.
func (t TestResult) Passed() bool { return len(t.Failures) == 0 }

// Passed reports whether every test of the file passed.
func (r *Result) Passed() bool {
	for _, t := range r.Tests {
		if !t.Passed() {
			return false
		}
	}
	return true
}

// Failed is the number of tests that failed.
func (r *Result) Failed() int {
	n := 0
	for _, t := range r.Tests {
		if !t.Passed() {
			n++
		}
	}
	return n
}

// Write prints a promtool-like report: the file, a PASS or FAIL line per
// test with its failures indented below, and a summary line.
func (r *Result) Write(w io.Writer) {
	fmt.Fprintf(w, "Unit testing: %s\n", r.File)
	for _, t := range r.Tests {
		if t.Passed() {
			fmt.Fprintf(w, "  PASS  %s\n", t.Name)
			continue
		}
		fmt.Fprintf(w, "  FAIL  %s\n", t.Name)
		for _, f := range t.Failures {
			fmt.Fprintf(w, "        %s\n", strings.ReplaceAll(f, "\n", "\n        "))
		}
	}
	if failed := r.Failed(); failed > 0 {
		fmt.Fprintf(w, "FAILED: %d of %d %s failed\n", failed, len(r.Tests), plural(len(r.Tests), "test", "tests"))
		return
	}
	fmt.Fprintf(w, "SUCCESS: %d %s passed\n", len(r.Tests), plural(len(r.Tests), "test", "tests"))
}

// FileError reports a test file that cannot be run, with every problem
// found (as far as the file could be read).
type FileError struct {
	// File is the test file's path, as given to Run.
	File string
	// Problems are the problems, each with its line and field path where known,
	// e.g. `line 12: tests[0].input_series[1]: invalid series …`.
	Problems []string
}

// Error lists the problems.
func (e *FileError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("rules test %s: %s", e.File, e.Problems[0])
	}
	return fmt.Sprintf("rules test %s: %d problems:\n  %s", e.File, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Run runs the tests of the test file at path. The error (a *FileError
// unless ctx ends) says why the file itself is unusable: unreadable, bad
// YAML, an unknown field, a missing or invalid rules file, invalid series
// notation…; failed assertions are in the Result instead.
func Run(ctx context.Context, path string) (*Result, error) {
	s, err := load(path)
	if err != nil {
		return nil, err
	}
	res := &Result{File: path}
	for _, g := range s.groups {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		failures, err := s.run(ctx, g)
		if err != nil {
			return nil, err
		}
		res.Tests = append(res.Tests, TestResult{Name: g.name, Failures: failures})
	}
	return res, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
