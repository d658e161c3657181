package flageval

import (
	"bytes"
	"encoding/json"
)

// Export writes the set back as a flagd flag definition. Targeting rules
// keep their $refs and $evaluators are kept, so Parse(Export()) gives a set
// that evaluates identically. Fields flagd ignores (e.g. "$schema") are
// dropped. The output is indented, with object keys sorted.
func (s *Set) Export() ([]byte, error) {
	flags := make(map[string]any, len(s.flags))
	for key, f := range s.flags {
		m := map[string]any{
			"state":    f.state,
			"variants": f.variants,
		}
		if f.hasDefaultVariant {
			m["defaultVariant"] = f.defaultVariantRaw
		}
		if f.hasTargeting {
			m["targeting"] = f.targetingRaw
		}
		if f.flagMetadata != nil {
			m["metadata"] = f.flagMetadata
		}
		flags[key] = m
	}
	doc := map[string]any{"flags": flags}
	if s.evaluators != nil {
		doc["$evaluators"] = s.evaluators
	}
	if s.metadata != nil {
		doc["metadata"] = s.metadata
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
