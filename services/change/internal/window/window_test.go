package window

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
)

// checkViolations compares err's field violations with want, each
// "field: start of the description"; want nil means err must be nil.
func checkViolations(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("error = %v, want nil", err)
		}
		return
	}
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("error = %v (%T), want an *errs.InvalidArgumentError", err, err)
	}
	if len(ia.Violations) != len(want) {
		t.Fatalf("violations = %q, want %d like %q", ia.Error(), len(want), want)
	}
	for i, w := range want {
		got := ia.Violations[i].Field + ": " + ia.Violations[i].Description
		if !strings.HasPrefix(got, w) {
			t.Errorf("violation %d = %q, want it to start with %q", i, got, w)
		}
	}
}

// iv is an interval from two RFC 3339 instants.
func iv(t testing.TB, start, end string) Interval {
	t.Helper()
	return Interval{Start: at(t, start), End: at(t, end)}
}

// ivUTC shows an interval in UTC, for comparisons.
func ivUTC(i Interval) string {
	return i.Start.UTC().Format(time.RFC3339) + "/" + i.End.UTC().Format(time.RFC3339)
}

// evening is production's window: Tuesdays and Thursdays from 22:00 Berlin
// time, for two hours, so it crosses midnight.
var evening = Window{
	ID: "w-evening", Environment: "production", Name: "Tue/Thu evening",
	Recurrence: Weekly("22:00", "Tue", "Thu"), Duration: 2 * time.Hour, TimeZone: "Europe/Berlin",
}

func TestWindowOpenAt(t *testing.T) {
	t.Parallel()
	with := func(w Window, f func(*Window)) Window { f(&w); return w }
	sundayNight := Window{ID: "w-sun", Environment: "production", Name: "Sunday night",
		Recurrence: Weekly("22:00", "Sun"), Duration: 4 * time.Hour, TimeZone: "UTC"}
	berlinSun0230 := Window{ID: "w-dst", Environment: "production", Name: "early Sunday",
		Recurrence: Weekly("02:30", "Sun"), Duration: 2 * time.Hour, TimeZone: "Europe/Berlin"}
	nySun0130 := Window{ID: "w-ny", Environment: "production", Name: "early Sunday NY",
		Recurrence: Cron("30 1 * * sun"), Duration: time.Hour, TimeZone: "America/New_York"}
	nySun0230 := with(nySun0130, func(w *Window) { w.Recurrence = Cron("30 2 * * 0"); w.Duration = 2 * time.Hour })
	thursdayLate := Window{ID: "w-thu", Environment: "production", Name: "Thursday late",
		Recurrence: Weekly("23:00", "Thu"), Duration: 2 * time.Hour, TimeZone: "UTC"}
	abutting := Window{ID: "w-abut", Environment: "production", Name: "abutting",
		Recurrence: Cron("0,30 10 * * *"), Duration: 30 * time.Minute, TimeZone: "UTC"}
	overlapping := Window{ID: "w-overlap", Environment: "production", Name: "overlapping",
		Recurrence: Cron("0,10 * * * *"), Duration: 15 * time.Minute, TimeZone: "UTC"}

	tests := []struct {
		name   string
		w      Window
		t      string
		want   string // the open period in UTC; "" when closed
		wantOK bool
	}{
		{name: "just before", w: evening, t: "2025-01-07T20:59:59Z"},
		{name: "at the start", w: evening, t: "2025-01-07T21:00:00Z", wantOK: true, want: "2025-01-07T21:00:00Z/2025-01-07T23:00:00Z"},
		{name: "after midnight Berlin", w: evening, t: "2025-01-07T22:59:59Z", wantOK: true, want: "2025-01-07T21:00:00Z/2025-01-07T23:00:00Z"},
		{name: "at the end", w: evening, t: "2025-01-07T23:00:00Z"},
		{name: "Wednesday", w: evening, t: "2025-01-08T21:30:00Z"},
		{name: "Thursday in summer time", w: evening, t: "2025-07-10T20:30:00Z", wantOK: true, want: "2025-07-10T20:00:00Z/2025-07-10T22:00:00Z"},
		{name: "crossing into the next week", w: sundayNight, t: "2025-01-06T01:00:00Z", wantOK: true, want: "2025-01-05T22:00:00Z/2025-01-06T02:00:00Z"},
		{name: "closed Monday 02:00", w: sundayNight, t: "2025-01-06T02:00:00Z"},
		{name: "Berlin spring forward: 02:30 opens at 03:00 CEST", w: berlinSun0230, t: "2024-03-31T01:00:00Z", wantOK: true, want: "2024-03-31T01:00:00Z/2024-03-31T03:00:00Z"},
		{name: "Berlin spring forward: not before the gap", w: berlinSun0230, t: "2024-03-31T00:59:59Z"},
		{name: "Berlin spring forward: two hours elapsed", w: berlinSun0230, t: "2024-03-31T03:00:00Z"},
		{name: "Berlin fall back: the first 02:30", w: berlinSun0230, t: "2024-10-27T00:30:00Z", wantOK: true, want: "2024-10-27T00:30:00Z/2024-10-27T02:30:00Z"},
		{name: "Berlin fall back: the second 02:30 starts nothing new", w: berlinSun0230, t: "2024-10-27T02:30:00Z"},
		{name: "New York fall back: 01:30 EDT", w: nySun0130, t: "2024-11-03T05:30:00Z", wantOK: true, want: "2024-11-03T05:30:00Z/2024-11-03T06:30:00Z"},
		{name: "New York fall back: 01:30 EST is not a second start", w: nySun0130, t: "2024-11-03T06:30:00Z"},
		{name: "New York spring forward: 02:30 opens at 03:00 EDT", w: nySun0230, t: "2024-03-10T07:00:00Z", wantOK: true, want: "2024-03-10T07:00:00Z/2024-03-10T09:00:00Z"},
		{name: "New York spring forward: closed before", w: nySun0230, t: "2024-03-10T06:59:00Z"},
		{name: "leap day into 1 March", w: thursdayLate, t: "2024-03-01T00:30:00Z", wantOK: true, want: "2024-02-29T23:00:00Z/2024-03-01T01:00:00Z"},
		{name: "valid from cuts the start", w: with(evening, func(w *Window) { w.ValidFrom = at(t, "2025-01-07T21:30:00Z") }), t: "2025-01-07T21:15:00Z"},
		{name: "valid from: open after it", w: with(evening, func(w *Window) { w.ValidFrom = at(t, "2025-01-07T21:30:00Z") }), t: "2025-01-07T21:45:00Z", wantOK: true, want: "2025-01-07T21:30:00Z/2025-01-07T23:00:00Z"},
		{name: "valid until cuts the end", w: with(evening, func(w *Window) { w.ValidUntil = at(t, "2025-01-07T22:00:00Z") }), t: "2025-01-07T21:15:00Z", wantOK: true, want: "2025-01-07T21:00:00Z/2025-01-07T22:00:00Z"},
		{name: "valid until: closed after it", w: with(evening, func(w *Window) { w.ValidUntil = at(t, "2025-01-07T22:00:00Z") }), t: "2025-01-07T22:15:00Z"},
		{name: "overlapping occurrences: open until the last closes", w: overlapping, t: "2025-01-07T10:05:00Z", wantOK: true, want: "2025-01-07T10:00:00Z/2025-01-07T10:25:00Z"},
		{name: "overlapping occurrences: from the first of them", w: overlapping, t: "2025-01-07T10:12:00Z", wantOK: true, want: "2025-01-07T10:00:00Z/2025-01-07T10:25:00Z"},
		{name: "abutting occurrences make one period", w: abutting, t: "2025-01-07T10:45:00Z", wantOK: true, want: "2025-01-07T10:00:00Z/2025-01-07T11:00:00Z"},
		{name: "overlapping occurrences: closed between", w: overlapping, t: "2025-01-07T10:30:00Z"},
		{name: "an invalid window is never open", w: with(evening, func(w *Window) { w.TimeZone = "Mars/Olympus" }), t: "2025-01-07T21:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.w.OpenAt(at(t, tt.t))
			if ok != tt.wantOK {
				t.Fatalf("OpenAt(%s) ok = %v, want %v (period %s)", tt.t, ok, tt.wantOK, ivUTC(got))
			}
			if ok && ivUTC(got) != tt.want {
				t.Errorf("OpenAt(%s) = %s, want %s", tt.t, ivUTC(got), tt.want)
			}
		})
	}
}

func TestWindowNextOpen(t *testing.T) {
	t.Parallel()
	with := func(f func(*Window)) Window { w := evening; f(&w); return w }
	tests := []struct {
		name  string
		w     Window
		after string
		want  string // "" for none
	}{
		{name: "from Wednesday", w: evening, after: "2025-01-08T12:00:00Z", want: "2025-01-09T21:00:00Z/2025-01-09T23:00:00Z"},
		{name: "while open: the next period", w: evening, after: "2025-01-07T21:30:00Z", want: "2025-01-09T21:00:00Z/2025-01-09T23:00:00Z"},
		{name: "at a start: strictly after", w: evening, after: "2025-01-07T21:00:00Z", want: "2025-01-09T21:00:00Z/2025-01-09T23:00:00Z"},
		{name: "across the spring change", w: evening, after: "2025-03-28T00:00:00Z", want: "2025-04-01T20:00:00Z/2025-04-01T22:00:00Z"},
		{name: "before valid from, in an occurrence", w: with(func(w *Window) { w.ValidFrom = at(t, "2025-01-07T21:30:00Z") }), after: "2025-01-01T00:00:00Z", want: "2025-01-07T21:30:00Z/2025-01-07T23:00:00Z"},
		{name: "before valid from, between occurrences", w: with(func(w *Window) { w.ValidFrom = at(t, "2025-01-08T00:00:00Z") }), after: "2025-01-01T00:00:00Z", want: "2025-01-09T21:00:00Z/2025-01-09T23:00:00Z"},
		{name: "after valid until", w: with(func(w *Window) { w.ValidUntil = at(t, "2025-01-08T00:00:00Z") }), after: "2025-01-08T12:00:00Z"},
		{name: "the last period before valid until", w: with(func(w *Window) { w.ValidUntil = at(t, "2025-01-09T22:00:00Z") }), after: "2025-01-08T12:00:00Z", want: "2025-01-09T21:00:00Z/2025-01-09T22:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.w.NextOpen(at(t, tt.after))
			if ok != (tt.want != "") {
				t.Fatalf("NextOpen(%s) ok = %v, want %v (period %s)", tt.after, ok, tt.want != "", ivUTC(got))
			}
			if ok && ivUTC(got) != tt.want {
				t.Errorf("NextOpen(%s) = %s, want %s", tt.after, ivUTC(got), tt.want)
			}
		})
	}
}

func TestOccurrences(t *testing.T) {
	t.Parallel()
	hourly := Window{ID: "w-hourly", Environment: "staging", Name: "hourly",
		Recurrence: Cron("0 * * * *"), Duration: 10 * time.Minute, TimeZone: "Europe/Berlin"}
	tests := []struct {
		name     string
		w        Window
		from, to string
		limit    int
		want     []string
	}{
		{
			name: "a week", w: evening, from: "2025-01-06T00:00:00Z", to: "2025-01-13T00:00:00Z", limit: 10,
			want: []string{"2025-01-07T21:00:00Z/2025-01-07T23:00:00Z", "2025-01-09T21:00:00Z/2025-01-09T23:00:00Z"},
		},
		{
			name: "an occurrence under way at from is listed", w: evening, from: "2025-01-07T22:00:00Z", to: "2025-01-09T21:00:00Z", limit: 10,
			want: []string{"2025-01-07T21:00:00Z/2025-01-07T23:00:00Z"},
		},
		{
			name: "limit", w: evening, from: "2025-01-06T00:00:00Z", to: "2025-02-01T00:00:00Z", limit: 1,
			want: []string{"2025-01-07T21:00:00Z/2025-01-07T23:00:00Z"},
		},
		{
			name: "hourly over the Berlin fall-back: the repeated 02:00 starts nothing", w: hourly,
			from: "2024-10-26T23:30:00Z", to: "2024-10-27T03:00:00Z", limit: 10,
			want: []string{"2024-10-27T00:00:00Z/2024-10-27T00:10:00Z", "2024-10-27T02:00:00Z/2024-10-27T02:10:00Z"},
		},
		{
			name: "hourly over the Berlin spring-forward: 02:00 moves to 03:00 and merges with it", w: hourly,
			from: "2024-03-30T23:30:00Z", to: "2024-03-31T02:30:00Z", limit: 10,
			want: []string{"2024-03-31T00:00:00Z/2024-03-31T00:10:00Z", "2024-03-31T01:00:00Z/2024-03-31T01:10:00Z", "2024-03-31T02:00:00Z/2024-03-31T02:10:00Z"},
		},
		{name: "empty range", w: evening, from: "2025-01-07T00:00:00Z", to: "2025-01-07T00:00:00Z", limit: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, i := range tt.w.Occurrences(at(t, tt.from), at(t, tt.to), tt.limit) {
				got = append(got, ivUTC(i))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Occurrences (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenAndNextOpenOverWindows(t *testing.T) {
	t.Parallel()
	morning := Window{ID: "w-morning", Environment: "production", Name: "Monday morning",
		Recurrence: Cron("0 6 * * mon"), Duration: 3 * time.Hour, TimeZone: "UTC"}
	staging := Window{ID: "w-staging", Environment: "staging", Name: "always Wednesday",
		Recurrence: Weekly("00:00", "Wed"), Duration: 24 * time.Hour, TimeZone: "UTC"}
	windows := []Window{staging, evening, morning}

	if w, ok := Open(windows, "production", at(t, "2025-01-06T07:00:00Z")); !ok || w.ID != "w-morning" {
		t.Errorf("Open(production, Mon 07:00) = %q, %v; want w-morning", w.ID, ok)
	}
	if w, ok := Open(windows, "production", at(t, "2025-01-08T12:00:00Z")); ok {
		t.Errorf("Open(production, Wed noon) = %q; want closed (staging's window is not production's)", w.ID)
	}
	if w, ok := Open(windows, "staging", at(t, "2025-01-08T12:00:00Z")); !ok || w.ID != "w-staging" {
		t.Errorf("Open(staging, Wed noon) = %q, %v; want w-staging", w.ID, ok)
	}
	w, next, ok := NextOpen(windows, "production", at(t, "2025-01-10T00:00:00Z"))
	if !ok || w.ID != "w-morning" || ivUTC(next) != "2025-01-13T06:00:00Z/2025-01-13T09:00:00Z" {
		t.Errorf("NextOpen(production, Fri) = %q %s %v; want w-morning on Monday", w.ID, ivUTC(next), ok)
	}
	if _, _, ok := NextOpen(windows, "qa", at(t, "2025-01-10T00:00:00Z")); ok {
		t.Error("NextOpen(qa) found a window; qa has none")
	}
	if !HasWindows(windows, "staging") || HasWindows(windows, "qa") {
		t.Error("HasWindows: staging has windows, qa has none")
	}
}

func TestNextAndLastOccurrence(t *testing.T) {
	t.Parallel()
	berlin := zone(t, "Europe/Berlin")
	r := Weekly("22:00", "Tue", "Thu")
	next, ok := NextOccurrence(r, berlin, at(t, "2025-01-08T00:00:00Z"))
	if !ok || !next.Equal(at(t, "2025-01-09T21:00:00Z")) {
		t.Errorf("NextOccurrence = %v, %v; want Thu 22:00 CET", next, ok)
	}
	if got := formatTime(next, berlin); got != "Thu 9 Jan 2025 22:00 CET" {
		t.Errorf("formatTime = %q", got)
	}
	last, ok := LastOccurrence(r, berlin, at(t, "2025-01-08T00:00:00Z"))
	if !ok || !last.Equal(at(t, "2025-01-07T21:00:00Z")) {
		t.Errorf("LastOccurrence = %v, %v; want Tue 22:00 CET", last, ok)
	}
	if last, ok := LastOccurrence(r, berlin, at(t, "2025-01-07T21:00:00Z")); !ok || !last.Equal(at(t, "2025-01-07T21:00:00Z")) {
		t.Errorf("LastOccurrence at a start = %v, %v; want that start", last, ok)
	}
	if next, ok := NextOccurrence(Cron("0 0 1 1 *"), nil, at(t, "2025-06-01T00:00:00Z")); !ok || !next.Equal(at(t, "2026-01-01T00:00:00Z")) {
		t.Errorf("NextOccurrence with a nil zone = %v, %v; want UTC", next, ok)
	}
	if _, ok := NextOccurrence(Cron("bogus"), berlin, at(t, "2025-01-08T00:00:00Z")); ok {
		t.Error("NextOccurrence of an invalid recurrence is ok")
	}
}

func TestWindowValidate(t *testing.T) {
	t.Parallel()
	with := func(f func(*Window)) Window { w := evening; f(&w); return w }
	tests := []struct {
		name string
		w    Window
		want []string
	}{
		{name: "valid", w: evening},
		{name: "valid cron", w: with(func(w *Window) { w.Recurrence = Cron("*/30 22-23 * * 1-5") })},
		{name: "valid with bounds", w: with(func(w *Window) {
			w.ValidFrom, w.ValidUntil = at(t, "2025-01-01T00:00:00Z"), at(t, "2026-01-01T00:00:00Z")
		})},
		{name: "exactly a week", w: with(func(w *Window) { w.Duration = MaxWindowDuration })},
		{name: "bad cron", w: with(func(w *Window) { w.Recurrence = Cron("0 22 * * 2-9") }), want: []string{"recurrence.cron: day-of-week field: 9 is out of range"}},
		{name: "unknown weekday", w: with(func(w *Window) { w.Recurrence = Weekly("22:00", "Tue", "Thor") }), want: []string{`recurrence.days[1]: "Thor" is not a weekday`}},
		{name: "no recurrence", w: with(func(w *Window) { w.Recurrence = Recurrence{} }), want: []string{"recurrence: is required"}},
		{name: "bad time zone", w: with(func(w *Window) { w.TimeZone = "Europe/Atlantis" }), want: []string{`time_zone: "Europe/Atlantis" is not a known IANA time zone`}},
		{name: "no time zone", w: with(func(w *Window) { w.TimeZone = "" }), want: []string{"time_zone: is required"}},
		{name: "host time zone", w: with(func(w *Window) { w.TimeZone = "Local" }), want: []string{`time_zone: "Local" depends on the host`}},
		{name: "zero duration", w: with(func(w *Window) { w.Duration = 0 }), want: []string{"duration: 0s is out of range"}},
		{name: "negative duration", w: with(func(w *Window) { w.Duration = -time.Hour }), want: []string{"duration: -1h0m0s is out of range"}},
		{name: "longer than a week", w: with(func(w *Window) { w.Duration = MaxWindowDuration + time.Minute }), want: []string{"duration: 168h1m0s is out of range"}},
		{name: "bounds backwards", w: with(func(w *Window) {
			w.ValidFrom, w.ValidUntil = at(t, "2026-01-01T00:00:00Z"), at(t, "2025-01-01T00:00:00Z")
		}), want: []string{"valid_until: must be after valid_from"}},
		{name: "ids", w: with(func(w *Window) { w.ID, w.Environment, w.Name = "a.b", "", "" }), want: []string{
			`id: "a.b" is not a valid identifier`, "environment: is required", "name: is required"}},
		{name: "control characters in the name", w: with(func(w *Window) { w.Name = "a\nb" }), want: []string{"name: must not contain control characters"}},
		{name: "every problem at once", w: Window{ID: "w", Environment: "production", Name: "x", Recurrence: Cron("61 * * * *")}, want: []string{
			"recurrence.cron: minute field", "duration: 0s is out of range", "time_zone: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkViolations(t, tt.w.Validate(), tt.want)
		})
	}
}

func TestFreezeActiveAt(t *testing.T) {
	t.Parallel()
	yearEnd := Freeze{ID: "f-yearend", Environments: []string{"production"}, Reason: "year-end",
		Start: at(t, "2025-12-20T00:00:00Z"), End: at(t, "2026-01-03T00:00:00Z"), CreatedBy: "alice"}
	// Friday 15:00 to Monday 08:00 in Berlin: 65 hours of elapsed time, so
	// after a clock change in between it ends at 09:00 or 07:00 on the clock.
	weekend := Freeze{ID: "f-weekend", Environments: []string{"*"}, Reason: "weekend",
		Recurrence: Weekly("15:00", "Fri"), Duration: 65 * time.Hour, TimeZone: "Europe/Berlin", CreatedBy: "alice"}
	yearly := Freeze{ID: "f-yearly", Environments: []string{"production", "staging"}, Reason: "holidays",
		Recurrence: Cron("0 0 20 12 *"), Duration: 14 * 24 * time.Hour, TimeZone: "UTC", CreatedBy: "alice"}
	tests := []struct {
		name string
		f    Freeze
		t    string
		want string // "" when not in effect
	}{
		{name: "one-off: before", f: yearEnd, t: "2025-12-19T23:59:59Z"},
		{name: "one-off: at the start", f: yearEnd, t: "2025-12-20T00:00:00Z", want: "2025-12-20T00:00:00Z/2026-01-03T00:00:00Z"},
		{name: "one-off: last instant", f: yearEnd, t: "2026-01-02T23:59:59Z", want: "2025-12-20T00:00:00Z/2026-01-03T00:00:00Z"},
		{name: "one-off: over, so no longer in effect", f: yearEnd, t: "2026-01-03T00:00:00Z"},
		{name: "weekend: Saturday", f: weekend, t: "2025-01-11T12:00:00Z", want: "2025-01-10T14:00:00Z/2025-01-13T07:00:00Z"},
		{name: "weekend: Monday 07:59 CET", f: weekend, t: "2025-01-13T06:59:00Z", want: "2025-01-10T14:00:00Z/2025-01-13T07:00:00Z"},
		{name: "weekend: Monday 08:00 CET", f: weekend, t: "2025-01-13T07:00:00Z"},
		{name: "weekend: Friday 14:59 CET", f: weekend, t: "2025-01-10T13:59:00Z"},
		{name: "weekend over the spring change ends at 09:00 CEST", f: weekend, t: "2025-03-31T06:30:00Z", want: "2025-03-28T14:00:00Z/2025-03-31T07:00:00Z"},
		{name: "yearly: across new year", f: yearly, t: "2027-01-01T12:00:00Z", want: "2026-12-20T00:00:00Z/2027-01-03T00:00:00Z"},
		{name: "yearly: after", f: yearly, t: "2027-01-03T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.f.ActiveAt(at(t, tt.t))
			if ok != (tt.want != "") {
				t.Fatalf("ActiveAt(%s) ok = %v, want %v (period %s)", tt.t, ok, tt.want != "", ivUTC(got))
			}
			if ok && ivUTC(got) != tt.want {
				t.Errorf("ActiveAt(%s) = %s, want %s", tt.t, ivUTC(got), tt.want)
			}
		})
	}

	freezes := []Freeze{yearEnd, weekend}
	if f, ok := Frozen(freezes, "staging", at(t, "2025-12-22T12:00:00Z")); ok {
		t.Errorf("Frozen(staging, Monday in the year-end freeze) = %q; the year-end freeze is production's only", f.ID)
	}
	if f, ok := Frozen(freezes, "staging", at(t, "2025-12-27T12:00:00Z")); !ok || f.ID != "f-weekend" {
		t.Errorf("Frozen(staging, Saturday) = %q, %v; want f-weekend (all environments)", f.ID, ok)
	}
	if f, ok := Frozen(freezes, "production", at(t, "2025-12-27T12:00:00Z")); !ok || f.ID != "f-yearend" {
		t.Errorf("Frozen(production, Saturday) = %q, %v; want the first, f-yearend", f.ID, ok)
	}
	if got := yearEnd.Occurrences(at(t, "2025-01-01T00:00:00Z"), at(t, "2026-01-01T00:00:00Z"), 5); len(got) != 1 {
		t.Errorf("one-off Occurrences = %v, want the one period", got)
	}
	if got := yearly.Occurrences(at(t, "2025-01-03T00:00:00Z"), at(t, "2028-01-01T00:00:00Z"), 5); len(got) != 3 {
		t.Errorf("yearly Occurrences over three years = %d periods, want 3", len(got))
	}
}

func TestFreezeValidate(t *testing.T) {
	t.Parallel()
	oneOff := Freeze{ID: "f1", Environments: []string{"production"}, Reason: "year-end",
		Start: time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), CreatedBy: "alice"}
	recurring := Freeze{ID: "f2", Environments: []string{"*"}, Reason: "weekend",
		Recurrence: Weekly("15:00", "Fri"), Duration: 65 * time.Hour, TimeZone: "Europe/Berlin", CreatedBy: "alice"}
	withOneOff := func(f func(*Freeze)) Freeze { fr := oneOff; f(&fr); return fr }
	withRecurring := func(f func(*Freeze)) Freeze { fr := recurring; f(&fr); return fr }
	tests := []struct {
		name string
		f    Freeze
		want []string
	}{
		{name: "one-off", f: oneOff},
		{name: "recurring", f: recurring},
		{name: "one-off with a display zone", f: withOneOff(func(f *Freeze) { f.TimeZone = "Europe/Berlin" })},
		{name: "end before start", f: withOneOff(func(f *Freeze) { f.End = f.Start.Add(-time.Hour) }), want: []string{"end: must be after start"}},
		{name: "end equals start", f: withOneOff(func(f *Freeze) { f.End = f.Start }), want: []string{"end: must be after start"}},
		{name: "no start", f: withOneOff(func(f *Freeze) { f.Start = time.Time{} }), want: []string{"start: is required"}},
		{name: "no end", f: withOneOff(func(f *Freeze) { f.End = time.Time{} }), want: []string{"end: is required"}},
		{name: "over a year", f: withOneOff(func(f *Freeze) { f.End = f.Start.Add(MaxOneOffFreeze + time.Hour) }), want: []string{"end: the freeze lasts"}},
		{name: "one-off with recurring fields", f: withOneOff(func(f *Freeze) { f.Duration = time.Hour; f.ValidUntil = f.End }), want: []string{
			"duration: only a recurring freeze", "valid_from: only a recurring freeze"}},
		{name: "one-off with a bad zone", f: withOneOff(func(f *Freeze) { f.TimeZone = "CET-ish" }), want: []string{"time_zone: "}},
		{name: "recurring with start and end", f: withRecurring(func(f *Freeze) { f.Start, f.End = oneOff.Start, oneOff.End }), want: []string{
			"start: a recurring freeze has no start", "end: a recurring freeze has no end"}},
		{name: "recurring: bad cron", f: withRecurring(func(f *Freeze) { f.Recurrence = Cron("0 15 * * fry") }), want: []string{"recurrence.cron: day-of-week field"}},
		{name: "recurring: unknown weekday", f: withRecurring(func(f *Freeze) { f.Recurrence = Weekly("15:00", "Freeday") }), want: []string{"recurrence.days[0]: "}},
		{name: "recurring: a month is fine", f: withRecurring(func(f *Freeze) { f.Duration = MaxRecurringFreezeDuration })},
		{name: "recurring: too long", f: withRecurring(func(f *Freeze) { f.Duration = MaxRecurringFreezeDuration + time.Hour }), want: []string{"duration: "}},
		{name: "recurring: zero duration", f: withRecurring(func(f *Freeze) { f.Duration = 0 }), want: []string{"duration: 0s is out of range"}},
		{name: "recurring: no zone", f: withRecurring(func(f *Freeze) { f.TimeZone = "" }), want: []string{"time_zone: is required"}},
		{name: "no environments", f: withOneOff(func(f *Freeze) { f.Environments = nil }), want: []string{"environments: at least one"}},
		{name: "bad and repeated environments", f: withOneOff(func(f *Freeze) { f.Environments = []string{"prod", "pro d", "prod"} }), want: []string{
			`environments[1]: "pro d" is not a valid identifier`, `environments[2]: "prod" is listed twice`}},
		{name: "no reason, no author", f: withOneOff(func(f *Freeze) { f.Reason, f.CreatedBy = "", "" }), want: []string{"reason: is required", "created_by: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkViolations(t, tt.f.Validate(), tt.want)
		})
	}
}
