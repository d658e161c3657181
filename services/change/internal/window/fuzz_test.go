package window

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cronSeeds are expressions, good and bad, that start the fuzzers.
var cronSeeds = []string{
	"* * * * *", "*/15 * * * *", "0 22 * * 2,4", "0 9 13 * 5", "0 9 */2 * 5", "0 0 29 2 *",
	"30 2 * * *", "0 * * * *", "5-55/10 1-23/2 1,15 jan-jun mon-fri", "0 0 1-31 * 7", "0 0 */10,2 * */3",
	"@weekly", "@yearly", "0 0 30 2 *", "60 * * * *", "*/0 * * * *", "1,,2 * * * *", "0 0 * * 5-1",
	"0 0 31 4 *", "0 12 * * SUN", "0 0 L * *", "", "@", "0 0 ? * *", "*/61 * * * *", "7/7 7 7 7 7",
}

// fuzzZones have a variety of offsets and changes: gaps and overlaps of an
// hour, half an hour, two hours and a day, changes at midnight, and none.
var fuzzZones = []string{
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Pacific/Apia",
	"Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "Africa/Casablanca", "Asia/Tehran", "Europe/London",
	"America/Sao_Paulo", "Asia/Kathmandu", "Europe/Moscow", "Antarctica/Troll", "Pacific/Kiritimati", "America/Havana",
}

// FuzzParseCron checks that parsing never panics and that every accepted
// expression (and recurrence text) formats to a canonical one that parses to the same schedule:
// the same sets and day rule, the same next occurrences, and the same
// canonical text again.
func FuzzParseCron(f *testing.F) {
	for _, s := range cronSeeds {
		f.Add(s)
	}
	locs := []*time.Location{time.UTC, zone(f, "Europe/Berlin"), zone(f, "America/New_York")}
	froms := []time.Time{
		time.Date(2024, 3, 30, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 10, 26, 12, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseRecurrence(s); err == nil {
			again, err := ParseRecurrence(r.String())
			if err != nil || !cmp.Equal(r, again) {
				t.Fatalf("ParseRecurrence(%q) = %+v, whose text %q reads back as %+v, %v", s, r, r.String(), again, err)
			}
		}
		sc, err := parseCron(s)
		_ = Cron(s).String()
		_ = Cron(s).Validate()
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("parseCron(%q) failed with an empty message", s)
			}
			return
		}
		canon := sc.String()
		sc2, err := parseCron(canon)
		if err != nil {
			t.Fatalf("parseCron(%q) → %q, which does not parse: %v", s, canon, err)
		}
		if again := sc2.String(); again != canon {
			t.Fatalf("canonical form is not a fixpoint: %q → %q → %q", s, canon, again)
		}
		same := sc.minute == sc2.minute && sc.hour == sc2.hour && sc.dom == sc2.dom && sc.month == sc2.month &&
			sc.dow == sc2.dow && sc.domStar == sc2.domStar && sc.dowStar == sc2.dowStar
		if !same {
			t.Fatalf("%q and its canonical form %q differ: %+v vs %+v", s, canon, *sc, *sc2)
		}
		for _, loc := range locs {
			for _, from := range froms {
				a, b := nextN(sc, loc, from, 5), nextN(sc2, loc, from, 5)
				if len(a) == 0 {
					t.Fatalf("%q never occurs after %s in %s, but was accepted", s, from, loc)
				}
				if diff := cmp.Diff(utc(a), utc(b)); diff != "" {
					t.Fatalf("%q and %q occur differently in %s (-original +canonical):\n%s", s, canon, loc, diff)
				}
			}
		}
	})
}

// oracleStarts finds the occurrence starts of sc in [lo, hi] the slow way:
// it walks loc's clock minute by minute and reports an instant as a start
// when the clock reaches, for the first time, a scheduled reading (in a gap
// several at once). Since 1980 every zone changes its clock on whole
// minutes, so minute steps miss nothing.
func oracleStarts(sc *schedule, loc *time.Location, lo, hi time.Time) []time.Time {
	start := lo.Add(-lookBehind).Truncate(time.Minute)
	reached := civilOf(start, loc)
	var out []time.Time
	for i := start.Add(time.Minute); !i.After(hi); i = i.Add(time.Minute) {
		w := civilOf(i, loc)
		if !w.After(reached) {
			continue // a fall-back overlap: nothing new on the clock
		}
		for n := reached.Truncate(time.Minute).Add(time.Minute); !n.After(w); n = n.Add(time.Minute) {
			if sc.matches(n) {
				if !i.Before(lo) {
					out = append(out, i)
				}
				break
			}
		}
		reached = w
	}
	return out
}

// FuzzRecurrence checks that the queries agree with each other and with
// oracleStarts, for a random recurrence (a fuzzed cron expression, else a
// weekly one), zone, instant and duration: the next occurrence is after the
// instant, the last is not, nothing starts between them, and a window is
// open exactly when an occurrence started at or before the instant and has
// not lasted its duration yet.
func FuzzRecurrence(f *testing.F) {
	seeds := []struct {
		expr        string
		days, h, m  uint8
		zone        uint8
		unix        int64
		durationMin uint16
	}{
		{"", 0b0010100, 22, 0, 1, time.Date(2024, 3, 31, 0, 30, 0, 0, time.UTC).Unix(), 120},
		{"30 2 * * *", 0, 0, 0, 1, time.Date(2024, 10, 27, 0, 45, 0, 0, time.UTC).Unix(), 60},
		{"*/15 * * * *", 0, 0, 0, 1, time.Date(2024, 3, 31, 0, 50, 0, 0, time.UTC).Unix(), 10},
		{"30 1 * * *", 0, 0, 0, 2, time.Date(2024, 11, 3, 6, 15, 0, 0, time.UTC).Unix(), 45},
		{"30 2 * * *", 0, 0, 0, 2, time.Date(2024, 3, 10, 7, 10, 0, 0, time.UTC).Unix(), 90},
		{"0 22 * * *", 0, 0, 0, 5, time.Date(2011, 12, 30, 9, 0, 0, 0, time.UTC).Unix(), 180},
		{"15 2 * * *", 0, 0, 0, 3, time.Date(2024, 10, 5, 15, 40, 0, 0, time.UTC).Unix(), 30},
		{"0 0 * * *", 0, 0, 0, 4, time.Date(2024, 9, 8, 4, 0, 0, 0, time.UTC).Unix(), 1},
		{"0 9 13 * 5", 0, 0, 0, 0, time.Date(2025, 6, 13, 9, 30, 0, 0, time.UTC).Unix(), 4000},
		{"", 0b1000001, 23, 59, 15, time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC).Unix(), 3},
		{"0 0 29 2 *", 0, 0, 0, 0, time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC).Unix(), 1440},
	}
	for _, s := range seeds {
		f.Add(s.expr, s.days, s.h, s.m, s.zone, s.unix, s.durationMin)
	}
	for _, s := range cronSeeds {
		f.Add(s, uint8(1), uint8(0), uint8(0), uint8(0), int64(1700000000), uint16(60))
	}
	locs := make([]*time.Location, len(fuzzZones))
	for i, name := range fuzzZones {
		locs[i] = zone(f, name)
	}
	base := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	span := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix() - base
	f.Fuzz(func(t *testing.T, expr string, days, h, m, zoneIdx uint8, unix int64, durationMin uint16) {
		r := Cron(expr)
		if r.Validate() != nil {
			r = Recurrence{At: time.Date(0, 1, 1, int(h%24), int(m%60), 0, 0, time.UTC).Format("15:04")}
			for d := time.Sunday; d <= time.Saturday; d++ {
				if days&(1<<uint(d)) != 0 || (days&0x7f == 0 && d == time.Monday) {
					r.Days = append(r.Days, d.String())
				}
			}
		}
		sc, err := r.compile()
		if err != nil {
			t.Fatalf("recurrence %+v: %v", r, err)
		}
		loc := locs[int(zoneIdx)%len(locs)]
		now := time.Unix(base+((unix%span)+span)%span, 0).UTC()
		if unix&1 == 1 {
			// Half the time, land within three hours of a change of the clock.
			if start, _ := now.In(loc).ZoneBounds(); !start.IsZero() && start.Unix() > base {
				now = start.Add(time.Duration((unix>>1)%(6*3600)-3*3600) * time.Second).UTC()
			}
		}
		d := time.Duration(1+int(durationMin)%(3*24*60)) * time.Minute
		tt := &timetable{sched: sc, loc: loc, d: d}

		next, okNext := sc.next(loc, now)
		if !okNext || !next.After(now) {
			t.Fatalf("%s in %s: next after %s = %s, %v; want a later instant", r, loc, now, next, okNext)
		}
		prev, okPrev := sc.prev(loc, now)
		if !okPrev || prev.After(now) {
			t.Fatalf("%s in %s: last at or before %s = %s, %v", r, loc, now, prev, okPrev)
		}
		if n, _ := sc.next(loc, prev); !n.Equal(next) {
			t.Fatalf("%s in %s at %s: the start after the last one (%s) is %s, not the next one (%s)", r, loc, now, prev, n, next)
		}
		if n, _ := sc.next(loc, prev.Add(-time.Nanosecond)); !n.Equal(prev) {
			t.Fatalf("%s in %s: the start just after %s is %s, not %s itself", r, loc, prev.Add(-time.Nanosecond), n, prev)
		}

		lo, hi := now.Add(-d-time.Hour), now.Add(36*time.Hour)
		starts := oracleStarts(sc, loc, lo, hi)
		var wantPrev, wantNext time.Time
		wantOpen := false
		for _, s := range starts {
			if !s.After(now) {
				wantPrev = s
				if now.Before(s.Add(d)) {
					wantOpen = true
				}
			} else if wantNext.IsZero() {
				wantNext = s
			}
		}
		switch {
		case !wantPrev.IsZero() && !prev.Equal(wantPrev):
			t.Fatalf("%s in %s at %s: last start %s, the oracle says %s (starts %v)", r, loc, now, prev, wantPrev, utc(starts))
		case wantPrev.IsZero() && !prev.Before(lo):
			t.Fatalf("%s in %s at %s: last start %s, but the oracle found none since %s", r, loc, now, prev, lo)
		case !wantNext.IsZero() && !next.Equal(wantNext):
			t.Fatalf("%s in %s at %s: next start %s, the oracle says %s (starts %v)", r, loc, now, next, wantNext, utc(starts))
		case wantNext.IsZero() && !next.After(hi):
			t.Fatalf("%s in %s at %s: next start %s, but the oracle found none until %s", r, loc, now, next, hi)
		}
		iv, open := tt.activeAt(now)
		if open != wantOpen {
			t.Fatalf("%s for %s in %s: open at %s = %v, want %v (last start %s)", r, d, loc, now, open, wantOpen, prev)
		}
		if open && (!iv.Contains(now) || iv.Start.After(prev) || iv.End.Before(prev.Add(d))) {
			t.Fatalf("%s for %s in %s: open period %s does not hold %s and the occurrence from %s", r, d, loc, ivUTC(iv), now, prev)
		}
		if !open {
			if nx, ok := tt.nextOpen(now); !ok || !nx.Start.Equal(next) {
				t.Fatalf("%s for %s in %s: closed at %s, next opening %s, %v; want %s", r, d, loc, now, ivUTC(nx), ok, next)
			}
		}
	})
}
