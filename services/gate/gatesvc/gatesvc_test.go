package gatesvc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/envpolicy"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/gate/gatesvc"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

var users = map[string][]auth.RoleBinding{
	"alice": testkit.Roles(auth.RoleDeveloper),      // writes and promotes releases
	"bob":   testkit.Roles(auth.RoleReleaseManager), // approves; defines gates
	"carol": testkit.Roles(auth.RoleQA),             // approves staging, reports, overrides
	"dave":  testkit.Roles(auth.RoleOperations),     // approves and promotes production
	"erin":  testkit.Roles(auth.RoleSecurity),       // approves production
	"grace": testkit.Roles(auth.RoleSupport),        // reads only
}

// world is the release and gate services on one embedded JetStream; the
// test plays the deployer. Its clock can be moved forward.
type world struct {
	*testkit.Process
	t      testing.TB
	offset atomic.Int64
	deps   int
}

// defaultTestConfig is the gate service of the tests: a 1 MiB report limit,
// deadlines looked for every 20 ms.
var defaultTestConfig = gatesvc.Config{MaxReportBytes: 1 << 20, TickInterval: 20 * time.Millisecond}

func start(t *testing.T) *world {
	t.Helper()
	return startWith(t, defaultTestConfig)
}

func startWith(t testing.TB, cfg gatesvc.Config) *world {
	t.Helper()
	w := &world{t: t}
	// The built-in environments, but production needs no change request:
	// these tests are about gates (change management's tests cover it).
	envs := filepath.Join(t.TempDir(), "environments.yaml")
	if err := os.WriteFile(envs, []byte(strings.ReplaceAll(envpolicy.DefaultEnvironmentsYAML, "    change_required: true\n", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Process = testkit.Start(t, testkit.Options{
		Users: users,
		Clock: func() time.Time { return time.Now().Add(time.Duration(w.offset.Load())) },
		Entries: func() []service.Entry {
			return []service.Entry{
				service.Of(releasesvc.Service, releasesvc.Config{EnvironmentsFile: envs}),
				service.Of(gatesvc.Service, cfg),
			}
		},
		Writers: map[string][]string{"deployer": {"deployment"}},
	})
	return w
}

func (w *world) advance(d time.Duration) { w.offset.Add(int64(d)) }

func (w *world) releases(user string) releasev1.ReleaseServiceClient {
	return releasev1.NewReleaseServiceClient(w.Conn(user))
}

func (w *world) gates(user string) gatev1.GateServiceClient {
	return gatev1.NewGateServiceClient(w.Conn(user))
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (w *world) create(version string, typ releasev1.ReleaseType) string {
	w.t.Helper()
	if typ == 0 {
		typ = releasev1.ReleaseType_RELEASE_TYPE_MAJOR
	}
	r, err := w.releases("alice").CreateRelease(ctxT(w.t), &releasev1.CreateReleaseRequest{
		Product: "penguinmails", Version: version, Type: typ, Title: "release " + version,
		Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "a change"}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return r.GetRelease().GetId()
}

func (w *world) approve(user, id, env string) {
	w.t.Helper()
	if _, err := w.releases(user).Approve(ctxT(w.t), &releasev1.ApproveRequest{ReleaseId: id, Environment: env}); err != nil {
		w.t.Fatalf("%s approves %s: %v", user, env, err)
	}
}

func (w *world) promote(user, id, env string) error {
	_, err := w.releases(user).Promote(ctxT(w.t), &releasev1.PromoteRequest{ReleaseId: id, Environment: env})
	return err
}

// deploy plays the deployer: the promotion to env succeeds, and the test
// waits until the release service has seen it.
func (w *world) deploy(id, env string) {
	w.t.Helper()
	w.deps++
	dep := fmt.Sprintf("dep%d", w.deps)
	if _, err := w.Store("deployer").Append(ctxT(w.t), "deployment", dep, eventstore.NoStream, eventstore.Meta{Actor: "system:deployer"},
		eventstore.Event{Message: &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: id, Version: "x", Environment: env, Attempt: 1}},
		eventstore.Event{Message: &deployv1.DeploymentSucceeded{DeploymentId: dep, ReleaseId: id, Version: "x", Environment: env}}); err != nil {
		w.t.Fatal(err)
	}
}

// run waits for the release's gate run in env to satisfy cond.
func (w *world) run(id, env string, cond func(*gatev1.GateRun) error) *gatev1.GateRun {
	w.t.Helper()
	var got *gatev1.GateRun
	testkit.Eventually(w.t, func() error {
		resp, err := w.gates("grace").GetGateStatus(ctxT(w.t), &gatev1.GetGateStatusRequest{ReleaseId: id, Environment: env})
		if err != nil {
			return err
		}
		if len(resp.GetRuns()) != 1 {
			return fmt.Errorf("%d runs in %s", len(resp.GetRuns()), env)
		}
		got = resp.GetRuns()[0]
		return cond(got)
	})
	return got
}

func opened(attempt uint32) func(*gatev1.GateRun) error {
	return func(r *gatev1.GateRun) error {
		if r.GetAttempt() != attempt {
			return fmt.Errorf("attempt %d, want %d", r.GetAttempt(), attempt)
		}
		return nil
	}
}

func gateOutcome(gate string, want gatev1.GateOutcome) func(*gatev1.GateRun) error {
	return func(r *gatev1.GateRun) error {
		for _, g := range r.GetGates() {
			if g.GetDefinition().GetName() == gate {
				if g.GetOutcome() != want {
					return fmt.Errorf("%s is %v (%s), want %v", gate, g.GetOutcome(), g.GetReason(), want)
				}
				return nil
			}
		}
		return fmt.Errorf("no gate %s", gate)
	}
}

// report streams a file to ReportResults in small chunks.
func (w *world) report(user, id, env, gate, suite string, format gatev1.EvidenceFormat, file string) (*gatev1.ReportResultsResponse, error) {
	w.t.Helper()
	path := file
	if !filepath.IsAbs(path) && !strings.HasPrefix(path, "..") {
		path = filepath.Join("testdata", file)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		w.t.Fatal(err)
	}
	stream, err := w.gates(user).ReportResults(ctxT(w.t))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := stream.Send(&gatev1.ReportResultsRequest{Part: &gatev1.ReportResultsRequest_Header{Header: &gatev1.ReportHeader{
		ReleaseId: id, Environment: env, Gate: gate, Suite: suite, Format: format, Filename: file,
	}}}); err != nil && !errors.Is(err, io.EOF) {
		w.t.Fatal(err)
	}
	for len(data) > 0 {
		n := min(len(data), 700)
		if err := stream.Send(&gatev1.ReportResultsRequest{Part: &gatev1.ReportResultsRequest_Chunk{Chunk: data[:n]}}); err != nil {
			break // the server answered early; CloseAndRecv has it
		}
		data = data[n:]
	}
	return stream.CloseAndRecv()
}

const junitFormat = gatev1.EvidenceFormat_EVIDENCE_FORMAT_JUNIT

func (w *world) mustReport(id, env, gate, suite, file string, wantPassed bool) *gatev1.ReportResultsResponse {
	w.t.Helper()
	resp, err := w.report("carol", id, env, gate, suite, junitFormat, file)
	if err != nil {
		w.t.Fatalf("report %s/%s: %v", gate, suite, err)
	}
	if resp.GetPassed() != wantPassed {
		w.t.Fatalf("report %s/%s: passed=%v (%s), want %v", gate, suite, resp.GetPassed(), resp.GetReason(), wantPassed)
	}
	return resp
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(interface{ GetReason() string }); ok {
			return info.GetReason()
		}
	}
	return ""
}

// A required blocking gate that fails keeps the release out of the next
// environment, naming the gate; passing it lets the release through.
func TestBlockingGateFailureRefusesPromotion(t *testing.T) {
	w := start(t)
	id := w.create("1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	if err := w.promote("alice", id, "development"); err != nil {
		t.Fatal(err)
	}
	w.deploy(id, "development")
	run := w.run(id, "development", opened(1))
	if run.GetSatisfied() || len(run.GetGates()) != 1 || run.GetGates()[0].GetDefinition().GetName() != "Unit Tests" {
		t.Fatalf("development run: %v", run)
	}
	resp := w.mustReport(id, "development", "Unit Tests", "unit-tests", "gotestsum-1.13.0-pass.xml", true)
	if ev := resp.GetEvidence(); ev.GetTests() != 3 || ev.GetPassed() != 3 || !strings.HasPrefix(ev.GetDigest(), "sha256:") || ev.GetTool() == "" {
		t.Fatalf("evidence: %v", ev)
	}
	resp = w.mustReport(id, "development", "Unit Tests", "component-tests", failingJUnit, false)
	if ev := resp.GetEvidence(); ev.GetFailed() != 4 || ev.GetSkipped() != 1 || len(ev.GetFailures()) == 0 {
		t.Fatalf("failing evidence: %v", ev)
	}
	w.run(id, "development", gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_FAILED))
	failedAt := w.LogPosition(t)
	w.approve("carol", id, "staging")
	err := w.promote("alice", id, "staging")
	if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "GATE_NOT_PASSED" || !strings.Contains(err.Error(), "development gate Unit Tests is failed") {
		t.Fatalf("promotion past a failed gate: %v", err)
	}
	// An override of a blocking gate is refused.
	_, err = w.gates("carol").OverrideGate(ctxT(t), &gatev1.OverrideGateRequest{ReleaseId: id, Environment: "development", Gate: "Unit Tests", Reason: "ship it"})
	if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "OVERRIDE_NOT_ALLOWED" {
		t.Fatalf("override of a blocking gate: %v", err)
	}
	// The suite passes on a new run of the tests: the gate is met.
	w.mustReport(id, "development", "Unit Tests", "component-tests", "gotestsum-1.13.0-pass.xml", true)
	w.run(id, "development", gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_PASSED))
	if err := w.promote("alice", id, "staging"); err != nil {
		t.Fatalf("promotion once the gate passed: %v", err)
	}

	// Time travel: the runs as they were when the gate had failed, rebuilt
	// from the log, while the live view says passed.
	asOf := func(req *gatev1.GetGateStatusRequest) ([]*gatev1.GateRun, error) {
		req.ReleaseId = id
		resp, err := w.gates("grace").GetGateStatus(ctxT(t), req)
		return resp.GetRuns(), err
	}
	runs, err := asOf(&gatev1.GetGateStatusRequest{Environment: "development", AsOfPosition: failedAt})
	if err != nil || len(runs) != 1 || gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_FAILED)(runs[0]) != nil {
		t.Fatalf("the development run as of position %d: %v, %v; want the failed gate", failedAt, runs, err)
	}
	for _, su := range runs[0].GetGates()[0].GetSuites() {
		if su.GetSuite() == "component-tests" && (su.GetPassed() || su.GetEvidence().GetFailed() != 4) {
			t.Errorf("as of position %d component-tests passed=%v with %d failures; want the failing report of then", failedAt, su.GetPassed(), su.GetEvidence().GetFailed())
		}
	}
	live, err := asOf(&gatev1.GetGateStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if runs, err := asOf(&gatev1.GetGateStatusRequest{AsOfTime: timestamppb.Now()}); err != nil || len(runs) != len(live) ||
		gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_PASSED)(runs[0]) != nil {
		t.Errorf("the runs as of now: %v, %v; want the live view's %d runs, development's passed", runs, err, len(live))
	}
	if runs, err := asOf(&gatev1.GetGateStatusRequest{AsOfPosition: 1}); err != nil || len(runs) != 0 {
		t.Errorf("the runs as of position 1, before any was opened: %v, %v; want none", runs, err)
	}
	if _, err := asOf(&gatev1.GetGateStatusRequest{AsOfPosition: failedAt, AsOfTime: timestamppb.Now()}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("both a position and a time: %v, want InvalidArgument", err)
	}
}

// A warned gate blocks until someone who neither wrote nor promoted the
// release overrides it.
func TestWarnedGateOverride(t *testing.T) {
	w := start(t)
	id := w.toStaging()
	for gate, suites := range map[string][]string{
		"Integration Tests": {"api-tests", "database-tests"},
		"Security Tests":    {"sast", "dast", "dependency-scan"},
	} {
		for _, s := range suites {
			w.mustReport(id, "staging", gate, s, "gotestsum-1.13.0-pass.xml", true)
		}
	}
	w.mustReport(id, "staging", "E2E Tests", "user-journey-tests", failingJUnit, false)
	w.mustReport(id, "staging", "E2E Tests", "critical-path-tests", "gotestsum-1.13.0-pass.xml", true)
	w.run(id, "staging", gateOutcome("E2E Tests", gatev1.GateOutcome_GATE_OUTCOME_WARNED))
	w.approve("bob", id, "production")
	w.approve("erin", id, "production")
	err := w.promote("dave", id, "production")
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "staging gate E2E Tests is warned") {
		t.Fatalf("promotion past a warned gate: %v", err)
	}
	override := func(user string) error {
		_, err := w.gates(user).OverrideGate(ctxT(t), &gatev1.OverrideGateRequest{ReleaseId: id, Environment: "staging", Gate: "E2E Tests", Reason: "journey test flaky since INC-12"})
		return err
	}
	if err := override("alice"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("override by a developer (no gate.override): %v", err)
	}
	if err := override("bob"); err == nil {
		// bob is a release manager: he did not write or promote this release, so he may.
		t.Log("bob overrode")
	} else {
		t.Fatalf("override by bob: %v", err)
	}
	w.run(id, "staging", gateOutcome("E2E Tests", gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN))
	if err := w.promote("dave", id, "production"); err != nil {
		t.Fatalf("promotion after the override: %v", err)
	}
}

// The author and the promoter may not override, whatever their permissions.
func TestOverrideByAuthorOrPromoterRefused(t *testing.T) {
	w := start(t)
	// bob writes and promotes this release himself (release-manager: release.*, gate.*).
	r, err := w.releases("bob").CreateRelease(ctxT(t), &releasev1.CreateReleaseRequest{Product: "penguinmails", Version: "2.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "bob's",
		Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := r.GetRelease().GetId()
	if err := w.promote("bob", id, "development"); err != nil {
		t.Fatal(err)
	}
	w.deploy(id, "development")
	w.run(id, "development", opened(1))
	w.mustReport(id, "development", "Unit Tests", "unit-tests", "gotestsum-1.13.0-pass.xml", true)
	w.mustReport(id, "development", "Unit Tests", "component-tests", "gotestsum-1.13.0-pass.xml", true)
	w.run(id, "development", gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_PASSED))
	w.approve("carol", id, "staging")
	if err := w.promote("dave", id, "staging"); err != nil {
		t.Fatal(err)
	}
	w.deploy(id, "staging")
	w.run(id, "staging", opened(1))
	w.mustReport(id, "staging", "E2E Tests", "user-journey-tests", failingJUnit, false)
	w.mustReport(id, "staging", "E2E Tests", "critical-path-tests", "gotestsum-1.13.0-pass.xml", true)
	for _, who := range []string{"bob", "dave"} { // the author; the promoter into staging (operations has no gate.override: refused for that first)
		_, err := w.gates(who).OverrideGate(ctxT(t), &gatev1.OverrideGateRequest{ReleaseId: id, Environment: "staging", Gate: "E2E Tests", Reason: "mine"})
		if who == "bob" && (status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "OVERRIDE_BY_AUTHOR_OR_PROMOTER") {
			t.Fatalf("override by the author: %v", err)
		}
		if who == "dave" && status.Code(err) != codes.PermissionDenied {
			t.Fatalf("override by operations: %v", err)
		}
	}
	if _, err := w.gates("carol").OverrideGate(ctxT(t), &gatev1.OverrideGateRequest{ReleaseId: id, Environment: "staging", Gate: "E2E Tests", Reason: "flaky"}); err != nil {
		t.Fatalf("override by carol: %v", err)
	}
}

// toStaging takes a new release through development (its gate passed) into staging.
func (w *world) toStaging() string {
	w.t.Helper()
	id := w.create("1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	if err := w.promote("alice", id, "development"); err != nil {
		w.t.Fatal(err)
	}
	w.deploy(id, "development")
	w.run(id, "development", opened(1))
	w.mustReport(id, "development", "Unit Tests", "unit-tests", "gotestsum-1.13.0-pass.xml", true)
	w.mustReport(id, "development", "Unit Tests", "component-tests", "gotestsum-1.13.0-pass.xml", true)
	w.run(id, "development", gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_PASSED))
	w.approve("carol", id, "staging")
	if err := w.promote("alice", id, "staging"); err != nil {
		w.t.Fatal(err)
	}
	w.deploy(id, "staging")
	w.run(id, "staging", opened(1))
	return id
}

// Results that never arrive time the gate out at its deadline, although
// the service restarted in between; a late report is refused.
func TestDeadlineFiresAcrossARestart(t *testing.T) {
	w := start(t)
	id := w.create("1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	if err := w.promote("alice", id, "development"); err != nil {
		t.Fatal(err)
	}
	w.deploy(id, "development")
	run := w.run(id, "development", opened(1))
	deadline := run.GetGates()[0].GetDeadline().AsTime()
	w.mustReport(id, "development", "Unit Tests", "unit-tests", "gotestsum-1.13.0-pass.xml", true)
	w.Restart()
	w.run(id, "development", gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_PENDING))
	w.advance(10*time.Minute + time.Second) // past the 10-minute deadline
	run = w.run(id, "development", gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT))
	if r := run.GetGates()[0].GetReason(); !strings.Contains(r, "component-tests") {
		t.Fatalf("reason %q does not name the missing suite", r)
	}
	// The time-out was recorded at or after the deadline.
	st, err := w.Store("gate").Load(ctxT(t), "gaterun", run.GetRunId(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var decided *eventstore.RecordedEvent
	for _, e := range st.Events {
		if m, _ := e.Decode(); m != nil {
			if d, ok := m.(*gatev1.GateDecided); ok && d.GetOutcome() == gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT {
				decided = e
			}
		}
	}
	if decided == nil || decided.Time.Before(deadline) {
		t.Fatalf("time-out event %v, deadline %v", decided, deadline)
	}
	_, err = w.report("carol", id, "development", "Unit Tests", "component-tests", junitFormat, "gotestsum-1.13.0-pass.xml")
	if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "GATE_CLOSED" {
		t.Fatalf("a late report: %v", err)
	}
}

// Bad input: a clear error naming the field, nothing recorded.
func TestReportInputIsChecked(t *testing.T) {
	w := start(t)
	id := w.create("1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR)
	if err := w.promote("alice", id, "development"); err != nil {
		t.Fatal(err)
	}
	w.deploy(id, "development")
	w.run(id, "development", opened(1))
	for _, c := range []struct {
		name, env, gate, suite, file string
		want                         codes.Code
		field                        string
	}{
		{"unknown gate", "development", "Smoke", "unit-tests", "gotestsum-1.13.0-pass.xml", codes.InvalidArgument, "gate"},
		{"unknown suite", "development", "Unit Tests", "sast", "gotestsum-1.13.0-pass.xml", codes.InvalidArgument, "suite"},
		{"bad environment", "dev>", "Unit Tests", "unit-tests", "gotestsum-1.13.0-pass.xml", codes.InvalidArgument, "header.environment"},
		{"malformed report", "development", "Unit Tests", "unit-tests", "not-junit.txt", codes.InvalidArgument, "report"},
	} {
		_, err := w.report("carol", id, c.env, c.gate, c.suite, junitFormat, c.file)
		if status.Code(err) != c.want || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Over the size limit (1 MiB here): refused before anything is stored.
	big := filepath.Join(t.TempDir(), "big.xml")
	if err := os.WriteFile(big, []byte("<testsuites>"+strings.Repeat(" ", 2<<20)+"</testsuites>"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := w.report("carol", id, "development", "Unit Tests", "unit-tests", junitFormat, big)
	if status.Code(err) == codes.OK || !strings.Contains(err.Error(), "report") {
		t.Fatalf("oversized report: %v", err)
	}
	run := w.run(id, "development", opened(1))
	for _, s := range run.GetGates()[0].GetSuites() {
		if s.GetReported() {
			t.Fatalf("a refused report was recorded: %v", s)
		}
	}
	// Reading needs gate.read, reporting gate.record.
	_, err = w.report("grace", id, "development", "Unit Tests", "unit-tests", junitFormat, "gotestsum-1.13.0-pass.xml")
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("report by support: %v", err)
	}
	_ = errs.Domain
}

// A hotfix that skips staging does not skip staging's blocking gates: CI
// reports them against the hotfix (the report opens its staging run), and
// only then may it go to production. Staging's warn gate (E2E) does not
// hold it.
func TestHotfixReportsTheStagingGatesItSkips(t *testing.T) {
	w := start(t)
	first := w.toStaging()
	w.passStaging(first)
	w.approve("bob", first, "production")
	w.approve("erin", first, "production")
	if err := w.promote("dave", first, "production"); err != nil {
		t.Fatal(err)
	}
	w.deploy(first, "production")
	testkit.Eventually(t, func() error {
		r, err := w.releases("grace").GetRelease(ctxT(t), &releasev1.GetReleaseRequest{ReleaseId: first})
		if err != nil {
			return err
		}
		for _, e := range r.GetRelease().GetEnvironments() {
			if e.GetEnvironment() == "production" && e.GetStatus() == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED {
				return nil
			}
		}
		return errors.New("not deployed to production yet")
	})

	fix := w.create("1.0.1", releasev1.ReleaseType_RELEASE_TYPE_HOTFIX)
	w.approve("bob", fix, "production")
	w.approve("erin", fix, "production")
	err := w.promote("dave", fix, "production")
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "staging gates (Integration Tests, Security Tests) have no results") ||
		strings.Contains(err.Error(), "E2E") {
		t.Fatalf("hotfix without staging's gates: %v", err)
	}
	w.mustReport(fix, "staging", "Integration Tests", "api-tests", "gotestsum-1.13.0-pass.xml", true)
	w.mustReport(fix, "staging", "Integration Tests", "database-tests", "gotestsum-1.13.0-pass.xml", true)
	err = w.promote("dave", fix, "production")
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "staging gate Security Tests is pending") || strings.Contains(err.Error(), "E2E") {
		t.Fatalf("hotfix with Security Tests pending: %v", err)
	}
	for _, s := range []string{"sast", "dast", "dependency-scan"} {
		w.mustReport(fix, "staging", "Security Tests", s, "gotestsum-1.13.0-pass.xml", true)
	}
	if err := w.promote("dave", fix, "production"); err != nil {
		t.Fatalf("hotfix with staging's blocking gates passed: %v", err)
	}
}

// passStaging reports every required staging suite as passing.
func (w *world) passStaging(id string) {
	w.t.Helper()
	for _, gs := range []struct {
		gate   string
		suites []string
	}{
		{"Integration Tests", []string{"api-tests", "database-tests"}},
		{"E2E Tests", []string{"user-journey-tests", "critical-path-tests"}},
		{"Security Tests", []string{"sast", "dast", "dependency-scan"}},
	} {
		for _, s := range gs.suites {
			w.mustReport(id, "staging", gs.gate, s, "gotestsum-1.13.0-pass.xml", true)
		}
	}
}

const sarifFormat = gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF

// Real reports kept with the parsers' seeds (see their testdata/README.md).
const (
	failingJUnit = "../internal/junit/testdata/gotestsum-1.13.0.xml" // 4 failed, 1 skipped
	gosecV1      = "../internal/sarif/testdata/gosec-v1.sarif"
	gosecV2      = "../internal/sarif/testdata/gosec-v2.sarif"
)

// SARIF from gosec: the first report has nothing to compare with, so every
// error-level finding is new and the suite fails; once a person accepts
// them as known, a report with only those findings passes — for this
// release and the next — and one with a new finding fails, naming it.
func TestSARIFBlocksOnlyNewFindings(t *testing.T) {
	w := start(t)
	id := w.toStaging()
	sast := func(user, release, file string) (*gatev1.ReportResultsResponse, error) {
		return w.report(user, release, "staging", "Security Tests", "sast", sarifFormat, file)
	}
	resp, err := sast("carol", id, gosecV1)
	if err != nil || resp.GetPassed() || resp.GetEvidence().GetNewErrors() != 5 || resp.GetEvidence().GetSarifErrors() != 5 || resp.GetEvidence().GetSarifSuppressed() != 1 {
		t.Fatalf("first gosec report: %v %v", resp, err)
	}
	accept := func(user string) error {
		_, err := w.gates(user).AcceptSarifBaseline(ctxT(t), &gatev1.AcceptSarifBaselineRequest{
			ReleaseId: id, Environment: "staging", Gate: "Security Tests", Suite: "sast", Reason: "reviewed with security: known findings, tracked in SEC-41"})
		return err
	}
	if err := accept("carol"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("accept by QA (no gate.define): %v", err)
	}
	if err := accept("bob"); err != nil {
		t.Fatal(err)
	}
	resp, err = sast("carol", id, gosecV1)
	if err != nil || !resp.GetPassed() || resp.GetEvidence().GetNewErrors() != 0 || !strings.Contains(resp.GetReason(), "5 known") {
		t.Fatalf("the same findings after the acceptance: %v %v", resp, err)
	}
	// v2 fixes G303, adds G304, and shifts G701 down a line (gosec writes no
	// fingerprints: a finding's identity is rule + location + message).
	resp, err = sast("carol", id, gosecV2)
	if err != nil || resp.GetPassed() || resp.GetEvidence().GetNewErrors() != 2 {
		t.Fatalf("gosec v2: %v %v", resp, err)
	}
	var rules []string
	for _, f := range resp.GetEvidence().GetNewFindings() {
		rules = append(rules, f.GetRuleId())
	}
	if strings.Join(rules, ",") != "G304,G701" && strings.Join(rules, ",") != "G701,G304" {
		t.Fatalf("new findings: %v", rules)
	}
	w.run(id, "staging", gateOutcome("Security Tests", gatev1.GateOutcome_GATE_OUTCOME_FAILED))
	// The next release of the product is compared with the last passing report.
	resp, err = sast("carol", id, gosecV1)
	if err != nil || !resp.GetPassed() {
		t.Fatalf("v1 again: %v %v", resp, err)
	}
	next := w.create("1.1.0", releasev1.ReleaseType_RELEASE_TYPE_MINOR)
	if err := w.promote("alice", next, "development"); err != nil {
		t.Fatal(err)
	}
	w.deploy(next, "development")
	w.run(next, "development", opened(1))
	w.mustReport(next, "development", "Unit Tests", "unit-tests", "gotestsum-1.13.0-pass.xml", true)
	w.mustReport(next, "development", "Unit Tests", "component-tests", "gotestsum-1.13.0-pass.xml", true)
	w.approve("carol", next, "staging")
	w.run(next, "development", gateOutcome("Unit Tests", gatev1.GateOutcome_GATE_OUTCOME_PASSED))
	if err := w.promote("alice", next, "staging"); err != nil {
		t.Fatal(err)
	}
	w.deploy(next, "staging")
	w.run(next, "staging", opened(1))
	if resp, err := sast("carol", next, gosecV1); err != nil || !resp.GetPassed() || resp.GetEvidence().GetBaselineDigest() == "" {
		t.Fatalf("the next release, same findings: %v %v", resp, err)
	}
	if resp, err := sast("carol", next, gosecV2); err != nil || resp.GetPassed() {
		t.Fatalf("the next release, a new finding: %v %v", resp, err)
	}
}
