// Command deployer runs the Floe deployer on its own (production, and the
// kill-and-resume test). `floe dev` runs the same service with the others.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type config struct {
	runtime.Base
	Deployer deployersvc.Config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployer:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	var cfg config
	fs := pflag.NewFlagSet("deployer", pflag.ContinueOnError)
	if err := runtime.BindFlags(fs, &cfg); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	file, err := deployersvc.Load(cfg.Deployer.File, deployersvc.File{})
	if err != nil {
		return err
	}
	rt, err := runtime.New(ctx, runtime.Options{Service: "deployer", Version: version, Config: cfg.Base})
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	conn, err := natsx.Connect(ctx, natsx.Config{
		URL: cfg.NATS.URL, CredsFile: cfg.NATS.Creds, DataDir: filepath.Join(cfg.NATS.DataDir, "nats"), Listen: cfg.NATS.Listen,
		SyncAlways: cfg.NATS.SyncAlways, Name: "floe-deployer",
	})
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	rt.OnShutdown("nats", func(context.Context) error { return conn.Close() })
	if err := deployersvc.Register(ctx, rt, conn, file); err != nil {
		_ = conn.Close()
		return fmt.Errorf("deployer: %w", err)
	}
	return rt.Run(ctx)
}
