// Package flagsvc wires the flag service into a process: its gRPC API, the
// view of every environment's flag set, the scheduler of flag changes and
// the reaction to release rollbacks.
package flagsvc

import (
	"context"
	"time"

	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/service"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/flag/internal/adapters"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/domain"
	"github.com/penguinmails/floe/services/flag/internal/ports"
)

// Config is the flag service's own configuration.
type Config struct {
	TickInterval time.Duration `env:"FLOE_FLAG_TICK" flag:"flag-tick" default:"1s" usage:"how often the flag service looks for scheduled flag changes that are due"`
}

// Service is the flag service: it owns the environments' flag sets.
var Service = service.Def[Config, struct{}]{
	Name:       "flag",
	Aggregates: []string{domain.AggFlagSet},
	Register:   register,
}

func register(ctx context.Context, d service.Deps[Config]) (struct{}, error) {
	svc, err := app.New(d.Store, d.Snapshots, d.Clock)
	if err != nil {
		return struct{}{}, err
	}
	logErr := func(err error) { d.Log.Error().Err(err).Msg("flag service background work failed; retrying") }
	sets, err := adapters.NewFlagSets(ctx, d.NATS.JS, d.Store, projection.Options{
		Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer,
	})
	if err != nil {
		return struct{}{}, err
	}
	srv, err := ports.NewServer(svc, sets, d.Runtime.Authz)
	if err != nil {
		return struct{}{}, err
	}
	if err := d.Runtime.Register(&flagv1.FlagService_ServiceDesc, srv, ports.Rules()); err != nil {
		return struct{}{}, err
	}
	d.Runtime.AddView(sets.Projection())
	d.Runtime.Go("flag-releases", func(ctx context.Context) error {
		return adapters.ReleaseReactor(ctx, d.NATS.JS, d.Store.StreamName(), d.Verifier, svc, logErr)
	})
	sched := &adapters.Scheduler{Sets: sets, Service: svc, Interval: d.Config.TickInterval, OnError: logErr}
	d.Runtime.Go("flag-schedule", sched.Run)
	return struct{}{}, nil
}
