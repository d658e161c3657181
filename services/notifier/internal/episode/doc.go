// Package episode decides which of Floe's recorded events people are told
// of, and how they tie together: it maps an *eventstore.RecordedEvent to
// zero or one routing.Event (type, environment, product, severity, labels,
// annotations, episode key, resolved, time). It is pure: no NATS, no clock,
// no I/O; the same event maps to the same routing event, so two replicas,
// or a replay of the log, decide the same notifications.
//
// # Use
//
//	scopes := episode.NewScopeTable()
//	m := episode.Mapper{ProductionEnvironments: cfg.ProductionEnvironments, Scopes: scopes}
//	for each recorded event ev, in log order:
//		scopes.Observe(ev)                       // learn releases, deployments, gate runs
//		e, ok, err := m.Map(ev)
//		// err: a malformed event (record it, go on); !ok: nobody is told
//		// ok: routing.Match(cfg, e), then Group.Observe(now, e)
//
// Types lists the notifiable event types (with each one's episode, severity
// rule and what resolves it), Ignored the others with the reason; together
// they cover every event of proto/floe/*/v1/events.proto, and a test fails
// when a new event type is in neither, so each new event is a decision.
//
// # Episodes
//
// An episode is what one thread of messages is about; its key is built
// from ids the events carry, prefixed by its kind:
//
//   - deployment/<deployment id>: a rollout from DeploymentStarted, through
//     pauses, triggers, failed analyses, a refused flag rollout and a
//     rollback, to DeploymentSucceeded (which resolves it). A retry is a new
//     deployment, hence a new episode.
//   - approval/<release id>/<environment>: the approvals of a release for an
//     environment, until ReleaseApproved resolves it.
//   - release/<release id>: a release's planning (created, approvals voided)
//     until it is cancelled.
//   - alert/<rule>/<fingerprint>: one series of an alert rule, firing to
//     resolved, the fingerprint a hash of the rule and the series' labels
//     (see Fingerprint).
//   - gate/<gate run id>/<gate>: a gate that failed, warned or timed out,
//     until it passes or is overridden.
//   - flag/<environment>/<flag>, config/<environment>,
//     configchange/<environment>/<proposal>, secret/<environment>/<name>,
//     integrity/<position> and a few more: see Types.
//
// # Severity
//
// info, warning or critical. Problems (a failed or rolled-back deployment,
// a rollback started or triggered, a refused flag rollout, a failed
// analysis, a failed secret rotation) are critical in a production-class
// environment and warnings elsewhere; things that need attention (a kill
// switch, an overdue secret, an accepted SARIF baseline) are warnings in a
// production-class environment and info elsewhere. A production-class
// environment is one named in Mapper.ProductionEnvironments
// (DefaultProductionEnvironments: production, prod, dr); an event whose
// environment is not known is not production-class. An alert has its rule's
// severity; a tampered event is always critical. Flag changes, and
// configuration changes other than promotions, are told only in
// production-class environments.
//
// # Scopes
//
// Most events of a deployment, a release or a gate run name neither their
// environment nor their product (a DeploymentPaused carries only an index
// and a reason). Routing must see them anyway, or a route matching
// environment="production" would hear of a deployment's start but not of
// its rollback. Mapper.Scopes supplies them: ScopeTable learns each
// aggregate's scope from the event that establishes it (Learn) as the
// notifier reads the log in order.
//
// # Labels and annotations
//
// Labels are low-cardinality and matchable: actor, release_id, version,
// deployment_id, strategy, trigger, gate, flag, secret, rule and the alert
// series' own labels … Annotations are for people: summary (one line,
// always set), description (a few sentences, with the command that acts
// on it where there is one), reason, and ids (event_id, position). Free
// text is clipped. No secret value is ever copied: config and secret events
// carry only references and version metadata, and even those documents,
// digests and key ids are left out.
//
// # What routing does with events that never resolve
//
// Routing tells a resolution only of an episode it told as firing, and
// repeats a firing episode every repeat_interval. So an episode's ending
// problem (DeploymentFailed, RolledBack, ReleaseRejected) is mapped as
// firing, not resolved, or it would never be told when it ends the episode
// within group_wait; and one-off changes (a flag changed, a configuration
// promoted) are firing episodes nothing resolves. Until routing learns of
// such notices, they are repeated every repeat_interval of their route
// (TypeInfo.ResolvedBy is empty for them).
package episode
