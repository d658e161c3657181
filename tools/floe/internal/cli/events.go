package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
)

func newEventsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Read the event log: floe events tail"}
	cmd.AddCommand(newEventsTailCmd(g))
	return cmd
}

func newEventsTailCmd(g *globals) *cobra.Command {
	var (
		f                 auditFlags
		aggregates, types []string
		id                string
		from              uint64
		last              int
		noFollowing       bool
	)
	cmd := &cobra.Command{
		Use:   "tail [--aggregate KIND]… [--type EVENT]… [--id ID] [--from POSITION | --last N] [--no-follow]",
		Short: "Print the log's events as they are appended, filtered",
		Long: `tail prints the event log's events — position, time, subject, actor and
the event's body — from the end (or --from a position, or the --last N
matching events) and then each new one as it is appended, until Ctrl-C
(--no-follow: stop at the end). Filters become the subscription's own
subject filters (floe.evt.<aggregate>.<id>.<Event>), so only matching events
are read: --aggregate release --type ReleaseDeployed, --id <release id>.
It reads NATS directly (like floe audit verify): the dev server's read-only
identity by default. With the trust store (--trust-store, or floe dev's),
every event is verified first, and one that fails is never printed.

  floe events tail --aggregate deployment
  floe events tail --type RollbackTriggered --type TriggerFired -o json
  floe events tail --id 01J... --from 1 --no-follow`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filters, err := eventFilters(aggregates, id, types)
			if err != nil {
				return err
			}
			if from > 0 && last > 0 {
				return errors.New("--from and --last: give one")
			}
			ctx := cmd.Context()
			conn, err := f.connect(ctx, g)
			if err != nil {
				return err
			}
			defer conn.Close()
			trust, _, err := f.trust(g)
			if err != nil {
				return err
			}
			print := func(e *eventstore.RecordedEvent) error { return printEvent(g, e) }
			var v *eventstore.Verifier
			if trust != nil {
				v = eventstore.NewVerifier(conn.JS, f.stream, trust)
				fmt.Fprintln(g.errOut, "each event is verified against the trust store before it is printed")
			}
			start := from
			if last > 0 {
				if start, err = lastStart(ctx, conn.JS, f.stream, filters, last); err != nil {
					return err
				}
			}
			stopAtEnd := func() {}
			fctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if noFollowing {
				stopAtEnd = cancel
			}
			switch {
			case start == 0 && !noFollowing && v != nil:
				err = v.Tail(fctx, filters, print, nil)
			case start == 0 && !noFollowing:
				err = eventstore.Tail(fctx, conn.JS, f.stream, filters, print, nil)
			case v != nil:
				err = v.FollowFrom(fctx, filters, max(start, 1), print, stopAtEnd)
			default:
				err = eventstore.FollowFrom(fctx, conn.JS, f.stream, filters, max(start, 1), print, stopAtEnd)
			}
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f.bindLog(cmd)
	fl := cmd.Flags()
	fl.StringSliceVar(&aggregates, "aggregate", nil, "only these aggregate kinds (release, deployment, gaterun, flagset, monitoring, change, …)")
	fl.StringSliceVar(&types, "type", nil, "only these event names (ReleaseDeployed, RollbackTriggered, …)")
	fl.StringVar(&id, "id", "", "only this aggregate id")
	fl.Uint64Var(&from, "from", 0, "start at this log position (default: the end)")
	fl.IntVar(&last, "last", 0, "start with the last N matching events")
	fl.BoolVar(&noFollowing, "no-follow", false, "stop at the end of the log instead of waiting for new events")
	return cmd
}

// eventFilters are the subject filters for the kinds, id and event names.
func eventFilters(aggregates []string, id string, types []string) ([]string, error) {
	var bad []string
	check := func(what string, vs ...string) {
		for _, v := range vs {
			if v != "" && !ident.Valid(v) {
				bad = append(bad, fmt.Sprintf("%s %q is not an identifier (%s)", what, v, ident.Description))
			}
		}
	}
	check("--aggregate", aggregates...)
	check("--type", types...)
	check("--id", id)
	if len(bad) > 0 {
		return nil, errors.New(strings.Join(bad, "; "))
	}
	if len(aggregates) == 0 {
		aggregates = []string{"*"}
	}
	if id == "" {
		id = "*"
	}
	if len(types) == 0 {
		types = []string{"*"}
	}
	var out []string
	for _, a := range aggregates {
		for _, t := range types {
			out = append(out, eventstore.SubjectPrefix+a+"."+id+"."+t)
		}
	}
	return out, nil
}

// lastStart is the position of the n-th last event matching filters (1 when fewer match).
func lastStart(ctx context.Context, js jetstream.JetStream, stream string, filters []string, n int) (uint64, error) {
	var positions []uint64
	for _, f := range filters {
		if err := eventstore.ReadRaw(ctx, js, stream, f, 1, 0, func(m *jetstream.RawStreamMsg) (bool, error) {
			positions = append(positions, m.Sequence)
			return true, nil
		}); err != nil {
			return 0, err
		}
	}
	if len(positions) <= n {
		return 1, nil
	}
	slices.Sort(positions)
	return positions[len(positions)-n], nil
}

func printEvent(g *globals, e *eventstore.RecordedEvent) error {
	if g.output == "json" {
		body := json.RawMessage(e.Data)
		if !json.Valid(body) {
			body = nil
		}
		b, err := json.Marshal(struct {
			Position uint64          `json:"position"`
			Time     string          `json:"time"`
			Subject  string          `json:"subject"`
			Event    string          `json:"event"`
			Actor    string          `json:"actor"`
			Data     json.RawMessage `json:"data,omitempty"`
		}{e.Seq, e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), e.Subject, e.Name, e.Actor, body})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(g.out, string(b))
		return err
	}
	data := string(e.Data)
	if len(data) > 300 {
		data = data[:300] + "…"
	}
	_, err := fmt.Fprintf(g.out, "%d  %s  %s  %s  %s\n", e.Seq, e.Time.UTC().Format("15:04:05.000"), e.Subject, e.Actor, data)
	return err
}
