package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// TestBakeRollsBack: monitoring goes on after a deployment succeeds, for
// the environment's bake (30 s here). A version healthy during its canary
// that starts failing once it carries all the traffic is rolled back during
// its bake — a new deployment puts the previous version back and the
// deployment is recorded as rolled back, with the trigger that fired — and
// the release shows rolled back there. A version that stays healthy ends its
// bake and its monitoring ends (outcome baked).
func TestBakeRollsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	writeFile(t, dataDir, "rules.yaml", `metrics:
  error_rate: sum(rate(floe_proxy_requests_total{code=~"5.."}[10s])) / sum(rate(floe_proxy_requests_total[10s]))
rollback_triggers:
  - {name: error_rate, metric: error_rate, operator: ">", threshold: 0.1, duration: 3, action: rollback, cooldown: 60}
`)
	monitorCfg := writeFile(t, dataDir, "monitor.yaml", "interval: 1s\nembedded: {targets: [{url: self}]}\nrules: rules.yaml\nbake: {development: 30s}\n")
	// -late versions answer well for 15 s, then fail half their requests.
	deployerCfg := writeFile(t, dataDir, "deployer-bake.yaml", `local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
strategies:
  development:
    canary: {steps: ["setWeight 50", "pause 2s"]}
version_patterns:
  - {match: "*-late*", config: {DEMOAPP_ERROR_RATE: "0.5", DEMOAPP_FAIL_AFTER: "15s"}}
`)
	d := startDev(t, dataDir, "--monitor-config", monitorCfg, "--deployer-config", deployerCfg)
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	cli := func(args ...string) (string, error) { return runCLI(t, ctx, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("floe %s: %v\n%s\nserver stderr (tail):\n%s", strings.Join(args, " "), err, out, tail(d.stderr.String(), 4000))
		}
		return out
	}

	stable := createRelease(t, must, "1.0.0", "major")
	must("--as", "bob", "release", "promote", stable, "--env", "development", "--strategy", "big-bang")
	waitEnvStatus(t, cli, stable, "development", "RELEASE_STATUS_DEPLOYED")
	stableDep := stable + "-development-1"
	proxy := "http://" + proxyAddr(t, dataDir, "development") + "/"
	var sent, failed atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go sendLoad(loadCtx, proxy, 50, &sent, &failed)

	late := createRelease(t, must, "1.1.0-late.1", "minor")
	must("--as", "bob", "release", "promote", late, "--env", "development", "--strategy", "canary")
	lateDep := late + "-development-1"
	waitEnvStatus(t, cli, late, "development", "RELEASE_STATUS_DEPLOYED")
	// Succeeded, healthy, and baking: then it breaks, and is rolled back.
	waitEnvStatus(t, cli, late, "development", "RELEASE_STATUS_ROLLED_BACK")
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		resp, err := http.Get(proxy)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if v := resp.Header.Get("X-Floe-Version"); v != "1.0.0" {
			return fmt.Errorf("the proxy serves %q, want 1.0.0 back", v)
		}
		return nil
	})
	stopLoad()
	t.Logf("load: %d requests, %d failed", sent.Load(), failed.Load())

	// The log explains it: the bake, the trigger that fired during it, the
	// deployment that put 1.0.0 back, and the rollback it records.
	_, js := d.mustNATS(t, "reader")
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/e2e", Aggregates: []string{"deployment", "monitoring"}})
	if err != nil {
		t.Fatal(err)
	}
	load := func(agg, id string) []*eventstore.RecordedEvent {
		t.Helper()
		s, err := store.Load(ctx, agg, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.Events
	}
	names := func(evs []*eventstore.RecordedEvent) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.Name)
		}
		return out
	}
	mon := load("monitoring", lateDep)
	var bakeAt, triggeredAt uint64
	var rt monitorv1.RollbackTriggered
	for _, e := range mon {
		switch e.Name {
		case "BakeStarted":
			bakeAt = e.Seq
		case "RollbackTriggered":
			triggeredAt = e.Seq
			if err := e.DecodeInto(&rt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if bakeAt == 0 || triggeredAt < bakeAt || !rt.GetDuringBake() || rt.GetTrigger() != "error_rate" {
		t.Fatalf("monitoring of %s: %v; RollbackTriggered %v (want one during the bake, after BakeStarted)", lateDep, names(mon), &rt)
	}
	dep := load("deployment", lateDep)
	if n := names(dep); n[len(n)-2] != "DeploymentSucceeded" || n[len(n)-1] != "RolledBack" {
		t.Fatalf("deployment %s: %v, want it to end succeeded then rolled back", lateDep, n)
	}
	var rb deployv1.RolledBack
	if err := dep[len(dep)-1].DecodeInto(&rb); err != nil {
		t.Fatal(err)
	}
	if rb.GetRestoredVersion() != "1.0.0" || !strings.Contains(rb.GetReason(), "during its bake") || !strings.Contains(rb.GetReason(), "error_rate") {
		t.Errorf("RolledBack: %v", &rb)
	}
	back := load("deployment", lateDep+"-rollback")
	var started deployv1.DeploymentStarted
	if len(back) == 0 || back[0].DecodeInto(&started) != nil || started.GetRollbackOf() != lateDep || started.GetVersion() != "1.0.0" || names(back)[len(back)-1] != "DeploymentSucceeded" {
		t.Errorf("the rollback deployment: %v %v", names(back), &started)
	}
	if back[0].CausationID == "" {
		t.Errorf("the rollback deployment names no cause")
	}

	// The healthy version baked: its monitoring ended when its bake did.
	testkit.EventuallyWithin(t, 60*time.Second, func() error {
		out, err := cli("monitor", "status", stableDep, "-o", "json")
		if err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		if !strings.Contains(out, "MONITORING_OUTCOME_BAKED") {
			return fmt.Errorf("monitoring of %s has not ended with its bake:\n%s", stableDep, out)
		}
		return nil
	})
	// As of log position 1 the monitoring did not exist yet.
	if out, err := cli("monitor", "status", stableDep, "--at", "1"); err == nil || !strings.Contains(out+err.Error(), "not found") {
		t.Errorf("monitor status --at 1: %v\n%s", err, out)
	}
}
