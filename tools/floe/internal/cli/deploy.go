package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/enumtext"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
)

func newDeployCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Watch and steer deployments (pause, resume, abort, retry, roll back)",
		Long: `A deployment is one attempt to bring a release to an environment; the deployer
starts one for every promotion and records every step as an event. Deployment ids
are "<release id>-<environment>-<attempt>" (see 'floe deploy list'); 'floe deploy
config' rolls out a configuration version alone ("config-<environment>-v<N>-<attempt>").`,
	}
	cmd.AddCommand(newDeployGetCmd(g), newDeployListCmd(g), newDeployWatchCmd(g),
		newDeployActionCmd(g, "pause", "Pause before the next step", false),
		newDeployActionCmd(g, "resume", "Resume a paused deployment (or end a manual pause step)", false),
		newDeployActionCmd(g, "abort", "Abort and restore the previous version", true),
		newDeployActionCmd(g, "retry", "Start the next attempt of a failed, aborted or rolled-back deployment", false),
		newDeployActionCmd(g, "rollback", "Roll back to the previous version", true),
		newDeployConfigCmd(g))
	return cmd
}

func newDeployConfigCmd(g *globals) *cobra.Command {
	var (
		version               uint64
		strategy, reason, app string
	)
	cmd := &cobra.Command{
		Use:   "config ENV --reason TEXT [--version N] [--strategy STRATEGY] [--app APP]",
		Short: "Roll out a configuration version to what an environment runs, without a release",
		Long: `config deploys configuration version N of ENV (default: its current version) to
the release ENV runs now: the deployer starts that release's artifact again as
"<version>+config.<N>" with the configuration, through the strategy's steps
like a release (health checks, the monitor's analysis, the traffic shift) and
rolls back to the previous version and its configuration if they fail. Rolling
out an older version is how a configuration change is taken back. The
deployment names no release: the release's status does not change.
--strategy is one of rolling-update (default), blue-green, canary,
feature-flag or big-bang. A deployer of several apps needs --app (the app,
or a product's group, whose live release runs the configuration). Needs
deploy.operate in ENV.

  floe config history production
  floe deploy config production --reason "pool size 20"
  floe deploy config production --version 7 --reason "back to the known-good pool size"`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "say why the configuration is rolled out (kept in the log)"); err != nil {
				return err
			}
			req := &deployv1.RolloutConfigRequest{Environment: args[0], ConfigVersion: version, Reason: reason, App: app}
			if strategy != "" {
				v, ok := enumtext.Parse[deployv1.DeploymentStrategy](normStrategy(strategy))
				if !ok {
					return fmt.Errorf("--strategy %q: want one of %s", strategy, strings.Join(enumtext.Names[deployv1.DeploymentStrategy](), ", "))
				}
				req.Strategy = v
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := deployClient(conn).RolloutConfig(ctx, req)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetDeployment())
				}
				printDeployment(g.out, resp.GetDeployment())
				fmt.Fprintf(g.errOut, "follow it with: floe deploy watch %s\n", resp.GetDeployment().GetId())
				return nil
			})
		},
	}
	cmd.Flags().Uint64Var(&version, "version", 0, "the configuration version (default: the current one)")
	cmd.Flags().StringVar(&strategy, "strategy", "", "the deployment strategy (default: rolling-update)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&app, "app", "", "the app whose live release runs the configuration (required when the deployer deploys several)")
	return cmd
}

func deployClient(conn *grpc.ClientConn) deployv1.DeployServiceClient {
	return deployv1.NewDeployServiceClient(conn)
}

func statusWord(s deployv1.DeploymentStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "DEPLOYMENT_STATUS_"))
}

func stepWord(s *deployv1.Step) string { return deployersvc.DescribeStep(s) }

// printDeployment renders a deployment with its plan and progress.
func printDeployment(w io.Writer, d *deployv1.Deployment) {
	prev := d.GetPreviousVersion()
	if prev == "" {
		prev = "(none)"
	}
	fmt.Fprintf(w, "%s  %s %s → %s  %s  %s (attempt %d)\n", d.GetId(), d.GetApp(), prev, d.GetVersion(), d.GetEnvironment(), d.GetStrategy(), d.GetAttempt())
	fmt.Fprintf(w, "status %s", strings.ToUpper(statusWord(d.GetStatus())))
	if d.GetReason() != "" {
		fmt.Fprintf(w, " — %s", d.GetReason())
	}
	fmt.Fprintln(w)
	if cr := d.GetConfigRollout(); cr != nil {
		fmt.Fprintf(w, "configuration-only rollout: release %s (%s) with configuration version %d — %s\n", cr.GetArtifact(),
			orDash(cr.GetArtifactReleaseId()), cr.GetConfigVersion(), oneLine(cr.GetReason(), 0))
	}
	if cv := d.GetConfigVersion(); cv != 0 {
		fmt.Fprintf(w, "configuration version %d of %s (%s)\n", cv, d.GetEnvironment(), d.GetConfigDigest())
	}
	if n := d.GetReplicas(); n > 1 {
		fmt.Fprintf(w, "%d instances of %s (scaled up by triggers)\n", n, d.GetVersion())
	}
	for _, s := range d.GetSteps() {
		mark := "  "
		switch {
		case s.GetCompletedAt() != nil:
			mark = "✓ "
		case s.GetStartedAt() != nil:
			mark = "▶ "
		}
		line := fmt.Sprintf("  %s%2d %-24s", mark, s.GetIndex(), stepWord(s.GetStep()))
		if s.GetResult() != "" {
			line += " " + s.GetResult()
		} else if s.GetResumeAt() != nil && s.GetCompletedAt() == nil {
			line += fmt.Sprintf(" resumes in %s", time.Until(s.GetResumeAt().AsTime()).Round(time.Second))
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

func newDeployGetCmd(g *globals) *cobra.Command {
	var atFlag string
	cmd := &cobra.Command{
		Use: "get DEPLOYMENT_ID [--at POSITION|TIME]", Aliases: []string{"show"}, Short: "Show a deployment and its steps", Args: cobra.ExactArgs(1),
		Long: `get shows a deployment: its status, plan and each step's result, and its bake.
--at shows it as it was at a log position or a moment (RFC 3339 or a date),
rebuilt from its events up to there (positions: floe events tail --aggregate
deployment --id ID --from 1 --no-follow).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseAsOf(atFlag)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := deployClient(conn).GetDeployment(ctx, &deployv1.GetDeploymentRequest{DeploymentId: args[0], AsOfPosition: at.Position, AsOfTime: at.Time})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				printDeployment(g.out, resp.GetDeployment())
				if at.set() {
					fmt.Fprintf(g.out, "as of %s (its event %d)\n", strings.TrimPrefix(at.String(), "at "), resp.GetDeployment().GetAggregateVersion())
					return nil
				}
				printBake(g.out, monitoringOf(ctx, conn, args[0]))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&atFlag, "at", "", asOfUsage)
	return cmd
}

// monitoringOf is the monitor's view of a deployment (nil when there is
// none, or the caller may not read it).
func monitoringOf(ctx context.Context, conn *grpc.ClientConn, id string) *monitorv1.DeploymentMonitoring {
	r, err := monitorv1.NewMonitorServiceClient(conn).GetMonitoring(ctx, &monitorv1.GetMonitoringRequest{DeploymentId: id})
	if err != nil {
		return nil
	}
	return r.GetMonitoring()
}

// baking reports whether m is in its bake (the deployment succeeded and is still watched).
func baking(m *monitorv1.DeploymentMonitoring) bool {
	return m.GetBakeUntil() != nil && m.GetEndedAt() == nil
}

// printBake says where a succeeded deployment's bake stands.
func printBake(w io.Writer, m *monitorv1.DeploymentMonitoring) {
	until := m.GetBakeUntil()
	switch {
	case until == nil:
	case baking(m):
		fmt.Fprintf(w, "bake: until %s (in %s): monitoring goes on; a rollback trigger that fires before then rolls it back\n",
			fmtTime(until), time.Until(until.AsTime()).Round(time.Second))
	case m.GetOutcomeType() == monitorv1.MonitoringOutcome_MONITORING_OUTCOME_BAKED:
		fmt.Fprintf(w, "bake: ended %s without a rollback; monitoring ended\n", fmtTime(until))
	default:
		fmt.Fprintf(w, "bake: stopped at %s (%s)\n", fmtTime(m.GetEndedAt()), enumtext.Name(m.GetOutcomeType()))
	}
}

func newDeployListCmd(g *globals) *cobra.Command {
	var env, release string
	var active bool
	cmd := &cobra.Command{
		Use: "list", Short: "List deployments, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := deployClient(conn).ListDeployments(ctx, &deployv1.ListDeploymentsRequest{Environment: env, ReleaseId: release, Active: active})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tVERSION\tENV\tSTRATEGY\tSTATUS\tSTEP\tSTARTED")
				for _, d := range resp.GetDeployments() {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", d.GetId(), d.GetVersion(), d.GetEnvironment(), d.GetStrategy(),
						statusWord(d.GetStatus()), d.GetCurrentStep(), len(d.GetSteps()), d.GetStartedAt().AsTime().Format("2006-01-02 15:04:05Z"))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	cmd.Flags().StringVar(&release, "release", "", "only this release id")
	cmd.Flags().BoolVar(&active, "active", false, "only running, paused or rolling-back deployments")
	return cmd
}

func newDeployWatchCmd(g *globals) *cobra.Command {
	var brief bool
	cmd := &cobra.Command{
		Use:   "watch DEPLOYMENT_ID [--brief]",
		Short: "Follow a deployment live: every step, pause, breach and rollback as it happens",
		Long: `watch prints the deployment, then reprints it on every change until it finishes
or you press Ctrl-C (--brief: one line per change, with the step it is at).
Interleaved are the monitor's findings about it ("monitor:" lines): trigger
breaches starting and clearing, rollback triggers firing and analysis verdicts
(with -o json, only the deployment messages are printed).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.dial()
			if err != nil {
				return err
			}
			defer conn.Close()
			print := printDeployment
			if brief {
				print = printDeploymentBrief
			}
			_, err = followDeployment(cmd.Context(), g, conn, args[0], print)
			return err
		},
	}
	cmd.Flags().BoolVar(&brief, "brief", false, "one line per change instead of the whole deployment")
	return cmd
}

// printDeploymentBrief is a deployment in one line: its status and the step
// it is at (the one running, else the last completed).
func printDeploymentBrief(w io.Writer, d *deployv1.Deployment) {
	line := fmt.Sprintf("   %s %s → %s  %s", d.GetEnvironment(), orDash(d.GetPreviousVersion()), d.GetVersion(), strings.ToUpper(statusWord(d.GetStatus())))
	var at *deployv1.StepState
	for _, s := range d.GetSteps() {
		if s.GetStartedAt() != nil {
			at = s
		}
	}
	if at != nil {
		mark := "▶"
		if at.GetCompletedAt() != nil {
			mark = "✓"
		}
		line += fmt.Sprintf("  %s %d/%d %s", mark, at.GetIndex(), len(d.GetSteps()), stepWord(at.GetStep()))
		if at.GetResult() != "" {
			line += ": " + oneLine(at.GetResult(), 100)
		}
	}
	if d.GetReason() != "" && d.GetStatus() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING {
		line += " — " + oneLine(d.GetReason(), 160)
	}
	fmt.Fprintln(w, line)
}

// watchDeployment prints a deployment and every change to it, with the
// monitor's events about it, until it finishes (returning its final state)
// or ctx ends (returning nil, nil).
func watchDeployment(ctx context.Context, g *globals, conn *grpc.ClientConn, id string) (*deployv1.Deployment, error) {
	return followDeployment(ctx, g, conn, id, printDeployment)
}

// followDeployment is watchDeployment printing each state with print.
func followDeployment(ctx context.Context, g *globals, conn *grpc.ClientConn, id string, print func(io.Writer, *deployv1.Deployment)) (*deployv1.Deployment, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := deployClient(conn).WatchDeployment(ctx, &deployv1.WatchDeploymentRequest{DeploymentId: id})
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex // one writer at a time
	var bakingNow atomic.Bool
	if g.output != "json" {
		go func() {
			// The monitor's view of the deployment; a server without one (or a
			// caller without monitor.read) just shows no monitor lines.
			ms, err := monitorv1.NewMonitorServiceClient(conn).WatchAlerts(ctx, &monitorv1.WatchAlertsRequest{DeploymentId: id})
			if err != nil {
				return
			}
			for {
				ev, err := ms.Recv()
				if err != nil {
					return
				}
				mu.Lock()
				fmt.Fprintf(g.out, "── %s  monitor: %s\n", time.Now().Format("15:04:05"), ev.GetSummary())
				mu.Unlock()
				if strings.HasPrefix(ev.GetSummary(), "monitoring ended") && bakingNow.Load() {
					cancel() // the bake is over: so is the watch
				}
			}
		}()
	}
	var last *deployv1.Deployment
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled || ctx.Err() != nil {
			if bakingNow.Load() {
				return last, nil // the bake ended
			}
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		if g.output == "json" {
			err = printJSON(g.out, msg)
		} else {
			event := msg.GetEvent()
			if event == "" {
				event = "current state"
			}
			fmt.Fprintf(g.out, "── %s  %s\n", time.Now().Format("15:04:05"), event)
			print(g.out, msg.GetDeployment())
		}
		mu.Unlock()
		if err != nil {
			return nil, err
		}
		last = msg.GetDeployment()
		switch d := msg.GetDeployment(); d.GetStatus() {
		case deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED:
			// A succeeded deployment may bake: watch on until the bake ends or rolls it back.
			if m := monitoringOf(ctx, conn, id); g.output != "json" && baking(m) {
				if !bakingNow.Swap(true) {
					mu.Lock()
					printBake(g.out, m)
					mu.Unlock()
				}
				continue
			}
			return d, nil
		case deployv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED,
			deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK, deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ABORTED:
			return d, nil
		}
	}
}

func newDeployActionCmd(g *globals, name, short string, needsReason bool) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use: name + " DEPLOYMENT_ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if needsReason && strings.TrimSpace(reason) == "" {
				return fmt.Errorf("--reason is required for %s", name)
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				c := deployClient(conn)
				id := args[0]
				var d *deployv1.Deployment
				var err error
				switch name {
				case "pause":
					var r *deployv1.PauseResponse
					r, err = c.Pause(ctx, &deployv1.PauseRequest{DeploymentId: id, Reason: reason})
					d = r.GetDeployment()
				case "resume":
					var r *deployv1.ResumeResponse
					r, err = c.Resume(ctx, &deployv1.ResumeRequest{DeploymentId: id})
					d = r.GetDeployment()
				case "abort":
					var r *deployv1.AbortResponse
					r, err = c.Abort(ctx, &deployv1.AbortRequest{DeploymentId: id, Reason: reason})
					d = r.GetDeployment()
				case "retry":
					var r *deployv1.RetryResponse
					r, err = c.Retry(ctx, &deployv1.RetryRequest{DeploymentId: id})
					d = r.GetDeployment()
				case "rollback":
					var r *deployv1.RollbackResponse
					r, err = c.Rollback(ctx, &deployv1.RollbackRequest{DeploymentId: id, Reason: reason})
					d = r.GetDeployment()
				}
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, d)
				}
				printDeployment(g.out, d)
				return nil
			})
		},
	}
	if needsReason || name == "pause" {
		cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in the event log)")
	}
	return cmd
}
