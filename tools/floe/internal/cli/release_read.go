package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

func newReleaseGetCmd(g *globals) *cobra.Command {
	var atFlag string
	cmd := &cobra.Command{
		Use:     "get ID [--at POSITION|TIME]",
		Aliases: []string{"show"},
		Short:   "Show a release: environments, approvals, changes, prerequisites and risk",
		Long: `get shows a release as it is now, or with --at as it was at a log position
(floe release history lists its events' positions) or at a moment (RFC 3339 or
a date: the last position the log had stored then): rebuilt from its events up
to there, as the live view is built.`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseAsOf(atFlag)
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := releaseClient(conn).GetRelease(ctx, &releasev1.GetReleaseRequest{ReleaseId: args[0], AsOfPosition: at.Position, AsOfTime: at.Time})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if at.set() {
					fmt.Fprintf(g.out, "As of %s\n", strings.TrimPrefix(at.String(), "at "))
				}
				return printRelease(g.out, resp.GetRelease())
			})
		},
	}
	cmd.Flags().StringVar(&atFlag, "at", "", asOfUsage)
	return cmd
}

func newReleaseListCmd(g *globals) *cobra.Command {
	var (
		status, env, typ, text, product, pageToken string
		pageSize                                   uint32
		all                                        bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List releases, newest first",
		Long: `list shows releases newest first, one page at a time (--page-size, default 50 on
the server, at most 500). When there are more, it prints the --page-token for
the next page on stderr; --all fetches every page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &releasev1.ListReleasesRequest{Environment: strings.TrimSpace(env), Text: text, Product: strings.TrimSpace(product), PageSize: pageSize, PageToken: pageToken}
			var err error
			if status != "" {
				if req.Status, err = enumFlag[releasev1.ReleaseStatus]("status", status, nil); err != nil {
					return err
				}
			}
			if typ != "" {
				if req.Type, err = enumFlag[releasev1.ReleaseType]("type", typ, nil); err != nil {
					return err
				}
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				c := releaseClient(conn)
				resp, err := c.ListReleases(ctx, req)
				if err != nil {
					return err
				}
				for all && resp.GetNextPageToken() != "" {
					next := &releasev1.ListReleasesRequest{
						Status: req.Status, Environment: req.Environment, Type: req.Type, Text: req.Text,
						Product: req.Product, PageSize: req.PageSize, PageToken: resp.GetNextPageToken(),
					}
					page, err := c.ListReleases(ctx, next)
					if err != nil {
						return err
					}
					resp.Releases = append(resp.Releases, page.GetReleases()...)
					resp.NextPageToken = page.GetNextPageToken()
					resp.Total = page.GetTotal()
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				printReleaseList(g.out, resp.GetReleases())
				if resp.GetNextPageToken() != "" {
					fmt.Fprintf(g.errOut, "showing %d of %d; next page: --page-token %s (with the same filters), or --all\n",
						len(resp.GetReleases()), resp.GetTotal(), resp.GetNextPageToken())
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only releases with this overall status: "+strings.Join(enumChoices(releasev1.ReleaseStatus(0).Descriptor()), ", "))
	f.StringVar(&env, "env", "", "only releases targeting this environment")
	f.StringVar(&typ, "type", "", "only releases of this type: "+strings.Join(enumChoices(releasev1.ReleaseType(0).Descriptor()), ", "))
	f.StringVar(&text, "text", "", "case-insensitive substring of version, title, description or a change summary")
	f.StringVar(&product, "product", "", "only this product")
	f.Uint32Var(&pageSize, "page-size", 0, "releases per page (0: the server's default, 50; at most 500)")
	f.StringVar(&pageToken, "page-token", "", "page to start from (from the previous page's hint)")
	f.BoolVar(&all, "all", false, "fetch every page")
	completeEnum[releasev1.ReleaseStatus](cmd, "status")
	completeEnum[releasev1.ReleaseType](cmd, "type")
	return cmd
}

func printReleaseList(w io.Writer, rs []*releasev1.Release) {
	if len(rs) == 0 {
		fmt.Fprintln(w, "no releases match")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tVERSION\tTYPE\tSTATUS\tTITLE\tCREATED")
	for _, r := range rs {
		version := r.GetVersion()
		if p := r.GetProduct(); p != "" && p != "default" {
			version = p + " " + version
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.GetId(), version, enumName(r.GetType()), enumName(r.GetStatus()),
			oneLine(r.GetTitle(), 50), fmtTime(r.GetCreatedAt()))
	}
	_ = tw.Flush()
}

func newReleaseNotesCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "notes ID",
		Short: "Print the release notes (markdown, or JSON with --format json)",
		Long: `notes prints the release notes the server renders from the release's changes:
markdown by default, or the notes' JSON document with --format json. With
-o json the whole response (both forms) is printed instead.`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format = strings.ToLower(strings.TrimSpace(format))
			if format != "markdown" && format != "md" && format != "json" {
				return fmt.Errorf("--format %q: use markdown or json", format)
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := releaseClient(conn).GetReleaseNotes(ctx, &releasev1.GetReleaseNotesRequest{ReleaseId: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				text := resp.GetMarkdown()
				if format == "json" {
					text = resp.GetJson()
				}
				if !strings.HasSuffix(text, "\n") {
					text += "\n"
				}
				_, err = io.WriteString(g.out, text)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "markdown", "markdown or json")
	completeWords(cmd, "format", []string{"markdown", "json"})
	return cmd
}

func newReleaseHistoryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Show the release's events: who did what, when (oldest first)",
		Long: `history lists the release's events from the event log, oldest first: the
global log position, the release's version after the event, time, actor, event
name and a one-line summary. -o json adds correlation and causation ids and
each event's body.`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := releaseClient(conn).GetHistory(ctx, &releasev1.GetHistoryRequest{ReleaseId: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "POS\tVERSION\tTIME\tACTOR\tEVENT\tSUMMARY")
				for _, e := range resp.GetEntries() {
					fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", e.GetPosition(), e.GetVersion(), fmtTime(e.GetTime()),
						orDash(e.GetActor()), e.GetEvent(), oneLine(e.GetSummary(), 0))
				}
				return tw.Flush()
			})
		},
	}
}

func newReleaseWatchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a release: one line per change until Ctrl-C",
		Long: `watch streams the release: first its current state, then one line per event:
time, event name, overall status and each environment's status. It runs until
Ctrl-C or until the server ends the stream; --timeout applies only when given
explicitly (then watch stops quietly after that long). With -o json each update
is printed as one JSON object per line.`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.watch(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				return watchRelease(ctx, g, releaseClient(conn), args[0])
			})
		},
	}
}

func watchRelease(ctx context.Context, g *globals, c releasev1.ReleaseServiceClient, id string) error {
	stream, err := c.WatchRelease(ctx, &releasev1.WatchReleaseRequest{ReleaseId: id})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	line := protojson.MarshalOptions{EmitUnpopulated: true}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(g.errOut, "the server ended the watch")
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C or an explicit --timeout: a normal way to stop watching
			}
			return err
		}
		if g.output == "json" {
			b, err := line.Marshal(resp)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.out, string(b))
			continue
		}
		fmt.Fprintln(g.out, watchLine(resp, time.Now()))
	}
}

func newReleaseEnvsCmd(g *globals) *cobra.Command {
	var builtin bool
	cmd := &cobra.Command{
		Use:   "envs",
		Short: "List the environments and their promotion policies, in promotion order",
		Long: `envs lists the server's environments in promotion order: which environments a
release must reach first (AFTER), the approvals a promotion needs before risk
adds more, the roles whose holders may approve, and which predecessors a hotfix
may skip. --default prints the built-in environments file (YAML) without
contacting a server, as a starting point for the server's --environments-file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if builtin {
				_, err := io.WriteString(g.out, releasesvc.DefaultEnvironmentsYAML)
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := releaseClient(conn).ListEnvironments(ctx, &releasev1.ListEnvironmentsRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "NAME\tAFTER\tAPPROVALS\tAPPROVER ROLES\tHOTFIX MAY SKIP\tSTRATEGY\tPURPOSE")
				for _, e := range resp.GetEnvironments() {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.GetName(), joinOrDash(e.GetAfter()), e.GetRequiredApprovals(),
						joinOrDash(e.GetApproverRoles()), joinOrDash(e.GetHotfixMaySkip()), orDash(e.GetStrategy()), oneLine(e.GetPurpose(), 60))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&builtin, "default", false, "print the built-in environments file (YAML) and exit; no server needed")
	return cmd
}
