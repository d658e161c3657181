package window

import (
	"fmt"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

// AllEnvironments, as a freeze's environment, freezes every environment.
const AllEnvironments = "*"

// Freeze stops promotions to its environments while it is in effect:
// once, over [Start, End), or at every occurrence of a recurrence (read on
// the clock of TimeZone) for Duration. Rollbacks are never stopped.
type Freeze struct {
	// ID identifies the freeze (an ident identifier).
	ID string
	// Environments are the environments frozen; AllEnvironments means all.
	Environments []string
	// Reason says why, for people ("year-end", "Black Friday").
	Reason string
	// Start and End bound a one-off freeze, [Start, End). Unset for a
	// recurring freeze.
	Start, End time.Time
	// Recurrence, when set, makes the freeze recurring: each occurrence
	// starts when it says and lasts Duration (MinDuration to
	// MaxRecurringFreezeDuration).
	Recurrence Recurrence
	Duration   time.Duration
	// TimeZone is the IANA zone whose clock a recurring freeze reads; for a
	// one-off freeze it is optional and only shows times to people.
	TimeZone string
	// ValidFrom and ValidUntil bound a recurring freeze, when set, as for a
	// Window.
	ValidFrom, ValidUntil time.Time
	// CreatedBy is the principal who declared the freeze.
	CreatedBy string
}

// IsRecurring reports whether f recurs (has a Recurrence).
func (f Freeze) IsRecurring() bool { return !f.Recurrence.IsZero() }

// AppliesTo reports whether f freezes env.
func (f Freeze) AppliesTo(env string) bool {
	for _, e := range f.Environments {
		if e == env || e == AllEnvironments {
			return true
		}
	}
	return false
}

// Validate returns an *errs.InvalidArgumentError naming every invalid field
// ("id", "environments[1]", "reason", "created_by", "start", "end",
// "recurrence.cron", "duration", "time_zone", "valid_until"), or nil.
func (f Freeze) Validate() error {
	_, err := f.compile()
	return err
}

// compiledFreeze is a validated freeze: a one-off interval or a timetable.
type compiledFreeze struct {
	once *Interval
	tt   *timetable
	loc  *time.Location // for messages
}

// compile validates f.
func (f Freeze) compile() (*compiledFreeze, error) {
	var v errs.Violations
	ident.Check(&v, "id", f.ID)
	if len(f.Environments) == 0 {
		v.Add("environments", "at least one environment (or %q for all) is required", AllEnvironments)
	}
	seen := map[string]bool{}
	for i, e := range f.Environments {
		fp := fmt.Sprintf("environments[%d]", i)
		if e != AllEnvironments && !ident.Check(&v, fp, e) {
			continue
		}
		if seen[e] {
			v.Add(fp, "%s is listed twice", ident.Quote(e))
		}
		seen[e] = true
	}
	checkText(&v, "reason", f.Reason, MaxTextLen)
	checkText(&v, "created_by", f.CreatedBy, MaxPrincipalLen)
	cf := &compiledFreeze{loc: time.UTC}
	if f.IsRecurring() {
		if !f.Start.IsZero() {
			v.Add("start", "a recurring freeze has no start: its recurrence says when it starts")
		}
		if !f.End.IsZero() {
			v.Add("end", "a recurring freeze has no end: its duration says how long each occurrence lasts")
		}
		cf.tt = checkTimetable(&v, f.Recurrence, f.Duration, f.TimeZone, f.ValidFrom, f.ValidUntil, MaxRecurringFreezeDuration)
		if cf.tt != nil {
			cf.loc = cf.tt.loc
		}
	} else {
		switch {
		case f.Start.IsZero():
			v.Add("start", "is required for a one-off freeze (or set a recurrence)")
		case f.End.IsZero():
			v.Add("end", "is required for a one-off freeze")
		case !f.End.After(f.Start):
			v.Add("end", "must be after start (%s)", f.Start.UTC().Format(time.RFC3339))
		case f.End.Sub(f.Start) > MaxOneOffFreeze:
			v.Add("end", "the freeze lasts %s; at most %s", f.End.Sub(f.Start), MaxOneOffFreeze)
		}
		if f.Duration != 0 {
			v.Add("duration", "only a recurring freeze has a duration; a one-off one runs from start to end")
		}
		if !f.ValidFrom.IsZero() || !f.ValidUntil.IsZero() {
			v.Add("valid_from", "only a recurring freeze has a validity span")
		}
		if f.TimeZone != "" {
			loc, err := LoadZone(f.TimeZone)
			if err != nil {
				v.Add("time_zone", "%s", err.Error())
			} else {
				cf.loc = loc
			}
		}
		cf.once = &Interval{Start: f.Start, End: f.End}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return cf, nil
}

// activeAt reports whether the freeze is in effect at t, and the period:
// the one-off interval, or as Window.OpenAt.
func (cf *compiledFreeze) activeAt(t time.Time) (Interval, bool) {
	if cf.once != nil {
		return *cf.once, cf.once.Contains(t)
	}
	return cf.tt.activeAt(t)
}

// ActiveAt reports whether f is in effect at t, and the period in effect:
// the one-off [Start, End), or for a recurring freeze the period around t
// from when the freeze last began to when it next lifts (as Window.OpenAt).
// An invalid freeze is never in effect (validate freezes when they are
// declared).
func (f Freeze) ActiveAt(t time.Time) (Interval, bool) {
	cf, err := f.compile()
	if err != nil {
		return Interval{}, false
	}
	return cf.activeAt(t)
}

// Occurrences lists at most limit periods of f overlapping [from, to).
func (f Freeze) Occurrences(from, to time.Time, limit int) []Interval {
	cf, err := f.compile()
	if err != nil || limit <= 0 {
		return nil
	}
	if cf.once != nil {
		if cf.once.Start.Before(to) && cf.once.End.After(from) {
			return []Interval{*cf.once}
		}
		return nil
	}
	return cf.tt.occurrences(from, to, limit)
}

// Frozen returns the first freeze of env, in slice order, in effect at t.
func Frozen(freezes []Freeze, env string, t time.Time) (Freeze, bool) {
	for _, f := range freezes {
		if !f.AppliesTo(env) {
			continue
		}
		if _, ok := f.ActiveAt(t); ok {
			return f, true
		}
	}
	return Freeze{}, false
}
