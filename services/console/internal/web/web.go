// Package web is the admin console: server-rendered HTML (html/template,
// which escapes everything it shows — release titles, change text and
// notes are user input) over the services' gRPC APIs, each call made with
// the signed-in principal's bearer token, so the console can do nothing
// its user could not do with the CLI.
//
// Security: a session is a random id in an HttpOnly, SameSite=Strict
// cookie (Secure behind HTTPS), mapped in memory to the principal's token;
// every state-changing request is a POST carrying the session's CSRF token
// (and, when the browser sends one, an Origin of this host); every answer
// has a strict Content-Security-Policy (no inline script or style: the
// console's one script and one stylesheet are its own files, embedded in
// the binary), and is never framed.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/enumtext"
	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DevUser is a user floe dev offers on the sign-in page.
type DevUser struct {
	ID, Name, Token string
}

// Options configure the console.
type Options struct {
	// Conn reaches the Floe API; calls carry the session's token.
	Conn grpc.ClientConnInterface
	// SecureCookies marks the session cookie Secure (HTTPS).
	SecureCookies bool
	// SessionTTL bounds a session (default 12h).
	SessionTTL time.Duration
	// DevUsers, when set, are offered on the sign-in page (floe dev).
	DevUsers []DevUser
	Log      zerolog.Logger
	// OIDC, when set, offers sign-in with that provider (NewOIDC).
	OIDC *OIDC
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler serves the console.
type Handler struct {
	opts  Options
	pages map[string]*template.Template
	mux   *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*session
}

// session is a signed-in principal.
type session struct {
	csrf string
	// id is who the session is; a renewal replaces it (a page being
	// rendered keeps the one it read).
	id atomic.Pointer[identity]
	// ends is when the session ends for good: the session TTL after sign-in.
	ends time.Time

	mu sync.Mutex
	// token is the bearer token every call carries, accepted until expires
	// (ends, or sooner an ID token's expiry).
	token   string
	expires time.Time
	// An OIDC session's ID token subject and, when the provider gave one,
	// the refresh token that renews the ID token before it expires (keep).
	subject, refresh string
	oidc             bool
}

// identity is who a session is: the principal WhoAmI named, with its
// role bindings (for may). Never changed once made.
type identity struct {
	principal, name string
	roles           []string
	who             *auth.Principal
}

// me is who the session is now.
func (s *session) me() *identity { return s.id.Load() }

// bearer is the session's current token.
func (s *session) bearer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// may says why the session's principal may not do perm in env ("" when it
// may), by the services' own policy (auth.DefaultPolicy, which every
// service enforces): the page disables what would be refused, and says
// why. The service still decides: this only spares a click.
func (s *session) may(perm, env string) string {
	who := s.me().who
	if who == nil || auth.DefaultPolicy().Allows(who, auth.Permission(perm), env) {
		return ""
	}
	where := ""
	if env != "" {
		where = " in " + env
	}
	roles := make([]string, 0, len(who.Roles))
	for _, b := range who.Roles {
		r := string(b.Role)
		if len(b.Environments) > 0 {
			r += " (" + strings.Join(b.Environments, ", ") + ")"
		}
		roles = append(roles, r)
	}
	return fmt.Sprintf("needs %s%s; your roles: %s", perm, where, strings.Join(roles, ", "))
}

// SessionCookie is the session cookie's name.
const SessionCookie = "floe_console_session"

// CSP is the Content-Security-Policy of every answer.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New builds the console.
func New(opts Options) (*Handler, error) {
	if opts.Conn == nil {
		return nil, errors.New("console: a connection to the Floe API is required")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, pages: map[string]*template.Template{}, sessions: map[string]*session{}}
	for _, page := range []string{"signin", "releases", "release", "deployment", "flags", "flag", "audit", "changes", "notifications", "alerts", "config", "windows", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", page, err)
		}
		h.pages[page] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /signin", h.signinPage)
	mux.HandleFunc("POST /signin", h.signin)
	mux.HandleFunc("POST /signout", h.authed(h.signout))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/releases", http.StatusSeeOther) })
	mux.HandleFunc("GET /releases", h.authed(h.releases))
	mux.HandleFunc("GET /releases/{id}", h.authed(h.release))
	mux.HandleFunc("GET /releases/{id}/live", h.authed(h.releaseLive))
	mux.HandleFunc("POST /releases/{id}/approve", h.authed(h.approve))
	mux.HandleFunc("POST /releases/{id}/promote", h.authed(h.promote))
	mux.HandleFunc("GET /deployments/{id}", h.authed(h.deployment))
	mux.HandleFunc("GET /deployments/{id}/live", h.authed(h.deploymentLive))
	mux.HandleFunc("POST /deployments/{id}/{action}", h.authed(h.deploymentAction))
	mux.HandleFunc("GET /flags", h.authed(h.flags))
	mux.HandleFunc("POST /flags/{env}/{key}/kill", h.authed(h.killFlag))
	mux.HandleFunc("GET /flags/{env}/{key}", h.authed(h.flag))
	mux.HandleFunc("POST /flags/{env}/{key}/rollout", h.authed(h.rollout))
	mux.HandleFunc("POST /flags/{env}/{key}/edit", h.authed(h.editFlag))
	mux.HandleFunc("GET /changes", h.authed(h.changes))
	mux.HandleFunc("POST /changes/{id}/approve", h.authed(h.approveChange))
	mux.HandleFunc("POST /changes/{id}/review", h.authed(h.reviewChange))
	mux.HandleFunc("POST /changes/{id}/schedule", h.authed(h.scheduleChange))
	mux.HandleFunc("GET /audit", h.authed(h.audit))
	mux.HandleFunc("POST /audit/checkpoint", h.authed(h.checkpoint))
	mux.HandleFunc("GET /audit/bundle", h.authed(h.bundle))
	h.registerOps(mux)
	h.registerOpsActions(mux)
	if opts.OIDC != nil {
		h.registerOIDC(mux)
	}
	h.mux = mux
	return h, nil
}

// ServeHTTP sets the security headers and serves the console.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost && !sameOrigin(r) {
		h.fail(w, r, nil, http.StatusForbidden, "This request came from another site: refused.")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// sameOrigin is false when the browser says the request comes from another origin.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" && r.Header.Get("Sec-Fetch-Site") == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// authed runs fn with the request's session, or sends the browser to sign in.
func (h *Handler) authed(fn func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.sessionOf(r)
		if s == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				h.fail(w, r, nil, http.StatusUnauthorized, "Your session has ended: sign in again.")
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				h.fail(w, r, s, http.StatusBadRequest, "The form could not be read.")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
				h.fail(w, r, s, http.StatusForbidden, "This form is not from this session (its CSRF token does not match): refused.")
				return
			}
		}
		fn(w, r, s)
	}
}

func (h *Handler) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	h.mu.Lock()
	s := h.sessions[c.Value]
	h.mu.Unlock()
	if s == nil {
		return nil
	}
	if !h.keep(r.Context(), s) {
		h.mu.Lock()
		delete(h.sessions, c.Value)
		h.mu.Unlock()
		return nil
	}
	return s
}

// renewBefore: an OIDC session renews its ID token this long before the
// token expires, so that no call carries one about to be refused.
const renewBefore = time.Minute

// keep says whether the session is still on. An OIDC session whose ID
// token is about to expire renews it first with its refresh token (the
// provider's answer verified as at sign-in, for the same subject, and the
// principal read again: roles may have changed), never past the session's
// end. A refresh token the provider refuses is not tried again: the session
// then ends with its ID token.
func (h *Handler) keep(ctx context.Context, s *session) bool {
	now := h.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.After(s.ends) {
		return false
	}
	if s.refresh == "" || h.opts.OIDC == nil || now.Add(renewBefore).Before(s.expires) {
		return !now.After(s.expires)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	raw, exp, refresh, err := h.opts.OIDC.renew(ctx, s.refresh, s.subject)
	if err == nil {
		var p *systemv1.Principal
		if p, err = h.whoAmI(ctx, raw); err == nil {
			s.setPrincipal(p)
		}
	}
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) || status.Code(err) == codes.Unauthenticated || status.Code(err) == codes.PermissionDenied {
			s.refresh = "" // refused, not unreachable: not tried again
		}
		h.opts.Log.Warn().Err(err).Str("principal", s.me().principal).Msg("console oidc session not renewed")
		return !now.After(s.expires)
	}
	s.token, s.refresh, s.expires = raw, refresh, exp
	if s.ends.Before(exp) {
		s.expires = s.ends
	}
	h.opts.Log.Info().Str("principal", s.me().principal).Time("expires", s.expires).Msg("console oidc session renewed")
	return true
}

// ctx is a call context carrying the session's token.
func (s *session) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	return withToken(ctx, s), cancel
}

// withToken makes ctx's calls as the session's principal.
func withToken(ctx context.Context, s *session) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.bearer())
}

func urlQuery(s string) string { return url.QueryEscape(s) }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ---- sign-in ----

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, nil, http.StatusOK, "signin", map[string]any{"Next": safeNext(r.URL.Query().Get("next")), "DevUsers": h.opts.DevUsers})
}

// safeNext keeps a redirect after sign-in on this site. Control
// characters are refused too: a browser drops tabs and newlines from a URL,
// so "/\t/evil.example" would lead off-site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/releases"
	}
	return next
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, nil, http.StatusBadRequest, "The form could not be read.")
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if user := r.PostForm.Get("dev_user"); user != "" {
		for _, u := range h.opts.DevUsers {
			if u.ID == user {
				token = u.Token
			}
		}
	}
	next := safeNext(r.PostForm.Get("next"))
	if token == "" {
		h.render(w, r, nil, http.StatusBadRequest, "signin", map[string]any{"Next": next, "DevUsers": h.opts.DevUsers, "Error": "Give a token."})
		return
	}
	if _, err := h.signIn(w, r, token, time.Time{}, "token", nil); err != nil {
		h.render(w, r, nil, http.StatusUnauthorized, "signin", map[string]any{"Next": next, "DevUsers": h.opts.DevUsers,
			"Error": "Sign-in refused: " + status.Convert(err).Message()})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// oidcGrant is what an OIDC sign-in adds to a session: the ID token's
// subject and the refresh token (empty when the provider gave none).
type oidcGrant struct{ subject, refresh string }

// whoAmI is the principal the API takes token for.
func (h *Handler) whoAmI(ctx context.Context, token string) (*systemv1.Principal, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	who, err := systemv1.NewSystemServiceClient(h.opts.Conn).WhoAmI(ctx, &systemv1.WhoAmIRequest{})
	return who.GetPrincipal(), err
}

// setPrincipal records who the session is (its roles, for may).
func (s *session) setPrincipal(p *systemv1.Principal) {
	id := &identity{principal: p.GetId(), name: p.GetName(), who: &auth.Principal{ID: p.GetId(), Name: p.GetName()}}
	for _, b := range p.GetRoles() {
		id.roles = append(id.roles, b.GetRole())
		id.who.Roles = append(id.who.Roles, auth.RoleBinding{Role: auth.Role(b.GetRole()), Environments: b.GetEnvironments()})
	}
	s.id.Store(id)
}

// signIn starts a session with token once WhoAmI accepts it (its error
// otherwise), ending after the session TTL or at notAfter (when set),
// whichever comes first, and sets its cookie. An OIDC session (grant) with
// a refresh token renews its ID token up to the session TTL. Any session
// the browser had ends: a sign-in always gets a new id.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, token string, notAfter time.Time, method string, grant *oidcGrant) (*session, error) {
	now := h.opts.Now()
	s := &session{token: token, csrf: randomToken(), ends: now.Add(h.opts.SessionTTL)}
	s.expires = s.ends
	if !notAfter.IsZero() && notAfter.Before(s.expires) {
		s.expires = notAfter
	}
	if grant != nil {
		s.oidc, s.subject, s.refresh = true, grant.subject, grant.refresh
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	p, err := h.whoAmI(ctx, token)
	if err != nil {
		return nil, err
	}
	s.setPrincipal(p)
	cookieExpires := s.expires
	if s.refresh != "" {
		cookieExpires = s.ends // the ID token is renewed until then
	}
	id := randomToken()
	h.mu.Lock()
	if old, err := r.Cookie(SessionCookie); err == nil {
		delete(h.sessions, old.Value)
	}
	h.sessions[id] = s
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: h.opts.SecureCookies,
		SameSite: http.SameSiteStrictMode, Expires: cookieExpires})
	h.opts.Log.Info().Str("principal", s.me().principal).Str("method", method).Time("expires", s.expires).
		Bool("renewable", s.refresh != "").Msg("console sign-in")
	return s, nil
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, s *session) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		h.mu.Lock()
		delete(h.sessions, c.Value)
		h.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.opts.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	if o := h.opts.OIDC; o != nil && s.oidc && o.endSession != "" {
		// Signed in at the provider too: sign out there (RP-initiated
		// logout), which sends the browser back to the sign-in page.
		h.opts.Log.Info().Str("principal", s.me().principal).Msg("console sign-out, at the identity provider too")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := movePage.Execute(w, map[string]string{"URL": o.logoutURL(s.bearer()), "Title": "Signed out",
			"Text": "Signed out of the console.", "Link": "Sign out at " + o.name + " too"}); err != nil {
			h.opts.Log.Error().Err(err).Msg("console page sign-out")
		}
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// ---- rendering ----

// render executes a page with the layout's data: the session (for the
// header and the CSRF token of every form) and the page's own.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, s *session, code int, page string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	if s != nil {
		me := s.me()
		data["Principal"], data["PrincipalName"], data["CSRF"], data["Roles"] = me.principal, me.name, s.csrf, strings.Join(me.roles, ", ")
		data["May"] = s.may
	}
	if page == "signin" && h.opts.OIDC != nil {
		data["OIDC"] = h.opts.OIDC.Name()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := h.pages[page].Execute(w, data); err != nil {
		h.opts.Log.Error().Err(err).Str("page", page).Msg("console page")
	}
}

// fail shows an error page: for a gRPC error, its status and message (the
// services' messages say what was refused and why).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, code int, msg string) {
	h.render(w, r, s, code, "error", map[string]any{"Message": msg, "Code": code})
}

// failRPC shows a refused or failed call.
func (h *Handler) failRPC(w http.ResponseWriter, r *http.Request, s *session, err error) {
	st := status.Convert(err)
	h.render(w, r, s, httpCode(st.Code().String()), "error", map[string]any{"Message": st.Message(), "Code": httpCode(st.Code().String()), "GRPC": st.Code().String()})
}

func httpCode(grpcCode string) int {
	switch grpcCode {
	case "InvalidArgument":
		return http.StatusBadRequest
	case "NotFound":
		return http.StatusNotFound
	case "PermissionDenied":
		return http.StatusForbidden
	case "Unauthenticated":
		return http.StatusUnauthorized
	case "FailedPrecondition", "Aborted", "AlreadyExists":
		return http.StatusConflict
	case "Unavailable", "DeadlineExceeded":
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// stamp is a time as pages show it ("" for none).
func stamp(t interface{ AsTime() time.Time }) string {
	if t == nil {
		return ""
	}
	at := t.AsTime()
	if at.IsZero() || at.Unix() == 0 {
		return ""
	}
	return at.UTC().Format("2006-01-02 15:04:05Z")
}

var funcs = template.FuncMap{
	"list": func(v ...string) []string { return v },
	// requestID makes each rendered form's submission idempotent: sent twice, it is done once.
	"requestID": randomToken,
	"when":      stamp,
	"word":      wordOf,
	// slug is word as a CSS class suffix (s-rolled-back).
	"slug": func(s fmt.Stringer) string { return strings.ReplaceAll(wordOf(s), " ", "-") },
}

// wordOf is an enum value in words: its name without the type's prefix,
// lower case, spaces for underscores (DEPLOYMENT_STATUS_ROLLED_BACK → "rolled back").
func wordOf(s fmt.Stringer) string {
	if e, ok := s.(protoreflect.Enum); ok {
		return enumtext.Words(e)
	}
	v := s.String()
	if i := strings.LastIndex(v, "_STATUS_"); i >= 0 {
		v = v[i+len("_STATUS_"):]
	} else if i := strings.Index(v, "_STATE_"); i >= 0 {
		v = v[i+len("_STATE_"):]
	} else if i := strings.Index(v, "_STRATEGY_"); i >= 0 {
		v = v[i+len("_STRATEGY_"):]
	} else if i := strings.Index(v, "_CLASS_"); i >= 0 {
		v = v[i+len("_CLASS_"):]
	} else if i := strings.Index(v, "_TYPE_"); i >= 0 {
		v = v[i+len("_TYPE_"):]
	} else if i := strings.Index(v, "_KIND_"); i >= 0 {
		v = v[i+len("_KIND_"):]
	} else if i := strings.Index(v, "_OUTCOME_"); i >= 0 {
		v = v[i+len("_OUTCOME_"):]
	} else if i := strings.Index(v, "_FORMAT_"); i >= 0 {
		v = v[i+len("_FORMAT_"):]
	}
	return strings.ToLower(strings.ReplaceAll(v, "_", " "))
}
