package domain

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/enumtext"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Summarize is a one-line description of an event for the release's history.
func Summarize(ev proto.Message, actor string) string {
	switch e := ev.(type) {
	case *releasev1.ReleaseCreated:
		return fmt.Sprintf("%s planned %s %s %q for %s", actor, typeName(e.GetType()), e.GetVersion(), e.GetTitle(), strings.Join(e.GetTargetEnvironments(), " → "))
	case *releasev1.ReleaseUpdated:
		if e.GetContentChanged() {
			return actor + " edited the release (content changed)"
		}
		return actor + " edited the release"
	case *releasev1.ChangeAdded:
		return fmt.Sprintf("%s added %s %q", actor, strings.ToLower(strings.TrimPrefix(e.GetChange().GetKind().String(), "CHANGE_KIND_")), e.GetChange().GetSummary())
	case *releasev1.ApprovalsVoided:
		return fmt.Sprintf("approvals for %s voided: %s", strings.Join(e.GetEnvironments(), ", "), e.GetReason())
	case *releasev1.ApprovalGranted:
		return fmt.Sprintf("%s approved for %s as %s", e.GetApprover(), e.GetEnvironment(), strings.Join(e.GetRoles(), ", ")) + relayed(e.GetVia(), e.GetDelegate())
	case *releasev1.ReleaseApproved:
		return fmt.Sprintf("approved for %s (%d of %d approvals)", e.GetEnvironment(), e.GetApprovals(), e.GetRequired())
	case *releasev1.ApprovalRequested:
		s := fmt.Sprintf("approval for %s requested (%d of %d; approvers: %s)", e.GetEnvironment(), e.GetApprovals(), e.GetRequired(), strings.Join(e.GetApproverRoles(), ", "))
		if e.GetNote() != "" {
			s += ": " + e.GetNote()
		}
		return s
	case *releasev1.ReleaseRejected:
		return fmt.Sprintf("%s rejected for %s: %s", e.GetRejectedBy(), e.GetEnvironment(), e.GetReason()) + relayed(e.GetVia(), e.GetDelegate())
	case *releasev1.PrerequisiteAdded:
		return fmt.Sprintf("%s added prerequisite %s: %s", actor, e.GetPrerequisite().GetId(), e.GetPrerequisite().GetDescription())
	case *releasev1.PrerequisiteUpdated:
		// Only what the update carries: an owner- or deadline-only update has no status.
		var what []string
		if e.GetStatus() != releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_UNSPECIFIED {
			what = append(what, "status "+strings.ToLower(strings.TrimPrefix(e.GetStatus().String(), "PREREQUISITE_STATUS_")))
		}
		if e.GetOwner() != "" {
			what = append(what, "owner "+e.GetOwner())
		}
		if e.GetDeadline() != nil {
			what = append(what, "deadline "+e.GetDeadline().AsTime().UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("%s updated prerequisite %s: %s", actor, e.GetPrerequisiteId(), strings.Join(what, ", "))
	case *releasev1.RiskAssessed:
		return fmt.Sprintf("%s assessed risk: impact %s, likelihood %s (+%d approvals)", actor,
			strings.ToLower(strings.TrimPrefix(e.GetRisk().GetImpact().String(), "RISK_IMPACT_")),
			strings.ToLower(strings.TrimPrefix(e.GetRisk().GetLikelihood().String(), "RISK_LIKELIHOOD_")), e.GetRisk().GetExtraApprovals())
	case *releasev1.PromotionRequested:
		strategy, _ := enumtext.Resolve(e.GetStrategyType(), e.GetStrategy())
		return fmt.Sprintf("%s requested promotion to %s (%s, attempt %d)", e.GetRequestedBy(), e.GetEnvironment(), enumtext.Name(strategy), e.GetAttempt())
	case *releasev1.ReleaseDeploying:
		return fmt.Sprintf("deploying to %s (deployment %s)", e.GetEnvironment(), e.GetDeploymentId())
	case *releasev1.ReleaseDeployed:
		return fmt.Sprintf("deployed to %s", e.GetEnvironment())
	case *releasev1.ReleaseDeploymentFailed:
		return fmt.Sprintf("deployment to %s failed", e.GetEnvironment()) + because(e.GetReason())
	case *releasev1.ReleaseRolledBack:
		line := "rolled back in " + e.GetEnvironment()
		if e.GetRestoredVersion() != "" { // empty when nothing earlier was restored
			line += " to " + e.GetRestoredVersion()
		}
		return line + because(e.GetReason())
	case *releasev1.ReleaseCancelled:
		return fmt.Sprintf("%s cancelled the release: %s", actor, e.GetReason())
	}
	return string(ev.ProtoReflect().Descriptor().Name())
}

// relayed is " (via slack, relayed by notifier)" for a decision a delegate
// relayed, or nothing for a direct one.
func relayed(via, delegate string) string {
	if via == "" && delegate == "" {
		return ""
	}
	return fmt.Sprintf(" (via %s, relayed by %s)", via, delegate)
}

// because is ": reason", or nothing without one.
func because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}
