package routing_test

import (
	"errors"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/notifier/internal/render"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// TestTemplatesCompile shows that what routing stores of templates is what
// the render package compiles (an external test: render imports routing).
func TestTemplatesCompile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := routing.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	global, err := render.Parse("templates", cfg.Templates)
	if err != nil {
		t.Fatalf("the example's templates: %v", err)
	}
	email, _ := cfg.Receiver("release-email")
	own, err := render.FromSettings(email.Name, email.Settings)
	if err != nil {
		t.Fatalf("release-email's templates: %v", err)
	}
	if !global.Has(render.KeySubject) || !own.Has(render.KeySubject) || global.Has(render.KeyText) {
		t.Error("the compiled sets do not hold what the example gives")
	}

	// Every default template, written as a top-level template, is accepted
	// as it is and compiles.
	doc, err := yaml.Marshal(map[string]any{"templates": render.DefaultTemplates()})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = routing.Parse(append([]byte("receivers: [{name: a, kind: email}]\nroute: {receivers: [a]}\n"), doc...))
	if err != nil {
		t.Fatalf("the default templates as top-level templates: %v", err)
	}
	if len(cfg.Templates) != len(routing.TemplateKeys) {
		t.Fatalf("templates = %v", cfg.Templates)
	}
	for _, key := range routing.TemplateKeys {
		if cfg.Templates[key] != render.DefaultTemplates()[key] {
			t.Errorf("%s is not stored as written", key)
		}
	}
	if _, err := render.Parse("templates", cfg.Templates); err != nil {
		t.Errorf("the default templates do not compile from the configuration: %v", err)
	}

	// A template routing accepts but that does not compile is reported by
	// render at the path routing reports its own problems at.
	cfg, err = routing.Parse([]byte("receivers: [{name: a, kind: email}]\nroute: {receivers: [a]}\ntemplates: {text: '{{ .Title '}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = render.Parse("templates", cfg.Templates)
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) || len(ia.Violations) != 1 || ia.Violations[0].Field != "templates.text" {
		t.Errorf("render.Parse = %v, want one violation of templates.text", err)
	}
}

// TestNamesAgree keeps routing's template names those of render.
func TestNamesAgree(t *testing.T) {
	t.Parallel()
	if len(routing.TemplateKeys) != len(render.Keys) {
		t.Fatalf("routing %v, render %v", routing.TemplateKeys, render.Keys)
	}
	for i := range render.Keys {
		if routing.TemplateKeys[i] != render.Keys[i] {
			t.Errorf("routing %v, render %v", routing.TemplateKeys, render.Keys)
		}
	}
}
