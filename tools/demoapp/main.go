// Command demoapp is a small HTTP service for Floe's canary and rollback demos
// and end-to-end tests. The deployer's local driver runs one process per
// version behind a weighted reverse proxy; a version can be made slow or
// failing by configuration. Run `demoapp -h` for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "demoapp:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// realMain parses the configuration and serves until ctx is done.
func realMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if err := run(ctx, cfg, stdout); err != nil {
		return fmt.Errorf("version %s: %w", cfg.Version, err)
	}
	return nil
}
