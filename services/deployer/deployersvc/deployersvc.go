// Package deployersvc wires the deployer into a runtime: driver, engine,
// subscriptions (PromotionRequested) and the gRPC API. The deployer binary
// and `floe dev` both use it.
package deployersvc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/deployer/internal/adapters"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
	execdriver "github.com/penguinmails/floe/services/deployer/internal/driver/exec"
	"github.com/penguinmails/floe/services/deployer/internal/driver/local"
	"github.com/penguinmails/floe/services/deployer/internal/ports"
)

// Config is the deployer's flag/env configuration.
type Config struct {
	File string `env:"FLOE_DEPLOYER_CONFIG" flag:"deployer-config" usage:"deployer YAML: app, driver (local), its settings, per-version config and strategies per environment"`
}

// File is the deployer's configuration file.
type File struct {
	// App is the application deployed.
	App string `yaml:"app"`
	// Driver is "local" or "exec" (a kubernetes driver comes later).
	Driver string `yaml:"driver"`
	// Exec configures the exec driver: a command per operation (templates).
	Exec struct {
		Start      []string          `yaml:"start"`
		SetWeights []string          `yaml:"set_weights"`
		Check      []string          `yaml:"check"`
		Stop       []string          `yaml:"stop"`
		State      []string          `yaml:"state"`
		Timeout    time.Duration     `yaml:"timeout"`
		Dir        string            `yaml:"dir"`
		Env        map[string]string `yaml:"env"`
		StateDir   string            `yaml:"state_dir"`
	} `yaml:"exec"`
	Local struct {
		// Command templates: {{.Port}}, {{.Version}}, {{.Environment}}, {{.App}}, {{.ReleaseID}}.
		Command []string `yaml:"command"`
		// Proxies: environment → listen address of its weighted proxy.
		Proxies      map[string]string `yaml:"proxies"`
		StartTimeout time.Duration     `yaml:"start_timeout"`
	} `yaml:"local"`
	// Versions: version → configuration passed to its instances (e.g. DEMOAPP_ERROR_RATE).
	Versions map[string]map[string]string `yaml:"versions"`
	// Strategies: environment → strategy parameters.
	Strategies map[string]domain.StrategyConfig `yaml:"strategies"`
	// CheckAttempts before a failing health check fails its step (default 3).
	CheckAttempts int `yaml:"check_attempts"`
}

// Load reads path over defaults (an empty path keeps the defaults).
func Load(path string, defaults File) (File, error) {
	f := defaults
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("deployer config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("deployer config %s: %w", path, err)
	}
	return f, nil
}

// Register adds the deployer to rt.
func Register(ctx context.Context, rt *runtime.Runtime, conn *natsx.Conn, f File) error {
	var drv driver.Driver
	switch f.Driver {
	case "", "local":
		ld, err := local.New(local.Config{
			Command: f.Local.Command, Proxies: f.Local.Proxies, StartTimeout: f.Local.StartTimeout,
			Registerer: rt.Metrics, Logger: logWriter{rt},
		})
		if err != nil {
			return fmt.Errorf("local driver: %w", err)
		}
		rt.OnShutdown("local-driver", ld.Close)
		drv = ld
	case "exec":
		x := f.Exec
		ed, err := execdriver.New(execdriver.Config{
			Start: x.Start, SetWeights: x.SetWeights, Check: x.Check, Stop: x.Stop, State: x.State,
			Timeout: x.Timeout, Dir: x.Dir, Env: x.Env, StateDir: x.StateDir, Logger: logWriter{rt},
		})
		if err != nil {
			return fmt.Errorf("exec driver: %w", err)
		}
		drv = ed
	default:
		return fmt.Errorf("deployer: driver %q is not one of local, exec", f.Driver)
	}
	store, err := eventstore.Open(ctx, conn.JS, eventstore.Options{Source: "floe/deployer", Aggregates: []string{app.Aggregate}})
	if err != nil {
		return fmt.Errorf("deployer event store: %w", err)
	}
	reg, err := adapters.OpenRegistry(ctx, conn.JS)
	if err != nil {
		return err
	}
	engine, err := app.NewEngine(store, drv, reg, nil, app.Config{
		App: f.App, Strategies: f.Strategies, CheckAttempts: f.CheckAttempts,
		VersionConfig: func(v string) map[string]string { return f.Versions[v] },
	}, rt.Log.With().Str("component", "deployer").Logger())
	if err != nil {
		return err
	}
	srv, err := ports.NewServer(engine, store, rt.Authz, conn.NC)
	if err != nil {
		return err
	}
	if err := rt.Register(&deployv1.DeployService_ServiceDesc, srv, ports.Rules()); err != nil {
		return err
	}
	rt.Go("deployer-engine", engine.Run)
	rt.Go("deployer-promotions", func(ctx context.Context) error {
		return eventstore.Subscribe(ctx, conn.JS, store.StreamName(), eventstore.Subscription{
			Name: "deployer-promotions", Filters: []string{eventstore.SubjectPrefix + "release.*.PromotionRequested"},
			Handler: engine.OnPromotion,
			OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
				rt.Log.Error().Err(err).Uint64("seq", e.Seq).Int("attempt", attempt).Msg("starting a deployment failed; retrying")
			},
		})
	})
	rt.Go("deployer-rollback-triggers", func(ctx context.Context) error {
		return eventstore.Subscribe(ctx, conn.JS, store.StreamName(), eventstore.Subscription{
			Name: "deployer-rollback-triggers", Filters: []string{eventstore.SubjectPrefix + "*.*.RollbackTriggered"},
			Handler: engine.OnRollbackTriggered,
			OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
				rt.Log.Error().Err(err).Uint64("seq", e.Seq).Int("attempt", attempt).Msg("rolling back on a trigger failed; retrying")
			},
		})
	})
	rt.AddReadiness("event-log", store.CheckStream)
	return nil
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
