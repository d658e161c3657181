package flageval

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// normalizeAttributes returns attrs as flagd's targeting sees them: flagd
// JSON-encodes the evaluation context and decodes it again before running
// the rules. When attrs already holds only plain JSON values it is returned
// unchanged (no allocation); otherwise the same JSON round trip is done.
func normalizeAttributes(attrs map[string]any) (map[string]any, error) {
	if plainMap(attrs) {
		return attrs, nil
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return nil, fmt.Errorf("attributes cannot be encoded as JSON: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("attributes cannot be encoded as JSON: %w", err)
	}
	return out, nil
}

func plainMap(m map[string]any) bool {
	for k, v := range m {
		if !utf8.ValidString(k) || !plainValue(v) {
			return false
		}
	}
	return true
}

// plainValue reports whether v survives a JSON round trip unchanged.
func plainValue(v any) bool {
	switch x := v.(type) {
	case nil, bool:
		return true
	case string:
		return utf8.ValidString(x)
	case float64:
		return x == x && x-x == 0 // finite; NaN and ±Inf cannot be encoded
	case []any:
		for _, e := range x {
			if !plainValue(e) {
				return false
			}
		}
		return x != nil // a nil slice encodes as null
	case map[string]any:
		return x != nil && plainMap(x)
	}
	return false
}
