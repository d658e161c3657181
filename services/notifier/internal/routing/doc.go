// Package routing decides who is told what, and when, in the manner of
// Prometheus Alertmanager: a tree of routes sends events to receivers,
// groups them, waits before the first notification of a group
// (group_wait), batches changes (group_interval), repeats unresolved groups
// (repeat_interval), tells of resolutions, holds back flapping episodes
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
// fingerprint) and whether it resolves the episode. Matchers and group_by
// see the labels plus the names type, environment, product, severity and
// episode, which take precedence over labels of the same name.
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
// back by a mute is told when the mute ends.
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
package routing
