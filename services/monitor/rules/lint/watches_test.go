package lint_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// The coherence checks read the bake settings of a monitor config file
// (its other keys are the monitor's), with the monitor's defaults for what
// it leaves out; an explicit empty bake_auto turns automatic bakes off.
func TestLoadMonitorSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m, err := lint.LoadMonitorSettings(write("a.yaml", "source: embedded\ninterval: 10s\nbake: {staging: 2m}\nembedded: {targets: [{url: self}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Interval != 10*time.Second || m.Bake["staging"] != 2*time.Minute || !slices.Equal(m.BakeAuto, []string{"production"}) {
		t.Errorf("settings %+v", m)
	}
	m, err = lint.LoadMonitorSettings(write("b.yaml", "bake_auto: []\n"))
	if err != nil || len(m.BakeAuto) != 0 || m.Interval != 15*time.Second {
		t.Errorf("bake_auto [] gave %+v (%v)", m, err)
	}
	if d, err := lint.LoadMonitorSettings(""); err != nil || d.Interval != 15*time.Second {
		t.Errorf("defaults %+v (%v)", d, err)
	}
	for name, text := range map[string]string{"neg.yaml": "interval: -1s\n", "bad.yaml": "interval: soon\n"} {
		if _, err := lint.LoadMonitorSettings(write(name, text)); err == nil {
			t.Errorf("%s: %q accepted", name, text)
		}
	}
	if _, err := lint.LoadMonitorSettings(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file accepted")
	}

	// Watches: a fixed bake, an automatic one (the longest trigger plus an interval), none.
	set := rules.Default()
	plans := []lint.Plan{{Environment: "staging", Strategy: "canary"}, {Environment: "production", Strategy: "canary"}, {Environment: "qa"}}
	ws := lint.MonitorSettings{Bake: map[string]time.Duration{"staging": 2 * time.Minute}, BakeAuto: []string{"production"}, Interval: 15 * time.Second}.Watches("web", plans, set)
	if ws[0].Bake != 2*time.Minute || ws[1].Bake != lint.AutoBake(set, "production", "web", 15*time.Second) || ws[1].Bake == 0 || ws[2].Bake != 0 {
		t.Errorf("watches %+v", ws)
	}
}
