// Package statuspage runs the public status page (issue 16) on the command
// kernel: the page of internal/status is one aggregate ("statuspage", id
// "public") whose events are StatusPageChanged, each one of the model's
// changes as JSON; commands map one to one to the model's decide methods, and
// the page is rebuilt by applying the changes in log order. Auto opens,
// updates and resolves incidents from the log's events (critical alerts and
// rollbacks in production-class environments); Server is the
// floe.notify.v1.StatusService; View feeds the public HTTP pages
// (status.NewHandler).
//
// The page has no snapshots: status.Page keeps its state in unexported
// fields and has no encoding of its own, so a snapshot would have to copy the
// model's internals. A process loads the page once, from all its events, and
// the kernel's cache keeps it current from then on; a page gets a handful of
// events per incident, so the log stays small.
package statuspage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/status"
)

// Aggregate is the status page's aggregate kind.
const Aggregate = "statuspage"

// PageID is the id of the one public page.
const PageID = "public"

// Config describes the page: what the model's status.Config holds besides its id.
type Config struct {
	// Name is the page's title ("Floe").
	Name string
	// URL is the page's public address (incidents' shortlinks hang off it).
	URL string
	// Location is the page's time zone (uptime days, times in the JSON); nil is UTC.
	Location *time.Location
}

// Kind describes the page aggregate to the kernel: a new page has cfg's
// name, URL and time zone, and each StatusPageChanged is applied to it. It
// fails when cfg is not a valid page (a name, an absolute http(s) URL).
func Kind(cfg Config) (kernel.Kind[*status.Page], error) {
	if _, err := status.NewPage(pageConfig(PageID, cfg)); err != nil {
		return kernel.Kind[*status.Page]{}, fmt.Errorf("status page: %w", err)
	}
	return kernel.Kind[*status.Page]{
		Name: Aggregate,
		New: func(id string) *status.Page {
			// Valid for any aggregate id: the configuration was checked above,
			// and aggregate ids are page ids.
			p, _ := status.NewPage(pageConfig(id, cfg))
			return p
		},
		Apply: apply,
	}, nil
}

func pageConfig(id string, cfg Config) status.Config {
	return status.Config{ID: id, Name: cfg.Name, URL: cfg.URL, Location: cfg.Location}
}

// apply folds one recorded change into the page.
func apply(p *status.Page, e *eventstore.RecordedEvent) (*status.Page, error) {
	var ev notifyv1.StatusPageChanged
	if err := e.DecodeInto(&ev); err != nil {
		return nil, err
	}
	c, err := status.UnmarshalChange([]byte(ev.GetChange()))
	if err != nil {
		return nil, err
	}
	if c.Kind() != ev.GetKind() {
		return nil, fmt.Errorf("status page change at position %d: kind %q, but its change is %q", e.Seq, ev.GetKind(), c.Kind())
	}
	if err := p.Apply(c); err != nil {
		return nil, err
	}
	return p, nil
}

// events encodes changes as the events that record them.
func events(changes []status.Change) ([]proto.Message, error) {
	out := make([]proto.Message, 0, len(changes))
	for _, c := range changes {
		b, err := status.MarshalChange(c)
		if err != nil {
			return nil, err
		}
		out = append(out, &notifyv1.StatusPageChanged{Kind: c.Kind(), Change: string(b)})
	}
	return out, nil
}

// App runs the page's commands and reads.
type App struct {
	pages *kernel.Handler[*status.Page]
	now   func() time.Time
}

// New returns the App of the page described by cfg, on store (open for the
// statuspage aggregate).
func New(store eventstore.Store, cfg Config, now func() time.Time) (*App, error) {
	if store == nil {
		return nil, errors.New("status page: a store is required")
	}
	if now == nil {
		now = time.Now
	}
	kind, err := Kind(cfg)
	if err != nil {
		return nil, err
	}
	pages, err := kernel.New(store, kind, kernel.Options{Clock: now})
	if err != nil {
		return nil, err
	}
	return &App{pages: pages, now: now}, nil
}

// State is the page at one instant: the view the public pages render, and
// the uptime of every component (the view has only the showcased ones').
type State struct {
	View   status.View
	Uptime map[string]status.Uptime
}

func stateOf(p *status.Page, now time.Time) State {
	v := p.View(now)
	up := make(map[string]status.Uptime, len(v.Components))
	for _, c := range v.Components {
		if u, ok := v.Uptime[c.ID]; ok {
			up[c.ID] = u
		} else if u, ok := p.Uptime(c.ID, now, status.UptimeDays); ok {
			up[c.ID] = u
		}
	}
	return State{View: v, Uptime: up}
}

// State reads the page as it is now (confirmed against the log).
func (a *App) State(ctx context.Context) (State, error) {
	var out State
	err := a.pages.Read(ctx, PageID, func(p *status.Page, _ eventstore.Version, _ uint64) error {
		out = stateOf(p, a.now())
		return nil
	})
	return out, err
}

// View reads the page as the public pages show it (a status.ViewSource).
func (a *App) View(ctx context.Context) (status.View, error) {
	var out status.View
	err := a.pages.Read(ctx, PageID, func(p *status.Page, _ eventstore.Version, _ uint64) error {
		out = p.View(a.now())
		return nil
	})
	return out, err
}

// decision is a command on the page: the changes it leads to at now.
type decision func(p *status.Page, now time.Time) ([]status.Change, error)

// execute runs decide on the page (key: the idempotency key, "" for the
// context's) and returns the page after it.
func (a *App) execute(ctx context.Context, key string, decide decision) (State, error) {
	now := a.now()
	var out State
	_, err := a.pages.Execute(ctx, kernel.Command[*status.Page]{
		ID:  PageID,
		Key: key,
		Decide: func(p *status.Page) ([]proto.Message, error) {
			changes, err := decide(p, now)
			if err != nil {
				return nil, err
			}
			return events(changes)
		},
		Observe: func(p *status.Page) { out = stateOf(p, a.now()) },
	})
	return out, err
}

// newID is an id for something a command creates: derived from the
// command's idempotency key when it has one (a retry names the same
// thing), else unique.
func newID(ctx context.Context, prefix, salt string) string {
	if o, ok := causal.From(ctx); ok && o.Key != "" {
		sum := sha256.Sum256([]byte(o.Key + "\x00" + salt))
		return prefix + hex.EncodeToString(sum[:10])
	}
	return prefix + strings.ToLower(ulid.Make().String())
}

// AddComponent adds a component.
func (a *App) AddComponent(ctx context.Context, cmd status.AddComponent) (State, error) {
	return a.execute(ctx, "", func(p *status.Page, now time.Time) ([]status.Change, error) { return p.AddComponent(cmd, now) })
}

// SetComponentStatus sets a component's status by hand.
func (a *App) SetComponentStatus(ctx context.Context, cmd status.SetComponentStatus) (State, error) {
	return a.execute(ctx, "", func(p *status.Page, now time.Time) ([]status.Change, error) { return p.SetComponentStatus(cmd, now) })
}

// CreateIncident opens an incident; an empty ID or UpdateID is made (see
// newID). It returns the incident's id with the page.
func (a *App) CreateIncident(ctx context.Context, cmd status.CreateIncident) (string, State, error) {
	if cmd.ID == "" {
		cmd.ID = newID(ctx, "inc-", "incident")
	}
	if cmd.UpdateID == "" {
		cmd.UpdateID = newID(ctx, "upd-", "update")
	}
	st, err := a.execute(ctx, "", func(p *status.Page, now time.Time) ([]status.Change, error) { return p.CreateIncident(cmd, now) })
	return cmd.ID, st, err
}

// AddIncidentUpdate posts an update on an incident.
func (a *App) AddIncidentUpdate(ctx context.Context, cmd status.AddIncidentUpdate) (State, error) {
	if cmd.UpdateID == "" {
		cmd.UpdateID = newID(ctx, "upd-", "update")
	}
	return a.execute(ctx, "", func(p *status.Page, now time.Time) ([]status.Change, error) { return p.AddIncidentUpdate(cmd, now) })
}

// ResolveIncident resolves an open incident.
func (a *App) ResolveIncident(ctx context.Context, cmd status.ResolveIncident) (State, error) {
	if cmd.UpdateID == "" {
		cmd.UpdateID = newID(ctx, "upd-", "update")
	}
	return a.execute(ctx, "", func(p *status.Page, now time.Time) ([]status.Change, error) { return p.ResolveIncident(cmd, now) })
}

// ScheduleMaintenance plans a maintenance; an empty ID or UpdateID is made.
// It returns the maintenance's id with the page.
func (a *App) ScheduleMaintenance(ctx context.Context, cmd status.ScheduleMaintenance) (string, State, error) {
	if cmd.ID == "" {
		cmd.ID = newID(ctx, "mnt-", "maintenance")
	}
	if cmd.UpdateID == "" {
		cmd.UpdateID = newID(ctx, "upd-", "update")
	}
	st, err := a.execute(ctx, "", func(p *status.Page, now time.Time) ([]status.Change, error) { return p.ScheduleMaintenance(cmd, now) })
	return cmd.ID, st, err
}

// StartMaintenance starts a scheduled maintenance.
func (a *App) StartMaintenance(ctx context.Context, cmd status.StartMaintenance) (State, error) {
	if cmd.UpdateID == "" {
		cmd.UpdateID = newID(ctx, "upd-", "update")
	}
	return a.execute(ctx, "", func(p *status.Page, now time.Time) ([]status.Change, error) { return p.StartMaintenance(cmd, now) })
}

// CompleteMaintenance completes a maintenance under way.
func (a *App) CompleteMaintenance(ctx context.Context, cmd status.CompleteMaintenance) (State, error) {
	if cmd.UpdateID == "" {
		cmd.UpdateID = newID(ctx, "upd-", "update")
	}
	return a.execute(ctx, "", func(p *status.Page, now time.Time) ([]status.Change, error) { return p.CompleteMaintenance(cmd, now) })
}
