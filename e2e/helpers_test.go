package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/testkit"
)

// binDir holds binaries built once per test run.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// floeBinary builds ./tools/floe once and returns its path.
func floeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "floe-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "floe"), "github.com/penguinmails/floe/tools/floe")
		cmd.Dir = filepath.Join("..", "tools")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("build floe: %v\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "floe")
}

func TestMain(m *testing.M) {
	// The CLI remembers the log position of each server's last write (its
	// session): keep that in a directory of the run, not the user's cache.
	state, err := os.MkdirTemp("", "floe-e2e-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("FLOE_STATE_DIR", state)
	code := m.Run()
	os.RemoveAll(state)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// devServer is a running `floe dev` process.
type devServer struct {
	cmd     *exec.Cmd
	dataDir string
	stdout  *testkit.SyncBuffer
	stderr  *testkit.SyncBuffer
	done    chan error
	creds   devCredentials
}

type devCredentials struct {
	Server      string `yaml:"server"`
	Admin       string `yaml:"admin"`
	OFREP       string `yaml:"ofrep"`
	Notifier    string `yaml:"notifier"`
	Console     string `yaml:"console"`
	NATS        string `yaml:"nats"`
	ReaderNKey  string `yaml:"nats_reader_nkey"`
	DefaultUser string `yaml:"default_user"`
	Users       []struct {
		ID    string   `yaml:"id"`
		Roles []string `yaml:"roles"`
		Token string   `yaml:"token"`
	} `yaml:"users"`
}

func (c devCredentials) token(t *testing.T, id string) string {
	t.Helper()
	for _, u := range c.Users {
		if u.ID == id {
			return u.Token
		}
	}
	t.Fatalf("no dev user %q", id)
	return ""
}

// natsAs connects to the dev server's NATS as identity: "reader" (the
// read-only identity it hands to subscribers), a service's own ("release",
// "deployer", "monitor": what a compromised operator with its seed could
// do), or "" for an anonymous connection.
func (d *devServer) natsAs(t *testing.T, identity string, extra ...nats.Option) (*nats.Conn, error) {
	t.Helper()
	opts := extra
	switch identity {
	case "":
	case "reader":
		o, err := nats.NkeyOptionFromSeed(d.creds.ReaderNKey)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, o)
	default:
		o, err := nats.NkeyOptionFromSeed(filepath.Join(d.dataDir, "nats-identities", identity+".nk"))
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, o)
	}
	nc, err := nats.Connect(d.creds.NATS, opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// mustNATS is natsAs that fails the test when the connection is refused.
func (d *devServer) mustNATS(t *testing.T, identity string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := d.natsAs(t, identity)
	if err != nil {
		t.Fatalf("connect to nats as %q: %v", identity, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// startDev runs `floe dev` on dataDir with free ports and waits until it has
// written its credentials file with bound addresses and reports ready.
func startDev(t *testing.T, dataDir string, extraArgs ...string) *devServer {
	t.Helper()
	credsPath := filepath.Join(dataDir, "dev-credentials.yaml")
	var before time.Time
	if fi, err := os.Stat(credsPath); err == nil {
		before = fi.ModTime()
	}
	d := &devServer{dataDir: dataDir, stdout: &testkit.SyncBuffer{}, stderr: &testkit.SyncBuffer{}, done: make(chan error, 1)}
	// The deployer's proxies on free ports (tests must not collide with a `make run`), and quick strategies.
	deployerCfg := filepath.Join(dataDir, "deployer.yaml")
	if err := os.WriteFile(deployerCfg, []byte(`local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
strategies:
  production:
    canary: {steps: ["setWeight 50", "pause 1s"]}
    blue_green: {scale_down_delay: 1s}
  staging:
    blue_green: {scale_down_delay: 1s}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(floeBinary(t), "dev", "--data-dir", dataDir, "--deployer-config", deployerCfg,
		"--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--ofrep-addr", "127.0.0.1:0", "--notifier-http-addr", "127.0.0.1:0",
		"--console-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--log-format", "json")
	d.cmd.Args = append(d.cmd.Args, extraArgs...)
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start floe dev: %v", err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if fi, err := os.Stat(credsPath); err == nil && fi.ModTime().After(before) && strings.Contains(d.stdout.String(), "floe dev is running") {
			break
		}
		select {
		case err := <-d.done:
			t.Fatalf("floe dev exited early: %v\nstdout:\n%s\nstderr:\n%s", err, d.stdout, d.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("floe dev did not start in 60s\nstdout:\n%s\nstderr:\n%s", d.stdout, d.stderr)
		}
	}
	data, err := os.ReadFile(credsPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &d.creds); err != nil {
		t.Fatalf("parse %s: %v", credsPath, err)
	}
	return d
}

// stop sends sig and returns the exit error (nil for exit status 0).
func (d *devServer) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal: %v", err)
	}
	select {
	case err := <-d.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("floe dev did not exit within 60s of %v\nstderr:\n%s", sig, d.stderr)
		return nil
	}
}

// runCLI runs the floe CLI with env additions and returns stdout, failing on error.
func runCLI(t *testing.T, ctx context.Context, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, floeBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

// exitCode is a runCLI error's exit status (0 for nil, -1 when the command
// did not exit on its own).
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// reportFile is the path of a test report: the gate service's real tool
// output (services/gate/.../testdata, see the README files there) or one of
// e2e/testdata/reports.
func reportFile(name string) string {
	switch name {
	case "gotestsum-1.13.0-pass.xml":
		return filepath.Join("..", "services", "gate", "gatesvc", "testdata", name)
	case "gotestsum-1.13.0-fail.xml":
		return filepath.Join("..", "services", "gate", "internal", "junit", "testdata", "gotestsum-1.13.0.xml")
	case "gosec-v1.sarif":
		return filepath.Join("..", "services", "gate", "internal", "sarif", "testdata", name)
	}
	return filepath.Join("testdata", "reports", name)
}

// writeFile writes content to dir/name (0600) and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// errorRateMonitor writes a monitor configuration that evaluates every
// second an error_rate rollback trigger (over 10% for 3 s) on the embedded
// scrape of the demo app's proxies, and returns its path (for --monitor-config).
func errorRateMonitor(t *testing.T, dataDir string) string {
	t.Helper()
	writeFile(t, dataDir, "rules.yaml", `metrics:
  error_rate: sum(rate(floe_proxy_requests_total{code=~"5.."}[10s])) / sum(rate(floe_proxy_requests_total[10s]))
rollback_triggers:
  - {name: error_rate, metric: error_rate, operator: ">", threshold: 0.1, duration: 3, action: rollback, cooldown: 60}
`)
	return writeFile(t, dataDir, "monitor.yaml", "interval: 1s\nembedded: {targets: [{url: self}]}\nrules: rules.yaml\n")
}
