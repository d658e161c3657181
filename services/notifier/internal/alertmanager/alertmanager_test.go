package alertmanager_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/notifier/internal/alertmanager"
)

// sample is a version 4 payload as Alertmanager sends it (the shape of
// prometheus/alertmanager notify/webhook.Message).
const sample = `{
  "receiver": "floe",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "ProbeFailure", "instance": "https://server.example.org", "job": "http_checks", "severity": "critical"},
      "annotations": {"description": "Instance has been down for over 5m.", "summary": "BlackBox Probe Failure"},
      "startsAt": "2023-02-06T13:08:45.828Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0\u0026g0.tab=1",
      "fingerprint": "1a30ba71cca2921f"
    },
    {
      "status": "resolved",
      "labels": {"alertname": "DiskFull", "severity": "Warning"},
      "annotations": {},
      "startsAt": "2023-02-06T12:00:00Z",
      "endsAt": "2023-02-06T13:00:00Z",
      "generatorURL": "",
      "fingerprint": "00ff00ff00ff00ff"
    }
  ],
  "groupLabels": {"alertname": "ProbeFailure"},
  "commonLabels": {"job": "http_checks"},
  "commonAnnotations": {},
  "externalURL": "http://prometheus.example.org:9093",
  "version": "4",
  "groupKey": "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}",
  "truncatedAlerts": 0,
  "orgId": 1
}`

func TestDecodeSample(t *testing.T) {
	t.Parallel()
	n, err := alertmanager.Decode(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := &alertmanager.Notification{
		Receiver: "floe", Status: alertmanager.Firing,
		GroupLabels:       map[string]string{"alertname": "ProbeFailure"},
		CommonLabels:      map[string]string{"job": "http_checks"},
		CommonAnnotations: map[string]string{},
		ExternalURL:       "http://prometheus.example.org:9093",
		GroupKey:          `{}/{severity="critical"}:{alertname="ProbeFailure"}`,
		Alerts: []alertmanager.Alert{
			{
				Status: alertmanager.Firing, Name: "ProbeFailure", Severity: alertmanager.SeverityCritical, SeverityLabel: "critical",
				Labels:       map[string]string{"alertname": "ProbeFailure", "instance": "https://server.example.org", "job": "http_checks", "severity": "critical"},
				Annotations:  map[string]string{"description": "Instance has been down for over 5m.", "summary": "BlackBox Probe Failure"},
				StartsAt:     time.Date(2023, 2, 6, 13, 8, 45, 828_000_000, time.UTC),
				GeneratorURL: "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1",
				Fingerprint:  "1a30ba71cca2921f",
			},
			{
				Status: alertmanager.Resolved, Name: "DiskFull", Severity: alertmanager.SeverityWarning, SeverityLabel: "Warning",
				Labels:      map[string]string{"alertname": "DiskFull", "severity": "Warning"},
				Annotations: map[string]string{},
				StartsAt:    time.Date(2023, 2, 6, 12, 0, 0, 0, time.UTC),
				EndsAt:      time.Date(2023, 2, 6, 13, 0, 0, 0, time.UTC),
				Fingerprint: "00ff00ff00ff00ff",
			},
		},
	}
	if diff := cmp.Diff(want, n); diff != "" {
		t.Errorf("notification (-want +got):\n%s", diff)
	}
	if got := n.Firing(); len(got) != 1 || got[0].Summary() != "BlackBox Probe Failure" {
		t.Errorf("firing = %+v", got)
	}
	if got := n.ResolvedAlerts(); len(got) != 1 || got[0].Summary() != "DiskFull" {
		t.Errorf("resolved = %+v", got)
	}
}

func TestSeverityOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		label string
		want  alertmanager.Severity
	}{
		{"critical", alertmanager.SeverityCritical},
		{" PAGE ", alertmanager.SeverityCritical},
		{"warning", alertmanager.SeverityWarning},
		{"error", alertmanager.SeverityWarning},
		{"info", alertmanager.SeverityInfo},
		{"none", alertmanager.SeverityInfo},
		{"", alertmanager.SeverityUnknown},
		{"spicy", alertmanager.SeverityUnknown},
	}
	for _, tt := range tests {
		if got := alertmanager.SeverityOf(tt.label); got != tt.want {
			t.Errorf("SeverityOf(%q) = %s, want %s", tt.label, got, tt.want)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		fields []string
	}{
		{"not JSON", `{"version":`, []string{"body"}},
		{"trailing data", `{"version":"4"} {}`, []string{"body"}},
		{"wrong type", `{"version":"4","alerts":{}}`, []string{"alerts"}},
		{"empty", `{}`, []string{"version", "status", "alerts"}},
		{"old version", `{"version":"3","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2023-02-06T12:00:00Z"}]}`, []string{"version"}},
		{
			"bad alerts",
			`{"version":"4","status":"firing","externalURL":"ftp://x","alerts":[
			  {"status":"firing","labels":{"a":"b"},"startsAt":"2023-02-06T12:00:00Z"},
			  {"status":"burning","labels":{},"startsAt":"yesterday","endsAt":"2023-02-06T12:00:00Z","generatorURL":"javascript:alert(1)","fingerprint":"zz"},
			  {"status":"resolved","labels":{"a":"b"},"startsAt":"2023-02-06T12:00:00Z","endsAt":"2023-02-06T11:00:00Z"}
			]}`,
			[]string{"externalURL", "alerts[1].status", "alerts[1].labels", "alerts[1].startsAt", "alerts[1].generatorURL", "alerts[1].fingerprint", "alerts[2].endsAt"},
		},
		{"resolved without an end", `{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"a":"b"},"startsAt":"2023-02-06T12:00:00Z","endsAt":"0001-01-01T00:00:00Z"}]}`, []string{"alerts[0].endsAt"}},
		{"bad UTF-8 label", "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"a\":\"\xff\"},\"startsAt\":\"2023-02-06T12:00:00Z\"}]}", []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := alertmanager.Parse([]byte(tt.body))
			var ia *errs.InvalidArgumentError
			if !errors.As(err, &ia) {
				t.Fatalf("Parse = %+v, %v; want an InvalidArgumentError", n, err)
			}
			var got []string
			for _, v := range ia.Violations {
				got = append(got, v.Field)
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

func TestDecodeTooLarge(t *testing.T) {
	t.Parallel()
	body := `{"version":"4","pad":"` + strings.Repeat("x", alertmanager.MaxBody) + `"}`
	_, err := alertmanager.Decode(strings.NewReader(body))
	var tl *errs.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v, want TooLargeError", err)
	}
}

// FuzzParse: whatever the bytes, Parse never panics, and either returns a
// notification that holds the invariants or an error naming a field.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2023-02-06T12:00:00Z"}]}`))
	f.Add([]byte(`{"version":"4","alerts":[null,{"labels":null}]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := alertmanager.Parse(body)
		if err != nil {
			var ia *errs.InvalidArgumentError
			var tl *errs.TooLargeError
			switch {
			case errors.As(err, &ia):
				for _, v := range ia.Violations {
					if v.Field == "" {
						t.Fatalf("violation without a path: %v", err)
					}
				}
			case errors.As(err, &tl):
			default:
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		if len(n.Alerts) == 0 || (n.Status != alertmanager.Firing && n.Status != alertmanager.Resolved) {
			t.Fatalf("accepted %+v", n)
		}
		for _, a := range n.Alerts {
			if a.StartsAt.IsZero() || len(a.Labels) == 0 || (!a.EndsAt.IsZero() && a.EndsAt.Before(a.StartsAt)) {
				t.Fatalf("accepted alert %+v", a)
			}
		}
	})
}
