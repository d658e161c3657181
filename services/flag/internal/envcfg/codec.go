package envcfg

import (
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

// Schemas of the encodings (snapshots, view checkpoints).
const (
	EnvConfigSchema = "envconfig/1"
	SecretSetSchema = "secretset/1"
)

type envConfigJSON struct {
	Environment string          `json:"environment"`
	Version     uint64          `json:"version"`
	Current     json.RawMessage `json:"current,omitempty"`
	Schema      json.RawMessage `json:"schema"`
	Pending     json.RawMessage `json:"pending,omitempty"`
	Proposals   uint64          `json:"proposals,omitempty"`
}

// MarshalEnvConfig encodes an environment's configuration.
func MarshalEnvConfig(c *EnvConfig) ([]byte, error) {
	out := envConfigJSON{Environment: c.Environment, Version: c.Version, Proposals: c.Proposals}
	var err error
	if c.Pending != nil {
		if out.Pending, err = protojson.Marshal(c.Pending); err != nil {
			return nil, err
		}
	}
	if c.Current != nil {
		if out.Current, err = protojson.Marshal(c.Current); err != nil {
			return nil, err
		}
	}
	if out.Schema, err = protojson.Marshal(c.Schema); err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// UnmarshalEnvConfig decodes MarshalEnvConfig's encoding.
func UnmarshalEnvConfig(b []byte) (*EnvConfig, error) {
	var in envConfigJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	c := NewEnvConfig(in.Environment)
	c.Version, c.Proposals = in.Version, in.Proposals
	if len(in.Pending) > 0 {
		c.Pending = &configv1.ConfigProposal{}
		if err := protojson.Unmarshal(in.Pending, c.Pending); err != nil {
			return nil, err
		}
	}
	if len(in.Current) > 0 {
		c.Current = &configv1.ConfigVersion{}
		if err := protojson.Unmarshal(in.Current, c.Current); err != nil {
			return nil, err
		}
	}
	if err := protojson.Unmarshal(in.Schema, c.Schema); err != nil {
		return nil, err
	}
	return c, nil
}

type secretSetJSON struct {
	Environment string                     `json:"environment"`
	Version     uint64                     `json:"version"`
	Secrets     map[string]json.RawMessage `json:"secrets"`
}

// MarshalSecretSet encodes an environment's secrets' metadata.
func MarshalSecretSet(s *SecretSet) ([]byte, error) {
	out := secretSetJSON{Environment: s.Environment, Version: s.Version, Secrets: map[string]json.RawMessage{}}
	for n, sec := range s.Secrets {
		b, err := protojson.Marshal(sec)
		if err != nil {
			return nil, err
		}
		out.Secrets[n] = b
	}
	return json.Marshal(out)
}

// UnmarshalSecretSet decodes MarshalSecretSet's encoding.
func UnmarshalSecretSet(b []byte) (*SecretSet, error) {
	var in secretSetJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	s := NewSecretSet(in.Environment)
	s.Version = in.Version
	for n, raw := range in.Secrets {
		sec := &configv1.Secret{}
		if err := protojson.Unmarshal(raw, sec); err != nil {
			return nil, err
		}
		s.Secrets[n] = sec
	}
	return s, nil
}

// CloneSecret is a copy of sec.
func CloneSecret(sec *configv1.Secret) *configv1.Secret { return proto.Clone(sec).(*configv1.Secret) }
