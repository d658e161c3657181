package routing

import (
	"testing"
	"time"
)

func TestTimeIntervalContains(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
receivers: [{name: a, kind: slack}]
route: {receivers: [a]}
maintenance_windows:
  - name: berlin-night
    environments: [production]
    time_intervals:
      - weekdays: [saturday]
        times: [{start_time: "22:00", end_time: "02:00"}]
        location: Europe/Berlin
  - name: ny-lunch
    environments: [production]
    time_intervals:
      - weekdays: ["monday:friday"]
        times: [{start_time: "12:00", end_time: "12:30"}]
        location: America/New_York
  - name: weekend
    environments: [production]
    time_intervals:
      - weekdays: ["saturday:sunday"]
  - name: all-day
    environments: [production]
    time_intervals:
      - times: [{start_time: "00:00", end_time: "24:00"}, {start_time: "03:00", end_time: "04:00"}]
  - name: late
    environments: [production]
    time_intervals:
      - times: [{start_time: "23:00", end_time: "24:00"}]
`)
	windows := map[string]MaintenanceWindow{}
	for _, w := range cfg.MaintenanceWindows {
		windows[w.Name] = w
	}
	utc := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	tests := []struct {
		window string
		at     string
		want   bool
	}{
		// 2 May 2026 is a Saturday; Berlin is UTC+2 (CEST).
		{"berlin-night", "2026-05-02T19:59:00Z", false}, // Sat 21:59 Berlin
		{"berlin-night", "2026-05-02T20:00:00Z", true},  // Sat 22:00 Berlin
		{"berlin-night", "2026-05-02T22:30:00Z", true},  // Sun 00:30 Berlin: across midnight
		{"berlin-night", "2026-05-02T23:59:00Z", true},  // Sun 01:59 Berlin
		{"berlin-night", "2026-05-03T00:00:00Z", false}, // Sun 02:00 Berlin: the end is exclusive
		{"berlin-night", "2026-05-03T20:30:00Z", false}, // Sun 22:30 Berlin: Sunday is not listed
		{"berlin-night", "2026-05-01T22:30:00Z", false}, // Sat 00:30 Berlin: Friday night is not listed
		// Winter: Berlin is UTC+1.
		{"berlin-night", "2026-01-03T21:00:00Z", true},  // Sat 22:00 Berlin
		{"berlin-night", "2026-01-03T20:30:00Z", false}, // Sat 21:30 Berlin
		// New York is UTC-4 in May: the weekday is New York's.
		{"ny-lunch", "2026-05-04T16:10:00Z", true},  // Mon 12:10
		{"ny-lunch", "2026-05-04T16:30:00Z", false}, // Mon 12:30
		{"ny-lunch", "2026-05-02T16:10:00Z", false}, // Sat 12:10
		{"ny-lunch", "2026-05-08T16:29:59Z", true},  // Fri 12:29:59
		{"weekend", "2026-05-02T00:00:00Z", true},
		{"weekend", "2026-05-03T23:59:59Z", true},
		{"weekend", "2026-05-04T00:00:00Z", false},
		{"all-day", "2026-05-05T13:00:00Z", true},
		{"late", "2026-05-05T23:59:59Z", true},
		{"late", "2026-05-05T22:59:59Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.window+"@"+tt.at, func(t *testing.T) {
			t.Parallel()
			if got := windows[tt.window].Active(utc(tt.at)); got != tt.want {
				t.Errorf("Active = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTimeIntervalNextBoundary(t *testing.T) {
	t.Parallel()
	berlin, err := loadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ti := TimeInterval{
		Weekdays: []WeekdayRange{{Begin: time.Saturday, End: time.Saturday}},
		Times:    []TimeRange{{StartMinute: 22 * 60, EndMinute: 2 * 60}},
		Location: berlin,
	}
	tests := []struct{ from, want string }{
		{"2026-05-02T19:00:00Z", "2026-05-02T20:00:00Z"}, // the start
		{"2026-05-02T21:00:00Z", "2026-05-03T00:00:00Z"}, // the end, the next day
		{"2026-03-28T22:00:00Z", "2026-03-29T01:00:00Z"}, // the switch to summer time: 02:00 CET is 03:00 CEST
	}
	for _, tt := range tests {
		from, _ := time.Parse(time.RFC3339, tt.from)
		want, _ := time.Parse(time.RFC3339, tt.want)
		got := ti.nextBoundary(from)
		if !got.Equal(want) {
			t.Errorf("nextBoundary(%s) = %s, want %s", tt.from, got.UTC().Format(time.RFC3339), tt.want)
		}
		if ti.Contains(got) == ti.Contains(got.Add(-time.Second)) {
			t.Errorf("nothing changes at %s", got)
		}
	}
}

func TestSilenceActive(t *testing.T) {
	t.Parallel()
	s := Silence{StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{{t0.Add(-time.Nanosecond), false}, {t0, true}, {t0.Add(time.Hour - 1), true}, {t0.Add(time.Hour), false}} {
		if got := s.Active(tt.at); got != tt.want {
			t.Errorf("Active(%v) = %v, want %v", tt.at.Sub(t0), got, tt.want)
		}
	}
}
