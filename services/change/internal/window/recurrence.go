package window

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

// Recurrence says when something starts again and again, on the wall clock of
// a time zone given beside it: weekly, on some days at one time of day
// (Days and At), or by a five-field cron expression (Cron). Exactly one form
// is set.
type Recurrence struct {
	// Days are the weekdays of a weekly recurrence: "Mon" … "Sun" or the
	// full English names, in any letter case.
	Days []string
	// At is the start time of day of a weekly recurrence, "HH:MM", 24-hour.
	At string
	// Cron is a cron expression (see CronRule), with standard semantics:
	// when both day fields are restricted a day matches either of them.
	Cron string
}

// Weekly is the weekly recurrence on days at the time of day at ("22:00").
func Weekly(at string, days ...string) Recurrence { return Recurrence{Days: days, At: at} }

// Cron is the recurrence of a cron expression.
func Cron(expr string) Recurrence { return Recurrence{Cron: expr} }

// IsZero reports whether no form is set.
func (r Recurrence) IsZero() bool { return len(r.Days) == 0 && r.At == "" && r.Cron == "" }

// weekdayNames maps every accepted spelling of a weekday to it.
var weekdayNames = func() map[string]time.Weekday {
	m := map[string]time.Weekday{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		m[strings.ToLower(d.String())] = d
		m[strings.ToLower(d.String()[:3])] = d
	}
	return m
}()

// parseWeekday reads one weekday name.
func parseWeekday(s string) (time.Weekday, bool) {
	d, ok := weekdayNames[strings.ToLower(s)]
	return d, ok
}

// parseClock reads "HH:MM" (or "H:MM"), 24-hour.
func parseClock(s string) (h, m int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(ms) != 2 {
		return 0, 0, false
	}
	h, okH := number(hs)
	m, okM := number(ms)
	if !okH || !okM || h > 23 || m > 59 {
		return 0, 0, false
	}
	return h, m, true
}

// field joins a field path: "" + "cron" → "cron", "recurrence" + "cron" →
// "recurrence.cron".
func field(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Validate returns an *errs.InvalidArgumentError naming every invalid field
// ("days[1]", "at", "cron"), or nil.
func (r Recurrence) Validate() error {
	var v errs.Violations
	r.check(&v, "")
	return v.Err()
}

// check adds r's violations under prefix and returns the compiled schedule
// when there were none.
func (r Recurrence) check(v *errs.Violations, prefix string) *schedule {
	weekly := len(r.Days) > 0 || r.At != ""
	switch {
	case r.IsZero():
		v.Add(prefix, "is required: weekly days and a time of day, or a cron expression")
		return nil
	case weekly && r.Cron != "":
		v.Add(prefix, "set either weekly days and a time of day, or a cron expression, not both")
		return nil
	case r.Cron != "":
		sc, err := parseCron(r.Cron)
		if err != nil {
			v.Add(field(prefix, "cron"), "%s", err.Error())
			return nil
		}
		return sc
	}
	before := v.Len()
	sc := &schedule{dom: progression(1, 31, 1), month: progression(1, 12, 1), domStar: true, domStep: 1, dowStep: 1}
	if len(r.Days) == 0 {
		v.Add(field(prefix, "days"), "at least one weekday is required")
	}
	for i, name := range r.Days {
		d, ok := parseWeekday(name)
		f := fmt.Sprintf("%s[%d]", field(prefix, "days"), i)
		switch {
		case !ok:
			v.Add(f, "%s is not a weekday: Mon, Tue, Wed, Thu, Fri, Sat or Sun (or the full name)", ident.Quote(name))
		case sc.dow&(1<<uint(d)) != 0:
			v.Add(f, "%s is listed twice", d)
		default:
			sc.dow |= 1 << uint(d)
		}
	}
	h, m, ok := parseClock(r.At)
	switch {
	case r.At == "":
		v.Add(field(prefix, "at"), "is required: the start time of day, HH:MM")
	case !ok:
		v.Add(field(prefix, "at"), "%s is not a time of day: HH:MM from 00:00 to 23:59", ident.Quote(r.At))
	default:
		sc.hour, sc.minute = 1<<uint(h), 1<<uint(m)
	}
	if v.Len() > before {
		return nil
	}
	return sc
}

// compile returns r's schedule, or its violations as an error.
func (r Recurrence) compile() (*schedule, error) {
	var v errs.Violations
	sc := r.check(&v, "")
	return sc, v.Err()
}

// String is r in the form ParseRecurrence reads: "Tue,Thu 22:00" for a
// weekly recurrence (days in order from Monday), the canonical five-field
// expression for a cron one. An invalid r is shown as written.
func (r Recurrence) String() string {
	sc, err := r.compile()
	switch {
	case err != nil && r.Cron != "":
		return r.Cron
	case err != nil:
		return strings.Join(r.Days, ",") + " " + r.At
	case r.Cron != "":
		return sc.String()
	}
	var days []string
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if sc.dow&(1<<uint(d)) != 0 {
			days = append(days, d.String()[:3])
		}
	}
	h, m, _ := parseClock(r.At)
	return fmt.Sprintf("%s %02d:%02d", strings.Join(days, ","), h, m)
}

// Canonical is r with its fields rewritten in their canonical form (days
// abbreviated and ordered from Monday, "HH:MM", the canonical cron
// expression), or r itself when it is invalid. Equal schedules of the same
// form have equal canonical forms.
func (r Recurrence) Canonical() Recurrence {
	if r.Validate() != nil {
		return r
	}
	if r.Cron != "" {
		return Recurrence{Cron: r.String()}
	}
	days, at, _ := strings.Cut(r.String(), " ")
	return Recurrence{Days: strings.Split(days, ","), At: at}
}

// ParseRecurrence reads a recurrence written as text: a cron expression
// ("0 22 * * 2,4", "@daily"), or weekdays and a time of day ("Tue,Thu 22:00",
// "Mon-Fri 06:30", "daily 03:00"; a range may wrap, as in "Fri-Mon"). The
// result is canonical; an error is an *errs.InvalidArgumentError with one
// violation of the empty field, for the caller to place with Merge.
func ParseRecurrence(s string) (Recurrence, error) {
	text := strings.TrimSpace(s)
	fields := strings.Fields(text)
	var r Recurrence
	switch {
	case text == "":
		return Recurrence{}, errs.Invalid("", "is required: weekdays and a time of day (Tue,Thu 22:00) or a cron expression")
	case strings.HasPrefix(text, "@") || len(fields) == 5:
		r = Recurrence{Cron: text}
	case len(fields) == 2:
		days, err := parseDayList(fields[0])
		if err != nil {
			return Recurrence{}, errs.Invalid("", "%s", err.Error())
		}
		r = Recurrence{Days: days, At: fields[1]}
	default:
		return Recurrence{}, errs.Invalid("", "%s is neither weekdays and a time of day (Tue,Thu 22:00) nor a cron expression (%s)", ident.Quote(text), CronRule)
	}
	var v errs.Violations
	r.check(&v, "")
	if err := v.Err(); err != nil {
		var ia *errs.InvalidArgumentError
		errors.As(err, &ia)
		var msgs []string
		for _, fv := range ia.Violations {
			msgs = append(msgs, fv.Description)
		}
		return Recurrence{}, errs.Invalid("", "%s", strings.Join(msgs, "; "))
	}
	return r.Canonical(), nil
}

// parseDayList reads "Tue,Thu", "Mon-Fri" or "daily" into weekday names.
func parseDayList(s string) ([]string, error) {
	if strings.EqualFold(s, "daily") {
		s = "Mon-Sun"
	}
	var set [7]bool
	for _, item := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		from, ok := parseWeekday(a)
		if !ok {
			return nil, fmt.Errorf("%s is not a weekday: Mon, Tue, Wed, Thu, Fri, Sat or Sun", ident.Quote(a))
		}
		to := from
		if isRange {
			if to, ok = parseWeekday(b); !ok {
				return nil, fmt.Errorf("%s is not a weekday: Mon, Tue, Wed, Thu, Fri, Sat or Sun", ident.Quote(b))
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			set[d] = true
			if d == to {
				break
			}
		}
	}
	var days []string
	for d := time.Sunday; d <= time.Saturday; d++ {
		if set[d] {
			days = append(days, d.String()[:3])
		}
	}
	return slices.Clip(days), nil
}
