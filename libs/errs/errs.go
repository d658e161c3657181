// Package errs holds Floe's typed domain errors and their mapping to gRPC status.
//
// Domain and application code return these types (or wrap them); exactly one
// place, the runtime's error interceptor, turns them into a google.rpc.Status
// with BadRequest field violations and an ErrorInfo whose reason comes from the
// catalogue in proto/floe/errors/v1/errors.proto. Handlers never build status
// errors themselves.
package errs

import (
	"errors"
	"fmt"
	"strings"

	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Domain is the ErrorInfo domain of every Floe error.
const Domain = "floe.penguinmails.dev"

// Reason is a catalogued error reason (see errorsv1.ErrorReason).
type Reason = errorsv1.ErrorReason

// ReasonString is the wire form of a reason: the enum value name without its
// "ERROR_REASON_" prefix, e.g. "NOT_FOUND".
func ReasonString(r Reason) string {
	return strings.TrimPrefix(r.String(), "ERROR_REASON_")
}

// ErrConcurrency reports that an append lost an optimistic-concurrency race:
// the aggregate changed since it was loaded. Callers reload and retry.
var ErrConcurrency = &ConflictError{Message: "the resource was changed concurrently; reload and retry"}

// FieldViolation is one invalid field of a request.
type FieldViolation struct {
	// Field is the path of the field, e.g. "release.version" or "changes[2].summary".
	Field string
	// Description says what is wrong and what would be accepted.
	Description string
}

// InvalidArgumentError reports malformed input. It carries every violation
// found, not only the first.
type InvalidArgumentError struct {
	Reason     Reason // defaults to INVALID_ARGUMENT
	Violations []FieldViolation
}

func (e *InvalidArgumentError) Error() string {
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.Field+": "+v.Description)
	}
	return "invalid argument: " + strings.Join(parts, "; ")
}

// Violations collects field violations; its Err returns nil when there are none.
type Violations struct{ list []FieldViolation }

// Add records a violation of field.
func (v *Violations) Add(field, format string, args ...any) {
	v.list = append(v.list, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Merge adds the violations of err (an *InvalidArgumentError, else one
// violation of prefix with err's text), each field prefixed with prefix and a
// dot ("rules[0]" + "name" → "rules[0].name"). A nil err adds nothing.
func (v *Violations) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	var ia *InvalidArgumentError
	if !errors.As(err, &ia) {
		v.Add(prefix, "%s", err.Error())
		return
	}
	for _, fv := range ia.Violations {
		switch {
		case prefix == "":
		case fv.Field == "":
			fv.Field = prefix
		default:
			fv.Field = prefix + "." + fv.Field
		}
		v.list = append(v.list, fv)
	}
}

// Len is the number of violations so far.
func (v *Violations) Len() int { return len(v.list) }

// Err returns an *InvalidArgumentError with every violation, or nil.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	return &InvalidArgumentError{Violations: append([]FieldViolation(nil), v.list...)}
}

// Invalid is shorthand for a single-field InvalidArgumentError.
func Invalid(field, format string, args ...any) error {
	return &InvalidArgumentError{Violations: []FieldViolation{{Field: field, Description: fmt.Sprintf(format, args...)}}}
}

// NotFoundError reports a missing resource.
type NotFoundError struct {
	Kind string // e.g. "release"
	ID   string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.ID) }

// AlreadyExistsError reports a resource that exists already.
type AlreadyExistsError struct {
	Kind string
	ID   string
}

func (e *AlreadyExistsError) Error() string { return fmt.Sprintf("%s %q already exists", e.Kind, e.ID) }

// ConflictError reports a lost concurrency race. errors.Is(err, ErrConcurrency)
// holds for every ConflictError.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return "concurrency conflict: " + e.Message }

// Is makes every ConflictError match ErrConcurrency.
func (e *ConflictError) Is(target error) bool { return target == ErrConcurrency }

// PreconditionError reports a valid request that the current state does not
// allow. It lists every reason the request was refused.
type PreconditionError struct {
	Reason  Reason // defaults to FAILED_PRECONDITION; with Kinds, the first problem's
	Reasons []string
	// Kinds, when set, is the catalogued reason of each entry of Reasons
	// (the PreconditionFailure violation's type); Reason otherwise.
	Kinds []Reason
	// Metadata is copied into ErrorInfo.metadata (e.g. {"status": "deployed"}).
	Metadata map[string]string
}

// Refusals collects every reason a request is refused, each with its
// catalogued reason; Err returns them as one *PreconditionError whose
// ErrorInfo reason is the first one's.
type Refusals struct {
	kinds []Reason
	texts []string
}

// Add records a refusal.
func (r *Refusals) Add(reason Reason, format string, args ...any) {
	r.kinds = append(r.kinds, reason)
	r.texts = append(r.texts, fmt.Sprintf(format, args...))
}

// Len is the number of refusals so far.
func (r *Refusals) Len() int { return len(r.texts) }

// Err returns the *PreconditionError, or nil when nothing was refused.
func (r *Refusals) Err() error {
	if len(r.texts) == 0 {
		return nil
	}
	return &PreconditionError{Reason: r.kinds[0], Reasons: append([]string(nil), r.texts...), Kinds: append([]Reason(nil), r.kinds...)}
}

// Refuse is a PreconditionError with one reason.
func Refuse(reason Reason, format string, args ...any) error {
	return &PreconditionError{Reason: reason, Reasons: []string{fmt.Sprintf(format, args...)}, Kinds: []Reason{reason}}
}

func (e *PreconditionError) Error() string {
	return "failed precondition: " + strings.Join(e.Reasons, "; ")
}

// Precondition builds a PreconditionError with the given reason and explanations.
func Precondition(reason Reason, reasons ...string) error {
	return &PreconditionError{Reason: reason, Reasons: reasons}
}

// PermissionDeniedError reports an authenticated caller without a permission.
type PermissionDeniedError struct {
	Principal   string
	Permission  string
	Environment string // empty when the permission is not environment-scoped
	Detail      string // optional extra explanation (e.g. separation of duties)
}

func (e *PermissionDeniedError) Error() string {
	msg := fmt.Sprintf("%s lacks permission %q", e.Principal, e.Permission)
	if e.Environment != "" {
		msg += fmt.Sprintf(" in environment %q", e.Environment)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// UnauthenticatedError reports missing or invalid credentials. Message is safe
// to show the caller; it never contains the credential itself.
type UnauthenticatedError struct{ Message string }

func (e *UnauthenticatedError) Error() string { return "unauthenticated: " + e.Message }

// TooLargeError reports an oversized field or payload.
type TooLargeError struct {
	Field string
	Size  int
	Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is %d bytes, over the limit of %d", e.Field, e.Size, e.Limit)
}

// UnavailableError reports a dependency that cannot be reached now; retrying may succeed.
type UnavailableError struct {
	What string
	Err  error
}

func (e *UnavailableError) Error() string { return e.What + " unavailable: " + errString(e.Err) }
func (e *UnavailableError) Unwrap() error { return e.Err }

func errString(err error) string {
	if err == nil {
		return "unknown cause"
	}
	return err.Error()
}

// IsClientError reports whether err is one of the typed errors above (a
// problem with the request or state, not a server fault).
func IsClientError(err error) bool {
	var (
		ia *InvalidArgumentError
		nf *NotFoundError
		ae *AlreadyExistsError
		ce *ConflictError
		pe *PreconditionError
		pd *PermissionDeniedError
		ue *UnauthenticatedError
		tl *TooLargeError
	)
	return errors.As(err, &ia) || errors.As(err, &nf) || errors.As(err, &ae) || errors.As(err, &ce) ||
		errors.As(err, &pe) || errors.As(err, &pd) || errors.As(err, &ue) || errors.As(err, &tl)
}
