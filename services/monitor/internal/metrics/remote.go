package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

const (
	// defaultRemoteTimeout is RemoteConfig.Timeout when it is zero.
	defaultRemoteTimeout = 10 * time.Second
	// queryPath is the instant-query endpoint of the Prometheus HTTP API,
	// relative to the server's base URL.
	queryPath = "/api/v1/query"
	// maxResponseBytes bounds how much of an answer Remote reads, so that a
	// misconfigured URL pointing at something that streams forever cannot
	// exhaust the monitor's memory. A rule's result is far smaller.
	maxResponseBytes = 64 << 20
	// excerptBytes bounds the body excerpt carried by a RemoteError: enough
	// to recognise a proxy's error page or where JSON broke off, short
	// enough for a log line.
	excerptBytes = 512
	// redacted replaces the bearer token wherever a server echoed it back.
	redacted = "[redacted]"
)

// RemoteConfig configures a Remote.
type RemoteConfig struct {
	// URL is the base URL of a Prometheus-compatible server, the same URL a
	// Grafana data source takes: http://prometheus:9090, or
	// https://example.com/prometheus behind a path-prefixing proxy. Queries
	// go to URL + "/api/v1/query", so the URL must not name that endpoint
	// itself. Query parameters in the URL (some hosted services want one) are
	// kept; user information (https://user:password@host) is sent as basic
	// authentication and only the user name ever appears in errors.
	URL string
	// Timeout bounds one Query, from sending the request to reading the last
	// byte of the answer. It is also sent as the query's timeout parameter,
	// so that the server abandons an evaluation nobody waits for any more.
	// Zero means 10s; otherwise it must be at least a millisecond, the
	// resolution of Prometheus durations.
	Timeout time.Duration
	// BearerToken, if set, is sent as "Authorization: Bearer <token>". It
	// never appears in an error, even when a server echoes it back.
	BearerToken string
	// Headers are added to every request, e.g. X-Scope-OrgID to select a
	// tenant of Mimir or Cortex. "Host" sets the request's Host. Remote owns
	// the request body, so Content-Type, Content-Length and
	// Transfer-Encoding are rejected, and so is Authorization together with
	// BearerToken, because only one of them could be sent.
	Headers map[string]string
	// Client sends the requests; nil means http.DefaultClient. Supplying one
	// is how TLS (private CAs, client certificates) and proxies are
	// configured. Remote never modifies it; a Timeout of its own applies in
	// addition to RemoteConfig.Timeout.
	Client *http.Client
}

// Remote is a Source that evaluates PromQL on a Prometheus-compatible server
// (Prometheus, Thanos, Mimir, VictoriaMetrics, ...) through the instant-query
// endpoint of its HTTP API, for deployments that already collect their metrics
// there: the monitor then judges releases by the data operators look at,
// instead of scraping the same targets a second time into an Embedded TSDB.
//
// Results mean what Embedded's mean: an instant vector is one Sample per
// series, with every label (including __name__) and a non-nil Labels map
// even when the series has no labels, and a scalar is one Sample with nil
// Labels. Anything else the server answers, including a range vector, a
// string or a native histogram sample, is an error rather than a partial
// result, because a rule silently evaluated on part of its data would pass or
// fail for the wrong reason. Expressions are not checked locally: the server
// is the authority on what it accepts (some implement PromQL extensions).
// Warnings and infos of a successful answer are not reported, since Source
// has no way to carry them.
//
// A Remote is safe for concurrent use.
type Remote struct {
	endpoint    *url.URL
	redactedURL string // endpoint for error messages, without a password
	timeout     time.Duration
	timeoutArg  string // timeout in Prometheus duration syntax
	timeoutErr  error  // cause of a Query abandoned after timeout
	token       string
	header      http.Header
	host        string
	client      *http.Client
}

var _ Source = (*Remote)(nil)

// NewRemote validates cfg and returns a Remote for it. It does not contact
// the server, so a monitor starts while its Prometheus is still coming up;
// an unreachable server shows up as Query errors.
func NewRemote(cfg RemoteConfig) (*Remote, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Error repeats the whole URL, password included; keep only
		// what was wrong with it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("remote Prometheus URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("remote Prometheus URL %q: want an absolute http:// or https:// URL", u.Redacted())
	case u.Hostname() == "" || u.Opaque != "":
		return nil, fmt.Errorf("remote Prometheus URL %q: no host", u.Redacted())
	case u.Fragment != "":
		return nil, fmt.Errorf("remote Prometheus URL %q: a fragment is never sent to the server", u.Redacted())
	case strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), queryPath):
		return nil, fmt.Errorf("remote Prometheus URL %q: give the server's base URL; %s is appended to it", u.Redacted(), queryPath)
	}
	u = u.JoinPath(queryPath)

	timeout := cfg.Timeout
	switch {
	case timeout == 0:
		timeout = defaultRemoteTimeout
	case timeout < time.Millisecond:
		return nil, fmt.Errorf("remote Prometheus timeout %s: want at least 1ms", timeout)
	}

	r := &Remote{
		endpoint:    u,
		redactedURL: u.Redacted(),
		timeout:     timeout,
		timeoutArg:  model.Duration(timeout).String(),
		timeoutErr:  fmt.Errorf("no answer within %s: %w", timeout, context.DeadlineExceeded),
		token:       cfg.BearerToken,
		header:      http.Header{},
		client:      cfg.Client,
	}
	if r.client == nil {
		r.client = http.DefaultClient
	}
	if r.token != "" {
		if !validHeaderValue(r.token) {
			return nil, errors.New("remote Prometheus bearer token contains control characters")
		}
		if _, ok := u.User.Password(); ok {
			return nil, fmt.Errorf("remote Prometheus URL %q: has a password and a bearer token is set; only one can be sent", u.Redacted())
		}
	}
	for name, value := range cfg.Headers {
		key := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			return nil, fmt.Errorf("remote Prometheus header %q: invalid name", name)
		case !validHeaderValue(value):
			return nil, fmt.Errorf("remote Prometheus header %s: value contains control characters", key)
		case key == "Content-Type" || key == "Content-Length" || key == "Transfer-Encoding":
			return nil, fmt.Errorf("remote Prometheus header %s: set by the client itself", key)
		case key == "Authorization" && r.token != "":
			return nil, errors.New("remote Prometheus header Authorization: a bearer token is set too; only one can be sent")
		case r.header.Get(key) != "" || (key == "Host" && r.host != ""):
			return nil, fmt.Errorf("remote Prometheus header %s: given twice with different capitalisation", key)
		case key == "Host":
			r.host = value
		default:
			r.header.Set(key, value)
		}
	}
	return r, nil
}

// Query implements Source by asking the server's /api/v1/query to evaluate
// expr at time at, which is sent with millisecond precision, the resolution
// of Prometheus timestamps. The request is a form-encoded POST, so that long
// expressions do not hit URL length limits; a server or proxy that refuses
// POST with 405 Method Not Allowed or 501 Not Implemented is asked again with
// GET, as Prometheus' own Go client does. An answer that is not a result is
// a *RemoteError; a Query abandoned because ctx ended or Timeout passed
// returns an error satisfying errors.Is with context.Canceled or
// context.DeadlineExceeded.
func (r *Remote) Query(ctx context.Context, expr string, at time.Time) ([]Sample, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, r.timeout, r.timeoutErr)
	defer cancel()
	form := url.Values{
		"query":   {expr},
		"time":    {formatTime(at)},
		"timeout": {r.timeoutArg},
	}
	status, body, err := r.do(ctx, http.MethodPost, form)
	if err == nil && (status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented) {
		status, body, err = r.do(ctx, http.MethodGet, form)
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			// The transport's error ("context canceled" wrapped in a
			// url.Error) says less than why the context ended.
			err = cause
		}
		return nil, fmt.Errorf("remote query %q on %s: %w", expr, r.redactedURL, err)
	}
	samples, err := interpretResponse(status, body)
	if err != nil {
		return nil, fmt.Errorf("remote query %q on %s: %w", expr, r.redactedURL, r.redact(status, body, err))
	}
	return samples, nil
}

// do sends one request and reads its answer, whatever its status.
func (r *Remote) do(ctx context.Context, method string, form url.Values) (int, []byte, error) {
	var body io.Reader
	target := *r.endpoint
	if method == http.MethodGet {
		q := target.Query()
		for k, v := range form {
			q[k] = v
		}
		target.RawQuery = q.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), body)
	if err != nil {
		return 0, nil, err
	}
	// A copy per request: a RoundTripper may add to the headers it is given.
	req.Header = r.header.Clone()
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if r.host != "" {
		req.Host = r.host
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("read response (%s): %w", statusString(resp.StatusCode), err)
	}
	return resp.StatusCode, data, nil
}

// redact removes the bearer token from err, the error made of an answer
// with body. Servers and proxies do echo request headers in error pages, and
// the token would then sit in logs and alert texts. The body is scrubbed
// before being interpreted again, rather than the error text afterwards, so
// that a token cut in half by the excerpt's length limit is caught too; the
// error fields are scrubbed as well for a token the JSON text had escaped.
func (r *Remote) redact(status int, body []byte, err error) error {
	if r.token == "" {
		return err
	}
	if bytes.Contains(body, []byte(r.token)) {
		_, err = interpretResponse(status, bytes.ReplaceAll(body, []byte(r.token), []byte(redacted)))
		if err == nil { // scrubbing made the answer valid; still report the original failure
			err = &RemoteError{StatusCode: status, Message: "response rejected; its body echoed the bearer token and is not shown"}
		}
	}
	var rerr *RemoteError
	if errors.As(err, &rerr) {
		rerr.Message = strings.ReplaceAll(rerr.Message, r.token, redacted)
		rerr.Excerpt = strings.ReplaceAll(rerr.Excerpt, r.token, redacted)
	}
	if strings.Contains(err.Error(), r.token) { // a last resort: never leak it
		return &RemoteError{StatusCode: status, Message: "response rejected; its description contained the bearer token and is not shown"}
	}
	return err
}

// RemoteError is an answer from a remote server that is not a query result:
// a Prometheus API error, or a body that is not the API's JSON at all, such
// as a proxy's HTML error page. Callers can tell a broken expression
// (Type "bad_data" or "execution") from a struggling server (Type "timeout"
// or "unavailable", or an HTTP 5xx without a Type), which is worth retrying.
type RemoteError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Type is the errorType of a Prometheus API error ("bad_data",
	// "execution", "timeout", "canceled", "internal", "unavailable", ...),
	// or "unknown" if the error had none. It is empty when the answer was
	// not an API error.
	Type string
	// Message is the server's error text for an API error, and otherwise
	// what was wrong with the answer.
	Message string
	// Excerpt is the start of the body (at most 512 bytes, never splitting a
	// UTF-8 sequence) when the answer was not a well-formed API response, so
	// that the page or broken JSON that caused the error can be seen in logs.
	// It is empty for API errors, whose Message says what went wrong.
	Excerpt string
	bodyLen int // length of the whole body, to say the excerpt is partial
}

// Error reports the HTTP status and the server's message, or the HTTP
// status, what was wrong and the quoted excerpt of the body.
func (e *RemoteError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("%s: %s: %s", statusString(e.StatusCode), e.Type, e.Message)
	}
	if e.Excerpt == "" && e.bodyLen == 0 {
		return fmt.Sprintf("%s: %s", statusString(e.StatusCode), e.Message)
	}
	if e.bodyLen > len(e.Excerpt) {
		return fmt.Sprintf("%s: %s; body (%d bytes) starts %q", statusString(e.StatusCode), e.Message, e.bodyLen, e.Excerpt)
	}
	return fmt.Sprintf("%s: %s; body %q", statusString(e.StatusCode), e.Message, e.Excerpt)
}

// interpretResponse is decodeQueryResponse for a body read with a limit of
// maxResponseBytes+1 bytes, of which a body that used all is a part.
func interpretResponse(status int, body []byte) ([]Sample, error) {
	if len(body) > maxResponseBytes {
		return nil, &RemoteError{
			StatusCode: status,
			Message:    fmt.Sprintf("response body exceeds %d bytes", maxResponseBytes),
			Excerpt:    excerpt(body),
			bodyLen:    len(body),
		}
	}
	return decodeQueryResponse(status, body)
}

// decodeQueryResponse decodes the answer of /api/v1/query, an HTTP status and
// the whole body, into samples, or says why it holds none: a Prometheus API
// error, or a body that is not a well-formed answer to an instant query. It
// is strict, since a rule evaluated on a misread answer fails or passes for
// the wrong reason, but ignores fields it does not need (stats, warnings,
// infos, and those later versions add).
func decodeQueryResponse(status int, body []byte) ([]Sample, error) {
	bad := func(format string, args ...any) error {
		return &RemoteError{StatusCode: status, Message: fmt.Sprintf(format, args...), Excerpt: excerpt(body), bodyLen: len(body)}
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, bad("not a Prometheus API response: %v", err)
	}
	switch env.Status {
	case "error":
		typ, msg := env.ErrorType, env.Error
		if typ == "" {
			typ = "unknown"
		}
		if msg == "" {
			msg = "(no error message)"
		}
		return nil, &RemoteError{StatusCode: status, Type: typ, Message: msg}
	case "success":
	default:
		return nil, bad("response status is %q, want \"success\" or \"error\"", env.Status)
	}
	if status < 200 || status > 299 {
		return nil, bad("a successful response cannot have a non-2xx status")
	}
	var data struct {
		ResultType *string         `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return nil, bad("data: %v", err)
	}
	if data.ResultType == nil || data.Result == nil {
		return nil, bad("data has no resultType or no result")
	}
	switch *data.ResultType {
	case "vector":
		var series []struct {
			Metric    map[string]*string `json:"metric"`
			Value     *point             `json:"value"`
			Histogram json.RawMessage    `json:"histogram"`
		}
		if err := json.Unmarshal(data.Result, &series); err != nil {
			return nil, bad("vector result: %v", err)
		}
		out := make([]Sample, 0, len(series))
		for i, s := range series {
			if s.Histogram != nil && !bytes.Equal(s.Histogram, []byte("null")) {
				return nil, bad("vector result: series %d holds a native histogram, which a Sample cannot represent", i)
			}
			if s.Value == nil {
				return nil, bad("vector result: series %d has no value", i)
			}
			lbls := make(map[string]string, len(s.Metric))
			for name, value := range s.Metric {
				if value == nil {
					return nil, bad("vector result: series %d: label %q is null", i, truncate(name))
				}
				lbls[name] = *value
			}
			out = append(out, Sample{Labels: lbls, Value: s.Value.v})
		}
		return out, nil
	case "scalar":
		var p point
		if err := json.Unmarshal(data.Result, &p); err != nil {
			return nil, bad("scalar result: %v", err)
		}
		return []Sample{{Value: p.v}}, nil
	case "matrix", "string":
		return nil, bad("result type is %s; an instant query must yield an instant vector or a scalar", *data.ResultType)
	default:
		return nil, bad("unknown result type %q", truncate(*data.ResultType))
	}
}

// point is a sample as the API encodes it, [<unix time>, "<value>"]: the
// value is a string because JSON has no NaN or infinities, which PromQL
// results do. The time is checked but not kept: an instant query's samples
// carry the evaluation time.
type point struct{ v float64 }

// UnmarshalJSON decodes [<unix time>, "<value>"], strictly.
func (p *point) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("sample has %d elements, want [<unix time>, \"<value>\"]", len(pair))
	}
	var ts *float64
	if err := json.Unmarshal(pair[0], &ts); err != nil || ts == nil {
		return errors.New("sample time is not a number")
	}
	var s *string
	if err := json.Unmarshal(pair[1], &s); err != nil || s == nil {
		return errors.New("sample value is not a string")
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return fmt.Errorf("sample value %q is not a number", truncate(*s))
	}
	p.v = v
	return nil
}

// formatTime renders at as Unix seconds with exactly the milliseconds
// Prometheus keeps ("1435781451.781"), computed from integers so that no
// float rounding moves the evaluation time.
func formatTime(at time.Time) string {
	ms := at.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// excerpt returns at most excerptBytes bytes of the start of body, cut
// before a UTF-8 sequence the limit would split.
func excerpt(body []byte) string {
	if len(body) <= excerptBytes {
		return string(body)
	}
	n := excerptBytes
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(body[n]); i++ {
		n--
	}
	if !utf8.RuneStart(body[n]) { // not UTF-8 here anyway
		n = excerptBytes
	}
	return string(body[:n])
}

// truncate shortens a string taken from a response for use in an error
// message, which must stay a line.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	n := limit
	for n > limit-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// statusString renders an HTTP status for messages: "HTTP 503 Service
// Unavailable", or just "HTTP 299" for a code without a standard text.
func statusString(code int) string {
	if text := http.StatusText(code); text != "" {
		return "HTTP " + strconv.Itoa(code) + " " + text
	}
	return "HTTP " + strconv.Itoa(code)
}

// validHeaderName reports whether name is an HTTP field name (an RFC 9110
// token), which the transport would otherwise reject on every request.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be sent as a field value: no
// control characters but tab, so that no value can end the header early.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
