package episode

import (
	"fmt"
	"strconv"

	"github.com/penguinmails/floe/libs/enumtext"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

const episodeDeployment = "deployment/<deployment id>"

// deployment ties the builder to deployment id: its episode, label and scope.
func (b *builder) deployment(id string) {
	b.label("deployment_id", id)
	b.scope(AggregateDeployment, id)
	b.episode("deployment", id)
}

// strategyText is a strategy's text, from the enum or its deprecated twin
// ("" when neither names one).
func strategyText(v deployv1.DeploymentStrategy, text string) string {
	if s, ok := enumtext.Resolve(v, text); ok {
		return enumtext.Name(s)
	}
	return ""
}

func deploySpecs() []spec {
	succeeded := typeName[*deployv1.DeploymentSucceeded]()
	failed, rolledBack := typeName[*deployv1.DeploymentFailed](), typeName[*deployv1.RolledBack]()
	open, ends := []string{succeeded}, []string{failed, rolledBack}
	rollback := []string{rolledBack}
	return []spec{
		notify(TypeInfo{
			Description: "a deployment began: release, version, environment, strategy, attempt, who asked",
			Episode:     episodeDeployment, Severity: routing.SeverityInfo, ResolvedBy: open, EndedBy: ends,
		}, func(b *builder, m *deployv1.DeploymentStarted) bool {
			b.env(m.GetEnvironment())
			b.product(m.GetProduct())
			b.label("release_id", m.GetReleaseId())
			b.label("version", m.GetVersion())
			b.deployment(either(b.id, m.GetDeploymentId()))
			strategy := strategyText(m.GetStrategyType(), m.GetStrategy()) //nolint:staticcheck // the text form, for events written before strategy_type
			b.label("strategy", strategy)
			b.label("app", m.GetApp())
			b.label("attempt", u64(uint64(m.GetAttempt())))
			b.label("requested_by", m.GetRequestedBy())
			b.note("previous_version", m.GetPreviousVersion())
			how := either(strategy, "deployment")
			if m.GetAttempt() > 1 {
				how += ", attempt " + strconv.FormatUint(uint64(m.GetAttempt()), 10)
			}
			b.summary("Deploying %s%s (%s)", b.what(), b.to(), how)
			from := "It is the first deployment there."
			if m.GetPreviousVersion() != "" {
				from = "It replaces " + m.GetPreviousVersion() + ", which a rollback restores."
			}
			b.describe(fmt.Sprintf("%s asked for %s%s; the deployer runs a %d-step %s plan.", either(m.GetRequestedBy(), "Someone"), b.what(), b.to(),
				len(m.GetPlan()), either(strategy, "deployment")), from)
			return true
		}),
		ignore[*deployv1.DeploymentStepStarted]("progress within a deployment; its start, pauses and outcome are told"),
		ignore[*deployv1.DeploymentStepCompleted]("progress within a deployment; its start, pauses and outcome are told"),
		notify(TypeInfo{
			Description: "a deployment paused and waits for someone to resume it",
			Episode:     episodeDeployment, Severity: routing.SeverityWarning, ResolvedBy: open, EndedBy: ends,
		}, func(b *builder, m *deployv1.DeploymentPaused) bool {
			b.deployment(b.id)
			b.severity(routing.SeverityWarning)
			b.note("reason", m.GetReason())
			b.note("step", strconv.FormatUint(uint64(m.GetIndex()), 10))
			b.summary("Deployment of %s%s paused at step %d: %s", b.what(), b.to(), m.GetIndex(), m.GetReason())
			b.describe(fmt.Sprintf("The deployment of %s%s is paused at step %d and waits for someone to resume it (floe deploy resume %s).",
				b.what(), b.to(), m.GetIndex(), b.e.Labels["deployment_id"]), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a paused deployment goes on",
			Episode:     episodeDeployment, Severity: routing.SeverityInfo, ResolvedBy: open, EndedBy: ends,
		}, func(b *builder, m *deployv1.DeploymentResumed) bool {
			b.deployment(b.id)
			b.summary("Deployment of %s%s resumed at step %d", b.what(), b.to(), m.GetIndex())
			b.describe(fmt.Sprintf("%s resumed the deployment of %s%s.", either(b.ev.Actor, "Someone"), b.what(), b.to()))
			return true
		}),
		notify(TypeInfo{
			Description: "someone stopped a deployment; traffic goes back to the previous version (a rollback follows, which RolledBack ends)",
			Episode:     episodeDeployment, Severity: routing.SeverityWarning, EndedBy: rollback,
		}, func(b *builder, m *deployv1.DeploymentAborted) bool {
			b.deployment(b.id)
			b.severity(routing.SeverityWarning)
			b.note("reason", m.GetReason())
			b.summary("Deployment of %s%s aborted by %s: %s", b.what(), b.to(), either(b.ev.Actor, "someone"), m.GetReason())
			b.describe(fmt.Sprintf("%s stopped the deployment of %s%s; traffic goes back to the previous version.",
				either(b.ev.Actor, "Someone"), b.what(), b.to()), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "the deployer is rolling a deployment back (check, analysis, flag, config, monitor, manual or abort); RolledBack ends it",
			Episode:     episodeDeployment, Severity: ruleProblem, EndedBy: rollback,
		}, func(b *builder, m *deployv1.RollbackStarted) bool {
			b.deployment(b.id)
			b.problem()
			b.label("trigger", m.GetTrigger())
			b.note("reason", m.GetReason())
			b.summary("Rolling back %s%s (%s): %s", b.what(), b.in(), either(m.GetTrigger(), "rollback"), m.GetReason())
			b.describe(fmt.Sprintf("The deployer is restoring the previous version%s; %s failed to roll out.", b.in(), b.what()),
				because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a deployment completed: the release is fully live in the environment",
			Episode:     episodeDeployment, Severity: routing.SeverityInfo, Resolves: true,
		}, func(b *builder, m *deployv1.DeploymentSucceeded) bool {
			b.env(m.GetEnvironment())
			b.label("release_id", m.GetReleaseId())
			b.label("version", m.GetVersion())
			b.deployment(either(b.id, m.GetDeploymentId()))
			b.resolve()
			b.summary("%s deployed%s", b.what(), b.to())
			b.describe(fmt.Sprintf("%s is fully live%s.", b.what(), b.in()))
			return true
		}),
		notify(TypeInfo{
			Description: "a deployment stopped without completing and was not rolled back: it ends the deployment (a retry is a new one)",
			Episode:     episodeDeployment, Severity: ruleProblem, Kind: KindFinal,
		}, func(b *builder, m *deployv1.DeploymentFailed) bool {
			b.env(m.GetEnvironment())
			b.label("release_id", m.GetReleaseId())
			b.label("version", m.GetVersion())
			b.deployment(either(b.id, m.GetDeploymentId()))
			b.problem()
			b.final()
			b.note("reason", m.GetReason())
			b.summary("Deployment of %s%s failed: %s", b.what(), b.to(), m.GetReason())
			b.describe(fmt.Sprintf("The deployment of %s%s stopped without completing and was not rolled back.", b.what(), b.to()),
				because(m.GetReason()), retry(b.e.Labels["deployment_id"]))
			return true
		}),
		notify(TypeInfo{
			Description: "a deployment was rolled back: the environment runs the previous version again; it ends the deployment (a retry is a new one)",
			Episode:     episodeDeployment, Severity: ruleProblem, Kind: KindFinal,
		}, func(b *builder, m *deployv1.RolledBack) bool {
			b.env(m.GetEnvironment())
			b.label("release_id", m.GetReleaseId())
			b.label("version", m.GetVersion())
			b.deployment(either(b.id, m.GetDeploymentId()))
			b.problem()
			b.final()
			b.note("restored_version", m.GetRestoredVersion())
			b.note("reason", m.GetReason())
			b.summary("%s rolled back%s to %s: %s", b.what(), b.in(), either(m.GetRestoredVersion(), "the previous version"), m.GetReason())
			b.describe(fmt.Sprintf("%s was rolled back%s; %s is live again.", b.what(), b.in(), either(m.GetRestoredVersion(), "the previous version")),
				because(m.GetReason()), retry(b.e.Labels["deployment_id"]))
			return true
		}),
		notify(TypeInfo{
			Description: "a scale_up trigger added an instance of a deployment's version (while it ran or baked)",
			Episode:     episodeDeployment, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *deployv1.DeploymentScaled) bool {
			b.notice()
			b.env(m.GetEnvironment())
			b.label("release_id", m.GetReleaseId())
			b.label("version", m.GetVersion())
			b.deployment(either(b.id, m.GetDeploymentId()))
			b.label("trigger", m.GetTrigger())
			b.note("replicas", u64(uint64(m.GetReplicas())))
			b.note("reason", m.GetReason())
			b.summary("%s scaled to %d instances%s (trigger %s)", b.what(), m.GetReplicas(), b.in(), m.GetTrigger())
			b.describe(fmt.Sprintf("The trigger %s fired, so %s now runs %d instances%s instead of %d.", m.GetTrigger(), b.what(), m.GetReplicas(), b.in(), m.GetPreviousReplicas()),
				because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a scale_up trigger fired but no instance was added (the driver cannot scale, max_replicas, the version no longer runs, the driver failed)",
			Episode:     episodeDeployment, Severity: routing.SeverityWarning, Kind: KindNotice,
		}, func(b *builder, m *deployv1.ScaleUpRefused) bool {
			b.notice()
			b.env(m.GetEnvironment())
			b.label("release_id", m.GetReleaseId())
			b.label("version", m.GetVersion())
			b.deployment(either(b.id, m.GetDeploymentId()))
			b.severity(routing.SeverityWarning)
			b.label("trigger", m.GetTrigger())
			b.note("replicas", u64(uint64(m.GetReplicas())))
			b.note("reason", m.GetReason())
			b.summary("%s not scaled up%s (trigger %s): %s", b.what(), b.in(), m.GetTrigger(), m.GetReason())
			b.describe(fmt.Sprintf("The trigger %s asked for another instance of %s%s; none was added, it runs %d.", m.GetTrigger(), b.what(), b.in(), m.GetReplicas()),
				because(m.GetReason()))
			return true
		}),
		ignore[*deployv1.ConfigDelivered]("bookkeeping of which configuration and secret versions (references, never values) a version's instances got; " +
			"the deployment's own events tell people of it, and a delivery that fails rolls the deployment back (RollbackStarted, trigger config)"),
	}
}

// retry tells how to start the next attempt of a deployment.
func retry(id string) string {
	if id == "" {
		return ""
	}
	return "floe deploy retry " + id + " starts the next attempt."
}
