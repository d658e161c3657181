package monitorsvc_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/testkit"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
)

const seedRules = `
metrics:
  queue_depth: max(test_queue_depth)
alert_rules:
  - name: queue_backlog
    description: the mail queue is backing up
    condition: test_queue_depth > 1000
    severity: warning
    channels: [slack]
    for: 1m
rollback_triggers:
  - name: queue_depth
    metric: queue_depth
    operator: ">"
    threshold: 500
    duration: 60       # seconds
    action: rollback
  - name: error_rate
    metric: error_rate
    operator: ">"
    threshold: 0.1
    duration: 300
    action: rollback
    cooldown: 60       # minutes
    no_data: hold
`

// TestSeedFromRulesFile: the rules file's alert rule and two triggers exist
// (version 1, units converted) once the service has started. Seeding only
// creates names the log has never seen: across a restart an edited
// definition keeps the edit and a deleted one stays deleted, while a name
// added to the file meanwhile is created.
func TestSeedFromRulesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(seedRules), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, monitorsvc.File{Interval: time.Second, Rules: path})
	testkit.Eventually(t, func() error {
		if tr, r := names(listTriggers(t, e)), names(listRules(t, e)); len(tr) != 2 || len(r) != 1 {
			return fmt.Errorf("seeded triggers %v and rules %v, want 2 triggers and 1 rule", tr, r)
		}
		return nil
	})
	if v := versions(listTriggers(t, e)); !maps.Equal(v, map[string]uint64{"queue_depth": 1, "error_rate": 1}) {
		t.Errorf("seeded triggers %v", v)
	}
	tr, err := e.client("sup").GetRollbackTrigger(ctxT(t), &monitorv1.GetRollbackTriggerRequest{Name: "error_rate"})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "seeded error_rate", tr.GetTrigger(), &monitorv1.RollbackTrigger{
		Name: "error_rate", Metric: "error_rate", Operator: ">", Threshold: 0.1, Duration: durationpb.New(300 * time.Second),
		Action: "rollback", Cooldown: durationpb.New(time.Hour), NoData: "hold", Enabled: true, Version: 1,
	})
	r, err := e.client("sup").GetAlertRule(ctxT(t), &monitorv1.GetAlertRuleRequest{Name: "queue_backlog"})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "seeded queue_backlog", r.GetRule(), &monitorv1.AlertRule{
		Name: "queue_backlog", Description: "the mail queue is backing up", Condition: "test_queue_depth > 1000", Severity: "warning",
		Channels: []string{"slack"}, For: durationpb.New(time.Minute), Cooldown: durationpb.New(0), Enabled: true, Version: 1,
	})

	// Edit one trigger, delete the other and the rule, then restart.
	ops := e.client("ops")
	edited := queueTrigger("queue_depth", 42)
	edited.Metric = "queue_depth" // the named metric of the rules file
	if _, err := ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{Trigger: edited, ExpectedVersion: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.DeleteRollbackTrigger(ctxT(t), &monitorv1.DeleteRollbackTriggerRequest{Name: "error_rate", ExpectedVersion: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.DeleteAlertRule(ctxT(t), &monitorv1.DeleteAlertRuleRequest{Name: "queue_backlog", ExpectedVersion: 1}); err != nil {
		t.Fatal(err)
	}
	if v := versions(listTriggers(t, e)); !maps.Equal(v, map[string]uint64{"queue_depth": 2}) {
		t.Fatalf("triggers before the restart %v", v)
	}
	if n := len(listRules(t, e)); n != 0 {
		t.Fatalf("%d rules before the restart, want 0", n)
	}

	// A new rule in the file: seeding creates triggers, then rules, so once it
	// appears seeding is done.
	added := strings.Replace(seedRules, "alert_rules:\n", "alert_rules:\n  - {name: queue_stalled, condition: 'test_queue_depth > 5000', severity: critical, channels: [pagerduty]}\n", 1)
	if added == seedRules {
		t.Fatal("test bug: no alert_rules list in the rules file")
	}
	if err := os.WriteFile(path, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	e.restart()
	testkit.Eventually(t, func() error {
		if v := versions(listRules(t, e)); !maps.Equal(v, map[string]uint64{"queue_stalled": 1}) {
			return fmt.Errorf("rule versions after the restart %v, want the new queue_stalled at 1", v)
		}
		return nil
	})
	if v := versions(listTriggers(t, e)); !maps.Equal(v, map[string]uint64{"queue_depth": 2}) {
		t.Errorf("triggers after the restart %v, want the edit kept (queue_depth v2) and error_rate still deleted", v)
	}
	got, err := e.client("sup").GetRollbackTrigger(ctxT(t), &monitorv1.GetRollbackTriggerRequest{Name: "queue_depth"})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "edited queue_depth after the restart", got.GetTrigger(), withVersion(edited, 2))
}

// TestSeedFromRuleSetAndDefaults: a RuleSet given in code is seeded like a
// rules file; with neither, the guide's two default triggers are.
func TestSeedFromRuleSetAndDefaults(t *testing.T) {
	t.Run("rule set", func(t *testing.T) {
		set := monitorsvc.DefaultRules()
		set.Triggers = set.Triggers[:1]
		set.AlertRules = []monitorsvc.AlertRule{{Name: "r1", Condition: "up == 0", Severity: "critical", Channels: []string{"pager"}, Enabled: true}}
		e := startEnv(t, monitorsvc.File{Interval: time.Second, RuleSet: &set})
		testkit.Eventually(t, func() error {
			if r := names(listRules(t, e)); len(r) != 1 {
				return fmt.Errorf("seeded rules %v, want 1", r)
			}
			return nil
		})
		if got := sortedNames(listTriggers(t, e)); !slicesEqual(got, []string{"error_rate"}) {
			t.Errorf("triggers %v, want [error_rate]", got)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		e := startEnv(t, monitorsvc.File{Interval: time.Second})
		testkit.Eventually(t, func() error {
			if tr := names(listTriggers(t, e)); len(tr) != 2 {
				return fmt.Errorf("seeded triggers %v, want the 2 defaults", tr)
			}
			return nil
		})
		if got := sortedNames(listTriggers(t, e)); !slicesEqual(got, []string{"error_rate", "response_time_p95"}) {
			t.Errorf("default triggers %v", got)
		}
		testkit.Eventually(t, func() error {
			if got := sortedNames(listRules(t, e)); !slicesEqual(got, []string{"high_error_rate", "slow_response_time"}) {
				return fmt.Errorf("default alert rules %v, want the guide's two", got)
			}
			return nil
		})
	})
}
