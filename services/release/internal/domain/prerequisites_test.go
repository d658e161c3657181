package domain_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

const (
	pending   = releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_PENDING
	completed = releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_COMPLETED
	prFailed  = releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_FAILED
)

func TestAddPrerequisite(t *testing.T) {
	t.Parallel()
	deadline := timestamppb.New(t0.Add(72 * time.Hour))
	cmd := func() *releasev1.Prerequisite {
		return &releasev1.Prerequisite{
			Id: "ignored", Type: releasev1.PrerequisiteType_PREREQUISITE_TYPE_THIRD_PARTY, Description: " Raise the SES quota ",
			Status: prFailed, Owner: "ops", Deadline: deadline, Environment: "production", Overdue: true,
		}
	}
	want := func(id string) []proto.Message {
		return msgs(&releasev1.PrerequisiteAdded{Prerequisite: &releasev1.Prerequisite{
			Id: id, Type: releasev1.PrerequisiteType_PREREQUISITE_TYPE_THIRD_PARTY, Description: "Raise the SES quota",
			Status: pending, Owner: "ops", Deadline: deadline, Environment: "production",
		}})
	}
	tests := []struct {
		name  string
		given [][]ev
		want  []proto.Message
	}{
		{name: "first is p1, pending whatever was sent", given: [][]ev{planned220()}, want: want("p1")},
		{name: "second is p2", given: [][]ev{planned220(), prereq("p1", "", completed, nil)}, want: want("p2")},
		{name: "third is p3", given: [][]ev{planned220(), prereq("p1", "", completed, nil), prereq("p2", "staging", pending, nil)}, want: want("p3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.AddPrerequisite(releaseFrom(t, tt.given...), relID, cmd(), envs)
			mustOK(t, err)
			diffEvents(t, tt.want, got)
		})
	}
}

func TestAddPrerequisiteRefuses(t *testing.T) {
	t.Parallel()
	ok := func() *releasev1.Prerequisite {
		return &releasev1.Prerequisite{Type: releasev1.PrerequisiteType_PREREQUISITE_TYPE_DATABASE, Description: "Migrate"}
	}
	fifty := [][]ev{planned220()}
	for i := range domain.MaxListItems {
		fifty = append(fifty, prereq(fmt.Sprintf("p%d", i+1), "", completed, nil))
	}
	tests := []struct {
		name  string
		given [][]ev
		edit  func(*releasev1.Prerequisite)
		check func(t *testing.T, err error)
	}{
		{
			name: "unspecified type", given: [][]ev{planned220()}, edit: func(p *releasev1.Prerequisite) { p.Type = 0 },
			check: func(t *testing.T, err error) {
				wantViolation(t, err, "type", "must be one of database, infrastructure, third_party, compliance")
			},
		},
		{
			name: "unknown type", given: [][]ev{planned220()}, edit: func(p *releasev1.Prerequisite) { p.Type = 77 },
			check: func(t *testing.T, err error) { wantViolation(t, err, "type", "must be one of") },
		},
		{
			name: "empty description", given: [][]ev{planned220()}, edit: func(p *releasev1.Prerequisite) { p.Description = " " },
			check: func(t *testing.T, err error) { wantViolation(t, err, "description", "must not be empty") },
		},
		{
			name: "unknown environment", given: [][]ev{planned220()}, edit: func(p *releasev1.Prerequisite) { p.Environment = "moon" },
			check: func(t *testing.T, err error) {
				wantViolation(t, err, "environment", `"moon" is not a target of the release`)
			},
		},
		{
			name: "environment that is not a target", given: [][]ev{planned220()}, edit: func(p *releasev1.Prerequisite) { p.Environment = "dr" },
			check: func(t *testing.T, err error) {
				wantViolation(t, err, "environment", `"dr" is not a target of the release`)
			},
		},
		{
			name: "every problem at once", given: [][]ev{planned220()},
			edit: func(p *releasev1.Prerequisite) {
				p.Type, p.Description, p.Owner, p.Environment = 0, "", strings.Repeat("o", 201), "qa"
			},
			check: func(t *testing.T, err error) {
				if got := violationFields(t, err); !slices.Equal(got, []string{"type", "description", "owner", "environment"}) {
					t.Errorf("violated fields = %q, want type, description, owner, environment", got)
				}
			},
		},
		{
			name: "at the limit", given: fifty, edit: func(*releasev1.Prerequisite) {},
			check: func(t *testing.T, err error) {
				wantViolation(t, err, "prerequisites", "the release already has 50 prerequisites, the limit")
			},
		},
		{
			name: "cancelled", given: [][]ev{planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "x"})}, edit: func(*releasev1.Prerequisite) {},
			check: func(t *testing.T, err error) { wantReason(t, err, "the release is cancelled") },
		},
		{
			name: "unknown release", edit: func(*releasev1.Prerequisite) {},
			check: func(t *testing.T, err error) { wantNotFound(t, err, "release", relID) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := ok()
			tt.edit(p)
			got, err := domain.AddPrerequisite(releaseFrom(t, tt.given...), relID, p, envs)
			if err == nil {
				t.Fatalf("AddPrerequisite decided %v, want a refusal", got)
			}
			tt.check(t, err)
		})
	}
}

func TestUpdatePrerequisite(t *testing.T) {
	t.Parallel()
	deadline := timestamppb.New(now.Add(time.Hour))
	tests := []struct {
		name  string
		given [][]ev
		u     *releasev1.PrerequisiteUpdated
		check func(t *testing.T, err error) // nil: accepted, decided as sent
	}{
		{name: "status", given: [][]ev{planned220(), prereq("p1", "", pending, nil)}, u: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Status: completed, Note: "done"}},
		{name: "owner only", given: [][]ev{planned220(), prereq("p1", "", pending, nil)}, u: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Owner: "bob"}},
		{name: "deadline only", given: [][]ev{planned220(), prereq("p1", "", pending, nil)}, u: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Deadline: deadline}},
		{
			name: "unknown id", given: [][]ev{planned220(), prereq("p1", "", pending, nil)}, u: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p9", Status: completed},
			check: func(t *testing.T, err error) { wantNotFound(t, err, "prerequisite", "p9") },
		},
		{
			name: "nothing to update", given: [][]ev{planned220(), prereq("p1", "", pending, nil)}, u: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Note: "just a note"},
			check: func(t *testing.T, err error) {
				wantViolation(t, err, "status", "nothing to update: give a status, owner or deadline")
			},
		},
		{
			name: "unknown status", given: [][]ev{planned220(), prereq("p1", "", pending, nil)}, u: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Status: 9},
			check: func(t *testing.T, err error) {
				wantViolation(t, err, "status", "must be one of pending, completed, failed")
			},
		},
		{
			name: "unknown release", u: &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Status: completed},
			check: func(t *testing.T, err error) { wantNotFound(t, err, "release", relID) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.UpdatePrerequisite(releaseFrom(t, tt.given...), relID, tt.u)
			if tt.check != nil {
				if err == nil {
					t.Fatalf("UpdatePrerequisite decided %v, want a refusal", got)
				}
				tt.check(t, err)
				return
			}
			mustOK(t, err)
			diffEvents(t, msgs(tt.u), got)
		})
	}
}

// Updates change only what they carry.
func TestApplyPrerequisiteUpdated(t *testing.T) {
	t.Parallel()
	d1, d2 := timestamppb.New(t0.Add(24*time.Hour)), timestamppb.New(t0.Add(48*time.Hour))
	r := releaseFrom(t, planned220(), prereq("p1", "", pending, d1), prereq("p2", "staging", pending, nil),
		by("alice", &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Owner: "bob"}),
		by("alice", &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Deadline: d2}),
		by("alice", &releasev1.PrerequisiteUpdated{PrerequisiteId: "p2", Status: prFailed}),
	)
	want := []*releasev1.Prerequisite{
		{Id: "p1", Type: releasev1.PrerequisiteType_PREREQUISITE_TYPE_DATABASE, Description: "Migrate the sends table", Status: pending, Owner: "bob", Deadline: d2},
		{Id: "p2", Type: releasev1.PrerequisiteType_PREREQUISITE_TYPE_DATABASE, Description: "Migrate the sends table", Status: prFailed, Owner: "dba-team", Environment: "staging"},
	}
	if diff := cmp.Diff(want, view(r).GetPrerequisites(), protocmp.Transform(), protocmp.IgnoreFields(&releasev1.Prerequisite{}, "overdue")); diff != "" {
		t.Errorf("prerequisites mismatch (-want +got):\n%s", diff)
	}
}

func TestOverdue(t *testing.T) {
	t.Parallel()
	past, future := timestamppb.New(now.Add(-time.Minute)), timestamppb.New(now.Add(time.Minute))
	tests := []struct {
		name string
		p    *releasev1.Prerequisite
		want bool
	}{
		{name: "pending past its deadline", p: &releasev1.Prerequisite{Status: pending, Deadline: past}, want: true},
		{name: "pending before its deadline", p: &releasev1.Prerequisite{Status: pending, Deadline: future}},
		{name: "pending at its deadline", p: &releasev1.Prerequisite{Status: pending, Deadline: timestamppb.New(now)}},
		{name: "pending without a deadline", p: &releasev1.Prerequisite{Status: pending}},
		{name: "completed past its deadline", p: &releasev1.Prerequisite{Status: completed, Deadline: past}},
		{name: "failed past its deadline", p: &releasev1.Prerequisite{Status: prFailed, Deadline: past}},
		{name: "nil", p: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.Overdue(tt.p, now); got != tt.want {
				t.Errorf("Overdue = %v, want %v", got, tt.want)
			}
		})
	}
}
