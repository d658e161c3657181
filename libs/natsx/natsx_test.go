package natsx_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/natsx/natstest"
)

// connect calls natsx.Connect and closes the connection at cleanup (Close is
// idempotent, so tests may also close it themselves).
func connect(t *testing.T, ctx context.Context, cfg natsx.Config) *natsx.Conn {
	t.Helper()
	c, err := natsx.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("Connect(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func createStream(t *testing.T, ctx context.Context, js jetstream.JetStream, name, subject string) {
	t.Helper()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
}

func publish(t *testing.T, ctx context.Context, js jetstream.JetStream, subject, data string) *jetstream.PubAck {
	t.Helper()
	ack, err := js.Publish(ctx, subject, []byte(data))
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	return ack
}

// lastData returns the payload of the last message on subject in stream.
func lastData(t *testing.T, ctx context.Context, js jetstream.JetStream, stream, subject string) string {
	t.Helper()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	msg, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatalf("last message on %s: %v", subject, err)
	}
	return string(msg.Data)
}

func TestConnectEmbeddedPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t)
	dir := t.TempDir()

	c := connect(t, ctx, natsx.Config{DataDir: dir, Name: "test"})
	if c.Server == nil {
		t.Fatal("Connect with no URL returned no embedded server")
	}
	if got := c.ClientURL(); got != "" {
		t.Errorf("ClientURL() of an in-process-only server = %q, want empty", got)
	}
	createStream(t, ctx, c.JS, "EVENTS", "events.>")
	ack := publish(t, ctx, c.JS, "events.one", "hello")
	if ack.Stream != "EVENTS" || ack.Sequence != 1 {
		t.Errorf("ack = stream %q seq %d, want stream EVENTS seq 1", ack.Stream, ack.Sequence)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !c.NC.IsClosed() {
		t.Error("connection still open after Close")
	}

	again := connect(t, ctx, natsx.Config{DataDir: dir, Name: "test"})
	if got := lastData(t, ctx, again.JS, "EVENTS", "events.one"); got != "hello" {
		t.Errorf("after reopening the data dir, last message = %q, want %q", got, "hello")
	}
	ack = publish(t, ctx, again.JS, "events.two", "world")
	if ack.Sequence != 2 {
		t.Errorf("sequence after reopening = %d, want 2", ack.Sequence)
	}
}

func TestConnectEmbeddedListens(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t)
	c := connect(t, ctx, natsx.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	url := c.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("ClientURL() = %q, want nats://127.0.0.1:<port>", url)
	}
	// Another process (here: a second client) reaches it over TCP.
	other := connect(t, ctx, natsx.Config{URL: url})
	if other.Server != nil {
		t.Error("Connect with a URL started an embedded server")
	}
	createStream(t, ctx, other.JS, "S", "s.>")
	publish(t, ctx, other.JS, "s.x", "via tcp")
	if got := lastData(t, ctx, c.JS, "S", "s.x"); got != "via tcp" {
		t.Errorf("embedded side read %q, want %q", got, "via tcp")
	}
}

func TestConnectURL(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t)
	srv, _, js := natstest.JetStream(t)

	c := connect(t, ctx, natsx.Config{URL: srv.ClientURL(), Name: "floe-test"})
	if c.Server != nil {
		t.Error("Connect with a URL returned an embedded server")
	}
	if got, want := c.ClientURL(), srv.ClientURL(); got != want {
		t.Errorf("ClientURL() = %q, want %q", got, want)
	}
	createStream(t, ctx, c.JS, "ORDERS", "orders.>")
	publish(t, ctx, c.JS, "orders.1", "one")
	if got := lastData(t, ctx, js, "ORDERS", "orders.1"); got != "one" {
		t.Errorf("other client read %q, want %q", got, "one")
	}
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "nats://" + l.Addr().String()
	l.Close()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		cfg     natsx.Config
		wantErr string
	}{
		{name: "embedded without data dir", ctx: context.Background(), cfg: natsx.Config{}, wantErr: "data directory is required"},
		{name: "listen address without port", ctx: context.Background(), cfg: natsx.Config{DataDir: t.TempDir(), Listen: "localhost"}, wantErr: `listen address "localhost"`},
		{name: "listen port not a number", ctx: context.Background(), cfg: natsx.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:http"}, wantErr: `listen port "http"`},
		{name: "unreachable server with cancelled context", ctx: cancelled, cfg: natsx.Config{URL: deadURL}, wantErr: "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := natsx.Connect(tt.ctx, tt.cfg)
			if err == nil {
				c.Close()
				t.Fatalf("Connect(%+v) succeeded, want an error containing %q", tt.cfg, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Connect(%+v) error = %q, want it to contain %q", tt.cfg, err, tt.wantErr)
			}
		})
	}
}

func TestCloseDrainsPendingPublishes(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t)
	srv, nc, _ := natstest.JetStream(t)

	got := make(chan string, 100)
	sub, err := nc.Subscribe("drain.>", func(m *nats.Msg) { got <- string(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	c := connect(t, ctx, natsx.Config{URL: srv.ClientURL()})
	const n = 50
	for i := range n {
		if err := c.NC.Publish("drain.x", []byte{byte('a' + i%26)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.After(30 * time.Second)
	for i := range n {
		select {
		case <-got:
		case <-deadline:
			t.Fatalf("received %d of %d messages published before Close", i, n)
		}
	}
}

func TestRestartServerKeepsDataAndPort(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t)
	srv, nc, js := natstest.JetStream(t)
	createStream(t, ctx, js, "KEEP", "keep.>")
	publish(t, ctx, js, "keep.a", "before restart")
	oldAddr, oldStore := srv.Addr().String(), srv.StoreDir()

	// Restart twice: each restart must reuse the same store directory, not
	// one nested below it.
	srv2 := natstest.RestartServer(t, natstest.RestartServer(t, srv))
	if got := srv2.Addr().String(); got != oldAddr {
		t.Errorf("restarted server listens on %s, want %s", got, oldAddr)
	}
	if got := srv2.StoreDir(); got != oldStore {
		t.Errorf("restarted server stores in %s, want the original %s", got, oldStore)
	}

	// A fresh client sees the data.
	_, js2 := natstest.Connect(t, srv2)
	if got := lastData(t, ctx, js2, "KEEP", "keep.a"); got != "before restart" {
		t.Errorf("after restart, last message = %q, want %q", got, "before restart")
	}

	// The old client reconnects by itself and can keep publishing.
	deadline := time.Now().Add(30 * time.Second)
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			t.Fatalf("old client did not reconnect; status %v", nc.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ack := publish(t, ctx, js, "keep.b", "after restart")
	if ack.Sequence != 2 {
		t.Errorf("sequence after restart = %d, want 2", ack.Sequence)
	}
}

// TestEmbeddedPortInUse: an embedded server whose client address another
// process holds fails at once, naming the address (it used to wait 30 s
// and say only that it was not ready).
func TestEmbeddedPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	_, err = natsx.StartEmbedded(natsx.Config{DataDir: t.TempDir(), Listen: l.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+l.Addr().String()) {
		t.Fatalf("StartEmbedded on a held port: %v", err)
	}
	t.Logf("refused after %s: %v", time.Since(start).Round(time.Millisecond), err)
}
