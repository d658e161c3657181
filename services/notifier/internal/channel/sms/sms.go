package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
)

// Kind is the channel kind of this package.
const Kind = "sms"

// Defaults of Config.
const (
	DefaultBaseURL  = "https://api.twilio.com"
	DefaultMaxChars = 1600 // Twilio's limit on a message body
	DefaultTimeout  = 30 * time.Second
)

// Config is one SMS receiver: the API account, the sender and the recipients.
type Config struct {
	// BaseURL is the API's root (default DefaultBaseURL); https, or http to
	// a loopback host only.
	BaseURL string
	// AccountSID is the account (AC…), the basic-auth user and part of the path.
	AccountSID string
	// AuthToken is the basic-auth password, resolved from a secret
	// reference; it prints as [redacted].
	AuthToken secrets.Value
	// From is the sender's number (E.164) or alphanumeric sender id;
	// MessagingServiceSID (MG…) sends through a messaging service instead.
	// At least one is required; with both, both are sent (the API then
	// picks From within the service).
	From                string
	MessagingServiceSID string
	// To are the recipients' numbers (E.164, "+15551234567"): one POST each.
	To []string
	// MaxChars bounds the body, in characters (default DefaultMaxChars).
	MaxChars int
	// HTTPClient sends the requests (default: a client with DefaultTimeout
	// that does not follow redirects).
	HTTPClient *http.Client
}

// Channel sends a Message as an SMS to each configured recipient. It is safe
// for concurrent use.
type Channel struct {
	endpoint  string
	account   string
	token     secrets.Value
	from      string
	service   string
	to        []string
	maxChars  int
	client    *http.Client
	delivered *memo
}

var _ channel.Channel = (*Channel)(nil)

// New checks cfg, reporting every problem at once (an
// *errs.InvalidArgumentError), and returns a Channel.
func New(cfg Config) (*Channel, error) {
	var v errs.Violations
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		v.Add("baseUrl", "want an absolute URL without credentials, query or fragment, got %q", base)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		v.Add("baseUrl", "want https (http only to a loopback host), got %q", base)
	}
	if cfg.AccountSID == "" || strings.ContainsAny(cfg.AccountSID, "/?#:% ") {
		v.Add("accountSid", "want the account SID (AC…), got %q", cfg.AccountSID)
	}
	if cfg.AuthToken.IsZero() {
		v.Add("authToken", "required")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		v.Add("from", "name a sender (from) or a messaging service (messagingServiceSid)")
	}
	if len(cfg.To) == 0 {
		v.Add("to", "name at least one recipient")
	}
	seen := map[string]bool{}
	for i, to := range cfg.To {
		switch {
		case strings.TrimSpace(to) == "":
			v.Add(fmt.Sprintf("to[%d]", i), "empty")
		case seen[to]:
			v.Add(fmt.Sprintf("to[%d]", i), "%s is listed twice", to)
		}
		seen[to] = true
	}
	maxChars := cfg.MaxChars
	switch {
	case maxChars == 0:
		maxChars = DefaultMaxChars
	case maxChars < 2:
		v.Add("maxChars", "want at least 2 (room for a character and the ellipsis), got %d", maxChars)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout: DefaultTimeout,
			// A redirect is an answer this channel does not expect: report
			// it rather than resend the form elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Channel{
		endpoint:  strings.TrimSuffix(u.String(), "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		account:   cfg.AccountSID,
		token:     cfg.AuthToken,
		from:      cfg.From,
		service:   cfg.MessagingServiceSID,
		to:        append([]string(nil), cfg.To...),
		maxChars:  maxChars,
		client:    client,
		delivered: newMemo(memoSize),
	}, nil
}

// Kind returns "sms".
func (c *Channel) Kind() string { return Kind }

// Send posts m to each recipient in turn, one request each, and returns
// the message sids in recipient order, comma-separated, as the receipt's
// Ref. SMS does not thread: t is ignored.
//
// A recipient that fails does not stop the others. When any fails, the
// error is a *channel.Error whose Err is a *DeliveryError listing who got
// the message and who did not; it is permanent only when every failure is,
// its Status is the first failure's and its RetryAfter the longest asked
// for. The channel remembers, for the last memoSize message ids, which
// recipients got each message, so a retry of the same Message.ID sends only
// to the others (this memory is the process's: after a restart a retry
// sends to everyone again).
func (c *Channel) Send(ctx context.Context, m channel.Message, _ channel.Thread) (channel.Receipt, error) {
	if m.ID == "" {
		return channel.Receipt{}, &channel.Error{Permanent: true, Err: errors.New("sms: the message has no ID")}
	}
	body := Body(m.Subject, m.Text, c.maxChars)
	de := &DeliveryError{}
	var out *channel.Error
	sids := make([]string, 0, len(c.to))
	for _, to := range c.to {
		if sid, ok := c.delivered.get(m.ID, to); ok {
			sids = append(sids, sid)
			de.Sent = append(de.Sent, Sent{To: to, SID: sid})
			continue
		}
		var (
			sid string
			err *channel.Error
		)
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The context ended: the remaining recipients are not tried.
			err = &channel.Error{Err: ctxErr}
		} else {
			sid, err = c.post(ctx, body, to)
		}
		if err != nil {
			de.Failed = append(de.Failed, Failed{To: to, Err: err})
			if out == nil {
				out = &channel.Error{Permanent: true, Status: err.Status}
			}
			out.Permanent = out.Permanent && err.Permanent
			out.RetryAfter = max(out.RetryAfter, err.RetryAfter)
			continue
		}
		c.delivered.put(m.ID, to, sid)
		sids = append(sids, sid)
		de.Sent = append(de.Sent, Sent{To: to, SID: sid})
	}
	if out != nil {
		out.Err = de
		return channel.Receipt{}, out
	}
	return channel.Receipt{Ref: strings.Join(sids, ",")}, nil
}

// apiError is the API's JSON error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// created is the API's answer to a message created.
type created struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
}

// maxResponse bounds the part of a response read.
const maxResponse = 64 << 10

// post creates one message; its error is a *channel.Error that shows no
// token.
func (c *Channel) post(ctx context.Context, body, to string) (string, *channel.Error) {
	form := url.Values{"To": {to}, "Body": {body}}
	if c.from != "" {
		form.Set("From", c.from)
	}
	if c.service != "" {
		form.Set("MessagingServiceSid", c.service)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &channel.Error{Permanent: true, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(c.account, string(c.token.Reveal()))
	resp, err := c.client.Do(req)
	if err != nil {
		// A *url.Error names the URL, which holds no credential (basic auth
		// is a header); the context's error stays reachable with errors.Is.
		return "", &channel.Error{Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil && resp.StatusCode/100 != 2 {
		return "", &channel.Error{Status: resp.StatusCode, Err: fmt.Errorf("HTTP %d, reading the answer: %w", resp.StatusCode, err)}
	}

	if resp.StatusCode/100 == 2 {
		var cr created
		if json.Unmarshal(raw, &cr) != nil || cr.SID == "" {
			// The API may have taken the message: retrying could send it
			// twice, so this is not retried.
			return "", &channel.Error{Permanent: true, Status: resp.StatusCode, Err: fmt.Errorf("HTTP %d without a message sid", resp.StatusCode)}
		}
		return cr.SID, nil
	}

	e := &channel.Error{Status: resp.StatusCode}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode >= 500:
	default:
		e.Permanent = true
	}
	ae := &APIError{Status: resp.StatusCode}
	var answer apiError
	if json.Unmarshal(raw, &answer) == nil {
		ae.Code, ae.Message, ae.MoreInfo = answer.Code, answer.Message, answer.MoreInfo
		// The API's message may quote the request; never the token.
		if tok := string(c.token.Reveal()); tok != "" {
			ae.Message = strings.ReplaceAll(ae.Message, tok, secrets.Redacted)
		}
	}
	e.Err = ae
	return "", e
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; zero
// when absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// Body is the SMS text of a message: the subject, a line break and the
// text (either alone when the other is empty), cut to maxChars characters
// (runes) on a character boundary, the last one an ellipsis "…" when cut.
func Body(subject, text string, maxChars int) string {
	body := subject
	switch {
	case subject == "":
		body = text
	case text != "":
		body = subject + "\n" + text
	}
	if utf8.RuneCountInString(body) <= maxChars {
		return body
	}
	n := 0
	for i := range body {
		if n == maxChars-1 {
			return strings.TrimRight(body[:i], " \t\n") + "…"
		}
		n++
	}
	return body
}

// DeliveryError is the cause of a failed Send: who got the message and who did not.
type DeliveryError struct {
	// Sent lists the recipients that got it, this time or in an earlier
	// attempt of the same message.
	Sent []Sent
	// Failed lists the recipients that did not, with their errors.
	Failed []Failed
}

// Sent is a recipient that got the message.
type Sent struct {
	To  string
	SID string
}

// Failed is a recipient that did not.
type Failed struct {
	To  string
	Err *channel.Error
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString("sms: ")
	if len(e.Sent) > 0 {
		fmt.Fprintf(&b, "sent to %d of %d recipients; ", len(e.Sent), len(e.Sent)+len(e.Failed))
	}
	for i, f := range e.Failed {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("to " + f.To + ": " + f.Err.Error())
	}
	return b.String()
}

// Unwrap gives the failures' errors (errors.Is finds context.Canceled, say).
func (e *DeliveryError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f.Err
	}
	return out
}

// APIError is an error answer of the API.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is the API's error code (21211: invalid To number, …), 0 when it gave none.
	Code int
	// Message is the API's explanation, "" when it gave none.
	Message string
	// MoreInfo is the API's link to the code's documentation.
	MoreInfo string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	s := fmt.Sprintf("HTTP %d, error %d: %s", e.Status, e.Code, e.Message)
	if e.MoreInfo != "" {
		s += " (" + e.MoreInfo + ")"
	}
	return s
}

// memoSize is how many message ids a Channel remembers the recipients of.
const memoSize = 1024

// memo remembers, for the last n message ids, the sid each recipient's
// message got.
type memo struct {
	mu    sync.Mutex
	n     int
	order []string
	sids  map[string]map[string]string
}

func newMemo(n int) *memo { return &memo{n: n, sids: map[string]map[string]string{}} }

func (m *memo) get(id, to string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sid, ok := m.sids[id][to]
	return sid, ok
}

func (m *memo) put(id, to, sid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sids[id] == nil {
		if len(m.order) == m.n {
			delete(m.sids, m.order[0])
			m.order = m.order[1:]
		}
		m.order = append(m.order, id)
		m.sids[id] = map[string]string{}
	}
	m.sids[id][to] = sid
}

// isLoopback says whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
