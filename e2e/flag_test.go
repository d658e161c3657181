package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
)

// TestFeatureFlagPromotionRollsBack promotes a release with the
// feature-flag strategy on `floe dev`: the deployer sends the binary out
// dark, then ramps the product's flag 10 → 50 → 100 % through the flag
// service, each step completing once the flag service has applied it. Load
// starts only once the flag is fully on; the version fails a fifth of its
// requests, the monitor's error_rate trigger fires during the bake, the
// deployment rolls back, the release is rolled back and the flag service
// reverts the flag: its definition is the one before the promotion, and its
// history shows every change with its deployment, release and cause.
func TestFeatureFlagPromotionRollsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	write := func(name, content string) string { return writeFile(t, dataDir, name, content) }
	monitorCfg := errorRateMonitor(t, dataDir)
	// Development ramps the flag (named after the product: no flag: setting)
	// a second apart, then bakes long enough for the trigger to act first.
	deployerCfg := write("deployer-flag.yaml", `local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
flag_timeout: 20s
strategies:
  development:
    feature_flag: {rollout_percentages: [10, 50, 100], interval: 1s, bake: 5m}
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

	// The product's flag, off for everyone.
	flagFile := write("search.json", `{"key": "search", "description": "the new search", "owner": "growth",
  "variants": {"on": true, "off": false}, "defaultVariant": "off"}`)
	must("--as", "alice", "flags", "create", "--env", "development", "--file", flagFile, "--reason", "the new search ships dark")
	before := flagDefinition(t, must("flags", "get", "search", "--env", "development"))

	// A healthy version runs in development.
	stable := createRelease(t, must, "1.0.0", "major")
	must("--as", "bob", "release", "promote", stable, "--env", "development", "--strategy", "big-bang")
	waitEnvStatus(t, cli, stable, "development", "RELEASE_STATUS_DEPLOYED")

	// A version failing a fifth of its requests, behind the flag.
	faulty := createRelease(t, must, "1.1.0-faulty.1", "minor")
	must("--as", "bob", "release", "promote", faulty, "--env", "development", "--strategy", "feature-flag")
	depID := faulty + "-development-1"

	// 10 → 50 → 100 %, each applied under the release by the deployment's step.
	testkit.EventuallyWithin(t, 90*time.Second, func() error {
		h := flagHistory(t, must)
		if n := countPrefix(h, "rollout: on for 100%"); n != 1 {
			return fmt.Errorf("the flag is not at 100%% yet: %v", summaries(h))
		}
		return nil
	})
	// The deployment bakes with the flag fully on: traffic now.
	var sent, failed atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go sendLoad(loadCtx, "http://"+proxyAddr(t, dataDir, "development")+"/", 50, &sent, &failed)

	waitEnvStatus(t, cli, faulty, "development", "RELEASE_STATUS_ROLLED_BACK")
	testkit.EventuallyWithin(t, 60*time.Second, func() error {
		if h := flagHistory(t, must); countPrefix(h, "reverted:") != 1 {
			return fmt.Errorf("the flag is not reverted yet: %v", summaries(h))
		}
		return nil
	})
	stopLoad()
	t.Logf("load: %d requests, %d failed", sent.Load(), failed.Load())

	// The flag is as it was before the promotion.
	after := flagDefinition(t, must("flags", "get", "search", "--env", "development"))
	if !reflect.DeepEqual(before, after) {
		t.Errorf("flag after the rollback:\n%v\nbefore the promotion:\n%v", after, before)
	}
	// Its history: every change, with the deployment step, the release and the cause.
	h := flagHistory(t, must)
	var got []string
	for _, e := range h {
		got = append(got, e.Summary+" | "+e.Reason+" | "+e.ReleaseID)
	}
	if len(got) != 5 {
		t.Fatalf("history: %d entries, want created, three rollouts, reverted:\n%s", len(got), strings.Join(got, "\n"))
	}
	steps := flagStepIndexes(t, ctx, d, depID)
	want := []string{
		"created (enabled, default off) | the new search ships dark | ",
		fmt.Sprintf("rollout: on for 10%% | deployment %s step %d: rollout 10%% | %s", depID, steps[0], faulty),
		fmt.Sprintf("rollout: on for 50%% | deployment %s step %d: rollout 50%% | %s", depID, steps[1], faulty),
		fmt.Sprintf("rollout: on for 100%% | deployment %s step %d: rollout 100%% | %s", depID, steps[2], faulty),
	}
	if !slices.Equal(want, got[:4]) {
		t.Errorf("history:\n%s\nwant it to begin with:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rev := got[4]; !strings.HasPrefix(rev, "reverted: release "+faulty+" was rolled back (enabled) | error_rate: ") || !strings.HasSuffix(rev, " | "+faulty) {
		t.Errorf("history's revert: %q", rev)
	}

	// The log: each rollout caused by its step, the revert by the release's rollback, the rollback by the monitor.
	_, js := d.mustNATS(t, "reader")
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/e2e", Aggregates: []string{"deployment", "flagset", "release"}})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := store.Load(ctx, "deployment", depID, nil)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*eventstore.RecordedEvent{}
	var rollback deployv1.RollbackStarted
	for _, e := range dep.Events {
		byID[e.ID] = e
		if e.Name == "RollbackStarted" {
			if err := e.DecodeInto(&rollback); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rollback.GetTrigger() != "monitor" || !strings.HasPrefix(rollback.GetReason(), "error_rate:") {
		t.Errorf("RollbackStarted %v; want the monitor's error_rate trigger", &rollback)
	}
	rel, err := store.Load(ctx, "release", faulty, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rel.Events {
		byID[e.ID] = e
	}
	flags, err := store.Load(ctx, "flagset", "development", nil)
	if err != nil {
		t.Fatal(err)
	}
	causes := map[string]int{}
	for _, e := range flags.Events {
		switch e.Name {
		case "RolloutSet", "FlagReverted":
			c := byID[e.CausationID]
			if c == nil {
				t.Errorf("%s at %d: cause %s is neither the deployment's nor the release's event", e.Name, e.Seq, e.CausationID)
				continue
			}
			causes[e.Name+" ← "+c.Name]++
			if e.CorrelationID != dep.Events[0].CorrelationID {
				t.Errorf("%s at %d: correlation %q, want the promotion's %q", e.Name, e.Seq, e.CorrelationID, dep.Events[0].CorrelationID)
			}
		}
	}
	if want := map[string]int{"RolloutSet ← DeploymentStepStarted": 3, "FlagReverted ← ReleaseRolledBack": 1}; !maps.Equal(want, causes) {
		t.Errorf("causes of the flag's changes: %v, want %v", causes, want)
	}
	checkCausalChain(t, ctx, store, dep.Events[0])
	if out, err := cli("audit", "verify"); err != nil || !strings.Contains(out, "OK") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
	if out, err := cli("audit", "info"); err != nil || !strings.Contains(out, "events,") || !strings.Contains(out, "checkpoint key") {
		t.Errorf("audit info: %v\n%s", err, out)
	}

	// The rest of the flag API from the CLI: watch the set while its definition is updated (a stale
	// position refused), evaluate every flag at once, schedule a change and cancel it.
	watchCtx, stopWatch := context.WithCancel(ctx)
	watch := exec.CommandContext(watchCtx, floeBinary(t), "flags", "watch", "--env", "development")
	watch.Env = append(os.Environ(), env...)
	watched := &testkit.SyncBuffer{}
	watch.Stdout, watch.Stderr = watched, watched
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stopWatch(); _ = watch.Wait() }()
	testkit.EventuallyWithin(t, 20*time.Second, func() error {
		if !strings.Contains(watched.String(), "search=") {
			return fmt.Errorf("flags watch shows no set yet: %q", watched.String())
		}
		return nil
	})
	var current struct {
		Position string `json:"position"`
	}
	cur := must("flags", "get", "search", "--env", "development")
	if err := json.Unmarshal([]byte(cur), &current); err != nil || current.Position == "" {
		t.Fatalf("flags get: %v\n%s", err, cur)
	}
	edited := write("search-edited.json", strings.Replace(cur, `"the new search"`, `"the new search, v2"`, 1))
	if out, err := cli("--as", "alice", "flags", "update", "--env", "development", "--file", edited, "--reason", "copy", "--expected-position", "1"); err == nil {
		t.Errorf("flags update at a stale position succeeded:\n%s", out)
	}
	must("--as", "alice", "flags", "update", "--env", "development", "--file", edited, "--reason", "copy", "--expected-position", current.Position)
	if out := must("flags", "get", "search", "--env", "development"); !strings.Contains(out, "the new search, v2") {
		t.Errorf("after flags update:\n%s", out)
	}
	testkit.EventuallyWithin(t, 20*time.Second, func() error {
		if n := strings.Count(watched.String(), "── "); n < 2 {
			return fmt.Errorf("flags watch printed %d states, want the update too:\n%s", n, watched.String())
		}
		return nil
	})
	if out := must("flags", "eval-all", "--env", "development", "--context", "targetingKey=user-1"); !strings.Contains(out, "search") || !strings.Contains(out, "flag set version") {
		t.Errorf("flags eval-all:\n%s", out)
	}
	must("--as", "alice", "flags", "schedule", "search", "--env", "development", "--at", "2h", "--state", "disabled", "--reason", "end of the trial")
	var sched struct {
		Scheduled []struct {
			ID string `json:"id"`
		} `json:"scheduled"`
	}
	if out := must("flags", "get", "search", "--env", "development"); json.Unmarshal([]byte(out), &sched) != nil || len(sched.Scheduled) != 1 {
		t.Fatalf("the scheduled change:\n%s", out)
	}
	must("--as", "alice", "flags", "cancel-scheduled", "search", "--env", "development", "--id", sched.Scheduled[0].ID, "--reason", "trial extended")
	if out := must("flags", "get", "search", "--env", "development"); strings.Contains(out, sched.Scheduled[0].ID) {
		t.Errorf("the scheduled change is still there after cancel-scheduled:\n%s", out)
	}
}

func createRelease(t *testing.T, must func(...string) string, version, typ string) string {
	t.Helper()
	out := must("--as", "alice", "release", "create", "--product", "search", "--version", version, "--type", typ,
		"--title", "Search "+version, "--change", "feature:New search", "-o", "json")
	var created struct {
		Release struct {
			ID string `json:"id"`
		} `json:"release"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Release.ID == "" {
		t.Fatalf("release create output: %v\n%s", err, out)
	}
	return created.Release.ID
}

// flagDefinition is a flag's JSON without what the log stamps on each change.
func flagDefinition(t *testing.T, out string) map[string]any {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("flag JSON: %v\n%s", err, out)
	}
	delete(f, "position")
	delete(f, "updatedAt")
	delete(f, "updatedBy")
	return f
}

type historyEntry struct {
	Summary   string `json:"summary"`
	Reason    string `json:"reason"`
	ReleaseID string `json:"releaseId"`
}

func flagHistory(t *testing.T, must func(...string) string) []historyEntry {
	t.Helper()
	out := must("flags", "history", "search", "--env", "development", "-o", "json")
	var h struct {
		Entries []historyEntry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("flag history JSON: %v\n%s", err, out)
	}
	return h.Entries
}

func countPrefix(h []historyEntry, prefix string) int {
	n := 0
	for _, e := range h {
		if strings.HasPrefix(e.Summary, prefix) {
			n++
		}
	}
	return n
}

func summaries(h []historyEntry) []string {
	var out []string
	for _, e := range h {
		out = append(out, e.Summary)
	}
	return out
}

// flagStepIndexes are the plan indexes of the deployment's flag rollout steps.
func flagStepIndexes(t *testing.T, ctx context.Context, d *devServer, id string) []uint32 {
	t.Helper()
	_, js := d.mustNATS(t, "reader")
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/e2e", Aggregates: []string{"deployment"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Load(ctx, "deployment", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	var started deployv1.DeploymentStarted
	if err := st.Events[0].DecodeInto(&started); err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for i, s := range started.GetPlan() {
		if s.GetKind() == deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT {
			out = append(out, uint32(i))
		}
	}
	if len(out) != 3 {
		t.Fatalf("plan has %d flag steps: %v", len(out), started.GetPlan())
	}
	return out
}

// proxyAddr is the bound address of env's demo-app proxy, from the credentials file.
func proxyAddr(t *testing.T, dataDir, env string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dataDir, "dev-credentials.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Proxies map[string]string `yaml:"proxies"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil || c.Proxies[env] == "" {
		t.Fatalf("no %s proxy in the credentials file (%v)", env, err)
	}
	return c.Proxies[env]
}

// sendLoad sends rps requests per second to url until ctx ends, counting answers and failures.
func sendLoad(ctx context.Context, url string, rps int, sent, failed *atomic.Int64) {
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rps))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		go func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return
			}
			resp, err := client.Do(req)
			sent.Add(1)
			if err != nil {
				failed.Add(1)
				return
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				failed.Add(1)
			}
		}()
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
