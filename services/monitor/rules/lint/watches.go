package lint

import (
	"fmt"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/services/monitor/rules"
)

// Plan is one environment's deployment plan of one strategy as the monitor
// watches it (the deployer's side of the coherence checks: deployersvc
// builds them from its config).
type Plan struct {
	Environment, Strategy string
	// Analyses are the analysis windows the monitor judges, in order (none
	// when the deployer judges analysis steps by health checks).
	Analyses []time.Duration
	// Runs is how long a deployment runs: its pauses and analysis windows.
	Runs time.Duration
}

// MonitorSettings are the monitor config's settings the coherence checks
// depend on: its bake per environment, bake_auto and evaluation interval.
type MonitorSettings struct {
	Bake     map[string]time.Duration `yaml:"bake"`
	BakeAuto []string                 `yaml:"bake_auto"`
	Interval time.Duration            `yaml:"interval"`
}

// DefaultMonitorSettings are the monitor's defaults: bake_auto
// [production], no fixed bakes, a 15s interval.
func DefaultMonitorSettings() MonitorSettings {
	return MonitorSettings{BakeAuto: []string{"production"}, Interval: 15 * time.Second}
}

// LoadMonitorSettings reads the settings from a monitor config file (its
// other keys are the monitor's business); the monitor's defaults fill what
// it leaves out, and an empty path is the defaults.
func LoadMonitorSettings(path string) (MonitorSettings, error) {
	m := DefaultMonitorSettings()
	if path == "" {
		return m, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("monitor config: %w", err)
	}
	var f struct {
		Bake     map[string]time.Duration `yaml:"bake"`
		BakeAuto *[]string                `yaml:"bake_auto"`
		Interval time.Duration            `yaml:"interval"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return m, fmt.Errorf("monitor config %s: %w", path, err)
	}
	if f.Interval < 0 {
		return m, fmt.Errorf("monitor config %s: interval must not be negative", path)
	}
	m.Bake = f.Bake
	if f.BakeAuto != nil {
		m.BakeAuto = *f.BakeAuto
	}
	if f.Interval > 0 {
		m.Interval = f.Interval
	}
	return m, nil
}

// Watches are app's plans as the monitor watches them with the triggers of
// set: an environment's bake is the settings' bake for it, or its bake_auto
// rule over set's triggers (AutoBake).
func (m MonitorSettings) Watches(app string, plans []Plan, set rules.Set) []Watch {
	out := make([]Watch, 0, len(plans))
	for _, p := range plans {
		bake, ok := m.Bake[p.Environment]
		if !ok && slices.Contains(m.BakeAuto, p.Environment) {
			bake = AutoBake(set, p.Environment, app, m.Interval)
		}
		out = append(out, Watch{Environment: p.Environment, App: app, Strategy: p.Strategy, Analyses: p.Analyses, Runs: p.Runs, Bake: bake})
	}
	return out
}
