package change_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/change/internal/change"
)

func TestSummary(t *testing.T) {
	t.Parallel()
	base := func(s change.Summary) change.Summary {
		s.ID, s.Title, s.Type, s.Priority, s.Impact, s.Risk, s.Submitter = crID, "Move sends to the new SMTP pool",
			change.TypeInfrastructure, change.PriorityHigh, change.ImpactMedium, change.RiskMedium, "alice"
		s.Environments, s.Releases, s.PlannedStart, s.SubmittedAt = []string{"production"}, []string{release}, planned, t0
		return s
	}
	tests := []struct {
		name  string
		given [][]ev
		at    time.Time
		want  change.Summary
	}{
		{
			name: "awaiting approval: what is missing", given: [][]ev{submitted(change.ClassNormal), reviewed(), by("pat", granted("pat", "product", true))}, at: now,
			want: base(change.Summary{
				Class: change.ClassNormal, State: change.StatePendingApproval,
				Approvals: 1, ApprovalsMet: 1, ApprovalsRequired: 2, MissingApprovals: []string{"operations"},
				UpdatedAt: t0.Add(3 * time.Minute),
			}),
		},
		{
			name: "an emergency implementing outside its window, review overdue",
			given: [][]ev{
				submitted(change.ClassEmergency), by("sam", granted("sam", "security", true), change.Approved{Approvals: 1, Required: 1}), scheduled(),
				byAt("system:change", winEnd, change.ImplementationStarted{DeploymentID: "d1", ReleaseID: release, Environment: "production", OutsideWindow: true, PIRDue: winEnd.Add(48 * time.Hour)}),
			},
			at: winEnd.Add(49 * time.Hour),
			want: func() change.Summary {
				s := base(change.Summary{
					Class: change.ClassEmergency, State: change.StateImplementing,
					Approvals: 1, ApprovalsMet: 1, ApprovalsRequired: 1,
					WindowID: window, WindowStart: winStart, WindowEnd: winEnd, OutsideWindow: 1,
					PIRDue: winEnd.Add(48 * time.Hour), PIROverdue: true, UpdatedAt: winEnd,
				})
				s.Priority = change.PriorityCritical
				return s
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := given(t, tt.given...)
			if diff := cmp.Diff(tt.want, c.Summary(tt.at)); diff != "" {
				t.Errorf("Summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    change.Event
		want string
	}{
		{submittedFor(cmdFor(change.ClassNormal)), `alice submitted normal change "Move sends to the new SMTP pool" (infrastructure, priority high, risk medium) for production`},
		{submittedFor(cmdFor(change.ClassEmergency)), `EMERGENCY: alice submitted emergency change "Move sends to the new SMTP pool" (infrastructure, priority critical, risk medium) for production: Mail to Gmail bounces since 08:40.`},
		{change.ReviewStarted{Reviewer: "rita"}, "rita started the technical review"},
		{change.ReviewCompleted{Reviewer: "rita", Outcome: change.ReviewRejected, Notes: "No rollback."}, "rita completed the technical review: rejected: No rollback."},
		{granted("pat", "product", true), "pat approved as product"},
		{granted("olga", "product", false), "olga approved as product (not counted: the requirements it meets are met already)"},
		{change.Approved{Approvals: 2, Required: 2}, "approved (2 approvals, 2 required)"},
		{change.Approved{PreApproved: true, Template: "smtp-pool-switch"}, "approved by standard template smtp-pool-switch"},
		{change.Rejected{By: "otto", Reason: "Not now.", Stage: "approval"}, "otto rejected the change in approval: Not now."},
		{scheduledEvent(), "alice scheduled the change in window w1 [2026-03-05T22:00:00Z, 2026-03-06T00:00:00Z) from 2026-03-05T22:00:00Z"},
		{change.Cancelled{Reason: "Superseded."}, "alice cancelled the change: Superseded."},
		{change.ImplementationStarted{DeploymentID: "d1", ReleaseID: release, Environment: "production", OutsideWindow: true, PIRDue: pirDueAt},
			"deployment d1 of release rel-220 to production started OUTSIDE the change's window; post-implementation review due by 2026-03-07T22:05:00Z"},
		{change.ValidationRecorded{DeploymentID: "d1", Check: "bake", Outcome: change.OutcomeFailed, Detail: "p99 over 2s"}, "bake of deployment d1 failed: p99 over 2s"},
		{change.Validated{}, "validated"},
		{change.Failed{Reason: "Rolled back."}, "failed: Rolled back."},
		{change.PostImplementationReviewed{Reviewer: "rita", Prevention: make([]change.Action, 2), Late: true}, "rita recorded the post-implementation review (2 prevention actions), late"},
		{change.Closed{Outcome: change.ClosedFailed}, "alice closed the change (failed)"},
	}
	for _, tt := range tests {
		t.Run(tt.e.Name(), func(t *testing.T) {
			t.Parallel()
			if got := change.Describe(tt.e, "alice"); got != tt.want {
				t.Errorf("Describe(%s) =\n%q, want\n%q", tt.e.Name(), got, tt.want)
			}
		})
	}
}

// TestEventNames: every event is named Change<…>, uniquely — the subject
// token and the future proto message name.
func TestEventNames(t *testing.T) {
	t.Parallel()
	all := []change.Event{
		change.Submitted{}, change.ReviewStarted{}, change.ReviewCompleted{}, change.ApprovalGranted{}, change.Approved{},
		change.Rejected{}, change.Scheduled{}, change.Cancelled{}, change.ImplementationStarted{}, change.ValidationRecorded{},
		change.Validated{}, change.Failed{}, change.PostImplementationReviewed{}, change.Closed{},
	}
	seen := map[string]bool{}
	for _, e := range all {
		n := e.Name()
		if !strings.HasPrefix(n, "Change") || seen[n] || strings.ContainsAny(n, ". *>") {
			t.Errorf("event name %q: want a unique Change… token", n)
		}
		seen[n] = true
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	mustOK(t, change.DefaultPolicy().Validate())
	bad := change.Policy{
		NormalApprovals:    []string{"product", "ops team"},
		EmergencyApprovers: []string{"operations", "operations"},
		Validations:        []string{"gates", "gates"},
	}
	want := []string{"normal_approvals[1]", "emergency_approvers[1]", "emergency_approvals", "pir_deadline", "validations[1]"}
	if diff := cmp.Diff(want, violationFields(t, bad.Validate())); diff != "" {
		t.Errorf("policy violations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"normal_approvals", "emergency_approvers", "emergency_approvals", "pir_deadline", "validations"},
		violationFields(t, change.Policy{}.Validate())); diff != "" {
		t.Errorf("zero policy violations (-want +got):\n%s", diff)
	}
}
