package runtime_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/testkit"
)

// Tokens of the principals in every test server's tokens file.
const (
	aliceToken = "floe_alice"  // developer in development and staging, qa everywhere
	samToken   = "floe_sam"    // support
	rootToken  = "floe_root"   // admin
	nobodyTok  = "floe_nobody" // no roles
	relayTok   = "floe_relay"  // no roles; acts for alice and sam on /test.v1.Origin/Show
)

var testPrincipals = []auth.TokenEntry{
	{ID: "alice", Name: "Alice Developer", TokenSHA256: auth.HashToken(aliceToken), Roles: []auth.RoleBinding{
		{Role: auth.RoleDeveloper, Environments: []string{"development", "staging"}},
		{Role: auth.RoleQA},
	}},
	{ID: "sam", Name: "Sam Support", TokenSHA256: auth.HashToken(samToken), Roles: []auth.RoleBinding{{Role: auth.RoleSupport}}},
	{ID: "root", TokenSHA256: auth.HashToken(rootToken), Roles: []auth.RoleBinding{{Role: auth.RoleAdmin}}},
	{ID: "nobody", TokenSHA256: auth.HashToken(nobodyTok)},
	{ID: "relay", TokenSHA256: auth.HashToken(relayTok), ActsFor: &auth.ActsFor{Methods: []string{"/test.v1.Origin/Show"}, Principals: []string{"alice", "sam"}}},
}

func writeTokensFile(t *testing.T) string {
	t.Helper()
	data, err := (&auth.TokensFile{Principals: testPrincipals}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testConfigBase is a valid configuration listening on free loopback ports.
func testConfigBase(t *testing.T) runtime.Base {
	t.Helper()
	return runtime.Base{
		Environment: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", LogLevel: "debug", LogFormat: "json",
		NATS:            runtime.NATSConfig{DataDir: t.TempDir()},
		Auth:            runtime.AuthConfig{TokensFile: writeTokensFile(t)},
		ShutdownTimeout: 20 * time.Second,
	}
}

type serverOptions struct {
	policy     auth.Policy
	setup      func(t *testing.T, rt *runtime.Runtime) // before Listen: register services, workers, checks
	clientOpts []grpc.DialOption
}

// testServer is a Runtime serving on loopback, with a client connection.
type testServer struct {
	rt    *runtime.Runtime
	conn  *grpc.ClientConn
	admin string // base URL of the admin HTTP server
	logs  *testkit.SyncBuffer

	cancel context.CancelFunc
	done   chan struct{}
	runErr error
}

// startServer builds a Runtime with the test tokens file, runs it until the
// test ends, and dials it.
func startServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	lg := zerolog.New(logs)
	rt, err := runtime.New(context.Background(), runtime.Options{Service: "test", Config: testConfigBase(t), Policy: o.policy, Logger: &lg})
	if err != nil {
		t.Fatalf("runtime.New: %v", err)
	}
	if o.setup != nil {
		o.setup(t, rt)
	}
	if err := rt.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{rt: rt, admin: "http://" + rt.AdminAddr(), logs: logs, cancel: cancel, done: make(chan struct{})}
	go func() {
		s.runErr = rt.Run(ctx)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			t.Errorf("Run did not return within 60s of cancellation")
		}
	})
	conn, err := grpc.NewClient(rt.GRPCAddr(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, o.clientOpts...)...)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	s.conn = conn
	return s
}

// wait returns Run's result, failing the test if Run does not return.
func (s *testServer) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
		return s.runErr
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s")
		return nil
	}
}

// stop cancels Run's context and returns its result.
func (s *testServer) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	return s.wait(t)
}

// get fetches path from the admin server.
func (s *testServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.admin + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// testCtx is a context for RPCs with a generous deadline, cancelled when the test ends.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// bearer is a call option sending token.
func bearer(token string) grpc.CallOption {
	return grpc.PerRPCCredentials(auth.BearerCredentials{Token: token, AllowInsecure: true})
}

// Hand-built gRPC services: StringValue in, StringValue out.

type unaryFunc func(ctx context.Context, in string) (string, error)

type streamFunc func(ctx context.Context, in string, send func(string) error) error

// service describes a hand-built service; register adds it to rt.
type service struct {
	name    string
	unary   map[string]unaryFunc
	streams map[string]streamFunc
}

func (svc service) desc() *grpc.ServiceDesc {
	d := &grpc.ServiceDesc{ServiceName: svc.name, HandlerType: (*any)(nil)}
	for name, fn := range svc.unary {
		full := "/" + svc.name + "/" + name
		d.Methods = append(d.Methods, grpc.MethodDesc{
			MethodName: name,
			Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, req any) (any, error) {
					out, err := fn(ctx, req.(*wrapperspb.StringValue).GetValue())
					if err != nil {
						return nil, err
					}
					return wrapperspb.String(out), nil
				}
				if ic == nil {
					return h(ctx, in)
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, h)
			},
		})
	}
	for name, fn := range svc.streams {
		d.Streams = append(d.Streams, grpc.StreamDesc{
			StreamName:    name,
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				in := new(wrapperspb.StringValue)
				if err := stream.RecvMsg(in); err != nil {
					return err
				}
				send := func(s string) error { return stream.SendMsg(wrapperspb.String(s)) }
				return fn(stream.Context(), in.GetValue(), send)
			},
		})
	}
	return d
}

func (svc service) register(t *testing.T, rt *runtime.Runtime, rules auth.Rules) {
	t.Helper()
	if err := rt.Register(svc.desc(), struct{}{}, rules); err != nil {
		t.Fatalf("Register %s: %v", svc.name, err)
	}
}

// callUnary invokes a hand-built unary method.
func callUnary(ctx context.Context, conn *grpc.ClientConn, method, in string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(ctx, method, wrapperspb.String(in), out, opts...)
	return out.GetValue(), err
}

// callStream opens a hand-built server stream, sends in, and collects the
// messages until the stream ends; err is the stream's final error (nil on io.EOF).
func callStream(ctx context.Context, conn *grpc.ClientConn, method, in string, opts ...grpc.CallOption) ([]string, error) {
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, opts...)
	if err != nil {
		return nil, err
	}
	if err := cs.SendMsg(wrapperspb.String(in)); err != nil && err != io.EOF {
		return nil, err
	}
	if err := cs.CloseSend(); err != nil {
		return nil, err
	}
	var got []string
	for {
		out := new(wrapperspb.StringValue)
		if err := cs.RecvMsg(out); err != nil {
			if err == io.EOF {
				return got, nil
			}
			return got, err
		}
		got = append(got, out.GetValue())
	}
}
