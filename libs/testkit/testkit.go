// Package testkit is what Floe's tests share: one polling helper that
// reports the last error, a buffer safe for concurrent writers, tokens files
// for test principals, and a Process that runs services on a real embedded
// NATS JetStream — started, restarted and reached over loopback gRPC with
// each principal's token.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/service"
)

// DefaultWait bounds Eventually: generous, so a loaded machine is slow but not flaky.
const DefaultWait = 30 * time.Second

// Eventually calls cond every 10 ms until it returns nil; after DefaultWait
// the test fails with cond's last error.
func Eventually(t testing.TB, cond func() error) {
	t.Helper()
	EventuallyWithin(t, DefaultWait, cond)
}

// EventuallyWithin is Eventually with its own limit.
func EventuallyWithin(t testing.TB, limit time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer that several goroutines may write and read.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Roles grants roles in every environment.
func Roles(roles ...auth.Role) []auth.RoleBinding {
	out := make([]auth.RoleBinding, len(roles))
	for i, r := range roles {
		out[i] = auth.RoleBinding{Role: r}
	}
	return out
}

// WriteTokens writes a tokens file for users (id → role bindings) into dir
// and returns its path and each user's token.
func WriteTokens(t testing.TB, dir string, users map[string][]auth.RoleBinding) (string, map[string]string) {
	t.Helper()
	return writeTokens(t, dir, users, nil)
}

func writeTokens(t testing.TB, dir string, users map[string][]auth.RoleBinding, actsFor map[string]*auth.ActsFor) (string, map[string]string) {
	t.Helper()
	tf := &auth.TokensFile{}
	tokens := map[string]string{}
	for id, roles := range users {
		tok, err := auth.GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		tokens[id] = tok
		tf.Principals = append(tf.Principals, auth.TokenEntry{ID: id, Name: id, TokenSHA256: auth.HashToken(tok), Roles: roles, ActsFor: actsFor[id]})
	}
	body, err := tf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tokens.yaml")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, tokens
}

// Context is a context for a test: cancelled at cleanup, with a deadline
// so a hung test fails instead of blocking the suite.
func Context(t testing.TB) context.Context { return natstest.Context(t) }

// Options configure a Process.
type Options struct {
	// Users are the principals that may call it (id → roles).
	Users map[string][]auth.RoleBinding
	// Entries returns the services to run; it is called on every (re)start.
	Entries func() []service.Entry
	// Server shares an embedded NATS server (a new one when nil).
	Server *server.Server
	// DataDir is the services' data directory (a temporary one when empty).
	DataDir string
	// Clock is the services' clock (time.Now when nil).
	Clock func() time.Time
	// Log receives the process's log (discarded when nil).
	Log *SyncBuffer
	// ActsFor gives users an acts_for grant (by user id; the principals it
	// names must be users too).
	ActsFor map[string]*auth.ActsFor
	// Writers are other writers the process trusts (name → the aggregates it
	// writes), for tests that append as another service would (Store).
	Writers map[string][]string
	// OIDCIssuer and OIDCAudience, when set, make the process accept that
	// provider's JWTs too (--oidc-issuer, --oidc-audience; roles from
	// floe_roles), beside the users' tokens. The provider must be up.
	OIDCIssuer, OIDCAudience string
}

// Process is services running in one runtime on an embedded NATS, as a
// binary would run them.
type Process struct {
	t      testing.TB
	opts   Options
	tokens map[string]string
	// NATS is the embedded server.
	NATS *server.Server
	// Addr is the gRPC address.
	Addr string
	// Handles are the services' handles by name (from their Register).
	Handles map[string]any
	// Runtime is the running runtime.
	Runtime *runtime.Runtime
	// Keys are the services' signing keys and trust store (in DataDir/keys).
	Keys *service.Keys
	// Spans are the traces' spans, kept across restarts.
	Spans *Spans

	mu        sync.Mutex
	conns     map[string]*grpc.ClientConn
	js        jetstream.JetStream // for LogPosition
	stop      func()
	restartFn func()
}

// Start starts a Process and waits until it is ready (its views caught up).
func Start(t testing.TB, opts Options) *Process {
	t.Helper()
	if opts.Server == nil {
		opts.Server = natstest.Server(t)
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	p := &Process{t: t, opts: opts, NATS: opts.Server, conns: map[string]*grpc.ClientConn{}, Spans: &Spans{}}
	_, p.js = natstest.Connect(t, opts.Server)
	var tokensPath string
	tokensPath, p.tokens = writeTokens(t, t.TempDir(), opts.Users, opts.ActsFor)
	p.opts.DataDir = opts.DataDir
	p.start(tokensPath)
	return p
}

func (p *Process) start(tokensPath string) {
	t := p.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	level := "error"
	var logger zerolog.Logger
	if p.opts.Log != nil {
		level = "debug"
		logger = zerolog.New(p.opts.Log).With().Timestamp().Logger()
	} else {
		logger = zerolog.Nop()
	}
	cfg := runtime.Base{
		Environment: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", LogLevel: level, LogFormat: "json",
		ShutdownTimeout: 5 * time.Second, NATS: runtime.NATSConfig{URL: p.NATS.ClientURL()},
		Auth: runtime.AuthConfig{TokensFile: tokensPath, OIDCIssuer: p.opts.OIDCIssuer, OIDCAudience: p.opts.OIDCAudience},
	}
	rt, err := runtime.New(ctx, runtime.Options{Service: "test", Config: cfg, Logger: &logger, SpanExporter: p.Spans})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	conn, err := natsx.Connect(ctx, natsx.Config{URL: p.NATS.ClientURL(), Name: "floe-test"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rt.OnShutdown("nats", func(context.Context) error { return conn.Close() })
	entries := p.opts.Entries()
	writers := service.Writers(entries...)
	maps.Copy(writers, p.opts.Writers)
	keys, err := service.DevKeys(filepath.Join(p.opts.DataDir, "keys"), writers)
	if err != nil {
		cancel()
		_ = conn.Close()
		t.Fatal(err)
	}
	p.Keys = keys
	handles, err := service.Start(ctx, service.Host{Runtime: rt, NATS: conn, DataDir: p.opts.DataDir, Clock: p.opts.Clock, Keys: keys}, entries...)
	if err != nil {
		cancel()
		_ = conn.Close()
		t.Fatal(err)
	}
	if err := rt.Listen(); err != nil {
		cancel()
		_ = conn.Close()
		t.Fatal(err)
	}
	p.Addr, p.Handles, p.Runtime = rt.GRPCAddr(), handles, rt
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	stopped := false
	p.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("process run: %v", err)
		}
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = map[string]*grpc.ClientConn{}
		p.mu.Unlock()
	}
	t.Cleanup(p.stop)
	p.restartFn = func() { p.start(tokensPath) }
	p.waitReady()
}

// waitReady waits until gRPC health says SERVING.
func (p *Process) waitReady() {
	p.t.Helper()
	health := healthpb.NewHealthClient(p.Conn(""))
	Eventually(p.t, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health is %s", resp.GetStatus())
		}
		return nil
	})
}

// Stop stops the process (the NATS server keeps running).
func (p *Process) Stop() { p.stop() }

// Restart stops the process and starts a new one on the same NATS data,
// as a process restart would.
func (p *Process) Restart() {
	p.t.Helper()
	p.stop()
	p.restartFn()
}

// Store is an event store on the process's NATS writing as the named writer
// (a service of the process, or one of Options.Writers), signed with its key
// and verifying what it loads, as that service's own store would.
func (p *Process) Store(name string) *eventstore.JetStreamStore {
	p.t.Helper()
	priv, err := p.Keys.Key(name)
	if err != nil {
		p.t.Fatal(err)
	}
	signer := eventstore.NewSigner(service.Writer(name), priv)
	tk, _ := p.Keys.Trust.Key(signer.KeyID())
	_, js := natstest.Connect(p.t, p.NATS)
	st, err := eventstore.Open(p.t.Context(), js, eventstore.Options{
		Source: signer.Writer(), Aggregates: tk.Aggregates, Signer: signer,
		Verifier: eventstore.NewVerifier(js, eventstore.DefaultStream, p.Keys.Trust),
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return st
}

// Token is user's bearer token.
func (p *Process) Token(user string) string { return p.tokens[user] }

// Conn is a client connection authenticated as user ("" sends no token).
func (p *Process) Conn(user string) *grpc.ClientConn {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[user]; ok {
		return c
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if user != "" {
		tok, ok := p.tokens[user]
		if !ok {
			p.t.Fatalf("no test user %q", user)
		}
		opts = append(opts, grpc.WithPerRPCCredentials(auth.BearerCredentials{Token: tok, AllowInsecure: true}))
	}
	c, err := grpc.NewClient(p.Addr, opts...)
	if err != nil {
		p.t.Fatal(err)
	}
	p.conns[user] = c
	return c
}

// LogPosition is the event log's last sequence (0 while it is empty):
// compare it before and after a refused request to show that the request
// appended nothing. It fails t (which may be a fuzz target's) on an error.
func (p *Process) LogPosition(t testing.TB) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.js.Stream(ctx, eventstore.DefaultStream)
	if err != nil {
		t.Fatalf("event log stream: %v", err)
	}
	return s.CachedInfo().State.LastSeq
}

// ConnWithToken is a client connection sending token (which may be forged).
func (p *Process) ConnWithToken(token string) *grpc.ClientConn {
	p.t.Helper()
	c, err := grpc.NewClient(p.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(auth.BearerCredentials{Token: token, AllowInsecure: true}))
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { c.Close() })
	return c
}
