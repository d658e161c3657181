package monitorsvc_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/testkit"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
	"github.com/penguinmails/floe/services/monitor/internal/metrics/prometheustest"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// TestRemotePrometheusSource: a monitor configured with `source: prometheus`
// evaluates a deployment's trigger through the Prometheus HTTP API (a real
// engine behind Prometheus' own response codec), sends the bearer token read
// from its file, scopes the query to the deployment's version, and records
// the rollback when the breach lasts.
func TestRemotePrometheusSource(t *testing.T) {
	store, err := metrics.OpenEmbedded(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	prom := &prometheustest.Server{Store: store}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Requests of two versions: 1.2.0 (the canary) fails 30%, 1.1.0 none.
	ctx, stopTraffic := context.WithCancel(context.Background())
	defer stopTraffic()
	go func() {
		var n float64
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case at := <-tick.C:
				n += 10
				for _, s := range []struct {
					version, code string
					v             float64
				}{{"1.2.0", "500", n * 0.3}, {"1.2.0", "200", n * 0.7}, {"1.1.0", "200", n}} {
					_ = store.Append(ctx, map[string]string{"__name__": "reqs", "environment": "staging", "version": s.version, "code": s.code}, at, s.v)
				}
			}
		}
	}()

	f := monitorsvc.File{Source: "prometheus", Interval: 200 * time.Millisecond, RuleSet: &rules.Set{}}
	f.Prometheus.URL, f.Prometheus.BearerTokenFile = srv.URL, tokenFile
	e := startEnv(t, f)
	trigger := &monitorv1.RollbackTrigger{
		Name: "errors", Metric: `sum(rate(reqs{code="500"}[2s])) / sum(rate(reqs[2s]))`, Operator: ">", Threshold: 0.1,
		Duration: durationpb.New(time.Second), Action: "rollback", Cooldown: durationpb.New(time.Hour), Enabled: true,
	}
	if _, err := e.client("ops").CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: trigger}); err != nil {
		t.Fatal(err)
	}
	newDeployer(t, e).append("dep-remote", started("dep-remote", "1.2.0"))

	var fired *monitorv1.TriggerStatus
	testkit.Eventually(t, func() error {
		resp, err := e.client("sup").GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-remote"})
		if err != nil {
			return fmt.Errorf("GetMonitoring dep-remote: %w", err)
		}
		if n := len(resp.GetMonitoring().GetTriggers()); n != 1 {
			return fmt.Errorf("dep-remote is monitored by %d triggers, want 1", n)
		}
		fired = resp.GetMonitoring().GetTriggers()[0]
		if fired.GetState() != "fired" {
			return fmt.Errorf("trigger %s is %q (last value %v), want fired through the remote source", fired.GetTrigger(), fired.GetState(), fired.GetLastValue())
		}
		return nil
	})
	if fired.GetLastValue() < 0.25 || fired.GetLastValue() > 0.35 {
		t.Errorf("observed %v, want the canary's 0.3 (the stable version's requests must not count)", fired.GetLastValue())
	}
	queries, authz := prom.Queries()
	if len(queries) == 0 {
		t.Fatal("no query reached the Prometheus API")
	}
	for i, q := range queries {
		if !strings.Contains(q, `version="1.2.0"`) || !strings.Contains(q, `environment="staging"`) {
			t.Errorf("query %q is not scoped to the deployment", q)
		}
		if authz[i] != "Bearer s3cret-token" {
			t.Errorf("Authorization %q, want the token from the file", authz[i])
		}
	}
}
