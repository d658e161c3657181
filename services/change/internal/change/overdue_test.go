package change_test

import (
	"testing"
	"time"

	"github.com/penguinmails/floe/services/change/internal/change"
)

// TestNoticeOverdue: the overdue review is recorded once, one instant
// after it is due, never before, never again, and never once reviewed.
func TestNoticeOverdue(t *testing.T) {
	t.Parallel()
	emergency := [][]ev{submitted(change.ClassEmergency), by("otto", granted("otto", "operations", true), change.Approved{Approvals: 1, Required: 1}), scheduled()}
	implementing := plus(emergency, started("dep-1", "production", implAt, pirDueAt))

	if got := change.NoticeOverdue(given(t, emergency...), pirDueAt.Add(time.Hour)); got != nil {
		t.Errorf("before implementation: %v, want nothing (no review is due)", got)
	}
	if got := change.NoticeOverdue(given(t, normalScheduled()...), pirDueAt.Add(time.Hour)); got != nil {
		t.Errorf("a normal change: %v, want nothing (no review is required)", got)
	}
	c := given(t, implementing...)
	if got := change.NoticeOverdue(c, pirDueAt); got != nil {
		t.Errorf("at the due time: %v, want nothing (due is not overdue)", got)
	}
	got := change.NoticeOverdue(c, pirDueAt.Add(time.Second))
	diffEvents(t, events(change.ReviewOverdue{Due: pirDueAt}), got)
	apply(c, "system:change", pirDueAt.Add(time.Second), got)
	if !c.OverdueNoticed() || !c.Overdue(pirDueAt.Add(time.Minute)) {
		t.Fatalf("after the notice: noticed %v, overdue %v", c.OverdueNoticed(), c.Overdue(pirDueAt.Add(time.Minute)))
	}
	if again := change.NoticeOverdue(c, pirDueAt.Add(time.Hour)); again != nil {
		t.Errorf("a second notice: %v", again)
	}
	reviewed := given(t, plus(implementing, byAt("sam", pirDueAt.Add(-time.Hour), change.PostImplementationReviewed{Reviewer: "sam", RootCause: "x", Prevention: []change.Action{{Description: "y", Owner: "z"}}}))...)
	if got := change.NoticeOverdue(reviewed, pirDueAt.Add(time.Hour)); got != nil {
		t.Errorf("reviewed in time: %v", got)
	}
}
