// Package natstest gives each test its own in-process NATS JetStream server,
// on a random port with t.TempDir() storage, shut down when the test ends.
package natstest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/natsx"
)

// Server starts a JetStream server for t and returns it. Its data lives in
// t.TempDir(); RestartServer starts a new server on the same data.
func Server(t testing.TB) *server.Server {
	t.Helper()
	return start(t, t.TempDir(), "127.0.0.1:0")
}

func start(t testing.TB, dir, listen string) *server.Server {
	t.Helper()
	srv, err := natsx.StartEmbedded(natsx.Config{DataDir: dir, Listen: listen})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// RestartServer shuts srv down and starts a new server on the same store
// directory and port, as a process restart would; clients reconnect to it.
func RestartServer(t testing.TB, srv *server.Server) *server.Server {
	t.Helper()
	dir := srv.JetStreamConfig().StoreDir
	addr := srv.Addr().String()
	srv.Shutdown()
	srv.WaitForShutdown()
	// StoreDir is <data dir>/jetstream/jetstream: StartEmbedded appends one
	// "jetstream" and nats-server another, so the data dir is two levels up.
	return start(t, filepath.Dir(dir), addr)
}

// Connect returns a client connection and JetStream context to srv, closed at cleanup.
func Connect(t testing.TB, srv *server.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// JetStream is Server plus Connect, for tests that need one line.
func JetStream(t testing.TB) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv := Server(t)
	nc, js := Connect(t, srv)
	return srv, nc, js
}

// Context returns a context cancelled at cleanup, with a generous deadline
// so that a hung test fails instead of blocking the suite.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
