package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/penguinmails/floe/libs/configdoc"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

// The approval of configuration changes, where the environments' policy
// requires it: see floe config --help.

func parseProposal(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("PROPOSAL %q: want the proposal's number, from 1 (floe config proposal ENV shows it)", s)
	}
	return n, nil
}

func newConfigProposalCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "proposal ENV",
		Short: "Show the environment's pending configuration proposal: what it changes, who proposed and approved it",
		Long: `proposal prints the pending proposal of ENV: its number, who proposed it and
why, the approvals it has and needs, and its changes from the current version
(+ added, - removed, ~ changed). -o json prints it with its whole document.

  floe config proposal production`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).GetConfig(ctx, &configv1.GetConfigRequest{Environment: args[0]})
				if err != nil {
					return err
				}
				p := resp.GetPending()
				if p == nil {
					return fmt.Errorf("%s has no pending configuration proposal", args[0])
				}
				if g.output == "json" {
					return printJSON(g.out, p)
				}
				if err := g.printProposal(p); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "reason: %s\n", oneLine(p.GetReason(), 0))
				for _, a := range p.GetApprovals() {
					fmt.Fprintf(g.out, "approved by %s (%s) at %s: %s\n", a.GetApprover(), orDash(strings.Join(a.GetRoles(), ", ")), fmtTime(a.GetTime()), orDash(oneLine(a.GetComment(), 0)))
				}
				_, err = fmt.Fprint(g.out, configdoc.Format(changesOf(p.GetChanges())))
				return err
			})
		},
	}
}

// changesOf turns the API's changes back into configdoc's, for its text form.
func changesOf(cs []*configv1.ConfigChange) []configdoc.Change {
	out := make([]configdoc.Change, 0, len(cs))
	for _, c := range cs {
		k := configdoc.Changed
		switch c.GetKind() {
		case configv1.ConfigChangeKind_CONFIG_CHANGE_KIND_ADDED:
			k = configdoc.Added
		case configv1.ConfigChangeKind_CONFIG_CHANGE_KIND_REMOVED:
			k = configdoc.Removed
		}
		var old, new any
		if c.GetOld() != nil {
			old = c.GetOld().AsInterface()
		}
		if c.GetNew() != nil {
			new = c.GetNew().AsInterface()
		}
		out = append(out, configdoc.Change{Path: c.GetPath(), Kind: k, Old: old, New: new})
	}
	return out
}

func newConfigApproveCmd(g *globals) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   "approve ENV PROPOSAL [--comment TEXT]",
		Short: "Approve an environment's pending configuration proposal",
		Long: `approve records your approval of proposal PROPOSAL of ENV. It needs one of the
environment's approver roles there; the proposer may not approve, nor anyone
twice. The approval that completes the count makes the proposal the
environment's next version, naming its approvers.

  floe config proposal production
  floe config approve production 3 --comment "pool sizes checked against the load test"`,
		Args: positional("ENV", "PROPOSAL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseProposal(args[1])
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: args[0], Proposal: n, Comment: comment})
				if err != nil {
					return err
				}
				if resp.GetConfig() != nil {
					return g.printConfigChange(resp.GetConfig(), nil)
				}
				return g.printConfigChange(nil, resp.GetProposal())
			})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "a comment kept with the approval")
	return cmd
}

func newConfigRejectCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "reject ENV PROPOSAL --reason TEXT",
		Short: "Reject (or, as its proposer, withdraw) an environment's pending configuration proposal",
		Long: `reject drops proposal PROPOSAL of ENV, with a reason kept in the log. It needs
one of the environment's approver roles there, unless you proposed it: then it
is a withdrawal.

  floe config reject production 3 --reason "200 connections exhaust the database"`,
		Args: positional("ENV", "PROPOSAL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseProposal(args[1])
			if err != nil {
				return err
			}
			if err := required("reason", reason, "say why the change is rejected (kept in the log)"); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).RejectConfigChange(ctx, &configv1.RejectConfigChangeRequest{Environment: args[0], Proposal: n, Reason: reason})
				if err != nil {
					return err
				}
				return g.printConfigChange(nil, resp.GetProposal())
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}
