//go:build unix

package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/penguinmails/floe/libs/testkit"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
	"github.com/penguinmails/floe/services/deployer/internal/driver/drivertest"
)

var (
	dev     = driver.Target{Environment: "development", App: "demo"}
	staging = driver.Target{Environment: "staging", App: "demo"}
)

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivertest.Harness {
		d, _ := newTestDriver(t, nil)
		client := newClient(t)
		return drivertest.Harness{
			Driver:  d,
			Target:  dev,     // its proxy is configured, opened by New
			Other:   staging, // its proxy is opened by its first Start
			Version: testVersion,
			Hit: func(t *testing.T, target driver.Target) (string, error) {
				return hit(client, d, target)
			},
		}
	})
}

// newTestDriver makes a driver running this test binary as the app, with a
// configured proxy for "development" on a free port, a fresh registry and
// the processes' output in the test log. Cleanup closes it.
func newTestDriver(t *testing.T, modify func(*Config)) (*Driver, *prometheus.Registry) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logger := &testLogger{t: t}
	t.Cleanup(logger.stop) // registered first, so it runs after Close
	reg := prometheus.NewRegistry()
	cfg := Config{
		Command:      []string{exe},
		Proxies:      map[string]string{"development": "127.0.0.1:0"},
		Registerer:   reg,
		Logger:       logger,
		StartTimeout: 10 * time.Second,
		StopGrace:    3 * time.Second,
	}
	if modify != nil {
		modify(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d, reg
}

// testVersion makes a version of the test app; an unhealthy one answers its
// first health check (Start's) and fails the later ones.
func testVersion(version string, healthy bool) driver.Version {
	v := driver.Version{Version: version, ReleaseID: "rel-" + version, Config: map[string]string{
		appEnv: "1",
		// A race-enabled binary sleeps 1s on exit by default; the app
		// need not, and Stop would wait for it.
		"GORACE": strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0"),
	}}
	if !healthy {
		v.Config["APP_HEALTHY_CHECKS"] = "1"
	}
	return v
}

// testLogger passes lines to t.Log until the test ends.
type testLogger struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
}

func (l *testLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// hit sends GET / to the target's proxy and returns the version that
// answered, checking that the proxy's and the app's headers agree.
func hit(client *http.Client, d *Driver, target driver.Target) (string, error) {
	status, header, body, err := get(client, d, target, "/")
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("%d %s", status, body)
	}
	if fv, av := header.Get(VersionHeader), header.Get("X-App-Version"); fv != body || av != body {
		return "", fmt.Errorf("body %q, %s %q, X-App-Version %q: they should agree", body, VersionHeader, fv, av)
	}
	return body, nil
}

// get sends GET path to the target's proxy.
func get(client *http.Client, d *Driver, target driver.Target, path string) (int, http.Header, string, error) {
	addr := d.ProxyAddr(target)
	if addr == "" {
		return 0, nil, "", fmt.Errorf("%s has no proxy", target)
	}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body), err
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

// pidOf returns the pid of the version's process.
func pidOf(t *testing.T, d *Driver, target driver.Target, version string) int {
	t.Helper()
	tg := d.lookup(target)
	if tg == nil {
		t.Fatalf("%s has no target", target)
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	inst := tg.instances[version]
	if inst == nil {
		t.Fatalf("%s does not run in %s", version, target)
	}
	return inst.pid
}

// alive reports whether the process exists and is not a zombie (a zombie
// whose parent is gone waits for a reaper that a container may not have).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) || !procMounted()
	}
	// pid (comm) state ...; comm may contain spaces and parentheses.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func procMounted() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// waitGone waits until none of the pids is alive.
func waitGone(t *testing.T, within time.Duration, pids ...int) {
	t.Helper()
	testkit.EventuallyWithin(t, within, func() error {
		var left []int
		for _, pid := range pids {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("processes %v still exist", left)
		}
		return nil
	})
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Config{
		Command:      []string{"{{.Nope}}", "{{.Port"},
		Proxies:      map[string]string{"": "127.0.0.1:0", "staging": "127.0.0.1:99999", "prod": "nohost"},
		HealthPath:   "healthz",
		StartTimeout: -time.Second,
		StopGrace:    -time.Second,
	})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{
		`Command[0] "{{.Nope}}"`, `Command[1] "{{.Port"`,
		"an environment name is empty", `Proxies["staging"]`, `Proxies["prod"] "nohost"`,
		`HealthPath "healthz"`, "StartTimeout", "StopGrace", "Registerer is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New's error does not mention %q:\n%v", want, err)
		}
	}

	if _, err := New(Config{Registerer: prometheus.NewRegistry()}); err == nil || !strings.Contains(err.Error(), "Command is empty") {
		t.Errorf("New without Command = %v; want it to say the Command is empty", err)
	}

	// A proxy address that is taken.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = New(Config{Command: []string{"app"}, Registerer: prometheus.NewRegistry(),
		Proxies: map[string]string{"development": ln.Addr().String(), "staging": "127.0.0.1:0"}})
	if err == nil || !strings.Contains(err.Error(), "proxy of environment development") {
		t.Errorf("New with a taken proxy address = %v", err)
	}
}

func TestCommandTemplatesAndEnvironment(t *testing.T) {
	exe, _ := os.Executable()
	var out strings.Builder
	var outMu sync.Mutex
	d, _ := newTestDriver(t, func(c *Config) {
		c.Command = []string{exe, "app={{.App}}", "env={{.Environment}}", "version={{.Version}}", "release={{.ReleaseID}}", "port={{.Port}}"}
		c.Logger = writerFunc(func(p []byte) (int, error) {
			outMu.Lock()
			defer outMu.Unlock()
			return out.Write(p)
		})
	})
	v := testVersion("2.0.0", true)
	v.Config["GREETING"] = "hello world"
	v.Config["PORT"] = "1" // the driver's PORT wins
	mustStart(t, d, dev, v)
	mustSetWeights(t, d, dev, map[string]int{"2.0.0": 100})
	client := newClient(t)

	port := strings.TrimPrefix(regexp.MustCompile(`:\d+$`).FindString(instanceAddr(t, d, dev, "2.0.0")), ":")
	_, _, args, err := get(client, d, dev, "/args")
	if err != nil {
		t.Fatal(err)
	}
	if want := "app=demo\nenv=development\nversion=2.0.0\nrelease=rel-2.0.0\nport=" + port; args != want {
		t.Errorf("arguments:\n%s\nwant:\n%s", args, want)
	}
	_, _, env, err := get(client, d, dev, "/env?n=GREETING&n=FLOE_VERSION&n=FLOE_ENVIRONMENT&n=FLOE_APP&n=FLOE_RELEASE_ID&n=PORT")
	if err != nil {
		t.Fatal(err)
	}
	want := "FLOE_APP=demo\nFLOE_ENVIRONMENT=development\nFLOE_RELEASE_ID=rel-2.0.0\nFLOE_VERSION=2.0.0\nGREETING=hello world\nPORT=" + port + "\n"
	if env != want {
		t.Errorf("environment:\n%s\nwant:\n%s", env, want)
	}
	outMu.Lock()
	logged := out.String()
	outMu.Unlock()
	if !regexp.MustCompile(`(?m)^demo@development 2\.0\.0 \| app 2\.0\.0 pid \d+ listening on 127\.0\.0\.1:` + port + `$`).MatchString(logged) {
		t.Errorf("the logger did not get the app's output line, prefixed; it got:\n%s", logged)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func instanceAddr(t *testing.T, d *Driver, target driver.Target, version string) string {
	t.Helper()
	tg := d.lookup(target)
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.instances[version].addr
}

func TestProxies(t *testing.T) {
	d, _ := newTestDriver(t, nil)
	client := newClient(t)

	// The configured proxy listens from New on.
	if d.ProxyAddr(dev) == "" {
		t.Fatal("no address for the configured proxy of development")
	}
	if status, _, body, err := get(client, d, dev, "/"); err != nil || status != http.StatusServiceUnavailable || !strings.Contains(body, "nothing runs in environment development") {
		t.Errorf("before any Start, GET / = %d %q %v; want 503 saying nothing runs", status, body, err)
	}
	mustStart(t, d, dev, testVersion("1.0.0", true))
	if status, _, body, err := get(client, d, dev, "/"); err != nil || status != http.StatusServiceUnavailable || !strings.Contains(body, "no weights are set") {
		t.Errorf("before SetWeights, GET / = %d %q %v; want 503 saying no weights are set", status, body, err)
	}
	other := driver.Target{Environment: "development", App: "other"}
	if err := d.Start(t.Context(), other, testVersion("1.0.0", true)); err == nil || !strings.Contains(err.Error(), "already fronts app demo") {
		t.Errorf("Start of a second app in a configured environment = %v; want a refusal", err)
	}
	if addr := d.ProxyAddr(other); addr != "" {
		t.Errorf("ProxyAddr(%s) = %q; want none", other, addr)
	}

	// Unconfigured environments get a proxy on their first Start, one per app.
	if addr := d.ProxyAddr(staging); addr != "" {
		t.Errorf("ProxyAddr(%s) before Start = %q; want none", staging, addr)
	}
	stagingOther := driver.Target{Environment: "staging", App: "other"}
	mustStart(t, d, staging, testVersion("1.0.0", true))
	mustStart(t, d, stagingOther, testVersion("3.0.0", true))
	a, b := d.ProxyAddr(staging), d.ProxyAddr(stagingOther)
	if a == "" || b == "" || a == b || !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("proxies of %s and %s: %q and %q; want two on 127.0.0.1", staging, stagingOther, a, b)
	}
	mustSetWeights(t, d, staging, map[string]int{"1.0.0": 100})
	mustSetWeights(t, d, stagingOther, map[string]int{"3.0.0": 100})
	for target, want := range map[driver.Target]string{staging: "1.0.0", stagingOther: "3.0.0"} {
		if got, err := hit(client, d, target); err != nil || got != want {
			t.Errorf("GET / on %s = %q, %v; want %s", target, got, err, want)
		}
	}
}

func TestMetrics(t *testing.T) {
	d, reg := newTestDriver(t, nil)
	client := newClient(t)
	mustStart(t, d, dev, testVersion("1.0.0", true))
	mustStart(t, d, dev, testVersion("1.1.0", true))

	labels := func(version string) map[string]string {
		return map[string]string{"environment": "development", "app": "demo", "version": version}
	}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	wantValue := func(name string, l map[string]string, want float64) {
		t.Helper()
		got, ok := gather(t, reg, name, l)
		if !ok {
			t.Errorf("%s%v is not exported", name, l)
		} else if got != want {
			t.Errorf("%s%v = %v; want %v", name, l, got, want)
		}
	}
	wantValue("floe_proxy_weight", labels("1.0.0"), 0)
	wantValue("floe_proxy_weight", labels("1.1.0"), 0)

	mustSetWeights(t, d, dev, map[string]int{"1.0.0": 100})
	for range 12 {
		if _, err := hit(client, d, dev); err != nil {
			t.Fatal(err)
		}
	}
	mustSetWeights(t, d, dev, map[string]int{"1.0.0": 30, "1.1.0": 70})
	wantValue("floe_proxy_weight", labels("1.0.0"), 30)
	wantValue("floe_proxy_weight", labels("1.1.0"), 70)
	mustSetWeights(t, d, dev, map[string]int{"1.1.0": 100})
	for range 5 {
		if _, err := hit(client, d, dev); err != nil {
			t.Fatal(err)
		}
	}
	if status, _, _, err := get(client, d, dev, "/nope/404"); err != nil || status != http.StatusOK {
		// The test app answers every path other than its own with the version.
		t.Fatalf("GET /nope/404 = %d, %v", status, err)
	}

	wantValue("floe_proxy_requests_total", with(labels("1.0.0"), "code", "200"), 12)
	wantValue("floe_proxy_requests_total", with(labels("1.1.0"), "code", "200"), 6)
	wantValue("floe_proxy_request_duration_seconds", labels("1.0.0"), 12) // the sample count
	wantValue("floe_proxy_request_duration_seconds", labels("1.1.0"), 6)
	wantValue("floe_proxy_weight", labels("1.0.0"), 0)
	wantValue("floe_proxy_weight", labels("1.1.0"), 100)

	// The histogram's buckets go from 1ms to 10s.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "floe_proxy_request_duration_seconds" {
			continue
		}
		b := mf.GetMetric()[0].GetHistogram().GetBucket()
		if first, last := b[0].GetUpperBound(), b[len(b)-1].GetUpperBound(); first != 0.001 || last != 10 {
			t.Errorf("duration buckets go from %v to %v; want 0.001 to 10", first, last)
		}
	}

	// Stop removes the version's weight gauge; its request counts stay.
	if err := d.Stop(t.Context(), dev, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if _, ok := gather(t, reg, "floe_proxy_weight", labels("1.0.0")); ok {
		t.Error("floe_proxy_weight of the stopped 1.0.0 is still exported")
	}
	wantValue("floe_proxy_requests_total", with(labels("1.0.0"), "code", "200"), 12)
}

// gather returns the value of the metric with exactly these labels: a
// counter's or gauge's value, a histogram's sample count.
func gather(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
					continue metrics
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func TestCrashedVersion(t *testing.T) {
	d, reg := newTestDriver(t, nil)
	client := newClient(t)
	mustStart(t, d, dev, testVersion("1.0.0", true))
	mustSetWeights(t, d, dev, map[string]int{"1.0.0": 100})
	pid := pidOf(t, d, dev, "1.0.0")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Check notices the exit; the version stays listed so the split stays valid.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := d.Check(t.Context(), dev, "1.0.0")
		if err != nil && strings.Contains(err.Error(), "signal: killed") {
			t.Logf("Check after the crash: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Check after the crash = %v; want it to report the process killed", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := d.State(t.Context(), dev)
	if err != nil || len(st.Running) != 1 || st.Weights["1.0.0"] != 100 {
		t.Errorf("State after the crash = %+v, %v", st, err)
	}
	status, header, body, err := get(client, d, dev, "/")
	if err != nil || status != http.StatusBadGateway || header.Get(VersionHeader) != "1.0.0" {
		t.Errorf("GET / to the crashed version = %d %q (%s %q), %v; want 502", status, body, VersionHeader, header.Get(VersionHeader), err)
	}
	if got, ok := gather(t, reg, "floe_proxy_requests_total",
		map[string]string{"environment": "development", "app": "demo", "version": "1.0.0", "code": "502"}); got != 1 || !ok {
		t.Errorf("floe_proxy_requests_total{code=502} = %v (exported: %v); want 1", got, ok)
	}

	// Start brings it back, and traffic flows again.
	mustStart(t, d, dev, testVersion("1.0.0", true))
	if again := pidOf(t, d, dev, "1.0.0"); again == pid {
		t.Errorf("Start of the crashed version kept pid %d", pid)
	}
	if got, err := hit(client, d, dev); err != nil || got != "1.0.0" {
		t.Errorf("GET / after the restart = %q, %v", got, err)
	}
}

func TestStartFailsWhenProcessExits(t *testing.T) {
	d, _ := newTestDriver(t, nil)
	v := testVersion("1.0.0", true)
	v.Config["APP_EXIT_IMMEDIATELY"] = "boom: DATABASE_URL is not set"
	began := time.Now()
	err := d.Start(t.Context(), dev, v)
	if err == nil {
		t.Fatal("Start of a process that exits succeeded")
	}
	t.Logf("Start: %v (after %v)", err, time.Since(began))
	for _, want := range []string{"exit status 3", "boom: DATABASE_URL is not set", "app 1.0.0 starting", "start 1.0.0 in demo@development"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start's error does not mention %q", want)
		}
	}
	if st, _ := d.State(t.Context(), dev); len(st.Running) != 0 {
		t.Errorf("State after a failed Start: %+v", st)
	}

	// A program that does not exist.
	d2, _ := newTestDriver(t, func(c *Config) { c.Command = []string{"/nonexistent/floe-app"} })
	if err := d2.Start(t.Context(), dev, v); err == nil || !strings.Contains(err.Error(), "/nonexistent/floe-app") {
		t.Errorf("Start of a missing program = %v", err)
	}
}

var pidLine = regexp.MustCompile(`app \S+ pid (\d+) listening`)

func TestStartTimeout(t *testing.T) {
	// Long enough for the test binary to start and answer under a loaded
	// -race run (it never becomes healthy, so the test takes this long).
	const timeout = 5 * time.Second
	d, _ := newTestDriver(t, func(c *Config) { c.StartTimeout = timeout })
	v := testVersion("1.0.0", true)
	v.Config["APP_UNHEALTHY"] = "1"
	began := time.Now()
	err := d.Start(t.Context(), dev, v)
	took := time.Since(began)
	if err == nil {
		t.Fatal("Start of a never healthy version succeeded")
	}
	t.Logf("Start: %v (after %v)", err, took)
	for _, want := range []string{"not healthy 5s after start", "503 Service Unavailable", "unhealthy on purpose", "listening on"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start's error does not mention %q", want)
		}
	}
	if took < timeout {
		t.Errorf("Start gave up after %v; StartTimeout is %v", took, timeout)
	}
	m := pidLine.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatal("no pid in the error's output")
	}
	pid, _ := strconv.Atoi(m[1])
	waitGone(t, 10*time.Second, pid)
	if st, _ := d.State(t.Context(), dev); len(st.Running) != 0 {
		t.Errorf("State after a failed Start: %+v", st)
	}

	// Start's context ends the wait too.
	d2, _ := newTestDriver(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if err := d2.Start(ctx, dev, v); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Start with a context that ends = %v; want context.DeadlineExceeded", err)
	}
}

func TestWeightSwapsUnderLoad(t *testing.T) {
	d, _ := newTestDriver(t, nil)
	client := newClient(t)
	mustStart(t, d, dev, testVersion("1.0.0", true))
	mustStart(t, d, dev, testVersion("1.1.0", true))
	mustSetWeights(t, d, dev, map[string]int{"1.0.0": 100})

	splits := []map[string]int{{"1.1.0": 100}, {"1.0.0": 50, "1.1.0": 50}, {"1.0.0": 100}, {"1.0.0": 1, "1.1.0": 99}}
	stop := make(chan struct{})
	var swaps int
	var setter sync.WaitGroup
	setter.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				swaps = i
				return
			default:
			}
			if err := d.SetWeights(context.Background(), dev, splits[i%len(splits)]); err != nil {
				t.Errorf("SetWeights: %v", err)
				return
			}
		}
	})
	var mu sync.Mutex
	counts := map[string]int{}
	var failures []string
	var hitters sync.WaitGroup
	for range 4 {
		hitters.Go(func() {
			for range 150 {
				status, header, body, err := get(client, d, dev, "/")
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case status != http.StatusOK:
					failures = append(failures, fmt.Sprintf("%d %s", status, body))
				default:
					counts[header.Get(VersionHeader)]++
				}
				mu.Unlock()
			}
		})
	}
	hitters.Wait()
	close(stop)
	setter.Wait()
	t.Logf("600 requests during %d weight swaps went %v", swaps, counts)
	if len(failures) > 0 {
		t.Errorf("%d requests failed during weight swaps, e.g. %v", len(failures), failures[:min(3, len(failures))])
	}
	if counts["1.0.0"] == 0 || counts["1.1.0"] == 0 || counts["1.0.0"]+counts["1.1.0"] != 600 {
		t.Errorf("requests went %v; want all 600 to the two versions, some to each", counts)
	}
}

func TestCloseLeavesNoProcesses(t *testing.T) {
	d, _ := newTestDriver(t, func(c *Config) { c.StopGrace = 300 * time.Millisecond })
	client := newClient(t)
	stubborn := testVersion("1.1.0", true)
	stubborn.Config["APP_IGNORE_SIGTERM"] = "1"
	parent := testVersion("1.2.0", true)
	parent.Config["APP_SPAWN_CHILD"] = "1"
	mustStart(t, d, dev, testVersion("1.0.0", true))
	mustStart(t, d, dev, stubborn)
	mustStart(t, d, staging, parent)
	mustSetWeights(t, d, staging, map[string]int{"1.2.0": 100})
	_, _, childPid, err := get(client, d, staging, "/child")
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(childPid)
	if err != nil || child == 0 {
		t.Fatalf("the app's child pid: %q", childPid)
	}
	pids := []int{pidOf(t, d, dev, "1.0.0"), pidOf(t, d, dev, "1.1.0"), pidOf(t, d, staging, "1.2.0"), child}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("process %d is not running before Close", pid)
		}
	}
	proxies := []string{d.ProxyAddr(dev), d.ProxyAddr(staging)}

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	began := time.Now()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close took %v", time.Since(began))
	// The driver's own processes have been waited for: gone at once. The
	// grandchild got the group's signal and is reaped by its parent or init.
	for _, pid := range pids[:3] {
		if alive(pid) {
			t.Errorf("process %d still exists after Close", pid)
		}
	}
	waitGone(t, 10*time.Second, child)

	for _, addr := range proxies {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("proxy %s still accepts connections after Close", addr)
		}
	}
	if err := d.Start(t.Context(), dev, testVersion("1.0.0", true)); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v; want ErrClosed", err)
	}
	if err := d.Close(ctx); err != nil {
		t.Errorf("Close again: %v", err)
	}
}

func TestStopTerminatesProcessGroup(t *testing.T) {
	d, _ := newTestDriver(t, nil)
	client := newClient(t)
	parent := testVersion("1.0.0", true)
	parent.Config["APP_SPAWN_CHILD"] = "1"
	mustStart(t, d, dev, parent)
	mustStart(t, d, dev, testVersion("1.1.0", true))
	mustSetWeights(t, d, dev, map[string]int{"1.0.0": 100})
	_, _, childPid, err := get(client, d, dev, "/child")
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(childPid)
	pid := pidOf(t, d, dev, "1.0.0")
	mustSetWeights(t, d, dev, map[string]int{"1.1.0": 100})
	if err := d.Stop(t.Context(), dev, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Errorf("process %d still exists after Stop", pid)
	}
	waitGone(t, 10*time.Second, child)
}
