package episode_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/eventstore"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

func TestLearn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		ev        *eventstore.RecordedEvent
		aggregate string
		id        string
		want      episode.Scope
		ok        bool
	}{
		{
			name: "release created", ev: record(t, rel, &releasev1.ReleaseCreated{ReleaseId: rel, Product: "payments", Version: "1.2.0"}),
			aggregate: "release", id: rel, want: episode.Scope{Product: "payments", ReleaseID: rel, Version: "1.2.0"}, ok: true,
		},
		{
			name: "promotion requested", ev: record(t, rel, &releasev1.PromotionRequested{ReleaseId: rel, Product: "payments", Version: "1.2.0", Environment: "production"}),
			aggregate: "release", id: rel, want: episode.Scope{Product: "payments", ReleaseID: rel, Version: "1.2.0"}, ok: true,
		},
		{
			name: "deployment started", ev: record(t, dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production", Product: "payments"}),
			aggregate: "deployment", id: dep, want: episode.Scope{Product: "payments", ReleaseID: rel, Version: "1.2.0", Environment: "production"}, ok: true,
		},
		{
			name: "gates opened", ev: record(t, run, &gatev1.GatesOpened{ReleaseId: rel, Product: "payments", Version: "1.2.0", Environment: "staging"}),
			aggregate: "gaterun", id: run, want: episode.Scope{Product: "payments", ReleaseID: rel, Version: "1.2.0", Environment: "staging"}, ok: true,
		},
		{name: "any other event", ev: record(t, dep, &deployv1.DeploymentPaused{Index: 1})},
		{name: "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			agg, id, s, ok, err := episode.Learn(tt.ev)
			if err != nil || ok != tt.ok || agg != tt.aggregate || id != tt.id {
				t.Fatalf("Learn = %q, %q, %v, %v; want %q, %q, %v", agg, id, ok, err, tt.aggregate, tt.id, tt.ok)
			}
			if diff := cmp.Diff(tt.want, s); diff != "" {
				t.Errorf("scope (-want +got):\n%s", diff)
			}
		})
	}
	bad := &eventstore.RecordedEvent{Type: "floe.deploy.v1.DeploymentStarted", Data: []byte(`{"attempt": "many"}`)}
	if _, _, _, ok, err := episode.Learn(bad); ok || err == nil {
		t.Errorf("Learn of a bad body = %v, %v; want an error", ok, err)
	}
}

func TestScopeTable(t *testing.T) {
	t.Parallel()
	var st episode.ScopeTable // the zero value is ready
	// An old DeploymentStarted without a product takes its release's.
	for _, ev := range []*eventstore.RecordedEvent{
		record(t, rel, &releasev1.ReleaseCreated{ReleaseId: rel, Product: "payments", Version: "1.2.0"}),
		record(t, dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Environment: "production"}),
		record(t, dep, &deployv1.DeploymentPaused{Index: 1}),
	} {
		if err := st.Observe(ev); err != nil {
			t.Fatal(err)
		}
	}
	got, ok := st.Scope("deployment", dep)
	want := episode.Scope{Product: "payments", ReleaseID: rel, Version: "1.2.0", Environment: "production"}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("Scope(deployment) ok=%v (-want +got):\n%s", ok, diff)
	}
	if _, ok := st.Scope("deployment", "unknown"); ok {
		t.Error("Scope of an unknown deployment: found")
	}
	if st.Len() != 2 {
		t.Errorf("Len = %d, want 2", st.Len())
	}
}

func TestScopeTableConcurrent(t *testing.T) {
	t.Parallel()
	st := episode.NewScopeTable()
	ev := record(t, dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Environment: "production"})
	paused := record(t, dep, &deployv1.DeploymentPaused{Index: 1})
	m := episode.Mapper{Scopes: st}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_ = st.Observe(ev)
				_, _, _ = m.Map(paused)
			}
		})
	}
	wg.Wait()
}

// TestScopesKeepAnEpisodeOnItsRoute runs a production rollout and its
// rollback through routing: with scopes, every event of the deployment
// reaches the production route and its one group, and the notification
// tells the episode's latest state (its end: RolledBack is final);
// without them, the events that do not name their environment fall to the
// root route.
func TestScopesKeepAnEpisodeOnItsRoute(t *testing.T) {
	t.Parallel()
	cfg, err := routing.Parse([]byte(`
receivers:
  - name: ops
    kind: webhook
    settings: {url: "https://ops.example.com/hook", signing_secret: "secret://notifier/ops"}
  - name: oncall
    kind: webhook
    settings: {url: "https://oncall.example.com/hook", signing_secret: "secret://notifier/oncall"}
route:
  receivers: [ops]
  routes:
    - name: production
      matchers: ['environment=~"production|dr"']
      receivers: [oncall]
`))
	if err != nil {
		t.Fatal(err)
	}
	events := []*eventstore.RecordedEvent{
		record(t, dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production", Product: "payments", Attempt: 1}),
		record(t, dep, &deployv1.DeploymentPaused{Index: 2, Reason: "manual pause step"}),
		record(t, dep, &deployv1.RollbackStarted{Reason: "error_rate above 0.1", Trigger: "monitor"}),
		record(t, dep, &deployv1.RolledBack{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production", RestoredVersion: "1.1.0", Reason: "error_rate above 0.1"}),
	}
	for i, ev := range events {
		ev.Time = t0.Add(time.Duration(i) * time.Second)
	}

	routeOf := func(m episode.Mapper) (routes []string, groups map[string]*routing.Group) {
		groups = map[string]*routing.Group{}
		st := episode.NewScopeTable()
		for i, ev := range events {
			if err := st.Observe(ev); err != nil {
				t.Fatal(err)
			}
			if m.Scopes != nil {
				m.Scopes = st
			}
			e, ok, err := m.Map(ev)
			if err != nil || !ok {
				t.Fatalf("%s: %v, %v", ev.Type, ok, err)
			}
			for _, r := range routing.Match(cfg, e) {
				routes = append(routes, r.ID())
				key := routing.GroupKey(r, e)
				if groups[key] == nil {
					groups[key] = routing.NewGroup(cfg, r, e)
				}
				if err := groups[key].Observe(t0.Add(time.Duration(i)*time.Second), e); err != nil {
					t.Fatal(err)
				}
			}
		}
		return routes, groups
	}

	routes, groups := routeOf(episode.Mapper{Scopes: episode.NewScopeTable()})
	if diff := cmp.Diff([]string{"production", "production", "production", "production"}, routes); diff != "" {
		t.Errorf("routes with scopes (-want +got):\n%s", diff)
	}
	if len(groups) != 1 {
		t.Fatalf("%d groups, want the deployment's one", len(groups))
	}
	for _, g := range groups {
		ns := g.Due(t0.Add(time.Minute))
		if len(ns) != 1 || ns[0].Receiver != "oncall" || len(ns[0].Episodes) != 1 {
			t.Fatalf("Due = %+v; want one notification to oncall of one episode", ns)
		}
		ep := ns[0].Episodes[0]
		if ep.Key != "deployment/"+dep || ep.Status != routing.StatusFiring || !ep.Event.Final || ep.Event.Severity != routing.SeverityCritical ||
			ep.Event.Annotations["summary"] != "payments 1.2.0 rolled back in production to 1.1.0: error_rate above 0.1" {
			t.Errorf("episode told = %+v; want the critical rollback, final", ep)
		}
	}

	routes, _ = routeOf(episode.Mapper{})
	if diff := cmp.Diff([]string{"production", "route", "route", "production"}, routes); diff != "" {
		t.Errorf("routes without scopes (-want +got):\n%s", diff)
	}
}
