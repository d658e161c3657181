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
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
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
	// Snapshots is the shared snapshot bucket.
	Snapshots *eventstore.Snapshots
	// Clock is the time (tests fix it).
	Clock func() time.Time
	// Log is the process's logger with service=<name>.
	Log zerolog.Logger
	// DataDir is where the service may keep local state (may be empty).
	DataDir string
	// Replicas is the replication of streams and buckets the service creates (1 embedded, 3 in production).
	Replicas int
	// Config is the service's own configuration.
	Config C
}

// Def describes a service module to the processes that host it.
type Def[C, H any] struct {
	// Name is the service's name: its event source is floe/<name>, its binary <name>.
	Name string
	// Aggregates are the aggregate kinds the service owns: the only ones its store appends to.
	Aggregates []string
	// Register adds the service to d.Runtime and returns a handle for its host (or the zero H).
	Register func(ctx context.Context, d Deps[C]) (H, error)
}

// Host is what a process gives every service it starts.
type Host struct {
	Runtime  *runtime.Runtime
	NATS     *natsx.Conn
	DataDir  string
	Clock    func() time.Time
	Replicas int
}

// Entry is a Def with its configuration, ready to start.
type Entry struct {
	Name  string
	start func(ctx context.Context, h Host, snaps *eventstore.Snapshots) (any, error)
}

// Of pairs def with its configuration.
func Of[C, H any](def Def[C, H], cfg C) Entry {
	return Entry{Name: def.Name, start: func(ctx context.Context, h Host, snaps *eventstore.Snapshots) (any, error) {
		store, err := eventstore.Open(ctx, h.NATS.JS, eventstore.Options{
			Source: "floe/" + def.Name, Aggregates: def.Aggregates, Replicas: h.Replicas, Clock: h.Clock,
		})
		if err != nil {
			return nil, fmt.Errorf("event store: %w", err)
		}
		h.Runtime.AddReadiness(def.Name+"-event-log", store.CheckStream)
		return def.Register(ctx, Deps[C]{
			Runtime: h.Runtime, NATS: h.NATS, Store: store, Snapshots: snaps, Clock: h.Clock,
			Log: h.Runtime.Log.With().Str("service", def.Name).Logger(), DataDir: h.DataDir, Replicas: h.Replicas, Config: cfg,
		})
	}}
}

// Start starts entries in order on host and returns each one's handle by name.
func Start(ctx context.Context, h Host, entries ...Entry) (map[string]any, error) {
	if h.Runtime == nil || h.NATS == nil {
		return nil, errors.New("service: a runtime and a NATS connection are required")
	}
	if h.Clock == nil {
		h.Clock = time.Now
	}
	if h.Replicas <= 0 {
		h.Replicas = 1
	}
	if _, err := eventstore.EnsureStream(ctx, h.NATS.JS, eventstore.DefaultStream, h.Replicas); err != nil {
		return nil, fmt.Errorf("event log: %w", err)
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
	out := map[string]any{}
	for _, e := range entries {
		handle, err := e.start(ctx, h, snaps)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		out[e.Name] = handle
	}
	return out, nil
}

// config is a single-service binary's configuration: the shared base and the service's own.
type config[C any] struct {
	runtime.Base
	Service C
}

// Run is a single-service binary: flags and environment → runtime → NATS →
// the service → serve until ctx ends.
func Run[C, H any](ctx context.Context, def Def[C, H], version string, args []string) error {
	var cfg config[C]
	return runtime.RunService(ctx, def.Name, version, args, &cfg, func(c *config[C]) runtime.Base { return c.Base },
		func(ctx context.Context, rt *runtime.Runtime, conn *natsx.Conn, c *config[C]) error {
			_, err := Start(ctx, Host{Runtime: rt, NATS: conn, DataDir: c.NATS.DataDir}, Of(def, c.Service))
			return err
		})
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
