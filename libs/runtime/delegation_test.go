package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/testkit"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// TestDelegatedCallOriginAndLog: through the runtime's interceptors, a call
// relay makes on behalf of alice (OnBehalfOf) acts as alice — she is the
// causal origin's actor, so the actor of every event it appends, and her
// principal keys its idempotency — and its log line names both.
func TestDelegatedCallOriginAndLog(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{setup: func(t *testing.T, rt *runtime.Runtime) {
		rules := auth.Rules{"/test.v1.Origin/Show": {Permission: auth.PermSystemRead, Delegable: true}}
		if err := rt.Register(originService(), struct{}{}, rules); err != nil {
			t.Fatal(err)
		}
	}})
	show := func(ctx context.Context, token string, req *releasev1.ApproveRequest) (string, error) {
		out := new(wrapperspb.StringValue)
		err := ts.conn.Invoke(ctx, "/test.v1.Origin/Show", req, out, bearer(token))
		return out.GetValue(), err
	}

	got, err := show(auth.OnBehalfOf(testCtx(t), "alice", "slack"), relayTok, &releasev1.ApproveRequest{RequestId: "slack-action-1"})
	if err != nil {
		t.Fatalf("delegated call: %v", err)
	}
	for _, w := range []string{"actor=alice", "key=" + causal.Key("alice", "slack-action-1")} {
		if !strings.Contains(got, w) {
			t.Errorf("handler saw %q; want %q", got, w)
		}
	}
	wantLine(t, ts, "slack-action-1", map[string]string{"user_id": "alice", "delegate": "relay", "via": "slack"})

	// Refusals: the log names the caller, and nothing says it acted for anyone.
	_, err = show(auth.OnBehalfOf(testCtx(t), "root", "slack"), relayTok, &releasev1.ApproveRequest{RequestId: "slack-action-2"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "does not cover the principal") {
		t.Errorf("acting for root: %v, want PermissionDenied", err)
	}
	wantLine(t, ts, "slack-action-2", map[string]string{"user_id": "relay", "delegate": "", "via": ""})
	_, err = show(auth.OnBehalfOf(testCtx(t), "alice", "Slack!"), relayTok, &releasev1.ApproveRequest{RequestId: "slack-action-3"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), auth.ViaHeader) {
		t.Errorf("a bad via: %v, want InvalidArgument naming %s", err, auth.ViaHeader)
	}
	// alice has a token of her own but no grant.
	_, err = show(auth.OnBehalfOf(testCtx(t), "sam", "slack"), aliceToken, &releasev1.ApproveRequest{})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "alice holds no acts_for grant") {
		t.Errorf("alice acting for sam: %v, want PermissionDenied", err)
	}
}

// wantLine finds the rpc log line of request id and compares the fields of want.
func wantLine(t *testing.T, ts *testServer, id string, want map[string]string) {
	t.Helper()
	testkit.Eventually(t, func() error {
		for _, line := range strings.Split(ts.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil || m["message"] != "rpc" || m["request_id"] != id {
				continue
			}
			got := map[string]string{}
			for k := range want {
				got[k], _ = m[k].(string)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				return fmt.Errorf("log line of %s (-want +got):\n%s", id, diff)
			}
			return nil
		}
		return fmt.Errorf("no rpc log line for request %s", id)
	})
}
