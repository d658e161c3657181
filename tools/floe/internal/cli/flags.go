package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

func newFlagsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flags",
		Short: "Feature flags per environment: create, roll out, kill, schedule, history, evaluate",
		Long: `Feature flags live per environment, in flagd's model (variants, a default
variant, JsonLogic targeting). Rollouts (--percent, --segment, --gradual)
compile into flagd targeting, so every OpenFeature SDK evaluates them alike.
Changes made under a release (--release) are reverted when that release is
rolled back in the environment.`,
	}
	cmd.AddCommand(newFlagsListCmd(g), newFlagsGetCmd(g), newFlagsCreateCmd(g), newFlagsRolloutCmd(g), newFlagsKillCmd(g),
		newFlagsScheduleCmd(g), newFlagsHistoryCmd(g), newFlagsEvalCmd(g), newFlagsImportCmd(g), newFlagsExportCmd(g),
		newFlagsUpdateCmd(g), newFlagsCancelCmd(g), newFlagsEvalAllCmd(g), newFlagsWatchCmd(g))
	return cmd
}

func flagClient(conn *grpc.ClientConn) flagv1.FlagServiceClient {
	return flagv1.NewFlagServiceClient(conn)
}

func newFlagsListCmd(g *globals) *cobra.Command {
	var env, tag, atFlag string
	cmd := &cobra.Command{
		Use:   "list --env ENV [--at POSITION|TIME]",
		Short: "List an environment's flags (--at: as they were at a log position or a moment)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at, err := parseAsOf(atFlag)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).ListFlags(ctx, &flagv1.ListFlagsRequest{Environment: env, Tag: tag, AsOfPosition: at.Position, AsOfTime: at.Time})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "KEY\tSTATE\tDEFAULT\tROLLOUT\tRELEASE\tPOSITION")
				for _, f := range resp.GetFlags() {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", f.GetKey(), flagState(f), f.GetDefaultVariant(), rolloutWords(f), orDash(f.GetReleaseId()), f.GetPosition())
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringVar(&tag, "tag", "", "only flags with this tag")
	cmd.Flags().StringVar(&atFlag, "at", "", asOfUsage+" (floe flags history shows positions)")
	return cmd
}

func flagState(f *flagv1.Flag) string {
	if f.GetKill() != nil {
		return "KILLED"
	}
	return enumWord(f.GetState().String(), "FLAG_STATE_")
}

func rolloutWords(f *flagv1.Flag) string {
	r := f.GetRollout()
	switch s := r.GetStrategy().(type) {
	case *flagv1.Rollout_Immediate:
		return r.GetVariant() + " for everyone"
	case *flagv1.Rollout_Percentage:
		return fmt.Sprintf("%s for %d%%", r.GetVariant(), s.Percentage.GetPercent())
	case *flagv1.Rollout_UserSegment:
		return fmt.Sprintf("%s for a segment", r.GetVariant())
	case *flagv1.Rollout_Gradual:
		return fmt.Sprintf("%s ramped until %s", r.GetVariant(), s.Gradual.GetEnd().AsTime().UTC().Format(time.RFC3339))
	}
	if f.GetTargeting() != "" {
		return "targeting"
	}
	return "-"
}

func newFlagsGetCmd(g *globals) *cobra.Command {
	var env, atFlag string
	cmd := &cobra.Command{
		Use:   "get KEY --env ENV [--at POSITION|TIME]",
		Short: "Show a flag (--at: as it was at a log position or a moment)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseAsOf(atFlag)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).GetFlag(ctx, &flagv1.GetFlagRequest{Environment: env, Key: args[0], AsOfPosition: at.Position, AsOfTime: at.Time})
				if err != nil {
					return err
				}
				return printJSON(g.out, resp.GetFlag())
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringVar(&atFlag, "at", "", asOfUsage+" (floe flags history shows positions)")
	return cmd
}

func newFlagsCreateCmd(g *globals) *cobra.Command {
	var env, file, reason string
	cmd := &cobra.Command{
		Use:   "create --env ENV --file FLAG.json --reason TEXT",
		Short: "Create a flag from its JSON (a floe.flag.v1.Flag: key, variants, defaultVariant, targeting, …)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := readFileOrStdin(file)
			if err != nil {
				return err
			}
			f := &flagv1.Flag{}
			if err := protojson.Unmarshal(data, f); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			f.Environment = env
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: f, Reason: reason})
				if err != nil {
					return err
				}
				return printJSON(g.out, resp.GetFlag())
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringVar(&file, "file", "-", "the flag's JSON (- for stdin)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func readFileOrStdin(path string) ([]byte, error) {
	if path == "-" || path == "" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// rolloutFlags are the flags that describe a rollout.
type rolloutFlags struct {
	variant, otherwise, segment string
	percent                     int
	everyone                    bool
	gradual                     string
	steps                       uint32
}

func (r *rolloutFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&r.variant, "variant", "on", "the variant rolled out")
	f.StringVar(&r.otherwise, "otherwise", "", "the variant for everyone else (default: the flag's default variant)")
	f.BoolVar(&r.everyone, "everyone", false, "immediate: the variant for everyone")
	f.IntVar(&r.percent, "percent", -1, "percentage: this share of targeting keys (0-100)")
	f.StringVar(&r.segment, "segment", "", "user segment: ATTR=v1,v2 (in), ATTR^=prefix, ATTR$=suffix, ATTR>=semver; several joined by ';' must all hold")
	f.StringVar(&r.gradual, "gradual", "", "gradual: START/END (RFC 3339) over --steps")
	f.Uint32Var(&r.steps, "steps", 4, "steps of a gradual ramp")
}

func (r *rolloutFlags) rollout() (*flagv1.Rollout, error) {
	out := &flagv1.Rollout{Variant: r.variant, Otherwise: r.otherwise}
	n := 0
	if r.everyone {
		out.Strategy, n = &flagv1.Rollout_Immediate{Immediate: &flagv1.ImmediateRollout{}}, n+1
	}
	if r.percent >= 0 {
		out.Strategy, n = &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: uint32(r.percent)}}, n+1
	}
	if r.segment != "" {
		seg := &flagv1.SegmentRollout{}
		for _, part := range strings.Split(r.segment, ";") {
			rule, err := parseSegmentRule(strings.TrimSpace(part))
			if err != nil {
				return nil, err
			}
			seg.Rules = append(seg.Rules, rule)
		}
		out.Strategy, n = &flagv1.Rollout_UserSegment{UserSegment: seg}, n+1
	}
	if r.gradual != "" {
		a, b, ok := strings.Cut(r.gradual, "/")
		start, err1 := time.Parse(time.RFC3339, a)
		end, err2 := time.Parse(time.RFC3339, b)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--gradual %q: START/END, both RFC 3339", r.gradual)
		}
		out.Strategy, n = &flagv1.Rollout_Gradual{Gradual: &flagv1.GradualRollout{Start: timestamppb.New(start), End: timestamppb.New(end), Steps: r.steps}}, n+1
	}
	if n != 1 {
		return nil, fmt.Errorf("give exactly one of --everyone, --percent, --segment or --gradual")
	}
	return out, nil
}

func parseSegmentRule(s string) (*flagv1.SegmentRule, error) {
	for _, op := range []struct {
		sep string
		op  flagv1.SegmentOperator
	}{{">=", flagv1.SegmentOperator_SEGMENT_OPERATOR_SEMVER_AT_LEAST}, {"^=", flagv1.SegmentOperator_SEGMENT_OPERATOR_STARTS_WITH},
		{"$=", flagv1.SegmentOperator_SEGMENT_OPERATOR_ENDS_WITH}, {"=", flagv1.SegmentOperator_SEGMENT_OPERATOR_IN}} {
		if attr, values, ok := strings.Cut(s, op.sep); ok && attr != "" {
			return &flagv1.SegmentRule{Attribute: attr, Operator: op.op, Values: strings.Split(values, ",")}, nil
		}
	}
	return nil, fmt.Errorf("segment rule %q: ATTR=v1,v2, ATTR^=prefix, ATTR$=suffix or ATTR>=version", s)
}

func newFlagsRolloutCmd(g *globals) *cobra.Command {
	var env, reason, release string
	var r rolloutFlags
	cmd := &cobra.Command{
		Use:   "rollout KEY --env ENV (--everyone | --percent N | --segment RULES | --gradual START/END) --reason TEXT",
		Short: "Set a flag's rollout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ro, err := r.rollout()
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).SetRollout(ctx, &flagv1.SetRolloutRequest{Environment: env, Key: args[0], Rollout: ro, Reason: reason, ReleaseId: release})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				_, err = fmt.Fprintf(g.out, "%s in %s: %s (position %d)\n", args[0], env, rolloutWords(resp.GetFlag()), resp.GetFlag().GetPosition())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&release, "release", "", "the release the change is made under (reverted if it is rolled back here)")
	r.add(cmd)
	return cmd
}

func newFlagsKillCmd(g *globals) *cobra.Command {
	var env, reason string
	cmd := &cobra.Command{
		Use:   "kill KEY --env ENV --reason TEXT",
		Short: "The kill switch: disable a flag at once (flag.kill)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).KillFlag(ctx, &flagv1.KillFlagRequest{Environment: env, Key: args[0], Reason: reason})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				_, err = fmt.Fprintf(g.out, "%s in %s: KILLED by %s (position %d)\n", args[0], env, resp.GetFlag().GetKill().GetBy(), resp.GetFlag().GetPosition())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func newFlagsScheduleCmd(g *globals) *cobra.Command {
	var env, reason, at, state string
	var r rolloutFlags
	cmd := &cobra.Command{
		Use:   "schedule KEY --env ENV --at TIME (--state enabled|disabled | rollout flags) --reason TEXT",
		Short: "Schedule a flag change (applied when due, across restarts)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := time.Parse(time.RFC3339, at)
			if err != nil {
				d, derr := time.ParseDuration(at)
				if derr != nil {
					return fmt.Errorf("--at %q: an RFC 3339 time or a duration from now", at)
				}
				when = time.Now().Add(d)
			}
			change := &flagv1.FlagChange{}
			if state != "" {
				v, ok := flagv1.FlagState_value["FLAG_STATE_"+strings.ToUpper(state)]
				if !ok || v == 0 {
					return fmt.Errorf("--state %q: enabled or disabled", state)
				}
				change.Change = &flagv1.FlagChange_State{State: flagv1.FlagState(v)}
			} else {
				ro, err := r.rollout()
				if err != nil {
					return err
				}
				change.Change = &flagv1.FlagChange_Rollout{Rollout: ro}
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).ScheduleChange(ctx, &flagv1.ScheduleChangeRequest{Environment: env, Key: args[0], At: timestamppb.New(when), Change: change, Reason: reason})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				_, err = fmt.Fprintf(g.out, "scheduled %s for %s\n", resp.GetChange().GetId(), resp.GetChange().GetAt().AsTime().UTC().Format(time.RFC3339))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&at, "at", "", "when: RFC 3339, or a duration from now (2h)")
	cmd.Flags().StringVar(&state, "state", "", "enable or disable the flag then")
	r.add(cmd)
	return cmd
}

func newFlagsHistoryCmd(g *globals) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "history KEY --env ENV",
		Short: "Every change of a flag: who, when, why, under which release",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).GetFlagHistory(ctx, &flagv1.GetFlagHistoryRequest{Environment: env, Key: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				entries := resp.GetEntries()
				sort.SliceStable(entries, func(i, j int) bool { return entries[i].GetPosition() < entries[j].GetPosition() })
				tw := newTable(g.out)
				fmt.Fprintln(tw, "POSITION\tTIME\tACTOR\tCHANGE\tREASON\tRELEASE")
				for _, e := range entries {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.GetPosition(), e.GetAt().AsTime().UTC().Format(time.RFC3339), e.GetActor(), e.GetSummary(), oneLine(e.GetReason(), 80), orDash(e.GetReleaseId()))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	return cmd
}

func newFlagsEvalCmd(g *globals) *cobra.Command {
	var env string
	var pairs []string
	cmd := &cobra.Command{
		Use:   "eval KEY --env ENV [--context k=v ...]",
		Short: "Evaluate a flag for a context and explain the result (which rule matched, which bucket)",
		Long: `eval evaluates a flag as every OpenFeature SDK does (flagd's rules) and explains
it: the branches taken and, for a percentage split, the bucketing value, its
murmur3 hash, the bucket and the weights. --context targetingKey=user-42
sets the targeting key; values that parse as JSON (numbers, true, false,
quoted strings, arrays) are taken as such, others as strings.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := evalContext(pairs)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).Evaluate(ctx, &flagv1.EvaluateRequest{Environment: env, Key: args[0], Context: c, Explain: true})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				e := resp.GetEvaluation()
				value, _ := protojson.Marshal(e.GetValue())
				fmt.Fprintf(g.out, "%s = %s (variant %s, reason %s)\n", e.GetKey(), value, orDash(e.GetVariant()), e.GetReason())
				if e.GetErrorCode() != "" {
					fmt.Fprintf(g.out, "error %s: %s\n", e.GetErrorCode(), e.GetErrorMessage())
				}
				if e.GetExplanation() != "" {
					fmt.Fprintf(g.out, "explanation:\n%s\n", e.GetExplanation())
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringArrayVar(&pairs, "context", nil, "an attribute of the evaluation context, key=value (repeatable)")
	return cmd
}

func newFlagsImportCmd(g *globals) *cobra.Command {
	var env, file, reason string
	cmd := &cobra.Command{
		Use:   "import --env ENV --file flags.json --reason TEXT",
		Short: "Add or replace flags from a flagd flag-definition file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := readFileOrStdin(file)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).ImportFlagd(ctx, &flagv1.ImportFlagdRequest{Environment: env, Definition: data, Reason: reason})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				_, err = fmt.Fprintf(g.out, "imported %d flag(s) into %s\n", len(resp.GetFlags()), env)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringVar(&file, "file", "-", "the flagd file (- for stdin)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func newFlagsExportCmd(g *globals) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "export --env ENV",
		Short: "Print an environment's flags as a flagd flag-definition file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).ExportFlagd(ctx, &flagv1.ExportFlagdRequest{Environment: env})
				if err != nil {
					return err
				}
				_, err = g.out.Write(resp.GetDefinition())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	return cmd
}
