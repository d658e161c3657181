// Package app runs deployments: it turns PromotionRequested into a
// Deployment, then drives each active deployment step by step through a
// driver, recording every step as an event before and after its effect, so
// a deployer killed at any point resumes at the same step after a restart.
package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/lease"
	"github.com/penguinmails/floe/libs/secrets"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/changeview"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// Aggregate is the deployment aggregate's name in the log.
const Aggregate = "deployment"

// DeploymentKind describes the deployment aggregate to the kernel and to views.
var DeploymentKind = kernel.Kind[*domain.Deployment]{
	Name: Aggregate,
	New:  func(string) *domain.Deployment { return domain.NewDeployment() },
	Apply: func(d *domain.Deployment, e *eventstore.RecordedEvent) (*domain.Deployment, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		domain.Apply(d, m, domain.Meta{ID: e.ID, Time: e.Time, CorrelationID: e.CorrelationID, TraceParent: e.TraceParent})
		return d, nil
	},
	Codec:         kernel.Codec[*domain.Deployment]{Schema: domain.DeploymentSchema, Marshal: domain.MarshalDeployment, Unmarshal: domain.UnmarshalDeployment},
	SnapshotEvery: 50,
}

// Registry keeps track of active deployments and of which deployment holds
// each environment, so that only one runs per environment and active ones
// are resumed after a restart. (A NATS KV bucket in production, see adapters.)
type Registry interface {
	// Lock makes id the environment's active deployment; it returns the
	// current holder when another deployment holds it.
	Lock(ctx context.Context, app, env, id string) (holder string, err error)
	// Unlock releases the environment if id holds it.
	Unlock(ctx context.Context, app, env, id string) error
	// Active lists the deployments holding an environment.
	Active(ctx context.Context) ([]string, error)
	// SetLive records the version an environment runs after a deployment
	// ended ("" = none); Live reads them back, environment → version.
	SetLive(ctx context.Context, app, env, version string) error
	Live(ctx context.Context, app string) (map[string]string, error)
	// LiveAll is Live of every app: app → environment → version.
	LiveAll(ctx context.Context) (map[string]map[string]string, error)
}

// Analyzer gives the verdict of an analysis step over a window. The monitor
// provides the real one (issue #6); DefaultAnalyzer checks health throughout.
type Analyzer interface {
	Analyze(ctx context.Context, d *domain.Deployment, window time.Duration) (pass bool, summary string, err error)
}

// FlagRollouts tells the flag service's answer to a FLAG_ROLLOUT step. The
// flag service acts on the step's DeploymentStepStarted and answers, on the
// environment's flag set, with RolloutSet (applied) or FlagRolloutRefused,
// each naming the deployment and the step (adapters.FlagRollouts reads them).
type FlagRollouts interface {
	// Await waits until deadline for the answer to step index of d; an
	// answer already in the log counts however late it is read (after a
	// restart, say). answered=false when none came by the deadline.
	Await(ctx context.Context, d *domain.Deployment, index int, deadline time.Time) (FlagAnswer, error)
}

// FlagAnswer is the flag service's answer to a FLAG_ROLLOUT step.
type FlagAnswer struct {
	// Answered is false when no answer came in time.
	Answered bool
	// Applied is true for RolloutSet, false for FlagRolloutRefused.
	Applied bool
	// Detail is the refusal's reason, or the rollout applied in words.
	Detail string
	// Position is the answer's log position.
	Position uint64
}

// DefaultFlagTimeout bounds the wait for the flag service's answer to a FLAG_ROLLOUT step.
const DefaultFlagTimeout = 30 * time.Second

// Config configures the engine.
type Config struct {
	// App is the application (a target per environment) that the releases
	// of products Products does not name deploy to; "" when every product
	// must be named there. Default "app" when Products is empty too.
	App string
	// Products maps a product to the app its releases deploy to (an app's
	// driver may be a driver.Group: several applications moved in step).
	// With more than one app the engine's driver is a driver.Router.
	Products map[string]string
	// Strategies per environment; DefaultStrategyConfig where missing.
	Strategies map[string]domain.StrategyConfig
	// VersionConfig gives a version's configuration for the driver (optional).
	VersionConfig func(version string) map[string]string
	// CheckAttempts is how often a failing health check is retried (1 s apart) before it fails the step. Default 3.
	CheckAttempts int
	// FlagTimeout is how long a FLAG_ROLLOUT step waits for the flag
	// service's answer, from the step's start in the log (so a restart does
	// not extend it), before it fails. Default DefaultFlagTimeout.
	FlagTimeout time.Duration
	// Configs reads the environments' configuration (see config.go); nil
	// delivers none.
	Configs Configs
	// Secrets resolves the secret:// references of a configuration (and
	// vault:// ones when it is also a secrets.FieldReader); nil fails the
	// delivery of a configuration that has any.
	Secrets secrets.Provider
	// MaxReplicas bounds the instances of a version that scale_up triggers
	// bring it to (drivers that are driver.Scalers); default DefaultMaxReplicas.
	MaxReplicas int
	// Leases, when set, share the targets among deployer instances: an
	// instance drives a target's deployments and runs its live version only
	// while it holds the target's lease (see owner.go). nil: this is the
	// only instance.
	Leases *lease.Manager
	// Changes is change management (changeview.View): a retry and a
	// configuration-only rollout start a deployment without a promotion, so
	// the engine asks it about freezes and windows (and, for a retry of a
	// deployment a change authorized, for a change that still does). nil:
	// nothing is checked (tests of the engine alone).
	Changes Changes
}

// Changes is what the engine asks change management before it starts a
// deployment of its own (see Config.Changes).
type Changes interface {
	Sync(ctx context.Context) error
	Check(releaseID, env, requester string, now time.Time, requireChange bool, kind changeview.PromotionKind) (changeview.Authorization, error)
}

// checkChanges asks change management whether requester may start a
// deployment of releaseID in env now; the authorizing change, if any.
func (e *Engine) checkChanges(ctx context.Context, releaseID, env, requester string, requireChange bool) (string, error) {
	if e.cfg.Changes == nil {
		return "", nil
	}
	if err := e.cfg.Changes.Sync(ctx); err != nil {
		return "", err
	}
	a, err := e.cfg.Changes.Check(releaseID, env, requester, e.now(), requireChange, changeview.PromotionNormal)
	return a.ChangeID, err
}

// Engine drives deployments.
type Engine struct {
	deployments *kernel.Handler[*domain.Deployment]
	drv         driver.Driver
	reg         Registry
	analyzer    Analyzer
	flags       FlagRollouts
	cfg         Config
	now         func() time.Time
	log         zerolog.Logger

	mu      sync.Mutex
	running map[string]*runner // deployment id → its runner here
	// lastLive remembers which deployment made each target's live version live (owner.go).
	lastLive map[driver.Target]liveRef
	// restored is the live version this instance brought back in each
	// target it owns; claimWork is set while a claim round's restores run.
	restored  map[driver.Target]string
	claimWork atomic.Bool
	pending   []string // runners asked for before Run
	wg        sync.WaitGroup
	ctx       context.Context

	owners ownership
}

// runner is a deployment's runner in this instance.
type runner struct {
	wake   chan struct{}
	cancel context.CancelFunc
	target driver.Target // set once it owns the deployment's target
}

// NewEngine wires an engine; store, driver and registry are required;
// snaps (optional) holds snapshots; analyzer defaults to DefaultAnalyzer;
// without flags (nil) every FLAG_ROLLOUT step fails, saying so.
func NewEngine(store eventstore.Store, snaps *eventstore.Snapshots, drv driver.Driver, reg Registry, analyzer Analyzer, flags FlagRollouts, cfg Config, log zerolog.Logger) (*Engine, error) {
	if store == nil || drv == nil || reg == nil {
		return nil, errors.New("deployer engine: store, driver and registry are required")
	}
	deployments, err := kernel.New(store, DeploymentKind, kernel.Options{Snapshots: snaps})
	if err != nil {
		return nil, err
	}
	if cfg.App == "" && len(cfg.Products) == 0 {
		cfg.App = "app"
	}
	if cfg.CheckAttempts <= 0 {
		cfg.CheckAttempts = 3
	}
	if cfg.FlagTimeout <= 0 {
		cfg.FlagTimeout = DefaultFlagTimeout
	}
	if cfg.MaxReplicas <= 0 {
		cfg.MaxReplicas = DefaultMaxReplicas
	}
	e := &Engine{deployments: deployments, drv: drv, reg: reg, flags: flags, cfg: cfg, now: time.Now, log: log, running: map[string]*runner{},
		lastLive: map[driver.Target]liveRef{}, restored: map[driver.Target]string{}, owners: ownership{held: map[driver.Target]*lease.Lease{}}}
	if analyzer == nil {
		analyzer = &DefaultAnalyzer{Driver: drv, Interval: time.Second}
	}
	e.analyzer = analyzer
	return e, nil
}

// Run resumes every active deployment and keeps running deployments until
// ctx ends; it returns after their runners stopped.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	e.ctx = ctx
	pending := e.pending
	e.pending = nil
	e.mu.Unlock()
	for _, id := range pending {
		e.ensureRunner(id)
	}
	if e.cfg.Leases != nil {
		e.claimLoop(ctx)
		e.wg.Wait()
		return nil
	}
	ids, err := e.reg.Active(ctx)
	if err != nil {
		return fmt.Errorf("active deployments: %w", err)
	}
	if err := e.restoreLive(ctx, ids); err != nil {
		e.log.Error().Err(err).Msg("restoring live versions")
	}
	for _, id := range ids {
		e.ensureRunner(id)
	}
	<-ctx.Done()
	e.wg.Wait()
	return nil
}

func (e *Engine) target(d *domain.Deployment) driver.Target {
	return driver.Target{Environment: d.Environment(), App: d.App()}
}

// appFor is the app a release of product deploys to; known is false when
// this deployer deploys none of the product's.
func (e *Engine) appFor(product string) (app string, known bool) {
	if app, ok := e.cfg.Products[product]; ok {
		return app, true
	}
	return e.cfg.App, e.cfg.App != ""
}

// apps are the apps this deployer deploys, sorted.
func (e *Engine) apps() []string {
	out := slices.Collect(maps.Values(e.cfg.Products))
	if e.cfg.App != "" {
		out = append(out, e.cfg.App)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// driverOf is the driver of app's targets.
func (e *Engine) driverOf(app string) driver.Driver {
	if d := driver.For(e.drv, app); d != nil {
		return d
	}
	return e.drv // the router names the unknown app in its errors
}

// Load returns a private copy of a deployment as the log has it now (one
// that does not exist yet when the id is unknown).
func (e *Engine) Load(ctx context.Context, id string) (*domain.Deployment, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var out *domain.Deployment
	err := e.deployments.Read(ctx, id, func(d *domain.Deployment, _ eventstore.Version, _ uint64) error {
		out = d.Clone()
		return nil
	})
	return out, err
}

// History is a deployment folded from every event, with the events.
func (e *Engine) History(ctx context.Context, id string) (*domain.Deployment, []*eventstore.RecordedEvent, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	return e.deployments.Replay(ctx, id)
}

// append writes events at the version d was loaded at: a conflict means a
// command got there first, and the caller reloads and decides again.
func (e *Engine) append(ctx context.Context, d *domain.Deployment, msgs ...proto.Message) error {
	if !fenceValid(ctx) {
		return errLeaseLost
	}
	_, err := e.deployments.Execute(ctx, kernel.Command[*domain.Deployment]{
		ID: d.ID(), Expect: kernel.ExpectVersion(eventstore.Version(d.AggregateVersion())),
		Decide: func(*domain.Deployment) ([]proto.Message, error) { return msgs, nil },
	})
	return err
}

// runnerContext is ctx acting as the deployer for d: the correlation id and
// trace of the request that started the deployment, the deployment's latest
// event as the cause of whatever the runner does next.
func runnerContext(ctx context.Context, d *domain.Deployment) context.Context {
	o := d.Origin()
	return causal.System(causal.WithTraceParent(ctx, o.TraceParent), "deployer", o.CorrelationID, d.LastEvent())
}

// OnPromotion starts a deployment for a PromotionRequested event (idempotently:
// the deployment id derives from release, environment and attempt).
func (e *Engine) OnPromotion(ctx context.Context, cause *eventstore.RecordedEvent) error {
	var p releasev1.PromotionRequested
	if err := cause.DecodeInto(&p); err != nil {
		return nil // another release event
	}
	return e.start(ctx, &p)
}

func (e *Engine) start(ctx context.Context, p *releasev1.PromotionRequested) error {
	id := domain.ID(p.GetReleaseId(), p.GetEnvironment(), p.GetAttempt())
	d, err := e.Load(ctx, id)
	if err != nil {
		return err
	}
	if d.Exists() {
		if d.Active() {
			e.ensureRunner(id)
		}
		return nil
	}
	strategy, _ := enumtext.Resolve(p.GetStrategyType(), p.GetStrategy())
	app, known := e.appFor(p.GetProduct())
	base := &deployv1.DeploymentStarted{DeploymentId: id, ReleaseId: p.GetReleaseId(), Version: p.GetVersion(), Environment: p.GetEnvironment(),
		StrategyType: strategy, Strategy: enumtext.Name(strategy), Attempt: p.GetAttempt(), App: app, RequestedBy: p.GetRequestedBy(),
		Product: p.GetProduct(), ChangeId: p.GetChangeId()}
	if !known {
		return e.create(ctx, id, base, &deployv1.DeploymentFailed{DeploymentId: id, ReleaseId: p.GetReleaseId(), Version: p.GetVersion(), Environment: p.GetEnvironment(),
			Reason: fmt.Sprintf("this deployer deploys no app of product %q: its configuration maps products to the apps %s (deployer config apps[].products)",
				p.GetProduct(), strings.Join(e.apps(), ", "))})
	}
	busy, err := e.launch(ctx, base)
	if busy != "" {
		// Only one deployment per environment: refuse this one, on the record.
		return e.create(ctx, id, base, &deployv1.DeploymentFailed{DeploymentId: id, ReleaseId: p.GetReleaseId(), Version: p.GetVersion(), Environment: p.GetEnvironment(),
			Reason: busy})
	}
	return err
}

// create records a new deployment's first events.
func (e *Engine) create(ctx context.Context, id string, msgs ...proto.Message) error {
	_, err := e.deployments.Execute(ctx, kernel.Command[*domain.Deployment]{
		ID: id, Expect: kernel.ExpectNew, Decide: func(*domain.Deployment) ([]proto.Message, error) { return msgs, nil },
	})
	return err
}

// launch takes the environment for base's deployment, plans it from the
// live version and the environment's strategy settings, records its start
// (or, when it cannot be planned, its failure) and runs it. busy says why
// another deployment holding the environment keeps this one from starting
// (nothing is recorded then).
func (e *Engine) launch(ctx context.Context, base *deployv1.DeploymentStarted) (busy string, err error) {
	id, env, app := base.GetDeploymentId(), base.GetEnvironment(), base.GetApp()
	holder, err := e.reg.Lock(ctx, app, env, id)
	if err != nil {
		return "", err
	}
	if holder != "" && holder != id {
		// A holder that is no longer active (its unlock was lost in a crash) gives way.
		if hd, err := e.Load(ctx, holder); err == nil && !hd.Active() {
			if err := e.reg.Unlock(ctx, app, env, holder); err != nil {
				return "", err
			}
			if holder, err = e.reg.Lock(ctx, app, env, id); err != nil {
				return "", err
			}
		}
	}
	if holder != "" && holder != id {
		return fmt.Sprintf("deployment %s of %s is still active in %s; start again when it has finished", holder, app, env), nil
	}
	prev, err := e.previousVersion(ctx, app, env, base.GetVersion())
	if err != nil {
		_ = e.reg.Unlock(ctx, app, env, id)
		return "", err
	}
	base.PreviousVersion = prev
	cfg, ok := e.cfg.Strategies[env]
	if !ok {
		cfg = domain.DefaultStrategyConfig()
	}
	if cfg.FeatureFlag.Flag == "" {
		// A feature-flag promotion that names no flag drives the product's own.
		cfg.FeatureFlag.Flag = base.GetProduct()
		if cfg.FeatureFlag.Flag == "" {
			cfg.FeatureFlag.Flag = app
		}
	}
	strategy := base.GetStrategyType()
	plan, err := domain.Plan(strategy, cfg, base.PreviousVersion != "")
	if err != nil {
		_ = e.reg.Unlock(ctx, app, env, id)
		return "", e.create(ctx, id, base, &deployv1.DeploymentFailed{DeploymentId: id, ReleaseId: base.GetReleaseId(), Version: base.GetVersion(), Environment: env,
			Reason: "cannot plan the " + enumtext.Name(strategy) + " strategy: " + err.Error()})
	}
	base.Plan = plan
	if err := e.create(ctx, id, base); err != nil && !errors.Is(err, errs.ErrConcurrency) {
		return "", err
	}
	e.ensureRunner(id)
	return "", nil
}

// previousVersion is what a deployment of version to app@env replaces: the
// version carrying most of the traffic, as the driver says — or, when
// another deployer instance owns the target (this one's driver runs
// nothing there), as the registry says its owner left it.
func (e *Engine) previousVersion(ctx context.Context, app, env, version string) (string, error) {
	if _, mine, err := e.own(app, env); err == nil && !mine {
		live, err := e.reg.Live(ctx, app)
		if err != nil {
			return "", err
		}
		if v := live[env]; v != version {
			return v, nil
		}
		return "", nil
	}
	state, err := e.drv.State(ctx, driver.Target{Environment: env, App: app})
	if err != nil {
		return "", &errs.UnavailableError{What: "driver " + e.driverOf(app).Name(), Err: err}
	}
	return liveVersion(state, version), nil
}

// liveVersion is the version carrying most traffic, other than v.
func liveVersion(s driver.State, v string) string {
	best, bw := "", -1
	for _, ver := range driver.Sorted(s.Weights) {
		if w := s.Weights[ver]; ver != v && w > bw && w > 0 {
			best, bw = ver, w
		}
	}
	return best
}

// Wake tells a deployment's runner that a command changed it.
func (e *Engine) Wake(id string) {
	e.mu.Lock()
	r, ok := e.running[id]
	e.mu.Unlock()
	if ok {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	} else {
		e.ensureRunner(id)
	}
}

func (e *Engine) ensureRunner(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		e.pending = append(e.pending, id) // Run starts it
		return
	}
	if _, ok := e.running[id]; ok || e.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(e.ctx)
	r := &runner{wake: make(chan struct{}, 1), cancel: cancel}
	e.running[id] = r
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			cancel()
			e.mu.Lock()
			delete(e.running, id)
			e.mu.Unlock()
		}()
		e.runDeployment(ctx, id, r)
	}()
}

// restoreLive brings back, after a restart, the version each environment
// ran when its last deployment ended (environments with an active
// deployment are reconciled by that deployment's runner instead). The local
// driver's processes die with the deployer; other drivers find them running.
func (e *Engine) restoreLive(ctx context.Context, active []string) error {
	busy := map[driver.Target]bool{}
	for _, id := range active {
		if d, err := e.Load(ctx, id); err == nil && d.Active() {
			busy[e.target(d)] = true
		}
	}
	all, err := e.reg.LiveAll(ctx)
	if err != nil {
		return err
	}
	var problems []error
	for _, app := range e.apps() {
		for env, version := range all[app] {
			t := driver.Target{Environment: env, App: app}
			if busy[t] {
				continue
			}
			if err := e.restoreEnv(ctx, t, version); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", t, err))
			}
		}
	}
	return errors.Join(problems...)
}

// restoreEnv runs version in t with all the traffic, with the
// instances scale_up triggers added to the deployment that made it live.
func (e *Engine) restoreEnv(ctx context.Context, t driver.Target, version string) error {
	if err := e.ensureRunning(ctx, t, nil, []string{version}, map[string]int{version: 100}); err != nil {
		return err
	}
	return e.liveReplicas(ctx, t, version)
}

// restoreReplicas runs as many instances of d's version as scale_up
// triggers had brought it to (a restarted local driver runs one).
func (e *Engine) restoreReplicas(ctx context.Context, d *domain.Deployment) error {
	s, ok := e.driverOf(d.App()).(driver.Scaler)
	if !ok || d.Replicas() <= 1 {
		return nil
	}
	state, err := e.drv.State(ctx, e.target(d))
	if err != nil || !contains(state.Running, d.Version()) || state.Replicas[d.Version()] >= int(d.Replicas()) {
		return err
	}
	return e.scale(ctx, s, d, d.Replicas())
}

// ensureRunning starts the needed versions that do not run — each with the
// configuration it was deployed with (restartVersion) — and applies the
// split (when there is one). owner is the deployment being reconciled (nil
// when restoring live versions).
func (e *Engine) ensureRunning(ctx context.Context, t driver.Target, owner *domain.Deployment, needed []string, weights map[string]int) error {
	state, err := e.drv.State(ctx, t)
	if err != nil {
		return err
	}
	for _, v := range needed {
		if contains(state.Running, v) {
			continue
		}
		if err := e.restartVersion(ctx, t, owner, v); err != nil {
			return err
		}
	}
	if len(weights) == 0 || sameWeights(state.Weights, weights) {
		return nil
	}
	return e.drv.SetWeights(ctx, t, weights)
}

func sameWeights(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// reconcile makes the driver match what the log says of an active
// deployment — after a restart the local driver has lost its processes —
// without writing any event: the steps already done are not repeated, their
// effect is restored.
func (e *Engine) reconcile(ctx context.Context, d *domain.Deployment) error {
	if !d.Active() || d.RollingBack() {
		return nil
	}
	needed, weights := d.DriverState()
	if len(needed) == 0 {
		return nil // nothing started yet
	}
	if err := e.ensureRunning(ctx, e.target(d), d, needed, weights); err != nil {
		return err
	}
	return e.restoreReplicas(ctx, d)
}

// runDeployment drives one deployment until it is no longer active or ctx ends.
func (e *Engine) runDeployment(ctx context.Context, id string, r *runner) {
	wake := r.wake
	log := e.log.With().Str("deployment_id", id).Logger()
	failures := 0
	reconciled, owned := false, false
	for ctx.Err() == nil {
		if !fenceValid(ctx) {
			log.Warn().Msg("this instance no longer owns the deployment's target: it stops driving it")
			return
		}
		d, err := e.Load(ctx, id)
		if err != nil {
			log.Error().Err(err).Msg("load deployment")
			if !sleep(ctx, backoff(&failures), wake) {
				return
			}
			continue
		}
		if !owned {
			if !d.Exists() {
				return
			}
			l, mine, err := e.own(d.App(), d.Environment())
			if err != nil {
				log.Warn().Err(err).Msg("taking the target's lease; retrying")
				if !sleep(ctx, backoff(&failures), wake) {
					return
				}
				continue
			}
			if !mine {
				return // another instance drives it
			}
			e.mu.Lock()
			r.target = e.target(d)
			e.mu.Unlock()
			ctx, owned = withFence(ctx, l), true
			continue
		}
		if !reconciled {
			if err := e.reconcile(ctx, d); err != nil {
				log.Warn().Err(err).Msg("reconciling the driver with the log; retrying")
				if !sleep(ctx, backoff(&failures), wake) {
					return
				}
				continue
			}
			reconciled = true
			continue // reconciling may have recorded deliveries: load again
		}
		err = e.step(runnerContext(ctx, d), d, wake)
		switch {
		case errors.Is(err, errDone):
			e.finish(context.WithoutCancel(ctx), d)
			return
		case errors.Is(err, errs.ErrConcurrency):
			failures = 0 // a command changed the deployment: decide again
		case err != nil && ctx.Err() == nil:
			log.Warn().Err(err).Msg("deployment step failed; retrying")
			if !sleep(ctx, backoff(&failures), wake) {
				return
			}
		default:
			failures = 0
		}
	}
}

var errDone = errors.New("deployment finished")

// finish records what the environment runs now and frees it.
func (e *Engine) finish(ctx context.Context, d *domain.Deployment) {
	live := ""
	switch d.Status() {
	case deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED:
		live = d.Version()
	case deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLED_BACK, deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ABORTED:
		live = d.PreviousVersion()
	}
	if live != "" {
		_ = e.reg.SetLive(ctx, d.App(), d.Environment(), live)
		e.mu.Lock()
		e.restored[e.target(d)] = live // it runs here: nothing to bring back
		e.mu.Unlock()
	}
	_ = e.reg.Unlock(ctx, d.App(), d.Environment(), d.ID())
}

// step performs the next action of d.
func (e *Engine) step(ctx context.Context, d *domain.Deployment, wake chan struct{}) error {
	act := domain.Next(d)
	t := e.target(d)
	switch act.Kind {
	case domain.ActNone:
		return errDone
	case domain.ActStartStep:
		return e.append(ctx, d, &deployv1.DeploymentStepStarted{Index: uint32(act.Index), Step: act.Step,
			DeploymentId: d.ID(), ReleaseId: d.ReleaseID(), Environment: d.Environment()})
	case domain.ActWaitResume:
		sleep(ctx, time.Hour, wake)
		return nil
	case domain.ActWaitUntil:
		if wait := act.At.Sub(e.now()); wait > 0 {
			sleep(ctx, wait, wake)
			return nil
		}
		return e.append(ctx, d, &deployv1.DeploymentStepCompleted{Index: uint32(act.Index), Result: "paused " + act.Step.GetDuration().AsDuration().String()})
	case domain.ActSucceed:
		return e.append(ctx, d, &deployv1.DeploymentSucceeded{DeploymentId: d.ID(), ReleaseId: d.ReleaseID(), Version: d.Version(), Environment: d.Environment()})
	case domain.ActRollback:
		restored, err := e.rollback(ctx, d, t)
		if err != nil {
			return err
		}
		return e.append(ctx, d, &deployv1.RolledBack{DeploymentId: d.ID(), ReleaseId: d.ReleaseID(), Version: d.Version(), Environment: d.Environment(),
			RestoredVersion: restored, Reason: d.RollbackReason()})
	case domain.ActRunStep:
		if act.Step.GetKind() == deployv1.StepKind_STEP_KIND_START && d.Delivery() == nil {
			// Record the configuration to deliver before starting anything.
			ev, failed, err := e.planDelivery(ctx, d)
			switch {
			case err != nil:
				return err
			case failed != "":
				return e.append(ctx, d, &deployv1.RollbackStarted{Reason: failed, Trigger: TriggerConfig})
			case ev != nil:
				return e.append(ctx, d, ev) // the runner loads d again and starts
			}
		}
		result, failed, err := e.perform(ctx, d, t, act.Step, wake)
		if err != nil {
			return err
		}
		if failed != "" {
			return e.append(ctx, d, &deployv1.RollbackStarted{Reason: failed, Trigger: triggerOf(act.Step)})
		}
		return e.append(ctx, d, &deployv1.DeploymentStepCompleted{Index: uint32(act.Index), Result: result})
	}
	return nil
}

func triggerOf(s *deployv1.Step) string {
	switch s.GetKind() {
	case deployv1.StepKind_STEP_KIND_ANALYSIS:
		return "analysis"
	case deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT:
		return "flag"
	}
	return "check"
}

// perform runs one step's operation. failed is a reason to roll back; err is
// a transient problem (retried).
func (e *Engine) perform(ctx context.Context, d *domain.Deployment, t driver.Target, s *deployv1.Step, wake chan struct{}) (result, failed string, err error) {
	if !fenceValid(ctx) {
		return "", "", errLeaseLost
	}
	switch s.GetKind() {
	case deployv1.StepKind_STEP_KIND_START:
		cfg, sec, failed, err := e.versionInput(ctx, d.Environment(), d.Version(), d.Delivery())
		if err != nil || failed != "" {
			return "", failed, err
		}
		defer wipe(sec)
		if err := e.drv.Start(ctx, t, driver.Version{Version: d.Version(), ReleaseID: d.ArtifactReleaseID(), Config: cfg, Secrets: sec}); err != nil {
			if errors.Is(err, driver.ErrTransient) {
				return "", "", err // retried
			}
			return "", "could not start " + d.Version() + ": " + err.Error(), nil
		}
		if cv := d.ConfigVersion(); cv != 0 {
			return fmt.Sprintf("started %s with configuration version %d", d.Version(), cv), "", nil
		}
		return "started " + d.Version(), "", nil
	case deployv1.StepKind_STEP_KIND_SET_WEIGHT:
		w := d.Weights(s.GetWeight())
		if err := e.drv.SetWeights(ctx, t, w); err != nil {
			return "", "", err
		}
		return fmt.Sprintf("traffic %d%% → %s", w[d.Version()], d.Version()), "", nil
	case deployv1.StepKind_STEP_KIND_CHECK:
		var last error
		for i := 0; i < e.cfg.CheckAttempts; i++ {
			if last = e.drv.Check(ctx, t, d.Version()); last == nil {
				return d.Version() + " healthy", "", nil
			}
			if !sleep(ctx, time.Second, nil) {
				return "", "", ctx.Err()
			}
		}
		return "", fmt.Sprintf("health check of %s failed %d times: %v", d.Version(), e.cfg.CheckAttempts, last), nil
	case deployv1.StepKind_STEP_KIND_ANALYSIS:
		actx, interrupted := e.interruptible(ctx, d.ID(), wake)
		pass, summary, err := e.analyzer.Analyze(actx, d, s.GetDuration().AsDuration())
		if interrupted() {
			return "", "", &errs.ConflictError{Message: "analysis interrupted: the deployment is rolling back or aborted"}
		}
		if err != nil {
			return "", "", err
		}
		if !pass {
			return "", "analysis failed: " + summary, nil
		}
		return "analysis passed: " + summary, "", nil
	case deployv1.StepKind_STEP_KIND_STOP_PREVIOUS:
		if d.PreviousVersion() == "" || d.PreviousVersion() == d.Version() {
			return "no previous version", "", nil
		}
		if err := e.drv.Stop(ctx, t, d.PreviousVersion()); err != nil {
			return "", "", err
		}
		return "stopped " + d.PreviousVersion(), "", nil
	case deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT:
		return e.flagRollout(ctx, d, s, wake)
	}
	return "", "", fmt.Errorf("step kind %s is not runnable", s.GetKind())
}

// flagRollout waits for the flag service to apply a FLAG_ROLLOUT step (it
// acts on the step's DeploymentStepStarted): applied completes the step; a
// refusal, or no answer within FlagTimeout of the step's start, fails it
// (the deployment rolls back, and with it the flag: the flag service reverts
// what was changed under the release). A rollback or an abort requested
// meanwhile interrupts the wait.
func (e *Engine) flagRollout(ctx context.Context, d *domain.Deployment, s *deployv1.Step, wake chan struct{}) (result, failed string, err error) {
	what := fmt.Sprintf("flag %s to %d%%", s.GetFlag(), s.GetWeight())
	if e.flags == nil {
		return "", "cannot roll out " + what + ": this deployer has no flag service to ask", nil
	}
	index := d.Current()
	started, _ := d.StepTimes(index)
	if started.IsZero() {
		started = e.now()
	}
	wctx, interrupted := e.interruptible(ctx, d.ID(), wake)
	ans, err := e.flags.Await(wctx, d, index, started.Add(e.cfg.FlagTimeout))
	if interrupted() {
		return "", "", &errs.ConflictError{Message: "flag rollout interrupted: the deployment is rolling back or aborted"}
	}
	switch {
	case err != nil:
		return "", "", err
	case !ans.Answered:
		return "", fmt.Sprintf("the flag service did not apply the rollout of %s within %s; is it running?", what, e.cfg.FlagTimeout), nil
	case !ans.Applied:
		return "", fmt.Sprintf("the flag service refused the rollout of %s: %s", what, ans.Detail), nil
	}
	return fmt.Sprintf("%s applied by the flag service (%s, log position %d)", what, ans.Detail, ans.Position), "", nil
}

// rollback restores the previous version's traffic and stops the new
// version; it returns the version now live ("" when there was no previous
// version to go back to — the new one then keeps running, since traffic must
// go somewhere, and the deployment is still recorded as rolled back).
func (e *Engine) rollback(ctx context.Context, d *domain.Deployment, t driver.Target) (string, error) {
	state, err := e.drv.State(ctx, t)
	if err != nil {
		return "", err
	}
	prev := d.PreviousVersion()
	if prev == "" || prev == d.Version() || !contains(state.Running, prev) {
		return "", nil
	}
	if err := e.drv.SetWeights(ctx, t, map[string]int{prev: 100}); err != nil {
		return "", err
	}
	if contains(state.Running, d.Version()) {
		if err := e.drv.Stop(ctx, t, d.Version()); err != nil {
			return "", err
		}
	}
	return prev, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sleep waits d, or until woken (nil wake: not wakeable), or ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration, wake chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

func backoff(failures *int) time.Duration {
	*failures++
	return min(time.Duration(1<<min(*failures, 5))*100*time.Millisecond, 5*time.Second)
}

// interruptible derives a context for a long step that is cancelled when a
// command wakes the runner and the deployment turns out to be rolling back
// or aborted (a pause still waits for the step's end). interrupted reports
// whether that happened; call it once the step returns, to release the watcher.
func (e *Engine) interruptible(ctx context.Context, id string, wake chan struct{}) (context.Context, func() bool) {
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var hit atomic.Bool
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sctx.Done():
				return
			case <-wake:
				if d, err := e.Load(sctx, id); err == nil && (d.RollingBack() || d.Aborted()) {
					hit.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	return sctx, func() bool {
		close(done)
		cancel()
		return hit.Load()
	}
}

// DefaultAnalyzer passes an analysis when the new version stays healthy for
// the whole window (checked every Interval). The monitor replaces it with
// PromQL verdicts.
type DefaultAnalyzer struct {
	Driver   driver.Driver
	Interval time.Duration
}

// Analyze implements Analyzer.
func (a *DefaultAnalyzer) Analyze(ctx context.Context, d *domain.Deployment, window time.Duration) (bool, string, error) {
	deadline := time.Now().Add(window)
	checks := 0
	for {
		checks++
		if err := a.Driver.Check(ctx, driver.Target{Environment: d.Environment(), App: d.App()}, d.Version()); err != nil {
			return false, fmt.Sprintf("%s unhealthy after %d checks: %v", d.Version(), checks, err), nil
		}
		if time.Now().After(deadline) {
			return true, fmt.Sprintf("%s healthy in %d checks over %s", d.Version(), checks, window), nil
		}
		if !sleep(ctx, min(a.Interval, time.Until(deadline)+time.Millisecond), nil) {
			return false, "", ctx.Err()
		}
	}
}
