package domain

import (
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// FlagSetSchema names MarshalFlagSet's encoding (snapshots, view checkpoints).
const FlagSetSchema = "flagset/1"

type flagSetJSON struct {
	Environment string                                `json:"environment"`
	Version     uint64                                `json:"version"`
	Flags       map[string]json.RawMessage            `json:"flags"`
	Before      map[string]map[string]json.RawMessage `json:"before,omitempty"` // null: the release created the flag
}

// MarshalFlagSet encodes a flag set with everything its decisions need
// (what each release changed, for rollbacks).
func MarshalFlagSet(s *FlagSet) ([]byte, error) {
	out := flagSetJSON{Environment: s.Environment, Version: s.Version, Flags: map[string]json.RawMessage{}, Before: map[string]map[string]json.RawMessage{}}
	for k, f := range s.Flags {
		b, err := protojson.Marshal(f)
		if err != nil {
			return nil, err
		}
		out.Flags[k] = b
	}
	for k, byRelease := range s.before {
		out.Before[k] = map[string]json.RawMessage{}
		for r, f := range byRelease {
			b := json.RawMessage("null")
			if f != nil {
				var err error
				if b, err = protojson.Marshal(f); err != nil {
					return nil, err
				}
			}
			out.Before[k][r] = b
		}
	}
	return json.Marshal(out)
}

// UnmarshalFlagSet decodes MarshalFlagSet's encoding.
func UnmarshalFlagSet(b []byte) (*FlagSet, error) {
	var in flagSetJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	s := NewFlagSet(in.Environment)
	s.Version = in.Version
	for k, raw := range in.Flags {
		f := &flagv1.Flag{}
		if err := protojson.Unmarshal(raw, f); err != nil {
			return nil, err
		}
		s.Flags[k] = f
	}
	for k, byRelease := range in.Before {
		s.before[k] = map[string]*flagv1.Flag{}
		for r, raw := range byRelease {
			if string(raw) == "null" {
				s.before[k][r] = nil
				continue
			}
			f := &flagv1.Flag{}
			if err := protojson.Unmarshal(raw, f); err != nil {
				return nil, err
			}
			s.before[k][r] = f
		}
	}
	return s, nil
}
