// Package natsx connects Floe to NATS JetStream: to an external server when a
// URL is given, or to an embedded nats-server with JetStream on a data
// directory when none is. It also carries OpenTelemetry trace context across
// NATS messages in the W3C `traceparent`/`tracestate` headers.
package natsx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/natsurl"
)

// Config chooses and configures the NATS connection.
type Config struct {
	// URL of an external NATS server or cluster (comma-separated). Empty starts an embedded server.
	URL string
	// CredsFile is a NATS credentials file for the external server (optional).
	CredsFile string
	// DataDir is where the embedded server keeps JetStream data. Required when URL is empty.
	DataDir string
	// Listen is the embedded server's client address, "host:port"; port 0 picks a free one,
	// and "" accepts in-process connections only.
	Listen string
	// SyncAlways makes the embedded server fsync every write before acknowledging
	// (production durability; slower).
	SyncAlways bool
	// Name is the client connection name shown by the server (e.g. "floe-release").
	Name string
	// Identity authenticates the connection with an nkey (embedded or external).
	Identity *Identity
	// Users, for an embedded server, are the only identities it accepts,
	// each with its permissions (see ServicePermissions, ReaderPermissions,
	// HostPermissions); nothing connects anonymously. Empty: no
	// authentication (tests only).
	Users Users
}

// Conn is a NATS connection with JetStream, and the embedded server if one was started.
type Conn struct {
	NC     *nats.Conn
	JS     jetstream.JetStream
	Server *server.Server // nil for an external server
}

// ClientURL is the address other processes use to reach this NATS (empty for an in-process-only server).
func (c *Conn) ClientURL() string {
	if c.Server != nil {
		if c.Server.Addr() == nil {
			return ""
		}
		return c.Server.ClientURL()
	}
	return c.NC.ConnectedUrl()
}

// Connect connects per cfg. With no URL it starts an embedded JetStream server
// on cfg.DataDir; the server is shut down by Close.
func Connect(ctx context.Context, cfg Config) (*Conn, error) {
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
	}
	if cfg.Identity != nil {
		opts = append(opts, cfg.Identity.Option())
	}
	if cfg.URL != "" {
		if cfg.CredsFile != "" {
			opts = append(opts, nats.UserCredentials(cfg.CredsFile))
		}
		nc, err := connectWithRetry(ctx, cfg.URL, opts)
		if err != nil {
			return nil, err
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("jetstream: %w", err)
		}
		return &Conn{NC: nc, JS: js}, nil
	}
	srv, err := StartEmbedded(cfg)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect("", append(opts, nats.InProcessServer(srv))...)
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("connect to embedded nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		srv.Shutdown()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Conn{NC: nc, JS: js, Server: srv}, nil
}

func connectWithRetry(ctx context.Context, url string, opts []nats.Option) (*nats.Conn, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		nc, err := nats.Connect(url, opts...)
		if err == nil {
			return nc, nil
		}
		lastErr = err
		if attempt >= 20 {
			return nil, fmt.Errorf("connect to nats %s: %w", natsurl.Redact(url), lastErr)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to nats %s: %w (last error: %v)", natsurl.Redact(url), ctx.Err(), lastErr)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// StartEmbedded starts a nats-server with JetStream storing under
// cfg.DataDir/jetstream (the server adds that last element itself) and waits
// until it accepts connections.
func StartEmbedded(cfg Config) (*server.Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("embedded nats: a data directory is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	opts := &server.Options{
		ServerName: "floe-embedded",
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		NoSigs:     true,
		NoLog:      true,
		SyncAlways: cfg.SyncAlways,
	}
	if len(cfg.Users) > 0 {
		opts.Nkeys = cfg.Users
	}
	if cfg.Listen == "" {
		opts.DontListen = true
	} else {
		host, portStr, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats listen address %q: %w", cfg.Listen, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			return nil, fmt.Errorf("embedded nats listen port %q: %w", portStr, err)
		}
		if port == 0 {
			port = server.RANDOM_PORT
		} else if l, err := net.Listen("tcp", cfg.Listen); err != nil {
			// Said now: the server would only fail to become ready.
			return nil, fmt.Errorf("embedded nats: cannot listen on %s (--nats-listen): %w", cfg.Listen, err)
		} else {
			_ = l.Close()
		}
		opts.Host, opts.Port = host, port
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats did not become ready within 30s (data dir %s)", cfg.DataDir)
	}
	return srv, nil
}

// Dial opens another in-process connection to c's embedded server, as id
// (a service's own identity next to the host's).
func (c *Conn) Dial(ctx context.Context, id *Identity, name string) (*Conn, error) {
	if c.Server == nil {
		return nil, errors.New("natsx: Dial needs an embedded server")
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond), nats.InProcessServer(c.Server)}
	if id != nil {
		opts = append(opts, id.Option())
	}
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats as %s: %w", name, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Conn{NC: nc, JS: js}, nil
}

// Close drains the connection (pending publishes and handlers finish), then
// shuts the embedded server down, if any.
func (c *Conn) Close() error {
	var err error
	if c.NC != nil && !c.NC.IsClosed() {
		done := make(chan struct{})
		c.NC.SetClosedHandler(func(*nats.Conn) { close(done) })
		if err = c.NC.Drain(); err == nil {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				c.NC.Close()
			}
		} else {
			c.NC.Close()
		}
	}
	if c.Server != nil {
		c.Server.Shutdown()
		c.Server.WaitForShutdown()
	}
	return err
}

// Transient reports whether err is NATS not answering for now — a timeout,
// no responders, a JetStream API without a leader yet — rather than a
// refusal: worth waiting out when a cluster recovers.
func Transient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected)
}
