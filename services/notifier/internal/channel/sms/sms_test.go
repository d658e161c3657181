package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/channel/channeltest"
	"github.com/penguinmails/floe/services/notifier/internal/channel/sms"
)

const (
	account = "AC0123456789abcdef0123456789abcdef"
	token   = "tok-9f8e7d6c5b4a3f2e"
)

// refusal is an answer the server has in store.
type refusal struct {
	to         string // only for this recipient; "" for any
	status     int
	retryAfter string
	body       string // JSON; "" for the API's error body
}

// apiServer is a loopback Twilio-compatible Messages endpoint that checks
// every request and records the forms it accepted.
type apiServer struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	got      []url.Values
	sids     []string
	refusals []refusal
}

func startAPI(t *testing.T, useTLS bool) *apiServer {
	t.Helper()
	a := &apiServer{t: t}
	if useTLS {
		a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	} else {
		a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	}
	t.Cleanup(a.srv.Close)
	return a
}

// serve is the endpoint: every check that fails is a test error and a 400.
func (a *apiServer) serve(w http.ResponseWriter, r *http.Request) {
	bad := func(format string, args ...any) {
		a.t.Errorf("the API got a bad request: "+format, args...)
		http.Error(w, "bad request", http.StatusBadRequest)
	}
	if r.Method != http.MethodPost {
		bad("method %s", r.Method)
		return
	}
	if want := "/2010-04-01/Accounts/" + account + "/Messages.json"; r.URL.Path != want || r.URL.RawQuery != "" {
		bad("URL %s, want %s", r.URL, want)
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != account || pass != token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		bad("Content-Type %q", ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		bad("form: %v", err)
		return
	}
	form := r.PostForm
	for k, vs := range form {
		if len(vs) != 1 {
			bad("field %s given %d times", k, len(vs))
			return
		}
		switch k {
		case "To", "From", "MessagingServiceSid", "Body":
		default:
			bad("unexpected field %s", k)
			return
		}
	}
	if form.Get("To") == "" || form.Get("Body") == "" || form.Get("From") == "" && form.Get("MessagingServiceSid") == "" {
		bad("form %v lacks To, Body, or both From and MessagingServiceSid", form)
		return
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	for i, f := range a.refusals {
		if f.to != "" && f.to != form.Get("To") {
			continue
		}
		a.refusals = append(a.refusals[:i:i], a.refusals[i+1:]...)
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		body := f.body
		if body == "" {
			body = fmt.Sprintf(`{"code": %[1]d, "message": "refused by the test for %[2]s", "more_info": "https://www.twilio.com/docs/errors/%[1]d", "status": %[3]d}`,
				f.status*100+1, form.Get("To"), f.status)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(body))
		return
	}
	a.got = append(a.got, form)
	sid := fmt.Sprintf("SM%032d", len(a.got))
	a.sids = append(a.sids, sid)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "status": "queued", "to": form.Get("To"), "body": form.Get("Body")})
}

func (a *apiServer) refuse(f refusal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refusals = append(a.refusals, f)
}

func (a *apiServer) received() ([]url.Values, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]url.Values(nil), a.got...), append([]string(nil), a.sids...)
}

func newChannel(t *testing.T, a *apiServer, edit func(*sms.Config)) *sms.Channel {
	t.Helper()
	cfg := sms.Config{
		BaseURL:    a.srv.URL,
		AccountSID: account,
		AuthToken:  secrets.NewValueString(token),
		From:       "+15557654321",
		To:         []string{"+15551230001"},
		HTTPClient: a.srv.Client(),
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := sms.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func msg(id string) channel.Message {
	return channel.Message{ID: id, Subject: "Rollback of 1.4.0 in production", Text: "canary 1.4.0 failed: error rate 12% — rolling back", HTML: "<p>ignored</p>"}
}

// TestSendsForms checks each request's fields, over TLS, with two
// recipients and then with a messaging service.
func TestSendsForms(t *testing.T) {
	t.Parallel()
	a := startAPI(t, true)
	c := newChannel(t, a, func(cfg *sms.Config) { cfg.To = []string{"+15551230001", "+447700900123"} })
	if c.Kind() != "sms" {
		t.Fatalf("kind %q", c.Kind())
	}
	r, err := c.Send(ctx(t), msg("m-1"), channel.Thread{Ref: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	body := "Rollback of 1.4.0 in production\ncanary 1.4.0 failed: error rate 12% — rolling back"
	want := []url.Values{
		{"To": {"+15551230001"}, "From": {"+15557654321"}, "Body": {body}},
		{"To": {"+447700900123"}, "From": {"+15557654321"}, "Body": {body}},
	}
	got, sids := a.received()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forms (-want +got):\n%s", diff)
	}
	if r.Ref != strings.Join(sids, ",") {
		t.Errorf("receipt %q, want the sids %v", r.Ref, sids)
	}

	b := startAPI(t, false)
	c = newChannel(t, b, func(cfg *sms.Config) { cfg.From, cfg.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef" })
	if _, err := c.Send(ctx(t), channel.Message{ID: "m-2", Text: "only text"}, channel.Thread{}); err != nil {
		t.Fatal(err)
	}
	got, _ = b.received()
	want = []url.Values{{"To": {"+15551230001"}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {"only text"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messaging service form (-want +got):\n%s", diff)
	}
}

func TestBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, subject, text string
		max                 int
		want                string
	}{
		{name: "subject and text", subject: "S", text: "T", max: 1600, want: "S\nT"},
		{name: "text only", text: "T", max: 1600, want: "T"},
		{name: "subject only", subject: "S", max: 1600, want: "S"},
		{name: "exactly the limit", subject: "abcd", text: "efghi", max: 10, want: "abcd\nefghi"},
		{name: "one over", subject: "abcd", text: "efghij", max: 10, want: "abcd\nefgh…"},
		{name: "multi-byte characters", text: "ééééééé", max: 5, want: "éééé…"},
		{name: "emoji", text: "🚀🚀🚀🚀", max: 3, want: "🚀🚀…"},
		{name: "no space before the ellipsis", text: "abc   defgh", max: 6, want: "abc…"},
		{name: "the default limit", text: strings.Repeat("x", 2000), max: sms.DefaultMaxChars, want: strings.Repeat("x", 1599) + "…"},
	}
	for _, tt := range tests {
		got := sms.Body(tt.subject, tt.text, tt.max)
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > tt.max {
			t.Errorf("%s: %q is not valid UTF-8 within %d characters", tt.name, got, tt.max)
		}
	}

	// Through the API, with a configured limit.
	a := startAPI(t, false)
	c := newChannel(t, a, func(cfg *sms.Config) { cfg.MaxChars = 12 })
	if _, err := c.Send(ctx(t), channel.Message{ID: "m-1", Subject: "Déploiement", Text: "réussi"}, channel.Thread{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.received(); len(got) != 1 || got[0].Get("Body") != "Déploiement…" {
		t.Errorf("received %v, want the body cut to 12 characters", got)
	}
}

// TestErrors maps the API's answers to channel errors.
func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		refusal        refusal
		permanent      bool
		retryAfter     time.Duration
		slack          time.Duration
		wantCode       int
		wantText       string
		wantStatusText string
	}{
		{name: "429 with seconds", refusal: refusal{status: 429, retryAfter: "7"}, retryAfter: 7 * time.Second, wantCode: 42901},
		{name: "429 with a date", refusal: refusal{status: 429, retryAfter: time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)}, retryAfter: 20 * time.Second, slack: 2 * time.Second},
		{name: "429 without Retry-After", refusal: refusal{status: 429}},
		{name: "500", refusal: refusal{status: 500}},
		{name: "503", refusal: refusal{status: 503}},
		{name: "408", refusal: refusal{status: 408}},
		{name: "400 invalid number", permanent: true, wantCode: 21211, wantText: "The 'To' number +15551230001 is not a valid phone number.",
			refusal: refusal{status: 400, body: `{"code": 21211, "message": "The 'To' number +15551230001 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`}},
		{name: "403 echoing the token", permanent: true, wantCode: 20403, wantText: "[redacted]",
			refusal: refusal{status: 403, body: `{"code": 20403, "message": "token ` + token + ` may not send", "more_info": "", "status": 403}`}},
		{name: "404 without JSON", permanent: true, refusal: refusal{status: 404, body: "not found"}, wantText: "HTTP 404"},
		{name: "a redirect is not followed", permanent: true, refusal: refusal{status: 302, body: "{}"}, wantText: "HTTP 302"},
		{name: "201 without a sid", permanent: true, refusal: refusal{status: 201, body: `{"status": "queued"}`}, wantText: "without a message sid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := startAPI(t, false)
			c := newChannel(t, a, func(cfg *sms.Config) {
				cfg.HTTPClient = nil // the default client, which does not follow redirects
			})
			a.refuse(tt.refusal)
			_, err := c.Send(ctx(t), msg("m-1"), channel.Thread{})
			var ce *channel.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *channel.Error", err)
			}
			if ce.Permanent != tt.permanent || ce.Status != tt.refusal.status {
				t.Fatalf("error %+v (%v); want permanent %v, status %d", ce, err, tt.permanent, tt.refusal.status)
			}
			if d := ce.RetryAfter - tt.retryAfter; d < -tt.slack || d > tt.slack {
				t.Fatalf("retry after %s, want %s", ce.RetryAfter, tt.retryAfter)
			}
			if tt.wantCode != 0 {
				var ae *sms.APIError
				if !errors.As(err, &ae) || ae.Code != tt.wantCode || ae.Status != tt.refusal.status {
					t.Fatalf("error %v, want an *sms.APIError with code %d", err, tt.wantCode)
				}
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), "+15551230001") {
				t.Fatalf("error %q does not say %q to whom", err, tt.wantText)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("the error shows the token: %v", err)
			}
			if got, _ := a.received(); len(got) != 0 {
				t.Fatalf("a refused message was recorded: %v", got)
			}
		})
	}

	t.Run("wrong token", func(t *testing.T) {
		t.Parallel()
		a := startAPI(t, false)
		c := newChannel(t, a, func(cfg *sms.Config) { cfg.AuthToken = secrets.NewValueString("not-" + token) })
		_, err := c.Send(ctx(t), msg("m-1"), channel.Thread{})
		var ce *channel.Error
		if !errors.As(err, &ce) || !ce.Permanent || ce.Status != 401 || !strings.Contains(err.Error(), "20003") || strings.Contains(err.Error(), token) {
			t.Fatalf("error %v, want a permanent 401 without the token", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		c, err := sms.New(sms.Config{BaseURL: "http://" + addr, AccountSID: account, AuthToken: secrets.NewValueString(token), From: "+15557654321", To: []string{"+15551230001"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Send(ctx(t), msg("m-1"), channel.Thread{})
		var ce *channel.Error
		if !errors.As(err, &ce) || ce.Permanent || ce.Status != 0 {
			t.Fatalf("error %v, want a transient *channel.Error", err)
		}
	})
	t.Run("no message ID", func(t *testing.T) {
		t.Parallel()
		a := startAPI(t, false)
		_, err := newChannel(t, a, nil).Send(ctx(t), channel.Message{Text: "x"}, channel.Thread{})
		var ce *channel.Error
		if !errors.As(err, &ce) || !ce.Permanent {
			t.Fatalf("error %v, want a permanent *channel.Error", err)
		}
	})
}

// TestSeveralRecipients: a failure for one recipient does not stop the
// others, is reported with who got the message, and a retry goes only to
// those who did not.
func TestSeveralRecipients(t *testing.T) {
	t.Parallel()
	to := []string{"+15551230001", "+15551230002", "+15551230003"}
	tests := []struct {
		name      string
		refusals  []refusal
		permanent bool
		failed    []string
	}{
		{name: "one transient failure", refusals: []refusal{{to: to[1], status: 503}}, failed: to[1:2]},
		{name: "one permanent failure", refusals: []refusal{{to: to[1], status: 400}}, permanent: true, failed: to[1:2]},
		{name: "permanent and transient", refusals: []refusal{{to: to[0], status: 400}, {to: to[2], status: 429, retryAfter: "5"}}, failed: []string{to[0], to[2]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := startAPI(t, false)
			c := newChannel(t, a, func(cfg *sms.Config) { cfg.To = to })
			for _, r := range tt.refusals {
				a.refuse(r)
			}
			_, err := c.Send(ctx(t), msg("m-1"), channel.Thread{})
			var (
				ce *channel.Error
				de *sms.DeliveryError
			)
			if !errors.As(err, &ce) || !errors.As(err, &de) || ce.Permanent != tt.permanent || ce.Status != tt.refusals[0].status {
				t.Fatalf("error %v (%+v); want a *channel.Error with a *sms.DeliveryError, permanent %v", err, ce, tt.permanent)
			}
			var failed, sent []string
			for _, f := range de.Failed {
				failed = append(failed, f.To)
			}
			for _, s := range de.Sent {
				sent = append(sent, s.To)
			}
			if diff := cmp.Diff(tt.failed, failed); diff != "" {
				t.Errorf("failed (-want +got):\n%s", diff)
			}
			if len(sent)+len(failed) != len(to) {
				t.Errorf("sent %v and failed %v do not cover the recipients", sent, failed)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("sent to %d of 3", len(sent))) {
				t.Errorf("error %q does not count the recipients reached", err)
			}

			// The retry: each recipient ends with exactly one message.
			r, err := c.Send(ctx(t), msg("m-1"), channel.Thread{})
			if err != nil {
				t.Fatal(err)
			}
			got, sids := a.received()
			bySID := map[string]string{}
			var reached []string
			for i, f := range got {
				reached = append(reached, f.Get("To"))
				bySID[f.Get("To")] = sids[i]
			}
			if len(reached) != len(to) {
				t.Fatalf("the API accepted messages for %v, want one for each of %v", reached, to)
			}
			var wantRef []string
			for _, n := range to {
				wantRef = append(wantRef, bySID[n])
			}
			if r.Ref != strings.Join(wantRef, ",") {
				t.Errorf("receipt %q, want the sids in recipient order %v", r.Ref, wantRef)
			}
			// Another message goes to everyone.
			if _, err := c.Send(ctx(t), msg("m-2"), channel.Thread{}); err != nil {
				t.Fatal(err)
			}
			if got, _ := a.received(); len(got) != 2*len(to) {
				t.Errorf("after a second message the API has %d, want %d", len(got), 2*len(to))
			}
		})
	}
}

func TestCancelledMidway(t *testing.T) {
	t.Parallel()
	a := startAPI(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	c := newChannel(t, a, func(cfg *sms.Config) {
		cfg.To = []string{"+15551230001", "+15551230002"}
		// Cancel as the first answer comes back.
		cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			once.Do(cancel)
			return resp, err
		})}
	})
	_, err := c.Send(ctx, msg("m-1"), channel.Thread{})
	var de *sms.DeliveryError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &de) || len(de.Sent) != 1 || len(de.Failed) != 1 {
		t.Fatalf("error %v, want the first sent and the second failed by the cancelled context", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	_, err := sms.New(sms.Config{
		BaseURL:    "http://api.twilio.com",
		AccountSID: "AC/..",
		To:         []string{"+1", "", "+1"},
		MaxChars:   1,
	})
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("error %v, want an *errs.InvalidArgumentError", err)
	}
	var fields []string
	for _, v := range ia.Violations {
		fields = append(fields, v.Field)
	}
	want := []string{"baseUrl", "accountSid", "authToken", "from", "to[1]", "to[2]", "maxChars"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("violations (-want +got):\n%s\n%v", diff, err)
	}
	for _, base := range []string{"", "https://api.twilio.com", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2"} {
		if _, err := sms.New(sms.Config{BaseURL: base, AccountSID: account, AuthToken: secrets.NewValueString(token), From: "+1", To: []string{"+2"}}); err != nil {
			t.Errorf("base %q: %v", base, err)
		}
	}
	for _, base := range []string{"http://10.0.0.1", "ftp://x", "https://user:pw@api.twilio.com", "/relative"} {
		if _, err := sms.New(sms.Config{BaseURL: base, AccountSID: account, AuthToken: secrets.NewValueString(token), From: "+1", To: []string{"+2"}}); err == nil {
			t.Errorf("base %q was accepted", base)
		}
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	channeltest.Run(t, false, func(t *testing.T) *channeltest.Harness {
		a := startAPI(t, false)
		return &channeltest.Harness{
			Channel: newChannel(t, a, nil),
			Received: func() []channeltest.Got {
				forms, _ := a.received()
				var out []channeltest.Got
				for _, f := range forms {
					// An SMS carries no id and no thread.
					out = append(out, channeltest.Got{Text: f.Get("Body")})
				}
				return out
			},
			Fail: func(n int, permanent bool, retryAfter time.Duration) {
				for range n {
					switch {
					case permanent:
						a.refuse(refusal{status: 400})
					case retryAfter > 0:
						a.refuse(refusal{status: 429, retryAfter: strconv.Itoa(int(retryAfter / time.Second))})
					default:
						a.refuse(refusal{status: 503})
					}
				}
			},
			Secrets: []string{token},
		}
	})
}
