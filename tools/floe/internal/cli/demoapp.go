package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/penguinmails/floe/tools/internal/demoapp"
)

func newDemoappCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demoapp [flags]",
		Short: "Run the demo HTTP service (what floe dev deploys; see 'floe demoapp -h')",
		Long: `demoapp is the small HTTP service floe dev deploys through the local driver:
one process per version behind a weighted proxy. A version can be made slow or
failing with --error-rate, --latency and --fail-health (or DEMOAPP_* variables),
which is how the canary and rollback demos misbehave on purpose.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return demoapp.Main(cmd.Context(), args, os.Getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}
