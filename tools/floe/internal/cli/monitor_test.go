package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/service"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// rulesTestdata is the monitor's rules test data (the guide's rules and
// promtool-style test files), shared with package rulestest's own tests.
var rulesTestdata = filepath.Join("..", "..", "..", "..", "services", "monitor", "rules", "rulestest", "testdata")

func rulesFile(name string) string { return filepath.Join(rulesTestdata, name) }

// runFloe runs the command line in-process and returns the error as the
// command returned it (before Execute flattens it to text), so that an exit
// status carried by *exitError can be checked.
func runFloe(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	root := newRoot(&out, &errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// exitStatus is the status floe exits with for err: 0, 1 or an *exitError's code.
func exitStatus(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

// ---- rules check (offline) ----

func TestRulesCheckValidFile(t *testing.T) {
	t.Parallel()
	// rules.yaml keeps the guide's literal condition, which the linter reports
	// (rules_check_test.go); the guide's rules as the rules package documents them are clean.
	guide := filepath.Join("..", "..", "..", "..", "services", "monitor", "rules", "testdata", "guide.yaml")
	out, _, err := runFloe(context.Background(), "rules", "check", guide, rulesFile("nodata_rules.yaml"))
	if err != nil {
		t.Fatalf("rules check of valid files = %v\n%s", err, out)
	}
	want := guide + ": 1 alert rule, 1 rollback trigger, 2 named metrics: OK\n" +
		rulesFile("nodata_rules.yaml") + ": 0 alert rules, 1 rollback trigger, 2 named metrics: OK\n"
	if out != want {
		t.Errorf("rules check =\n%s\nwant\n%s", out, want)
	}
}

func TestRulesCheckPrintsEveryViolation(t *testing.T) {
	t.Parallel()
	bad := rulesFile("bad_rules.yaml")
	out, _, err := runFloe(context.Background(), "rules", "check", rulesFile("rules.yaml"), bad)
	if exitStatus(err) != 1 || !strings.Contains(err.Error(), "1 of 2 files invalid") {
		t.Fatalf("rules check with an invalid file = %v (exit %d), want exit 1 saying 1 of 2 files invalid", err, exitStatus(err))
	}
	for _, want := range []string{
		rulesFile("rules.yaml") + ": 1 alert rule, 2 rollback triggers, 2 named metrics: OK",
		bad + ": 5 problems:",
		`  alert_rules[0].name: "high.error.rate" is not a valid name`,
		`  alert_rules[0].severity: "page" is not one of critical, warning, info`,
		`  alert_rules[0].condition: invalid PromQL "rate(http_requests_total[5m]"`,
		"  rollback_triggers[0].threshold: is required",
		`  rollback_triggers[0].operator: "=>" is not one of > < >= <= == !=`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules check output lacks %q:\n%s", want, out)
		}
	}

	// A YAML error and an unreadable file are reported too.
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("rollback_triggers:\n  - name: x\n    treshold: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runFloe(context.Background(), "rules", "check", typo, filepath.Join(dir, "missing.yaml"))
	if exitStatus(err) != 1 {
		t.Fatalf("rules check of a typo and a missing file = %v", err)
	}
	for _, want := range []string{"(yaml):", `field treshold not found`, "missing.yaml: rules file: open", "no such file or directory"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules check output lacks %q:\n%s", want, out)
		}
	}
}

func TestRulesCheckJSON(t *testing.T) {
	t.Parallel()
	out, _, err := runFloe(context.Background(), "-o", "json", "rules", "check", rulesFile("rules.yaml"), rulesFile("bad_rules.yaml"))
	if exitStatus(err) != 1 {
		t.Fatalf("rules check -o json = %v", err)
	}
	var doc struct {
		Files []jsonCheck `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("rules check -o json is not JSON: %v\n%s", err, out)
	}
	if len(doc.Files) != 2 || !doc.Files[0].OK || doc.Files[0].RollbackTriggers != 2 || doc.Files[1].OK || len(doc.Files[1].Violations) != 5 {
		t.Errorf("rules check -o json = %+v", doc)
	}
	if doc.Files[1].Violations[4].Field != "rollback_triggers[0].operator" {
		t.Errorf("last violation = %+v", doc.Files[1].Violations[4])
	}
}

// ---- rules test (offline) ----

func TestRulesTestExitStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		files  []string
		status int
		want   []string
	}{
		{"passing", []string{"example.test.yaml"}, 0, []string{
			"Unit testing: " + rulesFile("example.test.yaml"),
			"  PASS  the guide's high_error_rate alert is pending for 2m, then fires",
			"SUCCESS: 3 tests passed",
		}},
		{"failing", []string{"failing.test.yaml"}, 1, []string{
			"  FAIL  alert expected before it fires",
			"        alert high_error_rate at 4m: expected 1 firing alert, got 0",
			"FAILED: 10 of 10 tests failed",
		}},
		{"unusable", []string{"unusable_fields.test.yaml"}, 2, []string{
			"  UNUSABLE  the file cannot be run: 12 problems",
			`        line 9: unknown field "type" (known here: series, values)`,
		}},
		{"missing rules file", []string{"unusable_missing_rule_file.test.yaml"}, 2, []string{"no_such_rules.yaml"}},
		// Every file runs; an unusable one decides the status.
		{"mixed", []string{"failing.test.yaml", "unusable_series.test.yaml", "example.test.yaml"}, 2, []string{
			"FAILED: 10 of 10 tests failed", "UNUSABLE", "SUCCESS: 3 tests passed",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"rules", "test"}
			for _, f := range tc.files {
				args = append(args, rulesFile(f))
			}
			out, _, err := runFloe(context.Background(), args...)
			if got := exitStatus(err); got != tc.status {
				t.Errorf("exit status = %d (%v), want %d", got, err, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestRulesTestErrorMessages(t *testing.T) {
	t.Parallel()
	// Execute (what main calls) keeps the reason in the message.
	var out, errOut bytes.Buffer
	err := Execute(context.Background(), []string{"rules", "test", rulesFile("failing.test.yaml"), rulesFile("example.test.yaml")}, &out, &errOut)
	if err == nil || err.Error() != "rules test: 1 of 2 files failed" {
		t.Errorf("failing tests: Execute = %v", err)
	}
	err = Execute(context.Background(), []string{"rules", "test", rulesFile("unusable_rules.test.yaml")}, &out, &errOut)
	if err == nil || err.Error() != "rules test: 1 of 1 file unusable" {
		t.Errorf("unusable file: Execute = %v", err)
	}
}

func TestRulesTestJSON(t *testing.T) {
	t.Parallel()
	out, _, err := runFloe(context.Background(), "-o", "json", "rules", "test", rulesFile("nodata.test.yaml"), rulesFile("unusable_series.test.yaml"))
	if exitStatus(err) != 2 {
		t.Fatalf("rules test -o json = %v", err)
	}
	var doc struct {
		Files []jsonTestFile `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(doc.Files) != 2 {
		t.Fatalf("files = %+v", doc.Files)
	}
	nodata, unusable := doc.Files[0], doc.Files[1]
	if nodata.Passed || nodata.Unusable || len(nodata.Tests) != 4 || !nodata.Tests[0].Passed || nodata.Tests[1].Passed ||
		!strings.HasPrefix(nodata.Tests[1].Name, "FAIL:") || len(nodata.Tests[1].Failures) == 0 {
		t.Errorf("nodata.test.yaml = %+v", nodata)
	}
	if !unusable.Unusable || len(unusable.Problems) != 3 || len(unusable.Tests) != 0 {
		t.Errorf("unusable_series.test.yaml = %+v", unusable)
	}
}

// ---- help and validation ----

func TestMonitorCommandsHaveHelpWithExamples(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := Execute(context.Background(), []string{"--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"rules", "alerts", "monitor"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("floe --help does not list %s:\n%s", cmd, out.String())
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" || c.Long == "" {
			t.Errorf("%s lacks Short or Long help", c.CommandPath())
		}
		if !c.HasSubCommands() && !strings.Contains(c.Long, "  "+c.CommandPath()) {
			t.Errorf("the Long help of %s has no example (%q):\n%s", c.CommandPath(), c.CommandPath(), c.Long)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range newMonitorCmds(&globals{}) {
		root := &cobra.Command{Use: "floe"}
		root.AddCommand(c)
		walk(c)
	}
	out.Reset()
	if err := Execute(context.Background(), []string{"rules", "--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"check", "test", "apply", "list", "get", "delete", "enable", "disable"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("rules --help does not list %s:\n%s", cmd, out.String())
		}
	}
}

// TestMonitorValidatesBeforeCalling checks that bad input is refused before
// any RPC: the server address is unreachable.
func TestMonitorValidatesBeforeCalling(t *testing.T) {
	t.Parallel()
	conn := []string{"--server", "127.0.0.1:1", "--token", "floe_x", "--timeout", "2s"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rules", "check"}, "missing FILE"},
		{[]string{"rules", "test"}, "missing FILE"},
		{[]string{"rules", "apply"}, "missing FILE"},
		{[]string{"rules", "apply", rulesFile("bad_rules.yaml")}, "is invalid; nothing was applied"},
		{[]string{"rules", "apply", rulesFile("rules.yaml"), "extra"}, "too many arguments"},
		{[]string{"-o", "xml", "rules", "check", rulesFile("rules.yaml")}, "--output"},
		{[]string{"rules", "delete", "alarm", "x"}, `unknown kind "alarm": use alert`},
		{[]string{"rules", "delete", "trigger"}, "missing NAME"},
		{[]string{"rules", "disable", "rule-ish", "x"}, "unknown kind"},
		{[]string{"rules", "get"}, "missing NAME"},
		{[]string{"alerts", "list", "--severity", "page"}, "critical, warning, info"},
		{[]string{"monitor", "analysis", "D1"}, "--step is required"},
		{[]string{"monitor", "status"}, "missing DEPLOYMENT_ID"},
	} {
		var out, errOut bytes.Buffer
		err := Execute(context.Background(), append(append([]string{}, conn...), tc.args...), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("floe %s = %v, want an error containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Unavailable") {
			t.Errorf("floe %s reached the network before validating: %v", strings.Join(tc.args, " "), err)
		}
	}
}

// ---- printers ----

func TestPrintMonitoring(t *testing.T) {
	t.Parallel()
	at := timestamppb.New(time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC))
	m := &monitorv1.DeploymentMonitoring{
		DeploymentId: "R1-production-1", ReleaseId: "R1", Environment: "production", Version: "1.2.0", StartedAt: at,
		Triggers: []*monitorv1.TriggerStatus{
			{Trigger: "error_rate", RuleVersion: 2, Condition: "error_rate > 0.1 for 5m0s", State: "breaching", LastValue: 0.123456,
				LastAt: at, BreachSince: at, Sustained: durationpb.New(90 * time.Second), Samples: 7},
			{Trigger: "response_time_p95", RuleVersion: 1, Condition: "response_time_p95 > 5 for 3m0s", State: "no_data", LastNoData: true, LastAt: at, Samples: 7},
			{Trigger: "fresh", RuleVersion: 1, Condition: "fresh > 1 for 0s", State: "ok"},
		},
		Analyses: []*monitorv1.StepVerdict{{Step: 3, Verdict: &monitorv1.Verdict{Result: "pass", Reason: "all checks passed", WindowStart: at, WindowEnd: at}}},
	}
	var b bytes.Buffer
	if err := printMonitoring(&b, m); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	wantLines(t, "monitoring", out,
		"DEPLOYMENT R1-production-1", "RELEASE R1", "ENVIRONMENT production", "VERSION 1.2.0", "STARTED 2025-03-01 14:00:00Z", "ENDED - (active)",
		"TRIGGER VERSION CONDITION STATE LAST VALUE LAST AT SUSTAINED SAMPLES",
		"error_rate v2 error_rate > 0.1 for 5m0s breaching 0.1235 2025-03-01 14:00:00Z 1m30s 7",
		"response_time_p95 v1 response_time_p95 > 5 for 3m0s no_data no data 2025-03-01 14:00:00Z - 7",
		"fresh v1 fresh > 1 for 0s ok - - - 0",
		"STEP VERDICT WINDOW REASON",
		"3 pass 2025-03-01 14:00:00Z → 2025-03-01 14:00:00Z all checks passed")

	m.EndedAt, m.Outcome, m.Triggers, m.Analyses = at, "rolled_back", nil, nil
	b.Reset()
	if err := printMonitoring(&b, m); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "ended monitoring", b.String(), "ENDED 2025-03-01 14:00:00Z (rolled_back)", "TRIGGERS (none in force)", "ANALYSES (none)")
}

func TestPrintVerdict(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC)
	v := &monitorv1.Verdict{
		Result: "fail", Reason: "error_rate breached in 2 of 3 samples",
		WindowStart: timestamppb.New(at), WindowEnd: timestamppb.New(at.Add(time.Minute)),
		Checks: []*monitorv1.AnalysisCheck{{
			Trigger: "error_rate", RuleVersion: 4, Result: "fail", Reason: "2 of 3 samples breach > 0.1", Samples: 3, Breaching: 2, NoData: 1,
			Measurements: []*monitorv1.Measurement{
				{At: timestamppb.New(at), Value: 0.2500001, Breaching: true},
				{At: timestamppb.New(at.Add(15 * time.Second)), NoData: true},
				{At: timestamppb.New(at.Add(30 * time.Second)), Value: 12345.678},
			},
		}},
	}
	var b bytes.Buffer
	if err := printVerdict(&b, v); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "verdict", b.String(),
		"VERDICT FAIL", "REASON error_rate breached in 2 of 3 samples", "WINDOW 2025-03-01 14:00:00Z → 2025-03-01 14:01:00Z",
		"CHECK error_rate (v4): fail — 2 of 3 samples breach > 0.1", "3 samples, 2 breaching, 1 without data",
		"AT VALUE BREACHING", "2025-03-01 14:00:00Z 0.25 yes", "2025-03-01 14:00:15Z no data", "2025-03-01 14:00:30Z 1.235e+04")
}

func TestFileDefinitionsInlineFileMetrics(t *testing.T) {
	t.Parallel()
	set, err := rules.Load(filepath.Join("testdata", "monitor", "custom_metric.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ars, trs, inlined := fileDefinitions(set)
	if len(ars) != 0 || len(trs) != 2 || strings.Join(inlined, ",") != "p99_latency" {
		t.Fatalf("fileDefinitions = %v, %v, %v", ars, trs, inlined)
	}
	if trs[0].GetMetric() != set.Metrics["p99_latency"] || trs[1].GetMetric() != "error_rate" {
		t.Errorf("metrics sent = %q, %q", trs[0].GetMetric(), trs[1].GetMetric())
	}
	if trs[1].GetEnabled() || trs[1].GetDuration().AsDuration() != time.Minute || trs[0].GetDuration().AsDuration() != 2*time.Minute {
		t.Errorf("trigger fields = %v", trs)
	}
}

func TestSameDefinitionIgnoresVersion(t *testing.T) {
	t.Parallel()
	a := &monitorv1.RollbackTrigger{Name: "t", Metric: "m", Operator: ">", Threshold: 1, Action: "rollback", Version: 3,
		Duration: durationpb.New(time.Minute), Enabled: true}
	b := &monitorv1.RollbackTrigger{Name: "t", Metric: "m", Operator: ">", Threshold: 1, Action: "rollback", Version: 0,
		Duration: durationpb.New(time.Minute), Cooldown: durationpb.New(0), NoData: "hold", Enabled: true}
	if !sameTrigger(a, b) {
		t.Error("triggers differing only in version, an unset zero cooldown and the default no-data policy differ")
	}
	if a.GetVersion() != 3 || a.GetCooldown() != nil {
		t.Error("sameTrigger changed its argument")
	}
	b.Threshold = 1.5
	if sameTrigger(a, b) {
		t.Error("different thresholds compare equal")
	}
	r1 := &monitorv1.AlertRule{Name: "r", Condition: "up == 0", Severity: "info", Channels: []string{"slack"}, Version: 1}
	r2 := &monitorv1.AlertRule{Name: "r", Condition: "up == 0", Severity: "info", Channels: []string{"slack"}, Version: 9, For: durationpb.New(0)}
	if !sameAlertRule(r1, r2) {
		t.Error("alert rules differing only in version differ")
	}
	r2.Channels = []string{"slack", "email"}
	if sameAlertRule(r1, r2) {
		t.Error("different channels compare equal")
	}
}

func lineContaining(text, substr string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

// ---- against a real monitor ----

// monitorServer is the real monitor (monitorsvc) in a runtime on loopback,
// over an embedded JetStream, with no rules seeded.
type monitorServer struct {
	addr   string
	tokens map[string]string // principal id → bearer token
}

// monitorUsers: olivia operates (monitor.write), sam supports (monitor.read only).
var monitorUsers = map[string]auth.Role{"olivia": auth.RoleOperations, "sam": auth.RoleSupport}

func startMonitor(t *testing.T) *monitorServer {
	t.Helper()
	dir := t.TempDir()
	s := &monitorServer{tokens: map[string]string{}}
	tf := &auth.TokensFile{}
	for id, role := range monitorUsers {
		tok, err := auth.GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[id] = tok
		tf.Principals = append(tf.Principals, auth.TokenEntry{ID: id, TokenSHA256: auth.HashToken(tok), Roles: []auth.RoleBinding{{Role: role}}})
	}
	body, err := tf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tokensFile := filepath.Join(dir, "tokens.yaml")
	if err := os.WriteFile(tokensFile, body, 0o600); err != nil {
		t.Fatal(err)
	}

	nsrv := natstest.Server(t)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := runtime.Base{
		Environment: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json",
		ShutdownTimeout: 5 * time.Second, NATS: runtime.NATSConfig{URL: nsrv.ClientURL()},
		Auth: runtime.AuthConfig{TokensFile: tokensFile},
	}
	log := zerolog.Nop()
	rt, err := runtime.New(ctx, runtime.Options{Service: "monitor", Config: cfg, Logger: &log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	conn, err := natsx.Connect(ctx, natsx.Config{URL: nsrv.ClientURL(), Name: "monitor-cli-test"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rt.OnShutdown("nats", func(context.Context) error { return conn.Close() })
	none := rules.Set{Metrics: rules.DefaultMetrics()} // seed nothing: every rule comes from the commands under test
	entry := service.Of(monitorsvc.Service, monitorsvc.Config{Defaults: &monitorsvc.File{RuleSet: &none}})
	keys, err := service.DevKeys(filepath.Join(dir, "keys"), service.Writers(entry))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if _, err := service.Start(ctx, service.Host{Runtime: rt, NATS: conn, DataDir: dir, Keys: keys}, entry); err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := rt.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	s.addr = rt.GRPCAddr()
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("monitor run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("the monitor did not stop within 60s")
		}
	})
	// Ready once the catalog has read the log (lists are served from it).
	ready := "http://" + rt.AdminAddr() + "/readyz"
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the monitor was not ready within 30s (%v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// floe runs a command as user against the server.
func (s *monitorServer) floe(t *testing.T, user string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.floeCtx(ctx, user, args...)
}

func (s *monitorServer) floeCtx(ctx context.Context, user string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := Execute(ctx, append([]string{"--server", s.addr, "--token", s.tokens[user]}, args...), &out, &errOut)
	return out.String() + errOut.String(), err
}

// must runs a command that must succeed.
func (s *monitorServer) must(t *testing.T, user string, args ...string) string {
	t.Helper()
	out, err := s.floe(t, user, args...)
	if err != nil {
		t.Fatalf("floe %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// wantLines checks that each want appears on one line of out, its fields
// separated by any run of spaces (table columns).
func wantLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		lines = append(lines, norm(l))
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.Contains(l, norm(w)) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no line contains %q:\n%s", what, w, out)
		}
	}
}

// withThreshold copies rules.yaml with the error_rate trigger's threshold changed.
func withThreshold(t *testing.T, threshold string) string {
	t.Helper()
	data, err := os.ReadFile(rulesFile("rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "threshold: 0.1\n", "threshold: "+threshold+"\n", 1)
	if edited == string(data) {
		t.Fatal("rules.yaml no longer has the error_rate threshold this test edits")
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRulesApplyIsIdempotentAndUpdatesWithVersions(t *testing.T) {
	t.Parallel()
	s := startMonitor(t)
	file := rulesFile("rules.yaml")

	out := s.must(t, "olivia", "alerts", "list")
	if out != "no pending or firing alerts (--all includes resolved ones)\n" {
		t.Errorf("alerts list on an empty server = %q", out)
	}
	wantLines(t, "alerts list --all", s.must(t, "olivia", "alerts", "list", "--all", "--severity", "critical"), "no alerts")
	wantLines(t, "rules list (empty)", s.must(t, "olivia", "rules", "list"), "ALERT RULES", "(none)", "ROLLBACK TRIGGERS")

	first := s.must(t, "olivia", "rules", "apply", file)
	// rules.yaml keeps the guide's literal condition: applied, with the linter's warning.
	if !strings.Contains(first, "lint finding(s); applied all the same") || !strings.Contains(first, "promql/vector_matching") {
		t.Errorf("apply does not warn of the guide's condition:\n%s", first)
	}
	wantLines(t, "first apply", first,
		"alert rule high_error_rate created v1",
		"rollback trigger error_rate created v1",
		"rollback trigger response_time_p95 created v1",
		"3 definitions: 3 created, 0 updated, 0 unchanged")

	out = s.must(t, "olivia", "rules", "apply", file)
	wantLines(t, "second apply", out,
		"alert rule high_error_rate unchanged (v1)",
		"rollback trigger error_rate unchanged (v1)",
		"rollback trigger response_time_p95 unchanged (v1)",
		"3 definitions: 0 created, 0 updated, 3 unchanged")
	if strings.Contains(out, "not in the file") {
		t.Errorf("second apply reports definitions not in the file:\n%s", out)
	}

	edited := withThreshold(t, "0.2")
	wantLines(t, "apply after editing a threshold", s.must(t, "olivia", "rules", "apply", edited),
		"alert rule high_error_rate unchanged (v1)",
		"rollback trigger error_rate updated v1→v2",
		"rollback trigger response_time_p95 unchanged (v1)",
		"3 definitions: 0 created, 1 updated, 2 unchanged")
	wantLines(t, "get after the update", s.must(t, "olivia", "rules", "get", "error_rate"),
		"ROLLBACK TRIGGER error_rate", "VERSION 2", "CONDITION > 0.2 for 5m0s", "COOLDOWN 1h0m0s", "NO DATA hold")

	// A dry run reports the change and makes none.
	wantLines(t, "dry run", s.must(t, "olivia", "rules", "apply", withThreshold(t, "0.3"), "--dry-run"),
		"dry run: nothing is changed",
		"rollback trigger error_rate would update v2→v3",
		"3 definitions: 0 to create, 1 to update, 2 unchanged")
	wantLines(t, "get after the dry run", s.must(t, "olivia", "rules", "get", "error_rate"), "VERSION 2", "CONDITION > 0.2 for 5m0s")

	// Applying a file with fewer definitions keeps (and names) the others.
	only := filepath.Join(t.TempDir(), "only.yaml")
	if err := os.WriteFile(only, []byte("rollback_triggers:\n  - {name: error_rate, metric: error_rate, operator: '>', threshold: 0.2, duration: 300, action: rollback, cooldown: 60, no_data: hold}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "partial apply", s.must(t, "olivia", "rules", "apply", only),
		"rollback trigger error_rate unchanged (v2)",
		"on the server but not in the file (left as they are): alert rule high_error_rate, rollback trigger response_time_p95")

	// -o json: one document with every item.
	out = s.must(t, "olivia", "-o", "json", "rules", "apply", file)
	var doc struct {
		DryRun    bool        `json:"dryRun"`
		Items     []applyItem `json:"items"`
		NotInFile []namedKind `json:"notInFile"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("apply -o json: %v\n%s", err, out)
	}
	if len(doc.Items) != 3 || doc.Items[1] != (applyItem{Kind: "rollbackTrigger", Name: "error_rate", Result: "updated", FromVersion: 2, ToVersion: 3}) ||
		len(doc.NotInFile) != 0 {
		t.Errorf("apply -o json = %+v", doc)
	}
}

func TestRulesApplySendsFileMetricsAsPromQL(t *testing.T) {
	t.Parallel()
	s := startMonitor(t)
	file := filepath.Join("testdata", "monitor", "custom_metric.yaml")
	out := s.must(t, "olivia", "rules", "apply", file)
	wantLines(t, "apply", out,
		"note: named metrics defined in "+file+" are sent as their PromQL: p99_latency",
		"rollback trigger p99_latency created v1", "rollback trigger error_rate created v1")
	wantLines(t, "get p99_latency", s.must(t, "olivia", "rules", "get", "p99_latency"),
		"METRIC histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))", "CONDITION > 2.5 for 2m0s")
	wantLines(t, "get error_rate", s.must(t, "olivia", "rules", "get", "error_rate"), "METRIC error_rate", "ENABLED no")
	wantLines(t, "second apply", s.must(t, "olivia", "rules", "apply", file),
		"rollback trigger p99_latency unchanged (v1)", "rollback trigger error_rate unchanged (v1)")
}

func TestRulesEnableDisableGetListDelete(t *testing.T) {
	t.Parallel()
	s := startMonitor(t)
	s.must(t, "olivia", "rules", "apply", rulesFile("rules.yaml"))

	wantLines(t, "disable", s.must(t, "olivia", "rules", "disable", "trigger", "response_time_p95"),
		"disabled rollback trigger response_time_p95: v1→v2")
	wantLines(t, "get after disable", s.must(t, "olivia", "rules", "get", "response_time_p95"),
		"ROLLBACK TRIGGER response_time_p95", "VERSION 2", "ENABLED no", "ACTION alert")
	wantLines(t, "disable again", s.must(t, "olivia", "rules", "disable", "trigger", "response_time_p95"),
		"rollback trigger response_time_p95 is already disabled (v2)")
	wantLines(t, "disable alert", s.must(t, "olivia", "rules", "disable", "alert", "high_error_rate"),
		"disabled alert rule high_error_rate: v1→v2")
	wantLines(t, "enable alert", s.must(t, "olivia", "rules", "enable", "alert-rule", "high_error_rate"),
		"enabled alert rule high_error_rate: v2→v3")

	wantLines(t, "list", s.must(t, "olivia", "rules", "list"),
		"NAME VERSION ENABLED SEVERITY FOR COOLDOWN CHANNELS CONDITION",
		`high_error_rate 3 yes critical 2m0s 5m0s slack, email, sms rate(http_requests_total{status=~"5.."}[5m]) / rate(http_re…`,
		"NAME VERSION ENABLED CONDITION ACTION COOLDOWN NO DATA",
		"error_rate 1 yes error_rate > 0.1 for 5m0s rollback 1h0m0s hold",
		"response_time_p95 2 no response_time_p95 > 5 for 3m0s alert 30m0s hold")
	out := s.must(t, "olivia", "-o", "json", "rules", "list")
	var list struct {
		Rules    []map[string]any `json:"rules"`
		Triggers []map[string]any `json:"triggers"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Rules) != 1 || len(list.Triggers) != 2 || list.Triggers[1]["enabled"] != false {
		t.Errorf("rules list -o json = %v:\n%s", err, out)
	}

	// Applying the file re-enables what it says is enabled.
	wantLines(t, "apply re-enables", s.must(t, "olivia", "rules", "apply", rulesFile("rules.yaml")),
		"rollback trigger response_time_p95 updated v2→v3")

	// get falls back to the trigger, and shows both when both exist.
	s.must(t, "olivia", "rules", "apply", writeRulesFile(t, "alert_rules:\n  - {name: error_rate, condition: 'up == 0', severity: info, channels: [email]}\n"))
	out = s.must(t, "olivia", "rules", "get", "error_rate")
	wantLines(t, "get of a shared name", out, "ALERT RULE error_rate", "SEVERITY info", "ROLLBACK TRIGGER error_rate")
	out = s.must(t, "olivia", "-o", "json", "rules", "get", "error_rate")
	var both struct {
		Rule    *struct{ Name string } `json:"rule"`
		Trigger *struct{ Name string } `json:"trigger"`
	}
	if err := json.Unmarshal([]byte(out), &both); err != nil || both.Rule == nil || both.Trigger == nil {
		t.Errorf("rules get -o json of a shared name = %v:\n%s", err, out)
	}
	if !strings.Contains(out, `"operator": ">"`) {
		t.Errorf("rules get -o json escapes the operator:\n%s", out)
	}

	// delete: the expected version is checked.
	if out, err := s.floe(t, "olivia", "rules", "delete", "trigger", "response_time_p95", "--expected-version", "1"); err == nil ||
		!strings.Contains(err.Error(), "Aborted") || !strings.Contains(err.Error(), "at version 3, not the expected 1") {
		t.Errorf("delete with a stale version = %v\n%s", err, out)
	}
	wantLines(t, "delete", s.must(t, "olivia", "rules", "delete", "trigger", "response_time_p95", "--expected-version", "3"),
		"deleted rollback trigger response_time_p95")
	if out, err := s.floe(t, "olivia", "rules", "get", "response_time_p95"); err == nil || !strings.Contains(err.Error(), "NotFound") ||
		!strings.Contains(err.Error(), `no alert rule or rollback trigger is named "response_time_p95"`) {
		t.Errorf("get after delete = %v\n%s", err, out)
	}
	if _, err := s.floe(t, "olivia", "rules", "enable", "trigger", "response_time_p95"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("enable of a deleted trigger = %v", err)
	}
}

func writeRulesFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRulesApplyNeedsMonitorWrite(t *testing.T) {
	t.Parallel()
	s := startMonitor(t)
	out, err := s.floe(t, "sam", "rules", "apply", rulesFile("rules.yaml"))
	if err == nil || !strings.Contains(err.Error(), "PermissionDenied") || !strings.Contains(err.Error(), `"monitor.write"`) ||
		!strings.Contains(err.Error(), "alert rule high_error_rate") {
		t.Errorf("apply by a support user = %v, want PermissionDenied naming monitor.write and the rule\n%s", err, out)
	}
	// Reads are allowed, and nothing was created.
	wantLines(t, "list by sam", s.must(t, "sam", "rules", "list"), "ALERT RULES", "(none)")
	// A dry run only reads, so it works without monitor.write.
	wantLines(t, "dry run by sam", s.must(t, "sam", "rules", "apply", rulesFile("rules.yaml"), "--dry-run"),
		"alert rule high_error_rate would create")
	s.must(t, "olivia", "rules", "apply", rulesFile("rules.yaml"))
	if _, err := s.floe(t, "sam", "rules", "disable", "trigger", "error_rate"); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("disable by a support user = %v", err)
	}
	if _, err := s.floe(t, "sam", "rules", "delete", "alert", "high_error_rate"); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("delete by a support user = %v", err)
	}
}

// syncedBuffer is written by a command running in a goroutine while the test reads it.
type syncedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAlertsWatchStreamsUntilInterrupted(t *testing.T) {
	t.Parallel()
	s := startMonitor(t)
	s.must(t, "olivia", "rules", "apply", rulesFile("rules.yaml"))

	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var out, errOut syncedBuffer
	done := make(chan error, 1)
	go func() {
		done <- Execute(ctx, []string{"--server", s.addr, "--token", s.tokens["sam"], "alerts", "watch"}, &out, &errOut)
	}()
	// Change a trigger until the watch (subscribed at some point after it
	// started) relays a change.
	deadline := time.Now().Add(30 * time.Second)
	for verb := "disable"; !strings.Contains(out.String(), "rollback trigger response_time_p95 saved"); {
		if time.Now().After(deadline) {
			t.Fatalf("alerts watch printed no change within 30s:\n%s\n%s", out.String(), errOut.String())
		}
		s.must(t, "olivia", "rules", verb, "trigger", "response_time_p95")
		verb = map[string]string{"disable": "enable", "enable": "disable"}[verb]
		time.Sleep(50 * time.Millisecond)
	}
	line := lineContaining(out.String(), "saved")
	if _, err := time.Parse(timeLayout, strings.SplitN(line, "  ", 2)[0]); err != nil {
		t.Errorf("watch line %q does not start with a time: %v", line, err)
	}
	interrupt()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("alerts watch after Ctrl-C = %v, want nil (exit 0)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("alerts watch did not stop within 10s of Ctrl-C")
	}
}

func TestMonitorStatusAndAnalysisOfUnknownDeployment(t *testing.T) {
	t.Parallel()
	s := startMonitor(t)
	if _, err := s.floe(t, "sam", "monitor", "status", "R1-production-1"); err == nil || !strings.Contains(err.Error(), "NotFound") ||
		!strings.Contains(err.Error(), `deployment monitoring "R1-production-1" not found`) {
		t.Errorf("monitor status of an unknown deployment = %v", err)
	}
	if _, err := s.floe(t, "sam", "monitor", "analysis", "R1-production-1", "--step", "2"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("monitor analysis of an unknown deployment = %v", err)
	}
}
