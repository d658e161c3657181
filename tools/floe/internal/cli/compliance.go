package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
)

// complianceUntrusted is the exit status of a report whose audit
// verification failed or did not run: written, but not to be trusted.
const complianceUntrusted = 3

func newComplianceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compliance",
		Short: "Compliance reports: what changed in production and how it was controlled",
		Long: `The compliance report is derived from the event log alone: every deployment to
the reported environments in a period with the change request that authorized
it, its approvals, separation of duties, gate evidence, freeze overrides,
emergency changes and their post-implementation reviews, and an audit
verification of exactly the log positions it read. Needs audit.read.`,
	}
	cmd.AddCommand(newComplianceReportCmd(g))
	return cmd
}

// periodFlags reads --from and --to as the period [from, to): a date in --from
// is 00:00 UTC that day; a date in --to is the end of that day (the next
// day's 00:00 UTC, exclusive), so --from 2026-10-01 --to 2026-12-31 is the
// whole quarter.
func periodFlags(from, to string) (*timestamppb.Timestamp, *timestamppb.Timestamp, error) {
	if err := errors.Join(required("from", from, "the first day of the period, e.g. 2026-10-01"),
		required("to", to, "the last day of the period (inclusive), e.g. 2026-12-31")); err != nil {
		return nil, nil, err
	}
	f, err := timeFlag("from", from)
	if err != nil {
		return nil, nil, err
	}
	t, err := periodEndFlag("to", to)
	if err != nil {
		return nil, nil, err
	}
	if !t.AsTime().After(f.AsTime()) {
		return nil, nil, fmt.Errorf("--to %s is not after --from %s", fmtTime(t), fmtTime(f))
	}
	return f, t, nil
}

// periodEndFlag reads the exclusive end of a period: RFC 3339 as is, a date
// as the next day's 00:00 UTC (the end of that day).
func periodEndFlag(flag, s string) (*timestamppb.Timestamp, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseInLocation(dateLayout, s, time.UTC); err == nil {
		return timestamppb.New(d.AddDate(0, 0, 1)), nil
	}
	return timeFlag(flag, s)
}

// reportFormat is the rendered form asked for: --format when given, else json
// under -o json, else markdown.
func reportFormat(format string, formatGiven bool, output string) (string, error) {
	if !formatGiven {
		if output == "json" {
			return "json", nil
		}
		return "markdown", nil
	}
	switch f := strings.ToLower(strings.TrimSpace(format)); f {
	case "json", "markdown":
		return f, nil
	case "md":
		return "markdown", nil
	}
	return "", fmt.Errorf("--format %q: want json or markdown", format)
}

// verificationProblem says why a report is not to be trusted, or "" when its
// audit verification passed.
func verificationProblem(r *changev1.ComplianceReport) string {
	v := r.GetVerification()
	switch {
	case v.GetOk():
		return ""
	case v.GetSkipped() != "":
		return "the audit verification did not run (" + v.GetSkipped() + ")"
	case len(v.GetProblems()) > 0:
		return fmt.Sprintf("the audit verification of log positions %d-%d failed: %s", v.GetFirstPosition(), v.GetLastPosition(), strings.Join(v.GetProblems(), "; "))
	}
	return fmt.Sprintf("the audit verification of log positions %d-%d did not pass", v.GetFirstPosition(), v.GetLastPosition())
}

func newComplianceReportCmd(g *globals) *cobra.Command {
	var (
		from, to, format, outFile string
		envs                      []string
		sample                    uint32
		seed                      int64
	)
	cmd := &cobra.Command{
		Use:   "report --from DATE --to DATE [--env ENV]… [--sample N] [--seed N] [--format markdown|json] [--out FILE]",
		Short: "Report what changed in the environments during a period, and how it was controlled",
		Long: `report asks for the compliance report of the period [--from, --to) and writes it
as the server rendered it: markdown by default, or JSON with --format json (or
with the global -o json when --format is not given; -o itself only knows table
and json, so the report's form has its own flag). --out writes it to a file
instead of standard output.

Times are RFC 3339 or dates. A date in --from is 00:00 UTC that day; a date in
--to means the END of that day (the next day's 00:00 UTC, exclusive): --from
2026-10-01 --to 2026-12-31 covers the whole fourth quarter.

--env names the environments (repeatable; default: the production-class ones).
--sample N reports N deployments picked at random (reproducibly with --seed)
instead of all of them, for an auditor's sample.

The report carries an audit verification of the log positions it read. When
that verification fails or did not run, the report is still written, but floe
says it is not to be trusted and exits with status 3.
Needs audit.read.`,
		Example: `  floe compliance report --from 2026-10-01 --to 2026-12-31 --out q4-2026.md
  floe compliance report --from 2026-10-01 --to 2026-12-31 --env production --sample 25 --seed 7 --format json > sample.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, t, err := periodFlags(from, to)
			if err != nil {
				return err
			}
			form, err := reportFormat(format, cmd.Flags().Changed("format"), g.output)
			if err != nil {
				return err
			}
			req := &changev1.GetComplianceReportRequest{From: f, To: t, Environments: nonEmpty(envs), Sample: sample, Seed: seed, Format: form}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := changev1.NewComplianceServiceClient(conn).GetComplianceReport(ctx, req)
				if err != nil {
					return err
				}
				if err := writeReport(g, outFile, resp); err != nil {
					return err
				}
				if p := verificationProblem(resp.GetReport()); p != "" {
					return &exitError{code: complianceUntrusted, err: fmt.Errorf("%s: the report is not to be trusted", p)}
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "start of the period (required; a date is 00:00 UTC that day)")
	fl.StringVar(&to, "to", "", "end of the period (required; a date means the end of that day)")
	fl.StringSliceVar(&envs, "env", nil, "an environment to report; repeat or separate with commas (default: the production-class ones)")
	fl.Uint32Var(&sample, "sample", 0, "report this many deployments picked at random instead of all (0: all)")
	fl.Int64Var(&seed, "seed", 0, "the random seed of --sample (the report records it)")
	fl.StringVar(&format, "format", "", "the report's form: markdown or json (default: json under -o json, else markdown)")
	fl.StringVar(&outFile, "out", "", "write the report to this file instead of standard output")
	completeWords(cmd, "format", []string{"markdown", "json"})
	return cmd
}

// writeReport writes the rendered report to outFile, or to standard output.
// With a file, a one-line summary goes to standard output.
func writeReport(g *globals, outFile string, resp *changev1.GetComplianceReportResponse) error {
	text := resp.GetRendered()
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if outFile == "" {
		_, err := io.WriteString(g.out, text)
		return err
	}
	if err := os.WriteFile(outFile, []byte(text), 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	r := resp.GetReport()
	verdict := "verified"
	if verificationProblem(r) != "" {
		verdict = "NOT verified"
	}
	_, err := fmt.Fprintf(g.out, "report of %s to %s written to %s: %d deployments (%d without a change request), %d emergency changes; log positions %d-%d %s\n",
		fmtTime(r.GetFrom()), fmtTime(r.GetTo()), outFile, r.GetSummary().GetDeployments(), r.GetSummary().GetWithoutChangeRequest(),
		r.GetSummary().GetEmergencyChanges(), r.GetFirstPosition(), r.GetLastPosition(), verdict)
	return err
}
