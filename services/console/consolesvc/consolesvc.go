// Package consolesvc wires the admin console into a runtime: an HTTP
// server whose pages call the services' gRPC APIs with the signed-in
// principal's token. The console binary and `floe dev` both use it.
package consolesvc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/console/internal/web"
)

// Config is the console's flag/env configuration.
type Config struct {
	Addr   string `env:"FLOE_CONSOLE_ADDR" flag:"console-addr" default:"127.0.0.1:7404" usage:"HTTP listen address of the admin console; empty serves none (port 0 picks a free port)"`
	Server string `env:"FLOE_CONSOLE_SERVER" flag:"console-server" usage:"gRPC address of the Floe API the console calls (default: this process's --grpc-addr)"`
	// Routes send each service's calls to its own address, where the
	// services run as separate processes (the production topology).
	Routes string `env:"FLOE_CONSOLE_ROUTES" flag:"console-routes" usage:"comma-separated PACKAGE=HOST:PORT: the calls of a proto package (floe.gate.v1) go to that address, the rest to --console-server; HOST:PORT|HOST:PORT names several instances (spread over, skipping one not SERVING)"`
	// SecureCookies marks the session cookie Secure: set it whenever the
	// console is reached over HTTPS (behind a TLS-terminating proxy).
	SecureCookies bool          `env:"FLOE_CONSOLE_SECURE_COOKIES" flag:"console-secure-cookies" usage:"mark the session cookie Secure (set it when the console is served over HTTPS)"`
	SessionTTL    time.Duration `env:"FLOE_CONSOLE_SESSION_TTL" flag:"console-session-ttl" default:"12h" usage:"how long a console session lasts after sign-in"`
	// OIDC sign-in (the authorization code flow with PKCE): off unless
	// OIDCIssuer is set. The ID token becomes the session's bearer token,
	// so the API's --oidc-issuer must be the same provider and its
	// --oidc-audience the console's client id.
	OIDCIssuer   string `env:"FLOE_CONSOLE_OIDC_ISSUER" flag:"console-oidc-issuer" usage:"OIDC issuer URL: offers sign-in with it (authorization code flow with PKCE); the API's --oidc-issuer must be the same"`
	OIDCClientID string `env:"FLOE_CONSOLE_OIDC_CLIENT_ID" flag:"console-oidc-client-id" usage:"the console's client id at the OIDC provider: its ID tokens' audience, so the API's --oidc-audience"`
	// OIDCClientSecretFile makes the console a confidential client; without
	// it, a public client whose codes PKCE alone protects.
	OIDCClientSecretFile string `env:"FLOE_CONSOLE_OIDC_CLIENT_SECRET_FILE" flag:"console-oidc-client-secret-file" usage:"file holding the console's client secret (a confidential client); none: a public client relying on PKCE"`
	OIDCRedirectURL      string `env:"FLOE_CONSOLE_OIDC_REDIRECT_URL" flag:"console-oidc-redirect-url" usage:"the console's callback URL as registered at the provider, absolute, ending in /oidc/callback (default: http://<console addr>/oidc/callback)"`
	OIDCScopes           string `env:"FLOE_CONSOLE_OIDC_SCOPES" flag:"console-oidc-scopes" default:"openid profile email" usage:"scopes to request, separated by spaces or commas; openid is required; with offline_access (most providers) a refresh token renews the ID token up to --console-session-ttl"`
	// DevUsers (floe dev) offers its users on the sign-in page, so a
	// newcomer signs in with a click; nil in production.
	DevUsers []DevUser
}

// DevUser is a user floe dev offers on the sign-in page.
type DevUser = web.DevUser

// Console is a registered console.
type Console struct {
	// Addr is the bound HTTP address ("" when disabled).
	Addr string
}

// Service is the console. It owns no aggregate: everything it shows and
// does goes through the other services' APIs.
var Service = service.Def[Config, *Console]{
	Name:      "console",
	Register:  register,
	APIClient: true,
}

// Validate reports every problem with the OIDC settings at once (the
// provider itself is reached at start).
func (c Config) Validate() error {
	var v errs.Violations
	if c.OIDCIssuer == "" {
		for _, f := range []struct {
			flag string
			set  bool
		}{{"console-oidc-client-id", c.OIDCClientID != ""}, {"console-oidc-client-secret-file", c.OIDCClientSecretFile != ""},
			{"console-oidc-redirect-url", c.OIDCRedirectURL != ""}} {
			if f.set {
				v.Add(f.flag, "needs --console-oidc-issuer")
			}
		}
		return wrapConfig(v.Err())
	}
	if u, err := url.Parse(c.OIDCIssuer); err != nil || !u.IsAbs() || u.Host == "" {
		v.Add("console-oidc-issuer", "%q is not an absolute URL", c.OIDCIssuer)
	}
	if c.OIDCClientID == "" {
		v.Add("console-oidc-client-id", "required with --console-oidc-issuer")
	}
	if c.OIDCRedirectURL != "" {
		u, err := url.Parse(c.OIDCRedirectURL)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			v.Add("console-oidc-redirect-url", "%q is not an absolute http(s) URL", c.OIDCRedirectURL)
		case u.Fragment != "":
			v.Add("console-oidc-redirect-url", "%q has a fragment", c.OIDCRedirectURL)
		case !strings.HasSuffix(u.Path, "/oidc/callback"):
			v.Add("console-oidc-redirect-url", "%q does not end in /oidc/callback, where the console takes the provider's answer", c.OIDCRedirectURL)
		}
	}
	if !slices.Contains(c.scopes(), "openid") {
		v.Add("console-oidc-scopes", "%q lacks openid", c.OIDCScopes)
	}
	return wrapConfig(v.Err())
}

func wrapConfig(err error) error {
	if err != nil {
		return fmt.Errorf("console configuration: %w", err)
	}
	return nil
}

// scopes are the OIDC scopes to request (default openid, profile, email).
func (c Config) scopes() []string {
	if strings.TrimSpace(c.OIDCScopes) == "" {
		return []string{"openid", "profile", "email"}
	}
	return strings.FieldsFunc(c.OIDCScopes, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// oidcSignIn reads the client secret and the provider's discovery document
// (nil when OIDC sign-in is off). addr is the console's bound address, for
// the default redirect URL.
func (c Config) oidcSignIn(ctx context.Context, addr string) (*web.OIDC, error) {
	if c.OIDCIssuer == "" {
		return nil, nil
	}
	var secret string
	if c.OIDCClientSecretFile != "" {
		b, err := os.ReadFile(c.OIDCClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("console: --console-oidc-client-secret-file: %w", err)
		}
		if secret = strings.TrimSpace(string(b)); secret == "" {
			return nil, fmt.Errorf("console: --console-oidc-client-secret-file %s is empty", c.OIDCClientSecretFile)
		}
	}
	redirect := c.OIDCRedirectURL
	if redirect == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil && net.ParseIP(host).IsUnspecified() {
			return nil, fmt.Errorf("console: --console-oidc-redirect-url is required: the console listens on %s, which is no address a browser can be sent back to", addr)
		}
		redirect = "http://" + addr + "/oidc/callback"
	}
	o, err := web.NewOIDC(ctx, web.OIDCConfig{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: secret,
		RedirectURL: redirect, Scopes: c.scopes()})
	if err != nil {
		return nil, fmt.Errorf("console: --console-oidc-issuer: %w", err)
	}
	return o, nil
}

func register(ctx context.Context, d service.Deps[Config]) (*Console, error) {
	out := &Console{}
	if d.Config.Addr == "" {
		return out, nil
	}
	if err := d.Config.Validate(); err != nil {
		return nil, err
	}
	if d.Runtime.PeerTLS() && d.Config.Server == "" {
		// This process's own API is on a loopback address no certificate names.
		var v errs.Violations
		v.Add("console-server", "is required with --peer-tls: the API's address, as its certificate names it")
		return nil, wrapConfig(v.Err())
	}
	// The connections carry no credentials of their own: each call carries
	// the signed-in principal's token (web.Handler). Over TLS (--peer-tls)
	// they verify the services' certificates against the names in
	// --console-server and --console-routes.
	creds := d.Runtime.PeerCredentials()
	var def *grpc.ClientConn
	var err error
	if d.Config.Server != "" {
		def, err = grpc.NewClient("passthrough:///"+d.Config.Server, grpc.WithTransportCredentials(creds))
	} else {
		// This process's own gRPC address, known only once the runtime
		// listens (after registration): resolved at each dial.
		dial := func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", d.Runtime.GRPCAddr())
		}
		def, err = grpc.NewClient("passthrough:///floe-api", grpc.WithContextDialer(dial), grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	routes, err := parseRoutes(d.Config.Routes)
	if err != nil {
		_ = def.Close()
		return nil, fmt.Errorf("console: %w", err)
	}
	conn, err := newRouter(def, routes, creds)
	if err != nil {
		_ = def.Close()
		return nil, fmt.Errorf("console: %w", err)
	}
	d.Runtime.OnShutdown("console-grpc", func(context.Context) error { return conn.Close() })
	// Listen first: the default OIDC redirect URL names the bound address.
	// Serving starts when the runtime runs, after h is set.
	var h *web.Handler
	if out.Addr, err = service.ServeHTTP(d.Runtime, "console-http", d.Config.Addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
	})); err != nil {
		return nil, err
	}
	oidcSignIn, err := d.Config.oidcSignIn(ctx, out.Addr)
	if err != nil {
		return nil, err
	}
	if h, err = web.New(web.Options{Conn: conn, SecureCookies: d.Config.SecureCookies, SessionTTL: d.Config.SessionTTL, Now: d.Clock,
		DevUsers: d.Config.DevUsers, OIDC: oidcSignIn, Log: d.Log}); err != nil {
		return nil, err
	}
	if oidcSignIn != nil {
		d.Log.Info().Str("issuer", d.Config.OIDCIssuer).Str("client_id", d.Config.OIDCClientID).
			Bool("confidential", d.Config.OIDCClientSecretFile != "").Msg("console offers OIDC sign-in")
	}
	return out, nil
}
