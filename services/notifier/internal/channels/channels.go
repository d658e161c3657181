// Package channels builds a channel for each configured receiver: its
// settings (from the routing configuration) decoded, each problem reported
// at its path, and its credentials resolved from their secret references.
//
// Settings by kind (credentials are references: secret://<name> or
// vault://<path>#<key>):
//
//	slack    token (a bot token: chat.postMessage) and channel, or url (an
//	         incoming webhook); base_url (the Web API, for tests);
//	         signing_secret and users (interactivity: package interact)
//	email    addr (host:port), from, to [..], username, password, auth
//	         (auto|plain|login), allow_plaintext (loopback only), helo,
//	         message_id_domain
//	sms      account_sid, auth_token, from or messaging_service_sid, to [..],
//	         max_chars, base_url (a Twilio-compatible API)
//	webhook  url, signing_secret or signing_secrets [..] (whsec_…, the first
//	         current)
//
// A receiver's templates (settings.templates) are render's business.
package channels

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/channel/email"
	"github.com/penguinmails/floe/services/notifier/internal/channel/slack"
	"github.com/penguinmails/floe/services/notifier/internal/channel/sms"
	"github.com/penguinmails/floe/services/notifier/internal/channel/webhook"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Resolver reads the value of a secret reference.
type Resolver func(ctx context.Context, ref string) (secrets.Value, error)

// known are the settings each kind reads (templates: render's).
var known = map[string][]string{
	routing.KindSlack:   {"token", "channel", "url", "webhook_url", "base_url", "templates", "signing_secret", "users"},
	routing.KindEmail:   {"addr", "from", "to", "username", "password", "auth", "allow_plaintext", "helo", "message_id_domain", "templates"},
	routing.KindSMS:     {"account_sid", "auth_token", "from", "messaging_service_sid", "to", "max_chars", "base_url", "templates"},
	routing.KindWebhook: {"url", "signing_secret", "signing_secrets", "templates"},
}

type reader struct {
	ctx        context.Context
	resolve    Resolver
	path       string
	s          map[string]any
	v          errs.Violations
	unresolved []string // references that did not resolve (not a problem of the settings)
}

func (r *reader) at(k string) string { return r.path + ".settings." + k }

func (r *reader) str(k string, required bool) string {
	v, ok := r.s[k]
	if !ok || v == nil {
		if required {
			r.v.Add(r.at(k), "is required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.v.Add(r.at(k), "must be a string")
	}
	return s
}

func (r *reader) strs(k string, required bool) []string {
	v, ok := r.s[k]
	if !ok || v == nil {
		if required {
			r.v.Add(r.at(k), "is required")
		}
		return nil
	}
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				r.v.Add(fmt.Sprintf("%s[%d]", r.at(k), i), "must be a string")
				continue
			}
			out = append(out, s)
		}
		if required && len(out) == 0 {
			r.v.Add(r.at(k), "is required")
		}
		return out
	}
	r.v.Add(r.at(k), "must be a string or a list of strings")
	return nil
}

func (r *reader) boolean(k string) bool {
	v, ok := r.s[k]
	if !ok || v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.v.Add(r.at(k), "must be true or false")
	}
	return b
}

func (r *reader) integer(k string) int {
	v, ok := r.s[k]
	if !ok || v == nil {
		return 0
	}
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case uint64:
		return int(n)
	case float64:
		if n == float64(int(n)) {
			return int(n)
		}
	}
	r.v.Add(r.at(k), "must be a whole number")
	return 0
}

// secret resolves the reference in k (the parser made sure it is one).
func (r *reader) secret(k string, required bool) secrets.Value {
	ref := r.str(k, required)
	if ref == "" {
		return secrets.Value{}
	}
	val, err := r.resolve(r.ctx, ref)
	if err != nil {
		r.unresolved = append(r.unresolved, fmt.Sprintf("%s (%s) does not resolve: %v", r.at(k), ref, err))
	}
	return val
}

// Build makes receiver rc's channel. Errors are *errs.InvalidArgumentError
// with the settings' paths (receivers.<name>.settings.<key>).
func Build(ctx context.Context, rc routing.Receiver, resolve Resolver) (channel.Channel, error) {
	r := &reader{ctx: ctx, resolve: resolve, path: "receivers." + rc.Name, s: rc.Settings}
	if r.s == nil {
		r.s = map[string]any{}
	}
	keys := make([]string, 0, len(r.s))
	for k := range r.s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(known[rc.Kind], k) {
			r.v.Add(r.at(k), "is not a setting of a %s receiver (%v)", rc.Kind, known[rc.Kind])
		}
	}
	var (
		ch  channel.Channel
		err error
	)
	switch rc.Kind {
	case routing.KindSlack:
		url := r.str("url", false)
		if url == "" {
			url = r.str("webhook_url", false)
		}
		if url != "" {
			if r.str("token", false) != "" {
				r.v.Add(r.at("token"), "is not used with an incoming webhook url: give one of them")
			}
			key := "url"
			if _, ok := r.s["url"]; !ok {
				key = "webhook_url"
			}
			u := r.secret(key, true)
			if r.v.Len() == 0 && len(r.unresolved) == 0 {
				ch, err = slack.NewWebhook(slack.WebhookConfig{URL: u})
			}
			break
		}
		tok, channelName, base := r.secret("token", true), r.str("channel", true), r.str("base_url", false)
		if r.v.Len() == 0 && len(r.unresolved) == 0 {
			ch, err = slack.NewBot(slack.BotConfig{Token: tok, Channel: channelName, BaseURL: base})
		}
	case routing.KindEmail:
		cfg := email.Config{Addr: r.str("addr", true), From: r.str("from", true), To: r.strs("to", true), Username: r.str("username", false),
			Auth: r.str("auth", false), AllowPlaintext: r.boolean("allow_plaintext"), HeloName: r.str("helo", false),
			MessageIDDomain: r.str("message_id_domain", false)}
		if _, ok := r.s["password"]; ok {
			cfg.Password = r.secret("password", true)
		}
		if r.v.Len() == 0 && len(r.unresolved) == 0 {
			ch, err = email.New(cfg)
		}
	case routing.KindSMS:
		cfg := sms.Config{BaseURL: r.str("base_url", false), AccountSID: r.str("account_sid", true), AuthToken: r.secret("auth_token", true),
			From: r.str("from", false), MessagingServiceSID: r.str("messaging_service_sid", false), To: r.strs("to", true), MaxChars: r.integer("max_chars")}
		if r.v.Len() == 0 && len(r.unresolved) == 0 {
			ch, err = sms.New(cfg)
		}
	case routing.KindWebhook:
		cfg := webhook.Config{URL: r.str("url", true)}
		refs := r.strs("signing_secrets", false)
		if one := r.str("signing_secret", false); one != "" {
			refs = append([]string{one}, refs...)
		}
		if len(refs) == 0 {
			r.v.Add(r.at("signing_secret"), "is required: webhooks are signed (Standard Webhooks), a whsec_… secret as a reference")
		}
		for i, ref := range refs {
			val, err := resolve(ctx, ref)
			if err != nil {
				r.unresolved = append(r.unresolved, fmt.Sprintf("%s[%d] (%s) does not resolve: %v", r.at("signing_secrets"), i, ref, err))
				continue
			}
			cfg.Secrets = append(cfg.Secrets, val)
		}
		if r.v.Len() == 0 && len(r.unresolved) == 0 {
			ch, err = webhook.New(cfg)
		}
	default:
		r.v.Add(r.path+".kind", "%q is not a kind of receiver", rc.Kind)
	}
	if verr := r.v.Err(); verr != nil {
		return nil, verr
	}
	if len(r.unresolved) > 0 {
		return nil, &UnresolvedError{Receiver: rc.Name, Problems: r.unresolved}
	}
	if err != nil {
		return nil, errs.Invalid(r.path+".settings", "%v", err)
	}
	return ch, nil
}

// UnresolvedError says that a receiver's settings are right but some of its
// secret references do not resolve (yet): the secret was not put, or the
// provider is down. Lazy builds the channel later.
type UnresolvedError struct {
	Receiver string
	Problems []string
}

func (e *UnresolvedError) Error() string {
	return "receiver " + e.Receiver + ": " + strings.Join(e.Problems, "; ")
}

// Lazy is a receiver's channel built at its first send (and again after a
// failure to build): its credentials need only resolve when a message goes
// out, so the notifier starts before they are put. A failure to resolve is
// a transient send error (retried with the delivery's backoff).
type Lazy struct {
	rc      routing.Receiver
	resolve Resolver
	mu      sync.Mutex
	ch      channel.Channel
}

// NewLazy returns the receiver's lazily built channel.
func NewLazy(rc routing.Receiver, resolve Resolver) *Lazy { return &Lazy{rc: rc, resolve: resolve} }

// Kind implements channel.Channel.
func (l *Lazy) Kind() string { return l.rc.Kind }

// Send implements channel.Channel.
func (l *Lazy) Send(ctx context.Context, m channel.Message, t channel.Thread) (channel.Receipt, error) {
	l.mu.Lock()
	ch := l.ch
	if ch == nil {
		var err error
		if ch, err = Build(ctx, l.rc, l.resolve); err != nil {
			l.mu.Unlock()
			var ue *UnresolvedError
			return channel.Receipt{}, &channel.Error{Permanent: !errors.As(err, &ue), Err: err}
		}
		l.ch = ch
	}
	l.mu.Unlock()
	return ch.Send(ctx, m, t)
}
