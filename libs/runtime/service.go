package runtime

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/penguinmails/floe/libs/natsx"
)

// RunService is the body of a Floe service binary's main: it binds flags
// and environment variables to cfg (a struct embedding Base, returned by
// base), builds the runtime, connects to NATS (embedded on the data
// directory when no URL is given), lets register add the service, and runs
// until ctx is cancelled. Every error says where it happened.
func RunService[C any](ctx context.Context, name, version string, args []string, cfg *C, base func(*C) Base,
	prepare func(nc *natsx.Config) error, register func(ctx context.Context, rt *Runtime, conn *natsx.Conn, cfg *C) error) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	if err := BindFlags(fs, cfg); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	b := base(cfg)
	rt, err := New(ctx, Options{Service: name, Version: version, Config: b})
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	ncfg := natsx.Config{
		URL: b.NATS.URL, CredsFile: b.NATS.Creds, DataDir: filepath.Join(b.NATS.DataDir, "nats"), Listen: b.NATS.Listen,
		SyncAlways: b.NATS.SyncAlways, Name: "floe-" + name,
	}
	if prepare != nil {
		if err := prepare(&ncfg); err != nil {
			return err
		}
	}
	conn, err := natsx.Connect(ctx, ncfg)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	rt.OnShutdown("nats", func(context.Context) error { return conn.Close() })
	if err := register(ctx, rt, conn, cfg); err != nil {
		_ = conn.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return rt.Run(ctx)
}

// RunClient is RunService for a service that is only a client of the
// others' APIs (the console): the same flags and runtime, no NATS.
func RunClient[C any](ctx context.Context, name, version string, args []string, cfg *C, base func(*C) Base,
	register func(ctx context.Context, rt *Runtime, cfg *C) error) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	if err := BindFlags(fs, cfg); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rt, err := New(ctx, Options{Service: name, Version: version, Config: base(cfg)})
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	if err := register(ctx, rt, cfg); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return rt.Run(ctx)
}
