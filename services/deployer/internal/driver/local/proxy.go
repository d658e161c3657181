package local

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// VersionHeader is the response header in which the proxy names the version
// that answered.
const VersionHeader = "X-Floe-Version"

// durationBuckets are the buckets of floe_proxy_request_duration_seconds, 1ms to 10s.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// metrics are the proxy metrics, shared by all targets of a Driver.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	weight   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := []string{"environment", "app", "version"}
	requests, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "floe_proxy_requests_total",
		Help: "Requests answered by the local driver's proxy, by version and HTTP status code (502: version unreachable; 499: client went away first).",
	}, append(labels, "code")))
	if err != nil {
		return nil, err
	}
	duration, err := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "floe_proxy_request_duration_seconds",
		Help:    "Time the local driver's proxy took to answer a request, by version.",
		Buckets: durationBuckets,
	}, labels))
	if err != nil {
		return nil, err
	}
	weight, err := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "floe_proxy_weight",
		Help: "Percent of a target's traffic the local driver's proxy routes to a running version.",
	}, labels))
	if err != nil {
		return nil, err
	}
	return &metrics{requests: requests, duration: duration, weight: weight}, nil
}

// register registers c, or returns the equal collector registered before
// (another local Driver on the same registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// proxy is the HTTP front of one target.
type proxy struct {
	env  string
	addr string
	srv  *http.Server
	// app is the app the proxy fronts, "" until one starts; guarded by Driver.mu.
	app string
	// routes is swapped whole by SetWeights, Start and Stop; nil until an app starts.
	routes atomic.Pointer[routeTable]
}

// routeTable is an immutable traffic split.
type routeTable struct {
	target string // for messages
	total  int    // sum of weights: 100, or 0 before weights are set
	routes []route
}

// route takes the requests whose draw in [0, total) is below upTo and above
// the previous route's upTo.
type route struct {
	upTo    int
	backend *backend
}

// backend is one running version behind the proxy: its instances'
// addresses, taken in turn.
type backend struct {
	version  string
	addrs    atomic.Pointer[[]string]
	next     atomic.Uint64
	rp       *httputil.ReverseProxy
	requests *prometheus.CounterVec // curried: only the code label is left
	duration prometheus.Observer
}

// listen opens a proxy for env on addr and serves it.
func (d *Driver) listen(env, addr string) (*proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("proxy of environment %s: %w", env, err)
	}
	p := &proxy{env: env, addr: ln.Addr().String()}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.logLine(driver.Target{Environment: env, App: "proxy"}, p.addr, "floe: proxy stopped: "+err.Error())
		}
	}()
	return p, nil
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := p.routes.Load()
	if rt == nil {
		http.Error(w, "floe: nothing runs in environment "+p.env+" yet", http.StatusServiceUnavailable)
		return
	}
	if rt.total <= 0 {
		http.Error(w, "floe: no traffic is routed to "+rt.target+" yet: no weights are set", http.StatusServiceUnavailable)
		return
	}
	draw := rand.IntN(rt.total)
	b := rt.routes[len(rt.routes)-1].backend
	for _, rr := range rt.routes {
		if draw < rr.upTo {
			b = rr.backend
			break
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	start := time.Now()
	defer func() { // deferred: ReverseProxy panics with http.ErrAbortHandler when a copy fails midway
		code := sw.code
		switch {
		case sw.clientGone:
			code = 499
		case code == 0:
			code = http.StatusOK
		}
		b.requests.WithLabelValues(strconv.Itoa(code)).Inc()
		b.duration.Observe(time.Since(start).Seconds())
	}()
	b.rp.ServeHTTP(sw, r)
}

// newBackend makes the reverse proxy and metrics of a version listening on
// addr (setAddrs adds the addresses of its other instances).
func (d *Driver) newBackend(t driver.Target, version, addr string) *backend {
	b := &backend{
		version:  version,
		requests: d.metrics.requests.MustCurryWith(prometheus.Labels{"environment": t.Environment, "app": t.App, "version": version}),
		duration: d.metrics.duration.WithLabelValues(t.Environment, t.App, version),
	}
	b.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: b.pick()})
			pr.Out.Host = pr.In.Host // the app sees the host its clients used
			pr.SetXForwarded()
		},
		Transport: d.transport,
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(VersionHeader, version)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if sw, ok := w.(*statusWriter); ok && r.Context().Err() != nil {
				sw.clientGone = true
			} else {
				d.logf(t, version, "floe: proxy: %v", err)
			}
			w.Header().Set(VersionHeader, version)
			http.Error(w, fmt.Sprintf("floe: version %s of %s did not answer: %v", version, t, err), http.StatusBadGateway)
		},
	}
	b.setAddrs([]string{addr})
	return b
}

// setAddrs replaces the addresses requests are sent to.
func (b *backend) setAddrs(addrs []string) { b.addrs.Store(&addrs) }

// pick is the address of the next request: the instances in turn.
func (b *backend) pick() string {
	addrs := *b.addrs.Load()
	return addrs[(b.next.Add(1)-1)%uint64(len(addrs))]
}

// statusWriter remembers the status code of the response.
type statusWriter struct {
	http.ResponseWriter
	code       int
	clientGone bool
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 && code >= 200 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (flushes, hijacks for upgrades) reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
