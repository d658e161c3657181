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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
)

func windowClient(conn *grpc.ClientConn) changev1.WindowServiceClient {
	return changev1.NewWindowServiceClient(conn)
}

// recurrenceHelp explains --weekly and --cron.
const recurrenceHelp = `--weekly "DAYS HH:MM": weekdays (mon … sun, full names too; ranges such as
mon-fri, which may wrap: fri-mon; or daily) and a 24-hour start time;
--cron "MIN HOUR DOM MONTH DOW": a five-field cron expression (or @daily,
@weekly, …). Both are read on the wall clock of --tz (an IANA zone, default
UTC); an occurrence lasts --duration (minutes, or a Go duration: 4h, 90m).`

// weekdays are the weekday names the API takes, Monday first.
var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// weekdayIndex reads a weekday ("Mon", "monday") as its index in weekdays.
func weekdayIndex(s string) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, d := range weekdays {
		if s == d || s == strings.ToLower(time.Weekday((i+1)%7).String()) {
			return i, true
		}
	}
	return 0, false
}

// parseWeekly reads --weekly "mon,tue,wed 09:00" ("mon-fri 06:30", "daily
// 03:00") into a weekly recurrence: days Monday first, the time as HH:MM.
func parseWeekly(s string) (*changev1.Recurrence, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return nil, fmt.Errorf("--weekly %q: want DAYS HH:MM, e.g. \"mon,tue,wed 09:00\" or \"mon-fri 22:00\"", s)
	}
	list := strings.ToLower(fields[0])
	if list == "daily" {
		list = "mon-sun"
	}
	var set [7]bool
	for _, item := range strings.Split(list, ",") {
		a, b, isRange := strings.Cut(item, "-")
		from, ok := weekdayIndex(a)
		if !ok {
			return nil, fmt.Errorf("--weekly %q: %q is not a weekday: want %s (or a range, e.g. mon-fri)", s, a, strings.Join(weekdays, ", "))
		}
		to := from
		if isRange {
			if to, ok = weekdayIndex(b); !ok {
				return nil, fmt.Errorf("--weekly %q: %q is not a weekday: want %s", s, b, strings.Join(weekdays, ", "))
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			set[d] = true
			if d == to {
				break
			}
		}
	}
	r := &changev1.Recurrence{}
	for i, on := range set {
		if on {
			r.Days = append(r.Days, weekdays[i])
		}
	}
	at, err := time.Parse("15:04", fields[1])
	if err != nil {
		return nil, fmt.Errorf("--weekly %q: %q is not a time of day: want HH:MM, 24-hour (09:00, 22:30)", s, fields[1])
	}
	r.At = at.Format("15:04")
	return r, nil
}

// parseCronFlag reads --cron: five fields, or an @-macro. The server checks
// the fields themselves.
func parseCronFlag(s string) (*changev1.Recurrence, error) {
	s = strings.Join(strings.Fields(s), " ")
	if !strings.HasPrefix(s, "@") && len(strings.Fields(s)) != 5 {
		return nil, fmt.Errorf("--cron %q: want five fields, minute hour day-of-month month day-of-week (\"0 9 * * 1-5\"), or @daily, @weekly, …", s)
	}
	return &changev1.Recurrence{Cron: s}, nil
}

// recurrenceFlags reads --weekly or --cron; nil when neither is given.
func recurrenceFlags(weekly, cron string) (*changev1.Recurrence, error) {
	weekly, cron = strings.TrimSpace(weekly), strings.TrimSpace(cron)
	switch {
	case weekly != "" && cron != "":
		return nil, errors.New("give --weekly or --cron, not both")
	case weekly != "":
		return parseWeekly(weekly)
	case cron != "":
		return parseCronFlag(cron)
	}
	return nil, nil
}

// recurrenceText writes a recurrence as the flags take it.
func recurrenceText(r *changev1.Recurrence) string {
	if r.GetCron() != "" {
		return "cron " + r.GetCron()
	}
	if len(r.GetDays()) == 0 && r.GetAt() == "" {
		return "-"
	}
	return strings.Join(r.GetDays(), ",") + " " + r.GetAt()
}

// validityText is a definition's validity period, "-" when unbounded.
func validityText(from, until *timestamppb.Timestamp) string {
	switch {
	case from == nil && until == nil:
		return "-"
	case until == nil:
		return "from " + fmtTime(from)
	case from == nil:
		return "until " + fmtTime(until)
	}
	return fmtTime(from) + " to " + fmtTime(until)
}

// expiresFlag reads --expires: a time, a date, or a Go duration from now.
func expiresFlag(s string, now time.Time) (*timestamppb.Timestamp, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return nil, fmt.Errorf("--expires %q: a duration must be positive", s)
		}
		return timestamppb.New(now.Add(d)), nil
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, fmt.Errorf("--expires: %w, or a duration from now (8h)", err)
	}
	return t, nil
}

// ---- floe window ----

func newWindowCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "window",
		Short: "Deployment windows and the calendar of each environment",
		Long: `A deployment window is a recurring period in which promotions to one
environment are allowed: an environment with windows is closed outside them
(rollbacks always pass). Freezes ('floe freeze') close environments whatever
their windows. Changes are scheduled into windows ('floe change schedule').

Listing needs change.read; creating and deleting windows change.calendar.

` + recurrenceHelp,
	}
	cmd.AddCommand(newWindowCreateCmd(g), newWindowDeleteCmd(g), newWindowListCmd(g))
	return cmd
}

// windowFlags are the flags of `floe window create`.
type windowFlags struct {
	id, env, name, weekly, cron, duration, tz, from, until string
	maintenance                                            bool
}

// request builds the CreateWindowRequest.
func (f *windowFlags) request() (*changev1.CreateWindowRequest, error) {
	if err := errors.Join(required("env", f.env, "the environment the window opens"), required("name", f.name, "")); err != nil {
		return nil, err
	}
	rec, err := recurrenceFlags(f.weekly, f.cron)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errors.New(`give --weekly "mon-fri 09:00" or --cron "0 9 * * 1-5": when the window opens`)
	}
	w := &changev1.DeploymentWindow{Id: strings.TrimSpace(f.id), Environment: strings.TrimSpace(f.env), Name: strings.TrimSpace(f.name),
		Recurrence: rec, TimeZone: strings.TrimSpace(f.tz), Maintenance: f.maintenance}
	if w.DurationMinutes, w.ValidFrom, w.ValidUntil, err = occurrences(f.duration, f.from, f.until, "how long each occurrence lasts, e.g. 4h"); err != nil {
		return nil, err
	}
	return &changev1.CreateWindowRequest{Window: w}, nil
}

func newWindowCreateCmd(g *globals) *cobra.Command {
	var (
		f   windowFlags
		rid requestID
	)
	cmd := &cobra.Command{
		Use:   "create --env ENV --name NAME (--weekly \"DAYS HH:MM\" | --cron EXPR) --duration D [--tz ZONE] [--maintenance] [--from T] [--until T] [--id ID]",
		Short: "Define a deployment window (or replace one, by --id)",
		Long: `create adds a recurring deployment window to an environment, or replaces the
window of that --id. From then on the environment is closed to promotions
outside its windows. --maintenance marks a window for changes that expect
downtime. --from and --until bound the period the window applies in (RFC 3339,
or a date meaning 00:00 UTC). It prints the window and its next occurrence.
Needs change.calendar.

` + recurrenceHelp,
		Example: `  floe window create --env production --name "Weekday mornings" --weekly "mon-fri 09:00" --duration 4h --tz Europe/Berlin
  floe window create --env production --name "Sunday maintenance" --cron "0 2 * * 0" --duration 3h --tz UTC --maintenance --id prod-sunday`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := f.request()
			if err != nil {
				return err
			}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := windowClient(conn).CreateWindow(ctx, req)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printWindowCreated(g.out, resp)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.env, "env", "", "the environment it opens (required)")
	fl.StringVar(&f.name, "name", "", "a name for people (required)")
	fl.StringVar(&f.weekly, "weekly", "", `weekdays and a start time: "mon,tue,wed 09:00", "mon-fri 22:00", "daily 03:00"`)
	fl.StringVar(&f.cron, "cron", "", `a five-field cron expression instead: "0 9 * * 1-5"`)
	fl.StringVar(&f.duration, "duration", "", "how long each occurrence lasts: minutes or a Go duration (4h, 90m) (required)")
	fl.StringVar(&f.tz, "tz", "UTC", "the IANA time zone the times are in, e.g. Europe/Berlin")
	fl.BoolVar(&f.maintenance, "maintenance", false, "a maintenance window (for changes that expect downtime)")
	fl.StringVar(&f.from, "from", "", "it applies from then (RFC 3339 or a date)")
	fl.StringVar(&f.until, "until", "", "it applies until then (RFC 3339 or a date)")
	fl.StringVar(&f.id, "id", "", "its id (default: one is made); an existing id is replaced")
	rid.bind(cmd)
	return cmd
}

// printWindowCreated writes a created window: its id first, then the window and its next occurrence.
func printWindowCreated(w io.Writer, resp *changev1.CreateWindowResponse) error {
	win := resp.GetWindow()
	fmt.Fprintf(w, "window %s created\n", win.GetId())
	tw := newTable(w)
	fmt.Fprintf(tw, "NAME\t%s\n", oneLine(win.GetName(), 0))
	fmt.Fprintf(tw, "ENVIRONMENT\t%s\n", win.GetEnvironment())
	fmt.Fprintf(tw, "WHEN\t%s for %s (%s)\n", recurrenceText(win.GetRecurrence()), fmtMinutes(win.GetDurationMinutes()), orDash(win.GetTimeZone()))
	fmt.Fprintf(tw, "VALID\t%s\n", validityText(win.GetValidFrom(), win.GetValidUntil()))
	if win.GetMaintenance() {
		fmt.Fprintf(tw, "MAINTENANCE\tyes\n")
	}
	if resp.GetNextStart() != nil {
		fmt.Fprintf(tw, "NEXT\t%s to %s\n", fmtTime(resp.GetNextStart()), fmtTime(resp.GetNextEnd()))
	} else {
		fmt.Fprintf(tw, "NEXT\tnone (no occurrence within its validity)\n")
	}
	return tw.Flush()
}

// newCalendarDeleteCmd is `floe window delete` or `floe freeze delete`.
func newCalendarDeleteCmd(g *globals, what string) *cobra.Command {
	var (
		reason string
		rid    requestID
	)
	short, long, example := "Remove a deployment window",
		`delete removes a deployment window; an environment left with none is no longer
closed outside windows. Needs change.calendar.`,
		`  floe window delete prod-sunday --reason "maintenance moved to Saturdays"`
	if what == "freeze" {
		short, long, example = "Lift a freeze",
			`delete lifts a freeze: promotions to its environments pass again (subject to
their windows). Needs change.calendar.`,
			`  floe freeze delete frz-quarter-end --reason "quarter closed early"`
	}
	cmd := &cobra.Command{
		Use:     "delete ID --reason TEXT",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "why the "+what+" goes"); err != nil {
				return err
			}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				c := windowClient(conn)
				var (
					resp proto.Message
					err  error
				)
				if what == "freeze" {
					resp, err = c.DeleteFreeze(ctx, &changev1.DeleteFreezeRequest{Id: args[0], Reason: reason})
				} else {
					resp, err = c.DeleteWindow(ctx, &changev1.DeleteWindowRequest{Id: args[0], Reason: reason})
				}
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				_, err = fmt.Fprintf(g.out, "%s %s deleted\n", what, args[0])
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	rid.bind(cmd)
	return cmd
}

func newWindowDeleteCmd(g *globals) *cobra.Command { return newCalendarDeleteCmd(g, "window") }

func newWindowListCmd(g *globals) *cobra.Command {
	var env, at string
	cmd := &cobra.Command{
		Use:   "list [--env ENV] [--at T]",
		Short: "The calendar: windows, freezes, overrides and each environment's state",
		Long: `list prints the deployment windows, the freezes, the freeze overrides, and the
state of each environment at --at (default now): OPEN (a promotion would pass;
until when its window ends), FROZEN (by which freeze, until when) or CLOSED
(outside its windows; when the next opens), with the calendar's verdict.
Needs change.read.`,
		Example: `  floe window list
  floe window list --env production --at 2026-12-24T10:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &changev1.ListWindowsRequest{Environment: strings.TrimSpace(env)}
			var err error
			if req.At, err = timeFlag("at", at); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := windowClient(conn).ListWindows(ctx, req)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printCalendar(g.out, resp, req.At)
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	cmd.Flags().StringVar(&at, "at", "", "the moment whose state to show (RFC 3339 or a date; default now)")
	return cmd
}

// calendarState is an environment's state (OPEN, FROZEN, CLOSED) and the
// moment it changes.
func calendarState(e *changev1.EnvironmentCalendar) (state, when string) {
	switch {
	case e.GetOpen():
		if e.GetWindowId() == "" {
			return "OPEN", "no windows"
		}
		return "OPEN", fmt.Sprintf("until %s (window %s)", fmtTime(e.GetWindowEnd()), e.GetWindowId())
	case e.GetFrozenBy() != "":
		return "FROZEN", fmt.Sprintf("until %s (freeze %s)", fmtTime(e.GetFrozenUntil()), e.GetFrozenBy())
	}
	if e.GetNextOpen() == nil {
		return "CLOSED", "no window ahead"
	}
	return "CLOSED", "next open " + fmtTime(e.GetNextOpen())
}

// freezeWhen is a freeze's period: one-off or recurring.
func freezeWhen(f *changev1.Freeze) string {
	if f.GetRecurrence() != nil {
		s := fmt.Sprintf("%s for %s (%s)", recurrenceText(f.GetRecurrence()), fmtMinutes(f.GetDurationMinutes()), orDash(f.GetTimeZone()))
		if v := validityText(f.GetValidFrom(), f.GetValidUntil()); v != "-" {
			s += ", " + v
		}
		return s
	}
	return fmtTime(f.GetStart()) + " to " + fmtTime(f.GetEnd())
}

// envsOrAll lists a freeze's environments; none means every one.
func envsOrAll(envs []string) string {
	if len(envs) == 0 {
		return "(all)"
	}
	return strings.Join(envs, ", ")
}

// printCalendar writes `floe window list`.
func printCalendar(w io.Writer, resp *changev1.ListWindowsResponse, at *timestamppb.Timestamp) error {
	if len(resp.GetWindows()) == 0 {
		fmt.Fprintln(w, "no deployment windows: environments are open unless frozen")
	}
	tw := newTable(w)
	if len(resp.GetWindows()) > 0 {
		fmt.Fprintln(tw, "WINDOW\tENV\tNAME\tWHEN\tDURATION\tTZ\tMAINTENANCE\tVALID")
	}
	for _, win := range resp.GetWindows() {
		maint := "no"
		if win.GetMaintenance() {
			maint = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", win.GetId(), win.GetEnvironment(), oneLine(win.GetName(), 40), recurrenceText(win.GetRecurrence()),
			fmtMinutes(win.GetDurationMinutes()), orDash(win.GetTimeZone()), maint, validityText(win.GetValidFrom(), win.GetValidUntil()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(resp.GetFreezes()) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "FREEZE\tENVS\tWHEN\tBY\tREASON")
		for _, f := range resp.GetFreezes() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.GetId(), envsOrAll(f.GetEnvironments()), freezeWhen(f), orDash(f.GetCreatedBy()), oneLine(f.GetReason(), 80))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(resp.GetOverrides()) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "OVERRIDE OF\tENV\tFOR\tGRANTED BY\tGRANTED\tEXPIRES\tREASON")
		for _, o := range resp.GetOverrides() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.GetFreezeId(), o.GetEnvironment(), o.GetRequestedBy(), o.GetOverriddenBy(),
				fmtTime(o.GetGrantedAt()), fmtTime(o.GetExpiresAt()), oneLine(o.GetReason(), 80))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	moment := "now"
	if at != nil {
		moment = fmtTime(at)
	}
	tw = newTable(w)
	fmt.Fprintf(tw, "ENVIRONMENT (%s)\tSTATE\tUNTIL / NEXT\tVERDICT\n", moment)
	for _, e := range resp.GetEnvironments() {
		state, when := calendarState(e)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.GetEnvironment(), state, when, oneLine(e.GetVerdict(), 120))
	}
	return tw.Flush()
}

// ---- floe freeze ----

func newFreezeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "freeze",
		Short: "Freezes: periods in which promotions to environments are refused",
		Long: `A freeze refuses every promotion to its environments (all of them when it names
none), automatic ones included; rollbacks still pass. It is one-off (--start,
--end) or recurring (--weekly or --cron, --duration, --tz). One person's
promotions may pass a freeze in one environment by an override another person
grants ('floe freeze override'). 'floe window list' shows freezes and overrides.

Creating and deleting freezes needs change.calendar; overriding change.override
in the environment.`,
	}
	cmd.AddCommand(newFreezeCreateCmd(g), newCalendarDeleteCmd(g, "freeze"), newFreezeOverrideCmd(g))
	return cmd
}

// freezeFlags are the flags of `floe freeze create`.
type freezeFlags struct {
	id, reason, start, end, weekly, cron, duration, tz, from, until string
	envs                                                            []string
}

// request builds the CreateFreezeRequest: one-off (--start, --end) or recurring.
func (f *freezeFlags) request() (*changev1.CreateFreezeRequest, error) {
	if err := required("reason", f.reason, "why promotions are refused (shown with every refusal)"); err != nil {
		return nil, err
	}
	fr := &changev1.Freeze{Id: strings.TrimSpace(f.id), Environments: nonEmpty(f.envs), Reason: f.reason}
	rec, err := recurrenceFlags(f.weekly, f.cron)
	if err != nil {
		return nil, err
	}
	if fr.Start, err = timeFlag("start", f.start); err != nil {
		return nil, err
	}
	if fr.End, err = timeFlag("end", f.end); err != nil {
		return nil, err
	}
	switch {
	case rec != nil && (fr.Start != nil || fr.End != nil):
		return nil, errors.New("give --start and --end (one-off), or --weekly/--cron with --duration (recurring), not both")
	case rec == nil && (fr.Start == nil || fr.End == nil):
		return nil, errors.New(`give --start and --end (one-off), or --weekly "fri 18:00"/--cron with --duration (recurring)`)
	case rec == nil && !fr.End.AsTime().After(fr.Start.AsTime()):
		return nil, fmt.Errorf("--end %s is not after --start %s", fmtTime(fr.End), fmtTime(fr.Start))
	case rec == nil && (f.duration != "" || f.from != "" || f.until != ""):
		return nil, errors.New("--duration, --from and --until are for a recurring freeze (--weekly or --cron)")
	case rec == nil:
		return &changev1.CreateFreezeRequest{Freeze: fr}, nil
	}
	fr.Recurrence, fr.TimeZone = rec, strings.TrimSpace(f.tz)
	if fr.DurationMinutes, fr.ValidFrom, fr.ValidUntil, err = occurrences(f.duration, f.from, f.until, "how long each occurrence of a recurring freeze lasts, e.g. 60h"); err != nil {
		return nil, err
	}
	return &changev1.CreateFreezeRequest{Freeze: fr}, nil
}

// occurrences reads a recurrence's --duration (required; hint says what it
// is) and its optional --from and --until validity.
func occurrences(duration, from, until, hint string) (minutes uint32, validFrom, validUntil *timestamppb.Timestamp, err error) {
	if err = required("duration", duration, hint); err != nil {
		return 0, nil, nil, err
	}
	if minutes, err = minutesFlag("duration", duration); err != nil {
		return 0, nil, nil, err
	}
	if validFrom, err = timeFlag("from", from); err != nil {
		return 0, nil, nil, err
	}
	validUntil, err = timeFlag("until", until)
	return minutes, validFrom, validUntil, err
}

func newFreezeCreateCmd(g *globals) *cobra.Command {
	var (
		f   freezeFlags
		rid requestID
	)
	cmd := &cobra.Command{
		Use:   "create [--env ENV]… --reason TEXT (--start T --end T | --weekly \"DAYS HH:MM\" | --cron EXPR --duration D [--tz ZONE]) [--id ID]",
		Short: "Declare a freeze",
		Long: `create declares a freeze of the --env environments (every environment when none
is given): one-off from --start to --end (RFC 3339, or a date meaning 00:00 UTC),
or recurring (--weekly or --cron, each occurrence lasting --duration, in --tz;
--from and --until bound the period it recurs in). Needs change.calendar.

` + recurrenceHelp,
		Example: `  floe freeze create --env production --reason "Quarter-end close" --start 2026-12-28 --end 2027-01-04
  floe freeze create --env production --env staging --reason "No Friday-evening deploys" --weekly "fri 16:00" --duration 64h --tz Europe/Berlin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := f.request()
			if err != nil {
				return err
			}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := windowClient(conn).CreateFreeze(ctx, req)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				fr := resp.GetFreeze()
				fmt.Fprintf(g.out, "freeze %s created\n", fr.GetId())
				tw := newTable(g.out)
				fmt.Fprintf(tw, "ENVIRONMENTS\t%s\n", envsOrAll(fr.GetEnvironments()))
				fmt.Fprintf(tw, "WHEN\t%s\n", freezeWhen(fr))
				fmt.Fprintf(tw, "REASON\t%s\n", oneLine(fr.GetReason(), 0))
				return tw.Flush()
			})
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.envs, "env", nil, "an environment it freezes; repeat or separate with commas (default: every one)")
	fl.StringVar(&f.reason, "reason", "", "why (required; shown with every refused promotion)")
	fl.StringVar(&f.start, "start", "", "a one-off freeze's start (RFC 3339 or a date)")
	fl.StringVar(&f.end, "end", "", "a one-off freeze's end, exclusive (RFC 3339 or a date)")
	fl.StringVar(&f.weekly, "weekly", "", `a recurring freeze's weekdays and start time: "fri 16:00"`)
	fl.StringVar(&f.cron, "cron", "", `a recurring freeze's start as a cron expression: "0 16 * * 5"`)
	fl.StringVar(&f.duration, "duration", "", "how long each occurrence of a recurring freeze lasts (64h, 90m)")
	fl.StringVar(&f.tz, "tz", "UTC", "the IANA time zone of a recurring freeze, e.g. Europe/Berlin")
	fl.StringVar(&f.from, "from", "", "a recurring freeze applies from then (RFC 3339 or a date)")
	fl.StringVar(&f.until, "until", "", "a recurring freeze applies until then (RFC 3339 or a date)")
	fl.StringVar(&f.id, "id", "", "its id (default: one is made)")
	rid.bind(cmd)
	return cmd
}

func newFreezeOverrideCmd(g *globals) *cobra.Command {
	var (
		env, forWhom, reason, expires string
		rid                           requestID
	)
	cmd := &cobra.Command{
		Use:   "override FREEZE_ID --env ENV --for PRINCIPAL --reason TEXT [--expires T]",
		Short: "Let one person's promotions through a freeze in one environment",
		Long: `override lets the promotions of --for (not you: the override is granted by a
second person) pass the freeze in one environment, during the freeze period in
effect now, or until --expires (RFC 3339, a date, or a duration from now such as
8h). The reason is recorded and shown in the compliance report.
Needs change.override in the environment.`,
		Example: `  floe freeze override frz-quarter-end --env production --for alice --reason "INC-4411: payment outage hotfix" --expires 4h`,
		Args:    positional("FREEZE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := errors.Join(required("env", env, "the environment the override applies in"),
				required("for", forWhom, "whose promotions it lets through"), required("reason", reason, "why the freeze must be passed")); err != nil {
				return err
			}
			exp, err := expiresFlag(expires, time.Now())
			if err != nil {
				return err
			}
			req := &changev1.OverrideFreezeRequest{FreezeId: args[0], Environment: strings.TrimSpace(env), RequestedBy: strings.TrimSpace(forWhom), Reason: reason, ExpiresAt: exp}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := windowClient(conn).OverrideFreeze(ctx, req)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				o := resp.GetOverride()
				_, err = fmt.Fprintf(g.out, "override of freeze %s in %s for %s granted by %s (%s); expires %s\n", o.GetFreezeId(), o.GetEnvironment(),
					o.GetRequestedBy(), o.GetOverriddenBy(), joinOrDash(o.GetRoles()), fmtTime(o.GetExpiresAt()))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment (required)")
	cmd.Flags().StringVar(&forWhom, "for", "", "the principal whose promotions pass (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&expires, "expires", "", "when it ends (RFC 3339, a date, or a duration such as 8h; default: with the freeze period)")
	rid.bind(cmd)
	return cmd
}
