package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/testkit"
)

// The production topology: a 3-node NATS cluster configured by
// deploy/nats and every service binary as its own process (floe cluster
// up, tools/floe/internal/cluster).

var (
	servicesOnce sync.Once
	servicesErr  error
)

// clusterServices are the service binaries floe cluster up starts.
var clusterServices = []string{"audit", "release", "gate", "flag", "change", "deployer", "monitor", "notifier"}

// serviceBinaries builds floe-<service> for every service next to floe
// (floeBinary's directory) and returns that directory.
func serviceBinaries(t *testing.T) string {
	t.Helper()
	dir := filepath.Dir(floeBinary(t))
	servicesOnce.Do(func() {
		for _, s := range clusterServices {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "floe-"+s), "./cmd/"+s)
			cmd.Dir = filepath.Join("..", "services", s)
			if out, err := cmd.CombinedOutput(); err != nil {
				servicesErr = fmt.Errorf("build floe-%s: %v\n%s", s, err, out)
				return
			}
		}
	})
	if servicesErr != nil {
		t.Fatal(servicesErr)
	}
	return dir
}

// clusterState is cluster.json.
type clusterState struct {
	NATS []struct {
		Name   string `json:"name"`
		Client string `json:"client"`
		PID    int    `json:"pid"`
	} `json:"nats"`
	Services []struct {
		Service string `json:"service"`
		GRPC    string `json:"grpc"`
		PID     int    `json:"pid"`
		Log     string `json:"log"`
	} `json:"services"`
	Credentials string            `json:"credentials"`
	ReaderURL   string            `json:"reader_url"`
	Proxies     map[string]string `json:"proxies"`
}

func (s clusterState) addr(t *testing.T, service string) string {
	t.Helper()
	for _, p := range s.Services {
		if p.Service == service {
			return p.GRPC
		}
	}
	t.Fatalf("no %s in the cluster", service)
	return ""
}

// localCluster is a running `floe cluster up`.
type localCluster struct {
	dir    string
	cmd    *exec.Cmd
	out    *testkit.SyncBuffer
	done   chan error
	state  clusterState
	env    []string
	ctx    context.Context
	t      *testing.T
	before time.Time
}

// startCluster runs floe cluster up on dir (a new cluster, or the one that
// ran there before) and waits until it has written cluster.json.
func startCluster(t *testing.T, ctx context.Context, dir string, args ...string) *localCluster {
	t.Helper()
	bin := serviceBinaries(t)
	c := &localCluster{dir: dir, out: &testkit.SyncBuffer{}, done: make(chan error, 1), ctx: ctx, t: t}
	c.cmd = exec.Command(floeBinary(t), append([]string{"cluster", "up", "--dir", dir, "--bin", bin,
		"--nats-conf", filepath.Join("..", "deploy", "nats", "nats-server.conf"), "--streams", filepath.Join("..", "deploy", "nats")}, args...)...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() { c.stop() })
	stateFile := filepath.Join(dir, "cluster.json")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if data, err := os.ReadFile(stateFile); err == nil && strings.Contains(c.out.String(), "floe cluster is running") {
			if err := json.Unmarshal(data, &c.state); err != nil {
				t.Fatal(err)
			}
			break
		}
		select {
		case err := <-c.done:
			t.Fatalf("floe cluster up exited: %v\n%s%s", err, c.out, c.logs())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster was not up within 3 minutes\n%s%s", c.out, c.logs())
		}
	}
	c.env = []string{"FLOE_CREDENTIALS=" + c.state.Credentials, "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	return c
}

// stop interrupts floe cluster up (it stops the services, then the nodes)
// and waits for it.
func (c *localCluster) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(90 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// logs are the last lines of every process's log, for failures.
func (c *localCluster) logs() string {
	var b strings.Builder
	paths, _ := filepath.Glob(filepath.Join(c.dir, "logs", "*.log"))
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "\n== %s\n%s\n", filepath.Base(p), strings.Join(lines, "\n"))
	}
	return b.String()
}

// cli runs the floe CLI against service's process.
func (c *localCluster) cli(service string, args ...string) (string, error) {
	return runCLI(c.t, c.ctx, c.env, append([]string{"--server", c.state.addr(c.t, service)}, args...)...)
}

func (c *localCluster) must(service string, args ...string) string {
	c.t.Helper()
	out, err := c.cli(service, args...)
	if err != nil {
		c.t.Fatalf("floe %s: %v\n%s%s", strings.Join(args, " "), err, out, c.logs())
	}
	return out
}

// kill sends SIGKILL to a process of the cluster.
func kill(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
}

// waitDeployed waits until the release is deployed in env.
func (c *localCluster) waitDeployed(id, env string) {
	c.t.Helper()
	waitEnvStatus(c.t, func(args ...string) (string, error) { return c.cli("release", args...) }, id, env, "RELEASE_STATUS_DEPLOYED")
}

// stepsOf reads the deployment's events from the log (as the read-only
// user) and returns how often each step index completed.
func (c *localCluster) stepsOf(deploymentID string) map[uint32]int {
	c.t.Helper()
	// The read-only user may not delete consumers: the ordered consumer's
	// clean-up is refused, which is the permissions working, not news.
	nc, err := nats.Connect(c.state.ReaderURL, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		c.t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(c.ctx, "FLOE_EVENTS", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"floe.evt.deployment." + deploymentID + ".DeploymentStepCompleted"}})
	if err != nil {
		c.t.Fatal(err)
	}
	info, err := cons.Info(c.ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	counts := map[uint32]int{}
	for range info.NumPending {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			c.t.Fatal(err)
		}
		var body struct {
			Index uint32 `json:"index"`
		}
		if err := json.Unmarshal(msg.Data(), &body); err != nil {
			c.t.Fatalf("step event %s: %v", msg.Data(), err)
		}
		counts[body.Index]++
	}
	return counts
}

// TestClusterJourney runs the release journey against separate service
// processes on a 3-node NATS cluster: create, approve, promote through
// development, staging and production (canaries), with a NATS node killed
// (SIGKILL) during the production canary: the deployment finishes, each of
// its steps completed exactly once, and `floe audit verify` passes over the
// whole log. Then the whole cluster is stopped and started again on the
// same directory: everything is still there.
func TestClusterJourney(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	envs := writeFile(t, dir, "environments.yaml", `environments:
  - {name: development, after: [], required_approvals: 0, strategy: big-bang}
  - {name: staging, after: [development], required_approvals: 1, approver_roles: [qa, release-manager], strategy: canary}
  - {name: production, after: [staging], required_approvals: 1, approver_roles: [operations, release-manager], strategy: canary}
`)
	gates := writeFile(t, dir, "gates.yaml", `environments:
  development:
    - {name: Unit Tests, suites: [unit-tests], required: true, timeout: 10m, on_failure: block}
`)
	deployer := writeFile(t, dir, "deployer.yaml", `strategies:
  staging:
    canary: {steps: ["setWeight 50", "pause 2s"]}
  production:
    canary: {steps: ["setWeight 25", "pause 8s", "setWeight 50", "pause 2s"]}
`)
	state := filepath.Join(dir, "cluster")
	c := startCluster(t, ctx, state, "--environments-file", envs, "--gates-file", gates, "--deployer-config", deployer)

	out := c.must("release", "--as", "alice", "release", "create", "--product", "penguinmails", "--version", "2.1.0", "--type", "minor",
		"--title", "Cluster journey", "--change", "feature:Campaign scheduling", "-o", "json")
	var created struct {
		Release struct {
			ID string `json:"id"`
		} `json:"release"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Release.ID == "" {
		t.Fatalf("create: %v\n%s", err, out)
	}
	id := created.Release.ID

	c.must("release", "--as", "bob", "release", "promote", id, "--env", "development")
	c.waitDeployed(id, "development")
	// The gate service (its own process) judges CI's report; the release service sees it pass.
	if out, err := c.cli("gate", "--as", "carol", "gate", "report", "--release", id, "--env", "development",
		"--gate", "Unit Tests", "--suite", "unit-tests", "--junit", reportFile("gotestsum-1.13.0-pass.xml")); err != nil {
		t.Fatalf("gate report: %v\n%s", err, out)
	}
	c.must("release", "--as", "carol", "release", "approve", id, "--env", "staging", "--comment", "QA passed")
	testkit.EventuallyWithin(t, time.Minute, func() error {
		out, err := c.cli("release", "--as", "bob", "release", "promote", id, "--env", "staging")
		if err != nil {
			return fmt.Errorf("promote staging: %v\n%s", err, out)
		}
		return nil
	})
	c.waitDeployed(id, "staging")
	c.must("release", "--as", "dave", "release", "approve", id, "--env", "production", "--comment", "go")
	c.must("release", "--as", "bob", "release", "promote", id, "--env", "production")

	// Kill a NATS node while the production canary pauses at 25 %.
	depID := id + "-production-1"
	testkit.EventuallyWithin(t, time.Minute, func() error {
		out, err := c.cli("deployer", "deploy", "get", depID)
		if err != nil || !strings.Contains(out, "▶") || !strings.Contains(out, "pause") {
			return fmt.Errorf("the production canary has not reached its pause: %v\n%s", err, out)
		}
		return nil
	})
	victim := c.state.NATS[1]
	kill(t, victim.PID)
	t.Logf("killed NATS node %s (pid %d) during the production canary", victim.Name, victim.PID)
	c.waitDeployed(id, "production")
	for i, n := range c.stepsOf(depID) {
		if n != 1 {
			t.Errorf("step %d of %s completed %d times", i, depID, n)
		}
	}
	if steps := c.stepsOf(depID); len(steps) < 4 {
		t.Errorf("%s completed %d steps; its plan has more", depID, len(steps))
	}
	verify := func() {
		t.Helper()
		out, err := runCLI(t, ctx, c.env, "audit", "verify", "--nats-url", c.state.ReaderURL,
			"--public-key", filepath.Join(state, "keys", "audit-signing.key.pub"), "--trust-store", filepath.Join(state, "keys", "trust.json"))
		if err != nil || !strings.Contains(out, "OK") {
			t.Fatalf("audit verify: %v\n%s%s", err, out, c.logs())
		}
		t.Logf("audit verify: %s", firstLine(out))
	}
	verify()

	// The whole cluster stops and starts again on its directory: the log,
	// the release and the deployments are all there.
	c.stop()
	c = startCluster(t, ctx, state, "--environments-file", envs, "--gates-file", gates, "--deployer-config", deployer)
	out = c.must("release", "release", "get", id)
	for _, env := range []string{"development", "staging", "production"} {
		if !strings.Contains(out, env) {
			t.Errorf("after the restart, release %s lacks %s:\n%s", id, env, out)
		}
	}
	if out := c.must("deployer", "deploy", "get", depID); !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("after the restart, %s:\n%s", depID, out)
	}
	verify()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
