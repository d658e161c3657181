package domain

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Sample is one evaluation of a rule's PromQL at a point in time, produced
// outside this package. NoData is set when the query returned no series (or
// could not be evaluated); Value is then meaningless and is ignored.
//
// A Value of NaN (PromQL yields it for 0/0, e.g. an error ratio with no
// traffic) is treated as no data everywhere in this package: it is not a
// measurement, so it neither breaches nor clears a breach. Infinities are
// ordinary values (+Inf > 0.10 holds).
type Sample struct {
	At     time.Time `json:"at"`
	Value  float64   `json:"value"`
	NoData bool      `json:"no_data,omitempty"`
}

// Missing reports whether the sample carries no usable value: NoData, or a NaN.
func (s Sample) Missing() bool { return s.NoData || math.IsNaN(s.Value) }

// sampleJSON is Sample's wire form. Value is a JSON number when finite and a
// string ("NaN", "+Inf", "-Inf") otherwise, as encoding/json cannot encode
// non-finite floats; it is omitted when NoData is set.
type sampleJSON struct {
	At     time.Time       `json:"at"`
	Value  json.RawMessage `json:"value,omitempty"`
	NoData bool            `json:"no_data,omitempty"`
}

// MarshalJSON encodes a sample; non-finite values become strings so that
// states and verdicts holding samples always serialise.
func (s Sample) MarshalJSON() ([]byte, error) {
	w := sampleJSON{At: s.At, NoData: s.NoData}
	if !s.NoData {
		switch {
		case math.IsNaN(s.Value):
			w.Value = json.RawMessage(`"NaN"`)
		case math.IsInf(s.Value, 1):
			w.Value = json.RawMessage(`"+Inf"`)
		case math.IsInf(s.Value, -1):
			w.Value = json.RawMessage(`"-Inf"`)
		default:
			w.Value = json.RawMessage(strconv.FormatFloat(s.Value, 'g', -1, 64))
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON produces; value may be a number or
// one of the strings "NaN", "+Inf", "Inf", "-Inf" (or any number in a string,
// as the Prometheus HTTP API writes sample values).
func (s *Sample) UnmarshalJSON(b []byte) error {
	var w sampleJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := Sample{At: w.At, NoData: w.NoData}
	if len(w.Value) > 0 && string(w.Value) != "null" {
		var num float64
		if err := json.Unmarshal(w.Value, &num); err != nil {
			var str string
			if json.Unmarshal(w.Value, &str) != nil {
				return fmt.Errorf("sample value %s is neither a number nor a string", w.Value)
			}
			if num, err = strconv.ParseFloat(str, 64); err != nil {
				return fmt.Errorf("sample value %q is not a number", str)
			}
		}
		out.Value = num
	}
	*s = out
	return nil
}
