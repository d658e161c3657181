package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/penguinmails/floe/libs/conventional"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

func newReleaseNextCmd(g *globals) *cobra.Command {
	var (
		rangeSpec string
		current   string
		product   string
		repo      string
	)
	cmd := &cobra.Command{
		Use:   "next --from-commits RANGE",
		Short: "Suggest the next version and changes from conventional commits",
		Long: `next reads the commits of a git range (e.g. v1.4.2..HEAD) in --repo and suggests the
next semantic version and the release's changes, from Conventional Commits:
feat → minor; fix and perf → patch; '!' or a BREAKING CHANGE footer → major.
Below 1.0.0 a breaking change bumps the minor (0.3.4 → 0.4.0). A range of only
chore/docs/style/test/ci/build/refactor commits needs no release.

The current version is --current, else the start of the range when it is a
version tag (v1.4.2..HEAD), else the newest release of --product on the server.
It prints the suggestion and the 'floe release create' command that would plan it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rangeSpec == "" {
				return fmt.Errorf("--from-commits is required (a git range such as v1.4.2..HEAD)")
			}
			if current == "" {
				if from, _, ok := strings.Cut(rangeSpec, ".."); ok && looksLikeVersion(from) {
					current = from
				}
			}
			if current == "" {
				v, err := latestVersion(cmd.Context(), g, product)
				if err != nil {
					return fmt.Errorf("no --current given, the range does not start at a version tag, and the server could not tell: %w", err)
				}
				current = v
			}
			git := exec.CommandContext(cmd.Context(), "git", append([]string{"-C", repo}, conventional.GitLogArgs(rangeSpec)...)...)
			out, err := git.Output()
			if err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					return fmt.Errorf("git log %s: %s", rangeSpec, strings.TrimSpace(string(ee.Stderr)))
				}
				return fmt.Errorf("git: %w", err)
			}
			commits, err := conventional.ParseGitLog(out)
			if err != nil {
				return err
			}
			s, err := conventional.Suggest(current, commits)
			if err != nil {
				return err
			}
			if g.output == "json" {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			printSuggestion(g, s, product, len(commits))
			return nil
		},
	}
	cmd.Flags().StringVar(&rangeSpec, "from-commits", "", "git revision range to read, e.g. v1.4.2..HEAD")
	cmd.Flags().StringVar(&current, "current", "", "current version (default: from the range, else the server)")
	cmd.Flags().StringVar(&product, "product", "default", "product whose newest release is the current version")
	cmd.Flags().StringVar(&repo, "repo", ".", "git repository")
	return cmd
}

func looksLikeVersion(s string) bool {
	s = strings.TrimPrefix(s, "v")
	parts := strings.Split(strings.SplitN(s, "-", 2)[0], ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// latestVersion is the version of the product's newest release on the server.
func latestVersion(ctx context.Context, g *globals, product string) (string, error) {
	var v string
	err := g.call(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := releasev1.NewReleaseServiceClient(conn).ListReleases(ctx, &releasev1.ListReleasesRequest{Product: product, PageSize: 1})
		if err != nil {
			return err
		}
		if len(resp.GetReleases()) == 0 {
			v = "0.0.0"
			return nil
		}
		v = resp.GetReleases()[0].GetVersion()
		return nil
	})
	return v, err
}

func printSuggestion(g *globals, s conventional.Suggestion, product string, n int) {
	fmt.Fprintf(g.out, "commits   %d read, %d became changes, %d skipped\n", n, len(s.Changes), len(s.Skipped))
	fmt.Fprintf(g.out, "current   %s\n", s.Current)
	if s.Next == "" {
		fmt.Fprintln(g.out, "next      (no release needed)")
	} else {
		fmt.Fprintf(g.out, "next      %s (%s)\n", s.Next, s.Type)
	}
	for _, r := range s.Reasons {
		fmt.Fprintf(g.out, "  · %s\n", r)
	}
	if len(s.Changes) > 0 {
		fmt.Fprintln(g.out, "changes")
		for _, c := range s.Changes {
			fmt.Fprintf(g.out, "  %-12s %s\n", c.Kind, c.Summary)
		}
	}
	if s.Next == "" {
		return
	}
	args := []string{"floe release create", "--product " + shellQuote(product), "--version " + s.Next, "--type " + s.Type, "--title " + shellQuote("Release "+s.Next)}
	for _, c := range s.Changes {
		ch := c.Kind + ":" + c.Summary
		if c.Ticket != "" {
			ch += "@" + c.Ticket
		}
		args = append(args, "--change "+shellQuote(ch))
	}
	fmt.Fprintf(g.out, "to plan it:\n  %s\n", strings.Join(args, " \\\n    "))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
