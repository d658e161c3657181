// Package monitorsvc wires the monitor into a runtime: its metric source
// (embedded TSDB with scrape targets, or a remote Prometheus), the catalog,
// the reactions to deployments, the evaluation loop and the gRPC API. The
// monitor binary and `floe dev` both use it.
package monitorsvc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/service"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/adapters"
	"github.com/penguinmails/floe/services/monitor/internal/app"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/links"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
	"github.com/penguinmails/floe/services/monitor/internal/ports"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// AlertRule and Trigger are the monitor's definitions, for configuring it in code.
type (
	AlertRule = domain.AlertRule
	Trigger   = domain.Trigger
)

// DefaultRules are the guide's two rollback triggers and their named metrics.
func DefaultRules() rules.Set { return rules.Default() }

// Config is the monitor's flag/env configuration.
type Config struct {
	File string `env:"FLOE_MONITOR_CONFIG" flag:"monitor-config" usage:"monitor YAML: metric source (embedded scrape targets or a Prometheus URL), evaluation interval, rules file, analysis policy"`
	// Defaults is what the file is read over (floe dev's demo setup); none when nil.
	Defaults *File
}

// File is the monitor's configuration file.
type File struct {
	// Source is "embedded" (default: scrape targets into an in-process TSDB) or "prometheus".
	Source string `yaml:"source"`
	// Interval between evaluations (and scrapes). Default 15s.
	Interval time.Duration `yaml:"interval"`
	Embedded struct {
		// Dir of the TSDB; default <data-dir>/monitor-tsdb.
		Dir string `yaml:"dir"`
		// Retention of samples; default 6h.
		Retention time.Duration `yaml:"retention"`
		// Targets scraped every interval.
		Targets []Target `yaml:"targets"`
	} `yaml:"embedded"`
	Prometheus struct {
		URL string `yaml:"url"`
		// BearerTokenFile holds a token sent as Authorization: Bearer (read at start; never logged).
		BearerTokenFile string        `yaml:"bearer_token_file"`
		Timeout         time.Duration `yaml:"timeout"`
	} `yaml:"prometheus"`
	// Rules is a rules file (package rules) whose rules and triggers are
	// created when the log has never seen their names (edits and deletions
	// made through the API stay); without one, the guide's two default
	// triggers are.
	Rules string `yaml:"rules"`
	// RuleSet is used when Rules is empty (floe dev's defaults).
	RuleSet *rules.Set `yaml:"-"`
	// Analysis judges canary analysis steps.
	Analysis *domain.AnalysisPolicy `yaml:"analysis"`
	// Bake is each environment's bake period after a deployment succeeds
	// (e.g. {staging: 2m}); 0 turns it off. Environments in BakeAuto that
	// it does not name bake for the longest rollback trigger plus one
	// interval.
	Bake map[string]time.Duration `yaml:"bake"`
	// BakeAuto defaults to [production].
	BakeAuto []string `yaml:"bake_auto"`
	// Links are URL templates (name → text/template over links.Data) rendered
	// onto the events people are told of: TriggerFired, RollbackTriggered and
	// the alert events. With source prometheus, "graph" defaults to the
	// query in its graph page.
	Links map[string]string `yaml:"links"`
}

// linkTemplates are the file's links over the source's default.
func (f File) linkTemplates() (links.Templates, error) {
	all := map[string]string{}
	if f.Source == "prometheus" && f.Prometheus.URL != "" {
		maps.Copy(all, links.Prometheus(f.Prometheus.URL))
	}
	maps.Copy(all, f.Links)
	return links.Parse(all)
}

// bakeAuto is the file's bake_auto, or production.
func bakeAuto(envs []string) []string {
	if envs == nil {
		return []string{"production"}
	}
	return envs
}

// Target is a scrape target of the embedded source.
type Target struct {
	// URL of a Prometheus text exposition, or "self" for this process's own registry.
	URL string `yaml:"url"`
	// Labels added to every sample (e.g. job).
	Labels map[string]string `yaml:"labels"`
}

// Load reads path over defaults (an empty path keeps the defaults).
func Load(path string, defaults File) (File, error) {
	f := defaults
	if path == "" {
		return f, nil
	}
	if err := runtime.LoadYAMLFile(path, "monitor config", &f); err != nil {
		return f, err
	}
	if f.Rules != "" && !filepath.IsAbs(f.Rules) {
		f.Rules = filepath.Join(filepath.Dir(path), f.Rules)
	}
	return f, nil
}

// Validate reports every problem at once.
func (f File) Validate() error {
	var v errs.Violations
	switch f.Source {
	case "", "embedded":
		for i, t := range f.Embedded.Targets {
			if t.URL != "self" && !strings.HasPrefix(t.URL, "http://") && !strings.HasPrefix(t.URL, "https://") {
				v.Add(fmt.Sprintf("embedded.targets[%d].url", i), "%q is neither an http(s) URL nor \"self\"", t.URL)
			}
		}
	case "prometheus":
		if f.Prometheus.URL == "" {
			v.Add("prometheus.url", "is required with source: prometheus")
		}
	default:
		v.Add("source", "%q is not one of embedded, prometheus", f.Source)
	}
	if f.Interval < 0 {
		v.Add("interval", "must not be negative")
	}
	if f.Analysis != nil {
		v.Merge("analysis", f.Analysis.Validate())
	}
	if _, err := f.linkTemplates(); err != nil {
		v.Add("links", "%v", err)
	}
	return v.Err()
}

// Service is the monitor: it owns the monitoring, trigger, alert rule and alert aggregates.
var Service = service.Def[Config, struct{}]{
	Name:       "monitor",
	Aggregates: []string{app.AggMonitoring, app.AggTrigger, app.AggAlertRule, app.AggAlert},
	Register: func(ctx context.Context, d service.Deps[Config]) (struct{}, error) {
		var defaults File
		if d.Config.Defaults != nil {
			defaults = *d.Config.Defaults
		}
		f, err := Load(d.Config.File, defaults)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, register(ctx, d, f)
	},
}

func register(ctx context.Context, d service.Deps[Config], f File) (err error) {
	rt, conn, dataDir := d.Runtime, d.NATS, d.DataDir
	if err := f.Validate(); err != nil {
		return fmt.Errorf("monitor config: %w", err)
	}
	set := rules.Default()
	switch {
	case f.Rules != "":
		var err error
		if set, err = rules.Load(f.Rules); err != nil {
			return err
		}
	case f.RuleSet != nil:
		set = *f.RuleSet
	}
	interval := f.Interval
	if interval == 0 {
		interval = 15 * time.Second
	}
	var (
		src    metrics.Source
		scrape app.Scraper
	)
	if f.Source == "prometheus" {
		token := ""
		if f.Prometheus.BearerTokenFile != "" {
			b, err := os.ReadFile(f.Prometheus.BearerTokenFile)
			if err != nil {
				return fmt.Errorf("monitor: prometheus bearer token: %w", err)
			}
			token = strings.TrimSpace(string(b))
		}
		remote, err := metrics.NewRemote(metrics.RemoteConfig{URL: f.Prometheus.URL, Timeout: f.Prometheus.Timeout, BearerToken: token})
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
		src = remote
	} else {
		dir := f.Embedded.Dir
		if dir == "" {
			if dataDir == "" {
				return errors.New("monitor: embedded.dir is required without a data directory")
			}
			dir = filepath.Join(dataDir, "monitor-tsdb")
		}
		retention := f.Embedded.Retention
		if retention == 0 {
			retention = 6 * time.Hour
		}
		emb, openErr := metrics.OpenEmbedded(dir, retention)
		if openErr != nil {
			return fmt.Errorf("monitor: %w", openErr)
		}
		// Closed at shutdown — or now, if the rest of Register fails (the
		// runtime will not run, and the TSDB's directory lock must not leak).
		defer func() {
			if err != nil { // Register's result
				_ = emb.Close()
			}
		}()
		rt.OnShutdown("monitor-tsdb", func(context.Context) error { return emb.Close() })
		src = emb
		targets := f.Embedded.Targets
		scrape = func(ctx context.Context, at time.Time) error {
			var errList []error
			for _, t := range targets {
				var err error
				if t.URL == "self" {
					_, err = emb.Gather(ctx, rt.Metrics, t.Labels, at)
				} else {
					_, err = emb.Scrape(ctx, t.URL, t.Labels, at)
				}
				if err != nil {
					errList = append(errList, fmt.Errorf("target %s: %w", t.URL, err))
				}
			}
			return errors.Join(errList...)
		}
	}
	store := d.Store
	policy := domain.DefaultAnalysisPolicy()
	if f.Analysis != nil {
		policy = *f.Analysis
	}
	catalog, err := adapters.NewCatalog(ctx, conn.JS, projection.Options{
		Stream: store.StreamName(), Replicas: d.Replicas, Verifier: d.Verifier, Signer: d.Signer,
		OnError: func(err error) { d.Log.Error().Err(err).Msg("monitor catalog; retrying") },
		OnPoison: func(p projection.Poison) {
			d.Log.Error().Uint64("seq", p.Seq).Str("subject", p.Subject).Str("error", p.Error).Msg("monitor catalog skipped an event it cannot apply")
		},
	})
	if err != nil {
		return err
	}
	rt.AddView(catalog.Projection())
	lt, err := f.linkTemplates()
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	svc, err := app.New(store, d.Snapshots, src, scrape, catalog, app.Config{Interval: interval, Metrics: set.Metrics, Analysis: policy, Bake: f.Bake, BakeAuto: bakeAuto(f.BakeAuto),
		Links: lt},
		d.Log.With().Str("component", "monitor").Logger(), app.NewObserver(rt.Metrics))
	if err != nil {
		return err
	}
	srv, err := ports.NewServer(svc, d.Verifier)
	if err != nil {
		return err
	}
	if err := rt.Register(&monitorv1.MonitorService_ServiceDesc, srv, ports.Rules()); err != nil {
		return err
	}
	rt.Go("monitor-seed", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case <-catalog.Ready():
		}
		if err := svc.Seed(causal.System(ctx, "monitor", "", ""), set); err != nil && ctx.Err() == nil {
			rt.Log.Error().Err(err).Msg("seeding rules failed")
		}
		return nil
	})
	rt.Go("monitor-evaluation", func(ctx context.Context) error {
		return svc.Run(causal.System(ctx, "monitor", "", ""))
	})
	rt.Go("monitor-deployments", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case <-catalog.Ready():
		}
		return eventstore.Subscribe(ctx, conn.JS, store.StreamName(), eventstore.Subscription{
			Name: "monitor-deployments", Filters: app.DeploymentFilters, Handler: svc.OnDeploymentEvent, Verifier: d.Verifier,
			OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
				rt.Log.Warn().Err(err).Uint64("seq", e.Seq).Int("attempt", attempt).Msg("reacting to a deployment event failed; retrying")
			},
		})
	})
	return nil
}
