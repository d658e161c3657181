package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/enumtext"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
)

func newNotifyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Who was told what: notifications, their delivery, acknowledgements, receivers, template previews",
		Long: `The notifier tells people what Floe does (Slack, email, SMS, signed webhooks),
routed and grouped by its configuration (--notifier-config on the server). Each
notification is one message to one receiver, recorded with every delivery
attempt: delivered, retrying, dead-lettered after the last attempt, or muted
by a silence or maintenance window. Reading needs notify.read; acknowledging
an episode (which stops its escalation) notify.write.`,
	}
	cmd.AddCommand(newNotifyListCmd(g), newNotifyGetCmd(g), newNotifyAckCmd(g), newNotifyReceiversCmd(g), newNotifyPreviewCmd(g),
		newNotifySilenceCmd(g), newNotifyTestCmd(g), newNotifyRoutesCmd(g))
	return cmd
}

func notifyClient(conn *grpc.ClientConn) notifyv1.NotifyServiceClient {
	return notifyv1.NewNotifyServiceClient(conn)
}

func deliveryWord(s notifyv1.DeliveryStatus) string { return enumWord(s.String(), "DELIVERY_STATUS_") }

func newNotifyListCmd(g *globals) *cobra.Command {
	var receiver, status, episode string
	var limit uint32
	cmd := &cobra.Command{
		Use:   "list [--receiver NAME] [--status STATUS] [--episode KEY]",
		Short: "List notifications, newest first",
		Long: `list prints one line per notification: when it was decided, its receiver, its
delivery status (pending, sending, retrying, delivered, dead_lettered, muted),
its attempts and its subject. --episode shows those telling of one episode
(e.g. deployment/<deployment id>).

  floe notify list --status dead_lettered
  floe notify list --episode deployment/r1-production-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &notifyv1.ListNotificationsRequest{Receiver: receiver, Episode: episode, PageSize: limit}
			if status != "" {
				v, ok := enumtext.Parse[notifyv1.DeliveryStatus](strings.ToLower(strings.ReplaceAll(status, "-", "_")))
				if !ok {
					return fmt.Errorf("--status %q: want one of %s", status, strings.Join(enumtext.Names[notifyv1.DeliveryStatus](), ", "))
				}
				req.Status = v
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).ListNotifications(ctx, req)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "DECIDED\tID\tRECEIVER\tSTATUS\tATTEMPTS\tSUBJECT")
				for _, n := range resp.GetNotifications() {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", fmtTime(n.GetDecidedAt()), n.GetId(), n.GetReceiver(), deliveryWord(n.GetStatus()),
						n.GetAttempts(), oneLine(n.GetSubject(), 100))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if n := resp.GetTotal(); int(n) > len(resp.GetNotifications()) {
					fmt.Fprintf(g.errOut, "%d of %d shown (--limit)\n", len(resp.GetNotifications()), n)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&receiver, "receiver", "", "only this receiver's")
	cmd.Flags().StringVar(&status, "status", "", "only those in this delivery status")
	cmd.Flags().StringVar(&episode, "episode", "", "only those telling of this episode")
	cmd.Flags().Uint32Var(&limit, "limit", 50, "at most this many (at most 500)")
	return cmd
}

func newNotifyGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a notification: what it told of, to whom, and how its delivery went",
		Args:  positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).GetNotification(ctx, &notifyv1.GetNotificationRequest{Id: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetNotification())
				}
				n := resp.GetNotification()
				tw := newTable(g.out)
				fmt.Fprintf(tw, "ID\t%s\n", n.GetId())
				fmt.Fprintf(tw, "RECEIVER\t%s (%s)\n", n.GetReceiver(), orDash(n.GetReceiverKind()))
				fmt.Fprintf(tw, "SUBJECT\t%s\n", orDash(n.GetSubject()))
				fmt.Fprintf(tw, "REASON\t%s (message %d of the group to this receiver)\n", n.GetReason(), n.GetSeq())
				fmt.Fprintf(tw, "DECIDED\t%s\n", fmtTime(n.GetDecidedAt()))
				fmt.Fprintf(tw, "STATUS\t%s after %d attempt(s)\n", deliveryWord(n.GetStatus()), n.GetAttempts())
				if n.GetRef() != "" {
					fmt.Fprintf(tw, "REF\t%s\n", n.GetRef())
				}
				if n.GetLastError() != "" {
					fmt.Fprintf(tw, "ERROR\t%s\n", oneLine(n.GetLastError(), 0))
				}
				if n.GetNextAttemptAt() != nil {
					fmt.Fprintf(tw, "NEXT\t%s\n", fmtTime(n.GetNextAttemptAt()))
				}
				if n.GetMuted() {
					fmt.Fprintf(tw, "MUTED BY\t%s\n", strings.Join(n.GetMutedBy(), ", "))
				}
				fmt.Fprintf(tw, "GROUP\t%s (%s)\n", n.GetGroupId(), n.GetGroupKey())
				for _, e := range n.GetEpisodes() {
					fmt.Fprintf(tw, "EPISODE\t%s %s %s %s: %s\n", e.GetKey(), e.GetStatus(), orDash(e.GetSeverity()), orDash(e.GetEnvironment()), oneLine(e.GetSummary(), 0))
				}
				return tw.Flush()
			})
		},
	}
}

func newNotifyAckCmd(g *globals) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   "ack GROUP_ID EPISODE [--comment TEXT]",
		Short: "Acknowledge an episode: you took it on, its escalation stops",
		Long: `ack records that you took on an episode of a notification group (both are shown
by floe notify get): a critical episode's escalation stops.

  floe notify ack g-4f1c… deployment/r1-production-1 --comment "looking at the error rate"`,
		Args: positional("GROUP_ID", "EPISODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				if _, err := notifyClient(conn).AcknowledgeEpisode(ctx, &notifyv1.AcknowledgeEpisodeRequest{GroupId: args[0], Episode: args[1], Comment: comment}); err != nil {
					return err
				}
				_, err := fmt.Fprintf(g.out, "acknowledged %s\n", args[1])
				return err
			})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "a comment kept with the acknowledgement")
	return cmd
}

func newNotifyReceiversCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "receivers",
		Short: "List the configured receivers (credentials as their secret references)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).ListReceivers(ctx, &notifyv1.ListReceiversRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "NAME\tKIND\tSETTINGS")
				for _, r := range resp.GetReceivers() {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.GetName(), r.GetKind(), r.GetSettings())
				}
				return tw.Flush()
			})
		},
	}
}

func newNotifyPreviewCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "preview RECEIVER",
		Short: "Render sample notifications as RECEIVER would get them (its kind and templates)",
		Long: `preview renders the notifier's sample notifications (a failed production
deployment, an alert firing and resolved, an approval, an escalation) with the
receiver's kind and templates, and prints each: subject, text, and the HTML or
Slack blocks where the kind has them. A template that fails is reported and the
default used, as when sending.

  floe notify preview ops-slack`,
		Args: positional("RECEIVER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).PreviewNotification(ctx, &notifyv1.PreviewNotificationRequest{Receiver: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				for i, p := range resp.GetPreviews() {
					if i > 0 {
						fmt.Fprintln(g.out)
					}
					fmt.Fprintf(g.out, "== %s\nsubject: %s\n%s\n", p.GetSample(), p.GetSubject(), strings.TrimRight(p.GetText(), "\n"))
					if p.GetHtml() != "" {
						fmt.Fprintf(g.out, "-- html\n%s\n", strings.TrimRight(p.GetHtml(), "\n"))
					}
					if p.GetBlocks() != "" {
						fmt.Fprintf(g.out, "-- blocks\n%s\n", p.GetBlocks())
					}
					for _, w := range p.GetWarnings() {
						fmt.Fprintf(g.errOut, "warning (%s): %s\n", p.GetSample(), w)
					}
				}
				return nil
			})
		},
	}
}

func newNotifySilenceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Mute notifications for a while: add, expire and list silences",
		Long: `A silence mutes the notifications whose episodes its matchers all match, from
its start to its end: they are recorded as muted, never sent. Matchers are
Alertmanager's: name="value", name!="value", name=~"regexp", name!~"regexp",
on an episode's labels (environment, product, severity, type, episode and the
event's own). The configuration file's silences are listed too.`,
	}
	cmd.AddCommand(newNotifySilenceAddCmd(g), newNotifySilenceExpireCmd(g), newNotifySilenceListCmd(g))
	return cmd
}

func printSilences(g *globals, ss []*notifyv1.Silence) error {
	tw := newTable(g.out)
	fmt.Fprintln(tw, "ID\tSTATE\tENDS\tBY\tMATCHERS\tCOMMENT")
	for _, s := range ss {
		by := s.GetCreatedBy()
		if s.GetFromConfig() {
			by = orDash(by) + " (config)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.GetId(), s.GetState(), fmtTime(s.GetEndsAt()), orDash(by), strings.Join(s.GetMatchers(), ", "), oneLine(s.GetComment(), 60))
	}
	return tw.Flush()
}

func newNotifySilenceAddCmd(g *globals) *cobra.Command {
	var (
		matchers []string
		dur      time.Duration
		comment  string
		rid      string
	)
	cmd := &cobra.Command{
		Use:   "add --matcher M [--matcher M …] --for DURATION --comment TEXT",
		Short: "Add a silence (needs notify.write)",
		Long: `add mutes what every --matcher matches for --for (at most 90 days), from now.

  floe notify silence add --matcher 'environment="staging"' --matcher 'type=~"floe\.monitor\.v1\..*"' --for 2h --comment "load test"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(matchers) == 0 {
				return fmt.Errorf("--matcher is required: a silence of everything would mute every notification")
			}
			if dur <= 0 {
				return fmt.Errorf("--for is required: how long the silence lasts (e.g. 2h)")
			}
			if err := required("comment", comment, "say why these notifications are muted"); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).CreateSilence(ctx, &notifyv1.CreateSilenceRequest{RequestId: rid, Matchers: matchers,
					Duration: durationpb.New(dur), Comment: comment})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetSilence())
				}
				_, err = fmt.Fprintf(g.out, "silence %s until %s\n", resp.GetSilence().GetId(), fmtTime(resp.GetSilence().GetEndsAt()))
				return err
			})
		},
	}
	cmd.Flags().StringArrayVar(&matchers, "matcher", nil, `a matcher, e.g. 'environment="staging"' (repeatable; all must match)`)
	cmd.Flags().DurationVar(&dur, "for", 0, "how long (required)")
	cmd.Flags().StringVar(&comment, "comment", "", "why (required)")
	cmd.Flags().StringVar(&rid, "request-id", "", "idempotency key: a retry with the same one makes one silence")
	return cmd
}

func newNotifySilenceExpireCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "expire ID [--reason TEXT]",
		Short: "End a silence now (needs notify.write)",
		Args:  positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).ExpireSilence(ctx, &notifyv1.ExpireSilenceRequest{Id: args[0], Reason: reason})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetSilence())
				}
				_, err = fmt.Fprintf(g.out, "silence %s expired\n", args[0])
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why it ends early")
	return cmd
}

func newNotifySilenceListCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list [--all]",
		Short: "List the silences in force or to come (--all: the ended ones too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).ListSilences(ctx, &notifyv1.ListSilencesRequest{All: all})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printSilences(g, resp.GetSilences())
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "the ended silences too")
	return cmd
}

func newNotifyTestCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "test RECEIVER",
		Short: "Send a sample notification to a receiver now: a check of its settings and credentials (needs notify.write)",
		Args:  positional("RECEIVER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).TestReceiver(ctx, &notifyv1.TestReceiverRequest{Receiver: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if !resp.GetDelivered() {
					return fmt.Errorf("%s did not take the test message: %s", args[0], resp.GetError())
				}
				_, err = fmt.Fprintf(g.out, "%s took the test message %q (ref %s)\n", args[0], resp.GetSubject(), orDash(resp.GetRef()))
				return err
			})
		},
	}
}

func newNotifyRoutesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "routes",
		Short: "Show the routing tree as it applies: matchers, receivers, grouping and timing of each route",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyClient(conn).ListRoutes(ctx, &notifyv1.ListRoutesRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				for _, r := range resp.GetRoutes() {
					name := r.GetName()
					if name == "" {
						name = r.GetPath()
					}
					line := fmt.Sprintf("%s%s → %s", strings.Repeat("  ", int(r.GetDepth())), name, strings.Join(r.GetReceivers(), ", "))
					if m := r.GetMatchers(); len(m) > 0 {
						line += "  when " + strings.Join(m, ", ")
					}
					line += fmt.Sprintf("  (group by %s; wait %s, interval %s, repeat %s", orDash(strings.Join(r.GetGroupBy(), ", ")),
						r.GetGroupWait().AsDuration(), r.GetGroupInterval().AsDuration(), r.GetRepeatInterval().AsDuration())
					if c := r.GetCooldown().AsDuration(); c > 0 {
						line += fmt.Sprintf(", cooldown %s", c)
					}
					if e := r.GetEscalationReceivers(); len(e) > 0 {
						line += fmt.Sprintf(", escalate to %s after %s", strings.Join(e, ", "), r.GetEscalationAfter().AsDuration())
					}
					line += ")"
					if r.GetContinue() {
						line += " continue"
					}
					fmt.Fprintln(g.out, line)
				}
				return nil
			})
		},
	}
}
