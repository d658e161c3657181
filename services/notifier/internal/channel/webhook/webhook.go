package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
)

// Kind is the channel kind of webhooks.
const Kind = "webhook"

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// ContentType is the media type of a CloudEvents structured-mode JSON body.
const ContentType = "application/cloudevents+json"

// The CloudEvents attributes of an envelope built from a message.
const (
	EventSource = "floe"
	EventType   = "dev.floe.notification"
)

// SecretPrefix marks a Standard Webhooks symmetric secret.
const SecretPrefix = "whsec_"

// Key size bounds from the specification: at least 24 bytes, at most 64.
const (
	MinKeyLen = 24
	MaxKeyLen = 64
)

// DefaultTimeout bounds one attempt (the specification recommends 15 to 30 s).
const DefaultTimeout = 30 * time.Second

// maxRetryAfter caps a receiver's Retry-After, so that a huge value cannot
// overflow a Duration; the delivery loop applies its own, shorter, limits.
const maxRetryAfter = 24 * time.Hour

// Config configures a webhook channel.
type Config struct {
	// URL is the receiver's endpoint, http or https. Required.
	URL string
	// Secrets sign each request, "whsec_<base64>" each; the first is the
	// current one, the others are kept while a rotation is under way. At
	// least one.
	Secrets []secrets.Value
	// HTTPClient sends the requests; a client with DefaultTimeout when nil.
	// Its redirect policy is replaced: redirects are never followed.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent; "floe-notifier" when empty.
	UserAgent string
	// Now is the clock of webhook-timestamp and Retry-After dates; time.Now when nil.
	Now func() time.Time
}

// Channel sends messages to one webhook endpoint.
type Channel struct {
	url       string
	endpoint  string // scheme://host, for errors
	keys      [][]byte
	client    *http.Client
	userAgent string
	now       func() time.Time
}

var _ channel.Channel = (*Channel)(nil)

// New returns a webhook channel; it fails on a missing or unusable URL or
// secret, without showing the secret.
func New(cfg Config) (*Channel, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook: URL must be an absolute http or https URL")
	}
	if len(cfg.Secrets) == 0 {
		return nil, errors.New("webhook: at least one signing secret is required")
	}
	c := &Channel{url: cfg.URL, endpoint: u.Scheme + "://" + u.Host, userAgent: cfg.UserAgent, now: cfg.Now}
	for i, s := range cfg.Secrets {
		k, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("webhook: secret %d: %w", i+1, err)
		}
		c.keys = append(c.keys, k)
	}
	if cfg.HTTPClient != nil {
		cl := *cfg.HTTPClient
		c.client = &cl
	} else {
		c.client = &http.Client{Timeout: DefaultTimeout}
	}
	c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.userAgent == "" {
		c.userAgent = "floe-notifier"
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// ParseSecret decodes a Standard Webhooks symmetric secret, "whsec_" and
// the standard base64 of the key (padded or not; the prefix is optional),
// into the key. Its errors never show the secret.
func ParseSecret(s secrets.Value) ([]byte, error) {
	text := strings.TrimPrefix(strings.TrimSpace(string(s.Reveal())), SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(text)
	}
	if err != nil {
		return nil, errors.New("the secret is not whsec_ and base64")
	}
	if len(key) < MinKeyLen || len(key) > MaxKeyLen {
		return nil, fmt.Errorf("the key is %d bytes, want %d to %d", len(key), MinKeyLen, MaxKeyLen)
	}
	return key, nil
}

// Signature returns the webhook-signature header of a message: "v1," and
// the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" under each key, in
// the order of keys, separated by single spaces.
func Signature(keys [][]byte, id string, timestamp int64, body []byte) string {
	signed := make([]byte, 0, len(id)+len(body)+22)
	signed = append(signed, id...)
	signed = append(signed, '.')
	signed = strconv.AppendInt(signed, timestamp, 10)
	signed = append(signed, '.')
	signed = append(signed, body...)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		m := hmac.New(sha256.New, k)
		m.Write(signed)
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return b.String()
}

// Envelope is the CloudEvents 1.0 structured-mode JSON body of a message
// that carries no event of its own.
type Envelope struct {
	SpecVersion     string       `json:"specversion"`
	ID              string       `json:"id"`
	Source          string       `json:"source"`
	Type            string       `json:"type"`
	Time            string       `json:"time,omitempty"`
	DataContentType string       `json:"datacontenttype"`
	Data            EnvelopeData `json:"data"`
}

// EnvelopeData is the data of an Envelope: the message as people read it.
type EnvelopeData struct {
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	Severity string `json:"severity"`
	Episode  string `json:"episode"`
}

// Body returns what Send posts for m: m.Event as given when it is set
// (it must be a JSON object), otherwise the JSON of the message's Envelope
// (id is the message's ID, time its Time in RFC 3339 UTC, left out when zero).
func Body(m channel.Message) ([]byte, error) {
	if len(m.Event) > 0 {
		if t := bytes.TrimSpace(m.Event); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
			return nil, errors.New("the message's event is not a JSON object")
		}
		return m.Event, nil
	}
	e := Envelope{
		SpecVersion:     "1.0",
		ID:              m.ID,
		Source:          EventSource,
		Type:            EventType,
		DataContentType: "application/json",
		Data:            EnvelopeData{Subject: m.Subject, Text: m.Text, Severity: m.Severity, Episode: m.Episode},
	}
	if !m.Time.IsZero() {
		e.Time = m.Time.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(e)
}

// Kind returns "webhook".
func (c *Channel) Kind() string { return Kind }

// Send makes one signed delivery attempt of m; webhooks do not thread, so
// t is ignored. The receipt's Ref is the webhook-id. A message whose ID is
// empty, holds a '.' (the specification forbids it: the signed content is
// delimited by full stops) or is not printable ASCII is refused as permanent.
func (c *Channel) Send(ctx context.Context, m channel.Message, _ channel.Thread) (channel.Receipt, error) {
	if err := checkID(m.ID); err != nil {
		return channel.Receipt{}, &channel.Error{Permanent: true, Err: fmt.Errorf("webhook to %s: %w", c.endpoint, err)}
	}
	body, err := Body(m)
	if err != nil {
		return channel.Receipt{}, &channel.Error{Permanent: true, Err: fmt.Errorf("webhook to %s: %w", c.endpoint, err)}
	}
	ts := c.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return channel.Receipt{}, &channel.Error{Permanent: true, Err: fmt.Errorf("webhook to %s: build request", c.endpoint)}
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", c.userAgent)
	// Set the headers in the specification's lower-case spelling (Header.Set
	// would canonicalise them; HTTP/1 receivers must match case-insensitively
	// anyway, but some compare literally).
	req.Header[HeaderID] = []string{m.ID}
	req.Header[HeaderTimestamp] = []string{strconv.FormatInt(ts, 10)}
	req.Header[HeaderSignature] = []string{Signature(c.keys, m.ID, ts, body)}

	resp, err := c.client.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return channel.Receipt{}, &channel.Error{Err: fmt.Errorf("webhook to %s: %w", c.endpoint, ctxErr)}
		}
		return channel.Receipt{}, &channel.Error{Err: fmt.Errorf("webhook to %s: %w", c.endpoint, transportCause(err))}
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; the body is not read otherwise.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return channel.Receipt{Ref: m.ID}, nil
	}
	return channel.Receipt{}, classify(c.endpoint, resp, c.now())
}

// classify turns a non-2xx answer into a channel.Error.
func classify(endpoint string, resp *http.Response, now time.Time) *channel.Error {
	code := resp.StatusCode
	e := &channel.Error{Status: code, Err: fmt.Errorf("webhook to %s: %s", endpoint, statusText(code))}
	switch {
	case code == http.StatusGone:
		e.Permanent, e.Disable = true, true
		e.Err = fmt.Errorf("webhook to %s: %s: the receiver asks to be disabled", endpoint, statusText(code))
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now)
	default: // 1xx left over, 3xx, other 4xx
		e.Permanent = true
	}
	return e
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return "status " + strconv.Itoa(code)
}

// RetryAfter reads a Retry-After header value, delay-seconds or an HTTP
// date (relative to now), as a wait; zero when it is absent, unreadable or
// in the past, and at most 24 hours.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if strings.Trim(v, "0123456789") == "" { // delay-seconds
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > uint64(maxRetryAfter/time.Second) { // only overflow fails here
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// transportCause strips the URL from a transport error: a webhook URL's
// path or query may hold a token.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func checkID(id string) error {
	if id == "" {
		return errors.New("the message has no ID (webhook-id)")
	}
	if len(id) > 256 {
		return errors.New("the message ID is longer than 256 bytes")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e || c == '.' {
			return fmt.Errorf("the message ID %q holds a character a webhook-id may not ('.', space or non-printable)", id)
		}
	}
	return nil
}
