package render

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestTemplatesDoc keeps ../../TEMPLATES.md honest: it quotes the defaults
// as they are, names every field, method and function, and every template
// in it compiles and renders the samples.
func TestTemplatesDoc(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../TEMPLATES.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for key, src := range DefaultTemplates() {
		if !strings.Contains(doc, "```gotemplate\n"+src) {
			t.Errorf("TEMPLATES.md does not quote the default %s template as it is", key)
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Data](), reflect.TypeFor[Episode]()} {
		for f := range typ.Fields() {
			if !strings.Contains(doc, "`."+f.Name+"`") {
				t.Errorf("TEMPLATES.md does not document %s.%s", typ.Name(), f.Name)
			}
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Episodes](), reflect.TypeFor[KV](), reflect.TypeFor[Pairs]()} {
		for m := range typ.Methods() {
			if !strings.Contains(doc, "."+m.Name) {
				t.Errorf("TEMPLATES.md does not document %s.%s", typ.Name(), m.Name)
			}
		}
	}
	for _, name := range funcNames {
		if !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("TEMPLATES.md does not document the function %s", name)
		}
	}

	blocks := regexp.MustCompile("(?s)```gotemplate\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) < 8 {
		t.Fatalf("found %d templates in TEMPLATES.md", len(blocks))
	}
	for i, b := range blocks {
		key := KeyText
		if strings.Contains(b[1], "<h") || strings.Contains(b[1], "<!DOCTYPE") {
			key = KeyHTML
		}
		set, err := Parse("example", map[string]string{key: b[1]})
		if err != nil {
			t.Errorf("template %d of TEMPLATES.md: %v\n%s", i+1, err, b[1])
			continue
		}
		for _, s := range Samples() {
			if _, warnings, _ := Render("email", s.Notification, set, Options{ExternalURL: sampleURL}); len(warnings) > 0 {
				t.Errorf("template %d of TEMPLATES.md on %s: %q", i+1, s.Name, warnings)
			}
		}
	}
}

// TestAlertmanagerSubject renders Alertmanager's default subject, as TEMPLATES.md shows it.
func TestAlertmanagerSubject(t *testing.T) {
	t.Parallel()
	set, err := Parse("am", map[string]string{KeySubject: `[{{ .Status | upper }}{{ if eq .Status "firing" }}:{{ .Episodes.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}`})
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ := Render("email", sample(t, "deployment-failed"), set, Options{})
	if want := "[FIRING:2] production penguinmails floe.deploy.v1.DeploymentFailed (rel-01JTX2Q8 critical canary 2.4.0)"; m.Subject != want {
		t.Errorf("subject = %q, want %q", m.Subject, want)
	}
}

// TestDefaultEpisodes: the default templates show as many episodes as the Slack blocks.
func TestDefaultEpisodes(t *testing.T) {
	t.Parallel()
	for key, src := range DefaultTemplates() {
		if key == KeySMS {
			continue // one line: the first episode's reason
		}
		for _, m := range regexp.MustCompile(`\.Episodes\.(?:First|More) (\d+)`).FindAllStringSubmatch(src, -1) {
			if m[1] != "20" || defaultEpisodes != 20 {
				t.Errorf("default %s shows %s episodes, the blocks %d", key, m[1], defaultEpisodes)
			}
		}
	}
}
