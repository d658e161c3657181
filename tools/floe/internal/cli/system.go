package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

func envSet(name string) bool { _, ok := os.LookupEnv(name); return ok }

func newWhoAmICmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the principal and roles the server sees for your token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := systemv1.NewSystemServiceClient(conn).WhoAmI(ctx, &systemv1.WhoAmIRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				p := resp.GetPrincipal()
				tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "ID\t%s\nNAME\t%s\nAUTHENTICATOR\t%s\n", p.GetId(), p.GetName(), p.GetAuthenticator())
				for _, r := range p.GetRoles() {
					envs := "all environments"
					if len(r.GetEnvironments()) > 0 {
						envs = strings.Join(r.GetEnvironments(), ", ")
					}
					fmt.Fprintf(tw, "ROLE\t%s (%s)\n", r.GetRole(), envs)
				}
				return tw.Flush()
			})
		},
	}
}

func newInfoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show the server's version, environment and services",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := systemv1.NewSystemServiceClient(conn).GetServerInfo(ctx, &systemv1.GetServerInfoRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "VERSION\t%s\nENVIRONMENT\t%s\nSTARTED\t%s\n", resp.GetVersion(), resp.GetEnvironment(), resp.GetStartedAt().AsTime().Format("2006-01-02 15:04:05Z07:00"))
				for _, s := range resp.GetServices() {
					fmt.Fprintf(tw, "SERVICE\t%s\n", s)
				}
				return tw.Flush()
			})
		},
	}
}

func newVersionCmd(out io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the floe version",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(out, Version) },
	}
}

func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
