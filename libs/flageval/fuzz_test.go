package flageval

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	validReasons = map[string]bool{ReasonStatic: true, ReasonDefault: true, ReasonTargetingMatch: true, ReasonDisabled: true, ReasonError: true}
	validCodes   = map[string]bool{"": true, ErrFlagNotFound: true, ErrParse: true, ErrTypeMismatch: true, ErrGeneral: true, ErrInvalidContext: true, ErrTargetingKeyMissing: true}
)

// checkResult verifies the invariants of an evaluation result.
func checkResult(t *testing.T, s *Set, key string, r Result) {
	t.Helper()
	if strings.Contains(r.ErrorMessage, "internal error") {
		t.Fatalf("%s: %s", key, r.ErrorMessage)
	}
	if !validReasons[r.Reason] || !validCodes[r.ErrorCode] {
		t.Fatalf("%s: reason %q, error code %q", key, r.Reason, r.ErrorCode)
	}
	if (r.ErrorCode != "") != (r.Reason == ReasonError) {
		t.Fatalf("%s: reason %q with error code %q", key, r.Reason, r.ErrorCode)
	}
	f, ok := s.Flag(key)
	if !ok {
		if r.ErrorCode != ErrFlagNotFound {
			t.Fatalf("%s: missing flag gave %+v", key, r)
		}
		return
	}
	if r.Variant != "" {
		v, ok := f.Variant(r.Variant)
		if !ok || !reflect.DeepEqual(v, r.Value) {
			t.Fatalf("%s: variant %q with value %#v", key, r.Variant, r.Value)
		}
	} else if r.Value != nil {
		t.Fatalf("%s: value without variant: %+v", key, r)
	}
}

func fuzzSeedDefinitions(f *testing.F) {
	if b, err := os.ReadFile("testdata/golden/flags.json"); err == nil {
		f.Add(b)
	}
	for _, c := range loadOpCases(f) {
		rule, _ := json.Marshal(c.Rule)
		f.Add([]byte(`{"flags": {"f": {"state": "ENABLED", "variants": {"a": "A", "b": "B", "true": "T", "false": "F"}, "defaultVariant": "a", "targeting": ` + string(rule) + `}}}`))
	}
	for _, d := range []string{
		`{}`, `[]`, `null`, `{"flags": []}`, `{"flags": {"": {}}}`,
		`{"$evaluators": {"a": {"$ref": "a"}}, "flags": {"f": {"state": "ENABLED", "variants": {"x": 1}, "targeting": {"$ref": "a"}}}}`,
		`{"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on", "targeting": {"fractional": [["on", -1], ["off", 1e300]]}}}}`,
		`{"flags": {"f": {"state": "DISABLED", "variants": {"on": {"a": [1, {"b": null}]}}, "metadata": {"x": 1}}}, "metadata": {"y": "z"}}`,
	} {
		f.Add([]byte(d))
	}
}

// FuzzParse: Parse never panics; it fails with a *DefinitionError listing
// problems, or returns a Set whose flags evaluate without internal errors
// and which survives Export/Parse unchanged.
func FuzzParse(f *testing.F) {
	fuzzSeedDefinitions(f)
	ctxs := []Context{
		{},
		{TargetingKey: "user-1", Attributes: map[string]any{"email": "a@b.c", "n": 3.0, "tier": "gold", "version": "1.2.3", "color": "a"}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			var de *DefinitionError
			if !errors.As(err, &de) || len(de.Problems) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			for _, p := range de.Problems {
				if p.Message == "" {
					t.Fatalf("empty problem message at %q", p.Path)
				}
			}
			return
		}
		out, err := s.Export()
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("exported definition refused: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(s.Keys(), s2.Keys()) {
			t.Fatalf("keys changed on round trip")
		}
		for _, key := range s.Keys() {
			for _, c := range ctxs {
				c.Now = time.Unix(1700000000, 0)
				r := s.Evaluate(key, c)
				checkResult(t, s, key, r)
				if r2 := s2.Evaluate(key, c); !reflect.DeepEqual(r, r2) {
					t.Fatalf("%s: %+v after round trip, %+v before", key, r2, r)
				}
			}
		}
	})
}

// FuzzEvaluate: evaluating the golden flag set (every operator, fractional,
// $refs) for fuzzed targeting keys and attributes, and evaluating a fuzzed
// rule as flagd would run it, never panics, gives only OpenFeature reasons
// and error codes, and Explain agrees with Evaluate.
func FuzzEvaluate(f *testing.F) {
	def, err := os.ReadFile("testdata/golden/flags.json")
	if err != nil {
		f.Fatal(err)
	}
	s, err := Parse(def)
	if err != nil {
		f.Fatal(err)
	}
	g, _ := loadGolden(f)
	for i, c := range g.Contexts {
		if i%20 != 0 {
			continue
		}
		tk, _ := c["targetingKey"].(string)
		delete(c, "targetingKey")
		b, _ := json.Marshal(c)
		f.Add(tk, b, []byte(`{"var": "email"}`))
	}
	for _, c := range loadOpCases(f) {
		data, _ := json.Marshal(c.Data)
		rule, _ := json.Marshal(c.Rule)
		f.Add("k", data, rule)
	}
	keys := append(s.Keys(), "no-such-flag")
	f.Fuzz(func(t *testing.T, tk string, attrs []byte, rule []byte) {
		var a map[string]any
		if json.Unmarshal(attrs, &a) != nil {
			// not a JSON object: use the bytes as attribute values of
			// several Go types
			a = map[string]any{"email": string(attrs), "n": len(attrs), "tags": strings.Fields(string(attrs)), "version": attrs}
		}
		ctx := Context{TargetingKey: tk, Attributes: a, Now: time.Unix(1767229200, 0)}
		for _, key := range keys {
			r := s.Evaluate(key, ctx)
			checkResult(t, s, key, r)
			if x := s.Explain(key, ctx); !reflect.DeepEqual(x.Result, r) {
				t.Fatalf("%s: Explain %+v, Evaluate %+v", key, x.Result, r)
			}
		}
		var r any
		if json.Unmarshal(rule, &r) == nil {
			e := &evaluator{root: rootData{attrs: a, tk: tk, flagKey: "fuzz", fkAny: "fuzz", now: ctx.Now}}
			if nc, err := ctx.Normalize(); err == nil {
				e.root.attrs = nc.Attributes
			}
			out, err := e.run(compileDyn(r))
			var ie *internalError
			if errors.As(err, &ie) {
				t.Fatalf("internal error: %v\n%s", ie.val, ie.stack)
			}
			if err == nil {
				variantName(out) // must not panic
			}
		}
	})
}
