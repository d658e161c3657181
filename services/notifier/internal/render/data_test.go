package render

import (
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

func TestNewData(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 4, 9, 35, 0, 0, time.UTC)
	ep := func(key, status, severity string, since time.Duration, summary string, labels map[string]string) routing.EpisodeStatus {
		return routing.EpisodeStatus{
			Key: key, Status: status, Since: at.Add(-since),
			Event: routing.Event{
				Type: "floe.monitor.v1.AlertFiring", Environment: "production", Product: "penguinmails", Severity: severity,
				EpisodeKey: key, Resolved: status == routing.StatusResolved, Notice: status == routing.StatusNotice, Time: at, Labels: labels,
				Annotations: map[string]string{"summary": summary, "runbook": "rb"},
			},
		}
	}
	final := func(es routing.EpisodeStatus) routing.EpisodeStatus {
		es.Event.Final = true
		return es
	}
	tests := []struct {
		name string
		n    routing.Notification
		want Data
	}{
		{
			name: "firing and resolved, most severe firing first",
			n: routing.Notification{Reason: routing.ReasonUpdate, At: at, Episodes: []routing.EpisodeStatus{
				ep("a", routing.StatusResolved, routing.SeverityCritical, time.Hour, "A", map[string]string{"team": "mail"}),
				ep("b", routing.StatusFiring, routing.SeverityWarning, time.Minute, "B", map[string]string{"team": "mail"}),
				ep("c", routing.StatusFiring, "", 2*time.Minute, "C", map[string]string{"team": "mail", "x": "1"}),
				ep("d", routing.StatusFiring, routing.SeverityWarning, 2*time.Minute, "D", nil),
			}},
			want: Data{
				Reason: "update", Status: "firing", Marker: "FIRING:3", Severity: "warning",
				Title: "D and 3 more", Scope: "production penguinmails",
				CommonLabels: KV{"type": "floe.monitor.v1.AlertFiring", "environment": "production", "product": "penguinmails"},
			},
		},
		{
			name: "all resolved: the highest of all",
			n: routing.Notification{Reason: routing.ReasonResolved, At: at, Episodes: []routing.EpisodeStatus{
				ep("a", routing.StatusResolved, routing.SeverityCritical, time.Hour, "Same", nil),
				ep("b", routing.StatusResolved, routing.SeverityInfo, time.Hour, "Same", nil),
			}},
			want: Data{
				Reason: "resolved", Status: "resolved", Marker: "RESOLVED", Severity: "critical", Title: "Same",
				Scope: "production penguinmails",
			},
		},
		{
			name: "escalation",
			n: routing.Notification{Reason: routing.ReasonEscalation, At: at, Episodes: []routing.EpisodeStatus{
				ep("a", routing.StatusFiring, routing.SeverityCritical, time.Hour, "Down", nil),
			}},
			want: Data{
				Reason: "escalation", Status: "firing", Marker: "ESCALATED:1", Severity: "critical", Title: "Down",
				Scope: "production penguinmails",
			},
		},
		{
			name: "only final episodes: an outcome, FAILED",
			n: routing.Notification{Reason: routing.ReasonFiring, At: at, Episodes: []routing.EpisodeStatus{
				final(ep("a", routing.StatusFiring, routing.SeverityCritical, time.Hour, "Rolled back", nil)),
				final(ep("b", routing.StatusFiring, routing.SeverityWarning, time.Hour, "Rolled back", nil)),
			}},
			want: Data{
				Reason: "firing", Status: "firing", Marker: "FAILED", Severity: "critical", Title: "Rolled back",
				Scope: "production penguinmails",
			},
		},
		{
			name: "episodes that go on are counted, not the final one nor the notice",
			n: routing.Notification{Reason: routing.ReasonUpdate, At: at, Episodes: []routing.EpisodeStatus{
				final(ep("a", routing.StatusFiring, routing.SeverityCritical, time.Hour, "A", nil)),
				ep("b", routing.StatusFiring, routing.SeverityWarning, time.Minute, "B", nil),
				ep("c", routing.StatusNotice, routing.SeverityWarning, time.Minute, "C", nil),
			}},
			want: Data{
				Reason: "update", Status: "firing", Marker: "FIRING:1", Severity: "critical", Title: "A and 2 more",
				Scope: "production penguinmails",
			},
		},
		{
			name: "only notices: NOTICE, no count",
			n: routing.Notification{Reason: routing.ReasonNotice, At: at, Episodes: []routing.EpisodeStatus{
				ep("a", routing.StatusNotice, routing.SeverityWarning, 0, "Flag killed", nil),
				ep("b", routing.StatusNotice, routing.SeverityInfo, 0, "Flag enabled", nil),
			}},
			want: Data{
				Reason: "notice", Status: "notice", Marker: "NOTICE", Severity: "warning", Title: "Flag killed and 1 more",
				Scope: "production penguinmails",
			},
		},
		{
			name: "a resolution and a notice: RESOLVED",
			n: routing.Notification{Reason: routing.ReasonResolved, At: at, Episodes: []routing.EpisodeStatus{
				ep("a", routing.StatusNotice, routing.SeverityInfo, 0, "Same", nil),
				ep("b", routing.StatusResolved, routing.SeverityWarning, time.Hour, "Same", nil),
			}},
			want: Data{
				Reason: "resolved", Status: "resolved", Marker: "RESOLVED", Severity: "warning", Title: "Same",
				Scope: "production penguinmails",
			},
		},
		{
			name: "no episode",
			n:    routing.Notification{Reason: routing.ReasonRepeat, At: at},
			want: Data{Reason: "repeat", Status: "resolved", Marker: "RESOLVED", Severity: "info", Title: "Floe notification"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := NewData(tt.n, Options{})
			got := Data{
				Reason: d.Reason, Status: d.Status, Marker: d.Marker, Severity: d.Severity, Title: d.Title, Scope: d.Scope,
				CommonLabels: d.CommonLabels.Remove([]string{"severity", "episode"}),
			}
			if len(got.CommonLabels) == 0 {
				got.CommonLabels = nil
			}
			if tt.want.CommonLabels == nil && len(tt.n.Episodes) > 0 {
				tt.want.CommonLabels = KV{"type": "floe.monitor.v1.AlertFiring", "environment": "production", "product": "penguinmails"}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if !d.Time.Equal(at) {
				t.Errorf("Time = %v", d.Time)
			}
		})
	}

	d := NewData(tests[0].n, Options{})
	var keys []string
	for _, e := range d.Episodes {
		keys = append(keys, e.Key+":"+e.Status)
	}
	if diff := cmp.Diff([]string{"d:firing", "b:firing", "c:firing", "a:resolved"}, keys); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(KV{"runbook": "rb"}, d.CommonAnnotations); diff != "" {
		t.Errorf("common annotations (-want +got):\n%s", diff)
	}
	if got := d.Episodes[2].Severity; got != "info" {
		t.Errorf("an event without severity is %q, want info", got)
	}
	if diff := cmp.Diff(KV{"x": "1", "team": "mail"}, d.Episodes[2].Labels.Extra()); diff != "" {
		t.Errorf("Extra (-want +got):\n%s", diff)
	}
	es := d.Episodes
	if len(es.Firing()) != 3 || len(es.Resolved()) != 1 || len(es.First(2)) != 2 || es.More(2) != 2 ||
		len(es.First(-1)) != 0 || len(es.First(99)) != 4 || es.More(99) != 0 || len(es.Changed()) != 0 ||
		len(es.Failed()) != 0 || len(es.Notices()) != 0 {
		t.Error("Episodes methods")
	}

	// Firing (final first: more severe), resolved, then notices; each with its marker.
	d = NewData(routing.Notification{Reason: routing.ReasonUpdate, At: at, Episodes: []routing.EpisodeStatus{
		ep("n", routing.StatusNotice, routing.SeverityCritical, 0, "N", nil),
		ep("r", routing.StatusResolved, routing.SeverityCritical, time.Hour, "R", nil),
		ep("f", routing.StatusFiring, routing.SeverityWarning, time.Minute, "F", nil),
		final(ep("x", routing.StatusFiring, routing.SeverityCritical, time.Minute, "X", nil)),
	}}, Options{})
	keys = nil
	for _, e := range d.Episodes {
		keys = append(keys, e.Key+":"+e.Status+":"+e.Marker)
	}
	if diff := cmp.Diff([]string{"x:firing:FAILED", "f:firing:FIRING", "r:resolved:RESOLVED", "n:notice:NOTICE"}, keys); diff != "" {
		t.Errorf("order and markers (-want +got):\n%s", diff)
	}
	es = d.Episodes
	if len(es.Firing()) != 2 || len(es.Failed()) != 1 || !es.Failed()[0].Final || len(es.Notices()) != 1 || len(es.Resolved()) != 1 {
		t.Error("Episodes methods with a final episode and a notice")
	}
	// A final flag on a resolution or a notice (routing refuses both) does not make it FAILED.
	d = NewData(routing.Notification{At: at, Episodes: []routing.EpisodeStatus{
		final(ep("r", routing.StatusResolved, "", 0, "R", nil)), final(ep("n", routing.StatusNotice, "", 0, "N", nil)),
	}}, Options{})
	if len(d.Episodes.Failed()) != 0 || d.Marker != "RESOLVED" {
		t.Errorf("marker %q, failed %d: a final flag outside a firing episode counts", d.Marker, len(d.Episodes.Failed()))
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"plain", 100, "plain"},
		{"a\r\nb\rc\nd\te", 100, "a\nb\nc\nd\te"},
		{"nul\x00 esc\x1b del\x7f c1\u0085", 100, "nul\uFFFD esc\uFFFD del\uFFFD c1\uFFFD"},
		{"bad\xffutf8", 100, "bad\uFFFDutf8"},
		{"ééééé", 7, "éé…"},
		{strings.Repeat("x", 50), 10, "xxxxxxx…"},
		{"\xff\xff\xff\xff", 8, "\uFFFD"},
		{"\x01\x01\x01\x01\x01", 12, "\uFFFD\uFFFD\uFFFD…"},
		{"abc", 2, ""},
	}
	for _, tt := range tests {
		if got := clean(tt.in, tt.limit); got != tt.want || len(got) > tt.limit {
			t.Errorf("clean(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestTypeTitle(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"floe.deploy.v1.DeploymentFailed":   "Deployment failed",
		"floe.monitor.v1.AlertFiring":       "Alert firing",
		"floe.release.v1.ReleaseRolledBack": "Release rolled back",
		"com.example.HTTPError":             "HTTP error",
		"floe.gate.v1.GateV2Passed":         "Gate v2 passed",
		"snake_case-name":                   "Snake case name",
		"floe.":                             "Event",
		"":                                  "Event",
	} {
		if got := TypeTitle(in); got != want {
			t.Errorf("TypeTitle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFuncs(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 4, 9, 35, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err) // time/tzdata is linked in: every host has the zone
	}
	fm := funcMap(at, berlin, nil)
	call := func(name string, args ...any) any {
		switch f := fm[name].(type) {
		case func(string) string:
			return f(args[0].(string))
		case func(string, []string) (string, error):
			s, _ := f(args[0].(string), args[1].([]string))
			return s
		case func(int, string) string:
			return f(args[0].(int), args[1].(string))
		case func(time.Time) string:
			return f(args[0].(time.Time))
		case func(time.Time, time.Time) string:
			return f(args[0].(time.Time), args[1].(time.Time))
		case func(string, time.Time) (string, error):
			s, _ := f(args[0].(string), args[1].(time.Time))
			return s
		case func(string, any) string:
			return f(args[0].(string), args[1])
		}
		t.Fatalf("no case for %s %T", name, fm[name])
		return nil
	}
	tests := []struct {
		got, want any
	}{
		{call("upper", "abc"), "ABC"},
		{call("lower", "ABC"), "abc"},
		{call("title", "deployment failed-twice"), "Deployment Failed-Twice"},
		{call("trim", "  x \n"), "x"},
		{call("join", ", ", []string{"a", "b"}), "a, b"},
		{call("truncate", 5, "abcdefgh"), "abcd…"},
		{call("truncate", 5, "abcde"), "abcde"},
		{call("truncate", 0, "abc"), ""},
		{call("since", at.Add(-90*time.Second)), "1m"},
		{call("since", at.Add(-(26*time.Hour + 5*time.Minute))), "1d 2h"},
		{call("since", at.Add(-(3*time.Hour + 5*time.Minute))), "3h 5m"},
		{call("since", at.Add(time.Hour)), "0s"},
		{call("since", time.Time{}), ""},
		{call("duration", at, at.Add(48*time.Hour)), "2d"},
		{call("timeFormat", "15:04 MST", at), "11:35 CEST"},
		{call("timeFormat", "RFC3339", at), "2026-05-04T11:35:00+02:00"},
		{call("timeFormat", "RFC3339", time.Time{}), ""},
		{call("default", "none", ""), "none"},
		{call("default", "none", "x"), "x"},
		{call("default", "none", nil), "none"},
		{call("default", "none", 0), "none"},
		{call("default", "none", 3), "3"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
	pf := fm["printf"].(func(string, ...any) (string, error))
	for format, ok := range map[string]bool{"%5d|%-10s": true, "v%d of 2026": true, "%%1000d": true, "%1000d": false, "%*d": false, "%.5000f": false} {
		if _, err := pf(format, 1, "x"); (err == nil) != ok {
			t.Errorf("printf(%q): error %v", format, err)
		}
	}
}

// TestMarkersInEveryKind: a notice reads as a notice, a final episode as an
// outcome, in every kind: subject, text, HTML, SMS and Slack blocks.
func TestMarkersInEveryKind(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 4, 9, 35, 0, 0, time.UTC)
	ep := func(key, typ, status string, final bool, summary string) routing.EpisodeStatus {
		return routing.EpisodeStatus{
			Key: key, Status: status, Changed: true, Since: at.Add(-10 * time.Minute),
			Event: routing.Event{
				Type: typ, Environment: "production", Severity: routing.SeverityWarning, EpisodeKey: key, Time: at.Add(-time.Minute),
				Resolved: status == routing.StatusResolved, Notice: status == routing.StatusNotice, Final: final,
				Annotations: map[string]string{"summary": summary},
			},
		}
	}
	notice := ep("flag/production/dark-mode", "floe.flag.v1.FlagKilled", routing.StatusNotice, false, "Flag dark-mode killed")
	rolledBack := ep("deployment/d1", "floe.deploy.v1.RolledBack", routing.StatusFiring, true, "payments rolled back")
	paused := ep("deployment/d2", "floe.deploy.v1.DeploymentPaused", routing.StatusFiring, false, "Deployment paused")
	resolved := ep("alert/a", "floe.monitor.v1.AlertResolved", routing.StatusResolved, false, "Alert resolved")
	tests := []struct {
		name    string
		reason  routing.Reason
		eps     []routing.EpisodeStatus
		subject string
		lines   []string // in the text, the HTML and the Slack blocks
		status  string   // the Slack Status field
	}{
		{
			name: "a notice", reason: routing.ReasonNotice, eps: []routing.EpisodeStatus{notice},
			subject: "[NOTICE] production: Flag dark-mode killed", lines: []string{"[NOTICE] Flag dark-mode killed", "at 2026-05-04 09:34 UTC"},
			status: "Notice: 1",
		},
		{
			name: "a final episode", reason: routing.ReasonUpdate, eps: []routing.EpisodeStatus{rolledBack},
			subject: "[FAILED] production: payments rolled back", lines: []string{"[FAILED] payments rolled back", "lasted 9m · ended 2026-05-04 09:34 UTC"},
			status: "Failed: 1",
		},
		{
			name: "everything at once", reason: routing.ReasonUpdate, eps: []routing.EpisodeStatus{notice, rolledBack, paused, resolved},
			subject: "[FIRING:1] production: payments rolled back and 3 more",
			lines:   []string{"[FAILED] payments rolled back", "[FIRING] Deployment paused", "[RESOLVED] Alert resolved", "[NOTICE] Flag dark-mode killed"},
			status:  "Firing: 1 · Failed: 1 · Resolved: 1 · Notice: 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := routing.Notification{ID: "n1", GroupKey: "g", Receiver: "ops", Reason: tt.reason, At: at, Episodes: tt.eps}
			for _, kind := range kinds {
				m, warnings, err := Render(kind, n, nil, Options{})
				if err != nil || len(warnings) > 0 {
					t.Fatalf("%s: %v %q", kind, err, warnings)
				}
				if !strings.HasPrefix(m.Subject, tt.subject) {
					t.Errorf("%s subject = %q, want it to begin with %q", kind, m.Subject, tt.subject)
				}
				if kind == routing.KindSMS {
					continue
				}
				bodies := map[string]string{"text": m.Text}
				if kind == routing.KindEmail {
					bodies["html"] = m.HTML
				}
				if kind == routing.KindSlack {
					bodies["blocks"] = strings.Join(textsOf(decodeBlocks(t, m.Blocks), "section"), "\n")
					var fields []string
					for _, o := range textObjects(toAny(decodeBlocks(t, m.Blocks)), "") {
						fields = append(fields, o.text)
					}
					if !slices.Contains(fields, "*Status*\n"+tt.status) {
						t.Errorf("slack: no Status field %q among %q", tt.status, fields)
					}
				}
				for name, body := range bodies {
					for _, l := range tt.lines {
						if !strings.Contains(body, l) {
							t.Errorf("%s %s does not say %q:\n%s", kind, name, l, body)
						}
					}
				}
			}
		})
	}
}
