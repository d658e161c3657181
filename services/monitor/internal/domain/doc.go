// Package domain is the monitor's model: alert rules and rollback triggers
// evaluated over measurements, pure Go with a clock passed in.
//
// A measurement is a Sample: the value of a rule's PromQL at a time, or no
// data. Evaluating PromQL happens elsewhere; this package decides what a
// sequence of samples means, deterministically, with each sample's time as
// the clock:
//
//   - Trigger / TriggerState.Observe: a rollback trigger ("error_rate > 0.10
//     for 300 s → rollback") scoped to one deployment; breach timers, the
//     no-data policy (hold, alert, rollback) and a per-action cooldown.
//   - AlertRule / AlertState.Observe: an alert's inactive → pending → firing
//     → resolved state machine with For and a cooldown on notifications.
//   - Analyze: a pass / fail / inconclusive verdict for a canary analysis
//     window, with the measurements that produced it.
//
// Rules and triggers validate into *errs.InvalidArgumentError with every
// field violation. States are plain exported data with JSON tags so the
// service can persist them; samples encode non-finite values as strings.
package domain
