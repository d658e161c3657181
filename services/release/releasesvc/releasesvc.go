// Package releasesvc wires the release service into a process: its gRPC
// API, the release view and the reactions to the deployer's events. The
// release binary and `floe dev` both start it through Service.
package releasesvc

import (
	"context"

	"github.com/penguinmails/floe/libs/envpolicy"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/service"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/changeview"
	"github.com/penguinmails/floe/services/release/internal/adapters"
	"github.com/penguinmails/floe/services/release/internal/app"
	"github.com/penguinmails/floe/services/release/internal/domain"
	"github.com/penguinmails/floe/services/release/internal/ports"
)

// Config is the release service's own configuration.
type Config struct {
	EnvironmentsFile string `env:"FLOE_ENVIRONMENTS_FILE" flag:"environments-file" usage:"YAML file defining environments and promotion policy (default: the built-in dev → staging → production set with local, qa and dr; see docs); give the flag service the same"`
}

// Environments loads the configured environments file, or the default.
func (c Config) Environments() (*domain.Environments, error) {
	return envpolicy.Load(c.EnvironmentsFile)
}

// DefaultEnvironmentsYAML is the built-in environments file (for `floe release envs --default`).
const DefaultEnvironmentsYAML = domain.DefaultEnvironmentsYAML

// Service is the release service: it owns the release and product aggregates.
var Service = service.Def[Config, struct{}]{
	Name:       "release",
	Aggregates: []string{app.AggRelease, app.AggProduct},
	Register:   register,
}

func register(ctx context.Context, d service.Deps[Config]) (struct{}, error) {
	envs, err := d.Config.Environments()
	if err != nil {
		return struct{}{}, err
	}
	logErr := func(err error) { d.Log.Error().Err(err).Msg("release service background work failed; retrying") }
	gates, err := adapters.NewGates(ctx, d.NATS.JS, d.Store, projection.Options{
		Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer,
	})
	if err != nil {
		return struct{}{}, err
	}
	// Change requests and the calendar, from the change service's events:
	// promotions are checked against them (freezes, windows, the change
	// that authorizes a promotion to an environment requiring one).
	changes, err := changeview.New(ctx, d.NATS.JS, "release_changes", d.Store, projection.Options{
		Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer,
	})
	if err != nil {
		return struct{}{}, err
	}
	svc, err := app.New(d.Store, d.Snapshots, envs, d.Clock, gates, changes)
	if err != nil {
		return struct{}{}, err
	}
	views, err := adapters.NewReleases(ctx, d.NATS.JS, d.Store, envs, d.Clock, projection.Options{
		Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer,
		OnPoison: func(p projection.Poison) {
			d.Log.Error().Uint64("seq", p.Seq).Str("subject", p.Subject).Str("error", p.Error).Msg("release view skipped an event it cannot apply")
		},
	})
	if err != nil {
		return struct{}{}, err
	}
	srv, err := ports.NewServer(svc, views, d.Runtime.Authz, d.NATS.NC)
	if err != nil {
		return struct{}{}, err
	}
	if err := d.Runtime.Register(&releasev1.ReleaseService_ServiceDesc, srv, ports.Rules()); err != nil {
		return struct{}{}, err
	}
	d.Runtime.AddView(views.Projection())
	d.Runtime.AddView(gates.Projection())
	d.Runtime.AddView(changes.Projection())
	d.Runtime.Go("release-deployments", func(ctx context.Context) error {
		return adapters.DeploymentReactor(ctx, d.NATS.JS, d.Store.StreamName(), d.Verifier, svc, logErr)
	})
	return struct{}{}, nil
}
