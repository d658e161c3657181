package configdoc_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/configdoc"
	"github.com/penguinmails/floe/libs/errs"
)

var docSeeds = []string{
	`{}`, `{"a": 1, "a": 2}`, `[1]`, `null`, `{"database": {"connectionPool": {"max": 12345678901234567890}}}`,
	`{"database": {"port": tru}}`, `{"x": [1, [2, [3, {"y": null}]]]}`, `{"features": {"new.checkout": {"enabled": true}}}`,
	`{"database": {"password": "hunter2", "url": "postgres://a:b@c/d"}}`, `{"n": 1e999, "m": -0.0, "k": 1E-401}`,
	`{"s": "\u0000\ud800"}`, "{\"s\": \"\xff\"}", `{"a": {}} x`, strings.Repeat(`{"a":`, 40) + strings.Repeat(`}`, 40),
	`{"payments": {"currency": "GBP"}}`, `{"features": {"x": {"enabled": "yes", "percentage": -1}}}`,
}

var schemaSeeds = []string{
	``, `{}`, `true`, `{"type": 12}`, `{"required": ["payments"]}`, paymentsSchema,
	`{"$ref": "file:///etc/passwd"}`, `{"properties": {"a": {"pattern": "(?=x)"}}}`,
	`{"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}`,
	`{"additionalProperties": {"$ref": "#"}}`, `{"minProperties": 3}`,
	`{"properties": {"x": {"format": "email"}}, "propertyNames": {"maxLength": 3}}`,
}

func addFileSeeds(f *testing.F, add func(string)) {
	for _, name := range []string{"staging.json", "production.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		add(string(data))
	}
}

// checkError fails unless err is a typed client error with described
// violations.
func checkError(t *testing.T, err error) {
	t.Helper()
	var tl *errs.TooLargeError
	if errors.As(err, &tl) {
		return
	}
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) || len(ia.Violations) == 0 {
		t.Fatalf("error %v (%T) is not an InvalidArgumentError with violations", err, err)
	}
	for _, v := range ia.Violations {
		if v.Description == "" || strings.HasPrefix(v.Field, ".") || strings.HasSuffix(v.Field, ".") {
			t.Fatalf("bad violation %+v", v)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range docSeeds {
		f.Add(s)
	}
	addFileSeeds(f, func(s string) { f.Add(s) })
	f.Fuzz(func(t *testing.T, data string) {
		doc, err := configdoc.Parse([]byte(data))
		if err != nil {
			checkError(t, err)
			return
		}
		canon := configdoc.Canonical(doc)
		back, err := configdoc.Parse(canon)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", canon, err)
		}
		if !configdoc.Equal(doc, back) || configdoc.Digest(doc) != configdoc.Digest(back) {
			t.Fatalf("canonical form %s does not round-trip", canon)
		}
		if d := configdoc.Diff(doc, back); len(d) != 0 {
			t.Fatalf("Diff(doc, canonical) = %v", d)
		}
		if !configdoc.Equal(configdoc.MergePatch(configdoc.Document{}, doc), configdoc.MergePatch(doc, configdoc.Document{})) {
			// Nulls are dropped by a patch onto {}, so only compare when none.
			if !strings.Contains(string(canon), "null") {
				t.Fatalf("MergePatch({}, doc) != MergePatch(doc, {}) for %s", canon)
			}
		}
		if _, err := configdoc.Flatten(doc); err != nil {
			checkError(t, err)
		}
		configdoc.Refs(doc)
	})
}

func FuzzValidate(f *testing.F) {
	for _, d := range docSeeds {
		for _, s := range schemaSeeds {
			f.Add(d, s)
		}
	}
	addFileSeeds(f, func(s string) { f.Add(s, paymentsSchema) })
	f.Fuzz(func(t *testing.T, data, schema string) {
		doc, err := configdoc.Parse([]byte(data))
		if err != nil {
			return
		}
		if err := configdoc.Validate(doc, []byte(schema)); err != nil {
			checkError(t, err)
		}
	})
}
