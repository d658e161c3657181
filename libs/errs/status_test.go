package errs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// summary is a status flattened into plain values so cmp.Diff reports
// readable differences.
type summary struct {
	Code            codes.Code
	Message         string
	Reason          string
	Domain          string
	Metadata        map[string]string
	FieldViolations []string // "field: description"
	Preconditions   []string // "type: description"
	Unexpected      []string // details of any other type
}

func summarize(t *testing.T, st *status.Status) summary {
	t.Helper()
	s := summary{Code: st.Code(), Message: st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			s.Reason, s.Domain, s.Metadata = d.GetReason(), d.GetDomain(), d.GetMetadata()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				s.FieldViolations = append(s.FieldViolations, v.GetField()+": "+v.GetDescription())
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				s.Preconditions = append(s.Preconditions, v.GetType()+": "+v.GetDescription())
			}
		case error:
			t.Fatalf("status detail could not be decoded: %v", d)
		default:
			s.Unexpected = append(s.Unexpected, fmt.Sprintf("%T", d))
		}
	}
	return s
}

func TestToStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		want      summary
		wantKnown bool
	}{
		{
			name:      "nil is OK",
			err:       nil,
			want:      summary{Code: codes.OK},
			wantKnown: true,
		},
		{
			name: "invalid argument carries every field violation",
			err: &errs.InvalidArgumentError{Violations: []errs.FieldViolation{
				{Field: "release.version", Description: "must be semver"},
				{Field: "changes[2].summary", Description: "must not be empty"},
			}},
			want: summary{
				Code:    codes.InvalidArgument,
				Message: "release.version: must be semver; changes[2].summary: must not be empty",
				Reason:  "INVALID_ARGUMENT", Domain: errs.Domain,
				FieldViolations: []string{"release.version: must be semver", "changes[2].summary: must not be empty"},
			},
			wantKnown: true,
		},
		{
			name: "invalid argument with its own reason",
			err: &errs.InvalidArgumentError{
				Reason:     errorsv1.ErrorReason_ERROR_REASON_TOO_LARGE,
				Violations: []errs.FieldViolation{{Field: "notes", Description: "too long"}},
			},
			want: summary{
				Code: codes.InvalidArgument, Message: "notes: too long",
				Reason: "TOO_LARGE", Domain: errs.Domain,
				FieldViolations: []string{"notes: too long"},
			},
			wantKnown: true,
		},
		{
			name: "wrapped invalid argument",
			err:  fmt.Errorf("create release: %w", errs.Invalid("name", "must match %s", "[a-z]+")),
			want: summary{
				Code: codes.InvalidArgument, Message: "name: must match [a-z]+",
				Reason: "INVALID_ARGUMENT", Domain: errs.Domain,
				FieldViolations: []string{"name: must match [a-z]+"},
			},
			wantKnown: true,
		},
		{
			name: "too large",
			err:  &errs.TooLargeError{Field: "artifact", Size: 2048, Limit: 1024},
			want: summary{
				Code: codes.InvalidArgument, Message: "artifact is 2048 bytes, over the limit of 1024",
				Reason: "TOO_LARGE", Domain: errs.Domain,
				Metadata:        map[string]string{"field": "artifact", "limit": "1024"},
				FieldViolations: []string{"artifact: artifact is 2048 bytes, over the limit of 1024"},
			},
			wantKnown: true,
		},
		{
			name: "not found",
			err:  &errs.NotFoundError{Kind: "release", ID: "r-1"},
			want: summary{
				Code: codes.NotFound, Message: `release "r-1" not found`,
				Reason: "NOT_FOUND", Domain: errs.Domain,
				Metadata: map[string]string{"kind": "release", "id": "r-1"},
			},
			wantKnown: true,
		},
		{
			name: "already exists",
			err:  &errs.AlreadyExistsError{Kind: "flag", ID: "dark-mode"},
			want: summary{
				Code: codes.AlreadyExists, Message: `flag "dark-mode" already exists`,
				Reason: "ALREADY_EXISTS", Domain: errs.Domain,
				Metadata: map[string]string{"kind": "flag", "id": "dark-mode"},
			},
			wantKnown: true,
		},
		{
			name: "concurrency sentinel",
			err:  errs.ErrConcurrency,
			want: summary{
				Code: codes.Aborted, Message: "the resource was changed concurrently; reload and retry",
				Reason: "CONCURRENCY_CONFLICT", Domain: errs.Domain,
			},
			wantKnown: true,
		},
		{
			name: "wrapped conflict",
			err:  fmt.Errorf("append: %w", &errs.ConflictError{Message: "stream moved to 7"}),
			want: summary{
				Code: codes.Aborted, Message: "stream moved to 7",
				Reason: "CONCURRENCY_CONFLICT", Domain: errs.Domain,
			},
			wantKnown: true,
		},
		{
			name: "precondition lists every reason and keeps metadata",
			err: &errs.PreconditionError{
				Reasons:  []string{"gate qa is pending", "gate security failed"},
				Metadata: map[string]string{"status": "candidate"},
			},
			want: summary{
				Code: codes.FailedPrecondition, Message: "gate qa is pending; gate security failed",
				Reason: "FAILED_PRECONDITION", Domain: errs.Domain,
				Metadata:      map[string]string{"status": "candidate"},
				Preconditions: []string{"FAILED_PRECONDITION: gate qa is pending", "FAILED_PRECONDITION: gate security failed"},
			},
			wantKnown: true,
		},
		{
			name: "precondition with its own reason",
			err:  errs.Precondition(errorsv1.ErrorReason_ERROR_REASON_ALREADY_EXISTS, "already deployed"),
			want: summary{
				Code: codes.FailedPrecondition, Message: "already deployed",
				Reason: "ALREADY_EXISTS", Domain: errs.Domain,
				Preconditions: []string{"ALREADY_EXISTS: already deployed"},
			},
			wantKnown: true,
		},
		{
			name: "permission denied in an environment",
			err:  &errs.PermissionDeniedError{Principal: "alice", Permission: "deploy.operate", Environment: "production", Detail: "roles held: developer"},
			want: summary{
				Code: codes.PermissionDenied, Message: `alice lacks permission "deploy.operate" in environment "production": roles held: developer`,
				Reason: "PERMISSION_DENIED", Domain: errs.Domain,
				Metadata: map[string]string{"permission": "deploy.operate", "environment": "production"},
			},
			wantKnown: true,
		},
		{
			name: "permission denied without environment",
			err:  &errs.PermissionDeniedError{Principal: "bob", Permission: "audit.read"},
			want: summary{
				Code: codes.PermissionDenied, Message: `bob lacks permission "audit.read"`,
				Reason: "PERMISSION_DENIED", Domain: errs.Domain,
				Metadata: map[string]string{"permission": "audit.read"},
			},
			wantKnown: true,
		},
		{
			name: "unauthenticated",
			err:  &errs.UnauthenticatedError{Message: "unknown token"},
			want: summary{
				Code: codes.Unauthenticated, Message: "unknown token",
				Reason: "UNAUTHENTICATED", Domain: errs.Domain,
			},
			wantKnown: true,
		},
		{
			name: "unavailable",
			err:  &errs.UnavailableError{What: "nats", Err: errors.New("connection refused")},
			want: summary{
				Code: codes.Unavailable, Message: "nats unavailable: connection refused",
				Reason: "UNAVAILABLE", Domain: errs.Domain,
			},
			wantKnown: true,
		},
		{
			name: "unavailable without cause",
			err:  &errs.UnavailableError{What: "ci"},
			want: summary{
				Code: codes.Unavailable, Message: "ci unavailable: unknown cause",
				Reason: "UNAVAILABLE", Domain: errs.Domain,
			},
			wantKnown: true,
		},
		{
			name:      "context canceled",
			err:       fmt.Errorf("load: %w", context.Canceled),
			want:      summary{Code: codes.Canceled, Message: "request canceled"},
			wantKnown: true,
		},
		{
			name:      "deadline exceeded",
			err:       fmt.Errorf("load: %w", context.DeadlineExceeded),
			want:      summary{Code: codes.DeadlineExceeded, Message: "deadline exceeded"},
			wantKnown: true,
		},
		{
			name:      "existing status passes through",
			err:       status.Error(codes.ResourceExhausted, "slow down"),
			want:      summary{Code: codes.ResourceExhausted, Message: "slow down"},
			wantKnown: true,
		},
		{
			name: "status with code Unknown is treated as unexpected",
			err:  status.Error(codes.Unknown, "db password is hunter2"),
			want: summary{
				Code: codes.Internal, Message: "internal error",
				Reason: "INTERNAL", Domain: errs.Domain,
			},
			wantKnown: false,
		},
		{
			name: "plain error becomes a generic internal error",
			err:  errors.New("dial postgres://admin:hunter2@db: refused"),
			want: summary{
				Code: codes.Internal, Message: "internal error",
				Reason: "INTERNAL", Domain: errs.Domain,
			},
			wantKnown: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, known := errs.ToStatus(tt.err)
			if known != tt.wantKnown {
				t.Errorf("ToStatus(%v) known = %v, want %v", tt.err, known, tt.wantKnown)
			}
			if diff := cmp.Diff(tt.want, summarize(t, st)); diff != "" {
				t.Errorf("ToStatus(%v) mismatch (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}

func TestInternalStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		requestID string
		want      summary
	}{
		{
			name:      "with request id",
			requestID: "req-42",
			want:      summary{Code: codes.Internal, Message: "internal error (request req-42)", Reason: "INTERNAL", Domain: errs.Domain},
		},
		{
			name: "without request id",
			want: summary{Code: codes.Internal, Message: "internal error", Reason: "INTERNAL", Domain: errs.Domain},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, summarize(t, errs.InternalStatus(tt.requestID))); diff != "" {
				t.Errorf("InternalStatus(%q) mismatch (-want +got):\n%s", tt.requestID, diff)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	toErr := func(err error) error {
		st, _ := errs.ToStatus(err)
		return st.Err()
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "field violations each on a line",
			err: toErr(&errs.InvalidArgumentError{Violations: []errs.FieldViolation{
				{Field: "version", Description: "must be semver"},
				{Field: "service", Description: "must not be empty"},
			}}),
			want: "InvalidArgument: 2 problems:" +
				"\n  - version: must be semver" +
				"\n  - service: must not be empty" +
				"\n  reason: INVALID_ARGUMENT",
		},
		{
			name: "several preconditions each on a line",
			err:  toErr(&errs.PreconditionError{Reasons: []string{"gate qa is pending", "no approval"}}),
			want: "FailedPrecondition: 2 problems:" +
				"\n  - gate qa is pending" +
				"\n  - no approval" +
				"\n  reason: FAILED_PRECONDITION",
		},
		{
			name: "single precondition is only in the message",
			err:  toErr(errs.Precondition(0, "release is archived")),
			want: "FailedPrecondition: release is archived\n  reason: FAILED_PRECONDITION",
		},
		{
			name: "status without details",
			err:  status.Error(codes.Unavailable, "connection refused"),
			want: "Unavailable: connection refused",
		},
		{
			name: "plain error",
			err:  errors.New("boom"),
			want: "boom",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, errs.Describe(tt.err)); diff != "" {
				t.Errorf("Describe mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReasonOf(t *testing.T) {
	t.Parallel()
	notFound, _ := errs.ToStatus(&errs.NotFoundError{Kind: "release", ID: "x"})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "typed error mapped to status", err: notFound.Err(), want: "NOT_FOUND"},
		{name: "status without ErrorInfo", err: status.Error(codes.NotFound, "x"), want: ""},
		{name: "not a status", err: errors.New("x"), want: ""},
		{name: "nil", err: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errs.ReasonOf(tt.err); got != tt.want {
				t.Errorf("ReasonOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestReasonString(t *testing.T) {
	t.Parallel()
	for r := range errorsv1.ErrorReason_name {
		reason := errorsv1.ErrorReason(r)
		got := errs.ReasonString(reason)
		if strings.HasPrefix(got, "ERROR_REASON_") || got == "" {
			t.Errorf("ReasonString(%v) = %q, want the name without its prefix", reason, got)
		}
	}
	if got := errs.ReasonString(errorsv1.ErrorReason_ERROR_REASON_CONCURRENCY_CONFLICT); got != "CONCURRENCY_CONFLICT" {
		t.Errorf("ReasonString(CONCURRENCY_CONFLICT) = %q, want %q", got, "CONCURRENCY_CONFLICT")
	}
}
