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
	if out, err := cli("--as", "carol", "release", "approve", id, "--env", "staging", "--comment", "QA passed"); err != nil {
		t.Fatalf("approve staging: %v\n%s", err, out)
	}
	if out, err := cli("--as", "bob", "release", "promote", id, "--env", "staging"); err != nil {
		t.Fatalf("promote staging: %v\n%s", err, out)
	}
	waitEnvStatus(t, cli, id, "staging", "RELEASE_STATUS_DEPLOYED")
	// Production needs two approvals from people other than the author and the requester.
	out, err = cli("--as", "bob", "release", "promote", id, "--env", "production")
	if err == nil || !strings.Contains(out, "needs 2 approval(s)") {
		t.Errorf("promote production without approvals: err=%v\n%s", err, out)
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
