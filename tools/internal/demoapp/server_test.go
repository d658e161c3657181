package demoapp

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"
)

// testConfig is a valid configuration listening on a free loopback port.
func testConfig() Config {
	return Config{Listen: "127.0.0.1:0", Version: "1.2.3-test"}
}

// startServer runs run() in-process and returns the base URL taken from the
// ready line. The server is stopped, and its return checked, at cleanup.
func startServer(t *testing.T, cfg Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, cfg, pw)
		pw.CloseWithError(fmt.Errorf("run returned: %v", err))
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading ready line: %v (run: %v)", err, <-done)
	}
	prefix := fmt.Sprintf("demoapp %s listening on ", cfg.Version)
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
	if !ok {
		t.Fatalf("ready line %q does not start with %q", line, prefix)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	return "http://" + addr
}

// newClient returns a client whose idle connections are closed at cleanup.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

type response struct {
	code    int
	version string
	body    string
}

func get(t *testing.T, c *http.Client, url string) response {
	t.Helper()
	return do(t, c, http.MethodGet, url)
}

func do(t *testing.T, c *http.Client, method, url string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header.Get(versionHeader), string(b)}
}

func TestRootHealthy(t *testing.T) {
	cfg := testConfig()
	base := startServer(t, cfg)
	c := newClient(t)
	for range 50 {
		r := get(t, c, base+"/")
		if r.code != http.StatusOK {
			t.Fatalf("GET / = %d %s, want 200", r.code, r.body)
		}
		if r.version != cfg.Version {
			t.Fatalf("%s = %q, want %q", versionHeader, r.version, cfg.Version)
		}
		var body struct {
			Version  string `json:"version"`
			Hostname string `json:"hostname"`
			PID      int    `json:"pid"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("body %q: %v", r.body, err)
		}
		if body.Version != cfg.Version || body.Hostname == "" || body.PID <= 0 {
			t.Fatalf("body = %+v", body)
		}
	}
}

func TestRootAlwaysFailing(t *testing.T) {
	cfg := testConfig()
	cfg.ErrorRate = 1
	base := startServer(t, cfg)
	c := newClient(t)
	for range 50 {
		r := get(t, c, base+"/")
		if r.code != http.StatusInternalServerError {
			t.Fatalf("GET / = %d, want 500", r.code)
		}
		if r.version != cfg.Version {
			t.Fatalf("%s = %q on a 500, want %q", versionHeader, r.version, cfg.Version)
		}
		var body map[string]string
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("body %q: %v", r.body, err)
		}
		if body["error"] != "injected failure" || body["version"] != cfg.Version {
			t.Fatalf("body = %v", body)
		}
	}
}

// failures sends n requests to / (with the given parallelism) and returns the
// outcome of each, in the order the server drew them when parallel == 1.
func failures(t *testing.T, base string, n, parallel int) []bool {
	t.Helper()
	c := newClient(t)
	out := make([]bool, n)
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, parallel)
	for range parallel {
		wg.Go(func() {
			for i := range next {
				resp, err := c.Get(base + "/")
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
				case http.StatusInternalServerError:
					out[i] = true
				default:
					errs <- fmt.Errorf("unexpected status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	return out
}

func TestErrorRateIsRespected(t *testing.T) {
	cfg := testConfig()
	cfg.ErrorRate = 0.2
	cfg.Seed = 42
	base := startServer(t, cfg)
	const n = 2000
	failed := 0
	for _, f := range failures(t, base, n, 8) {
		if f {
			failed++
		}
	}
	// With a fixed seed the count is deterministic; the bounds are the
	// statistical claim (a binomial(2000, 0.2) is within them with
	// overwhelming probability for any seed).
	if failed < n*15/100 || failed > n*25/100 {
		t.Fatalf("%d of %d requests failed, want 15%%..25%%", failed, n)
	}
	t.Logf("%d of %d requests failed (%.1f%%)", failed, n, 100*float64(failed)/n)
}

func TestSeedIsReproducible(t *testing.T) {
	cfg := testConfig()
	cfg.ErrorRate = 0.5
	cfg.Seed = 7
	a := failures(t, startServer(t, cfg), 200, 1)
	b := failures(t, startServer(t, cfg), 200, 1)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: failed=%v with the first server, %v with the second (same seed)", i, a[i], b[i])
		}
	}
	cfg.Seed = 8
	c := failures(t, startServer(t, cfg), 200, 1)
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("seeds 7 and 8 gave the same 200 outcomes")
	}
}

func TestLatencyIsAdded(t *testing.T) {
	cfg := testConfig()
	cfg.Latency = 100 * time.Millisecond
	cfg.LatencyJitter = 50 * time.Millisecond
	base := startServer(t, cfg)
	c := newClient(t)
	for range 3 {
		start := time.Now()
		if r := get(t, c, base+"/"); r.code != http.StatusOK {
			t.Fatalf("GET / = %d", r.code)
		}
		if d := time.Since(start); d < cfg.Latency {
			t.Fatalf("GET / took %v, want at least %v", d, cfg.Latency)
		}
	}
	// Health checks and metrics are not slowed down.
	start := time.Now()
	get(t, c, base+"/healthz")
	if d := time.Since(start); d >= cfg.Latency {
		t.Errorf("GET /healthz took %v; only / should be delayed", d)
	}
}

func TestHealthz(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			cfg := testConfig()
			cfg.FailHealth = fail
			r := get(t, newClient(t), startServer(t, cfg)+"/healthz")
			want := http.StatusOK
			if fail {
				want = http.StatusServiceUnavailable
			}
			if r.code != want {
				t.Fatalf("GET /healthz = %d %q, want %d", r.code, r.body, want)
			}
			if !fail && strings.TrimSpace(r.body) != "ok" {
				t.Fatalf("GET /healthz body = %q, want ok", r.body)
			}
		})
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	base := startServer(t, testConfig())
	c := newClient(t)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodGet, "/healthz/x", http.StatusNotFound},
		{http.MethodGet, "/index.html", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodHead, "/", http.StatusOK},
	} {
		if r := do(t, c, tc.method, base+tc.path); r.code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, r.code, tc.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	cfg := testConfig()
	cfg.ErrorRate = 0.5
	cfg.Seed = 1
	base := startServer(t, cfg)
	c := newClient(t)

	before := get(t, c, base+"/metrics")
	for _, want := range []string{
		`demoapp_requests_total{code="200"} 0`,
		`demoapp_requests_total{code="500"} 0`,
		`demoapp_request_duration_seconds_count 0`,
		`demoapp_build_info{version="1.2.3-test"} 1`,
	} {
		if !strings.Contains(before.body, want) {
			t.Errorf("metrics before traffic lack %q", want)
		}
	}

	codes := map[int]int{}
	for range 40 {
		codes[get(t, c, base+"/").code]++
	}
	get(t, c, base+"/healthz") // not counted: only / is
	get(t, c, base+"/nope")

	after := get(t, c, base+"/metrics")
	if after.code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", after.code)
	}
	for _, want := range []string{
		fmt.Sprintf(`demoapp_requests_total{code="200"} %d`, codes[200]),
		fmt.Sprintf(`demoapp_requests_total{code="500"} %d`, codes[500]),
		`demoapp_request_duration_seconds_count 40`,
		`demoapp_request_duration_seconds_bucket{le="+Inf"} 40`,
	} {
		if !strings.Contains(after.body, want+"\n") {
			t.Errorf("metrics lack %q; got:\n%s", want, grepLines(after.body, "demoapp_"))
		}
	}
	if codes[200]+codes[500] != 40 || codes[200] == 0 || codes[500] == 0 {
		t.Errorf("codes = %v, want a mix of 200 and 500 summing to 40", codes)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

func TestRunRejectsInvalidConfig(t *testing.T) {
	cfg := testConfig()
	cfg.ErrorRate = 2
	err := run(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--error-rate") {
		t.Fatalf("run with error rate 2: %v, want an error naming --error-rate", err)
	}
}

func TestRunListenError(t *testing.T) {
	base := startServer(t, testConfig())
	cfg := testConfig()
	cfg.Listen = strings.TrimPrefix(base, "http://") // taken
	err := run(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("run on a taken port: %v, want a listen error", err)
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	cfg := testConfig()
	cfg.Latency = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, cfg, pw)
		pw.Close()
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + strings.TrimPrefix(strings.TrimSpace(line), "demoapp "+cfg.Version+" listening on ")

	got := make(chan int, 1)
	wrote := make(chan struct{})
	c := newClient(t)
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, base+"/", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	select {
	case <-wrote:
	case code := <-got:
		t.Fatalf("request ended (%d) before it was written", code)
	}
	time.Sleep(100 * time.Millisecond) // the request is now waiting out its latency
	cancel()
	if code := <-got; code != http.StatusOK {
		t.Errorf("in-flight request during shutdown = %d, want 200", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(shutdownTimeout + time.Second):
		t.Fatal("run did not return")
	}
	if _, err := c.Get(base + "/healthz"); err == nil {
		t.Error("server still answering after run returned")
	}
}

// The demo app reports a variable's digest, never its value.
func TestEnvDigest(t *testing.T) {
	t.Setenv("DEMOAPP_TEST_SECRET", "s3cret-value")
	base := startServer(t, testConfig())
	c := newClient(t)
	r := get(t, c, base+"/env-digest/DEMOAPP_TEST_SECRET")
	sum := sha256.Sum256([]byte("s3cret-value"))
	if r.code != http.StatusOK || !strings.Contains(r.body, `"set":true`) || !strings.Contains(r.body, hex.EncodeToString(sum[:])) || strings.Contains(r.body, "s3cret-value") {
		t.Fatalf("GET /env-digest = %d %s", r.code, r.body)
	}
	if r := get(t, c, base+"/env-digest/DEMOAPP_NOT_SET"); !strings.Contains(r.body, `"set":false`) {
		t.Fatalf("an unset variable: %s", r.body)
	}
}

// --fail-after: the error rate applies only once the process has run that long.
func TestFailAfter(t *testing.T) {
	cfg := testConfig()
	cfg.ErrorRate, cfg.FailAfter = 1, time.Hour
	a := newApp(cfg)
	code := func() int {
		rec := httptest.NewRecorder()
		a.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Code
	}
	if got := code(); got != http.StatusOK {
		t.Errorf("before --fail-after: GET / = %d, want 200", got)
	}
	a.started = time.Now().Add(-2 * time.Hour)
	if got := code(); got != http.StatusInternalServerError {
		t.Errorf("after --fail-after: GET / = %d, want 500", got)
	}
}
