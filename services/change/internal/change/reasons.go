package change

import (
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// The catalogued reasons of the refusals, in one place
// (proto/floe/errors/v1, docs/errors.md).
const (
	// reasonState: the change is not in a state that allows the command.
	reasonState = errorsv1.ErrorReason_ERROR_REASON_CHANGE_WRONG_STATE
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
	reasonWindow = errorsv1.ErrorReason_ERROR_REASON_WINDOW_UNSUITABLE
	// reasonPIR: closure of an emergency change without its review.
	reasonPIR = errorsv1.ErrorReason_ERROR_REASON_POST_IMPLEMENTATION_REVIEW_REQUIRED
	// reasonDeployment: an environment whose deployment is already recorded.
	reasonDeployment = errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_BUSY
)
