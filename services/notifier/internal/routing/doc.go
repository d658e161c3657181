// Package routing decides who is told what, and when, in the manner of
// Prometheus Alertmanager: a tree of routes sends events to receivers,
// groups them, waits before the first notification of a group
// (group_wait), batches changes (group_interval), repeats unresolved groups
// (repeat_interval), tells of resolutions, tells one-off notices and
// episodes that end with a problem once, holds back flapping episodes
// (cooldown), mutes what silences and maintenance windows cover and
// escalates critical episodes nobody acknowledged.
//
// It is pure: no NATS, no I/O, no goroutines, no clock. The notifier feeds
// it events with the time it handles them and asks what is due; the
// decisions are deterministic, so two replicas (or a replay of the log)
// produce the same notifications with the same IDs, and the caller keeps
// exactly one delivery per ID through the event log.
//
// # Use
//
//	cfg, err := routing.Parse(yamlBytes)            // every problem, with its path
//	for _, r := range routing.Match(cfg, ev) {      // the routes, honouring continue
//		key := routing.GroupKey(r, ev)
//		g := groups[key]                         // or routing.RestoreGroup(cfg, state)
//		if g == nil {
//			g = routing.NewGroup(cfg, r, ev)
//		}
//		g.Observe(now, ev)
//	}
//	// at g.Next():
//	for _, n := range g.Due(now) {                  // n.Muted: record, do not send
//		...
//	}
//
// # Events and labels
//
// An Event is a Floe event reduced to its type, environment, product,
// severity (info, warning, critical), labels, episode key (what makes an
// episode: a deployment id for a rollout and its rollback, an alert's
// fingerprint) and what it does to the episode: it fires (the default),
// resolves it (Resolved), ends it with a problem (Final: a deployment failed
// or rolled back, which nothing resolves since a retry is a new deployment)
// or is a one-off notice that nothing resolves (Notice: a flag or
// configuration changed, a secret version revoked, a release created); at
// most one of the three is set. Matchers and group_by see the labels plus
// the names type, environment, product, severity and episode, which take
// precedence over labels of the same name.
//
// # Configuration
//
// The YAML below shows every field. Durations are Go durations (30s, 5m,
// 4h). Unknown fields are errors.
//
//	receivers:
//	  - name: ops-slack
//	    kind: slack
//	    settings:
//	      token: secret://notifier/slack-bot     # credentials only as secret references
//	      channel: "#ops"
//	  - name: oncall-sms
//	    kind: sms
//	    settings:
//	      account_sid: AC0123
//	      auth_token: secret://notifier/twilio
//	      to: ["+15550100"]
//	  - name: release-email
//	    kind: email
//	    settings:
//	      to: [releases@example.com]
//	      templates:                      # this receiver's own, over the top-level ones
//	        subject: "Release {{ .Title }}"
//	  - name: pager
//	    kind: webhook
//	    settings:
//	      url: https://pager.example.com/hook
//	      signing_secret: secret://notifier/pager-signing
//
//	route:                                # the root: matches everything
//	  receivers: [ops-slack]
//	  group_by: [episode]                 # the default: one group (and thread) per episode
//	  group_wait: 30s                     # defaults: 30s, 5m, 4h
//	  group_interval: 5m
//	  repeat_interval: 4h
//	  routes:
//	    - name: prod-critical
//	      matchers:
//	        - environment="production"
//	        - severity="critical"
//	      receivers: [ops-slack, oncall-sms]
//	      cooldown: 10m                   # a flapping episode is not re-announced within 10m
//	      escalation:                     # critical and not acknowledged in 15m: page
//	        after: 15m
//	        receivers: [pager]
//	      continue: true                  # and go on to the next sibling
//	    - name: releases
//	      matchers: ['type=~"floe\.release\.v1\..*"']
//	      receivers: [release-email]
//	      group_by: [product]
//	      routes:
//	        - matchers: [product!="demo", 'team=~"payments|checkout"']
//	          repeat_interval: 24h
//
//	silences:
//	  - id: db-migration
//	    matchers: [environment="staging", 'type=~"floe\.monitor\.v1\.Alert.*"']
//	    starts_at: 2026-05-01T20:00:00Z
//	    ends_at: 2026-05-02T02:00:00Z
//	    created_by: alice
//	    comment: schema migration, alerts expected
//
//	maintenance_windows:
//	  - name: weekend-patching
//	    environments: [production]
//	    matchers: [severity!="critical"]  # optional
//	    time_intervals:
//	      - weekdays: [saturday]
//	        times:
//	          - start_time: "22:00"       # an end before the start crosses midnight
//	            end_time: "02:00"
//	        location: Europe/Berlin
//	      - weekdays: ["monday:friday"]
//	        times: [{start_time: "12:00", end_time: "12:30"}]
//	        location: America/New_York
//
//	templates:                            # subject, text, html, sms: Go templates
//	  subject: "[{{ .Marker }}] {{ .Title }}"
//
// Receivers: name, kind (slack, email, sms, webhook) and settings, free-form
// for the channel layer. A settings key naming a credential (token,
// password, secret, api_key … as leakscan.IsSecretKey decides, and a Slack
// receiver's url or webhook_url) must hold a secret reference
// (secret://<name> or vault://<path>#<key>); any other value that looks like
// a credential is refused too.
//
// Routes: matchers (`name op value`, op = != =~ !~; regular expressions are
// anchored at both ends as in Alertmanager, so env=~"prod" does not match
// "preprod"); receivers; continue; group_by ("..." for every label);
// group_wait, group_interval, repeat_interval; cooldown; escalation; routes.
// A child inherits what it does not set from its parent. Matching is
// Alertmanager's: depth first, the deepest matching routes win, a matching
// route stops its later siblings unless it has continue: true, and the root
// (which must have receivers and no matchers) takes what no child does. A
// route's name, when set, is its identity in group keys and notification
// IDs, so that editing the tree around it keeps them; otherwise its path is.
//
// Silences: id, matchers, starts_at, ends_at (RFC 3339), created_by,
// comment, all required. Maintenance windows: name, environments, optional
// matchers and time intervals of weekdays (names or ranges such as
// monday:friday), times (HH:MM, end exclusive, an end not after the start
// crossing midnight into the next day) and a location (an IANA time zone,
// UTC by default). A muted notification is still decided and returned, with
// Muted set and what muted it, so that the log records it; a change held
// back by a mute is told when the mute ends, except a resolution, a final
// event and a notice, which are recorded as muted once and never told.
//
// Templates: subject, text, html and sms, Go templates that every receiver
// uses unless the templates mapping of its settings overrides them. Routing
// only checks that each is a non-empty string holding no credential; the
// render package compiles them (render.Parse("templates", cfg.Templates)
// and render.FromSettings for a receiver's) and reports problems at the
// same paths (templates.subject, receivers.<name>.settings.templates.text).
//
// # Timing
//
// A group's first notification is due group_wait after its first event;
// events arriving meanwhile are batched into it. Later changes (a new or
// changed episode, a resolution) are told no sooner than group_interval
// after the previous notification; an unchanged group with firing episodes
// is told again repeat_interval after the previous one. A resolution is told
// only of episodes that were told as firing. After a resolution was told, an
// episode firing again within the route's cooldown is held back until the
// cooldown ends (and dropped if it resolves meanwhile). A critical episode
// still firing and not acknowledged escalation.after after its first
// notification is told to the escalation receivers once.
//
// # Notices and final events
//
// A notice is told once, with status "notice", at the group's next flush
// tick (group_wait after the group's first event, then no sooner than
// group_interval after the previous notification, like a change), and then
// dropped: it is never repeated or escalated and leaves any episode of its
// key as it was. Every notice is told, so two notices of one key are both
// told, together when they arrive within one tick. A final event is told
// the same way, with status "firing" and Event.Final set, as the last word
// of its episode, whether or not the episode was told as firing before and
// however many firing events came before it within group_wait; the episode
// is then dropped, with no resolution, no repeat and no escalation (an
// escalation that falls due before the final event is told still goes
// out). The latest event of an episode wins, so a later firing event that
// arrives before a final one was told reopens the episode. A notice or
// final event that a mute covers when it is due is recorded as muted once
// and dropped. For the rest of the group's lifetime, a redelivered
// notice or final event, and any older event of its key, is ignored; a
// later one is new. When nothing is left, the group is Done and its
// lifetime over: like any event, one redelivered after that starts a new
// lifetime and is told again, under the same IDs (which the caller's
// deduplication drops) only when it was the old lifetime's first event.
//
// A notification's reason is firing when it tells an episode as firing
// (a final one included) and nothing was told as firing before; update
// when an episode is, or stays, told as firing; resolved when its changes
// are resolutions and nothing fires; and notice when it tells only of
// notices and nothing fires. Notices do not weigh in otherwise: a notice
// next to a new firing episode is told in a firing notification.
package routing
