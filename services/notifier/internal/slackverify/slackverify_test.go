package slackverify_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/slackverify"
)

// The worked example of Slack's "Verifying requests from Slack": a slash
// command's raw body, the signing secret and timestamp it was signed with,
// and the signature Slack published for them. Reproducing Slack's own
// number (not a round trip through our Sign) is what shows the base string
// is assembled as Slack assembles it.
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = "1531420618"
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func docTime(t *testing.T) time.Time {
	t.Helper()
	ts, err := strconv.ParseInt(docTimestamp, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(ts, 0)
}

func newVerifier(t *testing.T, c *clock, maxSeen int) *slackverify.Verifier {
	t.Helper()
	v, err := slackverify.New(slackverify.Config{SigningSecret: secrets.NewValueString(docSecret), Now: c.Now, MaxSeen: maxSeen})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func headers(ts, sig string) http.Header {
	h := http.Header{}
	if ts != "" {
		h.Set(slackverify.HeaderTimestamp, ts)
	}
	if sig != "" {
		h.Set(slackverify.HeaderSignature, sig)
	}
	return h
}

func TestSlackDocumentationExample(t *testing.T) {
	t.Parallel()
	if got := slackverify.Sign(secrets.NewValueString(docSecret), docTimestamp, []byte(docBody)); got != docSignature {
		t.Fatalf("Sign = %s, Slack's documentation says %s", got, docSignature)
	}
	c := &clock{now: docTime(t).Add(30 * time.Second)}
	v := newVerifier(t, c, 0)
	if err := v.Verify(headers(docTimestamp, docSignature), []byte(docBody)); err != nil {
		t.Fatalf("Slack's own example does not verify: %v", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	sign := func(ts string, body string) string {
		return slackverify.Sign(secrets.NewValueString(docSecret), ts, []byte(body))
	}
	base := docTime(t)
	plus := func(d time.Duration) string { return strconv.FormatInt(base.Add(d).Unix(), 10) }
	tests := []struct {
		name    string
		now     time.Duration // clock, relative to the example's timestamp
		ts, sig string
		body    string
		want    error
	}{
		{name: "the example", ts: docTimestamp, sig: docSignature, body: docBody},
		{name: "upper-case hex", ts: docTimestamp, sig: "v0=" + strings.ToUpper(docSignature[3:]), body: docBody},
		{name: "at the edge of the window, late", now: 5 * time.Minute, ts: docTimestamp, sig: docSignature, body: docBody},
		{name: "at the edge of the window, early", now: -5 * time.Minute, ts: docTimestamp, sig: docSignature, body: docBody},
		{name: "stale", now: 5*time.Minute + time.Second, ts: docTimestamp, sig: docSignature, body: docBody, want: slackverify.ErrStale},
		{name: "a day old", now: 24 * time.Hour, ts: docTimestamp, sig: docSignature, body: docBody, want: slackverify.ErrStale},
		{name: "from the future", now: -5*time.Minute - time.Second, ts: docTimestamp, sig: docSignature, body: docBody, want: slackverify.ErrStale},
		{name: "stale even when freshly signed", now: 10 * time.Minute, ts: docTimestamp, sig: sign(docTimestamp, "x"), body: "x", want: slackverify.ErrStale},
		{name: "tampered body", ts: docTimestamp, sig: docSignature, body: strings.Replace(docBody, "text=", "text=approve", 1), want: slackverify.ErrBadSignature},
		{name: "body with a trailing newline", ts: docTimestamp, sig: docSignature, body: docBody + "\n", want: slackverify.ErrBadSignature},
		{name: "empty body", ts: docTimestamp, sig: docSignature, body: "", want: slackverify.ErrBadSignature},
		{name: "timestamp moved", now: time.Minute, ts: plus(time.Minute), sig: docSignature, body: docBody, want: slackverify.ErrBadSignature},
		{name: "signed with another secret", ts: docTimestamp, sig: slackverify.Sign(secrets.NewValueString("another-secret"), docTimestamp, []byte(docBody)), body: docBody, want: slackverify.ErrBadSignature},
		{name: "one bit off", ts: docTimestamp, sig: docSignature[:len(docSignature)-1] + "2", body: docBody, want: slackverify.ErrBadSignature},
		{name: "no signature", ts: docTimestamp, body: docBody, want: slackverify.ErrMalformed},
		{name: "no timestamp", sig: docSignature, body: docBody, want: slackverify.ErrMalformed},
		{name: "another version", ts: docTimestamp, sig: "v1=" + docSignature[3:], body: docBody, want: slackverify.ErrMalformed},
		{name: "short signature", ts: docTimestamp, sig: docSignature[:40], body: docBody, want: slackverify.ErrMalformed},
		{name: "not hex", ts: docTimestamp, sig: "v0=" + strings.Repeat("zz", 32), body: docBody, want: slackverify.ErrMalformed},
		{name: "signed timestamp", ts: "+" + docTimestamp, sig: sign("+"+docTimestamp, docBody), body: docBody, want: slackverify.ErrMalformed},
		{name: "fractional timestamp", ts: docTimestamp + ".5", sig: sign(docTimestamp+".5", docBody), body: docBody, want: slackverify.ErrMalformed},
		{name: "negative timestamp", ts: "-1", sig: sign("-1", docBody), body: docBody, want: slackverify.ErrMalformed},
		{name: "huge timestamp", ts: strings.Repeat("9", 30), sig: sign(strings.Repeat("9", 30), docBody), body: docBody, want: slackverify.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, &clock{now: base.Add(tt.now)}, 0)
			err := v.Verify(headers(tt.ts, tt.sig), []byte(tt.body))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			for _, s := range []string{docSecret, docSignature[3:], tt.sig} {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Fatalf("the error %q shows a secret or a signature", err)
				}
			}
		})
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	c := &clock{now: docTime(t).Add(10 * time.Second)}
	v := newVerifier(t, c, 0)
	h := headers(docTimestamp, docSignature)
	if err := v.Verify(h, []byte(docBody)); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(h, []byte(docBody)); !errors.Is(err, slackverify.ErrReplay) {
		t.Fatalf("the same request again: %v, want ErrReplay", err)
	}
	// The same MAC spelt in upper case is the same request.
	upper := headers(docTimestamp, "V0="+strings.ToUpper(docSignature[3:]))
	if err := v.Verify(upper, []byte(docBody)); !errors.Is(err, slackverify.ErrReplay) {
		t.Fatalf("the same signature in upper case: %v, want ErrReplay", err)
	}
	// Still a replay at the very last second of the window…
	c.Set(docTime(t).Add(5 * time.Minute))
	if err := v.Verify(h, []byte(docBody)); !errors.Is(err, slackverify.ErrReplay) {
		t.Fatalf("at the window's edge: %v, want ErrReplay", err)
	}
	// …and once the window has passed the timestamp check refuses it, and
	// the cache has let it go.
	c.Set(docTime(t).Add(5*time.Minute + time.Second))
	if err := v.Verify(h, []byte(docBody)); !errors.Is(err, slackverify.ErrStale) {
		t.Fatalf("after the window: %v, want ErrStale", err)
	}
	fresh := strconv.FormatInt(c.Now().Unix(), 10)
	if err := v.Verify(headers(fresh, slackverify.Sign(secrets.NewValueString(docSecret), fresh, []byte("x"))), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if n := v.Seen(); n != 1 {
		t.Fatalf("the cache holds %d signatures, want only the fresh one", n)
	}
}

func TestRejectedRequestsAreNotRemembered(t *testing.T) {
	t.Parallel()
	c := &clock{now: docTime(t)}
	v := newVerifier(t, c, 0)
	for i := range 100 {
		_ = v.Verify(headers(docTimestamp, "v0="+strings.Repeat("0", 63)+strconv.Itoa(i%10)), []byte(docBody))
	}
	if n := v.Seen(); n != 0 {
		t.Fatalf("forged requests filled the cache with %d entries", n)
	}
	if err := v.Verify(headers(docTimestamp, docSignature), []byte(docBody)); err != nil {
		t.Fatal(err)
	}
}

func TestFullCacheFailsClosed(t *testing.T) {
	t.Parallel()
	c := &clock{now: docTime(t)}
	v := newVerifier(t, c, 2)
	secret := secrets.NewValueString(docSecret)
	send := func(body string) error {
		return v.Verify(headers(docTimestamp, slackverify.Sign(secret, docTimestamp, []byte(body))), []byte(body))
	}
	for _, b := range []string{"a", "b"} {
		if err := send(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := send("c"); !errors.Is(err, slackverify.ErrBusy) {
		t.Fatalf("a third request into a cache of two: %v, want ErrBusy", err)
	}
	if err := send("a"); !errors.Is(err, slackverify.ErrReplay) {
		t.Fatalf("a replay into a full cache: %v, want ErrReplay", err)
	}
	// Once the first two leave the window there is room again.
	c.Set(docTime(t).Add(5*time.Minute + time.Second))
	now := strconv.FormatInt(c.Now().Unix(), 10)
	if err := v.Verify(headers(now, slackverify.Sign(secret, now, []byte("c"))), []byte("c")); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestConcurrentReplaysAcceptOnce(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, &clock{now: docTime(t)}, 0)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if v.Verify(headers(docTimestamp, docSignature), []byte(docBody)) == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if n := ok.Load(); n != 1 {
		t.Fatalf("%d of 64 identical requests were accepted, want 1", n)
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	c := &clock{now: docTime(t)}
	v, err := slackverify.New(slackverify.Config{SigningSecret: secrets.NewValueString(docSecret), Now: c.Now, MaxBody: 4096})
	if err != nil {
		t.Fatal(err)
	}
	var reached []string
	var rejected []error
	var mu sync.Mutex
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reached = append(reached, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}), func(_ *http.Request, err error) {
		mu.Lock()
		rejected = append(rejected, err)
		mu.Unlock()
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	post := func(ts, sig, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = headers(ts, sig)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	steps := []struct {
		name      string
		ts, sig   string
		body      string
		status    int
		rejection error
	}{
		{"genuine", docTimestamp, docSignature, docBody, http.StatusOK, nil},
		{"replayed", docTimestamp, docSignature, docBody, http.StatusUnauthorized, slackverify.ErrReplay},
		{"tampered", docTimestamp, docSignature, docBody + "&x=1", http.StatusUnauthorized, slackverify.ErrBadSignature},
		{"unsigned", "", "", docBody, http.StatusUnauthorized, slackverify.ErrMalformed},
		{"too large", docTimestamp, docSignature, strings.Repeat("x", 5000), http.StatusRequestEntityTooLarge, slackverify.ErrTooLarge},
	}
	for _, s := range steps {
		if got := post(s.ts, s.sig, s.body); got != s.status {
			t.Fatalf("%s: status %d, want %d", s.name, got, s.status)
		}
	}
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d, want 405", resp.StatusCode)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(reached) != 1 || reached[0] != docBody {
		t.Fatalf("the handler saw %q, want the genuine body once", reached)
	}
	if len(rejected) != len(steps)-1 {
		t.Fatalf("onReject was told %d times, want %d", len(rejected), len(steps)-1)
	}
	for i, s := range steps[1:] {
		if !errors.Is(rejected[i], s.rejection) {
			t.Fatalf("%s: rejected with %v, want %v", s.name, rejected[i], s.rejection)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]slackverify.Config{
		"no secret":          {},
		"negative tolerance": {SigningSecret: secrets.NewValueString("s"), Tolerance: -time.Second},
		"negative cache":     {SigningSecret: secrets.NewValueString("s"), MaxSeen: -1},
		"negative body":      {SigningSecret: secrets.NewValueString("s"), MaxBody: -1},
	} {
		if _, err := slackverify.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// FuzzVerify throws arbitrary headers and bodies at Verify: it must never
// panic, must accept only what Sign produced for the same timestamp and
// body, and must accept that at most once.
func FuzzVerify(f *testing.F) {
	f.Add(docTimestamp, docSignature, []byte(docBody))
	f.Add(docTimestamp, "v0=", []byte(docBody))
	f.Add("", "", []byte{})
	f.Add("0", "v0="+strings.Repeat("0", 64), []byte("payload={}"))
	f.Add("-1531420618", docSignature, []byte(docBody))
	f.Add("1531420618.0", "v0="+strings.Repeat("G", 64), []byte{0xff, 0xfe})
	f.Add(strings.Repeat("9", 40), "V0="+strings.Repeat("a", 64), []byte("\x00"))
	f.Add(docTimestamp, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50", []byte(docBody))
	f.Add("1531420618\n", docSignature+"\r\n", []byte(docBody))
	secret := secrets.NewValueString(docSecret)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		now := time.Unix(1531420618, 0)
		v, err := slackverify.New(slackverify.Config{SigningSecret: secret, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h[slackverify.HeaderTimestamp] = []string{ts}
		h[slackverify.HeaderSignature] = []string{sig}
		if v.Verify(h, body) != nil {
			return
		}
		if !strings.EqualFold(sig, slackverify.Sign(secret, ts, body)) {
			t.Fatalf("accepted ts %q sig %q for a body it does not sign", ts, sig)
		}
		if err := v.Verify(h, body); !errors.Is(err, slackverify.ErrReplay) {
			t.Fatalf("accepted twice: %v", err)
		}
	})
}

// A shared record (another replica's) refuses a request this replica never saw.
func TestSharedReplayRecord(t *testing.T) {
	now := time.Unix(1531420618, 0)
	seen := map[[32]byte]bool{}
	shared := func(sig [32]byte, _ time.Time) error {
		if seen[sig] {
			return slackverify.ErrReplay
		}
		seen[sig] = true
		return nil
	}
	mk := func() *slackverify.Verifier {
		v, err := slackverify.New(slackverify.Config{SigningSecret: secrets.NewValueString("8f742231b10e8888abcd99yyyzzz85a5"), Now: func() time.Time { return now }, Shared: shared})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b := mk(), mk()
	body := []byte("token=x&payload=y")
	ts := "1531420618"
	h := http.Header{}
	h.Set(slackverify.HeaderTimestamp, ts)
	h.Set(slackverify.HeaderSignature, slackverify.Sign(secrets.NewValueString("8f742231b10e8888abcd99yyyzzz85a5"), ts, body))
	if err := a.Verify(h, body); err != nil {
		t.Fatalf("first: %v", err)
	}
	if err := b.Verify(h, body); !errors.Is(err, slackverify.ErrReplay) {
		t.Fatalf("the same request at another replica: %v", err)
	}
}
