// Package interact is Slack's side of approvals: the Approve / Reject
// buttons (and a reason field) added to Slack messages about a release
// awaiting approval, and the endpoint Slack calls when someone clicks one.
//
// The endpoint (POST /slack/interactions/<receiver>) verifies Slack's
// request signature with the receiver's signing secret (v0 HMAC-SHA256,
// 5-minute tolerance, constant time, replays refused: slackverify), maps
// the Slack user to a Floe principal through the receiver's `users`
// setting, and approves or rejects as that principal through the release
// service's act-on-behalf mechanism (the release records the principal,
// the channel "slack" and the notifier as delegate; separation of duties
// applies to the principal). Refused requests — bad signature, stale,
// replayed, an unmapped user — get 401 (or a message to the clicker) and an
// InteractionRefused event.
package interact

import (
	"encoding/json"
	"strings"

	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Action ids of the buttons and the block id of the reason field.
const (
	ActionApprove = "floe_approve"
	ActionReject  = "floe_reject"
	BlockReason   = "floe_reason"
	InputReason   = "floe_reason_input"
)

// Target is what a button acts on.
type Target struct {
	ReleaseID   string `json:"release_id"`
	Environment string `json:"environment"`
}

// ApprovalRequested is the event type whose messages carry the buttons.
const ApprovalRequested = "floe.release.v1.ApprovalRequested"

// target is the release and environment a request for approval is about
// (episode key "approval/<release id>/<environment>").
func target(ep routing.EpisodeStatus) (Target, bool) {
	rest, ok := strings.CutPrefix(ep.Key, "approval/")
	if !ok || ep.Event.Type != ApprovalRequested {
		return Target{}, false
	}
	id, env, ok := strings.Cut(rest, "/")
	if !ok || id == "" || env == "" || strings.Contains(env, "/") {
		return Target{}, false
	}
	return Target{ReleaseID: id, Environment: env}, true
}

// Blocks are the interactive blocks to append to a Slack message of n: for
// each approval it tells of that still awaits a decision, a reason field
// and Approve / Reject buttons carrying the release and environment.
func Blocks(n routing.Notification) []json.RawMessage {
	var out []json.RawMessage
	seen := map[Target]bool{}
	for _, ep := range n.Episodes {
		t, ok := target(ep)
		if !ok || seen[t] {
			continue
		}
		seen[t] = true
		value, _ := json.Marshal(t)
		input, _ := json.Marshal(map[string]any{
			"type": "input", "block_id": BlockReason + ":" + t.ReleaseID + ":" + t.Environment, "optional": true,
			"label":   map[string]any{"type": "plain_text", "text": "Reason (required to reject " + t.Environment + ")"},
			"element": map[string]any{"type": "plain_text_input", "action_id": InputReason, "multiline": false},
		})
		actions, _ := json.Marshal(map[string]any{
			"type": "actions", "block_id": "floe_decide:" + t.ReleaseID + ":" + t.Environment,
			"elements": []any{
				map[string]any{"type": "button", "action_id": ActionApprove, "style": "primary", "value": string(value),
					"text": map[string]any{"type": "plain_text", "text": "Approve for " + t.Environment}},
				map[string]any{"type": "button", "action_id": ActionReject, "style": "danger", "value": string(value),
					"text": map[string]any{"type": "plain_text", "text": "Reject"}},
			},
		})
		out = append(out, input, actions)
	}
	return out
}

// WithBlocks appends extra blocks to a Block Kit array (as JSON).
func WithBlocks(blocks []byte, extra []json.RawMessage) ([]byte, error) {
	if len(extra) == 0 {
		return blocks, nil
	}
	var list []json.RawMessage
	if len(blocks) > 0 {
		if err := json.Unmarshal(blocks, &list); err != nil {
			return nil, err
		}
	}
	return json.Marshal(append(list, extra...))
}
