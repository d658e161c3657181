// Package runtime is what every Floe service binary is built on: configuration
// from flags and environment, JSON logs, OpenTelemetry tracing, Prometheus
// metrics, an HTTP admin port (/metrics, /healthz, /readyz), a gRPC server with
// authentication, health checking, reflection, request ids, panic recovery and
// one error-mapping interceptor, background workers, and a graceful shutdown.
//
// A service's main builds a Runtime, registers its gRPC services (each with
// its authorization rules) and background workers, then calls Run:
//
//	rt, err := runtime.New(ctx, runtime.Options{Service: "release", Config: cfg.Base})
//	rt.Register(&releasev1.ReleaseService_ServiceDesc, handler, rules)
//	rt.Go("projector", projector.Run)
//	return rt.Run(ctx) // returns nil after a clean shutdown on SIGINT/SIGTERM
package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/projection"
)

// Options configure a Runtime.
type Options struct {
	// Service names the process in logs, metrics and traces (e.g. "release", or "floe-dev").
	Service string
	// Version of the build; "dev" when empty.
	Version string
	// Config is the shared configuration, already validated by the caller or by New.
	Config Base
	// Authenticator overrides the one built from Config.Auth (tests, floe dev).
	Authenticator auth.Authenticator
	// Policy is the role → permission matrix; auth.DefaultPolicy() when nil.
	Policy auth.Policy
	// Logger overrides the logger built from Config (tests).
	Logger *zerolog.Logger
	// SpanExporter also receives every ended span, synchronously (tests).
	SpanExporter sdktrace.SpanExporter
}

// Runtime hosts one or more Floe services in a process.
type Runtime struct {
	Log     zerolog.Logger
	Tracer  *sdktrace.TracerProvider
	Metrics *prometheus.Registry
	Authz   *auth.Authorizer

	cfg     Base
	service string
	version string
	started time.Time

	grpc   *grpc.Server
	health *health.Server
	authn  *auth.Interceptor
	authc  auth.Authenticator
	rules  auth.Rules
	// peerCreds secure calls to other Floe services (PeerCredentials).
	peerCreds credentials.TransportCredentials
	rpc       *rpcMetrics
	admin     *http.Server

	grpcLis, adminLis net.Listener

	mu         sync.Mutex
	serving    bool
	viewList   []View
	workers    []worker
	readiness  []check
	onShutdown []check
	ready      atomic.Bool
	// stopping is cancelled when shutdown begins (ends streaming RPCs).
	stopping    context.Context
	stopStreams context.CancelFunc
	// logPosition reports the event log's last position (ListViews); set by SetLogPosition.
	logPosition func(context.Context) (uint64, error)
}

// View is a read model the runtime runs and lists (a projection.Projection).
type View interface {
	Name() string
	Status() projection.Status
	Rebuild(ctx context.Context) error
	Ready() <-chan struct{}
	Run(ctx context.Context) error
}

// AddView runs v in the background, lists it in SystemService/ListViews
// (RebuildView replays it), and keeps the process unready until v has caught
// up with the log once.
func (r *Runtime) AddView(v View) {
	r.mu.Lock()
	r.viewList = append(r.viewList, v)
	r.mu.Unlock()
	r.Go("view-"+v.Name(), v.Run)
	r.AddReadiness("view-"+v.Name(), func(context.Context) error {
		select {
		case <-v.Ready():
			return nil
		default:
			st := v.Status()
			return fmt.Errorf("catching up with the event log (at position %d of %d)", st.Position, st.Target)
		}
	})
}

func (r *Runtime) views() []View {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]View(nil), r.viewList...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// SetLogPosition tells ListViews how to read the event log's last position.
func (r *Runtime) SetLogPosition(fn func(context.Context) (uint64, error)) {
	r.mu.Lock()
	r.logPosition = fn
	r.mu.Unlock()
}

type worker struct {
	name string
	run  func(context.Context) error
}

type check struct {
	name string
	fn   func(context.Context) error
}

// New builds a Runtime from opts. It validates the configuration and sets up
// authentication, but listens on nothing until Listen or Run.
func New(ctx context.Context, opts Options) (_ *Runtime, err error) {
	if opts.Service == "" {
		return nil, errors.New("runtime: service name is required")
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	cfg := opts.Config
	if opts.Authenticator != nil && cfg.Auth.TokensFile == "" && cfg.Auth.OIDCIssuer == "" {
		cfg.Auth.TokensFile = "(provided)" // satisfies Validate: an authenticator was given directly
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runtime{cfg: cfg, service: opts.Service, version: opts.Version, started: time.Now(), rules: auth.Rules{}}
	if opts.Logger != nil {
		r.Log = *opts.Logger
	} else {
		r.Log = NewLogger(nil, opts.Service, cfg.Environment, opts.Version, cfg.LogLevel, cfg.LogFormat)
	}
	r.Log.Debug().Strs("config", Masked(&cfg)).Msg("configuration")
	if r.peerCreds, err = peerCredentials(cfg); err != nil {
		return nil, err
	}

	tp, err := NewTracerProvider(ctx, opts.Service, opts.Version, cfg.Environment, cfg.OTLPEndpoint, cfg.OTLPInsecure, opts.SpanExporter)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	r.Tracer = tp
	r.OnShutdown("tracing", tp.Shutdown)
	defer func() {
		if err != nil {
			_ = tp.Shutdown(context.WithoutCancel(ctx))
		}
	}()

	r.Metrics = NewRegistry()
	r.rpc = newRPCMetrics(r.Metrics)

	authn := opts.Authenticator
	if authn == nil {
		if authn, err = buildAuthenticator(ctx, cfg.Auth); err != nil {
			return nil, fmt.Errorf("authentication: %w", err)
		}
	}
	r.Authz = auth.NewAuthorizer(opts.Policy)
	r.authc = authn
	if r.authn, err = auth.NewInterceptor(authn, r.Authz, r.rules); err != nil {
		return nil, err
	}
	r.authn.OnPrincipal = onPrincipal

	sopts := []grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(Propagator()))),
		grpc.ChainUnaryInterceptor(r.unaryInterceptor),
		grpc.ChainStreamInterceptor(r.streamInterceptor),
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	}
	r.stopping, r.stopStreams = context.WithCancel(context.Background())
	r.grpc = grpc.NewServer(sopts...)
	r.health = health.NewServer()
	r.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(r.grpc, r.health)
	reflection.Register(r.grpc)
	if err := registerSystem(r); err != nil {
		return nil, err
	}
	return r, nil
}

func buildAuthenticator(ctx context.Context, cfg AuthConfig) (auth.Authenticator, error) {
	var chain auth.Chain
	if cfg.TokensFile != "" {
		a, err := auth.NewTokenFileAuthenticator(cfg.TokensFile)
		if err != nil {
			return nil, err
		}
		chain.Tokens = a
	}
	if cfg.OIDCIssuer != "" {
		a, err := auth.NewOIDCAuthenticator(ctx, auth.OIDCConfig{
			Issuer: cfg.OIDCIssuer, Audience: cfg.OIDCAudience, JWKSURL: cfg.OIDCJWKSURL, RolesClaim: cfg.OIDCRolesClaim,
		})
		if err != nil {
			return nil, err
		}
		chain.OIDC = a
	}
	return chain, nil
}

// Authenticator is the process's authenticator, for listeners other than
// gRPC (OFREP over HTTP) and methods that authenticate in their handler.
func (r *Runtime) Authenticator() auth.Authenticator { return r.authc }

// Config returns the runtime's configuration.
func (r *Runtime) Config() Base { return r.cfg }

// Register adds a gRPC service with the authorization rule of each of its
// methods. A method without a rule makes Listen fail.
func (r *Runtime) Register(desc *grpc.ServiceDesc, impl any, rules auth.Rules) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.serving || r.grpcLis != nil {
		return fmt.Errorf("register %s: the server is already listening", desc.ServiceName)
	}
	if err := r.rules.Merge(rules); err != nil {
		return err
	}
	r.grpc.RegisterService(desc, impl)
	r.health.SetServingStatus(desc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	return nil
}

// Go runs fn in the background from Run until shutdown; fn must return when
// its context is cancelled. An error from fn (other than context.Canceled)
// stops the whole process, since a service missing a worker is not healthy.
func (r *Runtime) Go(name string, fn func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workers = append(r.workers, worker{name, fn})
}

// AddReadiness adds a check that /readyz and gRPC health run.
func (r *Runtime) AddReadiness(name string, fn func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readiness = append(r.readiness, check{name, fn})
}

// OnShutdown adds a step run at shutdown after RPCs and workers stopped, in
// reverse order of registration (last registered runs first).
func (r *Runtime) OnShutdown(name string, fn func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onShutdown = append(r.onShutdown, check{name, fn})
}

// Listen opens the gRPC and admin listeners; after it, GRPCAddr and AdminAddr
// report the bound addresses (useful with port 0).
func (r *Runtime) Listen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.grpcLis != nil {
		return nil
	}
	if missing := r.rules.Missing(r.grpc); len(missing) > 0 {
		return fmt.Errorf("methods without an authorization rule: %s", strings.Join(missing, ", "))
	}
	var err error
	if r.grpcLis, err = net.Listen("tcp", r.cfg.GRPCAddr); err != nil {
		return fmt.Errorf("listen grpc %s: %w", r.cfg.GRPCAddr, err)
	}
	if r.adminLis, err = net.Listen("tcp", r.cfg.AdminAddr); err != nil {
		r.grpcLis.Close()
		r.grpcLis = nil
		return fmt.Errorf("listen admin %s: %w", r.cfg.AdminAddr, err)
	}
	return nil
}

// GRPCAddr is the bound gRPC address (after Listen).
func (r *Runtime) GRPCAddr() string { return addrOf(r.grpcLis) }

// AdminAddr is the bound admin HTTP address (after Listen).
func (r *Runtime) AdminAddr() string { return addrOf(r.adminLis) }

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// Run listens (if Listen was not called), serves until ctx is cancelled, then
// shuts down gracefully: health turns NOT_SERVING, new RPCs are refused and
// in-flight ones finish (up to the shutdown timeout), workers are cancelled
// and awaited, shutdown steps run (draining NATS, flushing traces), and the
// admin server stops last. It returns nil after a clean shutdown.
func (r *Runtime) Run(ctx context.Context) error {
	if err := r.Listen(); err != nil {
		return err
	}
	r.mu.Lock()
	r.serving = true
	workers := append([]worker(nil), r.workers...)
	r.mu.Unlock()

	r.admin = &http.Server{Handler: r.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2+len(workers))
	go func() {
		if err := r.admin.Serve(r.adminLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("admin server: %w", err)
		}
	}()
	go func() {
		if err := r.grpc.Serve(r.grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			errc <- fmt.Errorf("grpc server: %w", err)
		}
	}()

	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(wctx); err != nil && !errors.Is(err, context.Canceled) && wctx.Err() == nil {
				errc <- fmt.Errorf("worker %s: %w", w.name, err)
			}
		}()
	}

	readyCtx, stopReady := context.WithCancel(ctx)
	go r.watchReadiness(readyCtx)
	r.Log.Info().Str("grpc_addr", r.GRPCAddr()).Str("admin_addr", r.AdminAddr()).Msg("serving")

	var runErr error
	select {
	case <-ctx.Done():
		r.Log.Info().Msg("shutting down")
	case runErr = <-errc:
		r.Log.Error().Err(runErr).Msg("fatal error; shutting down")
	}
	stopReady()
	r.shutdown(stopWorkers, &wg)
	return runErr
}

func (r *Runtime) shutdown(stopWorkers context.CancelFunc, wg *sync.WaitGroup) {
	deadline := time.Now().Add(r.cfg.ShutdownTimeout)
	r.ready.Store(false)
	r.stopStreams()     // watch streams end now (health watchers after NOT_SERVING); unary calls finish normally
	r.health.Shutdown() // every service NOT_SERVING, so balancers stop sending

	stopped := make(chan struct{})
	go func() { r.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Until(deadline) / 2):
		r.Log.Warn().Msg("in-flight RPCs did not finish in time; closing them")
		r.grpc.Stop()
		<-stopped
	}

	stopWorkers()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		r.Log.Warn().Msg("background workers did not stop in time")
	}

	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(5*time.Second))
	defer cancel()
	r.mu.Lock()
	steps := append([]check(nil), r.onShutdown...)
	r.mu.Unlock()
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i].fn(ctx); err != nil {
			r.Log.Warn().Err(err).Str("step", steps[i].name).Msg("shutdown step failed")
		}
	}
	_ = r.admin.Shutdown(ctx)
	r.Log.Info().Msg("stopped")
}

// watchReadiness runs the readiness checks every second and mirrors the
// result into gRPC health for every registered service.
func (r *Runtime) watchReadiness(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		ok := r.checkReady(ctx) == nil
		if ok != r.ready.Load() || !ok {
			r.ready.Store(ok)
			st := healthpb.HealthCheckResponse_NOT_SERVING
			if ok {
				st = healthpb.HealthCheckResponse_SERVING
			}
			r.health.SetServingStatus("", st)
			for name := range r.grpc.GetServiceInfo() {
				r.health.SetServingStatus(name, st)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runtime) checkReady(ctx context.Context) error {
	r.mu.Lock()
	checks := append([]check(nil), r.readiness...)
	r.mu.Unlock()
	var failed []string
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.fn(cctx)
		cancel()
		if err != nil {
			failed = append(failed, c.name+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

func (r *Runtime) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.Metrics, promhttp.HandlerOpts{Registry: r.Metrics}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !r.ready.Load() {
			if err := r.checkReady(req.Context()); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, "not ready:", err)
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: starting or shutting down")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}
