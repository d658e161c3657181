package flageval

import (
	"os"
	"strconv"
	"testing"
)

const benchDef = `{"flags": {
  "static": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
  "fractional": {"state": "ENABLED", "variants": {"a": "A", "b": "B", "c": "C"}, "defaultVariant": "a",
    "targeting": {"fractional": [["a", 20], ["b", 30], ["c", 50]]}},
  "fractional-custom": {"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": "a",
    "targeting": {"fractional": [{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, ["a", 50], ["b", 50]]}},
  "rule": {"state": "ENABLED", "variants": {"beta": "beta", "internal": "internal", "stable": "stable"}, "defaultVariant": "stable",
    "targeting": {"if": [
      {"in": [{"var": "tier"}, ["gold", "platinum"]]}, "beta",
      {"and": [{"starts_with": [{"var": "email"}, "admin@"]}, {"sem_ver": [{"var": "version"}, ">=", "2.1.0"]}]}, "internal",
      null]}}
}}`

func benchContext(i int) Context {
	return Context{
		TargetingKey: "user-" + strconv.Itoa(i),
		Attributes: map[string]any{
			"email":   "admin@example.com",
			"tier":    "silver",
			"version": "2.3.1",
			"country": "de",
			"n":       42.0,
		},
	}
}

func benchEval(b *testing.B, key string, ctx Context, want string) {
	s := mustParse(b, benchDef)
	if r := s.Evaluate(key, ctx); r.ErrorCode != "" || (want != "" && r.Variant != want) {
		b.Fatalf("%+v", r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Evaluate(key, ctx)
	}
}

// BenchmarkStatic: a flag without targeting.
func BenchmarkStatic(b *testing.B) { benchEval(b, "static", benchContext(1), "on") }

// BenchmarkFractional: fractional split on flag key + targeting key.
func BenchmarkFractional(b *testing.B) { benchEval(b, "fractional", benchContext(1), "") }

// BenchmarkFractionalNormalized: the same with a context normalized once
// (as for bulk evaluation of all flags).
func BenchmarkFractionalNormalized(b *testing.B) {
	ctx, err := benchContext(1).Normalize()
	if err != nil {
		b.Fatal(err)
	}
	benchEval(b, "fractional", ctx, "")
}

// BenchmarkFractionalCustomBucketing: bucketing on a cat expression.
func BenchmarkFractionalCustomBucketing(b *testing.B) {
	benchEval(b, "fractional-custom", benchContext(1), "")
}

// BenchmarkTypicalRule: if + in + starts_with + sem_ver.
func BenchmarkTypicalRule(b *testing.B) { benchEval(b, "rule", benchContext(1), "internal") }

// BenchmarkFractionalManyKeys: fractional over changing targeting keys.
func BenchmarkFractionalManyKeys(b *testing.B) {
	s := mustParse(b, benchDef)
	ctxs := make([]Context, 1024)
	for i := range ctxs {
		ctxs[i] = benchContext(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Evaluate("fractional", ctxs[i&1023])
	}
}

func BenchmarkExplain(b *testing.B) {
	s := mustParse(b, benchDef)
	ctx := benchContext(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.Explain("rule", ctx)
	}
}

// BenchmarkParse: parse, validate and compile the golden definition (68
// flags).
func BenchmarkParse(b *testing.B) {
	def, err := os.ReadFile("testdata/golden/flags.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(def)))
	for i := 0; i < b.N; i++ {
		if _, err := Parse(def); err != nil {
			b.Fatal(err)
		}
	}
}
