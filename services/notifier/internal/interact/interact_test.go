package interact_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/secrets"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/interact"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
	"github.com/penguinmails/floe/services/notifier/internal/slackverify"
)

// decisions records what the release service was asked (the real one is
// exercised by the notifier's service test); refuse makes it refuse.
type decisions struct {
	mu     sync.Mutex
	calls  []string
	refuse error
}

func (d *decisions) Approve(_ context.Context, p, id, env, comment string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, fmt.Sprintf("approve %s %s as %s: %s", id, env, p, comment))
	return d.refuse
}

func (d *decisions) Reject(_ context.Context, p, id, env, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, fmt.Sprintf("reject %s %s as %s: %s", id, env, p, reason))
	return d.refuse
}

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

func TestBlocks(t *testing.T) {
	n := routing.Notification{Episodes: []routing.EpisodeStatus{
		{Key: "approval/r1/production", Status: routing.StatusNotice, Event: routing.Event{Type: interact.ApprovalRequested}},
		{Key: "approval/r2/staging", Status: routing.StatusNotice, Event: routing.Event{Type: "floe.release.v1.ApprovalGranted"}}, // no buttons
		{Key: "deployment/d1", Status: routing.StatusFiring, Event: routing.Event{Type: "floe.deploy.v1.DeploymentStarted"}},
	}}
	b := interact.Blocks(n)
	if len(b) != 2 {
		t.Fatalf("%d blocks, want a reason field and the buttons of r1/production", len(b))
	}
	var actions struct {
		Type     string
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string
		}
	}
	if err := json.Unmarshal(b[1], &actions); err != nil || actions.Type != "actions" || len(actions.Elements) != 2 ||
		actions.Elements[0].ActionID != interact.ActionApprove || actions.Elements[0].Value != `{"release_id":"r1","environment":"production"}` {
		t.Fatalf("buttons: %s (%v)", b[1], err)
	}
	merged, err := interact.WithBlocks([]byte(`[{"type":"section"}]`), b)
	if err != nil || !json.Valid(merged) || strings.Count(string(merged), `"type"`) < 3 {
		t.Fatalf("merged: %s %v", merged, err)
	}
}

func TestHandler(t *testing.T) {
	now := time.Now()
	rc := interact.NewReceiver("ops-slack", func(context.Context) (secrets.Value, error) { return secrets.NewValueString(secret), nil },
		map[string]string{"U1": "carol"}, func() time.Time { return now }, nil)
	var (
		mu      sync.Mutex
		refused []*notifyv1.InteractionRefused
		replies []string
	)
	replyURL := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		replies = append(replies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(replyURL.Close)
	d := &decisions{}
	h := &interact.Handler{Receivers: map[string]*interact.Receiver{"ops-slack": rc}, Decider: d,
		Refused: func(_ context.Context, ev *notifyv1.InteractionRefused) error {
			mu.Lock()
			defer mu.Unlock()
			refused = append(refused, ev)
			return nil
		}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	click := func(user, action, reason string) string {
		p := map[string]any{"type": "block_actions", "user": map[string]string{"id": user}, "response_url": replyURL.URL + "/r",
			"actions": []any{map[string]string{"action_id": action, "value": `{"release_id":"r1","environment":"production"}`}},
			"state":   map[string]any{"values": map[string]any{"floe_reason:r1:production": map[string]any{interact.InputReason: map[string]string{"value": reason}}}}}
		b, _ := json.Marshal(p)
		return url.Values{"payload": {string(b)}}.Encode()
	}
	post := func(path, body string, ts time.Time, sign bool, tamper bool) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		stamp := strconv.FormatInt(ts.Unix(), 10)
		req.Header.Set(slackverify.HeaderTimestamp, stamp)
		if sign {
			req.Header.Set(slackverify.HeaderSignature, slackverify.Sign(secrets.NewValueString(secret), stamp, []byte(body)))
		}
		if tamper { // signed as sent, then changed on the way: same length, one byte differs
			changed := []byte(body)
			changed[len(changed)-1] ^= 1
			req.Body = io.NopCloser(strings.NewReader(string(changed)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	approve := click("U1", interact.ActionApprove, "checked")
	for _, tc := range []struct {
		name         string
		path, body   string
		ts           time.Time
		sign, tamper bool
		want         int
		wantRefusal  string
	}{
		{"unsigned", "/slack/interactions/ops-slack", approve, now, false, false, http.StatusUnauthorized, "malformed"},
		{"tampered", "/slack/interactions/ops-slack", approve, now, true, true, http.StatusUnauthorized, "bad_signature"},
		{"stale", "/slack/interactions/ops-slack", approve, now.Add(-6 * time.Minute), true, false, http.StatusUnauthorized, "stale"},
		{"unknown receiver", "/slack/interactions/nobody", approve, now, true, false, http.StatusNotFound, "unknown_receiver"},
		{"approve", "/slack/interactions/ops-slack", approve, now, true, false, http.StatusOK, ""},
		{"the same request again", "/slack/interactions/ops-slack", approve, now, true, false, http.StatusUnauthorized, "replayed"},
		{"an unmapped user", "/slack/interactions/ops-slack", click("U9", interact.ActionApprove, ""), now, true, false, http.StatusOK, "unmapped_user"},
		{"reject without a reason", "/slack/interactions/ops-slack", click("U1", interact.ActionReject, " "), now, true, false, http.StatusOK, "refused"},
		{"reject", "/slack/interactions/ops-slack", click("U1", interact.ActionReject, "not on a Friday"), now, true, false, http.StatusOK, ""},
	} {
		mu.Lock()
		before := len(refused)
		mu.Unlock()
		if got := post(tc.path, tc.body, tc.ts, tc.sign, tc.tamper); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
		mu.Lock()
		switch {
		case tc.wantRefusal == "" && len(refused) != before:
			t.Errorf("%s: refused %v", tc.name, refused[before:])
		case tc.wantRefusal != "" && (len(refused) != before+1 || refused[before].GetReason() != tc.wantRefusal):
			t.Errorf("%s: refusals %v, want one %s", tc.name, refused[before:], tc.wantRefusal)
		}
		mu.Unlock()
	}
	d.mu.Lock()
	calls := strings.Join(d.calls, "\n")
	d.mu.Unlock()
	if calls != "approve r1 production as carol: checked\nreject r1 production as carol: not on a Friday" {
		t.Errorf("decisions:\n%s", calls)
	}
	// A refusal by the release service is told to the clicker and recorded.
	d.refuse = errors.New("separation of duties: carol created the release and may not approve it")
	if got := post("/slack/interactions/ops-slack", click("U1", interact.ActionApprove, "again"), now, true, false); got != http.StatusOK {
		t.Fatalf("a refused approval: %d", got)
	}
	mu.Lock()
	defer mu.Unlock()
	last := refused[len(refused)-1]
	if last.GetReason() != "refused" || last.GetPrincipal() != "carol" || !strings.Contains(last.GetDetail(), "separation of duties") {
		t.Errorf("the release's refusal: %v", last)
	}
	if len(replies) < 5 || !strings.Contains(replies[len(replies)-1], "separation of duties") || !strings.Contains(strings.Join(replies, "\n"), "Approved r1 for production as carol") {
		t.Errorf("replies to the clicker:\n%s", strings.Join(replies, "\n"))
	}
}
