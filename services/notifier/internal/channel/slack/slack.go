package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
)

// Kind is the channel kind of both modes.
const Kind = "slack"

// DefaultBaseURL is Slack's Web API.
const DefaultBaseURL = "https://slack.com/api"

// DefaultTimeout bounds one attempt.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// BotConfig configures a Bot.
type BotConfig struct {
	// Token is the bot token, "xoxb-…" (or a rotating "xoxe.xoxb-…"). Required.
	Token secrets.Value
	// Channel is the conversation to post to: an ID (C…, G…) or a name. Required.
	Channel string
	// BaseURL is the Web API's base; DefaultBaseURL when empty (tests point
	// it at a loopback server).
	BaseURL string
	// HTTPClient sends the requests; a client with DefaultTimeout when nil.
	// Its redirect policy is replaced: redirects are never followed.
	HTTPClient *http.Client
}

// Bot posts messages with chat.postMessage and threads an episode's
// messages under its first one.
type Bot struct {
	token    secrets.Value
	channel  string
	endpoint string
	client   *http.Client
}

var _ channel.Channel = (*Bot)(nil)

// NewBot returns a Bot; its errors never show the token.
func NewBot(cfg BotConfig) (*Bot, error) {
	tok := string(cfg.Token.Reveal())
	if !strings.HasPrefix(tok, "xoxb-") && !strings.HasPrefix(tok, "xoxe.xoxb-") {
		return nil, errors.New("slack: the bot token must be an xoxb- token")
	}
	if !printable(tok) {
		return nil, errors.New("slack: the bot token holds spaces or control characters")
	}
	if strings.TrimSpace(cfg.Channel) == "" {
		return nil, errors.New("slack: a channel is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("slack: the base URL must be an absolute http or https URL")
	}
	return &Bot{
		token:    cfg.Token,
		channel:  cfg.Channel,
		endpoint: strings.TrimSuffix(base, "/") + "/chat.postMessage",
		client:   noRedirects(cfg.HTTPClient),
	}, nil
}

// Kind returns "slack".
func (b *Bot) Kind() string { return Kind }

// PostMessage is the body of chat.postMessage as a Bot sends it.
type PostMessage struct {
	Channel  string          `json:"channel"`
	Text     string          `json:"text"`
	Blocks   json.RawMessage `json:"blocks"`
	ThreadTS string          `json:"thread_ts,omitempty"`
	Metadata *Metadata       `json:"metadata,omitempty"`
}

// postResponse is the part of chat.postMessage's answer a Bot reads.
type postResponse struct {
	OK      bool   `json:"ok"`
	TS      string `json:"ts"`
	Channel string `json:"channel"`
	Error   string `json:"error"`
}

// Send posts m to the configured channel, in the thread of t.Ref when it
// is set. The receipt's Ref is the new message's ts.
func (b *Bot) Send(ctx context.Context, m channel.Message, t channel.Thread) (channel.Receipt, error) {
	blocks, err := Blocks(m)
	if err != nil {
		return channel.Receipt{}, permanent("slack chat.postMessage: %v", err)
	}
	p := PostMessage{Channel: b.channel, Text: FallbackText(m), Blocks: blocks, ThreadTS: t.Ref}
	if p.Text == "" {
		// Blocks came with the message but no subject or text: Slack still
		// wants a fallback for notifications.
		p.Text = "Floe notification"
	}
	if m.ID != "" {
		p.Metadata = &Metadata{EventType: MetadataEventType, EventPayload: MetadataPayload{ID: m.ID, Episode: m.Episode}}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return channel.Receipt{}, permanent("slack chat.postMessage: encode: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.endpoint, bytes.NewReader(body))
	if err != nil {
		return channel.Receipt{}, permanent("slack chat.postMessage: build request")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+string(b.token.Reveal()))
	resp, err := b.client.Do(req)
	if err != nil {
		return channel.Receipt{}, transportError(ctx, "slack chat.postMessage", err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	wait := retryAfter(resp.Header.Get("Retry-After"))

	var r postResponse
	decodeErr := json.Unmarshal(raw, &r)
	if resp.StatusCode != http.StatusOK {
		code := ""
		if decodeErr == nil {
			code = r.Error
		}
		return channel.Receipt{}, statusError("slack chat.postMessage", resp.StatusCode, code, wait, false)
	}
	if readErr != nil || decodeErr != nil {
		// Not Slack's JSON (a proxy's page, a cut answer): whether the
		// message was posted is unknown, and Slack answers JSON when it
		// refuses one, so another try is the better bet.
		return channel.Receipt{}, &channel.Error{Status: resp.StatusCode, Err: errors.New("slack chat.postMessage: the answer is not Slack's JSON")}
	}
	if !r.OK {
		code := errorCode(r.Error)
		e := &channel.Error{Status: resp.StatusCode, Permanent: !transientCodes[code], Err: fmt.Errorf("slack chat.postMessage: %s", code)}
		if !e.Permanent {
			e.RetryAfter = wait
		}
		return channel.Receipt{}, e
	}
	return channel.Receipt{Ref: r.TS}, nil
}

// transientCodes are the chat.postMessage errors worth another try.
var transientCodes = map[string]bool{
	"ratelimited":         true,
	"rate_limited":        true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
}

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL is the incoming webhook's URL (https://hooks.slack.com/services/…),
	// a credential: whoever has it can post. Required.
	URL secrets.Value
	// HTTPClient sends the requests; a client with DefaultTimeout when nil.
	// Its redirect policy is replaced: redirects are never followed.
	HTTPClient *http.Client
}

// Webhook posts messages to an incoming webhook. It cannot thread.
type Webhook struct {
	url    secrets.Value
	client *http.Client
}

var _ channel.Channel = (*Webhook)(nil)

// NewWebhook returns a Webhook; its errors never show the URL.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(string(cfg.URL.Reveal()))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("slack: the webhook URL must be an absolute http or https URL")
	}
	return &Webhook{url: cfg.URL, client: noRedirects(cfg.HTTPClient)}, nil
}

// Kind returns "slack".
func (w *Webhook) Kind() string { return Kind }

// WebhookMessage is the body a Webhook posts.
type WebhookMessage struct {
	Text   string          `json:"text"`
	Blocks json.RawMessage `json:"blocks"`
}

// Send posts m at the top level of the webhook's channel: incoming webhooks
// answer no ts, so t is ignored and the receipt's Ref is empty.
func (w *Webhook) Send(ctx context.Context, m channel.Message, _ channel.Thread) (channel.Receipt, error) {
	blocks, err := Blocks(m)
	if err != nil {
		return channel.Receipt{}, permanent("slack webhook: %v", err)
	}
	p := WebhookMessage{Text: FallbackText(m), Blocks: blocks}
	if p.Text == "" {
		p.Text = "Floe notification"
	}
	body, err := json.Marshal(p)
	if err != nil {
		return channel.Receipt{}, permanent("slack webhook: encode: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, string(w.url.Reveal()), bytes.NewReader(body))
	if err != nil {
		return channel.Receipt{}, permanent("slack webhook: build request")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := w.client.Do(req)
	if err != nil {
		return channel.Receipt{}, transportError(ctx, "slack webhook", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK {
		return channel.Receipt{}, nil
	}
	return channel.Receipt{}, statusError("slack webhook", resp.StatusCode, string(raw), retryAfter(resp.Header.Get("Retry-After")), true)
}

// statusError classifies a non-200 answer; code is Slack's error code when
// it gave one (reduced to [a-z0-9_] before it is shown). A webhook's 410
// disables the receiver.
func statusError(op string, status int, code string, wait time.Duration, webhook bool) *channel.Error {
	msg := fmt.Sprintf("%s: status %d", op, status)
	if c := errorCode(code); c != "unknown_error" {
		msg += ": " + c
	}
	e := &channel.Error{Status: status, Err: errors.New(msg)}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		e.RetryAfter = wait
	case status == http.StatusGone && webhook:
		e.Permanent, e.Disable = true, true
	default:
		e.Permanent = true
	}
	return e
}

// errorCode keeps a Slack error code printable and short: codes are
// lower-case words joined by underscores; anything else is not shown.
func errorCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return "unknown_error"
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return "unknown_error"
		}
	}
	return s
}

func permanent(format string, args ...any) *channel.Error {
	return &channel.Error{Permanent: true, Err: fmt.Errorf(format, args...)}
}

// transportError is a failure before an answer: transient, with the URL
// (which for a webhook is the credential) removed from the cause.
func transportError(ctx context.Context, op string, err error) *channel.Error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &channel.Error{Err: fmt.Errorf("%s: %w", op, ctxErr)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &channel.Error{Err: fmt.Errorf("%s: %w", op, err)}
}

func noRedirects(c *http.Client) *http.Client {
	var cl http.Client
	if c != nil {
		cl = *c
	} else {
		cl.Timeout = DefaultTimeout
	}
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cl
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
