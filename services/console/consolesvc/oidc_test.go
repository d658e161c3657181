package consolesvc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/console/consolesvc"
	"github.com/penguinmails/floe/services/console/internal/web"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

// provider is a real OpenID Provider (zitadel's pkg/op with its example
// in-memory storage and username/password login page) on loopback. Its ID
// tokens carry the profile and email claims asked for, as many providers'
// do, and Floe's roles in floe_roles.
type provider struct {
	*storage.Storage
	issuer string

	mu      sync.Mutex
	clients map[string]*storage.Client
	secrets map[string]string
	logout  map[string][]string // post-logout redirect URIs, by client
	roles   map[string][]string // by subject
}

// The example storage's users: id1 is test-user@<issuer host>, id2 test-user2.
const (
	oidcUser     = "id1"
	oidcPassword = "verysecure"
	oidcName     = "Test User"
)

func startProvider(t *testing.T) *provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p := &provider{issuer: "http://" + srv.Listener.Addr().String(), clients: map[string]*storage.Client{}, secrets: map[string]string{}, logout: map[string][]string{},
		roles: map[string][]string{oidcUser: {"qa:staging"}}}
	p.Storage = storage.NewStorageWithClients(storage.NewUserStore(p.issuer), map[string]*storage.Client{})
	srv.Config.Handler = exampleop.SetupServer(p.issuer, p, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

// username is the example user's login name at this provider.
func (p *provider) username() string {
	u, _ := url.Parse(p.issuer)
	return "test-user@" + u.Hostname()
}

// register adds a client (a public one without secret).
func (p *provider) register(c *storage.Client, secret string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[c.GetID()], p.secrets[c.GetID()] = c, secret
}

// GetClientByClientID implements op.Storage with the registered clients.
func (p *provider) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[id]; ok {
		if uris := p.logout[id]; uris != nil {
			return logoutClient{c, uris}, nil
		}
		return c, nil
	}
	return nil, fmt.Errorf("client %q not found", id)
}

// logoutClient is a client with post-logout redirect URIs (the example
// storage's clients have none).
type logoutClient struct {
	*storage.Client
	uris []string
}

func (c logoutClient) PostLogoutRedirectURIs() []string { return c.uris }

// AuthorizeClientIDSecret implements op.Storage for confidential clients.
func (p *provider) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if want, ok := p.secrets[id]; !ok || want == "" || want != secret {
		return errors.New("invalid client secret")
	}
	return nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the
// claims of an ID token.
func (p *provider) SetUserinfoFromRequest(ctx context.Context, info *zoidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	if err := p.Storage.SetUserinfoFromRequest(ctx, info, req, req.GetScopes()); err != nil {
		return err
	}
	p.mu.Lock()
	roles := p.roles[req.GetSubject()]
	p.mu.Unlock()
	if roles != nil {
		info.AppendClaims("floe_roles", roles)
	}
	return nil
}

// tokenEndpoint is the provider's, from its discovery document.
func (p *provider) tokenEndpoint(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(p.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.TokenEndpoint == "" {
		t.Fatalf("discovery: %v %+v", err, doc)
	}
	return doc.TokenEndpoint
}

// startOIDCWorld is the release service and a console signing in with p as
// client (its secret in a file when secret is set); the API accepts p's ID
// tokens for that client.
func startOIDCWorld(t *testing.T, p *provider, client, secret string) *world {
	t.Helper()
	cfg := consolesvc.Config{Addr: "127.0.0.1:0", OIDCIssuer: p.issuer, OIDCClientID: client}
	if secret != "" {
		cfg.OIDCClientSecretFile = filepath.Join(t.TempDir(), "client-secret")
		if err := os.WriteFile(cfg.OIDCClientSecretFile, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return startOIDCWorldWith(t, cfg, nil)
}

// startOIDCWorldWith is startOIDCWorld with the console's configuration
// and the services' clock (nil: time.Now).
func startOIDCWorldWith(t *testing.T, cfg consolesvc.Config, clock func() time.Time) *world {
	t.Helper()
	proc := testkit.Start(t, testkit.Options{
		Users:      map[string][]auth.RoleBinding{"alice": testkit.Roles(auth.RoleDeveloper)},
		OIDCIssuer: cfg.OIDCIssuer, OIDCAudience: cfg.OIDCClientID, Clock: clock,
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(releasesvc.Service, releasesvc.Config{}), service.Of(consolesvc.Service, cfg)}
		},
	})
	c, ok := proc.Handles["console"].(*consolesvc.Console)
	if !ok || c.Addr == "" {
		t.Fatalf("console handle %#v", proc.Handles["console"])
	}
	return &world{Process: proc, t: t, base: "http://" + c.Addr}
}

// fetch makes one request (no redirect followed) to an absolute URL.
func fetch(t *testing.T, c *http.Client, method, rawURL string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// location is resp's redirect target, resolved against the request's URL.
func location(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		t.Fatalf("%s %s: %d, want a redirect", resp.Request.Method, resp.Request.URL, resp.StatusCode)
	}
	u, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

var loginIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

// oidcLogin starts a sign-in at the console: the provider's authorization URL.
func (w *world) oidcLogin(b *http.Client, next string) *url.URL {
	w.t.Helper()
	resp, body := w.do(b, "GET", "/oidc/login?next="+url.QueryEscape(next), nil, nil)
	if resp.StatusCode != http.StatusFound {
		w.t.Fatalf("/oidc/login: %d\n%s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// authorize takes the browser through the provider's login page as the
// example user and returns the callback URL the provider sends it to.
func (w *world) authorize(p *provider, b *http.Client, authURL *url.URL) string {
	w.t.Helper()
	t := w.t
	resp, _ := fetch(t, b, "GET", authURL.String(), nil)
	loginPage := location(t, resp)
	resp, page := fetch(t, b, "GET", loginPage, nil)
	m := loginIDRE.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("the provider's login page: %d\n%s", resp.StatusCode, page)
	}
	resp, page = fetch(t, b, "POST", p.issuer+"/login/username", url.Values{"id": {m[1]}, "username": {p.username()}, "password": {oidcPassword}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("logging in at the provider: %d\n%s", resp.StatusCode, page)
	}
	resp, page = fetch(t, b, "GET", location(t, resp), nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("the provider's authorization callback: %d\n%s", resp.StatusCode, page)
	}
	cb := location(t, resp)
	if !strings.HasPrefix(cb, w.base+"/oidc/callback?") {
		t.Fatalf("the provider sends the browser to %s, not the console's callback", cb)
	}
	return cb
}

// cookie is the jar's cookie name for the console, or nil.
func (w *world) cookie(b *http.Client, path, name string) *http.Cookie {
	u, _ := url.Parse(w.base + path)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var refreshRE = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]+)">`)

// TestConsoleOIDC signs in with a real OpenID Provider through the
// authorization code flow with PKCE: the console's sign-in page offers it;
// /oidc/login sends the browser to the provider with a state, a nonce and
// an S256 code challenge, bound to the browser by a cookie; the provider
// refuses the code without the verifier (so the console's exchange, which
// succeeds, sent it); the callback signs the user in with the ID token,
// which the API verifies (issuer, audience = the client id, roles from
// floe_roles) and under which the user's approval is recorded; the session
// ends with the token. A replayed callback, one with another state, and
// one bringing the provider's error are refused with a readable page.
func TestConsoleOIDC(t *testing.T) {
	p := startProvider(t)
	const client = "floe-console"
	// A native (public) client: no secret, PKCE required; a loopback redirect matches on any port.
	p.register(storage.NativeClient(client, "http://127.0.0.1/oidc/callback"), "")
	w := startOIDCWorld(t, p, client, "")
	created, err := releasev1.NewReleaseServiceClient(w.Conn("alice")).CreateRelease(testkit.Context(t), &releasev1.CreateReleaseRequest{
		Product: "penguinmails", Version: "2.2.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "OIDC",
	})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetRelease().GetId()

	// The sign-in page offers the provider, keeping the token form.
	b := w.browser()
	resp, page := w.do(b, "GET", "/releases/"+id, nil, nil)
	next := strings.TrimPrefix(resp.Header.Get("Location"), "/signin?next=")
	_, page = w.do(b, "GET", resp.Header.Get("Location"), nil, nil)
	issuerHost := strings.TrimPrefix(p.issuer, "http://")
	// (html/template escapes the query in lower case.)
	if !strings.Contains(page, "Sign in with "+issuerHost) || !strings.Contains(strings.ToLower(page), strings.ToLower(`href="/oidc/login?next=`+next+`"`)) ||
		!strings.Contains(page, `name="token"`) {
		t.Fatalf("the sign-in page does not offer %s (next %s):\n%s", issuerHost, next, page)
	}

	// /oidc/login: off to the provider with state, nonce and an S256 challenge; the state bound to this browser.
	resp, _ = w.do(b, "GET", "/oidc/login?next="+next, nil, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/oidc/login: %d", resp.StatusCode)
	}
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	q := authURL.Query()
	if !strings.HasPrefix(authURL.String(), p.issuer+"/") || q.Get("response_type") != "code" || q.Get("client_id") != client ||
		q.Get("redirect_uri") != w.base+"/oidc/callback" || q.Get("scope") != "openid profile email" || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 43 || len(q.Get("nonce")) < 43 || q.Has("code_verifier") {
		t.Fatalf("authorization request %s", authURL)
	}
	state := q.Get("state")
	setCookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{web.OIDCCookie + "=" + state, "HttpOnly", "SameSite=Lax", "Path=/oidc/", "Max-Age=600"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("state cookie %q lacks %s", setCookie, want)
		}
	}

	callback := w.authorize(p, b, authURL)
	cbURL, _ := url.Parse(callback)
	code := cbURL.Query().Get("code")
	if cbURL.Query().Get("state") != state || code == "" {
		t.Fatalf("callback %s for state %s", callback, state)
	}

	// PKCE is enforced: the code is worthless without its verifier, or with another.
	tokenURL := p.tokenEndpoint(t)
	for name, verifier := range map[string]string{"no verifier": "", "another verifier": strings.Repeat("x", 43)} {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {w.base + "/oidc/callback"}, "client_id": {client}}
		if verifier != "" {
			form.Set("code_verifier", verifier)
		}
		resp, body := fetch(t, http.DefaultClient, "POST", tokenURL, form)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "id_token") {
			t.Errorf("exchanging the code with %s: %d %s; want it refused", name, resp.StatusCode, body)
		}
	}

	// A callback with another state is refused, and nobody is signed in; the sign-in under way survives it.
	if resp, body := w.do(b, "GET", "/oidc/callback?code="+url.QueryEscape(code)+"&state=forged", nil, nil); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "This sign-in was not started by this browser") {
		t.Errorf("callback with another state: %d\n%s", resp.StatusCode, body)
	}
	if w.cookie(b, "/", web.SessionCookie) != nil {
		t.Fatal("a refused callback set a session cookie")
	}

	// The callback: the code exchanged with the verifier, the ID token verified, the user signed in.
	resp, body := fetch(t, b, "GET", callback, nil)
	m := refreshRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || m[1] != "/releases/"+id || !strings.Contains(body, "Signed in as "+oidcName) {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		switch c.Name {
		case web.SessionCookie:
			session = c
		case web.OIDCCookie:
			if c.MaxAge >= 0 {
				t.Errorf("the state cookie is not cleared: %+v", c)
			}
		}
	}
	// The session ends with the ID token (an hour at this provider), not the 12 h session TTL.
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Expires.After(time.Now().Add(time.Hour+time.Minute)) ||
		session.Expires.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("session cookie %+v", session)
	}

	// Signed in as the provider's user, with the roles of its token: the approval is theirs.
	resp, page = w.do(b, "GET", m[1], nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, oidcName) || !strings.Contains(page, `title="qa"`) {
		t.Fatalf("release page after sign-in: %d\n%s", resp.StatusCode, page)
	}
	csrf := csrfRE.FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no CSRF token:\n%s", page)
	}
	resp, body = w.do(b, "POST", "/releases/"+id+"/approve", url.Values{"env": {"staging"}, "csrf": {csrf[1]}, "comment": {"signed in with OIDC"}, "request_id": {"oidc-1"}},
		map[string]string{"Origin": w.base})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", resp.StatusCode, body)
	}
	var approvers []string
	for _, e := range w.release(id).GetEnvironments() {
		for _, a := range e.GetApprovals() {
			approvers = append(approvers, e.GetEnvironment()+":"+a.GetApprover()+":"+a.GetComment())
		}
	}
	if len(approvers) != 1 || approvers[0] != "staging:"+oidcUser+":signed in with OIDC" {
		t.Errorf("approvals %v; want staging's by the OIDC subject %s", approvers, oidcUser)
	}
	// Production is not the token's: the page says so, and the service refuses.
	if !strings.Contains(page, "needs release.approve in production; your roles: qa (staging)") {
		t.Errorf("the page does not tell the roles' limits:\n%s", page)
	}

	// Replayed, the callback is refused: without the state cookie (another browser, or this one after use)…
	for name, replay := range map[string]*http.Client{"this browser": b, "another browser": w.browser()} {
		if resp, body := fetch(t, replay, "GET", callback, nil); resp.StatusCode != http.StatusBadRequest ||
			!strings.Contains(body, "This sign-in was not started by this browser") {
			t.Errorf("replayed callback in %s: %d\n%s", name, resp.StatusCode, body)
		}
	}
	// …and with it: the state was single use.
	req, _ := http.NewRequest("GET", callback, nil)
	req.AddCookie(&http.Cookie{Name: web.OIDCCookie, Value: state})
	replayed, err := w.browser().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(replayed.Body)
	replayed.Body.Close()
	if replayed.StatusCode != http.StatusBadRequest || !strings.Contains(string(rb), "already been used or has expired") || len(replayed.Cookies()) != 1 {
		t.Errorf("callback replayed with its state cookie: %d %v\n%s", replayed.StatusCode, replayed.Cookies(), rb)
	}

	// An answer naming another issuer (RFC 9207) is refused.
	denied := w.browser()
	authURL = w.oidcLogin(denied, "/releases")
	resp, body = w.do(denied, "GET", "/oidc/callback?"+url.Values{"state": {authURL.Query().Get("state")}, "code": {"c"},
		"iss": {"http://evil.example"}}.Encode(), nil, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "another identity provider") {
		t.Errorf("callback from another issuer: %d\n%s", resp.StatusCode, body)
	}

	// The provider's refusal: a readable page, its text escaped, nobody signed in.
	authURL = w.oidcLogin(denied, "/releases")
	resp, body = w.do(denied, "GET", "/oidc/callback?"+url.Values{"state": {authURL.Query().Get("state")}, "error": {"access_denied"},
		"error_description": {"The user said <b>no</b>"}}.Encode(), nil, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, issuerHost+" refused the sign-in: access_denied (The user said &lt;b&gt;no&lt;/b&gt;).") ||
		!strings.Contains(body, "Sign in with "+issuerHost) {
		t.Errorf("access_denied callback: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := w.do(denied, "GET", "/releases", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the provider's refusal /releases answers %d", resp.StatusCode)
	}
}

// TestConsoleOIDCConfidentialClient: with --console-oidc-client-secret-file
// the console authenticates itself at the token endpoint (and still uses PKCE).
func TestConsoleOIDCConfidentialClient(t *testing.T) {
	p := startProvider(t)
	const client = "floe-console-web"
	w := startOIDCWorld(t, p, client, "s3cret")
	// The redirect URI of a web client is matched exactly: registered once the console's port is known.
	p.register(storage.WebClient(client, "s3cret", w.base+"/oidc/callback"), "s3cret")

	b := w.browser()
	// A next that a browser would read as another site ("//evil.example") is not followed.
	authURL := w.oidcLogin(b, "/\t/evil.example")
	if authURL.Query().Get("code_challenge_method") != "S256" {
		t.Errorf("a confidential client's authorization request lacks PKCE: %s", authURL)
	}
	resp, body := fetch(t, b, "GET", w.authorize(p, b, authURL), nil)
	if m := refreshRE.FindStringSubmatch(body); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed in as "+oidcName) ||
		m == nil || m[1] != "/releases" {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
	}
	if resp, page := w.do(b, "GET", "/releases", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, oidcName) {
		t.Errorf("releases after sign-in: %d\n%s", resp.StatusCode, page)
	}

	// A wrong secret: the provider's refusal of the exchange, shown.
	p.register(storage.WebClient(client, "s3cret", w.base+"/oidc/callback"), "rotated")
	b = w.browser()
	resp, body = fetch(t, b, "GET", w.authorize(p, b, w.oidcLogin(b, "/releases")), nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "refused to exchange the code: invalid_client") {
		t.Errorf("callback with a wrong client secret: %d\n%s", resp.StatusCode, body)
	}
}

// TestConsoleOIDCConfig: the OIDC settings are checked at start, every
// problem at once, and an unreachable provider fails the start.
func TestConsoleOIDCConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     consolesvc.Config
		wantErr []string
	}{
		{name: "off", cfg: consolesvc.Config{}},
		{name: "public client", cfg: consolesvc.Config{OIDCIssuer: "https://id.example.com", OIDCClientID: "floe-console"}},
		{name: "scopes with commas", cfg: consolesvc.Config{OIDCIssuer: "https://id.example.com", OIDCClientID: "c", OIDCScopes: "openid,groups"}},
		{name: "client without issuer", cfg: consolesvc.Config{OIDCClientID: "c", OIDCRedirectURL: "https://console.example.com/oidc/callback"},
			wantErr: []string{"console-oidc-client-id: needs --console-oidc-issuer", "console-oidc-redirect-url: needs --console-oidc-issuer"}},
		{name: "no client id", cfg: consolesvc.Config{OIDCIssuer: "https://id.example.com"}, wantErr: []string{"console-oidc-client-id: required"}},
		{name: "relative issuer", cfg: consolesvc.Config{OIDCIssuer: "id.example.com", OIDCClientID: "c"}, wantErr: []string{`console-oidc-issuer: "id.example.com" is not an absolute URL`}},
		{name: "relative redirect", cfg: consolesvc.Config{OIDCIssuer: "https://id.example.com", OIDCClientID: "c", OIDCRedirectURL: "/oidc/callback"},
			wantErr: []string{`console-oidc-redirect-url: "/oidc/callback" is not an absolute http(s) URL`}},
		{name: "redirect elsewhere", cfg: consolesvc.Config{OIDCIssuer: "https://id.example.com", OIDCClientID: "c", OIDCRedirectURL: "https://console.example.com/callback"},
			wantErr: []string{"does not end in /oidc/callback"}},
		{name: "no openid scope", cfg: consolesvc.Config{OIDCIssuer: "https://id.example.com", OIDCClientID: "c", OIDCScopes: "profile email"},
			wantErr: []string{`console-oidc-scopes: "profile email" lacks openid`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate = %v, want it to contain %q", err, want)
				}
			}
		})
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	_, err := web.NewOIDC(context.Background(), web.OIDCConfig{Issuer: down.URL, ClientID: "c", RedirectURL: "http://127.0.0.1:7404/oidc/callback", Scopes: []string{"openid"}})
	if err == nil || !strings.Contains(err.Error(), "discovery for "+down.URL) {
		t.Errorf("NewOIDC with an unreachable provider: %v", err)
	}
}

// TestConsoleOIDCRenewAndSignOut: with offline_access the provider gives a
// refresh token, and the console renews the ID token before it expires, so
// the session lasts its TTL (12 h) rather than the token's hour, each
// renewal verified and the principal read again; past the TTL it ends.
// Signing out ends the console's session and sends the browser to the
// provider's end_session_endpoint (id_token_hint, client_id,
// post_logout_redirect_uri), which sends it back to the sign-in page.
func TestConsoleOIDCRenewAndSignOut(t *testing.T) {
	p := startProvider(t)
	const client = "floe-console-renew"
	p.register(storage.NativeClient(client, "http://127.0.0.1/oidc/callback"), "")
	p.mu.Lock()
	p.logout[client] = []string{"http://127.0.0.1/signin"}
	p.mu.Unlock()
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	w := startOIDCWorldWith(t, consolesvc.Config{Addr: "127.0.0.1:0", OIDCIssuer: p.issuer, OIDCClientID: client,
		OIDCScopes: "openid profile email offline_access"}, clock)

	b := w.browser()
	authURL := w.oidcLogin(b, "/releases")
	if got := authURL.Query().Get("scope"); got != "openid profile email offline_access" {
		t.Fatalf("scopes asked for: %q", got)
	}
	resp, body := fetch(t, b, "GET", w.authorize(p, b, authURL), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed in as "+oidcName) {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
	}
	// Renewable: the cookie lasts the session TTL, not the ID token's hour.
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie && (c.Expires.Before(time.Now().Add(11*time.Hour)) || c.Expires.After(time.Now().Add(12*time.Hour+time.Minute))) {
			t.Errorf("a renewable session's cookie expires %s, want in 12 h", c.Expires)
		}
	}
	// Hour after hour the pages answer: each ID token is renewed before it
	// expires. Another tab reads pages meanwhile (a renewal replaces who the
	// session is while pages are rendered: the race detector watches).
	stop := make(chan struct{})
	tabDone := make(chan struct{})
	go func() {
		defer close(tabDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest("GET", w.base+"/releases", nil)
			if resp, err := b.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	for h := 1; h <= 11; h += 2 {
		offset.Store(int64(time.Duration(h)*time.Hour - 30*time.Second))
		if resp, page := w.do(b, "GET", "/releases", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, oidcName) {
			t.Fatalf("%d h after sign-in the releases page answers %d (want the page: the session renewed)\n%s", h, resp.StatusCode, page)
		}
	}
	close(stop)
	<-tabDone
	_, page := w.do(b, "GET", "/releases", nil, nil)
	csrf := csrfRE.FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no CSRF token:\n%s", page)
	}

	// Signing out: the session ends here, then at the provider.
	resp, body = w.do(b, "POST", "/signout", url.Values{"csrf": {csrf[1]}}, map[string]string{"Origin": w.base})
	m := refreshRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign out: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := w.do(b, "GET", "/releases", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after signing out /releases answers %d", resp.StatusCode)
	}
	logout, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	q := logout.Query()
	if !strings.HasPrefix(logout.String(), p.issuer+"/") || q.Get("client_id") != client || q.Get("post_logout_redirect_uri") != w.base+"/signin" ||
		strings.Count(q.Get("id_token_hint"), ".") != 2 {
		t.Fatalf("the provider's end-session URL: %s", logout)
	}
	resp, body = fetch(t, b, "GET", logout.String(), nil)
	if back := location(t, resp); back != w.base+"/signin" {
		t.Errorf("the provider's end session sends the browser to %s, want the console's sign-in page\n%s", back, body)
	}

	// Past the session TTL a renewable session ends all the same.
	b2 := w.browser()
	offset.Store(0)
	if resp, body := fetch(t, b2, "GET", w.authorize(p, b2, w.oidcLogin(b2, "/releases")), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("second sign-in: %d\n%s", resp.StatusCode, body)
	}
	offset.Store(int64(12*time.Hour + time.Minute))
	if resp, _ := w.do(b2, "GET", "/releases", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("past the 12 h session TTL /releases answers %d, want the sign-in page", resp.StatusCode)
	}
}
