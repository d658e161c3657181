package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// flagdFlag is one flag in flagd's flag-definition JSON.
type flagdFlag struct {
	State          string                     `json:"state"`
	Variants       map[string]json.RawMessage `json:"variants"`
	DefaultVariant string                     `json:"defaultVariant"`
	Targeting      json.RawMessage            `json:"targeting,omitempty"`
	Metadata       map[string]any             `json:"metadata,omitempty"`
}

type flagdFile struct {
	Schema     string                     `json:"$schema,omitempty"`
	Flags      map[string]flagdFlag       `json:"flags"`
	Evaluators map[string]json.RawMessage `json:"$evaluators,omitempty"`
	Metadata   map[string]any             `json:"metadata,omitempty"`
}

// FlagdSchema is the JSON schema flagd's definitions name.
const FlagdSchema = "https://flagd.dev/schema/v0/flags.json"

// ScopeKey is the flag metadata key flagd providers report as the flag's scope.
const ScopeKey = "scope"

// ToFlagd is flags as a flagd flag-definition file. Each flag's metadata
// carries its log position ("floe.position") and environment, so an SDK's
// evaluation metadata names the version of the flag it evaluated, and its
// scope (the environment, unless the flag's metadata names another).
func ToFlagd(flags []*flagv1.Flag) ([]byte, error) {
	out := flagdFile{Schema: FlagdSchema, Flags: map[string]flagdFlag{}}
	for _, f := range flags {
		ff := flagdFlag{State: "ENABLED", Variants: map[string]json.RawMessage{}, DefaultVariant: f.GetDefaultVariant()}
		if f.GetState() == flagv1.FlagState_FLAG_STATE_DISABLED {
			ff.State = "DISABLED"
		}
		for name, v := range f.GetVariants() {
			b, err := protojson.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("flag %s variant %s: %w", f.GetKey(), name, err)
			}
			ff.Variants[name] = b
		}
		if t := f.GetTargeting(); t != "" {
			ff.Targeting = json.RawMessage(t)
		}
		ff.Metadata = f.GetMetadata().AsMap()
		if ff.Metadata == nil {
			ff.Metadata = map[string]any{}
		}
		ff.Metadata["floe.position"] = f.GetPosition()
		ff.Metadata["floe.environment"] = f.GetEnvironment()
		// flagd's in-process providers copy their selector into the
		// evaluation metadata as "scope" when a flag has none; Floe's
		// selector may carry a token, so every flag names its scope.
		if _, set := ff.Metadata[ScopeKey]; !set {
			ff.Metadata[ScopeKey] = f.GetEnvironment()
		}
		out.Flags[f.GetKey()] = ff
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FromFlagd reads a flagd flag-definition file (validated by the evaluator
// first) into Floe flags of env: `$ref`s to `$evaluators` are inlined into
// each flag's targeting (a Floe flag is self-contained), metadata other than
// Floe's own (and a scope that is the environment, which export adds) is kept.
func FromFlagd(data []byte, env string) ([]*flagv1.Flag, error) {
	var in flagdFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(in.Flags))
	for k := range in.Flags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []*flagv1.Flag
	for _, key := range keys {
		ff := in.Flags[key]
		f := &flagv1.Flag{Environment: env, Key: key, DefaultVariant: ff.DefaultVariant, Variants: map[string]*structpb.Value{}, State: flagv1.FlagState_FLAG_STATE_ENABLED}
		if strings.EqualFold(ff.State, "DISABLED") {
			f.State = flagv1.FlagState_FLAG_STATE_DISABLED
		}
		for name, raw := range ff.Variants {
			v := &structpb.Value{}
			if err := protojson.Unmarshal(raw, v); err != nil {
				return nil, fmt.Errorf("flags.%s.variants.%s: %w", key, name, err)
			}
			f.Variants[name] = v
		}
		if len(ff.Targeting) > 0 && string(ff.Targeting) != "null" {
			t, err := inlineRefs(ff.Targeting, in.Evaluators)
			if err != nil {
				return nil, fmt.Errorf("flags.%s.targeting: %w", key, err)
			}
			f.Targeting = t
		}
		meta := map[string]any{}
		for k, v := range ff.Metadata {
			if !strings.HasPrefix(k, "floe.") && (k != ScopeKey || v != env) {
				meta[k] = v
			}
		}
		if len(meta) > 0 {
			s, err := structpb.NewStruct(jsonNumbers(meta).(map[string]any))
			if err != nil {
				return nil, fmt.Errorf("flags.%s.metadata: %w", key, err)
			}
			f.Metadata = s
		}
		out = append(out, f)
	}
	return out, nil
}

// inlineRefs replaces every {"$ref": name} in targeting by the evaluator.
func inlineRefs(targeting json.RawMessage, evaluators map[string]json.RawMessage) (string, error) {
	var tree any
	dec := json.NewDecoder(bytes.NewReader(targeting))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return "", err
	}
	var walk func(v any, depth int) (any, error)
	walk = func(v any, depth int) (any, error) {
		if depth > 64 {
			return nil, fmt.Errorf("$ref nesting deeper than 64 (a cycle?)")
		}
		switch x := v.(type) {
		case map[string]any:
			if name, ok := x["$ref"].(string); ok && len(x) == 1 {
				raw, ok := evaluators[name]
				if !ok {
					return nil, fmt.Errorf("$ref %q names no evaluator", name)
				}
				var sub any
				d := json.NewDecoder(bytes.NewReader(raw))
				d.UseNumber()
				if err := d.Decode(&sub); err != nil {
					return nil, err
				}
				return walk(sub, depth+1)
			}
			for k, e := range x {
				w, err := walk(e, depth)
				if err != nil {
					return nil, err
				}
				x[k] = w
			}
		case []any:
			for i, e := range x {
				w, err := walk(e, depth)
				if err != nil {
					return nil, err
				}
				x[i] = w
			}
		}
		return v, nil
	}
	tree, err := walk(tree, 0)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tree); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

// jsonNumbers turns json.Numbers into float64 for structpb.
func jsonNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = jsonNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonNumbers(e)
		}
	}
	return v
}
