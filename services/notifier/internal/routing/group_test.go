package routing

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// t0 is Monday 4 May 2026, 10:00 UTC.
var t0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// sim drives the groups of a configuration on a fake clock, the way the
// notifier will: match, group, observe, and call Due at each group's Next.
type sim struct {
	t      *testing.T
	cfg    *Config
	now    time.Time
	groups map[string]*Group
	// roundTrip snapshots and restores every group after each step.
	roundTrip bool
	sent      []Notification
}

func newSim(t *testing.T, cfg *Config) *sim {
	t.Helper()
	return &sim{t: t, cfg: cfg, now: t0, groups: map[string]*Group{}}
}

// ev is an event of episode key at offset d.
func ev(key, typ, env, severity string, d time.Duration, labels ...string) Event {
	e := Event{Type: typ, Environment: env, Product: "shop", Severity: severity, EpisodeKey: key, Time: t0.Add(d)}
	for i := 0; i+1 < len(labels); i += 2 {
		if e.Labels == nil {
			e.Labels = map[string]string{}
		}
		e.Labels[labels[i]] = labels[i+1]
	}
	return e
}

func resolved(e Event, d time.Duration) Event {
	e.Resolved, e.Time = true, t0.Add(d)
	return e
}

// run advances the clock to offset d, delivering what falls due on the way.
func (s *sim) run(d time.Duration) {
	s.t.Helper()
	until := t0.Add(d)
	for {
		var next time.Time
		var key string
		for _, k := range slices.Sorted(maps.Keys(s.groups)) {
			n := s.groups[k].Next()
			if !n.IsZero() && (next.IsZero() || n.Before(next)) {
				next, key = n, k
			}
		}
		if next.IsZero() || next.After(until) {
			break
		}
		if next.After(s.now) {
			s.now = next
		}
		g := s.groups[key]
		s.sent = append(s.sent, g.Due(s.now)...)
		if n := g.Next(); !n.IsZero() && !n.After(s.now) {
			s.t.Fatalf("at %v: Next() = %v after Due: the group would stall", s.now.Sub(t0), n.Sub(t0))
		}
		if g.Done(s.now) {
			delete(s.groups, key)
		}
		s.snapshot()
	}
	if until.After(s.now) {
		s.now = until
	}
}

// observe runs the clock to d and hands e to its groups.
func (s *sim) observe(d time.Duration, e Event) {
	s.t.Helper()
	s.run(d)
	for _, r := range Match(s.cfg, e) {
		k := GroupKey(r, e)
		g := s.groups[k]
		if g == nil {
			g = NewGroup(s.cfg, r, e)
			s.groups[k] = g
		}
		if err := g.Observe(s.now, e); err != nil {
			s.t.Fatalf("Observe: %v", err)
		}
	}
	s.snapshot()
}

func (s *sim) ack(d time.Duration, key, by string) {
	s.t.Helper()
	s.run(d)
	for _, g := range s.groups {
		if _, ok := g.s.Episodes[key]; ok {
			if err := g.Acknowledge(s.now, key, by); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	s.snapshot()
}

func (s *sim) snapshot() {
	s.t.Helper()
	if !s.roundTrip {
		return
	}
	for k, g := range s.groups {
		data, err := json.Marshal(g)
		if err != nil {
			s.t.Fatal(err)
		}
		r, err := RestoreGroup(s.cfg, data)
		if err != nil {
			s.t.Fatal(err)
		}
		again, _ := json.Marshal(r)
		if string(again) != string(data) {
			s.t.Fatalf("state does not round-trip:\n%s\n%s", data, again)
		}
		s.groups[k] = r
	}
}

// log summarises the notifications: "offset receiver reason#seq [episode:status*]",
// * marking a change, and "muted(kind:name)" for muted records.
func (s *sim) log() []string {
	var out []string
	for _, n := range s.sent {
		var eps []string
		for _, e := range n.Episodes {
			x := e.Key + ":" + e.Status
			if e.Changed {
				x += "*"
			}
			eps = append(eps, x)
		}
		line := fmt.Sprintf("%v %s %s#%d [%s]", n.At.Sub(t0), n.Receiver, n.Reason, n.Seq, strings.Join(eps, " "))
		if n.Muted {
			var by []string
			for _, m := range n.MutedBy {
				by = append(by, m.Kind+":"+m.Name)
			}
			line += " muted(" + strings.Join(by, ",") + ")"
		}
		out = append(out, line)
	}
	return out
}

func (s *sim) expect(want ...string) {
	s.t.Helper()
	if diff := cmp.Diff(want, s.log()); diff != "" {
		s.t.Errorf("notifications (-want +got):\n%s", diff)
	}
	for _, n := range s.sent {
		if n.ID != NotificationID(n.Route, n.GroupKey, n.Generation, n.Receiver, n.Seq) {
			s.t.Errorf("notification %s#%d: ID %s is not the hash of its route, group, receiver and sequence", n.Receiver, n.Seq, n.ID)
		}
	}
}

const timingConfig = `
receivers: [{name: ops, kind: slack}, {name: mail, kind: email}]
route:
  receivers: [ops]
  group_by: [product]
  routes:
    - name: both
      matchers: [environment="both"]
      receivers: [ops, mail]
`

func TestGroupTiming(t *testing.T) {
	t.Parallel()
	s := newSim(t, mustParse(t, timingConfig))
	a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0)
	b := ev("b", "floe.monitor.v1.AlertFiring", "prod", "warning", 10*time.Second)
	c := ev("c", "floe.monitor.v1.AlertFiring", "prod", "warning", time.Minute)
	s.observe(0, a)
	s.observe(10*time.Second, b)                         // batched into the first notification
	s.observe(20*time.Second, a)                         // redelivered: nothing new
	s.run(29 * time.Second)                              // group_wait not over
	s.expect()                                           //
	s.observe(time.Minute, c)                            // an update, after group_interval
	s.observe(2*time.Minute, a)                          // redelivered again
	s.observe(6*time.Minute, resolved(a, 6*time.Minute)) // a resolution, while b and c fire
	s.run(5 * time.Hour)
	s.observe(5*time.Hour, resolved(b, 5*time.Hour))
	s.observe(5*time.Hour, resolved(c, 5*time.Hour))
	s.run(10 * time.Hour)
	s.expect(
		"30s ops firing#1 [a:firing* b:firing*]",
		"5m30s ops update#2 [a:firing b:firing c:firing*]",
		"10m30s ops update#3 [a:resolved* b:firing c:firing]",
		"4h10m30s ops repeat#4 [b:firing c:firing]",
		"5h0m30s ops resolved#5 [b:resolved* c:resolved*]", // the next flush tick: both together
	)
	if len(s.groups) != 0 {
		t.Errorf("%d groups left after everything resolved", len(s.groups))
	}
}

func TestGroupEveryReceiver(t *testing.T) {
	t.Parallel()
	s := newSim(t, mustParse(t, timingConfig))
	a := ev("a", "floe.deploy.v1.DeploymentStarted", "both", "info", 0)
	s.observe(0, a)
	s.observe(time.Minute, resolved(a, time.Minute))
	s.run(time.Hour)
	s.expect(
		"30s ops firing#1 [a:firing*]",
		"30s mail firing#1 [a:firing*]",
		"5m30s ops resolved#2 [a:resolved*]",
		"5m30s mail resolved#2 [a:resolved*]",
	)
}

func TestGroupResolvedBeforeFirstNotification(t *testing.T) {
	t.Parallel()
	s := newSim(t, mustParse(t, timingConfig))
	a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0)
	s.observe(0, a)
	s.observe(10*time.Second, resolved(a, 10*time.Second))
	s.run(time.Hour)
	s.expect()
	if len(s.groups) != 0 {
		t.Error("a group whose episodes resolved unannounced is not done")
	}
}

func TestGroupEpisodeUpdates(t *testing.T) {
	t.Parallel()
	// One episode (a deployment) from its start through its rollback: the
	// first message, then updates (threaded by the channel), then the end.
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}]
route: {receivers: [ops], group_wait: 10s, group_interval: 1m}
`)
	s := newSim(t, cfg)
	d := ev("dep-1", "floe.deploy.v1.DeploymentStarted", "prod", "info", 0)
	s.observe(0, d)
	rb := ev("dep-1", "floe.deploy.v1.RollbackStarted", "prod", "warning", 2*time.Minute)
	s.observe(2*time.Minute, rb)
	s.observe(2*time.Minute+time.Second, ev("dep-1", "floe.deploy.v1.DeploymentStarted", "prod", "info", time.Second)) // late and stale
	s.observe(4*time.Minute, resolved(ev("dep-1", "floe.deploy.v1.RolledBack", "prod", "warning", 0), 4*time.Minute))
	s.run(time.Hour)
	s.expect(
		"10s ops firing#1 [dep-1:firing*]",
		"2m10s ops update#2 [dep-1:firing*]",
		"4m10s ops resolved#3 [dep-1:resolved*]",
	)
	if got := s.sent[1].Episodes[0].Event.Type; got != "floe.deploy.v1.RollbackStarted" {
		t.Errorf("update tells of %s", got)
	}
}

func TestGroupCooldown(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}]
route: {receivers: [ops], group_wait: 0s, group_interval: 1m, cooldown: 10m}
`)
	s := newSim(t, cfg)
	a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0)
	s.observe(0, a)
	s.observe(2*time.Minute, resolved(a, 2*time.Minute))
	// Flapping within the cooldown (which ends at 12m): held back, and a
	// resolution of a firing never told is not told either.
	s.observe(3*time.Minute, ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 3*time.Minute))
	s.observe(4*time.Minute, resolved(a, 4*time.Minute))
	s.observe(5*time.Minute, ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 5*time.Minute))
	s.run(time.Hour)
	s.expect(
		"0s ops firing#1 [a:firing*]",
		"2m0s ops resolved#2 [a:resolved*]",
		"12m0s ops firing#3 [a:firing*]",
	)
}

func TestGroupSilence(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}]
route: {receivers: [ops], group_by: [product], group_wait: 30s, group_interval: 5m}
silences:
  - id: quiet-b
    matchers: [alertname="b"]
    starts_at: 2026-05-04T10:01:00Z
    ends_at: 2026-05-04T10:20:00Z
    created_by: alice
    comment: known issue
`)
	s := newSim(t, cfg)
	a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0, "alertname", "a")
	b := ev("b", "floe.monitor.v1.AlertFiring", "prod", "warning", 2*time.Minute, "alertname", "b")
	s.observe(0, a)
	s.observe(2*time.Minute, b)
	s.run(time.Hour)
	s.expect(
		"30s ops firing#1 [a:firing*]",
		"5m30s ops update#2 [b:firing*] muted(silence:quiet-b)",
		"20m30s ops update#3 [a:firing b:firing*]", // the first tick after the silence
	)
	m := s.sent[1].MutedBy[0]
	if m.CreatedBy != "alice" || m.Comment != "known issue" {
		t.Errorf("mute = %+v, want the silence's creator and comment", m)
	}
}

func TestGroupSilencedResolution(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}]
route: {receivers: [ops], group_wait: 0s, group_interval: 1m, repeat_interval: 1h}
silences:
  - {id: s, matchers: [episode="a"], starts_at: 2026-05-04T10:05:00Z, ends_at: 2026-05-04T12:00:00Z, created_by: bob, comment: maintenance}
`)
	s := newSim(t, cfg)
	a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "critical", 0)
	s.observe(0, a)
	s.observe(30*time.Minute, resolved(a, 30*time.Minute))
	s.run(5 * time.Hour)
	// The repeat at 1h falls in the silence and is skipped; the resolution
	// is muted and recorded.
	s.expect(
		"0s ops firing#1 [a:firing*]",
		"30m0s ops resolved#2 [a:resolved*] muted(silence:s)",
	)
	if len(s.groups) != 0 {
		t.Error("group not done")
	}
}

func TestGroupSilenceSkipsRepeatThenResumes(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}]
route: {receivers: [ops], group_wait: 0s, group_interval: 1m, repeat_interval: 1h}
silences:
  - {id: s, matchers: [episode="a"], starts_at: 2026-05-04T10:05:00Z, ends_at: 2026-05-04T12:30:00Z, created_by: bob, comment: noisy}
`)
	s := newSim(t, cfg)
	s.observe(0, ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0))
	s.run(3 * time.Hour)
	s.expect(
		"0s ops firing#1 [a:firing*]",
		"2h30m0s ops repeat#2 [a:firing]",
	)
}

func TestGroupMaintenanceWindow(t *testing.T) {
	t.Parallel()
	// Saturday 22:00 to Sunday 02:00 in Berlin (CEST, UTC+2 in May):
	// 2 May 20:00 UTC to 3 May 00:00 UTC.
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}]
route: {receivers: [ops], group_wait: 30s, group_interval: 5m}
maintenance_windows:
  - name: patching
    environments: [production]
    matchers: [severity!="critical"]
    time_intervals:
      - weekdays: [saturday]
        times: [{start_time: "22:00", end_time: "02:00"}]
        location: Europe/Berlin
`)
	s := newSim(t, cfg)
	sat := time.Date(2026, 5, 2, 21, 0, 0, 0, time.UTC).Sub(t0) // Saturday 23:00 in Berlin
	s.now = t0.Add(sat)
	w := ev("w", "floe.monitor.v1.AlertFiring", "production", "warning", sat)
	c := ev("c", "floe.monitor.v1.AlertFiring", "production", "critical", sat)
	st := ev("st", "floe.monitor.v1.AlertFiring", "staging", "warning", sat)
	s.observe(sat, w)
	s.observe(sat, c)
	s.observe(sat, st)
	s.run(sat + 6*time.Hour)
	// Offsets from t0 (Monday) are negative: Saturday night came before.
	s.expect(
		"-36h59m30s ops firing#1 [st:firing*]", // staging: not muted
		"-36h59m30s ops firing#1 [c:firing*]",  // critical: not muted
		"-36h59m30s ops firing#1 [w:firing*] muted(maintenance_window:patching)",
		"-33h59m30s ops firing#2 [w:firing*]", // the first tick after 02:00 in Berlin (00:00 UTC, -34h)
		"-32h59m30s ops repeat#2 [st:firing]",
		"-32h59m30s ops repeat#2 [c:firing]",
	)
}

func TestGroupEscalation(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}, {name: pager, kind: webhook}]
route:
  receivers: [ops]
  group_wait: 30s
  escalation: {after: 15m, receivers: [pager]}
`)
	crit := func(key string) Event { return ev(key, "floe.monitor.v1.AlertFiring", "production", "critical", 0) }
	tests := []struct {
		name string
		do   func(s *sim)
		want []string
	}{
		{"unacknowledged critical escalates once", func(s *sim) {
			s.observe(0, crit("a"))
			s.run(2 * time.Hour)
		}, []string{
			"30s ops firing#1 [a:firing*]",
			"15m30s pager escalation#1 [a:firing]",
		}},
		{"acknowledged in time", func(s *sim) {
			s.observe(0, crit("a"))
			s.ack(10*time.Minute, "a", "carol")
			s.run(2 * time.Hour)
		}, []string{"30s ops firing#1 [a:firing*]"}},
		{"resolved in time", func(s *sim) {
			s.observe(0, crit("a"))
			s.observe(5*time.Minute, resolved(crit("a"), 5*time.Minute))
			s.run(2 * time.Hour)
		}, []string{"30s ops firing#1 [a:firing*]", "5m30s ops resolved#2 [a:resolved*]"}},
		{"a warning does not escalate", func(s *sim) {
			s.observe(0, ev("a", "floe.monitor.v1.AlertFiring", "production", "warning", 0))
			s.run(2 * time.Hour)
		}, []string{"30s ops firing#1 [a:firing*]"}},
		{"measured from the first notification", func(s *sim) {
			s.observe(0, ev("a", "floe.monitor.v1.AlertFiring", "production", "warning", 0))
			s.observe(time.Minute, ev("a", "floe.monitor.v1.AlertFiring", "production", "critical", time.Minute))
			s.run(time.Hour)
		}, []string{"30s ops firing#1 [a:firing*]", "5m30s ops update#2 [a:firing*]", "15m30s pager escalation#1 [a:firing]"}},
		{"again after a new firing", func(s *sim) {
			s.observe(0, crit("a"))
			s.ack(time.Minute, "a", "carol")
			s.observe(2*time.Minute, resolved(crit("a"), 2*time.Minute))
			s.observe(10*time.Minute, ev("a", "floe.monitor.v1.AlertFiring", "production", "critical", 10*time.Minute))
			s.run(time.Hour)
		}, []string{
			"30s ops firing#1 [a:firing*]",
			"5m30s ops resolved#2 [a:resolved*]",
			"10m30s ops firing#1 [a:firing*]", // a new lifetime of the group (new IDs)
			"25m30s pager escalation#1 [a:firing]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, cfg)
			tt.do(s)
			s.expect(tt.want...)
		})
	}
}

func TestAcknowledgeUnknown(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, timingConfig)
	e := ev("a", "t", "prod", "critical", 0)
	g := NewGroup(cfg, cfg.Route, e)
	if err := g.Acknowledge(t0, "nope", "x"); err == nil {
		t.Error("acknowledged an unknown episode")
	}
	if err := g.Observe(t0, ev("a", "t", "other", "critical", 0)); err != nil {
		t.Errorf("same product, same group: %v", err)
	}
	other := e
	other.Product = "else"
	if err := g.Observe(t0, other); err == nil {
		t.Error("observed an event of another group")
	}
	if err := g.Observe(t0, Event{Type: "t"}); err == nil {
		t.Error("observed an event without an episode")
	}
}

// scenario is a busy history over several routes and receivers.
func scenario(s *sim) {
	a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "critical", 0)
	b := ev("b", "floe.monitor.v1.AlertFiring", "both", "warning", 0)
	s.observe(0, a)
	s.observe(3*time.Second, b)
	s.observe(40*time.Second, ev("c", "floe.monitor.v1.AlertFiring", "prod", "warning", 40*time.Second))
	s.observe(3*time.Minute, a) // redelivered
	s.observe(7*time.Minute, resolved(b, 7*time.Minute))
	s.observe(2*time.Hour, resolved(a, 2*time.Hour))
	s.run(9 * time.Hour)
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, timingConfig)
	one := newSim(t, cfg)
	scenario(one)
	two := newSim(t, mustParse(t, timingConfig)) // a second replica, its own parse
	two.roundTrip = true                         // and a snapshot and restore after every step
	scenario(two)
	if len(one.sent) < 5 {
		t.Fatalf("scenario too quiet: %v", one.log())
	}
	if diff := cmp.Diff(one.sent, two.sent); diff != "" {
		t.Errorf("replicas differ (-one +two):\n%s", diff)
	}
	ids := map[string]bool{}
	for _, n := range one.sent {
		if ids[n.ID] {
			t.Errorf("ID %s used twice", n.ID)
		}
		ids[n.ID] = true
	}
}

func TestDeterminismAcrossArrivalJitter(t *testing.T) {
	t.Parallel()
	// A replica handling the same events a little later decides the same
	// notifications with the same IDs (only their times differ).
	cfg := mustParse(t, timingConfig)
	ids := func(delay time.Duration) []string {
		s := newSim(t, cfg)
		a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0)
		s.observe(delay, a)
		s.observe(time.Minute+delay, ev("c", "floe.monitor.v1.AlertFiring", "prod", "warning", time.Minute))
		s.observe(20*time.Minute+delay, resolved(a, 20*time.Minute))
		s.run(time.Hour)
		var out []string
		for _, n := range s.sent {
			out = append(out, fmt.Sprintf("%s %s#%d %s", n.ID, n.Reason, n.Seq, n.Receiver))
		}
		return out
	}
	if diff := cmp.Diff(ids(0), ids(250*time.Millisecond)); diff != "" {
		t.Errorf("IDs differ with arrival jitter (-prompt +late):\n%s", diff)
	}
}

func TestGenerations(t *testing.T) {
	t.Parallel()
	// A group dropped when done and rebuilt by a redelivery of the same
	// event decides the same IDs (the caller's dedup drops them); a new
	// episode in the same group key gets new IDs.
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}]
route: {receivers: [ops], group_wait: 0s, group_interval: 1m}
`)
	a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0)
	first := newSim(t, cfg)
	first.observe(0, a)
	first.observe(time.Minute, resolved(a, time.Minute))
	first.run(time.Hour)
	replay := newSim(t, cfg)
	replay.observe(2*time.Hour, a) // the group was dropped; the first event comes again
	replay.run(3 * time.Hour)
	if first.sent[0].ID != replay.sent[0].ID {
		t.Error("a redelivered first event got a new ID")
	}
	again := newSim(t, cfg)
	again.observe(2*time.Hour, ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 2*time.Hour))
	again.run(3 * time.Hour)
	if first.sent[0].ID == again.sent[0].ID {
		t.Error("a new firing of the episode reuses the old notification ID")
	}
}

func TestGenerationsOfOneOffs(t *testing.T) {
	t.Parallel()
	// A group that only told a notice (or a final event) is done and
	// dropped; rebuilt by a redelivery of that event, it decides the same
	// IDs, which the caller's dedup drops. A later notice gets new IDs.
	cfg := mustParse(t, timingConfig)
	for _, e := range []Event{
		flagChanged(0, "v2"),
		asFinal(ev("dep", "floe.deploy.v1.DeploymentFailed", "prod", "critical", 0), 0),
	} {
		first := newSim(t, cfg)
		first.observe(0, e)
		first.run(time.Hour)
		replay := newSim(t, cfg)
		replay.observe(2*time.Hour, e)
		replay.run(3 * time.Hour)
		if len(first.sent) != 1 || len(replay.sent) != 1 || first.sent[0].ID != replay.sent[0].ID {
			t.Errorf("%s: a redelivered one-off got a new ID: %v / %v", e.Type, first.log(), replay.log())
		}
		if len(first.groups) != 0 {
			t.Errorf("%s: group not done", e.Type)
		}
	}
	one, two := newSim(t, cfg), newSim(t, cfg)
	one.observe(0, flagChanged(0, "v2"))
	one.run(time.Hour)
	two.observe(0, flagChanged(time.Minute, "v2"))
	two.run(time.Hour)
	if one.sent[0].ID == two.sent[0].ID {
		t.Error("a later notice of the same key reuses the notification ID")
	}
}

func TestStateJSON(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, timingConfig)
	s := newSim(t, cfg)
	s.observe(0, ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0, "k", "v"))
	s.run(time.Minute)
	var g *Group
	for _, x := range s.groups {
		g = x
	}
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"route":"route"`, `"generation":`, `"episodes":{"a":`, `"told":true`, `"seq":{"ops":1}`} {
		if !strings.Contains(string(data), field) {
			t.Errorf("state %s lacks %s", data, field)
		}
	}
	if _, err := RestoreGroup(mustParse(t, `
receivers: [{name: x, kind: slack}]
route: {receivers: [x], routes: [{name: other, matchers: [a="b"]}]}
`), []byte(strings.Replace(string(data), `"route":"route"`, `"route":"gone"`, 1))); err == nil {
		t.Error("restored a group whose route is gone")
	}
	if _, err := RestoreGroup(cfg, []byte("{")); err == nil {
		t.Error("restored from broken JSON")
	}
}

func asNotice(e Event) Event {
	e.Notice = true
	return e
}

func asFinal(e Event, d time.Duration) Event {
	e.Final, e.Time = true, t0.Add(d)
	return e
}

// flagChanged is a notice of episode key "flag" at offset d.
func flagChanged(d time.Duration, summary string) Event {
	e := asNotice(ev("flag", "floe.flag.v1.FlagUpdated", "prod", "info", d))
	e.Annotations = map[string]string{"summary": summary}
	return e
}

const oneOffConfig = `
receivers: [{name: ops, kind: slack}, {name: pager, kind: webhook}]
route:
  receivers: [ops]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 1h
  routes:
    - name: pages
      matchers: [environment="paged"]
      escalation: {after: 4m30s, receivers: [pager]}
silences:
  - {id: s, matchers: [environment="quiet"], starts_at: 2026-05-04T10:00:00Z, ends_at: 2026-05-04T12:00:00Z, created_by: bob, comment: drill}
`

func TestGroupNotices(t *testing.T) {
	t.Parallel()
	alert := func(key string, d time.Duration) Event {
		return ev(key, "floe.monitor.v1.AlertFiring", "prod", "warning", d)
	}
	tests := []struct {
		name string
		cfg  string
		do   func(s *sim)
		want []string
		// open is whether a group is left at the end.
		open bool
	}{
		{"told once, then the group is done", timingConfig, func(s *sim) {
			s.observe(0, flagChanged(0, "v2"))
			s.run(24 * time.Hour)
		}, []string{"30s ops notice#1 [flag:notice*]"}, false},
		{"with firing episodes: an update, never repeated", timingConfig, func(s *sim) {
			s.observe(0, alert("a", 0))
			s.observe(time.Minute, flagChanged(time.Minute, "v2"))
			s.observe(7*time.Minute, flagChanged(time.Minute, "v2"))   // redelivered after it was told
			s.observe(8*time.Minute, flagChanged(30*time.Second, "x")) // older than the latest notice of the key
			s.observe(9*time.Minute, flagChanged(9*time.Minute, "v2")) // the same change again, later: new
			s.run(5 * time.Hour)
		}, []string{
			"30s ops firing#1 [a:firing*]",
			"5m30s ops update#2 [a:firing flag:notice*]",
			"10m30s ops update#3 [a:firing flag:notice*]",
			"4h10m30s ops repeat#4 [a:firing]",
		}, true},
		{"two notices of a key in one tick are both told", timingConfig, func(s *sim) {
			s.observe(0, flagChanged(0, "v2"))
			s.observe(10*time.Second, flagChanged(10*time.Second, "v3"))
			s.observe(20*time.Second, flagChanged(0, "v2")) // redelivered before it was told
			s.run(time.Hour)
		}, []string{"30s ops notice#1 [flag:notice* flag:notice*]"}, false},
		{"next to a new firing episode: a firing notification", timingConfig, func(s *sim) {
			s.observe(0, alert("a", 0))
			s.observe(10*time.Second, flagChanged(10*time.Second, "v2"))
			s.observe(time.Hour, resolved(alert("a", 0), time.Hour))
			s.observe(2*time.Hour, flagChanged(2*time.Hour, "v3")) // a new lifetime of the group
			s.run(8 * time.Hour)
		}, []string{
			"30s ops firing#1 [a:firing* flag:notice*]",
			"1h0m30s ops resolved#2 [a:resolved*]",
			"2h0m30s ops notice#1 [flag:notice*]",
		}, false},
		{"with a resolution: a resolved notification", timingConfig, func(s *sim) {
			s.observe(0, alert("a", 0))
			s.observe(6*time.Minute, resolved(alert("a", 0), 6*time.Minute))
			s.observe(7*time.Minute, flagChanged(7*time.Minute, "v2"))
			s.run(time.Hour)
		}, []string{
			"30s ops firing#1 [a:firing*]",
			"10m30s ops resolved#2 [a:resolved* flag:notice*]",
		}, false},
		{"a notice leaves the episode of its key as it was", oneOffConfig, func(s *sim) {
			s.observe(0, alert("flag", 0)) // e.g. the flag killed
			s.observe(2*time.Minute, flagChanged(2*time.Minute, "v2"))
			s.observe(3*time.Minute, resolved(alert("flag", 0), 3*time.Minute))
			s.run(3 * time.Hour)
		}, []string{
			"10s ops firing#1 [flag:firing*]",
			"2m10s ops update#2 [flag:firing flag:notice*]",
			"3m10s ops resolved#3 [flag:resolved*]",
		}, false},
		{"never escalated", oneOffConfig, func(s *sim) {
			n := asNotice(ev("n", "floe.integrity.v1.Checked", "paged", "critical", 0))
			s.observe(0, n)
			s.run(3 * time.Hour)
		}, []string{"10s ops notice#1 [n:notice*]"}, false},
		{"muted: recorded once and dropped", oneOffConfig, func(s *sim) {
			s.observe(0, asNotice(ev("n", "floe.flag.v1.FlagUpdated", "quiet", "info", 0)))
			s.run(5 * time.Hour) // past the silence's end
		}, []string{"10s ops notice#1 [n:notice*] muted(silence:s)"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, roundTrip := range []bool{false, true} {
				s := newSim(t, mustParse(t, tt.cfg))
				s.roundTrip = roundTrip
				tt.do(s)
				s.expect(tt.want...)
				if open := len(s.groups) > 0; open != tt.open {
					t.Errorf("roundTrip=%v: a group left = %v, want %v", roundTrip, open, tt.open)
				}
			}
		})
	}
}

func TestGroupNoticeOrderAndContent(t *testing.T) {
	t.Parallel()
	s := newSim(t, mustParse(t, timingConfig))
	s.observe(0, flagChanged(0, "v2"))
	s.observe(5*time.Second, ev("zz", "floe.monitor.v1.AlertFiring", "prod", "warning", 5*time.Second))
	s.observe(10*time.Second, flagChanged(10*time.Second, "v3"))
	s.observe(15*time.Second, asNotice(ev("b", "floe.release.v1.ReleaseCreated", "prod", "info", 15*time.Second)))
	s.run(time.Minute)
	s.expect("30s ops firing#1 [b:notice* flag:notice* flag:notice* zz:firing*]")
	var got []string
	for _, e := range s.sent[0].Episodes {
		got = append(got, e.Key+" "+e.Event.Annotations["summary"]+" "+e.Since.Sub(t0).String())
		if e.Status == StatusNotice && !e.Event.Notice {
			t.Errorf("%s: a notice status without Event.Notice", e.Key)
		}
	}
	want := []string{"b  15s", "flag v2 0s", "flag v3 10s", "zz  5s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("episodes (-want +got):\n%s", diff)
	}
}

func TestGroupFinals(t *testing.T) {
	t.Parallel()
	started := func(key string, d time.Duration) Event {
		return ev(key, "floe.deploy.v1.DeploymentStarted", "prod", "info", d)
	}
	failed := func(key, env string, d time.Duration) Event {
		return asFinal(ev(key, "floe.deploy.v1.DeploymentFailed", env, "critical", 0), d)
	}
	crit := func(key string, d time.Duration) Event {
		return ev(key, "floe.monitor.v1.TriggerFired", "paged", "critical", d)
	}
	tests := []struct {
		name  string
		cfg   string
		do    func(s *sim)
		want  []string
		open  bool
		final []bool // per notification: does it tell of a final event
	}{
		{"from scratch: told once, as firing", oneOffConfig, func(s *sim) {
			s.observe(0, failed("dep", "prod", 0))
			s.run(5 * time.Hour)
		}, []string{"10s ops firing#1 [dep:firing*]"}, false, []bool{true}},
		{"after firing was told: one update, no resolution, no repeat", oneOffConfig, func(s *sim) {
			s.observe(0, started("dep", 0))
			s.observe(2*time.Minute, failed("dep", "prod", 2*time.Minute))
			s.run(5 * time.Hour)
		}, []string{"10s ops firing#1 [dep:firing*]", "2m10s ops update#2 [dep:firing*]"}, false, []bool{false, true}},
		{"within group_wait after firing: told once, as final", oneOffConfig, func(s *sim) {
			s.observe(0, started("dep", 0))
			s.observe(5*time.Second, failed("dep", "prod", 5*time.Second))
			s.run(5 * time.Hour)
		}, []string{"10s ops firing#1 [dep:firing*]"}, false, []bool{true}},
		{"among firing episodes", timingConfig, func(s *sim) {
			s.observe(0, ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0))
			s.observe(0, started("dep", 0))
			s.observe(2*time.Minute, failed("dep", "prod", 2*time.Minute))
			s.run(5 * time.Hour)
		}, []string{
			"30s ops firing#1 [a:firing* dep:firing*]",
			"5m30s ops update#2 [a:firing dep:firing*]",
			"4h5m30s ops repeat#3 [a:firing]",
		}, true, []bool{false, true, false}},
		{"next to a notice in a new group", timingConfig, func(s *sim) {
			s.observe(0, failed("dep", "prod", 0))
			s.observe(0, flagChanged(0, "v2"))
			s.run(5 * time.Hour)
		}, []string{"30s ops firing#1 [dep:firing* flag:notice*]"}, false, []bool{true}},
		{"critical from scratch: never escalated", oneOffConfig, func(s *sim) {
			s.observe(0, asFinal(crit("dep", 0), 0))
			s.run(5 * time.Hour)
		}, []string{"10s ops firing#1 [dep:firing*]"}, false, []bool{true}},
		{"not escalated once told", oneOffConfig, func(s *sim) {
			s.observe(0, crit("dep", 0))
			s.observe(time.Minute, asFinal(crit("dep", 0), time.Minute))
			s.run(5 * time.Hour)
		}, []string{"10s ops firing#1 [dep:firing*]", "1m10s ops update#2 [dep:firing*]"}, false, []bool{false, true}},
		{"an escalation due before it is told still goes out", oneOffConfig, func(s *sim) {
			s.observe(0, crit("dep", 0))
			s.observe(4*time.Minute+35*time.Second, asFinal(crit("dep", 0), 4*time.Minute+35*time.Second))
			s.run(5 * time.Hour)
		}, []string{
			"10s ops firing#1 [dep:firing*]",
			"4m40s pager escalation#1 [dep:firing]", // escalation.after 4m30s; the final waits for the 5m10s tick
			"5m10s ops update#2 [dep:firing*]",
		}, false, []bool{false, true, true}},
		{"muted: recorded once and dropped", oneOffConfig, func(s *sim) {
			s.observe(0, ev("dep", "floe.deploy.v1.DeploymentStarted", "quiet", "info", 0))
			s.observe(time.Minute, failed("dep", "quiet", time.Minute))
			s.run(5 * time.Hour) // past the silence's end: nothing is told
		}, []string{
			"10s ops firing#1 [dep:firing*] muted(silence:s)",
			"1m10s ops firing#2 [dep:firing*] muted(silence:s)", // nothing was told as firing
		}, false, []bool{false, true}},
		{"then a redelivery and older events of the key are ignored, a resolution is not told", timingConfig, func(s *sim) {
			s.observe(0, ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0))
			s.observe(0, started("dep", 0))
			s.observe(time.Minute, failed("dep", "prod", time.Minute))
			s.observe(10*time.Minute, failed("dep", "prod", time.Minute))          // redelivered after it was told
			s.observe(11*time.Minute, started("dep", 30*time.Second))              // older
			s.observe(12*time.Minute, resolved(started("dep", 0), 12*time.Minute)) // nothing told fires: not told
			s.run(5 * time.Hour)
		}, []string{
			"30s ops firing#1 [a:firing* dep:firing*]",
			"5m30s ops update#2 [a:firing dep:firing*]",
			"4h5m30s ops repeat#3 [a:firing]",
		}, true, []bool{false, true, false}},
		{"a later firing event before it was told reopens the episode", oneOffConfig, func(s *sim) {
			s.observe(0, started("dep", 0))
			s.observe(2*time.Second, failed("dep", "prod", 2*time.Second))
			s.observe(5*time.Second, ev("dep", "floe.deploy.v1.DeploymentResumed", "prod", "info", 5*time.Second))
			s.run(90 * time.Minute)
		}, []string{"10s ops firing#1 [dep:firing*]", "1h0m10s ops repeat#2 [dep:firing]"}, true, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, roundTrip := range []bool{false, true} {
				s := newSim(t, mustParse(t, tt.cfg))
				s.roundTrip = roundTrip
				tt.do(s)
				s.expect(tt.want...)
				if open := len(s.groups) > 0; open != tt.open {
					t.Errorf("roundTrip=%v: a group left = %v, want %v", roundTrip, open, tt.open)
				}
				for i, n := range s.sent {
					got := slices.ContainsFunc(n.Episodes, func(e EpisodeStatus) bool { return e.Event.Final })
					if i < len(tt.final) && got != tt.final[i] {
						t.Errorf("notification %d: final = %v, want %v", i, got, tt.final[i])
					}
				}
			}
		})
	}
}

// oneOffScenario mixes notices, final events and firing episodes over two
// routes and receivers, with redeliveries.
func oneOffScenario(s *sim) {
	a := ev("a", "floe.monitor.v1.AlertFiring", "both", "critical", 0)
	s.observe(0, a)
	s.observe(5*time.Second, asNotice(ev("rel", "floe.release.v1.ReleaseCreated", "both", "info", 5*time.Second)))
	s.observe(10*time.Second, ev("dep", "floe.deploy.v1.DeploymentStarted", "prod", "info", 10*time.Second))
	c := ev("c", "floe.monitor.v1.AlertFiring", "prod", "warning", 20*time.Second)
	s.observe(20*time.Second, c)
	s.observe(time.Minute, flagChanged(time.Minute, "v2"))
	s.observe(3*time.Minute, asFinal(ev("dep", "floe.deploy.v1.RolledBack", "prod", "critical", 0), 3*time.Minute))
	s.observe(4*time.Minute, flagChanged(time.Minute, "v2")) // redelivered
	s.observe(7*time.Minute, flagChanged(7*time.Minute, "v3"))
	s.observe(8*time.Minute, asFinal(ev("dep", "floe.deploy.v1.RolledBack", "prod", "critical", 0), 3*time.Minute)) // redelivered
	s.observe(2*time.Hour, resolved(a, 2*time.Hour))
	s.observe(2*time.Hour, resolved(c, 2*time.Hour))
	s.observe(3*time.Hour, asNotice(ev("rel", "floe.release.v1.ReleaseCreated", "both", "info", 3*time.Hour)))
	s.run(9 * time.Hour)
}

func TestDeterminismWithOneOffs(t *testing.T) {
	t.Parallel()
	one := newSim(t, mustParse(t, timingConfig))
	oneOffScenario(one)
	two := newSim(t, mustParse(t, timingConfig))
	two.roundTrip = true
	oneOffScenario(two)
	one.expect(
		"30s ops firing#1 [a:firing* rel:notice*]",
		"30s mail firing#1 [a:firing* rel:notice*]",
		"40s ops firing#1 [c:firing* dep:firing*]",
		"5m40s ops update#2 [c:firing dep:firing* flag:notice*]", // dep's final event: then dropped
		"10m40s ops update#3 [c:firing flag:notice*]",
		"2h0m30s ops resolved#2 [a:resolved*]",
		"2h0m30s mail resolved#2 [a:resolved*]",
		"2h0m40s ops resolved#4 [c:resolved*]",
		"3h0m30s ops notice#1 [rel:notice*]", // a new lifetime of the group
		"3h0m30s mail notice#1 [rel:notice*]",
	)
	if diff := cmp.Diff(one.sent, two.sent); diff != "" {
		t.Errorf("replicas differ (-one +two):\n%s", diff)
	}
	if len(one.groups) != 0 {
		t.Errorf("%d groups left", len(one.groups))
	}
	ids := map[string]bool{}
	for _, n := range one.sent {
		if ids[n.ID] {
			t.Errorf("ID %s used twice", n.ID)
		}
		ids[n.ID] = true
	}
}

func TestOneOffsRestoredMidway(t *testing.T) {
	t.Parallel()
	// A replica that takes over from a snapshot, under its own parse of the
	// configuration, with notices and a final event waiting in the state,
	// decides what the first would have.
	first := func(s *sim) {
		s.observe(0, ev("a", "floe.monitor.v1.AlertFiring", "prod", "warning", 0))
		s.observe(10*time.Second, ev("dep", "floe.deploy.v1.DeploymentStarted", "prod", "info", 10*time.Second))
		s.run(time.Minute)
		s.observe(2*time.Minute, flagChanged(2*time.Minute, "v2"))
		s.observe(3*time.Minute, asFinal(ev("dep", "floe.deploy.v1.DeploymentFailed", "prod", "critical", 0), 3*time.Minute))
	}
	second := func(s *sim) {
		s.observe(4*time.Minute, flagChanged(2*time.Minute, "v2")) // redelivered
		s.observe(5*time.Minute, flagChanged(5*time.Minute, "v3"))
		s.run(6 * time.Hour)
	}
	straight := newSim(t, mustParse(t, timingConfig))
	first(straight)
	states := map[string][]byte{}
	for k, g := range straight.groups {
		data, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{`"notices":[`, `"marks":{"dep":`, `"final":true`, `"notice":true`} {
			if !strings.Contains(string(data), field) {
				t.Errorf("state %s lacks %s", data, field)
			}
		}
		states[k] = data
	}
	second(straight)

	cfg := mustParse(t, timingConfig)
	taken := newSim(t, cfg)
	taken.now = t0.Add(3 * time.Minute)
	for k, data := range states {
		g, err := RestoreGroup(cfg, data)
		if err != nil {
			t.Fatal(err)
		}
		taken.groups[k] = g
	}
	second(taken)
	straight.expect(
		"30s ops firing#1 [a:firing* dep:firing*]",
		"5m30s ops update#2 [a:firing dep:firing* flag:notice* flag:notice*]",
		"4h5m30s ops repeat#3 [a:firing]",
	)
	if diff := cmp.Diff(straight.sent[1:], taken.sent); diff != "" {
		t.Errorf("the restored replica differs (-straight +restored):\n%s", diff)
	}
}

// oldState is a group's state as routing serialised it before notices and
// final events: "a" (critical) told as firing at 10:00:30, "b" resolved,
// told at 10:05:30 and in its cooldown until 10:15:30.
const oldState = `{"route":"route","key":"bba37a37f0e9f8dbe5583d19b088001a","labels":{"product":"shop"},` +
	`"generation":"c49676e5eafd264f6adb526e31f2caae","created":"2026-05-04T10:00:00Z","flushed":true,` +
	`"last_sent":"2026-05-04T10:05:30Z","last_eval":"2026-05-04T10:05:30Z","seq":{"ops":2},"episodes":{` +
	`"a":{"event":{"type":"floe.monitor.v1.AlertFiring","environment":"prod","product":"shop","severity":"critical",` +
	`"labels":{"rule":"latency"},"episode":"a","time":"2026-05-04T10:00:00Z"},"first_seen":"2026-05-04T10:00:00Z",` +
	`"version":1,"changed_at":"2026-05-04T10:00:00Z","sent_version":1,"told":true,"first_told_at":"2026-05-04T10:00:30Z"},` +
	`"b":{"event":{"type":"floe.monitor.v1.AlertFiring","environment":"prod","product":"shop","severity":"warning",` +
	`"episode":"b","resolved":true,"time":"2026-05-04T10:01:00Z"},"first_seen":"2026-05-04T10:00:00Z","version":2,` +
	`"changed_at":"2026-05-04T10:01:00Z","sent_version":2,"cooldown_until":"2026-05-04T10:15:30Z"}}}`

func TestOldStateRestores(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: ops, kind: slack}]
route: {receivers: [ops], group_by: [product], group_wait: 30s, group_interval: 5m, repeat_interval: 4h, cooldown: 10m}
`)
	g, err := RestoreGroup(cfg, []byte(oldState))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != oldState {
		t.Errorf("an old state does not round-trip:\n%s\n%s", oldState, data)
	}
	s := newSim(t, cfg)
	s.now = t0.Add(5*time.Minute + 30*time.Second)
	s.groups[g.Key()] = g
	s.observe(6*time.Minute, flagChanged(6*time.Minute, "v2"))
	a := ev("a", "floe.monitor.v1.AlertFiring", "prod", "critical", 0, "rule", "latency")
	s.observe(7*time.Minute, asFinal(a, 7*time.Minute))
	s.run(10 * time.Hour)
	s.expect("10m30s ops update#3 [a:firing* flag:notice*]")
	if len(s.groups) != 0 {
		t.Error("the group is not done after the final event and the cooldown")
	}
}

func TestEventOneOffs(t *testing.T) {
	t.Parallel()
	base := Event{Type: "t", EpisodeKey: "k"}
	tests := []struct {
		name                    string
		notice, final, resolved bool
		field                   string // of the violation; "" for none
	}{
		{"a notice", true, false, false, ""},
		{"a final event", false, true, false, ""},
		{"a resolution", false, false, true, ""},
		{"a notice that resolves", true, false, true, "notice"},
		{"a final resolution", false, true, true, "final"},
		{"a final notice", true, true, false, "final"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := base
			e.Notice, e.Final, e.Resolved = tt.notice, tt.final, tt.resolved
			err := e.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if _, ok := violations(t, err)[tt.field]; !ok {
				t.Errorf("Validate = %v, want a violation of %s", err, tt.field)
			}
		})
	}
	data, err := json.Marshal(Event{Type: "t", EpisodeKey: "k", Notice: true, Final: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"notice":true`) || !strings.Contains(string(data), `"final":true`) {
		t.Errorf("event JSON %s lacks notice or final", data)
	}
	if data, _ := json.Marshal(base); strings.Contains(string(data), "notice") || strings.Contains(string(data), "final") {
		t.Errorf("event JSON %s shows unset notice or final", data)
	}
}
