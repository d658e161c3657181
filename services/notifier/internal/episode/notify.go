package episode

import (
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
)

// notifySpecs: the notifier's own events are never told (a notification
// about a notification would loop); its dead letters are in its API and the
// log for people to look at.
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
	}
}
