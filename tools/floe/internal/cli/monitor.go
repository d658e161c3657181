package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// newMonitorCmds are the monitor's commands: `floe rules`, `floe alerts` and
// `floe monitor`.
func newMonitorCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{newRulesCmd(g), newAlertsCmd(g), newMonitorCmd(g)}
}

func newMonitorCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "What the monitor sees of a deployment: triggers and analysis verdicts",
		Long: `While a deployment runs, the monitor evaluates the enabled rollback triggers
against the deployment's own metrics (its environment and version) and judges
its canary analysis steps. Deployment ids are "<release id>-<environment>-<attempt>"
(see 'floe deploy list'). Reads need monitor.read.`,
	}
	cmd.AddCommand(newMonitorStatusCmd(g), newMonitorAnalysisCmd(g))
	return cmd
}

func newMonitorStatusCmd(g *globals) *cobra.Command {
	var atFlag string
	cmd := &cobra.Command{
		Use:   "status DEPLOYMENT_ID [--at POSITION|TIME]",
		Short: "Show a deployment's triggers (state, last value, sustained breach) and analyses",
		Long: `status shows the monitor's view of a deployment: each trigger in force with its
state (ok, breaching, fired or no_data), the last value observed, how long the
current breach has been sustained and the samples taken; then the verdict of
each analysis step. --at shows it as it was at a log position or a moment
(RFC 3339 or a date), rebuilt from its events up to there.

  floe monitor status 01J9Z7Q4-production-1
  floe monitor status 01J9Z7Q4-production-1 --at 2026-12-04T10:15:00Z`,
		Args: positional("DEPLOYMENT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseAsOf(atFlag)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := monitorClient(conn).GetMonitoring(ctx, &monitorv1.GetMonitoringRequest{DeploymentId: args[0], AsOfPosition: at.Position, AsOfTime: at.Time})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if err := printMonitoring(g.out, resp.GetMonitoring()); err != nil || !at.set() {
					return err
				}
				_, err = fmt.Fprintf(g.out, "as of %s\n", strings.TrimPrefix(at.String(), "at "))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&atFlag, "at", "", asOfUsage)
	return cmd
}

func printMonitoring(w io.Writer, m *monitorv1.DeploymentMonitoring) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "DEPLOYMENT\t%s\n", m.GetDeploymentId())
	fmt.Fprintf(tw, "RELEASE\t%s\n", orDash(m.GetReleaseId()))
	fmt.Fprintf(tw, "ENVIRONMENT\t%s\n", m.GetEnvironment())
	fmt.Fprintf(tw, "VERSION\t%s\n", m.GetVersion())
	fmt.Fprintf(tw, "STARTED\t%s\n", fmtTime(m.GetStartedAt()))
	if m.GetEndedAt() == nil {
		fmt.Fprintln(tw, "ENDED\t- (active)")
	} else {
		fmt.Fprintf(tw, "ENDED\t%s (%s)\n", fmtTime(m.GetEndedAt()), orDash(m.GetOutcome()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(m.GetTriggers()) == 0 {
		fmt.Fprintln(w, "TRIGGERS  (none in force)")
	} else {
		tw = newTable(w)
		fmt.Fprintln(tw, "TRIGGER\tVERSION\tCONDITION\tSTATE\tLAST VALUE\tLAST AT\tSUSTAINED\tSAMPLES")
		for _, t := range m.GetTriggers() {
			last := num(t.GetLastValue())
			switch {
			case t.GetLastAt() == nil:
				last = "-"
			case t.GetLastNoData():
				last = "no data"
			}
			sustained := "-"
			if t.GetBreachSince() != nil || t.GetSustained().AsDuration() > 0 {
				sustained = dur(t.GetSustained())
			}
			fmt.Fprintf(tw, "%s\tv%d\t%s\t%s\t%s\t%s\t%s\t%d\n", t.GetTrigger(), t.GetRuleVersion(), oneLine(t.GetCondition(), 60),
				t.GetState(), last, fmtTime(t.GetLastAt()), sustained, t.GetSamples())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if len(m.GetAnalyses()) == 0 {
		fmt.Fprintln(w, "ANALYSES  (none)")
		return nil
	}
	tw = newTable(w)
	fmt.Fprintln(tw, "STEP\tVERDICT\tWINDOW\tREASON")
	for _, a := range m.GetAnalyses() {
		v := a.GetVerdict()
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", a.GetStep(), orDash(v.GetResult()), window(v), oneLine(v.GetReason(), 80))
	}
	return tw.Flush()
}

func window(v *monitorv1.Verdict) string {
	if v.GetWindowStart() == nil && v.GetWindowEnd() == nil {
		return "-"
	}
	return fmtTime(v.GetWindowStart()) + " → " + fmtTime(v.GetWindowEnd())
}

func newMonitorAnalysisCmd(g *globals) *cobra.Command {
	var step uint32
	cmd := &cobra.Command{
		Use:   "analysis DEPLOYMENT_ID --step N",
		Short: "Show the verdict of a deployment's analysis step, with its measurements",
		Long: `analysis shows the verdict (pass, fail or inconclusive) of the analysis step
with index N in the deployment's plan (see 'floe deploy get'), its reason, and
each trigger's check over the window with every measurement behind it. Before
the window has passed the server answers FailedPrecondition.

  floe monitor analysis 01J9Z7Q4-production-1 --step 2`,
		Args: positional("DEPLOYMENT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("step") {
				return errors.New("--step is required: the analysis step's index in the deployment's plan (see 'floe deploy get')")
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := monitorClient(conn).GetAnalysis(ctx, &monitorv1.GetAnalysisRequest{DeploymentId: args[0], Step: step})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printVerdict(g.out, resp.GetVerdict())
			})
		},
	}
	cmd.Flags().Uint32Var(&step, "step", 0, "index of the analysis step in the deployment's plan (required)")
	return cmd
}

func printVerdict(w io.Writer, v *monitorv1.Verdict) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "VERDICT\t%s\n", strings.ToUpper(orDash(v.GetResult())))
	fmt.Fprintf(tw, "REASON\t%s\n", orDash(oneLine(v.GetReason(), 0)))
	fmt.Fprintf(tw, "WINDOW\t%s\n", window(v))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range v.GetChecks() {
		fmt.Fprintf(w, "\nCHECK %s (v%d): %s — %s\n", c.GetTrigger(), c.GetRuleVersion(), c.GetResult(), oneLine(c.GetReason(), 0))
		fmt.Fprintf(w, "  %d samples, %d breaching, %d without data\n", c.GetSamples(), c.GetBreaching(), c.GetNoData())
		if len(c.GetMeasurements()) == 0 {
			continue
		}
		tw = newTable(w)
		fmt.Fprintln(tw, "  AT\tVALUE\tBREACHING")
		for _, m := range c.GetMeasurements() {
			value := num(m.GetValue())
			if m.GetNoData() {
				value = "no data"
			}
			mark := ""
			if m.GetBreaching() {
				mark = "yes"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", fmtTime(m.GetAt()), value, mark)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
