package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/testkit"
)

// TestJourney runs `floe demo journey` — floe dev with the whole guide
// driven through it: 2.1.0 approved by two people, development and staging
// gates from real JUnit and SARIF with an E2E warning overridden, a change
// request, a production canary under load rolled back by the monitor,
// Slack and a signed webhook told once each, an incident on the status page,
// the audit verified and the compliance report checked — on free ports, to
// its end. The journey checks each step itself and exits 1 when one does not
// happen; then floe dev is started again on its data directory and what the
// journey left is read back through the CLI.
func TestJourney(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	// floe dev's own strategies and monitor; only the proxies move to free ports.
	deployerCfg := writeFile(t, dataDir, "deployer-ports.yaml", `local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
`)
	cmd := exec.CommandContext(ctx, floeBinary(t), "demo", "journey", "--exit", "--pace", "0", "--data-dir", dataDir, "--deployer-config", deployerCfg,
		"--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--ofrep-addr", "127.0.0.1:0", "--notifier-http-addr", "127.0.0.1:0",
		"--console-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	start := time.Now()
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	t.Logf("floe demo journey took %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("floe demo journey: %v\n%s", err, out)
	}
	for _, want := range []string{
		"$ floe --as alice release create --product penguinmails --version 2.1.0",
		"PASSED Unit Tests/component-tests",
		"FAILED E2E Tests/critical-path-tests",
		"overridden by carol",
		"change chg-penguinmails-2-1-0 scheduled",
		"2.1.0 is ROLLED_BACK in production",
		"Slack #releases got 1 message",
		"the webhook got 1 message, its Standard Webhooks signature verified: CloudEvent",
		"the status page (http://",
		"The journey is complete",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the journey's output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}

	// What the journey left, read back after a restart.
	startDev(t, dataDir)
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	cli := func(args ...string) (string, error) { return runCLI(t, ctx, env, args...) }
	if out, err := cli("audit", "verify"); err != nil || !strings.Contains(out, "OK") {
		t.Errorf("audit verify after the journey: %v\n%s", err, out)
	}
	// The audit service's own check, and a bundle it exports that verifies offline.
	if out, err := cli("audit", "check"); err != nil || !strings.Contains(out, "result      OK") {
		t.Errorf("audit check: %v\n%s", err, out)
	}
	bundle := filepath.Join(dataDir, "journey-bundle.jsonl")
	if out, err := cli("audit", "export", "--api", "--from", "1", "--to", "100", "--out", bundle); err != nil {
		t.Errorf("audit export --api: %v\n%s", err, out)
	} else if out, err := cli("audit", "verify", "--bundle", bundle); err != nil || !strings.Contains(out, "OK") || !strings.Contains(out, "positions 1..100") {
		t.Errorf("audit verify --bundle of the exported positions 1..100: %v\n%s", err, out)
	}
	waitEnvStatus(t, cli, "penguinmails@2.1.0", "production", "RELEASE_STATUS_ROLLED_BACK")
	waitEnvStatus(t, cli, "penguinmails@2.0.0", "production", "RELEASE_STATUS_DEPLOYED")
	waitChange(t, cli, "chg-penguinmails-2-1-0", "CHANGE_STATE_FAILED")
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		out, err := cli("notify", "list", "-o", "json")
		if err != nil {
			return err
		}
		var list struct {
			Notifications []struct {
				Receiver string `json:"receiver"`
				Status   string `json:"status"`
			} `json:"notifications"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return err
		}
		delivered := map[string]int{}
		for _, n := range list.Notifications {
			if strings.HasSuffix(n.Status, "DELIVERED") {
				delivered[n.Receiver]++
			}
		}
		if delivered["slack"] != 1 || delivered["webhook"] != 1 || len(list.Notifications) != 2 {
			return fmt.Errorf("notifications after the journey: %+v, want one delivered to each of slack and webhook", list.Notifications)
		}
		return nil
	})
}
