package episode

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/enumtext"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

const (
	episodeRelease      = "release/<release id>"
	episodeApproval     = "approval/<release id>/<environment>"
	episodePrerequisite = "prerequisite/<release id>/<prerequisite id>"
	episodeReleaseNotes = "releasenotes/<release id>/<environment>"
)

// maxNotes bounds the release notes copied into annotations, in bytes: as
// much as the release service sends and render keeps of a value.
const maxNotes = 16 << 10

// release starts a builder on the release aggregate: its id, its scope.
func (b *builder) release(id string) string {
	id = either(b.id, id)
	b.label("release_id", id)
	b.scope(AggregateRelease, id)
	return id
}

func releaseSpecs() []spec {
	prereqUpdated := typeName[*releasev1.PrerequisiteUpdated]()
	mirror := func(of string) string {
		return "the release's copy of the deployer's " + of + ", which is told (episode deployment/<deployment id>)"
	}
	return []spec{
		notify(TypeInfo{
			Description: "a release was created: who, what, for which environments, whose approval it asks",
			Episode:     episodeRelease, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *releasev1.ReleaseCreated) bool {
			b.product(m.GetProduct())
			b.label("version", m.GetVersion())
			id := b.release(m.GetReleaseId())
			b.episode("release", id)
			b.notice()
			b.label("release_type", enumtext.Name(m.GetType()))
			b.label("approvers", list(m.GetApprovers()))
			b.note("title", m.GetTitle())
			b.note("targets", list(m.GetTargetEnvironments()))
			b.note("approvers", list(m.GetApprovers()))
			b.summary("Release %s created: %s", b.what(), m.GetTitle())
			b.describe(
				fmt.Sprintf("%s created %s release %s (%d changes) for %s.", either(b.ev.Actor, "Someone"),
					either(enumtext.Name(m.GetType()), "a"), b.what(), len(m.GetChanges()), either(list(m.GetTargetEnvironments()), "no environment")),
				approversSentence(m.GetApprovers()),
			)
			b.note("release_description", m.GetDescription())
			return true
		}),
		ignore[*releasev1.ReleaseUpdated]("an edit before the first promotion; a content change voids approvals, which ApprovalsVoided tells"),
		ignore[*releasev1.ChangeAdded]("an edit before the first promotion; it voids approvals, which ApprovalsVoided tells"),
		notify(TypeInfo{
			Description: "approvals were voided because the content changed: approvers must approve again",
			Episode:     episodeRelease, Severity: routing.SeverityWarning, Kind: KindNotice,
		}, func(b *builder, m *releasev1.ApprovalsVoided) bool {
			id := b.release("")
			b.episode("release", id)
			b.notice()
			b.severity(routing.SeverityWarning)
			b.note("environments", list(m.GetEnvironments()))
			b.note("reason", m.GetReason())
			b.summary("Approvals of %s voided for %s: %s", b.what(), list(m.GetEnvironments()), m.GetReason())
			b.describe(fmt.Sprintf("The approvals and rejections of %s for %s no longer count: the content changed (revision %d). Approvers must approve it again.",
				b.what(), either(list(m.GetEnvironments()), "its environments"), m.GetContentRevision()), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "one approval of a release for an environment",
			Episode:     episodeApproval, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *releasev1.ApprovalGranted) bool {
			b.env(m.GetEnvironment())
			id := b.release("")
			b.episode("approval", id, m.GetEnvironment())
			b.notice()
			b.label("approver", m.GetApprover())
			b.note("comment", m.GetComment())
			b.summary("%s approved %s for %s", either(m.GetApprover(), "Someone"), b.what(), m.GetEnvironment())
			b.describe(fmt.Sprintf("%s approved %s for %s (roles: %s).", either(m.GetApprover(), "Someone"), b.what(), m.GetEnvironment(),
				either(list(m.GetRoles()), "none recorded")), quoted("Comment", m.GetComment()))
			return true
		}),
		notify(TypeInfo{
			Description: "someone asked the approvers of an environment to decide on a release (floe release request-approval): Slack receivers with interactivity get Approve / Reject buttons",
			Episode:     episodeApproval, Severity: routing.SeverityWarning, Kind: KindNotice,
		}, func(b *builder, m *releasev1.ApprovalRequested) bool {
			b.env(m.GetEnvironment())
			id := b.release("")
			b.episode("approval", id, m.GetEnvironment())
			b.notice()
			b.severity(routing.SeverityWarning)
			b.label("approver_roles", list(m.GetApproverRoles()))
			b.note("note", m.GetNote())
			b.summary("%s awaits approval for %s (%d of %d): %s", b.what(), m.GetEnvironment(), m.GetApprovals(), m.GetRequired(), either(m.GetNote(), "no note"))
			b.describe(fmt.Sprintf("%s asks the approvers of %s (%s) to decide on %s: it has %d of the %d approvals %s requires.",
				either(b.ev.Actor, "Someone"), m.GetEnvironment(), either(list(m.GetApproverRoles()), "no roles"), b.what(), m.GetApprovals(), m.GetRequired(), m.GetEnvironment()),
				quoted("Note", m.GetNote()))
			return true
		}),
		notify(TypeInfo{
			Description: "a release has the approvals an environment requires: it may be promoted there",
			Episode:     episodeApproval, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *releasev1.ReleaseApproved) bool {
			b.env(m.GetEnvironment())
			id := b.release("")
			b.episode("approval", id, m.GetEnvironment())
			b.notice()
			b.summary("%s approved for %s (%d of %d approvals)", b.what(), m.GetEnvironment(), m.GetApprovals(), m.GetRequired())
			b.describe(fmt.Sprintf("%s has the %d approvals %s requires; it may be promoted there.", b.what(), m.GetRequired(), m.GetEnvironment()))
			return true
		}),
		notify(TypeInfo{
			Description: "a release was rejected for an environment: it cannot be promoted there until its content changes",
			Episode:     episodeApproval, Severity: routing.SeverityWarning, Kind: KindFinal,
		}, func(b *builder, m *releasev1.ReleaseRejected) bool {
			b.env(m.GetEnvironment())
			id := b.release("")
			b.episode("approval", id, m.GetEnvironment())
			b.final()
			b.severity(routing.SeverityWarning)
			b.label("rejected_by", m.GetRejectedBy())
			b.note("reason", m.GetReason())
			b.summary("%s rejected %s for %s: %s", either(m.GetRejectedBy(), "Someone"), b.what(), m.GetEnvironment(), m.GetReason())
			b.describe(fmt.Sprintf("%s rejected %s for %s; it cannot be promoted there until its content changes.",
				either(m.GetRejectedBy(), "Someone"), b.what(), m.GetEnvironment()), because(m.GetReason()))
			return true
		}),
		ignore[*releasev1.PrerequisiteAdded]("planning; only a failed prerequisite is told (PrerequisiteUpdated)"),
		notify(TypeInfo{
			Description: "a prerequisite failed (it blocks promotions); told again when it is completed",
			Episode:     episodePrerequisite, Severity: routing.SeverityWarning + " when failed; info when completed (resolves)",
			Resolves: true, ResolvedBy: []string{prereqUpdated},
		}, func(b *builder, m *releasev1.PrerequisiteUpdated) bool {
			id := b.release("")
			b.episode("prerequisite", id, m.GetPrerequisiteId())
			b.label("prerequisite", m.GetPrerequisiteId())
			b.label("owner", m.GetOwner())
			b.note("note", m.GetNote())
			switch m.GetStatus() {
			case releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_FAILED:
				b.severity(routing.SeverityWarning)
				b.summary("Prerequisite %s of %s failed: %s", m.GetPrerequisiteId(), b.what(), m.GetNote())
				b.describe(fmt.Sprintf("Prerequisite %s of %s failed; promotions it gates are refused until it is completed.", m.GetPrerequisiteId(), b.what()),
					quoted("Owner", m.GetOwner()), quoted("Note", m.GetNote()))
			case releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_COMPLETED:
				b.resolve()
				b.summary("Prerequisite %s of %s completed", m.GetPrerequisiteId(), b.what())
			default:
				return false
			}
			return true
		}),
		ignore[*releasev1.RiskAssessed]("planning; the approvals it adds are told as they are granted"),
		ignore[*releasev1.PromotionRequested]("the deployer's DeploymentStarted follows at once and tells of it, with the requester"),
		ignore[*releasev1.ReleaseDeploying](mirror("DeploymentStarted")),
		notify(TypeInfo{
			Description: "a release went live in a production-class environment: its release notes (Markdown), for the receivers a route chooses; " +
				"elsewhere not told (the deployment's own episode tells it)",
			Episode: episodeReleaseNotes, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *releasev1.ReleaseDeployed) bool {
			b.env(m.GetEnvironment())
			if !b.production() {
				return false // the deployment's DeploymentSucceeded tells it
			}
			b.product(m.GetProduct())
			b.label("version", m.GetVersion())
			id := b.release("")
			b.episode("releasenotes", id, m.GetEnvironment())
			b.notice()
			b.label("deployment_id", m.GetDeploymentId())
			b.note("title", m.GetTitle())
			b.summary("%s is live in %s: %s", b.what(), m.GetEnvironment(), m.GetTitle())
			if !b.markdown("notes", m.GetNotes()) {
				// Recorded before ReleaseDeployed carried the notes.
				b.describe(fmt.Sprintf("%s is live in %s.", b.what(), m.GetEnvironment()), "floe release notes "+id+" prints its release notes.")
				return true
			}
			b.markdown("description", m.GetNotes())
			return true
		}),
		ignore[*releasev1.ReleaseDeploymentFailed](mirror("DeploymentFailed")),
		ignore[*releasev1.ReleaseRolledBack](mirror("RolledBack")),
		notify(TypeInfo{
			Description: "a release was cancelled: it will go no further",
			Episode:     episodeRelease, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *releasev1.ReleaseCancelled) bool {
			id := b.release("")
			b.episode("release", id)
			b.notice()
			b.note("reason", m.GetReason())
			b.summary("Release %s cancelled: %s", b.what(), m.GetReason())
			b.describe(fmt.Sprintf("%s cancelled %s; it will not be promoted further.", either(b.ev.Actor, "Someone"), b.what()), because(m.GetReason()))
			return true
		}),
		ignore[*releasev1.VersionReserved]("bookkeeping of the product's version order; ReleaseCreated tells of the release"),
		ignore[*releasev1.ProductDeployed]("bookkeeping of what each environment runs; DeploymentSucceeded tells of it"),
	}
}

func approversSentence(approvers []string) string {
	if l := list(approvers); l != "" {
		return "Approvers asked: " + l + "."
	}
	return ""
}

// markdown sets annotation k to Markdown text v, its line breaks kept and
// cut at maxNotes bytes with "…"; false when v is blank.
func (b *builder) markdown(k, v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if len(v) > maxNotes {
		cut := maxNotes - len("…")
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "…"
	}
	b.e.Annotations[k] = v
	return true
}

// quoted is "What: text." on one line, or "" for empty text.
func quoted(what, text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return ""
	}
	return what + ": " + strings.TrimSuffix(clip(text, maxText), ".") + "."
}
