package flagsvc

import (
	"context"
	"fmt"

	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/ports"
)

// registerConfig serves ConfigService and SecretService.
func registerConfig(ctx context.Context, d service.Deps[Config]) error {
	provider, name, err := secretsetup.Open(ctx, d.Config.Secrets, secretsetup.Host{
		JS: d.NATS.JS, Replicas: d.Replicas, Clock: d.Clock, DataDir: d.DataDir, Embedded: d.Embedded})
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	cfg, err := app.NewConfig(d.Store, d.Snapshots, d.Clock, provider, name)
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
	return d.Runtime.Register(&configv1.SecretService_ServiceDesc, srv, ports.SecretRules())
}
