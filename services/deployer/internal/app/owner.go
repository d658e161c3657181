package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/penguinmails/floe/libs/lease"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// Several deployer instances share the targets (one app in one
// environment) through leases (Config.Leases): the instance that holds a
// target's lease runs its live version and drives its deployments; the
// others leave it alone and try to take it every half TTL, so that when
// the owner dies another one takes over within about TTL plus half a TTL,
// reconciling the driver with the log (the steps done are not repeated)
// and going on. A runner acts only while its lease is valid (fenceValid
// before every append and driver operation), so an owner paused past its
// lease stops when it runs again instead of acting; its appends are fenced
// a second time by the expected version. Commands (pause, resume, abort,
// rollback) reach any instance: they append, and the owner's runner, woken
// by the event (OnDeploymentEvent), acts.

// ownership is what this instance holds.
type ownership struct {
	mu   sync.Mutex // held while acquiring, so that one lease exists per target here
	held map[driver.Target]*lease.Lease
}

// errLeaseLost stops a runner whose instance no longer owns its target.
var errLeaseLost = errors.New("this deployer instance lost the target's lease")

// targetKey is the lease key of a target.
func targetKey(t driver.Target) string { return "target." + t.App + "." + t.Environment }

// own returns the lease of app@env, taking it when it is free. mine is
// false when another instance holds it; without leases every target is
// this instance's (a nil lease).
func (e *Engine) own(app, env string) (l *lease.Lease, mine bool, err error) {
	if e.cfg.Leases == nil {
		return nil, true, nil
	}
	l, _, err = e.acquire(driver.Target{Environment: env, App: app})
	return l, l != nil, err
}

// acquire is own with leases on; fresh says the lease was taken just now.
func (e *Engine) acquire(t driver.Target) (l *lease.Lease, fresh bool, err error) {
	e.owners.mu.Lock()
	defer e.owners.mu.Unlock()
	if l := e.owners.held[t]; l != nil && l.Valid() {
		return l, false, nil
	}
	e.mu.Lock()
	runCtx := e.ctx
	e.mu.Unlock()
	if runCtx == nil {
		return nil, false, errors.New("the deployer engine is not running yet")
	}
	// The lease lives as long as the engine runs, not as the request asking.
	l, err = e.cfg.Leases.TryAcquire(runCtx, targetKey(t))
	if err != nil || l == nil {
		return nil, false, err
	}
	e.owners.held[t] = l
	e.log.Info().Stringer("target", t).Str("owner", e.cfg.Leases.Owner()).Msg("this instance owns the target now")
	go func() {
		<-l.Lost()
		e.drop(t, l)
	}()
	return l, true, nil
}

// drop forgets a lost lease: the target's runners here stop, and the
// driver releases what it holds for it (the local driver's processes and
// proxy), for the new owner.
func (e *Engine) drop(t driver.Target, l *lease.Lease) {
	e.owners.mu.Lock()
	if e.owners.held[t] == l {
		delete(e.owners.held, t)
	}
	e.owners.mu.Unlock()
	e.mu.Lock()
	delete(e.restored, t)
	for _, r := range e.running {
		if r.target == t {
			r.cancel()
		}
	}
	runCtx := e.ctx
	e.mu.Unlock()
	if runCtx == nil || runCtx.Err() != nil {
		return // shutting down: the driver closes
	}
	e.log.Warn().Stringer("target", t).Msg("this instance lost the target's lease: another instance takes it over")
	if rel, ok := e.driverOf(t.App).(driver.Releaser); ok {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(runCtx), 30*time.Second)
		defer cancel()
		if err := rel.Release(ctx, t); err != nil {
			e.log.Error().Err(err).Stringer("target", t).Msg("releasing the target")
		}
	}
}

// claimLoop takes the targets nobody holds, every half TTL until ctx ends.
func (e *Engine) claimLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.Leases.TTL() / 2)
	defer t.Stop()
	for {
		if err := e.claim(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn().Err(err).Msg("claiming targets; retrying")
		}
		select {
		case <-ctx.Done():
			e.releaseAll()
			return
		case <-t.C:
		}
	}
}

// releaseAll gives up every lease at a clean stop, so that another
// instance need not wait for them to expire.
func (e *Engine) releaseAll() {
	e.owners.mu.Lock()
	held := e.owners.held
	e.owners.held = map[driver.Target]*lease.Lease{}
	e.owners.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, l := range held {
		l.Release(ctx)
	}
}

// claim takes every target with an active deployment or a live version
// that nobody holds: it brings the live version back (when no deployment
// is active there) or starts the deployment's runner, which reconciles.
func (e *Engine) claim(ctx context.Context) error {
	all, err := e.reg.LiveAll(ctx)
	if err != nil {
		return err
	}
	live := map[driver.Target]string{}
	for _, app := range e.apps() {
		for env, v := range all[app] {
			live[driver.Target{Environment: env, App: app}] = v
		}
	}
	ids, err := e.reg.Active(ctx)
	if err != nil {
		return err
	}
	active := map[driver.Target]string{} // target → deployment
	for _, id := range ids {
		if d, err := e.Load(ctx, id); err == nil && d.Active() {
			active[e.target(d)] = id
		}
	}
	targets := slices.Collect(maps.Keys(live))
	for t := range active {
		if _, ok := live[t]; !ok {
			targets = append(targets, t)
		}
	}
	slices.SortFunc(targets, func(a, b driver.Target) int { return strings.Compare(a.String(), b.String()) })
	// What cannot wait is done here: the leases, and the runners of the
	// active deployments. Bringing live versions back and the bookkeeping
	// of the others (their instances after scale-ups) read the log and
	// start processes: one pass at a time runs in the background, each
	// step bounded, so that neither a hung read (a NATS node gone) nor
	// many targets taken at once hold up the next round's takeovers.
	var problems []error
	var restore, maintain []driver.Target
	var activeHere []string
	for _, t := range targets {
		l, _, err := e.acquire(t)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if l == nil {
			continue
		}
		switch id, ok := active[t]; {
		case ok:
			e.ensureRunner(id)
			activeHere = append(activeHere, id)
		case live[t] == "":
		case !e.isRestored(t, live[t]):
			restore = append(restore, t)
		default:
			maintain = append(maintain, t)
		}
	}
	if e.claimWork.CompareAndSwap(false, true) {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer e.claimWork.Store(false)
			if err := e.restoreTargets(ctx, restore, activeHere, maintain, live); err != nil && ctx.Err() == nil {
				e.log.Warn().Err(err).Msg("restoring the live versions of owned targets; retrying")
			}
		}()
	}
	return errors.Join(problems...)
}

// restoreTargets brings back the live version of the targets in restore,
// and the recorded instances of the others' versions.
func (e *Engine) restoreTargets(ctx context.Context, restore []driver.Target, active []string, maintain []driver.Target, live map[driver.Target]string) error {
	bounded := func(limit time.Duration, f func(ctx context.Context) error) error {
		ctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		return f(ctx)
	}
	var problems []error
	for _, t := range restore {
		err := bounded(claimRestoreTimeout, func(ctx context.Context) error { return e.restoreEnv(ctx, t, live[t]) })
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", t, err))
			continue
		}
		e.mu.Lock()
		e.restored[t] = live[t]
		e.mu.Unlock()
	}
	for _, id := range active {
		problems = append(problems, bounded(claimReadTimeout, func(ctx context.Context) error {
			d, err := e.Load(ctx, id)
			if err != nil {
				return err
			}
			return e.restoreReplicas(ctx, d)
		}))
	}
	for _, t := range maintain {
		problems = append(problems, bounded(claimReadTimeout, func(ctx context.Context) error { return e.liveReplicas(ctx, t, live[t]) }))
	}
	return errors.Join(problems...)
}

// isRestored reports whether this instance brought version back in t
// since it last took t (or ran it since its deployment ended here).
func (e *Engine) isRestored(t driver.Target, version string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.restored[t] == version
}

// A claim round bounds bringing a live version back (processes started,
// as the driver's start timeout allows) and its bookkeeping reads.
const (
	claimRestoreTimeout = 3 * time.Minute
	claimReadTimeout    = 20 * time.Second
)

// liveReplicas runs the live version of t with the instances recorded on
// the deployment that made it live (scale-ups another instance recorded).
func (e *Engine) liveReplicas(ctx context.Context, t driver.Target, version string) error {
	if e.cfg.Configs == nil {
		return nil
	}
	last, err := e.lastLiveDeployment(ctx, t, version)
	if err != nil || last == "" {
		return err
	}
	d, err := e.Load(ctx, last)
	if err != nil {
		return err
	}
	return e.restoreReplicas(ctx, d)
}

// liveRef is the deployment that made a version live in a target, as
// found at a moment.
type liveRef struct {
	version, deployment string
	found               time.Time
}

// liveRefTTL bounds how long a liveRef is trusted: a DeploymentSucceeded
// clears them all (OnDeploymentEvent), but that notice is best effort.
const liveRefTTL = time.Minute

// lastLiveDeployment is the last deployment of version that succeeded in
// t: found in the log once, then remembered, since the claim round asks
// for every target it owns every half TTL.
func (e *Engine) lastLiveDeployment(ctx context.Context, t driver.Target, version string) (string, error) {
	e.mu.Lock()
	ref, ok := e.lastLive[t]
	e.mu.Unlock()
	if ok && ref.version == version && e.now().Sub(ref.found) < liveRefTTL {
		return ref.deployment, nil
	}
	found := e.now()
	last, _, err := e.cfg.Configs.LastDelivery(ctx, t.App, t.Environment, version)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.lastLive[t] = liveRef{version: version, deployment: last, found: found}
	e.mu.Unlock()
	return last, nil
}

// fence is the lease a runner's context acts under.
type fenceKey struct{}

func withFence(ctx context.Context, l *lease.Lease) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, fenceKey{}, l)
}

// fenceValid reports whether ctx may act: it carries no lease, or a valid one.
func fenceValid(ctx context.Context) bool {
	l, _ := ctx.Value(fenceKey{}).(*lease.Lease)
	return l == nil || l.Valid()
}
