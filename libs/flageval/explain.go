package flageval

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Explanation describes how an evaluation came to its result, for
// `floe flags eval`.
type Explanation struct {
	Flag   string `json:"flag"`
	Result Result `json:"result"`
	// Targeted reports that targeting rules were run (the flag exists, is
	// enabled and has targeting).
	Targeted bool `json:"targeted"`
	// Output is the value the targeting rules produced, before it was
	// turned into a variant name (null: the default variant applies).
	Output any `json:"output,omitempty"`
	// Steps lists the decisions taken, in evaluation order.
	Steps []Step `json:"steps,omitempty"`
}

// Step is one evaluated operation.
type Step struct {
	// Path locates the operation in the definition, e.g.
	// "flags.banner.targeting.if[0]" or "$evaluators.beta.in".
	Path string `json:"path"`
	Op   string `json:"op"`
	// Args are the evaluated arguments, when useful.
	Args any `json:"args,omitempty"`
	// Result is the operation's value (not set for "if": see Branch).
	Result any `json:"result,omitempty"`
	// Branch is, for "if", the path of the branch taken ("" when none: the
	// result is null).
	Branch string `json:"branch,omitempty"`
	// Fractional details a fractional split.
	Fractional *FractionalTrace `json:"fractional,omitempty"`
}

// FractionalTrace details one fractional evaluation.
type FractionalTrace struct {
	// BucketingValue is the hashed string: flag key + targeting key, or the
	// value of the custom bucketing expression (CustomBucketing).
	BucketingValue  string `json:"bucketingValue"`
	CustomBucketing bool   `json:"customBucketing"`
	// Hash is murmur3-32 (seed 0) of BucketingValue.
	Hash uint32 `json:"hash"`
	// TotalWeight is the sum of the (clamped) weights; Bucket is
	// Hash*TotalWeight>>32, in [0, TotalWeight).
	TotalWeight int64              `json:"totalWeight"`
	Bucket      uint64             `json:"bucket"`
	Buckets     []FractionalBucket `json:"buckets,omitempty"`
	// Variant is the selected bucket's variant (Selected), else Problem
	// says why fractional returned null.
	Variant  any    `json:"variant,omitempty"`
	Selected bool   `json:"selected"`
	Problem  string `json:"problem,omitempty"`
}

// FractionalBucket is one weighted variant of a fractional split.
type FractionalBucket struct {
	Variant any     `json:"variant"`
	Weight  int64   `json:"weight"`
	Percent float64 `json:"percent"`
}

type tracer struct {
	steps  []Step
	output any
	ran    bool
}

// Explain evaluates flag key like Evaluate and reports which rules and
// branches decided the result.
func (s *Set) Explain(key string, ctx Context) Explanation {
	x := Explanation{Flag: key}
	f := s.flags[key]
	if f == nil {
		x.Result = s.Evaluate(key, ctx)
		return x
	}
	tr := &tracer{}
	x.Result = f.evaluate(&ctx, tr)
	x.Targeted = tr.ran
	x.Output = tr.output
	x.Steps = tr.steps
	return x
}

// String renders the explanation for a terminal.
func (x Explanation) String() string {
	var b strings.Builder
	r := x.Result
	fmt.Fprintf(&b, "flag %s: ", quote(x.Flag))
	if r.ErrorCode != "" {
		fmt.Fprintf(&b, "%s %s (%s)\n", r.Reason, r.ErrorCode, r.ErrorMessage)
	} else {
		fmt.Fprintf(&b, "reason %s", r.Reason)
		if r.Variant != "" {
			fmt.Fprintf(&b, ", variant %s = %s", quote(r.Variant), compactJSON(r.Value))
		} else {
			b.WriteString(", no value (the caller's default applies)")
		}
		b.WriteByte('\n')
	}
	if x.Targeted {
		fmt.Fprintf(&b, "targeting returned %s\n", compactJSON(x.Output))
	}
	for _, s := range x.Steps {
		fmt.Fprintf(&b, "  %s: %s", s.Path, s.Op)
		if s.Op == "if" || s.Op == "?:" {
			if s.Branch != "" {
				fmt.Fprintf(&b, " → took %s\n", s.Branch)
			} else {
				b.WriteString(" → no branch taken: null\n")
			}
			continue
		}
		if s.Args != nil {
			fmt.Fprintf(&b, " %s", compactJSON(s.Args))
		}
		fmt.Fprintf(&b, " → %s", compactJSON(s.Result))
		b.WriteByte('\n')
		if f := s.Fractional; f != nil {
			if f.Problem != "" && f.Hash == 0 && len(f.Buckets) == 0 {
				fmt.Fprintf(&b, "    fractional returned null: %s\n", f.Problem)
				continue
			}
			kind := "flag key + targeting key"
			if f.CustomBucketing {
				kind = "custom bucketing expression"
			}
			fmt.Fprintf(&b, "    bucketing value %s (%s), murmur3 hash %d, bucket %d of %d\n",
				quote(f.BucketingValue), kind, f.Hash, f.Bucket, f.TotalWeight)
			var start int64
			for _, bk := range f.Buckets {
				fmt.Fprintf(&b, "    %-12s weight %-6d %6.2f%%  buckets [%d, %d)\n",
					compactJSON(bk.Variant), bk.Weight, bk.Percent, start, start+bk.Weight)
				start += bk.Weight
			}
			if f.Selected {
				fmt.Fprintf(&b, "    → %s\n", compactJSON(f.Variant))
			} else if f.Problem != "" {
				fmt.Fprintf(&b, "    → null: %s\n", f.Problem)
			}
		}
	}
	return b.String()
}

// compactJSON renders v as compact JSON without HTML escaping.
func compactJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// record adds a step; args (copied) or v are the evaluated arguments.
func (e *evaluator) record(n *node, result any, args []any, v any) {
	if e.trace == nil {
		return
	}
	if args != nil {
		v = append([]any(nil), args...)
	}
	e.trace.steps = append(e.trace.steps, Step{Path: n.path, Op: n.name, Args: v, Result: result})
}

func (e *evaluator) recordIf(n *node, branch int) {
	if e.trace == nil {
		return
	}
	s := Step{Path: n.path, Op: n.name}
	if branch >= 0 {
		s.Branch = n.arg.elems[branch].path
		if s.Branch == "" {
			s.Branch = fmt.Sprintf("%s[%d]", n.name, branch)
		}
	}
	e.trace.steps = append(e.trace.steps, s)
}

func (e *evaluator) recordFractional(n *node, ft *FractionalTrace) {
	var result any
	if ft.Selected {
		result = ft.Variant
	}
	e.trace.steps = append(e.trace.steps, Step{Path: n.path, Op: n.name, Result: result, Fractional: ft})
}
