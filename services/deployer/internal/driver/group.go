package driver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Member is one application of a Group, run by its own driver.
type Member struct {
	// App names the application: its targets are Target{env, App}.
	App    string
	Driver Driver
}

// NewGroup is a driver that runs the versions of several applications as
// one: a product made of an API and a worker is released as one version,
// and a deployment of it moves both in step. Every operation is done on
// each member in order, on the member's own target (the group's target's
// environment, the member's App); it is as idempotent as the members', so
// an operation that failed half way is completed by repeating it. The
// group is a Scaler when every member is one, and a Releaser when any
// member is one.
func NewGroup(members ...Member) (Driver, error) {
	if len(members) < 2 {
		return nil, errors.New("a driver group needs at least two members")
	}
	seen := map[string]bool{}
	for _, m := range members {
		if m.App == "" || m.Driver == nil {
			return nil, errors.New("a driver group's member needs an app and a driver")
		}
		if seen[m.App] {
			return nil, fmt.Errorf("app %s is twice in the driver group", m.App)
		}
		seen[m.App] = true
	}
	g := &group{members: slices.Clone(members)}
	for _, m := range members {
		if _, ok := m.Driver.(Scaler); !ok {
			return g, nil
		}
	}
	return &scalableGroup{g}, nil
}

type group struct {
	members []Member
	// splits orders SetWeights and State: a State read while SetWeights
	// goes member by member would see them disagree and report no split.
	// Members that disagree for another reason (an operation that failed
	// half way) are still reported so.
	splits sync.RWMutex
}

type scalableGroup struct{ *group }

func (g *group) Name() string {
	names := make([]string, len(g.members))
	for i, m := range g.members {
		names[i] = m.App + ":" + m.Driver.Name()
	}
	return "group(" + strings.Join(names, ",") + ")"
}

// each does op on every member's target, stopping at the first failure
// (which names the member).
func (g *group) each(t Target, op func(m Member, mt Target) error) error {
	for _, m := range g.members {
		if err := op(m, Target{Environment: t.Environment, App: m.App}); err != nil {
			return fmt.Errorf("app %s: %w", m.App, err)
		}
	}
	return nil
}

func (g *group) Start(ctx context.Context, t Target, v Version) error {
	return g.each(t, func(m Member, mt Target) error { return m.Driver.Start(ctx, mt, v) })
}

func (g *group) SetWeights(ctx context.Context, t Target, weights map[string]int) error {
	g.splits.Lock()
	defer g.splits.Unlock()
	return g.each(t, func(m Member, mt Target) error { return m.Driver.SetWeights(ctx, mt, weights) })
}

func (g *group) Check(ctx context.Context, t Target, version string) error {
	return g.each(t, func(m Member, mt Target) error { return m.Driver.Check(ctx, mt, version) })
}

// Stop stops the version in every member; a failure in one does not keep
// the others from stopping it.
func (g *group) Stop(ctx context.Context, t Target, version string) error {
	var problems []error
	for _, m := range g.members {
		if err := m.Driver.Stop(ctx, Target{Environment: t.Environment, App: m.App}, version); err != nil {
			problems = append(problems, fmt.Errorf("app %s: %w", m.App, err))
		}
	}
	return errors.Join(problems...)
}

// State is what runs in every member: a version runs in the group when it
// runs in each member; the split is the members' when they agree, and
// none otherwise (so that the deployer sets it again); a version's
// replicas are the fewest any member runs.
func (g *group) State(ctx context.Context, t Target) (State, error) {
	g.splits.RLock()
	defer g.splits.RUnlock()
	var out State
	for i, m := range g.members {
		s, err := m.Driver.State(ctx, Target{Environment: t.Environment, App: m.App})
		if err != nil {
			return State{}, fmt.Errorf("app %s: %w", m.App, err)
		}
		if i == 0 {
			out = State{Running: slices.Clone(s.Running), Weights: maps.Clone(s.Weights), Replicas: maps.Clone(s.Replicas)}
			continue
		}
		out.Running = slices.DeleteFunc(out.Running, func(v string) bool { return !slices.Contains(s.Running, v) })
		if !maps.Equal(positiveWeights(out.Weights), positiveWeights(s.Weights)) {
			out.Weights = map[string]int{}
		}
		for v, n := range out.Replicas {
			if r, ok := s.Replicas[v]; !ok {
				delete(out.Replicas, v)
			} else if r < n {
				out.Replicas[v] = r
			}
		}
	}
	for v := range out.Weights {
		if !slices.Contains(out.Running, v) {
			out.Weights = map[string]int{}
			break
		}
	}
	if out.Weights == nil {
		out.Weights = map[string]int{}
	}
	return out, nil
}

func positiveWeights(w map[string]int) map[string]int {
	out := map[string]int{}
	for v, n := range w {
		if n > 0 {
			out[v] = n
		}
	}
	return out
}

// Release releases the target in every member that holds resources for it.
func (g *group) Release(ctx context.Context, t Target) error {
	var problems []error
	for _, m := range g.members {
		if r, ok := m.Driver.(Releaser); ok {
			if err := r.Release(ctx, Target{Environment: t.Environment, App: m.App}); err != nil {
				problems = append(problems, fmt.Errorf("app %s: %w", m.App, err))
			}
		}
	}
	return errors.Join(problems...)
}

func (g *scalableGroup) Scale(ctx context.Context, t Target, v Version, replicas int) error {
	return g.each(t, func(m Member, mt Target) error { return m.Driver.(Scaler).Scale(ctx, mt, v, replicas) })
}

// Router runs each target with the driver of its app: the deployer's
// driver when it deploys several applications (or groups), each with
// its own driver.
type Router struct{ drivers map[string]Driver }

// NewRouter routes the targets of each app (a map key) to its driver.
func NewRouter(drivers map[string]Driver) (*Router, error) {
	if len(drivers) == 0 {
		return nil, errors.New("a driver router needs at least one app")
	}
	for app, d := range drivers {
		if app == "" || d == nil {
			return nil, errors.New("a driver router's app needs a name and a driver")
		}
	}
	return &Router{drivers: maps.Clone(drivers)}, nil
}

// For is the driver of app's targets (nil for an app the router does not know).
func (r *Router) For(app string) Driver { return r.drivers[app] }

// Apps are the apps routed, sorted.
func (r *Router) Apps() []string { return slices.Sorted(maps.Keys(r.drivers)) }

func (r *Router) route(t Target) (Driver, error) {
	if d := r.drivers[t.App]; d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("this deployer has no driver for app %q", t.App)
}

// Name is "router".
func (r *Router) Name() string { return "router" }

func (r *Router) Start(ctx context.Context, t Target, v Version) error {
	d, err := r.route(t)
	if err != nil {
		return err
	}
	return d.Start(ctx, t, v)
}

func (r *Router) SetWeights(ctx context.Context, t Target, weights map[string]int) error {
	d, err := r.route(t)
	if err != nil {
		return err
	}
	return d.SetWeights(ctx, t, weights)
}

func (r *Router) Check(ctx context.Context, t Target, version string) error {
	d, err := r.route(t)
	if err != nil {
		return err
	}
	return d.Check(ctx, t, version)
}

func (r *Router) Stop(ctx context.Context, t Target, version string) error {
	d, err := r.route(t)
	if err != nil {
		return err
	}
	return d.Stop(ctx, t, version)
}

func (r *Router) State(ctx context.Context, t Target) (State, error) {
	d, err := r.route(t)
	if err != nil {
		return State{}, err
	}
	return d.State(ctx, t)
}

// For is d's driver for app's targets: the routed one when d is a Router.
func For(d Driver, app string) Driver {
	if r, ok := d.(*Router); ok {
		return r.For(app)
	}
	return d
}
