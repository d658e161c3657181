package episode

import (
	"fmt"
	"time"

	"github.com/penguinmails/floe/libs/enumtext"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

const (
	episodeChange = "change/<change id>"
	episodeReview = "changereview/<change id>"
	episodeFreeze = "freeze/<freeze id>"
)

// change ties the builder to the change request the event is about.
func (b *builder) change() {
	b.label("change_id", b.id)
	b.episode("change", b.id)
}

func changeSpecs() []spec {
	reviewed := typeName[*changev1.ChangePostImplementationReviewed]()
	return []spec{
		notify(TypeInfo{
			Description: "a change request was submitted (an emergency one is logged as such, with its justification): its approvers are asked",
			Episode:     episodeChange, Severity: "warning for an emergency change, else info", Kind: KindNotice,
		}, func(b *builder, m *changev1.ChangeSubmitted) bool {
			b.change()
			b.notice()
			class := enumtext.Name(m.GetClass())
			if len(m.GetEnvironments()) > 0 {
				b.env(m.GetEnvironments()[0])
			}
			b.label("change_class", class)
			b.label("approvers", list(m.GetApprovers()))
			b.note("title", m.GetTitle())
			b.note("environments", list(m.GetEnvironments()))
			b.note("releases", list(m.GetReleases()))
			what := fmt.Sprintf("%s change %s %q", class, b.id, m.GetTitle())
			if m.GetClass() == changev1.ChangeClass_CHANGE_CLASS_EMERGENCY {
				b.severity(routing.SeverityWarning)
				b.note("justification", m.GetJustification())
				b.summary("EMERGENCY change %s submitted by %s: %s", b.id, either(m.GetSubmitter(), b.ev.Actor), m.GetTitle())
			} else {
				b.summary("Change %s submitted by %s: %s", b.id, either(m.GetSubmitter(), b.ev.Actor), m.GetTitle())
			}
			b.describe(fmt.Sprintf("%s submitted %s for %s.", either(m.GetSubmitter(), "Someone"), what, either(list(m.GetEnvironments()), "no environment")),
				approversSentence(m.GetApprovers()), quoted("Justification", m.GetJustification()))
			return true
		}),
		notify(TypeInfo{
			Description: "a change request was approved (its approvals met its requirements, or its standard template did)",
			Episode:     episodeChange, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *changev1.ChangeApproved) bool {
			b.change()
			b.notice()
			b.summary("Change %s approved", b.id)
			if m.GetPreApproved() {
				// A standard change: its template approved it, no one did.
				b.note("template", m.GetTemplate())
				by := "its template"
				if t := m.GetTemplate(); t != "" {
					by = "template " + t
				}
				b.describe(fmt.Sprintf("Change %s is a standard change, pre-approved by %s; it goes ahead once scheduled in a window.", b.id, by))
				return true
			}
			b.describe(fmt.Sprintf("Change %s is approved (%d approvals, %d required); it goes ahead once scheduled in a window.", b.id, m.GetApprovals(), m.GetRequired()))
			return true
		}),
		notify(TypeInfo{
			Description: "a change request was rejected in review or approval",
			Episode:     episodeChange, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *changev1.ChangeRejected) bool {
			b.change()
			b.notice()
			b.note("reason", m.GetReason())
			b.summary("Change %s rejected by %s: %s", b.id, m.GetBy(), m.GetReason())
			b.describe(fmt.Sprintf("%s rejected change %s in %s.", either(m.GetBy(), "Someone"), b.id, either(m.GetStage(), "review")), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a change request was scheduled in a window (its deployments may start then)",
			Episode:     episodeChange, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *changev1.ChangeScheduled) bool {
			b.change()
			b.notice()
			w := m.GetWindow()
			b.label("window_id", w.GetWindowId())
			b.summary("Change %s scheduled in window %s from %s", b.id, w.GetWindowId(), stampOf(w.GetAt().AsTime()))
			b.describe(fmt.Sprintf("Change %s may be deployed from %s until %s (window %s).", b.id, stampOf(w.GetStart().AsTime()), stampOf(w.GetEnd().AsTime()), w.GetWindowId()))
			return true
		}),
		notify(TypeInfo{
			Description: "a change request's implementation or validation failed (a deployment failed or was rolled back)",
			Episode:     episodeChange, Severity: routing.SeverityWarning, Kind: KindNotice,
		}, func(b *builder, m *changev1.ChangeFailed) bool {
			b.change()
			b.notice()
			b.severity(routing.SeverityWarning)
			b.label("deployment_id", m.GetDeploymentId())
			b.note("reason", m.GetReason())
			b.summary("Change %s failed: %s", b.id, m.GetReason())
			b.describe(fmt.Sprintf("Change %s failed.", b.id), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "an emergency change's post-implementation review is overdue: told until it is recorded",
			Episode:     episodeReview, Severity: routing.SeverityWarning, ResolvedBy: []string{reviewed},
		}, func(b *builder, m *changev1.ChangeReviewOverdue) bool {
			b.label("change_id", b.id)
			b.episode("changereview", b.id)
			b.severity(routing.SeverityWarning)
			due := m.GetReviewDue().AsTime()
			b.note("review_due", stampOf(due))
			b.summary("Post-implementation review of change %s is overdue (due %s)", b.id, stampOf(due))
			b.describe(fmt.Sprintf("The post-implementation review of emergency change %s was due by %s and is not recorded; the change cannot be closed without it (floe change pir %s).", b.id, stampOf(due), b.id))
			return true
		}),
		notify(TypeInfo{
			Description: "a post-implementation review was recorded (resolves an overdue review)",
			Episode:     episodeReview, Severity: routing.SeverityInfo, Resolves: true,
		}, func(b *builder, m *changev1.ChangePostImplementationReviewed) bool {
			b.label("change_id", b.id)
			b.episode("changereview", b.id)
			b.resolve()
			b.note("root_cause", m.GetRootCause())
			b.summary("Post-implementation review of change %s recorded by %s", b.id, either(m.GetReviewer(), b.ev.Actor))
			b.describe(fmt.Sprintf("%s recorded the post-implementation review of change %s (%d prevention actions).", either(m.GetReviewer(), "Someone"), b.id, len(m.GetPrevention())),
				quoted("Root cause", m.GetRootCause()))
			return true
		}),
		notify(TypeInfo{
			Description: "a freeze was declared: promotions to its environments are refused (rollbacks are not) while it is in effect",
			Episode:     episodeFreeze, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *changev1.FreezeCreated) bool {
			f := m.GetFreeze()
			b.episode("freeze", f.GetId())
			b.notice()
			if len(f.GetEnvironments()) > 0 {
				b.env(f.GetEnvironments()[0])
			}
			b.label("freeze_id", f.GetId())
			b.note("environments", list(f.GetEnvironments()))
			b.note("reason", f.GetReason())
			b.summary("Freeze %s declared by %s: %s", f.GetId(), either(f.GetCreatedBy(), b.ev.Actor), f.GetReason())
			b.describe(fmt.Sprintf("%s declared freeze %s of %s.", either(f.GetCreatedBy(), "Someone"), f.GetId(), either(list(f.GetEnvironments()), "every environment")), because(f.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a freeze was overridden for one person's promotions, by a second person",
			Episode:     episodeFreeze, Severity: routing.SeverityWarning, Kind: KindNotice,
		}, func(b *builder, m *changev1.FreezeOverridden) bool {
			o := m.GetOverride()
			b.episode("freeze", o.GetFreezeId())
			b.notice()
			b.env(o.GetEnvironment())
			b.severity(routing.SeverityWarning)
			b.label("freeze_id", o.GetFreezeId())
			b.label("requested_by", o.GetRequestedBy())
			b.note("reason", o.GetReason())
			b.summary("Freeze %s overridden in %s for %s by %s: %s", o.GetFreezeId(), o.GetEnvironment(), o.GetRequestedBy(), o.GetOverriddenBy(), o.GetReason())
			b.describe(fmt.Sprintf("%s lets %s's promotions to %s through freeze %s.", either(o.GetOverriddenBy(), "Someone"), o.GetRequestedBy(), o.GetEnvironment(), o.GetFreezeId()),
				because(o.GetReason()))
			return true
		}),
		ignore[*changev1.ChangeReviewStarted]("workflow progress; the outcome (approval or rejection) is told"),
		ignore[*changev1.ChangeReviewCompleted]("workflow progress; a rejection is told by ChangeRejected, a pass leads to the approvals"),
		ignore[*changev1.ChangeApprovalGranted]("one approval of several; the change's approval (ChangeApproved) is told"),
		ignore[*changev1.ChangeCancelled]("withdrawn by its submitter before anything happened"),
		ignore[*changev1.ChangeImplementationStarted]("the deployment that implements it is told by the deployer's events"),
		ignore[*changev1.ChangeValidationRecorded]("each check's outcome is told by its own service's events"),
		ignore[*changev1.ChangeValidated]("the deployments it follows were told; a failure is told (ChangeFailed)"),
		ignore[*changev1.ChangeClosed]("bookkeeping after the outcome was told"),
		ignore[*changev1.WindowCreated]("calendar configuration; floe window list shows it"),
		ignore[*changev1.WindowDeleted]("calendar configuration; floe window list shows it"),
		ignore[*changev1.FreezeDeleted]("a freeze lifted: promotions simply pass again; floe window list shows it"),
	}
}

// stampOf formats t for people (UTC, RFC 3339), "" for the zero time.
func stampOf(t time.Time) string {
	if t.IsZero() || t.Unix() == 0 {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
