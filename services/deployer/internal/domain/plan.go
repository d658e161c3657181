// Package domain is the deployer's model: strategies as plans of steps, and
// the Deployment aggregate whose every step is an event, so a deployer that
// dies at any point resumes the same deployment at the same step. Pure Go.
package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
)

// Strategies the deployer runs.
const (
	RollingUpdate = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_ROLLING_UPDATE
	BlueGreen     = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BLUE_GREEN
	Canary        = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY
	FeatureFlag   = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_FEATURE_FLAG
	BigBang       = deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BIG_BANG
)

// StrategyConfig holds every strategy's parameters for one environment.
// Field names follow the guide: rolloutPercentage, duration, healthChecks,
// rollbackTriggers (the last belong to the monitor).
type StrategyConfig struct {
	Rolling struct {
		// BatchPercent of traffic moved per batch (the max-unavailable share), 1-100.
		BatchPercent int `yaml:"batch_percent"`
	} `yaml:"rolling_update"`
	BlueGreen struct {
		// AnalysisWindow, when set, adds an analysis of the new colour before the switch.
		AnalysisWindow time.Duration `yaml:"analysis_window"`
		// ScaleDownDelay keeps the old colour running after the switch (instant switch-back).
		ScaleDownDelay time.Duration `yaml:"scale_down_delay"`
	} `yaml:"blue_green"`
	Canary struct {
		// Steps, each one of "setWeight N", "pause D", "pause" (until resumed), "analysis D".
		Steps []string `yaml:"steps"`
	} `yaml:"canary"`
	FeatureFlag struct {
		// Flag whose rollout percentage is stepped, in the deployment's
		// environment; empty: the flag named after the release's product
		// (after the deployer's app when the product is unknown).
		Flag string `yaml:"flag"`
		// Variant rolled out; empty: the flag's one variant other than its
		// default variant (the flag service refuses the step when the flag
		// has more than two variants and none is named).
		Variant string `yaml:"variant"`
		// Percentages, e.g. [10, 50, 100]; empty: DefaultRolloutPercentages.
		RolloutPercentages []int `yaml:"rollout_percentages"`
		// Pause between percentages.
		Interval time.Duration `yaml:"interval"`
		// Bake is a pause after the last percentage, before the previous
		// version stops and the deployment succeeds: the monitor's rollback
		// triggers keep watching the fully rolled-out flag meanwhile.
		Bake time.Duration `yaml:"bake"`
	} `yaml:"feature_flag"`
}

// DefaultRolloutPercentages are a feature-flag plan's percentages when none are configured.
var DefaultRolloutPercentages = []int{10, 50, 100}

// DefaultStrategyConfig is used where an environment configures nothing.
func DefaultStrategyConfig() StrategyConfig {
	var c StrategyConfig
	c.Rolling.BatchPercent = 25
	c.BlueGreen.ScaleDownDelay = 30 * time.Second
	c.Canary.Steps = []string{"setWeight 10", "pause 30s", "analysis 1m", "setWeight 50", "pause 30s", "analysis 1m"}
	c.FeatureFlag.RolloutPercentages = slices.Clone(DefaultRolloutPercentages)
	c.FeatureFlag.Interval = time.Minute
	return c
}

func step(kind deployv1.StepKind) *deployv1.Step { return &deployv1.Step{Kind: kind} }

func weight(w int) *deployv1.Step {
	return &deployv1.Step{Kind: deployv1.StepKind_STEP_KIND_SET_WEIGHT, Weight: uint32(w)}
}

func timed(kind deployv1.StepKind, d time.Duration) *deployv1.Step {
	return &deployv1.Step{Kind: kind, Duration: durationpb.New(d)}
}

// Plan turns a strategy and its configuration into steps. With no previous
// version there is nothing to shift traffic from, so weight steps collapse
// into one switch and nothing is stopped at the end.
func Plan(strategy deployv1.DeploymentStrategy, c StrategyConfig, hasPrevious bool) ([]*deployv1.Step, error) {
	check := step(deployv1.StepKind_STEP_KIND_CHECK)
	var out []*deployv1.Step
	switch strategy {
	case BigBang:
		out = []*deployv1.Step{step(deployv1.StepKind_STEP_KIND_START), weight(100), check}
	case RollingUpdate:
		b := c.Rolling.BatchPercent
		if b <= 0 || b > 100 {
			return nil, errs.Invalid("rolling_update.batch_percent", "must be 1-100, not %d", b)
		}
		out = append(out, step(deployv1.StepKind_STEP_KIND_START), check)
		for w := b; ; w += b {
			w = min(w, 100)
			out = append(out, weight(w), check)
			if w == 100 {
				break
			}
		}
	case BlueGreen:
		out = append(out, step(deployv1.StepKind_STEP_KIND_START), check)
		if c.BlueGreen.AnalysisWindow > 0 {
			out = append(out, timed(deployv1.StepKind_STEP_KIND_ANALYSIS, c.BlueGreen.AnalysisWindow))
		}
		out = append(out, weight(100), check)
		if c.BlueGreen.ScaleDownDelay > 0 && hasPrevious {
			out = append(out, timed(deployv1.StepKind_STEP_KIND_PAUSE, c.BlueGreen.ScaleDownDelay))
		}
	case Canary:
		steps, err := ParseCanarySteps(c.Canary.Steps)
		if err != nil {
			return nil, err
		}
		out = append(out, step(deployv1.StepKind_STEP_KIND_START), check)
		out = append(out, steps...)
		if len(steps) == 0 || steps[len(steps)-1].GetKind() != deployv1.StepKind_STEP_KIND_SET_WEIGHT || steps[len(steps)-1].GetWeight() != 100 {
			out = append(out, weight(100))
		}
		out = append(out, check)
	case FeatureFlag:
		f := c.FeatureFlag
		var v errs.Violations
		if f.Flag == "" {
			v.Add("feature_flag.flag", "the feature-flag strategy needs a flag")
		} else {
			ident.Check(&v, "feature_flag.flag", f.Flag)
		}
		if len(f.Variant) > 64 || strings.ContainsAny(f.Variant, "\x00\n\r") {
			v.Add("feature_flag.variant", "a variant name is 1-64 bytes without control characters")
		}
		if f.Interval < 0 || f.Bake < 0 {
			v.Add("feature_flag", "interval and bake must not be negative")
		}
		percentages := f.RolloutPercentages
		if len(percentages) == 0 {
			percentages = DefaultRolloutPercentages
		}
		for i, p := range percentages {
			if p < 0 || p > 100 {
				v.Add(fmt.Sprintf("feature_flag.rollout_percentages[%d]", i), "must be 0-100")
			}
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		// The binary goes out dark (all traffic, flag off), then the flag's rollout is stepped.
		out = append(out, step(deployv1.StepKind_STEP_KIND_START), check, weight(100), check)
		for i, p := range percentages {
			out = append(out, &deployv1.Step{Kind: deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT, Weight: uint32(p), Flag: f.Flag, Variant: f.Variant})
			if f.Interval > 0 && i < len(percentages)-1 {
				out = append(out, timed(deployv1.StepKind_STEP_KIND_PAUSE, f.Interval))
			}
		}
		if f.Bake > 0 {
			out = append(out, timed(deployv1.StepKind_STEP_KIND_PAUSE, f.Bake))
		}
	default:
		return nil, errs.Invalid("strategy", "%d is not one of %s", strategy, strings.Join(enumtext.Names[deployv1.DeploymentStrategy](), ", "))
	}
	if !hasPrevious {
		out = withoutPrevious(out)
	} else {
		out = append(out, step(deployv1.StepKind_STEP_KIND_STOP_PREVIOUS))
	}
	return out, nil
}

// withoutPrevious drops partial weights (all traffic can only go to the new
// version) and pauses that only served a traffic shift.
func withoutPrevious(in []*deployv1.Step) []*deployv1.Step {
	var out []*deployv1.Step
	switched := false
	for _, s := range in {
		if s.GetKind() == deployv1.StepKind_STEP_KIND_SET_WEIGHT {
			if switched {
				continue
			}
			s, switched = weight(100), true
		}
		out = append(out, s)
	}
	// Collapse consecutive checks left behind.
	return slices.CompactFunc(out, func(a, b *deployv1.Step) bool {
		return a.GetKind() == deployv1.StepKind_STEP_KIND_CHECK && b.GetKind() == deployv1.StepKind_STEP_KIND_CHECK
	})
}

// ParseCanarySteps parses "setWeight 25", "pause 5m", "pause", "analysis 2m".
func ParseCanarySteps(specs []string) ([]*deployv1.Step, error) {
	var v errs.Violations
	var out []*deployv1.Step
	last := 0
	for i, spec := range specs {
		field := fmt.Sprintf("canary.steps[%d]", i)
		f := strings.Fields(spec)
		if len(f) == 0 {
			v.Add(field, "is empty")
			continue
		}
		switch strings.ToLower(f[0]) {
		case "setweight":
			var w int
			if len(f) != 2 || func() bool { _, err := fmt.Sscanf(f[1], "%d", &w); return err != nil }() || w < 0 || w > 100 {
				v.Add(field, "%q: setWeight takes a percentage 0-100", spec)
				continue
			}
			if w < last {
				v.Add(field, "%q: weights only grow (previous %d)", spec, last)
			}
			last = w
			out = append(out, weight(w))
		case "pause":
			if len(f) == 1 {
				out = append(out, step(deployv1.StepKind_STEP_KIND_PAUSE))
				continue
			}
			d, err := time.ParseDuration(f[1])
			if len(f) != 2 || err != nil || d <= 0 {
				v.Add(field, "%q: pause takes a positive duration (30s, 5m) or nothing (until resumed)", spec)
				continue
			}
			out = append(out, timed(deployv1.StepKind_STEP_KIND_PAUSE, d))
		case "analysis":
			d, err := time.ParseDuration(strings.Join(f[1:], ""))
			if len(f) != 2 || err != nil || d <= 0 {
				v.Add(field, "%q: analysis takes a positive window (1m)", spec)
				continue
			}
			out = append(out, timed(deployv1.StepKind_STEP_KIND_ANALYSIS, d))
		default:
			v.Add(field, "%q: a step is setWeight N, pause D, pause or analysis D", spec)
		}
	}
	return out, v.Err()
}
