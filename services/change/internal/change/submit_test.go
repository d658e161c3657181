package change_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/change/internal/change"
)

func TestSubmit(t *testing.T) {
	t.Parallel()
	reviewedEmergency := policy
	reviewedEmergency.EmergencyReview = true
	twoOps := policy
	twoOps.EmergencyApprovals = 2
	tests := []struct {
		name   string
		cmd    change.SubmitCommand
		policy change.Policy
		want   []change.Event
		state  change.State
	}{
		{
			name: "normal: awaits technical review", cmd: cmdFor(change.ClassNormal), policy: policy,
			want: events(submittedFor(cmdFor(change.ClassNormal))), state: change.StateSubmitted,
		},
		{
			name: "standard: approved on submission by its template", cmd: cmdFor(change.ClassStandard), policy: policy,
			want:  events(submittedFor(cmdFor(change.ClassStandard)), change.Approved{PreApproved: true, Template: "smtp-pool-switch"}),
			state: change.StateApproved,
		},
		{
			name: "emergency: straight to approval, logged with its justification and review deadline", cmd: cmdFor(change.ClassEmergency), policy: policy,
			want: events(submittedFor(cmdFor(change.ClassEmergency))), state: change.StatePendingApproval,
		},
		{
			name: "emergency under a policy that reviews emergencies", cmd: cmdFor(change.ClassEmergency), policy: reviewedEmergency,
			want: events(func() change.Event {
				s := submittedFor(cmdFor(change.ClassEmergency))
				s.ReviewRequired = true
				return s
			}()),
			state: change.StateSubmitted,
		},
		{
			name: "emergency needing two approvers", cmd: cmdFor(change.ClassEmergency), policy: twoOps,
			want: events(func() change.Event {
				s := submittedFor(cmdFor(change.ClassEmergency))
				s.Requirements = append(s.Requirements, change.Requirement{AnyOf: []string{"operations", "security"}})
				return s
			}()),
			state: change.StatePendingApproval,
		},
		{
			name: "the title is trimmed", cmd: func() change.SubmitCommand {
				c := cmdFor(change.ClassNormal)
				c.Title = "  " + c.Title + "\n"
				return c
			}(), policy: policy,
			want: events(submittedFor(cmdFor(change.ClassNormal))), state: change.StateSubmitted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := change.New(crID)
			got, err := change.Submit(c, tt.cmd, tt.policy)
			mustOK(t, err)
			diffEvents(t, tt.want, got)
			apply(c, "alice", t0, got)
			if c.State() != tt.state {
				t.Errorf("state %s, want %s", c.State(), tt.state)
			}
		})
	}
}

// TestSubmitCopiesItsInput: the decided event shares no slice with the
// command, so a caller reusing its command cannot rewrite the log.
func TestSubmitCopiesItsInput(t *testing.T) {
	t.Parallel()
	cmd := cmdFor(change.ClassNormal)
	got, err := change.Submit(change.New(crID), cmd, policy)
	mustOK(t, err)
	cmd.Environments[0] = "staging"
	cmd.Implementation.Steps[0].Description = "changed"
	cmd.Releases[0] = "other"
	diffEvents(t, events(submittedFor(cmdFor(change.ClassNormal))), got)
}

func TestSubmitInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		id     string
		edit   func(c *change.SubmitCommand)
		fields []string
		facts  map[string][]string // field → facts its description mentions
	}{
		{
			name: "everything missing", edit: func(c *change.SubmitCommand) { *c = change.SubmitCommand{} },
			fields: []string{
				"submitter", "class", "title", "type", "priority", "impact", "risk", "environments", "releases",
				"schedule.planned_start", "schedule.duration_minutes", "implementation.steps", "rollback.steps", "testing.steps",
			},
			facts: map[string][]string{
				"class":                {"is required: one of standard, normal, emergency"},
				"impact":               {"none, low, medium, high, system_wide"},
				"risk":                 {"low, medium, high, critical"},
				"implementation.steps": {"at least one step"},
			},
		},
		{
			name: "unknown enum values", edit: func(c *change.SubmitCommand) {
				c.Class, c.Type, c.Priority, c.Impact, c.Risk = "urgent", "feature", "p1", "huge", "8"
			},
			fields: []string{"class", "type", "priority", "impact", "risk"},
			facts:  map[string][]string{"type": {`"feature" is not one of enhancement, bug_fix, security, infrastructure`}},
		},
		{
			name: "a bad id", id: "CR 1", fields: []string{"id"},
			facts: map[string][]string{"id": {`"CR 1" is not a valid identifier`}},
		},
		{
			name: "lists: bad, duplicate, submitter as approver", edit: func(c *change.SubmitCommand) {
				c.Environments = []string{"production", "prod.eu", "production"}
				c.Releases = []string{"rel-220", "rel 221"}
				c.Approvers = []string{"pat", "alice", "pat", ""}
			},
			fields: []string{"environments[1]", "environments[2]", "releases[1]", "approvers[2]", "approvers[3]", "approvers[1]"},
			facts: map[string][]string{
				"environments[2]": {`"production" is listed twice`},
				"approvers[1]":    {"separation of duties: the submitter may not approve their own change"},
			},
		},
		{
			name: "schedule: shorter than the plan", edit: func(c *change.SubmitCommand) {
				c.Schedule.DurationMinutes = 30
			},
			fields: []string{"schedule.duration_minutes"},
			facts:  map[string][]string{"schedule.duration_minutes": {"is 30; the implementation plan's steps are expected to take 50"}},
		},
		{
			name: "schedule: over a week", edit: func(c *change.SubmitCommand) { c.Schedule.DurationMinutes = 7*24*60 + 1 },
			fields: []string{"schedule.duration_minutes"},
		},
		{
			name: "plan steps at their paths", edit: func(c *change.SubmitCommand) {
				c.Implementation.Steps[1].Description = " "
				c.Implementation.Steps[1].ExpectedMinutes = -5
				c.Rollback.Steps[0].Owner = strings.Repeat("o", 201)
				c.Testing.Steps = make([]change.Step, 101)
			},
			fields: []string{"implementation.steps[1].description", "implementation.steps[1].expected_minutes", "rollback.steps[0].owner", "testing.steps"},
			facts:  map[string][]string{"testing.steps": {"lists 101 steps; the limit is 100"}},
		},
		{
			name: "standard without a template", edit: func(c *change.SubmitCommand) {
				c.Class = change.ClassStandard
			},
			fields: []string{"template"},
			facts:  map[string][]string{"template": {"a standard change is made from a pre-approved template"}},
		},
		{
			name: "a template on a normal change", edit: func(c *change.SubmitCommand) { c.Template = "smtp-pool-switch" },
			fields: []string{"template"},
			facts:  map[string][]string{"template": {"only a standard change is made from a template; this one is normal"}},
		},
		{
			name: "an emergency without justification", edit: func(c *change.SubmitCommand) { c.Class = change.ClassEmergency },
			fields: []string{"justification"},
		},
		{
			name: "texts too long or not UTF-8", edit: func(c *change.SubmitCommand) {
				c.Title = strings.Repeat("t", 201)
				c.Description = "\xff"
				c.RegulatoryImpact = strings.Repeat("r", 2001)
			},
			fields: []string{"title", "description", "regulatory_impact"},
			facts:  map[string][]string{"title": {"is 201 bytes; the limit is 200"}, "description": {"not valid UTF-8"}},
		},
		{
			name: "a planned start is required", edit: func(c *change.SubmitCommand) { c.Schedule.PlannedStart = time.Time{} },
			fields: []string{"schedule.planned_start"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := cmdFor(change.ClassNormal)
			if tt.edit != nil {
				tt.edit(&cmd)
			}
			id := crID
			if tt.id != "" {
				id = tt.id
			}
			_, err := change.Submit(change.New(id), cmd, policy)
			if diff := cmp.Diff(tt.fields, violationFields(t, err)); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
			for field, facts := range tt.facts {
				wantViolation(t, err, field, facts...)
			}
		})
	}
}

// TestSubmitLeakScan: a credential in any free text is refused at its
// field's path with the leak scanner's hint, and never reaches an event.
func TestSubmitLeakScan(t *testing.T) {
	t.Parallel()
	const token = "ghp_0123456789abcdefghijABCDEFGHIJ012345" // a GitHub token's shape
	tests := []struct {
		name  string
		edit  func(c *change.SubmitCommand)
		field string
	}{
		{"title", func(c *change.SubmitCommand) { c.Title = "Rotate " + token }, "title"},
		{"description", func(c *change.SubmitCommand) { c.Description = "use password=Hunter2!x9 for the relay" }, "description"},
		{"justification", func(c *change.SubmitCommand) {
			c.Class, c.Justification = change.ClassEmergency, "token "+token+" leaked"
		}, "justification"},
		{"regulatory impact", func(c *change.SubmitCommand) { c.RegulatoryImpact = "see https://admin:s3cr3t-P4ss@vault.example.com" }, "regulatory_impact"},
		{"a step's description", func(c *change.SubmitCommand) { c.Implementation.Steps[1].Description = "export GH=" + token }, "implementation.steps[1].description"},
		{"a step's verification", func(c *change.SubmitCommand) {
			c.Testing.Steps[0].Verification = "curl -H 'Authorization: " + token + "'"
		}, "testing.steps[0].verification"},
		{"a rollback step's owner", func(c *change.SubmitCommand) { c.Rollback.Steps[0].Owner = token }, "rollback.steps[0].owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := cmdFor(change.ClassNormal)
			tt.edit(&cmd)
			got, err := change.Submit(change.New(crID), cmd, policy)
			if got != nil {
				t.Errorf("events decided despite a secret: %v", got)
			}
			wantViolation(t, err, tt.field, "secret://<name>")
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "Hunter2") || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the refusal repeats the secret: %v", err)
			}
		})
	}
}

// A standard change is approved on submission only from a pre-approved
// template: an unknown one, or any when none is configured, is refused.
func TestStandardNeedsAPreApprovedTemplate(t *testing.T) {
	t.Parallel()
	cmd := cmdFor(change.ClassStandard)
	cmd.Template = "anything-goes"
	_, err := change.Submit(change.New(crID), cmd, policy)
	wantViolation(t, err, "template", "not a pre-approved template", "smtp-pool-switch")
	_, err = change.Submit(change.New(crID), cmdFor(change.ClassStandard), change.DefaultPolicy())
	wantViolation(t, err, "template", "none is configured")
}
