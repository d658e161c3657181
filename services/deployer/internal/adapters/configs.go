package adapters

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/penguinmails/floe/libs/eventstore"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/deployer/internal/app"
)

// Configs implements app.Configs from the log, verified: an environment's
// configuration versions are the flag service's ConfigVersionSet events on
// envconfig.<environment> (the deployer cannot load another service's
// aggregate through its store, so it reads them as FlagRollouts reads the
// flag service's answers: Verifier.Follow with subject filters, until caught
// up); earlier deliveries are the deployer's own ConfigDelivered and
// DeploymentSucceeded events. Every call reads from the start of the log,
// filtered by subject; fine at release-management volumes.
type Configs struct {
	// Verifier reads the log: only events signed by their writer count.
	Verifier *eventstore.Verifier
}

// readAll passes every matching event in the log now to fn, then returns.
func (c *Configs) readAll(ctx context.Context, filters []string, fn func(*eventstore.RecordedEvent) error) error {
	if c.Verifier == nil {
		return errors.New("configs: a verifier is required")
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	caught := false
	err := c.Verifier.Follow(rctx, filters, fn, func() { caught = true; cancel() })
	if err != nil {
		return err
	}
	if !caught {
		if err := ctx.Err(); err != nil {
			return err
		}
		return errors.New("configs: the log was not read to its end")
	}
	return nil
}

// versions reads env's ConfigVersionSet events; pick says which to keep (the
// last one kept wins).
func (c *Configs) versions(ctx context.Context, env string, pick func(*configv1.ConfigVersionSet) bool) (app.ConfigVersion, bool, error) {
	var (
		out app.ConfigVersion
		ok  bool
	)
	err := c.readAll(ctx, []string{eventstore.EventFilterOf(&configv1.ConfigVersionSet{}, env)}, func(e *eventstore.RecordedEvent) error {
		var ev configv1.ConfigVersionSet
		if e.DecodeInto(&ev) != nil || !pick(&ev) {
			return nil
		}
		out, ok = app.ConfigVersion{Version: ev.GetVersion(), Document: ev.GetDocument(), Digest: ev.GetDigest()}, true
		return nil
	})
	if err != nil {
		return app.ConfigVersion{}, false, err
	}
	return out, ok, nil
}

// Latest implements app.Configs.
func (c *Configs) Latest(ctx context.Context, env string) (app.ConfigVersion, bool, error) {
	return c.versions(ctx, env, func(*configv1.ConfigVersionSet) bool { return true })
}

// Version implements app.Configs.
func (c *Configs) Version(ctx context.Context, env string, n uint64) (app.ConfigVersion, bool, error) {
	return c.versions(ctx, env, func(ev *configv1.ConfigVersionSet) bool { return ev.GetVersion() == n })
}

// LastDelivery implements app.Configs.
func (c *Configs) LastDelivery(ctx context.Context, appName, env, version string) (string, *deployv1.ConfigDelivered, error) {
	delivered := map[string]*deployv1.ConfigDelivered{} // deployment → its START delivery
	ofApp := map[string]bool{}                          // deployments of appName in env
	last := ""                                          // the last deployment of version that succeeded in env
	filters := eventstore.EventFilters(&deployv1.DeploymentStarted{}, &deployv1.ConfigDelivered{}, &deployv1.DeploymentSucceeded{})
	err := c.readAll(ctx, filters, func(e *eventstore.RecordedEvent) error {
		m, err := e.Decode()
		if err != nil {
			return nil
		}
		switch ev := m.(type) {
		case *deployv1.DeploymentStarted:
			if ev.GetApp() == appName && ev.GetEnvironment() == env {
				ofApp[e.AggregateID] = true
			}
		case *deployv1.ConfigDelivered:
			if ev.GetKind() == deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_START && ofApp[e.AggregateID] && ev.GetVersion() == version {
				delivered[e.AggregateID] = ev
			}
		case *deployv1.DeploymentSucceeded:
			if ofApp[e.AggregateID] && ev.GetVersion() == version {
				last = e.AggregateID
			}
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return last, delivered[last], nil
}

// Triggers are the monitor's rollback triggers as the log has them now
// (saved and not deleted), by name.
func (c *Configs) Triggers(ctx context.Context) ([]*monitorv1.RollbackTrigger, error) {
	current := map[string]*monitorv1.RollbackTrigger{}
	filters := eventstore.EventFilters(&monitorv1.RollbackTriggerSaved{}, &monitorv1.RollbackTriggerDeleted{})
	err := c.readAll(ctx, filters, func(e *eventstore.RecordedEvent) error {
		m, err := e.Decode()
		if err != nil {
			return nil
		}
		switch ev := m.(type) {
		case *monitorv1.RollbackTriggerSaved:
			current[e.AggregateID] = ev.GetTrigger()
		case *monitorv1.RollbackTriggerDeleted:
			delete(current, e.AggregateID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*monitorv1.RollbackTrigger, 0, len(current))
	for _, k := range slices.Sorted(maps.Keys(current)) {
		out = append(out, current[k])
	}
	return out, nil
}
