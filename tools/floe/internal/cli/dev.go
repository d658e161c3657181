package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/tools/floe/internal/devenv"
)

func newDevCmd(out io.Writer) *cobra.Command {
	var cfg devenv.Config
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the embedded NATS server and every Floe service in one process",
		Long: `floe dev starts an embedded NATS JetStream server and every Floe service in
one process, keeping all data in --data-dir (default .floe/). On first start it
generates one development user per role and writes:

  <data-dir>/tokens.yaml            the server's tokens file (SHA-256 hashes only)
  <data-dir>/dev-credentials.yaml   plain tokens and addresses, read by the floe CLI

It also creates the event log stream and signs Merkle checkpoints of it every
--checkpoint-interval with an ed25519 key kept in <data-dir>/audit-signing.key
(public key beside it, .pub), and once more on a clean stop.

Default addresses: gRPC 127.0.0.1:7400, admin HTTP 127.0.0.1:7401 (/metrics,
/healthz, /readyz), NATS nats://127.0.0.1:7422. Port 0 picks a free port; the
bound addresses are printed and written to dev-credentials.yaml. Restarting on
the same data directory keeps events and tokens. Stop with Ctrl-C (SIGINT) or
SIGTERM: the server drains and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return devenv.Run(cmd.Context(), devenv.Options{Config: cfg, Version: Version, Out: out})
		},
	}
	if err := runtime.BindFlags(cmd.Flags(), &cfg); err != nil {
		panic(err) // the struct tags are ours; a failure is a programming error caught by tests
	}
	// People read floe dev's logs in a terminal.
	if f := cmd.Flags().Lookup("log-format"); f != nil && f.Value.String() == "json" && !envSet("FLOE_LOG_FORMAT") {
		_ = f.Value.Set("console")
		f.DefValue = "console"
	}
	return cmd
}
