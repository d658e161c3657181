package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/channel/channeltest"
	"github.com/penguinmails/floe/services/notifier/internal/channel/slack"
)

const (
	testToken   = "xoxb-1111111111-2222222222-FakeBotTokenForTests0"
	testChannel = "C0FLOEREL"
	// The incoming webhook's path is its credential.
	webhookPath = "/services/T0FLOE/B0FLOE/FakeWebhookSecretPath0"
)

// request is one request as the fake Slack saw it, with what it found wrong.
type request struct {
	path     string
	header   http.Header
	raw      []byte
	body     map[string]any
	problems []string
}

// fakeSlack is a loopback Slack: chat.postMessage of the Web API and an
// incoming webhook, each checking its request field by field the way Slack
// would refuse it (auth, content type, JSON shape), and able to refuse
// requests on demand.
type fakeSlack struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []request
	accepted []channeltest.Got
	tss      []string // the ts of every posted message
	nextTS   int
	// refusals: the next n requests get status/error (and Retry-After).
	refuseN     int
	refuseHTTP  int
	refuseCode  string
	refuseAfter string
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{nextTS: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/chat.postMessage", f.postMessage)
	mux.HandleFunc(webhookPath, f.webhook)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// known are the fields each endpoint accepts; anything else is a problem.
var known = map[string][]string{
	"chat.postMessage": {"channel", "text", "blocks", "thread_ts", "metadata"},
	"webhook":          {"text", "blocks"},
}

func (f *fakeSlack) read(r *http.Request, endpoint string) (request, bool) {
	req := request{path: r.URL.Path, header: r.Header.Clone()}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		req.problems = append(req.problems, "read body: "+err.Error())
	}
	req.raw = raw
	if r.Method != http.MethodPost {
		req.problems = append(req.problems, "method "+r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		req.problems = append(req.problems, "content type "+ct)
	}
	if err := json.Unmarshal(raw, &req.body); err != nil {
		req.problems = append(req.problems, "body is not a JSON object: "+err.Error())
	}
	for k := range req.body {
		if !contains(known[endpoint], k) {
			req.problems = append(req.problems, "unknown field "+k)
		}
	}
	if endpoint == "webhook" && r.Header.Get("Authorization") != "" {
		req.problems = append(req.problems, "an incoming webhook needs no Authorization")
	}
	if s, _ := req.body["text"].(string); s == "" {
		req.problems = append(req.problems, "no fallback text")
	}
	if b, ok := req.body["blocks"].([]any); !ok || len(b) == 0 {
		req.problems = append(req.problems, "no blocks")
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	return req, len(req.problems) == 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// refusal reports whether this request is to be refused, and how.
func (f *fakeSlack) refusal() (status int, code, after string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuseN == 0 {
		return 0, "", "", false
	}
	f.refuseN--
	return f.refuseHTTP, f.refuseCode, f.refuseAfter, true
}

func (f *fakeSlack) refuse(n, status int, code, after string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuseN, f.refuseHTTP, f.refuseCode, f.refuseAfter = n, status, code, after
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) postMessage(w http.ResponseWriter, r *http.Request) {
	req, valid := f.read(r, "chat.postMessage")
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		answer(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if !valid {
		answer(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	if status, code, after, ok := f.refusal(); ok {
		if after != "" {
			w.Header().Set("Retry-After", after)
		}
		answer(w, status, map[string]any{"ok": false, "error": code})
		return
	}
	if req.body["channel"] != testChannel {
		answer(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	thread, _ := req.body["thread_ts"].(string)
	f.mu.Lock()
	if thread != "" && !f.posted(thread) {
		f.mu.Unlock()
		answer(w, http.StatusOK, map[string]any{"ok": false, "error": "thread_not_found"})
		return
	}
	ts := fmt.Sprintf("1773500966.%06d", f.nextTS)
	f.nextTS++
	id := ""
	if md, ok := req.body["metadata"].(map[string]any); ok {
		if p, ok := md["event_payload"].(map[string]any); ok {
			id, _ = p["id"].(string)
		}
	}
	f.accepted = append(f.accepted, channeltest.Got{ID: id, Text: html.UnescapeString(req.body["text"].(string)), ThreadRef: thread})
	f.tss = append(f.tss, ts)
	f.mu.Unlock()
	answer(w, http.StatusOK, map[string]any{"ok": true, "channel": testChannel, "ts": ts, "message": map[string]any{"text": req.body["text"]}})
}

func (f *fakeSlack) posted(ts string) bool {
	for _, x := range f.tss {
		if x == ts {
			return true
		}
	}
	return false
}

func (f *fakeSlack) webhook(w http.ResponseWriter, r *http.Request) {
	req, valid := f.read(r, "webhook")
	plain := func(status int, s string) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, s)
	}
	if !valid {
		plain(http.StatusBadRequest, "invalid_payload")
		return
	}
	if status, code, after, ok := f.refusal(); ok {
		if after != "" {
			w.Header().Set("Retry-After", after)
		}
		plain(status, code)
		return
	}
	f.mu.Lock()
	f.accepted = append(f.accepted, channeltest.Got{Text: html.UnescapeString(req.body["text"].(string))})
	f.mu.Unlock()
	plain(http.StatusOK, "ok")
}

func (f *fakeSlack) Requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

func (f *fakeSlack) Received() []channeltest.Got {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]channeltest.Got(nil), f.accepted...)
}

// checkClean fails the test for every problem the fake found in a request.
func (f *fakeSlack) checkClean(t *testing.T) {
	t.Helper()
	for i, r := range f.Requests() {
		for _, p := range r.problems {
			t.Errorf("request %d to %s: %s", i, r.path, p)
		}
	}
}

func newBot(t *testing.T, f *fakeSlack) *slack.Bot {
	t.Helper()
	b, err := slack.NewBot(slack.BotConfig{Token: secrets.NewValueString(testToken), Channel: testChannel, BaseURL: f.srv.URL + "/api", HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newWebhook(t *testing.T, f *fakeSlack) *slack.Webhook {
	t.Helper()
	w, err := slack.NewWebhook(slack.WebhookConfig{URL: secrets.NewValueString(f.srv.URL + webhookPath), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestConformanceBot(t *testing.T) {
	channeltest.Run(t, true, func(t *testing.T) *channeltest.Harness {
		f := newFakeSlack(t)
		t.Cleanup(func() { f.checkClean(t) })
		return &channeltest.Harness{
			Channel:  newBot(t, f),
			Received: f.Received,
			Fail: func(n int, permanent bool, wait time.Duration) {
				switch {
				case permanent:
					f.refuse(n, http.StatusOK, "not_in_channel", "")
				case wait > 0:
					f.refuse(n, http.StatusTooManyRequests, "ratelimited", strconv.Itoa(int(wait/time.Second)))
				default:
					f.refuse(n, http.StatusOK, "internal_error", "")
				}
			},
			Secrets: []string{testToken},
		}
	})
}

func TestConformanceWebhook(t *testing.T) {
	// Incoming webhooks cannot thread: Slack answers "ok" and no ts.
	channeltest.Run(t, false, func(t *testing.T) *channeltest.Harness {
		f := newFakeSlack(t)
		t.Cleanup(func() { f.checkClean(t) })
		return &channeltest.Harness{
			Channel:  newWebhook(t, f),
			Received: f.Received,
			Fail: func(n int, permanent bool, wait time.Duration) {
				switch {
				case permanent:
					f.refuse(n, http.StatusNotFound, "channel_not_found", "")
				case wait > 0:
					f.refuse(n, http.StatusTooManyRequests, "rate_limited", strconv.Itoa(int(wait/time.Second)))
				default:
					f.refuse(n, http.StatusInternalServerError, "rollup_error", "")
				}
			},
			Secrets: []string{webhookPath, "FakeWebhookSecretPath0"},
		}
	})
}

var msgTime = time.Date(2026, 3, 14, 15, 9, 20, 0, time.UTC)

func rollback() channel.Message {
	return channel.Message{
		ID:       "ntf-01HZX3",
		Episode:  "ep-canary-1.4.0",
		Subject:  "Rollback of 1.4.0 in production",
		Text:     "canary 1.4.0 failed: error rate 12% > 5% for <@U123> & <!channel>",
		Severity: "critical",
		Time:     msgTime,
	}
}

// wantBlocks is the Block Kit JSON built from rollback(), as Slack reads it.
const wantBlocks = `[
  {"type": "header", "text": {"type": "plain_text", "text": "Rollback of 1.4.0 in production", "emoji": true}},
  {"type": "section", "text": {"type": "mrkdwn", "verbatim": true, "text": "canary 1.4.0 failed: error rate 12% &gt; 5% for &lt;@U123&gt; &amp; &lt;!channel&gt;"}},
  {"type": "context", "elements": [
    {"type": "mrkdwn", "verbatim": true, "text": ":red_circle: *critical*"},
    {"type": "mrkdwn", "verbatim": true, "text": "<!date^1773500960^{date_short_pretty} {time_secs}|2026-03-14 15:09:20 UTC>"}
  ]}
]`

const wantText = "Rollback of 1.4.0 in production\ncanary 1.4.0 failed: error rate 12% &gt; 5% for &lt;@U123&gt; &amp; &lt;!channel&gt;"

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	return v
}

func TestBotPayloadFieldByField(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	b := newBot(t, f)
	if b.Kind() != "slack" {
		t.Fatalf("Kind = %q", b.Kind())
	}
	first, err := b.Send(t.Context(), rollback(), channel.Thread{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Ref != "1773500966.000001" {
		t.Fatalf("receipt ref %q, want Slack's ts", first.Ref)
	}
	update := rollback()
	update.ID, update.Subject, update.Text, update.Severity = "ntf-01HZX4", "", "rolled back to 1.3.2", "info"
	if _, err := b.Send(t.Context(), update, channel.Thread{Ref: first.Ref}); err != nil {
		t.Fatal(err)
	}
	f.checkClean(t)
	rs := f.Requests()
	if len(rs) != 2 {
		t.Fatalf("%d requests, want 2", len(rs))
	}
	for i, r := range rs {
		if r.path != "/api/chat.postMessage" {
			t.Errorf("request %d went to %s", i, r.path)
		}
		if got := r.header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("request %d: Authorization %q", i, got)
		}
		if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
			t.Errorf("request %d: Content-Type %q", i, got)
		}
	}
	want := map[string]any{
		"channel": testChannel,
		"text":    wantText,
		"blocks":  decode(t, wantBlocks),
		"metadata": map[string]any{
			"event_type":    "floe_notification",
			"event_payload": map[string]any{"id": "ntf-01HZX3", "episode": "ep-canary-1.4.0"},
		},
	}
	if d := cmp.Diff(want, rs[0].body); d != "" {
		t.Errorf("first message (-want +got):\n%s", d)
	}
	if bytes.Contains(rs[0].raw, []byte("thread_ts")) {
		t.Errorf("the first message carries a thread_ts: %s", rs[0].raw)
	}
	wantUpdate := map[string]any{
		"channel":   testChannel,
		"text":      "rolled back to 1.3.2",
		"thread_ts": "1773500966.000001",
		"blocks": decode(t, `[
			{"type": "section", "text": {"type": "mrkdwn", "verbatim": true, "text": "rolled back to 1.3.2"}},
			{"type": "context", "elements": [
				{"type": "mrkdwn", "verbatim": true, "text": ":information_source: *info*"},
				{"type": "mrkdwn", "verbatim": true, "text": "<!date^1773500960^{date_short_pretty} {time_secs}|2026-03-14 15:09:20 UTC>"}
			]}
		]`),
		"metadata": map[string]any{
			"event_type":    "floe_notification",
			"event_payload": map[string]any{"id": "ntf-01HZX4", "episode": "ep-canary-1.4.0"},
		},
	}
	if d := cmp.Diff(wantUpdate, rs[1].body); d != "" {
		t.Errorf("the update (-want +got):\n%s", d)
	}
}

func TestWebhookPayloadFieldByField(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	w := newWebhook(t, f)
	r, err := w.Send(t.Context(), rollback(), channel.Thread{Ref: "1773500966.000001"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ref != "" {
		t.Fatalf("a webhook returned ref %q; it cannot thread", r.Ref)
	}
	f.checkClean(t)
	rs := f.Requests()
	if len(rs) != 1 || rs[0].path != webhookPath {
		t.Fatalf("requests %+v", rs)
	}
	want := map[string]any{"text": wantText, "blocks": decode(t, wantBlocks)}
	if d := cmp.Diff(want, rs[0].body); d != "" {
		t.Errorf("payload (-want +got):\n%s", d)
	}
}

func TestGivenBlocksAreSentAsGiven(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	b := newBot(t, f)
	given := `[{"type":"section","text":{"type":"mrkdwn","text":"*Approval needed* for 1.4.0"}},` +
		`{"type":"actions","block_id":"approval","elements":[` +
		`{"type":"button","action_id":"approve","style":"primary","value":"apr-7","text":{"type":"plain_text","text":"Approve"}},` +
		`{"type":"button","action_id":"reject","style":"danger","value":"apr-7","text":{"type":"plain_text","text":"Reject"}}]}]`
	m := channel.Message{ID: "ntf-apr-7", Subject: "Approval needed for 1.4.0", Blocks: []byte(" " + given + "\n")}
	if _, err := b.Send(t.Context(), m, channel.Thread{}); err != nil {
		t.Fatal(err)
	}
	rs := f.Requests()
	if d := cmp.Diff(decode(t, given), rs[0].body["blocks"]); d != "" {
		t.Errorf("blocks (-want +got):\n%s", d)
	}
	if rs[0].body["text"] != "Approval needed for 1.4.0" {
		t.Errorf("fallback text %q", rs[0].body["text"])
	}
	for _, bad := range []string{`{"type":"section"}`, `[]`, `[{"type":`, `null`} {
		m.Blocks = []byte(bad)
		if _, err := b.Send(t.Context(), m, channel.Thread{}); !isPermanent(err) {
			t.Errorf("blocks %s: %v, want a permanent error", bad, err)
		}
	}
	if _, err := b.Send(t.Context(), channel.Message{ID: "empty"}, channel.Thread{}); !isPermanent(err) {
		t.Errorf("an empty message: %v, want a permanent error", err)
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests; refused messages must not be sent", n)
	}
}

func isPermanent(err error) bool {
	var ce *channel.Error
	return errors.As(err, &ce) && ce.Permanent
}

func TestBuiltMrkdwnIsVerbatimAndEscaped(t *testing.T) {
	t.Parallel()
	// Values from events that Slack would otherwise turn into mentions,
	// channel links or links: bare (verbatim stops Slack's preprocessing)
	// and in Slack's <…> syntax (escaping stops it).
	m := channel.Message{
		Subject:  "@here <!channel> deploy",
		Text:     "@here @channel @everyone #general https://evil.example/x www.evil.example\n<!here> <!subteam^S1> <@U1> <#C1> <https://evil.example|click> & done",
		Severity: "warning <!channel>",
		Time:     msgTime,
	}
	raw, err := slack.Blocks(m)
	if err != nil {
		t.Fatal(err)
	}
	var bs []struct {
		Type     string           `json:"type"`
		Text     map[string]any   `json:"text"`
		Elements []map[string]any `json:"elements"`
	}
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatal(err)
	}
	var objects []map[string]any
	for _, b := range bs {
		if b.Text != nil {
			objects = append(objects, b.Text)
		}
		objects = append(objects, b.Elements...)
	}
	if len(objects) != 4 {
		t.Fatalf("blocks %s: want a header, a section and two context elements", raw)
	}
	for _, o := range objects {
		text, _ := o["text"].(string)
		switch o["type"] {
		case "mrkdwn":
			if o["verbatim"] != true {
				t.Errorf("mrkdwn %q is not verbatim", text)
			}
			// The only <…> a built mrkdwn object may hold is our date token.
			if rest, ok := strings.CutPrefix(text, "<!date^"); ok {
				text = strings.TrimSuffix(rest, ">")
			}
			if strings.ContainsAny(text, "<>") {
				t.Errorf("mrkdwn %q holds an unescaped < or >", text)
			}
		case "plain_text":
			if _, ok := o["verbatim"]; ok {
				t.Errorf("plain_text %q carries verbatim, which Slack refuses there", text)
			}
		default:
			t.Errorf("text object of type %v", o["type"])
		}
	}
	wantSection := "@here @channel @everyone #general https://evil.example/x www.evil.example\n" +
		"&lt;!here&gt; &lt;!subteam^S1&gt; &lt;@U1&gt; &lt;#C1&gt; &lt;https://evil.example|click&gt; &amp; done"
	if got := objects[1]["text"]; got != wantSection {
		t.Errorf("section text\n%q, want\n%q", got, wantSection)
	}
	if got := objects[2]["text"]; got != ":information_source: *warning &lt;!channel&gt;*" {
		t.Errorf("severity %q is not escaped", got)
	}
	if fb := slack.FallbackText(m); strings.ContainsAny(fb, "<>") {
		t.Errorf("fallback %q holds an unescaped < or >", fb)
	}
}

func TestLongTextIsSplitAndCut(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("é", 99) + " <&>\n" // 198 + 1 + 13 + 1 bytes escaped
	m := channel.Message{ID: "long", Subject: strings.Repeat("Ω", 200), Text: strings.Repeat(line, 400)}
	raw, err := slack.Blocks(m)
	if err != nil {
		t.Fatal(err)
	}
	var bs []slack.Block
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatal(err)
	}
	if bs[0].Type != "header" || len(bs[0].Text.Text) > 150 || !strings.HasSuffix(bs[0].Text.Text, "…") {
		t.Fatalf("header %q (%d bytes), want it cut to 150 bytes with an ellipsis", bs[0].Text.Text, len(bs[0].Text.Text))
	}
	sections := bs[1:]
	if len(sections) != 10 {
		t.Fatalf("%d sections, want the text over 10", len(sections))
	}
	var joined strings.Builder
	for i, s := range sections {
		txt := s.Text.Text
		if s.Type != "section" || len(txt) > 3000 {
			t.Fatalf("section %d: %s of %d bytes", i, s.Type, len(txt))
		}
		if strings.Count(txt, "&") != strings.Count(txt, ";") {
			t.Fatalf("section %d cuts an entity: …%q", i, txt[len(txt)-20:])
		}
		if i < len(sections)-1 && !strings.HasSuffix(txt, "\n") {
			t.Fatalf("section %d does not end at a line break", i)
		}
		joined.WriteString(txt)
	}
	if !strings.HasSuffix(joined.String(), "…") || !strings.HasPrefix(slack.Escape(m.Text), strings.TrimSuffix(joined.String(), "…")) {
		t.Fatal("the sections are not the text, in order, cut with an ellipsis")
	}
	if fb := slack.FallbackText(m); len(fb) > 4000 || !strings.HasSuffix(fb, "…") {
		t.Fatalf("fallback of %d bytes, want it cut to 4000", len(fb))
	}
}

func TestBotOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		want       channel.Error // Err ignored
		wantInErr  string
	}{
		{name: "rate limited", status: 429, body: `{"ok":false,"error":"ratelimited"}`, retryAfter: "30", want: channel.Error{RetryAfter: 30 * time.Second, Status: 429}, wantInErr: "ratelimited"},
		{name: "rate limited in the body", status: 200, body: `{"ok":false,"error":"ratelimited"}`, retryAfter: "5", want: channel.Error{RetryAfter: 5 * time.Second, Status: 200}},
		{name: "invalid_auth", status: 200, body: `{"ok":false,"error":"invalid_auth"}`, want: channel.Error{Permanent: true, Status: 200}, wantInErr: "invalid_auth"},
		{name: "channel_not_found", status: 200, body: `{"ok":false,"error":"channel_not_found"}`, want: channel.Error{Permanent: true, Status: 200}, wantInErr: "channel_not_found"},
		{name: "not_in_channel", status: 200, body: `{"ok":false,"error":"not_in_channel"}`, want: channel.Error{Permanent: true, Status: 200}},
		{name: "token_revoked", status: 200, body: `{"ok":false,"error":"token_revoked"}`, want: channel.Error{Permanent: true, Status: 200}},
		{name: "internal_error", status: 200, body: `{"ok":false,"error":"internal_error"}`, want: channel.Error{Status: 200}},
		{name: "a strange code is not echoed", status: 200, body: `{"ok":false,"error":"Bearer ` + testToken + `"}`, want: channel.Error{Permanent: true, Status: 200}, wantInErr: "unknown_error"},
		{name: "503", status: 503, body: `<html>down</html>`, retryAfter: "12", want: channel.Error{RetryAfter: 12 * time.Second, Status: 503}},
		{name: "500", status: 500, body: ``, want: channel.Error{Status: 500}},
		{name: "408", status: 408, want: channel.Error{Status: 408}},
		{name: "404 (wrong base URL)", status: 404, body: `not found`, want: channel.Error{Permanent: true, Status: 404}},
		{name: "302 not followed", status: 302, want: channel.Error{Permanent: true, Status: 302}},
		{name: "200 but not JSON", status: 200, body: `<html>captive portal</html>`, want: channel.Error{Status: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			b, err := slack.NewBot(slack.BotConfig{Token: secrets.NewValueString(testToken), Channel: testChannel, BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.Send(t.Context(), rollback(), channel.Thread{})
			var ce *channel.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Send: %v, want a *channel.Error", err)
			}
			got := channel.Error{Permanent: ce.Permanent, Disable: ce.Disable, RetryAfter: ce.RetryAfter, Status: ce.Status}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("%v (-want +got):\n%s", err, d)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("error %q does not say %q", err, tt.wantInErr)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "html") {
				t.Fatalf("error %q shows the token or the answer's body", err)
			}
		})
	}
}

func TestWebhookOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     int
		body       string
		retryAfter string
		want       channel.Error
	}{
		{status: 400, body: "invalid_payload", want: channel.Error{Permanent: true, Status: 400}},
		{status: 403, body: "action_prohibited", want: channel.Error{Permanent: true, Status: 403}},
		{status: 404, body: "no_service", want: channel.Error{Permanent: true, Status: 404}},
		{status: 410, body: "channel_is_archived", want: channel.Error{Permanent: true, Disable: true, Status: 410}},
		{status: 429, body: "rate_limited", retryAfter: "3", want: channel.Error{RetryAfter: 3 * time.Second, Status: 429}},
		{status: 500, body: "rollup_error", want: channel.Error{Status: 500}},
		{status: 503, retryAfter: "bogus", want: channel.Error{Status: 503}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, " ", tt.body), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			w, err := slack.NewWebhook(slack.WebhookConfig{URL: secrets.NewValueString(srv.URL + webhookPath)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Send(t.Context(), rollback(), channel.Thread{})
			var ce *channel.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Send: %v", err)
			}
			got := channel.Error{Permanent: ce.Permanent, Disable: ce.Disable, RetryAfter: ce.RetryAfter, Status: ce.Status}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("%v (-want +got):\n%s", err, d)
			}
			if tt.body != "" && !strings.Contains(err.Error(), tt.body) {
				t.Fatalf("error %q does not carry Slack's code %q", err, tt.body)
			}
			if strings.Contains(err.Error(), "FakeWebhookSecretPath0") {
				t.Fatalf("error %q shows the webhook URL", err)
			}
		})
	}
}

func TestTransportErrorsHideCredentials(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	w, err := slack.NewWebhook(slack.WebhookConfig{URL: secrets.NewValueString(base + webhookPath)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := slack.NewBot(slack.BotConfig{Token: secrets.NewValueString(testToken), Channel: testChannel, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []channel.Channel{w, b} {
		_, err := c.Send(ctx, rollback(), channel.Thread{})
		var ce *channel.Error
		if !errors.As(err, &ce) || ce.Permanent {
			t.Fatalf("a refused connection: %v, want a transient error", err)
		}
		if strings.Contains(err.Error(), "FakeWebhookSecretPath0") || strings.Contains(err.Error(), testToken) {
			t.Fatalf("error %q shows a credential", err)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tok := secrets.NewValueString(testToken)
	for name, cfg := range map[string]slack.BotConfig{
		"no token":               {Channel: testChannel},
		"a user token":           {Token: secrets.NewValueString("xoxp-1-2-3"), Channel: testChannel},
		"a token with a newline": {Token: secrets.NewValueString("xoxb-1\r\nX-Evil: 1"), Channel: testChannel},
		"no channel":             {Token: tok},
		"bad base URL":           {Token: tok, Channel: testChannel, BaseURL: "slack.com/api"},
	} {
		_, err := slack.NewBot(cfg)
		if err == nil {
			t.Errorf("%s: NewBot accepted it", name)
			continue
		}
		if strings.Contains(err.Error(), "xox") && strings.Contains(err.Error(), "-1") {
			t.Errorf("%s: the error %q shows the token", name, err)
		}
	}
	if _, err := slack.NewWebhook(slack.WebhookConfig{URL: secrets.NewValueString("hooks.slack.com" + webhookPath)}); err == nil || strings.Contains(err.Error(), "FakeWebhookSecretPath0") {
		t.Errorf("a relative webhook URL: %v", err)
	}
}
