// Package demoapp is a small HTTP service for Floe's canary and rollback
// demos and end-to-end tests: the deployer's local driver runs one process
// per version behind a weighted reverse proxy, and a version can be made slow
// or failing by configuration. It runs as the `demoapp` command and as
// `floe demoapp` (so `floe dev` needs no second binary).
package demoapp

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Main parses the configuration from args and getenv and serves until ctx is
// done. A configuration error is a *UsageError (exit status 2).
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if err := run(ctx, cfg, stdout); err != nil {
		return fmt.Errorf("version %s: %w", cfg.Version, err)
	}
	return nil
}

// IsUsageError reports whether err is a configuration error.
func IsUsageError(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
}
