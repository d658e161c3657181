//go:build capacity

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// The journey's monitor: what the sizing model's TriggerEvaluated term is
// measured against.
const (
	capInterval = time.Second      // evaluation interval
	capTriggers = 2                // rollback triggers (error_rate, response_time_p95)
	capBake     = 10 * time.Second // production's bake
)

// TestCapacity measures what the log holds after real releases: `floe dev`
// with an environments file of development (rolling update) → staging
// (blue-green) → production (canary), no change requests, the gate
// service's default gates, a monitor evaluating 2 rollback triggers and 2
// alert rules every second, a 10 s bake in production, and a notifier that
// tells a signed webhook everything it tells. Two releases go through all
// three environments under steady load on the proxies: the first of the
// product (nothing runs yet, so its plans collapse: no canary), then the
// steady-state one (a real canary against the version before). Then it reads
// every message of FLOE_EVENTS and FLOE_AUDIT as the read-only identity and
// prints, per phase, event type and aggregate kind, count, bytes (data +
// headers), mean, p95 and max; per deployment its steps, duration and the
// monitor's evaluations; per checkpoint its size against the leaves it
// carries; and what an audit bundle of the whole log weighs. With
// FLOE_CAPACITY_OUT set, the same as JSON to that path.
//
//	cd e2e && go test -tags capacity -count=1 -run '^TestCapacity$' -v ./
func TestCapacity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	began := time.Now()
	dataDir := t.TempDir()
	write := func(name, content string) string { return writeFile(t, dataDir, name, content) }

	envs := write("environments.yaml", `environments:
  - {name: development, after: [], required_approvals: 0, strategy: rolling-update}
  - {name: staging, after: [development], required_approvals: 1, approver_roles: [qa, release-manager], strategy: blue-green}
  - {name: production, after: [staging], required_approvals: 2, approver_roles: [release-manager, operations, product, security], strategy: canary}
`)
	deployerCfg := write("deployer-capacity.yaml", `local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
analysis: monitor
analysis_grace: 20s
strategies:
  development:
    rolling_update: {batch_percent: 25}
  staging:
    blue_green: {scale_down_delay: 5s}
  production:
    canary: {steps: ["setWeight 10", "pause 5s", "analysis 5s", "setWeight 50", "pause 5s"]}
`)
	write("rules.yaml", `metrics:
  error_rate: sum(rate(floe_proxy_requests_total{code=~"5.."}[10s])) / sum(rate(floe_proxy_requests_total[10s]))
  response_time_p95: histogram_quantile(0.95, sum by (le) (rate(floe_proxy_request_duration_seconds_bucket[10s])))
alert_rules:
  - name: high_error_rate
    condition: sum by (environment, version) (rate(floe_proxy_requests_total{code=~"5.."}[1m])) / sum by (environment, version) (rate(floe_proxy_requests_total[1m])) > 0.05
    severity: critical
    channels: [slack]
    for: 30s
    cooldown: 5
  - name: slow_response_time
    condition: histogram_quantile(0.95, sum by (environment, version, le) (rate(floe_proxy_request_duration_seconds_bucket[1m]))) > 2
    severity: warning
    channels: [slack]
    for: 30s
    cooldown: 15
rollback_triggers:
  - {name: error_rate, metric: error_rate, operator: ">", threshold: 0.1, duration: 5, action: rollback, cooldown: 60}
  - {name: response_time_p95, metric: response_time_p95, operator: ">", threshold: 2, duration: 5, action: alert, cooldown: 30}
`)
	monitorCfg := write("monitor.yaml", fmt.Sprintf("interval: %s\nembedded: {targets: [{url: self}]}\nrules: rules.yaml\nbake: {production: %s}\n", capInterval, capBake))

	// Everything the notifier tells goes to one signed webhook on loopback.
	var hookMu sync.Mutex
	hookIDs := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hookMu.Lock()
		hookIDs[r.Header.Get("webhook-id")]++
		hookMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	notifierCfg := write("notifier.yaml", fmt.Sprintf(`receivers:
  - name: hook
    kind: webhook
    settings: {url: "%s/hook", signing_secret: secret://hook/signing}
route:
  receivers: [hook]
  group_by: [episode]
  group_wait: 0s
  group_interval: 2s
`, hook.URL))

	d := startDev(t, dataDir, "--environments-file", envs, "--deployer-config", deployerCfg, "--monitor-config", monitorCfg,
		"--notifier-config", notifierCfg, "--checkpoint-interval", "5s")
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
	eventually := func(what string, limit time.Duration, args ...string) {
		t.Helper()
		testkit.EventuallyWithin(t, limit, func() error {
			if out, err := cli(args...); err != nil {
				return fmt.Errorf("%s: %v\n%s", what, err, out)
			}
			return nil
		})
	}
	_, js := d.mustNATS(t, "reader")
	lastSeq := func() uint64 {
		t.Helper()
		s, err := js.Stream(ctx, "FLOE_EVENTS")
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().State.LastSeq
	}
	// settle waits until the log has not grown for quiet (at most limit) and
	// returns its last position: a phase's trailing events (notifications,
	// gate runs) belong to it, not to the next.
	settle := func(quiet, limit time.Duration) uint64 {
		t.Helper()
		deadline := time.Now().Add(limit)
		last, since := lastSeq(), time.Now()
		for time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			if n := lastSeq(); n != last {
				last, since = n, time.Now()
			} else if time.Since(since) >= quiet {
				break
			}
		}
		return last
	}

	marks := []phaseMark{{Name: "boot", To: settle(3*time.Second, 20*time.Second), At: time.Now()}}
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i*7 + 1)
	}
	secret := write("hook-signing", "whsec_"+base64.StdEncoding.EncodeToString(raw))
	must("--as", "dave", "secrets", "put", "notifier", "hook/signing", "--from-file", secret, "--reason", "the capacity webhook's signing secret")
	// Each environment's configuration, with a secret reference: every
	// version a deployment starts is delivered it (ConfigDelivered). Staging
	// and production take it as a proposal their approvers accept.
	password := write("db-password", "capacity-"+base64.RawURLEncoding.EncodeToString(raw))
	for _, e := range []string{"development", "staging", "production"} {
		must("--as", "dave", "secrets", "put", e, "db/password", "--from-file", password, "--reason", "first password")
		doc := write(e+".json", fmt.Sprintf(`{"database": {"host": "db.%s.internal", "port": 5432, "password": "secret://db/password",
  "connectionPool": {"min": 2, "max": 20}}, "cache": {"ttlSeconds": 300}}`, e))
		must("--as", "dave", "config", "set", e, "--file", doc, "--reason", "first "+e+" configuration")
	}
	must("--as", "carol", "config", "approve", "staging", "1", "--comment", "checked")
	must("--as", "bob", "config", "approve", "production", "1", "--comment", "checked")
	must("--as", "frank", "config", "approve", "production", "1", "--comment", "checked")
	for _, e := range []string{"development", "staging", "production"} {
		if out := must("config", "get", e); !strings.Contains(out, "db."+e+".internal") {
			t.Fatalf("the configuration of %s is not in force:\n%s", e, out)
		}
	}
	marks = append(marks, phaseMark{Name: "setup", To: settle(2*time.Second, 20*time.Second), At: time.Now()})

	// Steady load on each environment's proxy once a version runs there, so
	// that triggers, analyses and alert rules see real samples.
	var sent, failed atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loaded := map[string]bool{}
	load := func(envName string) {
		if !loaded[envName] {
			loaded[envName] = true
			go sendLoad(loadCtx, "http://"+proxyAddr(t, dataDir, envName)+"/", 10, &sent, &failed)
		}
	}

	var releases []string
	journey := func(version string, first bool) {
		t.Helper()
		out := must("--as", "alice", "release", "create", "--product", "penguinmails", "--version", version, "--type", "minor",
			"--title", "PenguinMails "+version, "--change", "feature:Campaign scheduling", "--change", "bug_fix:Outlook rendering", "-o", "json")
		var created struct {
			Release struct {
				ID string `json:"id"`
			} `json:"release"`
		}
		if err := json.Unmarshal([]byte(out), &created); err != nil || created.Release.ID == "" {
			t.Fatalf("release create %s: %v\n%s", version, err, out)
		}
		id := created.Release.ID
		releases = append(releases, id)
		must("--as", "alice", "release", "add-change", id, "--kind", "improvement", "--summary", "Faster template preview")

		must("--as", "bob", "release", "promote", id, "--env", "development")
		waitEnvStatus(t, cli, id, "development", "RELEASE_STATUS_DEPLOYED")
		load("development")
		report := func(envName, gate, suite, flag, file string) string {
			t.Helper()
			return must("--as", "carol", "gate", "report", "--release", id, "--env", envName, "--gate", gate, "--suite", suite, flag, reportFile(file))
		}
		// The gate run opens on ReleaseDeployed: the first report may come before it.
		eventually("the development gate run opens", 30*time.Second, "gate", "status", "--release", id, "--env", "development")
		report("development", "Unit Tests", "unit-tests", "--junit", "gotestsum-1.13.0-pass.xml")
		report("development", "Unit Tests", "component-tests", "--junit", "gotestsum-1.13.0-pass.xml")

		must("--as", "carol", "release", "approve", id, "--env", "staging", "--comment", "QA passed")
		eventually("promote to staging", 30*time.Second, "--as", "bob", "release", "promote", id, "--env", "staging")
		waitEnvStatus(t, cli, id, "staging", "RELEASE_STATUS_DEPLOYED")
		load("staging")
		eventually("the staging gate run opens", 30*time.Second, "gate", "status", "--release", id, "--env", "staging")
		for _, r := range []struct{ gate, suite, flag, file string }{
			{"Integration Tests", "api-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
			{"Integration Tests", "database-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
			{"E2E Tests", "user-journey-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
			{"E2E Tests", "critical-path-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
			{"Performance Tests", "load-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
			{"Performance Tests", "stress-tests", "--junit", "gotestsum-1.13.0-pass.xml"},
			{"Security Tests", "dast", "--summary", "zap-summary.json"},
			{"Security Tests", "dependency-scan", "--summary", "zap-summary.json"},
		} {
			report("staging", r.gate, r.suite, r.flag, r.file)
		}
		// gosec's findings are new the first time: reviewed and accepted once
		// per product, after which the same SARIF passes.
		if first {
			if out, err := cli("--as", "carol", "gate", "report", "--release", id, "--env", "staging", "--gate", "Security Tests",
				"--suite", "sast", "--sarif", reportFile("gosec-v1.sarif")); exitCode(err) != 1 {
				t.Fatalf("the first SARIF report: exit %d, want 1 (new findings)\n%s", exitCode(err), out)
			}
			must("--as", "bob", "gate", "accept-baseline", "--release", id, "--env", "staging", "--gate", "Security Tests", "--suite", "sast",
				"--reason", "reviewed: tracked in SEC-41")
		}
		report("staging", "Security Tests", "sast", "--sarif", "gosec-v1.sarif")

		must("--as", "dave", "release", "approve", id, "--env", "production", "--comment", "ops ready")
		must("--as", "frank", "release", "approve", id, "--env", "production", "--comment", "go")
		eventually("promote to production", 30*time.Second, "--as", "bob", "release", "promote", id, "--env", "production")
		waitEnvStatus(t, cli, id, "production", "RELEASE_STATUS_DEPLOYED")
		load("production")
		dep := id + "-production-1"
		testkit.EventuallyWithin(t, 90*time.Second, func() error {
			out, err := cli("monitor", "status", dep, "-o", "json")
			if err != nil {
				return fmt.Errorf("%v\n%s", err, out)
			}
			if !strings.Contains(out, "MONITORING_OUTCOME_BAKED") {
				return fmt.Errorf("the monitoring of %s has not ended with its bake:\n%s", dep, out)
			}
			return nil
		})
	}

	journey("1.0.0", true)
	marks = append(marks, phaseMark{Name: "release 1.0.0 (first of the product: no previous version, plans collapse)", To: settle(4*time.Second, 30*time.Second), At: time.Now()})
	journey("1.1.0", false)
	marks = append(marks, phaseMark{Name: "release 1.1.0 (steady state: canary, blue-green and rolling update over the previous version)", To: settle(4*time.Second, 30*time.Second), At: time.Now()})
	// Idle: versions run under load, nothing is deploying.
	time.Sleep(15 * time.Second)
	marks = append(marks, phaseMark{Name: "idle 15 s (load on, no deployment)", To: lastSeq(), At: time.Now()})
	stopLoad()
	t.Logf("load: %d requests, %d failed", sent.Load(), failed.Load())

	// A checkpoint covering the whole log, then what an auditor is handed.
	must("--as", "admin", "audit", "checkpoint")
	end := lastSeq()
	bundle := filepath.Join(dataDir, "bundle.jsonl")
	start := time.Now()
	must("audit", "export", "--to", fmt.Sprint(end), "--out", bundle)
	exportTook := time.Since(start)
	start = time.Now()
	verifyOut := must("audit", "verify", "--bundle", bundle)
	bundleVerifyTook := time.Since(start)
	start = time.Now()
	liveVerifyOut := must("audit", "verify")
	liveVerifyTook := time.Since(start)
	bfi, err := os.Stat(bundle)
	if err != nil {
		t.Fatal(err)
	}

	// Everything in the log, as the read-only identity reads it.
	msgs, info := readStream(t, ctx, js, "FLOE_EVENTS")
	auditMsgs, auditInfo := readStream(t, ctx, js, "FLOE_AUDIT")
	rep := capacityReport{
		Config: map[string]string{
			"interval": capInterval.String(), "rollback_triggers": fmt.Sprint(capTriggers), "alert_rules": "2", "bake_production": capBake.String(),
			"development": "rolling-update, batch 25%", "staging": "blue-green, scale_down_delay 5s",
			"production": "canary: setWeight 10, pause 5s, analysis 5s, setWeight 50, pause 5s", "checkpoint_interval": "5s",
			"notifier": "one webhook receiver, root route, group_by episode", "load": "10 req/s per environment's proxy once deployed",
		},
		Stream: streamReport{Msgs: info.State.Msgs, LastSeq: info.State.LastSeq, StoredBytes: info.State.Bytes, DiskBytes: dirBytes(t, dataDir, "FLOE_EVENTS")},
		Audit:  streamReport{Msgs: auditInfo.State.Msgs, LastSeq: auditInfo.State.LastSeq, StoredBytes: auditInfo.State.Bytes, DiskBytes: dirBytes(t, dataDir, "FLOE_AUDIT")},
		Bundle: bundleReport{Bytes: bfi.Size(), Events: end, ExportSeconds: exportTook.Seconds(), VerifySeconds: bundleVerifyTook.Seconds(),
			LiveVerifySeconds: liveVerifyTook.Seconds()},
		WallSeconds: time.Since(began).Seconds(),
	}
	var records uint64
	for _, m := range msgs {
		records += m.stored()
	}
	rep.Stream.RecordBytes = records
	if records != info.State.Bytes {
		t.Errorf("the stream holds %d bytes by the server's count, %d by the messages read (34 + subject + headers + data each): the header sizes are not what the server stores", info.State.Bytes, records)
	}

	// Phases: by log position.
	from := uint64(1)
	prev := began
	for _, mk := range marks {
		rep.Phases = append(rep.Phases, summarize(mk.Name, from, mk.To, mk.At.Sub(prev), msgs))
		from, prev = mk.To+1, mk.At
	}
	rep.Phases = append(rep.Phases, summarize("after (checkpoint, export, verify)", from, end, 0, msgs))
	rep.Phases = append(rep.Phases, summarize("whole log", 1, end, time.Since(began), msgs))
	rep.Deployments = deployments(t, msgs)
	rep.Checkpoints = checkpoints(t, auditMsgs)

	// Assertions: the journey did what it says, and the counts add up.
	whole := rep.Phases[len(rep.Phases)-1]
	count := func(p phaseReport, name string) int {
		for _, r := range p.ByType {
			if r.Event == name {
				return r.Count
			}
		}
		return 0
	}
	for _, name := range []string{"ReleaseCreated", "ChangeAdded", "ApprovalGranted", "PromotionRequested", "ReleaseDeployed",
		"DeploymentStarted", "DeploymentStepStarted", "DeploymentStepCompleted", "ConfigDelivered", "DeploymentSucceeded",
		"GatesOpened", "ResultsReported", "GateVerdict", "MonitoringStarted", "TriggerEvaluated", "BakeStarted", "MonitoringEnded",
		"AnalysisStarted", "AnalysisCompleted", "EpisodeObserved", "GroupEvaluated", "NotificationPlanned", "NotificationDelivered"} {
		if count(whole, name) == 0 {
			t.Errorf("no %s in the log", name)
		}
	}
	for _, name := range []string{"DeploymentFailed", "RollbackStarted", "RolledBack", "RollbackTriggered", "DeliveryFailed"} {
		if n := count(whole, name); n != 0 {
			t.Errorf("%d %s in the log: the journey was not the healthy one it measures", n, name)
		}
	}
	if n := count(whole, "ReleaseCreated"); n != 2 {
		t.Errorf("%d releases created, want 2", n)
	}
	if len(rep.Deployments) != 6 {
		t.Errorf("%d deployments, want 2 releases × 3 environments", len(rep.Deployments))
	}
	for _, dp := range rep.Deployments {
		if dp.Outcome != "DeploymentSucceeded" {
			t.Errorf("deployment %s ended %s", dp.ID, dp.Outcome)
		}
		if dp.TriggerEvaluated < dp.Rounds*capTriggers {
			t.Errorf("deployment %s: %d TriggerEvaluated over %d evaluation rounds of %d triggers", dp.ID, dp.TriggerEvaluated, dp.Rounds, capTriggers)
		}
		if dp.Environment == "production" {
			if dp.Monitoring != "MONITORING_OUTCOME_BAKED" {
				t.Errorf("the monitoring of %s ended %q, want baked", dp.ID, dp.Monitoring)
			}
			// The bake alone is capBake/capInterval rounds; scheduling on two busy cores may stretch a tick, not halve them.
			if minRounds := int(capBake / capInterval / 2); dp.Rounds < minRounds {
				t.Errorf("deployment %s: %d evaluation rounds over %.1f s monitored (bake %s at %s): want at least %d", dp.ID, dp.Rounds, dp.MonitoredSeconds, capBake, capInterval, minRounds)
			}
		}
	}
	hookMu.Lock()
	delivered := len(hookIDs)
	hookMu.Unlock()
	if n := count(whole, "NotificationDelivered"); n == 0 || n != delivered {
		t.Errorf("%d NotificationDelivered, %d distinct messages received by the webhook", n, delivered)
	}
	if rep.Checkpoints.Count == 0 || rep.Checkpoints.Leaves != int(end) {
		t.Errorf("%d checkpoints carrying %d leaves, want some covering all %d positions", rep.Checkpoints.Count, rep.Checkpoints.Leaves, end)
	}
	if !strings.Contains(verifyOut, "OK") || !strings.Contains(liveVerifyOut, "OK") {
		t.Errorf("audit verify: bundle\n%s\nlive\n%s", verifyOut, liveVerifyOut)
	}

	text := rep.text()
	t.Log("\n" + text)
	t.Logf("audit verify (live): %s", firstLine(liveVerifyOut))
	if p := os.Getenv("FLOE_CAPACITY_OUT"); p != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", p)
	}
}

type phaseMark struct {
	Name string
	To   uint64
	At   time.Time
}

// rawMsg is one message of a stream as stored.
type rawMsg struct {
	Seq                 uint64
	Subject             string
	Aggregate, ID, Name string
	Data                []byte
	Header              nats.Header
	HeaderLen           int
	Time                time.Time // ce-time
}

// stored is the message's record size in nats-server's file store:
// 4 (length) + 8 (sequence) + 8 (timestamp) + 2 (subject length) + subject
// + 4 (header length) + headers + data + 8 (hash).
func (m rawMsg) stored() uint64 {
	if m.HeaderLen == 0 {
		return uint64(22 + len(m.Subject) + len(m.Data) + 8)
	}
	return uint64(22 + len(m.Subject) + 4 + m.HeaderLen + len(m.Data) + 8)
}

// headerLen is the length of h on the wire and in the store: the NATS/1.0
// status line, one "key: value" line per value, an empty line.
func headerLen(h nats.Header) int {
	if len(h) == 0 {
		return 0
	}
	n := len("NATS/1.0\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n + len("\r\n")
}

// readStream reads every message of stream up to its last position now, in
// order.
func readStream(t *testing.T, ctx context.Context, js jetstream.JetStream, name string) ([]rawMsg, *jetstream.StreamInfo) {
	t.Helper()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info := s.CachedInfo()
	last := info.State.LastSeq
	var out []rawMsg
	if last == 0 {
		return out, info
	}
	// An ephemeral consumer the server removes by itself: the read-only
	// identity may create consumers, not delete them.
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckNonePolicy,
		InactiveThreshold: 30 * time.Second, MemoryStorage: true})
	if err != nil {
		t.Fatalf("consumer on %s: %v", name, err)
	}
	for {
		batch, err := c.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("fetch %s: %v", name, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			r := rawMsg{Seq: md.Sequence.Stream, Subject: m.Subject(), Data: m.Data(), Header: m.Headers()}
			r.HeaderLen = headerLen(r.Header)
			if tok := strings.Split(r.Subject, "."); len(tok) >= 5 && tok[0] == "floe" && tok[1] == "evt" {
				r.Aggregate, r.ID, r.Name = tok[2], strings.Join(tok[3:len(tok)-1], "."), tok[len(tok)-1]
			} else {
				r.Aggregate, r.Name = "-", r.Subject
			}
			if ts := r.Header.Get("ce-time"); ts != "" {
				r.Time, _ = time.Parse(time.RFC3339Nano, ts)
			}
			out = append(out, r)
		}
		if err := batch.Error(); err != nil && got == 0 {
			t.Fatalf("fetch %s: %v", name, err)
		}
		if len(out) > 0 && out[len(out)-1].Seq >= last {
			break
		}
		if got == 0 {
			t.Fatalf("%s: read %d messages, the last at %d; the stream's last is %d", name, len(out), seqOf(out), last)
		}
	}
	for len(out) > 0 && out[len(out)-1].Seq > last {
		out = out[:len(out)-1]
	}
	return out, info
}

func seqOf(m []rawMsg) uint64 {
	if len(m) == 0 {
		return 0
	}
	return m[len(m)-1].Seq
}

// dirBytes is the size on disk of the stream's directory in floe dev's
// embedded server (message blocks and indexes).
func dirBytes(t *testing.T, root, stream string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if slices.Contains(strings.Split(filepath.ToSlash(p), "/"), stream) {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// stats is a size distribution.
type stats struct {
	Count       int     `json:"count"`
	Bytes       int64   `json:"bytes"` // data + headers
	DataBytes   int64   `json:"data_bytes"`
	HeaderBytes int64   `json:"header_bytes"`
	StoredBytes int64   `json:"stored_bytes"` // file-store records: + subject and 34 bytes of framing
	Mean        float64 `json:"mean"`
	P95         int     `json:"p95"`
	Max         int     `json:"max"`
	sizes       []int
}

func (s *stats) add(m rawMsg) {
	n := len(m.Data) + m.HeaderLen
	s.Count++
	s.Bytes += int64(n)
	s.DataBytes += int64(len(m.Data))
	s.HeaderBytes += int64(m.HeaderLen)
	s.StoredBytes += int64(m.stored())
	s.sizes = append(s.sizes, n)
}

func (s *stats) finish() {
	if s.Count == 0 {
		return
	}
	sort.Ints(s.sizes)
	s.Mean = float64(s.Bytes) / float64(s.Count)
	s.P95 = s.sizes[(95*len(s.sizes)+99)/100-1] // nearest rank
	s.Max = s.sizes[len(s.sizes)-1]
}

type typeRow struct {
	Aggregate string `json:"aggregate"`
	Event     string `json:"event"`
	stats
}

type aggRow struct {
	Aggregate  string `json:"aggregate"`
	Aggregates int    `json:"aggregates"` // distinct ids
	stats
}

type phaseReport struct {
	Name        string    `json:"name"`
	From        uint64    `json:"from"`
	To          uint64    `json:"to"`
	Seconds     float64   `json:"seconds"`
	Total       stats     `json:"total"`
	ByType      []typeRow `json:"by_type"`
	ByAggregate []aggRow  `json:"by_aggregate"`
	// Told counts the notifier's EpisodeObserved by the type of the event it routed.
	Told map[string]int `json:"told,omitempty"`
}

func summarize(name string, from, to uint64, took time.Duration, msgs []rawMsg) phaseReport {
	p := phaseReport{Name: name, From: from, To: to, Seconds: took.Seconds()}
	types := map[[2]string]*typeRow{}
	aggs := map[string]*aggRow{}
	ids := map[string]map[string]bool{}
	for _, m := range msgs {
		if m.Seq < from || m.Seq > to {
			continue
		}
		p.Total.add(m)
		k := [2]string{m.Aggregate, m.Name}
		if types[k] == nil {
			types[k] = &typeRow{Aggregate: m.Aggregate, Event: m.Name}
		}
		types[k].add(m)
		if aggs[m.Aggregate] == nil {
			aggs[m.Aggregate], ids[m.Aggregate] = &aggRow{Aggregate: m.Aggregate}, map[string]bool{}
		}
		aggs[m.Aggregate].add(m)
		ids[m.Aggregate][m.ID] = true
		if m.Name == "EpisodeObserved" {
			var ev struct {
				SourceType string `json:"sourceType"`
			}
			_ = json.Unmarshal(m.Data, &ev)
			if p.Told == nil {
				p.Told = map[string]int{}
			}
			p.Told[strings.TrimPrefix(ev.SourceType, "floe.")]++
		}
	}
	p.Total.finish()
	for _, r := range types {
		r.finish()
		p.ByType = append(p.ByType, *r)
	}
	for a, r := range aggs {
		r.finish()
		r.Aggregates = len(ids[a])
		p.ByAggregate = append(p.ByAggregate, *r)
	}
	sort.Slice(p.ByType, func(i, j int) bool {
		if p.ByType[i].Bytes != p.ByType[j].Bytes {
			return p.ByType[i].Bytes > p.ByType[j].Bytes
		}
		return p.ByType[i].Event < p.ByType[j].Event
	})
	sort.Slice(p.ByAggregate, func(i, j int) bool { return p.ByAggregate[i].Bytes > p.ByAggregate[j].Bytes })
	return p
}

type deploymentReport struct {
	ID               string  `json:"id"`
	Environment      string  `json:"environment"`
	Strategy         string  `json:"strategy"`
	Previous         string  `json:"previous_version"`
	PlanSteps        int     `json:"plan_steps"`
	Events           int     `json:"events"`
	Bytes            int64   `json:"bytes"`
	StepsStarted     int     `json:"steps_started"`
	Outcome          string  `json:"outcome"`
	Seconds          float64 `json:"seconds"` // DeploymentStarted → its last event
	MonitoringEvents int     `json:"monitoring_events"`
	MonitoringBytes  int64   `json:"monitoring_bytes"`
	TriggerEvaluated int     `json:"trigger_evaluated"`
	Rounds           int     `json:"rounds"` // distinct evaluation times
	MonitoredSeconds float64 `json:"monitored_seconds"`
	Monitoring       string  `json:"monitoring_outcome"`
}

func deployments(t *testing.T, msgs []rawMsg) []deploymentReport {
	t.Helper()
	byID := map[string]*deploymentReport{}
	var order []string
	first, last := map[string]time.Time{}, map[string]time.Time{}
	monStart, monEnd := map[string]time.Time{}, map[string]time.Time{}
	rounds := map[string]map[int64]bool{}
	get := func(id string) *deploymentReport {
		if byID[id] == nil {
			byID[id] = &deploymentReport{ID: id}
			order = append(order, id)
			rounds[id] = map[int64]bool{}
		}
		return byID[id]
	}
	un := protojson.UnmarshalOptions{DiscardUnknown: true}
	for _, m := range msgs {
		switch m.Aggregate {
		case "deployment":
			d := get(m.ID)
			d.Events++
			d.Bytes += int64(len(m.Data) + m.HeaderLen)
			if _, ok := first[m.ID]; !ok {
				first[m.ID] = m.Time
			}
			last[m.ID] = m.Time
			switch m.Name {
			case "DeploymentStarted":
				var ev deployv1.DeploymentStarted
				if err := un.Unmarshal(m.Data, &ev); err != nil {
					t.Fatalf("DeploymentStarted at %d: %v", m.Seq, err)
				}
				d.Environment, d.Strategy, d.Previous, d.PlanSteps = ev.GetEnvironment(), ev.GetStrategyType().String(), ev.GetPreviousVersion(), len(ev.GetPlan())
			case "DeploymentStepStarted":
				d.StepsStarted++
			}
			if strings.HasPrefix(m.Name, "Deployment") && !strings.HasPrefix(m.Name, "DeploymentStep") && m.Name != "DeploymentStarted" ||
				m.Name == "RolledBack" {
				d.Outcome = m.Name
			}
		case "monitoring":
			d := get(m.ID)
			d.MonitoringEvents++
			d.MonitoringBytes += int64(len(m.Data) + m.HeaderLen)
			switch m.Name {
			case "MonitoringStarted":
				monStart[m.ID] = m.Time
			case "MonitoringEnded":
				var ev monitorv1.MonitoringEnded
				if err := un.Unmarshal(m.Data, &ev); err != nil {
					t.Fatalf("MonitoringEnded at %d: %v", m.Seq, err)
				}
				monEnd[m.ID] = m.Time
				d.Monitoring = ev.GetOutcomeType().String()
			case "TriggerEvaluated":
				var ev monitorv1.TriggerEvaluated
				if err := un.Unmarshal(m.Data, &ev); err != nil {
					t.Fatalf("TriggerEvaluated at %d: %v", m.Seq, err)
				}
				d.TriggerEvaluated++
				rounds[m.ID][ev.GetAt().AsTime().UnixNano()] = true
			}
		}
	}
	var out []deploymentReport
	for _, id := range order {
		d := byID[id]
		d.Rounds = len(rounds[id])
		d.Seconds = last[id].Sub(first[id]).Seconds()
		if !monStart[id].IsZero() && !monEnd[id].IsZero() {
			d.MonitoredSeconds = monEnd[id].Sub(monStart[id]).Seconds()
		}
		out = append(out, *d)
	}
	return out
}

type checkpointReport struct {
	Count  int   `json:"count"`
	Bytes  int64 `json:"bytes"` // data + headers
	Leaves int   `json:"leaves"`
	// Fixed and PerLeaf fit Bytes = Fixed × Count + PerLeaf × Leaves (least squares over the checkpoints).
	Fixed   float64 `json:"fixed_bytes"`
	PerLeaf float64 `json:"per_leaf_bytes"`
	Min     int     `json:"min_bytes"`
	Max     int     `json:"max_bytes"`
}

func checkpoints(t *testing.T, msgs []rawMsg) checkpointReport {
	t.Helper()
	var r checkpointReport
	var xs, ys []float64
	for _, m := range msgs {
		var cp struct {
			Leaves []byte `json:"leaves"`
		}
		if err := json.Unmarshal(m.Data, &cp); err != nil {
			t.Fatalf("checkpoint at %d: %v", m.Seq, err)
		}
		n := len(m.Data) + m.HeaderLen
		leaves := len(cp.Leaves) / 32
		r.Count++
		r.Bytes += int64(n)
		r.Leaves += leaves
		if r.Min == 0 || n < r.Min {
			r.Min = n
		}
		r.Max = max(r.Max, n)
		xs, ys = append(xs, float64(leaves)), append(ys, float64(n))
	}
	// Least squares y = a + b·x.
	if k := float64(len(xs)); k >= 2 {
		var sx, sy, sxx, sxy float64
		for i := range xs {
			sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
		}
		if den := k*sxx - sx*sx; den != 0 {
			r.PerLeaf = (k*sxy - sx*sy) / den
			r.Fixed = (sy - r.PerLeaf*sx) / k
		}
	}
	return r
}

type streamReport struct {
	Msgs        uint64 `json:"msgs"`
	LastSeq     uint64 `json:"last_seq"`
	StoredBytes uint64 `json:"stored_bytes"` // the server's count (StreamInfo.State.Bytes)
	RecordBytes uint64 `json:"record_bytes"` // the same, summed from the messages read
	DiskBytes   int64  `json:"disk_bytes"`   // the stream's directory on disk
}

type bundleReport struct {
	Bytes             int64   `json:"bytes"`
	Events            uint64  `json:"events"`
	ExportSeconds     float64 `json:"export_seconds"` // floe audit export, the CLI process included
	VerifySeconds     float64 `json:"verify_seconds"` // floe audit verify --bundle
	LiveVerifySeconds float64 `json:"live_verify_seconds"`
}

type capacityReport struct {
	Config      map[string]string  `json:"config"`
	Phases      []phaseReport      `json:"phases"`
	Deployments []deploymentReport `json:"deployments"`
	Checkpoints checkpointReport   `json:"checkpoints"`
	Stream      streamReport       `json:"stream"`
	Audit       streamReport       `json:"audit_stream"`
	Bundle      bundleReport       `json:"bundle"`
	WallSeconds float64            `json:"wall_seconds"`
}

func (r capacityReport) text() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...any) {
		for _, c := range cells {
			fmt.Fprintf(tw, "%v\t", c)
		}
		fmt.Fprintln(tw)
	}
	statCells := func(s stats) []any {
		return []any{s.Count, s.Bytes, fmt.Sprintf("%.0f", s.Mean), s.P95, s.Max, s.DataBytes, s.HeaderBytes}
	}
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "== %s: positions %d..%d, %.1f s\n", p.Name, p.From, p.To, p.Seconds)
		if p.Total.Count == 0 {
			continue
		}
		row("aggregate", "event", "count", "bytes", "mean", "p95", "max", "data", "headers")
		for _, t := range p.ByType {
			row(append([]any{t.Aggregate, t.Event}, statCells(t.stats)...)...)
		}
		row(append([]any{"", "TOTAL"}, statCells(p.Total)...)...)
		row("aggregate", "ids", "count", "bytes", "mean", "p95", "max", "data", "headers")
		for _, a := range p.ByAggregate {
			row(append([]any{a.Aggregate, a.Aggregates}, statCells(a.stats)...)...)
		}
		if len(p.Told) > 0 {
			var told []string
			for k, n := range p.Told {
				told = append(told, fmt.Sprintf("%s %d", k, n))
			}
			sort.Strings(told)
			fmt.Fprintf(tw, "told (EpisodeObserved by routed event): %s\n", strings.Join(told, ", "))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "== deployments")
	row("id", "env", "strategy", "previous", "plan", "steps", "events", "bytes", "outcome", "s", "mon.events", "mon.bytes", "TriggerEvaluated", "rounds", "monitored s", "monitoring")
	for _, d := range r.Deployments {
		row(d.ID, d.Environment, strings.TrimPrefix(d.Strategy, "DEPLOYMENT_STRATEGY_"), d.Previous, d.PlanSteps, d.StepsStarted, d.Events, d.Bytes, d.Outcome,
			fmt.Sprintf("%.1f", d.Seconds), d.MonitoringEvents, d.MonitoringBytes, d.TriggerEvaluated, d.Rounds, fmt.Sprintf("%.1f", d.MonitoredSeconds),
			strings.TrimPrefix(d.Monitoring, "MONITORING_OUTCOME_"))
	}
	_ = tw.Flush()
	c := r.Checkpoints
	fmt.Fprintf(&b, "\n== FLOE_AUDIT: %d checkpoints, %d bytes (data + headers; %d..%d each), %d leaves; fit: %.0f bytes + %.2f bytes per leaf; stored %d bytes, %d on disk\n",
		c.Count, c.Bytes, c.Min, c.Max, c.Leaves, c.Fixed, c.PerLeaf, r.Audit.StoredBytes, r.Audit.DiskBytes)
	s := r.Stream
	fmt.Fprintf(&b, "== FLOE_EVENTS: %d messages (last %d), stored %d bytes (records summed: %d; %.0f per event), %d bytes on disk (%.0f per event)\n",
		s.Msgs, s.LastSeq, s.StoredBytes, s.RecordBytes, float64(s.StoredBytes)/float64(max(s.Msgs, 1)), s.DiskBytes, float64(s.DiskBytes)/float64(max(s.Msgs, 1)))
	bu := r.Bundle
	fmt.Fprintf(&b, "== audit bundle of positions 1..%d: %d bytes (%.0f per event); export %.2f s, verify --bundle %.2f s, live verify %.2f s (CLI processes included)\n",
		bu.Events, bu.Bytes, float64(bu.Bytes)/float64(max(bu.Events, 1)), bu.ExportSeconds, bu.VerifySeconds, bu.LiveVerifySeconds)
	fmt.Fprintf(&b, "== wall time %.0f s; config: %v\n", r.WallSeconds, r.Config)
	return b.String()
}
