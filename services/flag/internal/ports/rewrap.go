package ports

import (
	"context"

	"github.com/penguinmails/floe/libs/auth"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

// RewrapSecrets implements the RPC. Its rule asks for system.admin in some
// environment; a rewrap touches every environment's secrets, so it is
// required in each of them (an administrator of staging alone may not move
// production's keys).
func (s *ConfigServer) RewrapSecrets(ctx context.Context, req *configv1.RewrapSecretsRequest) (*configv1.RewrapSecretsResponse, error) {
	r, err := s.cfg.RewrapSecrets(ctx, req.GetReason(), req.GetDryRun(), func(env string) error {
		return s.authz.Require(ctx, auth.PermSystemAdmin, env)
	})
	if err != nil {
		return nil, err
	}
	out := &configv1.RewrapSecretsResponse{PrimaryKeyId: r.PrimaryKey, KeyUsage: r.KeyUsage}
	for _, v := range r.Rewrapped {
		out.Rewrapped = append(out.Rewrapped, &configv1.RewrappedSecretVersion{
			Environment: v.Environment, Name: v.Name, Version: v.Version, KeyId: v.KeyID, PreviousKeyId: v.PreviousKeyID,
		})
	}
	return out, nil
}
