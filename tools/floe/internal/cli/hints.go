package cli

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/errs"
)

// hint is a line of advice for an error: what to run or check next. The
// error's reason (ErrorInfo) is more precise than its code; "" when there
// is nothing useful to add.
func hint(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	switch strings.TrimPrefix(errs.ReasonOf(st.Err()), "ERROR_REASON_") {
	case "GATE_NOT_PASSED":
		return "floe gate status RELEASE --env ENV shows each gate; CI reports with floe gate report"
	case "APPROVALS_MISSING":
		return "floe release get RELEASE shows the approvals; an approver runs floe release approve RELEASE --env ENV (floe release request-approval asks them)"
	case "PROMOTION_ORDER":
		return "promote through the environments in order: floe release get RELEASE shows where it is"
	case "APPROVAL_BY_AUTHOR", "APPROVAL_BY_PROMOTER", "OVERRIDE_BY_AUTHOR_OR_PROMOTER":
		return "separation of duties: someone else must do it (floe whoami says who you are)"
	case "ENVIRONMENT_BUSY":
		return "floe deploy list --env ENV shows the active deployment; wait for it or floe deploy abort it"
	case "ENVIRONMENT_FROZEN", "OUTSIDE_DEPLOYMENT_WINDOW":
		return "floe freeze list and floe window list show the calendar; a change request can authorize it (floe change)"
	case "CONCURRENCY_CONFLICT":
		return "someone changed it meanwhile: read it again and retry"
	case "AGGREGATE_TAMPERED":
		return "floe integrity list shows the event that fails verification"
	}
	switch st.Code() {
	case codes.Unauthenticated:
		return "check --token (FLOE_TOKEN), the config file or floe dev's credentials; floe whoami shows who the server thinks you are"
	case codes.PermissionDenied:
		return "floe whoami lists your roles in each environment"
	case codes.Unavailable:
		return "is the server running and reachable at --server (FLOE_SERVER)? floe dev starts one on 127.0.0.1:7400"
	case codes.NotFound:
		return "floe release list (or the command's list) shows what exists; a release is also PRODUCT@VERSION"
	}
	return ""
}
