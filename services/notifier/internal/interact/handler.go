package interact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/secrets"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/slackverify"
)

// Receiver is a Slack receiver's interactivity: its app's signing secret
// (read at the first request, so the notifier starts before it is put) and
// the Slack user id → Floe principal id mapping.
type Receiver struct {
	Name   string
	Users  map[string]string
	secret func(context.Context) (secrets.Value, error)
	now    func() time.Time
	shared func(sig [32]byte, expires time.Time) error

	mu       sync.Mutex
	verifier *slackverify.Verifier
}

// NewReceiver builds a receiver's interactivity; secret reads its signing
// secret; shared (optional) records accepted signatures where every replica
// sees them (slackverify.Config.Shared).
func NewReceiver(name string, secret func(context.Context) (secrets.Value, error), users map[string]string, now func() time.Time,
	shared func(sig [32]byte, expires time.Time) error) *Receiver {
	return &Receiver{Name: name, Users: users, secret: secret, now: now, shared: shared}
}

func (rc *Receiver) verify(ctx context.Context) (*slackverify.Verifier, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.verifier != nil {
		return rc.verifier, nil
	}
	s, err := rc.secret(ctx)
	if err != nil {
		return nil, fmt.Errorf("the signing secret of %s: %w", rc.Name, err)
	}
	v, err := slackverify.New(slackverify.Config{SigningSecret: s, Now: rc.now, Shared: rc.shared})
	if err != nil {
		return nil, err
	}
	rc.verifier = v
	return v, nil
}

// Decider approves and rejects releases as a principal (through the
// release service's act-on-behalf mechanism, via "slack").
type Decider interface {
	Approve(ctx context.Context, principal, releaseID, env, comment string) error
	Reject(ctx context.Context, principal, releaseID, env, reason string) error
}

// Handler serves POST /slack/interactions/<receiver>.
type Handler struct {
	Receivers map[string]*Receiver
	Decider   Decider
	// Refused records a refusal (an InteractionRefused event).
	Refused func(ctx context.Context, ev *notifyv1.InteractionRefused) error
	// Reply posts a message to a click's response_url (default: an HTTP POST).
	Reply   func(ctx context.Context, responseURL, text string) error
	OnError func(error)
	Timeout time.Duration // of a decision and its reply (default 10s)
}

type payload struct {
	Type string `json:"type"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
	State struct {
		Values map[string]map[string]struct {
			Value string `json:"value"`
		} `json:"values"`
	} `json:"state"`
	ResponseURL string `json:"response_url"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST Slack interactivity payloads", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/slack/interactions/")
	rc := h.Receivers[name]
	refuse := func(reason, detail string, ev *notifyv1.InteractionRefused) {
		if ev == nil {
			ev = &notifyv1.InteractionRefused{}
		}
		ev.Receiver, ev.Reason, ev.Detail, ev.RemoteAddr = name, reason, detail, remote(r)
		if h.Refused != nil {
			if err := h.Refused(context.WithoutCancel(r.Context()), ev); err != nil && h.OnError != nil {
				h.OnError(fmt.Errorf("record a refused Slack request: %w", err))
			}
		}
	}
	if rc == nil {
		refuse("unknown_receiver", "no Slack receiver "+name+" with interactivity", nil)
		http.Error(w, "unknown receiver", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, slackverify.DefaultMaxBody+1))
	if err != nil {
		http.Error(w, "read the request", http.StatusBadRequest)
		return
	}
	verifier, err := rc.verify(r.Context())
	if err != nil {
		if h.OnError != nil {
			h.OnError(err)
		}
		http.Error(w, "the receiver's signing secret is not available; try again later", http.StatusServiceUnavailable)
		return
	}
	if err := verifier.Verify(r.Header, body); err != nil {
		reason := "bad_signature"
		switch {
		case !errors.Is(err, slackverify.ErrBadSignature) && !errors.Is(err, slackverify.ErrStale) && !errors.Is(err, slackverify.ErrReplay) &&
			!errors.Is(err, slackverify.ErrMalformed) && !errors.Is(err, slackverify.ErrTooLarge):
			// The replay record is unavailable (or full): the request may be genuine; Slack retries.
			if h.OnError != nil {
				h.OnError(fmt.Errorf("verify a Slack request: %w", err))
			}
			http.Error(w, "cannot check the request for a replay now; try again", http.StatusServiceUnavailable)
			return
		case errors.Is(err, slackverify.ErrStale):
			reason = "stale"
		case errors.Is(err, slackverify.ErrReplay):
			reason = "replayed"
		case errors.Is(err, slackverify.ErrMalformed), errors.Is(err, slackverify.ErrTooLarge):
			reason = "malformed"
		}
		refuse(reason, err.Error(), nil)
		http.Error(w, "the request's signature does not verify", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	var p payload
	if err == nil {
		err = json.Unmarshal([]byte(form.Get("payload")), &p)
	}
	if err != nil || p.Type != "block_actions" || len(p.Actions) != 1 {
		// Other interactions (a link button, a shortcut) need no answer but 200.
		w.WriteHeader(http.StatusOK)
		return
	}
	act := p.Actions[0]
	var t Target
	var action string
	switch act.ActionID {
	case ActionApprove:
		action = "approve"
	case ActionReject:
		action = "reject"
	default:
		w.WriteHeader(http.StatusOK) // Details / Open Floe link buttons
		return
	}
	if json.Unmarshal([]byte(act.Value), &t) != nil || t.ReleaseID == "" || t.Environment == "" {
		refuse("malformed", "the button carries no release and environment", &notifyv1.InteractionRefused{SlackUser: p.User.ID, Action: action})
		http.Error(w, "malformed action", http.StatusBadRequest)
		return
	}
	ev := &notifyv1.InteractionRefused{SlackUser: p.User.ID, Action: action, ReleaseId: t.ReleaseID, Environment: t.Environment}
	principal, ok := rc.Users[p.User.ID]
	w.WriteHeader(http.StatusOK) // Slack wants an answer within 3 s; the outcome goes to response_url
	if !ok {
		msg := "Your Slack user is not mapped to a Floe principal, so Floe cannot act for you: ask an administrator to add it to the receiver's users."
		refuse("unmapped_user", msg, ev)
		h.reply(r.Context(), p.ResponseURL, msg)
		return
	}
	ev.Principal = principal
	reason := ""
	for _, fields := range p.State.Values {
		if f, ok := fields[InputReason]; ok && strings.TrimSpace(f.Value) != "" {
			reason = strings.TrimSpace(f.Value)
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.timeout())
	defer cancel()
	if action == "approve" {
		err = h.Decider.Approve(ctx, principal, t.ReleaseID, t.Environment, reason)
	} else if reason == "" {
		err = errors.New("a rejection needs a reason: type it in the reason field, then click Reject")
	} else {
		err = h.Decider.Reject(ctx, principal, t.ReleaseID, t.Environment, reason)
	}
	if err != nil {
		msg := fmt.Sprintf("Floe refused to %s %s for %s as %s: %s", action, t.ReleaseID, t.Environment, principal, statusText(err))
		refuse("refused", msg, ev)
		h.reply(ctx, p.ResponseURL, msg)
		return
	}
	done := map[string]string{"approve": "approved", "reject": "rejected"}[action]
	h.reply(ctx, p.ResponseURL, fmt.Sprintf("%s %s for %s as %s.", strings.ToUpper(done[:1])+done[1:], t.ReleaseID, t.Environment, principal))
}

func (h *Handler) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 10 * time.Second
}

// reply tells the clicker (ephemerally) what happened.
func (h *Handler) reply(ctx context.Context, responseURL, text string) {
	if responseURL == "" {
		return
	}
	post := h.Reply
	if post == nil {
		post = PostReply
	}
	if err := post(ctx, responseURL, text); err != nil && h.OnError != nil {
		h.OnError(fmt.Errorf("reply to Slack: %w", err))
	}
}

// PostReply posts an ephemeral message to a Slack response_url (https, or
// http to a loopback host for tests).
func PostReply(ctx context.Context, responseURL, text string) error {
	u, err := url.Parse(responseURL)
	if err != nil || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		return fmt.Errorf("response_url %q is not an https URL", responseURL)
	}
	body, _ := json.Marshal(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("response_url answered %s", resp.Status)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func remote(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusText is a gRPC error's message without its code prefix.
func statusText(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}
