package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// fold applies events as the log would.
func fold(t *testing.T, r *Run, actor string, at time.Time, events []proto.Message) {
	t.Helper()
	for _, e := range events {
		r.Apply(e, actor, at)
	}
}

func stagingDefs() *Defs {
	return &Defs{Environment: "staging", Version: 1, Gates: DefaultDefinitions()["staging"]}
}

func openStaging(t *testing.T) *Run {
	t.Helper()
	r := NewRun(RunID("rel1", "staging"))
	fold(t, r, "floe/gate", t0, Open(r, Opening{ReleaseID: "rel1", Product: "pm", Version: "1.0.0", Environment: "staging",
		DeploymentID: "d1", Author: "alice", PromotedBy: "carol"}, stagingDefs(), "floe/gate", t0))
	return r
}

func junit(passed, failed, skipped uint32) *gatev1.Evidence {
	return &gatev1.Evidence{Format: gatev1.EvidenceFormat_EVIDENCE_FORMAT_JUNIT, Tests: passed + failed + skipped, Passed: passed, Failed: failed, Skipped: skipped}
}

func report(t *testing.T, r *Run, gate, suite string, ev *gatev1.Evidence, at time.Time) []proto.Message {
	t.Helper()
	ok, why := SuitePassed(r.Gate(gate).Def, ev)
	events, err := RecordReport(r, Report{Gate: gate, Suite: suite, Evidence: ev, Passed: ok, Reason: why}, "ci", at)
	if err != nil {
		t.Fatalf("report %s/%s: %v", gate, suite, err)
	}
	fold(t, r, "ci", at, events)
	return events
}

func reasonOf(err error) errorsv1.ErrorReason {
	var pe *errs.PreconditionError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return 0
}

func unmet(r *Run) []string {
	var out []string
	for _, u := range r.Verdict.GetUnmet() {
		out = append(out, u.GetGate()+"="+OutcomeName(u.GetOutcome()))
	}
	return out
}

func TestDefaultsAreTheGuidesTable(t *testing.T) {
	want := map[string]string{
		"Unit Tests":        "development [unit-tests component-tests] required 10m0s ON_FAILURE_BLOCK override=false",
		"Integration Tests": "staging [api-tests database-tests] required 20m0s ON_FAILURE_BLOCK override=false",
		"E2E Tests":         "staging [user-journey-tests critical-path-tests] required 30m0s ON_FAILURE_WARN override=true",
		"Performance Tests": "staging [load-tests stress-tests] optional 1h0m0s ON_FAILURE_WARN override=false",
		"Security Tests":    "staging [sast dast dependency-scan] required 15m0s ON_FAILURE_BLOCK override=false",
	}
	got := map[string]string{}
	for env, gates := range DefaultDefinitions() {
		var v errs.Violations
		CheckDefinitions(&v, "gates", gates)
		if err := v.Err(); err != nil {
			t.Fatalf("%s defaults are invalid: %v", env, err)
		}
		for _, g := range gates {
			req := "optional"
			if g.GetRequired() {
				req = "required"
			}
			got[g.GetName()] = strings.Join([]string{env, "[" + strings.Join(g.GetSuites(), " ") + "]", req, g.GetTimeout().AsDuration().String(), g.GetOnFailure().String(), "override=" + map[bool]string{true: "true", false: "false"}[g.GetAllowOverride()]}, " ")
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d gates, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %q, want %q", name, got[name], w)
		}
	}
}

func TestOpenWaitsForRequiredGates(t *testing.T) {
	r := openStaging(t)
	if r.Attempt != 1 || len(r.Gates) != 4 || r.Verdict.GetSatisfied() {
		t.Fatalf("opened: attempt %d, %d gates, verdict %v", r.Attempt, len(r.Gates), r.Verdict)
	}
	if got := strings.Join(unmet(r), ","); got != "Integration Tests=pending,E2E Tests=pending,Security Tests=pending" {
		t.Fatalf("unmet: %s", got)
	}
	if d := r.Gate("Security Tests").Deadline; !d.Equal(t0.Add(15 * time.Minute)) {
		t.Fatalf("deadline %v", d)
	}
	// The same deployment again (a redelivered event) changes nothing.
	if ev := Open(r, Opening{ReleaseID: "rel1", Environment: "staging", DeploymentID: "d1"}, stagingDefs(), "floe/gate", t0.Add(time.Minute)); ev != nil {
		t.Fatalf("redelivered open: %v", ev)
	}
}

func TestPassingEveryRequiredSuiteSatisfiesTheRun(t *testing.T) {
	r := openStaging(t)
	at := t0.Add(time.Minute)
	for gate, suites := range map[string][]string{
		"Integration Tests": {"api-tests", "database-tests"},
		"E2E Tests":         {"user-journey-tests", "critical-path-tests"},
		"Security Tests":    {"sast", "dast", "dependency-scan"},
	} {
		for _, s := range suites {
			report(t, r, gate, s, junit(10, 0, 1), at)
		}
	}
	if !r.Verdict.GetSatisfied() {
		t.Fatalf("not satisfied: %v", unmet(r))
	}
	if g := r.Gate("Performance Tests"); g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_PENDING || !g.Satisfied() {
		t.Fatalf("an optional gate without results: %v, satisfied %v", g.Outcome, g.Satisfied())
	}
	// A later failing report of a blocking suite undoes it.
	events := report(t, r, "Integration Tests", "api-tests", junit(9, 1, 0), at)
	if r.Verdict.GetSatisfied() || r.Gate("Integration Tests").Outcome != gatev1.GateOutcome_GATE_OUTCOME_FAILED {
		t.Fatalf("after a failure: %v %v", r.Gate("Integration Tests").Outcome, unmet(r))
	}
	if len(events) != 3 { // ResultsReported, GateDecided, GateVerdict
		t.Fatalf("events: %v", events)
	}
}

func TestBlockingFailureCannotBeOverridden(t *testing.T) {
	r := openStaging(t)
	report(t, r, "Integration Tests", "api-tests", junit(3, 2, 0), t0.Add(time.Minute))
	g := r.Gate("Integration Tests")
	if g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_FAILED || !strings.Contains(g.Reason, "2 failed") {
		t.Fatalf("%v: %s", g.Outcome, g.Reason)
	}
	_, err := OverrideGate(r, "Integration Tests", "erin", "ship it", nil, t0.Add(2*time.Minute))
	if reasonOf(err) != errorsv1.ErrorReason_ERROR_REASON_OVERRIDE_NOT_ALLOWED {
		t.Fatalf("override of a blocking gate: %v", err)
	}
}

func TestWarnedGateOverride(t *testing.T) {
	r := openStaging(t)
	at := t0.Add(time.Minute)
	report(t, r, "E2E Tests", "user-journey-tests", junit(5, 1, 0), at)
	report(t, r, "E2E Tests", "critical-path-tests", junit(5, 0, 0), at)
	if g := r.Gate("E2E Tests"); g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_WARNED || g.Satisfied() {
		t.Fatalf("E2E: %v satisfied=%v", g.Outcome, g.Satisfied())
	}
	for _, who := range []string{"alice", "carol"} { // the author, the promoter
		if _, err := OverrideGate(r, "E2E Tests", who, "flaky test", nil, at); reasonOf(err) != errorsv1.ErrorReason_ERROR_REASON_OVERRIDE_BY_AUTHOR_OR_PROMOTER {
			t.Fatalf("override by %s: %v", who, err)
		}
	}
	if _, err := OverrideGate(r, "E2E Tests", "erin", " ", nil, at); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("override without a reason: %v", err)
	}
	expires := timestamppb.New(at.Add(time.Hour))
	events, err := OverrideGate(r, "E2E Tests", "erin", "known flaky journey test, INC-12", expires, at)
	if err != nil {
		t.Fatal(err)
	}
	fold(t, r, "erin", at, events)
	g := r.Gate("E2E Tests")
	if g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN || g.Override.GetBy() != "erin" || !g.Satisfied() {
		t.Fatalf("after the override: %v %v", g.Outcome, g.Override)
	}
	if got := unmet(r); strings.Join(got, ",") != "Integration Tests=pending,Security Tests=pending" {
		t.Fatalf("unmet: %v", got)
	}
	if r.Next() != t0.Add(15*time.Minute) { // the Security Tests deadline comes first
		t.Fatalf("next: %v", r.Next())
	}
	// The expiry: the gate is warned again.
	fold(t, r, "", at.Add(time.Hour), Tick(r, at.Add(time.Hour)))
	if g := r.Gate("E2E Tests"); g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_WARNED || g.Override != nil || !strings.Contains(g.Reason, "expired") {
		t.Fatalf("after expiry: %v %q %v", g.Outcome, g.Reason, g.Override)
	}
}

func TestDeadlinesTimeGatesOut(t *testing.T) {
	r := openStaging(t)
	report(t, r, "Security Tests", "sast", junit(1, 0, 0), t0.Add(time.Minute))
	if ev := Tick(r, t0.Add(15*time.Minute-time.Second)); ev != nil {
		t.Fatalf("tick before the deadline: %v", ev)
	}
	deadline := t0.Add(15 * time.Minute)
	fold(t, r, "", deadline, Tick(r, deadline))
	g := r.Gate("Security Tests")
	if g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT || !strings.Contains(g.Reason, "dast, dependency-scan") {
		t.Fatalf("%v %q", g.Outcome, g.Reason)
	}
	if r.Gate("Integration Tests").Outcome != gatev1.GateOutcome_GATE_OUTCOME_PENDING {
		t.Fatal("a gate with a later deadline timed out")
	}
	_, err := RecordReport(r, Report{Gate: "Security Tests", Suite: "dast", Evidence: junit(1, 0, 0), Passed: true}, "ci", deadline.Add(time.Second))
	if reasonOf(err) != errorsv1.ErrorReason_ERROR_REASON_GATE_CLOSED {
		t.Fatalf("a late report: %v", err)
	}
	// A new deployment opens the gates again.
	fold(t, r, "floe/gate", deadline, Open(r, Opening{ReleaseID: "rel1", Environment: "staging", DeploymentID: "d2"}, stagingDefs(), "floe/gate", deadline))
	if r.Attempt != 2 || r.Gate("Security Tests").Outcome != gatev1.GateOutcome_GATE_OUTCOME_PENDING || r.Verdict.GetAttempt() != 2 {
		t.Fatalf("reopened: attempt %d, %v", r.Attempt, r.Gate("Security Tests").Outcome)
	}
}

func TestReportTargetsAreChecked(t *testing.T) {
	r := openStaging(t)
	for _, c := range []struct{ gate, suite, field string }{
		{"Nope", "api-tests", "gate"},
		{"Integration Tests", "sast", "suite"},
	} {
		_, err := RecordReport(r, Report{Gate: c.gate, Suite: c.suite, Evidence: junit(1, 0, 0), Passed: true}, "ci", t0)
		var ie *errs.InvalidArgumentError
		if !errors.As(err, &ie) || ie.Violations[0].Field != c.field {
			t.Fatalf("%s/%s: %v", c.gate, c.suite, err)
		}
	}
}

func TestSuitePassed(t *testing.T) {
	def := DefaultDefinitions()["staging"][0]
	lenient := proto.Clone(def).(*gatev1.GateDefinition)
	lenient.SkippedCountsAsPassed = true
	sarif := func(errors, newErrors uint32) *gatev1.Evidence {
		return &gatev1.Evidence{Format: gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF, SarifErrors: errors, NewErrors: newErrors}
	}
	for _, c := range []struct {
		name string
		def  *gatev1.GateDefinition
		ev   *gatev1.Evidence
		want bool
	}{
		{"all passed", def, junit(5, 0, 0), true},
		{"a failure", def, junit(5, 1, 0), false},
		{"an error", def, &gatev1.Evidence{Tests: 2, Passed: 1, Errored: 1}, false},
		{"only skipped", def, junit(0, 0, 3), false},
		{"only skipped, gate counts skips", lenient, junit(0, 0, 3), true},
		{"no tests", def, junit(0, 0, 0), false},
		{"passed and skipped", def, junit(2, 0, 3), true},
		{"sarif, known errors only", def, sarif(4, 0), true},
		{"sarif, one new error", def, sarif(4, 1), false},
	} {
		if got, why := SuitePassed(c.def, c.ev); got != c.want {
			t.Errorf("%s: %v (%s), want %v", c.name, got, why, c.want)
		}
	}
}

func TestSetGate(t *testing.T) {
	d := stagingDefs()
	events, err := SetGate(d, Gate("Smoke Tests", []string{"smoke"}, true, 5*time.Minute, gatev1.OnFailure_ON_FAILURE_BLOCK, false), false, "add smoke", 1)
	if err != nil {
		t.Fatal(err)
	}
	ApplyDefs(d, events[0], "rm", t0)
	if d.Version != 2 || len(d.Gates) != 5 || d.Find("Smoke Tests") == nil {
		t.Fatalf("after adding: v%d %d gates", d.Version, len(d.Gates))
	}
	if _, err := SetGate(d, &gatev1.GateDefinition{Name: "Smoke Tests"}, true, "gone", 1); !errors.Is(err, errs.ErrConcurrency) {
		t.Fatalf("stale expected version: %v", err)
	}
	bad := []*gatev1.GateDefinition{
		{Name: "", Suites: []string{"a"}},
		{Name: "x>y", Suites: []string{"a"}, Timeout: Gate("", nil, false, time.Minute, 0, false).Timeout, OnFailure: gatev1.OnFailure_ON_FAILURE_BLOCK},
		{Name: "ok", Suites: []string{"a b"}, OnFailure: gatev1.OnFailure_ON_FAILURE_BLOCK},
		{Name: "ok", Suites: []string{"a"}, Timeout: Gate("", nil, false, -time.Minute, 0, false).Timeout, OnFailure: gatev1.OnFailure_ON_FAILURE_BLOCK},
		{Name: "ok", Suites: []string{"a"}, Timeout: Gate("", nil, false, time.Minute, 0, false).Timeout, OnFailure: gatev1.OnFailure_ON_FAILURE_BLOCK, AllowOverride: true},
	}
	for i, g := range bad {
		var ie *errs.InvalidArgumentError
		if _, err := SetGate(d, g, false, "r", 0); !errors.As(err, &ie) {
			t.Errorf("bad definition %d accepted: %v", i, err)
		}
	}
}

func TestRunCodecRoundTrip(t *testing.T) {
	r := openStaging(t)
	at := t0.Add(time.Minute)
	report(t, r, "E2E Tests", "user-journey-tests", junit(5, 1, 0), at)
	report(t, r, "E2E Tests", "critical-path-tests", junit(5, 0, 0), at)
	events, err := OverrideGate(r, "E2E Tests", "erin", "flaky", timestamppb.New(at.Add(time.Hour)), at)
	if err != nil {
		t.Fatal(err)
	}
	fold(t, r, "erin", at, events)
	b, err := MarshalRun(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalRun(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back.View(), r.View()) || !proto.Equal(back.Verdict, r.Verdict) {
		t.Fatalf("round trip differs:\n%v\n%v", back.View(), r.View())
	}
	// The restored run decides as the original does: the expiry brings back what the override covered.
	later := at.Add(time.Hour)
	a, b2 := Tick(r, later), Tick(back, later)
	if len(a) == 0 || len(a) != len(b2) {
		t.Fatalf("ticks differ: %v vs %v", a, b2)
	}
	for i := range a {
		if !proto.Equal(a[i], b2[i]) {
			t.Fatalf("tick event %d: %v vs %v", i, a[i], b2[i])
		}
	}
}
