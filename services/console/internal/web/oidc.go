package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"google.golang.org/grpc/status"
)

// OIDC sign-in: the authorization code flow with PKCE (S256), state and
// nonce. /oidc/login keeps a random state, nonce and PKCE verifier in
// memory (keyed by the state, for loginTTL) and binds the attempt to the
// browser with a short-lived cookie holding the state; /oidc/callback takes
// the attempt once (a replayed or forged callback finds nothing), exchanges
// the code with the verifier, verifies the ID token (signature, issuer,
// audience = the client id, expiry, nonce) and signs the user in as the
// token form does: the ID token is the session's bearer token for the API,
// WhoAmI checks it, and the session ends with the token — unless the
// provider also gave a refresh token (the offline_access scope, for most),
// with which the console renews the ID token before it expires, up to the
// session TTL (Handler.keep). Signing out of such a session signs out at
// the provider too (RP-initiated logout) when it has an end_session_endpoint.

// OIDCCookie binds a sign-in under way to the browser that started it.
const OIDCCookie = "floe_console_oidc"

const (
	// loginTTL bounds the time between /oidc/login and its callback.
	loginTTL = 10 * time.Minute
	// maxPendingLogins bounds the memory sign-ins under way may hold.
	maxPendingLogins = 10000
)

// OIDCConfig configures sign-in with an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read at start.
	Issuer string
	// ClientID is the console's client id at the provider: the ID tokens' audience.
	ClientID string
	// ClientSecret makes the console a confidential client; empty, it is a
	// public client and PKCE alone protects the code.
	ClientSecret string
	// RedirectURL is the absolute URL of the console's /oidc/callback, as registered at the provider.
	RedirectURL string
	// Scopes are requested; "openid" is required.
	Scopes []string
	// HTTPClient reaches the provider (default: one with a 15 s timeout).
	HTTPClient *http.Client
}

// OIDC is a discovered provider the console signs people in with.
type OIDC struct {
	oauth    oauth2.Config
	issuer   string
	verifier *oidc.IDTokenVerifier
	client   *http.Client
	// name is the issuer's host, for "Sign in with …".
	name string
	// endSession is the provider's end_session_endpoint ("": none), and
	// postLogout where it sends the browser back: the console's /signin.
	endSession, postLogout string

	mu      sync.Mutex
	pending map[string]*pendingLogin // by state
}

// pendingLogin is a sign-in under way: what its callback must match.
type pendingLogin struct {
	nonce, verifier, next string
	expires               time.Time
}

// NewOIDC reads the provider's discovery document (so an unreachable or
// misnamed issuer fails the start) and prepares sign-in.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("oidc sign-in: the issuer and the client id are required")
	}
	iu, err := url.Parse(cfg.Issuer)
	if err != nil || iu.Host == "" {
		return nil, fmt.Errorf("oidc sign-in: issuer %q is not an absolute URL", cfg.Issuer)
	}
	ru, err := url.Parse(cfg.RedirectURL)
	if err != nil || !ru.IsAbs() || ru.Host == "" || (ru.Scheme != "http" && ru.Scheme != "https") || ru.Fragment != "" {
		return nil, fmt.Errorf("oidc sign-in: redirect URL %q is not an absolute http(s) URL without a fragment", cfg.RedirectURL)
	}
	if !strings.HasSuffix(ru.Path, "/oidc/callback") {
		return nil, fmt.Errorf("oidc sign-in: redirect URL %q must end in /oidc/callback, where the console takes the provider's answer", cfg.RedirectURL)
	}
	hasOpenID := false
	for _, s := range cfg.Scopes {
		hasOpenID = hasOpenID || s == oidc.ScopeOpenID
	}
	if !hasOpenID {
		return nil, fmt.Errorf("oidc sign-in: the scopes %q lack %q", strings.Join(cfg.Scopes, " "), oidc.ScopeOpenID)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc sign-in: discovery for %s: %w", cfg.Issuer, err)
	}
	var claims struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&claims); err != nil {
		return nil, fmt.Errorf("oidc sign-in: discovery for %s: %w", cfg.Issuer, err)
	}
	if u, err := url.Parse(claims.EndSession); claims.EndSession != "" && (err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http")) {
		return nil, fmt.Errorf("oidc sign-in: %s's end_session_endpoint %q is not an absolute http(s) URL", cfg.Issuer, claims.EndSession)
	}
	postLogout := *ru
	postLogout.Path, postLogout.RawQuery = strings.TrimSuffix(ru.Path, "/oidc/callback")+"/signin", ""
	return &OIDC{
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: cfg.RedirectURL, Scopes: cfg.Scopes},
		issuer:     cfg.Issuer,
		verifier:   p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		client:     client,
		name:       iu.Host,
		endSession: claims.EndSession,
		postLogout: postLogout.String(),
		pending:    map[string]*pendingLogin{},
	}, nil
}

// renew exchanges a refresh token for a new ID token, verified as at
// sign-in (signature, issuer, audience, expiry, authorized party) and for
// the same subject: the raw token, its expiry, and the refresh token to use
// next (the provider's new one, or the same).
func (o *OIDC) renew(ctx context.Context, refresh, subject string) (string, time.Time, string, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.client)
	tok, err := o.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		return "", time.Time{}, "", err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", time.Time{}, "", errors.New("the provider's refresh answer has no ID token")
	}
	idt, err := o.verify(ctx, raw)
	if err != nil {
		return "", time.Time{}, "", err
	}
	if idt.Subject != subject {
		return "", time.Time{}, "", fmt.Errorf("the renewed ID token is for another subject")
	}
	next := tok.RefreshToken
	if next == "" {
		next = refresh
	}
	return raw, idt.Expiry, next, nil
}

// verify checks an ID token: go-oidc's checks (signature, issuer, audience
// = the client id, expiry) and, for a token with several audiences, that
// it was issued to this client (azp).
func (o *OIDC) verify(ctx context.Context, raw string) (*oidc.IDToken, error) {
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	var azp struct {
		AZP string `json:"azp"`
	}
	if err := idt.Claims(&azp); err != nil || azp.AZP != "" && azp.AZP != o.oauth.ClientID {
		return nil, errAnotherParty
	}
	return idt, nil
}

// errAnotherParty: an ID token issued to another client.
var errAnotherParty = errors.New("the ID token was issued to another client")

// logoutURL is the provider's end-session URL for a session signed in with
// idToken, sending the browser back to the console's sign-in page (a URL
// to register at the provider as a post-logout redirect URI).
func (o *OIDC) logoutURL(idToken string) string {
	q := url.Values{"id_token_hint": {idToken}, "client_id": {o.oauth.ClientID}, "post_logout_redirect_uri": {o.postLogout}}
	sep := "?"
	if strings.Contains(o.endSession, "?") {
		sep = "&"
	}
	return o.endSession + sep + q.Encode()
}

// Name is the provider as the sign-in page names it: the issuer's host.
func (o *OIDC) Name() string { return o.name }

// put keeps a sign-in under way; false when too many are (expired ones are swept first).
func (o *OIDC) put(state string, p *pendingLogin, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) >= maxPendingLogins {
		for k, v := range o.pending {
			if now.After(v.expires) {
				delete(o.pending, k)
			}
		}
		if len(o.pending) >= maxPendingLogins {
			return false
		}
	}
	o.pending[state] = p
	return true
}

// take removes and returns the sign-in under way for state: once only,
// and nil when there is none or it has expired.
func (o *OIDC) take(state string, now time.Time) *pendingLogin {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.pending[state]
	delete(o.pending, state)
	if p == nil || now.After(p.expires) {
		return nil
	}
	return p
}

func (h *Handler) registerOIDC(mux *http.ServeMux) {
	mux.HandleFunc("GET /oidc/login", h.oidcLogin)
	mux.HandleFunc("GET /oidc/callback", h.oidcCallback)
}

// oidcLogin starts a sign-in: a new state, nonce and PKCE verifier, kept
// here and bound to the browser, then off to the provider.
func (h *Handler) oidcLogin(w http.ResponseWriter, r *http.Request) {
	o := h.opts.OIDC
	now := h.opts.Now()
	state, verifier := randomToken(), oauth2.GenerateVerifier()
	p := &pendingLogin{nonce: randomToken(), verifier: verifier, next: safeNext(r.URL.Query().Get("next")), expires: now.Add(loginTTL)}
	if !o.put(state, p, now) {
		h.fail(w, r, nil, http.StatusServiceUnavailable, "Too many sign-ins are under way: try again in a few minutes.")
		return
	}
	// SameSite=Lax: the callback is a top-level GET from the provider's site,
	// which a Strict cookie would not accompany.
	http.SetCookie(w, &http.Cookie{Name: OIDCCookie, Value: state, Path: "/oidc/", HttpOnly: true, Secure: h.opts.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: int(loginTTL / time.Second)})
	http.Redirect(w, r, o.oauth.AuthCodeURL(state, oidc.Nonce(p.nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// oidcCallback finishes a sign-in: the state must be this browser's and
// under way; then the code is exchanged with the verifier and the ID token
// verified and used as the session's token.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	o := h.opts.OIDC
	q := r.URL.Query()
	state := q.Get("state")
	refuse := func(code int, msg string) {
		h.render(w, r, nil, code, "signin", map[string]any{"Next": "/releases", "Error": msg})
	}
	c, err := r.Cookie(OIDCCookie)
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		// A forged callback (login CSRF) leaves this browser's own sign-in, if any, alone.
		h.opts.Log.Warn().Msg("console oidc callback refused: its state is not the one this browser was given")
		refuse(http.StatusBadRequest, "This sign-in was not started by this browser: start again.")
		return
	}
	// Whatever happens next, this attempt is over.
	http.SetCookie(w, &http.Cookie{Name: OIDCCookie, Value: "", Path: "/oidc/", HttpOnly: true, Secure: h.opts.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	p := o.take(state, h.opts.Now())
	if p == nil {
		h.opts.Log.Warn().Msg("console oidc callback refused: no sign-in under way with its state (used, expired or unknown)")
		refuse(http.StatusBadRequest, "This sign-in has already been used or has expired: start again.")
		return
	}
	if q.Has("iss") && q.Get("iss") != o.issuer {
		// RFC 9207: the answer names its issuer; another provider's is a mix-up attack.
		h.opts.Log.Warn().Str("iss", clip(q.Get("iss"))).Msg("console oidc callback refused: another issuer")
		refuse(http.StatusBadRequest, "This answer comes from another identity provider than "+o.name+": start again.")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := fmt.Sprintf("%s refused the sign-in: %s", o.name, clip(e))
		if d := q.Get("error_description"); d != "" {
			msg += " (" + clip(d) + ")"
		}
		h.opts.Log.Info().Str("error", clip(e)).Msg("console oidc sign-in refused by the provider")
		refuse(http.StatusUnauthorized, msg+".")
		return
	}
	code := q.Get("code")
	if code == "" {
		refuse(http.StatusBadRequest, "The identity provider's answer has no authorization code: start again.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.client)
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			msg := fmt.Sprintf("%s refused to exchange the code: %s", o.name, clip(re.ErrorCode))
			if re.ErrorDescription != "" {
				msg += " (" + clip(re.ErrorDescription) + ")"
			}
			h.opts.Log.Warn().Str("error", clip(re.ErrorCode)).Str("description", clip(re.ErrorDescription)).Msg("console oidc code exchange refused")
			refuse(http.StatusUnauthorized, msg+".")
			return
		}
		h.opts.Log.Warn().Err(err).Msg("console oidc code exchange failed")
		refuse(http.StatusBadGateway, "The identity provider could not be reached to finish the sign-in: try again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		refuse(http.StatusUnauthorized, "The identity provider sent no ID token: is the openid scope granted?")
		return
	}
	idt, err := o.verify(ctx, raw)
	if errors.Is(err, errAnotherParty) {
		// A token for several audiences must have been issued to this client.
		h.opts.Log.Warn().Msg("console oidc id token refused: another authorized party")
		refuse(http.StatusUnauthorized, "The identity provider's ID token was issued to another client: start again.")
		return
	}
	if err != nil {
		// go-oidc's messages name the failed check, never the token.
		h.opts.Log.Warn().Err(err).Msg("console oidc id token refused")
		refuse(http.StatusUnauthorized, "The identity provider's ID token was refused: "+err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.nonce)) != 1 {
		h.opts.Log.Warn().Msg("console oidc id token refused: nonce mismatch")
		refuse(http.StatusUnauthorized, "The identity provider's ID token was not issued for this sign-in (its nonce does not match): start again.")
		return
	}
	s, err := h.signIn(w, r, raw, idt.Expiry, "oidc", &oidcGrant{subject: idt.Subject, refresh: tok.RefreshToken})
	if err != nil {
		// The API refused the token: its --oidc-issuer or --oidc-audience is not this provider and client.
		refuse(http.StatusUnauthorized, "Sign-in refused: "+status.Convert(err).Message())
		return
	}
	// The session cookie is SameSite=Strict, and a browser does not send it
	// on a redirect from here: this navigation began on the provider's
	// site. A page of ours that moves on is a same-site navigation.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	me := s.me()
	name := me.name
	if name == "" {
		name = me.principal
	}
	if err := movePage.Execute(w, map[string]string{"URL": safeNext(p.next), "Title": "Signed in", "Text": "Signed in as " + name + ".", "Link": "Continue"}); err != nil {
		h.opts.Log.Error().Err(err).Msg("console page signed-in")
	}
}

// clip bounds text from the provider shown on a page or logged.
func clip(s string) string {
	if len(s) > 300 {
		return strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}

// movePage moves the browser on to URL at once, with a link for when it
// does not (a <meta http-equiv="refresh">, no script: the CSP allows none
// inline). After an OIDC sign-in it goes to the page asked for (the session
// cookie is SameSite=Strict, and a browser does not send it on a redirect
// of a navigation that began on the provider's site); after a sign-out, to
// the provider's end-session URL (a form's redirect to another site would
// break the CSP's form-action 'self').
var movePage = template.Must(template.New("move").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0; url={{.URL}}">
<title>{{.Title}} · Floe console</title>
<link rel="stylesheet" href="/static/console.css">
</head>
<body>
<main id="main">
<p>{{.Text}} <a href="{{.URL}}">{{.Link}}</a></p>
</main>
</body>
</html>
`))
