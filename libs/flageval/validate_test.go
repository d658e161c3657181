package flageval

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// flagDef wraps one flag body in a definition.
func flagDef(key, body string) string {
	return fmt.Sprintf(`{"flags": {%q: %s}}`, key, body)
}

const okVariants = `"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"`

func withTargeting(t string) string {
	return flagDef("f", `{`+okVariants+`, "targeting": `+t+`}`)
}

func TestParseRefusesInvalidDefinitions(t *testing.T) {
	longKey := strings.Repeat("k", MaxKeyLength+1)
	for _, c := range []struct {
		name string
		def  string
		want []Problem // every problem, in order
	}{
		{"syntax error", "{\n  \"flags\": {,}\n}", []Problem{{"", "invalid JSON at line 2, column 13: invalid character ',' looking for beginning of object key string"}}},
		{"number out of range", `{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1e999}}}}`, []Problem{{"", "invalid JSON at line 1, column 56: number 1e999 is out of range"}}},
		{"not an object", `[]`, []Problem{{"", `the definition must be a JSON object with a "flags" object, not an array`}}},
		{"no flags", `{}`, []Problem{{"flags", "is required"}}},
		{"flags array", `{"flags": []}`, []Problem{{"flags", "must be an object mapping flag keys to flags; the array form is only understood by the flagd daemon, not by OpenFeature providers"}}},
		{"flags null", `{"flags": null}`, []Problem{{"flags", "must be an object mapping flag keys to flags, not null"}}},
		{"empty key", flagDef("", `{`+okVariants+`}`), []Problem{{`flags[""]`, "flag key must not be empty"}}},
		{"long key", flagDef(longKey, `{`+okVariants+`}`), []Problem{{"flags." + longKey, "flag key is 257 bytes long; the limit is 256"}}},
		{"flag not an object", flagDef("f", `true`), []Problem{{"flags.f", "a flag must be an object, not a boolean"}}},
		{"unknown state", flagDef("new-welcome", `{"state": "ON", "variants": {"on": true}, "defaultVariant": "on"}`),
			[]Problem{{"flags.new-welcome.state", `"ON" is not a valid state (ENABLED, DISABLED)`}}},
		{"missing state", flagDef("f", `{"variants": {"on": true}}`), []Problem{{"flags.f.state", "is required (ENABLED or DISABLED)"}}},
		{"defaultVariant not a variant", flagDef("new-welcome", `{"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "On"}`),
			[]Problem{{"flags.new-welcome.defaultVariant", `"On" is not a variant (variants: off, on)`}}},
		{"defaultVariant wrong type", flagDef("f", `{"state": "ENABLED", "variants": {"on": true}, "defaultVariant": 1}`),
			[]Problem{{"flags.f.defaultVariant", "must be a variant name or null, not a number"}}},
		{"no variants", flagDef("f", `{"state": "ENABLED"}`), []Problem{{"flags.f.variants", "is required"}}},
		{"empty variants", flagDef("f", `{"state": "ENABLED", "variants": {}}`), []Problem{{"flags.f.variants", "must have at least one variant"}}},
		{"variants not an object", flagDef("f", `{"state": "ENABLED", "variants": [true]}`), []Problem{{"flags.f.variants", "must be an object mapping variant names to values, not an array"}}},
		{"mixed variant types", flagDef("f", `{"state": "ENABLED", "variants": {"on": true, "off": "false", "n": 1}}`),
			[]Problem{{"flags.f.variants", "all variants must have the same type (boolean: on; string: off; number: n)"}}},
		{"null variant", flagDef("f", `{"state": "ENABLED", "variants": {"a": null}}`), []Problem{{"flags.f.variants.a", "a variant must be a boolean, string, number or object, not null"}}},
		{"array variant", flagDef("f", `{"state": "ENABLED", "variants": {"a": [1]}}`), []Problem{{"flags.f.variants.a", "a variant must be a boolean, string, number or object, not an array"}}},
		{"empty variant name", flagDef("f", `{"state": "ENABLED", "variants": {"": true}}`), []Problem{{`flags.f.variants[""]`, "variant name must not be empty"}}},
		{"flag metadata", flagDef("f", `{`+okVariants+`, "metadata": {"owner": {"team": "a"}}}`), []Problem{{"flags.f.metadata.owner", "metadata values must be strings, numbers or booleans, not an object"}}},
		{"set metadata", `{"metadata": {"v": null}, "flags": {}}`, []Problem{{"metadata.v", "metadata values must be strings, numbers or booleans, not null"}}},
		{"miscased field", flagDef("f", `{"state": "ENABLED", "variants": {"on": true}, "DefaultVariant": "on"}`), []Problem{{"flags.f.DefaultVariant", `unknown field; did you mean "defaultVariant"?`}}},
		{"targeting a string", withTargeting(`"on"`), []Problem{{"flags.f.targeting", "must be an object (a JsonLogic rule), not a string; omit it for no targeting"}}},
		{"targeting null", withTargeting(`null`), []Problem{{"flags.f.targeting", "must be an object (a JsonLogic rule), not null; omit it for no targeting"}}},
		{"unknown operator", withTargeting(`{"if": [{"is": [1, 1]}, "on", "off"]}`), []Problem{{"flags.f.targeting.if[0].is", `unknown operator "is"`}}},
		{"library-only operator", withTargeting(`{"if": [{"contains_any": [[1], [1]]}, "on", "off"]}`),
			[]Problem{{"flags.f.targeting.if[0].contains_any", `operator "contains_any" is not part of flagd's targeting schema (flagd's other evaluators do not support it)`}}},
		{"two keys", withTargeting(`{"if": [true, "on"], "==": [1, 1]}`), []Problem{{"flags.f.targeting", "an operation must be an object with exactly one key (the operator), found 2 keys: ==, if"}}},
		{"if not an array", withTargeting(`{"if": true}`), []Problem{{"flags.f.targeting.if", "arguments must be an array, not a boolean (true)"}}},
		{"== with three arguments", withTargeting(`{"if": [{"==": [1, 1, 1]}, "on"]}`), []Problem{{"flags.f.targeting.if[0].==", "takes exactly 2 arguments, got 3"}}},
		{"! with two arguments", withTargeting(`{"if": [{"!": [1, 2]}, "on"]}`), []Problem{{"flags.f.targeting.if[0].!", "takes exactly 1 argument, got 2"}}},
		{"in with one argument", withTargeting(`{"if": [{"in": ["a"]}, "on"]}`), []Problem{{"flags.f.targeting.if[0].in", "takes exactly 2 arguments, got 1"}}},
		{"var boolean", withTargeting(`{"if": [{"var": true}, "on"]}`), []Problem{{"flags.f.targeting.if[0].var", "a variable name must be a string, not a boolean (true)"}}},
		{"unknown $flagd property", withTargeting(`{"if": [{"var": "$flagd.key"}, "on"]}`),
			[]Problem{{"flags.f.targeting.if[0].var", `unknown flagd property "$flagd.key" (flagd provides $flagd.flagKey and $flagd.timestamp)`}}},
		{"all with a literal test", withTargeting(`{"if": [{"all": [[1], true]}, "on"]}`),
			[]Problem{{"flags.f.targeting.if[0].all[1]", "must be an operation (an object), not a boolean (true): all applies it to each element"}}},
		{"reduce with null initial value", withTargeting(`{"if": [{"reduce": [[1], {"+": [1]}, null]}, "on"]}`),
			[]Problem{{"flags.f.targeting.if[0].reduce[2]", "the initial value must be a boolean, number or string, not null"}}},
		{"starts_with number", withTargeting(`{"if": [{"starts_with": [{"var": "a"}, 1]}, "on"]}`),
			[]Problem{{"flags.f.targeting.if[0].starts_with[1]", "must be a string or an operation, not a number (1)"}}},
		{"sem_ver invalid version", withTargeting(`{"if": [{"sem_ver": [{"var": "v"}, ">=", "1.2.3.4"]}, "on"]}`),
			[]Problem{{"flags.f.targeting.if[0].sem_ver[2]", `"1.2.3.4" is not a valid semantic version`}}},
		{"sem_ver invalid operator", withTargeting(`{"if": [{"sem_ver": [{"var": "v"}, "=>", "1.2.3"]}, "on"]}`),
			[]Problem{{"flags.f.targeting.if[0].sem_ver[1]", `a string ("=>") is not a sem_ver operator (=, !=, <, <=, >, >=, ^, ~)`}}},
		{"sem_ver arity", withTargeting(`{"if": [{"sem_ver": [{"var": "v"}, "="]}, "on"]}`),
			[]Problem{{"flags.f.targeting.if[0].sem_ver", "takes exactly 3 arguments, got 2"}}},
		{"fractional negative weight", withTargeting(`{"fractional": [["on", -10], ["off", 110]]}`),
			[]Problem{{"flags.f.targeting.fractional[0][1]", "a weight must not be negative, got -10"}}},
		{"fractional non-integer weight", withTargeting(`{"fractional": [["on", 0.5], ["off", 99.5]]}`),
			[]Problem{{"flags.f.targeting.fractional[0][1]", "a weight must be an integer, not 0.5"}, {"flags.f.targeting.fractional[1][1]", "a weight must be an integer, not 99.5"}}},
		{"fractional weights too large", withTargeting(`{"fractional": [["on", 2147483647], ["off", 1]]}`),
			[]Problem{{"flags.f.targeting.fractional", "the weights sum to 2147483648; the limit is 2147483647"}}},
		{"fractional weight string", withTargeting(`{"fractional": [["on", "50"]]}`),
			[]Problem{{"flags.f.targeting.fractional[0][1]", `a weight must be a non-negative integer or an operation, not a string ("50")`}}},
		{"fractional bucket not an array", withTargeting(`{"fractional": [["on", 50], "off"]}`),
			[]Problem{{"flags.f.targeting.fractional[1]", `a bucket must be an array [variant, weight], not a string ("off")`}}},
		{"fractional bucket too long", withTargeting(`{"fractional": [["on", 50, 1]]}`),
			[]Problem{{"flags.f.targeting.fractional[0]", "a bucket must be [variant] or [variant, weight], got 3 elements"}}},
		{"fractional without buckets", withTargeting(`{"fractional": [{"var": "email"}]}`),
			[]Problem{{"flags.f.targeting.fractional", "needs at least one [variant, weight] bucket"}}},
		{"fractional numeric bucketing value", withTargeting(`{"fractional": [7, ["on", 1]]}`),
			[]Problem{{"flags.f.targeting.fractional[0]", "the bucketing value must be a string or an operation returning one, not a number (7)"}}},
		{"result not a variant", withTargeting(`{"if": [{"var": "beta"}, "onn", "off"]}`),
			[]Problem{{"flags.f.targeting.if[1]", `"onn" is not a variant (variants: off, on)`}}},
		{"fractional result not a variant", withTargeting(`{"fractional": [["on", 50], ["of", 50]]}`),
			[]Problem{{"flags.f.targeting.fractional[1][0]", `"of" is not a variant (variants: off, on)`}}},
		{"boolean result without boolean variant names", withTargeting(`{"if": [{"var": "beta"}, true, null]}`),
			[]Problem{{"flags.f.targeting.if[1]", `"true" is not a variant (variants: off, on)`}}},
		{"result that cannot match after JSON encoding", flagDef("f", `{"state": "ENABLED", "variants": {"a&b": 1, "c": 2}, "defaultVariant": "c", "targeting": {"if": [true, "a&b"]}}`),
			[]Problem{{"flags.f.targeting.if[1]", `"a&b" can never select a variant: flagd matches its JSON encoding "a\\u0026b" against the variant names`}}},
		{"missing evaluator", withTargeting(`{"if": [{"$ref": "beta"}, "on"]}`),
			[]Problem{{"flags.f.targeting.if[0].$ref", `no evaluator named "beta" in $evaluators`}}},
		{"evaluator not an object", `{"$evaluators": {"e": "x"}, "flags": {}}`, []Problem{{"$evaluators.e", "must be a JsonLogic rule (an object), not a string"}}},
		{"empty evaluator", `{"$evaluators": {"e": {}}, "flags": {}}`, []Problem{{"$evaluators.e", "must not be empty"}}},
		{"bad operator in evaluator", `{"$evaluators": {"e": {"in": [1]}}, "flags": {}}`, []Problem{{"$evaluators.e.in", "takes exactly 2 arguments, got 1"}}},
		{"circular evaluators", `{"$evaluators": {"a": {"!": {"$ref": "b"}}, "b": {"!": {"$ref": "a"}}}, "flags": {}}`,
			[]Problem{{"$evaluators.b.!.$ref", "circular $ref: a → b → a"}}},
		{"variant check through an evaluator", `{"$evaluators": {"pick": {"if": [{"var": "x"}, "yes", "no"]}}, "flags": {"f": {` + okVariants + `, "targeting": {"$ref": "pick"}}}}`,
			[]Problem{{"$evaluators.pick.if[1]", `"yes" is not a variant of flag "f" (variants: off, on)`}, {"$evaluators.pick.if[2]", `"no" is not a variant of flag "f" (variants: off, on)`}}},
		{"self reference", `{"$evaluators": {"a": {"or": [{"var": "x"}, {"$ref": "a"}]}}, "flags": {}}`,
			[]Problem{{"$evaluators.a.or[1].$ref", "circular $ref: a → a"}}},
		{"exponential $ref expansion", expandingEvaluators(20),
			[]Problem{{"$evaluators.e00", "the rule has more than 100000 values once $refs are expanded"},
				{"$evaluators.e01", "the rule has more than 100000 values once $refs are expanded"},
				{"$evaluators.e02", "the rule has more than 100000 values once $refs are expanded"},
				{"$evaluators.e03", "the rule has more than 100000 values once $refs are expanded"},
				{"$evaluators.e04", "the rule has more than 100000 values once $refs are expanded"},
				{"$evaluators.e05", "the rule has more than 100000 values once $refs are expanded"},
				{"flags.f.targeting", "the rule has more than 100000 values once $refs are expanded"}}},
		{"every problem at once", `{"flags": {
			"a": {"state": "on", "variants": {"x": 1, "y": "2"}, "defaultVariant": "z"},
			"b": {"state": "ENABLED", "variants": {"on": true}, "targeting": {"fractional": [["on", -1]]}}}}`,
			[]Problem{
				{"flags.a.state", `"on" is not a valid state (ENABLED, DISABLED)`},
				{"flags.a.variants", "all variants must have the same type (string: y; number: x)"},
				{"flags.a.defaultVariant", `"z" is not a variant (variants: x, y)`},
				{"flags.b.targeting.fractional[0][1]", "a weight must not be negative, got -1"},
			}},
		{"odd keys are quoted in paths", flagDef("a.b", `{"state": "X", "variants": {"on": true}}`), []Problem{{`flags["a.b"].state`, `"X" is not a valid state (ENABLED, DISABLED)`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse([]byte(c.def))
			if err == nil {
				t.Fatalf("accepted: %v", s.Keys())
			}
			var de *DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("error is %T, not *DefinitionError: %v", err, err)
			}
			if fmt.Sprint(de.Problems) != fmt.Sprint(c.want) {
				t.Errorf("problems:\n  got  %q\n  want %q", de.Problems, c.want)
			}
		})
	}
}

func TestExponentialRefsAreCheap(t *testing.T) {
	start := time.Now()
	_, err := Parse([]byte(expandingEvaluators(60)))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestDefinitionErrorMessage(t *testing.T) {
	_, err := Parse([]byte(flagDef("new-welcome", `{"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "On"}`)))
	want := `invalid flag definition: flags.new-welcome.defaultVariant: "On" is not a variant (variants: off, on)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	_, err = Parse([]byte(`{"flags": {"a": {"state": "x", "variants": {"v": 1}}, "b": {"state": "y", "variants": {"v": 1}}}}`))
	want = "invalid flag definition (2 problems):\n  flags.a.state: \"x\" is not a valid state (ENABLED, DISABLED)\n  flags.b.state: \"y\" is not a valid state (ENABLED, DISABLED)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestParseAcceptsValidDefinitions(t *testing.T) {
	for _, def := range []string{
		`{"flags": {}}`,
		`{"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": {}, "metadata": {"flagSetId": "x", "version": 2, "beta": true}}`,
		flagDef("f", `{"state": "DISABLED", "variants": {"a": {"x": [1, null]}}, "defaultVariant": null}`),
		flagDef("f", `{"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": ""}`),
		flagDef("f", `{"state": "ENABLED", "variants": {"a": 1}, "targeting": {}}`),
		flagDef("f", `{"state": "ENABLED", "variants": {"a": 1}, "description": "unknown fields are ignored"}`),
		withTargeting(`{"if": [{"var": "$flagd.timestamp"}, "on", null]}`),
		withTargeting(`{"if": [{"var": ["a", 1]}, "on", "off"]}`),
		withTargeting(`{"if": [{"var": {"cat": ["a", "b"]}}, "on", "off"]}`),
		withTargeting(`{"if": [{"missing": {"merge": [["a"], ["b"]]}}, "on", "off"]}`),
		withTargeting(`{"if": [{"!": true}, "on", "off"]}`),
		withTargeting(`{"if": [{"<": [1, {"var": "n"}, 3]}, "on", "off"]}`),
		withTargeting(`{"fractional": [["on", 1], ["off", 0]]}`),
		withTargeting(`{"fractional": [["on"], ["off"]]}`),
		withTargeting(`{"fractional": [{"var": "email"}, ["on", 50], ["off", 50]]}`),
		withTargeting(`{"fractional": [["on", {"-": [{"var": "$flagd.timestamp"}, 1700000000]}], ["off", 100]]}`),
		withTargeting(`{"fractional": [[{"var": "pick"}, 1]]}`),
		withTargeting(`{"sem_ver": [{"var": "version"}, "^", "v1"]}`),
		withTargeting(`{"var": "pick"}`),
		withTargeting(`{">": [{"var": "n"}, 10]}`),
		`{"$evaluators": {"a": {"$ref": "b"}, "b": {"in": [{"var": "t"}, ["x"]]}}, "flags": {"f": {` + okVariants + `, "targeting": {"if": [{"$ref": "a"}, "on", "off"]}}}}`,
		flagDef("f", `{"state": "ENABLED", "variants": {"true": "yes", "false": "no"}, "defaultVariant": "false", "targeting": {"if": [{"var": "x"}, true, false]}}`),
		flagDef("f", `{"state": "ENABLED", "variants": {"1": "one", "2": "two"}, "defaultVariant": "1", "targeting": {"fractional": [[1, 50], [2, 50]]}}`),
	} {
		if _, err := Parse([]byte(def)); err != nil {
			t.Errorf("%s: %v", def, err)
		}
	}
}

// expandingEvaluators returns a definition whose evaluators each reference
// the next one twice: 2^n values once expanded.
func expandingEvaluators(n int) string {
	var b strings.Builder
	b.WriteString(`{"$evaluators": {`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"e%02d": {"and": [{"$ref": "e%02d"}, {"$ref": "e%02d"}]},`, i, i+1, i+1)
	}
	fmt.Fprintf(&b, `"e%02d": {"var": "x"}}, "flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off", "targeting": {"if": [{"$ref": "e00"}, "on", "off"]}}}}`, n)
	return b.String()
}
