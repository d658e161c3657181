package releasesvc_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/runtime"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

// testUsers are the principals of the suite: id → roles (all environments).
var testUsers = map[string][]auth.Role{
	"alice": {auth.RoleDeveloper},      // author of releases
	"bob":   {auth.RoleReleaseManager}, // promotes
	"carol": {auth.RoleQA},
	"dave":  {auth.RoleOperations},
	"erin":  {auth.RoleSecurity},
	"frank": {auth.RoleProduct},
	"grace": {auth.RoleSupport},
	"ops1":  {auth.RoleOperations}, "ops2": {auth.RoleOperations}, "ops3": {auth.RoleOperations},
	"ops4": {auth.RoleOperations}, "ops5": {auth.RoleOperations}, "ops6": {auth.RoleOperations},
	"ops7": {auth.RoleOperations}, "ops8": {auth.RoleOperations},
	"stagingqa": {}, // gets qa in staging only, below
}

// env is one running release service on a real embedded JetStream.
type env struct {
	t      testing.TB
	srv    *server.Server
	dir    string
	tokens map[string]string
	addr   string
	stop   func()
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
}

func writeTokens(t testing.TB, dir string) map[string]string {
	t.Helper()
	tf := &auth.TokensFile{}
	tokens := map[string]string{}
	for id, roles := range testUsers {
		tok, err := auth.GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		tokens[id] = tok
		var bindings []auth.RoleBinding
		for _, r := range roles {
			bindings = append(bindings, auth.RoleBinding{Role: r})
		}
		if id == "stagingqa" {
			bindings = []auth.RoleBinding{{Role: auth.RoleQA, Environments: []string{"staging"}}}
		}
		tf.Principals = append(tf.Principals, auth.TokenEntry{ID: id, TokenSHA256: auth.HashToken(tok), Roles: bindings})
	}
	body, err := tf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens.yaml"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	return tokens
}

// startEnv starts NATS and the service.
func startEnv(t *testing.T) *env { return startEnvB(t) }

// startEnvB is startEnv for tests and benchmarks.
func startEnvB(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), conns: map[string]*grpc.ClientConn{}}
	e.tokens = writeTokens(t, e.dir)
	e.srv = natstest.Server(t)
	e.start()
	return e
}

// start runs a fresh service process (runtime + NATS connection) against the server.
func (e *env) start() {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := runtime.Base{
		Environment: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json",
		ShutdownTimeout: 5 * time.Second, NATS: runtime.NATSConfig{URL: e.srv.ClientURL()},
		Auth: runtime.AuthConfig{TokensFile: filepath.Join(e.dir, "tokens.yaml")},
	}
	log := zerolog.Nop()
	rt, err := runtime.New(ctx, runtime.Options{Service: "release", Config: cfg, Logger: &log})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := natsx.Connect(ctx, natsx.Config{URL: e.srv.ClientURL(), Name: "release-test"})
	if err != nil {
		t.Fatal(err)
	}
	rt.OnShutdown("nats", func(context.Context) error { return conn.Close() })
	if err := releasesvc.Register(ctx, rt, conn, releasesvc.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Listen(); err != nil {
		t.Fatal(err)
	}
	e.addr = rt.GRPCAddr()
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service run: %v", err)
		}
		e.mu.Lock()
		for _, c := range e.conns {
			c.Close()
		}
		e.conns = map[string]*grpc.ClientConn{}
		e.mu.Unlock()
	}
	t.Cleanup(e.stop)
}

// restart stops the service process and starts a new one on the same NATS data.
func (e *env) restart() {
	e.stop()
	e.start()
}

// client returns a ReleaseService client authenticated as user.
func (e *env) client(user string) releasev1.ReleaseServiceClient {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.conns[user]
	if !ok {
		var err error
		c, err = grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(auth.BearerCredentials{Token: e.tokens[user], AllowInsecure: true}))
		if err != nil {
			e.t.Fatal(err)
		}
		e.conns[user] = c
	}
	return releasev1.NewReleaseServiceClient(c)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
