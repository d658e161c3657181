package window

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

// Limits of the model.
const (
	// MinDuration is the shortest window or recurring freeze occurrence.
	MinDuration = time.Minute
	// MaxWindowDuration is the longest deployment window occurrence.
	MaxWindowDuration = 7 * 24 * time.Hour
	// MaxRecurringFreezeDuration is the longest occurrence of a recurring
	// freeze: a month, so that a yearly year-end freeze fits.
	MaxRecurringFreezeDuration = 31 * 24 * time.Hour
	// MaxOneOffFreeze is the longest one-off freeze.
	MaxOneOffFreeze = 366 * 24 * time.Hour
	// MaxNameLen bounds a window's name, in bytes.
	MaxNameLen = 100
	// MaxTextLen bounds a freeze's or an override's reason, in bytes.
	MaxTextLen = 1000
	// MaxPrincipalLen bounds a principal id, in bytes.
	MaxPrincipalLen = 256
	// maxSpanSteps bounds the walk over overlapping occurrences that finds
	// when an open period ends (see timetable.spanEnd).
	maxSpanSteps = 1000
)

// Interval is the half-open span of time [Start, End).
type Interval struct {
	Start, End time.Time
}

// Contains reports whether t is in the interval.
func (i Interval) Contains(t time.Time) bool { return !t.Before(i.Start) && t.Before(i.End) }

// Window is a recurring deployment window of one environment: promotions
// there are allowed while one of its occurrences is open. An occurrence
// starts at each time the recurrence names on the wall clock of TimeZone and
// lasts Duration of elapsed time.
type Window struct {
	// ID identifies the window (an ident identifier).
	ID string
	// Environment is the environment the window opens.
	Environment string
	// Name is for people, e.g. "Tue/Thu evening".
	Name string
	// Recurrence says when occurrences start.
	Recurrence Recurrence
	// Duration is how long each occurrence lasts (MinDuration to MaxWindowDuration).
	Duration time.Duration
	// TimeZone is the IANA zone whose clock the recurrence reads, e.g. "Europe/Berlin".
	TimeZone string
	// ValidFrom and ValidUntil bound the window, when set: it is open only
	// within [ValidFrom, ValidUntil), and an occurrence crossing a bound is cut.
	ValidFrom, ValidUntil time.Time
}

// timetable is a validated recurring schedule: occurrences of a fixed
// duration, cut to an optional validity span.
type timetable struct {
	sched       *schedule
	loc         *time.Location
	d           time.Duration
	from, until time.Time // zero: unbounded
}

// checkTimetable validates the recurring part shared by windows and
// recurring freezes and returns it compiled when it is valid.
func checkTimetable(v *errs.Violations, r Recurrence, d time.Duration, tz string, from, until time.Time, maxD time.Duration) *timetable {
	before := v.Len()
	sc := r.check(v, "recurrence")
	if d < MinDuration || d > maxD {
		v.Add("duration", "%s is out of range: from %s to %s", d, MinDuration, maxD)
	}
	loc, err := LoadZone(tz)
	if err != nil {
		v.Add("time_zone", "%s", err.Error())
	}
	if !from.IsZero() && !until.IsZero() && !until.After(from) {
		v.Add("valid_until", "must be after valid_from (%s)", from.UTC().Format(time.RFC3339))
	}
	if v.Len() > before {
		return nil
	}
	return &timetable{sched: sc, loc: loc, d: d, from: from, until: until}
}

// checkText adds a violation unless s is non-empty, at most maxLen bytes of
// UTF-8 and free of control characters.
func checkText(v *errs.Violations, f, s string, maxLen int) {
	switch {
	case s == "":
		v.Add(f, "is required")
	case len(s) > maxLen:
		v.Add(f, "is %d bytes long; at most %d", len(s), maxLen)
	case !utf8.ValidString(s):
		v.Add(f, "is not valid UTF-8")
	default:
		for _, c := range s {
			if unicode.IsControl(c) {
				v.Add(f, "must not contain control characters")
				return
			}
		}
	}
}

// Validate returns an *errs.InvalidArgumentError naming every invalid field
// ("id", "environment", "name", "recurrence.cron", "recurrence.days[0]",
// "duration", "time_zone", "valid_until"), or nil.
func (w Window) Validate() error {
	_, err := w.compile()
	return err
}

// compile validates w and returns its timetable.
func (w Window) compile() (*timetable, error) {
	var v errs.Violations
	ident.Check(&v, "id", w.ID)
	ident.Check(&v, "environment", w.Environment)
	checkText(&v, "name", w.Name, MaxNameLen)
	tt := checkTimetable(&v, w.Recurrence, w.Duration, w.TimeZone, w.ValidFrom, w.ValidUntil, MaxWindowDuration)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return tt, nil
}

// OpenAt reports whether the window is open at t, and if so the open period
// around t: from when the window last opened to when it next closes, over
// occurrences that overlap or abut one another, cut to [ValidFrom,
// ValidUntil). An invalid window is never open.
func (w Window) OpenAt(t time.Time) (Interval, bool) {
	tt, err := w.compile()
	if err != nil {
		return Interval{}, false
	}
	return tt.activeAt(t)
}

// NextOpen is the period in which the window next opens after `after`, when
// it is closed then: the first occurrence starting after `after` (or the one
// in effect at ValidFrom, if that is later), extended past overlapping ones.
// While the window is open it is the period after the current one closes.
// It is false for an invalid window and when no occurrence remains.
func (w Window) NextOpen(after time.Time) (Interval, bool) {
	tt, err := w.compile()
	if err != nil {
		return Interval{}, false
	}
	return tt.nextOpen(after)
}

// Occurrences lists at most limit occurrences that overlap [from, to), in
// order, each cut to the validity span; nil for an invalid window.
func (w Window) Occurrences(from, to time.Time, limit int) []Interval {
	tt, err := w.compile()
	if err != nil {
		return nil
	}
	return tt.occurrences(from, to, limit)
}

// activeAt is OpenAt for a compiled timetable.
func (tt *timetable) activeAt(t time.Time) (Interval, bool) {
	if (!tt.from.IsZero() && t.Before(tt.from)) || (!tt.until.IsZero() && !t.Before(tt.until)) {
		return Interval{}, false
	}
	s, ok := tt.sched.prev(tt.loc, t)
	if !ok || !t.Before(s.Add(tt.d)) {
		return Interval{}, false
	}
	return tt.clip(Interval{Start: tt.spanStart(s), End: tt.spanEnd(s)}), true
}

// spanStart is when the period that the occurrence starting at s belongs to
// opened: s, pulled back past every earlier occurrence that lasts until s or
// later. Like spanEnd it gives up after maxSpanSteps steps.
func (tt *timetable) spanStart(s time.Time) time.Time {
	for range maxSpanSteps {
		if !tt.from.IsZero() && !s.After(tt.from) {
			return s
		}
		p, ok := tt.sched.prev(tt.loc, s.Add(-time.Nanosecond))
		if !ok || p.Add(tt.d).Before(s) {
			return s
		}
		s = p
	}
	return s
}

// clip cuts iv to the validity span.
func (tt *timetable) clip(iv Interval) Interval {
	if !tt.from.IsZero() && iv.Start.Before(tt.from) {
		iv.Start = tt.from
	}
	if !tt.until.IsZero() && iv.End.After(tt.until) {
		iv.End = tt.until
	}
	return iv
}

// spanEnd is when the period opened by the occurrence starting at s closes:
// s+d, pushed on by every occurrence that starts before or at that moment.
// A schedule that never lets the period close (every minute for an hour)
// stops after maxSpanSteps steps, so the result is then a lower bound.
func (tt *timetable) spanEnd(s time.Time) time.Time {
	end := s.Add(tt.d)
	for range maxSpanSteps {
		if !tt.until.IsZero() && !end.Before(tt.until) {
			return end
		}
		p, ok := tt.sched.prev(tt.loc, end)
		if !ok || !p.Add(tt.d).After(end) {
			return end
		}
		end = p.Add(tt.d)
	}
	return end
}

// nextOpen is NextOpen for a compiled timetable.
func (tt *timetable) nextOpen(after time.Time) (Interval, bool) {
	lo := after
	if !tt.from.IsZero() && after.Before(tt.from) {
		if iv, ok := tt.activeAt(tt.from); ok {
			return iv, true
		}
		lo = tt.from
	} else if iv, ok := tt.activeAt(after); ok {
		lo = iv.End.Add(-time.Nanosecond) // the next opening follows the current period
		if !tt.until.IsZero() && !iv.End.Before(tt.until) {
			return Interval{}, false
		}
	}
	s, ok := tt.sched.next(tt.loc, lo)
	if !ok || (!tt.until.IsZero() && !s.Before(tt.until)) {
		return Interval{}, false
	}
	return tt.clip(Interval{Start: s, End: tt.spanEnd(s)}), true
}

// occurrences is Occurrences for a compiled timetable.
func (tt *timetable) occurrences(from, to time.Time, limit int) []Interval {
	var out []Interval
	if !to.After(from) || limit <= 0 {
		return nil
	}
	// An occurrence overlaps [from, to) when it starts before to and after from-d.
	s, ok := tt.sched.next(tt.loc, from.Add(-tt.d))
	for ; ok && s.Before(to) && len(out) < limit; s, ok = tt.sched.next(tt.loc, s) {
		if !tt.until.IsZero() && !s.Before(tt.until) {
			break
		}
		iv := tt.clip(Interval{Start: s, End: s.Add(tt.d)})
		if iv.Start.Before(iv.End) && iv.End.After(from) {
			out = append(out, iv)
		}
	}
	return out
}

// Open returns the first window of env, in slice order, that is open at t.
// Invalid windows are never open.
func Open(windows []Window, env string, t time.Time) (Window, bool) {
	for _, w := range windows {
		if w.Environment != env {
			continue
		}
		if _, ok := w.OpenAt(t); ok {
			return w, true
		}
	}
	return Window{}, false
}

// NextOpen returns the window of env that opens first after `after`, and
// when (see Window.NextOpen); ties go to the earlier window in the slice.
func NextOpen(windows []Window, env string, after time.Time) (Window, Interval, bool) {
	var (
		best   Window
		bestIv Interval
		found  bool
	)
	for _, w := range windows {
		if w.Environment != env {
			continue
		}
		if iv, ok := w.NextOpen(after); ok && (!found || iv.Start.Before(bestIv.Start)) {
			best, bestIv, found = w, iv, true
		}
	}
	return best, bestIv, found
}

// HasWindows reports whether env has any window: an environment without
// windows is always open.
func HasWindows(windows []Window, env string) bool {
	for _, w := range windows {
		if w.Environment == env {
			return true
		}
	}
	return false
}

// NextOccurrence is the first start of r strictly after `after`, read on the
// clock of loc (nil: UTC). It is false when r is invalid or never occurs
// again within 400 years.
func NextOccurrence(r Recurrence, loc *time.Location, after time.Time) (time.Time, bool) {
	sc, err := r.compile()
	if err != nil {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	return sc.next(loc, after)
}

// LastOccurrence is the latest start of r at or before at, read on the clock
// of loc (nil: UTC). It is false when r is invalid or did not occur within
// the 400 years before.
func LastOccurrence(r Recurrence, loc *time.Location, at time.Time) (time.Time, bool) {
	sc, err := r.compile()
	if err != nil {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	return sc.prev(loc, at)
}

// formatTime shows t to people in loc: "Tue 6 Jan 2026 22:00 CET".
func formatTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// describe names a window or freeze in a sentence: id and, when it says more, its name.
func describe(id, name string) string {
	if name == "" || name == id {
		return ident.Quote(id)
	}
	return fmt.Sprintf("%s (%s)", ident.Quote(id), ident.Quote(name))
}
