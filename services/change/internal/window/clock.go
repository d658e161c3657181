package window

import (
	"fmt"
	"time"

	"github.com/penguinmails/floe/libs/ident"
)

// lookBehind bounds how far apart an instant and its wall-clock reading can
// be, with margin: UTC offsets stay within ±16h (real ones within -12h/+14h).
// Any instant more than lookBehind before t reads earlier on the clock than t.
const lookBehind = 48 * time.Hour

// A civil time is a wall-clock reading: a time.Time in UTC whose date and
// clock fields are the local ones. Civil times compare like the readings.

// civilOf is the reading of loc's clock at instant t.
func civilOf(t time.Time, loc *time.Location) time.Time {
	_, off := t.In(loc).Zone()
	return t.UTC().Add(time.Duration(off) * time.Second)
}

// resolve turns a civil time n into an instant in loc: the first instant at
// which loc's clock reads n or later. For a reading that happens once this is
// that instant; for one skipped by a spring-forward gap it is the end of the
// gap (02:30 on a Berlin spring-forward day → 03:00 CEST); for one that
// happens twice in a fall-back overlap it is the first (02:30 CEST, not CET).
// Because it never decreases as n grows, occurrences stay in order.
//
// It walks the zone's segments (spans of constant offset) forward from an
// instant whose clock certainly reads less than n.
func resolve(n time.Time, loc *time.Location) time.Time {
	p := n.Add(-lookBehind)
	for range 64 {
		lt := p.In(loc)
		_, off := lt.Zone()
		shift := time.Duration(off) * time.Second
		if !p.UTC().Add(shift).Before(n) {
			return p.In(loc) // the clock jumped over n at the start of this segment
		}
		crossing := n.Add(-shift) // the clock reads n here if this segment lasts
		_, end := lt.ZoneBounds()
		if end.IsZero() || crossing.Before(end) {
			return crossing.In(loc)
		}
		p = end
	}
	return p.In(loc) // not reached for any real zone
}

// wallMax is the latest reading of loc's clock at or before instant t:
// t's own reading, except within a fall-back overlap, where the clock read
// more just before it was set back.
func wallMax(t time.Time, loc *time.Location) time.Time {
	m := civilOf(t, loc)
	start, _ := t.In(loc).ZoneBounds()
	for range 64 {
		if start.IsZero() || t.Sub(start) > lookBehind {
			break
		}
		before := start.Add(-time.Nanosecond)
		if w := civilOf(before, loc); w.After(m) {
			m = w
		}
		start, _ = before.In(loc).ZoneBounds()
	}
	return m
}

// LoadZone resolves an IANA time zone name such as "Europe/Berlin" or "UTC".
// It refuses "" and "Local" (the host's zone, which differs between
// machines). Zones come from the system's tz database, or from time/tzdata
// when the binary embeds it.
func LoadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, fmt.Errorf("is required: an IANA time zone such as Europe/Berlin or UTC")
	case "Local":
		return nil, fmt.Errorf(`"Local" depends on the host; name an IANA time zone such as Europe/Berlin or UTC`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%s is not a known IANA time zone (such as Europe/Berlin or UTC)", ident.Quote(name))
	}
	return loc, nil
}

// schedule evaluation over wall-clock minutes.

// horizonYears bounds a search: any satisfiable schedule fires within one
// 400-year Gregorian cycle.
const horizonYears = 400

// dayMatches applies cron's day rule: when both day fields are restricted
// (neither contains '*') a day matches if either does; otherwise both must.
func (sc *schedule) dayMatches(y int, m time.Month, d int) bool {
	if sc.month&(1<<uint(m)) == 0 {
		return false
	}
	domOK := sc.dom&(1<<uint(d)) != 0
	dowOK := sc.dow&(1<<uint(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday())) != 0
	if sc.domStar || sc.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// matches reports whether civil minute c is scheduled.
func (sc *schedule) matches(c time.Time) bool {
	y, m, d := c.Date()
	return sc.dayMatches(y, m, d) && sc.hour&(1<<uint(c.Hour())) != 0 && sc.minute&(1<<uint(c.Minute())) != 0
}

// firstTime is the earliest scheduled time of day at or after h:mi.
func (sc *schedule) firstTime(h, mi int) (int, int, bool) {
	for hh := firstBit(sc.hour, h); hh >= 0; hh = firstBit(sc.hour, hh+1) {
		from := 0
		if hh == h {
			from = mi
		}
		if mm := firstBit(sc.minute, from); mm >= 0 {
			return hh, mm, true
		}
	}
	return 0, 0, false
}

// lastTime is the latest scheduled time of day at or before h:mi.
func (sc *schedule) lastTime(h, mi int) (int, int, bool) {
	for hh := lastBit(sc.hour, h); hh >= 0; hh = lastBit(sc.hour, hh-1) {
		to := 59
		if hh == h {
			to = mi
		}
		if mm := lastBit(sc.minute, to); mm >= 0 {
			return hh, mm, true
		}
	}
	return 0, 0, false
}

// nextNominal is the earliest scheduled civil minute at or after civil minute c.
func (sc *schedule) nextNominal(c time.Time) (time.Time, bool) {
	limit := c.AddDate(horizonYears, 0, 0)
	y, m, d := c.Date()
	h, mi := c.Hour(), c.Minute()
	for day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC); !day.After(limit); {
		y, m, d = day.Date()
		if sc.month&(1<<uint(m)) == 0 {
			day, h, mi = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC), 0, 0
			continue
		}
		if sc.dayMatches(y, m, d) {
			if hh, mm, ok := sc.firstTime(h, mi); ok {
				return time.Date(y, m, d, hh, mm, 0, 0, time.UTC), true
			}
		}
		day, h, mi = day.AddDate(0, 0, 1), 0, 0
	}
	return time.Time{}, false
}

// prevNominal is the latest scheduled civil minute at or before civil minute c.
func (sc *schedule) prevNominal(c time.Time) (time.Time, bool) {
	limit := c.AddDate(-horizonYears, 0, 0)
	y, m, d := c.Date()
	h, mi := c.Hour(), c.Minute()
	for day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC); !day.Before(limit); {
		y, m, d = day.Date()
		if sc.month&(1<<uint(m)) == 0 {
			day, h, mi = time.Date(y, m, 0, 0, 0, 0, 0, time.UTC), 23, 59 // the last day of the month before
			continue
		}
		if sc.dayMatches(y, m, d) {
			if hh, mm, ok := sc.lastTime(h, mi); ok {
				return time.Date(y, m, d, hh, mm, 0, 0, time.UTC), true
			}
		}
		day, h, mi = day.AddDate(0, 0, -1), 23, 59
	}
	return time.Time{}, false
}

// next is the first occurrence start strictly after instant t, in loc.
// An occurrence whose reading is n starts at resolve(n), which is after t
// exactly when n is later than every reading of the clock up to t.
func (sc *schedule) next(loc *time.Location, t time.Time) (time.Time, bool) {
	c := wallMax(t, loc).Truncate(time.Minute).Add(time.Minute)
	n, ok := sc.nextNominal(c)
	if !ok {
		return time.Time{}, false
	}
	return resolve(n, loc), true
}

// prev is the latest occurrence start at or before instant t, in loc.
func (sc *schedule) prev(loc *time.Location, t time.Time) (time.Time, bool) {
	n, ok := sc.prevNominal(wallMax(t, loc).Truncate(time.Minute))
	if !ok {
		return time.Time{}, false
	}
	return resolve(n, loc), true
}
