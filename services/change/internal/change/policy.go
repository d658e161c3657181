package change

import (
	"fmt"
	"slices"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

// Policy is how the organisation runs change management. It is validated
// once, at start; Submit copies the parts that apply to a change into its
// Submitted event, so a change is judged by the policy it was submitted
// under.
type Policy struct {
	// NormalApprovals are the roles a normal change needs an approval as,
	// one each, from distinct people; a role listed twice needs two. The
	// guide's step 3: product and operations.
	NormalApprovals []string
	// EmergencyApprovers are the roles that may approve an emergency change;
	// EmergencyApprovals is how many distinct people must (the fast track:
	// one, from operations or security).
	EmergencyApprovers []string
	EmergencyApprovals int
	// EmergencyReview makes emergency changes go through technical review
	// too; by default they skip it and are reviewed afterwards instead.
	EmergencyReview bool
	// PIRDeadline is how long after an emergency change's implementation
	// starts its post-implementation review is due.
	PIRDeadline time.Duration
	// Validations are the checks every deployment of a change must pass
	// before the change is validated.
	Validations []string
	// StandardTemplates are the pre-approved templates a standard change
	// may be made from (approved on submission). None: no change is
	// standard, every one is reviewed and approved.
	StandardTemplates []string
}

// DefaultPolicy is the guide's process: product and operations approve a
// normal change; one person from operations or security approves an
// emergency, whose review is due 48 hours after implementation starts; a
// deployment is validated by its own outcome, its gates and its bake.
func DefaultPolicy() Policy {
	return Policy{
		NormalApprovals:    []string{"product", "operations"},
		EmergencyApprovers: []string{"operations", "security"},
		EmergencyApprovals: 1,
		PIRDeadline:        48 * time.Hour,
		Validations:        []string{CheckDeployment, CheckGates, CheckBake},
	}
}

// Validate reports every problem of the policy at once. Every class of
// change that needs approval needs at least one: the fast track reduces
// approvals, it does not remove them.
func (p Policy) Validate() error {
	var v errs.Violations
	if len(p.NormalApprovals) == 0 {
		v.Add("normal_approvals", "must name at least one role")
	}
	for i, r := range p.NormalApprovals {
		ident.Check(&v, fmt.Sprintf("normal_approvals[%d]", i), r)
	}
	if len(p.EmergencyApprovers) == 0 {
		v.Add("emergency_approvers", "must name at least one role")
	}
	for i, r := range p.EmergencyApprovers {
		if ident.Check(&v, fmt.Sprintf("emergency_approvers[%d]", i), r) && slices.Index(p.EmergencyApprovers, r) < i {
			v.Add(fmt.Sprintf("emergency_approvers[%d]", i), "%q is listed twice", r)
		}
	}
	if p.EmergencyApprovals < 1 || p.EmergencyApprovals > MaxListItems {
		v.Add("emergency_approvals", "must be between 1 and %d", MaxListItems)
	}
	if p.PIRDeadline <= 0 {
		v.Add("pir_deadline", "must be positive")
	}
	if len(p.Validations) == 0 {
		v.Add("validations", "must name at least one check")
	}
	for i, c := range p.Validations {
		if ident.Check(&v, fmt.Sprintf("validations[%d]", i), c) && slices.Index(p.Validations, c) < i {
			v.Add(fmt.Sprintf("validations[%d]", i), "%q is listed twice", c)
		}
	}
	for i, t := range p.StandardTemplates {
		ident.Check(&v, fmt.Sprintf("standard_templates[%d]", i), t)
	}
	return v.Err()
}

// requirements are the approvals a change of class needs under p.
func (p Policy) requirements(class Class) []Requirement {
	var out []Requirement
	switch class {
	case ClassNormal:
		for _, r := range p.NormalApprovals {
			out = append(out, Requirement{AnyOf: []string{r}})
		}
	case ClassEmergency:
		for range p.EmergencyApprovals {
			out = append(out, Requirement{AnyOf: slices.Clone(p.EmergencyApprovers)})
		}
	}
	return out
}

// reviewRequired reports whether a change of class needs technical review.
func (p Policy) reviewRequired(class Class) bool {
	switch class {
	case ClassNormal:
		return true
	case ClassEmergency:
		return p.EmergencyReview
	}
	return false
}
