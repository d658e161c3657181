package change_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/change/internal/change"
)

// A clone is independent: events applied to it leave the original as it was.
func TestClone(t *testing.T) {
	t.Parallel()
	c := given(t, plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{}))...)
	before := c.Summary(now)
	deps, approvals := c.Deployments(), c.Approvals()
	cp := c.Clone()
	apply(cp, "system:change", implAt, []change.Event{change.ValidationRecorded{DeploymentID: "dep-1", Check: change.CheckDeployment, Outcome: change.OutcomeFailed}, change.Failed{Reason: "x"}})
	if cp.State() != change.StateFailed {
		t.Fatalf("the clone is %s, want failed", cp.State())
	}
	if c.State() != change.StateImplementing {
		t.Errorf("the original moved to %s", c.State())
	}
	if diff := cmp.Diff(before, c.Summary(now)); diff != "" {
		t.Errorf("the original's summary changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(deps, c.Deployments()); diff != "" {
		t.Errorf("the original's deployments changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(approvals, c.Approvals()); diff != "" {
		t.Errorf("the original's approvals changed:\n%s", diff)
	}
}
