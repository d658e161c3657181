package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/configdoc"
	"github.com/penguinmails/floe/libs/envpolicy"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/secrets"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/internal/envcfg"
)

func metaOf(e *eventstore.RecordedEvent) envcfg.Meta {
	return envcfg.Meta{Actor: e.Actor, Time: e.Time, Position: e.Seq}
}

// EnvConfigKind describes an environment's configuration to the kernel and views.
var EnvConfigKind = kernel.Kind[*envcfg.EnvConfig]{
	Name: envcfg.AggEnvConfig,
	New:  envcfg.NewEnvConfig,
	Apply: func(c *envcfg.EnvConfig, e *eventstore.RecordedEvent) (*envcfg.EnvConfig, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		c.Apply(m, metaOf(e))
		return c, nil
	},
	Codec:         kernel.Codec[*envcfg.EnvConfig]{Schema: envcfg.EnvConfigSchema, Marshal: envcfg.MarshalEnvConfig, Unmarshal: envcfg.UnmarshalEnvConfig},
	SnapshotEvery: 50,
}

// SecretSetKind describes an environment's secrets' metadata to the kernel and views.
var SecretSetKind = kernel.Kind[*envcfg.SecretSet]{
	Name: envcfg.AggSecretSet,
	New:  envcfg.NewSecretSet,
	Apply: func(s *envcfg.SecretSet, e *eventstore.RecordedEvent) (*envcfg.SecretSet, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		s.Apply(m, metaOf(e))
		return s, nil
	},
	Codec:         kernel.Codec[*envcfg.SecretSet]{Schema: envcfg.SecretSetSchema, Marshal: envcfg.MarshalSecretSet, Unmarshal: envcfg.UnmarshalSecretSet},
	SnapshotEvery: 100,
}

// Config handles configuration and secret commands.
type Config struct {
	configs  *kernel.Handler[*envcfg.EnvConfig]
	secrets  *kernel.Handler[*envcfg.SecretSet]
	provider secrets.Provider
	name     string // the provider's name, recorded with each version
	rotators Rotators
	now      func() time.Time
	envs     *envpolicy.Environments

	mu         sync.Mutex
	validators map[string]*configdoc.Validator // by user-schema digest ("" = built-in only)
}

// NewConfig returns the configuration and secrets handler on store; the
// secrets' values go to provider (named providerName: "builtin" or "vault");
// envs is the environments' policy (the approvals configuration changes need).
func NewConfig(store eventstore.Store, snaps *eventstore.Snapshots, now func() time.Time, provider secrets.Provider, providerName string, envs *envpolicy.Environments) (*Config, error) {
	if store == nil || provider == nil || envs == nil {
		return nil, errors.New("config app: a store, a secrets provider and the environments' policy are required")
	}
	configs, err := kernel.New(store, EnvConfigKind, kernel.Options{Snapshots: snaps, Clock: now})
	if err != nil {
		return nil, err
	}
	secretSets, err := kernel.New(store, SecretSetKind, kernel.Options{Snapshots: snaps, Clock: now})
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Config{configs: configs, secrets: secretSets, provider: provider, name: providerName, now: now, envs: envs, validators: map[string]*configdoc.Validator{}}, nil
}

// validator is the environment's validator (compiled once per schema).
func (c *Config) validator(schema *configv1.ConfigSchema) (*configdoc.Validator, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.validators[schema.GetDigest()]; v != nil {
		return v, nil
	}
	v, err := configdoc.NewValidator([]byte(schema.GetSchema()))
	if err != nil {
		return nil, fmt.Errorf("the schema recorded for %s does not compile: %w", schema.GetEnvironment(), err)
	}
	if len(c.validators) > 64 {
		clear(c.validators)
	}
	c.validators[schema.GetDigest()] = v
	return v, nil
}

// parse reads a document sent in field.
func parse(field, text string) (configdoc.Document, error) {
	doc, err := configdoc.Parse([]byte(text))
	if err != nil {
		var v errs.Violations
		v.Merge(field, err)
		if v.Len() > 0 {
			return nil, v.Err()
		}
		return nil, err
	}
	return doc, nil
}

// Changed is what a configuration change made: a version, or (in an
// environment whose policy requires approvals) a pending proposal.
type Changed struct {
	Version  *configv1.ConfigVersion
	Proposal *configv1.ConfigProposal
}

// required is the number of approvals a change of env's configuration
// needs (0 for an environment the policy does not list).
func (c *Config) required(env string) uint32 {
	e, ok := c.envs.Get(env)
	if !ok || e.RequiredApprovals <= 0 {
		return 0
	}
	return uint32(e.RequiredApprovals)
}

// change runs one decision on env's configuration and returns its current
// version after, and the proposal the decision made, approved, applied or
// dropped.
func (c *Config) change(ctx context.Context, env string, decide func(*envcfg.EnvConfig, *configdoc.Validator) ([]proto.Message, error)) (Changed, error) {
	var out Changed
	origin, _ := causal.From(ctx)
	actor := origin.Actor
	_, err := c.configs.Execute(ctx, kernel.Command[*envcfg.EnvConfig]{
		ID: env,
		Decide: func(cfg *envcfg.EnvConfig) ([]proto.Message, error) {
			v, err := c.validator(cfg.Schema)
			if err != nil {
				return nil, err
			}
			msgs, err := decide(cfg, v)
			out.Proposal = envcfg.ProposalAfter(cfg, msgs, actor, c.now())
			return msgs, err
		},
		Observe: func(cfg *envcfg.EnvConfig) {
			if cfg.Current != nil {
				out.Version = proto.Clone(cfg.Current).(*configv1.ConfigVersion)
			}
		},
	})
	return out, err
}

// Set replaces env's document.
func (c *Config) Set(ctx context.Context, env, document, reason string, expected uint64) (Changed, error) {
	doc, err := parse("document", document)
	if err != nil {
		return Changed{}, err
	}
	return c.change(ctx, env, func(cfg *envcfg.EnvConfig, v *configdoc.Validator) ([]proto.Message, error) {
		return envcfg.Change(cfg, doc, v, reason, expected, envcfg.Origin{Source: configv1.ConfigSource_CONFIG_SOURCE_SET}, c.required(env))
	})
}

// Patch applies a JSON merge patch to env's current document.
func (c *Config) Patch(ctx context.Context, env, patch, reason string, expected uint64) (Changed, error) {
	p, err := parse("patch", patch)
	if err != nil {
		return Changed{}, err
	}
	return c.change(ctx, env, func(cfg *envcfg.EnvConfig, v *configdoc.Validator) ([]proto.Message, error) {
		cur, err := cfg.CurrentDocument()
		if err != nil {
			return nil, err
		}
		return envcfg.Change(cfg, configdoc.MergePatch(cur, p), v, reason, expected, envcfg.Origin{Source: configv1.ConfigSource_CONFIG_SOURCE_PATCH}, c.required(env))
	})
}

// Promote makes from (a version of another environment) the next version of env.
func (c *Config) Promote(ctx context.Context, from *configv1.ConfigVersion, env, reason string, expected uint64) (Changed, error) {
	doc, err := parse("from", from.GetDocument())
	if err != nil {
		return Changed{}, err
	}
	return c.change(ctx, env, func(cfg *envcfg.EnvConfig, v *configdoc.Validator) ([]proto.Message, error) {
		return envcfg.Change(cfg, doc, v, reason, expected, envcfg.Origin{
			Source: configv1.ConfigSource_CONFIG_SOURCE_PROMOTION, FromEnvironment: from.GetEnvironment(), FromVersion: from.GetVersion()}, c.required(env))
	})
}

// policy is env's policy (an environment the file does not list has no
// approver roles: nobody approves there).
func (c *Config) policy(env string) envpolicy.Environment {
	if e, ok := c.envs.Get(env); ok {
		return e
	}
	return envpolicy.Environment{Name: env}
}

// Approve approves env's pending proposal as the caller, who must hold one
// of the environment's approver roles there.
func (c *Config) Approve(ctx context.Context, env string, proposal uint64, comment string) (Changed, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return Changed{}, &errs.UnauthenticatedError{Message: "no authenticated principal"}
	}
	roles, err := c.policy(env).ApproverRolesOf(p, PermConfigApprove)
	if err != nil {
		return Changed{}, err
	}
	return c.change(ctx, env, func(cfg *envcfg.EnvConfig, v *configdoc.Validator) ([]proto.Message, error) {
		return envcfg.Approve(cfg, proposal, p.ID, roles, comment, c.required(env), v)
	})
}

// Reject drops env's pending proposal: by a holder of an approver role
// there, or by its proposer (a withdrawal).
func (c *Config) Reject(ctx context.Context, env string, proposal uint64, reason string) (*configv1.ConfigProposal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &errs.UnauthenticatedError{Message: "no authenticated principal"}
	}
	_, roleErr := c.policy(env).ApproverRolesOf(p, PermConfigApprove)
	out, err := c.change(ctx, env, func(cfg *envcfg.EnvConfig, _ *configdoc.Validator) ([]proto.Message, error) {
		msgs, err := envcfg.Reject(cfg, proposal, p.ID, roleErr == nil, reason)
		var denied *errs.PermissionDeniedError
		if errors.As(err, &denied) && roleErr != nil {
			return nil, roleErr // it says which roles approve there
		}
		return msgs, err
	})
	return out.Proposal, err
}

// PermConfigApprove names the duty of approving configuration changes in
// refusals; holding an approver role of the environment's policy grants it.
const PermConfigApprove auth.Permission = "config.approve"

// SetSchema sets (or, empty, clears) env's JSON Schema.
func (c *Config) SetSchema(ctx context.Context, env, schema, reason string) (*configv1.ConfigSchema, error) {
	if len(schema) > configdoc.MaxSize {
		return nil, &errs.TooLargeError{Field: "schema", Size: len(schema), Limit: configdoc.MaxSize}
	}
	v, err := configdoc.NewValidator([]byte(schema))
	if err != nil {
		return nil, err
	}
	var out *configv1.ConfigSchema
	_, err = c.configs.Execute(ctx, kernel.Command[*envcfg.EnvConfig]{
		ID:      env,
		Decide:  func(cfg *envcfg.EnvConfig) ([]proto.Message, error) { return envcfg.SetSchema(cfg, schema, v, reason) },
		Observe: func(cfg *envcfg.EnvConfig) { out = proto.Clone(cfg.Schema).(*configv1.ConfigSchema) },
	})
	return out, err
}

// storeName is a secret's name in the provider: its environment's
// directory. Environments are identifiers; secret names are lower-case, so
// an environment with upper-case letters keeps no secrets.
func storeName(env, name string) (string, error) {
	if strings.ToLower(env) != env {
		return "", errs.Invalid("environment", "%q: secrets are kept for lower-case environment names only", env)
	}
	return env + "/" + name, nil
}

// PutSecret stores a new version of a secret in the provider, then records
// its metadata. When the record fails the stored version is destroyed, so a
// value exists only when the log says so.
func (c *Config) PutSecret(ctx context.Context, env, name string, value secrets.Value, reason, description string) (*configv1.Secret, *configv1.SecretVersion, error) {
	if err := envcfg.CheckPut(name, reason, description, value.Len()); err != nil {
		return nil, nil, err
	}
	sn, err := storeName(env, name)
	if err != nil {
		return nil, nil, err
	}
	ver, err := c.provider.Put(ctx, sn, value)
	if err != nil {
		return nil, nil, err
	}
	var out *configv1.Secret
	_, err = c.secrets.Execute(ctx, kernel.Command[*envcfg.SecretSet]{
		ID: env,
		Decide: func(s *envcfg.SecretSet) ([]proto.Message, error) {
			return envcfg.AddVersion(s, name, ver, c.name, reason, description)
		},
		Observe: func(s *envcfg.SecretSet) {
			if sec := s.Secrets[name]; sec != nil {
				out = envcfg.CloneSecret(sec)
			}
		},
	})
	if err != nil {
		if derr := c.provider.Destroy(context.WithoutCancel(ctx), sn, ver.Number); derr != nil && !secrets.IsNotFound(derr) {
			return nil, nil, fmt.Errorf("%w (and the stored version %d of %s could not be destroyed: %v)", err, ver.Number, name, derr)
		}
		return nil, nil, err
	}
	for _, v := range out.GetVersions() {
		if v.GetVersion() == ver.Number {
			return out, v, nil
		}
	}
	return nil, nil, errors.New("config app: the secret version is not in the set after its append")
}

// RevokeSecret destroys a version in the provider, then records it. A
// record that fails after the destruction is appended by a retry.
func (c *Config) RevokeSecret(ctx context.Context, env, name string, version uint64, reason string) (*configv1.Secret, error) {
	sn, err := storeName(env, name)
	if err != nil {
		return nil, err
	}
	// Refuse what the decision would refuse before destroying anything.
	if err := c.secrets.Read(ctx, env, func(s *envcfg.SecretSet, _ eventstore.Version, _ uint64) error {
		_, err := envcfg.Revoke(s, name, version, reason)
		return err
	}); err != nil {
		return nil, err
	}
	if err := c.provider.Destroy(ctx, sn, version); err != nil && !secrets.IsNotFound(err) {
		return nil, err
	}
	var out *configv1.Secret
	_, err = c.secrets.Execute(ctx, kernel.Command[*envcfg.SecretSet]{
		ID:      env,
		Decide:  func(s *envcfg.SecretSet) ([]proto.Message, error) { return envcfg.Revoke(s, name, version, reason) },
		Observe: func(s *envcfg.SecretSet) { out = envcfg.CloneSecret(s.Secrets[name]) },
	})
	return out, err
}

// Secrets reads env's secrets' metadata.
func (c *Config) Secrets(ctx context.Context, env string) (*envcfg.SecretSet, error) {
	var out *envcfg.SecretSet
	err := c.secrets.Read(ctx, env, func(s *envcfg.SecretSet, _ eventstore.Version, _ uint64) error {
		b, err := envcfg.MarshalSecretSet(s)
		if err != nil {
			return err
		}
		out, err = envcfg.UnmarshalSecretSet(b)
		return err
	})
	return out, err
}

// Pending is env's pending proposal (nil: none).
func (c *Config) Pending(ctx context.Context, env string) (*configv1.ConfigProposal, error) {
	var out *configv1.ConfigProposal
	err := c.configs.Read(ctx, env, func(cfg *envcfg.EnvConfig, _ eventstore.Version, _ uint64) error {
		if cfg.Pending != nil {
			out = proto.CloneOf(cfg.Pending)
		}
		return nil
	})
	return out, err
}

// Current is env's current configuration version (nil when none) and schema.
func (c *Config) Current(ctx context.Context, env string) (*configv1.ConfigVersion, *configv1.ConfigSchema, error) {
	var cur *configv1.ConfigVersion
	var schema *configv1.ConfigSchema
	err := c.configs.Read(ctx, env, func(cfg *envcfg.EnvConfig, _ eventstore.Version, _ uint64) error {
		if cfg.Current != nil {
			cur = proto.Clone(cfg.Current).(*configv1.ConfigVersion)
		}
		schema = proto.Clone(cfg.Schema).(*configv1.ConfigSchema)
		return nil
	})
	return cur, schema, err
}

// Versions is every version of env's configuration, oldest first, read
// from the log (configuration changes are few; no view keeps documents).
func (c *Config) Versions(ctx context.Context, env string) ([]*configv1.ConfigVersion, error) {
	_, events, err := c.configs.Replay(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []*configv1.ConfigVersion
	for _, e := range events {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		if ev, ok := m.(*configv1.ConfigVersionSet); ok {
			out = append(out, envcfg.VersionOf(env, ev, metaOf(e)))
		}
	}
	return out, nil
}

// Version is version n of env's configuration (0: the current one).
func (c *Config) Version(ctx context.Context, env string, n uint64) (*configv1.ConfigVersion, error) {
	if n == 0 {
		cur, _, err := c.Current(ctx, env)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, &errs.NotFoundError{Kind: "configuration", ID: env}
		}
		return cur, nil
	}
	all, err := c.Versions(ctx, env)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(all)) || all[n-1].GetVersion() != n {
		return nil, &errs.NotFoundError{Kind: "configuration version", ID: fmt.Sprintf("%s@%d", env, n)}
	}
	return all[n-1], nil
}

// SetRotation sets (or, nil, removes) a secret's rotation policy.
func (c *Config) SetRotation(ctx context.Context, env, name string, p *configv1.RotationPolicy, reason string) (*configv1.Secret, error) {
	var out *configv1.Secret
	_, err := c.secrets.Execute(ctx, kernel.Command[*envcfg.SecretSet]{
		ID: env,
		Decide: func(s *envcfg.SecretSet) ([]proto.Message, error) {
			return envcfg.SetRotation(s, name, p, reason, c.now())
		},
		Observe: func(s *envcfg.SecretSet) { out = envcfg.CloneSecret(s.Secrets[name]) },
	})
	return out, err
}

// Rotate rotates a secret now with its rotator: a new version, the previous
// one live for the policy's grace. A rotator that fails is recorded
// (SecretRotationFailed, an alert) and retried by the scheduler.
func (c *Config) Rotate(ctx context.Context, env, name, reason string) (*configv1.Secret, *configv1.SecretVersion, error) {
	sn, err := storeName(env, name)
	if err != nil {
		return nil, nil, err
	}
	var sec *configv1.Secret
	var attempts uint32
	if err := c.secrets.Read(ctx, env, func(s *envcfg.SecretSet, _ eventstore.Version, _ uint64) error {
		if s.Secrets[name] == nil {
			return &errs.NotFoundError{Kind: "secret", ID: name}
		}
		sec, attempts = envcfg.CloneSecret(s.Secrets[name]), envcfg.Attempts(s, name)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	value, err := c.rotators.Run(ctx, env, sec)
	if err != nil {
		if errs.IsClientError(err) {
			return nil, nil, err
		}
		if _, ferr := c.secrets.Execute(ctx, kernel.Command[*envcfg.SecretSet]{ID: env, Decide: func(s *envcfg.SecretSet) ([]proto.Message, error) {
			return envcfg.RotationFailed(s, name, err.Error(), attempts, c.now()), nil
		}}); ferr != nil {
			return nil, nil, fmt.Errorf("%w (and recording the failure failed: %v)", err, ferr)
		}
		return nil, nil, &errs.UnavailableError{What: "the rotator of " + name, Err: err}
	}
	defer value.Wipe()
	ver, err := c.provider.Put(ctx, sn, value)
	if err != nil {
		return nil, nil, err
	}
	var out *configv1.Secret
	_, err = c.secrets.Execute(ctx, kernel.Command[*envcfg.SecretSet]{
		ID: env,
		Decide: func(s *envcfg.SecretSet) ([]proto.Message, error) {
			return envcfg.Rotated(s, name, ver, c.name, reason, c.now())
		},
		Observe: func(s *envcfg.SecretSet) { out = envcfg.CloneSecret(s.Secrets[name]) },
	})
	if err != nil {
		if derr := c.provider.Destroy(context.WithoutCancel(ctx), sn, ver.Number); derr != nil && !secrets.IsNotFound(derr) {
			return nil, nil, fmt.Errorf("%w (and the stored version %d of %s could not be destroyed: %v)", err, ver.Number, name, derr)
		}
		return nil, nil, err
	}
	for _, v := range out.GetVersions() {
		if v.GetVersion() == ver.Number {
			return out, v, nil
		}
	}
	return nil, nil, errors.New("config app: the rotated version is not in the set after its append")
}

// TickSecrets does what is due in env's secrets: rotations by their
// rotators, revocations of versions whose grace ended, overdue reports. Two
// instances may both act: each decision is made on the current state, so a
// revocation or a report is recorded once; a rotation that raced another
// adds a version (harmless: the newest is the one delivered).
func (c *Config) TickSecrets(ctx context.Context, env string) error {
	var work envcfg.Work
	if err := c.secrets.Read(ctx, env, func(s *envcfg.SecretSet, _ eventstore.Version, _ uint64) error {
		work = envcfg.Due(s, c.now())
		return nil
	}); err != nil {
		return err
	}
	var failed []error
	for name, versions := range work.Expired {
		for _, v := range versions {
			if _, err := c.RevokeSecret(ctx, env, name, v, "the grace period after its rotation ended"); err != nil {
				failed = append(failed, fmt.Errorf("revoke %s@%d: %w", name, v, err))
			}
		}
	}
	for _, name := range work.Rotate {
		if _, _, err := c.Rotate(ctx, env, name, "scheduled rotation"); err != nil {
			failed = append(failed, fmt.Errorf("rotate %s: %w", name, err))
		}
	}
	if len(work.Overdue) > 0 {
		if _, err := c.secrets.Execute(ctx, kernel.Command[*envcfg.SecretSet]{ID: env, Decide: func(s *envcfg.SecretSet) ([]proto.Message, error) {
			return envcfg.Due(s, c.now()).Overdue, nil
		}}); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}
