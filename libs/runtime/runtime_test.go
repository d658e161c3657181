package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/testkit"
	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

func newRuntime(t *testing.T, cfg runtime.Base) *runtime.Runtime {
	t.Helper()
	lg := zerolog.Nop()
	rt, err := runtime.New(context.Background(), runtime.Options{Service: "test", Config: cfg, Logger: &lg})
	if err != nil {
		t.Fatalf("runtime.New: %v", err)
	}
	return rt
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	lg := zerolog.Nop()
	tests := []struct {
		name    string
		opts    func(cfg runtime.Base) runtime.Options
		wantErr string
	}{
		{
			name:    "no service name",
			opts:    func(cfg runtime.Base) runtime.Options { return runtime.Options{Config: cfg, Logger: &lg} },
			wantErr: "service name is required",
		},
		{
			name: "invalid configuration",
			opts: func(cfg runtime.Base) runtime.Options {
				cfg.LogLevel = "loud"
				return runtime.Options{Service: "test", Config: cfg, Logger: &lg}
			},
			wantErr: "log-level",
		},
		{
			name: "tokens file missing",
			opts: func(cfg runtime.Base) runtime.Options {
				cfg.Auth.TokensFile = cfg.Auth.TokensFile + ".missing"
				return runtime.Options{Service: "test", Config: cfg, Logger: &lg}
			},
			wantErr: "authentication: tokens file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := runtime.New(context.Background(), tt.opts(testConfigBase(t)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewWithAuthenticatorNeedsNoTokensFile(t *testing.T) {
	t.Parallel()
	cfg := testConfigBase(t)
	tokens, err := auth.NewTokenFileAuthenticator(cfg.Auth.TokensFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth.TokensFile = ""
	lg := zerolog.Nop()
	if _, err := runtime.New(context.Background(), runtime.Options{Service: "test", Config: cfg, Authenticator: tokens, Logger: &lg}); err != nil {
		t.Errorf("New with an Authenticator and no tokens file: %v", err)
	}
}

func TestListenRefusesMethodsWithoutRules(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, testConfigBase(t))
	svc := service{name: "test.v1.Svc", unary: map[string]unaryFunc{
		"Do":        func(context.Context, string) (string, error) { return "", nil },
		"Forgotten": func(context.Context, string) (string, error) { return "", nil },
	}}
	svc.register(t, rt, auth.Rules{"/test.v1.Svc/Do": {Permission: auth.PermSystemRead}})
	err := rt.Listen()
	if err == nil {
		t.Fatal("Listen succeeded with a method that has no authorization rule")
	}
	if !strings.Contains(err.Error(), "/test.v1.Svc/Forgotten") {
		t.Errorf("Listen error %q does not name /test.v1.Svc/Forgotten", err)
	}
	if strings.Contains(err.Error(), "/test.v1.Svc/Do") {
		t.Errorf("Listen error %q names /test.v1.Svc/Do, which has a rule", err)
	}
	if rt.GRPCAddr() != "" || rt.AdminAddr() != "" {
		t.Errorf("after a refused Listen, addresses are %q and %q, want none", rt.GRPCAddr(), rt.AdminAddr())
	}
}

func TestListen(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, testConfigBase(t))
	if err := rt.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	for name, addr := range map[string]string{"grpc": rt.GRPCAddr(), "admin": rt.AdminAddr()} {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Errorf("%s address = %q, want 127.0.0.1 with a chosen port", name, addr)
		}
	}
	if rt.GRPCAddr() == rt.AdminAddr() {
		t.Errorf("gRPC and admin share %s", rt.GRPCAddr())
	}
	first := rt.GRPCAddr()
	if err := rt.Listen(); err != nil || rt.GRPCAddr() != first {
		t.Errorf("second Listen = %v, address %s; want nil and the same %s", err, rt.GRPCAddr(), first)
	}
	// Run on the listeners already open, and stop.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	conn, err := grpc.NewClient(first, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(testCtx(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health Check on the Listen address: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s of cancellation")
	}
}

func TestListenReportsBusyAddress(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	cfg := testConfigBase(t)
	cfg.AdminAddr = busy.Addr().String()
	rt := newRuntime(t, cfg)
	if err := rt.Listen(); err == nil || !strings.Contains(err.Error(), "listen admin") {
		t.Errorf("Listen on a busy admin address = %v, want a listen admin error", err)
	}
	if rt.GRPCAddr() != "" {
		t.Errorf("gRPC listener left open at %s after the admin listener failed", rt.GRPCAddr())
	}
}

func TestRegisterErrors(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, testConfigBase(t))
	one := service{name: "test.v1.One", unary: map[string]unaryFunc{"Do": func(context.Context, string) (string, error) { return "", nil }}}
	two := service{name: "test.v1.Two", unary: map[string]unaryFunc{"Do": func(context.Context, string) (string, error) { return "", nil }}}
	one.register(t, rt, auth.Rules{"/test.v1.One/Do": {Permission: auth.PermSystemRead}})
	if err := rt.Register(two.desc(), struct{}{}, auth.Rules{"/test.v1.One/Do": {Public: true}}); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Errorf("Register with a duplicate rule = %v, want a declared-twice error", err)
	}

	ts := startServer(t, serverOptions{})
	testkit.Eventually(t, func() error {
		if _, err := healthpb.NewHealthClient(ts.conn).Check(testCtx(t), &healthpb.HealthCheckRequest{}); err != nil {
			return fmt.Errorf("Run is not serving yet: health Check: %w", err)
		}
		return nil
	})
	if err := ts.rt.Register(two.desc(), struct{}{}, auth.Rules{"/test.v1.Two/Do": {Permission: auth.PermSystemRead}}); err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Errorf("Register while serving = %v, want an already-listening error", err)
	}

	// After Listen (before Run) registering would skip the missing-rule check: refused too.
	listening := newRuntime(t, testConfigBase(t))
	if err := listening.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := listening.Register(two.desc(), struct{}{}, auth.Rules{"/test.v1.Two/Do": {Permission: auth.PermSystemRead}}); err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Errorf("Register after Listen = %v, want an already-listening error", err)
	}
}

func TestGetServerInfo(t *testing.T) {
	t.Parallel()
	ts := startErrorServer(t)
	resp, err := systemv1.NewSystemServiceClient(ts.conn).GetServerInfo(testCtx(t), &systemv1.GetServerInfoRequest{}, bearer(samToken))
	if err != nil {
		t.Fatalf("GetServerInfo: %v", err)
	}
	want := []string{
		"floe.system.v1.SystemService",
		"grpc.health.v1.Health",
		"grpc.reflection.v1.ServerReflection",
		"grpc.reflection.v1alpha.ServerReflection",
		"test.v1.Errors",
	}
	if diff := cmp.Diff(want, resp.GetServices()); diff != "" {
		t.Errorf("services mismatch (-want +got):\n%s", diff)
	}
	if resp.GetVersion() != "dev" || resp.GetEnvironment() != "test" {
		t.Errorf("version, environment = %q, %q; want dev, test", resp.GetVersion(), resp.GetEnvironment())
	}
	if resp.GetStartedAt().AsTime().IsZero() {
		t.Error("started_at is not set")
	}
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	client := systemv1.NewSystemServiceClient(ts.conn)
	if _, err := client.WhoAmI(testCtx(t), &systemv1.WhoAmIRequest{}, bearer(aliceToken)); err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	if _, err := client.WhoAmI(testCtx(t), &systemv1.WhoAmIRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("WhoAmI without a token = %v, want Unauthenticated", err)
	}

	if code, body := ts.get(t, "/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}

	code, body := ts.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="WhoAmI",grpc_service="floe.system.v1.SystemService",grpc_type="unary"} 1`,
		`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="WhoAmI",grpc_service="floe.system.v1.SystemService",grpc_type="unary"} 1`,
		`grpc_server_started_total{grpc_method="WhoAmI",grpc_service="floe.system.v1.SystemService",grpc_type="unary"} 2`,
		`grpc_server_handling_seconds_count{grpc_method="WhoAmI",grpc_service="floe.system.v1.SystemService",grpc_type="unary"} 2`,
		"grpc_server_in_flight 0",
		"\ngo_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}

	if code, _ := ts.get(t, "/nothing"); code != 404 {
		t.Errorf("/nothing = %d, want 404", code)
	}
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	ts := startServer(t, serverOptions{setup: func(t *testing.T, rt *runtime.Runtime) {
		rt.AddReadiness("database", func(context.Context) error {
			if !healthy.Load() {
				return errors.New("connection refused")
			}
			return nil
		})
	}})
	hc := healthpb.NewHealthClient(ts.conn)
	healthOf := func(svc string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hc.Check(testCtx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health Check(%q): %v", svc, err)
		}
		return resp.GetStatus()
	}

	code, body := ts.get(t, "/readyz")
	if code != 503 || !strings.Contains(body, "database: connection refused") {
		t.Errorf("/readyz with a failing check = %d %q, want 503 naming the check", code, body)
	}
	if got := healthOf(""); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health with a failing check = %v, want NOT_SERVING", got)
	}

	healthy.Store(true)
	testkit.Eventually(t, func() error {
		if code, body := ts.get(t, "/readyz"); code != 200 {
			return fmt.Errorf("/readyz = %d %q, want 200", code, body)
		}
		return nil
	})
	testkit.Eventually(t, func() error {
		overall, system := healthOf(""), healthOf("floe.system.v1.SystemService")
		if overall != healthpb.HealthCheckResponse_SERVING || system != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("gRPC health is %v overall and %v for the system service, want SERVING for both", overall, system)
		}
		return nil
	})

	healthy.Store(false)
	testkit.Eventually(t, func() error {
		if code, body := ts.get(t, "/readyz"); code != 503 {
			return fmt.Errorf("/readyz = %d %q, want 503 again", code, body)
		}
		return nil
	})
	testkit.Eventually(t, func() error {
		if got := healthOf("floe.system.v1.SystemService"); got != healthpb.HealthCheckResponse_NOT_SERVING {
			return fmt.Errorf("gRPC health of the system service is %v, want NOT_SERVING again", got)
		}
		return nil
	})
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	var (
		mu          sync.Mutex
		events      []string
		workerStart = make(chan struct{})
	)
	record := func(e string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	// A watch-style stream that only ends when its context does.
	svc := service{name: "test.v1.Streams", streams: map[string]streamFunc{
		"Follow": func(ctx context.Context, _ string, send func(string) error) error {
			if err := send("following"); err != nil {
				return err
			}
			<-ctx.Done()
			record("stream ended")
			return nil
		},
	}}
	ts := startServer(t, serverOptions{setup: func(t *testing.T, rt *runtime.Runtime) {
		svc.register(t, rt, auth.Rules{"/test.v1.Streams/Follow": {Permission: "release.read"}})
		rt.Go("worker", func(ctx context.Context) error {
			close(workerStart)
			<-ctx.Done()
			record("worker cancelled")
			return ctx.Err()
		})
		rt.OnShutdown("first", func(context.Context) error { record("first step"); return nil })
		rt.OnShutdown("second", func(context.Context) error {
			record("second step")
			return errors.New("step failures are logged, not fatal")
		})
	}})
	<-workerStart

	ctx, cancelWatch := context.WithCancel(testCtx(t))
	defer cancelWatch()
	watch, err := healthpb.NewHealthClient(ts.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("health Watch: %v", err)
	}
	awaitStatus := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		for {
			resp, err := watch.Recv()
			if err != nil {
				t.Fatalf("health Watch Recv while waiting for %v: %v", want, err)
			}
			if resp.GetStatus() == want {
				return
			}
		}
	}
	awaitStatus(healthpb.HealthCheckResponse_SERVING)
	follow := make(chan error, 1)
	followStarted := make(chan struct{})
	go func() {
		cs, err := ts.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/test.v1.Streams/Follow", bearer(aliceToken))
		if err == nil {
			err = cs.SendMsg(wrapperspb.String(""))
		}
		if err == nil {
			err = cs.CloseSend()
		}
		if err == nil {
			err = cs.RecvMsg(new(wrapperspb.StringValue))
		}
		close(followStarted)
		if err == nil {
			err = cs.RecvMsg(new(wrapperspb.StringValue)) // blocks until the stream ends
		}
		follow <- err
	}()
	<-followStarted

	ts.cancel() // as SIGTERM would

	// Balancers watching health see NOT_SERVING, then their stream ends: the
	// client does not have to go away for the graceful stop to finish.
	awaitStatus(healthpb.HealthCheckResponse_NOT_SERVING)
	if _, err := watch.Recv(); err == nil {
		t.Error("the health watch went on after NOT_SERVING")
	}
	// Other streams end as shutdown begins.
	if err := <-follow; err != io.EOF {
		t.Errorf("open stream ended with %v, want a clean end of stream", err)
	}

	if err := ts.wait(t); err != nil {
		t.Errorf("Run after cancellation = %v, want nil", err)
	}
	if strings.Contains(ts.logs.String(), "did not finish in time") {
		t.Errorf("the graceful stop had to cut RPCs off:\n%s", ts.logs.String())
	}
	mu.Lock()
	got := append([]string(nil), events...)
	mu.Unlock()
	// Streams end first; workers stop before the shutdown steps, which run last-registered first.
	want := []string{"stream ended", "worker cancelled", "second step", "first step"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shutdown sequence mismatch (-want +got):\n%s", diff)
	}

	// Nothing listens any more.
	if _, err := systemv1.NewSystemServiceClient(ts.conn).WhoAmI(testCtx(t), &systemv1.WhoAmIRequest{}, bearer(aliceToken)); status.Code(err) != codes.Unavailable {
		t.Errorf("WhoAmI after shutdown = %v, want Unavailable", err)
	}
}

func TestFailingWorkerStopsRun(t *testing.T) {
	t.Parallel()
	var stepRan atomic.Bool
	ts := startServer(t, serverOptions{setup: func(t *testing.T, rt *runtime.Runtime) {
		rt.Go("projector", func(ctx context.Context) error { return errors.New("disk full") })
		rt.OnShutdown("flush", func(context.Context) error { stepRan.Store(true); return nil })
	}})
	err := ts.wait(t)
	if err == nil || !strings.Contains(err.Error(), "worker projector: disk full") {
		t.Errorf("Run = %v, want the worker's error", err)
	}
	if !stepRan.Load() {
		t.Error("shutdown steps did not run after a worker failed")
	}
}

func TestCancelledWorkerIsNotAnError(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{setup: func(t *testing.T, rt *runtime.Runtime) {
		// Returns a wrapped cancellation after shutdown begins.
		rt.Go("poller", func(ctx context.Context) error {
			<-ctx.Done()
			return errors.New("poll: stopped")
		})
	}})
	testkit.Eventually(t, func() error {
		if _, err := healthpb.NewHealthClient(ts.conn).Check(testCtx(t), &healthpb.HealthCheckRequest{}); err != nil {
			return fmt.Errorf("the server is not serving yet: health Check: %w", err)
		}
		return nil
	})
	if err := ts.stop(t); err != nil {
		t.Errorf("Run = %v, want nil: a worker's error after cancellation is not fatal", err)
	}
}
