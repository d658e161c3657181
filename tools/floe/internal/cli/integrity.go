package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	integrityv1 "github.com/penguinmails/floe/proto/gen/floe/integrity/v1"
)

func newIntegrityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "integrity",
		Short: "List events of the log that fail verification; acknowledge one",
		Long: `Every reader of the event log verifies each event before using it: its content
against its hash, its link to its aggregate's previous event, and its writer's
signature. An event that fails is never used: its aggregate refuses commands
and reads (AGGREGATE_TAMPERED), the first reader to find it records it
(TamperDetected) and counts it (floe_tamper_detected_total), and the rest of
the system goes on.

'floe integrity list' shows what was found; 'floe integrity ack POSITION
--reason ...' records an administrator's acknowledgement, after which readers
pass over that event and its aggregate works again. Listing needs
integrity.read (every role has it); acknowledging needs integrity.acknowledge
(security and admin).`,
	}
	cmd.AddCommand(newIntegrityListCmd(g), newIntegrityAckCmd(g))
	return cmd
}

func newIntegrityListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List detected bad events, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := integrityv1.NewIntegrityServiceClient(conn).ListTamperings(ctx, &integrityv1.ListTamperingsRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printTamperings(g.out, resp.GetTamperings())
			})
		},
	}
}

func printTamperings(w io.Writer, ts []*integrityv1.Tampering) error {
	if len(ts) == 0 {
		_, err := fmt.Fprintln(w, "no tampering detected")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "POSITION\tSUBJECT\tDETECTED\tBY\tSTATE\tREASON")
	for _, t := range ts {
		state := "OPEN"
		if t.GetAcknowledged() {
			state = fmt.Sprintf("acknowledged by %s: %s", t.GetAcknowledgedBy(), t.GetAcknowledgementReason())
		}
		detected := "-"
		if t.GetDetectedAt() != nil {
			detected = t.GetDetectedAt().AsTime().UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.GetPosition(), t.GetSubject(), detected, t.GetDetectedBy(), state, t.GetReason())
	}
	return tw.Flush()
}

func newIntegrityAckCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "ack POSITION --reason TEXT",
		Short: "Acknowledge the bad event at a log position (its aggregate works again)",
		Long: `ack records that an administrator has looked at the bad event at POSITION
(see 'floe integrity list' and 'floe audit verify') and that readers may pass
over it. The event is verified again first: one that verifies cannot be
acknowledged. The acknowledgement, with its reason and who gave it, is an
event of the log like any other.

  floe --as erin integrity ack 42 --reason "INC-1234: forged approval published with the ops NATS account; account revoked"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || pos == 0 {
				return fmt.Errorf("POSITION must be a log position (a positive integer), not %q", args[0])
			}
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("--reason is required: say what was found and why the event may be passed over")
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := integrityv1.NewIntegrityServiceClient(conn).AcknowledgeTampering(ctx, &integrityv1.AcknowledgeTamperingRequest{
					Position: pos, Reason: reason,
				})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				t := resp.GetTampering()
				_, err = fmt.Fprintf(g.out, "acknowledged the bad event at position %d (%s): readers pass over it from now on\n", t.GetPosition(), t.GetSubject())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the event may be passed over (required; kept in the log)")
	return cmd
}
