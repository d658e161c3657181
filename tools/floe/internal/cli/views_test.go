package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/errs"
	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

func TestViewState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		view *systemv1.View
		want string
	}{
		{&systemv1.View{CaughtUp: true, Position: 9}, "live"},
		{&systemv1.View{Position: 3}, "catching up"},
		{&systemv1.View{Rebuilding: true, Position: 4500, Target: 10000}, "rebuilding 45%"},
		{&systemv1.View{Rebuilding: true, Position: 9999, Target: 10000}, "rebuilding 99%"},
		{&systemv1.View{Rebuilding: true, Position: 0, Target: 10000}, "rebuilding 0%"},
		{&systemv1.View{Rebuilding: true, Position: 12, Target: 10}, "rebuilding 100%"},
		{&systemv1.View{Rebuilding: true}, "rebuilding 100%"},
	} {
		if got := viewState(tc.view); got != tc.want {
			t.Errorf("viewState(%v) = %q, want %q", tc.view, got, tc.want)
		}
	}
}

func TestPrintViews(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	err := printViews(&b, &systemv1.ListViewsResponse{LogPosition: 1240, Views: []*systemv1.View{
		{Name: "deployments", Position: 1240, Rows: 12, CaughtUp: true},
		{Name: "releases", Position: 558, Rows: 3, Rebuilding: true, Target: 1240, Skipped: []*systemv1.SkippedEvent{{Position: 7}, {Position: 9}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := "NAME         POSITION   ROWS  STATE           SKIPPED\n" +
		"deployments  1240/1240  12    live            0\n" +
		"releases     558/1240   3     rebuilding 45%  2\n"
	if b.String() != want {
		t.Errorf("printViews =\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := printViews(&b, &systemv1.ListViewsResponse{Views: []*systemv1.View{{Name: "v", Position: 5, CaughtUp: true}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "v     5         0     live") {
		t.Errorf("printViews without a log position =\n%s", b.String())
	}
}

// rebuildServer is a SystemService whose view "releases" advances by step
// positions at each ListViews while it rebuilds towards target.
type rebuildServer struct {
	systemv1.UnimplementedSystemServiceServer
	addr         string
	target, step uint64

	mu   sync.Mutex
	view *systemv1.View
}

func startRebuildServer(t *testing.T, target, step uint64) *rebuildServer {
	t.Helper()
	s := &rebuildServer{target: target, step: step, view: &systemv1.View{Name: "releases", Position: target, Rows: 40, CaughtUp: true}}
	srv := grpc.NewServer()
	systemv1.RegisterSystemServiceServer(srv, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	s.addr = lis.Addr().String()
	return s
}

func (s *rebuildServer) RebuildView(_ context.Context, req *systemv1.RebuildViewRequest) (*systemv1.RebuildViewResponse, error) {
	if req.GetName() != "releases" {
		return nil, status.Errorf(codes.NotFound, "view %q not found", req.GetName())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.view = &systemv1.View{Name: "releases", Rebuilding: true, Target: s.target}
	return &systemv1.RebuildViewResponse{View: s.view}, nil
}

func (s *rebuildServer) ListViews(context.Context, *systemv1.ListViewsRequest) (*systemv1.ListViewsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.view; v.Rebuilding {
		v.Position = min(v.Position+s.step, v.Target)
		v.Rows = v.Position / 100
		if v.Position == v.Target {
			v.Rebuilding, v.CaughtUp = false, true
		}
	}
	return &systemv1.ListViewsResponse{Views: []*systemv1.View{s.view}, LogPosition: s.target}, nil
}

func TestViewsRebuildWaitsWithProgress(t *testing.T) {
	t.Parallel()
	s := startRebuildServer(t, 10000, 800) // 13 polls: about 2.5s
	start := time.Now()
	// --timeout is shorter than the wait: it bounds each call only.
	out, _, err := runFloe(context.Background(), "--server", s.addr, "--token", "floe_x", "--timeout", "1s", "views", "rebuild", "releases", "--wait")
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("views rebuild --wait = %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "rebuilding releases from the start of the log" {
		t.Errorf("first line = %q", lines[0])
	}
	if last := lines[len(lines)-1]; last != "releases rebuilt: 100 rows at position 10000" {
		t.Errorf("last line = %q", last)
	}
	progress := lines[1 : len(lines)-1]
	if len(progress) == 0 || len(progress) > int(elapsed/time.Second) {
		t.Errorf("%d progress lines in %v, want one at most every second:\n%s", len(progress), elapsed, out)
	}
	for _, l := range progress {
		if !strings.HasPrefix(l, "releases: ") || !strings.HasSuffix(l, "%)") || !strings.Contains(l, "/10000 events (") {
			t.Errorf("progress line %q, want like %q", l, "releases: 4500/10000 events (45%)")
		}
	}
}

func TestViewsRebuildWithoutWait(t *testing.T) {
	t.Parallel()
	s := startRebuildServer(t, 10000, 800)
	conn := []string{"--server", s.addr, "--token", "floe_x"}
	out, _, err := runFloe(context.Background(), append(conn, "views", "rebuild", "releases")...)
	if err != nil || out != "rebuilding releases from the start of the log\n" {
		t.Errorf("views rebuild = %q, %v", out, err)
	}
	// -o json: the document on stdout, the text on stderr.
	out, errOut, err := runFloe(context.Background(), append(conn, "-o", "json", "views", "rebuild", "releases")...)
	var resp struct {
		View struct {
			Name       string `json:"name"`
			Rebuilding bool   `json:"rebuilding"`
			Target     string `json:"target"`
		} `json:"view"`
	}
	if err != nil || json.Unmarshal([]byte(out), &resp) != nil || resp.View.Name != "releases" || !resp.View.Rebuilding || resp.View.Target != "10000" {
		t.Errorf("views rebuild -o json = %v\n%s", err, out)
	}
	if !strings.Contains(errOut, "rebuilding releases") {
		t.Errorf("views rebuild -o json wrote %q on stderr", errOut)
	}
	if _, _, err := runFloe(context.Background(), append(conn, "views", "rebuild", "nope")...); err == nil || !strings.Contains(errs.Describe(err), "NotFound") {
		t.Errorf("views rebuild of an unknown view = %v, want NotFound", err)
	}
	if _, _, err := runFloe(context.Background(), append(conn, "views", "rebuild")...); err == nil || !strings.Contains(err.Error(), "missing NAME") {
		t.Errorf("views rebuild without NAME = %v", err)
	}
}

func TestViewsRebuildWaitStopsOnInterrupt(t *testing.T) {
	t.Parallel()
	s := startRebuildServer(t, 1<<40, 1) // never done
	ctx, interrupt := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer interrupt()
	start := time.Now()
	_, _, err := runFloe(ctx, "--server", s.addr, "--token", "floe_x", "views", "rebuild", "releases", "--wait")
	if err == nil || !strings.Contains(err.Error(), "stopped waiting for view releases") {
		t.Errorf("views rebuild --wait interrupted = %v, want it to say it stopped waiting", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("views rebuild --wait took %v to stop", time.Since(start))
	}
}

func TestViewsListOfARealServer(t *testing.T) {
	t.Parallel()
	s := startMonitor(t)
	out := s.must(t, "sam", "views", "list")
	if !strings.HasPrefix(out, "NAME") && out != "no views\n" {
		t.Errorf("views list =\n%s", out)
	}
	out = s.must(t, "sam", "-o", "json", "views", "list")
	var resp map[string]any
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Errorf("views list -o json is not JSON (%v):\n%s", err, out)
	}
	if _, err := s.floe(t, "sam", "views", "rebuild", "anything"); err == nil || !strings.Contains(err.Error(), "system.admin") {
		t.Errorf("views rebuild by a support user = %v, want a PermissionDenied naming system.admin", err)
	}
}

func TestViewsHelp(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := Execute(context.Background(), []string{"views", "--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"list", "rebuild"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("views --help does not list %s:\n%s", cmd, out.String())
		}
	}
	for _, c := range newViewsCmd(&globals{}).Commands() {
		if c.Short == "" || !strings.Contains(c.Long, "  floe views "+c.Name()) {
			t.Errorf("views %s lacks help with an example", c.Name())
		}
	}
}
