// Package gatesvc wires the gate service into a process: its gRPC API, the
// views of runs and definitions, the subscription that opens runs as
// releases are deployed, and the scheduler of deadlines. The gate binary and
// `floe dev` both start it through Service.
package gatesvc

import (
	"context"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/service"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	"github.com/penguinmails/floe/services/gate/internal/adapters"
	"github.com/penguinmails/floe/services/gate/internal/app"
	"github.com/penguinmails/floe/services/gate/internal/domain"
	"github.com/penguinmails/floe/services/gate/internal/ports"
)

// Service is the gate service: it owns the gate definitions and gate runs.
var Service = service.Def[Config, struct{}]{
	Name:       "gate",
	Aggregates: []string{domain.AggDefs, domain.AggRun},
	Register:   register,
}

func register(ctx context.Context, d service.Deps[Config]) (struct{}, error) {
	configured, err := d.Config.Definitions()
	if err != nil {
		return struct{}{}, err
	}
	// The release aggregates are read (verified), never written, by this service.
	releases, err := eventstore.Open(ctx, d.NATS.JS, eventstore.Options{
		Stream: d.Store.StreamName(), Source: "floe/gate", Aggregates: []string{"release"}, Verifier: d.Verifier, Replicas: d.Replicas,
	})
	if err != nil {
		return struct{}{}, err
	}
	svc, err := app.New(d.Store, releases, d.Snapshots, configured, d.Clock)
	if err != nil {
		return struct{}{}, err
	}
	differ, err := svc.Seed(causal.System(ctx, "gate", "", ""))
	if err != nil {
		return struct{}{}, err
	}
	for _, env := range differ {
		d.Log.Warn().Str("environment", env).Msg("the configured gate definitions differ from the log's; the log's apply (change them with floe gate define)")
	}
	logErr := func(err error) { d.Log.Error().Err(err).Msg("gate service background work failed; retrying") }
	opts := projection.Options{Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer}
	runs, err := adapters.NewRuns(ctx, d.NATS.JS, d.Store, opts)
	if err != nil {
		return struct{}{}, err
	}
	defs, err := adapters.NewDefinitions(ctx, d.NATS.JS, d.Store, opts)
	if err != nil {
		return struct{}{}, err
	}
	evidence, err := adapters.NewEvidence(ctx, d.NATS.JS, d.Replicas, d.Config.MaxReportBytes, "")
	if err != nil {
		return struct{}{}, err
	}
	srv, err := ports.NewServer(svc, runs, defs, evidence, d.Runtime.Authz)
	if err != nil {
		return struct{}{}, err
	}
	if err := d.Runtime.Register(&gatev1.GateService_ServiceDesc, srv, ports.Rules()); err != nil {
		return struct{}{}, err
	}
	d.Runtime.AddView(runs.Projection())
	d.Runtime.AddView(defs.Projection())
	d.Runtime.Go("gate-releases", func(ctx context.Context) error {
		return adapters.ReleaseReactor(ctx, d.NATS.JS, d.Store.StreamName(), d.Verifier, svc, logErr)
	})
	sched := &adapters.Scheduler{Runs: runs, Service: svc, Interval: d.Config.TickInterval, OnError: logErr}
	d.Runtime.Go("gate-deadlines", sched.Run)
	return struct{}{}, nil
}
