// Package envcfg holds the rules of what an environment runs with besides
// its flags, pure Go: its configuration (one "envconfig" aggregate per
// environment: versioned documents and the JSON Schema they must satisfy)
// and its secrets' metadata (one "secretset" aggregate per environment: the
// versions of each secret, never a value).
package envcfg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/configdoc"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/leakscan"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Aggregate kinds.
const (
	AggEnvConfig = "envconfig"
	AggSecretSet = "secretset"
)

// MaxReason bounds a reason's length.
const MaxReason = 1000

// Meta is what the envelope says of an event.
type Meta struct {
	Actor    string
	Time     time.Time
	Position uint64
}

// EnvConfig is an environment's configuration: its current version and
// the user's schema. Earlier versions are in the log (and the view).
type EnvConfig struct {
	Environment string
	Version     uint64 // the aggregate's version (events applied)
	Current     *configv1.ConfigVersion
	Schema      *configv1.ConfigSchema
	// Pending is the proposal awaiting approvals (nil: none); Proposals
	// counts the proposals made.
	Pending   *configv1.ConfigProposal
	Proposals uint64
}

// NewEnvConfig is an environment's configuration before any event.
func NewEnvConfig(env string) *EnvConfig {
	return &EnvConfig{Environment: env, Schema: &configv1.ConfigSchema{Environment: env}}
}

// Apply folds one event.
func (c *EnvConfig) Apply(e proto.Message, m Meta) {
	c.Version++
	switch ev := e.(type) {
	case *configv1.ConfigVersionSet:
		c.Current = VersionOf(c.Environment, ev, m)
		if c.Pending != nil && ev.GetProposal() == c.Pending.GetProposal() {
			c.Pending = nil
		}
	case *configv1.ConfigSchemaSet:
		c.Schema = &configv1.ConfigSchema{Environment: c.Environment, Schema: ev.GetSchema(), Digest: ev.GetDigest(),
			Actor: m.Actor, Time: timestamppb.New(m.Time), Position: m.Position}
	default:
		c.applyProposal(e, m)
	}
}

// VersionOf is the configuration version an event records.
func VersionOf(env string, ev *configv1.ConfigVersionSet, m Meta) *configv1.ConfigVersion {
	return &configv1.ConfigVersion{
		Environment: env, Version: ev.GetVersion(), Document: ev.GetDocument(), Digest: ev.GetDigest(), Reason: ev.GetReason(),
		Actor: m.Actor, Time: timestamppb.New(m.Time), Position: m.Position, Source: configv1.ConfigSource(ev.GetSource()),
		FromEnvironment: ev.GetFromEnvironment(), FromVersion: ev.GetFromVersion(), SchemaDigest: ev.GetSchemaDigest(),
		Proposal: ev.GetProposal(), Approvers: ev.GetApprovers(),
	}
}

// CurrentVersion is the number of the current version (0 when none).
func (c *EnvConfig) CurrentVersion() uint64 { return c.Current.GetVersion() }

// CurrentDocument is the current document (an empty one when none).
func (c *EnvConfig) CurrentDocument() (configdoc.Document, error) {
	if c.Current == nil {
		return configdoc.Document{}, nil
	}
	return configdoc.Parse([]byte(c.Current.GetDocument()))
}

// Origin says where a new version comes from.
type Origin struct {
	Source          configv1.ConfigSource
	FromEnvironment string
	FromVersion     uint64
}

// SetDocument decides a new version holding doc, which v (the environment's
// validator: the built-in schema and the user's) has not yet checked.
// expected, when non-zero, must be the current version. A document equal to
// the current one makes no version (nil, nil).
func SetDocument(c *EnvConfig, doc configdoc.Document, v *configdoc.Validator, reason string, expected uint64, o Origin) ([]proto.Message, error) {
	var vs errs.Violations
	checkReason(&vs, reason)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	if expected != 0 && expected != c.CurrentVersion() {
		return nil, &errs.ConflictError{Message: fmt.Sprintf("the configuration of %s is at version %d, not %d: read it again and retry", c.Environment, c.CurrentVersion(), expected)}
	}
	if err := v.Validate(doc); err != nil {
		var vs errs.Violations
		vs.Merge("document", err) // the problems are at their paths in the document
		return nil, vs.Err()
	}
	digest := configdoc.Digest(doc)
	if c.Current != nil && c.Current.GetDigest() == digest {
		return nil, nil
	}
	return []proto.Message{&configv1.ConfigVersionSet{
		Version: c.CurrentVersion() + 1, Document: string(configdoc.Canonical(doc)), Digest: digest, Reason: reason,
		Source: int32(o.Source), FromEnvironment: o.FromEnvironment, FromVersion: o.FromVersion, SchemaDigest: c.Schema.GetDigest(),
	}}, nil
}

// SetSchema decides a new user schema (empty: none), compiled as v; the
// current document must satisfy it.
func SetSchema(c *EnvConfig, schema string, v *configdoc.Validator, reason string) ([]proto.Message, error) {
	var vs errs.Violations
	checkReason(&vs, reason)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	digest := ""
	if schema != "" {
		sum := sha256.Sum256([]byte(schema))
		digest = "sha256:" + hex.EncodeToString(sum[:])
	}
	if digest == c.Schema.GetDigest() {
		return nil, nil
	}
	doc, err := c.CurrentDocument()
	if err != nil {
		return nil, err
	}
	if c.Current != nil {
		if err := v.Validate(doc); err != nil {
			return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
				"the current configuration of %s (version %d) does not satisfy the new schema: %v", c.Environment, c.CurrentVersion(), err)
		}
	}
	return []proto.Message{&configv1.ConfigSchemaSet{Schema: schema, Digest: digest, Reason: reason}}, nil
}

func checkReason(v *errs.Violations, reason string) {
	switch {
	case reason == "":
		v.Add("reason", "is required: say why the configuration changes")
	case len(reason) > MaxReason:
		v.Add("reason", "is longer than %d bytes", MaxReason)
	default:
		checkNoSecret(v, "reason", reason)
	}
}

// checkNoSecret refuses text that holds something secret-looking: it would
// be recorded in the log for good.
func checkNoSecret(v *errs.Violations, field, text string) {
	for _, f := range leakscan.Scan(text) {
		v.Add(field, "%s; %s", f.Description, f.Hint)
	}
}
