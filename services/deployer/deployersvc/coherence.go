package deployersvc

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/penguinmails/floe/libs/enumtext"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// Coherence configures the checks the deployer runs when it loads its
// config: its plans against the monitor's rollback triggers in the log
// (lint.Coherence — the checks `floe rules check --deployer-config` runs).
type Coherence struct {
	// Mode is "warn" (default: each finding is logged), "refuse" (the
	// deployer does not start while there is a finding) or "off".
	Mode string `yaml:"mode"`
	// MonitorConfig is the monitor's config file, whose bake, bake_auto and
	// interval the checks assume; without it, the monitor's defaults.
	MonitorConfig string `yaml:"monitor_config"`
	// Monitor, when set, is used instead of MonitorConfig (floe dev's).
	Monitor *lint.MonitorSettings `yaml:"-"`
}

// AppName is the app deployed ("app" when the config names none, as the engine does).
func (f File) AppName() string {
	if f.App == "" {
		return "app"
	}
	return f.App
}

// WatchedPlans are the config's plans (one per environment and strategy
// that has a pause or an analysis step) as the monitor watches them: the
// analysis windows it judges (with analysis: monitor) and how long a
// deployment runs.
func (f File) WatchedPlans() []lint.Plan {
	judged := f.Analysis == "monitor"
	strategies := []deployv1.DeploymentStrategy{
		deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY, deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BLUE_GREEN,
		deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_FEATURE_FLAG, deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_ROLLING_UPDATE,
		deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BIG_BANG,
	}
	var out []lint.Plan
	for _, env := range slices.Sorted(maps.Keys(f.Strategies)) {
		cfg := f.Strategies[env]
		if cfg.FeatureFlag.Flag == "" {
			cfg.FeatureFlag.Flag = f.AppName() // as the deployer does without a product
		}
		for _, strategy := range strategies {
			steps, err := Plan(strategy, cfg, true)
			if err != nil {
				continue // a strategy this environment cannot run (the deployer refuses it too)
			}
			p := lint.Plan{Environment: env, Strategy: enumtext.Name(strategy)}
			watched := false
			for _, st := range steps {
				d := st.GetDuration().AsDuration()
				switch st.GetKind() {
				case deployv1.StepKind_STEP_KIND_ANALYSIS:
					if judged {
						p.Analyses = append(p.Analyses, d)
					}
					p.Runs += d
					watched = true
				case deployv1.StepKind_STEP_KIND_PAUSE:
					p.Runs += d
					watched = true
				}
			}
			if watched {
				out = append(out, p)
			}
		}
	}
	return out
}

// validCoherence checks the section.
func (c Coherence) validate() error {
	switch c.Mode {
	case "", "warn", "refuse", "off":
		return nil
	}
	return fmt.Errorf("deployer: coherence.mode %q is not one of warn, refuse, off", c.Mode)
}

// CheckCoherence runs the coherence checks of the config's plans against
// triggers (the monitor's, as the log has them). Invalid triggers are
// skipped and reported in skipped.
func (f File) CheckCoherence(triggers []*monitorv1.RollbackTrigger) (findings []lint.Finding, skipped error, err error) {
	settings := f.Coherence.Monitor
	if settings == nil {
		m, err := lint.LoadMonitorSettings(f.Coherence.MonitorConfig)
		if err != nil {
			return nil, nil, err
		}
		settings = &m
	}
	set, skipped := rules.FromTriggers(triggers)
	if len(set.Triggers) == 0 {
		return nil, skipped, nil
	}
	plans := f.WatchedPlans()
	var watches []lint.Watch
	for _, app := range f.AppNames() {
		watches = append(watches, settings.Watches(app, plans, set)...)
	}
	return lint.Coherence(set, watches), skipped, nil
}

// AppNames are the apps the config deploys (each entry of apps, a
// product's group under the product's name, the top-level app), sorted;
// the top-level app alone when apps do not resolve (the deployer refuses
// such a config when it starts, saying why).
func (f File) AppNames() []string {
	t, err := f.Targets()
	if err != nil {
		return []string{f.AppName()}
	}
	return t.Names()
}

// coherenceAtLoad runs CheckCoherence as the Mode says: findings are
// logged; under "refuse" they stop the deployer.
func coherenceAtLoad(f File, triggers []*monitorv1.RollbackTrigger, log zerolog.Logger) error {
	if f.Coherence.Mode == "off" {
		return nil
	}
	findings, skipped, err := f.CheckCoherence(triggers)
	if err != nil {
		return fmt.Errorf("deployer: coherence checks: %w", err)
	}
	if skipped != nil {
		log.Warn().Err(skipped).Msg("coherence checks: a rollback trigger in the log is not valid here; it is not checked")
	}
	if len(triggers) == 0 {
		log.Info().Msg("coherence checks: the log has no rollback triggers yet; nothing to check the plans against")
	}
	for _, fd := range findings {
		log.Warn().Str("kind", fd.Kind).Str("rule", fd.Rule).Str("check", fd.Check).Str("severity", fd.Severity).Str("suggestion", fd.Suggestion).Msg(fd.Problem)
	}
	if f.Coherence.Mode != "refuse" || len(findings) == 0 {
		return nil
	}
	lines := make([]string, len(findings))
	for i, fd := range findings {
		lines[i] = fmt.Sprintf("%s %s %s: %s (suggestion: %s)", strings.ReplaceAll(fd.Kind, "_", " "), fd.Rule, fd.Check, fd.Problem, fd.Suggestion)
	}
	return errors.New("deployer: the plans do not fit the monitor's rollback triggers (coherence.mode: refuse; set it to warn to start anyway):\n  " +
		strings.Join(lines, "\n  "))
}
