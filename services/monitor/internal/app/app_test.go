package app_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/projection"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/adapters"
	"github.com/penguinmails/floe/services/monitor/internal/app"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/links"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

// harness is a monitor on a real JetStream and a real embedded TSDB, with a
// clock the test moves. Deployer events are appended by a second store, as
// the deployer would, and handed to the reaction directly.
type harness struct {
	t       *testing.T
	ctx     context.Context
	js      jetstream.JetStream
	store   *eventstore.JetStreamStore
	deploys *eventstore.JetStreamStore
	tsdb    *metrics.Embedded
	svc     *app.Service
	cancel  context.CancelFunc

	mu  sync.Mutex
	now time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	ctx := causal.With(t.Context(), causal.Origin{Actor: "tester"})
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/monitor", Aggregates: []string{app.AggMonitoring, app.AggTrigger, app.AggAlertRule, app.AggAlert}})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, js: js, store: store, now: time.Now().Add(time.Second).Truncate(time.Second)}
	// The deployer's events are stamped with the test's clock, as they would be with the real one.
	deploys, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/deployer", Aggregates: []string{"deployment"}, Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	tsdb, err := metrics.OpenEmbedded(t.TempDir(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tsdb.Close() })
	h.deploys, h.tsdb = deploys, tsdb
	h.svc = h.newService()
	return h
}

// newService starts a fresh service instance (as after a restart) on the same log and TSDB.
func (h *harness) newService() *app.Service {
	h.t.Helper()
	if h.cancel != nil {
		h.cancel()
	}
	ctx, cancel := context.WithCancel(h.ctx)
	h.cancel = cancel
	h.t.Cleanup(cancel)
	catalog := startCatalog(h.t, ctx, h.js)
	lt, err := links.Parse(map[string]string{"graph": links.Prometheus("http://prometheus:9090")["graph"],
		"deployment": "https://console.example.com/deployments/{{.DeploymentID}}"})
	if err != nil {
		h.t.Fatal(err)
	}
	svc, err := app.New(h.store, nil, h.tsdb, nil, catalog, app.Config{Interval: 5 * time.Second, Metrics: map[string]string{
		"error_rate": `sum(rate(reqs{code="500"}[20s])) / sum(rate(reqs[20s]))`,
	}, Links: lt}, zerolog.Nop(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	svc.SetClock(func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now })
	h.svc = svc
	return svc
}

func (h *harness) clock() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }

func (h *harness) advance(d time.Duration) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
	return h.now
}

// deploymentEvent appends a deployer event and lets the monitor react to it.
func (h *harness) deploymentEvent(id string, m proto.Message) {
	h.t.Helper()
	st, err := h.deploys.Load(h.ctx, "deployment", id, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	res, err := h.deploys.Append(h.ctx, "deployment", id, st.Version, eventstore.Meta{Actor: "tester"}, eventstore.Event{Message: m})
	if err != nil {
		h.t.Fatal(err)
	}
	st, err = h.deploys.Load(h.ctx, "deployment", id, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	cause := st.Events[len(st.Events)-1]
	if cause.Seq != res.LastSeq {
		h.t.Fatalf("loaded event %d, appended %d", cause.Seq, res.LastSeq)
	}
	// As the subscription delivers it.
	rctx := causal.With(h.ctx, eventstore.ReactionOrigin("monitor-deployments", cause))
	if err := h.svc.OnDeploymentEvent(rctx, cause); err != nil {
		h.t.Fatalf("react to %T: %v", m, err)
	}
	// Twice: a redelivered event changes nothing.
	if err := h.svc.OnDeploymentEvent(rctx, cause); err != nil {
		h.t.Fatalf("react again to %T: %v", m, err)
	}
	// The catalog follows MonitoringStarted and MonitoringEnded: wait until it has the last one.
	mon, err := h.store.Load(h.ctx, app.AggMonitoring, id, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if n := len(mon.Events); n > 0 {
		if last := mon.Events[n-1]; last.Name == "MonitoringStarted" || last.Name == "MonitoringEnded" {
			if err := h.svc.Catalog().Wait(h.ctx, last.Seq); err != nil {
				h.t.Fatal(err)
			}
		}
	}
}

// traffic appends one scrape of the request counters of a version at the
// clock's time: total requests so far and the share that failed.
func (h *harness) traffic(env, version string, total, failed float64) {
	h.t.Helper()
	at := h.clock()
	for code, v := range map[string]float64{"200": total - failed, "500": failed} {
		l := map[string]string{"__name__": "reqs", "environment": env, "version": version, "code": code}
		if err := h.tsdb.Append(h.ctx, l, at, v); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *harness) tick() {
	h.t.Helper()
	if err := h.svc.Tick(h.ctx); err != nil {
		h.t.Fatalf("tick at %s: %v", h.clock(), err)
	}
}

// events are the monitoring aggregate's events of a deployment.
func (h *harness) events(id string) []proto.Message {
	h.t.Helper()
	st, err := h.store.Load(h.ctx, app.AggMonitoring, id, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]proto.Message, 0, len(st.Events))
	for _, e := range st.Events {
		m, err := e.Decode()
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func rollbacks(msgs []proto.Message) []*monitorv1.RollbackTriggered {
	var out []*monitorv1.RollbackTriggered
	for _, m := range msgs {
		if rt, ok := m.(*monitorv1.RollbackTriggered); ok {
			out = append(out, rt)
		}
	}
	return out
}

func errorRateTrigger() domain.Trigger {
	return domain.Trigger{Name: "error_rate", Metric: "error_rate", Operator: domain.OpGreater, Threshold: 0.1,
		Duration: 30 * time.Second, Action: domain.ActionRollback, Cooldown: time.Hour, Enabled: true}
}

func startDeployment(h *harness, id, version string) {
	h.deploymentEvent(id, &deployv1.DeploymentStarted{DeploymentId: id, ReleaseId: "r1", Version: version, Environment: "staging", App: "demo",
		Plan: []*deployv1.Step{
			{Kind: deployv1.StepKind_STEP_KIND_START},
			{Kind: deployv1.StepKind_STEP_KIND_SET_WEIGHT, Weight: 20},
			{Kind: deployv1.StepKind_STEP_KIND_ANALYSIS, Duration: durationpb.New(20 * time.Second)},
		}})
}

// TestCanaryBreachTriggersOneRollback: a version failing 20% of its requests
// breaches error_rate > 10%; RollbackTriggered is recorded at the first
// evaluation at which the breach has lasted 30 s, exactly once, with the
// observed values and rule version; the stable version's traffic does not
// count; a restarted monitor rebuilds the same state and does not fire again.
func TestCanaryBreachTriggersOneRollback(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.svc.CreateTrigger(h.ctx, errorRateTrigger()); err != nil {
		t.Fatal(err)
	}
	startDeployment(h, "r1-staging-1", "1.1.0")
	// 10 requests/s per version; the canary fails 20%, the stable version none.
	var total float64
	var firstBreach time.Time
	for i := 0; i < 20; i++ {
		at := h.advance(5 * time.Second)
		total += 50
		h.traffic("staging", "1.1.0", total, total*0.2)
		h.traffic("staging", "1.0.0", total, 0)
		h.tick()
		if rb := rollbacks(h.events("r1-staging-1")); len(rb) > 0 {
			if firstBreach.IsZero() {
				t.Fatal("rolled back without a breach")
			}
			if got := at.Sub(firstBreach); got != 30*time.Second {
				t.Errorf("fired %s after the breach began, want exactly 30s (the first evaluation at or after the duration)", got)
			}
			r := rb[0]
			if r.GetTrigger() != "error_rate" || r.GetRuleVersion() != 1 || r.GetObserved() < 0.19 || r.GetObserved() > 0.21 ||
				r.GetSustainedSeconds() != 30 || r.GetVersion() != "1.1.0" || r.GetEnvironment() != "staging" || r.GetCause() != domain.CauseBreach {
				t.Errorf("RollbackTriggered = %v", r)
			}
			// Its links: the deployment, and the query it was evaluated with in the graph page.
			graph, err := url.Parse(r.GetLinks()["graph"])
			if err != nil || graph.Host != "prometheus:9090" || !strings.Contains(graph.Query().Get("g0.expr"), `version="1.1.0"`) ||
				r.GetLinks()["deployment"] != "https://console.example.com/deployments/r1-staging-1" {
				t.Errorf("links %v (%v)", r.GetLinks(), err)
			}
			break
		}
		for _, m := range h.events("r1-staging-1") {
			if te, ok := m.(*monitorv1.TriggerEvaluated); ok && te.GetKind() == domain.KindBreachStarted && firstBreach.IsZero() {
				firstBreach = te.GetAt().AsTime()
			}
		}
	}
	if len(rollbacks(h.events("r1-staging-1"))) != 1 {
		t.Fatalf("want exactly one RollbackTriggered, events: %v", h.events("r1-staging-1"))
	}
	// The evaluated query carries the deployment's matchers.
	for _, m := range h.events("r1-staging-1") {
		if te, ok := m.(*monitorv1.TriggerEvaluated); ok {
			want := `sum(rate(reqs{code="500",environment="staging",version="1.1.0"}[20s])) / sum(rate(reqs{environment="staging",version="1.1.0"}[20s]))`
			if te.GetQuery() != want {
				t.Errorf("query %s, want %s", te.GetQuery(), want)
			}
			break
		}
	}

	// A restart rebuilds the same trigger state from the log alone.
	before := h.svc
	m1, err := before.LoadMonitoring(h.ctx, "r1-staging-1")
	if err != nil {
		t.Fatal(err)
	}
	h.newService()
	m2, err := h.svc.LoadMonitoring(h.ctx, "r1-staging-1")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := m2.TriggerState("error_rate"); !proto.Equal(m1.Status(), m2.Status()) || !st.Breach.Fired {
		t.Fatalf("state after restart differs or lost the firing: %v vs %v", m1.Status(), m2.Status())
	}
	// Still breaching: the breach already fired, so no second rollback.
	for i := 0; i < 4; i++ {
		h.advance(5 * time.Second)
		total += 50
		h.traffic("staging", "1.1.0", total, total*0.2)
		h.tick()
	}
	if n := len(rollbacks(h.events("r1-staging-1"))); n != 1 {
		t.Errorf("%d RollbackTriggered after the restart, want still 1", n)
	}
	// The rollback starts: monitoring ends and nothing more is evaluated.
	h.deploymentEvent("r1-staging-1", &deployv1.RollbackStarted{Reason: "error_rate", Trigger: "monitor"})
	n := len(h.events("r1-staging-1"))
	h.advance(5 * time.Second)
	h.tick()
	evs := h.events("r1-staging-1")
	if len(evs) != n {
		t.Errorf("evaluated after the end: %v", evs[n:])
	}
	if end, ok := evs[n-1].(*monitorv1.MonitoringEnded); !ok || end.GetOutcome() != "rolling_back" {
		t.Errorf("last event %v, want MonitoringEnded rolling_back", evs[n-1])
	}
	if len(h.svc.Catalog().Active()) != 0 {
		t.Errorf("active after the end: %v", h.svc.Catalog().Active())
	}
}

// TestHealthyCanaryPassesAnalysis: a healthy version never breaches, and its
// analysis step gets a pass verdict with the measurements behind it.
func TestHealthyCanaryPassesAnalysis(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.svc.CreateTrigger(h.ctx, errorRateTrigger()); err != nil {
		t.Fatal(err)
	}
	startDeployment(h, "r2-staging-1", "1.2.0")
	var total float64
	for i := 0; i < 3; i++ {
		h.advance(5 * time.Second)
		total += 50
		h.traffic("staging", "1.2.0", total, total*0.01)
		h.tick()
	}
	h.deploymentEvent("r2-staging-1", &deployv1.DeploymentStepStarted{Index: 2})
	for i := 0; i < 12; i++ {
		h.advance(5 * time.Second)
		total += 50
		h.traffic("staging", "1.2.0", total, total*0.01)
		h.tick()
	}
	m, err := h.svc.LoadMonitoring(h.ctx, "r2-staging-1")
	if err != nil {
		t.Fatal(err)
	}
	a, ok := m.Analysis(2)
	if !ok || a.Verdict == nil {
		t.Fatalf("no verdict for step 2: %+v", a)
	}
	if a.Verdict.GetResultType() != monitorv1.VerdictResult_VERDICT_RESULT_PASS || a.Verdict.GetResult() != domain.VerdictPass || len(a.Verdict.GetChecks()) != 1 || a.Verdict.GetChecks()[0].GetSamples() < 3 {
		t.Errorf("verdict %v, want pass over ≥3 samples of error_rate", a.Verdict)
	}
	if len(rollbacks(h.events("r2-staging-1"))) != 0 {
		t.Error("a healthy canary was rolled back")
	}
}

// TestTwoMonitorsOneRollback: two monitor instances evaluating the same
// deployment at the same moments (as two replicas would) record each
// evaluation once — the second append conflicts and is dropped — and the
// breach yields exactly one RollbackTriggered.
func TestTwoMonitorsOneRollback(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.svc.CreateTrigger(h.ctx, errorRateTrigger()); err != nil {
		t.Fatal(err)
	}
	startDeployment(h, "r3-staging-1", "1.3.0")
	first := h.svc
	catalog := startCatalog(t, h.ctx, h.js)
	second, err := app.New(h.store, nil, h.tsdb, nil, catalog, app.Config{Interval: 5 * time.Second, Metrics: map[string]string{
		"error_rate": `sum(rate(reqs{code="500"}[20s])) / sum(rate(reqs[20s]))`,
	}}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	second.SetClock(h.clock)
	var total float64
	for i := 0; i < 14; i++ {
		h.advance(5 * time.Second)
		total += 50
		h.traffic("staging", "1.3.0", total, total*0.3)
		var wg sync.WaitGroup
		for _, s := range []*app.Service{first, second} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Tick(h.ctx); err != nil {
					t.Errorf("tick: %v", err)
				}
			}()
		}
		wg.Wait()
	}
	evs := h.events("r3-staging-1")
	if n := len(rollbacks(evs)); n != 1 {
		t.Errorf("%d RollbackTriggered, want 1", n)
	}
	// One evaluation per trigger per moment: no timestamp twice.
	seen := map[time.Time]bool{}
	for _, m := range evs {
		if te, ok := m.(*monitorv1.TriggerEvaluated); ok {
			at := te.GetAt().AsTime()
			if seen[at] {
				t.Errorf("evaluation at %s recorded twice", at)
			}
			seen[at] = true
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d evaluations recorded over 14 rounds", len(seen))
	}
}

// startCatalog runs a catalog (as one instance of the monitor would) until ctx ends.
func startCatalog(t testing.TB, ctx context.Context, js jetstream.JetStream) *adapters.Catalog {
	t.Helper()
	catalog, err := adapters.NewCatalog(ctx, js, projection.Options{})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = catalog.Projection().Run(ctx) }()
	select {
	case <-catalog.Ready():
	case <-ctx.Done():
		t.Fatal("the catalog did not catch up")
	}
	return catalog
}
