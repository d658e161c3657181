// Command demoapp is a small HTTP service for Floe's canary and rollback demos
// and end-to-end tests (see tools/internal/demoapp). Run `demoapp -h` for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/penguinmails/floe/tools/internal/demoapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := demoapp.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "demoapp:", err)
		if demoapp.IsUsageError(err) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
