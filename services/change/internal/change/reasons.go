package change

import (
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// The catalogued reasons of the refusals, in one place. The catalogue
// (proto/floe/errors/v1) has no change-specific values yet; these are the
// closest existing ones, and each constant is where a dedicated value
// (CHANGE_WRONG_STATE, PIR_REQUIRED …) would be plugged in.
const (
	// reasonState: the change is not in a state that allows the command.
	reasonState = errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION
	// reasonBySubmitter: separation of duties, the submitter decides.
	reasonBySubmitter = errorsv1.ErrorReason_ERROR_REASON_APPROVAL_BY_AUTHOR
	// reasonAlreadyApproved: one approval per person.
	reasonAlreadyApproved = errorsv1.ErrorReason_ERROR_REASON_ALREADY_APPROVED
	// reasonNotApprover: the principal does not hold a role that approves.
	reasonNotApprover = errorsv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED
	// reasonNotCovered: a release or environment the change does not cover.
	reasonNotCovered = errorsv1.ErrorReason_ERROR_REASON_NOT_A_TARGET
	// reasonApprovals: approvals the change still needs.
	reasonApprovals = errorsv1.ErrorReason_ERROR_REASON_APPROVALS_MISSING
	// reasonWindow: a window that does not fit the change.
	reasonWindow = errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION
	// reasonPIR: closure of an emergency change without its review.
	reasonPIR = errorsv1.ErrorReason_ERROR_REASON_PREREQUISITE_NOT_MET
	// reasonDeployment: an environment whose deployment is already recorded.
	reasonDeployment = errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_BUSY
)
