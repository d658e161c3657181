package enumtext_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/penguinmails/floe/libs/enumtext"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

func TestTextForms(t *testing.T) {
	t.Parallel()
	if got := enumtext.Names[deployv1.DeploymentStrategy](); !slices.Equal(got, []string{"rolling-update", "blue-green", "canary", "feature-flag", "big-bang"}) {
		t.Errorf("strategy names = %q", got)
	}
	if got := enumtext.Names[monitorv1.TriggerAction](); !slices.Equal(got, []string{"rollback", "alert", "scale_up"}) {
		t.Errorf("action names = %q", got)
	}
	if got := enumtext.Name(monitorv1.MonitoringOutcome_MONITORING_OUTCOME_ROLLING_BACK); got != "rolling_back" {
		t.Errorf("outcome name = %q", got)
	}
	for _, s := range []string{"blue-green", "canary"} {
		v, ok := enumtext.Parse[deployv1.DeploymentStrategy](s)
		if !ok || enumtext.Name(v) != s {
			t.Errorf("Parse(%q) = %v %v", s, v, ok)
		}
	}
	for _, bad := range []string{"", "unspecified", "blue_green", "BLUE-GREEN", "DEPLOYMENT_STRATEGY_CANARY"} {
		if v, ok := enumtext.Parse[deployv1.DeploymentStrategy](bad); ok {
			t.Errorf("Parse(%q) = %v, want no value", bad, v)
		}
	}
	if enumtext.Name(deployv1.DeploymentStrategy(99)) != "" || enumtext.Defined(deployv1.DeploymentStrategy(99)) || enumtext.Defined(deployv1.DeploymentStrategy(0)) {
		t.Error("undefined numbers have no text and are not defined")
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	canary := deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY
	for _, tt := range []struct {
		name string
		v    deployv1.DeploymentStrategy
		text string
		want deployv1.DeploymentStrategy
		ok   bool
	}{
		{"enum only", canary, "", canary, true},
		{"text only (an old event)", 0, "canary", canary, true},
		{"both agree", canary, "canary", canary, true},
		{"both disagree", canary, "big-bang", canary, false},
		{"neither", 0, "", 0, true},
		{"unknown text", 0, "yolo", 0, false},
	} {
		got, ok := enumtext.Resolve(tt.v, tt.text)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Resolve = %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWords(t *testing.T) {
	for _, c := range []struct {
		e    protoreflect.Enum
		want string
	}{
		{deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK, "rolled back"},
		{deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BLUE_GREEN, "blue green"},
		{deployv1.DeploymentStatus(0), "unspecified"},
		{deployv1.DeploymentStatus(99), "unspecified"},
	} {
		if got := enumtext.Words(c.e); got != c.want {
			t.Errorf("Words(%v) = %q, want %q", c.e, got, c.want)
		}
	}
}
