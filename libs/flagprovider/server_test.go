package flagprovider_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	syncv1 "github.com/penguinmails/floe/proto/gen/flagd/sync/v1"
)

const testToken = "s3cret"

// syncServer is a real flagd sync server on loopback whose flag
// configuration the test sets; like Floe's, it sends the configuration on
// connect and again after every change.
type syncServer struct {
	syncv1.UnimplementedFlagSyncServiceServer
	t    *testing.T
	addr string

	mu        sync.Mutex
	config    string
	changed   chan struct{}
	selectors []string
	srv       *grpc.Server
}

// newSyncServer serves config on 127.0.0.1 (a free port).
func newSyncServer(t *testing.T, config string) *syncServer {
	t.Helper()
	s := &syncServer{t: t, config: config, changed: make(chan struct{})}
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

// start serves on addr (the same address again after stop).
func (s *syncServer) start(addr string) {
	s.t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	srv := grpc.NewServer()
	syncv1.RegisterFlagSyncServiceServer(srv, s)
	s.mu.Lock()
	s.addr, s.srv = lis.Addr().String(), srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
}

// stop drops every connection at once, as a crashed server would.
func (s *syncServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// restart stops the server and serves again on the same address.
func (s *syncServer) restart() {
	s.stop()
	s.start(s.addr)
}

// set replaces the configuration; open streams send it.
func (s *syncServer) set(config string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.config = config
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *syncServer) seenSelectors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.selectors...)
}

func (s *syncServer) SyncFlags(req *syncv1.SyncFlagsRequest, stream syncv1.FlagSyncService_SyncFlagsServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+testToken {
		return status.Error(codes.Unauthenticated, "bad token")
	}
	s.mu.Lock()
	s.selectors = append(s.selectors, req.GetSelector())
	s.mu.Unlock()
	sent := ""
	for {
		s.mu.Lock()
		config, changed := s.config, s.changed
		s.mu.Unlock()
		if config != sent {
			if err := stream.Send(&syncv1.SyncFlagsResponse{FlagConfiguration: config}); err != nil {
				return err
			}
			sent = config
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return nil
		}
	}
}

// ctxT is a context for a test that fails it rather than hang.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
