// Package devenv is `floe dev`: the embedded NATS server and every Floe
// service in one process, on one data directory, with generated development
// tokens. It restarts cleanly on the same data.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/tools/floe/internal/clientconf"
)

// TokensFileName is the server-side tokens file (hashes only) in the data directory.
const TokensFileName = "tokens.yaml"

// Users are the development principals created on first start: one per role
// of the access matrix, so separation of duties can be tried out locally.
var Users = []struct {
	ID, Name string
	Role     auth.Role
}{
	{"admin", "Dev Admin", auth.RoleAdmin},
	{"alice", "Alice (developer)", auth.RoleDeveloper},
	{"bob", "Bob (release manager)", auth.RoleReleaseManager},
	{"carol", "Carol (QA)", auth.RoleQA},
	{"dave", "Dave (operations)", auth.RoleOperations},
	{"erin", "Erin (security)", auth.RoleSecurity},
	{"frank", "Frank (product)", auth.RoleProduct},
	{"grace", "Grace (support)", auth.RoleSupport},
}

// Options configure the development server.
type Options struct {
	Config  runtime.Base
	Version string
	Out     io.Writer // where addresses and first-start tokens are printed
}

// Run starts everything and blocks until ctx is cancelled, then shuts down.
func Run(ctx context.Context, opts Options) error {
	cfg := opts.Config
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if cfg.NATS.DataDir == "" {
		return errors.New("floe dev: --data-dir is required")
	}
	if err := os.MkdirAll(cfg.NATS.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	creds, created, err := ensureTokens(cfg.NATS.DataDir)
	if err != nil {
		return fmt.Errorf("dev tokens: %w", err)
	}
	if cfg.Auth.TokensFile == "" {
		cfg.Auth.TokensFile = filepath.Join(cfg.NATS.DataDir, TokensFileName)
	}

	rt, err := runtime.New(ctx, runtime.Options{Service: "floe-dev", Version: opts.Version, Config: cfg})
	if err != nil {
		return err
	}
	conn, err := natsx.Connect(ctx, natsx.Config{
		URL: cfg.NATS.URL, CredsFile: cfg.NATS.Creds, DataDir: filepath.Join(cfg.NATS.DataDir, "nats"),
		Listen: cfg.NATS.Listen, SyncAlways: cfg.NATS.SyncAlways, Name: "floe-dev",
	})
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	rt.OnShutdown("nats", func(context.Context) error { return conn.Close() })
	rt.AddReadiness("nats", func(context.Context) error {
		if !conn.NC.IsConnected() {
			return fmt.Errorf("nats connection is %s", conn.NC.Status())
		}
		return nil
	})

	// Services register here as they are built (release, gate, deployer, flag, monitor, notifier).

	if err := rt.Listen(); err != nil {
		_ = conn.Close()
		return err
	}
	creds.Server, creds.Admin, creds.NATS = rt.GRPCAddr(), rt.AdminAddr(), conn.ClientURL()
	credsPath := filepath.Join(cfg.NATS.DataDir, clientconf.FileName)
	if err := clientconf.Write(credsPath, creds); err != nil {
		_ = conn.Close()
		return fmt.Errorf("write %s: %w", credsPath, err)
	}
	printBanner(out, creds, credsPath, cfg, created)
	return rt.Run(ctx)
}

// ensureTokens returns the dev credentials, creating tokens and the server's
// hashed tokens file on first start and reusing them afterwards.
func ensureTokens(dataDir string) (*clientconf.Credentials, bool, error) {
	credsPath := filepath.Join(dataDir, clientconf.FileName)
	tokensPath := filepath.Join(dataDir, TokensFileName)
	creds, err := clientconf.Read(credsPath)
	if err == nil {
		if _, err := os.Stat(tokensPath); err == nil {
			return creds, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	creds = &clientconf.Credentials{DefaultUser: "admin"}
	tf := &auth.TokensFile{}
	for _, u := range Users {
		tok, err := auth.GenerateToken()
		if err != nil {
			return nil, false, err
		}
		creds.Users = append(creds.Users, clientconf.User{ID: u.ID, Name: u.Name, Roles: []string{string(u.Role)}, Token: tok})
		tf.Principals = append(tf.Principals, auth.TokenEntry{ID: u.ID, Name: u.Name, TokenSHA256: auth.HashToken(tok), Roles: []auth.RoleBinding{{Role: u.Role}}})
	}
	body, err := tf.Marshal()
	if err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(tokensPath, body, 0o600); err != nil {
		return nil, false, err
	}
	return creds, true, nil
}

func printBanner(out io.Writer, c *clientconf.Credentials, credsPath string, cfg runtime.Base, created bool) {
	fmt.Fprintf(out, "floe dev is running (data in %s)\n", cfg.NATS.DataDir)
	fmt.Fprintf(out, "  gRPC       %s   (grpcurl -plaintext %s list)\n", c.Server, c.Server)
	fmt.Fprintf(out, "  admin HTTP http://%s   (/metrics /healthz /readyz)\n", c.Admin)
	if c.NATS != "" {
		fmt.Fprintf(out, "  NATS       %s   (events on floe.evt.>)\n", c.NATS)
	}
	fmt.Fprintf(out, "  tokens     %s (server side, SHA-256 hashes)\n", filepath.Join(cfg.NATS.DataDir, TokensFileName))
	fmt.Fprintf(out, "  dev users  %s (plain tokens, read by the floe CLI)\n", credsPath)
	if created {
		fmt.Fprintln(out, "First start: generated development users and tokens:")
		for _, u := range c.Users {
			fmt.Fprintf(out, "  %-6s %-16s %s\n", u.ID, u.Roles[0], u.Token)
		}
	}
	fmt.Fprintln(out, "Try: floe whoami    (or floe --as alice whoami). Stop with Ctrl-C.")
}
