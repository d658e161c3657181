package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer answers 500 to every fifth request and 200 otherwise,
// alternating the version header between 1.0.0 and 1.1.0, and counts what it
// answered.
type countingServer struct {
	*httptest.Server
	total, ok, failed, v100, v110 atomic.Int64
}

func newCountingServer(t *testing.T) *countingServer {
	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.total.Add(1)
		if n%2 == 0 {
			s.v110.Add(1)
			w.Header().Set(VersionHeader, "1.1.0")
		} else {
			s.v100.Add(1)
			w.Header().Set(VersionHeader, "1.0.0")
		}
		if n%5 == 0 {
			s.failed.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":"injected failure"}`)
			return
		}
		s.ok.Add(1)
		io.WriteString(w, `{"version":"x"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func testConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.URL = url
	cfg.ReportEvery = 0
	return cfg
}

func TestRunCountsMatchServer(t *testing.T) {
	srv := newCountingServer(t)
	cfg := testConfig(srv.URL)
	cfg.Rate = 200
	cfg.Duration = time.Second

	start := time.Now()
	sum, err := Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests in %v: %+v", sum.Requests, time.Since(start), sum)

	if len(sum.Errors) != 0 {
		t.Errorf("errors = %v, want none", sum.Errors)
	}
	if got, want := sum.Requests, srv.total.Load(); got != want {
		t.Errorf("loadgen counted %d requests, the server %d", got, want)
	}
	if got, want := sum.Codes[200], srv.ok.Load(); got != want {
		t.Errorf("200s: loadgen %d, server %d", got, want)
	}
	if got, want := sum.Codes[500], srv.failed.Load(); got != want {
		t.Errorf("500s: loadgen %d, server %d", got, want)
	}
	if got, want := sum.Versions["1.0.0"].Requests, srv.v100.Load(); got != want {
		t.Errorf("version 1.0.0: loadgen %d, server %d", got, want)
	}
	if got, want := sum.Versions["1.1.0"].Requests, srv.v110.Load(); got != want {
		t.Errorf("version 1.1.0: loadgen %d, server %d", got, want)
	}
	v := sum.Versions["1.0.0"]
	if v.Codes[200]+v.Codes[500] != v.Requests {
		t.Errorf("version 1.0.0 codes %v do not add up to %d", v.Codes, v.Requests)
	}
	// Rate: generous bounds, only to catch gross errors.
	if sum.Requests < 100 || sum.Requests > 300 {
		t.Errorf("%d requests at rate 200 for 1s, want 100..300", sum.Requests)
	}
	if sum.Kind != "final" || sum.Interrupted {
		t.Errorf("kind %q interrupted %v, want a final, uninterrupted report", sum.Kind, sum.Interrupted)
	}
	if sum.Latency.P50 <= 0 || sum.Latency.P50 > sum.Latency.P90 || sum.Latency.P90 > sum.Latency.P99 || sum.Latency.P99 > sum.Latency.Max {
		t.Errorf("latency %+v: want 0 < p50 <= p90 <= p99 <= max", sum.Latency)
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv := newCountingServer(t)
	cfg := testConfig(srv.URL)
	cfg.Duration = 300 * time.Millisecond
	start := time.Now()
	sum, err := Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < cfg.Duration || took > cfg.Duration+2*time.Second {
		t.Errorf("Run took %v for a %v duration", took, cfg.Duration)
	}
	// No request may arrive after Run returned.
	sent := srv.total.Load()
	time.Sleep(100 * time.Millisecond)
	if later := srv.total.Load(); later != sent || sum.Requests != sent {
		t.Errorf("server saw %d requests at return, %d later; loadgen counted %d", sent, later, sum.Requests)
	}
}

func TestRunTimeouts(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	cfg := testConfig(slow.URL)
	cfg.Rate = 20
	cfg.Duration = 200 * time.Millisecond
	cfg.Timeout = 100 * time.Millisecond
	start := time.Now()
	sum, err := Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run took %v; in-flight requests should stop at the 100ms timeout", took)
	}
	if sum.Errors["timeout"] != sum.Requests || sum.Requests == 0 {
		t.Errorf("errors %v of %d requests, want all timeouts", sum.Errors, sum.Requests)
	}
}

func TestRunConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig("http://" + addr + "/")
	cfg.Duration = 100 * time.Millisecond
	sum, err := Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests == 0 || sum.Errors["connection_refused"] != sum.Requests {
		t.Errorf("errors %v of %d requests, want all connection_refused", sum.Errors, sum.Requests)
	}
}

func TestRunDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.com/", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	cfg.Duration = 100 * time.Millisecond
	sum, err := Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests == 0 || sum.Codes[http.StatusFound] != sum.Requests {
		t.Errorf("codes %v errors %v of %d requests, want all 302", sum.Codes, sum.Errors, sum.Requests)
	}
	if sum.Versions[noVersion].Requests != sum.Requests {
		t.Errorf("versions %v, want all %q", sum.Versions, noVersion)
	}
}

func TestRunInterrupted(t *testing.T) {
	srv := newCountingServer(t)
	cfg := testConfig(srv.URL)
	cfg.Duration = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	sum, err := Run(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Run took %v after a 200ms context", took)
	}
	if !sum.Interrupted || sum.Requests == 0 || sum.Requests != srv.total.Load() {
		t.Errorf("interrupted %v, %d requests (server %d); want interrupted with matching counts",
			sum.Interrupted, sum.Requests, srv.total.Load())
	}
}

func TestRunJSONReports(t *testing.T) {
	srv := newCountingServer(t)
	cfg := testConfig(srv.URL)
	cfg.Rate = 100
	cfg.Duration = 450 * time.Millisecond
	cfg.ReportEvery = 100 * time.Millisecond
	cfg.Output = "json"
	var out strings.Builder
	sum, err := Run(context.Background(), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	var reports []Summary
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var s Summary
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		reports = append(reports, s)
	}
	if len(reports) < 3 {
		t.Fatalf("%d report lines, want at least 3 intervals and the final:\n%s", len(reports), out.String())
	}
	var intervals int64
	for _, r := range reports[:len(reports)-1] {
		if r.Kind != "interval" {
			t.Errorf("report kind %q before the last, want interval", r.Kind)
		}
		intervals += r.Requests
	}
	last := reports[len(reports)-1]
	if last.Kind != "final" || last.Requests != sum.Requests || last.Codes[200] != sum.Codes[200] {
		t.Errorf("last report %+v, want the final summary %+v", last, sum)
	}
	if intervals != last.Requests {
		t.Errorf("interval reports count %d requests, the final %d", intervals, last.Requests)
	}
	// The wire format keeps codes as JSON object keys.
	if !strings.Contains(out.String(), `"codes":{"200":`) {
		t.Errorf("codes not keyed by status code:\n%s", out.String())
	}
}

func TestRunTableReport(t *testing.T) {
	srv := newCountingServer(t)
	cfg := testConfig(srv.URL)
	cfg.Duration = 250 * time.Millisecond
	cfg.ReportEvery = 100 * time.Millisecond
	var out strings.Builder
	if _, err := Run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"loadgen: GET " + srv.URL, "--- final:", "codes:    200=", "versions: 1.0.0=", "latency:  p50 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestValidateRefusesRemoteTargets(t *testing.T) {
	for _, u := range []string{
		"http://example.com/",
		"http://10.0.0.1:7500/",
		"http://192.168.1.10/",
		"http://[2001:db8::1]:80/",
		"http://localhost.example.com/",
		"http://127.0.0.1.nip.io/",
		"http://0.0.0.0:7500/",
	} {
		cfg := testConfig(u)
		_, err := Run(context.Background(), cfg, io.Discard)
		if !errors.Is(err, ErrRemoteTarget) {
			t.Errorf("Run(%s): %v, want ErrRemoteTarget", u, err)
		}
		cfg.AllowRemote = true
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate(%s) with AllowRemote: %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:7500", "http://127.3.4.5/", "http://[::1]:7500/x", "http://LOCALHOST:80", "https://localhost/"} {
		if err := testConfig(u).Validate(); err != nil {
			t.Errorf("Validate(%s): %v, want loopback accepted", u, err)
		}
	}
}

func TestDialGuard(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80":         true,
		"[::1]:80":             true,
		"[::ffff:127.0.0.1]:1": true,
		"10.0.0.1:80":          false,
		"[2001:db8::1]:80":     false,
	} {
		err := dialLoopbackOnly("tcp", addr, nil)
		if (err == nil) != ok {
			t.Errorf("dialLoopbackOnly(%s) = %v, want allowed=%v", addr, err, ok)
		}
		if err != nil && classify(err) != "remote_refused" {
			t.Errorf("classify(%v) = %q, want remote_refused", err, classify(err))
		}
	}
}

func TestValidate(t *testing.T) {
	base := testConfig("http://127.0.0.1:7500")
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no url", func(c *Config) { c.URL = "" }, "--url is required"},
		{"bad scheme", func(c *Config) { c.URL = "ftp://127.0.0.1/" }, "scheme"},
		{"zero rate", func(c *Config) { c.Rate = 0 }, "--rate"},
		{"rate too high", func(c *Config) { c.Rate = 5001 }, "--rate"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "--duration"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "--concurrency"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "--timeout"},
		{"negative report interval", func(c *Config) { c.ReportEvery = -time.Second }, "--report-every"},
		{"bad output", func(c *Config) { c.Output = "yaml" }, "-o"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	rate := base
	rate.Rate = MaxRate
	if err := rate.Validate(); err != nil {
		t.Errorf("rate %d: %v", MaxRate, err)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--url", "http://127.0.0.1:7500", "--rate", "100", "--duration", "20s",
		"--concurrency", "4", "--timeout", "500ms", "--report-every", "0", "-o", "json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{URL: "http://127.0.0.1:7500", Rate: 100, Duration: 20 * time.Second, Concurrency: 4,
		Timeout: 500 * time.Millisecond, Output: "json"}
	if cfg != want {
		t.Errorf("config = %+v, want %+v", cfg, want)
	}

	for _, args := range [][]string{
		{},
		{"--url", "http://example.com"},
		{"--url", "http://127.0.0.1", "--duration", "0s"},
		{"--url", "http://127.0.0.1", "--rate", "10000"},
		{"--url", "http://127.0.0.1", "extra"},
		{"--bogus"},
	} {
		_, err := parseFlags(args, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("parseFlags(%q) = %v, want a usage error", args, err)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tc.q)
		if diff := float64(got-tc.want) / float64(tc.want); diff < -0.011 || diff > 0.011 {
			t.Errorf("quantile(%v) = %v, want %v ±1%%", tc.q, got, tc.want)
		}
	}
	var empty histogram
	if got := empty.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %v", got)
	}
	var tiny histogram
	tiny.add(0)
	tiny.add(10 * time.Hour)
	if got := tiny.quantile(1); got != 10*time.Hour {
		t.Errorf("quantile beyond the last bucket = %v, want the max", got)
	}
}
