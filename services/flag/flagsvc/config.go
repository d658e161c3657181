package flagsvc

import (
	"context"
	"fmt"

	"github.com/penguinmails/floe/libs/envpolicy"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/internal/adapters"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/ports"
)

// registerConfig serves ConfigService and SecretService.
func registerConfig(ctx context.Context, d service.Deps[Config], logErr func(error)) error {
	provider, name, err := secretsetup.Open(ctx, d.Config.Secrets, secretsetup.Host{
		JS: d.NATS.JS, Replicas: d.Replicas, Clock: d.Clock, DataDir: d.DataDir, Embedded: d.Embedded})
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	envs, err := envpolicy.Load(d.Config.EnvironmentsFile)
	if err != nil {
		return err
	}
	cfg, err := app.NewConfig(d.Store, d.Snapshots, d.Clock, provider, name, envs)
	if err != nil {
		return err
	}
	srv, err := ports.NewConfigServer(cfg, d.Runtime.Authz)
	if err != nil {
		return err
	}
	if err := d.Runtime.Register(&configv1.ConfigService_ServiceDesc, srv, ports.ConfigRules()); err != nil {
		return err
	}
	if err := d.Runtime.Register(&configv1.SecretService_ServiceDesc, srv, ports.SecretRules()); err != nil {
		return err
	}
	schedule, err := adapters.NewSecretSchedule(ctx, d.NATS.JS, projection.Options{
		Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer,
	})
	if err != nil {
		return err
	}
	d.Runtime.AddView(schedule.Projection())
	sched := &adapters.SecretScheduler{View: schedule, Config: cfg, Now: d.Clock, Interval: d.Config.TickInterval, OnError: logErr}
	d.Runtime.Go("secret-schedule", sched.Run)
	return nil
}
