package render

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// FuzzParse: no template source makes Parse or Render panic or hang; a
// refused source gets violations naming the template, in words without Go's
// "template:" prefix; an accepted one renders every sample for every kind.
func FuzzParse(f *testing.F) {
	for _, src := range []string{
		defaultSubject, defaultText, defaultSMS, defaultHTML,
		"{{ .Title }}", "{{", "}}", "{{ range 100000000 }}{{ end }}x", `{{ define "a" }}{{ template "a" }}{{ end }}`,
		"{{ .Nope }}", `{{ printf "%*d" 99999 1 }}`, "<a href='{{ .URL }}'>", "{{ range .Episodes }}{{ break }}{{ end }}ok",
		"{{ $x := 1 }}{{ range $x }}{{ end }}x", "{{ with .Episodes.Firing }}{{ len . }}{{ else }}none{{ end }}",
		"{{ block \"x\" . }}y{{ end }}", "{{ call .Episodes.Firing }}", "{{ index .CommonLabels \"environment\" }}",
	} {
		for i := range Keys {
			f.Add(uint8(i), src)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, src string) {
		key := Keys[int(k)%len(Keys)]
		set, err := Parse("fuzz", map[string]string{key: src})
		if err != nil {
			var inv *errs.InvalidArgumentError
			if !errors.As(err, &inv) || len(inv.Violations) != 1 {
				t.Fatalf("error %v (%T) is not one violation", err, err)
			}
			v := inv.Violations[0]
			if v.Field != "fuzz."+key || v.Description == "" || strings.Contains(v.Description, "template:") {
				t.Fatalf("unclear violation %q: %q", v.Field, v.Description)
			}
			return
		}
		for _, s := range Samples() {
			for _, kind := range kinds {
				m, _, err := Render(kind, s.Notification, set, Options{ExternalURL: sampleURL})
				if err != nil {
					t.Fatalf("Render(%s, %s): %v", kind, s.Name, err)
				}
				if kind == routing.KindSlack {
					checkSlack(t, m)
				}
				if m.Subject == "" || strings.ContainsAny(m.Subject, "\n\r") {
					t.Fatalf("subject %q is empty or not one line", m.Subject)
				}
			}
		}
	})
}

// FuzzRender: whatever the values of an event, the default messages stay
// within every limit, Slack blocks are valid JSON whose mrkdwn holds no
// unescaped control character, and the HTML holds no <script.
func FuzzRender(f *testing.F) {
	for _, v := range hostileValues {
		if len(v) < 1000 {
			f.Add(v, v, v, v, v, v)
		}
	}
	f.Add("Deployment failed", "the new version did not become healthy", "region", "eu-west-1", "health check failed", "production")
	f.Fuzz(func(t *testing.T, summary, description, key, value, reason, env string) {
		at := time.Date(2026, 5, 4, 9, 35, 0, 0, time.UTC)
		ep := func(id string, resolved bool) routing.EpisodeStatus {
			status := routing.StatusFiring
			if resolved {
				status = routing.StatusResolved
			}
			return routing.EpisodeStatus{
				Key: id, Status: status, Changed: true, Since: at.Add(-time.Hour),
				Event: routing.Event{
					Type: "floe.deploy.v1." + key, Environment: env, Product: value, Severity: routing.SeverityWarning,
					EpisodeKey: id, Resolved: resolved, Time: at,
					Labels: map[string]string{key: value, "x": summary},
					Annotations: map[string]string{
						"summary": summary, "description": description, "reason": reason, "url": value, key: value,
					},
				},
			}
		}
		n := routing.Notification{
			ID: "n", GroupKey: key, Generation: value, GroupLabels: map[string]string{key: value}, Receiver: reason,
			Reason: routing.ReasonUpdate, At: at, Episodes: []routing.EpisodeStatus{ep(summary, false), ep(description, true)},
		}
		for _, kind := range kinds {
			m, warnings, err := Render(kind, n, nil, Options{ExternalURL: value})
			if err != nil || len(warnings) > 0 {
				t.Fatalf("Render(%s) = %q, %v", kind, warnings, err)
			}
			checkMessage(t, kind, m)
		}
	})
}
