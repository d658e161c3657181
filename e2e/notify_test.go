package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/penguinmails/floe/libs/testkit"
)

// slackAPI is Slack's Web API on loopback (chat.postMessage), recording
// every message posted.
type slackAPI struct {
	mu   sync.Mutex
	msgs []map[string]any
}

func (s *slackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]any
	_ = json.NewDecoder(r.Body).Decode(&m)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":true,"channel":"C1","ts":"1700000000.%06d"}`, len(s.msgs))
}

// rollback finds the message that told the rollback's outcome and returns,
// for the Slack thread of its episode group (same metadata episode), the
// number of top-level messages and of replies, and their texts.
func (s *slackAPI) rollback() (top, replies int, text string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	episodeOf := func(m map[string]any) string {
		md, _ := m["metadata"].(map[string]any)
		p, _ := md["event_payload"].(map[string]any)
		e, _ := p["episode"].(string)
		return e
	}
	episode := ""
	for _, m := range s.msgs {
		if strings.Contains(strings.ToLower(fmt.Sprint(m["text"])), "rolled back") {
			episode = episodeOf(m)
		}
	}
	if episode == "" {
		return 0, 0, "", fmt.Errorf("no Slack message tells the rollback (with its episode in the metadata) among %d", len(s.msgs))
	}
	for _, m := range s.msgs {
		if episodeOf(m) != episode {
			continue
		}
		text += fmt.Sprint(m["text"]) + "\n"
		if ts, _ := m["thread_ts"].(string); ts != "" {
			replies++
		} else {
			top++
		}
	}
	return top, replies, text, nil
}

// mailbox is a real SMTP server (go-smtp) on loopback, keeping each message.
type mailbox struct {
	mu   sync.Mutex
	msgs []string
}

type mailSession struct{ box *mailbox }

func (s mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, string(b))
	s.box.mu.Unlock()
	return nil
}
func (s mailSession) Reset()        {}
func (s mailSession) Logout() error { return nil }

func startMailbox(t *testing.T) (*mailbox, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return mailSession{box}, nil }))
	srv.Domain = "localhost"
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return box, l.Addr().String()
}

func (b *mailbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

// TestFailingCanaryIsTold: the demo's failing canary (floe demo rollback,
// rolled back by the monitor) is told — in Slack one message with the
// rollback's updates in its thread, one email and one signed webhook on its
// outcome — and opens an incident on the status page that resolves when
// the rollback completes. The receivers are real servers on loopback.
func TestFailingCanaryIsTold(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	write := func(name, content string) string { return writeFile(t, dataDir, name, content) }
	api := &slackAPI{}
	slackSrv := httptest.NewServer(api)
	t.Cleanup(slackSrv.Close)
	box, smtpAddr := startMailbox(t)
	var hookMu sync.Mutex
	var hooks []string
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooks = append(hooks, string(b))
		hookMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hookSrv.Close)

	monitorCfg := errorRateMonitor(t, dataDir)
	deployerCfg := write("deployer-e2e.yaml", `local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
strategies:
  development:
    canary: {steps: ["setWeight 20", "pause 90s", "setWeight 100"]}
`)
	notifierCfg := write("notifier.yaml", fmt.Sprintf(`receivers:
  - name: slack
    kind: slack
    settings: {token: secret://slack/bot, channel: "#releases", base_url: "%s/api/"}
  - name: mail
    kind: email
    settings: {addr: "%s", from: "Floe <floe@example.com>", to: [oncall@example.com], allow_plaintext: true}
  - name: hook
    kind: webhook
    settings: {url: "%s/hook", signing_secret: secret://hook/signing}
route:
  receivers: [slack]
  group_by: [episode]
  group_wait: 0s
  group_interval: 2s
  routes:
    - name: deployments
      matchers: ['type=~"floe\\.deploy\\.v1\\..*"']
      receivers: [slack]
      continue: true
    - name: outcomes
      matchers: ['type="floe.deploy.v1.RolledBack"']
      receivers: [mail, hook]
`, slackSrv.URL, smtpAddr, hookSrv.URL))
	d := startDev(t, dataDir, "--monitor-config", monitorCfg, "--deployer-config", deployerCfg,
		"--notifier-config", notifierCfg, "--notifier-production-environments", "development")
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	put := func(name, value string) {
		p := write("value-"+strings.ReplaceAll(name, "/", "-"), value)
		if out, err := runCLI(t, ctx, env, "--as", "dave", "secrets", "put", "notifier", name, "--from-file", p, "--reason", "receiver credentials"); err != nil {
			t.Fatalf("secrets put %s: %v\n%s", name, err, out)
		}
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	put("slack/bot", "xoxb-1-2-"+strings.Repeat("b", 24))
	put("hook/signing", "whsec_"+base64.StdEncoding.EncodeToString(raw))

	out, err := runCLI(t, ctx, env, "demo", "rollback", "--rps", "50")
	if err != nil {
		t.Fatalf("floe demo rollback: %v\n%s\nserver stderr:\n%s", err, out, d.stderr)
	}
	m := regexp.MustCompile(`Deployment (\S+) ended ROLLED_BACK`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no rolled-back deployment in the output:\n%s", out)
	}
	episode := "deployment/" + m[1]

	// Slack: one message for the canary, its updates (the rollback) in the thread.
	testkit.EventuallyWithin(t, time.Minute, func() error {
		top, replies, text, err := api.rollback()
		if err != nil {
			return err
		}
		if top != 1 || replies < 1 {
			return fmt.Errorf("%d top-level messages and %d replies in the rollback's thread:\n%s", top, replies, text)
		}
		return nil
	})
	// One email and one webhook, on the outcome.
	testkit.EventuallyWithin(t, time.Minute, func() error {
		hookMu.Lock()
		n := 0
		for _, h := range hooks {
			if strings.Contains(h, episode) {
				n++
			}
		}
		hookMu.Unlock()
		if mails := box.count(); mails != 1 || n != 1 {
			return fmt.Errorf("%d emails and %d webhooks about %s", mails, n, episode)
		}
		return nil
	})
	// The status page: an incident for the canary, resolved when the rollback completed.
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + d.creds.Notifier + "/status/api/v2/incidents.json")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var doc struct {
			Incidents []struct {
				Name, Status string
			} `json:"incidents"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			return err
		}
		for _, in := range doc.Incidents {
			if in.Status == "resolved" {
				return nil
			}
		}
		return fmt.Errorf("no resolved incident: %+v", doc.Incidents)
	})
	// Nothing more is told: a few seconds later the counts are the same.
	time.Sleep(3 * time.Second)
	if top, _, _, _ := api.rollback(); top != 1 {
		t.Errorf("%d top-level Slack messages in the rollback's thread after settling", top)
	}
	if mails := box.count(); mails != 1 {
		t.Errorf("%d emails about %s after settling", mails, episode)
	}
}
