package metrics

import (
	"context"
	"testing"
	"time"
)

func TestScope(t *testing.T) {
	t.Parallel()
	lbls := map[string]string{"environment": "staging", "version": "1.1.0"}
	tests := []struct{ in, want string }{
		{`rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05`,
			`rate(http_requests_total{environment="staging",status=~"5..",version="1.1.0"}[5m]) / rate(http_requests_total{environment="staging",version="1.1.0"}[5m]) > 0.05`},
		{`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))`,
			`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{environment="staging",version="1.1.0"}[1m])))`},
		{`error_rate`, `error_rate{environment="staging",version="1.1.0"}`},
		// An existing matcher on the same label stays: both must hold.
		{`up{environment="prod"}`, `up{environment="prod",environment="staging",version="1.1.0"}`},
		{`vector(1)`, `vector(1)`},
	}
	for _, tt := range tests {
		got, err := Scope(tt.in, lbls)
		if err != nil {
			t.Fatalf("Scope(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("Scope(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
	if _, err := Scope(`rate(x[`, lbls); err == nil {
		t.Error("Scope of invalid PromQL: no error")
	}
	if got, err := Scope(`sum(x)`, nil); err != nil || got != `sum(x)` {
		t.Errorf("Scope without labels = %q, %v", got, err)
	}
}

// TestScopeSelectsOneDeployment evaluates a scoped ratio over two versions'
// series: only the scoped version's errors count.
func TestScopeSelectsOneDeployment(t *testing.T) {
	t.Parallel()
	e, err := OpenEmbedded(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	for i := 0; i <= 12; i++ {
		at := t0.Add(time.Duration(i) * 5 * time.Second)
		for _, s := range []struct {
			version, code string
			perStep       float64
		}{{"1.0.0", "200", 10}, {"1.1.0", "200", 8}, {"1.1.0", "500", 2}} {
			l := map[string]string{"__name__": "reqs", "environment": "staging", "version": s.version, "code": s.code}
			if err := e.Append(ctx, l, at, s.perStep*float64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	expr := `sum(rate(reqs{code=~"5.."}[30s])) / sum(rate(reqs[30s]))`
	at := t0.Add(60 * time.Second)
	for version, want := range map[string]float64{"1.1.0": 0.2, "1.0.0": -1} {
		q, err := Scope(expr, map[string]string{"environment": "staging", "version": version})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Query(ctx, q, at)
		if err != nil {
			t.Fatal(err)
		}
		if want < 0 {
			if len(res) != 0 {
				t.Errorf("%s: %v, want no data (no errors series for it)", version, res)
			}
			continue
		}
		if len(res) != 1 || res[0].Value < want-1e-9 || res[0].Value > want+1e-9 {
			t.Errorf("%s: %v, want %v", version, res, want)
		}
	}
}

func FuzzScope(f *testing.F) {
	for _, s := range []string{`rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05`, `sum by (le) (rate(x_bucket[1m]))`, `x offset 5m`, `vector(1)`, `{__name__=~"a.*"}`, `x @ 100`, `rate(x[5m:1m])`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		out, err := Scope(expr, map[string]string{"environment": "e", "version": "v"})
		if err != nil {
			if Validate(expr) == nil {
				t.Fatalf("Scope refused valid PromQL %q: %v", expr, err)
			}
			return
		}
		// What Scope prints must parse, and scoping again must be stable in shape.
		if err := Validate(out); err != nil {
			t.Fatalf("Scope(%q) = %q, which does not parse: %v", expr, out, err)
		}
	})
}

// Restrict limits every selector to the listed label values, quoted literally.
func TestRestrict(t *testing.T) {
	got, err := Restrict(`sum by (environment) (rate(x{code=~"5.."}[5m])) / sum by (environment) (rate(x[5m])) > 0.05`, "environment", []string{"production", "dr.eu"})
	if err != nil {
		t.Fatal(err)
	}
	want := `sum by (environment) (rate(x{code=~"5..",environment=~"production|dr\\.eu"}[5m])) / sum by (environment) (rate(x{environment=~"production|dr\\.eu"}[5m])) > 0.05`
	if got != want {
		t.Errorf("Restrict:\n got %s\nwant %s", got, want)
	}
	if got, _ := Restrict("up == 0", "app", nil); got != "up == 0" {
		t.Errorf("no values: %q, want the expression unchanged", got)
	}
	if _, err := Restrict("rate(", "app", []string{"a"}); err == nil {
		t.Error("invalid PromQL: no error")
	}
}
