package app

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// Catalog is the in-memory view every monitor instance keeps of the
// definitions and of what is being watched: alert rules, rollback triggers
// and the deployments with monitoring in progress. It is rebuilt from the log
// at start (Follow replays the few events involved) and follows it, so every
// instance sees every change, whichever instance made it.
type Catalog struct {
	mu       sync.Mutex
	changed  *sync.Cond
	seq      uint64
	rules    map[string]domain.AlertRule
	triggers map[string]domain.Trigger
	active   map[string]bool
	known    map[string]bool // "<aggregate>.<name>" of every definition ever saved
	ready    chan struct{}
	once     sync.Once
}

// CatalogFilters are the subjects the catalog follows.
var CatalogFilters = []string{
	eventstore.SubjectPrefix + AggTrigger + ".>",
	eventstore.SubjectPrefix + AggAlertRule + ".>",
	eventstore.SubjectPrefix + AggMonitoring + ".*.MonitoringStarted",
	eventstore.SubjectPrefix + AggMonitoring + ".*.MonitoringEnded",
}

// NewCatalog is an empty catalog; Run fills it.
func NewCatalog() *Catalog {
	c := &Catalog{rules: map[string]domain.AlertRule{}, triggers: map[string]domain.Trigger{}, active: map[string]bool{}, known: map[string]bool{}, ready: make(chan struct{})}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Run follows the log until ctx ends.
func (c *Catalog) Run(ctx context.Context, js jetstream.JetStream, stream string) error {
	return eventstore.Follow(ctx, js, stream, CatalogFilters, c.Apply, func() { c.once.Do(func() { close(c.ready) }) })
}

// Ready is closed once the catalog has caught up with the log.
func (c *Catalog) Ready() <-chan struct{} { return c.ready }

// Apply folds one event in.
func (c *Catalog) Apply(e *eventstore.RecordedEvent) error {
	m, err := e.Decode()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev := m.(type) {
	case *monitorv1.AlertRuleSaved:
		r := AlertRuleFromProto(ev.GetRule())
		c.rules[r.Name] = r
		c.known[AggAlertRule+"."+r.Name] = true
	case *monitorv1.AlertRuleDeleted:
		delete(c.rules, ev.GetName())
	case *monitorv1.RollbackTriggerSaved:
		t := TriggerFromProto(ev.GetTrigger())
		c.triggers[t.Name] = t
		c.known[AggTrigger+"."+t.Name] = true
	case *monitorv1.RollbackTriggerDeleted:
		delete(c.triggers, ev.GetName())
	case *monitorv1.MonitoringStarted:
		c.active[e.AggregateID] = true
	case *monitorv1.MonitoringEnded:
		delete(c.active, e.AggregateID)
	}
	c.seq = max(c.seq, e.Seq)
	c.changed.Broadcast()
	return nil
}

// WaitFor blocks until the catalog has applied the event at log position
// seq (so a read after a write sees it), or ctx ends.
func (c *Catalog) WaitFor(ctx context.Context, seq uint64) error {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.changed.Broadcast()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.seq < seq {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.changed.Wait()
	}
	return nil
}

// Known reports whether a definition (aggregate AggAlertRule or AggTrigger)
// of that name was ever saved, deleted since or not.
func (c *Catalog) Known(aggregate, name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.known[aggregate+"."+name]
}

// AwaitReady waits until the catalog has caught up with the log, or ctx ends.
func (c *Catalog) AwaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AlertRules returns the rules by name.
func (c *Catalog) AlertRules() map[string]domain.AlertRule {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]domain.AlertRule, len(c.rules))
	for k, v := range c.rules {
		v.Channels = append([]string(nil), v.Channels...)
		out[k] = v
	}
	return out
}

// Triggers returns the triggers by name.
func (c *Catalog) Triggers() map[string]domain.Trigger {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]domain.Trigger, len(c.triggers))
	for k, v := range c.triggers {
		out[k] = v
	}
	return out
}

// Active returns the ids of the deployments being watched, sorted.
func (c *Catalog) Active() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sortedKeys(c.active)
}
