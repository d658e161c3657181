package deployersvc

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/testkit"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// The checks at load: a rollback trigger that cannot fire within a
// production canary and its bake is logged (warn) or stops the deployer
// (refuse); a trigger that fits gives no finding; off checks nothing; a
// trigger the log holds but that is not valid is skipped, saying so.
func TestCoherenceAtLoad(t *testing.T) {
	f := File{App: "web", Analysis: "monitor", Strategies: map[string]StrategyConfig{"production": DefaultStrategyConfig()}}
	f.Strategies["production"] = func() StrategyConfig {
		c := DefaultStrategyConfig()
		c.Canary.Steps = []string{"setWeight 10", "analysis 1m", "setWeight 50", "analysis 1m"}
		return c
	}()
	f.Coherence.Monitor = &lint.MonitorSettings{Bake: map[string]time.Duration{"production": time.Minute}, Interval: 15 * time.Second}
	long := &monitorv1.RollbackTrigger{Name: "error_rate", Metric: "error_rate", Operator: ">", Threshold: 0.1,
		Duration: durationpb.New(10 * time.Minute), ActionType: monitorv1.TriggerAction_TRIGGER_ACTION_ROLLBACK, Enabled: true, Version: 1}
	short := &monitorv1.RollbackTrigger{Name: "error_rate", Metric: "error_rate", Operator: ">", Threshold: 0.1,
		Duration: durationpb.New(30 * time.Second), ActionType: monitorv1.TriggerAction_TRIGGER_ACTION_ROLLBACK, Enabled: true, Version: 2}

	findings, skipped, err := f.CheckCoherence([]*monitorv1.RollbackTrigger{long})
	if err != nil || skipped != nil || len(findings) == 0 {
		t.Fatalf("a 10m trigger against 2m of canary and a 1m bake: findings %v, skipped %v, err %v", findings, skipped, err)
	}
	var logged testkit.SyncBuffer
	log := zerolog.New(&logged)
	if err := coherenceAtLoad(f, []*monitorv1.RollbackTrigger{long}, log); err != nil {
		t.Errorf("warn (the default) stopped the deployer: %v", err)
	}
	if !strings.Contains(logged.String(), `"rule":"error_rate"`) || !strings.Contains(logged.String(), "production canary deployments (app web)") || !strings.Contains(logged.String(), findings[0].Check) {
		t.Errorf("the finding was not logged with its plan and check:\n%s", logged.String())
	}
	f.Coherence.Mode = "refuse"
	err = coherenceAtLoad(f, []*monitorv1.RollbackTrigger{long}, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "coherence.mode: refuse") || !strings.Contains(err.Error(), "error_rate coherence/duration") {
		t.Errorf("refuse: %v", err)
	}
	if err := coherenceAtLoad(f, []*monitorv1.RollbackTrigger{short}, zerolog.Nop()); err != nil {
		t.Errorf("a 30s trigger fits, yet: %v", err)
	}
	f.Coherence.Mode = "off"
	if err := coherenceAtLoad(f, []*monitorv1.RollbackTrigger{long}, zerolog.Nop()); err != nil {
		t.Errorf("off: %v", err)
	}
	f.Coherence.Mode = "sometimes"
	if err := f.Coherence.validate(); err == nil || !strings.Contains(err.Error(), "warn, refuse, off") {
		t.Errorf("an unknown mode: %v", err)
	}

	bad := &monitorv1.RollbackTrigger{Name: "broken", Metric: "rate(", Operator: ">", Threshold: 1, Duration: durationpb.New(time.Minute),
		ActionType: monitorv1.TriggerAction_TRIGGER_ACTION_ROLLBACK, Enabled: true}
	findings, skipped, err = f.CheckCoherence([]*monitorv1.RollbackTrigger{bad, short})
	if err != nil || skipped == nil || !strings.Contains(skipped.Error(), "trigger broken") || len(findings) != 0 {
		t.Errorf("an invalid trigger: findings %v, skipped %v, err %v", findings, skipped, err)
	}
}
