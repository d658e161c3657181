package monitorsvc_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/testkit"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// mailLabels are the labels of the alert on test_queue_depth{queue="mail"}
// scraped from a target labelled job=mailer.
var mailLabels = map[string]string{"queue": "mail", "job": "mailer"}

// scrapedEnv is a monitor evaluating every 200 ms and scraping target.
func scrapedEnv(t *testing.T, target *gaugeTarget) *env {
	t.Helper()
	f := monitorsvc.File{Interval: 200 * time.Millisecond, RuleSet: &rules.Set{},
		Links: map[string]string{"runbook": `https://wiki.example.com/runbooks/{{.Rule}}?queue={{index .Labels "queue"}}`}}
	f.Embedded.Targets = []monitorsvc.Target{{URL: target.URL, Labels: map[string]string{"job": "mailer"}}}
	return startEnv(t, f)
}

func backlogRule(forDur time.Duration) *monitorv1.AlertRule {
	return &monitorv1.AlertRule{
		Name: "queue_backlog", Condition: "test_queue_depth > 5", Severity: "warning",
		Channels: []string{"slack"}, For: durationpb.New(forDur), Enabled: true,
	}
}

// change decodes the AlertChange of a watched alert event.
func change(t *testing.T, m *monitorv1.WatchAlertsResponse) *monitorv1.AlertChange {
	t.Helper()
	var msg interface {
		proto.Message
		GetChange() *monitorv1.AlertChange
	}
	switch m.GetEvent() {
	case "floe.monitor.v1.AlertPending":
		msg = &monitorv1.AlertPending{}
	case "floe.monitor.v1.AlertFiring":
		msg = &monitorv1.AlertFiring{}
	case "floe.monitor.v1.AlertResolved":
		msg = &monitorv1.AlertResolved{}
	case "floe.monitor.v1.AlertCancelled":
		msg = &monitorv1.AlertCancelled{}
	default:
		t.Fatalf("%s is not an alert event", m.GetEvent())
	}
	if err := protojson.Unmarshal([]byte(m.GetBodyJson()), msg); err != nil {
		t.Fatalf("body of %s: %v", m.GetEvent(), err)
	}
	return msg.GetChange()
}

// isAlertChange matches the alert transitions of rule queue_backlog.
func isAlertChange(m *monitorv1.WatchAlertsResponse) bool {
	return m.GetSubject() == "queue_backlog" && strings.HasPrefix(m.GetEvent(), "floe.monitor.v1.Alert") &&
		!strings.HasPrefix(m.GetEvent(), "floe.monitor.v1.AlertRule")
}

func listAlerts(t *testing.T, e *env, req *monitorv1.ListAlertsRequest) []*monitorv1.Alert {
	t.Helper()
	resp, err := e.client("sup").ListAlerts(ctxT(t), req)
	if err != nil {
		t.Fatalf("ListAlerts(%v): %v", req, err)
	}
	return resp.GetAlerts()
}

// fireAndResolve drives the queue_backlog alert (created here, for 1s)
// through pending → firing → resolved with real scraped metrics, checking
// the watch stream and ListAlerts at each step; it returns the resolved alert as listed.
func fireAndResolve(t *testing.T, e *env, target *gaugeTarget) *monitorv1.Alert {
	t.Helper()
	w := e.watch("sup", "")
	defer w.cancel()
	created, err := e.client("ops").CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: backlogRule(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	saved := w.next("AlertRuleSaved", isEvent("AlertRuleSaved", "queue_backlog"))
	if want := "alert rule queue_backlog saved (v1)"; saved.GetSummary() != want {
		t.Errorf("summary %q, want %q", saved.GetSummary(), want)
	}

	target.set("mail", 10)
	target.set("bulk", 1) // below the threshold: no alert
	pending := w.next("the first alert transition", isAlertChange)
	if pending.GetEvent() != "floe.monitor.v1.AlertPending" {
		t.Fatalf("first transition %s (%s), want AlertPending", pending.GetEvent(), pending.GetSummary())
	}
	pc := change(t, pending)
	if !maps.Equal(pc.GetLabels(), mailLabels) || pc.GetValue() != 10 || pc.GetTo() != "pending" {
		t.Errorf("pending change %v, want labels %v value 10", pc, mailLabels)
	}
	firing := w.next("the second alert transition", isAlertChange)
	if firing.GetEvent() != "floe.monitor.v1.AlertFiring" {
		t.Fatalf("second transition %s (%s), want AlertFiring", firing.GetEvent(), firing.GetSummary())
	}
	for _, s := range []string{"queue_backlog FIRING", "[warning]", `queue="mail"`, `job="mailer"`, "value 10"} {
		if !strings.Contains(firing.GetSummary(), s) {
			t.Errorf("firing summary %q lacks %q", firing.GetSummary(), s)
		}
	}
	fc := change(t, firing)
	if fc.GetFrom() != "pending" || fc.GetTo() != "firing" || !fc.GetNotify() || fc.GetValue() != 10 || fc.GetSeverity() != "warning" ||
		!slicesEqual(fc.GetChannels(), []string{"slack"}) || fc.GetRuleVersion() != created.GetRule().GetVersion() || !maps.Equal(fc.GetLabels(), mailLabels) {
		t.Errorf("firing change %v", fc)
	}
	if got := fc.GetLinks()["runbook"]; got != "https://wiki.example.com/runbooks/queue_backlog?queue=mail" {
		t.Errorf("firing change's runbook link %q", got)
	}
	if held := fc.GetAt().AsTime().Sub(pc.GetAt().AsTime()); held < time.Second {
		t.Errorf("fired %s after pending, before `for` (1s)", held)
	}

	alerts := listAlerts(t, e, &monitorv1.ListAlertsRequest{})
	if len(alerts) != 1 {
		t.Fatalf("ListAlerts = %v, want the one firing alert", alerts)
	}
	a := alerts[0]
	if a.GetRule() != "queue_backlog" || a.GetState() != "firing" || a.GetSeverity() != "warning" || !maps.Equal(a.GetLabels(), mailLabels) ||
		a.GetValue() != 10 || !a.GetNotified() || !proto.Equal(a.GetFiredAt(), fc.GetAt()) || !proto.Equal(a.GetActiveSince(), pc.GetAt()) {
		t.Errorf("listed alert %v, want firing since the transitions %v / %v", a, pc.GetAt().AsTime(), fc.GetAt().AsTime())
	}
	if n := len(listAlerts(t, e, &monitorv1.ListAlertsRequest{Severity: "critical"})); n != 0 {
		t.Errorf("%d critical alerts, want 0", n)
	}
	if n := len(listAlerts(t, e, &monitorv1.ListAlertsRequest{Severity: "warning"})); n != 1 {
		t.Errorf("%d warning alerts, want 1", n)
	}

	target.set("mail", 0)
	resolved := w.next("the resolution", isAlertChange)
	if resolved.GetEvent() != "floe.monitor.v1.AlertResolved" || !strings.Contains(resolved.GetSummary(), "resolved") {
		t.Fatalf("third transition %s (%s), want AlertResolved", resolved.GetEvent(), resolved.GetSummary())
	}
	rc := change(t, resolved)
	if rc.GetFrom() != "firing" || !rc.GetNotify() || !maps.Equal(rc.GetLabels(), mailLabels) {
		t.Errorf("resolved change %v, want from firing, notified (the firing was)", rc)
	}
	if n := len(listAlerts(t, e, &monitorv1.ListAlertsRequest{})); n != 0 {
		t.Errorf("%d alerts listed without include_resolved, want 0", n)
	}
	alerts = listAlerts(t, e, &monitorv1.ListAlertsRequest{IncludeResolved: true})
	if len(alerts) != 1 {
		t.Fatalf("ListAlerts(include_resolved) = %v, want the resolved alert", alerts)
	}
	a = alerts[0]
	if a.GetState() != "resolved" || !maps.Equal(a.GetLabels(), mailLabels) || !proto.Equal(a.GetResolvedAt(), rc.GetAt()) || !proto.Equal(a.GetFiredAt(), fc.GetAt()) {
		t.Errorf("resolved alert %v, want resolved at %v", a, rc.GetAt().AsTime())
	}
	return a
}

// withoutValue is a copy of a with its value cleared.
func withoutValue(a *monitorv1.Alert) *monitorv1.Alert {
	c := proto.Clone(a).(*monitorv1.Alert)
	c.Value = 0
	return c
}

// TestAlertsEndToEnd: real metrics scraped from an HTTP target drive an alert
// rule through pending → firing → resolved, seen on WatchAlerts and in
// ListAlerts; after a restart (same NATS, same TSDB directory) the resolved
// alert is still listed (state rebuilt from the log), the scrape resumes and
// the alert fires again; deleting the rule cancels it.
func TestAlertsEndToEnd(t *testing.T) {
	target := newGaugeTarget(t)
	target.set("mail", 0)
	e := scrapedEnv(t, target)
	lock := filepath.Join(e.dataDir, "monitor-tsdb", "lock")
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("the running monitor holds no TSDB lock file: %v", err)
	}
	before := fireAndResolve(t, e, target)

	e.stop()
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("TSDB lock file after shutdown: %v, want it removed", err)
	}
	e.restart() // would fail to open the TSDB if the lock were still held
	var after []*monitorv1.Alert
	testkit.Eventually(t, func() error {
		if after = listAlerts(t, e, &monitorv1.ListAlertsRequest{IncludeResolved: true}); len(after) == 0 {
			return errors.New("ListAlerts(include_resolved) after the restart lists no alert, want the resolved one")
		}
		return nil
	})
	// Value is compared by TestAlertValueSurvivesRestart.
	if len(after) != 1 || !proto.Equal(withoutValue(after[0]), withoutValue(before)) {
		t.Fatalf("after the restart ListAlerts(include_resolved) = %v, want %v", after, before)
	}

	// Evaluation resumes on the reopened TSDB: the alert fires again.
	w := e.watch("sup", "")
	target.set("mail", 20)
	if m := w.next("pending again", isAlertChange); m.GetEvent() != "floe.monitor.v1.AlertPending" || change(t, m).GetFrom() != "resolved" {
		t.Fatalf("after the restart: %s %s, want AlertPending from resolved", m.GetEvent(), m.GetSummary())
	}
	refired := w.next("firing again", isAlertChange)
	if refired.GetEvent() != "floe.monitor.v1.AlertFiring" || change(t, refired).GetValue() != 20 {
		t.Fatalf("after the restart: %s %s, want AlertFiring at 20", refired.GetEvent(), refired.GetSummary())
	}
	alerts := listAlerts(t, e, &monitorv1.ListAlertsRequest{})
	if len(alerts) != 1 || alerts[0].GetState() != "firing" || alerts[0].GetValue() != 20 || !alerts[0].GetFiredAt().AsTime().After(before.GetFiredAt().AsTime()) {
		t.Errorf("alerts after firing again: %v", alerts)
	}

	// Deleting the rule cancels its firing alert, which leaves the list.
	if _, err := e.client("ops").DeleteAlertRule(ctxT(t), &monitorv1.DeleteAlertRuleRequest{Name: "queue_backlog"}); err != nil {
		t.Fatal(err)
	}
	w.next("the rule's deletion", isEvent("AlertRuleDeleted", "queue_backlog"))
	if m := w.next("the cancellation", isAlertChange); m.GetEvent() != "floe.monitor.v1.AlertCancelled" || !strings.Contains(m.GetSummary(), "cancelled") {
		t.Errorf("after deleting the rule: %s %s, want AlertCancelled", m.GetEvent(), m.GetSummary())
	}
	if got := listAlerts(t, e, &monitorv1.ListAlertsRequest{IncludeResolved: true}); len(got) != 0 {
		t.Errorf("alerts of a deleted rule still listed: %v", got)
	}
	_, err := e.client("sup").ListAlerts(ctxT(t), &monitorv1.ListAlertsRequest{Severity: "bogus"})
	wantViolations(t, "ListAlerts bogus severity", err, map[string]string{"severity": "not one of"})
}

// TestAlertForZeroFiresAtOnce: with for: 0 the first evaluation where the
// condition holds fires (no pending).
func TestAlertForZeroFiresAtOnce(t *testing.T) {
	target := newGaugeTarget(t)
	target.set("mail", 0)
	e := scrapedEnv(t, target)
	w := e.watch("sup", "")
	if _, err := e.client("ops").CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: backlogRule(0)}); err != nil {
		t.Fatal(err)
	}
	target.set("mail", 6)
	m := w.next("the first transition", isAlertChange)
	if c := change(t, m); m.GetEvent() != "floe.monitor.v1.AlertFiring" || c.GetFrom() != "inactive" || c.GetValue() != 6 {
		t.Fatalf("first transition %s %v, want AlertFiring from inactive at 6", m.GetEvent(), c)
	}
	if got := listAlerts(t, e, &monitorv1.ListAlertsRequest{Severity: "warning"}); len(got) != 1 || got[0].GetState() != "firing" {
		t.Errorf("alerts %v, want one firing", got)
	}
}

// TestAlertValueSurvivesRestart (regression): ListAlerts reports the same alert
// with a different value before and after a restart of the service. Before,
// a resolved alert's value is the last value that breached (10); after, the
// state is rebuilt from the log without any value and reads 0.
func TestAlertValueSurvivesRestart(t *testing.T) {
	target := newGaugeTarget(t)
	target.set("mail", 0)
	e := scrapedEnv(t, target)
	before := fireAndResolve(t, e, target)
	e.restart()
	var after []*monitorv1.Alert
	testkit.Eventually(t, func() error {
		if after = listAlerts(t, e, &monitorv1.ListAlertsRequest{IncludeResolved: true}); len(after) == 0 {
			return errors.New("ListAlerts(include_resolved) after the restart lists no alert, want the resolved one")
		}
		return nil
	})
	if len(after) != 1 || after[0].GetValue() != before.GetValue() {
		t.Errorf("value of the resolved alert: %v before the restart, %v after (alert %v)", before.GetValue(), after[0].GetValue(), after)
	}
}
