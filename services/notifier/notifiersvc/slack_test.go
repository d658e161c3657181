package notifiersvc_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/flag/flagsvc"
	"github.com/penguinmails/floe/services/notifier/internal/slackverify"
	"github.com/penguinmails/floe/services/notifier/notifiersvc"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

// slackAPI is Slack's Web API as far as the notifier uses it
// (chat.postMessage), on loopback, recording each message; and a
// response_url sink for the replies to clicks.
type slackAPI struct {
	mu       sync.Mutex
	messages []map[string]any
	replies  []string
}

func (s *slackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/api/chat.postMessage":
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		s.messages = append(s.messages, m)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"channel":"C1","ts":"1700000000.%06d"}`, len(s.messages))
	case "/reply":
		s.replies = append(s.replies, string(b))
	default:
		http.NotFound(w, r)
	}
}

const slackSigning = "e2e0a1b2c3d4e5f60718293a4b5c6d7e"

// Approvals from Slack: a request for approval reaches Slack with Approve /
// Reject buttons; a click by a mapped approver approves as that approver
// (the release records via slack, relayed by the notifier); the release's
// author (a developer, no approver) clicking is refused and told why; forged,
// stale and replayed clicks get 401; every refusal is recorded.
func TestApprovalFromSlack(t *testing.T) {
	api := &slackAPI{}
	slack := httptest.NewServer(api)
	t.Cleanup(slack.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "notifier.yaml")
	cfg := fmt.Sprintf(`receivers:
  - name: releases
    kind: slack
    settings:
      token: secret://slack/bot
      channel: "#releases"
      base_url: %s/api/
      signing_secret: secret://slack/signing
      users: {UCAROL: carol, UALICE: alice}
route:
  receivers: [releases]
  group_wait: 0s
`, slack.URL)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "secrets.keyring")
	if _, err := secrets.CreateKeyringFile(keys); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "notifier.token")
	sec := secretsetup.Config{Keyring: keys}
	approve, reject := releasev1.ReleaseService_Approve_FullMethodName, releasev1.ReleaseService_Reject_FullMethodName
	p := testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{
			"alice": testkit.Roles(auth.RoleDeveloper), "bob": testkit.Roles(auth.RoleReleaseManager),
			"carol": testkit.Roles(auth.RoleQA), "ops": testkit.Roles(auth.RoleOperations), "notifier": nil,
		},
		ActsFor: map[string]*auth.ActsFor{"notifier": {Methods: []string{approve, reject}, Principals: []string{"carol", "alice"}}},
		Entries: func() []service.Entry {
			return []service.Entry{
				service.Of(releasesvc.Service, releasesvc.Config{}),
				service.Of(flagsvc.Service, flagsvc.Config{Options: flagsvc.Options{TickInterval: time.Second, Secrets: sec}}),
				service.Of(notifiersvc.Service, notifiersvc.Config{Options: notifiersvc.Options{
					File: file, SecretsEnvironment: "notifier", ProductionEnvironments: "production", Tick: 50 * time.Millisecond, MaxAttempts: 4,
					HTTPAddr: "127.0.0.1:0", TokenFile: tokenFile}, Secrets: sec}),
			}
		},
	})
	if err := os.WriteFile(tokenFile, []byte(p.Token("notifier")), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t)
	for name, value := range map[string]string{"slack/bot": "xoxb-1-2-" + strings.Repeat("a", 24), "slack/signing": slackSigning} {
		if _, err := configv1.NewSecretServiceClient(p.Conn("ops")).PutSecret(ctx, &configv1.PutSecretRequest{
			Environment: "notifier", Name: name, Value: []byte(value), Reason: "the Slack app"}); err != nil {
			t.Fatal(err)
		}
	}
	rel := releasev1.NewReleaseServiceClient(p.Conn("alice"))
	created, err := rel.CreateRelease(ctx, &releasev1.CreateReleaseRequest{Product: "penguinmails", Version: "1.4.0",
		Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "Campaign scheduling"})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetRelease().GetId()
	if _, err := releasev1.NewReleaseServiceClient(p.Conn("bob")).RequestApproval(ctx, &releasev1.RequestApprovalRequest{
		ReleaseId: id, Environment: "staging", Note: "QA, please"}); err != nil {
		t.Fatal(err)
	}

	// The request reaches Slack with the buttons.
	var value string
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		api.mu.Lock()
		defer api.mu.Unlock()
		for _, m := range api.messages {
			b, _ := json.Marshal(m["blocks"])
			if strings.Contains(string(b), "floe_approve") && strings.Contains(fmt.Sprint(m["text"]), "awaits approval for staging") {
				value = fmt.Sprintf(`{"release_id":%q,"environment":"staging"}`, id)
				if !strings.Contains(string(b), strings.ReplaceAll(value, `"`, `\"`)) {
					return fmt.Errorf("the buttons do not carry the release: %s", b)
				}
				return nil
			}
		}
		return fmt.Errorf("no message with buttons among %d", len(api.messages))
	})

	addr := p.Handles["notifier"].(*notifiersvc.Notifier).HTTPAddr
	click := func(user, action string, ts time.Time, forge bool) int {
		t.Helper()
		payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]string{"id": user},
			"response_url": slack.URL + "/reply", "actions": []any{map[string]string{"action_id": action, "value": value}}})
		body := url.Values{"payload": {string(payload)}}.Encode()
		stamp := strconv.FormatInt(ts.Unix(), 10)
		sig := slackverify.Sign(secrets.NewValueString(slackSigning), stamp, []byte(body))
		if forge {
			sig = slackverify.Sign(secrets.NewValueString("not-the-secret-0000000000000000"), stamp, []byte(body))
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/slack/interactions/releases", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(slackverify.HeaderTimestamp, stamp)
		req.Header.Set(slackverify.HeaderSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := click("UCAROL", "floe_approve", time.Now(), true); got != http.StatusUnauthorized {
		t.Errorf("a forged click: %d", got)
	}
	if got := click("UCAROL", "floe_approve", time.Now().Add(-10*time.Minute), false); got != http.StatusUnauthorized {
		t.Errorf("a stale click: %d", got)
	}
	if got := click("UALICE", "floe_approve", time.Now(), false); got != http.StatusOK {
		t.Errorf("the author's click: %d", got)
	}
	now := time.Now()
	if got := click("UCAROL", "floe_approve", now, false); got != http.StatusOK {
		t.Fatalf("carol's click: %d", got)
	}
	if got := click("UCAROL", "floe_approve", now, false); got != http.StatusUnauthorized {
		t.Errorf("carol's click replayed: %d", got)
	}

	// The release is approved for staging by carol, through Slack, relayed by the notifier.
	testkit.EventuallyWithin(t, 10*time.Second, func() error {
		r, err := rel.GetRelease(ctx, &releasev1.GetReleaseRequest{ReleaseId: id})
		if err != nil {
			return err
		}
		for _, e := range r.GetRelease().GetEnvironments() {
			if e.GetEnvironment() != "staging" {
				continue
			}
			for _, a := range e.GetApprovals() {
				if a.GetApprover() == "carol" && a.GetVia() == "slack" && a.GetDelegate() == "notifier" {
					return nil
				}
			}
			return fmt.Errorf("staging: %s, approvals %v", e.GetStatus(), e.GetApprovals())
		}
		return fmt.Errorf("no staging in %v", r.GetRelease().GetEnvironments())
	})
	api.mu.Lock()
	replies := strings.Join(api.replies, "\n")
	api.mu.Unlock()
	if !strings.Contains(replies, "Floe refused to approve "+id+" for staging as alice") || !strings.Contains(replies, "Approved "+id+" for staging as carol") {
		t.Errorf("replies to the clickers:\n%s", replies)
	}
	// Every refusal is in the log.
	var reasons []string
	testkit.EventuallyWithin(t, 10*time.Second, func() error {
		reasons = refusalsOf(t, p)
		if strings.Join(reasons, ",") != "bad_signature,stale,refused,replayed" {
			return fmt.Errorf("refusals %v", reasons)
		}
		return nil
	})
}

// refusalsOf reads the reasons of the refused Slack requests from the log.
func refusalsOf(t *testing.T, p *testkit.Process) []string {
	t.Helper()
	st, err := p.Store("notifier").Load(testkit.Context(t), "slackinbox", "releases", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range st.Events {
		var ev notifyv1.InteractionRefused
		if err := e.DecodeInto(&ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.GetReason())
	}
	return out
}
