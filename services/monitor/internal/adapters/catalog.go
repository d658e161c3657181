// Package adapters connects the monitor to NATS: the catalog of
// definitions and watched deployments, a projection of the log.
package adapters

import (
	"context"
	"encoding/json"
	"maps"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/app"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// CatalogView is the catalog's view name (checkpoint bucket view_monitor_catalog).
const CatalogView = "monitor_catalog"

// Row is one catalog entry: a definition (alive or deleted: a deleted name
// stays known) or a deployment being monitored.
type Row struct {
	Trigger *domain.Trigger   `json:"trigger,omitempty"`
	Rule    *domain.AlertRule `json:"rule,omitempty"`
	Deleted bool              `json:"deleted,omitempty"`
	Active  bool              `json:"active,omitempty"`
}

// Catalog implements app.Catalog on a projection every instance keeps in
// memory: alert rules, rollback triggers and active monitorings.
type Catalog struct {
	proj     *projection.Projection[Row]
	triggers map[string]domain.Trigger
	rules    map[string]domain.AlertRule
	active   map[string]bool
	known    map[string]bool // "<aggregate>.<name>" of every definition ever saved
}

var _ app.Catalog = (*Catalog)(nil)

// CatalogSpec is the catalog's projection spec; the maps it keeps are c's.
func CatalogSpec(c *Catalog) projection.Spec[Row] {
	c.reset()
	return projection.Spec[Row]{
		Name: CatalogView,
		Filters: []string{
			eventstore.KindFilter(app.AggTrigger), eventstore.KindFilter(app.AggAlertRule),
			eventstore.EventFilter(&monitorv1.MonitoringStarted{}), eventstore.EventFilter(&monitorv1.MonitoringEnded{}),
		},
		Keys: func(e *eventstore.RecordedEvent) []string { return []string{e.Aggregate + "-" + e.AggregateID} },
		Fold: func(r Row, exists bool, e *eventstore.RecordedEvent) (Row, bool, error) {
			m, err := e.Decode()
			if err != nil {
				return r, exists, err
			}
			switch ev := m.(type) {
			case *monitorv1.RollbackTriggerSaved:
				t := domain.TriggerFromProto(ev.GetTrigger())
				return Row{Trigger: &t}, true, nil
			case *monitorv1.RollbackTriggerDeleted, *monitorv1.AlertRuleDeleted:
				return Row{Deleted: true}, true, nil
			case *monitorv1.AlertRuleSaved:
				rule := domain.AlertRuleFromProto(ev.GetRule())
				return Row{Rule: &rule}, true, nil
			case *monitorv1.MonitoringStarted:
				return Row{Active: true}, true, nil
			case *monitorv1.MonitoringEnded:
				return Row{}, false, nil
			}
			return r, exists, nil
		},
		Marshal: func(r Row) ([]byte, error) { return json.Marshal(r) },
		Unmarshal: func(b []byte) (Row, error) {
			var r Row
			err := json.Unmarshal(b, &r)
			return r, err
		},
		OnChange: c.change,
		OnReset:  c.reset,
	}
}

// NewCatalog builds the catalog; Projection runs it.
func NewCatalog(ctx context.Context, js jetstream.JetStream, opts projection.Options) (*Catalog, error) {
	c := &Catalog{}
	p, err := projection.New(ctx, js, CatalogSpec(c), opts)
	if err != nil {
		return nil, err
	}
	c.proj = p
	return c, nil
}

func (c *Catalog) reset() {
	c.triggers, c.rules, c.active, c.known = map[string]domain.Trigger{}, map[string]domain.AlertRule{}, map[string]bool{}, map[string]bool{}
}

// change keeps the maps in step with the rows (under the projection's lock).
func (c *Catalog) change(key string, r Row, deleted bool) {
	kind, name, _ := strings.Cut(key, "-")
	switch kind {
	case app.AggTrigger:
		c.known[kind+"."+name] = true
		delete(c.triggers, name)
		if r.Trigger != nil {
			c.triggers[name] = *r.Trigger
		}
	case app.AggAlertRule:
		c.known[kind+"."+name] = true
		delete(c.rules, name)
		if r.Rule != nil {
			c.rules[name] = *r.Rule
		}
	case app.AggMonitoring:
		if deleted || !r.Active {
			delete(c.active, name)
		} else {
			c.active[name] = true
		}
	}
}

// Projection is the catalog's projection (for the runtime to run and list).
func (c *Catalog) Projection() *projection.Projection[Row] { return c.proj }

// Ready implements app.Catalog.
func (c *Catalog) Ready() <-chan struct{} { return c.proj.Ready() }

// Wait implements app.Catalog.
func (c *Catalog) Wait(ctx context.Context, pos uint64) error { return c.proj.Wait(ctx, pos) }

// AlertRules implements app.Catalog.
func (c *Catalog) AlertRules() map[string]domain.AlertRule {
	out := map[string]domain.AlertRule{}
	c.proj.Read(func() {
		for k, v := range c.rules {
			v.Channels = append([]string(nil), v.Channels...)
			out[k] = v
		}
	})
	return out
}

// Triggers implements app.Catalog.
func (c *Catalog) Triggers() map[string]domain.Trigger {
	var out map[string]domain.Trigger
	c.proj.Read(func() { out = maps.Clone(c.triggers) })
	return out
}

// Active implements app.Catalog.
func (c *Catalog) Active() []string {
	var out []string
	c.proj.Read(func() { out = domain.SortedKeys(c.active) })
	return out
}

// Known implements app.Catalog.
func (c *Catalog) Known(aggregate, name string) bool {
	var ok bool
	c.proj.Read(func() { ok = c.known[aggregate+"."+name] })
	return ok
}
