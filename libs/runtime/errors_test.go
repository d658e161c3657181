package runtime_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/runtime"
)

// secret is text that handlers put in unexpected errors and panics; it must
// reach the log but never the caller.
const secret = "postgres://admin:hunter2@db"

// errorService returns a different error for each input. Its Echo method
// returns the request id the handler saw.
func errorService(rt *runtime.Runtime) service {
	return service{name: "test.v1.Errors", unary: map[string]unaryFunc{
		"Fail": func(ctx context.Context, in string) (string, error) {
			switch in {
			case "invalid":
				var v errs.Violations
				v.Add("release.version", "must be semver")
				v.Add("release.service", "must not be empty")
				return "", v.Err()
			case "not-found":
				return "", &errs.NotFoundError{Kind: "release", ID: "r-1"}
			case "precondition":
				return "", &errs.PreconditionError{Reasons: []string{"gate qa is pending", "gate security failed"}}
			case "conflict":
				return "", fmt.Errorf("append release r-1: %w", errs.ErrConcurrency)
			case "denied":
				// The real authorizer, narrowing to an environment.
				return "", rt.Authz.Require(ctx, "deploy.rollback", "production")
			case "status":
				return "", status.Error(codes.ResourceExhausted, "slow down")
			case "unexpected":
				return "", fmt.Errorf("dial %s: connection refused", secret)
			case "panic":
				panic("lost connection to " + secret)
			}
			return "ok", nil
		},
		"Echo": func(ctx context.Context, in string) (string, error) {
			return runtime.RequestID(ctx), nil
		},
		"Public": func(ctx context.Context, in string) (string, error) {
			if _, ok := auth.FromContext(ctx); ok {
				return "", fmt.Errorf("public method saw a principal")
			}
			return "public " + in, nil
		},
	}}
}

var errorRules = auth.Rules{
	"/test.v1.Errors/Fail":   {Permission: auth.PermSystemRead},
	"/test.v1.Errors/Echo":   {Permission: auth.PermSystemRead},
	"/test.v1.Errors/Public": {Public: true},
}

func startErrorServer(t *testing.T) *testServer {
	t.Helper()
	return startServer(t, serverOptions{setup: func(t *testing.T, rt *runtime.Runtime) {
		errorService(rt).register(t, rt, errorRules)
	}})
}

// statusView flattens a status error for cmp.
type statusView struct {
	Code            codes.Code
	Reason          string
	Metadata        map[string]string
	FieldViolations []string
	Preconditions   []string
}

func viewStatus(err error) statusView {
	st := status.Convert(err)
	v := statusView{Code: st.Code()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			v.Reason, v.Metadata = d.GetReason(), d.GetMetadata()
		case *errdetails.BadRequest:
			for _, f := range d.GetFieldViolations() {
				v.FieldViolations = append(v.FieldViolations, f.GetField()+": "+f.GetDescription())
			}
		case *errdetails.PreconditionFailure:
			for _, p := range d.GetViolations() {
				v.Preconditions = append(v.Preconditions, p.GetDescription())
			}
		}
	}
	return v
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	ts := startErrorServer(t)
	tests := []struct {
		name    string
		in      string
		want    statusView
		wantMsg string
	}{
		{
			name: "invalid argument with every field violation",
			in:   "invalid",
			want: statusView{Code: codes.InvalidArgument, Reason: "INVALID_ARGUMENT", FieldViolations: []string{
				"release.version: must be semver", "release.service: must not be empty",
			}},
			wantMsg: "release.version: must be semver",
		},
		{
			name:    "not found",
			in:      "not-found",
			want:    statusView{Code: codes.NotFound, Reason: "NOT_FOUND", Metadata: map[string]string{"kind": "release", "id": "r-1"}},
			wantMsg: `release "r-1" not found`,
		},
		{
			name:    "failed precondition lists every reason",
			in:      "precondition",
			want:    statusView{Code: codes.FailedPrecondition, Reason: "FAILED_PRECONDITION", Preconditions: []string{"gate qa is pending", "gate security failed"}},
			wantMsg: "gate qa is pending",
		},
		{
			name: "wrapped concurrency conflict",
			in:   "conflict",
			want: statusView{Code: codes.Aborted, Reason: "CONCURRENCY_CONFLICT"},
		},
		{
			name: "permission denied from the authorizer",
			in:   "denied",
			want: statusView{Code: codes.PermissionDenied, Reason: "PERMISSION_DENIED", Metadata: map[string]string{
				"permission": "deploy.rollback", "environment": "production",
			}},
			wantMsg: `alice lacks permission "deploy.rollback" in environment "production"`,
		},
		{
			name:    "status errors pass through",
			in:      "status",
			want:    statusView{Code: codes.ResourceExhausted},
			wantMsg: "slow down",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := callUnary(testCtx(t), ts.conn, "/test.v1.Errors/Fail", tt.in, bearer(aliceToken))
			if diff := cmp.Diff(tt.want, viewStatus(err)); diff != "" {
				t.Errorf("status mismatch (-want +got):\n%s", diff)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
		})
	}
}

// TestUnexpectedErrorsDoNotLeak: an error of no known type, and a panic,
// become Internal with the request id and nothing of the cause; the cause is
// logged; the server keeps serving.
func TestUnexpectedErrorsDoNotLeak(t *testing.T) {
	t.Parallel()
	ts := startErrorServer(t)
	for _, in := range []string{"unexpected", "panic"} {
		t.Run(in, func(t *testing.T) {
			var header metadata.MD
			_, err := callUnary(testCtx(t), ts.conn, "/test.v1.Errors/Fail", in, bearer(aliceToken), grpc.Header(&header))
			if diff := cmp.Diff(statusView{Code: codes.Internal, Reason: "INTERNAL"}, viewStatus(err)); diff != "" {
				t.Errorf("status mismatch (-want +got):\n%s", diff)
			}
			msg := status.Convert(err).Message()
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "connection") {
				t.Errorf("Internal message leaks the cause: %q", msg)
			}
			ids := header.Get(runtime.RequestIDHeader)
			if len(ids) != 1 || ids[0] == "" {
				t.Fatalf("response header %s = %q, want one request id", runtime.RequestIDHeader, ids)
			}
			if !strings.Contains(msg, ids[0]) {
				t.Errorf("Internal message %q does not name the request id %s", msg, ids[0])
			}
			// The full cause is in the server log, on a line with the request id.
			found := false
			for _, line := range strings.Split(ts.logs.String(), "\n") {
				if strings.Contains(line, ids[0]) && strings.Contains(line, "hunter2") {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("no log line holds both the request id %s and the cause; log:\n%s", ids[0], ts.logs.String())
			}
		})
	}
	// Still serving after the panic.
	if got, err := callUnary(testCtx(t), ts.conn, "/test.v1.Errors/Fail", "fine", bearer(aliceToken)); err != nil || got != "ok" {
		t.Errorf("after a panic, Fail(fine) = %q, %v; want ok", got, err)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	ts := startErrorServer(t)
	long := strings.Repeat("x", 129)
	tests := []struct {
		name string
		sent string // "" sends none
		// wantSame: the server uses the id the client sent.
		wantSame bool
	}{
		{name: "generated when the client sends none"},
		{name: "client id is echoed", sent: "client-req-1", wantSame: true},
		{name: "128 characters are accepted", sent: long[:128], wantSame: true},
		{name: "over-long client id is replaced", sent: long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			if tt.sent != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, runtime.RequestIDHeader, tt.sent)
			}
			var header metadata.MD
			seen, err := callUnary(ctx, ts.conn, "/test.v1.Errors/Echo", "", bearer(aliceToken), grpc.Header(&header))
			if err != nil {
				t.Fatalf("Echo: %v", err)
			}
			got := header.Get(runtime.RequestIDHeader)
			if len(got) != 1 || got[0] == "" {
				t.Fatalf("response header %s = %q, want one id", runtime.RequestIDHeader, got)
			}
			if got[0] != seen {
				t.Errorf("response header id %q differs from the handler's RequestID %q", got[0], seen)
			}
			if tt.wantSame && got[0] != tt.sent {
				t.Errorf("request id = %q, want the client's %q", got[0], tt.sent)
			}
			if !tt.wantSame && got[0] == tt.sent {
				t.Errorf("request id = the client's %q, want a generated one", tt.sent)
			}
		})
	}

	// Each call without an id gets its own.
	var h1, h2 metadata.MD
	if _, err := callUnary(testCtx(t), ts.conn, "/test.v1.Errors/Echo", "", bearer(aliceToken), grpc.Header(&h1)); err != nil {
		t.Fatal(err)
	}
	if _, err := callUnary(testCtx(t), ts.conn, "/test.v1.Errors/Echo", "", bearer(aliceToken), grpc.Header(&h2)); err != nil {
		t.Fatal(err)
	}
	if a, b := h1.Get(runtime.RequestIDHeader), h2.Get(runtime.RequestIDHeader); cmp.Equal(a, b) {
		t.Errorf("two calls got the same generated request id %q", a)
	}

	// Refused calls carry a request id too.
	var header metadata.MD
	_, err := callUnary(testCtx(t), ts.conn, "/test.v1.Errors/Echo", "", grpc.Header(&header))
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Echo without token = %v, want Unauthenticated", err)
	}
	if ids := header.Get(runtime.RequestIDHeader); len(ids) != 1 || ids[0] == "" {
		t.Errorf("refused call's header %s = %q, want an id", runtime.RequestIDHeader, ids)
	}
}

func TestPublicRuleSkipsAuthentication(t *testing.T) {
	t.Parallel()
	ts := startErrorServer(t)
	got, err := callUnary(testCtx(t), ts.conn, "/test.v1.Errors/Public", "hi")
	if err != nil || got != "public hi" {
		t.Errorf("Public without a token = %q, %v; want %q", got, err, "public hi")
	}
	// A token that does not authenticate is not even looked at.
	got, err = callUnary(testCtx(t), ts.conn, "/test.v1.Errors/Public", "hi", bearer("floe_wrong"))
	if err != nil || got != "public hi" {
		t.Errorf("Public with a bad token = %q, %v; want %q", got, err, "public hi")
	}
}
