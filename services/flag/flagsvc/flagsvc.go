// Package flagsvc wires the flag service into a process: its gRPC API,
// flagd's sync protocol and OFREP over HTTP, the view of every
// environment's flag set, the scheduler of flag changes and the reaction to
// release rollbacks.
package flagsvc

import (
	"context"
	"time"

	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	syncv1 "github.com/penguinmails/floe/proto/gen/flagd/sync/v1"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/flag/internal/adapters"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/domain"
	"github.com/penguinmails/floe/services/flag/internal/envcfg"
	"github.com/penguinmails/floe/services/flag/internal/ports"
)

// Config is the flag service's configuration: its own options and the
// environments file it shares with the release service.
type Config struct {
	Options
	EnvironmentsFile string `env:"FLOE_ENVIRONMENTS_FILE" flag:"environments-file" usage:"YAML file defining environments and their policy, the release service's (default: the built-in set); configuration changes need the approvals it requires"`
}

// Options are the flag service's own settings.
type Options struct {
	TickInterval time.Duration `env:"FLOE_FLAG_TICK" flag:"flag-tick" default:"1s" usage:"how often the flag service looks for scheduled flag changes that are due"`
	OFREPAddr    string        `env:"FLOE_OFREP_ADDR" flag:"ofrep-addr" default:"127.0.0.1:7402" usage:"HTTP listen address of the OpenFeature Remote Evaluation Protocol (OFREP) endpoint; empty serves none (port 0 picks a free port)"`
	Secrets      secretsetup.Config
}

// Flag is the running flag service's handle.
type Flag struct {
	// OFREPAddr is the bound address of the OFREP endpoint ("" when disabled).
	OFREPAddr string
}

// Service is the flag service: it owns the environments' flag sets.
var Service = service.Def[Config, *Flag]{
	Name:       "flag",
	Aggregates: []string{domain.AggFlagSet, envcfg.AggEnvConfig, envcfg.AggSecretSet},
	// It keeps (flag) or delivers (deployer) secrets: the only services that may use their bucket.
	Publishes: []string{natsx.SecretsAccess},
	Register:  register,
}

func register(ctx context.Context, d service.Deps[Config]) (*Flag, error) {
	svc, err := app.New(d.Store, d.Snapshots, d.Clock)
	if err != nil {
		return nil, err
	}
	logErr := func(err error) { d.Log.Error().Err(err).Msg("flag service background work failed; retrying") }
	sets, err := adapters.NewFlagSets(ctx, d.NATS.JS, d.Store, projection.Options{
		Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer,
	})
	if err != nil {
		return nil, err
	}
	srv, err := ports.NewServer(svc, sets, d.Runtime.Authz)
	if err != nil {
		return nil, err
	}
	if err := d.Runtime.Register(&flagv1.FlagService_ServiceDesc, srv, ports.Rules()); err != nil {
		return nil, err
	}
	fsync, err := ports.NewFlagSync(sets, d.Runtime.Authenticator(), d.Runtime.Authz)
	if err != nil {
		return nil, err
	}
	if err := d.Runtime.Register(&syncv1.FlagSyncService_ServiceDesc, fsync, ports.SyncRules()); err != nil {
		return nil, err
	}
	d.Runtime.AddView(sets.Projection())
	d.Runtime.Go("flag-releases", func(ctx context.Context) error {
		return adapters.ReleaseReactor(ctx, d.NATS.JS, d.Store.StreamName(), d.Verifier, svc, logErr)
	})
	sched := &adapters.Scheduler{Sets: sets, Service: svc, Interval: d.Config.TickInterval, OnError: logErr}
	d.Runtime.Go("flag-schedule", sched.Run)
	if err := registerConfig(ctx, d, logErr); err != nil {
		return nil, err
	}
	h := &Flag{}
	if d.Config.OFREPAddr != "" {
		ofrep, err := ports.NewOFREP(sets, d.Runtime.Authenticator(), d.Runtime.Authz, d.Clock)
		if err != nil {
			return nil, err
		}
		if h.OFREPAddr, err = service.ServeHTTP(d.Runtime, "ofrep", d.Config.OFREPAddr, ofrep.Handler()); err != nil {
			return nil, err
		}
	}
	return h, nil
}
