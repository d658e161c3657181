package slackverify

import (
	"bytes"
	"container/heap"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/penguinmails/floe/libs/secrets"
)

// The headers Slack signs its requests with.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// Defaults of Config.
const (
	// DefaultTolerance is Slack's recommended window: five minutes either way.
	DefaultTolerance = 5 * time.Minute
	// DefaultMaxSeen bounds the replay cache (about 10 MB at the bound).
	DefaultMaxSeen = 100_000
	// DefaultMaxBody bounds the body Middleware reads (Slack's interactive
	// payloads are a few kilobytes).
	DefaultMaxBody = 1 << 20
)

// The reasons a request is refused; Verify's errors wrap exactly one of
// them, so a caller can switch on errors.Is and record the reason.
var (
	// ErrMalformed: a header is missing or is not of Slack's form.
	ErrMalformed = errors.New("slackverify: missing or malformed signature headers")
	// ErrStale: the timestamp is outside the tolerance, in the past or the future.
	ErrStale = errors.New("slackverify: timestamp outside the tolerance")
	// ErrBadSignature: the signature does not match the body and timestamp.
	ErrBadSignature = errors.New("slackverify: signature does not match")
	// ErrReplay: this signature was accepted before, within the tolerance.
	ErrReplay = errors.New("slackverify: request replayed")
	// ErrBusy: the replay cache is full of live signatures; the request
	// is refused rather than a signature forgotten (see the package doc).
	ErrBusy = errors.New("slackverify: replay cache full")
	// ErrTooLarge: the body is larger than Config.MaxBody (Middleware only).
	ErrTooLarge = errors.New("slackverify: body too large")
)

// Config configures a Verifier.
type Config struct {
	// SigningSecret is the app's signing secret (Slack app settings, Basic
	// Information), used as the HMAC key exactly as shown. Required.
	SigningSecret secrets.Value
	// Tolerance is how far a timestamp may be from Now; DefaultTolerance when zero.
	Tolerance time.Duration
	// MaxSeen bounds the replay cache; DefaultMaxSeen when zero.
	MaxSeen int
	// MaxBody bounds the body Middleware reads; DefaultMaxBody when zero.
	MaxBody int64
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Shared, when set, also records each accepted signature where every
	// replica sees it (e.g. a key-value bucket whose entries expire), so a
	// request replayed to another replica is refused too: it returns
	// ErrReplay for a signature already recorded. It is asked after the
	// local cache accepted the request.
	Shared func(sig [sha256.Size]byte, expires time.Time) error
}

// Verifier verifies Slack request signatures and rejects replays. It is safe
// for concurrent use.
type Verifier struct {
	key       secrets.Value
	tolerance time.Duration
	maxSeen   int
	maxBody   int64
	now       func() time.Time

	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{} // accepted MACs, until they expire
	exp  expiries

	shared func(sig [sha256.Size]byte, expires time.Time) error
}

// New returns a Verifier; it fails on an empty signing secret or a negative setting.
func New(cfg Config) (*Verifier, error) {
	if cfg.SigningSecret.IsZero() {
		return nil, errors.New("slackverify: signing secret is empty")
	}
	if cfg.Tolerance < 0 || cfg.MaxSeen < 0 || cfg.MaxBody < 0 {
		return nil, errors.New("slackverify: negative tolerance, cache size or body limit")
	}
	v := &Verifier{
		key:       cfg.SigningSecret,
		tolerance: cfg.Tolerance,
		maxSeen:   cfg.MaxSeen,
		maxBody:   cfg.MaxBody,
		now:       cfg.Now,
		seen:      make(map[[sha256.Size]byte]struct{}),
		shared:    cfg.Shared,
	}
	if v.tolerance == 0 {
		v.tolerance = DefaultTolerance
	}
	if v.maxSeen == 0 {
		v.maxSeen = DefaultMaxSeen
	}
	if v.maxBody == 0 {
		v.maxBody = DefaultMaxBody
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// Sign returns the X-Slack-Signature Slack would send for body at
// timestamp (unix seconds) with signingSecret: "v0=" and 64 hex digits.
// Tests of the endpoints behind a Verifier use it to make genuine requests.
func Sign(signingSecret secrets.Value, timestamp string, body []byte) string {
	return "v0=" + hex.EncodeToString(mac(signingSecret.Reveal(), timestamp, body))
}

func mac(key []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("v0:"))
	m.Write([]byte(timestamp))
	m.Write([]byte(":"))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks the signature headers of a request against its raw body
// and, when they are genuine, remembers the signature so that the same
// request is refused the next time. Its error wraps one of ErrMalformed,
// ErrStale, ErrBadSignature, ErrReplay or ErrBusy, and never holds the
// secret or the expected signature.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	tsText := h.Get(HeaderTimestamp)
	sigText := h.Get(HeaderSignature)
	ts, err := parseTimestamp(tsText)
	if err != nil {
		return err
	}
	got, err := parseSignature(sigText)
	if err != nil {
		return err
	}
	now := v.now()
	sent := time.Unix(ts, 0)
	if d := now.Sub(sent); d > v.tolerance || d < -v.tolerance {
		return fmt.Errorf("%w: sent %s, now %s", ErrStale, sent.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !hmac.Equal(got, mac(v.key.Reveal(), tsText, body)) {
		return ErrBadSignature
	}
	sig := [sha256.Size]byte(got)
	if err := v.remember(sig, sent.Add(v.tolerance), now); err != nil {
		return err
	}
	if v.shared != nil {
		return v.shared(sig, sent.Add(v.tolerance))
	}
	return nil
}

// parseTimestamp accepts decimal unix seconds only: no sign, no spaces, no
// fraction, at most 12 digits (year 33658), so that the signed base string
// and the time checked are the same text.
func parseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > 12 {
		return 0, fmt.Errorf("%w: %s", ErrMalformed, HeaderTimestamp)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %s", ErrMalformed, HeaderTimestamp)
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s", ErrMalformed, HeaderTimestamp)
	}
	return ts, nil
}

// parseSignature accepts "v0=" and the hex of a SHA-256 MAC (either case).
func parseSignature(s string) ([]byte, error) {
	const prefix = "v0="
	if len(s) != len(prefix)+2*sha256.Size || !strings.EqualFold(s[:len(prefix)], prefix) {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, HeaderSignature)
	}
	b, err := hex.DecodeString(s[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, HeaderSignature)
	}
	return b, nil
}

// remember records sig until expires, refusing one already recorded. Only
// genuine signatures reach it, so unauthenticated traffic cannot fill the cache.
func (v *Verifier) remember(sig [sha256.Size]byte, expires, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	// An entry is dropped only once it is strictly past its expiry: at
	// exactly sent+tolerance the timestamp check still accepts the request.
	for v.exp.Len() > 0 && v.exp[0].at.Before(now) {
		e := heap.Pop(&v.exp).(expiry)
		delete(v.seen, e.sig)
	}
	if _, ok := v.seen[sig]; ok {
		return ErrReplay
	}
	if len(v.seen) >= v.maxSeen {
		return ErrBusy
	}
	v.seen[sig] = struct{}{}
	heap.Push(&v.exp, expiry{sig: sig, at: expires})
	return nil
}

// Seen is how many signatures the replay cache holds (for metrics and tests).
func (v *Verifier) Seen() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.seen)
}

// Middleware verifies each request before next sees it: the body is read
// (at most MaxBody bytes), verified, and put back for next to read. A
// request that fails gets 401 (413 for a body over the limit, 503 when the
// replay cache is full) and next is not called; onReject, when not nil, is
// told first with the request and the error (for an audit event). Only POST
// is accepted, as Slack only POSTs.
func (v *Verifier) Middleware(next http.Handler, onReject func(*http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v.maxBody))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			err = ErrTooLarge
		case err != nil:
			err = fmt.Errorf("%w: read body: %v", ErrMalformed, err)
		default:
			err = v.Verify(r.Header, body)
		}
		if err != nil {
			if onReject != nil {
				onReject(r, err)
			}
			switch {
			case errors.Is(err, ErrTooLarge):
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			case errors.Is(err, ErrBusy):
				http.Error(w, "busy", http.StatusServiceUnavailable)
			default:
				http.Error(w, "request not verified", http.StatusUnauthorized)
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

type expiry struct {
	sig [sha256.Size]byte
	at  time.Time
}

// expiries is a min-heap of cache entries by expiry time.
type expiries []expiry

func (e expiries) Len() int           { return len(e) }
func (e expiries) Less(i, j int) bool { return e[i].at.Before(e[j].at) }
func (e expiries) Swap(i, j int)      { e[i], e[j] = e[j], e[i] }
func (e *expiries) Push(x any)        { *e = append(*e, x.(expiry)) }
func (e *expiries) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}
