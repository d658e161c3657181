package errs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// ToStatus maps err to a gRPC status with ErrorInfo (and BadRequest where
// fields are at fault). known is false for errors that are none of this
// package's types: those become codes.Internal with a generic message, and
// the caller is expected to log the original error.
func ToStatus(err error) (st *status.Status, known bool) {
	if err == nil {
		return status.New(codes.OK, ""), true
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return s, true // already a status (e.g. from a gRPC client call or auth)
	}
	var (
		ia *InvalidArgumentError
		nf *NotFoundError
		ae *AlreadyExistsError
		ce *ConflictError
		pe *PreconditionError
		pd *PermissionDeniedError
		ue *UnauthenticatedError
		tl *TooLargeError
		un *UnavailableError
	)
	switch {
	case errors.As(err, &ia):
		bad := &errdetails.BadRequest{}
		for _, v := range ia.Violations {
			bad.FieldViolations = append(bad.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		return with(codes.InvalidArgument, strings.TrimPrefix(ia.Error(), "invalid argument: "), orDefault(ia.Reason, errorsv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT), nil, bad), true
	case errors.As(err, &tl):
		bad := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: tl.Field, Description: tl.Error()}}}
		return with(codes.InvalidArgument, tl.Error(), errorsv1.ErrorReason_ERROR_REASON_TOO_LARGE,
			map[string]string{"field": tl.Field, "limit": strconv.Itoa(tl.Limit)}, bad), true
	case errors.As(err, &nf):
		return with(codes.NotFound, nf.Error(), errorsv1.ErrorReason_ERROR_REASON_NOT_FOUND, map[string]string{"kind": nf.Kind, "id": nf.ID}), true
	case errors.As(err, &ae):
		return with(codes.AlreadyExists, ae.Error(), errorsv1.ErrorReason_ERROR_REASON_ALREADY_EXISTS, map[string]string{"kind": ae.Kind, "id": ae.ID}), true
	case errors.As(err, &ce):
		return with(codes.Aborted, ce.Message, errorsv1.ErrorReason_ERROR_REASON_CONCURRENCY_CONFLICT, nil), true
	case errors.As(err, &pe):
		md := map[string]string{}
		for k, v := range pe.Metadata {
			md[k] = v
		}
		pf := &errdetails.PreconditionFailure{}
		for i, r := range pe.Reasons {
			kind := pe.Reason
			if i < len(pe.Kinds) {
				kind = pe.Kinds[i]
			}
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: ReasonString(orDefault(kind, errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION)), Description: r})
		}
		return with(codes.FailedPrecondition, strings.Join(pe.Reasons, "; "), orDefault(pe.Reason, errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION), md, pf), true
	case errors.As(err, &pd):
		md := map[string]string{"permission": pd.Permission}
		if pd.Environment != "" {
			md["environment"] = pd.Environment
		}
		return with(codes.PermissionDenied, pd.Error(), errorsv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED, md), true
	case errors.As(err, &ue):
		return with(codes.Unauthenticated, ue.Message, errorsv1.ErrorReason_ERROR_REASON_UNAUTHENTICATED, nil), true
	case errors.As(err, &un):
		return with(codes.Unavailable, un.Error(), errorsv1.ErrorReason_ERROR_REASON_UNAVAILABLE, nil), true
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled"), true
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded"), true
	}
	return InternalStatus(""), false
}

// InternalStatus is the status of an unexpected server fault. It says nothing
// of the cause (which may hold secrets); the request id finds it in the log.
func InternalStatus(requestID string) *status.Status {
	msg := "internal error"
	if requestID != "" {
		msg += " (request " + requestID + ")"
	}
	return with(codes.Internal, msg, errorsv1.ErrorReason_ERROR_REASON_INTERNAL, nil)
}

func orDefault(r, def Reason) Reason {
	if r == errorsv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		return def
	}
	return r
}

func with(code codes.Code, msg string, reason Reason, md map[string]string, extra ...protoadapt.MessageV1) *status.Status {
	st := status.New(code, msg)
	details := append([]protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: ReasonString(reason), Domain: Domain, Metadata: md}}, extra...)
	if withDetails, err := st.WithDetails(details...); err == nil {
		return withDetails
	}
	return st
}

// Describe renders a status error for people: the message, then each field
// violation and precondition on its own line, then the reason. Used by the CLI.
func Describe(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	var lines []string
	reason := ""
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				lines = append(lines, v.GetField()+": "+v.GetDescription())
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				lines = append(lines, v.GetDescription())
			}
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		}
	}
	var b strings.Builder
	if len(lines) > 1 {
		// The message joins the same lines; list them once, one per line.
		fmt.Fprintf(&b, "%s: %d problems:", st.Code(), len(lines))
		for _, l := range lines {
			fmt.Fprintf(&b, "\n  - %s", l)
		}
	} else {
		fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	}
	if reason != "" {
		fmt.Fprintf(&b, "\n  reason: %s", reason)
	}
	return b.String()
}

// ReasonOf returns the ErrorInfo reason of a status error, or "".
func ReasonOf(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
