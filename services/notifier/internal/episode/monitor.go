package episode

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/enumtext"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

const episodeAlert = "alert/<rule>/<fingerprint of the series>"

// Fingerprint identifies one series of an alert rule, as Alertmanager's
// fingerprint does an alert: a hash of the rule and the series' label set.
func Fingerprint(rule string, labels map[string]string) string {
	h := sha256.New()
	h.Write([]byte(rule))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// alert ties the builder to the series an alert event is about. The
// series' labels become labels (so routes match team="payments" as in
// Alertmanager), without overriding Floe's own.
func (b *builder) alert(ch *monitorv1.AlertChange) {
	rule := either(ch.GetRule(), b.id)
	for k, v := range ch.GetLabels() {
		if _, taken := b.e.Labels[k]; !taken && k != "" {
			b.label(k, v)
		}
	}
	b.env(ch.GetLabels()["environment"])
	b.product(ch.GetLabels()["product"])
	b.label("rule", rule)
	b.label("channels", list(ch.GetChannels()))
	if rule != "" {
		b.episode("alert", rule, Fingerprint(rule, ch.GetLabels()))
	}
	b.note("series", ch.GetSeries())
	b.note("value", f64(ch.GetValue()))
	b.note("condition", ch.GetCondition())
	b.note("reason", ch.GetReason())
	b.links(ch.GetLinks())
	if ch.GetActiveSince() != nil {
		b.note("active_since", ch.GetActiveSince().AsTime().UTC().Format(time.RFC3339))
	}
	sev, _ := enumtext.Resolve(ch.GetSeverityType(), ch.GetSeverity()) //nolint:staticcheck // the text form, for events written before severity_type
	switch enumtext.Name(sev) {
	case routing.SeverityCritical:
		b.severity(routing.SeverityCritical)
	case routing.SeverityInfo:
		b.severity(routing.SeverityInfo)
	default:
		b.severity(routing.SeverityWarning)
	}
}

// linkPreference orders the monitor's links for the one a message leads
// with (its url): a console page first, the graph last.
var linkPreference = []string{"deployment", "alert", "console", "runbook", "graph"}

// links keeps the links the monitor rendered (its config's links): each as
// the annotation link_<name>, and the first by linkPreference (else by
// name) as url, which channels show as the message's link.
func (b *builder) links(ls map[string]string) {
	if len(ls) == 0 {
		return
	}
	names := slices.Sorted(maps.Keys(ls))
	for _, n := range names {
		b.note("link_"+n, ls[n])
	}
	for _, n := range append(slices.Clone(linkPreference), names...) {
		if u := ls[n]; u != "" {
			b.note("url", u)
			return
		}
	}
}

// seriesWords names a series for people: its label set, or "".
func seriesWords(ch *monitorv1.AlertChange) string {
	if s := ch.GetSeries(); s != "" && s != "{}" {
		return " " + s
	}
	return ""
}

func monitorSpecs() []spec {
	resolved, cancelled := typeName[*monitorv1.AlertResolved](), typeName[*monitorv1.AlertCancelled]()
	succeeded := typeName[*deployv1.DeploymentSucceeded]()
	failed, rolledBack := typeName[*deployv1.DeploymentFailed](), typeName[*deployv1.RolledBack]()
	definition := "a definition change; what it watches is told when it fires"
	return []spec{
		ignore[*monitorv1.AlertRuleSaved](definition),
		ignore[*monitorv1.AlertRuleDeleted](definition + " (its firing alerts end with AlertCancelled)"),
		ignore[*monitorv1.RollbackTriggerSaved](definition),
		ignore[*monitorv1.RollbackTriggerDeleted](definition),
		ignore[*monitorv1.AlertPending]("not firing yet (Alertmanager is not told of pending alerts either); AlertFiring follows if it holds for `for`"),
		notify(TypeInfo{
			Description: "an alert rule's series fires (unless held back by the rule's cooldown: notify false)",
			Episode:     episodeAlert, Severity: "the rule's (critical, warning or info)", ResolvedBy: []string{resolved, cancelled},
		}, func(b *builder, m *monitorv1.AlertFiring) bool {
			ch := m.GetChange()
			if !ch.GetNotify() {
				return false
			}
			b.alert(ch)
			b.summary("%s firing%s%s: value %s", b.e.Labels["rule"], b.in(), seriesWords(ch), f64(ch.GetValue()))
			b.describe(fmt.Sprintf("Alert %s fires%s for%s.", b.e.Labels["rule"], b.in(), either(seriesWords(ch), " its only series")),
				quoted("Condition", ch.GetCondition()), because(ch.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a firing alert's condition no longer holds",
			Episode:     episodeAlert, Severity: "the rule's", Resolves: true,
		}, func(b *builder, m *monitorv1.AlertResolved) bool {
			ch := m.GetChange()
			if !ch.GetNotify() {
				return false // its firing was held back too
			}
			b.alert(ch)
			b.resolve()
			b.summary("%s resolved%s%s", b.e.Labels["rule"], b.in(), seriesWords(ch))
			b.describe(fmt.Sprintf("Alert %s no longer fires%s.", b.e.Labels["rule"], b.in()), because(ch.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a firing alert ended because its rule was disabled or deleted (a cancelled pending alert is not told)",
			Episode:     episodeAlert, Severity: "the rule's", Resolves: true,
		}, func(b *builder, m *monitorv1.AlertCancelled) bool {
			ch := m.GetChange()
			from, _ := enumtext.Resolve(ch.GetFromState(), ch.GetFrom()) //nolint:staticcheck // the text form, for events written before from_state
			if from != monitorv1.AlertState_ALERT_STATE_FIRING {
				return false // it was pending: never told
			}
			b.alert(ch)
			b.resolve()
			b.summary("%s ended%s%s: %s", b.e.Labels["rule"], b.in(), seriesWords(ch), ch.GetReason())
			b.describe(fmt.Sprintf("Alert %s no longer fires%s: its rule no longer watches.", b.e.Labels["rule"], b.in()), because(ch.GetReason()))
			return true
		}),
		ignore[*monitorv1.MonitoringStarted]("the monitor began watching a deployment; DeploymentStarted tells of the deployment"),
		ignore[*monitorv1.TriggerEvaluated]("one evaluation of one trigger, every interval; what fires is told (RollbackTriggered, TriggerFired)"),
		notify(TypeInfo{
			Description: "a trigger whose action is alert or scale_up fired during a deployment",
			Episode:     episodeDeployment, Severity: "the trigger's severity when it has one; else alert: " + ruleProblem + "; scale_up: " + ruleAttention,
			ResolvedBy: []string{succeeded}, EndedBy: []string{failed, rolledBack},
		}, func(b *builder, m *monitorv1.TriggerFired) bool {
			b.env(m.GetEnvironment())
			b.label("version", m.GetVersion())
			b.label("release_id", m.GetReleaseId())
			if m.GetDuringBake() {
				b.note("during_bake", "the deployment had succeeded and was baking")
			}
			b.deployment(either(m.GetDeploymentId(), b.id))
			action := ""
			if a, ok := enumtext.Resolve(m.GetActionType(), m.GetAction()); ok { //nolint:staticcheck // the text form, for events written before action_type
				action = enumtext.Name(a)
			}
			b.label("trigger", m.GetTrigger())
			b.label("action", action)
			b.label("cause", m.GetCause())
			switch {
			case m.GetSeverity() != monitorv1.Severity_SEVERITY_UNSPECIFIED:
				b.severity(enumtext.Name(m.GetSeverity())) // the trigger's own
			case action == enumtext.Name(monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP):
				b.attention()
			default:
				b.problem()
			}
			b.label("channels", list(m.GetChannels()))
			b.links(m.GetLinks())
			breach(b, m.GetMetric(), m.GetOperator(), m.GetThreshold(), m.GetObserved(), m.GetSustainedSeconds(), m.GetReason())
			b.summary("Trigger %s fired (%s) for %s%s: %s %s %s, observed %s", m.GetTrigger(), either(action, "alert"), b.what(), b.in(),
				m.GetMetric(), m.GetOperator(), f64(m.GetThreshold()), f64(m.GetObserved()))
			ask := "People should look."
			if action == enumtext.Name(monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP) {
				ask = "It asks for more capacity."
			}
			b.describe(fmt.Sprintf("Trigger %s fired during the deployment of %s%s (%s for %s s).", m.GetTrigger(), b.what(), b.in(),
				either(m.GetCause(), "breach"), f64(m.GetSustainedSeconds())), ask, because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a rollback trigger fired during a deployment: the deployer rolls it back",
			Episode:     episodeDeployment, Severity: ruleProblem, EndedBy: []string{rolledBack},
		}, func(b *builder, m *monitorv1.RollbackTriggered) bool {
			b.env(m.GetEnvironment())
			b.label("release_id", m.GetReleaseId())
			b.label("version", m.GetVersion())
			b.deployment(either(m.GetDeploymentId(), b.id))
			b.problem()
			b.label("trigger", m.GetTrigger())
			b.label("cause", m.GetCause())
			b.links(m.GetLinks())
			breach(b, m.GetMetric(), m.GetOperator(), m.GetThreshold(), m.GetObserved(), m.GetSustainedSeconds(), m.GetReason())
			b.summary("Trigger %s rolls back %s%s: %s %s %s, observed %s", m.GetTrigger(), b.what(), b.in(), m.GetMetric(), m.GetOperator(),
				f64(m.GetThreshold()), f64(m.GetObserved()))
			b.describe(fmt.Sprintf("Rollback trigger %s fired during the deployment of %s%s (%s sustained for %s s); the deployer rolls it back.",
				m.GetTrigger(), b.what(), b.in(), either(m.GetCause(), "breach"), f64(m.GetSustainedSeconds())), because(m.GetReason()))
			return true
		}),
		ignore[*monitorv1.AnalysisStarted]("an analysis step began; its verdict is told when it fails (AnalysisCompleted)"),
		notify(TypeInfo{
			Description: "a deployment's analysis step failed or was inconclusive (a pass is not told)",
			Episode:     episodeDeployment, Severity: "fail: " + ruleProblem + "; inconclusive: warning",
			ResolvedBy: []string{succeeded}, EndedBy: []string{failed, rolledBack},
		}, func(b *builder, m *monitorv1.AnalysisCompleted) bool {
			v := m.GetVerdict()
			result, _ := enumtext.Resolve(v.GetResultType(), v.GetResult()) //nolint:staticcheck // the text form, for events written before result_type
			switch result {
			case monitorv1.VerdictResult_VERDICT_RESULT_FAIL, monitorv1.VerdictResult_VERDICT_RESULT_INCONCLUSIVE:
			default:
				return false
			}
			b.deployment(either(m.GetDeploymentId(), b.id))
			b.label("verdict", enumtext.Name(result))
			if result == monitorv1.VerdictResult_VERDICT_RESULT_FAIL {
				b.problem()
			} else {
				b.severity(routing.SeverityWarning)
			}
			var failed []string
			for _, c := range v.GetChecks() {
				if r, _ := enumtext.Resolve(c.GetResultType(), c.GetResult()); r != monitorv1.VerdictResult_VERDICT_RESULT_PASS { //nolint:staticcheck // as above
					failed = append(failed, c.GetTrigger())
				}
			}
			b.note("checks", list(failed))
			b.note("reason", v.GetReason())
			b.summary("Analysis step %d of %s%s: %s: %s", m.GetStep(), b.what(), b.in(), enumtext.Name(result), v.GetReason())
			b.describe(fmt.Sprintf("The analysis of step %d of the deployment of %s%s is %s.", m.GetStep(), b.what(), b.in(), enumtext.Name(result)),
				quoted("Triggers not passing", list(failed)), because(v.GetReason()))
			return true
		}),
		ignore[*monitorv1.MonitoringEnded]("the deployment ended; its own events tell how"),
		ignore[*monitorv1.BakeStarted]("the deployment succeeded and is watched for its bake; DeploymentSucceeded tells of it, a rollback trigger firing during the bake is told (RollbackTriggered)"),
	}
}

// breach notes what a trigger observed.
func breach(b *builder, metric, op string, threshold, observed, sustained float64, reason string) {
	b.note("metric", metric)
	b.note("condition", strings.TrimSpace(metric+" "+op+" "+f64(threshold)))
	b.note("observed", f64(observed))
	b.note("sustained_seconds", f64(sustained))
	b.note("reason", reason)
}
