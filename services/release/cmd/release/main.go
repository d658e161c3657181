// Command release runs the Floe release service on its own (production).
// `floe dev` runs the same service in one process with the others.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type config struct {
	runtime.Base
	Release releasesvc.Config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	var cfg config
	err := runtime.RunService(ctx, "release", version, os.Args[1:], &cfg, func(c *config) runtime.Base { return c.Base },
		func(ctx context.Context, rt *runtime.Runtime, conn *natsx.Conn, c *config) error {
			return releasesvc.Register(ctx, rt, conn, c.Release)
		})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}
