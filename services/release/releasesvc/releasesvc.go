// Package releasesvc wires the release service into a runtime: event store,
// read model, deployment reactions and the gRPC API. The release binary and
// `floe dev` both use it.
package releasesvc

import (
	"context"
	"fmt"
	"os"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/adapters"
	"github.com/penguinmails/floe/services/release/internal/app"
	"github.com/penguinmails/floe/services/release/internal/domain"
	"github.com/penguinmails/floe/services/release/internal/ports"
)

// Config is the release service's own configuration.
type Config struct {
	EnvironmentsFile string `env:"FLOE_ENVIRONMENTS_FILE" flag:"environments-file" usage:"YAML file defining environments and promotion policy (default: the built-in dev → staging → production set with local, qa and dr; see docs)"`
}

// Environments loads the configured environments file, or the default.
func (c Config) Environments() (*domain.Environments, error) {
	if c.EnvironmentsFile == "" {
		return domain.DefaultEnvironments(), nil
	}
	data, err := os.ReadFile(c.EnvironmentsFile)
	if err != nil {
		return nil, fmt.Errorf("environments file: %w", err)
	}
	return domain.ParseEnvironments(data)
}

// DefaultEnvironmentsYAML is the built-in environments file (for `floe release envs --default`).
const DefaultEnvironmentsYAML = domain.DefaultEnvironmentsYAML

// Register adds the release service to rt: its gRPC API and its background
// subscriptions (the list read model and deployment reactions).
func Register(ctx context.Context, rt *runtime.Runtime, conn *natsx.Conn, cfg Config) error {
	envs, err := cfg.Environments()
	if err != nil {
		return err
	}
	store, err := eventstore.Open(ctx, conn.JS, eventstore.Options{
		Source: "floe/release", Aggregates: []string{app.AggRelease, app.AggProduct},
	})
	if err != nil {
		return fmt.Errorf("release event store: %w", err)
	}
	snaps, err := eventstore.OpenSnapshots(ctx, conn.JS, 1)
	if err != nil {
		return err
	}
	svc, err := app.New(store, snaps, envs, nil, nil)
	if err != nil {
		return err
	}
	views, err := adapters.OpenViews(ctx, conn.JS, svc)
	if err != nil {
		return err
	}
	srv, err := ports.NewServer(svc, views, rt.Authz, conn.NC)
	if err != nil {
		return err
	}
	if err := rt.Register(&releasev1.ReleaseService_ServiceDesc, srv, ports.Rules()); err != nil {
		return err
	}
	logErr := func(err error) { rt.Log.Error().Err(err).Msg("release service background work failed; retrying") }
	rt.Go("release-views", func(ctx context.Context) error {
		return views.Run(ctx, conn.JS, store.StreamName(), logErr)
	})
	rt.Go("release-deployments", func(ctx context.Context) error {
		return adapters.DeploymentReactor(ctx, conn.JS, store.StreamName(), svc, logErr)
	})
	rt.AddReadiness("event-log", store.CheckStream)
	return nil
}
