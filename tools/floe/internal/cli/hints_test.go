package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// TestHints: an error's reason, else its code, gives the advice; an error
// that is not a status (or has nothing to add) gives none; Execute appends
// the hint to the error it returns.
func TestHints(t *testing.T) {
	t.Parallel()
	refuse := func(r errorsv1.ErrorReason) error {
		st, _ := errs.ToStatus(errs.Refuse(r, "refused"))
		return fmt.Errorf("promote: %w", st.Err())
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{refuse(errorsv1.ErrorReason_ERROR_REASON_GATE_NOT_PASSED), "floe gate status"},
		{refuse(errorsv1.ErrorReason_ERROR_REASON_APPROVAL_BY_AUTHOR), "separation of duties"},
		{refuse(errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_FROZEN), "floe freeze list"},
		{status.Error(codes.PermissionDenied, "no"), "floe whoami"},
		{status.Error(codes.Unavailable, "down"), "--server"},
		{status.Error(codes.Internal, "boom"), ""},
		{fmt.Errorf("plain"), ""},
	} {
		if got := hint(c.err); c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("hint(%v) = %q, want one saying %q", c.err, got, c.want)
		}
	}
	var out, errOut strings.Builder
	err := Execute(context.Background(), []string{"--server", "127.0.0.1:1", "--token", "floe_x", "--timeout", "2s", "whoami"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "hint: is the server running") {
		t.Errorf("whoami against nothing: %v", err)
	}
}
