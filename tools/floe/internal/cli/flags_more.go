package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// evalContext is an evaluation context from --context key=value pairs:
// values that parse as JSON are taken as such, others as strings.
func evalContext(pairs []string) (*structpb.Struct, error) {
	attrs := map[string]any{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--context %q: key=value", p)
		}
		var parsed any
		if err := json.Unmarshal([]byte(v), &parsed); err == nil {
			attrs[k] = parsed
		} else {
			attrs[k] = v
		}
	}
	return structpb.NewStruct(attrs)
}

func newFlagsUpdateCmd(g *globals) *cobra.Command {
	var env, file, reason string
	var expected uint64
	cmd := &cobra.Command{
		Use:   "update --env ENV --file FLAG.json --reason TEXT [--expected-position N]",
		Short: "Replace a flag's definition (variants, default, targeting, description, …) from its JSON",
		Long: `update replaces a flag's definition with the JSON given (a floe.flag.v1.Flag, as
'floe flags get' prints it: edit and send it back). --expected-position refuses
the change when the flag changed since that position (its "position" field),
so that an edit does not overwrite someone else's.

  floe flags get new-welcome --env staging > f.json; $EDITOR f.json
  floe flags update --env staging --file f.json --reason "copy fix" --expected-position 412`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required("reason", reason, "say why the flag changes (kept in its history)"); err != nil {
				return err
			}
			data, err := readFileOrStdin(file)
			if err != nil {
				return err
			}
			f := &flagv1.Flag{}
			if err := protojson.Unmarshal(data, f); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if env != "" {
				f.Environment = env
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).UpdateFlag(ctx, &flagv1.UpdateFlagRequest{Flag: f, Reason: reason, ExpectedPosition: expected})
				if err != nil {
					return err
				}
				return printJSON(g.out, resp.GetFlag())
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment (default: the JSON's environment)")
	cmd.Flags().StringVar(&file, "file", "-", "the flag's JSON (- for stdin)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().Uint64Var(&expected, "expected-position", 0, "refuse unless the flag is still at this position")
	return cmd
}

func newFlagsCancelCmd(g *globals) *cobra.Command {
	var env, id, reason string
	cmd := &cobra.Command{
		Use:   "cancel-scheduled KEY --env ENV --id CHANGE_ID --reason TEXT",
		Short: "Cancel a flag's scheduled change (its id: floe flags get)",
		Args:  positional("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("id", id, "the scheduled change's id (floe flags get KEY --env ENV lists them)"); err != nil {
				return err
			}
			if err := required("reason", reason, "say why the change is cancelled"); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				if _, err := flagClient(conn).CancelScheduledChange(ctx, &flagv1.CancelScheduledChangeRequest{Environment: env, Key: args[0], Id: id, Reason: reason}); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "scheduled change %s of %s in %s cancelled\n", id, args[0], env)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringVar(&id, "id", "", "the scheduled change's id (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func newFlagsEvalAllCmd(g *globals) *cobra.Command {
	var env string
	var pairs []string
	cmd := &cobra.Command{
		Use:   "eval-all --env ENV [--context k=v ...]",
		Short: "Evaluate every flag of an environment for a context (what an OpenFeature SDK's bulk evaluation sees)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := evalContext(pairs)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := flagClient(conn).EvaluateAll(ctx, &flagv1.EvaluateAllRequest{Environment: env, Context: c})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "KEY\tVALUE\tVARIANT\tREASON\tERROR")
				for _, e := range resp.GetEvaluations() {
					value, _ := protojson.Marshal(e.GetValue())
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.GetKey(), value, orDash(e.GetVariant()), e.GetReason(), orDash(e.GetErrorCode()))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "flag set version %d\n", resp.GetVersion())
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	cmd.Flags().StringArrayVar(&pairs, "context", nil, "an attribute of the evaluation context, key=value (repeatable)")
	return cmd
}

func newFlagsWatchCmd(g *globals) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "watch --env ENV",
		Short: "Follow an environment's flags: the set now, then a line per change, until Ctrl-C",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := g.dial()
			if err != nil {
				return err
			}
			defer conn.Close()
			stream, err := flagClient(conn).WatchFlags(cmd.Context(), &flagv1.WatchFlagsRequest{Environment: env})
			if err != nil {
				return err
			}
			for {
				msg, err := stream.Recv()
				if err != nil {
					if cmd.Context().Err() != nil {
						return nil
					}
					return err
				}
				if g.output == "json" {
					if err := printJSON(g.out, msg); err != nil {
						return err
					}
					continue
				}
				states := make([]string, 0, len(msg.GetFlags()))
				for _, f := range msg.GetFlags() {
					states = append(states, f.GetKey()+"="+flagState(f)+"("+rolloutWords(f)+")")
				}
				fmt.Fprintf(g.out, "── %s  %s: version %d, position %d: %s\n", time.Now().Format("15:04:05"), env, msg.GetVersion(), msg.GetPosition(), strings.Join(states, ", "))
			}
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment")
	return cmd
}
