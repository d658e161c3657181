package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	window := &releasev1.Schedule{WindowStart: timestamppb.New(t0.Add(48 * time.Hour)), WindowEnd: timestamppb.New(t0.Add(50 * time.Hour))}
	cmd := domain.CreateCommand{
		ReleaseID: relID, RequestKey: "rq-k1", Product: product, Version: "2.2.0", Type: minor,
		Title: "  Faster sends  ", Description: "Batch the SMTP handshake.",
		Changes: []*releasev1.Change{
			{Id: "ignored", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: " Batch sends ", Link: "https://git/pr/1", Author: "alice"},
			{Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Retry on 421"},
		},
		Schedule: window, Approvers: []string{"rita"}, RollbackPlan: "redeploy 2.1.4", TestingPlan: "soak in staging",
	}
	res, rel, err := domain.Create(cmd, productFrom(t, reserved("2.1.4"), runs("production", "2.1.4")), envs)
	mustOK(t, err)
	diffEvents(t, msgs(
		&releasev1.VersionReserved{Version: "2.2.0", ReleaseId: relID, Type: minor, RequestKey: "rq-k1"},
		&releasev1.ReleaseCreated{
			ReleaseId: relID, Product: product, Version: "2.2.0", Type: minor,
			Title: "Faster sends", Description: "Batch the SMTP handshake.",
			Changes: []*releasev1.Change{
				{Id: "c1", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "Batch sends", Link: "https://git/pr/1", Author: "alice"},
				{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Retry on 421"},
			},
			TargetEnvironments: []string{"development", "staging", "production"},
			Schedule:           window, Approvers: []string{"rita"}, RollbackPlan: "redeploy 2.1.4", TestingPlan: "soak in staging",
		},
	), msgs(res, rel))
}

func TestCreateTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		typ     releasev1.ReleaseType
		targets []string
		want    []string // accepted targets, in promotion order
		field   string   // else the violated field …
		facts   []string // … and what its description says
	}{
		{name: "default targets", typ: minor, want: []string{"development", "staging", "production"}},
		{name: "sorted into promotion order", typ: minor, targets: []string{"production", "development", "staging"}, want: []string{"development", "staging", "production"}},
		{name: "with qa and dr", typ: minor, targets: []string{"dr", "qa", "production", "staging", "development"}, want: []string{"development", "qa", "staging", "production", "dr"}},
		{name: "an environment without predecessors alone", typ: minor, targets: []string{"local"}, want: []string{"local"}},
		{name: "development alone", typ: minor, targets: []string{"development"}, want: []string{"development"}},
		{name: "hotfix straight to production", typ: hotfix, targets: []string{"production"}, want: []string{"production"}},
		{name: "hotfix through development skipping staging", typ: hotfix, targets: []string{"production", "development"}, want: []string{"development", "production"}},
		{name: "hotfix through staging", typ: hotfix, targets: []string{"development", "staging", "production"}, want: []string{"development", "staging", "production"}},
		{
			name: "production alone", typ: minor, targets: []string{"production"},
			field: "target_environments[0]", facts: []string{"production comes after staging, which is not a target"},
		},
		{
			name: "staging without development", typ: minor, targets: []string{"staging", "production"},
			field: "target_environments[0]", facts: []string{"staging comes after development, which is not a target"},
		},
		{
			name: "hotfix may skip staging but not development", typ: hotfix, targets: []string{"staging", "production"},
			field: "target_environments[0]", facts: []string{"staging comes after development, which is not a target"},
		},
		{
			name: "hotfix may not skip production for dr", typ: hotfix, targets: []string{"dr"},
			field: "target_environments[0]", facts: []string{"dr comes after production, which is not a target"},
		},
		{
			name: "unknown environment", typ: minor, targets: []string{"development", "moon"},
			field: "target_environments[1]", facts: []string{`unknown environment "moon"`, "known: local, development, qa, staging, production, dr"},
		},
		{
			name: "duplicate target", typ: minor, targets: []string{"development", "staging", "development"},
			field: "target_environments[2]", facts: []string{`"development" is listed twice`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := createCmd("2.1.5", tt.typ)
			if tt.typ == minor {
				cmd.Version = "2.2.0"
			}
			cmd.Targets = tt.targets
			p := productFrom(t, reserved("2.1.4"), runs("production", "2.1.4"))
			_, rel, err := domain.Create(cmd, p, envs)
			if tt.field != "" {
				if fields := violationFields(t, err); len(fields) != 1 {
					t.Errorf("violated fields = %q, want only %s", fields, tt.field)
				}
				wantViolation(t, err, tt.field, tt.facts...)
				return
			}
			mustOK(t, err)
			if diff := cmp.Diff(tt.want, rel.GetTargetEnvironments()); diff != "" {
				t.Errorf("targets mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateDoesNotAliasDefaultTargets(t *testing.T) {
	t.Parallel()
	_, rel, err := domain.Create(createCmd("1.0.0", major), productFrom(t), envs)
	mustOK(t, err)
	rel.TargetEnvironments[0] = "mutated"
	if domain.DefaultTargets[0] != "development" {
		t.Fatalf("DefaultTargets changed through a created event: %q", domain.DefaultTargets)
	}
}

func TestCreateFieldRules(t *testing.T) {
	t.Parallel()
	change := func(k releasev1.ChangeKind, summary string) []*releasev1.Change {
		return []*releasev1.Change{{Kind: k, Summary: summary}}
	}
	feature := releasev1.ChangeKind_CHANGE_KIND_FEATURE
	tests := []struct {
		name  string
		edit  func(*domain.CreateCommand)
		field string
		facts []string
	}{
		{name: "empty title", edit: func(c *domain.CreateCommand) { c.Title = "" }, field: "title", facts: []string{"must not be empty"}},
		{name: "blank title", edit: func(c *domain.CreateCommand) { c.Title = " \t " }, field: "title", facts: []string{"must not be empty"}},
		{
			name: "oversize title", edit: func(c *domain.CreateCommand) { c.Title = strings.Repeat("t", domain.MaxTitle+1) },
			field: "title", facts: []string{"is 201 bytes; the limit is 200"},
		},
		{name: "invalid UTF-8 title", edit: func(c *domain.CreateCommand) { c.Title = "bad \xff" }, field: "title", facts: []string{"not valid UTF-8"}},
		{
			name: "oversize description", edit: func(c *domain.CreateCommand) { c.Description = strings.Repeat("d", domain.MaxDescription+1) },
			field: "description", facts: []string{"is 10001 bytes; the limit is 10000"},
		},
		{
			name: "oversize rollback plan", edit: func(c *domain.CreateCommand) { c.RollbackPlan = strings.Repeat("r", domain.MaxPlan+1) },
			field: "rollback_plan", facts: []string{"the limit is 10000"},
		},
		{
			name: "oversize testing plan", edit: func(c *domain.CreateCommand) { c.TestingPlan = strings.Repeat("r", domain.MaxPlan+1) },
			field: "testing_plan", facts: []string{"the limit is 10000"},
		},
		{
			name: "unspecified change kind", edit: func(c *domain.CreateCommand) { c.Changes = change(0, "x") },
			field: "changes[0].kind", facts: []string{"must be one of feature, bug_fix, improvement, security, migration, breaking"},
		},
		{
			name: "unknown change kind", edit: func(c *domain.CreateCommand) { c.Changes = change(99, "x") },
			field: "changes[0].kind", facts: []string{"must be one of"},
		},
		{name: "empty change summary", edit: func(c *domain.CreateCommand) { c.Changes = change(feature, "  ") }, field: "changes[0].summary", facts: []string{"must not be empty"}},
		{
			name: "oversize change summary", edit: func(c *domain.CreateCommand) { c.Changes = change(feature, strings.Repeat("s", domain.MaxSummary+1)) },
			field: "changes[0].summary", facts: []string{"the limit is 500"},
		},
		{
			name: "oversize change link", edit: func(c *domain.CreateCommand) {
				c.Changes = []*releasev1.Change{{Kind: feature, Summary: "x", Link: strings.Repeat("l", domain.MaxLink+1)}}
			},
			field: "changes[0].link", facts: []string{"the limit is 2000"},
		},
		{name: "nil change", edit: func(c *domain.CreateCommand) { c.Changes = []*releasev1.Change{nil} }, field: "changes[0]", facts: []string{"is empty"}},
		{
			name: "too many changes", edit: func(c *domain.CreateCommand) { c.Changes = make([]*releasev1.Change, domain.MaxChanges+1) },
			field: "changes", facts: []string{"501 changes; the limit is 500"},
		},
		{name: "bad product", edit: func(c *domain.CreateCommand) { c.Product = "Floe App" }, field: "product",
			facts: []string{`"Floe App" is not a valid product name: 1-32 lower case ASCII letters, digits or '-' (^[a-z0-9-]{1,32}$)`}},
		{name: "no product", edit: func(c *domain.CreateCommand) { c.Product = "" }, field: "product", facts: []string{"is required"}},
		{name: "product in upper case (an identifier, but not a product name)", edit: func(c *domain.CreateCommand) { c.Product = "Shop" }, field: "product", facts: []string{"not a valid product name"}},
		{name: "product with an underscore", edit: func(c *domain.CreateCommand) { c.Product = "my_shop" }, field: "product", facts: []string{"not a valid product name"}},
		{name: "product of 33 characters", edit: func(c *domain.CreateCommand) { c.Product = strings.Repeat("p", 33) }, field: "product", facts: []string{"not a valid product name"}},
		{name: "product with a NATS wildcard", edit: func(c *domain.CreateCommand) { c.Product = "*" }, field: "product", facts: []string{`"*" is not a valid product name`}},
		{name: "unspecified type", edit: func(c *domain.CreateCommand) { c.Type = 0 }, field: "type", facts: []string{"must be one of major, minor, patch, hotfix"}},
		{name: "unknown type", edit: func(c *domain.CreateCommand) { c.Type = 42 }, field: "type", facts: []string{"must be one of"}},
		{
			name: "window ends before it starts", edit: func(c *domain.CreateCommand) {
				c.Schedule = &releasev1.Schedule{WindowStart: timestamppb.New(t0), WindowEnd: timestamppb.New(t0.Add(-time.Hour))}
			},
			field: "schedule.window_end", facts: []string{"is before window_start"},
		},
		{
			name: "too many approvers", edit: func(c *domain.CreateCommand) { c.Approvers = make([]string, domain.MaxListItems+1) },
			field: "approvers", facts: []string{"at most 50"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := createCmd("2.2.0", minor)
			tt.edit(&cmd)
			_, _, err := domain.Create(cmd, productFrom(t, reserved("2.1.4")), envs)
			if fields := violationFields(t, err); len(fields) != 1 {
				t.Errorf("violated fields = %q, want only %s", fields, tt.field)
			}
			wantViolation(t, err, tt.field, tt.facts...)
		})
	}
}

func TestCreateReportsEveryViolationAtOnce(t *testing.T) {
	t.Parallel()
	cmd := domain.CreateCommand{
		ReleaseID: relID, Product: "Floe", Version: "2.3.0", Type: minor,
		Title:       "",
		Description: strings.Repeat("d", domain.MaxDescription+1),
		Changes: []*releasev1.Change{
			{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "ok"},
			{Kind: 0, Summary: ""},
		},
		Targets:  []string{"production", "moon"},
		Schedule: &releasev1.Schedule{WindowStart: timestamppb.New(t0), WindowEnd: timestamppb.New(t0.Add(-time.Minute))},
	}
	_, _, err := domain.Create(cmd, productFrom(t, reserved("2.1.4")), envs)
	want := []string{
		"product", "title", "description", "changes[1].kind", "changes[1].summary",
		"target_environments[0]", "target_environments[1]", "schedule.window_end", "version",
	}
	if diff := cmp.Diff(want, violationFields(t, err)); diff != "" {
		t.Errorf("violated fields mismatch (-want +got):\n%s", diff)
	}
	wantViolation(t, err, "version", "a minor release after 2.1.4 is 2.2.0, not 2.3.0")
	wantViolation(t, err, "target_environments[0]", "production comes after staging")
	wantViolation(t, err, "target_environments[1]", `unknown environment "moon"`)
}

// CheckCreate is what the API answers for a product that cannot be loaded:
// every problem that does not need the product's history, at once.
func TestCheckCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*domain.CreateCommand)
		want []string // violated fields; nil: valid
	}{
		{name: "valid", edit: func(*domain.CreateCommand) {}},
		{name: "product only", edit: func(c *domain.CreateCommand) { c.Product = "a b" }, want: []string{"product"}},
		{name: "no product, no title, unknown target", edit: func(c *domain.CreateCommand) {
			c.Product, c.Title, c.Targets = "", "", []string{"moon"}
		}, want: []string{"product", "title", "target_environments[0]"}},
		{name: "a version not greater than an earlier one is not judged: no history", edit: func(c *domain.CreateCommand) {
			c.Product, c.Version = "*", "0.0.1"
		}, want: []string{"product"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := createCmd("2.2.0", minor)
			tt.edit(&cmd)
			err := domain.CheckCreate(cmd, envs)
			if tt.want == nil {
				mustOK(t, err)
				return
			}
			if diff := cmp.Diff(tt.want, violationFields(t, err)); diff != "" {
				t.Errorf("violated fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateJudgesTheVersionOnlyWithAValidType(t *testing.T) {
	t.Parallel()
	// A valid type is needed before the version is judged against history:
	// an unknown type reports the type only, not a confusing version problem.
	cmd := createCmd("2.3.0", 0)
	_, _, err := domain.Create(cmd, productFrom(t, reserved("2.1.4")), envs)
	if diff := cmp.Diff([]string{"type"}, violationFields(t, err)); diff != "" {
		t.Errorf("violated fields mismatch (-want +got):\n%s", diff)
	}
}

// created events fold into a release that knows its author and revision.
func TestApplyCreated(t *testing.T) {
	t.Parallel()
	_, rel, err := domain.Create(createCmd("2.2.0", minor), productFrom(t, reserved("2.1.4")), envs)
	mustOK(t, err)
	r := releaseFrom(t, byAt("alice", t0, proto.Message(rel)))
	v := view(r)
	if !r.Exists() || v.GetAuthor() != "alice" || !v.GetCreatedAt().AsTime().Equal(t0) || v.GetContentRevision() != 1 || v.GetAggregateVersion() != 1 {
		t.Errorf("release = exists %v, author %q, created %v, revision %d, version %d; want alice at t0, revision 1, version 1",
			r.Exists(), v.GetAuthor(), v.GetCreatedAt().AsTime(), v.GetContentRevision(), v.GetAggregateVersion())
	}
	for _, name := range []string{"development", "staging", "production"} {
		if st := envOf(r, name); st == nil || st.GetStatus() != planned {
			t.Errorf("%s state = %+v, want planned", name, st)
		}
	}
	if r.Status() != planned {
		t.Errorf("Status() = %v, want planned", r.Status())
	}
}

// A retried CreateRelease rebuilds the same ReleaseCreated from the command.
func TestCreatedEventMatchesCreate(t *testing.T) {
	t.Parallel()
	cmd := createCmd("2.2.0", minor)
	cmd.Title = " Faster sends "
	cmd.Changes = []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: " Batch sends "}}
	cmd.Targets = []string{"production", "staging", "development"}
	_, want, err := domain.Create(cmd, productFrom(t, reserved("2.1.4")), envs)
	mustOK(t, err)
	diffEvents(t, msgs(want), msgs(domain.CreatedEvent(cmd, envs)))
}
