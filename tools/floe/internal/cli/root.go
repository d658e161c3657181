// Package cli implements the floe command line.
package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/tools/floe/internal/clientconf"
)

// Version is the floe build version, set with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// globals are the flags every client command shares.
type globals struct {
	server      string
	token       string
	as          string
	credentials string
	dataDir     string
	plaintext   bool
	tlsOn       bool
	output      string
	timeout     time.Duration
	out, errOut io.Writer
}

// Execute runs the floe command line with args.
func Execute(ctx context.Context, args []string, out, errOut io.Writer) error {
	root := newRoot(out, errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		describe := func(err error) error {
			msg := errs.Describe(err)
			if h := hint(err); h != "" {
				msg += "\n  hint: " + h
			}
			return errors.New(msg)
		}
		var ee *exitError
		if errors.As(err, &ee) {
			return &exitError{code: ee.code, err: describe(ee.err)}
		}
		return describe(err)
	}
	return nil
}

// ExitCode is the process exit status for an error Execute returned: 0 for
// nil, the command's own status where it has one (`floe rules test`: 2 for an
// unusable file), else 1.
func ExitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

func newRoot(out, errOut io.Writer) *cobra.Command {
	g := &globals{out: out, errOut: errOut}
	root := &cobra.Command{
		Use:   "floe",
		Short: "Floe: release management with an auditable event log",
		Long: `floe is the command-line client of Floe and its development server.

Connection: --server (env FLOE_SERVER) and --token (env FLOE_TOKEN), else the
config file ($FLOE_CONFIG, or floe/config.yaml in the user's config directory:
server, and token or token_file, mode 0600). When no token is given by any of
them, floe reads the dev credentials file that 'floe dev' writes
(<data-dir>/dev-credentials.yaml, searched in the current directory and its
parents; --credentials or env FLOE_CREDENTIALS to name it) and uses its default
user, or the one named by --as (env FLOE_AS).

Read-your-writes: floe remembers, per server, the event-log position of your
last write and asks every later read to include it, so 'floe release list'
after 'floe release approve' never shows the state before the approval. The
positions are kept in the directory named by env FLOE_STATE_DIR, else in floe/
under the user's cache directory (~/.cache/floe on Linux).

References: wherever a command takes a release ID it also takes
PRODUCT@VERSION (penguinmails@2.1.0), and PRODUCT@VERSION/ENV names the
release in an environment (its --env) or, where a deployment ID is asked
for, its deployment there: floe release promote penguinmails@2.1.0/staging,
floe deploy get penguinmails@2.1.0/production.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", os.Getenv("FLOE_SERVER"), "gRPC address of the Floe server (env FLOE_SERVER; default from the dev credentials file, else 127.0.0.1:7400)")
	pf.StringVar(&g.token, "token", "", "bearer token (env FLOE_TOKEN; default from the dev credentials file)")
	pf.StringVar(&g.as, "as", os.Getenv("FLOE_AS"), "dev user to act as, from the dev credentials file (env FLOE_AS)")
	pf.StringVar(&g.credentials, "credentials", os.Getenv("FLOE_CREDENTIALS"), "dev credentials file (env FLOE_CREDENTIALS)")
	pf.StringVar(&g.dataDir, "client-data-dir", envOr("FLOE_DATA_DIR", ".floe"), "data directory searched for the dev credentials file")
	pf.BoolVar(&g.plaintext, "plaintext", false, "connect without TLS (default for loopback addresses)")
	pf.BoolVar(&g.tlsOn, "tls", false, "connect with TLS (default for non-loopback addresses)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table, json or yaml")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		switch g.output {
		case "table", "json":
		case "yaml": // the commands write JSON; the writer turns it into YAML
			g.output, g.out = "json", newYAMLWriter(g.out)
		default:
			return fmt.Errorf("--output %q: use table, json or yaml", g.output)
		}
		return nil
	}
	pf.DurationVar(&g.timeout, "timeout", 30*time.Second, "time limit for each call")

	root.AddCommand(newDevCmd(out), newWhoAmICmd(g), newInfoCmd(g), newReleaseCmd(g), newDeployCmd(g), newAuditCmd(g), newDemoappCmd(), newVersionCmd(out))
	root.AddCommand(newMonitorCmds(g)...)
	root.AddCommand(newDemoCmd(g))
	root.AddCommand(newViewsCmd(g))
	root.AddCommand(newIntegrityCmd(g))
	root.AddCommand(newGateCmd(g))
	root.AddCommand(newFlagsCmd(g))
	root.AddCommand(newConfigCmd(g), newSecretsCmd(g))
	root.AddCommand(newTrustCmd(g))
	root.AddCommand(newNotifyCmd(g))
	root.AddCommand(newStatusCmd(g))
	root.AddCommand(newChangeCmd(g))
	root.AddCommand(newWindowCmd(g), newFreezeCmd(g))
	root.AddCommand(newComplianceCmd(g))
	root.AddCommand(newClusterCmd(out))
	root.AddCommand(newEventsCmd(g))
	g.addCompletions(root)
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// dial connects to the server with the resolved token. Its calls carry the
// session position of the server (see sessionPositions).
func (g *globals) dial() (*grpc.ClientConn, error) {
	if g.output != "table" && g.output != "json" {
		return nil, fmt.Errorf("--output %q: use table, json or yaml", g.output)
	}
	server, token := g.server, g.token
	if token == "" {
		token = os.Getenv("FLOE_TOKEN")
	}
	if token == "" || server == "" {
		cf, err := readConfig()
		if err != nil {
			return nil, err
		}
		if server == "" {
			server = cf.Server
		}
		if token == "" && g.as == "" { // --as names a dev user: the dev credentials
			token = cf.Token
		}
	}
	if token == "" || server == "" {
		creds, err := g.readCredentials()
		switch {
		case err == nil:
			if server == "" {
				server = creds.Server
			}
			if token == "" {
				u, err := creds.Lookup(g.as)
				if err != nil {
					return nil, err
				}
				token = u.Token
			}
		case token == "":
			return nil, fmt.Errorf("no token: pass --token or FLOE_TOKEN, or start 'floe dev' to create dev credentials (%v)", err)
		}
	}
	if server == "" {
		server = "127.0.0.1:7400"
	}
	useTLS := !isLoopback(server)
	if g.plaintext {
		useTLS = false
	}
	if g.tlsOn {
		useTLS = true
	}
	tc := insecure.NewCredentials()
	if useTLS {
		tc = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	session := newSessionPositions(server)
	return grpc.NewClient(server,
		grpc.WithTransportCredentials(tc),
		grpc.WithPerRPCCredentials(auth.BearerCredentials{Token: token, AllowInsecure: !useTLS}),
		grpc.WithChainUnaryInterceptor(session.unaryInterceptor, refUnaryInterceptor),
		grpc.WithChainStreamInterceptor(session.streamInterceptor, refStreamInterceptor),
	)
}

func (g *globals) readCredentials() (*clientconf.Credentials, error) {
	path := g.credentials
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if path, err = clientconf.Find(wd, g.dataDir); err != nil {
			return nil, err
		}
	}
	return clientconf.Read(path)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// watch runs a streaming command's fn with a connection: it runs until
// Ctrl-C, bounded by --timeout only when that is given explicitly.
func (g *globals) watch(cmd *cobra.Command, fn func(context.Context, *grpc.ClientConn) error) error {
	ctx := cmd.Context()
	if cmd.Flags().Changed("timeout") {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	conn, err := g.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return fn(ctx, conn)
}

// call runs fn with a connection and a context bounded by --timeout.
func (g *globals) call(ctx context.Context, fn func(context.Context, *grpc.ClientConn) error) error {
	conn, err := g.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	return fn(ctx, conn)
}
