// Command monitor runs the Floe monitor on its own (production). `floe dev`
// runs the same service with the others.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type config struct {
	runtime.Base
	Monitor monitorsvc.Config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	var cfg config
	err := runtime.RunService(ctx, "monitor", version, os.Args[1:], &cfg, func(c *config) runtime.Base { return c.Base },
		func(ctx context.Context, rt *runtime.Runtime, conn *natsx.Conn, c *config) error {
			file, err := monitorsvc.Load(c.Monitor.File, monitorsvc.File{})
			if err != nil {
				return err
			}
			return monitorsvc.Register(ctx, rt, conn, c.Base.NATS.DataDir, file)
		})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		os.Exit(1)
	}
}
