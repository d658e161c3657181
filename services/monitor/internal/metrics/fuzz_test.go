package metrics_test

import (
	"testing"

	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

// FuzzValidate: rule expressions come from operators and API clients;
// validating one never panics.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05`,
		`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 5`,
		`up == 0`, `sum(`, `{`, `rate(x[5m`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		_ = metrics.Validate(expr)
	})
}
