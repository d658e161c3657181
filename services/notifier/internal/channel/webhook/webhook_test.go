package webhook_test

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
	"github.com/penguinmails/floe/services/notifier/internal/channel/webhook"
)

// swVerifier is a receiver-side implementation of the Standard Webhooks
// signature scheme, written from the specification (spec/standard-webhooks.md,
// "Verifying webhook authenticity") and not from the package under test: it
// shares none of its code, so an error in the package's reading of the
// specification is not mirrored here.
//
//   - The secret is "whsec_" and base64; the HMAC key is the decoded bytes.
//   - The signed content is "{webhook-id}.{webhook-timestamp}.{body}".
//   - webhook-signature is a space-delimited list of "version,signature";
//     "v1" is HMAC-SHA256 in standard base64. Any one matching v1 signature
//     is enough; other versions are skipped.
//   - webhook-timestamp must be within a tolerance (5 minutes) of now.
//   - Signatures are compared in constant time.
type swVerifier struct {
	keys      [][]byte
	tolerance time.Duration
	now       func() time.Time
}

func newSWVerifier(t testing.TB, now func() time.Time, whsecs ...string) *swVerifier {
	t.Helper()
	v := &swVerifier{tolerance: 5 * time.Minute, now: now}
	for _, s := range whsecs {
		raw, ok := strings.CutPrefix(s, "whsec_")
		if !ok {
			t.Fatalf("secret %q has no whsec_ prefix", s)
		}
		k, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			t.Fatalf("secret is not base64: %v", err)
		}
		v.keys = append(v.keys, k)
	}
	return v
}

func (v *swVerifier) verify(h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q is not an integer", ts)
	}
	if d := v.now().Sub(time.Unix(sec, 0)); d > v.tolerance || d < -v.tolerance {
		return fmt.Errorf("webhook-timestamp %s is %s away from now", ts, d)
	}
	content := []byte(id + "." + ts + "." + string(body))
	for _, entry := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		for _, k := range v.keys {
			m := hmac.New(sha256.New, k)
			m.Write(content)
			if hmac.Equal(got, m.Sum(nil)) {
				return nil
			}
		}
	}
	return errors.New("no matching v1 signature")
}

// The example of the Standard Webhooks reference libraries' tests, which
// their signers produce and their verifiers accept.
const (
	refSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	refID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	refTimestamp = 1614265330
	refBody      = `{"test": 2432232314}`
	refSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestReferenceVector(t *testing.T) {
	t.Parallel()
	at := func() time.Time { return time.Unix(refTimestamp, 0) }
	h := http.Header{}
	h.Set("webhook-id", refID)
	h.Set("webhook-timestamp", strconv.Itoa(refTimestamp))
	h.Set("webhook-signature", refSignature)
	if err := newSWVerifier(t, at, refSecret).verify(h, []byte(refBody)); err != nil {
		t.Fatalf("the test's verifier rejects the reference example: %v", err)
	}
	key, err := webhook.ParseSecret(secrets.NewValueString(refSecret))
	if err != nil {
		t.Fatal(err)
	}
	if got := webhook.Signature([][]byte{key}, refID, refTimestamp, []byte(refBody)); got != refSignature {
		t.Fatalf("Signature = %s, the reference libraries give %s", got, refSignature)
	}
}

func TestVerifierRejects(t *testing.T) {
	t.Parallel()
	now := time.Unix(refTimestamp, 0)
	good := func() http.Header {
		h := http.Header{}
		h.Set("webhook-id", refID)
		h.Set("webhook-timestamp", strconv.Itoa(refTimestamp))
		h.Set("webhook-signature", refSignature)
		return h
	}
	tests := []struct {
		name   string
		now    time.Time
		change func(http.Header)
		body   string
	}{
		{name: "stale", now: now.Add(5*time.Minute + time.Second)},
		{name: "future", now: now.Add(-5*time.Minute - time.Second)},
		{name: "tampered body", body: `{"test": 2432232315}`},
		{name: "another id", change: func(h http.Header) { h.Set("webhook-id", refID+"x") }},
		{name: "v1a only", change: func(h http.Header) { h.Set("webhook-signature", "v1a"+refSignature[2:]) }},
		{name: "no signature", change: func(h http.Header) { h.Del("webhook-signature") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := good()
			if tt.change != nil {
				tt.change(h)
			}
			at := now
			if !tt.now.IsZero() {
				at = tt.now
			}
			body := refBody
			if tt.body != "" {
				body = tt.body
			}
			if err := newSWVerifier(t, func() time.Time { return at }, refSecret).verify(h, []byte(body)); err == nil {
				t.Fatal("the verifier accepted it")
			}
		})
	}
}

// newSecret returns a fresh "whsec_" secret of a 32-byte random key.
func newSecret(t testing.TB) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(k)
}

func values(ss ...string) []secrets.Value {
	var vs []secrets.Value
	for _, s := range ss {
		vs = append(vs, secrets.NewValueString(s))
	}
	return vs
}

// attempt is one request as the receiver saw it.
type attempt struct {
	header   http.Header
	body     []byte
	verified error
	status   int
}

// receiver is a webhook endpoint on loopback: it verifies each request with
// the independent verifier, answers 401 to one that does not verify, and
// refuses requests on demand.
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	verifier *swVerifier

	mu         sync.Mutex
	attempts   []attempt
	accepted   []channeltest.Got
	fail       int
	status     int
	retryAfter string
}

func newReceiver(t *testing.T, verifier *swVerifier) *receiver {
	r := &receiver{t: t, verifier: verifier}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/floe", r.serve)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("read body: %v", err)
		return
	}
	a := attempt{header: req.Header.Clone(), body: body, verified: r.verifier.verify(req.Header, body)}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.attempts = append(r.attempts, a) }()
	switch {
	case a.verified != nil:
		a.status = http.StatusUnauthorized
	case r.fail > 0:
		r.fail--
		a.status = r.status
		if r.retryAfter != "" {
			w.Header().Set("Retry-After", r.retryAfter)
		}
	default:
		var ev struct {
			Data struct {
				Text string `json:"text"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			a.status = http.StatusBadRequest
			break
		}
		a.status = http.StatusNoContent
		r.accepted = append(r.accepted, channeltest.Got{ID: req.Header.Get("webhook-id"), Text: ev.Data.Text})
	}
	w.WriteHeader(a.status)
}

// refuse makes the next n requests get status, with Retry-After when not empty.
func (r *receiver) refuse(n, status int, retryAfter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail, r.status, r.retryAfter = n, status, retryAfter
}

func (r *receiver) Attempts() []attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]attempt(nil), r.attempts...)
}

func (r *receiver) url() string { return r.srv.URL + "/hooks/floe" }

func TestConformance(t *testing.T) {
	channeltest.Run(t, false, func(t *testing.T) *channeltest.Harness {
		current, old := newSecret(t), newSecret(t)
		r := newReceiver(t, newSWVerifier(t, time.Now, current))
		c, err := webhook.New(webhook.Config{URL: r.url(), Secrets: values(current, old), HTTPClient: r.srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return &channeltest.Harness{
			Channel: c,
			Received: func() []channeltest.Got {
				r.mu.Lock()
				defer r.mu.Unlock()
				return append([]channeltest.Got(nil), r.accepted...)
			},
			Fail: func(n int, permanent bool, retryAfter time.Duration) {
				switch {
				case permanent:
					r.refuse(n, http.StatusUnprocessableEntity, "")
				case retryAfter > 0:
					r.refuse(n, http.StatusTooManyRequests, strconv.Itoa(int(retryAfter/time.Second)))
				default:
					r.refuse(n, http.StatusServiceUnavailable, "")
				}
			},
			Secrets: append([]string{current, old}, strings.TrimPrefix(current, "whsec_"), strings.TrimPrefix(old, "whsec_")),
		}
	})
}

// fixedNow is the clock of the field-by-field tests.
var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func TestRequestFieldByField(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	now := func() time.Time { return fixedNow }
	r := newReceiver(t, newSWVerifier(t, now, secret))
	c, err := webhook.New(webhook.Config{URL: r.url(), Secrets: values(secret), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind() != "webhook" {
		t.Fatalf("Kind = %q", c.Kind())
	}
	m := channel.Message{
		ID:       "ntf-01HZX3",
		Episode:  "ep-canary-1.4.0",
		Subject:  "Rollback of 1.4.0 in production",
		Text:     "canary 1.4.0 failed: error rate 12% > 5% <rollback> & \"paged\"",
		HTML:     "<p>not sent by webhooks</p>",
		Severity: "critical",
		Time:     time.Date(2026, 3, 14, 16, 9, 20, 123000000, time.FixedZone("CET", 3600)),
	}
	rc, err := c.Send(t.Context(), m, channel.Thread{Ref: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Ref != m.ID {
		t.Fatalf("receipt ref %q, want the webhook-id %q", rc.Ref, m.ID)
	}
	as := r.Attempts()
	if len(as) != 1 {
		t.Fatalf("%d requests, want 1", len(as))
	}
	a := as[0]
	if a.verified != nil {
		t.Fatalf("the independent verifier rejects the request: %v", a.verified)
	}
	gotHeaders := map[string]string{}
	for _, k := range []string{"Content-Type", "User-Agent", "Webhook-Id", "Webhook-Timestamp"} {
		gotHeaders[k] = a.header.Get(k)
	}
	wantHeaders := map[string]string{
		"Content-Type":      "application/cloudevents+json",
		"User-Agent":        "floe-notifier",
		"Webhook-Id":        "ntf-01HZX3",
		"Webhook-Timestamp": "1773500966",
	}
	if d := cmp.Diff(wantHeaders, gotHeaders); d != "" {
		t.Fatalf("headers (-want +got):\n%s", d)
	}
	if n := len(a.header.Values("Webhook-Signature")); n != 1 {
		t.Fatalf("%d webhook-signature headers, want 1", n)
	}
	sigs := strings.Split(a.header.Get("Webhook-Signature"), " ")
	if len(sigs) != 1 || !strings.HasPrefix(sigs[0], "v1,") || len(sigs[0]) != len("v1,")+44 {
		t.Fatalf("webhook-signature %q, want one v1 signature of a 32-byte MAC", sigs)
	}
	var body map[string]any
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, a.body)
	}
	want := map[string]any{
		"specversion":     "1.0",
		"id":              "ntf-01HZX3",
		"source":          "floe",
		"type":            "dev.floe.notification",
		"time":            "2026-03-14T15:09:20.123Z",
		"datacontenttype": "application/json",
		"data": map[string]any{
			"subject":  "Rollback of 1.4.0 in production",
			"text":     "canary 1.4.0 failed: error rate 12% > 5% <rollback> & \"paged\"",
			"severity": "critical",
			"episode":  "ep-canary-1.4.0",
		},
	}
	if d := cmp.Diff(want, body); d != "" {
		t.Fatalf("body (-want +got):\n%s", d)
	}
}

func TestEventSentAsGiven(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	r := newReceiver(t, newSWVerifier(t, time.Now, secret))
	c, err := webhook.New(webhook.Config{URL: r.url(), Secrets: values(secret)})
	if err != nil {
		t.Fatal(err)
	}
	event := []byte(`{"specversion":"1.0","id":"evt-9","source":"floe/release","type":"dev.floe.release.rolled_back.v1",` +
		`"time":"2026-03-14T15:09:20Z","datacontenttype":"application/json","data":{ "release": "1.4.0", "text": "rolled back" }}`)
	if _, err := c.Send(t.Context(), channel.Message{ID: "ntf-2", Text: "ignored", Event: event}, channel.Thread{}); err != nil {
		t.Fatal(err)
	}
	as := r.Attempts()
	if len(as) != 1 || as[0].verified != nil || string(as[0].body) != string(event) {
		t.Fatalf("attempts %+v; want the event byte for byte, verified", as)
	}
	if _, err := c.Send(t.Context(), channel.Message{ID: "ntf-3", Event: []byte(`[1,2]`)}, channel.Thread{}); !isPermanent(err) {
		t.Fatalf("an event that is not a JSON object: %v, want a permanent error", err)
	}
}

func isPermanent(err error) bool {
	var ce *channel.Error
	return errors.As(err, &ce) && ce.Permanent
}

func TestSecretRotation(t *testing.T) {
	t.Parallel()
	old, current, unrelated := newSecret(t), newSecret(t), newSecret(t)
	m := channel.Message{ID: "ntf-rot", Text: "rotating", Time: fixedNow}
	tests := []struct {
		name     string
		signWith []string // the channel's secrets
		accepts  []string // the receiver's
		ok       bool
	}{
		{"receiver still on the old secret", []string{current, old}, []string{old}, true},
		{"receiver already on the new secret", []string{current, old}, []string{current}, true},
		{"receiver with both", []string{current, old}, []string{current, old}, true},
		{"receiver with neither", []string{current, old}, []string{unrelated}, false},
		{"rotation finished, receiver left behind", []string{current}, []string{old}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newReceiver(t, newSWVerifier(t, time.Now, tt.accepts...))
			c, err := webhook.New(webhook.Config{URL: r.url(), Secrets: values(tt.signWith...)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Send(t.Context(), m, channel.Thread{})
			as := r.Attempts()
			if len(as) != 1 {
				t.Fatalf("%d requests", len(as))
			}
			if n := len(strings.Split(as[0].header.Get("webhook-signature"), " ")); n != len(tt.signWith) {
				t.Fatalf("%d signatures, want one per secret (%d)", n, len(tt.signWith))
			}
			if tt.ok != (err == nil) || tt.ok != (as[0].verified == nil) {
				t.Fatalf("send: %v, verified: %v; want ok=%v", err, as[0].verified, tt.ok)
			}
			if !tt.ok {
				var ce *channel.Error
				if !errors.As(err, &ce) || !ce.Permanent || ce.Status != http.StatusUnauthorized {
					t.Fatalf("a 401 from the receiver: %v, want permanent with status 401", err)
				}
			}
		})
	}
}

func TestRetryKeepsIDAndSignsAnew(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	var mu sync.Mutex
	at := fixedNow
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	r := newReceiver(t, newSWVerifier(t, now, secret))
	c, err := webhook.New(webhook.Config{URL: r.url(), Secrets: values(secret), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	m := channel.Message{ID: "ntf-retry", Text: "x", Time: fixedNow}
	r.refuse(1, http.StatusBadGateway, "")
	if _, err := c.Send(t.Context(), m, channel.Thread{}); err == nil || isPermanent(err) {
		t.Fatalf("a 502: %v, want a transient error", err)
	}
	mu.Lock()
	at = at.Add(7 * time.Second)
	mu.Unlock()
	if _, err := c.Send(t.Context(), m, channel.Thread{}); err != nil {
		t.Fatal(err)
	}
	as := r.Attempts()
	if len(as) != 2 {
		t.Fatalf("%d attempts, want 2", len(as))
	}
	for i, a := range as {
		if a.verified != nil {
			t.Fatalf("attempt %d does not verify: %v", i, a.verified)
		}
		if a.header.Get("webhook-id") != "ntf-retry" {
			t.Fatalf("attempt %d has id %q", i, a.header.Get("webhook-id"))
		}
	}
	if as[0].header.Get("webhook-timestamp") == as[1].header.Get("webhook-timestamp") ||
		as[0].header.Get("webhook-signature") == as[1].header.Get("webhook-signature") {
		t.Fatal("the retry reused the first attempt's timestamp and signature")
	}
	if string(as[0].body) != string(as[1].body) {
		t.Fatal("the retry's body differs")
	}
}

func TestStatusHandling(t *testing.T) {
	t.Parallel()
	date := fixedNow.Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		status     int
		retryAfter string
		ok         bool
		permanent  bool
		disable    bool
		wait       time.Duration
	}{
		{status: 200, ok: true},
		{status: 201, ok: true},
		{status: 202, ok: true},
		{status: 204, ok: true},
		{status: 301, permanent: true},
		{status: 307, permanent: true},
		{status: 400, permanent: true},
		{status: 401, permanent: true},
		{status: 403, permanent: true},
		{status: 404, permanent: true},
		{status: 413, permanent: true},
		{status: 422, permanent: true},
		{status: 410, permanent: true, disable: true},
		{status: 410, retryAfter: "60", permanent: true, disable: true},
		{status: 408},
		{status: 429},
		{status: 429, retryAfter: "120", wait: 2 * time.Minute},
		{status: 429, retryAfter: "99999999999999999999", wait: 24 * time.Hour},
		{status: 500},
		{status: 500, retryAfter: "soon"},
		{status: 502},
		{status: 503, retryAfter: date, wait: 90 * time.Second},
		{status: 503, retryAfter: fixedNow.Add(-time.Hour).Format(http.TimeFormat)},
		{status: 504, retryAfter: " 7 ", wait: 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %q", tt.status, tt.retryAfter), func(t *testing.T) {
			t.Parallel()
			var redirected bool
			mux := http.NewServeMux()
			mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, _ *http.Request) { redirected = true })
			mux.HandleFunc("/hook", func(w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status >= 300 && tt.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "a body the channel does not echo")
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			c, err := webhook.New(webhook.Config{URL: srv.URL + "/hook", Secrets: values(newSecret(t)), Now: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Send(t.Context(), channel.Message{ID: "ntf-s", Text: "x"}, channel.Thread{})
			if redirected {
				t.Fatal("a redirect was followed")
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			var ce *channel.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Send: %v, want a *channel.Error", err)
			}
			got := channel.Error{Permanent: ce.Permanent, Disable: ce.Disable, RetryAfter: ce.RetryAfter, Status: ce.Status}
			want := channel.Error{Permanent: tt.permanent, Disable: tt.disable, RetryAfter: tt.wait, Status: tt.status}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("error %v (-want +got):\n%s", err, d)
			}
			if strings.Contains(err.Error(), "does not echo") {
				t.Fatalf("the error shows the response body: %v", err)
			}
		})
	}
}

func TestErrorsHideTheURLAndSecrets(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	u := srv.URL + "/hooks/T0K3N-in-the-path?key=s3cr3t-in-the-query"
	srv.Close() // nothing listens any more: a transport failure
	secret := newSecret(t)
	c, err := webhook.New(webhook.Config{URL: u, Secrets: values(secret)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = c.Send(ctx, channel.Message{ID: "ntf-down", Text: "x"}, channel.Thread{})
	var ce *channel.Error
	if !errors.As(err, &ce) || ce.Permanent {
		t.Fatalf("a refused connection: %v, want a transient *channel.Error", err)
	}
	for _, s := range []string{"T0K3N", "s3cr3t", secret, strings.TrimPrefix(secret, "whsec_")} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("the error %q shows %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), strings.TrimPrefix(srv.URL, "http://")) {
		t.Fatalf("the error %q does not name the endpoint's host", err)
	}
}

func TestRefusesBadIDs(t *testing.T) {
	t.Parallel()
	var hits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { mu.Lock(); hits++; mu.Unlock() }))
	t.Cleanup(srv.Close)
	c, err := webhook.New(webhook.Config{URL: srv.URL, Secrets: values(newSecret(t))})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "ntf.1", "ntf 1", "ntf\n1", "ntf-é", strings.Repeat("x", 257)} {
		if _, err := c.Send(t.Context(), channel.Message{ID: id, Text: "x"}, channel.Thread{}); !isPermanent(err) {
			t.Errorf("id %q: %v, want a permanent error", id, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Fatalf("%d requests were sent for refused ids", hits)
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	std := base64.StdEncoding.EncodeToString(key[:25]) // padded
	tests := []struct {
		name, secret string
		want         []byte
	}{
		{"prefixed", "whsec_" + base64.StdEncoding.EncodeToString(key), key},
		{"unprefixed", base64.StdEncoding.EncodeToString(key), key},
		{"padded", "whsec_" + std, key[:25]},
		{"unpadded", "whsec_" + strings.TrimRight(std, "="), key[:25]},
		{"the reference secret", refSecret, nil},
		{"too short", "whsec_" + base64.StdEncoding.EncodeToString(key[:16]), nil},
		{"too long", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), nil},
		{"not base64", "whsec_not*base64*at*all*but*quite*long*enough", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.ParseSecret(secrets.NewValueString(tt.secret))
			switch {
			case tt.name == "the reference secret":
				if err != nil || len(got) != 24 {
					t.Fatalf("ParseSecret: %d bytes, %v; want 24 bytes", len(got), err)
				}
			case tt.want == nil:
				if err == nil {
					t.Fatal("accepted")
				}
				if tt.secret != "" && strings.Contains(err.Error(), strings.TrimPrefix(tt.secret, "whsec_")) {
					t.Fatalf("the error %q shows the secret", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Fatalf("key (-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	s := values(newSecret(t))
	for name, cfg := range map[string]webhook.Config{
		"no URL":         {Secrets: s},
		"relative URL":   {URL: "/hooks", Secrets: s},
		"another scheme": {URL: "ftp://example.com/x", Secrets: s},
		"no secret":      {URL: "https://example.com/x"},
		"bad secret":     {URL: "https://example.com/x", Secrets: values("whsec_short")},
	} {
		if _, err := webhook.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]time.Duration{
		"":                                 0,
		"0":                                0,
		"3":                                3 * time.Second,
		"-3":                               0,
		"1.5":                              0,
		"Sat, 14 Mar 2026 15:10:26 GMT":    time.Minute,
		"Saturday, 14-Mar-26 15:10:26 GMT": time.Minute, // RFC 850, which HTTP dates also allow
		"Sat Mar 14 15:10:26 2026":         time.Minute, // asctime
		"Sat, 14 Mar 2026 15:08:26 GMT":    0,
	} {
		if got := webhook.RetryAfter(v, fixedNow); got != want {
			t.Errorf("RetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}
