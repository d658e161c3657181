package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
)

func TestViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		add     [][2]string // field, description
		want    []errs.FieldViolation
		wantNil bool
	}{
		{name: "none gives a nil error", wantNil: true},
		{
			name: "one",
			add:  [][2]string{{"version", "must be semver"}},
			want: []errs.FieldViolation{{Field: "version", Description: "must be semver"}},
		},
		{
			name: "several kept in order",
			add:  [][2]string{{"version", "must be semver"}, {"service", "must not be empty"}, {"version", "is taken"}},
			want: []errs.FieldViolation{
				{Field: "version", Description: "must be semver"},
				{Field: "service", Description: "must not be empty"},
				{Field: "version", Description: "is taken"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v errs.Violations
			for _, a := range tt.add {
				v.Add(a[0], "%s", a[1])
			}
			if v.Len() != len(tt.add) {
				t.Errorf("Len() = %d, want %d", v.Len(), len(tt.add))
			}
			err := v.Err()
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			var ia *errs.InvalidArgumentError
			if !errors.As(err, &ia) {
				t.Fatalf("Err() = %T %v, want *errs.InvalidArgumentError", err, err)
			}
			if diff := cmp.Diff(tt.want, ia.Violations); diff != "" {
				t.Errorf("violations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestViolationsErrIsASnapshot(t *testing.T) {
	t.Parallel()
	var v errs.Violations
	v.Add("a", "first")
	err := v.Err()
	v.Add("b", "second")
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("Err() = %T, want *errs.InvalidArgumentError", err)
	}
	want := []errs.FieldViolation{{Field: "a", Description: "first"}}
	if diff := cmp.Diff(want, ia.Violations); diff != "" {
		t.Errorf("earlier error changed by a later Add (-want +got):\n%s", diff)
	}
}

func TestViolationsAddFormats(t *testing.T) {
	t.Parallel()
	var v errs.Violations
	v.Add("replicas", "must be at most %d, got %d", 10, 12)
	want := "invalid argument: replicas: must be at most 10, got 12"
	if got := v.Err().Error(); got != want {
		t.Errorf("Err().Error() = %q, want %q", got, want)
	}
}

func TestConcurrencyConflictIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "fresh conflict error", err: &errs.ConflictError{}, want: true},
		{name: "conflict with message", err: &errs.ConflictError{Message: "stream at 9"}, want: true},
		{name: "sentinel itself", err: errs.ErrConcurrency, want: true},
		{name: "wrapped conflict", err: fmt.Errorf("append: %w", &errs.ConflictError{Message: "x"}), want: true},
		{name: "other typed error", err: &errs.NotFoundError{Kind: "release", ID: "x"}, want: false},
		{name: "plain error", err: errors.New("concurrency conflict"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(tt.err, errs.ErrConcurrency); got != tt.want {
				t.Errorf("errors.Is(%v, ErrConcurrency) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestIsClientError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "invalid argument", err: errs.Invalid("f", "bad"), want: true},
		{name: "not found", err: &errs.NotFoundError{}, want: true},
		{name: "already exists", err: &errs.AlreadyExistsError{}, want: true},
		{name: "conflict", err: errs.ErrConcurrency, want: true},
		{name: "precondition", err: errs.Precondition(0, "no"), want: true},
		{name: "permission denied", err: &errs.PermissionDeniedError{}, want: true},
		{name: "unauthenticated", err: &errs.UnauthenticatedError{}, want: true},
		{name: "too large", err: &errs.TooLargeError{}, want: true},
		{name: "wrapped client error", err: fmt.Errorf("x: %w", &errs.NotFoundError{}), want: true},
		{name: "unavailable is a server-side problem", err: &errs.UnavailableError{What: "nats"}, want: false},
		{name: "context canceled", err: context.Canceled, want: false},
		{name: "plain error", err: errors.New("boom"), want: false},
		{name: "nil", err: nil, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errs.IsClientError(tt.err); got != tt.want {
				t.Errorf("IsClientError(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "not found", err: &errs.NotFoundError{Kind: "release", ID: "r-1"}, want: `release "r-1" not found`},
		{name: "already exists", err: &errs.AlreadyExistsError{Kind: "flag", ID: "f"}, want: `flag "f" already exists`},
		{name: "permission denied plain", err: &errs.PermissionDeniedError{Principal: "p", Permission: "x.y"}, want: `p lacks permission "x.y"`},
		{name: "permission denied detail", err: &errs.PermissionDeniedError{Principal: "p", Permission: "x.y", Detail: "separation of duties"}, want: `p lacks permission "x.y": separation of duties`},
		{name: "too large", err: &errs.TooLargeError{Field: "body", Size: 3, Limit: 2}, want: "body is 3 bytes, over the limit of 2"},
		{name: "unavailable unwraps", err: &errs.UnavailableError{What: "ci", Err: context.DeadlineExceeded}, want: "ci unavailable: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	if !errors.Is(&errs.UnavailableError{What: "ci", Err: context.DeadlineExceeded}, context.DeadlineExceeded) {
		t.Error("UnavailableError does not unwrap to its cause")
	}
}

func TestViolationsMerge(t *testing.T) {
	var v errs.Violations
	v.Merge("rules[0]", nil)
	v.Merge("rules[0]", &errs.InvalidArgumentError{Violations: []errs.FieldViolation{{Field: "name", Description: "bad"}, {Field: "", Description: "whole"}}})
	v.Merge("", errs.Invalid("x", "y"))
	v.Merge("file", errors.New("unreadable"))
	ia, ok := v.Err().(*errs.InvalidArgumentError)
	if !ok {
		t.Fatalf("Err() = %v", v.Err())
	}
	got := fmt.Sprint(ia.Violations)
	want := "[{rules[0].name bad} {rules[0] whole} {x y} {file unreadable}]"
	if got != want {
		t.Errorf("merged %s, want %s", got, want)
	}
}
