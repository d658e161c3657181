package app

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// Summarize is a one-line description of a monitor event for people (the
// watch stream, the CLI); "" for an event not worth a line (an evaluation
// that changed nothing).
func Summarize(m proto.Message) string {
	switch e := m.(type) {
	case *monitorv1.AlertPending, *monitorv1.AlertFiring, *monitorv1.AlertResolved, *monitorv1.AlertCancelled:
		c := changeOf(m)
		to := domain.Text(c.GetToState(), c.GetTo())
		word := map[string]string{domain.AlertPending: "pending", domain.AlertFiring: "FIRING", domain.AlertResolved: "resolved", domain.AlertInactive: "cancelled"}[to]
		note := ""
		if to == domain.AlertFiring && !c.GetNotify() {
			note = " (not notified: cooldown)"
		}
		return fmt.Sprintf("alert %s %s [%s] %s value %s: %s%s", c.GetRule(), word, domain.Text(c.GetSeverityType(), c.GetSeverity()), labelText(c.GetLabels()), num(c.GetValue()), c.GetReason(), note)
	case *monitorv1.TriggerEvaluated:
		switch e.GetKind() {
		case domain.KindBreachStarted:
			return fmt.Sprintf("trigger %s breach started: %s", e.GetTrigger(), e.GetReason())
		case domain.KindBreachCleared:
			return fmt.Sprintf("trigger %s breach cleared: %s", e.GetTrigger(), e.GetReason())
		case domain.KindSuppressed:
			return fmt.Sprintf("trigger %s suppressed: %s", e.GetTrigger(), e.GetReason())
		case domain.KindFired:
			return "" // the RollbackTriggered / TriggerFired that follows says it
		}
		return ""
	case *monitorv1.BakeStarted:
		return fmt.Sprintf("%s succeeded: baking for %s, until %s; a rollback trigger that fires before then rolls it back",
			e.GetDeploymentId(), e.GetDuration().AsDuration(), e.GetUntil().AsTime().UTC().Format(time.RFC3339))
	case *monitorv1.RollbackTriggered:
		if e.GetDuringBake() {
			return fmt.Sprintf("ROLLBACK triggered during the bake by %s (v%d) for %s %s in %s: %s %s %s, observed %s for %.0fs; the previous version is put back",
				e.GetTrigger(), e.GetRuleVersion(), e.GetDeploymentId(), e.GetVersion(), e.GetEnvironment(), e.GetMetric(), e.GetOperator(), num(e.GetThreshold()), num(e.GetObserved()), e.GetSustainedSeconds())
		}
		return fmt.Sprintf("ROLLBACK triggered by %s (v%d) for %s %s in %s: %s %s %s, observed %s for %.0fs",
			e.GetTrigger(), e.GetRuleVersion(), e.GetDeploymentId(), e.GetVersion(), e.GetEnvironment(), e.GetMetric(), e.GetOperator(), num(e.GetThreshold()), num(e.GetObserved()), e.GetSustainedSeconds())
	case *monitorv1.TriggerFired:
		return fmt.Sprintf("trigger %s fired (%s) for %s %s: %s", e.GetTrigger(), domain.Text(e.GetActionType(), e.GetAction()), e.GetDeploymentId(), e.GetVersion(), e.GetReason())
	case *monitorv1.MonitoringStarted:
		names := make([]string, 0, len(e.GetTriggers()))
		for _, t := range e.GetTriggers() {
			names = append(names, domain.TriggerFromProto(t).String())
		}
		return fmt.Sprintf("monitoring %s %s in %s: %s", e.GetDeploymentId(), e.GetVersion(), e.GetEnvironment(), strings.Join(names, "; "))
	case *monitorv1.AnalysisStarted:
		return fmt.Sprintf("analysis of step %d started (window %s)", e.GetStep(), e.GetWindow().AsDuration())
	case *monitorv1.AnalysisCompleted:
		return fmt.Sprintf("analysis of step %d: %s — %s", e.GetStep(), domain.Text(e.GetVerdict().GetResultType(), e.GetVerdict().GetResult()), e.GetVerdict().GetReason())
	case *monitorv1.MonitoringEnded:
		return "monitoring ended: " + domain.Text(e.GetOutcomeType(), e.GetOutcome())
	case *monitorv1.AlertRuleSaved:
		return fmt.Sprintf("alert rule %s saved (v%d)", e.GetRule().GetName(), e.GetRule().GetVersion())
	case *monitorv1.AlertRuleDeleted:
		return fmt.Sprintf("alert rule %s deleted (v%d)", e.GetName(), e.GetVersion())
	case *monitorv1.RollbackTriggerSaved:
		return fmt.Sprintf("rollback trigger %s saved (v%d): %s", e.GetTrigger().GetName(), e.GetTrigger().GetVersion(), domain.TriggerFromProto(e.GetTrigger()))
	case *monitorv1.RollbackTriggerDeleted:
		return fmt.Sprintf("rollback trigger %s deleted (v%d)", e.GetName(), e.GetVersion())
	}
	return ""
}

func labelText(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func num(v float64) string { return fmt.Sprintf("%.4g", v) }
