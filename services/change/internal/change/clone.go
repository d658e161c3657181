package change

import "slices"

// Clone is a deep copy of c: decisions that chain (taking a review and
// completing it in one command) apply events to the copy, never to the
// state the caller holds.
func (c *ChangeRequest) Clone() *ChangeRequest {
	cp := *c
	cp.environments = slices.Clone(c.environments)
	cp.approvers = slices.Clone(c.approvers)
	cp.releases = slices.Clone(c.releases)
	cp.implementation, cp.rollback, cp.testing = c.implementation.clone(), c.rollback.clone(), c.testing.clone()
	cp.requirements = cloneRequirements(c.requirements)
	cp.validations = slices.Clone(c.validations)
	cp.approvals = make([]Approval, len(c.approvals))
	for i, a := range c.approvals {
		a.Roles = slices.Clone(a.Roles)
		cp.approvals[i] = a
	}
	if c.window != nil {
		w := c.window.clone()
		cp.window = &w
	}
	cp.deployments = make([]Deployment, len(c.deployments))
	for i, d := range c.deployments {
		cp.deployments[i] = d.clone()
	}
	cp.pir = c.pir.clone()
	return &cp
}
