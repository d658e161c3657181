// Package domain holds the notifier's two aggregates, pure Go.
//
// A notification group ("notifygroup", one per route and group key) is
// routing's Group kept in the log: EpisodeObserved feeds it an event (at the
// time the event was recorded, so a rebuild decides the same), and
// GroupEvaluated records what it decided when it was due — the
// notifications, muted ones included, with deterministic ids — and the
// group's state after, from which it is rebuilt (so a configuration change
// later does not rewrite the past). Replicas evaluate the same group at the
// same time; the log's expected-version check lets one of them record it.
//
// A notification ("notification", id = the routing decision's id) is one
// message to one receiver: NotificationPlanned (from the group's decision),
// then for each attempt DeliveryAttempted (the claim of one instance, won
// in the log), and NotificationDelivered, DeliveryFailed (the next attempt
// is due at retry_at) or NotificationDeadLettered. A claim with no outcome
// within the claim timeout (the instance died mid-send) lets another
// instance make the next attempt with the same message id, which receivers
// use to drop a duplicate.
package domain
