package status

import (
	"math"
	"time"
)

// UptimeDays is how many days the uptime bars cover, as on Statuspage.
const UptimeDays = 90

// How much of the time in a status counts as downtime.
//
// Statuspage's "Uptime showcase" help (help.statuspage.io/help/uptime-calendar)
// says uptime is computed from the minutes a component spent in major and
// partial outage; the stored copy we could read stops before its weights.
// Instatus documents the convention it shares
// (instatus.com/help/status-page/uptime-colors): "a partial outage weight in
// this calculation is 30% the weight of a major outage", degraded
// performance does not count, and uptime = (total − (major + 0.3 × partial))
// / total. That is what we implement: major outage counts in full, partial
// outage at 30 %, degraded performance, maintenance and operational not at all.
const (
	weightMajor   = 1.0
	weightPartial = 0.3
)

func downWeight(s ComponentStatus) float64 {
	switch s {
	case MajorOutage:
		return weightMajor
	case PartialOutage:
		return weightPartial
	}
	return 0
}

// DayUptime is one bar: a calendar day in the page's time zone.
type DayUptime struct {
	// Date is the day, "2006-01-02".
	Date  string
	Start time.Time
	// End is the next midnight, or now for today.
	End time.Time
	// Observed is the part of the day the component existed.
	Observed time.Duration
	// Major and Partial are the time spent in major and partial outage.
	Major, Partial time.Duration
	// Down is the weighted downtime: Major + 30 % of Partial.
	Down time.Duration
	// Worst is the worst status the component was in that day.
	Worst ComponentStatus
}

// HasData reports whether the component existed during the day.
func (d DayUptime) HasData() bool { return d.Observed > 0 }

// Fraction is the day's uptime in [0, 1]; 1 without data.
func (d DayUptime) Fraction() float64 {
	if d.Observed <= 0 {
		return 1
	}
	return 1 - float64(d.Down)/float64(d.Observed)
}

// Uptime is a component's uptime over the last days.
type Uptime struct {
	Days     []DayUptime // oldest first; the last is today
	Observed time.Duration
	Down     time.Duration
}

// HasData reports whether any day has data.
func (u Uptime) HasData() bool { return u.Observed > 0 }

// Percent is the uptime over the period in percent, 100 without data.
func (u Uptime) Percent() float64 {
	if u.Observed <= 0 {
		return 100
	}
	return 100 * (1 - float64(u.Down)/float64(u.Observed))
}

// PercentText is Percent with two decimals, truncated rather than rounded so
// that any downtime shows below 100.00.
func (u Uptime) PercentText() string {
	p := math.Floor(u.Percent()*100) / 100
	return formatFloat2(p)
}

// ComputeUptime computes the uptime of the days days ending today (the day
// now falls on, in loc) from a component's timeline: the statuses it took and
// when, oldest first, the first being its creation. Time before the first
// entry has no data and counts neither up nor down; the last status lasts
// until now.
func ComputeUptime(timeline []StatusChange, now time.Time, days int, loc *time.Location) Uptime {
	if loc == nil {
		loc = time.UTC
	}
	if days <= 0 {
		return Uptime{}
	}
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	u := Uptime{Days: make([]DayUptime, days)}
	for i := range days {
		start := today.AddDate(0, 0, i-days+1)
		end := start.AddDate(0, 0, 1)
		if end.After(now) {
			end = now
		}
		d := DayUptime{Date: start.Format(time.DateOnly), Start: start, End: end, Worst: Operational}
		for k, ch := range timeline {
			from := ch.At
			to := now
			if k+1 < len(timeline) {
				to = timeline[k+1].At
			}
			lo, hi := maxTime(from, start), minTime(to, end)
			if !hi.After(lo) {
				continue
			}
			span := hi.Sub(lo)
			d.Observed += span
			switch ch.Status {
			case MajorOutage:
				d.Major += span
			case PartialOutage:
				d.Partial += span
			}
			d.Down += time.Duration(float64(span) * downWeight(ch.Status))
			if ch.Status.rank() > d.Worst.rank() {
				d.Worst = ch.Status
			}
		}
		u.Observed += d.Observed
		u.Down += d.Down
		u.Days[i] = d
	}
	return u
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
