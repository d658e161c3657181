// Package episode decides which of Floe's recorded events people are told
// of, and how they tie together: it maps an *eventstore.RecordedEvent to
// zero or one routing.Event (type, environment, product, severity, labels,
// annotations, episode key, resolved, notice or final, time). It is pure:
// no NATS, no clock, no I/O; the same event maps to the same routing event,
// so two replicas, or a replay of the log, decide the same notifications.
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
// Types lists the notifiable event types (with each one's episode, kind,
// severity rule and what resolves or ends it), Ignored the others with the
// reason; together they cover every event of proto/floe/*/v1/events.proto,
// and a test fails when a new event type is in neither, so each new event
// is a decision.
//
// # Episodes
//
// An episode is what one thread of messages is about; its key is built
// from ids the events carry, prefixed by its kind:
//
//   - deployment/<deployment id>: a rollout from DeploymentStarted, through
//     pauses, triggers, failed analyses, a refused flag rollout and a
//     rollback, to DeploymentSucceeded (which resolves it), or to
//     DeploymentFailed or RolledBack (which end it: final). A retry is a new
//     deployment, hence a new episode.
//   - approval/<release id>/<environment>: the approvals of a release for an
//     environment, each a notice, up to ReleaseApproved (a notice) or
//     ReleaseRejected (final).
//   - release/<release id>: a release's notices (created, approvals voided,
//     cancelled).
//   - releasenotes/<release id>/<environment>: a release live in a
//     production-class environment (ReleaseDeployed), a notice carrying its
//     release notes; its own episode, so that the announcement starts its
//     own thread rather than going into the planning notices' and each
//     production-class environment (production, dr) is told once. Elsewhere
//     ReleaseDeployed is not told: the deployment's episode tells it.
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
// severity; a tampered event is always critical. Flag changes other than
// a kill (enabling a flag again included), and configuration changes other
// than promotions, are told only in production-class environments.
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
// text is clipped; a release's notes (ReleaseDeployed's description and
// notes) are Markdown, kept whole with their line breaks up to 16 KiB. No
// secret value is ever copied: config and secret events carry only
// references and version metadata, and even those documents, digests and
// key ids are left out.
//
// # Episodes, notices and final events
//
// Routing repeats a firing episode every repeat_interval, escalates it when
// it is critical and unacknowledged, and tells a resolution only of an
// episode it told as firing. So each notifiable type is of one kind
// (TypeInfo.Kind):
//
//   - KindEpisode: the event opens or updates an ongoing episode, which
//     fires until an event of TypeInfo.ResolvedBy resolves it (an alert
//     resolved, a deployment succeeded, a gate passed, a tampered event
//     acknowledged) or one of TypeInfo.EndedBy ends it. A resolution stays
//     a resolution: it is told when its episode was told as firing, and not
//     otherwise (a secret rotated with no failed rotation before it).
//   - KindNotice (routing.Event.Notice): one-off information that nothing
//     resolves: a release created, cancelled or its approvals voided, an
//     approval granted, a release approved, a release live in a
//     production-class environment (with its notes), a flag changed, killed,
//     disabled or enabled, flags imported, a configuration changed or
//     promoted, a secret version revoked, a SARIF baseline accepted. It is
//     told once and dropped: never repeated, and its group finishes.
//   - KindFinal (routing.Event.Final): the bad end of an episode, which
//     nothing resolves: a deployment failed or rolled back (a retry is a
//     new deployment), a release rejected for an environment (its content
//     must change, which voids the approvals). It is told once, as firing,
//     whether or not the episode was told before, and the episode is
//     dropped: no resolution, no repeat, no escalation once told. The events
//     on the way to it still fire: RollbackStarted, RollbackTriggered,
//     DeploymentAborted and FlagRolloutRefused are followed by RolledBack.
//
// ConfigVersionSet is both: a notice for a promotion or a change, the
// resolution of its proposal for an approved one. Approvals of a release
// are notices rather than an episode that ReleaseApproved would resolve:
// nothing tells when they are first awaited, and a release cancelled or
// changed halfway would leave such an episode firing for ever.
package episode
