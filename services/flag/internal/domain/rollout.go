package domain

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/penguinmails/floe/libs/errs"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// Limits of a rollout.
const (
	MaxSegmentRules  = 20
	MaxSegmentValues = 100
	MaxGradualSteps  = 100
)

// CheckRollout adds a violation (fields under prefix) for every problem of
// r against the flag's variants.
func CheckRollout(v *errs.Violations, prefix string, r *flagv1.Rollout, variants map[string]bool) {
	if r == nil {
		v.Add(prefix, "is required")
		return
	}
	switch {
	case r.GetVariant() == "":
		v.Add(prefix+".variant", "is required")
	case !variants[r.GetVariant()]:
		v.Add(prefix+".variant", "%q is not a variant of the flag", r.GetVariant())
	}
	if o := r.GetOtherwise(); o != "" && !variants[o] {
		v.Add(prefix+".otherwise", "%q is not a variant of the flag", o)
	}
	switch s := r.GetStrategy().(type) {
	case *flagv1.Rollout_Immediate:
	case *flagv1.Rollout_Percentage:
		if p := s.Percentage.GetPercent(); p > 100 {
			v.Add(prefix+".percentage.percent", "%d: must be 0-100", p)
		}
	case *flagv1.Rollout_UserSegment:
		rules := s.UserSegment.GetRules()
		if len(rules) == 0 || len(rules) > MaxSegmentRules {
			v.Add(prefix+".user_segment.rules", "%d rules: 1-%d are allowed", len(rules), MaxSegmentRules)
		}
		for i, rule := range rules {
			f := fmt.Sprintf("%s.user_segment.rules[%d]", prefix, i)
			if a := rule.GetAttribute(); a == "" || len(a) > 128 || strings.ContainsAny(a, "\x00") {
				v.Add(f+".attribute", "is required (1-128 bytes)")
			}
			n := len(rule.GetValues())
			switch rule.GetOperator() {
			case flagv1.SegmentOperator_SEGMENT_OPERATOR_IN, flagv1.SegmentOperator_SEGMENT_OPERATOR_STARTS_WITH, flagv1.SegmentOperator_SEGMENT_OPERATOR_ENDS_WITH:
				if n == 0 || n > MaxSegmentValues {
					v.Add(f+".values", "%d values: 1-%d are allowed", n, MaxSegmentValues)
				}
			case flagv1.SegmentOperator_SEGMENT_OPERATOR_SEMVER_AT_LEAST:
				if n != 1 {
					v.Add(f+".values", "semver_at_least takes one version, not %d", n)
				}
			default:
				v.Add(f+".operator", "must be in, starts_with, ends_with or semver_at_least")
			}
		}
	case *flagv1.Rollout_Gradual:
		g := s.Gradual
		switch {
		case g.GetStart() == nil || g.GetEnd() == nil || !g.GetStart().IsValid() || !g.GetEnd().IsValid():
			v.Add(prefix+".gradual", "start and end are required")
		case !g.GetEnd().AsTime().After(g.GetStart().AsTime()):
			v.Add(prefix+".gradual.end", "must be after start")
		}
		if st := g.GetSteps(); st < 2 || st > MaxGradualSteps {
			v.Add(prefix+".gradual.steps", "%d: 2-%d are allowed", st, MaxGradualSteps)
		}
	default:
		v.Add(prefix, "a strategy is required: immediate, percentage, user_segment or gradual")
	}
}

// Compile is a rollout's flagd targeting (JsonLogic, as JSON). otherwise is
// the variant for everyone the rollout does not reach (the flag's default
// variant unless the rollout names one). Percentages use flagd's
// fractional (bucketed on flag key + targeting key), so every SDK that
// evaluates the targeting agrees; a gradual ramp's percentage is a function
// of $flagd.timestamp.
func Compile(r *flagv1.Rollout, defaultVariant string) (string, error) {
	on, off := r.GetVariant(), r.GetOtherwise()
	if off == "" {
		off = defaultVariant
	}
	var expr any
	switch s := r.GetStrategy().(type) {
	case *flagv1.Rollout_Immediate:
		expr = map[string]any{"if": []any{true, on, off}}
	case *flagv1.Rollout_Percentage:
		expr = fractional(on, off, int(s.Percentage.GetPercent()))
	case *flagv1.Rollout_UserSegment:
		var conds []any
		for _, rule := range s.UserSegment.GetRules() {
			conds = append(conds, segmentCondition(rule))
		}
		cond := any(map[string]any{"and": conds})
		if len(conds) == 1 {
			cond = conds[0]
		}
		expr = map[string]any{"if": []any{cond, on, off}}
	case *flagv1.Rollout_Gradual:
		expr = gradual(on, off, s.Gradual)
	default:
		return "", fmt.Errorf("rollout has no strategy")
	}
	b, err := json.Marshal(expr)
	return string(b), err
}

func fractional(on, off string, percent int) any {
	switch {
	case percent <= 0:
		return map[string]any{"if": []any{true, off, off}}
	case percent >= 100:
		return map[string]any{"if": []any{true, on, on}}
	}
	return map[string]any{"fractional": []any{[]any{on, percent}, []any{off, 100 - percent}}}
}

func segmentCondition(rule *flagv1.SegmentRule) any {
	attr := map[string]any{"var": rule.GetAttribute()}
	values := make([]any, len(rule.GetValues()))
	for i, s := range rule.GetValues() {
		values[i] = s
	}
	var op string
	switch rule.GetOperator() {
	case flagv1.SegmentOperator_SEGMENT_OPERATOR_IN:
		return map[string]any{"in": []any{attr, values}}
	case flagv1.SegmentOperator_SEGMENT_OPERATOR_SEMVER_AT_LEAST:
		return map[string]any{"sem_ver": []any{attr, ">=", values[0]}}
	case flagv1.SegmentOperator_SEGMENT_OPERATOR_STARTS_WITH:
		op = "starts_with"
	default:
		op = "ends_with"
	}
	if len(values) == 1 {
		return map[string]any{op: []any{attr, values[0]}}
	}
	ors := make([]any, len(values))
	for i, val := range values {
		ors[i] = map[string]any{op: []any{attr, val}}
	}
	return map[string]any{"or": ors}
}

// GradualPercent is the percentage of a gradual rollout at unix time t, as
// its targeting computes it: 0 before the first step, then after the i-th
// step boundary (start + i·(end-start)/steps, integer seconds)
// round(100·i/steps) %, and 100 from the end.
func GradualPercent(g *flagv1.GradualRollout, t int64) int {
	start, end := g.GetStart().GetSeconds(), g.GetEnd().GetSeconds()
	steps := int64(g.GetSteps())
	for i := int64(1); i <= steps; i++ {
		if t < start+i*(end-start)/steps {
			return stepPercent(i-1, steps)
		}
	}
	return 100
}

func stepPercent(i, steps int64) int { return int(math.Round(100 * float64(i) / float64(steps))) }

// gradual is the targeting of a ramp: an if-chain on $flagd.timestamp, one
// branch per step (each a fractional split), the variant from the end.
func gradual(on, off string, g *flagv1.GradualRollout) any {
	start, end := g.GetStart().GetSeconds(), g.GetEnd().GetSeconds()
	steps := int64(g.GetSteps())
	now := map[string]any{"var": "$flagd.timestamp"}
	args := []any{}
	// Before the first step: nobody.
	args = append(args, map[string]any{"<": []any{now, start + (end-start)/steps}}, off)
	for i := int64(1); i < steps; i++ {
		until := start + (i+1)*(end-start)/steps
		args = append(args, map[string]any{"<": []any{now, until}}, fractional(on, off, stepPercent(i, steps)))
	}
	args = append(args, on)
	return map[string]any{"if": args}
}
