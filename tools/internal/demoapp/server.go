package demoapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// versionHeader carries the serving version on every response.
const versionHeader = "X-Demoapp-Version"

// shutdownTimeout bounds the graceful shutdown: in-flight requests get this
// long to finish before their connections are closed.
const shutdownTimeout = 5 * time.Second

// run listens on cfg.Listen, writes the ready line
// "demoapp <version> listening on <addr>" to stdout and serves until ctx is
// done, then shuts down gracefully.
func run(ctx context.Context, cfg Config, stdout io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	a := newApp(cfg)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	if _, err := fmt.Fprintf(stdout, "demoapp %s listening on %s\n", cfg.Version, ln.Addr()); err != nil {
		ln.Close()
		return fmt.Errorf("write ready line: %w", err)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	shCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// app holds the handlers' shared state.
type app struct {
	cfg      Config
	hostname string
	pid      int
	rnd      *lockedRand
	started  time.Time

	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration prometheus.Histogram
}

func newApp(cfg Config) *app {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	a := &app{
		cfg:      cfg,
		hostname: host,
		pid:      os.Getpid(),
		rnd:      newLockedRand(cfg.Seed),
		started:  time.Now(),
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "demoapp_requests_total",
			Help: "Requests to / answered, by HTTP status code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "demoapp_request_duration_seconds",
			Help:    "Time to answer requests to /, injected latency included.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "demoapp_build_info",
		Help: "Always 1; the version label is the configured version.",
	}, []string{"version"})
	info.WithLabelValues(cfg.Version).Set(1)
	// Both outcomes exist from the start, so error ratios are defined at once.
	a.requests.WithLabelValues("200")
	a.requests.WithLabelValues("500")
	a.registry.MustRegister(a.requests, a.duration, info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return a
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.serveRoot)
	mux.HandleFunc("GET /healthz", a.serveHealth)
	mux.HandleFunc("GET /env-digest/{name}", serveEnvDigest)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{Registry: a.registry}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(versionHeader, a.cfg.Version)
		mux.ServeHTTP(w, r)
	})
}

func (a *app) serveRoot(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	failDraw, jitterDraw := a.rnd.draw()
	delay := a.cfg.Latency + time.Duration(jitterDraw*float64(a.cfg.LatencyJitter))
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the client is gone; nothing to answer or count
		}
	}

	code, body := http.StatusOK, any(struct {
		Version  string `json:"version"`
		Hostname string `json:"hostname"`
		PID      int    `json:"pid"`
	}{a.cfg.Version, a.hostname, a.pid})
	if failDraw < a.cfg.ErrorRate && time.Since(a.started) >= a.cfg.FailAfter {
		code, body = http.StatusInternalServerError, struct {
			Error   string `json:"error"`
			Version string `json:"version"`
		}{"injected failure", a.cfg.Version}
	}
	writeJSON(w, code, body)
	a.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	a.duration.Observe(time.Since(start).Seconds())
}

func (a *app) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if a.cfg.FailHealth {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "unhealthy (--fail-health)\n")
		return
	}
	io.WriteString(w, "ok\n")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// lockedRand is a seeded random source safe for concurrent handlers.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed int64) *lockedRand {
	s1, s2 := rand.Uint64(), rand.Uint64()
	if seed != 0 {
		s1, s2 = uint64(seed), uint64(seed)^0x9e3779b97f4a7c15
	}
	return &lockedRand{r: rand.New(rand.NewPCG(s1, s2))}
}

// draw returns two uniform numbers in [0,1): one decides failure, the other
// the jitter. Both are always drawn, so with a fixed seed the n-th request's
// failure decision does not depend on the latency settings.
func (l *lockedRand) draw() (fail, jitter float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64(), l.r.Float64()
}

// serveEnvDigest answers whether the environment variable name is set and
// the SHA-256 of its value — never the value — so that a deployment's
// delivered configuration (secrets included) can be checked from outside.
func serveEnvDigest(w http.ResponseWriter, r *http.Request) {
	v, ok := os.LookupEnv(r.PathValue("name"))
	sum := sha256.Sum256([]byte(v))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"name": r.PathValue("name"), "set": ok, "sha256": hex.EncodeToString(sum[:])})
}
