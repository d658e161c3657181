// Package consolesvc wires the admin console into a runtime: an HTTP
// server whose pages call the services' gRPC APIs with the signed-in
// principal's token. The console binary and `floe dev` both use it.
package consolesvc

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/console/internal/web"
)

// Config is the console's flag/env configuration.
type Config struct {
	Addr   string `env:"FLOE_CONSOLE_ADDR" flag:"console-addr" default:"127.0.0.1:7404" usage:"HTTP listen address of the admin console; empty serves none (port 0 picks a free port)"`
	Server string `env:"FLOE_CONSOLE_SERVER" flag:"console-server" usage:"gRPC address of the Floe API the console calls (default: this process's --grpc-addr)"`
	// SecureCookies marks the session cookie Secure: set it whenever the
	// console is reached over HTTPS (behind a TLS-terminating proxy).
	SecureCookies bool          `env:"FLOE_CONSOLE_SECURE_COOKIES" flag:"console-secure-cookies" usage:"mark the session cookie Secure (set it when the console is served over HTTPS)"`
	SessionTTL    time.Duration `env:"FLOE_CONSOLE_SESSION_TTL" flag:"console-session-ttl" default:"12h" usage:"how long a console session lasts after sign-in"`
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
	Name:     "console",
	Register: register,
}

func register(ctx context.Context, d service.Deps[Config]) (*Console, error) {
	out := &Console{}
	if d.Config.Addr == "" {
		return out, nil
	}
	// The API's address: --console-server, or this process's gRPC
	// address, known only once the runtime listens (after registration):
	// resolved at each dial.
	server := func() string {
		if d.Config.Server != "" {
			return d.Config.Server
		}
		return d.Runtime.GRPCAddr()
	}
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", server())
	}
	// The connection carries no credentials of its own: each call carries
	// the signed-in principal's token (web.Handler).
	conn, err := grpc.NewClient("passthrough:///floe-api", grpc.WithContextDialer(dial), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	d.Runtime.OnShutdown("console-grpc", func(context.Context) error { return conn.Close() })
	h, err := web.New(web.Options{Conn: conn, SecureCookies: d.Config.SecureCookies, SessionTTL: d.Config.SessionTTL,
		DevUsers: d.Config.DevUsers, Log: d.Log})
	if err != nil {
		return nil, err
	}
	if out.Addr, err = service.ServeHTTP(d.Runtime, "console-http", d.Config.Addr, h); err != nil {
		return nil, err
	}
	return out, nil
}
