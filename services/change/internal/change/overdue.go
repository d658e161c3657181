package change

import "time"

// NoticeOverdue decides the record that c's post-implementation review is
// overdue at now: once per change, and only while it is overdue (none
// once the review is recorded).
func NoticeOverdue(c *ChangeRequest, now time.Time) []Event {
	if !c.Exists() || c.overdueNoticed || !c.Overdue(now) {
		return nil
	}
	return []Event{ReviewOverdue{Due: c.pirDue}}
}

// OverdueNoticed reports whether the overdue review was recorded.
func (c *ChangeRequest) OverdueNoticed() bool { return c.overdueNoticed }
