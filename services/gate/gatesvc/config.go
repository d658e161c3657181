package gatesvc

import (
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	"github.com/penguinmails/floe/services/gate/internal/domain"
)

// Config is the gate service's own configuration.
type Config struct {
	GatesFile      string        `env:"FLOE_GATES_FILE" flag:"gates-file" usage:"YAML file with the gate definitions each environment starts with (default: the guide's five gates for development and staging; see services/gate/README.md)"`
	MaxReportBytes int64         `env:"FLOE_GATE_MAX_REPORT_BYTES" flag:"gate-max-report-bytes" default:"134217728" usage:"largest test report ReportResults accepts, in bytes"`
	TickInterval   time.Duration `env:"FLOE_GATE_TICK" flag:"gate-tick" default:"1s" usage:"how often the gate service looks for deadlines and override expiries that have passed"`
}

// gatesFile is the YAML form of the definitions.
type gatesFile struct {
	Environments map[string][]gateYAML `yaml:"environments"`
}

type gateYAML struct {
	Name                  string        `yaml:"name"`
	Suites                []string      `yaml:"suites"`
	Required              bool          `yaml:"required"`
	Timeout               time.Duration `yaml:"timeout"`
	OnFailure             string        `yaml:"on_failure"`
	AllowOverride         bool          `yaml:"allow_override"`
	SkippedCountsAsPassed bool          `yaml:"skipped_counts_as_passed"`
}

// OnFailure parses block | warn | ignore.
func OnFailure(s string) (gatev1.OnFailure, bool) {
	v, ok := gatev1.OnFailure_value["ON_FAILURE_"+strings.ToUpper(s)]
	if !ok || v == 0 {
		return 0, false
	}
	return gatev1.OnFailure(v), true
}

// Definitions are the configured definitions: the file's, else the defaults.
func (c Config) Definitions() (map[string][]*gatev1.GateDefinition, error) {
	if c.GatesFile == "" {
		return domain.DefaultDefinitions(), nil
	}
	data, err := os.ReadFile(c.GatesFile)
	if err != nil {
		return nil, fmt.Errorf("gates file: %w", err)
	}
	return ParseDefinitions(data)
}

// ParseDefinitions reads a gates file; every problem is reported at once.
func ParseDefinitions(data []byte) (map[string][]*gatev1.GateDefinition, error) {
	var f gatesFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("gates file: %w", err)
	}
	out := map[string][]*gatev1.GateDefinition{}
	var v errs.Violations
	for env, gates := range f.Environments {
		prefix := "environments." + env
		if !ident.Valid(env) {
			v.Add(prefix, "%s is not an environment name (an identifier)", ident.Quote(env))
			continue
		}
		for i, g := range gates {
			of, ok := OnFailure(g.OnFailure)
			if !ok {
				v.Add(fmt.Sprintf("%s[%d].on_failure", prefix, i), "%q: must be block, warn or ignore", g.OnFailure)
			}
			def := domain.Gate(g.Name, g.Suites, g.Required, g.Timeout, of, g.AllowOverride)
			def.SkippedCountsAsPassed = g.SkippedCountsAsPassed
			out[env] = append(out[env], def)
		}
		domain.CheckDefinitions(&v, prefix, out[env])
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("gates file: %w", err)
	}
	return out, nil
}
