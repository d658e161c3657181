package routing

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMatcher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string // String() of the result, "" for an error
		matches map[string]string
		misses  map[string]string
	}{
		{in: `severity="critical"`, want: `severity="critical"`, matches: map[string]string{"severity": "critical"}, misses: map[string]string{"severity": "warning"}},
		{in: `product != demo`, want: `product!="demo"`, matches: map[string]string{"product": "shop"}, misses: map[string]string{"product": "demo"}},
		{in: `environment=~"prod"`, want: `environment=~"prod"`, matches: map[string]string{"environment": "prod"}, misses: map[string]string{"environment": "preprod"}},
		{in: `environment=~prod|staging`, want: `environment=~"prod|staging"`, matches: map[string]string{"environment": "staging"}, misses: map[string]string{"environment": "production"}},
		{in: `environment!~"prod.*"`, want: `environment!~"prod.*"`, matches: map[string]string{"environment": "staging"}, misses: map[string]string{"environment": "production"}},
		{in: `type=~"floe\.deploy\.v1\..*"`, want: `type=~"floe\\.deploy\\.v1\\..*"`, matches: map[string]string{"type": "floe.deploy.v1.RolledBack"}, misses: map[string]string{"type": "floeXdeploy.v1.RolledBack"}},
		{in: `team=""`, want: `team=""`, matches: map[string]string{}, misses: map[string]string{"team": "a"}},
		{in: `team!=""`, want: `team!=""`, matches: map[string]string{"team": "a"}, misses: map[string]string{}},
		{in: `msg="say \"hi\""`, want: `msg="say \"hi\""`, matches: map[string]string{"msg": `say "hi"`}},
		{in: `x=~"a|b)"`},
		{in: `=a`},
		{in: `x~a`},
		{in: `x="open`},
		{in: `x="a"b"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			m, err := ParseMatcher(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseMatcher(%q) = %v, want an error", tt.in, m)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMatcher(%q): %v", tt.in, err)
			}
			if got := m.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			if again, err := ParseMatcher(m.String()); err != nil || again.Value != m.Value || again.Type != m.Type {
				t.Errorf("String() does not parse back: %v %v", again, err)
			}
			if tt.matches != nil && !m.Matches(tt.matches) {
				t.Errorf("does not match %v", tt.matches)
			}
			if tt.misses != nil && m.Matches(tt.misses) {
				t.Errorf("matches %v", tt.misses)
			}
		})
	}
}

const matchConfig = `
receivers:
  - {name: default, kind: slack}
  - {name: prod, kind: slack}
  - {name: oncall, kind: sms}
  - {name: db, kind: email}
  - {name: releases, kind: email}
  - {name: audit, kind: webhook}
route:
  receivers: [default]
  routes:
    - name: audit
      matchers: ['type=~"floe\.(release|deploy)\.v1\..*"']
      receivers: [audit]
      continue: true
    - name: prod
      matchers: [environment="production"]
      receivers: [prod]
      routes:
        - name: prod-critical
          matchers: [severity="critical"]
          receivers: [oncall]
          continue: true
        - name: prod-db
          matchers: ['service=~"postgres|mysql"']
          receivers: [db]
    - name: releases
      matchers: ['type=~"floe\.release\.v1\..*"']
      receivers: [releases]
    - name: staging-env
      matchers: [environment=~"stag"]
`

func TestMatch(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, matchConfig)
	tests := []struct {
		name string
		ev   Event
		want []string // route IDs
		recv [][]string
	}{
		{"no child matches: the root", Event{Type: "floe.monitor.v1.AlertFiring", Environment: "dev"}, []string{"route"}, [][]string{{"default"}}},
		{"nested: the deepest match wins over its parent", Event{Type: "floe.monitor.v1.AlertFiring", Environment: "production", Labels: map[string]string{"service": "postgres"}}, []string{"prod-db"}, nil},
		{"nested without child match: the parent", Event{Type: "floe.monitor.v1.AlertFiring", Environment: "production"}, []string{"prod"}, nil},
		{"continue in a nested route", Event{Type: "floe.monitor.v1.AlertFiring", Environment: "production", Severity: "critical", Labels: map[string]string{"service": "mysql"}}, []string{"prod-critical", "prod-db"}, [][]string{{"oncall"}, {"db"}}},
		{"continue at the top, then stop at the first match", Event{Type: "floe.release.v1.ReleaseCreated", Environment: "production"}, []string{"audit", "prod"}, nil},
		{"continue, then a later sibling", Event{Type: "floe.release.v1.ReleaseCreated", Environment: "dev"}, []string{"audit", "releases"}, nil},
		{"regex anchored: stag does not match staging", Event{Type: "floe.flag.v1.FlagChanged", Environment: "staging"}, []string{"route"}, nil},
		{"regex anchored: prefix of the type", Event{Type: "xfloe.release.v1.ReleaseCreated", Environment: "dev"}, []string{"route"}, nil},
		{"inherited receivers", Event{Type: "floe.flag.v1.FlagChanged", Environment: "stag"}, []string{"staging-env"}, [][]string{{"default"}}},
		{"label cannot override a field", Event{Type: "floe.flag.v1.FlagChanged", Environment: "dev", Labels: map[string]string{"environment": "production"}}, []string{"route"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			var recv [][]string
			for _, r := range Match(cfg, tt.ev) {
				got = append(got, r.ID())
				recv = append(recv, r.Receivers)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			if tt.recv != nil {
				if diff := cmp.Diff(tt.recv, recv); diff != "" {
					t.Errorf("receivers (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestGroupKey(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: a, kind: slack}]
route:
  receivers: [a]
  routes:
    - {name: by-product, matchers: [environment="production"], group_by: [product, team]}
    - {name: all, matchers: [environment="staging"], group_by: ["..."]}
`)
	byEpisode := cfg.Route
	byProduct, _ := cfg.RouteByID("by-product")
	all, _ := cfg.RouteByID("all")
	a := Event{Type: "t", Environment: "production", Product: "shop", EpisodeKey: "d1", Labels: map[string]string{"team": "x", "pod": "1"}}
	b := Event{Type: "t2", Environment: "production", Product: "shop", EpisodeKey: "d2", Labels: map[string]string{"team": "x", "pod": "2"}}
	c := Event{Type: "t", Environment: "production", Product: "shop", EpisodeKey: "d1", Labels: map[string]string{"team": "y"}}

	if GroupKey(byProduct, a) != GroupKey(byProduct, b) {
		t.Error("same product and team: different groups")
	}
	if GroupKey(byProduct, a) == GroupKey(byProduct, c) {
		t.Error("different team: same group")
	}
	if GroupKey(byEpisode, a) == GroupKey(byEpisode, b) || GroupKey(byEpisode, a) != GroupKey(byEpisode, c) {
		t.Error("the default groups by episode")
	}
	if GroupKey(byEpisode, a) == GroupKey(byProduct, a) {
		t.Error("different routes share a group key")
	}
	if GroupKey(all, a) == GroupKey(all, c) {
		t.Error(`"..." ignores a label`)
	}
	// Stable: a fixed value, so a change of the hash is noticed (it would
	// re-key every group and re-send every notification).
	if got, want := GroupKey(byProduct, a), GroupKey(byProduct, Event{Type: "other", Environment: "production", Product: "shop", EpisodeKey: "zz", Labels: map[string]string{"team": "x"}}); got != want {
		t.Errorf("group key depends on labels outside group_by: %s vs %s", got, want)
	}
	if diff := cmp.Diff(map[string]string{"product": "shop", "team": "x"}, GroupLabels(byProduct, a)); diff != "" {
		t.Errorf("GroupLabels (-want +got):\n%s", diff)
	}
}

func TestDigestStable(t *testing.T) {
	t.Parallel()
	// Length-prefixed: moving a boundary between parts changes the hash.
	if digest("ab", "c") == digest("a", "bc") {
		t.Error("digest collides on shifted boundaries")
	}
	if got := NotificationID("r", "k", "g", "slack", 1); got != NotificationID("r", "k", "g", "slack", 1) || len(got) != 32 {
		t.Errorf("NotificationID = %q", got)
	}
	if NotificationID("r", "k", "g", "slack", 1) == NotificationID("r", "k", "g", "slack", 2) {
		t.Error("sequence number ignored")
	}
}
