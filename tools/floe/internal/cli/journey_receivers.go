package cli

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// journeyReceivers stand in, on loopback, for Slack's Web API
// (chat.postMessage with a bot token) and for a webhook endpoint that
// verifies Standard Webhooks signatures, so that the journey can show what
// the notifier sent. Their credentials are generated here and stored by the
// journey as the notifier's secrets (floe secrets put), as an operator would.
type journeyReceivers struct {
	srv        *http.Server
	base       string // http://127.0.0.1:port
	slackToken string
	hookSecret string // whsec_…
	mu         sync.Mutex
	slack      []string // each message's text
	hooks      []string // each verified body
	refused    []string // requests refused, with why
}

func startJourneyReceivers() (*journeyReceivers, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tok, key := make([]byte, 18), make([]byte, 32)
	_, _ = rand.Read(tok)
	_, _ = rand.Read(key)
	rx := &journeyReceivers{
		base:       "http://" + l.Addr().String(),
		slackToken: "xoxb-journey-" + base64.RawURLEncoding.EncodeToString(tok),
		hookSecret: "whsec_" + base64.StdEncoding.EncodeToString(key),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/api/chat.postMessage", rx.slackPost)
	mux.HandleFunc("POST /hook", rx.hookPost)
	rx.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rx.srv.Serve(l) }()
	return rx, nil
}

func (rx *journeyReceivers) close() { _ = rx.srv.Close() }

// notifierConfig routes deployment rollbacks to both receivers, and
// nothing else to anyone.
func (rx *journeyReceivers) notifierConfig() string {
	return fmt.Sprintf(`# Written by floe demo journey: its loopback receivers.
receivers:
  - name: slack
    kind: slack
    settings: {token: secret://slack/bot, channel: "#releases", base_url: "%s/slack/api"}
  - name: webhook
    kind: webhook
    settings: {url: "%s/hook", signing_secret: secret://webhook/signing}
route:
  receivers: [slack]
  group_by: [episode]
  group_wait: 0s
  group_interval: 2s
  routes:
    - name: rollbacks
      matchers: ['type="floe.deploy.v1.RolledBack"']
      receivers: [slack, webhook]
    - name: everything-else   # the journey tells of rollbacks only
      receivers: []
`, rx.base, rx.base)
}

func (rx *journeyReceivers) slackPost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+rx.slackToken {
		rx.refuse("slack: wrong token")
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	var m struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
		rx.refuse("slack: " + err.Error())
		fmt.Fprint(w, `{"ok":false,"error":"invalid_json"}`)
		return
	}
	rx.mu.Lock()
	rx.slack = append(rx.slack, m.Text)
	n := len(rx.slack)
	rx.mu.Unlock()
	fmt.Fprintf(w, `{"ok":true,"channel":"C0JOURNEY","ts":"1700000000.%06d"}`, n)
}

func (rx *journeyReceivers) hookPost(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := verifyStandardWebhook(rx.hookSecret, r.Header, body, time.Now()); err != nil {
		rx.refuse("webhook: " + err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rx.mu.Lock()
	rx.hooks = append(rx.hooks, string(body))
	rx.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rx *journeyReceivers) refuse(why string) {
	rx.mu.Lock()
	rx.refused = append(rx.refused, why)
	rx.mu.Unlock()
}

func (rx *journeyReceivers) snapshot() (slack, hooks []string) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return append([]string(nil), rx.slack...), append([]string(nil), rx.hooks...)
}

// waitOne waits until each receiver has a message, then a few seconds
// more, and fails unless each has exactly one and nothing was refused.
func (rx *journeyReceivers) waitOne(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		slack, hooks := rx.snapshot()
		if len(slack) > 0 && len(hooks) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s Slack has %d messages and the webhook %d, want one each (refused: %v)", limit, len(slack), len(hooks), rx.refusals())
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	if err := sleepCtx(ctx, 3*time.Second); err != nil { // anything more would come within the group interval (2 s)
		return err
	}
	slack, hooks := rx.snapshot()
	if len(slack) != 1 || len(hooks) != 1 || len(rx.refusals()) > 0 {
		return fmt.Errorf("Slack has %d messages and the webhook %d, want one each (refused: %v)", len(slack), len(hooks), rx.refusals())
	}
	return nil
}

func (rx *journeyReceivers) refusals() []string {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return append([]string(nil), rx.refused...)
}

// verifyStandardWebhook checks a Standard Webhooks signature
// (https://www.standardwebhooks.com): webhook-signature holds "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" entries, keyed by the secret after
// "whsec_", base64-decoded; the timestamp must be within five minutes of now.
func verifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("webhook-id, webhook-timestamp and webhook-signature are required")
	}
	var sec int64
	if _, err := fmt.Sscanf(ts, "%d", &sec); err != nil {
		return fmt.Errorf("webhook-timestamp %q is not a number", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp is %s away", d.Round(time.Second))
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		if v, ok := strings.CutPrefix(s, "v1,"); ok {
			if got, err := base64.StdEncoding.DecodeString(v); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return errors.New("no webhook-signature matches")
}
