// Package domain holds the gate service's rules, pure Go: gate definitions
// per environment, and the gate run of one release in one environment —
// opening, reports, deadlines, overrides and the verdict the release service
// folds. Nothing here reads the log or the clock; the app layer does.
package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
)

// Aggregate kinds of the gate service.
const (
	AggDefs = "gatedef" // one per environment: its gate definitions
	AggRun  = "gaterun" // one per (release, environment)
)

// Limits of definitions.
const (
	MaxGates      = 20
	MaxSuites     = 20
	MaxTimeout    = 7 * 24 * time.Hour
	MaxReason     = 1000
	DefaultSystem = "floe/gate" // the actor of definitions seeded from configuration
)

var gateName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// ValidGateName reports whether name is a gate name.
func ValidGateName(name string) bool {
	return gateName.MatchString(name) && !strings.HasSuffix(name, " ")
}

// GateNameRule describes a gate name, as violations state it.
const GateNameRule = "1-64 letters, digits, spaces, '.', '-' or '_', starting with a letter or digit"

// CheckGateName adds a violation unless name is a gate name.
func CheckGateName(v *errs.Violations, field, name string) bool {
	switch {
	case name == "":
		v.Add(field, "is required")
	case !ValidGateName(name):
		v.Add(field, "%s is not a gate name: %s", ident.Quote(name), GateNameRule)
	default:
		return true
	}
	return false
}

// CheckDefinition adds a violation for every problem of g (fields under prefix).
func CheckDefinition(v *errs.Violations, prefix string, g *gatev1.GateDefinition) {
	if g == nil {
		v.Add(prefix, "is required")
		return
	}
	CheckGateName(v, prefix+".name", g.GetName())
	switch n := len(g.GetSuites()); {
	case n == 0:
		v.Add(prefix+".suites", "at least one suite is required")
	case n > MaxSuites:
		v.Add(prefix+".suites", "%d suites; at most %d", n, MaxSuites)
	}
	seen := map[string]bool{}
	for i, s := range g.GetSuites() {
		f := fmt.Sprintf("%s.suites[%d]", prefix, i)
		if ident.Check(v, f, s) && seen[s] {
			v.Add(f, "suite %s is listed twice", s)
		}
		seen[s] = true
	}
	switch t := g.GetTimeout(); {
	case t == nil:
		v.Add(prefix+".timeout", "is required")
	case !t.IsValid() || t.AsDuration() <= 0 || t.AsDuration() > MaxTimeout:
		v.Add(prefix+".timeout", "must be positive and at most %s", MaxTimeout)
	}
	switch g.GetOnFailure() {
	case gatev1.OnFailure_ON_FAILURE_BLOCK, gatev1.OnFailure_ON_FAILURE_WARN, gatev1.OnFailure_ON_FAILURE_IGNORE:
		if g.GetAllowOverride() && g.GetOnFailure() != gatev1.OnFailure_ON_FAILURE_WARN {
			v.Add(prefix+".allow_override", "only a gate that warns may be overridden")
		}
	default:
		v.Add(prefix+".on_failure", "must be block, warn or ignore")
	}
}

// CheckDefinitions checks an environment's whole set.
func CheckDefinitions(v *errs.Violations, prefix string, gates []*gatev1.GateDefinition) {
	if len(gates) > MaxGates {
		v.Add(prefix, "%d gates; at most %d per environment", len(gates), MaxGates)
	}
	names := map[string]bool{}
	for i, g := range gates {
		f := fmt.Sprintf("%s[%d]", prefix, i)
		CheckDefinition(v, f, g)
		if names[g.GetName()] {
			v.Add(f+".name", "gate %q is defined twice", g.GetName())
		}
		names[g.GetName()] = true
	}
}

// Gate builds a definition (for defaults and tests).
func Gate(name string, suites []string, required bool, timeout time.Duration, onFailure gatev1.OnFailure, allowOverride bool) *gatev1.GateDefinition {
	return &gatev1.GateDefinition{Name: name, Suites: suites, Required: required, Timeout: durationpb.New(timeout), OnFailure: onFailure, AllowOverride: allowOverride}
}

// DefaultDefinitions are the guide's five testing gates, exactly.
func DefaultDefinitions() map[string][]*gatev1.GateDefinition {
	const (
		block = gatev1.OnFailure_ON_FAILURE_BLOCK
		warn  = gatev1.OnFailure_ON_FAILURE_WARN
	)
	return map[string][]*gatev1.GateDefinition{
		"development": {
			Gate("Unit Tests", []string{"unit-tests", "component-tests"}, true, 10*time.Minute, block, false),
		},
		"staging": {
			Gate("Integration Tests", []string{"api-tests", "database-tests"}, true, 20*time.Minute, block, false),
			Gate("E2E Tests", []string{"user-journey-tests", "critical-path-tests"}, true, 30*time.Minute, warn, true),
			Gate("Performance Tests", []string{"load-tests", "stress-tests"}, false, 60*time.Minute, warn, false),
			Gate("Security Tests", []string{"sast", "dast", "dependency-scan"}, true, 15*time.Minute, block, false),
		},
	}
}

// Defs is an environment's gate definitions (the gatedef aggregate), with
// its accepted SARIF baselines.
type Defs struct {
	Environment string
	Version     uint64 // events applied; 0: only the configuration
	Gates       []*gatev1.GateDefinition
	SetBy       string
	SetAt       time.Time
	Baselines   []*gatev1.AcceptedBaseline // the latest per (product, gate, suite)
}

// ApplyDefs folds one gatedef event.
func ApplyDefs(d *Defs, e proto.Message, actor string, at time.Time) {
	switch ev := e.(type) {
	case *gatev1.GateDefinitionsSet:
		d.Gates = ev.GetGates()
		d.SetBy, d.SetAt = actor, at
	case *gatev1.SarifBaselineAccepted:
		b := proto.Clone(ev.GetBaseline()).(*gatev1.AcceptedBaseline)
		b.AcceptedBy, b.AcceptedAt = actor, timestamp(at)
		d.Baselines = slices.DeleteFunc(d.Baselines, func(x *gatev1.AcceptedBaseline) bool {
			return x.GetProduct() == b.GetProduct() && x.GetGate() == b.GetGate() && x.GetSuite() == b.GetSuite()
		})
		d.Baselines = append(d.Baselines, b)
	}
	d.Version++
}

// Baseline is the accepted baseline of a suite of a gate for product (nil: none).
func (d *Defs) Baseline(product, gate, suite string) *gatev1.AcceptedBaseline {
	for _, b := range d.Baselines {
		if b.GetProduct() == product && b.GetGate() == gate && b.GetSuite() == suite {
			return b
		}
	}
	return nil
}

// AcceptBaseline decides the acceptance of a suite's SARIF report (the
// latest in run) as the known findings.
func AcceptBaseline(d *Defs, run *Run, gate, suite, reason string) ([]proto.Message, error) {
	var v errs.Violations
	checkReason(&v, reason)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !run.Opened {
		return nil, &errs.NotFoundError{Kind: "gate run", ID: run.ID}
	}
	if err := run.CheckReportTarget(gate, suite); err != nil {
		return nil, err
	}
	st, ok := run.Gate(gate).Suites[suite]
	if !ok || st.GetEvidence().GetFormat() != gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF {
		return nil, errs.Invalid("suite", "%s of gate %q has no SARIF report in this run to accept", suite, gate)
	}
	ev := st.GetEvidence()
	return []proto.Message{&gatev1.SarifBaselineAccepted{Baseline: &gatev1.AcceptedBaseline{
		Product: run.Product, Gate: gate, Suite: suite, EvidenceDigest: ev.GetDigest(), ErrorKeysDigest: ev.GetErrorKeysDigest(),
		Errors: ev.GetSarifErrors(), Reason: reason,
	}}}, nil
}

// Find is the definition named name.
func (d *Defs) Find(name string) *gatev1.GateDefinition {
	i := slices.IndexFunc(d.Gates, func(g *gatev1.GateDefinition) bool { return g.GetName() == name })
	if i < 0 {
		return nil
	}
	return d.Gates[i]
}

// View is d as clients see it.
func (d *Defs) View() *gatev1.EnvironmentGates {
	out := &gatev1.EnvironmentGates{Environment: d.Environment, Version: d.Version, Gates: d.Gates, SetBy: d.SetBy, Baselines: d.Baselines}
	if !d.SetAt.IsZero() {
		out.SetAt = timestamp(d.SetAt)
	}
	return out
}

// Seed decides the first definitions of an environment, from configuration
// (nothing once the log has any).
func Seed(d *Defs, configured []*gatev1.GateDefinition) ([]proto.Message, error) {
	if d.Version > 0 {
		return nil, nil
	}
	var v errs.Violations
	CheckDefinitions(&v, "gates", configured)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&gatev1.GateDefinitionsSet{Environment: d.Environment, Gates: configured, Reason: "configured definitions"}}, nil
}

// SetGate decides a change of one gate: add or replace g (by name), or remove it.
func SetGate(d *Defs, g *gatev1.GateDefinition, remove bool, reason string, expected uint64) ([]proto.Message, error) {
	var v errs.Violations
	if remove {
		CheckGateName(&v, "gate.name", g.GetName())
	} else {
		CheckDefinition(&v, "gate", g)
	}
	checkReason(&v, reason)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if expected != 0 && expected != d.Version {
		return nil, &errs.ConflictError{Message: fmt.Sprintf("the gate definitions of %s are at version %d, not %d; reload and retry", d.Environment, d.Version, expected)}
	}
	gates := slices.Clone(d.Gates)
	i := slices.IndexFunc(gates, func(x *gatev1.GateDefinition) bool { return x.GetName() == g.GetName() })
	switch {
	case remove && i < 0:
		return nil, &errs.NotFoundError{Kind: "gate", ID: d.Environment + "/" + g.GetName()}
	case remove:
		gates = slices.Delete(gates, i, i+1)
	case i >= 0:
		gates[i] = g
	default:
		gates = append(gates, g)
	}
	CheckDefinitions(&v, "gates", gates)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&gatev1.GateDefinitionsSet{Environment: d.Environment, Gates: gates, Reason: reason}}, nil
}

func checkReason(v *errs.Violations, reason string) {
	switch {
	case strings.TrimSpace(reason) == "":
		v.Add("reason", "is required")
	case len(reason) > MaxReason:
		v.Add("reason", "%d bytes; at most %d", len(reason), MaxReason)
	}
}

// FromDefsView is the definitions a View describes.
func FromDefsView(v *gatev1.EnvironmentGates) *Defs {
	d := &Defs{Environment: v.GetEnvironment(), Version: v.GetVersion(), Gates: v.GetGates(), SetBy: v.GetSetBy(), Baselines: v.GetBaselines()}
	if v.GetSetAt() != nil {
		d.SetAt = v.GetSetAt().AsTime()
	}
	return d
}

// MarshalDefs and UnmarshalDefs encode definitions (as their view).
func MarshalDefs(d *Defs) ([]byte, error) { return proto.Marshal(d.View()) }

// UnmarshalDefs decodes MarshalDefs's encoding.
func UnmarshalDefs(b []byte) (*Defs, error) {
	var v gatev1.EnvironmentGates
	if err := proto.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return FromDefsView(&v), nil
}
