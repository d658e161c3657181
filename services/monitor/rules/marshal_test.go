package rules_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/penguinmails/floe/services/monitor/rules"
)

// Marshal writes a file Parse reads back to the same set: the defaults,
// and a set with scopes, thresholds per environment, severities and
// durations that are not whole seconds or minutes.
func TestMarshalRoundTrip(t *testing.T) {
	custom, err := rules.Parse([]byte(`metrics:
  errors: sum(rate(floe_proxy_requests_total{code=~"5.."}[30s])) / sum(rate(floe_proxy_requests_total[30s]))
alert_rules:
  - {name: slow, condition: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[1m]))) > 2', severity: warning, channels: [slack], for: 90s, cooldown: 15, environments: [production], enabled: false}
rollback_triggers:
  - {name: errors, metric: errors, operator: ">", threshold: 0.1, duration: 20, action: rollback, cooldown: 1.5, environments: [staging, production], thresholds: {production: 0.05}}
  - {name: latency, metric: response_time_p95, operator: ">", threshold: 2, duration: 2.5, action: alert, severity: critical, channels: [sms], no_data: rollback, apps: [web]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]rules.Set{"default": rules.Default(), "custom": custom} {
		data, err := rules.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := rules.Parse(data)
		if err != nil {
			t.Fatalf("%s: the marshalled file does not parse: %v\n%s", name, err, data)
		}
		if diff := cmp.Diff(s, back, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: after a round trip (-want +got):\n%s\n%s", name, diff, data)
		}
	}
}
