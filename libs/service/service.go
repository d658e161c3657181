// Package service is the one shape every Floe service has. A service module
// exports a Def: its name, the aggregates it owns and a Register function
// that adds it to a process given Deps. A service binary runs one Def with
// Main; `floe dev` and the test kit start a list of Entries with Start, so a
// new service is one more entry in that list.
package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/integrity"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	integrityv1 "github.com/penguinmails/floe/proto/gen/floe/integrity/v1"
)

// Deps is what a service is given to register itself.
type Deps[C any] struct {
	// Runtime hosts its gRPC services, background work, readiness checks and views.
	Runtime *runtime.Runtime
	// NATS is the connection (JetStream included) for subscriptions and buckets.
	NATS *natsx.Conn
	// Store is the event log, open for the aggregates the service owns,
	// writing as floe/<name>.
	Store *eventstore.JetStreamStore
	// Snapshots is the shared snapshot bucket, authenticated with the
	// service's key.
	Snapshots *eventstore.Snapshots
	// Signer is the service's writer key: its store signs every event with
	// it, and views authenticate their checkpoints with it.
	Signer *eventstore.Signer
	// Verifier checks events before they are used; pass it to views
	// (projection.Options), subscriptions and Follow/Tail.
	Verifier *eventstore.Verifier
	// Clock is the time (tests fix it).
	Clock func() time.Time
	// Log is the process's logger with service=<name>.
	Log zerolog.Logger
	// DataDir is where the service may keep local state (may be empty).
	DataDir string
	// Replicas is the replication of streams and buckets the service creates (1 embedded, 3 in production).
	Replicas int
	// Embedded is true when NATS is the process's own embedded server (a
	// development setup: missing keys may be created in DataDir).
	Embedded bool
	// Config is the service's own configuration.
	Config C
}

// Def describes a service module to the processes that host it.
type Def[C, H any] struct {
	// Name is the service's name: its event source is floe/<name>, its binary <name>.
	Name string
	// Aggregates are the aggregate kinds the service owns: the only ones its store appends to.
	Aggregates []string
	// Publishes are other NATS subjects the service publishes to (its NATS
	// identity's permissions add them), e.g. the audit trail's.
	Publishes []string
	// Register adds the service to d.Runtime and returns a handle for its host (or the zero H).
	Register func(ctx context.Context, d Deps[C]) (H, error)
	// APIClient marks a service that is only a client of the others' gRPC
	// APIs (the console): it reads and writes no events, so its Deps carry
	// no NATS, store, keys or snapshots, and its own binary connects to no
	// NATS and needs no signing key.
	APIClient bool
}

// Host is what a process gives every service it starts.
type Host struct {
	Runtime  *runtime.Runtime
	NATS     *natsx.Conn
	DataDir  string
	Clock    func() time.Time
	Replicas int
	// Keys are the services' signing keys and the trust store (required).
	Keys *Keys
	// Dial (optional) connects as the named service's own NATS identity;
	// without it every service shares NATS.
	Dial func(ctx context.Context, name string) (*natsx.Conn, error)
	// Embedded is true when NATS is the process's own embedded server.
	Embedded bool
}

// Entry is a Def with its configuration, ready to start.
type Entry struct {
	Name string
	// Aggregates are the kinds the service writes (for its trust store entry).
	Aggregates []string
	// Publishes are the other subjects it publishes to (for its NATS identity).
	Publishes []string
	start     func(ctx context.Context, h Host, env *env) (any, error)
}

// env is what Start shares among the services of a process.
type env struct {
	snaps    *eventstore.Snapshots
	verifier *eventstore.Verifier
	// store is the first service's store: it records tamperings and
	// acknowledgements for the whole process.
	store eventstore.Store
}

// Writers maps each entry's name to the aggregates it writes (for DevKeys).
func Writers(entries ...Entry) map[string][]string {
	out := map[string][]string{}
	for _, e := range entries {
		out[e.Name] = e.Aggregates
	}
	return out
}

// Grants are each entry's NATS permissions: append to its aggregates (and
// integrity records), publish its other subjects (for natsx.LoadOrCreateDevAuth).
func Grants(entries ...Entry) map[string]*server.Permissions {
	out := map[string]*server.Permissions{}
	for _, e := range entries {
		out[e.Name] = natsx.ServicePermissions(withIntegrity(e.Aggregates), e.Publishes...)
	}
	return out
}

// Of pairs def with its configuration.
func Of[C, H any](def Def[C, H], cfg C) Entry {
	return Entry{Name: def.Name, Aggregates: def.Aggregates, Publishes: def.Publishes, start: func(ctx context.Context, h Host, env *env) (any, error) {
		if def.APIClient {
			return def.Register(ctx, clientDeps(h.Runtime, def.Name, h.DataDir, h.Clock, cfg))
		}
		aggs := withIntegrity(def.Aggregates)
		signer, err := h.Keys.signerFor(def.Name, aggs)
		if err != nil {
			return nil, err
		}
		conn := h.NATS
		if h.Dial != nil {
			if conn, err = h.Dial(ctx, def.Name); err != nil {
				return nil, fmt.Errorf("nats as %s: %w", def.Name, err)
			}
			h.Runtime.OnShutdown("nats-"+def.Name, func(context.Context) error { return conn.Close() })
		}
		store, err := eventstore.Open(ctx, conn.JS, eventstore.Options{
			Source: signer.Writer(), Aggregates: aggs, Replicas: h.Replicas, Clock: h.Clock,
			Signer: signer, Verifier: env.verifier,
		})
		if err != nil {
			return nil, fmt.Errorf("event store: %w", err)
		}
		if env.store == nil {
			env.store = store
		}
		h.Runtime.AddReadiness(def.Name+"-event-log", store.CheckStream)
		return def.Register(ctx, Deps[C]{
			Runtime: h.Runtime, NATS: conn, Store: store, Snapshots: env.snaps.SignedBy(signer), Clock: h.Clock,
			Signer: signer, Verifier: env.verifier,
			Log: h.Runtime.Log.With().Str("service", def.Name).Logger(), DataDir: h.DataDir, Replicas: h.Replicas, Embedded: h.Embedded, Config: cfg,
		})
	}}
}

// StartupWait bounds how long a starting service waits for the event log
// when NATS does not answer yet (a cluster electing its leaders after a
// restart) before it gives up.
const StartupWait = 2 * time.Minute

// awaitLog opens the event log stream (creating it when missing), waiting
// out NATS answering nothing or timing out — a cluster that is still
// electing leaders — for at most wait, and saying so in the log.
func awaitLog(ctx context.Context, h Host, wait time.Duration) (jetstream.Stream, error) {
	deadline := time.Now().Add(wait)
	for attempt := 1; ; attempt++ {
		stream, err := eventstore.EnsureStream(ctx, h.NATS.JS, eventstore.DefaultStream, max(h.Replicas, 1))
		if err == nil || ctx.Err() != nil || !natsx.Transient(err) || time.Now().After(deadline) {
			return stream, err
		}
		h.Runtime.Log.Warn().Err(err).Int("attempt", attempt).Msg("the event log does not answer yet (NATS recovering?); waiting")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Start starts entries in order on host and returns each one's handle by name.
func Start(ctx context.Context, h Host, entries ...Entry) (map[string]any, error) {
	if h.Runtime == nil || h.NATS == nil || h.Keys == nil {
		return nil, errors.New("service: a runtime, a NATS connection and keys are required")
	}
	if h.Clock == nil {
		h.Clock = time.Now
	}
	// Without a replica count, what the service creates is replicated as
	// the event log is (R3 when the admin created it from deploy/nats).
	stream, err := awaitLog(ctx, h, StartupWait)
	if err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	if h.Replicas <= 0 {
		h.Replicas = max(stream.CachedInfo().Config.Replicas, 1)
	}
	snaps, err := eventstore.OpenSnapshots(ctx, h.NATS.JS, h.Replicas)
	if err != nil {
		return nil, err
	}
	h.Runtime.SetLogPosition(func(ctx context.Context) (uint64, error) {
		st, err := h.NATS.JS.Stream(ctx, eventstore.DefaultStream)
		if err != nil {
			return 0, err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return 0, err
		}
		return info.State.LastSeq, nil
	})
	env := &env{snaps: snaps, verifier: eventstore.NewVerifier(h.NATS.JS, eventstore.DefaultStream, h.Keys.Trust)}
	out := map[string]any{}
	for _, e := range entries {
		handle, err := e.start(ctx, h, env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		out[e.Name] = handle
	}
	if env.store != nil {
		if err := startIntegrity(ctx, h, env, entries[0].Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// startIntegrity wires the process's tamper alarm and serves the IntegrityService.
func startIntegrity(ctx context.Context, h Host, env *env, writer string) error {
	rep, err := integrity.NewReporter(env.store, Writer(writer), h.Runtime.Metrics, h.Runtime.Log.With().Str("component", "integrity").Logger())
	if err != nil {
		return err
	}
	env.verifier.OnTamper(rep.Alarm)
	h.Runtime.Go("integrity-reporter", rep.Run)
	srv, err := integrity.NewServer(env.store, env.verifier, h.NATS.JS, eventstore.DefaultStream)
	if err != nil {
		return err
	}
	return h.Runtime.Register(&integrityv1.IntegrityService_ServiceDesc, srv, integrity.Rules())
}

// config is a single-service binary's configuration: the shared base and the service's own.
type config[C any] struct {
	runtime.Base
	Service C
}

// clientDeps are an API client's dependencies: the runtime, its logger, its configuration.
func clientDeps[C any](rt *runtime.Runtime, name, dataDir string, clock func() time.Time, cfg C) Deps[C] {
	return Deps[C]{Runtime: rt, Clock: clock, Log: rt.Log.With().Str("service", name).Logger(), DataDir: dataDir, Config: cfg}
}

// Run is a single-service binary: flags and environment → runtime → NATS →
// the service → serve until ctx ends (an API client: no NATS).
func Run[C, H any](ctx context.Context, def Def[C, H], version string, args []string) error {
	var cfg config[C]
	if def.APIClient {
		return runtime.RunClient(ctx, def.Name, version, args, &cfg, func(c *config[C]) runtime.Base { return c.Base },
			func(ctx context.Context, rt *runtime.Runtime, c *config[C]) error {
				_, err := def.Register(ctx, clientDeps(rt, def.Name, c.NATS.DataDir, nil, c.Service))
				return err
			})
	}
	entry := Of(def, cfg.Service)
	var nauth *natsx.DevAuth
	// On its own embedded NATS the binary is a development server: it
	// authenticates every connection (its own, its service's, a reader's
	// for subscribers) with nkeys kept in <data-dir>/nats-identities.
	prepare := func(nc *natsx.Config) error {
		if nc.URL != "" {
			return nil
		}
		a, err := natsx.LoadOrCreateDevAuth(filepath.Join(cfg.NATS.DataDir, "nats-identities"), filepath.Join(cfg.NATS.DataDir, "nats-reader.nk"), Grants(entry))
		if err != nil {
			return fmt.Errorf("nats identities: %w", err)
		}
		nauth, nc.Users, nc.Identity = a, a.Users, a.Host
		return nil
	}
	return runtime.RunService(ctx, def.Name, version, args, &cfg, func(c *config[C]) runtime.Base { return c.Base }, prepare,
		func(ctx context.Context, rt *runtime.Runtime, conn *natsx.Conn, c *config[C]) error {
			entry := Of(def, c.Service)
			keys, err := keysFor(c.Base, entry)
			if err != nil {
				return err
			}
			h := Host{Runtime: rt, NATS: conn, DataDir: c.NATS.DataDir, Keys: keys, Embedded: nauth != nil, Replicas: c.NATS.StreamReplicas()}
			if nauth != nil {
				h.Dial = func(ctx context.Context, name string) (*natsx.Conn, error) {
					return conn.Dial(ctx, nauth.Services[name], "floe-"+name)
				}
				rt.Log.Info().Str("nats", conn.ClientURL()).Str("reader_nkey", nauth.ReaderFile).Msg("embedded NATS requires authentication; event subscribers connect with the reader nkey")
			}
			_, err = Start(ctx, h, entry)
			return err
		})
}

// keysFor is a single-service binary's keys: from --signing-key and
// --trust-store, or, on its own embedded NATS (development), kept in
// <data-dir>/keys.
func keysFor(b runtime.Base, e Entry) (*Keys, error) {
	switch {
	case b.Signing.Key != "" || b.Signing.TrustStore != "":
		if b.Signing.Key == "" || b.Signing.TrustStore == "" {
			return nil, errors.New("--signing-key and --trust-store go together")
		}
		return FileKeys(e.Name, b.Signing.Key, b.Signing.TrustStore)
	case b.NATS.URL == "":
		return DevKeys(filepath.Join(b.NATS.DataDir, "keys"), Writers(e))
	}
	return nil, fmt.Errorf("--signing-key and --trust-store are required with --nats-url: every event %s writes is signed, and every event it reads is verified", e.Name)
}

// Main is the whole main function of a single-service binary.
func Main[C, H any](def Def[C, H], version string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := Run(ctx, def, version, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", def.Name, err)
		os.Exit(1)
	}
}
