package episode_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/eventstore"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// sequenceRouting groups by episode (the default) with the default timings,
// and escalates critical episodes nobody acknowledged in 15m.
const sequenceRouting = `
receivers:
  - name: ops
    kind: webhook
    settings: {url: "https://ops.example.com/hook", signing_secret: "secret://notifier/ops"}
  - name: pager
    kind: webhook
    settings: {url: "https://pager.example.com/hook", signing_secret: "secret://notifier/pager"}
route:
  receivers: [ops]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  escalation: {after: 15m, receivers: [pager]}
`

// at is an event recorded at t0+offset.
type at struct {
	offset time.Duration
	ev     *eventstore.RecordedEvent
}

// tell runs events through the mapper and routing as the notifier does, on
// a fake clock from t0 to t0+until: each event is mapped and observed by
// the groups of its routes when it happens, and each group is asked what
// is due at its Next. It returns one line per notification ("offset
// receiver reason Type=status …", a final episode's status followed by
// "(final)") and whether every group is Done at the end.
func tell(t *testing.T, until time.Duration, events ...at) (told []string, done bool) {
	t.Helper()
	return tellWith(t, sequenceRouting, until, events...)
}

// tellWith is tell under another routing configuration.
func tellWith(t *testing.T, routingYAML string, until time.Duration, events ...at) (told []string, done bool) {
	t.Helper()
	cfg, err := routing.Parse([]byte(routingYAML))
	if err != nil {
		t.Fatal(err)
	}
	st := episode.NewScopeTable()
	m := episode.Mapper{Scopes: st}
	groups := map[string]*routing.Group{}
	end := t0.Add(until)
	now := t0
	for steps := 0; ; steps++ {
		if steps > 10000 {
			t.Fatalf("the clock does not advance: at %v", now.Sub(t0))
		}
		// The next moment: a group due (first, on a tie), or the next event.
		next, event := time.Time{}, len(events) > 0
		if event {
			next = t0.Add(events[0].offset)
		}
		for _, g := range groups {
			if n := g.Next(); !n.IsZero() && (next.IsZero() || !n.After(next)) {
				next, event = n, false
			}
		}
		if next.IsZero() || next.After(end) {
			break
		}
		if next.After(now) {
			now = next
		}
		if !event {
			for _, k := range slices.Sorted(maps.Keys(groups)) {
				if n := groups[k].Next(); n.IsZero() || n.After(now) {
					continue
				}
				for _, n := range groups[k].Due(now) {
					told = append(told, line(n))
				}
			}
			continue
		}
		ev := events[0].ev
		events = events[1:]
		ev.Time = now
		if err := st.Observe(ev); err != nil {
			t.Fatal(err)
		}
		e, ok, err := m.Map(ev)
		if err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
		if !ok {
			continue
		}
		for _, r := range routing.Match(cfg, e) {
			key := routing.GroupKey(r, e)
			if groups[key] == nil {
				groups[key] = routing.NewGroup(cfg, r, e)
			}
			if err := groups[key].Observe(now, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	done = true
	for _, g := range groups {
		done = done && g.Done(end) && g.Next().IsZero()
	}
	return told, done
}

// line is a notification in a few words.
func line(n routing.Notification) string {
	parts := []string{n.At.Sub(t0).String(), n.Receiver, string(n.Reason)}
	for _, es := range n.Episodes {
		s := es.Event.Type[strings.LastIndex(es.Event.Type, ".")+1:] + "=" + es.Status
		if es.Event.Final {
			s += "(final)"
		}
		parts = append(parts, s)
	}
	if n.Muted {
		parts = append(parts, "muted")
	}
	return strings.Join(parts, " ")
}

// TestSequences runs real sequences of events through the mapping and
// routing: an episode fires until it is resolved, or until a final event
// ends it, told once; a notice is told once; either way the group is Done
// and nothing is repeated or escalated afterwards.
func TestSequences(t *testing.T) {
	t.Parallel()
	started := func() *eventstore.RecordedEvent {
		return record(t, dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production", Product: "payments", Attempt: 1})
	}
	tests := []struct {
		name   string
		events []at
		want   []string
	}{
		{
			name: "a production rollout rolls back: firing, the rollback, then its end, told once",
			events: []at{
				{0, started()},
				{time.Minute, record(t, dep, &deployv1.RollbackStarted{Reason: "error_rate above 0.1", Trigger: "monitor"})},
				{7 * time.Minute, record(t, dep, &deployv1.RolledBack{
					DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production", RestoredVersion: "1.1.0", Reason: "error_rate above 0.1",
				})},
			},
			want: []string{
				"30s ops firing DeploymentStarted=firing",
				"5m30s ops update RollbackStarted=firing",
				// The final event within group_interval: told at the next tick, and
				// the critical rollback is not escalated (15m after 5m30s).
				"10m30s ops update RolledBack=firing(final)",
			},
		},
		{
			name: "a rollback ends within group_wait: the final event alone is told",
			events: []at{
				{0, started()},
				{10 * time.Second, record(t, dep, &deployv1.RollbackStarted{Reason: "health check failed", Trigger: "check"})},
				{20 * time.Second, record(t, dep, &deployv1.RolledBack{DeploymentId: dep, Environment: "production", Reason: "health check failed"})},
			},
			want: []string{"30s ops firing RolledBack=firing(final)"},
		},
		{
			name:   "a deployment refused at its start: its only event is final",
			events: []at{{0, record(t, dep, &deployv1.DeploymentFailed{DeploymentId: dep, Environment: "production", Reason: "another deployment runs"})}},
			want:   []string{"30s ops firing DeploymentFailed=firing(final)"},
		},
		{
			name: "a deployment succeeds: firing, then resolved",
			events: []at{
				{0, started()},
				{10 * time.Minute, record(t, dep, &deployv1.DeploymentSucceeded{DeploymentId: dep, Environment: "production"})},
			},
			want: []string{"30s ops firing DeploymentStarted=firing", "10m30s ops resolved DeploymentSucceeded=resolved"},
		},
		{
			name:   "a flag changed in production: a notice, told once",
			events: []at{{0, record(t, "production", &flagv1.FlagUpdated{Flag: &flagv1.Flag{Key: "dark-mode"}, Reason: "new variant"})}},
			want:   []string{"30s ops notice FlagUpdated=notice"},
		},
		{
			name: "a kill and the flag enabled again: two notices of one flag",
			events: []at{
				{0, record(t, "production", &flagv1.FlagKilled{Key: "dark-mode", Reason: "card errors"})},
				{2 * time.Hour, record(t, "production", &flagv1.FlagStateSet{Key: "dark-mode", State: flagv1.FlagState_FLAG_STATE_ENABLED, Reason: "fixed"})},
			},
			want: []string{"30s ops notice FlagKilled=notice", "2h0m30s ops notice FlagStateSet=notice"},
		},
		{
			name: "a release's approvals, told as they come; a rejection ends them",
			events: []at{
				{0, record(t, rel, &releasev1.ReleaseCreated{ReleaseId: rel, Product: "payments", Version: "1.2.0", TargetEnvironments: []string{"production"}})},
				{time.Minute, record(t, rel, &releasev1.ApprovalGranted{Environment: "production", Approver: "carol"})},
				{20 * time.Minute, record(t, rel, &releasev1.ApprovalGranted{Environment: "staging", Approver: "carol"})},
				{21 * time.Minute, record(t, rel, &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1})},
				{time.Hour, record(t, rel, &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "erin", Reason: "no rollback plan"})},
			},
			want: []string{
				"30s ops notice ReleaseCreated=notice",
				"1m30s ops notice ApprovalGranted=notice",
				"20m30s ops notice ApprovalGranted=notice",
				// Told, the notice left its group Done: the next one starts a new
				// lifetime, told group_wait later rather than group_interval.
				"21m30s ops notice ReleaseApproved=notice",
				"1h0m30s ops firing ReleaseRejected=firing(final)",
			},
		},
		{
			name: "an alert, by contrast, is repeated and escalated until it resolves",
			events: []at{
				{0, record(t, "high_error_rate", &monitorv1.AlertFiring{Change: alertChange(monitorv1.AlertState_ALERT_STATE_FIRING, true)})},
				{5 * time.Hour, record(t, "high_error_rate", &monitorv1.AlertResolved{Change: func() *monitorv1.AlertChange {
					c := alertChange(monitorv1.AlertState_ALERT_STATE_RESOLVED, true)
					c.At = timestamppb.New(t0.Add(5 * time.Hour))
					return c
				}()})},
			},
			want: []string{
				"30s ops firing AlertFiring=firing",
				"15m30s pager escalation AlertFiring=firing",
				"4h0m30s ops repeat AlertFiring=firing",
				"5h0m30s ops resolved AlertResolved=resolved",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			told, done := tell(t, 24*time.Hour, tt.events...)
			if diff := cmp.Diff(tt.want, told); diff != "" {
				t.Errorf("told (-want +got):\n%s", diff)
			}
			if !done {
				t.Errorf("a group is not Done a day later; told %q", told)
			}
		})
	}
}

// A stakeholders' digest is a route: the release notes of what reached
// production, grouped by environment, told in one message 24 hours after
// the first release it holds (group_wait 24h); a release after that starts
// the next digest (its own 24 hours), so nothing is told twice or lost.
func TestDigestOfReleases(t *testing.T) {
	const digest = `
receivers:
  - name: ops
    kind: webhook
    settings: {url: "https://ops.example.com/hook", signing_secret: "secret://notifier/ops"}
  - name: stakeholders
    kind: webhook
    settings: {url: "https://stakeholders.example.com/hook", signing_secret: "secret://notifier/stakeholders"}
route:
  receivers: [ops]
  routes:
    - name: digest
      matchers: ['type="floe.release.v1.ReleaseDeployed"']
      receivers: [stakeholders]
      group_by: [environment]
      group_wait: 24h
      group_interval: 24h
`
	deployed := func(id, version string) *eventstore.RecordedEvent {
		return record(t, id, &releasev1.ReleaseDeployed{Environment: "production", DeploymentId: id + "-production-1",
			Product: "penguinmails", Version: version, Title: "release " + version, Notes: "## " + version + "\n- a change"})
	}
	told, done := tellWith(t, digest, 72*time.Hour,
		at{0, deployed("r1", "1.1.0")}, at{2 * time.Hour, deployed("r2", "1.2.0")}, at{5 * time.Hour, deployed("r3", "1.2.1")},
		at{30 * time.Hour, deployed("r4", "1.3.0")})
	want := []string{
		"24h0m0s stakeholders notice ReleaseDeployed=notice ReleaseDeployed=notice ReleaseDeployed=notice",
		"54h0m0s stakeholders notice ReleaseDeployed=notice",
	}
	if diff := cmp.Diff(want, told); diff != "" {
		t.Errorf("digests (-want +got):\n%s", diff)
	}
	if !done {
		t.Error("the digest group is not done after the last digest")
	}
}
