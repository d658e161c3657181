package episode

import (
	"fmt"
	"time"

	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// notifySpecs: the notifier's own records are never told (a notification
// about a notification would loop; its dead letters are in its API and the
// log for people to look at); alerts received from outside are.
func notifySpecs() []spec {
	const own = "the notifier's own record of what it told whom: telling of it would loop"
	return []spec{
		ignore[*notifyv1.EpisodeObserved](own),
		ignore[*notifyv1.GroupEvaluated](own),
		ignore[*notifyv1.EpisodeAcknowledged](own),
		ignore[*notifyv1.NotificationPlanned](own),
		ignore[*notifyv1.DeliveryAttempted](own),
		ignore[*notifyv1.NotificationDelivered](own),
		ignore[*notifyv1.DeliveryFailed](own),
		ignore[*notifyv1.NotificationDeadLettered](own),
		ignore[*notifyv1.SilenceCreated]("a silence mutes notifications; what it held back is recorded as muted"),
		ignore[*notifyv1.SilenceExpired]("a silence ended early; what it held back is told from then on"),
		ignore[*notifyv1.InteractionRefused]("a refused Slack request (bad signature, unmapped user, refused decision): in the log for security to read; telling of it would let anyone who can reach the endpoint send messages"),
		notify(TypeInfo{
			Description: "an alert another monitoring stack sent (an Alertmanager webhook) fires, or resolves (status resolved)",
			Episode:     "external/<fingerprint>", Severity: "its severity label's (warning when unknown)",
			Resolves: true, ResolvedBy: []string{typeName[*notifyv1.ExternalAlertReceived]()},
		}, func(b *builder, m *notifyv1.ExternalAlertReceived) bool {
			for k, v := range m.GetLabels() {
				if _, taken := b.e.Labels[k]; !taken && k != "" {
					b.label(k, v)
				}
			}
			b.env(m.GetLabels()["environment"])
			b.product(m.GetLabels()["product"])
			b.label("source", m.GetSource())
			b.label("rule", m.GetName())
			b.episode("external", either(m.GetFingerprint(), Fingerprint(m.GetName(), m.GetLabels())))
			switch m.GetSeverity() {
			case routing.SeverityCritical, routing.SeverityInfo:
				b.severity(m.GetSeverity())
			default:
				b.severity(routing.SeverityWarning)
			}
			for k, v := range m.GetAnnotations() {
				if k != "summary" && k != "description" {
					b.note(k, v)
				}
			}
			b.note("generator_url", m.GetGeneratorUrl())
			b.note("external_url", m.GetExternalUrl())
			if m.GetStartsAt() != nil {
				b.note("active_since", m.GetStartsAt().AsTime().UTC().Format(time.RFC3339))
			}
			state := "firing"
			if m.GetStatus() == "resolved" {
				b.resolve()
				state = "resolved"
			}
			b.summary("%s %s%s: %s", either(m.GetName(), "alert"), state, b.in(), either(m.GetAnnotations()["summary"], either(m.GetAnnotations()["description"], "no summary")))
			b.describe(fmt.Sprintf("%s from %s %s%s.", either(m.GetName(), "An alert"), either(m.GetSource(), "an external source"), state, b.in()),
				m.GetAnnotations()["description"])
			return true
		}),
	}
}
