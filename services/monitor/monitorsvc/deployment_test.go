package monitorsvc_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// deployer appends deployment events to the shared log, as the deployer does.
type deployer struct {
	t     *testing.T
	ctx   context.Context
	store *eventstore.JetStreamStore
}

func newDeployer(t *testing.T, e *env) *deployer {
	t.Helper()
	return &deployer{t: t, ctx: ctxT(t), store: e.Store("deployer")}
}

func (d *deployer) append(id string, m proto.Message) {
	d.t.Helper()
	st, err := d.store.Load(d.ctx, "deployment", id, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.store.Append(d.ctx, "deployment", id, st.Version, eventstore.Meta{Actor: "system:deployer"}, eventstore.Event{Message: m}); err != nil {
		d.t.Fatal(err)
	}
}

func started(id, version string) *deployv1.DeploymentStarted {
	return &deployv1.DeploymentStarted{
		DeploymentId: id, ReleaseId: "rel-" + id, Version: version, Environment: "staging", App: "mail", Strategy: "canary", Attempt: 1,
		Plan: []*deployv1.Step{
			{Kind: deployv1.StepKind_STEP_KIND_SET_WEIGHT, Weight: 10},
			{Kind: deployv1.StepKind_STEP_KIND_ANALYSIS, Duration: durationpb.New(time.Hour)},
		},
	}
}

// TestDeploymentMonitoring: a DeploymentStarted in the log starts monitoring
// with the enabled triggers, readable with GetMonitoring and streamed to a
// WatchAlerts filtered on that deployment (and only that one); an analysis
// step without a verdict is FailedPrecondition, a step that is not an
// analysis NotFound; the deployment's success ends the monitoring.
func TestDeploymentMonitoring(t *testing.T) {
	e := startEnv(t, emptyRules())
	ops, sup := e.client("ops"), e.client("sup")
	if _, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: queueTrigger("queue_depth", 100)}); err != nil {
		t.Fatal(err)
	}
	off := queueTrigger("switched_off", 1)
	off.Enabled = false
	if _, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: off}); err != nil {
		t.Fatal(err)
	}
	d := newDeployer(t, e)
	w := e.watch("sup", "dep-1")
	d.append("dep-1", started("dep-1", "1.2.3"))

	m := w.next("MonitoringStarted", isEvent("MonitoringStarted", "dep-1"))
	if s := m.GetSummary(); !strings.Contains(s, "monitoring dep-1 1.2.3 in staging") || !strings.Contains(s, "queue_depth > 100 for 1m0s") || strings.Contains(s, "switched_off") {
		t.Errorf("summary %q, want dep-1 with the enabled trigger only", s)
	}
	var mon *monitorv1.DeploymentMonitoring
	testkit.Eventually(t, func() error {
		resp, err := sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-1"})
		if err != nil {
			return fmt.Errorf("GetMonitoring dep-1: %w", err)
		}
		mon = resp.GetMonitoring()
		return nil
	})
	if mon.GetEnvironment() != "staging" || mon.GetVersion() != "1.2.3" || mon.GetReleaseId() != "rel-dep-1" || mon.GetEndedAt() != nil ||
		len(mon.GetTriggers()) != 1 || mon.GetTriggers()[0].GetTrigger() != "queue_depth" || mon.GetTriggers()[0].GetRuleVersion() != 1 {
		t.Errorf("monitoring %v", mon)
	}
	_, err := sup.GetAnalysis(ctxT(t), &monitorv1.GetAnalysisRequest{DeploymentId: "dep-1", Step: 1})
	wantCode(t, "analysis not started", err, codes.FailedPrecondition, "FAILED_PRECONDITION")
	if !strings.Contains(err.Error(), "has not started") {
		t.Errorf("analysis not started: %v", err)
	}
	_, err = sup.GetAnalysis(ctxT(t), &monitorv1.GetAnalysisRequest{DeploymentId: "dep-1", Step: 0})
	wantCode(t, "not an analysis step", err, codes.NotFound, "NOT_FOUND")

	// Another deployment's monitoring is not streamed to the dep-1 watch.
	d.append("dep-2", started("dep-2", "2.0.0"))
	testkit.Eventually(t, func() error {
		if _, err := sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-2"}); err != nil {
			return fmt.Errorf("GetMonitoring dep-2: %w", err)
		}
		return nil
	})
	before, err := d.store.LastSeq(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	d.append("dep-1", &deployv1.DeploymentSucceeded{DeploymentId: "dep-1", ReleaseId: "rel-dep-1", Version: "1.2.3", Environment: "staging"})
	if m := w.next("MonitoringEnded", func(*monitorv1.WatchAlertsResponse) bool { return true }); m.GetEvent() != "floe.monitor.v1.MonitoringEnded" ||
		m.GetSubject() != "dep-1" || m.GetSummary() != "monitoring ended: succeeded" {
		t.Errorf("next event on the dep-1 watch: %s %s %q, want dep-1's MonitoringEnded (seen %q)", m.GetEvent(), m.GetSubject(), m.GetSummary(), w.seen)
	}
	resp, err := sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-1"})
	if err != nil || resp.GetMonitoring().GetOutcome() != "succeeded" || resp.GetMonitoring().GetEndedAt() == nil {
		t.Errorf("monitoring after the success: %v, %v", resp, err)
	}

	// Time travel: the monitoring as it was before the success, rebuilt from
	// the log, is still running; as of now it has ended; before it started,
	// there is none.
	resp, err = sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-1", AsOfPosition: before})
	if err != nil || resp.GetMonitoring().GetEndedAt() != nil || resp.GetMonitoring().GetOutcome() != "" || len(resp.GetMonitoring().GetTriggers()) != 1 {
		t.Errorf("monitoring as of position %d, before the success: %v, %v; want it running with its trigger", before, resp, err)
	}
	resp, err = sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-1", AsOfTime: timestamppb.Now()})
	if err != nil || resp.GetMonitoring().GetOutcome() != "succeeded" {
		t.Errorf("monitoring as of now: %v, %v; want succeeded", resp, err)
	}
	_, err = sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-1", AsOfPosition: 1})
	wantCode(t, "monitoring as of position 1", err, codes.NotFound, "NOT_FOUND")
	_, err = sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-1", AsOfPosition: before, AsOfTime: timestamppb.Now()})
	wantCode(t, "monitoring as of a position and a time", err, codes.InvalidArgument, "INVALID_ARGUMENT")
}

// A trigger limited to production does not judge a staging deployment; in
// production it is in force at production's threshold.
func TestTriggerScopeOverTheService(t *testing.T) {
	e := startEnv(t, emptyRules())
	ops, sup := e.client("ops"), e.client("sup")
	prod := queueTrigger("prod_queue", 100)
	prod.Environments, prod.Thresholds = []string{"production"}, map[string]float64{"production": 50}
	for _, tr := range []*monitorv1.RollbackTrigger{prod, queueTrigger("everywhere", 100)} {
		if _, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: tr}); err != nil {
			t.Fatal(err)
		}
	}
	d := newDeployer(t, e)
	d.append("dep-s", started("dep-s", "1.2.3"))
	inProd := started("dep-p", "1.2.3")
	inProd.Environment = "production"
	d.append("dep-p", inProd)
	triggersOf := func(id string) map[string]*monitorv1.TriggerStatus {
		t.Helper()
		out := map[string]*monitorv1.TriggerStatus{}
		testkit.Eventually(t, func() error {
			resp, err := sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: id})
			if err != nil {
				return err
			}
			for _, ts := range resp.GetMonitoring().GetTriggers() {
				out[ts.GetTrigger()] = ts
			}
			return nil
		})
		return out
	}
	if got := triggersOf("dep-s"); len(got) != 1 || got["everywhere"] == nil {
		t.Errorf("staging is judged by %v, want only the unscoped trigger", got)
	}
	got := triggersOf("dep-p")
	if len(got) != 2 || got["prod_queue"] == nil || !strings.Contains(got["prod_queue"].GetCondition(), "> 50") {
		t.Errorf("production is judged by %v, want both, prod_queue at its threshold 50", got)
	}
}
