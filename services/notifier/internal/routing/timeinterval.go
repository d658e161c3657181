package routing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones validate and resolve the same on every host
)

// TimeInterval is a recurring weekly time range in a time zone, Alertmanager's
// time_interval reduced to weekdays and times of day. Empty Weekdays is every
// day; empty Times is the whole day.
type TimeInterval struct {
	Times    []TimeRange
	Weekdays []WeekdayRange
	// Location is the time zone the times and weekdays are read in (UTC when unset).
	Location *time.Location
}

// TimeRange is a time of day range [Start, End) in minutes after midnight.
// An End not after Start crosses midnight: 22:00-02:00 starts on a listed
// weekday and ends on the next day (Alertmanager asks for two ranges instead).
type TimeRange struct {
	StartMinute, EndMinute int
}

// crossesMidnight reports whether the range ends on the next day.
func (r TimeRange) crossesMidnight() bool { return r.EndMinute <= r.StartMinute }

// WeekdayRange is an inclusive range of weekdays; Begin after End wraps
// through the week end ("saturday:monday").
type WeekdayRange struct {
	Begin, End time.Weekday
}

func (w WeekdayRange) contains(d time.Weekday) bool {
	if w.Begin <= w.End {
		return w.Begin <= d && d <= w.End
	}
	return d >= w.Begin || d <= w.End
}

func (ti TimeInterval) loc() *time.Location {
	if ti.Location == nil {
		return time.UTC
	}
	return ti.Location
}

func (ti TimeInterval) onDay(d time.Weekday) bool {
	if len(ti.Weekdays) == 0 {
		return true
	}
	for _, w := range ti.Weekdays {
		if w.contains(d) {
			return true
		}
	}
	return false
}

// Contains reports whether t falls in the interval (wall clock in its location).
func (ti TimeInterval) Contains(t time.Time) bool {
	lt := t.In(ti.loc())
	day := lt.Weekday()
	if len(ti.Times) == 0 {
		return ti.onDay(day)
	}
	minute := lt.Hour()*60 + lt.Minute()
	prev := (day + 6) % 7
	for _, r := range ti.Times {
		if !r.crossesMidnight() {
			if ti.onDay(day) && minute >= r.StartMinute && minute < r.EndMinute {
				return true
			}
			continue
		}
		if ti.onDay(day) && minute >= r.StartMinute || ti.onDay(prev) && minute < r.EndMinute {
			return true
		}
	}
	return false
}

// nextBoundary is the first instant after t at which Contains may change:
// the start or end of a range (or a midnight, for whole days). It may return
// a boundary at which nothing changes (adjacent ranges); callers just look
// again then.
func (ti TimeInterval) nextBoundary(t time.Time) time.Time {
	loc := ti.loc()
	lt := t.In(loc)
	var best time.Time
	consider := func(c time.Time) {
		if c.After(t) && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	for off := -1; off <= 8; off++ {
		y, m, d := lt.Date()
		if len(ti.Times) == 0 {
			consider(time.Date(y, m, d+off, 0, 0, 0, 0, loc))
			continue
		}
		for _, r := range ti.Times {
			consider(time.Date(y, m, d+off, 0, r.StartMinute, 0, 0, loc))
			end := d + off
			if r.crossesMidnight() {
				end++
			}
			consider(time.Date(y, m, end, 0, r.EndMinute, 0, 0, loc))
		}
	}
	return best
}

var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// parseWeekdayRange reads "monday" or "monday:friday".
func parseWeekdayRange(s string) (WeekdayRange, error) {
	b, e, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	begin, ok := weekdayNames[b]
	if !ok {
		return WeekdayRange{}, fmt.Errorf("%s is not a weekday: want monday … sunday, or a range such as monday:friday", strconv.Quote(s))
	}
	if !isRange {
		return WeekdayRange{Begin: begin, End: begin}, nil
	}
	end, ok := weekdayNames[e]
	if !ok {
		return WeekdayRange{}, fmt.Errorf("%s is not a weekday range: want e.g. monday:friday", strconv.Quote(s))
	}
	return WeekdayRange{Begin: begin, End: end}, nil
}

// parseClock reads "HH:MM" (00:00 to 24:00) as minutes after midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return 0, fmt.Errorf("%s is not a time of day: want HH:MM from 00:00 to 24:00", strconv.Quote(s))
	}
	return hh*60 + mm, nil
}

var locationName = func(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+-/", c)) {
			return false
		}
	}
	return !strings.Contains(s, "..") && !strings.HasPrefix(s, "/")
}

// loadLocation resolves an IANA time zone name ("Europe/Berlin", "UTC", "Local" is refused).
func loadLocation(s string) (*time.Location, error) {
	if !locationName(s) || s == "Local" {
		return nil, fmt.Errorf("%s is not a time zone: want an IANA name such as Europe/Berlin or UTC", strconv.Quote(s))
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not a known time zone: want an IANA name such as Europe/Berlin or UTC", strconv.Quote(s))
	}
	return loc, nil
}
