package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
)

func newGateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Testing gates: definitions, status, reports from CI, overrides",
		Long: `Each environment has testing gates (by default the guide's five: Unit Tests in
development; Integration, E2E, Performance and Security Tests in staging).
When a release is deployed to an environment its gates open, each with a
deadline; CI reports every suite's results (JUnit XML, SARIF 2.1.0 or a JSON
summary), and the release may be promoted past the environment only once
its required gates are met. A warned gate may be overridden by someone who
is neither the release's author nor its promoter (gate.override).

A release is named by its id or as product@version.`,
	}
	cmd.AddCommand(newGateDefsCmd(g), newGateDefineCmd(g), newGateStatusCmd(g), newGateReportCmd(g), newGateOverrideCmd(g), newGateWatchCmd(g), newGateAcceptBaselineCmd(g))
	return cmd
}

// resolveRelease turns an id or product@version into a release id (refs.go).
func resolveRelease(ctx context.Context, conn *grpc.ClientConn, name string) (string, error) {
	r, ok := parseRef(name)
	if !ok {
		return name, nil
	}
	rel, err := findRelease(ctx, conn, r)
	if err != nil {
		return "", err
	}
	return rel.GetId(), nil
}

func newGateDefsCmd(g *globals) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "defs",
		Short: "List the gate definitions of every environment (or one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := gatev1.NewGateServiceClient(conn).ListGateDefinitions(ctx, &gatev1.ListGateDefinitionsRequest{Environment: env})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "ENVIRONMENT\tGATE\tSUITES\tREQUIRED\tTIMEOUT\tON FAILURE\tOVERRIDE\tVERSION")
				for _, e := range resp.GetEnvironments() {
					for _, d := range e.GetGates() {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\t%v\tv%d\n", e.GetEnvironment(), d.GetName(), strings.Join(d.GetSuites(), ","),
							d.GetRequired(), d.GetTimeout().AsDuration(), enumWord(d.GetOnFailure().String(), "ON_FAILURE_"), d.GetAllowOverride(), e.GetVersion())
					}
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "one environment")
	return cmd
}

func enumWord(s, prefix string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s, prefix)), "_", " ")
}

func newGateDefineCmd(g *globals) *cobra.Command {
	var env, name, suites, onFailure, reason string
	var required, allowOverride, skippedPass, remove bool
	var timeout time.Duration
	var expected uint64
	cmd := &cobra.Command{
		Use:   "define --env ENV --name NAME --suites a,b --timeout 20m --on-failure block|warn|ignore --reason TEXT",
		Short: "Add or replace one gate of an environment (or --remove it); needs gate.define",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			def := &gatev1.GateDefinition{Name: name, Required: required, AllowOverride: allowOverride, SkippedCountsAsPassed: skippedPass}
			if suites != "" {
				def.Suites = strings.Split(suites, ",")
			}
			if timeout != 0 {
				def.Timeout = durationpb.New(timeout)
			}
			if onFailure != "" {
				v, ok := gatev1.OnFailure_value["ON_FAILURE_"+strings.ToUpper(onFailure)]
				if !ok {
					return fmt.Errorf("--on-failure %q: must be block, warn or ignore", onFailure)
				}
				def.OnFailure = gatev1.OnFailure(v)
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := gatev1.NewGateServiceClient(conn).SetGateDefinition(ctx, &gatev1.SetGateDefinitionRequest{
					Environment: env, Gate: def, Remove: remove, Reason: reason, ExpectedVersion: expected,
				})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				_, err = fmt.Fprintf(g.out, "%s gate definitions are at version %d (%d gates)\n", env, resp.GetEnvironment().GetVersion(), len(resp.GetEnvironment().GetGates()))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&env, "env", "", "the environment")
	f.StringVar(&name, "name", "", "the gate's name, e.g. \"Integration Tests\"")
	f.StringVar(&suites, "suites", "", "its suites, comma-separated")
	f.BoolVar(&required, "required", false, "a required gate (an optional one never blocks)")
	f.DurationVar(&timeout, "timeout", 0, "how long results may take after the gate opens")
	f.StringVar(&onFailure, "on-failure", "", "block, warn or ignore")
	f.BoolVar(&allowOverride, "allow-override", false, "a warned gate may be overridden")
	f.BoolVar(&skippedPass, "skipped-counts-as-passed", false, "skipped tests count as passed")
	f.BoolVar(&remove, "remove", false, "remove the gate named --name")
	f.StringVar(&reason, "reason", "", "why (required)")
	f.Uint64Var(&expected, "expected-version", 0, "refuse if the definitions changed since this version")
	return cmd
}

func newGateStatusCmd(g *globals) *cobra.Command {
	var release, env, atFlag string
	cmd := &cobra.Command{
		Use:   "status --release ID|product@version [--env ENV] [--at POSITION|TIME]",
		Short: "Show a release's gates in every environment (or one)",
		Long: `status shows a release's gate runs: each gate's outcome, its suites and their
evidence. --at shows them as they were at a log position or a moment (RFC 3339
or a date), rebuilt from their events up to there (floe release history shows
positions).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at, err := parseAsOf(atFlag)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				id, err := resolveRelease(ctx, conn, release)
				if err != nil {
					return err
				}
				resp, err := gatev1.NewGateServiceClient(conn).GetGateStatus(ctx, &gatev1.GetGateStatusRequest{ReleaseId: id, Environment: env,
					AsOfPosition: at.Position, AsOfTime: at.Time})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if len(resp.GetRuns()) == 0 {
					_, err := fmt.Fprintln(g.out, "no gates have opened for this release yet (they open when it is deployed to an environment)")
					return err
				}
				for _, r := range resp.GetRuns() {
					printGateRun(g.out, r)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&release, "release", "", "the release: id or product@version")
	cmd.Flags().StringVar(&env, "env", "", "one environment")
	cmd.Flags().StringVar(&atFlag, "at", "", asOfUsage)
	return cmd
}

func printGateRun(w io.Writer, r *gatev1.GateRun) {
	verdict := "MET"
	if !r.GetSatisfied() {
		verdict = "NOT MET"
	}
	fmt.Fprintf(w, "%s %s in %s (attempt %d): gates %s\n", r.GetProduct(), r.GetVersion(), r.GetEnvironment(), r.GetAttempt(), verdict)
	tw := newTable(w)
	fmt.Fprintln(tw, "  GATE\tOUTCOME\tDEADLINE\tSUITES\tREASON")
	for _, gs := range r.GetGates() {
		var suites []string
		for _, s := range gs.GetSuites() {
			mark := "…"
			switch {
			case s.GetReported() && s.GetPassed():
				mark = "✓"
			case s.GetReported():
				mark = "✗"
			}
			suites = append(suites, s.GetSuite()+" "+mark)
		}
		name := gs.GetDefinition().GetName()
		if !gs.GetDefinition().GetRequired() {
			name += " (optional)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", name, enumWord(gs.GetOutcome().String(), "GATE_OUTCOME_"),
			gs.GetDeadline().AsTime().UTC().Format(time.RFC3339), strings.Join(suites, ", "), gs.GetReason())
	}
	tw.Flush()
}

// exit codes of floe gate report.
const (
	reportPassed   = 0
	reportFailed   = 1
	reportUnusable = 2
)

func newGateReportCmd(g *globals) *cobra.Command {
	var release, env, gate, suite, junitFile, sarifFile, summaryFile string
	cmd := &cobra.Command{
		Use:   "report --release ID|product@version --env ENV --gate NAME --suite SUITE (--junit|--sarif|--summary) FILE",
		Short: "Report a suite's results to its gate (exit 0 passed, 1 failed, 2 unusable input); needs gate.record",
		Long: `Streams a test report to the gate service, which stores it by its SHA-256
digest, reads it, and records whether the suite passed. The exit status
is the verdict, for CI scripts: 0 the suite passed, 1 it failed, 2 the
input could not be used (a missing or malformed file, an unknown gate or
suite, a closed gate). Anything else (the server unreachable, no
permission) exits 1 too, with the error.

Formats: --junit (JUnit XML as go-junit-report/gotestsum, pytest, Maven
Surefire/Failsafe, jest-junit and the JUnit 5 console launcher write it),
--sarif (SARIF 2.1.0: the suite fails on error-level findings that are new
relative to the gate's last passing report), --summary (JSON:
{"tool": "...", "passed": n, "failed": n, "errors": n, "skipped": n}).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var path string
			var format gatev1.EvidenceFormat
			n := 0
			for _, c := range []struct {
				file string
				f    gatev1.EvidenceFormat
			}{{junitFile, gatev1.EvidenceFormat_EVIDENCE_FORMAT_JUNIT}, {sarifFile, gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF}, {summaryFile, gatev1.EvidenceFormat_EVIDENCE_FORMAT_SUMMARY}} {
				if c.file != "" {
					path, format = c.file, c.f
					n++
				}
			}
			if n != 1 {
				return &exitError{code: reportUnusable, err: errors.New("give exactly one of --junit, --sarif or --summary")}
			}
			f, err := os.Open(path)
			if err != nil {
				return &exitError{code: reportUnusable, err: err}
			}
			defer f.Close()
			err = g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				id, err := resolveRelease(ctx, conn, release)
				if err != nil {
					return err
				}
				stream, err := gatev1.NewGateServiceClient(conn).ReportResults(ctx)
				if err != nil {
					return err
				}
				if err := stream.Send(&gatev1.ReportResultsRequest{Part: &gatev1.ReportResultsRequest_Header{Header: &gatev1.ReportHeader{
					ReleaseId: id, Environment: env, Gate: gate, Suite: suite, Format: format, Filename: filepath.Base(path),
				}}}); err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				buf := make([]byte, 256<<10)
				for {
					k, rerr := f.Read(buf)
					if k > 0 {
						if err := stream.Send(&gatev1.ReportResultsRequest{Part: &gatev1.ReportResultsRequest_Chunk{Chunk: buf[:k]}}); err != nil {
							break // the server ended the call; CloseAndRecv says why
						}
					}
					if errors.Is(rerr, io.EOF) {
						break
					}
					if rerr != nil {
						return &exitError{code: reportUnusable, err: rerr}
					}
				}
				resp, err := stream.CloseAndRecv()
				if err != nil {
					return err
				}
				if g.output == "json" {
					if err := printJSON(g.out, resp); err != nil {
						return err
					}
				} else {
					ev := resp.GetEvidence()
					verdict := "PASSED"
					if !resp.GetPassed() {
						verdict = "FAILED"
					}
					fmt.Fprintf(g.out, "%s %s/%s: %s — %s\nevidence %s (%d bytes, %s)\n", verdict, gate, suite, resp.GetReason(),
						strings.TrimSpace(ev.GetTool()), ev.GetDigest(), ev.GetSize(), enumWord(ev.GetFormat().String(), "EVIDENCE_FORMAT_"))
					for _, fl := range ev.GetFailures() {
						fmt.Fprintf(g.out, "  %s %s.%s: %s\n", fl.GetKind(), fl.GetClassName(), fl.GetName(), oneLine(fl.GetMessage(), 160))
					}
					for _, fd := range ev.GetNewFindings() {
						fmt.Fprintf(g.out, "  new %s %s at %s: %s\n", fd.GetLevel(), fd.GetRuleId(), fd.GetLocation(), oneLine(fd.GetMessage(), 160))
					}
					printGateRun(g.out, resp.GetRun())
				}
				if !resp.GetPassed() {
					return &exitError{code: reportFailed, err: fmt.Errorf("%s/%s failed: %s", gate, suite, resp.GetReason())}
				}
				return nil
			})
			var ee *exitError
			if err != nil && !errors.As(err, &ee) {
				switch status.Code(err) {
				case codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound:
					return &exitError{code: reportUnusable, err: err}
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&release, "release", "", "the release: id or product@version")
	f.StringVar(&env, "env", "", "the environment")
	f.StringVar(&gate, "gate", "", "the gate, e.g. \"Integration Tests\"")
	f.StringVar(&suite, "suite", "", "the suite, e.g. api-tests")
	f.StringVar(&junitFile, "junit", "", "a JUnit XML report")
	f.StringVar(&sarifFile, "sarif", "", "a SARIF 2.1.0 log")
	f.StringVar(&summaryFile, "summary", "", "a JSON summary")
	return cmd
}

func newGateOverrideCmd(g *globals) *cobra.Command {
	var release, env, gate, reason, expires string
	cmd := &cobra.Command{
		Use:   "override --release ID|product@version --env ENV --gate NAME --reason TEXT [--expires 4h|RFC3339]",
		Short: "Let a warned gate pass (gate.override; not the release's author or promoter)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var exp *timestamppb.Timestamp
			if expires != "" {
				if d, err := time.ParseDuration(expires); err == nil {
					exp = timestamppb.New(time.Now().Add(d))
				} else if t, err := time.Parse(time.RFC3339, expires); err == nil {
					exp = timestamppb.New(t)
				} else {
					return fmt.Errorf("--expires %q: a duration (4h) or an RFC 3339 time", expires)
				}
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				id, err := resolveRelease(ctx, conn, release)
				if err != nil {
					return err
				}
				resp, err := gatev1.NewGateServiceClient(conn).OverrideGate(ctx, &gatev1.OverrideGateRequest{ReleaseId: id, Environment: env, Gate: gate, Reason: reason, ExpiresAt: exp})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				printGateRun(g.out, resp.GetRun())
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&release, "release", "", "the release: id or product@version")
	f.StringVar(&env, "env", "", "the environment")
	f.StringVar(&gate, "gate", "", "the gate")
	f.StringVar(&reason, "reason", "", "why (required)")
	f.StringVar(&expires, "expires", "", "when the override lapses: a duration from now or an RFC 3339 time")
	return cmd
}

func newGateWatchCmd(g *globals) *cobra.Command {
	var release, env string
	cmd := &cobra.Command{
		Use:   "watch [--release ID|product@version] [--env ENV]",
		Short: "Stream gate runs as they change (until interrupted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.watch(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				id := ""
				if release != "" {
					var err error
					if id, err = resolveRelease(ctx, conn, release); err != nil {
						return err
					}
				}
				s, err := gatev1.NewGateServiceClient(conn).WatchGates(ctx, &gatev1.WatchGatesRequest{ReleaseId: id, Environment: env})
				if err != nil {
					return err
				}
				for {
					m, err := s.Recv()
					if err != nil {
						if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled || status.Code(err) == codes.DeadlineExceeded {
							return nil
						}
						return err
					}
					if g.output == "json" {
						if err := printJSON(g.out, m); err != nil {
							return err
						}
						continue
					}
					printGateRun(g.out, m.GetRun())
				}
			})
		},
	}
	cmd.Flags().StringVar(&release, "release", "", "one release: id or product@version")
	cmd.Flags().StringVar(&env, "env", "", "one environment")
	return cmd
}

func newGateAcceptBaselineCmd(g *globals) *cobra.Command {
	var release, env, gate, suite, reason string
	cmd := &cobra.Command{
		Use:   "accept-baseline --release ID|product@version --env ENV --gate NAME --suite SUITE --reason TEXT",
		Short: "Accept the error-level findings of a suite's latest SARIF report as known (gate.define)",
		Long: `A SARIF suite fails on error-level findings that are new relative to its last
passing report. The first report of a suite has nothing to be compared with,
so every finding is new: after reviewing them, accept the latest report of the
suite in the release's run as the baseline. Reports with only those findings
then pass, for this release and the product's next ones, and a new finding
still fails. The acceptance is an event with its author and reason.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				id, err := resolveRelease(ctx, conn, release)
				if err != nil {
					return err
				}
				resp, err := gatev1.NewGateServiceClient(conn).AcceptSarifBaseline(ctx, &gatev1.AcceptSarifBaselineRequest{
					ReleaseId: id, Environment: env, Gate: gate, Suite: suite, Reason: reason,
				})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				b := resp.GetBaseline()
				_, err = fmt.Fprintf(g.out, "accepted %d error-level finding(s) of %s (%s/%s, %s in %s) as known\n",
					b.GetErrors(), b.GetEvidenceDigest(), b.GetGate(), b.GetSuite(), b.GetProduct(), env)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&release, "release", "", "the release whose run holds the report: id or product@version")
	f.StringVar(&env, "env", "", "the environment")
	f.StringVar(&gate, "gate", "", "the gate")
	f.StringVar(&suite, "suite", "", "the suite")
	f.StringVar(&reason, "reason", "", "why (required): who reviewed the findings, what was decided")
	return cmd
}
