package monitorsvc_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/ports"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// testUsers are the principals of the suite: id → roles (all environments).
var testUsers = map[string][]auth.Role{
	"ops":    {auth.RoleOperations},     // monitor.write
	"rm":     {auth.RoleReleaseManager}, // monitor.* (wildcard)
	"sup":    {auth.RoleSupport},        // monitor.read only
	"dev":    {auth.RoleDeveloper},      // monitor.read only
	"nobody": {},                        // authenticated, no role
}

// anonymous is the client name of a connection without a bearer token.
const anonymous = ""

// env is one running monitor service on a real embedded JetStream, with an
// embedded TSDB in a directory that survives restarts.
type env struct {
	*testkit.Process
	t       testing.TB
	srv     *server.Server
	dataDir string // the service's data dir: <dataDir>/monitor-tsdb
	file    monitorsvc.File
	// tokens override the test users' tokens (e.g. a forged one).
	tokens map[string]string
}

// emptyRules is a File with no rules to seed (so the catalog holds only
// what a test creates) and a short evaluation interval.
func emptyRules() monitorsvc.File {
	return monitorsvc.File{Interval: 250 * time.Millisecond, RuleSet: &rules.Set{}}
}

// entries is the monitor with configuration f.
func entries(f *monitorsvc.File) func() []service.Entry {
	return func() []service.Entry {
		return []service.Entry{service.Of(monitorsvc.Service, monitorsvc.Config{Defaults: f})}
	}
}

// startEnv starts NATS and the monitor with configuration f.
func startEnv(t testing.TB, f monitorsvc.File) *env {
	t.Helper()
	e := &env{t: t, dataDir: t.TempDir(), file: f, tokens: map[string]string{}}
	users := map[string][]auth.RoleBinding{}
	for id, roles := range testUsers {
		users[id] = testkit.Roles(roles...)
	}
	e.Process = testkit.Start(t, testkit.Options{Users: users, DataDir: e.dataDir, Entries: entries(&e.file),
		Writers: map[string][]string{"deployer": {"deployment"}}}) // the tests play the deployer
	e.srv = e.NATS
	return e
}

// stop stops the service process; restart starts a new one on the same NATS data and TSDB directory.
func (e *env) stop()    { e.Stop() }
func (e *env) restart() { e.Restart() }

// client returns a MonitorService client authenticated as user (anonymous: no token).
func (e *env) client(user string) monitorv1.MonitorServiceClient {
	e.t.Helper()
	if tok, ok := e.tokens[user]; ok {
		return monitorv1.NewMonitorServiceClient(e.ConnWithToken(tok))
	}
	return monitorv1.NewMonitorServiceClient(e.Conn(user))
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// ---- error details ----

// fieldViolations returns the BadRequest field violations of a status error as field → description.
func fieldViolations(err error) map[string]string {
	out := map[string]string{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out[v.GetField()] += v.GetDescription()
			}
		}
	}
	return out
}

// errorInfo returns the ErrorInfo detail of a status error (nil if none).
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// wantCode fails the test unless err has code (and, for a non-OK code, an ErrorInfo with reason).
func wantCode(t testing.TB, what string, err error, code codes.Code, reason string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("%s: code %v (%v), want %v", what, got, err, code)
	}
	if reason == "" {
		return
	}
	if info := errorInfo(err); info.GetReason() != reason {
		t.Errorf("%s: ErrorInfo reason %q (%v), want %q", what, info.GetReason(), info, reason)
	}
}

// wantViolations fails unless err is InvalidArgument whose BadRequest has
// exactly the fields want (field → a word the description contains).
func wantViolations(t testing.TB, what string, err error, want map[string]string) {
	t.Helper()
	wantCode(t, what, err, codes.InvalidArgument, "INVALID_ARGUMENT")
	got := fieldViolations(err)
	for field, text := range want {
		d, ok := got[field]
		switch {
		case !ok:
			t.Errorf("%s: no violation of %s in %q", what, field, got)
		case !strings.Contains(d, text):
			t.Errorf("%s: violation of %s is %q, want it to mention %q", what, field, d, text)
		}
	}
	for field := range got {
		if _, ok := want[field]; !ok {
			t.Errorf("%s: unexpected violation %s: %s", what, field, got[field])
		}
	}
}

// ---- definitions ----

func names[T interface{ GetName() string }](list []T) []string {
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, x.GetName())
	}
	return out
}

// versions maps each listed definition's name to its version.
func versions[T interface {
	GetName() string
	GetVersion() uint64
}](list []T) map[string]uint64 {
	out := map[string]uint64{}
	for _, x := range list {
		out[x.GetName()] = x.GetVersion()
	}
	return out
}

func listTriggers(t testing.TB, e *env) []*monitorv1.RollbackTrigger {
	t.Helper()
	resp, err := e.client("sup").ListRollbackTriggers(ctxT(t), &monitorv1.ListRollbackTriggersRequest{})
	if err != nil {
		t.Fatalf("list triggers: %v", err)
	}
	return resp.GetTriggers()
}

func listRules(t testing.TB, e *env) []*monitorv1.AlertRule {
	t.Helper()
	resp, err := e.client("sup").ListAlertRules(ctxT(t), &monitorv1.ListAlertRulesRequest{})
	if err != nil {
		t.Fatalf("list alert rules: %v", err)
	}
	return resp.GetRules()
}

// sortedNames is names, sorted.
func sortedNames[T interface{ GetName() string }](list []T) []string {
	n := names(list)
	slices.Sort(n)
	return n
}

// ---- metrics ----

// gaugeTarget is an HTTP endpoint serving a Prometheus registry with the
// gauge test_queue_depth{queue}, which the test sets.
type gaugeTarget struct {
	URL   string
	depth *prometheus.GaugeVec
}

func newGaugeTarget(t testing.TB) *gaugeTarget {
	t.Helper()
	reg := prometheus.NewRegistry()
	depth := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_queue_depth", Help: "Depth of a test queue."}, []string{"queue"})
	reg.MustRegister(depth)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return &gaugeTarget{URL: srv.URL, depth: depth}
}

func (g *gaugeTarget) set(queue string, v float64) { g.depth.WithLabelValues(queue).Set(v) }

// ---- the watch stream ----

// watcher is an open WatchAlerts stream, read in the background.
type watcher struct {
	t      testing.TB
	cancel context.CancelFunc
	events chan *monitorv1.WatchAlertsResponse
	err    error // set when events is closed
	seen   []string
}

// watch opens WatchAlerts as user and returns once the service is live: it
// sends its response headers then, so no event recorded after watch returns
// can be missed.
func (e *env) watch(user, deploymentID string) *watcher {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := e.client(user).WatchAlerts(ctx, &monitorv1.WatchAlertsRequest{DeploymentId: deploymentID})
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := stream.Header()
	if err != nil {
		t.Fatalf("WatchAlerts headers: %v", err)
	}
	if v := hdr.Get(ports.WatchStartHeader); len(v) != 1 {
		t.Fatalf("WatchAlerts headers %v; want %s", hdr, ports.WatchStartHeader)
	}
	w := &watcher{t: t, cancel: cancel, events: make(chan *monitorv1.WatchAlertsResponse, 4096)}
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				w.err = err
				close(w.events)
				return
			}
			w.events <- m
		}
	}()
	return w
}

// next returns the next event for which match holds, skipping others; it
// fails the test after 20 s or when the stream ends.
func (w *watcher) next(what string, match func(*monitorv1.WatchAlertsResponse) bool) *monitorv1.WatchAlertsResponse {
	w.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-w.events:
			if !ok {
				w.t.Fatalf("waiting for %s: stream ended: %v (seen %q)", what, w.err, w.seen)
			}
			w.seen = append(w.seen, m.GetEvent()+" "+m.GetSubject()+": "+m.GetSummary())
			if match(m) {
				return m
			}
		case <-timeout:
			w.t.Fatalf("timed out waiting for %s (seen %q)", what, w.seen)
		}
	}
}

// isEvent matches events of a type (the proto message name, e.g. AlertFiring) and subject.
func isEvent(name, subject string) func(*monitorv1.WatchAlertsResponse) bool {
	return func(m *monitorv1.WatchAlertsResponse) bool {
		return m.GetEvent() == "floe.monitor.v1."+name && m.GetSubject() == subject
	}
}
