package configdoc_test

import (
	"os"
	"testing"

	"github.com/penguinmails/floe/libs/configdoc"
)

func BenchmarkValidateTypical(b *testing.B) {
	doc := load(b, "production.json")
	v, err := configdoc.NewValidator(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateTypicalWithUserSchema(b *testing.B) {
	doc := load(b, "production.json")
	v, err := configdoc.NewValidator([]byte(paymentsSchema))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateCompilingUserSchema includes compiling the user schema,
// as the one-shot Validate does.
func BenchmarkValidateCompilingUserSchema(b *testing.B) {
	doc := load(b, "production.json")
	b.ReportAllocs()
	for b.Loop() {
		if err := configdoc.Validate(doc, []byte(paymentsSchema)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTypical(b *testing.B) {
	data, err := os.ReadFile("testdata/production.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := configdoc.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiffStagingProduction(b *testing.B) {
	staging, production := load(b, "staging.json"), load(b, "production.json")
	b.ReportAllocs()
	for b.Loop() {
		configdoc.Diff(staging, production)
	}
}
