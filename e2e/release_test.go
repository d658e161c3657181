package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/testkit"
)

// TestReleaseLifecycle drives the release service through the CLI against
// `floe dev`: plan, promote, approve, a refused promotion naming its reasons,
// history with actors, notes, a restart with the same state, and an audit
// verification that covers the release's events.
func TestReleaseLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	cli := func(args ...string) (string, error) { return runCLI(t, ctx, env, args...) }

	out, err := cli("--as", "alice", "release", "create", "--product", "penguinmails", "--version", "1.0.0", "--type", "major",
		"--title", "First release", "--change", "feature:Campaign scheduling", "--change", "bug_fix:Outlook rendering", "-o", "json")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	var created struct {
		Release struct {
			ID               string `json:"id"`
			AggregateVersion string `json:"aggregateVersion"`
		} `json:"release"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Release.ID == "" {
		t.Fatalf("create output: %v\n%s", err, out)
	}
	id := created.Release.ID

	// Staging before development is refused, with the reason.
	out, err = cli("--as", "bob", "release", "promote", id, "--env", "staging")
	if err == nil || !strings.Contains(out, "FailedPrecondition") || !strings.Contains(out, "development first") {
		t.Errorf("promote staging first: err=%v\n%s", err, out)
	}
	// The deployer (demo app on the local driver) takes each promotion to deployed.
	if out, err := cli("--as", "bob", "release", "promote", id, "--env", "development"); err != nil {
		t.Fatalf("promote development: %v\n%s", err, out)
	}
	waitEnvStatus(t, cli, id, "development", "RELEASE_STATUS_DEPLOYED")
	// A release is also PRODUCT@VERSION, in an environment PRODUCT@VERSION/ENV (its deployment there too).
	if out, err := cli("release", "get", "penguinmails@1.0.0"); err != nil || !strings.Contains(out, id) {
		t.Errorf("release get penguinmails@1.0.0: %v\n%s", err, out)
	}
	if out, err := cli("deploy", "get", "penguinmails@1.0.0/development"); err != nil || !strings.Contains(out, id+"-development-1") {
		t.Errorf("deploy get penguinmails@1.0.0/development: %v\n%s", err, out)
	}
	// The deployment as it was at its first event: running, no step done yet.
	if out, err := cli("events", "tail", "--aggregate", "deployment", "--id", id+"-development-1", "--from", "1", "--no-follow", "-o", "json"); err != nil {
		t.Errorf("events tail of the deployment: %v\n%s", err, out)
	} else {
		var ev struct {
			Event    string
			Position uint64
		}
		if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &ev); err != nil || ev.Event != "DeploymentStarted" {
			t.Errorf("the deployment's first event: %v\n%s", err, out)
		} else if then, err := cli("deploy", "get", "penguinmails@1.0.0/development", "--at", fmt.Sprint(ev.Position)); err != nil ||
			!strings.Contains(then, "status RUNNING") || !strings.Contains(then, fmt.Sprintf("as of log position %d", ev.Position)) || strings.Contains(then, "✓") {
			t.Errorf("deploy get --at %d (its start): %v\n%s", ev.Position, err, then)
		}
	}
	// floe events tail, filtered, from the start, stopping at the end.
	if out, err := cli("events", "tail", "--aggregate", "release", "--id", id, "--from", "1", "--no-follow"); err != nil ||
		!strings.Contains(out, "floe.evt.release."+id+".ReleaseCreated") || strings.Contains(out, "floe.evt.deployment.") {
		t.Errorf("events tail of the release: %v\n%s", err, out)
	}
	if out, err := cli("events", "tail", "--type", "ReleaseCreated", "--last", "1", "--no-follow", "-o", "json"); err != nil {
		t.Errorf("events tail --last 1: %v\n%s", err, out)
	} else {
		var ev struct {
			Event, Actor string
			Position     uint64
		}
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &ev) != nil || ev.Event != "ReleaseCreated" || ev.Actor != "alice" {
			t.Errorf("events tail --last 1 -o json:\n%s", out)
		}
		// The release as it was then: planned, not yet deployed anywhere.
		if out, err := cli("release", "get", id, "--at", fmt.Sprint(ev.Position), "-o", "json"); err != nil || strings.Contains(out, "RELEASE_STATUS_DEPLOYED") {
			t.Errorf("release get --at %d (its creation): %v\n%s", ev.Position, err, out)
		}
	}
	if out, err := cli("events", "tail", "--type", "Release.Created"); err == nil || !strings.Contains(out, "not an identifier") {
		t.Errorf("events tail with a bad filter: %v\n%s", err, out)
	}
	// Shell completion asks the server: releases (IDs and references), environments.
	if out, err := cli("__complete", "release", "get", "pengu"); err != nil || !strings.Contains(out, "penguinmails@1.0.0\t") {
		t.Errorf("completion of a release: %v\n%s", err, out)
	}
	if out, err := cli("__complete", "release", "promote", id, "--env", "st"); err != nil || !strings.Contains(out, "staging") || strings.Contains(out, "production") {
		t.Errorf("completion of --env: %v\n%s", err, out)
	}
	if out, err := cli("release", "get", "penguinmails@9.9.9"); err == nil || !strings.Contains(out, "no release penguinmails@9.9.9") {
		t.Errorf("release get of a version that does not exist: %v\n%s", err, out)
	}
	if out, err := cli("--as", "carol", "release", "approve", "penguinmails@1.0.0/staging", "--comment", "QA passed"); err != nil {
		t.Fatalf("approve staging: %v\n%s", err, out)
	}
	// Development's Unit Tests gate opened with the deployment: staging waits for it.
	out, err = cli("--as", "bob", "release", "promote", id, "--env", "staging")
	if err == nil || !strings.Contains(out, "GATE_NOT_PASSED") || !strings.Contains(out, "development gate Unit Tests is pending") {
		t.Errorf("promote staging before the unit tests reported: err=%v\n%s", err, out)
	}
	// CI reports real gotestsum output; the exit status is the verdict (0 passed, 1 failed, 2 unusable).
	gate := func(suite, file string) (string, int) {
		out, err := cli("--as", "carol", "gate", "report", "--release", "penguinmails@1.0.0", "--env", "development",
			"--gate", "Unit Tests", "--suite", suite, "--junit", reportFile(file))
		return out, exitCode(err)
	}
	if out, code := gate("unit-tests", "gotestsum-1.13.0-pass.xml"); code != 0 || !strings.Contains(out, "PASSED Unit Tests/unit-tests: 3 passed") {
		t.Errorf("report passing unit tests: exit %d\n%s", code, out)
	}
	if out, code := gate("component-tests", "gotestsum-1.13.0-fail.xml"); code != 1 || !strings.Contains(out, "FAILED Unit Tests/component-tests: 4 failed") {
		t.Errorf("report failing component tests: exit %d\n%s", code, out)
	}
	if out, code := gate("smoke-tests", "gotestsum-1.13.0-pass.xml"); code != 2 || !strings.Contains(out, "has no suite") {
		t.Errorf("report to an unknown suite: exit %d\n%s", code, out)
	}
	out, err = cli("--as", "bob", "release", "promote", id, "--env", "staging")
	if err == nil || !strings.Contains(out, "development gate Unit Tests is failed") {
		t.Errorf("promote staging past a failed gate: err=%v\n%s", err, out)
	}
	failedThen := time.Now().UTC().Format(time.RFC3339Nano)
	if out, code := gate("component-tests", "gotestsum-1.13.0-pass.xml"); code != 0 {
		t.Errorf("report the component tests again, passing: exit %d\n%s", code, out)
	}
	if out, err := cli("gate", "status", "--release", id, "--env", "development"); err != nil || !strings.Contains(out, "gates MET") {
		t.Errorf("gate status: %v\n%s", err, out)
	}
	// Time travel: the gates as they were before the passing report, rebuilt from the log.
	if out, err := cli("gate", "status", "--release", id, "--env", "development", "--at", failedThen); err != nil || !strings.Contains(out, "gates NOT MET") {
		t.Errorf("gate status --at %s (before the passing report): %v\n%s", failedThen, err, out)
	}
	if out, err := cli("--as", "bob", "release", "promote", id, "--env", "staging"); err != nil {
		t.Fatalf("promote staging: %v\n%s", err, out)
	}
	waitEnvStatus(t, cli, id, "staging", "RELEASE_STATUS_DEPLOYED")
	// Production needs two approvals from people other than the author and the
	// requester, and staging's gates, which opened with the deployment.
	out, err = cli("--as", "bob", "release", "promote", id, "--env", "production")
	if err == nil || !strings.Contains(out, "needs 2 approval(s)") || !strings.Contains(out, "staging gate Integration Tests is pending") {
		t.Errorf("promote production without approvals: err=%v\n%s", err, out)
	}
	report := func(gate, suite, flag, file string) (string, int) {
		out, err := cli("--as", "carol", "gate", "report", "--release", id, "--env", "staging",
			"--gate", gate, "--suite", suite, flag, reportFile(file))
		return out, exitCode(err)
	}
	for _, r := range []struct{ gate, suite, flag, file string }{
		{"Integration Tests", "api-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
		{"Integration Tests", "database-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
		{"E2E Tests", "user-journey-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
		{"E2E Tests", "critical-path-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
		{"Security Tests", "dast", "--summary", "zap-summary.json"},
		{"Security Tests", "dependency-scan", "--summary", "zap-summary.json"},
	} {
		if out, code := report(r.gate, r.suite, r.flag, r.file); code != 0 {
			t.Errorf("report %s/%s: exit %d\n%s", r.gate, r.suite, code, out)
		}
	}
	// gosec's findings are all new the first time; once reviewed and accepted, the same report passes.
	if out, code := report("Security Tests", "sast", "--sarif", "gosec-v1.sarif"); code != 1 || !strings.Contains(out, "5 new error-level finding(s)") {
		t.Errorf("first SARIF report: exit %d\n%s", code, out)
	}
	if out, err := cli("--as", "bob", "gate", "accept-baseline", "--release", "penguinmails@1.0.0", "--env", "staging",
		"--gate", "Security Tests", "--suite", "sast", "--reason", "reviewed: tracked in SEC-41"); err != nil || !strings.Contains(out, "accepted 5 error-level finding(s)") {
		t.Errorf("accept the baseline: %v\n%s", err, out)
	}
	if out, code := report("Security Tests", "sast", "--sarif", "gosec-v1.sarif"); code != 0 {
		t.Errorf("SARIF report with only known findings: exit %d\n%s", code, out)
	}
	// Only the approvals are missing now.
	out, err = cli("--as", "bob", "release", "promote", id, "--env", "production")
	if err == nil || !strings.Contains(out, "needs 2 approval(s)") || strings.Contains(out, "GATE_NOT_PASSED") {
		t.Errorf("promote production with staging's gates met: err=%v\n%s", err, out)
	}
	// The author cannot approve her own release (alice is a developer: no approve permission at all).
	if out, err := cli("--as", "alice", "release", "approve", id, "--env", "staging"); err == nil || !strings.Contains(out, "PermissionDenied") {
		t.Errorf("author approving: err=%v\n%s", err, out)
	}

	out, err = cli("release", "history", id)
	if err != nil {
		t.Fatalf("history: %v\n%s", err, out)
	}
	for _, want := range []string{"alice planned major 1.0.0", "bob requested promotion to development", "deployed to development", "carol approved for staging", "deployed to staging"} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %q:\n%s", want, out)
		}
	}
	out, err = cli("release", "notes", id)
	if err != nil || !strings.Contains(out, "# Release 1.0.0 - penguinmails") || !strings.Contains(out, "- Campaign scheduling") || !strings.Contains(out, "- Outlook rendering") {
		t.Errorf("notes: %v\n%s", err, out)
	}

	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.stderr)
	}
	startDev(t, dataDir)
	out, err = cli("release", "get", id, "-o", "json")
	if err != nil {
		t.Fatalf("get after restart: %v\n%s", err, out)
	}
	var got struct {
		Release struct {
			AggregateVersion string `json:"aggregateVersion"`
			Status           string `json:"status"`
		} `json:"release"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// Created; development: requested, deploying, deployed; staging: approval, approved, requested, deploying, deployed.
	if got.Release.AggregateVersion != "9" || got.Release.Status != "RELEASE_STATUS_DEPLOYED" {
		t.Errorf("after restart: version %s status %s, want 9 and deployed", got.Release.AggregateVersion, got.Release.Status)
	}
	if out, err := cli("audit", "verify"); err != nil || !strings.Contains(out, "OK") {
		t.Errorf("audit verify after restart: %v\n%s", err, out)
	}
}

// waitEnvStatus polls `floe release get` until env has status want.
func waitEnvStatus(t *testing.T, cli func(...string) (string, error), id, env, want string) {
	t.Helper()
	testkit.EventuallyWithin(t, 60*time.Second, func() error {
		out, err := cli("release", "get", id, "-o", "json")
		if err != nil {
			return fmt.Errorf("floe release get %s: %v\n%s", id, err, out)
		}
		var r struct {
			Release struct {
				Environments []struct {
					Environment string `json:"environment"`
					Status      string `json:"status"`
				} `json:"environments"`
			} `json:"release"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			return fmt.Errorf("parse floe release get %s: %v\n%s", id, err, out)
		}
		for _, e := range r.Release.Environments {
			if e.Environment == env {
				if e.Status != want {
					return fmt.Errorf("status of %s in %s is %q, want %q", id, env, e.Status, want)
				}
				return nil
			}
		}
		return fmt.Errorf("%s has no %s environment yet, want status %q:\n%s", id, env, want, out)
	})
}
