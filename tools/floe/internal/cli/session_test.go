package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/runtime"
)

// TestMain keeps the session positions that commands under test save out of
// the user's cache directory: tests that look at them set their own
// FLOE_STATE_DIR.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "floe-cli-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(stateDirEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stateFile is the content of the position file of server in dir ("" when absent).
func stateFile(t *testing.T, dir, server string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, positionFileName(server)))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPositionFileName(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("127.0.0.1:7400"))
	if got, want := positionFileName("127.0.0.1:7400"), "position-"+hex.EncodeToString(sum[:8]); got != want {
		t.Errorf("positionFileName = %q, want %q", got, want)
	}
	if positionFileName("127.0.0.1:7400") == positionFileName("127.0.0.1:7401") {
		t.Error("two servers share a position file")
	}
}

func TestSessionPositionsOnlyMoveUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // created on first save
	t.Setenv(stateDirEnv, dir)
	const server = "127.0.0.1:7400"

	a := newSessionPositions(server)
	if got := a.position(); got != 0 {
		t.Fatalf("position with no file = %d, want 0", got)
	}
	a.advance(10)
	a.advance(5)
	if got := a.position(); got != 10 {
		t.Errorf("position after 10 then 5 = %d, want 10", got)
	}
	if got := stateFile(t, dir, server); got != "10\n" {
		t.Errorf("file = %q, want %q", got, "10\n")
	}

	// Another invocation sees the file, and a slower one that saw less
	// cannot move it down.
	b := newSessionPositions(server)
	if got := b.position(); got != 10 {
		t.Errorf("position in another invocation = %d, want 10", got)
	}
	a.advance(30)
	b.advance(20)
	if got := stateFile(t, dir, server); got != "30\n" {
		t.Errorf("file after 30 and a concurrent 20 = %q, want %q", got, "30\n")
	}
	if got := b.position(); got != 30 {
		t.Errorf("position = %d, want 30 (the file's)", got)
	}

	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, positionFileName(server)): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", path, got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the state directory holds %d files, want 1 (no temporary files left)", len(entries))
	}
}

func TestSessionPositionsKeepServersApart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(stateDirEnv, dir)
	a, b := newSessionPositions("127.0.0.1:7400"), newSessionPositions("floe.example.com:443")
	a.advance(100)
	b.advance(7)
	for _, tc := range []struct {
		server string
		want   uint64
	}{
		{"127.0.0.1:7400", 100},
		{"floe.example.com:443", 7},
		{"127.0.0.1:7401", 0},
	} {
		if got := newSessionPositions(tc.server).position(); got != tc.want {
			t.Errorf("position of %s = %d, want %d", tc.server, got, tc.want)
		}
	}
}

func TestSessionPositionsCorruptFileIsZero(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(stateDirEnv, dir)
	const server = "127.0.0.1:7400"
	for _, content := range []string{"", "garbage", "-5", "12x", "99999999999999999999999"} {
		if err := os.WriteFile(filepath.Join(dir, positionFileName(server)), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s := newSessionPositions(server)
		if got := s.position(); got != 0 {
			t.Errorf("position of a file holding %q = %d, want 0", content, got)
		}
		s.advance(3)
		if got := stateFile(t, dir, server); got != "3\n" {
			t.Errorf("file holding %q after advance(3) = %q, want %q", content, got, "3\n")
		}
	}
}

func TestSessionPositionsNeverFail(t *testing.T) {
	// The state directory cannot be created (a file is in the way): the
	// position is kept for this invocation only.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(stateDirEnv, filepath.Join(blocker, "state"))
	s := newSessionPositions("127.0.0.1:7400")
	s.advance(8)
	if got := s.position(); got != 8 {
		t.Errorf("position when it cannot be saved = %d, want 8", got)
	}
	if err := s.save(9); err == nil || !strings.Contains(err.Error(), "session position") {
		t.Errorf("save under a file = %v, want an error naming the session position", err)
	}

	// No state directory at all (no FLOE_STATE_DIR, no cache directory).
	t.Setenv(stateDirEnv, "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	if _, err := os.UserCacheDir(); err == nil {
		t.Skip("this platform has a cache directory without HOME")
	}
	s = newSessionPositions("127.0.0.1:7400")
	if s.file != "" {
		t.Errorf("file without a state directory = %q, want none", s.file)
	}
	s.advance(4)
	if got := s.position(); got != 4 {
		t.Errorf("position without a state directory = %d, want 4", got)
	}
}

// positionServer is a gRPC server (the health service) that records the
// floe-min-position of each call and answers with a chosen floe-position.
type positionServer struct {
	addr string

	mu      sync.Mutex
	seen    []string // "method=min-position" of each call, in order
	respond string   // floe-position to send back ("" for none)
}

func startPositionServer(t *testing.T) *positionServer {
	t.Helper()
	s := &positionServer{}
	record := func(ctx context.Context, method string) {
		md, _ := metadata.FromIncomingContext(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.seen = append(s.seen, method[strings.LastIndex(method, "/")+1:]+"="+strings.Join(md.Get(runtime.MinPositionHeader), ","))
		if s.respond != "" {
			_ = grpc.SetHeader(ctx, metadata.Pairs(runtime.PositionHeader, s.respond))
		}
	}
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			record(ctx, info.FullMethod)
			return handler(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			record(ss.Context(), info.FullMethod)
			return handler(srv, ss)
		}),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	s.addr = lis.Addr().String()
	return s
}

// answer sets the floe-position the server sends back.
func (s *positionServer) answer(pos string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = pos
}

// last is what the server saw of the last call: "method=min-position".
func (s *positionServer) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return ""
	}
	return s.seen[len(s.seen)-1]
}

func TestSessionInterceptorSendsAndRecordsPositions(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(stateDirEnv, dir)
	srv := startPositionServer(t)
	g := &globals{server: srv.addr, token: "floe_test", output: "table", timeout: 10 * time.Second}
	ctx := context.Background()

	// check runs a health check in a new connection, as one floe invocation does.
	check := func(service string) error {
		return g.call(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
			return err
		})
	}
	steps := []struct {
		name     string
		answer   string // floe-position the server sends
		service  string // "" is served; any other is NotFound
		wantSeen string // what the server saw
		wantFile string
	}{
		{"nothing stored: no header", "41", "", "Check=", "41\n"},
		{"the position written is sent", "", "", "Check=41", "41\n"},
		{"a lower position is not stored", "7", "", "Check=41", "41\n"},
		{"a failed call's position is stored", "50", "unknown", "Check=41", "50\n"},
		{"garbage is ignored", "x", "", "Check=50", "50\n"},
	}
	for _, st := range steps {
		srv.answer(st.answer)
		err := check(st.service)
		if st.service == "" && err != nil {
			t.Fatalf("%s: check = %v", st.name, err)
		}
		if st.service != "" && status.Code(err) != codes.NotFound {
			t.Fatalf("%s: check of an unknown service = %v, want NotFound", st.name, err)
		}
		if got := srv.last(); got != st.wantSeen {
			t.Errorf("%s: the server saw %q, want %q", st.name, got, st.wantSeen)
		}
		if got := stateFile(t, dir, srv.addr); got != st.wantFile {
			t.Errorf("%s: file = %q, want %q", st.name, got, st.wantFile)
		}
	}

	// Streams carry the position too.
	srv.answer("")
	err := g.call(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	})
	if err != nil {
		t.Fatalf("watch = %v", err)
	}
	if got, want := srv.last(), "Watch=50"; got != want {
		t.Errorf("the server saw %q of the watch, want %q", got, want)
	}
}

// TestSessionPositionOfARealServer checks the header names against the
// runtime: a write to the monitor is seen by the next invocation's reads.
func TestSessionPositionOfARealServer(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(stateDirEnv, dir)
	s := startMonitor(t)
	if got := stateFile(t, dir, s.addr); got != "" {
		t.Fatalf("position file before any write = %q, want none", got)
	}
	s.must(t, "sam", "rules", "list")
	if got := stateFile(t, dir, s.addr); got != "" {
		t.Errorf("position file after a read = %q, want none", got)
	}
	s.must(t, "olivia", "rules", "apply", rulesFile("rules.yaml"))
	pos, err := strconv.ParseUint(strings.TrimSpace(stateFile(t, dir, s.addr)), 10, 64)
	if err != nil || pos == 0 {
		t.Fatalf("position file after rules apply holds %d (%v), want a position", pos, err)
	}
	out := s.must(t, "sam", "rules", "list")
	if !strings.Contains(out, "high_error_rate") {
		t.Errorf("rules list after apply does not show the applied rule:\n%s", out)
	}
}
