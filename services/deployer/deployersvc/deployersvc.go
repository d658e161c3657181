// Package deployersvc wires the deployer into a runtime: driver, engine,
// subscriptions (PromotionRequested) and the gRPC API. The deployer binary
// and `floe dev` both use it.
package deployersvc

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/lease"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/changeview"
	"github.com/penguinmails/floe/services/deployer/internal/adapters"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
	"github.com/penguinmails/floe/services/deployer/internal/driver/local"
	"github.com/penguinmails/floe/services/deployer/internal/ports"
)

// Config is the deployer's flag/env configuration.
type Config struct {
	Options
	// Secrets selects the secrets provider that the secret references of
	// delivered configuration are resolved through: the flag service's
	// (the same --secrets-* flags; floe dev binds them once for both).
	Secrets secretsetup.Config
}

// Options are the deployer's settings besides the secrets provider's, which
// it shares with the flag service.
type Options struct {
	File string `env:"FLOE_DEPLOYER_CONFIG" flag:"deployer-config" usage:"deployer YAML: app, driver (local), its settings, per-version config and strategies per environment"`
	// Defaults is what the file is read over (floe dev's demo app); none when nil.
	Defaults *File
}

// File is the deployer's configuration file.
type File struct {
	// App is the application deployed, with Driver, Exec and Local: the
	// releases of every product that no entry of Apps names deploy to it.
	// With Apps set and App empty, those are refused.
	App string `yaml:"app"`
	// Driver is "local" or "exec" (a kubernetes driver comes later).
	Driver string `yaml:"driver"`
	// Exec configures the exec driver: a command per operation (templates).
	Exec ExecFile `yaml:"exec"`
	// Local configures the local driver.
	Local LocalFile `yaml:"local"`
	// Apps are more applications, each with its own driver and the
	// products whose releases deploy to it (see apps.go).
	Apps []AppFile `yaml:"apps"`
	// Versions: version → configuration passed to its instances (e.g. DEMOAPP_ERROR_RATE).
	Versions map[string]map[string]string `yaml:"versions"`
	// VersionPatterns give configuration to every version matching a glob
	// (path.Match syntax, e.g. "*-faulty*"), in order; an exact Versions
	// entry is applied over them.
	VersionPatterns []VersionPattern `yaml:"version_patterns"`
	// Analysis is who judges canary analysis steps: "health" (default: the
	// new version's health checks over the window) or "monitor" (the
	// monitor's PromQL verdict; health checks decide an inconclusive one).
	Analysis string `yaml:"analysis"`
	// AnalysisGrace is how long after an analysis window the monitor's
	// verdict may take before the step fails (default 1m).
	AnalysisGrace time.Duration `yaml:"analysis_grace"`
	// Strategies: environment → strategy parameters.
	Strategies map[string]domain.StrategyConfig `yaml:"strategies"`
	// CheckAttempts before a failing health check fails its step (default 3).
	CheckAttempts int `yaml:"check_attempts"`
	// FlagTimeout bounds a feature-flag deployment's wait for the flag
	// service to apply each flag rollout step (default 30s): without an
	// answer by then the step fails and the deployment rolls back.
	FlagTimeout time.Duration `yaml:"flag_timeout"`
	// MaxReplicas bounds the instances of a version that the monitor's
	// scale_up triggers bring it to, one per firing (default 3); the local
	// driver scales, the exec driver does not (its scale_up answers are
	// ScaleUpRefused).
	MaxReplicas int `yaml:"max_replicas"`
	// Leases configure how deployer instances share the targets on an
	// external NATS (on an embedded one there is one instance and none).
	Leases struct {
		// TTL: how long a target's lease outlives its owner's last renewal
		// (default 10s): a dead owner's targets are taken over within about
		// 1.5 × TTL.
		TTL time.Duration `yaml:"ttl"`
		// Owner names this instance (default: host name and gRPC address,
		// the same across its restarts, so a restarted instance takes its
		// own leases back at once).
		Owner string `yaml:"owner"`
	} `yaml:"leases"`
	// Coherence configures the checks of the plans against the monitor's
	// rollback triggers when the deployer starts.
	Coherence Coherence `yaml:"coherence"`
}

// ExecFile configures an exec driver.
type ExecFile struct {
	Start      []string          `yaml:"start"`
	SetWeights []string          `yaml:"set_weights"`
	Check      []string          `yaml:"check"`
	Stop       []string          `yaml:"stop"`
	State      []string          `yaml:"state"`
	Timeout    time.Duration     `yaml:"timeout"`
	Dir        string            `yaml:"dir"`
	Env        map[string]string `yaml:"env"`
	StateDir   string            `yaml:"state_dir"`
}

// LocalFile configures a local driver.
type LocalFile struct {
	// Command templates: {{.Port}}, {{.Version}}, {{.Environment}}, {{.App}}, {{.ReleaseID}}.
	Command []string `yaml:"command"`
	// Proxies: environment → listen address of its weighted proxy.
	Proxies      map[string]string `yaml:"proxies"`
	StartTimeout time.Duration     `yaml:"start_timeout"`
}

// VersionPattern is configuration for the versions matching a glob.
type VersionPattern struct {
	Match  string            `yaml:"match"`
	Config map[string]string `yaml:"config"`
}

// VersionConfig is the configuration of one version: every matching
// pattern's, in order, then the exact entry's.
func (f File) VersionConfig(version string) map[string]string {
	var out map[string]string
	add := func(m map[string]string) {
		for k, v := range m {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	for _, p := range f.VersionPatterns {
		if ok, _ := path.Match(p.Match, version); ok {
			add(p.Config)
		}
	}
	add(f.Versions[version])
	return out
}

// Load reads path over defaults (an empty path keeps the defaults).
func Load(path string, defaults File) (File, error) {
	f := defaults
	if path == "" {
		return f, nil
	}
	if err := runtime.LoadYAMLFile(path, "deployer config", &f); err != nil {
		return f, err
	}
	return f, nil
}

// Deployer is a registered deployer.
type Deployer struct {
	app    string                   // the top-level app
	locals map[string]*local.Driver // application → its local driver
}

// ProxyAddr is the bound address of an environment's proxy for the
// top-level app with the local driver ("" otherwise, or before the proxy
// listens).
func (d *Deployer) ProxyAddr(env string) string {
	if d == nil {
		return ""
	}
	return d.ProxyAddrOf(d.app, env)
}

// ProxyAddrOf is ProxyAddr for an application (an entry of apps, or a
// member of a product's group).
func (d *Deployer) ProxyAddrOf(app, env string) string {
	if d == nil || d.locals[app] == nil {
		return ""
	}
	return d.locals[app].ProxyAddr(driver.Target{Environment: env, App: app})
}

// Service is the deployer: it owns the deployment aggregate. Its handle
// tells the host where the local driver's proxies listen.
var Service = service.Def[Config, *Deployer]{
	Name:       "deployer",
	Aggregates: []string{app.Aggregate},
	// It keeps (flag) or delivers (deployer) secrets: the only services that may use their bucket.
	Publishes: []string{natsx.SecretsAccess},
	Register:  register,
}

func register(ctx context.Context, d service.Deps[Config]) (*Deployer, error) {
	var defaults File
	if d.Config.Defaults != nil {
		defaults = *d.Config.Defaults
	}
	f, err := Load(d.Config.File, defaults)
	if err != nil {
		return nil, err
	}
	rt, conn := d.Runtime, d.NATS
	for i, p := range f.VersionPatterns {
		if _, err := path.Match(p.Match, ""); err != nil {
			return nil, fmt.Errorf("deployer: version_patterns[%d].match %q: %w", i, p.Match, err)
		}
	}
	var analyzer app.Analyzer
	switch f.Analysis {
	case "", "health":
	case "monitor":
	default:
		return nil, fmt.Errorf("deployer: analysis %q is not one of health, monitor", f.Analysis)
	}
	out := &Deployer{app: f.AppName()}
	// On an external NATS other instances may run: the targets are shared
	// through leases, and the local driver opens a proxy only for a target
	// this instance owns.
	var leases *lease.Manager
	if !d.Embedded {
		if f.Leases.TTL < 0 {
			return nil, fmt.Errorf("deployer: leases.ttl %s must not be negative", f.Leases.TTL)
		}
		owner := f.Leases.Owner
		if owner == "" {
			owner = defaultOwner(rt.Config().GRPCAddr)
		}
		var err error
		if leases, err = lease.Open(ctx, conn.JS, lease.Options{Bucket: LeaseBucket, Owner: owner, TTL: f.Leases.TTL, Replicas: d.Replicas}); err != nil {
			return nil, err
		}
	}
	targets, err := f.Targets()
	if err != nil {
		return nil, err
	}
	if err := targets.proxyConflicts(); err != nil {
		return nil, err
	}
	byApp, locals, err := targets.drivers(rt, leases != nil)
	if err != nil {
		return nil, err
	}
	out.locals = locals
	var drv driver.Driver
	if len(byApp) == 1 {
		drv = byApp[targets.Names()[0]]
	} else if drv, err = driver.NewRouter(byApp); err != nil {
		return nil, err
	}
	store := d.Store
	reg, err := adapters.OpenRegistry(ctx, conn.JS, d.Replicas)
	if err != nil {
		return nil, err
	}
	if f.Analysis == "monitor" {
		analyzer = &adapters.MonitorAnalyzer{Verifier: d.Verifier, Grace: f.AnalysisGrace,
			Health: &app.DefaultAnalyzer{Driver: drv, Interval: time.Second}}
	}
	if err := f.Coherence.validate(); err != nil {
		return nil, err
	}
	if f.MaxReplicas < 0 {
		return nil, fmt.Errorf("deployer: max_replicas %d must not be negative", f.MaxReplicas)
	}
	if f.FlagTimeout < 0 {
		return nil, fmt.Errorf("deployer: flag_timeout %s must not be negative", f.FlagTimeout)
	}
	flags := &adapters.FlagRollouts{Verifier: d.Verifier}
	provider, providerName, err := secretsetup.Open(ctx, d.Config.Secrets, secretsetup.Host{
		JS: conn.JS, Replicas: d.Replicas, Clock: d.Clock, DataDir: d.DataDir, Embedded: d.Embedded})
	if err != nil {
		return nil, fmt.Errorf("deployer: secrets: %w", err)
	}
	d.Log.Debug().Str("secrets_provider", providerName).Msg("secret references of delivered configuration resolve through this provider")
	// Change management's calendar and changes, from the change service's
	// events: retries and configuration rollouts are checked against them.
	changes, err := changeview.New(ctx, conn.JS, "deployer_changes", store, projection.Options{
		Stream: store.StreamName(), Replicas: d.Replicas, Verifier: d.Verifier, Signer: d.Signer,
		OnError: func(err error) { d.Log.Error().Err(err).Msg("change management view; retrying") },
	})
	if err != nil {
		return nil, err
	}
	rt.AddView(changes.Projection())
	configs := &adapters.Configs{Verifier: d.Verifier}
	if f.Coherence.Mode != "off" {
		triggers, err := configs.Triggers(ctx)
		switch {
		case err != nil && f.Coherence.Mode == "refuse":
			return nil, fmt.Errorf("deployer: read the monitor's rollback triggers for the coherence checks: %w", err)
		case err != nil:
			// The checks advise (mode warn): not reading the triggers now does not stop the deployer.
			rt.Log.Warn().Err(err).Msg("coherence checks skipped: the monitor's rollback triggers could not be read")
		default:
			if err := coherenceAtLoad(f, triggers, rt.Log.With().Str("component", "coherence").Logger()); err != nil {
				return nil, err
			}
		}
	}
	engine, err := app.NewEngine(store, d.Snapshots, drv, reg, analyzer, flags, app.Config{
		App: targets.Default, Products: targets.Products, Strategies: f.Strategies, CheckAttempts: f.CheckAttempts, VersionConfig: f.VersionConfig, FlagTimeout: f.FlagTimeout, MaxReplicas: f.MaxReplicas,
		Configs: configs, Secrets: provider, Changes: changes, Leases: leases,
	}, rt.Log.With().Str("component", "deployer").Logger())
	if err != nil {
		return nil, err
	}
	views, err := adapters.NewDeployments(ctx, conn.JS, store, projection.Options{
		Stream: store.StreamName(), Replicas: d.Replicas, Verifier: d.Verifier, Signer: d.Signer,
		OnError: func(err error) { d.Log.Error().Err(err).Msg("deployment view; retrying") },
		OnPoison: func(p projection.Poison) {
			d.Log.Error().Uint64("seq", p.Seq).Str("subject", p.Subject).Str("error", p.Error).Msg("deployment view skipped an event it cannot apply")
		},
	})
	if err != nil {
		return nil, err
	}
	rt.AddView(views.Projection())
	srv, err := ports.NewServer(engine, views, rt.Authz, conn.NC)
	if err != nil {
		return nil, err
	}
	if err := rt.Register(&deployv1.DeployService_ServiceDesc, srv, ports.Rules()); err != nil {
		return nil, err
	}
	rt.Go("deployer-engine", engine.Run)
	rt.Go("deployer-promotions", func(ctx context.Context) error {
		return eventstore.Subscribe(ctx, conn.JS, store.StreamName(), eventstore.Subscription{
			Name: "deployer-promotions", Filters: eventstore.EventFilters(&releasev1.PromotionRequested{}),
			Handler: engine.OnPromotion, Verifier: d.Verifier,
			OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
				rt.Log.Error().Err(err).Uint64("seq", e.Seq).Int("attempt", attempt).Msg("starting a deployment failed; retrying")
			},
		})
	})
	rt.Go("deployer-rollback-triggers", func(ctx context.Context) error {
		return eventstore.Subscribe(ctx, conn.JS, store.StreamName(), eventstore.Subscription{
			Name: "deployer-rollback-triggers", Filters: eventstore.EventFilters(&monitorv1.RollbackTriggered{}),
			Handler: engine.OnRollbackTriggered, Verifier: d.Verifier,
			OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
				rt.Log.Error().Err(err).Uint64("seq", e.Seq).Int("attempt", attempt).Msg("rolling back on a trigger failed; retrying")
			},
		})
	})
	rt.Go("deployer-scale-ups", func(ctx context.Context) error {
		return eventstore.Subscribe(ctx, conn.JS, store.StreamName(), eventstore.Subscription{
			Name: "deployer-scale-ups", Filters: eventstore.EventFilters(&monitorv1.TriggerFired{}),
			Handler: engine.OnTriggerFired, Verifier: d.Verifier,
			OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
				rt.Log.Error().Err(err).Uint64("seq", e.Seq).Int("attempt", attempt).Msg("answering a scale_up trigger failed; retrying")
			},
		})
	})
	// Any instance may handle a command; the deployment's runner is where
	// its target's lease is: every event of a deployment wakes it there.
	if leases != nil {
		sub, err := conn.NC.Subscribe("floe.evt."+app.Aggregate+".*.*", func(m *nats.Msg) {
			parts := strings.Split(m.Subject, ".")
			if len(parts) == 5 {
				engine.OnDeploymentEvent(parts[3], parts[4])
			}
		})
		if err != nil {
			return nil, err
		}
		rt.OnShutdown("deployer-wakes", func(context.Context) error { return sub.Unsubscribe() })
	}
	// A bake's rollback deployment that succeeded marks the deployment it rolled back as RolledBack.
	rt.Go("deployer-bake-rollbacks", func(ctx context.Context) error {
		return eventstore.Subscribe(ctx, conn.JS, store.StreamName(), eventstore.Subscription{
			Name: "deployer-bake-rollbacks", Filters: eventstore.EventFilters(&deployv1.DeploymentSucceeded{}),
			Handler: engine.OnBakeRollbackDone, Verifier: d.Verifier,
			OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
				rt.Log.Error().Err(err).Uint64("seq", e.Seq).Int("attempt", attempt).Msg("recording a bake's rollback failed; retrying")
			},
		})
	})
	return out, nil
}

// LeaseBucket holds the deployer instances' leases on targets.
const LeaseBucket = "floe_deployer_leases"

// defaultOwner names this instance: host and gRPC address (the same across
// restarts); with a port picked at random, the process id too.
func defaultOwner(grpcAddr string) string {
	host, _ := os.Hostname()
	owner := host + " " + grpcAddr
	if strings.HasSuffix(grpcAddr, ":0") {
		owner += " pid " + strconv.Itoa(os.Getpid())
	}
	return owner
}

// logWriter sends driver output lines to the runtime's log.
type logWriter struct{ rt *runtime.Runtime }

func (w logWriter) Write(p []byte) (int, error) {
	w.rt.Log.Info().Str("component", "local-driver").Msg(string(trimNL(p)))
	return len(p), nil
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

// StrategyConfig is a strategy's parameters for one environment.
type StrategyConfig = domain.StrategyConfig

// DefaultStrategyConfig is what an environment without configuration uses.
func DefaultStrategyConfig() StrategyConfig { return domain.DefaultStrategyConfig() }

// DescribeStep is a one-line description of a plan step (for clients).
func DescribeStep(s *deployv1.Step) string { return domain.Describe(s) }

// Plan is the steps a deployment with strategy and c runs (hasPrevious: a
// version runs there already), exactly as the deployer plans it, for
// clients that reason about plans offline (floe rules check's coherence
// checks: how long a deployment is watched, its analysis windows).
func Plan(strategy deployv1.DeploymentStrategy, c StrategyConfig, hasPrevious bool) ([]*deployv1.Step, error) {
	return domain.Plan(strategy, c, hasPrevious)
}
