package deployersvc_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/leakcheck"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/change/changesvc"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

// The test binary is also the application the configuration tests deploy:
// with configAppEnv=1 in its environment (the deployer's version config
// sets it) it runs configApp instead of the tests.
const configAppEnv = "FLOE_DEPLOYERSVC_TEST_APP"

func TestMain(m *testing.M) {
	if os.Getenv(configAppEnv) == "1" {
		os.Exit(configApp())
	}
	os.Exit(m.Run())
}

// configApp serves on 127.0.0.1:$PORT:
//
//	/healthz 200, or 503 after the first $APP_HEALTHY_CHECKS checks
//	/digest  ?n=NAME: the hex SHA-256 of the variable NAME's value, or "unset"
//
// It tells what it was started with without ever showing a value: digests
// only, so the tests can look for the secret in everything the system
// wrote, this application's answers included. It prints nothing.
func configApp() int {
	healthy := int64(-1)
	if s := os.Getenv("APP_HEALTHY_CHECKS"); s != "" {
		healthy, _ = strconv.ParseInt(s, 10, 64)
	}
	var checks atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if n := checks.Add(1); healthy >= 0 && n > healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/digest", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(r.URL.Query().Get("n"))
		if !ok {
			_, _ = io.WriteString(w, "unset")
			return
		}
		_, _ = io.WriteString(w, digest(v))
	})
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		return 2
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
	_ = srv.Close()
	return 0
}

func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// configWorld is the flag service and the deployer in one process, sharing
// a secrets keyring, on a real embedded JetStream, with the process log
// captured at debug level; the test plays the release service and a person
// in operations ("ops").
type configWorld struct {
	*testkit.Process
	t        *testing.T
	js       jetstream.JetStream
	log      *testkit.SyncBuffer
	proxy    string
	stateDir string
	logs     logReader
	release  *eventstore.JetStreamStore
	// answers collects every RPC answer, for the leak check.
	mu      sync.Mutex
	answers []byte
}

// startConfigWorld runs the world with the deployer's file: with the local
// driver, the test binary is the application (configApp) behind a proxy.
func startConfigWorld(t *testing.T, file deployersvc.File) *configWorld {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "secrets.keyring")
	if _, err := secrets.CreateKeyringFile(keys); err != nil {
		t.Fatal(err)
	}
	w := &configWorld{t: t, log: &testkit.SyncBuffer{}, stateDir: file.Exec.StateDir}
	if file.Driver == "local" {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		w.proxy = freePort(t)
		file.Local.Command = []string{exe}
		file.Local.Proxies = map[string]string{"production": w.proxy}
		file.Local.StartTimeout = 20 * time.Second
		file.VersionPatterns = append([]deployersvc.VersionPattern{{Match: "*", Config: map[string]string{configAppEnv: "1"}}}, file.VersionPatterns...)
	}
	file.App, file.CheckAttempts = "demo", 2
	sec := secretsetup.Config{Keyring: keys}
	w.Process = testkit.Start(t, testkit.Options{
		Log: w.log,
		Users: map[string][]auth.RoleBinding{"ops": testkit.Roles(auth.RoleOperations),
			// production's approvers in the built-in environments' policy
			"rm": testkit.Roles(auth.RoleReleaseManager), "sec": testkit.Roles(auth.RoleSecurity), "viewer": testkit.Roles(auth.RoleSupport)},
		Entries: func() []service.Entry {
			return []service.Entry{
				service.Of(flagsvc.Service, flagsvc.Config{Options: flagsvc.Options{TickInterval: time.Second, Secrets: sec}}),
				service.Of(deployersvc.Service, deployersvc.Config{Options: deployersvc.Options{Defaults: &file}, Secrets: sec}),
				service.Of(changesvc.Service, changesvc.Config{}),
			}
		},
		Writers: map[string][]string{"release": {"release"}},
	})
	_, w.js = natstest.Connect(t, w.NATS)
	w.logs = logReader{t, w.js}
	w.release = w.Store("release")
	return w
}

// keep records an RPC answer for the leak check and fails on an error.
func keep[M proto.Message](w *configWorld, m M, err error) M {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	b, _ := protojson.Marshal(m)
	bb, _ := proto.Marshal(m)
	w.mu.Lock()
	w.answers = append(append(w.answers, b...), bb...)
	w.mu.Unlock()
	return m
}

func (w *configWorld) putSecret(name, value string) uint64 {
	w.t.Helper()
	r, err := configv1.NewSecretServiceClient(w.Conn("ops")).PutSecret(testkit.Context(w.t), &configv1.PutSecretRequest{
		Environment: "production", Name: name, Value: []byte(value), Reason: "rotate", Description: "the database password"})
	return keep(w, r, err).GetVersion().GetVersion()
}

func (w *configWorld) setConfig(doc string) uint64 {
	w.t.Helper()
	ctx := testkit.Context(w.t)
	r, err := configv1.NewConfigServiceClient(w.Conn("ops")).SetConfig(ctx, &configv1.SetConfigRequest{
		Environment: "production", Document: doc, Reason: "configure"})
	p := keep(w, r, err).GetProposal() // production requires two approvals
	var a *configv1.ApproveConfigChangeResponse
	for _, approver := range []string{"rm", "sec"} {
		a, err = configv1.NewConfigServiceClient(w.Conn(approver)).ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "production", Proposal: p.GetProposal()})
		keep(w, a, err)
	}
	return a.GetConfig().GetVersion()
}

func (w *configWorld) getDeployment(id string) *deployv1.Deployment {
	w.t.Helper()
	r, err := deployv1.NewDeployServiceClient(w.Conn("ops")).GetDeployment(testkit.Context(w.t), &deployv1.GetDeploymentRequest{DeploymentId: id})
	return keep(w, r, err).GetDeployment()
}

// promote records the release service's PromotionRequested of a big-bang deployment to production.
func (w *configWorld) promote(release, version string) string {
	w.t.Helper()
	fw := flagWorld{Process: w.Process, t: w.t, js: w.js, release: w.release}
	return fw.promote("demo", release, version, deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BIG_BANG)
}

func (w *configWorld) ended(id string) []*eventstore.RecordedEvent {
	w.t.Helper()
	fw := flagWorld{Process: w.Process, t: w.t, js: w.js}
	return fw.ended(id, time.Minute)
}

// digestOf asks the version live behind the proxy for the digest of a variable.
func (w *configWorld) digestOf(name string) (version, sum string) {
	w.t.Helper()
	resp, err := http.Get("http://" + w.proxy + "/digest?n=" + name)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	w.mu.Lock()
	w.answers = append(w.answers, b...)
	w.mu.Unlock()
	return resp.Header.Get("X-Floe-Version"), string(b)
}

// wantLive waits until the proxy's version is version and its variables have these values (as digests).
func (w *configWorld) wantLive(version string, vars map[string]string) {
	w.t.Helper()
	testkit.EventuallyWithin(w.t, time.Minute, func() error {
		for name, value := range vars {
			v, sum := w.digestOf(name)
			if v != version {
				return fmt.Errorf("version %q is live, not %s", v, version)
			}
			if want := digest(value); sum != want {
				return fmt.Errorf("%s of %s is not the value expected (digest %s)", name, v, sum)
			}
		}
		return nil
	})
}

// deliveries are the deployment's ConfigDelivered events.
func deliveries(t *testing.T, evs []*eventstore.RecordedEvent) []*deployv1.ConfigDelivered {
	t.Helper()
	var out []*deployv1.ConfigDelivered
	for _, e := range evs {
		var cd deployv1.ConfigDelivered
		if e.Name == "ConfigDelivered" {
			if err := e.DecodeInto(&cd); err != nil {
				t.Fatal(err)
			}
			if e.Actor != "system:deployer" {
				t.Errorf("ConfigDelivered by %q, want the deployer", e.Actor)
			}
			out = append(out, &cd)
		}
	}
	return out
}

const configDoc = `{"database": {"host": "db.internal", "password": "secret://db/password"}, "app": {"mode": %q}}`

// TestDeliveryAndRollback: a deployment delivers the environment's current
// configuration, its secret resolved into the process's environment and
// recorded as the configuration version and secret version, never the
// value; a deployment that fails rolls back to the previous version, which
// still runs with the configuration it was deployed with; and after a
// restart of the deployer the live version is started again with that same
// configuration and secret version — not the current ones. Then the
// secrets are searched for in everything the system wrote.
func TestDeliveryAndRollback(t *testing.T) {
	t.Parallel()
	file := deployersvc.File{Driver: "local"}
	// 1.1.0 passes the start's health wait, then fails its checks.
	file.Versions = map[string]map[string]string{"1.1.0": {"APP_HEALTHY_CHECKS": "1"}}
	w := startConfigWorld(t, file)
	first, second := leakcheck.Canary(), leakcheck.Canary()

	if v := w.putSecret("db/password", first); v != 1 {
		t.Fatalf("secret version %d", v)
	}
	if v := w.setConfig(fmt.Sprintf(configDoc, "one")); v != 1 {
		t.Fatalf("config version %d", v)
	}
	id1 := w.promote("r1", "1.0.0")
	evs := w.ended(id1)
	if last(evs) != "DeploymentSucceeded" {
		t.Fatalf("first deployment: %v", names(evs))
	}
	got := deliveries(t, evs)
	want := []*deployv1.ConfigDelivered{{DeploymentId: id1, Environment: "production", Version: "1.0.0", ConfigVersion: 1,
		Secrets: []*deployv1.DeliveredSecret{{Path: "database.password", Variable: "DATABASE_PASSWORD", Reference: "secret://db/password", Version: 1}},
		Kind:    deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_START}}
	if diff := cmp.Diff(want, got, protocmp.Transform(), protocmp.IgnoreFields(&deployv1.ConfigDelivered{}, "config_digest")); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if !startedBefore(evs) {
		t.Errorf("ConfigDelivered is not recorded before the START step completes: %v", names(evs))
	}
	w.wantLive("1.0.0", map[string]string{"DATABASE_PASSWORD": first, "APP_MODE": "one", "DATABASE_HOST": "db.internal"})
	if d := w.getDeployment(id1); d.GetConfigVersion() != 1 || d.GetConfigDigest() == "" {
		t.Errorf("GetDeployment: config version %d, digest %q", d.GetConfigVersion(), d.GetConfigDigest())
	}

	// Rotate the secret, change the configuration, deploy a version that fails its checks.
	if v := w.putSecret("db/password", second); v != 2 {
		t.Fatalf("secret version %d", v)
	}
	w.setConfig(fmt.Sprintf(configDoc, "two"))
	id2 := w.promote("r2", "1.1.0")
	evs = w.ended(id2)
	if last(evs) != "RolledBack" {
		t.Fatalf("second deployment: %v", names(evs))
	}
	if got := deliveries(t, evs); len(got) != 1 || got[0].GetConfigVersion() != 2 || got[0].GetSecrets()[0].GetVersion() != 2 {
		t.Errorf("the second deployment's delivery: %v", got)
	}
	// The previous version kept running with what it was deployed with.
	w.wantLive("1.0.0", map[string]string{"DATABASE_PASSWORD": first, "APP_MODE": "one"})
	// Time travel: the rolled back deployment as it was at its start and just
	// before its rollback, rebuilt from its events; before its first, NotFound.
	client := deployv1.NewDeployServiceClient(w.Conn("ops"))
	asOf := func(pos uint64) (*deployv1.Deployment, error) {
		r, err := client.GetDeployment(testkit.Context(t), &deployv1.GetDeploymentRequest{DeploymentId: id2, AsOfPosition: pos})
		return r.GetDeployment(), err
	}
	for _, e := range evs {
		if e.Name != "DeploymentStarted" && e.Name != "RollbackStarted" {
			continue
		}
		at := e.Seq
		if e.Name == "RollbackStarted" {
			at-- // the moment before
		}
		d, err := asOf(at)
		if err != nil || d.GetStatus() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING || d.GetAggregateVersion() == 0 {
			t.Errorf("as of position %d (%s): %v, status %v version %d, want running", at, e.Name, err, d.GetStatus(), d.GetAggregateVersion())
		}
	}
	if _, err := asOf(evs[0].Seq - 1); status.Code(err) != codes.NotFound {
		t.Errorf("as of the position before its first event: %v, want NotFound", err)
	}
	if now := w.getDeployment(id2); now.GetStatus() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK {
		t.Errorf("now: %v", now.GetStatus())
	} else if then, err := asOf(evs[len(evs)-1].Seq); err != nil || then.GetStatus() != now.GetStatus() || then.GetAggregateVersion() != now.GetAggregateVersion() {
		t.Errorf("as of its last event: %v %v, want the live view's %v", err, then.GetStatus(), now.GetStatus())
	}

	// After a restart the live version is started again as it was deployed.
	w.Restart()
	w.wantLive("1.0.0", map[string]string{"DATABASE_PASSWORD": first, "APP_MODE": "one"})
	again := deliveries(t, w.logs.events(id1))
	if len(again) != 2 || again[1].GetKind() != deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_RESTART || again[1].GetConfigVersion() != 1 ||
		again[1].GetSecrets()[0].GetVersion() != 1 || again[1].GetDeliveredBy() != id1 {
		t.Errorf("the restart's delivery: %v", again)
	}

	w.checkNoLeak(first, second)
}

// startedBefore reports whether the START delivery comes before the first step completes.
func startedBefore(evs []*eventstore.RecordedEvent) bool {
	for _, e := range evs {
		switch e.Name {
		case "ConfigDelivered":
			return true
		case "DeploymentStepCompleted":
			return false
		}
	}
	return false
}

// TestUnresolvableReferenceRollsBack: a reference to a secret that does not
// exist, or to a revoked version, fails the START step with a reason naming
// the reference and its path, and the deployment rolls back; nothing is
// started.
func TestUnresolvableReferenceRollsBack(t *testing.T) {
	t.Parallel()
	w := startConfigWorld(t, deployersvc.File{Driver: "local"})
	value := leakcheck.Canary()
	w.putSecret("db/password", value)
	tests := []struct {
		name, ref, reason string
	}{
		{"unknown secret", "secret://db/nothing", "secret://db/nothing at database.password does not resolve: "},
		{"revoked version", "secret://db/password@1", "secret://db/password@1 at database.password does not resolve: "},
	}
	if _, err := configv1.NewSecretServiceClient(w.Conn("ops")).RevokeSecretVersion(testkit.Context(t), &configv1.RevokeSecretVersionRequest{
		Environment: "production", Name: "db/password", Version: 1, Reason: "leaked"}); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		cv := w.setConfig(strings.Replace(fmt.Sprintf(configDoc, "x"), "secret://db/password", tc.ref, 1))
		id := w.promote(fmt.Sprintf("r%d", i), "1.0.0")
		evs := w.ended(id)
		if last(evs) != "RolledBack" {
			t.Fatalf("%s: ended %v", tc.name, names(evs))
		}
		rs := rollbackOf(t, evs)
		if want := fmt.Sprintf("cannot deliver configuration version %d of production: %s", cv, tc.reason); rs.GetTrigger() != "config" || !strings.HasPrefix(rs.GetReason(), want) {
			t.Errorf("%s: RollbackStarted %v; want trigger config and reason %q…", tc.name, rs, want)
		}
		if got := deliveries(t, evs); len(got) != 0 {
			t.Errorf("%s: delivered %v", tc.name, got)
		}
	}
	w.checkNoLeak(value)
}

// TestExecDriverDeliversSecretsOnlyToTheEnvironment: with the exec driver
// the secret reaches the Start command's environment only; its templates
// see the reference. The first start fails (its error and output are
// logged and recorded); the retry succeeds. Then the secret is searched for
// everywhere, the driver's state directory and output included.
func TestExecDriverDeliversSecretsOnlyToTheEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := deployersvc.File{Driver: "exec"}
	// The script fails the first time; then it records the digest of the
	// value it got and the argument its template rendered.
	script := `if [ ! -e "$0.tried" ]; then touch "$0.tried"; echo "start of $FLOE_VERSION failed: the cluster is not ready"; exit 3; fi
printf %s "$DATABASE_PASSWORD" | sha256sum | cut -d' ' -f1 > "$0.digest"; printf %s "$1" > "$0.arg"`
	file.Exec.Start = []string{"/bin/sh", "-c", script, filepath.Join(dir, "start"), "{{.Config.DATABASE_PASSWORD}}"}
	file.Exec.SetWeights = []string{"true"}
	file.Exec.Check = []string{"true"}
	file.Exec.Stop = []string{"true"}
	file.Exec.StateDir = filepath.Join(dir, "state")
	w := startConfigWorld(t, file)
	value := leakcheck.Canary()
	w.putSecret("db/password", value)
	w.setConfig(fmt.Sprintf(configDoc, "exec"))

	id := w.promote("r1", "1.0.0")
	if evs := w.ended(id); last(evs) != "RolledBack" {
		t.Fatalf("first attempt: %v", names(evs))
	}
	if rs := rollbackOf(t, w.logs.events(id)); !strings.Contains(rs.GetReason(), "the cluster is not ready") {
		t.Errorf("the failed start's reason: %q", rs.GetReason())
	}
	retry, err := deployv1.NewDeployServiceClient(w.Conn("ops")).Retry(testkit.Context(t), &deployv1.RetryRequest{DeploymentId: id})
	keep(w, retry, err)
	evs := w.ended(retry.GetDeployment().GetId())
	if last(evs) != "DeploymentSucceeded" {
		t.Fatalf("retry: %v", names(evs))
	}
	if got := deliveries(t, evs); len(got) != 1 || got[0].GetSecrets()[0].GetVersion() != 1 {
		t.Errorf("the retry's delivery: %v", got)
	}
	sum, _ := os.ReadFile(filepath.Join(dir, "start.digest"))
	if strings.TrimSpace(string(sum)) != digest(value) {
		t.Errorf("the Start command's environment did not hold the secret (digest %q)", sum)
	}
	if arg, _ := os.ReadFile(filepath.Join(dir, "start.arg")); string(arg) != "secret://db/password" {
		t.Errorf("{{.Config.DATABASE_PASSWORD}} did not render the reference (%d bytes rendered)", len(arg))
	}
	w.getDeployment(retry.GetDeployment().GetId())
	w.checkNoLeak(value)
}

// TestRetryAndConfigRolloutHeldByFreeze: a retry and a configuration-only
// rollout start deployments without a promotion, so a freeze holds them as
// it holds promotions; once it is lifted the retry goes ahead.
func TestRetryAndConfigRolloutHeldByFreeze(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := deployersvc.File{Driver: "exec"}
	script := `if [ ! -e "$0.tried" ]; then touch "$0.tried"; echo "not ready"; exit 3; fi`
	file.Exec.Start = []string{"/bin/sh", "-c", script, filepath.Join(dir, "start")}
	file.Exec.SetWeights, file.Exec.Check, file.Exec.Stop = []string{"true"}, []string{"true"}, []string{"true"}
	file.Exec.StateDir = filepath.Join(dir, "state")
	w := startConfigWorld(t, file)
	w.putSecret("db/password", leakcheck.Canary())
	w.setConfig(fmt.Sprintf(configDoc, "exec"))
	id := w.promote("r1", "1.0.0")
	if evs := w.ended(id); last(evs) != "RolledBack" {
		t.Fatalf("first attempt: %v", names(evs))
	}
	ctx := testkit.Context(t)
	now := time.Now()
	cal := changev1.NewWindowServiceClient(w.Conn("ops"))
	if _, err := cal.CreateFreeze(ctx, &changev1.CreateFreezeRequest{Freeze: &changev1.Freeze{Id: "year-end", Environments: []string{"production"}, Reason: "year-end",
		Start: timestamppb.New(now.Add(-time.Minute)), End: timestamppb.New(now.Add(time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	deploy := deployv1.NewDeployServiceClient(w.Conn("ops"))
	_, err := deploy.Retry(ctx, &deployv1.RetryRequest{DeploymentId: id})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "year-end") {
		t.Errorf("retry during the freeze: %v, want refused naming the freeze", err)
	}
	_, err = deploy.RolloutConfig(ctx, &deployv1.RolloutConfigRequest{Environment: "production", Reason: "pool size"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "year-end") {
		t.Errorf("configuration rollout during the freeze: %v, want refused naming the freeze", err)
	}
	if _, err := cal.DeleteFreeze(ctx, &changev1.DeleteFreezeRequest{Id: "year-end", Reason: "over"}); err != nil {
		t.Fatal(err)
	}
	retry, err := deploy.Retry(ctx, &deployv1.RetryRequest{DeploymentId: id})
	if err != nil {
		t.Fatalf("retry after the freeze: %v", err)
	}
	if evs := w.ended(retry.GetDeployment().GetId()); last(evs) != "DeploymentSucceeded" {
		t.Fatalf("retry: %v", names(evs))
	}
}

// checkNoLeak searches every message of every stream (the event log, the
// KV buckets), the process log (debug level), the RPC answers and the exec
// driver's state directory for each secret: never found.
func (w *configWorld) checkNoLeak(values ...string) {
	w.t.Helper()
	hay := map[string][]byte{}
	for name, b := range testkit.Streams(w.t, w.NATS.ClientURL()) {
		hay["stream "+name] = b
	}
	hay["process log"] = []byte(w.log.String())
	w.mu.Lock()
	hay["RPC answers"] = append([]byte(nil), w.answers...)
	w.mu.Unlock()
	if w.stateDir != "" {
		_ = filepath.WalkDir(w.stateDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				hay["exec state "+p] = b
			}
			return nil
		})
	}
	spans, n := w.Spans.Text()
	hay["traces"] = []byte(spans)
	if len(hay["process log"]) == 0 || len(hay["stream FLOE_EVENTS"]) == 0 || n == 0 {
		w.t.Fatalf("nothing to search: %d bytes of log, %d of events, %d spans", len(hay["process log"]), len(hay["stream FLOE_EVENTS"]), n)
	}
	for _, v := range values {
		leakcheck.Check(w.t, []byte(v), hay)
	}
}

// TestConfigurationOnlyRollout: a configuration version is rolled out to what
// production runs, without a release: the live release's artifact runs again
// as "<version>+config.<N>" with that configuration, through the strategy's
// steps; one that fails its checks rolls back to the previous version with
// the configuration it had; an older version is rolled out like a new one
// (a configuration rollback). The deployments name no release.
func TestConfigurationOnlyRollout(t *testing.T) {
	t.Parallel()
	w := startConfigWorld(t, deployersvc.File{Driver: "local"})
	ctx := testkit.Context(t)
	ops := deployv1.NewDeployServiceClient(w.Conn("ops"))
	rollout := func(cv uint64, reason string) (*deployv1.Deployment, error) {
		r, err := ops.RolloutConfig(ctx, &deployv1.RolloutConfigRequest{Environment: "production", ConfigVersion: cv, Reason: reason,
			Strategy: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BIG_BANG})
		if err != nil {
			return nil, err
		}
		return keep(w, r, err).GetDeployment(), nil
	}
	value := leakcheck.Canary()
	w.putSecret("db/password", value)
	w.setConfig(fmt.Sprintf(configDoc, "one"))
	if _, err := rollout(0, "before any release"); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "deploy a release first") {
		t.Fatalf("a rollout with nothing running: %v", err)
	}
	if evs := w.ended(w.promote("r1", "1.0.0")); last(evs) != "DeploymentSucceeded" {
		t.Fatalf("release: %v", names(evs))
	}
	w.wantLive("1.0.0", map[string]string{"APP_MODE": "one", "DATABASE_PASSWORD": value})

	// Version 2 of the configuration, rolled out alone.
	if cv := w.setConfig(fmt.Sprintf(configDoc, "two")); cv != 2 {
		t.Fatalf("config version %d", cv)
	}
	d, err := rollout(0, "mode two")
	if err != nil {
		t.Fatal(err)
	}
	if d.GetVersion() != "1.0.0+config.2" || d.GetReleaseId() != "" || d.GetId() != "config-production-v2-1" ||
		d.GetConfigRollout().GetArtifact() != "1.0.0" || d.GetConfigRollout().GetArtifactReleaseId() != "r1" || d.GetConfigRollout().GetConfigVersion() != 2 {
		t.Fatalf("the rollout's deployment: %v", d)
	}
	evs := w.ended(d.GetId())
	if last(evs) != "DeploymentSucceeded" {
		t.Fatalf("rollout of version 2: %v", names(evs))
	}
	if got := deliveries(t, evs); len(got) != 1 || got[0].GetConfigVersion() != 2 || got[0].GetVersion() != "1.0.0+config.2" {
		t.Errorf("the rollout's delivery: %v", got)
	}
	w.wantLive("1.0.0+config.2", map[string]string{"APP_MODE": "two", "DATABASE_PASSWORD": value, "FLOE_ARTIFACT": "1.0.0", "FLOE_RELEASE_ID": "r1"})
	if _, err := rollout(2, "again"); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("rolling out what runs: %v", err)
	}

	// Version 3 makes the application fail its checks: rolled back to version 2.
	w.setConfig(`{"database": {"password": "secret://db/password"}, "app": {"mode": "three", "healthyChecks": 1}}`)
	d, err = rollout(0, "mode three")
	if err != nil {
		t.Fatal(err)
	}
	if evs := w.ended(d.GetId()); last(evs) != "RolledBack" {
		t.Fatalf("rollout of version 3: %v", names(evs))
	}
	w.wantLive("1.0.0+config.2", map[string]string{"APP_MODE": "two"})

	// Back to version 1: a rollout like any other.
	d, err = rollout(1, "back to mode one")
	if err != nil {
		t.Fatal(err)
	}
	if evs := w.ended(d.GetId()); last(evs) != "DeploymentSucceeded" {
		t.Fatalf("rollout of version 1: %v", names(evs))
	}
	w.wantLive("1.0.0+config.1", map[string]string{"APP_MODE": "one", "DATABASE_PASSWORD": value})

	// Refusals.
	if _, err := rollout(9, "x"); status.Code(err) != codes.NotFound {
		t.Errorf("an unknown configuration version: %v", err)
	}
	if _, err := rollout(2, ""); status.Code(err) != codes.InvalidArgument {
		t.Errorf("no reason: %v", err)
	}
	if _, err := deployv1.NewDeployServiceClient(w.Conn("viewer")).RolloutConfig(ctx, &deployv1.RolloutConfigRequest{Environment: "production", Reason: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("by a viewer: %v", err)
	}
	// The release service's deployments are untouched: none of these names a release.
	for _, id := range []string{"config-production-v2-1", "config-production-v3-1", "config-production-v1-1"} {
		var ds deployv1.DeploymentStarted
		if evs := w.logs.events(id); len(evs) == 0 || evs[0].DecodeInto(&ds) != nil || ds.GetReleaseId() != "" || ds.GetConfigRollout() == nil {
			t.Errorf("%s: its start names release %q (%v)", id, ds.GetReleaseId(), ds.GetConfigRollout())
		}
	}
	w.checkNoLeak(value)
}
