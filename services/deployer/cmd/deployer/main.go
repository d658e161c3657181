// Command deployer runs the Floe deployer on its own (production, and the
// kill-and-resume test). `floe dev` runs the same service with the others.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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
	var cfg config
	err := runtime.RunService(ctx, "deployer", version, os.Args[1:], &cfg, func(c *config) runtime.Base { return c.Base },
		func(ctx context.Context, rt *runtime.Runtime, conn *natsx.Conn, c *config) error {
			file, err := deployersvc.Load(c.Deployer.File, deployersvc.File{})
			if err != nil {
				return err
			}
			_, err = deployersvc.Register(ctx, rt, conn, file)
			return err
		})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployer:", err)
		os.Exit(1)
	}
}
