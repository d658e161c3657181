package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

// viewPollInterval is how often `floe views rebuild --wait` asks for progress.
const viewPollInterval = 200 * time.Millisecond

// viewProgressInterval is the least time between two progress lines of `floe
// views rebuild --wait`.
const viewProgressInterval = time.Second

func newViewsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "views",
		Short: "List the server's read models and rebuild them",
		Long: `Queries are answered from views: read models the server projects from the
event log. Each view applies the log's events in order; its position is the
last log position it has applied. A view is live once it has caught up with
the log, and can be rebuilt: dropped and replayed from the start of the log.

Listing needs system.read (every role has it); rebuilding needs system.admin.`,
	}
	cmd.AddCommand(newViewsListCmd(g), newViewsRebuildCmd(g))
	return cmd
}

func newViewsListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the server's views: position, rows, state and skipped events",
		Long: `list shows one line per view: its position against the log's last position
(position/log), its number of rows, its state (live; catching up after a
start; rebuilding, with its progress) and how many events it could not apply
and skipped. -o json includes the skipped events themselves (position,
subject, type, error and time).

  floe views list
  floe views list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := systemv1.NewSystemServiceClient(conn).ListViews(ctx, &systemv1.ListViewsRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printViews(g.out, resp)
			})
		},
	}
}

// printViews writes the table of `floe views list`.
func printViews(w io.Writer, resp *systemv1.ListViewsResponse) error {
	if len(resp.GetViews()) == 0 {
		_, err := fmt.Fprintln(w, "no views")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tPOSITION\tROWS\tSTATE\tSKIPPED")
	for _, v := range resp.GetViews() {
		pos := fmt.Sprint(v.GetPosition())
		if lp := resp.GetLogPosition(); lp > 0 {
			pos += fmt.Sprintf("/%d", lp)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\n", v.GetName(), pos, v.GetRows(), viewState(v), len(v.GetSkipped()))
	}
	return tw.Flush()
}

// viewState is "live", "catching up" or "rebuilding 45%".
func viewState(v *systemv1.View) string {
	switch {
	case v.GetRebuilding():
		return fmt.Sprintf("rebuilding %d%%", percent(v.GetPosition(), v.GetTarget()))
	case !v.GetCaughtUp():
		return "catching up"
	}
	return "live"
}

// percent is how far pos is towards target, 0 to 100 (rounded down; 100
// when there is nothing to reach).
func percent(pos, target uint64) int {
	if target == 0 || pos >= target {
		return 100
	}
	return int(float64(pos) / float64(target) * 100)
}

func newViewsRebuildCmd(g *globals) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "rebuild NAME",
		Short: "Drop a view and replay the event log into it from the start",
		Long: `rebuild drops the view NAME (its rows and its checkpoint) and replays the event
log into it from the start; queries it serves wait or answer from the partial
view meanwhile. The server answers at once; 'floe views list' shows the
progress.

--wait follows the rebuild until the view has caught up with the position the
log had when it began, printing its progress at most once a second. --timeout
bounds each call, not the wait; Ctrl-C stops waiting (the rebuild goes on).
Needs system.admin.

  floe views rebuild releases
  floe views rebuild releases --wait`,
		Args: positional("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			ctx := cmd.Context()
			conn, err := g.dial()
			if err != nil {
				return err
			}
			defer conn.Close()
			c := systemv1.NewSystemServiceClient(conn)
			resp, err := rebuildView(ctx, g.timeout, c, name)
			if err != nil {
				return err
			}
			// With -o json, stdout holds only the JSON document.
			text := g.out
			if g.output == "json" {
				text = g.errOut
			}
			fmt.Fprintf(text, "rebuilding %s from the start of the log\n", name)
			if !wait {
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return nil
			}
			v, err := waitRebuilt(ctx, g.timeout, c, name, resp.GetView().GetTarget(), text)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(g.out, &systemv1.RebuildViewResponse{View: v})
			}
			fmt.Fprintf(g.out, "%s rebuilt: %s at position %d\n", name, count(int(v.GetRows()), "row", "rows"), v.GetPosition())
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the view is rebuilt, printing its progress")
	return cmd
}

// rebuildView calls RebuildView within timeout.
func rebuildView(ctx context.Context, timeout time.Duration, c systemv1.SystemServiceClient, name string) (*systemv1.RebuildViewResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.RebuildView(ctx, &systemv1.RebuildViewRequest{Name: name})
}

// findView lists the views (each call within timeout) and returns the one named name.
func findView(ctx context.Context, timeout time.Duration, c systemv1.SystemServiceClient, name string) (*systemv1.View, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := c.ListViews(ctx, &systemv1.ListViewsRequest{})
	if err != nil {
		return nil, err
	}
	for _, v := range resp.GetViews() {
		if v.GetName() == name {
			return v, nil
		}
	}
	return nil, fmt.Errorf("view %s is no longer listed by the server", name)
}

// waitRebuilt polls the views every viewPollInterval until name has caught
// up, is not rebuilding and has reached target, writing a progress line to w
// at most every viewProgressInterval. It returns the rebuilt view, or an
// error when ctx ends first (Ctrl-C) or a call fails.
func waitRebuilt(ctx context.Context, timeout time.Duration, c systemv1.SystemServiceClient, name string, target uint64, w io.Writer) (*systemv1.View, error) {
	tick := time.NewTicker(viewPollInterval)
	defer tick.Stop()
	lastLine := time.Now()
	for {
		v, err := findView(ctx, timeout, c, name)
		if err != nil {
			if ctx.Err() != nil {
				return nil, stoppedWaiting(ctx, name)
			}
			return nil, err
		}
		if v.GetCaughtUp() && !v.GetRebuilding() && v.GetPosition() >= target {
			return v, nil
		}
		if time.Since(lastLine) >= viewProgressInterval {
			lastLine = time.Now()
			fmt.Fprintf(w, "%s: %d/%d events (%d%%)\n", name, v.GetPosition(), target, percent(v.GetPosition(), target))
		}
		select {
		case <-ctx.Done():
			return nil, stoppedWaiting(ctx, name)
		case <-tick.C:
		}
	}
}

func stoppedWaiting(ctx context.Context, name string) error {
	return fmt.Errorf("stopped waiting for view %s (the rebuild goes on; see 'floe views list'): %w", name, ctx.Err())
}
