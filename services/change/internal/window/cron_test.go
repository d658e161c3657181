package window

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need the same zones on every machine

	"github.com/google/go-cmp/cmp"
)

// zone loads a time zone or fails the test.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatalf("LoadZone(%q): %v", name, err)
	}
	return loc
}

// at parses an RFC 3339 instant or fails the test.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time.Parse(%q): %v", s, err)
	}
	return v
}

// utc formats instants for comparison.
func utc(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, v := range ts {
		out[i] = v.UTC().Format(time.RFC3339)
	}
	return out
}

// nextN lists the n occurrence starts of sc after `after`.
func nextN(sc *schedule, loc *time.Location, after time.Time, n int) []time.Time {
	var out []time.Time
	for len(out) < n {
		s, ok := sc.next(loc, after)
		if !ok {
			break
		}
		out = append(out, s)
		after = s
	}
	return out
}

func TestParseCron(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr string
		want       string // canonical form; "" when refused
		wantErr    string
	}{
		{name: "every minute", expr: "* * * * *", want: "* * * * *"},
		{name: "steps", expr: "*/15 */6 * * *", want: "*/15 */6 * * *"},
		{name: "list of a step", expr: "0,15,30,45 0 * * *", want: "*/15 0 * * *"},
		{name: "range with a step", expr: "10-50/20 1-5 * * *", want: "10,30,50 1-5 * * *"},
		{name: "value with a step runs to the maximum", expr: "50/5 0 * * *", want: "50,55 0 * * *"},
		{name: "names", expr: "0 22 * jan-mar,DEC Tue,thu", want: "0 22 * 1-3,12 2,4"},
		{name: "7 is Sunday", expr: "0 0 * * 5-7", want: "0 0 * * 0,5,6"},
		{name: "restricted full day-of-month stays restricted", expr: "0 0 1-31 * 1", want: "0 0 1-31 * 1"},
		{name: "star step in day-of-month keeps its star", expr: "0 0 */2 * 1", want: "0 0 */2 * 1"},
		{name: "star step with extra days", expr: "0 0 */10,2 * *", want: "0 0 */10,2 * *"},
		{name: "macro", expr: "@weekly", want: "0 0 * * 0"},
		{name: "macro any case", expr: "@Daily", want: "0 0 * * *"},
		{name: "whitespace", expr: "  0\t12  *  * *  ", want: "0 12 * * *"},
		{name: "leap day", expr: "0 0 29 2 *", want: "0 0 29 2 *"},
		{name: "31st of some months", expr: "0 0 31 1-12 *", want: "0 0 31 * *"},
		{name: "empty", expr: " ", wantErr: "is empty"},
		{name: "four fields", expr: "0 0 * *", wantErr: "has 4 fields"},
		{name: "six fields", expr: "0 0 0 * * *", wantErr: "has 6 fields"},
		{name: "minute out of range", expr: "60 0 * * *", wantErr: "minute field: 60 is out of range 0-59"},
		{name: "day 0", expr: "0 0 0 * *", wantErr: "day-of-month field: 0 is out of range 1-31"},
		{name: "weekday 8", expr: "0 0 * * 8", wantErr: "day-of-week field: 8 is out of range 0-7"},
		{name: "unknown name", expr: "0 0 * * funday", wantErr: `"funday" is neither a number`},
		{name: "name in the wrong field", expr: "0 0 * mon *", wantErr: "month field"},
		{name: "backwards range", expr: "0 0 * * 5-1", wantErr: "runs backwards"},
		{name: "zero step", expr: "*/0 * * * *", wantErr: "step"},
		{name: "huge step", expr: "*/61 * * * *", wantErr: "step"},
		{name: "empty list item", expr: "1,,2 * * * *", wantErr: "empty list item"},
		{name: "double step", expr: "*/2/3 * * * *", wantErr: "step"},
		{name: "negative", expr: "-1 * * * *", wantErr: "minute field"},
		{name: "three digits", expr: "001 * * * *", wantErr: "minute field"},
		{name: "unknown macro", expr: "@reboot", wantErr: "not a known shorthand"},
		{name: "never: 30 February", expr: "0 0 30 2 *", wantErr: "never occurs"},
		{name: "never: 31 April", expr: "0 0 31 4,6,9,11 *", wantErr: "never occurs"},
		{name: "too long", expr: strings.Repeat("1,", 200) + "1 * * * *", wantErr: "at most 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, err := parseCron(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseCron(%q) error = %v, want one containing %q", tt.expr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseCron(%q): %v", tt.expr, err)
			}
			if got := sc.String(); got != tt.want {
				t.Errorf("parseCron(%q).String() = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestCronOccurrences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, tz, after string
		want                  []string // the next starts, UTC
	}{
		{
			name: "every 15 minutes", expr: "*/15 * * * *", tz: "UTC", after: "2025-01-01T10:07:00Z",
			want: []string{"2025-01-01T10:15:00Z", "2025-01-01T10:30:00Z", "2025-01-01T10:45:00Z", "2025-01-01T11:00:00Z"},
		},
		{
			name: "strictly after: a start at the instant itself is not next", expr: "*/15 * * * *", tz: "UTC", after: "2025-01-01T10:15:00Z",
			want: []string{"2025-01-01T10:30:00Z"},
		},
		{
			// 2025-06-13 is a Friday; so are 6, 20 and 27 June and 4 July.
			name: "both day fields restricted: either matches", expr: "0 9 13 * 5", tz: "UTC", after: "2025-06-01T00:00:00Z",
			want: []string{"2025-06-06T09:00:00Z", "2025-06-13T09:00:00Z", "2025-06-20T09:00:00Z", "2025-06-27T09:00:00Z", "2025-07-04T09:00:00Z", "2025-07-11T09:00:00Z", "2025-07-13T09:00:00Z"},
		},
		{
			name: "day of month alone", expr: "0 9 13 * *", tz: "UTC", after: "2025-06-01T00:00:00Z",
			want: []string{"2025-06-13T09:00:00Z", "2025-07-13T09:00:00Z"},
		},
		{
			name: "a star day-of-month makes both apply: odd-numbered Fridays", expr: "0 9 */2 * 5", tz: "UTC", after: "2025-06-01T00:00:00Z",
			want: []string{"2025-06-13T09:00:00Z", "2025-06-27T09:00:00Z", "2025-07-11T09:00:00Z", "2025-07-25T09:00:00Z", "2025-08-01T09:00:00Z"},
		},
		{
			name: "leap day skips to the next leap year", expr: "0 12 29 2 *", tz: "UTC", after: "2025-03-01T00:00:00Z",
			want: []string{"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"},
		},
		{
			name: "2100 is not a leap year", expr: "0 0 29 2 *", tz: "UTC", after: "2096-03-01T00:00:00Z",
			want: []string{"2104-02-29T00:00:00Z"},
		},
		{
			name: "month and weekday names in Berlin", expr: "30 22 * jan,dec sat", tz: "Europe/Berlin", after: "2025-12-25T00:00:00Z",
			want: []string{"2025-12-27T21:30:00Z", "2026-01-03T21:30:00Z"},
		},
		{
			name: "31st skips short months", expr: "0 0 31 * *", tz: "UTC", after: "2025-01-31T00:00:00Z",
			want: []string{"2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z"},
		},
		{
			name: "year boundary", expr: "0 0 1 1 *", tz: "America/New_York", after: "2025-12-31T12:00:00Z",
			want: []string{"2026-01-01T05:00:00Z", "2027-01-01T05:00:00Z"},
		},
		{
			// Berlin 2024-03-31: 02:00 CET → 03:00 CEST. 02:00-02:45 and 03:00 collapse into one start.
			name: "every 15 minutes over a spring-forward gap", expr: "*/15 * * * *", tz: "Europe/Berlin", after: "2024-03-31T00:40:00Z",
			want: []string{"2024-03-31T00:45:00Z", "2024-03-31T01:00:00Z", "2024-03-31T01:15:00Z"},
		},
		{
			// Berlin 2024-10-27: 03:00 CEST → 02:00 CET. 02:00 happens twice; it starts once, the first time.
			name: "hourly over a fall-back overlap", expr: "0 * * * *", tz: "Europe/Berlin", after: "2024-10-26T22:30:00Z",
			want: []string{"2024-10-26T23:00:00Z", "2024-10-27T00:00:00Z", "2024-10-27T02:00:00Z", "2024-10-27T03:00:00Z"},
		},
		{
			// New York 2024-11-03: 02:00 EDT → 01:00 EST.
			name: "New York fall back: 01:30 once, EDT", expr: "30 1 * * *", tz: "America/New_York", after: "2024-11-02T12:00:00Z",
			want: []string{"2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"},
		},
		{
			// New York 2024-03-10: 02:00 EST → 03:00 EDT.
			name: "New York spring forward: 02:30 starts at 03:00 EDT", expr: "30 2 * * *", tz: "America/New_York", after: "2024-03-09T12:00:00Z",
			want: []string{"2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"},
		},
		{
			// Samoa skipped 30 December 2011 entirely (-10 → +14).
			name: "a skipped day starts when it ends", expr: "0 22 * * *", tz: "Pacific/Apia", after: "2011-12-29T12:00:00Z",
			want: []string{"2011-12-30T08:00:00Z", "2011-12-30T10:00:00Z", "2011-12-31T08:00:00Z"},
		},
		{
			// Lord Howe moves its clocks by 30 minutes: 2024-10-06 02:00 → 02:30 (+10:30 → +11).
			name: "half-hour gap", expr: "15 2 * * *", tz: "Australia/Lord_Howe", after: "2024-10-05T00:00:00Z",
			want: []string{"2024-10-05T15:30:00Z", "2024-10-06T15:15:00Z"},
		},
		{
			// Santiago springs forward at midnight: 2024-09-08 00:00 → 01:00 (-04 → -03).
			name: "a gap at midnight", expr: "0 0 * * *", tz: "America/Santiago", after: "2024-09-07T00:00:00Z",
			want: []string{"2024-09-07T04:00:00Z", "2024-09-08T04:00:00Z", "2024-09-09T03:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, err := parseCron(tt.expr)
			if err != nil {
				t.Fatalf("parseCron(%q): %v", tt.expr, err)
			}
			got := utc(nextN(sc, zone(t, tt.tz), at(t, tt.after), len(tt.want)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("next starts of %q in %s after %s (-want +got):\n%s", tt.expr, tt.tz, tt.after, diff)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tz, reading, want string
	}{
		{name: "ordinary", tz: "Europe/Berlin", reading: "2024-06-01T12:00:00Z", want: "2024-06-01T10:00:00Z"},
		{name: "Berlin gap start", tz: "Europe/Berlin", reading: "2024-03-31T02:00:00Z", want: "2024-03-31T01:00:00Z"},
		{name: "Berlin in the gap", tz: "Europe/Berlin", reading: "2024-03-31T02:30:00Z", want: "2024-03-31T01:00:00Z"},
		{name: "Berlin gap end", tz: "Europe/Berlin", reading: "2024-03-31T03:00:00Z", want: "2024-03-31T01:00:00Z"},
		{name: "Berlin just before the gap", tz: "Europe/Berlin", reading: "2024-03-31T01:59:00Z", want: "2024-03-31T00:59:00Z"},
		{name: "Berlin overlap: the first, CEST", tz: "Europe/Berlin", reading: "2024-10-27T02:30:00Z", want: "2024-10-27T00:30:00Z"},
		{name: "Berlin after the overlap", tz: "Europe/Berlin", reading: "2024-10-27T03:00:00Z", want: "2024-10-27T02:00:00Z"},
		{name: "New York gap", tz: "America/New_York", reading: "2024-03-10T02:30:00Z", want: "2024-03-10T07:00:00Z"},
		{name: "New York overlap", tz: "America/New_York", reading: "2024-11-03T01:30:00Z", want: "2024-11-03T05:30:00Z"},
		{name: "UTC", tz: "UTC", reading: "2024-03-31T02:30:00Z", want: "2024-03-31T02:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := resolve(at(t, tt.reading), zone(t, tt.tz)).UTC().Format(time.RFC3339)
			if got != tt.want {
				t.Errorf("resolve(%s in %s) = %s, want %s", tt.reading, tt.tz, got, tt.want)
			}
		})
	}
}

func TestRecurrenceValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    Recurrence
		want []string // "field: description fragment"
	}{
		{name: "weekly", r: Weekly("22:00", "Tue", "thursday")},
		{name: "cron", r: Cron("0 22 * * 2,4")},
		{name: "nothing", r: Recurrence{}, want: []string{": is required"}},
		{name: "both forms", r: Recurrence{Days: []string{"Mon"}, At: "10:00", Cron: "* * * * *"}, want: []string{": set either"}},
		{name: "bad cron", r: Cron("0 25 * * *"), want: []string{"cron: hour field: 25 is out of range 0-23"}},
		{name: "unknown weekday", r: Weekly("22:00", "Tue", "Funday"), want: []string{`days[1]: "Funday" is not a weekday`}},
		{name: "weekday twice", r: Weekly("22:00", "Tue", "tuesday"), want: []string{"days[1]: Tuesday is listed twice"}},
		{name: "no days", r: Recurrence{At: "22:00"}, want: []string{"days: at least one weekday"}},
		{name: "no time", r: Recurrence{Days: []string{"Mon"}}, want: []string{"at: is required"}},
		{name: "bad time", r: Weekly("24:00", "Mon"), want: []string{`at: "24:00" is not a time of day`}},
		{name: "bad minutes", r: Weekly("9:5", "Mon"), want: []string{"at: "}},
		{name: "everything wrong at once", r: Weekly("9", "X", "Y"), want: []string{"days[0]: ", "days[1]: ", "at: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkViolations(t, tt.r.Validate(), tt.want)
		})
	}
}

func TestParseRecurrence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "Tue,Thu 22:00", want: "Tue,Thu 22:00"},
		{in: "thu,TUE 7:05", want: "Tue,Thu 07:05"},
		{in: "Mon-Fri 06:30", want: "Mon,Tue,Wed,Thu,Fri 06:30"},
		{in: "Fri-Mon 18:00", want: "Mon,Fri,Sat,Sun 18:00"},
		{in: "daily 03:00", want: "Mon,Tue,Wed,Thu,Fri,Sat,Sun 03:00"},
		{in: "0,30 22 * * tue", want: "*/30 22 * * 2"},
		{in: "@hourly", want: "0 * * * *"},
		{in: "", wantErr: "is required"},
		{in: "Tue 25:00", wantErr: "not a time of day"},
		{in: "Tue-Funday 22:00", wantErr: `"Funday" is not a weekday`},
		{in: "every tuesday at 10", wantErr: "neither"},
		{in: "0 0 30 2 *", wantErr: "never occurs"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			r, err := ParseRecurrence(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRecurrence(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRecurrence(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("ParseRecurrence(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			again, err := ParseRecurrence(r.String())
			if err != nil {
				t.Fatalf("ParseRecurrence(%q) (its own String): %v", r.String(), err)
			}
			if diff := cmp.Diff(r, again); diff != "" {
				t.Errorf("String does not round-trip (-first +second):\n%s", diff)
			}
		})
	}
}
