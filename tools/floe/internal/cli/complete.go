package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Shell completion from the server: a release argument (a command whose
// usage starts "<verb> ID") completes to the releases' IDs and
// PRODUCT@VERSION references, and every --env flag to the environments
// the release service knows. A completion that cannot reach the server
// offers nothing (the shell falls back to files off).
func (g *globals) addCompletions(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		g.addCompletions(c)
	}
	if fields := strings.Fields(cmd.Use); len(fields) > 1 && fields[1] == "ID" && cmd.ValidArgsFunction == nil {
		cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return g.completeReleases(cmd.Context(), toComplete), cobra.ShellCompDirectiveNoFileComp
		}
	}
	if cmd.Flags().Lookup("env") != nil {
		_ = cmd.RegisterFlagCompletionFunc("env", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return g.completeEnvironments(cmd.Context(), toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

func completionContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, 3*time.Second)
}

// completeWith runs f with a connection and a short deadline (nothing when the server cannot be reached).
func (g *globals) completeWith(ctx context.Context, f func(context.Context, releasev1.ReleaseServiceClient) []cobra.Completion) []cobra.Completion {
	conn, err := g.dial()
	if err != nil {
		return nil
	}
	defer conn.Close()
	ctx, cancel := completionContext(ctx)
	defer cancel()
	return f(ctx, releasev1.NewReleaseServiceClient(conn))
}

func (g *globals) completeReleases(ctx context.Context, prefix string) []cobra.Completion {
	return g.completeWith(ctx, func(ctx context.Context, c releasev1.ReleaseServiceClient) []cobra.Completion {
		return releaseCompletions(ctx, c, prefix)
	})
}

func releaseCompletions(ctx context.Context, c releasev1.ReleaseServiceClient, prefix string) []cobra.Completion {
	resp, err := c.ListReleases(ctx, &releasev1.ListReleasesRequest{PageSize: 200})
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, r := range resp.GetReleases() {
		ref := r.GetProduct() + "@" + r.GetVersion()
		for _, c := range []string{ref, r.GetId()} {
			if strings.HasPrefix(c, prefix) {
				out = append(out, cobra.CompletionWithDesc(c, ref+" "+r.GetTitle()))
			}
		}
	}
	return out
}

func (g *globals) completeEnvironments(ctx context.Context, prefix string) []cobra.Completion {
	return g.completeWith(ctx, func(ctx context.Context, c releasev1.ReleaseServiceClient) []cobra.Completion {
		return environmentCompletions(ctx, c, prefix)
	})
}

func environmentCompletions(ctx context.Context, c releasev1.ReleaseServiceClient, prefix string) []cobra.Completion {
	resp, err := c.ListEnvironments(ctx, &releasev1.ListEnvironmentsRequest{})
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, e := range resp.GetEnvironments() {
		if strings.HasPrefix(e.GetName(), prefix) {
			out = append(out, e.GetName())
		}
	}
	return out
}
