package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// same is an UpdateCommand that keeps the release as created.
func same() domain.UpdateCommand {
	return domain.UpdateCommand{Title: "Faster sends", Description: "Batch the SMTP handshake."}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given [][]ev
		cmd   domain.UpdateCommand
		want  []proto.Message
	}{
		{
			name:  "no content change does not void approvals",
			given: [][]ev{planned220(), approval("staging", "rita", 1)},
			cmd:   domain.UpdateCommand{Title: " Faster sends ", Description: "Batch the SMTP handshake.", RollbackPlan: "redeploy 2.1.4", Approvers: []string{"rita"}},
			want: msgs(&releasev1.ReleaseUpdated{
				Title: "Faster sends", Description: "Batch the SMTP handshake.", TargetEnvironments: []string{"development", "staging", "production"},
				Approvers: []string{"rita"}, RollbackPlan: "redeploy 2.1.4",
			}),
		},
		{
			name:  "title change voids approvals and rejections where there are any",
			given: [][]ev{planned220(), approval("staging", "rita", 1), by("sam", &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "sam", Reason: "pen test", ContentRevision: 1})},
			cmd:   domain.UpdateCommand{Title: "Much faster sends", Description: "Batch the SMTP handshake."},
			want: msgs(
				&releasev1.ReleaseUpdated{Title: "Much faster sends", Description: "Batch the SMTP handshake.", TargetEnvironments: []string{"development", "staging", "production"}, ContentChanged: true},
				&releasev1.ApprovalsVoided{Environments: []string{"staging", "production"}, ContentRevision: 1, Reason: "title or description changed"},
			),
		},
		{
			name:  "description change without approvals voids nothing",
			given: [][]ev{planned220()},
			cmd:   domain.UpdateCommand{Title: "Faster sends", Description: "Pipelined."},
			want: msgs(&releasev1.ReleaseUpdated{
				Title: "Faster sends", Description: "Pipelined.", TargetEnvironments: []string{"development", "staging", "production"}, ContentChanged: true,
			}),
		},
		{
			name:  "targets re-sorted and extended",
			given: [][]ev{planned220()},
			cmd:   domain.UpdateCommand{Title: "Faster sends", Description: "Batch the SMTP handshake.", Targets: []string{"dr", "production", "staging", "development"}},
			want: msgs(&releasev1.ReleaseUpdated{
				Title: "Faster sends", Description: "Batch the SMTP handshake.", TargetEnvironments: []string{"development", "staging", "production", "dr"},
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given...)
			got, err := domain.Update(r, relID, tt.cmd, envs)
			mustOK(t, err)
			diffEvents(t, tt.want, got)
		})
	}
}

func TestUpdateRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given [][]ev
		cmd   domain.UpdateCommand
		check func(t *testing.T, err error)
	}{
		{
			name: "unknown release", cmd: same(),
			check: func(t *testing.T, err error) { wantNotFound(t, err, "release", relID) },
		},
		{
			name: "after a promotion", given: [][]ev{planned220(), promoted("development", "dave", 1)}, cmd: same(),
			check: func(t *testing.T, err error) {
				wantReason(t, err, "release 2.2.0 has been promoted (status deploying): only a planned release can be edited")
			},
		},
		{
			name: "after a deployment", given: [][]ev{planned220(), deployedTo("development")}, cmd: same(),
			check: func(t *testing.T, err error) { wantReason(t, err, "has been promoted (status deployed)") },
		},
		{
			name: "after cancel", given: [][]ev{planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "superseded"})}, cmd: same(),
			check: func(t *testing.T, err error) { wantReason(t, err, "release 2.2.0 is cancelled: it cannot be edited") },
		},
		{
			name: "every invalid field at once", given: [][]ev{planned220()},
			cmd: domain.UpdateCommand{Title: "", Description: strings.Repeat("d", domain.MaxDescription+1), Targets: []string{"production"}},
			check: func(t *testing.T, err error) {
				if got := violationFields(t, err); !slices.Equal(got, []string{"title", "description", "target_environments[0]"}) {
					t.Errorf("violated fields = %q, want title, description, target_environments[0]", got)
				}
				wantViolation(t, err, "target_environments[0]", "production comes after staging, which is not a target")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given...)
			got, err := domain.Update(r, relID, tt.cmd, envs)
			if err == nil {
				t.Fatalf("Update decided %v, want a refusal", got)
			}
			tt.check(t, err)
		})
	}
}

func TestAddChange(t *testing.T) {
	t.Parallel()
	bug := &releasev1.Change{Id: "x9", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: " Retry on 421 ", Link: "https://git/pr/2", Author: "bob"}
	tests := []struct {
		name  string
		given [][]ev
		want  []proto.Message
	}{
		{
			name:  "numbered after the existing changes, nothing to void",
			given: [][]ev{planned220()},
			want: msgs(&releasev1.ChangeAdded{Change: &releasev1.Change{
				Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Retry on 421", Link: "https://git/pr/2", Author: "bob",
			}}),
		},
		{
			name:  "voids the approvals given",
			given: [][]ev{planned220(), approval("staging", "rita", 1), approval("production", "otto", 1)},
			want: msgs(
				&releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Retry on 421", Link: "https://git/pr/2", Author: "bob"}},
				&releasev1.ApprovalsVoided{Environments: []string{"staging", "production"}, ContentRevision: 1, Reason: "a change was added"},
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given...)
			got, err := domain.AddChange(r, relID, proto.Clone(bug).(*releasev1.Change))
			mustOK(t, err)
			diffEvents(t, tt.want, got)
		})
	}
}

func TestAddChangeRefuses(t *testing.T) {
	t.Parallel()
	ok := &releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "x"}
	tests := []struct {
		name   string
		given  [][]ev
		change *releasev1.Change
		check  func(t *testing.T, err error)
	}{
		{name: "unknown release", change: ok, check: func(t *testing.T, err error) { wantNotFound(t, err, "release", relID) }},
		{
			name: "after a promotion", given: [][]ev{planned220(), deployedTo("development")}, change: ok,
			check: func(t *testing.T, err error) {
				wantReason(t, err, "release 2.2.0 has been promoted (status deployed): only a planned release can take new changes")
			},
		},
		{
			name: "after a rollback", given: [][]ev{planned220(), promoted("development", "dave", 1), system(&releasev1.ReleaseRolledBack{Environment: "development"})}, change: ok,
			check: func(t *testing.T, err error) { wantReason(t, err, "(status rolled_back)", "can take new changes") },
		},
		{
			name: "after cancel", given: [][]ev{planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "x"})}, change: ok,
			check: func(t *testing.T, err error) {
				wantReason(t, err, "release 2.2.0 is cancelled: it cannot take new changes")
			},
		},
		{
			// A credential pasted into a change would stay in the log for good.
			name: "a secret in the summary", given: [][]ev{planned220()},
			change: &releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "rotate AKIAIOSFODNN7EXAMPL3 in the mailer"},
			check: func(t *testing.T, err error) {
				if got := violationFields(t, err); !slices.Equal(got, []string{"change.summary"}) || !strings.Contains(err.Error(), "secret://") || strings.Contains(err.Error(), "AKIAIOSFODNN7EXAMPL3") {
					t.Errorf("violations %q: %v", got, err)
				}
			},
		},
		{
			name: "invalid change", given: [][]ev{planned220()}, change: &releasev1.Change{Summary: ""},
			check: func(t *testing.T, err error) {
				if got := violationFields(t, err); !slices.Equal(got, []string{"change.kind", "change.summary"}) {
					t.Errorf("violated fields = %q, want change.kind, change.summary", got)
				}
			},
		},
		{
			name: "at the limit", change: ok,
			given: [][]ev{planned220(), func() []ev { // c1 plus 499 more
				var out []ev
				for range domain.MaxChanges - 1 {
					out = append(out, by("alice", &releasev1.ChangeAdded{Change: &releasev1.Change{Summary: "x"}})...)
				}
				return out
			}()},
			check: func(t *testing.T, err error) {
				wantViolation(t, err, "change", "the release already has 500 changes, the limit")
			},
		},
		{
			name: "nil change", given: [][]ev{planned220()}, change: nil,
			check: func(t *testing.T, err error) { wantViolation(t, err, "change", "is empty") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given...)
			got, err := domain.AddChange(r, relID, tt.change)
			if err == nil {
				t.Fatalf("AddChange decided %v, want a refusal", got)
			}
			tt.check(t, err)
		})
	}
}

// Content changes move the revision; approvals given at an older one stop counting.
func TestContentRevision(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, planned220(), approval("staging", "rita", 1),
		by("rita", &releasev1.ReleaseApproved{Environment: "staging", Approvals: 1, Required: 1}))
	if envOf(r, "staging").GetStatus() != approved {
		t.Fatalf("staging = %v, want approved", envOf(r, "staging").GetStatus())
	}
	got, err := domain.AddChange(r, relID, &releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "More"})
	mustOK(t, err)
	apply(t, r, t0.Add(time.Hour), "alice", got...)
	if view(r).GetContentRevision() != 2 {
		t.Errorf("ContentRevision = %d, want 2", view(r).GetContentRevision())
	}
	if st := envOf(r, "staging"); st.GetStatus() != planned || len(st.GetApprovals()) != 0 {
		t.Errorf("staging after the void = %v with %d approvals, want planned with none", st.GetStatus(), len(st.GetApprovals()))
	}
	up, err := domain.Update(r, relID, domain.UpdateCommand{Title: "Other", Description: view(r).GetDescription()}, envs)
	mustOK(t, err)
	apply(t, r, t0.Add(2*time.Hour), "alice", up...)
	if v := view(r); v.GetContentRevision() != 3 || v.GetTitle() != "Other" {
		t.Errorf("after an edit: revision %d, title %q; want 3, Other", v.GetContentRevision(), v.GetTitle())
	}
	up, err = domain.Update(r, relID, domain.UpdateCommand{Title: "Other", Description: view(r).GetDescription(), TestingPlan: "soak"}, envs)
	mustOK(t, err)
	apply(t, r, t0.Add(3*time.Hour), "alice", up...)
	if v := view(r); v.GetContentRevision() != 3 || v.GetTestingPlan() != "soak" {
		t.Errorf("after a plan-only edit: revision %d, testing plan %q; want 3, soak", v.GetContentRevision(), v.GetTestingPlan())
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		given  [][]ev
		reason string
		want   []proto.Message
		check  func(t *testing.T, err error)
	}{
		{name: "planned", given: [][]ev{planned220()}, reason: " superseded by 2.3.0 ", want: msgs(&releasev1.ReleaseCancelled{Reason: "superseded by 2.3.0"})},
		{name: "after a deployment", given: [][]ev{planned220(), deployedTo("development")}, reason: "x", want: msgs(&releasev1.ReleaseCancelled{Reason: "x"})},
		{name: "unknown release", reason: "x", check: func(t *testing.T, err error) { wantNotFound(t, err, "release", relID) }},
		{name: "reason required", given: [][]ev{planned220()}, reason: " ", check: func(t *testing.T, err error) { wantViolation(t, err, "reason", "must not be empty") }},
		{
			name: "twice", given: [][]ev{planned220(), by("alice", &releasev1.ReleaseCancelled{Reason: "x"})}, reason: "again",
			check: func(t *testing.T, err error) { wantReason(t, err, "the release is already cancelled") },
		},
		{
			name: "while deploying", given: [][]ev{planned220(), promoted("development", "dave", 1)}, reason: "x",
			check: func(t *testing.T, err error) {
				wantReason(t, err, "a deployment to development is in progress: abort or roll it back first")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := releaseFrom(t, tt.given...)
			got, err := domain.Cancel(r, relID, tt.reason)
			if tt.check != nil {
				if err == nil {
					t.Fatalf("Cancel decided %v, want a refusal", got)
				}
				tt.check(t, err)
				return
			}
			mustOK(t, err)
			diffEvents(t, tt.want, got)
			apply(t, r, now, "alice", got...)
			if r.Status() != cancelled || r.CancelReason() != tt.want[0].(*releasev1.ReleaseCancelled).GetReason() {
				t.Errorf("after cancel: status %v, reason %q", r.Status(), r.CancelReason())
			}
		})
	}
}

// Commit ids, UUIDs and links are not secrets: the leak scan lets them be.
func TestChangeTextIsNotMistakenForASecret(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, planned220())
	c := &releasev1.Change{Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX,
		Summary: "revert 3f786850e387550fdab836ed7e6dc881de23001b (incident 0b9f3c8e-5d1a-4f3e-9c77-2a9d2c1e4b6a)",
		Link:    "https://github.com/penguinmails/app/pull/1234"}
	if _, err := domain.AddChange(r, relID, c); err != nil {
		t.Fatalf("an ordinary change refused: %v", err)
	}
}
