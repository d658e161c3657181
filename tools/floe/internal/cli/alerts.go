package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List and watch the monitor's alerts",
		Long: `Each series an alert rule's condition returns is one alert: pending while the
condition has held for less than the rule's 'for', then firing, then resolved
when it stops holding. Reads need monitor.read.`,
	}
	cmd.AddCommand(newAlertsListCmd(g), newAlertsWatchCmd(g))
	return cmd
}

var severities = []string{"critical", "warning", "info"}

// labelList is "k=v, k2=v2" in key order, or "-".
func labelList(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

func newAlertsListCmd(g *globals) *cobra.Command {
	var (
		all      bool
		severity string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pending and firing alerts (--all: resolved ones too)",
		Long: `list shows one line per alert: its rule, state (pending, firing or resolved),
severity, the series' labels, the value at its last transition and since when
the condition has held.

  floe alerts list
  floe alerts list --all --severity critical`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			severity = strings.ToLower(strings.TrimSpace(severity))
			if severity != "" && !slices.Contains(severities, severity) {
				return fmt.Errorf("--severity %q: use %s", severity, strings.Join(severities, ", "))
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := monitorClient(conn).ListAlerts(ctx, &monitorv1.ListAlertsRequest{IncludeResolved: all, Severity: severity})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if len(resp.GetAlerts()) == 0 {
					if all {
						fmt.Fprintln(g.out, "no alerts")
					} else {
						fmt.Fprintln(g.out, "no pending or firing alerts (--all includes resolved ones)")
					}
					return nil
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "RULE\tSTATE\tSEVERITY\tLABELS\tVALUE\tSINCE")
				for _, a := range resp.GetAlerts() {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.GetRule(), a.GetState(), a.GetSeverity(), labelList(a.GetLabels()),
						num(a.GetValue()), fmtTime(a.GetActiveSince()))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include resolved alerts")
	cmd.Flags().StringVar(&severity, "severity", "", "only this severity: "+strings.Join(severities, ", "))
	completeWords(cmd, "severity", severities)
	return cmd
}

func newAlertsWatchCmd(g *globals) *cobra.Command {
	var deployment string
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow the monitor's events live: alerts, trigger breaches, rollbacks, verdicts",
		Long: `watch prints one line per monitor event as it is recorded, "time  summary":
alert transitions, rule and trigger changes, trigger breaches and firings,
rollbacks and analysis verdicts. --deployment limits it to one deployment's
monitoring. It runs until Ctrl-C (exit status 0); --timeout applies only when
given explicitly. With -o json each event is one JSON object per line.

  floe alerts watch
  floe alerts watch --deployment 01J9Z7Q4-production-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.watch(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				return watchAlerts(ctx, g, conn, deployment)
			})
		},
	}
	cmd.Flags().StringVar(&deployment, "deployment", "", "only events of this deployment's monitoring")
	return cmd
}

func watchAlerts(ctx context.Context, g *globals, conn *grpc.ClientConn, deployment string) error {
	stream, err := monitorClient(conn).WatchAlerts(ctx, &monitorv1.WatchAlertsRequest{DeploymentId: strings.TrimSpace(deployment)})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	line := protojson.MarshalOptions{EmitUnpopulated: true}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(g.errOut, "the server ended the watch")
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C or an explicit --timeout
			}
			return err
		}
		if g.output == "json" {
			b, err := line.Marshal(msg)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.out, string(b))
			continue
		}
		fmt.Fprintf(g.out, "%s  %s\n", time.Now().UTC().Format(timeLayout), oneLine(msg.GetSummary(), 0))
	}
}
