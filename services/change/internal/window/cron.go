package window

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/penguinmails/floe/libs/ident"
)

// MaxCronLen bounds the length of a cron expression, in bytes.
const MaxCronLen = 256

// schedule is a compiled recurrence: the wall-clock minutes it names, as one
// bit set per cron field. Weekly recurrences compile to the same form.
type schedule struct {
	minute, hour, dom, month, dow uint64
	// domStar and dowStar record that the day-of-month or day-of-week field
	// contains '*': cron's day rule (see dayMatches) depends on it, not only
	// on the set of days.
	domStar, dowStar bool
	// domStep and dowStep are the step of the first '*' item of a day field
	// (1 for a bare '*'), so that formatting keeps the field unrestricted.
	domStep, dowStep int
}

// cronField describes one of the five fields.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is the value min+i (month) or i (weekday)
}

var (
	fieldMinute = cronField{name: "minute", min: 0, max: 59}
	fieldHour   = cronField{name: "hour", min: 0, max: 23}
	fieldDOM    = cronField{name: "day-of-month", min: 1, max: 31}
	fieldMonth  = cronField{name: "month", min: 1, max: 12,
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	// Day of week: 0-6 from Sunday; 7 is Sunday too.
	fieldDOW = cronField{name: "day-of-week", min: 0, max: 7,
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

// cronMacros are the accepted @-shorthands and their five-field meaning.
var cronMacros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// CronRule describes the accepted cron syntax, as messages state it.
const CronRule = "five fields (minute hour day-of-month month day-of-week), each '*', a value, a range a-b, " +
	"a list a,b and an optional step /n; month and weekday names (jan, mon) allowed; or @yearly, @monthly, " +
	"@weekly, @daily, @hourly"

// parseCron compiles a five-field cron expression (or an @-macro). The error
// says which field is wrong and why; it never panics, whatever s holds.
func parseCron(s string) (*schedule, error) {
	if len(s) > MaxCronLen {
		return nil, fmt.Errorf("is %d bytes long; at most %d", len(s), MaxCronLen)
	}
	expr := strings.TrimSpace(s)
	if expr == "" {
		return nil, fmt.Errorf("is empty; want %s", CronRule)
	}
	if strings.HasPrefix(expr, "@") {
		m, ok := cronMacros[strings.ToLower(expr)]
		if !ok {
			return nil, fmt.Errorf("%s is not a known shorthand: @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly", ident.Quote(expr))
		}
		expr = m
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return nil, fmt.Errorf("%s has %d fields; want %s", ident.Quote(expr), len(fields), CronRule)
	}
	var sc schedule
	var err error
	if sc.minute, _, _, err = fieldMinute.parse(fields[0]); err != nil {
		return nil, err
	}
	if sc.hour, _, _, err = fieldHour.parse(fields[1]); err != nil {
		return nil, err
	}
	if sc.dom, sc.domStar, sc.domStep, err = fieldDOM.parse(fields[2]); err != nil {
		return nil, err
	}
	if sc.month, _, _, err = fieldMonth.parse(fields[3]); err != nil {
		return nil, err
	}
	if sc.dow, sc.dowStar, sc.dowStep, err = fieldDOW.parse(fields[4]); err != nil {
		return nil, err
	}
	if err := sc.checkOccurs(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// parse reads one field: a comma-separated list of items, each '*', a value
// or a range a-b, with an optional /step ("a/step" means a to the maximum).
// It returns the set, whether an item was '*', and the first such item's step.
func (f cronField) parse(s string) (set uint64, star bool, starStep int, err error) {
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return 0, false, 0, fmt.Errorf("%s field %s has an empty list item", f.name, ident.Quote(s))
		}
		base, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, ok := number(stepText)
			if !ok || n < 1 || n > f.max-f.min+1 {
				return 0, false, 0, fmt.Errorf("%s field: step %s must be a number from 1 to %d", f.name, ident.Quote(stepText), f.max-f.min+1)
			}
			step = n
		}
		var lo, hi int
		switch {
		case base == "*":
			lo, hi = f.min, f.max
			if f.isWeekday() {
				hi = 6 // '*' in day-of-week is 0-6; 7 is only another name for 0
			}
			if !star {
				star, starStep = true, step
			}
		case strings.Contains(base, "-"):
			a, b, _ := strings.Cut(base, "-")
			if lo, err = f.value(a); err != nil {
				return 0, false, 0, err
			}
			if hi, err = f.value(b); err != nil {
				return 0, false, 0, err
			}
			if lo > hi {
				return 0, false, 0, fmt.Errorf("%s field: range %s runs backwards", f.name, ident.Quote(base))
			}
		default:
			if lo, err = f.value(base); err != nil {
				return 0, false, 0, err
			}
			hi = lo
			if hasStep {
				hi = f.max
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(f.canonical(v))
		}
	}
	return set, star, starStep, nil
}

// isWeekday reports whether f is the day-of-week field, where 7 means 0.
func (f cronField) isWeekday() bool { return f.names != nil && f.min == 0 }

// canonical maps 7 (Sunday) of the day-of-week field to 0.
func (f cronField) canonical(v int) int {
	if f.isWeekday() && v == 7 {
		return 0
	}
	return v
}

// value reads one number or name of the field and checks its range.
func (f cronField) value(s string) (int, error) {
	if n, ok := number(s); ok {
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("%s field: %d is out of range %d-%d", f.name, n, f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if strings.EqualFold(s, name) {
			return i + f.min, nil
		}
	}
	if f.names != nil {
		return 0, fmt.Errorf("%s field: %s is neither a number from %d to %d nor a name (%s)", f.name, ident.Quote(s), f.min, f.max, strings.Join(f.names, ", "))
	}
	return 0, fmt.Errorf("%s field: %s is not a number from %d to %d", f.name, ident.Quote(s), f.min, f.max)
}

// number parses 1-2 decimal digits.
func number(s string) (int, bool) {
	if len(s) == 0 || len(s) > 2 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// maxDays is the most days month m ever has (29 for February).
var maxDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// checkOccurs refuses a schedule that can never fire: with cron's day rule
// only a restricted day-of-month under an unrestricted day-of-week can ask
// for dates no month has (30 February, 31 April).
func (sc *schedule) checkOccurs() error {
	if sc.domStar || !sc.dowStar {
		return nil // day 1 (in every '*' set) or every weekday occurs in every month
	}
	for m := 1; m <= 12; m++ {
		if sc.month&(1<<uint(m)) == 0 {
			continue
		}
		if sc.dom&(1<<uint(maxDays[m]+1)-1) != 0 {
			return nil
		}
	}
	return fmt.Errorf("never occurs: no month of the month field has a day of the day-of-month field")
}

// String formats the schedule as a canonical five-field expression that
// parses back to the same schedule.
func (sc *schedule) String() string {
	return strings.Join([]string{
		formatPlain(sc.minute, fieldMinute.min, fieldMinute.max),
		formatPlain(sc.hour, fieldHour.min, fieldHour.max),
		formatDay(sc.dom, sc.domStar, sc.domStep, fieldDOM.min, fieldDOM.max),
		formatPlain(sc.month, fieldMonth.min, fieldMonth.max),
		formatDay(sc.dow, sc.dowStar, sc.dowStep, 0, 6),
	}, " ")
}

// progression is the set {min, min+step, ...} up to max.
func progression(min, max, step int) uint64 {
	var set uint64
	for v := min; v <= max; v += step {
		set |= 1 << uint(v)
	}
	return set
}

// formatPlain formats a field whose '*' carries no meaning beyond its set.
func formatPlain(set uint64, min, max int) string {
	for step := 1; step <= (max-min+1)/2; step++ {
		if set == progression(min, max, step) {
			if step == 1 {
				return "*"
			}
			return "*/" + strconv.Itoa(step)
		}
	}
	return formatList(set, min, max)
}

// formatDay formats a day field, keeping a '*' exactly when it had one.
func formatDay(set uint64, star bool, starStep, min, max int) string {
	if !star {
		return formatList(set, min, max)
	}
	for step := 1; step <= max-min+1; step++ {
		if set == progression(min, max, step) {
			if step == 1 {
				return "*"
			}
			return "*/" + strconv.Itoa(step)
		}
	}
	base := progression(min, max, starStep)
	head := "*/" + strconv.Itoa(starStep)
	if starStep == 1 {
		head = "*"
	}
	if rest := set &^ base; rest != 0 {
		return head + "," + formatList(rest, min, max)
	}
	return head
}

// formatList formats a non-empty set as runs: "a-b" for three or more
// consecutive values, else single values.
func formatList(set uint64, min, max int) string {
	var parts []string
	for v := min; v <= max; {
		if set&(1<<uint(v)) == 0 {
			v++
			continue
		}
		end := v
		for end+1 <= max && set&(1<<uint(end+1)) != 0 {
			end++
		}
		switch end - v {
		case 0:
			parts = append(parts, strconv.Itoa(v))
		case 1:
			parts = append(parts, strconv.Itoa(v), strconv.Itoa(end))
		default:
			parts = append(parts, strconv.Itoa(v)+"-"+strconv.Itoa(end))
		}
		v = end + 1
	}
	return strings.Join(parts, ",")
}

// firstBit is the lowest set bit of set at or above from, or -1.
func firstBit(set uint64, from int) int {
	if from > 63 {
		return -1
	}
	rest := set >> uint(from) << uint(from)
	if rest == 0 {
		return -1
	}
	return bits.TrailingZeros64(rest)
}

// lastBit is the highest set bit of set at or below to, or -1.
func lastBit(set uint64, to int) int {
	if to < 0 {
		return -1
	}
	rest := set
	if to < 63 {
		rest &= 1<<uint(to+1) - 1
	}
	return bits.Len64(rest) - 1
}
