package domain_test

import (
	"strings"
	"testing"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

func monitoringOf(env, app string) *domain.Monitoring {
	m := domain.NewMonitoring()
	m.Apply(&monitorv1.MonitoringStarted{DeploymentId: "d-" + env, Environment: env, Version: "1.1.0", App: app, StartedAt: domain.Timestamp(sec(0))})
	return m
}

// A trigger limited to production does not judge staging; in production it
// judges at production's threshold, recorded with every evaluation; a scope
// edit that drops production drops it from production's deployments.
func TestTriggerScope(t *testing.T) {
	t.Parallel()
	prodOnly := errorRate()
	prodOnly.Name, prodOnly.Environments, prodOnly.Thresholds = "prod_errors", []string{"production"}, map[string]float64{"production": 0.02}
	everywhere := errorRate()
	defs := map[string]domain.Trigger{prodOnly.Name: prodOnly, everywhere.Name: everywhere}

	staging := monitoringOf("staging", "demo")
	got, deleted := staging.Plan(defs)
	if len(got) != 1 || got[0].Name != everywhere.Name || len(deleted) != 0 {
		t.Fatalf("staging evaluates %v (deleted %v), want only %s", got, deleted, everywhere.Name)
	}

	prod := monitoringOf("production", "demo")
	got, _ = prod.Plan(defs)
	if len(got) != 2 {
		t.Fatalf("production evaluates %v, want both triggers", got)
	}
	var scoped domain.Trigger
	for _, tr := range got {
		if tr.Name == prodOnly.Name {
			scoped = tr
		}
	}
	if scoped.Threshold != 0.02 {
		t.Fatalf("production judges %s at %v, want its threshold 0.02", scoped.Name, scoped.Threshold)
	}
	evs := prod.Record([]domain.Evaluation{{Trigger: scoped, Sample: val(1, 0.05)}}, nil)
	ev, ok := evs[0].(*monitorv1.TriggerEvaluated)
	if !ok || ev.GetThreshold() != 0.02 || ev.GetKind() != domain.KindBreachStarted {
		t.Errorf("evaluation recorded %v, want threshold 0.02 and a breach (0.05 > 0.02, under the default 0.1)", evs[0])
	}
	if ch := ev.GetChanged(); ch == nil || len(ch.GetEnvironments()) != 1 || ch.GetThresholds()["production"] != 0.02 {
		t.Errorf("the first evaluation records the trigger with its scope: %v", ch)
	}

	// The trigger is limited to dr now: production's deployment drops it.
	moved := prodOnly
	moved.Environments, moved.Thresholds, moved.Version = []string{"dr"}, nil, prodOnly.Version+1
	_, deleted = prod.Plan(map[string]domain.Trigger{moved.Name: moved, everywhere.Name: everywhere})
	if len(deleted) != 1 || deleted[0] != prodOnly.Name {
		t.Errorf("after the scope edit production drops %v, want %s", deleted, prodOnly.Name)
	}

	app := errorRate()
	app.Apps = []string{"billing"}
	if got, _ := monitoringOf("production", "demo").Plan(map[string]domain.Trigger{app.Name: app}); len(got) != 0 {
		t.Errorf("a billing-only trigger judges demo: %v", got)
	}
}

func TestTriggerScopeValidation(t *testing.T) {
	t.Parallel()
	tr := errorRate()
	tr.Environments = []string{"production", "production", "bad env"}
	tr.Thresholds = map[string]float64{"staging": 0.2}
	err := tr.Validate()
	var fields []string
	for _, v := range violations(t, err) {
		fields = append(fields, v.Field)
	}
	got := strings.Join(fields, ",")
	for _, want := range []string{"environments[1]", "environments[2]", "thresholds.staging"} {
		if !strings.Contains(got, want) {
			t.Errorf("violations %s lack %s", got, want)
		}
	}
	if s := (domain.Trigger{Environments: []string{"production"}, Thresholds: map[string]float64{"production": 0.02}}).Scope(); s != "environments production; threshold 0.02 in production" {
		t.Errorf("Scope() = %q", s)
	}
}

// An alert trigger's firing carries its severity (warning when it sets
// none), its channels, the release and app: what the notifier needs.
func TestAlertTriggerFiringCarriesWhatPeopleNeed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		severity string
		want     monitorv1.Severity
	}{{"", monitorv1.Severity_SEVERITY_WARNING}, {"critical", monitorv1.Severity_SEVERITY_CRITICAL}} {
		tr := errorRate()
		tr.Name, tr.Action, tr.Duration, tr.Severity, tr.Channels = "latency", domain.ActionAlert, 0, tc.severity, []string{"slack", "sms"}
		if err := tr.Validate(); err != nil {
			t.Fatal(err)
		}
		m := domain.NewMonitoring()
		m.Apply(&monitorv1.MonitoringStarted{DeploymentId: "d1", ReleaseId: "r1", Environment: "production", Version: "1.1.0", App: "demo", StartedAt: domain.Timestamp(sec(0))})
		var fired *monitorv1.TriggerFired
		for _, msg := range m.Record([]domain.Evaluation{{Trigger: tr, Sample: val(1, 0.5)}}, nil) {
			if f, ok := msg.(*monitorv1.TriggerFired); ok {
				fired = f
			}
		}
		if fired == nil || fired.GetSeverity() != tc.want || strings.Join(fired.GetChannels(), ",") != "slack,sms" || fired.GetReleaseId() != "r1" || fired.GetApp() != "demo" {
			t.Errorf("severity %q: fired %v", tc.severity, fired)
		}
	}
	bad := errorRate()
	bad.Severity, bad.Channels = "urgent", []string{"slack", "slack"}
	var fields []string
	for _, v := range violations(t, bad.Validate()) {
		fields = append(fields, v.Field)
	}
	if got := strings.Join(fields, ","); got != "severity,channels[1]" {
		t.Errorf("violations %s, want severity,channels[1]", got)
	}
}
