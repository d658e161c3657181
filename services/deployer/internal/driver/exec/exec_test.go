//go:build unix

package execdriver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
	"github.com/penguinmails/floe/services/deployer/internal/driver/drivertest"
)

func TestMain(m *testing.M) {
	switch os.Getenv(cliEnv) {
	case "1":
		os.Exit(fakeCLI(os.Args[1:]))
	case "sleep":
		os.Exit(sleeper())
	}
	os.Exit(m.Run())
}

var (
	staging = driver.Target{Environment: "staging", App: "demo"}
	prod    = driver.Target{Environment: "production", App: "demo"}
)

// TestConformance runs drivertest against the fake platform CLI, once with
// the driver's own record (persisted in a StateDir) and once with a State
// command asking the platform.
//
// Hit is real: it reads the split that the SetWeights commands left in the
// fake platform's state file and picks a version at random by weight, as a
// weighted router would. So the traffic assertions check what the driver
// told the platform, not what the driver remembers.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"Record", "StateCommand"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			drivertest.Run(t, func(t *testing.T) drivertest.Harness {
				platformDir := t.TempDir()
				d := newTestDriver(t, platformDir, func(c *Config) {
					if mode == "StateCommand" {
						c.State = []string{testExe(t), "state"}
					} else {
						c.StateDir = t.TempDir()
					}
				})
				return drivertest.Harness{
					Driver:  d,
					Target:  staging,
					Other:   prod,
					Version: testVersion,
					Hit: func(_ *testing.T, target driver.Target) (string, error) {
						return hit(platformDir, target)
					},
				}
			})
		})
	}
}

func testExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// newTestDriver makes a driver whose commands are the fake platform CLI
// keeping its state in platformDir, with the commands' lines and output in
// the test log.
func newTestDriver(t *testing.T, platformDir string, modify func(*Config)) *Driver {
	t.Helper()
	exe := testExe(t)
	logger := &testLogger{t: t}
	t.Cleanup(logger.stop)
	cfg := Config{
		Start:      []string{exe, "start", "{{.Version}}"},
		SetWeights: []string{exe, "weights", "{{.Version}}", "{{.Weight}}", "{{.Weights}}"},
		Check:      []string{exe, "check", "{{.Version}}"},
		Stop:       []string{exe, "stop", "{{.Version}}"},
		Env:        cliEnvironment(platformDir),
		Timeout:    30 * time.Second,
		Logger:     logger,
	}
	if modify != nil {
		modify(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// cliEnvironment makes the test binary act as the fake CLI.
func cliEnvironment(platformDir string) map[string]string {
	return map[string]string{
		cliEnv:         "1",
		platformDirEnv: platformDir,
		// A race-enabled binary sleeps 1s on exit by default; the CLI
		// need not.
		"GORACE": strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0"),
	}
}

// testVersion makes a version; the fake platform's check fails for an
// unhealthy one.
func testVersion(version string, healthy bool) driver.Version {
	return driver.Version{Version: version, ReleaseID: "rel-" + version, Config: map[string]string{"HEALTHY": strconv.FormatBool(healthy)}}
}

// hit routes one request the way the fake platform's split says.
func hit(platformDir string, target driver.Target) (string, error) {
	p, err := readPlatform(platformFile(platformDir, target.App, target.Environment))
	if err != nil {
		return "", err
	}
	total := 0
	for _, w := range p.Weights {
		total += w
	}
	if total == 0 {
		return "", errors.New("no weights are set")
	}
	n := rand.IntN(total)
	for _, v := range driver.Sorted(p.Weights) {
		if n -= p.Weights[v]; n < 0 {
			if p.Running[v] == nil {
				return "", fmt.Errorf("routed to %s, which does not run", v)
			}
			return v, nil
		}
	}
	return "", fmt.Errorf("the split %v sums to %d", p.Weights, total)
}

// testLogger passes lines to t.Log until the test ends.
type testLogger struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
	lines   []string
}

func (l *testLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		line := strings.TrimSuffix(string(p), "\n")
		l.lines = append(l.lines, line)
		l.t.Log(line)
	}
	return len(p), nil
}

func (l *testLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

func (l *testLogger) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func mustStart(t *testing.T, d *Driver, target driver.Target, v driver.Version) {
	t.Helper()
	if err := d.Start(t.Context(), target, v); err != nil {
		t.Fatal(err)
	}
}

func mustSetWeights(t *testing.T, d *Driver, target driver.Target, w map[string]int) {
	t.Helper()
	if err := d.SetWeights(t.Context(), target, w); err != nil {
		t.Fatal(err)
	}
}

func wantState(t *testing.T, d *Driver, target driver.Target, want driver.State) {
	t.Helper()
	got, err := d.State(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("State(%s) (-want +got):\n%s", target, diff)
	}
}

// readCalls reads the lines that the record command wrote.
func readCalls(t *testing.T, path string) []recordedCall {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []recordedCall
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c recordedCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return calls
}

func TestTemplatesAndEnvironment(t *testing.T) {
	t.Parallel()
	exe := testExe(t)
	calls := filepath.Join(t.TempDir(), "calls.jsonl")
	perVersion := []string{"version={{.Version}}", "release={{.ReleaseID}}", "greeting={{.Config.GREETING}}", "optional={{index .Config \"MISSING\"}}"}
	target := []string{"app={{.App}}", "env={{.Environment}}"}
	cmd := func(op string, more ...string) []string {
		return append(append(append([]string{exe, "record", calls, op}, target...), perVersion...), more...)
	}
	var logger *testLogger
	d := newTestDriver(t, t.TempDir(), func(c *Config) {
		c.Start = cmd("start")
		c.SetWeights = cmd("weights", "weight={{.Weight}}", "weights={{.Weights}}",
			"split={{range $i, $s := .Split}}{{if $i}};{{end}}{{$s.Version}}:{{$s.Weight}}{{end}}", "{{$.App}} has {{len .Split}}")
		c.Check = cmd("check")
		c.Stop = cmd("stop")
		c.Env["EXTRA"] = "from Env"
		logger = c.Logger.(*testLogger)
	})
	v1 := driver.Version{Version: "1.0.0", ReleaseID: "rel-1", Config: map[string]string{
		"GREETING": "hello world", "EXTRA": "from Config (Env wins)", "FLOE_APP": "spoofed (the driver's wins)",
	}}
	v2 := driver.Version{Version: "1.1.0", ReleaseID: "rel-2", Config: map[string]string{"GREETING": "hi"}}
	ctx := t.Context()
	mustStart(t, d, staging, v1)
	mustStart(t, d, staging, v2)
	mustSetWeights(t, d, staging, map[string]int{"1.1.0": 100}) // 1.0.0 gets 0
	if err := d.Check(ctx, staging, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx, staging, "1.0.0"); err != nil {
		t.Fatal(err)
	}

	env := func(version, release, greeting, extra, weight, weights string) map[string]string {
		m := map[string]string{
			"FLOE_APP": "demo", "FLOE_ENVIRONMENT": "staging", "FLOE_VERSION": version, "FLOE_RELEASE_ID": release,
			"FLOE_WEIGHT": weight, "FLOE_WEIGHTS": weights, "GREETING": greeting, "EXTRA": extra,
		}
		return m
	}
	args := func(op, version, release, greeting string, more ...string) []string {
		return append([]string{op, "app=demo", "env=staging", "version=" + version, "release=" + release, "greeting=" + greeting, "optional="}, more...)
	}
	split := []string{"weights=1.0.0=0,1.1.0=100", "split=1.0.0:0;1.1.0:100", "demo has 2"}
	want := []recordedCall{
		{Args: args("start", "1.0.0", "rel-1", "hello world"), Env: env("1.0.0", "rel-1", "hello world", "from Env", "", "")},
		{Args: args("start", "1.1.0", "rel-2", "hi"), Env: env("1.1.0", "rel-2", "hi", "from Env", "", "")},
		// SetWeights: once per running version, sorted, each with what it was started with.
		{Args: args("weights", "1.0.0", "rel-1", "hello world", append([]string{"weight=0"}, split...)...),
			Env: env("1.0.0", "rel-1", "hello world", "from Env", "0", "1.0.0=0,1.1.0=100")},
		{Args: args("weights", "1.1.0", "rel-2", "hi", append([]string{"weight=100"}, split...)...),
			Env: env("1.1.0", "rel-2", "hi", "from Env", "100", "1.0.0=0,1.1.0=100")},
		{Args: args("check", "1.0.0", "rel-1", "hello world"), Env: env("1.0.0", "rel-1", "hello world", "from Env", "", "")},
		{Args: args("stop", "1.0.0", "rel-1", "hello world"), Env: env("1.0.0", "rel-1", "hello world", "from Env", "", "")},
	}
	if diff := cmp.Diff(want, readCalls(t, calls)); diff != "" {
		t.Errorf("commands run (-want +got):\n%s", diff)
	}

	// The Logger got every command line, and their output and status.
	logged := logger.text()
	for _, re := range []string{
		`(?m)^demo@staging Start 1\.0\.0 \$ \S+ record \S+ start app=demo env=staging version=1\.0\.0 release=rel-1 'greeting=hello world' optional=$`,
		`(?m)^demo@staging SetWeights 1\.1\.0: exit status 0 after \S+$`,
		`(?m)^demo@staging Stop 1\.0\.0 \$ `,
	} {
		if !regexp.MustCompile(re).MatchString(logged) {
			t.Errorf("the log does not match %s:\n%s", re, logged)
		}
	}

	// The State command has App and Environment.
	sd := newTestDriver(t, t.TempDir(), func(c *Config) {
		c.State = []string{exe, "record", calls, "state", "app={{.App}}", "env={{.Environment}}"}
		c.Env["FAKE_STDOUT"] = `{"running": ["2.0.0", "1.0.0", "2.0.0"], "weights": {"2.0.0": 100, "1.0.0": 0}, "extra": true}`
	})
	if err := os.Remove(calls); err != nil {
		t.Fatal(err)
	}
	wantState(t, sd, prod, driver.State{Running: []string{"1.0.0", "2.0.0"}, Weights: map[string]int{"1.0.0": 0, "2.0.0": 100}})
	wantCalls := []recordedCall{{Args: []string{"state", "app=demo", "env=production"}, Env: env("", "", "", "", "", "")}}
	delete(wantCalls[0].Env, "GREETING")
	delete(wantCalls[0].Env, "EXTRA")
	wantCalls[0].Env["FLOE_APP"], wantCalls[0].Env["FLOE_ENVIRONMENT"] = "demo", "production"
	if diff := cmp.Diff(wantCalls, readCalls(t, calls)); diff != "" {
		t.Errorf("State command (-want +got):\n%s", diff)
	}

	// {{.Config.KEY}} with a missing key fails the command before it runs.
	err := d.Start(ctx, staging, driver.Version{Version: "3.0.0"})
	if err == nil || !strings.Contains(err.Error(), `map has no entry for key "GREETING"`) || !strings.Contains(err.Error(), "Start[8]") {
		t.Errorf("Start with GREETING missing from Config = %v; want a render error naming Start[8]", err)
	}
}

func TestCommandFailure(t *testing.T) {
	t.Parallel()
	exe := testExe(t)
	d := newTestDriver(t, t.TempDir(), func(c *Config) {
		c.Start = []string{exe, "fail", "3", "{{.Version}}"}
	})
	err := d.Start(t.Context(), staging, testVersion("1.0.0", true))
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("Start with a failing command = %v; want a *CommandError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"exec driver: Start 1.0.0 in demo@staging: ",
		"Start command " + exe + " fail 3 1.0.0 exited with status 3 after ",
		"last output:\n\t[…]\n\toutput line ",
		"\n\toutput line 2000 of the failing command, on stderr\n\tthe very last line",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not contain %q", want)
		}
	}
	if strings.Contains(msg, "output line 0001 ") {
		t.Error("the error quotes the first lines of the output; it should keep the last 64 KiB")
	}
	if ce.ExitCode != 3 || !ce.Truncated || len(ce.Output) > MaxOutput || len(ce.Output) < MaxOutput-200 || ce.Op != "Start" || ce.Version != "1.0.0" || ce.Target != staging {
		t.Errorf("CommandError: exit code %d, truncated %v, %d bytes of output, op %s, version %s, target %s",
			ce.ExitCode, ce.Truncated, len(ce.Output), ce.Op, ce.Version, ce.Target)
	}
	if strings.HasPrefix(ce.Output, "output line") == false {
		t.Errorf("the kept output does not start at a line: %.40q", ce.Output)
	}
	if t.Failed() {
		t.Logf("the error:\n%.2000s\n…\n%s", msg, msg[max(0, len(msg)-300):])
	}
	// A failed Start records nothing.
	wantState(t, d, staging, driver.State{Running: []string{}, Weights: map[string]int{}})

	// A program that does not exist.
	d = newTestDriver(t, t.TempDir(), func(c *Config) {
		c.Check = []string{filepath.Join(t.TempDir(), "no-such-program"), "{{.Version}}"}
	})
	mustStart(t, d, staging, testVersion("1.0.0", true))
	err = d.Check(t.Context(), staging, "1.0.0")
	if !errors.As(err, &ce) || ce.ExitCode != -1 || !strings.Contains(err.Error(), "no-such-program 1.0.0 could not run: ") {
		t.Errorf("Check with a missing program = %v", err)
	}
}

// alive reports whether the process exists and is not a zombie (a zombie
// whose parent is gone waits for a reaper that a container may not have).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		_, procErr := os.Stat("/proc/self/stat")
		return !errors.Is(err, os.ErrNotExist) || procErr != nil
	}
	// pid (comm) state ...; comm may contain spaces and parentheses.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// waitGone waits until the process is not alive.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still exists 5s later", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readPid reads the pid that spawn or daemon wrote.
func readPid(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the command did not write the pid of its child: %v", err)
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	const timeout = time.Second
	d := newTestDriver(t, t.TempDir(), func(c *Config) {
		c.Start = []string{testExe(t), "spawn", pidFile}
		c.Timeout = timeout
	})
	began := time.Now()
	err := d.Start(t.Context(), staging, testVersion("1.0.0", true))
	took := time.Since(began)
	var ce *CommandError
	if !errors.As(err, &ce) || !ce.TimedOut || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a command that sleeps = %v; want a timeout", err)
	}
	if !strings.Contains(err.Error(), "timed out after 1s and was killed with its process group; last output:\n\tspawned ") {
		t.Errorf("the error does not say that the command timed out, or lacks its output: %v", err)
	}
	if took > timeout+waitDelay+3*time.Second {
		t.Errorf("Start took %v with a timeout of %v", took, timeout)
	}
	waitGone(t, readPid(t, pidFile))
}

func TestContextCancellationKillsCommand(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	d := newTestDriver(t, t.TempDir(), func(c *Config) {
		c.Start = []string{testExe(t), "spawn", pidFile}
		c.Timeout = time.Minute
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		// Cancel once the command is running (it has started its child).
		for ctx.Err() == nil {
			if _, err := os.Stat(pidFile); err == nil {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	err := d.Start(ctx, staging, testVersion("1.0.0", true))
	var ce *CommandError
	if !errors.As(err, &ce) || ce.TimedOut || !errors.Is(err, context.Canceled) {
		t.Fatalf("Start whose context was cancelled = %v; want an error wrapping context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "was interrupted (context canceled) after ") {
		t.Errorf("the error does not say that the command was interrupted: %v", err)
	}
	waitGone(t, readPid(t, pidFile))
	wantState(t, d, staging, driver.State{Running: []string{}, Weights: map[string]int{}})
}

// A command that exits 0 but leaves a process holding its output open
// succeeds, once the driver stops waiting for that output.
func TestLeftoverProcessDoesNotFailCommand(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "daemon.pid")
	d := newTestDriver(t, t.TempDir(), func(c *Config) {
		c.Start = []string{testExe(t), "daemon", pidFile}
	})
	d.waitDelay = 200 * time.Millisecond
	err := d.Start(t.Context(), staging, testVersion("1.0.0", true))
	if _, statErr := os.Stat(pidFile); statErr == nil {
		pid := readPid(t, pidFile)
		if !alive(pid) {
			t.Errorf("the daemon %d is gone: the driver should leave it alone", pid)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("Start with a command that leaves a process behind: %v", err)
	}
	wantState(t, d, staging, driver.State{Running: []string{"1.0.0"}, Weights: map[string]int{}})
}

func TestStateDirPersistence(t *testing.T) {
	t.Parallel()
	platformDir, stateDir := t.TempDir(), filepath.Join(t.TempDir(), "state")
	withStateDir := func(c *Config) { c.StateDir = stateDir }
	ctx := t.Context()
	d1 := newTestDriver(t, platformDir, withStateDir)
	mustStart(t, d1, staging, testVersion("1.0.0", true))
	mustStart(t, d1, staging, testVersion("1.1.0", false))
	mustSetWeights(t, d1, staging, map[string]int{"1.0.0": 100})
	mustStart(t, d1, prod, testVersion("1.0.0", true))
	if err := d1.Stop(ctx, prod, "1.0.0"); err != nil {
		t.Fatal(err)
	}

	// A second driver (a restarted deployer) knows what runs.
	d2 := newTestDriver(t, platformDir, withStateDir)
	wantState(t, d2, staging, driver.State{Running: []string{"1.0.0", "1.1.0"}, Weights: map[string]int{"1.0.0": 100}})
	wantState(t, d2, prod, driver.State{Running: []string{}, Weights: map[string]int{}})
	mustStart(t, d2, staging, testVersion("1.0.0", true)) // runs: not started again
	p, err := readPlatform(platformFile(platformDir, "demo", "staging"))
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Running["1.0.0"].Starts; n != 1 {
		t.Errorf("the platform started 1.0.0 %d times; want once", n)
	}
	if err := d2.Stop(ctx, staging, "1.0.0"); err == nil || !strings.Contains(err.Error(), "still carries 100% of the traffic") {
		t.Errorf("Stop of 1.0.0, with all the traffic, by the second driver = %v", err)
	}
	if err := d2.Check(ctx, staging, "1.1.0"); err == nil || !strings.Contains(err.Error(), "1.1.0 is unhealthy") {
		t.Errorf("Check of the unhealthy 1.1.0 by the second driver = %v", err)
	}

	// One file per target, private, no temporary files left.
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if info, err := e.Info(); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", e.Name(), info.Mode(), err)
		}
	}
	if diff := cmp.Diff([]string{"demo@production.json", "demo@staging.json"}, names); diff != "" {
		t.Errorf("files in StateDir (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(stateDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("StateDir: %v, %v; want mode 0700", fi.Mode(), err)
	}

	// A record that cannot be read is an error, not an empty target.
	if err := os.WriteFile(filepath.Join(stateDir, "demo@staging.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	d3 := newTestDriver(t, platformDir, withStateDir)
	if _, err := d3.State(ctx, staging); err == nil || !strings.Contains(err.Error(), "demo@staging.json") {
		t.Errorf("State with a corrupt record = %v; want an error naming the file", err)
	}
	if err := d3.Start(ctx, staging, testVersion("2.0.0", true)); err == nil {
		t.Error("Start with a corrupt record succeeded")
	}
}

// Without a State command, a SetWeights that failed half way makes Stop
// refuse every version it may have given traffic, until a SetWeights
// succeeds.
func TestFailedSetWeightsKeepsStopCareful(t *testing.T) {
	t.Parallel()
	d := newTestDriver(t, t.TempDir(), nil)
	ctx := t.Context()
	mustStart(t, d, staging, testVersion("1.0.0", true))
	flaky := testVersion("1.1.0", true)
	flaky.Config["FAIL_SET_WEIGHTS"] = "true" // its SetWeights command fails
	mustStart(t, d, staging, flaky)

	// The command for 1.0.0 (100) runs first and succeeds; 1.1.0's (0) fails.
	err := d.SetWeights(ctx, staging, map[string]int{"1.0.0": 100})
	if err == nil {
		t.Fatal("SetWeights succeeded although the command for 1.1.0 fails")
	}
	for _, want := range []string{
		"exec driver: SetWeights 1.1.0 in demo@staging: the split 1.0.0=100,1.1.0=0 is half applied (the commands for 1.0.0 succeeded): SetWeights command ",
		"exited with status 1",
		"cannot set the weight of 1.1.0: FAIL_SET_WEIGHTS is true",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not contain %q: %v", want, err)
		}
	}
	wantState(t, d, staging, driver.State{Running: []string{"1.0.0", "1.1.0"}, Weights: map[string]int{}})
	if err := d.Stop(ctx, staging, "1.0.0"); err == nil || !strings.Contains(err.Error(), "a SetWeights that failed may have given it up to 100% of the traffic") {
		t.Errorf("Stop of 1.0.0 after a failed SetWeights gave it 100%% = %v; want a refusal", err)
	}
	if err := d.Stop(ctx, staging, "1.1.0"); err != nil { // no traffic either way
		t.Fatal(err)
	}
	mustSetWeights(t, d, staging, map[string]int{"1.0.0": 100})
	wantState(t, d, staging, driver.State{Running: []string{"1.0.0"}, Weights: map[string]int{"1.0.0": 100}})
	mustSetWeights(t, d, staging, map[string]int{"1.0.0": 100})
	mustStart(t, d, staging, testVersion("1.2.0", true))
	mustSetWeights(t, d, staging, map[string]int{"1.2.0": 100})
	if err := d.Stop(ctx, staging, "1.0.0"); err != nil {
		t.Errorf("Stop of 1.0.0 after a SetWeights that took its weight away: %v", err)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		Start:      []string{"helm", "{{.Version"},
		SetWeights: []string{"", "{{.Nope}}", "{{range .Split}}{{.Version}}{{$.Bad}}{{end}}"},
		Check:      []string{"check", "{{.Weight}}"},
		State:      []string{"state", "{{.Version}}", "{{.App}}"},
		Timeout:    -time.Second,
		Env:        map[string]string{"A=B": "x", "NUL": "a\x00b"},
		Dir:        filepath.Join(t.TempDir(), "missing"),
	})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{
		`Start[1] "{{.Version"`,
		"SetWeights[0], the program, is empty",
		`SetWeights[1] "{{.Nope}}": {{.Nope}} is not a variable of SetWeights`,
		`{{.Bad}} is not a variable of SetWeights`,
		`Check[1] "{{.Weight}}": {{.Weight}} is not a variable of Check; it has .App, .Environment, .Version, .Artifact, .ReleaseID, .Config`,
		"Stop is empty",
		`State[1] "{{.Version}}": {{.Version}} is not a variable of State`,
		"Timeout -1s is negative",
		`Env: "A=B" cannot be`,
		"Env: the value of NUL contains a NUL byte",
		"Dir: ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New's error does not mention %q", want)
		}
	}
	if strings.Contains(err.Error(), "State[2]") || strings.Contains(err.Error(), "{{.Version}} is not a variable of SetWeights") {
		t.Errorf("New's error complains about valid templates")
	}
	if t.Failed() {
		t.Logf("the error:\n%v", err)
	}

	_, err = New(Config{})
	for _, op := range []string{"Start", "SetWeights", "Check", "Stop"} {
		if err == nil || !strings.Contains(err.Error(), op+" is empty") {
			t.Errorf("New(Config{}) = %v; want it to say that %s is empty", err, op)
		}
	}
	if err != nil && strings.Contains(err.Error(), "State is empty") {
		t.Errorf("New(Config{}) = %v; State is optional", err)
	}

	d, err := New(Config{Start: []string{"a"}, SetWeights: []string{"b"}, Check: []string{"c"}, Stop: []string{"d"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.cfg.Timeout != DefaultTimeout || d.Name() != "exec" {
		t.Errorf("Timeout %v, Name %q", d.cfg.Timeout, d.Name())
	}
}

func TestStateCommandOutput(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, out, want string
	}{
		{"empty", "  \n", `printed "  \n": want a JSON object`},
		{"not JSON", "running: 1.0.0", "want a JSON object like"},
		{"two objects", `{"running": []} {}`, "want one JSON object and nothing after it"},
		{"wrong type", `{"running": "1.0.0"}`, "cannot unmarshal string"},
		{"weight out of range", `{"running": ["1.0.0"], "weights": {"1.0.0": 101}}`, "the weight of 1.0.0 is 101; weights are 0-100"},
		{"empty version", `{"running": [""]}`, `"running" lists an empty version`},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newTestDriver(t, t.TempDir(), func(cfg *Config) {
				cfg.State = []string{testExe(t), "record", filepath.Join(t.TempDir(), "calls"), "state"}
				cfg.Env["FAKE_STDOUT"] = c.out
			})
			_, err := d.State(t.Context(), staging)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "exec driver: State of demo@staging: State command ") {
				t.Errorf("State = %v; want an error containing %q", err, c.want)
			}
			// Operations that need the state fail too, without running their command.
			if err := d.Start(t.Context(), staging, testVersion("1.0.0", true)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Start = %v; want an error containing %q", err, c.want)
			}
		})
	}
}

// The worked example of the package documentation is valid, and its
// SetWeights renders a valid JSON patch.
func TestDocumentationExample(t *testing.T) {
	t.Parallel()
	d, err := New(Config{
		Start: []string{"helm", "upgrade", "--install", "--wait",
			"{{.App}}-{{.Version}}", "./chart",
			"--set", "image.tag={{.Version}}",
			"--set", "replicas={{index .Config \"REPLICAS\"}}",
			"-n", "{{.Environment}}"},
		SetWeights: []string{"kubectl", "-n", "{{.Environment}}",
			"patch", "virtualservice", "{{.App}}", "--type=json", "-p",
			`[{"op": "replace", "path": "/spec/http/0/route", "value": [
			    {{range $i, $s := .Split}}{{if $i}},{{end}}
			    {"destination": {"host": "{{$.App}}-{{$s.Version}}"}, "weight": {{$s.Weight}}}
			    {{end}}]},
			  {"op": "add", "path": "/metadata/annotations/floe.dev~1weights", "value": "{{.Weights}}"}]`},
		Check: []string{"kubectl", "-n", "{{.Environment}}", "rollout", "status",
			"deployment/{{.App}}-{{.Version}}", "--timeout=30s"},
		Stop:    []string{"helm", "uninstall", "{{.App}}-{{.Version}}", "-n", "{{.Environment}}"},
		State:   []string{"./scripts/floe-state.sh", "{{.App}}", "{{.Environment}}"},
		Timeout: 5 * time.Minute,
		Env:     map[string]string{"KUBECONFIG": "/etc/floe/kubeconfig"},
	})
	if err != nil {
		t.Fatal(err)
	}
	split := []Share{{"1.1.0", 90}, {"1.2.0", 10}}
	argv, err := render(d.setWeights, Vars{App: "demo", Environment: "staging", Version: "1.2.0", Weight: 10, Weights: formatWeights(split), Split: split})
	if err != nil {
		t.Fatal(err)
	}
	var patch []struct {
		Op, Path string
		Value    any
	}
	if err := json.Unmarshal([]byte(argv[len(argv)-1]), &patch); err != nil {
		t.Fatalf("the patch is not JSON: %v\n%s", err, argv[len(argv)-1])
	}
	want := `[{replace /spec/http/0/route [map[destination:map[host:demo-1.1.0] weight:90] map[destination:map[host:demo-1.2.0] weight:10]]} {add /metadata/annotations/floe.dev~1weights 1.1.0=90,1.2.0=10}]`
	if got := fmt.Sprint(patch); got != want {
		t.Errorf("the patch is\n%s\nwant\n%s", got, want)
	}
	argv, err = render(d.start, Vars{App: "demo", Environment: "staging", Version: "1.2.0", Config: map[string]string{}})
	if err != nil || argv[9] != "replicas=" {
		t.Errorf("Start without REPLICAS renders %q, %v", argv, err)
	}
}
