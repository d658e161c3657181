package cli

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// floe deploy get/watch say where a deployment's bake stands.
func TestPrintBake(t *testing.T) {
	until := timestamppb.New(time.Now().Add(90 * time.Second))
	for _, tc := range []struct {
		name string
		m    *monitorv1.DeploymentMonitoring
		want string
	}{
		{"no bake", &monitorv1.DeploymentMonitoring{}, ""},
		{"baking", &monitorv1.DeploymentMonitoring{BakeUntil: until}, "bake: until " + fmtTime(until) + " (in "},
		{"baked", &monitorv1.DeploymentMonitoring{BakeUntil: until, EndedAt: until, OutcomeType: monitorv1.MonitoringOutcome_MONITORING_OUTCOME_BAKED}, "bake: ended " + fmtTime(until) + " without a rollback"},
		{"rolled back during it", &monitorv1.DeploymentMonitoring{BakeUntil: until, EndedAt: until, OutcomeType: monitorv1.MonitoringOutcome_MONITORING_OUTCOME_ROLLED_BACK}, "bake: stopped at " + fmtTime(until) + " (rolled_back)"},
	} {
		var b strings.Builder
		printBake(&b, tc.m)
		if got := b.String(); (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want it to start with %q", tc.name, got, tc.want)
		}
	}
	if !baking(&monitorv1.DeploymentMonitoring{BakeUntil: until}) || baking(&monitorv1.DeploymentMonitoring{BakeUntil: until, EndedAt: until}) || baking(nil) {
		t.Error("baking() is wrong")
	}
}
