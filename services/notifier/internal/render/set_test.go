package render

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

func sample(t *testing.T, name string) routing.Notification {
	t.Helper()
	for _, s := range Samples() {
		if s.Name == name {
			return s.Notification
		}
	}
	t.Fatalf("no sample %q", name)
	return routing.Notification{}
}

// violations returns "field: description" for each violation of err, an *errs.InvalidArgumentError.
func violations(t *testing.T, err error) []string {
	t.Helper()
	var inv *errs.InvalidArgumentError
	if !errors.As(err, &inv) {
		t.Fatalf("error %v (%T) is not an *errs.InvalidArgumentError", err, err)
	}
	var out []string
	for _, v := range inv.Violations {
		out = append(out, v.Field+": "+v.Description)
	}
	return out
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  map[string]string
		want []string
	}{
		{
			name: "unknown name",
			src:  map[string]string{"body": "x"},
			want: []string{"r.body: is not a known template: want one of subject, text, html, sms"},
		},
		{
			name: "empty",
			src:  map[string]string{"subject": "  \n"},
			want: []string{"r.subject: is empty: leave it out to use the default"},
		},
		{
			name: "syntax error with its line",
			src:  map[string]string{"text": "first\nsecond\n{{ if .Status }}unclosed"},
			want: []string{"r.text: line 3: unexpected EOF"},
		},
		{
			name: "unknown function with its line",
			src:  map[string]string{"subject": "a\n{{ uper .Title }}"},
			want: []string{`r.subject: line 2: function "uper" not defined`},
		},
		{
			name: "misspelt field, failing on every sample",
			src:  map[string]string{"text": "ok\n\n{{ .Titel }}"},
			want: []string{"r.text: line 3: at <.Titel>: can't evaluate field Titel in type *render.Data"},
		},
		{
			name: "field of an episode",
			src:  map[string]string{"text": "{{ range .Episodes }}\n{{ .Labels.env }} {{ .Sevrity }}{{ end }}"},
			want: []string{"r.text: line 2: at <.Sevrity>: can't evaluate field Sevrity in type render.Episode"},
		},
		{
			name: "define",
			src:  map[string]string{"text": `{{ define "x" }}y{{ end }}{{ .Title }}`},
			want: []string{"r.text: defines named templates (define or block), which are not supported"},
		},
		{
			name: "template call",
			src:  map[string]string{"text": "a\n{{ if .Title }}{{ template \"text\" . }}{{ end }}"},
			want: []string{"r.text: line 2: calls a named template, which is not supported"},
		},
		{
			name: "a loop over a huge number",
			src:  map[string]string{"text": "{{ .Title }}\n{{ range 1000000000000 }}{{ end }}"},
			want: []string{"r.text: line 2: the template loops more than 10000 times"},
		},
		{
			name: "nested loops over the data",
			src:  map[string]string{"text": "{{ range .Episodes }}{{ range 200 }}{{ range 200 }}{{ end }}{{ end }}{{ end }}"},
			want: []string{"r.text: line 1: the template loops more than 10000 times"},
		},
		{
			name: "output over the limit",
			src:  map[string]string{"text": `{{ range 5000 }}{{ printf "%100s" "x" }}{{ end }}`},
			want: []string{"r.text: the output is over 64 KiB"},
		},
		{
			name: "a variable doubled in a loop",
			src:  map[string]string{"text": `{{ $a := "xx" }}{{ range 40 }}{{ $a = printf "%s%s" $a $a }}{{ end }}{{ $a }}`},
			want: []string{`r.text: line 1: at <printf "%s%s" $a $a>: error calling printf: the result is over 64 KiB`},
		},
		{
			name: "a huge printf width",
			src:  map[string]string{"text": `{{ printf "%999999d" 1 }}`},
			want: []string{`r.text: line 1: at <printf "%999999d" 1>: error calling printf: widths and precisions over 999 are not allowed`},
		},
		{
			name: "ambiguous HTML context",
			src:  map[string]string{"html": "<p>\n<a href=\"{{ if .Title }}x{{ end }}\n<{{ .Title }}\">"},
			want: []string{"r.html: line 3: {{.Title}} appears in an ambiguous context within a URL"},
		},
		{
			name: "writes nothing for any sample",
			src:  map[string]string{"sms": `{{ if eq .Receiver "nobody" }}x{{ end }}`},
			want: []string{"r.sms: writes nothing for any sample notification"},
		},
		{
			name: "over the source limit",
			src:  map[string]string{"text": strings.Repeat("x", MaxSourceBytes+1)},
			want: []string{"r.text: is 32769 bytes, over the limit of 32768"},
		},
		{
			name: "invalid UTF-8",
			src:  map[string]string{"text": "a\xffb"},
			want: []string{"r.text: is not valid UTF-8"},
		},
		{
			name: "every problem at once",
			src:  map[string]string{"subject": "{{ .Nope }}", "sms": "{{", "html": "ok"},
			want: []string{
				"r.sms: line 1: unclosed action",
				"r.subject: line 1: at <.Nope>: can't evaluate field Nope in type *render.Data",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, err := Parse("r", tt.src)
			if err == nil {
				t.Fatalf("Parse = %v, want an error", set)
			}
			if diff := cmp.Diff(tt.want, violations(t, err)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  map[string]string
	}{
		{"none", nil},
		{"Alertmanager style", map[string]string{
			"subject": `[{{ .Status | upper }}{{ if eq .Status "firing" }}:{{ len .Episodes.Firing }}{{ end }}] {{ .GroupLabels.SortedPairs }}`,
			"text":    `{{ range .Episodes }}{{ .Annotations.summary }} {{ .Labels.Extra.Values | join ", " }}{{ end }}{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Names }}{{ end }}`,
		}},
		{"every function", map[string]string{
			"text": `{{ upper "a" }}{{ lower "B" }}{{ title "a b" }}{{ trim " x " }}{{ join "," .CommonLabels.Names }}` +
				`{{ truncate 10 .Title }}{{ since .Time }}{{ duration .Time .Time }}{{ timeFormat "RFC3339" .Time }}` +
				`{{ timeFormat "15:04" .Time }}{{ default "none" .CommonAnnotations.runbook }}{{ printf "%-10s|" .Status }}`,
		}},
		{"a template that fails on some samples", map[string]string{
			"sms": `{{ (index .Episodes.Resolved 0).Title }} resolved`,
		}},
		{"html", map[string]string{
			"html": `<a href="{{ .ExternalURL }}">{{ .Title }}</a>{{ range .Episodes }}<p title="{{ .Key }}">{{ .Annotations.description }}</p>{{ end }}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse("r", tt.src); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRenderUserTemplates(t *testing.T) {
	t.Parallel()
	set, err := Parse("templates", map[string]string{
		"subject": `{{ .Marker }} {{ .Title | upper }}`,
		"text":    "{{ range .Episodes }}* {{ .Title }} <{{ .URL }}>\n{{ end }}",
		"html":    `<p>{{ .Title }}</p>`,
		"sms":     `{{ .Title }} ({{ .Severity }})`,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := sample(t, "alert-firing")
	n.Episodes[0].Event.Annotations["summary"] = "<b>&</b>"

	slack, warnings, err := Render(routing.KindSlack, n, set, Options{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Render = %v, %v", warnings, err)
	}
	if want := "FIRING:1 <B>&</B>"; slack.Subject != want {
		t.Errorf("subject = %q, want %q", slack.Subject, want)
	}
	if want := "* <b>&</b> <https://floe.example.com/alerts/alert-7c1e9b2f>"; slack.Text != want {
		t.Errorf("text = %q, want %q", slack.Text, want)
	}
	// The user's text goes into the blocks escaped: it is plain text, links included.
	bs := decodeBlocks(t, slack.Blocks)
	if got := textsOf(bs, "section"); len(got) != 1 || got[0] != "* &lt;b&gt;&amp;&lt;/b&gt; &lt;https://floe.example.com/alerts/alert-7c1e9b2f&gt;" {
		t.Errorf("sections = %q", got)
	}

	email, _, _ := Render(routing.KindEmail, n, set, Options{})
	if want := "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"; email.HTML != want {
		t.Errorf("html = %q, want %q", email.HTML, want)
	}
	sms, _, _ := Render(routing.KindSMS, n, set, Options{})
	if want := "<b>&</b> (warning)"; sms.Subject != want || sms.Text != "" {
		t.Errorf("sms = %q / %q, want %q and no text", sms.Subject, sms.Text, want)
	}
}

func TestRenderFallsBack(t *testing.T) {
	t.Parallel()
	set, err := Parse("receivers.ops.settings.templates", map[string]string{
		// Works on the samples that have a resolved episode only.
		"subject": "resolved:\n{{ (index .Episodes.Resolved 0).Title }}",
		// Writes nothing for firing groups.
		"sms": `{{ if eq .Status "resolved" }}ok{{ end }}`,
		// Loops too much for one receiver only.
		"text": `{{ if eq .Receiver "big" }}{{ range 100000 }}{{ end }}{{ end }}text`,
		// Writes too much for one receiver only.
		"html": `{{ if eq .Receiver "big" }}{{ range 2000 }}{{ printf "%100s" "x" }}{{ end }}{{ end }}<p>ok</p>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := sample(t, "deployment-failed")
	n.Receiver = "big"
	defaultMsg, _, _ := Render(routing.KindEmail, n, nil, Options{})

	email, warnings, err := Render(routing.KindEmail, n, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"receivers.ops.settings.templates.subject: line 2: at <index .Episodes.Resolved 0>: error calling index: reflect: slice index out of range; the default template was used",
		"receivers.ops.settings.templates.text: line 1: the template loops more than 10000 times; the default template was used",
		"receivers.ops.settings.templates.html: the output is over 64 KiB; the default template was used",
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(defaultMsg, email); diff != "" {
		t.Errorf("the message is not the default one (-want +got):\n%s", diff)
	}

	// A Slack text that fell back gets the default blocks, not the default text in sections.
	slackMsg, _, _ := Render(routing.KindSlack, n, set, Options{})
	defaultSlack, _, _ := Render(routing.KindSlack, n, nil, Options{})
	if diff := cmp.Diff(string(defaultSlack.Blocks), string(slackMsg.Blocks)); diff != "" {
		t.Errorf("blocks are not the default ones (-want +got):\n%s", diff)
	}

	sms, warnings, _ := Render(routing.KindSMS, n, set, Options{})
	if want := []string{"receivers.ops.settings.templates.sms: wrote nothing; the default template was used"}; !cmp.Equal(want, warnings) {
		t.Errorf("sms warnings = %q, want %q", warnings, want)
	}
	if !strings.HasPrefix(sms.Subject, "[FAILED] production penguinmails: Deployment failed") {
		t.Errorf("sms = %q, want the default", sms.Subject)
	}
}

func TestRenderUnknownKind(t *testing.T) {
	t.Parallel()
	_, _, err := Render("pager", sample(t, "alert-firing"), nil, Options{})
	if diff := cmp.Diff([]string{`kind: "pager" is not a receiver kind: want slack, email, sms or webhook`}, violations(t, err)); diff != "" {
		t.Error(diff)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	receiver, err := Parse("receiver", map[string]string{"subject": "receiver {{ .Title }}"})
	if err != nil {
		t.Fatal(err)
	}
	global, err := Parse("global", map[string]string{"subject": "global {{ .Title }}", "sms": "global sms {{ .Title }}"})
	if err != nil {
		t.Fatal(err)
	}
	set := Merge(receiver, nil, global)
	n := sample(t, "alert-firing")
	m, _, _ := Render(routing.KindWebhook, n, set, Options{})
	if m.Subject != "receiver Error rate above 5%" {
		t.Errorf("subject = %q, want the receiver's", m.Subject)
	}
	m, _, _ = Render(routing.KindSMS, n, set, Options{})
	if m.Subject != "global sms Error rate above 5%" {
		t.Errorf("sms = %q, want the global one", m.Subject)
	}
	if Merge().Has(KeySubject) || (*Set)(nil).Has(KeySubject) {
		t.Error("an empty set has a template")
	}
}

func TestFromSettings(t *testing.T) {
	t.Parallel()
	set, err := FromSettings("ops", map[string]any{"channel": "#ops", "templates": map[string]any{"subject": "{{ .Title }}"}})
	if err != nil || !set.Has(KeySubject) || set.Has(KeyText) {
		t.Fatalf("FromSettings = %v, %v", set, err)
	}
	if set, err := FromSettings("ops", map[string]any{"channel": "#ops"}); set != nil || err != nil {
		t.Errorf("without templates: %v, %v", set, err)
	}
	_, err = FromSettings("ops", map[string]any{"templates": map[string]any{"subject": 3, "text": "{{"}})
	if diff := cmp.Diff([]string{"receivers.ops.settings.templates.subject: must be a string"}, violations(t, err)); diff != "" {
		t.Error(diff)
	}
	_, err = FromSettings("ops", map[string]any{"templates": "{{ .Title }}"})
	if diff := cmp.Diff([]string{"receivers.ops.settings.templates: must be a mapping of template names (subject, text, html, sms) to templates"}, violations(t, err)); diff != "" {
		t.Error(diff)
	}
}

// TestConcurrentRender renders with one set from many goroutines (run with -race).
func TestConcurrentRender(t *testing.T) {
	t.Parallel()
	set, err := Parse("r", map[string]string{"text": "{{ range .Episodes }}{{ .Title }}{{ end }}", "html": "<b>{{ .Title }}</b>"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, s := range Samples() {
				for _, kind := range kinds {
					if _, w, err := Render(kind, s.Notification, set, Options{}); err != nil || len(w) > 0 {
						t.Errorf("Render(%s, %s) = %q, %v", kind, s.Name, w, err)
					}
				}
			}
		})
	}
	wg.Wait()
}
