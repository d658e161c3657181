package routing

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
)

func mustParse(t *testing.T, y string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(y))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func violations(t *testing.T, err error) map[string]string {
	t.Helper()
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("err = %v (%T), want *errs.InvalidArgumentError", err, err)
	}
	out := map[string]string{}
	for _, v := range ia.Violations {
		out[v.Field] += v.Description
	}
	return out
}

func TestParseExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, string(data))
	if got := len(cfg.Receivers); got != 4 {
		t.Fatalf("receivers = %d, want 4", got)
	}
	r := cfg.Route
	if diff := cmp.Diff([]string{"ops-slack"}, r.Receivers); diff != "" {
		t.Errorf("root receivers (-want +got):\n%s", diff)
	}
	crit, ok := cfg.RouteByID("prod-critical")
	if !ok {
		t.Fatal("route prod-critical missing")
	}
	if crit.GroupWait != 30*time.Second || crit.GroupInterval != 5*time.Minute || crit.RepeatInterval != 4*time.Hour {
		t.Errorf("prod-critical timings = %v/%v/%v, want inherited 30s/5m/4h", crit.GroupWait, crit.GroupInterval, crit.RepeatInterval)
	}
	if crit.Cooldown != 10*time.Minute || crit.Escalation == nil || crit.Escalation.After != 15*time.Minute || !crit.Continue {
		t.Errorf("prod-critical = %+v", crit)
	}
	leaf, ok := cfg.RouteByID("route.routes[1].routes[0]")
	if !ok {
		t.Fatal("unnamed leaf route not found by path")
	}
	if diff := cmp.Diff([]string{"product"}, leaf.GroupBy); diff != "" {
		t.Errorf("leaf group_by inherited (-want +got):\n%s", diff)
	}
	if leaf.RepeatInterval != 24*time.Hour || leaf.GroupInterval != 5*time.Minute {
		t.Errorf("leaf timings = %v %v", leaf.RepeatInterval, leaf.GroupInterval)
	}
	if len(cfg.Silences) != 1 || len(cfg.MaintenanceWindows) != 1 || len(cfg.MaintenanceWindows[0].TimeIntervals) != 2 {
		t.Errorf("silences/windows = %+v / %+v", cfg.Silences, cfg.MaintenanceWindows)
	}
	if loc := cfg.MaintenanceWindows[0].TimeIntervals[0].Location.String(); loc != "Europe/Berlin" {
		t.Errorf("location = %s", loc)
	}
	if diff := cmp.Diff(map[string]string{"subject": "[{{ .Marker }}] {{ .Title }}"}, cfg.Templates); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	email, _ := cfg.Receiver("release-email")
	if diff := cmp.Diff(map[string]any{"subject": "Release {{ .Title }}"}, email.Settings["templates"]); diff != "" {
		t.Errorf("release-email's settings.templates (-want +got):\n%s", diff)
	}
}

func TestParseTemplates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want map[string]string
	}{
		{"absent", ``, nil},
		{"null", `templates:`, nil},
		{"empty mapping", `templates: {}`, nil},
		{"every name", `
templates:
  subject: "[{{ .Marker }}] {{ .Title }}"
  text: |
    {{ range .Episodes }}{{ .Title }}
    {{ end }}
  html: "<p>{{ .Title }}</p>"
  sms: '{{ .Title }}'
`, map[string]string{
			"subject": "[{{ .Marker }}] {{ .Title }}",
			"text":    "{{ range .Episodes }}{{ .Title }}\n{{ end }}\n",
			"html":    "<p>{{ .Title }}</p>",
			"sms":     "{{ .Title }}",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, "receivers: [{name: a, kind: webhook}]\nroute: {receivers: [a]}\n"+tt.yaml)
			if diff := cmp.Diff(tt.want, cfg.Templates); diff != "" {
				t.Errorf("templates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDocShowsExample keeps the package doc's example and the tested file the same.
func TestDocShowsExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, l := range strings.Split(strings.TrimRight(string(example), "\n"), "\n") {
		if l == "" {
			want.WriteString("//\n")
			continue
		}
		want.WriteString("//\t" + l + "\n")
	}
	if !strings.Contains(string(doc), want.String()) {
		t.Error("doc.go does not show testdata/example.yaml verbatim")
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: a, kind: webhook}]
route: {receivers: [a]}
`)
	r := cfg.Route
	if r.GroupWait != DefaultGroupWait || r.GroupInterval != DefaultGroupInterval || r.RepeatInterval != DefaultRepeatInterval || r.Cooldown != 0 {
		t.Errorf("defaults = %v %v %v %v", r.GroupWait, r.GroupInterval, r.RepeatInterval, r.Cooldown)
	}
	if diff := cmp.Diff(DefaultGroupBy, r.GroupBy); diff != "" {
		t.Errorf("group_by (-want +got):\n%s", diff)
	}
	if r.ID() != "route" {
		t.Errorf("root ID = %q", r.ID())
	}
}

func TestParseViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want map[string]string // field → a fragment of its description
	}{
		{"empty", ``, map[string]string{"route": "required"}},
		{"only a comment", "# nothing\n", map[string]string{"route": "required"}},
		{"not yaml", "route: [", map[string]string{"(document)": "not valid YAML"}},
		{"two documents", "route: {}\n---\nroute: {}\n", map[string]string{"(document)": "more than one"}},
		{"root not mapping", "- a\n", map[string]string{"(document)": "mapping", "route": "required"}},
		{"unknown field", "receivers: []\nroutes: []\nroute: {receivers: [x]}\n", map[string]string{
			"routes": "not a known field", "route.receivers[0]": "not a receiver",
		}},
		{"receiver problems", `
receivers:
  - {name: a, kind: pager}
  - {name: a, kind: slack}
  - {kind: email}
  - {name: "bad name", kind: sms}
route: {receivers: [a]}
`, map[string]string{
			"receivers[0].kind": "one of slack, email, sms, webhook",
			"receivers[1].name": "defined twice",
			"receivers[2].name": "required",
			"receivers[3].name": "required",
		}},
		{"literal secrets", `
receivers:
  - name: s
    kind: slack
    settings:
      token: xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx
      webhook_url: https://hooks.slack.com/services/T000/B000/XXXXXXXX
      nested: {password: hunter2}
      ok: secret://slack/token
      badref: secret://Not Valid
      note: "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
  - name: w
    kind: webhook
    settings:
      url: https://example.com/hook
      signing_secret: 12345
route: {receivers: [s]}
`, map[string]string{
			"receivers[0].settings.token":           "secret://<name>",
			"receivers[0].settings.webhook_url":     "written literally",
			"receivers[0].settings.nested.password": "written literally",
			"receivers[0].settings.badref":          "",
			"receivers[0].settings.note":            "looks like a credential",
			"receivers[1].settings.signing_secret":  "secret reference",
		}},
		{"route problems", `
receivers: [{name: a, kind: webhook}]
route:
  matchers: [x="y"]
  continue: true
  group_interval: 0s
  repeat_interval: soon
  group_wait: -1s
  routes:
    - matchers: ['env=~"("', 'noop', '1x=y']
      receivers: [a, a, b]
      group_by: [..., env]
      escalation: {receivers: []}
    - name: dup
    - name: dup
      continue: maybe
      routes: {}
`, map[string]string{
			"route.matchers":                       "root route",
			"route.receivers":                      "required",
			"route.continue":                       "meaningless",
			"route.group_interval":                 "positive",
			"route.repeat_interval":                "not a duration",
			"route.group_wait":                     "negative",
			"route.routes[0].matchers[0]":          "regular expression",
			"route.routes[0].matchers[1]":          "not a matcher",
			"route.routes[0].matchers[2]":          "not valid",
			"route.routes[0].receivers[1]":         "twice",
			"route.routes[0].receivers[2]":         "not a receiver",
			"route.routes[0].group_by":             "every label",
			"route.routes[0].escalation.after":     "required",
			"route.routes[0].escalation.receivers": "required",
			"route.routes[2].name":                 "two routes",
			"route.routes[2].continue":             "true or false",
			"route.routes[2].routes":               "list",
		}},
		{"template problems", `
receivers:
  - name: a
    kind: webhook
    settings:
      templates: {subject: "{{ .Title }}", text: "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}
route: {receivers: [a]}
templates:
  footer: "{{ .Title }}"
  subject: ""
  text: {a: b}
  html: "  "
  sms: "call ghp_abcdefghijklmnopqrstuvwxyz0123456789"
`, map[string]string{
			"templates.footer":                     "not a known field",
			"templates.subject":                    "empty",
			"templates.text":                       "must be a string",
			"templates.html":                       "empty",
			"templates.sms":                        "looks like a credential",
			"receivers[0].settings.templates.text": "looks like a credential",
		}},
		{"templates not a mapping", `
receivers: [{name: a, kind: webhook}]
route: {receivers: [a]}
templates: "{{ .Title }}"
`, map[string]string{"templates": "mapping with the fields subject, text, html, sms"}},
		{"template given twice, and null", `
receivers: [{name: a, kind: webhook}]
route: {receivers: [a]}
templates: {subject: a, subject: b, sms: ~}
`, map[string]string{"templates.subject": "twice", "templates.sms": "empty"}},
		{"silence and window problems", `
receivers: [{name: a, kind: webhook}]
route: {receivers: [a]}
silences:
  - {id: s, starts_at: 2026-05-02T00:00:00Z, ends_at: 2026-05-01T00:00:00Z}
  - {id: s, matchers: [a=b], starts_at: yesterday, created_by: bob, comment: x}
maintenance_windows:
  - name: w
    time_intervals:
      - weekdays: [funday, "monday:someday"]
        times: [{start_time: "25:00", end_time: "1:00"}, {start_time: "10:00", end_time: "10:00"}]
        location: Mars/Olympus
  - {name: w, environments: [prod]}
`, map[string]string{
			"silences[0].matchers":                                         "required",
			"silences[0].ends_at":                                          "after starts_at",
			"silences[0].created_by":                                       "required",
			"silences[0].comment":                                          "required",
			"silences[1].id":                                               "used twice",
			"silences[1].starts_at":                                        "RFC 3339",
			"silences[1].ends_at":                                          "required",
			"maintenance_windows[0].environments":                          "required",
			"maintenance_windows[0].time_intervals[0].weekdays[0]":         "not a weekday",
			"maintenance_windows[0].time_intervals[0].weekdays[1]":         "weekday range",
			"maintenance_windows[0].time_intervals[0].times[0].start_time": "HH:MM",
			"maintenance_windows[0].time_intervals[0].times[0].end_time":   "HH:MM",
			"maintenance_windows[0].time_intervals[0].times[1]":            "empty",
			"maintenance_windows[0].time_intervals[0].location":            "time zone",
			"maintenance_windows[1].name":                                  "defined twice",
			"maintenance_windows[1].time_intervals":                        "required",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml))
			got := violations(t, err)
			for field, frag := range tt.want {
				desc, ok := got[field]
				switch {
				case !ok:
					t.Errorf("no violation of %q; got %v", field, got)
				case !strings.Contains(desc, frag):
					t.Errorf("%s: %q does not say %q", field, desc, frag)
				}
			}
			for field, desc := range got {
				if _, ok := tt.want[field]; !ok {
					t.Errorf("unexpected violation %s: %s", field, desc)
				}
				for _, secret := range []string{"hunter2", "xoxb-1234", "hooks.slack.com", "ghp_abcd"} {
					if strings.Contains(desc, secret) {
						t.Errorf("%s repeats the secret: %s", field, desc)
					}
				}
			}
		})
	}
}

func TestParseAliasBomb(t *testing.T) {
	t.Parallel()
	y := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		y += n + ": &" + n + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = n
	}
	y = "receivers:\n  - name: r\n    kind: webhook\n    settings:\n      " + strings.ReplaceAll(strings.TrimSpace(y), "\n", "\n      ") + "\nroute: {receivers: [r]}\n"
	_, err := Parse([]byte(y))
	if err == nil {
		t.Fatal("alias bomb parsed")
	}
	got := violations(t, err)
	found := false
	for f, d := range got {
		if strings.Contains(d, "nodes") && strings.HasPrefix(f, "receivers[0].settings") {
			found = true
		}
	}
	if !found {
		t.Errorf("violations %v do not report the node limit", got)
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/example.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"", "route: {receivers: [a]}", "receivers: [{name: a, kind: slack, settings: {token: x}}]\nroute: {receivers: [a]}",
		"route: {routes: [{matchers: ['a=~\"(\"']}]}", "a: &a [*a]", "route: !!binary aGVsbG8=",
		"maintenance_windows: [{time_intervals: [{times: [{start_time: '23:00', end_time: '01:00'}], location: Asia/Tokyo}]}]",
		"silences: [{starts_at: 2026-01-01T00:00:00Z, ends_at: 2025-01-01T00:00:00Z}]",
		"route:\n  receivers: [a]\n  route: x\n  <<: {b: c}\n? [a]\n: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err == nil {
			if cfg == nil || cfg.Route == nil {
				t.Fatal("nil config without an error")
			}
			return
		}
		var ia *errs.InvalidArgumentError
		if !errors.As(err, &ia) || len(ia.Violations) == 0 {
			t.Fatalf("err = %v (%T), want violations", err, err)
		}
		for _, v := range ia.Violations {
			if v.Field == "" {
				t.Fatalf("violation without a path: %+v", v)
			}
			if v.Description == "" {
				t.Fatalf("violation without a description: %+v", v)
			}
		}
	})
}
