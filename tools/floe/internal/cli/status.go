package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/penguinmails/floe/libs/enumtext"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
)

func newStatusCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "The public status page: components, incidents, scheduled maintenance",
		Long: `The notifier keeps a public status page: components with their status
(operational, degraded_performance, partial_outage, major_outage,
under_maintenance) and 90-day uptime, incidents with their updates
(investigating, identified, monitoring, resolved, postmortem) and scheduled
maintenance. Anyone may read it, without a token, at /status on the notifier's
HTTP address (--notifier-http-addr, 127.0.0.1:7403 in floe dev): an HTML page
and Atlassian Statuspage's public JSON under /status/api/v2/ (summary.json,
status.json, components.json, incidents.json, incidents/unresolved.json,
scheduled-maintenances.json).

Incidents open by themselves from critical alerts and rollbacks in
production-class environments, on the product's component, and resolve when
the alert resolves or the rollback completes; people post updates, open and
resolve others here. With no subcommand, floe status prints the page as the
public sees it. Reading needs notify.read, changing it notify.write.

  floe status
  floe status incident open "Slow checkout" --body "We are investigating." --component payments=degraded_performance
  floe status incident update inc-4fb10ab2… --status identified --body "A slow database replica."
  floe status incident resolve inc-4fb10ab2…
  floe status maintenance schedule "Database upgrade" --from 2026-06-01T22:00:00Z --until 2026-06-01T23:00:00Z --component payments --body "Planned."`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := notifyv1.NewStatusServiceClient(conn).GetStatusPage(ctx, &notifyv1.GetStatusPageRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printStatusPage(g.out, resp)
			})
		},
	}
	cmd.AddCommand(newStatusComponentCmd(g), newStatusIncidentCmd(g), newStatusMaintenanceCmd(g))
	return cmd
}

// statusMutate runs a mutating StatusService call with a request id (see mutate).
func (g *globals) statusMutate(ctx context.Context, rid *requestID, fn func(context.Context, notifyv1.StatusServiceClient, string) error) error {
	id := rid.get()
	err := g.call(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, notifyv1.NewStatusServiceClient(conn), id)
	})
	if err != nil && rid.generated && outcomeUnknown(err) {
		fmt.Fprintf(g.errOut, "the request may or may not have been applied; to retry safely, repeat the command with --request-id %s\n", id)
	}
	return err
}

// printStatusPage writes the page: its status, components, open incidents and maintenance.
func printStatusPage(w io.Writer, p *notifyv1.GetStatusPageResponse) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "PAGE\t%s (%s)\n", p.GetName(), p.GetUrl())
	fmt.Fprintf(tw, "STATUS\t%s (%s)\n", p.GetDescription(), enumtext.Name(p.GetIndicator()))
	fmt.Fprintf(tw, "UPDATED\t%s\n", fmtTime(p.GetUpdatedAt()))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "COMPONENT\tSTATUS\tUPTIME (90 DAYS)\tNAME")
	for _, c := range p.GetComponents() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.GetId(), enumtext.Name(c.GetStatus()), uptimeText(c.GetUptime()), oneLine(c.GetName(), 60))
	}
	if len(p.GetComponents()) == 0 {
		fmt.Fprintln(tw, "(none: floe status component add, or the first incident of a product adds one)\t\t\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.GetIncidents()) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "INCIDENT\tSTATUS\tIMPACT\tSTARTED\tCOMPONENTS\tNAME")
		for _, in := range p.GetIncidents() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.GetId(), enumtext.Name(in.GetStatus()), enumtext.Name(in.GetImpact()), fmtTime(in.GetStartedAt()),
				joinOrDash(in.GetComponents()), oneLine(in.GetName(), 80))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(p.GetMaintenances()) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "MAINTENANCE\tSTATUS\tFROM\tUNTIL\tCOMPONENTS\tNAME")
		for _, m := range p.GetMaintenances() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.GetId(), enumtext.Name(m.GetStatus()), fmtTime(m.GetScheduledFor()), fmtTime(m.GetScheduledUntil()),
				joinOrDash(m.GetComponents()), oneLine(m.GetName(), 80))
		}
		return tw.Flush()
	}
	return nil
}

// uptimeText is a component's uptime with two decimals, cut rather than
// rounded so that any downtime shows below 100.00 (as the page shows it).
func uptimeText(u *notifyv1.StatusUptime) string {
	if !u.GetHasData() {
		return "-"
	}
	return fmt.Sprintf("%.2f %%", math.Floor(u.GetPercent()*100)/100)
}

// printIncident writes an incident and its updates, newest first.
func printIncident(w io.Writer, in *notifyv1.StatusIncident) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "INCIDENT\t%s\n", in.GetId())
	fmt.Fprintf(tw, "NAME\t%s\n", oneLine(in.GetName(), 0))
	fmt.Fprintf(tw, "STATUS\t%s (impact %s)\n", enumtext.Name(in.GetStatus()), enumtext.Name(in.GetImpact()))
	fmt.Fprintf(tw, "COMPONENTS\t%s\n", joinOrDash(in.GetComponents()))
	fmt.Fprintf(tw, "STARTED\t%s\n", fmtTime(in.GetStartedAt()))
	if in.GetResolvedAt() != nil {
		fmt.Fprintf(tw, "RESOLVED\t%s\n", fmtTime(in.GetResolvedAt()))
	}
	if in.GetShortlink() != "" {
		fmt.Fprintf(tw, "LINK\t%s\n", in.GetShortlink())
	}
	printUpdates(tw, in.GetUpdates())
	return tw.Flush()
}

// printMaintenance writes a maintenance and its updates, newest first.
func printMaintenance(w io.Writer, m *notifyv1.StatusMaintenance) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "MAINTENANCE\t%s\n", m.GetId())
	fmt.Fprintf(tw, "NAME\t%s\n", oneLine(m.GetName(), 0))
	fmt.Fprintf(tw, "STATUS\t%s\n", enumtext.Name(m.GetStatus()))
	fmt.Fprintf(tw, "WINDOW\t%s to %s\n", fmtTime(m.GetScheduledFor()), fmtTime(m.GetScheduledUntil()))
	fmt.Fprintf(tw, "COMPONENTS\t%s\n", joinOrDash(m.GetComponents()))
	printUpdates(tw, m.GetUpdates())
	return tw.Flush()
}

func printUpdates(w io.Writer, us []*notifyv1.StatusUpdate) {
	for _, u := range us {
		var moved []string
		for _, a := range u.GetAffected() {
			moved = append(moved, fmt.Sprintf("%s %s→%s", a.GetComponentId(), enumtext.Name(a.GetOldStatus()), enumtext.Name(a.GetNewStatus())))
		}
		line := fmt.Sprintf("%s %s: %s", fmtTime(u.GetAt()), u.GetStatus(), oneLine(u.GetBody(), 200))
		if len(moved) > 0 {
			line += " [" + strings.Join(moved, ", ") + "]"
		}
		fmt.Fprintf(w, "UPDATE\t%s\n", line)
	}
}

// parseComponentStatus reads a component status (operational, degraded_performance, …).
func parseComponentStatus(flag, s string) (notifyv1.ComponentStatus, error) {
	v, ok := enumtext.Parse[notifyv1.ComponentStatus](strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", "_")))
	if !ok {
		return 0, fmt.Errorf("%s %q: want one of %s", flag, s, strings.Join(enumtext.Names[notifyv1.ComponentStatus](), ", "))
	}
	return v, nil
}

// componentFlags reads --component ID=STATUS flags.
func componentFlags(specs []string) (map[string]notifyv1.ComponentStatus, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	out := map[string]notifyv1.ComponentStatus{}
	for _, s := range specs {
		id, st, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("--component %q: want COMPONENT=STATUS, e.g. payments=partial_outage", s)
		}
		v, err := parseComponentStatus("--component "+id, st)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSpace(id)] = v
	}
	return out, nil
}

func parseIncidentStatus(s string) (notifyv1.IncidentStatus, error) {
	if s == "" {
		return 0, nil
	}
	v, ok := enumtext.Parse[notifyv1.IncidentStatus](strings.ToLower(strings.TrimSpace(s)))
	if !ok {
		return 0, fmt.Errorf("--status %q: want one of %s", s, strings.Join(enumtext.Names[notifyv1.IncidentStatus](), ", "))
	}
	return v, nil
}

// ---- components ----

func newStatusComponentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "component",
		Short: "Add a component to the status page, or set its status",
	}
	cmd.AddCommand(newStatusComponentAddCmd(g), newStatusComponentSetCmd(g))
	return cmd
}

func newStatusComponentAddCmd(g *globals) *cobra.Command {
	var description, st string
	var position int32
	var hideUptime, onlyIfDegraded bool
	var rid requestID
	cmd := &cobra.Command{
		Use:   "add ID NAME [--description TEXT] [--position N] [--status STATUS] [--hide-uptime] [--only-show-if-degraded]",
		Short: "Add a component (operational unless --status says otherwise)",
		Long: `add puts a component on the page. Its ID (letters, digits, '-', '_', '.') is how
incidents name it; incidents opened from alerts and rollbacks use the product's
name, and add the component themselves when the page has none of that id.

  floe status component add payments "Payments API" --description "Card and invoice payments"`,
		Args: positional("ID", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &notifyv1.AddComponentRequest{Id: args[0], Name: args[1], Description: description, Position: position,
				HideUptime: hideUptime, OnlyShowIfDegraded: onlyIfDegraded}
			if st != "" {
				v, err := parseComponentStatus("--status", st)
				if err != nil {
					return err
				}
				req.Status = v
			}
			return g.statusMutate(cmd.Context(), &rid, func(ctx context.Context, c notifyv1.StatusServiceClient, id string) error {
				req.RequestId = id
				resp, err := c.AddComponent(ctx, req)
				if err != nil {
					return err
				}
				return printComponentMade(g, resp.GetComponent())
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the component is, for people")
	cmd.Flags().Int32Var(&position, "position", 0, "order on the page (lowest first, then by name)")
	cmd.Flags().StringVar(&st, "status", "", "its first status (default operational)")
	cmd.Flags().BoolVar(&hideUptime, "hide-uptime", false, "do not show its 90-day uptime bars")
	cmd.Flags().BoolVar(&onlyIfDegraded, "only-show-if-degraded", false, "hide it while it is operational")
	rid.bind(cmd)
	return cmd
}

func newStatusComponentSetCmd(g *globals) *cobra.Command {
	var rid requestID
	cmd := &cobra.Command{
		Use:   "set ID STATUS",
		Short: "Set a component's status by hand",
		Long: `set changes a component's status outside any incident: operational,
degraded_performance, partial_outage, major_outage or under_maintenance.
Setting the status it has changes nothing.

  floe status component set payments degraded_performance`,
		Args: positional("ID", "STATUS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := parseComponentStatus("STATUS", args[1])
			if err != nil {
				return err
			}
			return g.statusMutate(cmd.Context(), &rid, func(ctx context.Context, c notifyv1.StatusServiceClient, id string) error {
				resp, err := c.SetComponentStatus(ctx, &notifyv1.SetComponentStatusRequest{RequestId: id, ComponentId: args[0], Status: st})
				if err != nil {
					return err
				}
				return printComponentMade(g, resp.GetComponent())
			})
		},
	}
	rid.bind(cmd)
	return cmd
}

func printComponentMade(g *globals, c *notifyv1.StatusComponent) error {
	if g.output == "json" {
		return printJSON(g.out, c)
	}
	_, err := fmt.Fprintf(g.out, "component %s (%s): %s\n", c.GetId(), c.GetName(), enumtext.Name(c.GetStatus()))
	return err
}

// ---- incidents ----

func newStatusIncidentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "Open an incident, post an update on it, resolve it",
		Long: `An incident is investigating, identified or monitoring while open (in any
order), then resolved; a postmortem may follow. Each step posts an update (its
text is public) and may set components' statuses; resolving returns the
incident's components to operational unless another open incident holds them.`,
	}
	cmd.AddCommand(newStatusIncidentListCmd(g), newStatusIncidentOpenCmd(g), newStatusIncidentUpdateCmd(g), newStatusIncidentResolveCmd(g))
	return cmd
}

func newStatusIncidentListCmd(g *globals) *cobra.Command {
	var unresolved bool
	var limit uint32
	cmd := &cobra.Command{
		Use:   "list [--unresolved] [--limit N]",
		Short: "List the page's incidents, newest first, resolved ones too",
		Long: `list shows the status page's incidents, newest first: the resolved ones too
(floe status shows only the open ones), or with --unresolved only those still
open. --limit bounds how many (default 50); the list says when there are more.

  floe status incident list
  floe status incident list --unresolved`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit == 0 {
				return fmt.Errorf("--limit 0: give at least 1")
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				c := notifyv1.NewStatusServiceClient(conn)
				all := &notifyv1.ListIncidentsResponse{}
				req := &notifyv1.ListIncidentsRequest{UnresolvedOnly: unresolved}
				for uint32(len(all.Incidents)) < limit {
					req.PageSize = min(limit-uint32(len(all.Incidents)), 200)
					resp, err := c.ListIncidents(ctx, req)
					if err != nil {
						return err
					}
					all.Incidents, all.NextPageToken = append(all.Incidents, resp.GetIncidents()...), resp.GetNextPageToken()
					if resp.GetNextPageToken() == "" {
						break
					}
					req.PageToken = resp.GetNextPageToken()
				}
				if g.output == "json" {
					return printJSON(g.out, all)
				}
				if len(all.Incidents) == 0 {
					_, err := fmt.Fprintln(g.out, "no incidents")
					return err
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "INCIDENT\tSTATUS\tIMPACT\tSTARTED\tRESOLVED\tNAME")
				for _, in := range all.Incidents {
					resolved := "-"
					if in.GetResolvedAt() != nil {
						resolved = fmtTime(in.GetResolvedAt())
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.GetId(), enumtext.Name(in.GetStatus()), enumtext.Name(in.GetImpact()),
						fmtTime(in.GetStartedAt()), resolved, oneLine(in.GetName(), 60))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if all.NextPageToken != "" {
					_, err := fmt.Fprintf(g.out, "more incidents: --limit %d shows more\n", limit*2)
					return err
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&unresolved, "unresolved", false, "only the incidents still open")
	cmd.Flags().Uint32Var(&limit, "limit", 50, "at most this many incidents")
	return cmd
}

func newStatusIncidentOpenCmd(g *globals) *cobra.Command {
	var body, st, impact, startedAt, id, shortlink string
	var components []string
	var rid requestID
	cmd := &cobra.Command{
		Use:   "open NAME --body TEXT [--component ID=STATUS]… [--status STATUS] [--impact IMPACT] [--started-at TIME] [--id ID]",
		Short: "Open an incident",
		Long: `open creates an incident with its first update. --component sets the status of
each component it affects; the impact follows their worst status (major_outage:
critical, partial_outage: major, degraded_performance: minor) unless --impact
sets it (none, minor, major, critical).

  floe status incident open "Checkout errors" --body "We are investigating failed payments." --component payments=partial_outage`,
		Args: positional("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("body", body, "the first update's text"); err != nil {
				return err
			}
			req := &notifyv1.CreateIncidentRequest{Id: id, Name: args[0], Body: body, Shortlink: shortlink}
			var err error
			if req.Components, err = componentFlags(components); err != nil {
				return err
			}
			if req.Status, err = parseIncidentStatus(st); err != nil {
				return err
			}
			if impact != "" {
				v, ok := enumtext.Parse[notifyv1.IncidentImpact](strings.ToLower(strings.TrimSpace(impact)))
				if !ok {
					return fmt.Errorf("--impact %q: want one of %s", impact, strings.Join(enumtext.Names[notifyv1.IncidentImpact](), ", "))
				}
				req.Impact = v
			}
			if req.StartedAt, err = timeFlag("started-at", startedAt); err != nil {
				return err
			}
			return g.statusMutate(cmd.Context(), &rid, func(ctx context.Context, c notifyv1.StatusServiceClient, rq string) error {
				req.RequestId = rq
				resp, err := c.CreateIncident(ctx, req)
				if err != nil {
					return err
				}
				return incidentOut(g, resp.GetIncident())
			})
		},
	}
	cmd.Flags().StringVar(&body, "body", "", "the first update's text (required; public)")
	cmd.Flags().StringArrayVar(&components, "component", nil, "COMPONENT=STATUS: a component it affects and the status it takes (repeatable)")
	cmd.Flags().StringVar(&st, "status", "", "investigating (default), identified or monitoring")
	cmd.Flags().StringVar(&impact, "impact", "", "none, minor, major or critical (default: from the components' statuses)")
	cmd.Flags().StringVar(&startedAt, "started-at", "", "when it began (RFC 3339; default now)")
	cmd.Flags().StringVar(&id, "id", "", "its id (default: one is made)")
	cmd.Flags().StringVar(&shortlink, "shortlink", "", "a link of its own (default: its address on the page)")
	rid.bind(cmd)
	return cmd
}

func newStatusIncidentUpdateCmd(g *globals) *cobra.Command {
	var body, st string
	var components []string
	var rid requestID
	cmd := &cobra.Command{
		Use:   "update ID --body TEXT [--status STATUS] [--component ID=STATUS]…",
		Short: "Post an update on an incident",
		Long: `update posts a public update: its text, optionally a new status (investigating,
identified, monitoring; resolved resolves it; postmortem follows resolution) and
components' statuses.

  floe status incident update deployment-3f1c… --status monitoring --body "A fix is live; we are watching error rates."`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("body", body, "the update's text"); err != nil {
				return err
			}
			req := &notifyv1.AddIncidentUpdateRequest{IncidentId: args[0], Body: body}
			var err error
			if req.Components, err = componentFlags(components); err != nil {
				return err
			}
			if req.Status, err = parseIncidentStatus(st); err != nil {
				return err
			}
			return g.statusMutate(cmd.Context(), &rid, func(ctx context.Context, c notifyv1.StatusServiceClient, rq string) error {
				req.RequestId = rq
				resp, err := c.AddIncidentUpdate(ctx, req)
				if err != nil {
					return err
				}
				return incidentOut(g, resp.GetIncident())
			})
		},
	}
	cmd.Flags().StringVar(&body, "body", "", "the update's text (required; public)")
	cmd.Flags().StringVar(&st, "status", "", "the incident's new status (default: unchanged)")
	cmd.Flags().StringArrayVar(&components, "component", nil, "COMPONENT=STATUS: a component's new status (repeatable)")
	rid.bind(cmd)
	return cmd
}

func newStatusIncidentResolveCmd(g *globals) *cobra.Command {
	var body string
	var components []string
	var rid requestID
	cmd := &cobra.Command{
		Use:   "resolve ID [--body TEXT] [--component ID=STATUS]…",
		Short: "Resolve an incident",
		Long: `resolve closes an open incident with a last update. Its components not named by
--component go back to operational, unless another open incident holds them.

  floe status incident resolve deployment-3f1c… --body "Payments work normally again."`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &notifyv1.ResolveIncidentRequest{IncidentId: args[0], Body: body}
			var err error
			if req.Components, err = componentFlags(components); err != nil {
				return err
			}
			return g.statusMutate(cmd.Context(), &rid, func(ctx context.Context, c notifyv1.StatusServiceClient, rq string) error {
				req.RequestId = rq
				resp, err := c.ResolveIncident(ctx, req)
				if err != nil {
					return err
				}
				return incidentOut(g, resp.GetIncident())
			})
		},
	}
	cmd.Flags().StringVar(&body, "body", "This incident has been resolved.", "the last update's text (public)")
	cmd.Flags().StringArrayVar(&components, "component", nil, "COMPONENT=STATUS: a status other than operational for a component (repeatable)")
	rid.bind(cmd)
	return cmd
}

func incidentOut(g *globals, in *notifyv1.StatusIncident) error {
	if g.output == "json" {
		return printJSON(g.out, in)
	}
	return printIncident(g.out, in)
}

// ---- maintenance ----

func newStatusMaintenanceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "Schedule maintenance, start it, complete it",
		Long: `A maintenance is scheduled for a window, then started (its components go under
maintenance) and completed (they go back to operational unless another active
maintenance holds them). The page shows upcoming and active maintenance.`,
	}
	cmd.AddCommand(newStatusMaintenanceScheduleCmd(g), newStatusMaintenanceStepCmd(g, "start"), newStatusMaintenanceStepCmd(g, "complete"))
	return cmd
}

func newStatusMaintenanceScheduleCmd(g *globals) *cobra.Command {
	var body, from, until, id, shortlink string
	var components []string
	var rid requestID
	cmd := &cobra.Command{
		Use:   "schedule NAME --from TIME --until TIME --body TEXT [--component ID]…",
		Short: "Schedule a maintenance",
		Long: `schedule plans a maintenance of components in a window (RFC 3339 times, or dates
at 00:00 UTC); the window must end in the future.

  floe status maintenance schedule "Database upgrade" --from 2026-06-01T22:00:00Z --until 2026-06-01T23:00:00Z \
    --component payments --body "Payments may be slow for a few minutes."`,
		Args: positional("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("body", body, "the first update's text"); err != nil {
				return err
			}
			req := &notifyv1.ScheduleMaintenanceRequest{Id: id, Name: args[0], Body: body, Shortlink: shortlink, Components: components}
			var err error
			if req.ScheduledFor, err = timeFlag("from", from); err != nil {
				return err
			}
			if req.ScheduledUntil, err = timeFlag("until", until); err != nil {
				return err
			}
			return g.statusMutate(cmd.Context(), &rid, func(ctx context.Context, c notifyv1.StatusServiceClient, rq string) error {
				req.RequestId = rq
				resp, err := c.ScheduleMaintenance(ctx, req)
				if err != nil {
					return err
				}
				return maintenanceOut(g, resp.GetMaintenance())
			})
		},
	}
	cmd.Flags().StringVar(&body, "body", "", "the first update's text (required; public)")
	cmd.Flags().StringVar(&from, "from", "", "when it starts (required)")
	cmd.Flags().StringVar(&until, "until", "", "when it ends (required)")
	cmd.Flags().StringArrayVar(&components, "component", nil, "a component it puts under maintenance (repeatable)")
	cmd.Flags().StringVar(&id, "id", "", "its id (default: one is made)")
	cmd.Flags().StringVar(&shortlink, "shortlink", "", "a link of its own")
	rid.bind(cmd)
	return cmd
}

// newStatusMaintenanceStepCmd is start or complete.
func newStatusMaintenanceStepCmd(g *globals, step string) *cobra.Command {
	var body string
	var rid requestID
	short, long := "Start a scheduled maintenance: its components go under maintenance",
		`start moves a scheduled maintenance to in progress and puts its components
under maintenance; --body replaces Statuspage's usual wording.

  floe status maintenance start mnt-96d5d725…`
	if step == "complete" {
		short, long = "Complete a maintenance: its components go back to operational",
			`complete ends a maintenance in progress; its components go back to operational
unless another active maintenance holds them.

  floe status maintenance complete mnt-96d5d725… --body "The upgrade is done."`
	}
	cmd := &cobra.Command{
		Use:   step + " ID [--body TEXT]",
		Short: short,
		Long:  long,
		Args:  positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.statusMutate(cmd.Context(), &rid, func(ctx context.Context, c notifyv1.StatusServiceClient, rq string) error {
				var m *notifyv1.StatusMaintenance
				if step == "complete" {
					resp, err := c.CompleteMaintenance(ctx, &notifyv1.CompleteMaintenanceRequest{RequestId: rq, MaintenanceId: args[0], Body: body})
					if err != nil {
						return err
					}
					m = resp.GetMaintenance()
				} else {
					resp, err := c.StartMaintenance(ctx, &notifyv1.StartMaintenanceRequest{RequestId: rq, MaintenanceId: args[0], Body: body})
					if err != nil {
						return err
					}
					m = resp.GetMaintenance()
				}
				return maintenanceOut(g, m)
			})
		},
	}
	cmd.Flags().StringVar(&body, "body", "", "the update's text (public; default: Statuspage's usual wording)")
	rid.bind(cmd)
	return cmd
}

func maintenanceOut(g *globals, m *notifyv1.StatusMaintenance) error {
	if g.output == "json" {
		return printJSON(g.out, m)
	}
	return printMaintenance(g.out, m)
}
