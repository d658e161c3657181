package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits on the configuration.
const (
	// MaxRate is the highest --rate accepted, in requests per second.
	MaxRate = 5000
	// MaxConcurrency is the highest --concurrency accepted.
	MaxConcurrency = 1000
)

// VersionHeader is the response header that names the serving version.
const VersionHeader = "X-Demoapp-Version"

// Config is one load run.
type Config struct {
	// URL is the target of the GET requests.
	URL string
	// Rate is the number of requests started per second, at most MaxRate.
	Rate float64
	// Duration bounds the run: no request starts after it.
	Duration time.Duration
	// Concurrency is the number of requests that may be in flight at once.
	Concurrency int
	// Timeout bounds each request, reading the body included.
	Timeout time.Duration
	// ReportEvery is the interval between interval reports; 0 means only
	// the final report.
	ReportEvery time.Duration
	// Output is the report format: "table" or "json".
	Output string
	// AllowRemote permits targets other than loopback addresses.
	AllowRemote bool
}

// DefaultConfig returns the defaults of the command-line flags, without a URL.
func DefaultConfig() Config {
	return Config{
		Rate:        50,
		Duration:    30 * time.Second,
		Concurrency: 8,
		Timeout:     2 * time.Second,
		ReportEvery: time.Second,
		Output:      "table",
	}
}

// Summary is the tally of one report window: an interval report (Kind
// "interval", counting only that interval) or the whole run (Kind "final").
// A request counts in the window in which it completed.
type Summary struct {
	// Kind is "interval" or "final".
	Kind string `json:"kind"`
	// Elapsed is the time from the start of the run to the end of the
	// window, in seconds.
	Elapsed float64 `json:"elapsed_s"`
	// Window is the length of the window, in seconds.
	Window float64 `json:"window_s"`
	// Requests is the number of requests completed: responses plus errors.
	Requests int64 `json:"requests"`
	// RPS is Requests per second of Window.
	RPS float64 `json:"rps"`
	// Codes counts responses by HTTP status code.
	Codes map[int]int64 `json:"codes"`
	// Errors counts requests that got no response, by kind: timeout,
	// connection_refused, connection_reset, connection_closed, dns,
	// remote_refused (a non-loopback address was dialled without
	// AllowRemote), canceled, other.
	Errors map[string]int64 `json:"errors"`
	// Versions counts responses by their X-Demoapp-Version header; "(none)"
	// collects responses without one.
	Versions map[string]VersionCount `json:"versions"`
	// Latency summarises the time to a complete response; errors are not
	// included.
	Latency Latency `json:"latency_ms"`
	// Skipped counts requests not started because all Concurrency workers
	// were busy: the rate the target could not absorb.
	Skipped int64 `json:"skipped"`
	// Interrupted is set on the final report of a run stopped early by its
	// context (for example by SIGINT).
	Interrupted bool `json:"interrupted,omitempty"`
}

// VersionCount is the responses from one version.
type VersionCount struct {
	// Requests is the number of responses carrying the version.
	Requests int64 `json:"requests"`
	// Codes counts those responses by HTTP status code.
	Codes map[int]int64 `json:"codes"`
}

// Latency holds response-time percentiles in milliseconds. Percentiles come
// from a log-bucketed histogram and are accurate to about 1%.
type Latency struct {
	// P50 is the median.
	P50 float64 `json:"p50"`
	// P90 is the 90th percentile.
	P90 float64 `json:"p90"`
	// P99 is the 99th percentile.
	P99 float64 `json:"p99"`
	// Max is the slowest response.
	Max float64 `json:"max"`
}

// ErrRemoteTarget is returned (wrapped) for a non-loopback target without
// AllowRemote.
var ErrRemoteTarget = errors.New("only loopback targets (127.0.0.0/8, ::1, localhost) are allowed without --allow-remote")

// Validate checks the configuration, the loopback rule included.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("--url is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--url %q: scheme must be http or https", c.URL)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("--url %q: no host", c.URL)
	}
	if !c.AllowRemote && !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("--url %q: refusing host %q: %w", c.URL, u.Hostname(), ErrRemoteTarget)
	}
	switch {
	case !(c.Rate > 0 && c.Rate <= MaxRate): // also rejects NaN
		return fmt.Errorf("--rate %v: must be above 0 and at most %d requests per second", c.Rate, MaxRate)
	case c.Duration <= 0:
		return fmt.Errorf("--duration %v: must be above 0", c.Duration)
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return fmt.Errorf("--concurrency %d: must be from 1 to %d", c.Concurrency, MaxConcurrency)
	case c.Timeout <= 0:
		return fmt.Errorf("--timeout %v: must be above 0", c.Timeout)
	case c.ReportEvery < 0:
		return fmt.Errorf("--report-every %v: must not be negative (0 = final report only)", c.ReportEvery)
	case c.Output != "table" && c.Output != "json":
		return fmt.Errorf("-o %q: use table or json", c.Output)
	}
	return nil
}

// isLoopbackHost reports whether host (from a URL) is localhost or a loopback
// IP literal.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// dialLoopbackOnly refuses, at connect time, any address that is not a
// loopback IP: a second guard behind Validate, for names that resolve
// elsewhere.
func dialLoopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("dial %s: %w", address, ErrRemoteTarget)
	}
	return nil
}

// Run sends GET requests to cfg.URL at cfg.Rate for cfg.Duration, writes the
// interval reports and the final report to out, and returns the final
// report. Requests still in flight when the duration ends are waited for (at
// most cfg.Timeout). If ctx ends first, Run stops starting requests, waits
// the same way and returns the final report marked Interrupted, without
// error. The error is for a bad configuration or a failed write to out.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	client, closeIdle := newClient(cfg)
	defer closeIdle()
	rep := &reporter{out: out, json: cfg.Output == "json"}
	if !rep.json {
		rep.printf("loadgen: GET %s at %g/s for %v, concurrency %d, timeout %v\n",
			cfg.URL, cfg.Rate, cfg.Duration, cfg.Concurrency, cfg.Timeout)
	}

	start := time.Now()
	rec := &recorder{total: newTally(start), interval: newTally(start)}

	// Workers take tickets; in-flight requests outlive ctx (bounded by
	// cfg.Timeout) so that what was sent is also counted.
	reqCtx := context.WithoutCancel(ctx)
	tickets := make(chan struct{}, cfg.Concurrency)
	var workers sync.WaitGroup
	for range cfg.Concurrency {
		workers.Go(func() {
			for range tickets {
				rec.add(doRequest(reqCtx, client, cfg.URL))
			}
		})
	}

	// Interval reports.
	stopReports := make(chan struct{})
	var reporting sync.WaitGroup
	if cfg.ReportEvery > 0 {
		reporting.Go(func() {
			t := time.NewTicker(cfg.ReportEvery)
			defer t.Stop()
			for {
				select {
				case <-stopReports:
					return
				case now := <-t.C:
					rep.write(rec.takeInterval(start, now))
				}
			}
		})
	}

	interrupted := dispatch(ctx, cfg, start, tickets, rec)
	close(tickets)
	workers.Wait()
	close(stopReports)
	reporting.Wait()

	now := time.Now()
	if cfg.ReportEvery > 0 {
		if last := rec.takeInterval(start, now); last.Requests > 0 || last.Skipped > 0 {
			rep.write(last)
		}
	}
	final := rec.final(start, now)
	final.Interrupted = interrupted
	rep.write(final)
	if rep.err != nil {
		return final, fmt.Errorf("write report: %w", rep.err)
	}
	return final, nil
}

// dispatch hands out one ticket per scheduled request until the duration
// ends or ctx is done, and reports whether ctx ended the run. The schedule is
// absolute (request i at start + i/rate), so timer slack does not lower the
// average rate. A ticket that finds the queue (Concurrency deep) full is
// counted as skipped rather than waited for, so a slow target lowers the
// achieved rate instead of building a backlog.
func dispatch(ctx context.Context, cfg Config, start time.Time, tickets chan<- struct{}, rec *recorder) bool {
	end := start.Add(cfg.Duration)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := 0; ; i++ {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / cfg.Rate))
		if !at.Before(end) {
			at = end // no more requests; wait out the duration
		}
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return true
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			return true
		}
		if at.Equal(end) || !time.Now().Before(end) {
			return false
		}
		select {
		case tickets <- struct{}{}:
		default:
			rec.skip()
		}
	}
}

func newClient(cfg Config) (*http.Client, func()) {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowRemote {
		dialer.Control = dialLoopbackOnly
	}
	tr := &http.Transport{
		Proxy:               nil, // never send the traffic through a proxy
		DialContext:         dialer.DialContext,
		MaxIdleConns:        cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: cfg.Timeout,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// Report redirects as they are; following one could leave loopback.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, tr.CloseIdleConnections
}

// maxBody is how much of a response body is read (and discarded).
const maxBody = 1 << 20

func doRequest(ctx context.Context, client *http.Client, target string) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return result{errKind: "other"}
	}
	req.Header.Set("User-Agent", "floe-loadgen")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{errKind: classify(err)}
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return result{errKind: classify(err)}
	}
	return result{
		code:    resp.StatusCode,
		version: resp.Header.Get(VersionHeader),
		latency: time.Since(start),
	}
}

// classify names the kind of a transport error.
func classify(err error) string {
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, ErrRemoteTarget):
		return "remote_refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_closed"
	case errors.As(err, &dnsErr):
		return "dns"
	default:
		return "other"
	}
}

// recorder collects results for the whole run and the current interval.
type recorder struct {
	mu              sync.Mutex
	total, interval *tally
}

func (r *recorder) add(res result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total.add(res)
	r.interval.add(res)
}

func (r *recorder) skip() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total.skipped++
	r.interval.skipped++
}

// takeInterval reports the current interval and starts the next one.
func (r *recorder) takeInterval(runStart, now time.Time) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.interval.summary("interval", runStart, now)
	r.interval = newTally(now)
	return s
}

func (r *recorder) final(runStart, now time.Time) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total.summary("final", runStart, now)
}
