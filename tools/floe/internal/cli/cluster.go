package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/tools/floe/internal/cluster"
)

func newClusterCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run Floe as in production, on this machine: a 3-node NATS cluster and every service as its own process",
	}
	cmd.AddCommand(newClusterUpCmd(out), newClusterNodeCmd())
	return cmd
}

func newClusterUpCmd(out io.Writer) *cobra.Command {
	var opts cluster.Options
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a local production-shaped cluster and run it until interrupted",
		Long: `cluster up starts, on loopback, a 3-node NATS JetStream cluster — each node
its own process, configured by the production node configuration
(deploy/nats/nats-server.conf: its accounts, users and permissions) — creates the
event log and audit streams as the admin user from deploy/nats/*.json (3
replicas), and starts every service binary (floe-audit, floe-release, floe-gate,
floe-flag, floe-change, floe-deployer, floe-monitor, floe-notifier; make build
puts them in bin/) as its own process, each authenticated to NATS as its own
user, signing with its own key, with --nats-replicas 3.

Everything lives in --dir: the ports and NATS passwords (kept, so that a second
cluster up on the same directory is the same cluster, restarted), keys, tokens,
configuration, the nodes' data, each process's log (logs/), and cluster.json,
written once all is ready, with every address and process id. The CLI reaches
each service at its own address:

  floe --credentials DIR/dev-credentials.yaml release list      # the release service
  floe --server <deployer address from cluster.json> deploy list

Run it from the repository's root (or pass --nats-conf and --streams). Stop with
Ctrl-C: the services stop gracefully, then the nodes.

--instances deployer=2 runs two deployer processes (deployer, deployer-2): each
target (app and environment) is driven by the one holding its lease; kill it and
the other takes over (docs/operations.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Log = out
			c, err := cluster.Up(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "the admin console: %s (sign in with a token from %s)\n", c.State.Console, c.State.Credentials)
			fmt.Fprintf(out, "floe cluster is running: %s\n", c.Dir+"/"+cluster.StateFile)
			select {
			case <-cmd.Context().Done():
			case err := <-c.Exits():
				fmt.Fprintln(out, "floe cluster:", err)
				<-cmd.Context().Done()
			}
			c.Stop(cmd.Context())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", ".floe-cluster", "directory of the cluster's state")
	f.StringVar(&opts.NATSConf, "nats-conf", "deploy/nats/nats-server.conf", "the production NATS node configuration")
	f.StringVar(&opts.Streams, "streams", "deploy/nats", "directory of the stream definitions (floe-events.json, floe-audit.json)")
	f.StringVar(&opts.Bin, "bin", "", "directory of the floe-<service> binaries (default: this floe's)")
	f.StringVar(&opts.EnvironmentsFile, "environments-file", "", "environments file for the release and change services (default: built in)")
	f.StringVar(&opts.GatesFile, "gates-file", "", "gates file for the gate service (default: built in)")
	f.StringVar(&opts.DeployerConfig, "deployer-config", "", "deployer config read over floe dev's (the demo app on the local driver)")
	f.StringVar(&opts.NotifierConfig, "notifier-config", "", "the notifiers' routing configuration: receivers and routes (default: none, nobody is told anything)")
	f.StringToIntVar(&opts.Instances, "instances", nil, "processes per service, e.g. deployer=2 (default 1 each; deployer instances share the targets through leases)")
	return cmd
}

// newClusterNodeCmd is the process of one NATS node (started by cluster up).
func newClusterNodeCmd() *cobra.Command {
	var conf, routes string
	var spec natsx.NodeSpec
	cmd := &cobra.Command{
		Use:    "node",
		Short:  "Run one NATS node of a local cluster (cluster up starts three)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec.Routes = strings.Split(routes, ",")
			return cluster.RunNode(cmd.Context(), conf, spec)
		},
	}
	f := cmd.Flags()
	f.StringVar(&conf, "conf", "deploy/nats/nats-server.conf", "node configuration")
	f.StringVar(&spec.Name, "name", "", "server name")
	f.StringVar(&spec.Listen, "listen", "", "client address")
	f.StringVar(&spec.ClusterListen, "cluster-listen", "", "route address")
	f.StringVar(&routes, "routes", "", "route URLs, comma-separated")
	f.StringVar(&spec.StoreDir, "store", "", "JetStream store directory")
	return cmd
}
