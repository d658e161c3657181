package ports

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/configdoc"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/secrets"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/internal/app"
)

// Permissions of the configuration and secret services.
const (
	PermConfigRead  auth.Permission = "config.read"
	PermConfigWrite auth.Permission = "config.write"
	PermSecretRead  auth.Permission = "secret.read"
	PermSecretWrite auth.Permission = "secret.write"
)

// MaxSecretValue bounds a secret's value.
const MaxSecretValue = 64 << 10

// ConfigRules are the authorization rules of ConfigService.
func ConfigRules() auth.Rules {
	r := auth.Rules{}
	for m, p := range map[string]auth.Permission{
		configv1.ConfigService_SetConfig_FullMethodName:          PermConfigWrite,
		configv1.ConfigService_PatchConfig_FullMethodName:        PermConfigWrite,
		configv1.ConfigService_GetConfig_FullMethodName:          PermConfigRead,
		configv1.ConfigService_ListConfigVersions_FullMethodName: PermConfigRead,
		configv1.ConfigService_DiffConfig_FullMethodName:         PermConfigRead,
		configv1.ConfigService_PromoteConfig_FullMethodName:      PermConfigWrite,
		configv1.ConfigService_SetConfigSchema_FullMethodName:    PermConfigWrite,
		configv1.ConfigService_GetConfigSchema_FullMethodName:    PermConfigRead,
		// The approver role is checked against the environment's policy.
		configv1.ConfigService_ApproveConfigChange_FullMethodName: PermConfigRead,
		configv1.ConfigService_RejectConfigChange_FullMethodName:  PermConfigRead,
	} {
		r[m] = auth.Rule{Permission: p}
	}
	return r
}

// SecretRules are the authorization rules of SecretService.
func SecretRules() auth.Rules {
	r := auth.Rules{}
	for m, p := range map[string]auth.Permission{
		configv1.SecretService_PutSecret_FullMethodName:           PermSecretWrite,
		configv1.SecretService_GetSecret_FullMethodName:           PermSecretRead,
		configv1.SecretService_ListSecrets_FullMethodName:         PermSecretRead,
		configv1.SecretService_RevokeSecretVersion_FullMethodName: PermSecretWrite,
		configv1.SecretService_SetRotationPolicy_FullMethodName:   PermSecretWrite,
		configv1.SecretService_RotateSecret_FullMethodName:        PermSecretWrite,
		configv1.SecretService_RewrapSecrets_FullMethodName:       auth.PermSystemAdmin,
	} {
		r[m] = auth.Rule{Permission: p}
	}
	return r
}

// ConfigServer implements configv1.ConfigServiceServer and configv1.SecretServiceServer.
type ConfigServer struct {
	configv1.UnimplementedConfigServiceServer
	configv1.UnimplementedSecretServiceServer
	cfg   *app.Config
	authz *auth.Authorizer
}

// NewConfigServer wires the server; every dependency is required.
func NewConfigServer(cfg *app.Config, authz *auth.Authorizer) (*ConfigServer, error) {
	if cfg == nil || authz == nil {
		return nil, errors.New("config server: every dependency is required")
	}
	return &ConfigServer{cfg: cfg, authz: authz}, nil
}

// in checks the environment field and the permission there.
func (s *ConfigServer) in(ctx context.Context, perm auth.Permission, field, env string) error {
	var v errs.Violations
	ident.Check(&v, field, env)
	if err := v.Err(); err != nil {
		return err
	}
	return s.authz.Require(ctx, perm, env)
}

func tooLarge(field, text string) error {
	if len(text) > configdoc.MaxSize {
		return &errs.TooLargeError{Field: field, Size: len(text), Limit: configdoc.MaxSize}
	}
	return nil
}

// SetConfig implements the RPC.
func (s *ConfigServer) SetConfig(ctx context.Context, req *configv1.SetConfigRequest) (*configv1.SetConfigResponse, error) {
	if err := s.in(ctx, PermConfigWrite, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	if err := tooLarge("document", req.GetDocument()); err != nil {
		return nil, err
	}
	ch, err := s.cfg.Set(ctx, req.GetEnvironment(), req.GetDocument(), req.GetReason(), req.GetExpectedVersion())
	if err != nil {
		return nil, err
	}
	return &configv1.SetConfigResponse{Config: ch.Version, Proposal: s.withChanges(ctx, ch.Proposal)}, nil
}

// PatchConfig implements the RPC.
func (s *ConfigServer) PatchConfig(ctx context.Context, req *configv1.PatchConfigRequest) (*configv1.PatchConfigResponse, error) {
	if err := s.in(ctx, PermConfigWrite, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	if err := tooLarge("patch", req.GetPatch()); err != nil {
		return nil, err
	}
	ch, err := s.cfg.Patch(ctx, req.GetEnvironment(), req.GetPatch(), req.GetReason(), req.GetExpectedVersion())
	if err != nil {
		return nil, err
	}
	return &configv1.PatchConfigResponse{Config: ch.Version, Proposal: s.withChanges(ctx, ch.Proposal)}, nil
}

// GetConfig implements the RPC.
func (s *ConfigServer) GetConfig(ctx context.Context, req *configv1.GetConfigRequest) (*configv1.GetConfigResponse, error) {
	if err := s.in(ctx, PermConfigRead, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	pending, err := s.cfg.Pending(ctx, req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	v, err := s.cfg.Version(ctx, req.GetEnvironment(), req.GetVersion())
	var nf *errs.NotFoundError
	if errors.As(err, &nf) && req.GetVersion() == 0 && pending != nil {
		err = nil // no version yet, the first one proposed
	}
	if err != nil {
		return nil, err
	}
	return &configv1.GetConfigResponse{Config: v, Pending: s.withChanges(ctx, pending)}, nil
}

// ApproveConfigChange implements the RPC (the approver role is checked by
// the application, against the environment's policy).
func (s *ConfigServer) ApproveConfigChange(ctx context.Context, req *configv1.ApproveConfigChangeRequest) (*configv1.ApproveConfigChangeResponse, error) {
	if err := s.in(ctx, PermConfigRead, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	ch, err := s.cfg.Approve(ctx, req.GetEnvironment(), req.GetProposal(), req.GetComment())
	if err != nil {
		return nil, err
	}
	out := &configv1.ApproveConfigChangeResponse{Proposal: s.withChanges(ctx, ch.Proposal)}
	if ch.Proposal.GetStatus() == configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_APPLIED {
		out.Config = ch.Version
	}
	return out, nil
}

// RejectConfigChange implements the RPC.
func (s *ConfigServer) RejectConfigChange(ctx context.Context, req *configv1.RejectConfigChangeRequest) (*configv1.RejectConfigChangeResponse, error) {
	if err := s.in(ctx, PermConfigRead, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	p, err := s.cfg.Reject(ctx, req.GetEnvironment(), req.GetProposal(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &configv1.RejectConfigChangeResponse{Proposal: s.withChanges(ctx, p)}, nil
}

// withChanges fills in what a proposal changes from its base version (a
// diff the reader would otherwise ask for).
func (s *ConfigServer) withChanges(ctx context.Context, p *configv1.ConfigProposal) *configv1.ConfigProposal {
	if p == nil {
		return nil
	}
	base := configdoc.Document{}
	if p.GetBaseVersion() > 0 {
		v, err := s.cfg.Version(ctx, p.GetEnvironment(), p.GetBaseVersion())
		if err != nil {
			return p
		}
		if base, err = configdoc.Parse([]byte(v.GetDocument())); err != nil {
			return p
		}
	}
	doc, err := configdoc.Parse([]byte(p.GetDocument()))
	if err != nil {
		return p
	}
	p.Changes = protoChanges(configdoc.Diff(base, doc))
	return p
}

// ListConfigVersions implements the RPC: newest first; the page token is
// the version to continue below.
func (s *ConfigServer) ListConfigVersions(ctx context.Context, req *configv1.ListConfigVersionsRequest) (*configv1.ListConfigVersionsResponse, error) {
	if err := s.in(ctx, PermConfigRead, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = 20
	case size > 200:
		size = 200
	}
	all, err := s.cfg.Versions(ctx, req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	below := uint64(len(all)) + 1
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.ParseUint(t, 10, 64)
		if err != nil || n == 0 {
			return nil, errs.Invalid("page_token", "is not a token this RPC returned")
		}
		below = n
	}
	out := &configv1.ListConfigVersionsResponse{}
	for i := len(all) - 1; i >= 0 && len(out.Versions) < size; i-- {
		if all[i].GetVersion() >= below {
			continue
		}
		v := all[i]
		v.Document = ""
		out.Versions = append(out.Versions, v)
	}
	if n := len(out.Versions); n == size && out.Versions[n-1].GetVersion() > 1 {
		out.NextPageToken = strconv.FormatUint(out.Versions[n-1].GetVersion(), 10)
	}
	return out, nil
}

// side is one side of a diff: a version, or an empty document for an
// environment that has none yet.
func (s *ConfigServer) side(ctx context.Context, field string, ref *configv1.ConfigRef) (*configv1.ConfigVersion, configdoc.Document, error) {
	if err := s.in(ctx, PermConfigRead, field+".environment", ref.GetEnvironment()); err != nil {
		return nil, nil, err
	}
	v, err := s.cfg.Version(ctx, ref.GetEnvironment(), ref.GetVersion())
	var nf *errs.NotFoundError
	if errors.As(err, &nf) && ref.GetVersion() == 0 {
		return &configv1.ConfigVersion{Environment: ref.GetEnvironment()}, configdoc.Document{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	doc, err := configdoc.Parse([]byte(v.GetDocument()))
	return v, doc, err
}

// DiffConfig implements the RPC.
func (s *ConfigServer) DiffConfig(ctx context.Context, req *configv1.DiffConfigRequest) (*configv1.DiffConfigResponse, error) {
	from, a, err := s.side(ctx, "from", req.GetFrom())
	if err != nil {
		return nil, err
	}
	to, b, err := s.side(ctx, "to", req.GetTo())
	if err != nil {
		return nil, err
	}
	changes := configdoc.Diff(a, b)
	return &configv1.DiffConfigResponse{From: from, To: to, Text: configdoc.Format(changes), Changes: protoChanges(changes)}, nil
}

func protoChanges(changes []configdoc.Change) []*configv1.ConfigChange {
	var out []*configv1.ConfigChange
	for _, c := range changes {
		out = append(out, &configv1.ConfigChange{Path: c.Path, Kind: changeKind(c.Kind), Old: jsonValue(c.Old), New: jsonValue(c.New)})
	}
	return out
}

func changeKind(k configdoc.ChangeKind) configv1.ConfigChangeKind {
	switch k {
	case configdoc.Added:
		return configv1.ConfigChangeKind_CONFIG_CHANGE_KIND_ADDED
	case configdoc.Removed:
		return configv1.ConfigChangeKind_CONFIG_CHANGE_KIND_REMOVED
	}
	return configv1.ConfigChangeKind_CONFIG_CHANGE_KIND_CHANGED
}

// jsonValue is a document value (nil when absent) as a protobuf Value.
func jsonValue(v any) *structpb.Value {
	if v == nil {
		return nil
	}
	var plain any
	if json.Unmarshal([]byte(configdoc.CanonicalJSON(v)), &plain) != nil {
		return nil
	}
	out, err := structpb.NewValue(plain)
	if err != nil {
		return nil
	}
	return out
}

// PromoteConfig implements the RPC.
func (s *ConfigServer) PromoteConfig(ctx context.Context, req *configv1.PromoteConfigRequest) (*configv1.PromoteConfigResponse, error) {
	if err := s.in(ctx, PermConfigRead, "from.environment", req.GetFrom().GetEnvironment()); err != nil {
		return nil, err
	}
	if err := s.in(ctx, PermConfigWrite, "to_environment", req.GetToEnvironment()); err != nil {
		return nil, err
	}
	if req.GetFrom().GetEnvironment() == req.GetToEnvironment() {
		return nil, errs.Invalid("to_environment", "is the environment the version comes from")
	}
	from, err := s.cfg.Version(ctx, req.GetFrom().GetEnvironment(), req.GetFrom().GetVersion())
	if err != nil {
		return nil, err
	}
	ch, err := s.cfg.Promote(ctx, from, req.GetToEnvironment(), req.GetReason(), req.GetExpectedVersion())
	if err != nil {
		return nil, err
	}
	return &configv1.PromoteConfigResponse{Config: ch.Version, Proposal: s.withChanges(ctx, ch.Proposal)}, nil
}

// SetConfigSchema implements the RPC.
func (s *ConfigServer) SetConfigSchema(ctx context.Context, req *configv1.SetConfigSchemaRequest) (*configv1.SetConfigSchemaResponse, error) {
	if err := s.in(ctx, PermConfigWrite, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	sc, err := s.cfg.SetSchema(ctx, req.GetEnvironment(), req.GetSchema(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &configv1.SetConfigSchemaResponse{Schema: sc}, nil
}

// GetConfigSchema implements the RPC.
func (s *ConfigServer) GetConfigSchema(ctx context.Context, req *configv1.GetConfigSchemaRequest) (*configv1.GetConfigSchemaResponse, error) {
	if err := s.in(ctx, PermConfigRead, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	_, sc, err := s.cfg.Current(ctx, req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return &configv1.GetConfigSchemaResponse{Schema: sc, Builtin: string(configdoc.BuiltinSchema())}, nil
}

// PutSecret implements the RPC. The value is copied into a secrets.Value
// and the request's bytes are wiped.
func (s *ConfigServer) PutSecret(ctx context.Context, req *configv1.PutSecretRequest) (*configv1.PutSecretResponse, error) {
	raw := req.GetValue()
	defer clear(raw)
	if err := s.in(ctx, PermSecretWrite, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	if len(raw) > MaxSecretValue {
		return nil, &errs.TooLargeError{Field: "value", Size: len(raw), Limit: MaxSecretValue}
	}
	value := secrets.NewValue(raw)
	defer value.Wipe()
	sec, ver, err := s.cfg.PutSecret(ctx, req.GetEnvironment(), req.GetName(), value, req.GetReason(), req.GetDescription())
	if err != nil {
		return nil, err
	}
	return &configv1.PutSecretResponse{Secret: sec, Version: ver}, nil
}

// GetSecret implements the RPC.
func (s *ConfigServer) GetSecret(ctx context.Context, req *configv1.GetSecretRequest) (*configv1.GetSecretResponse, error) {
	if err := s.in(ctx, PermSecretRead, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	set, err := s.cfg.Secrets(ctx, req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	sec := set.Secrets[req.GetName()]
	if sec == nil {
		var v errs.Violations
		if !secrets.CheckName(&v, "name", req.GetName()) {
			return nil, v.Err()
		}
		return nil, &errs.NotFoundError{Kind: "secret", ID: req.GetName()}
	}
	return &configv1.GetSecretResponse{Secret: sec}, nil
}

// ListSecrets implements the RPC.
func (s *ConfigServer) ListSecrets(ctx context.Context, req *configv1.ListSecretsRequest) (*configv1.ListSecretsResponse, error) {
	if err := s.in(ctx, PermSecretRead, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	set, err := s.cfg.Secrets(ctx, req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	out := &configv1.ListSecretsResponse{}
	for _, n := range set.Names() {
		out.Secrets = append(out.Secrets, set.Secrets[n])
	}
	return out, nil
}

// RevokeSecretVersion implements the RPC.
func (s *ConfigServer) RevokeSecretVersion(ctx context.Context, req *configv1.RevokeSecretVersionRequest) (*configv1.RevokeSecretVersionResponse, error) {
	if err := s.in(ctx, PermSecretWrite, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	var v errs.Violations
	secrets.CheckName(&v, "name", req.GetName())
	if req.GetVersion() == 0 {
		v.Add("version", "is required (versions start at 1)")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sec, err := s.cfg.RevokeSecret(ctx, req.GetEnvironment(), req.GetName(), req.GetVersion(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &configv1.RevokeSecretVersionResponse{Secret: sec}, nil
}

// SetRotationPolicy implements the RPC.
func (s *ConfigServer) SetRotationPolicy(ctx context.Context, req *configv1.SetRotationPolicyRequest) (*configv1.SetRotationPolicyResponse, error) {
	if err := s.in(ctx, PermSecretWrite, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	var v errs.Violations
	if !secrets.CheckName(&v, "name", req.GetName()) {
		return nil, v.Err()
	}
	sec, err := s.cfg.SetRotation(ctx, req.GetEnvironment(), req.GetName(), req.GetPolicy(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &configv1.SetRotationPolicyResponse{Secret: sec}, nil
}

// RotateSecret implements the RPC.
func (s *ConfigServer) RotateSecret(ctx context.Context, req *configv1.RotateSecretRequest) (*configv1.RotateSecretResponse, error) {
	if err := s.in(ctx, PermSecretWrite, "environment", req.GetEnvironment()); err != nil {
		return nil, err
	}
	var v errs.Violations
	secrets.CheckName(&v, "name", req.GetName())
	if req.GetReason() == "" {
		v.Add("reason", "is required: say why the secret is rotated now")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sec, ver, err := s.cfg.Rotate(ctx, req.GetEnvironment(), req.GetName(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &configv1.RotateSecretResponse{Secret: sec, Version: ver}, nil
}
