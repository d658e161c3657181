package status_test

import (
	"testing"
	"time"

	"github.com/penguinmails/floe/services/notifier/internal/status"
)

func TestComputeUptime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, time.March, 2, 12, 0, 0, 0, time.UTC)
	today := time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)
	day := func(back int, h int) time.Time { return today.AddDate(0, 0, -back).Add(time.Duration(h) * time.Hour) }
	timeline := []status.StatusChange{
		{At: now.AddDate(0, 0, -100), Status: status.Operational},
		{At: day(10, 10), Status: status.MajorOutage}, // 2 h down
		{At: day(10, 12), Status: status.Operational},
		{At: day(5, 0), Status: status.PartialOutage}, // 10 h at 30 % = 3 h down
		{At: day(5, 10), Status: status.Operational},
		{At: day(3, 1), Status: status.DegradedPerformance}, // not down
		{At: day(3, 6), Status: status.UnderMaintenance},    // not down
		{At: day(3, 8), Status: status.Operational},
	}
	u := status.ComputeUptime(timeline, now, status.UptimeDays, time.UTC)
	if len(u.Days) != 90 {
		t.Fatalf("%d days, want 90", len(u.Days))
	}
	if got, want := u.Days[0].Date, today.AddDate(0, 0, -89).Format(time.DateOnly); got != want {
		t.Errorf("first day %s, want %s", got, want)
	}
	if got := u.Days[89].Date; got != "2026-03-02" {
		t.Errorf("last day %s, want today", got)
	}
	if got, want := u.Observed, 89*24*time.Hour+12*time.Hour; got != want {
		t.Errorf("observed %s, want %s", got, want)
	}
	if got, want := u.Down, 5*time.Hour; got != want {
		t.Errorf("down %s, want %s", got, want)
	}
	want := 100 * (1 - 5.0/(89*24+12))
	if got := u.Percent(); got < want-1e-9 || got > want+1e-9 {
		t.Errorf("percent %v, want %v", got, want)
	}
	if got := u.PercentText(); got != "99.76" {
		t.Errorf("percent text %s, want 99.76 (truncated)", got)
	}
	tests := []struct {
		name                 string
		index                int
		major, partial, down time.Duration
		worst                status.ComponentStatus
	}{
		{"major outage day", 79, 2 * time.Hour, 0, 2 * time.Hour, status.MajorOutage},
		{"partial outage day", 84, 0, 10 * time.Hour, 3 * time.Hour, status.PartialOutage},
		{"degraded and maintenance day", 86, 0, 0, 0, status.DegradedPerformance},
		{"quiet day", 50, 0, 0, 0, status.Operational},
	}
	for _, tt := range tests {
		d := u.Days[tt.index]
		if d.Major != tt.major || d.Partial != tt.partial || d.Down != tt.down || d.Worst != tt.worst || d.Observed != 24*time.Hour {
			t.Errorf("%s (%s): major %s partial %s down %s worst %s observed %s", tt.name, d.Date, d.Major, d.Partial, d.Down, d.Worst, d.Observed)
		}
	}
	if d := u.Days[89]; d.Observed != 12*time.Hour || !d.End.Equal(now) {
		t.Errorf("today observed %s ending %s, want 12h ending now", d.Observed, d.End)
	}
}

func TestComputeUptimeYoungComponent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, time.March, 2, 12, 0, 0, 0, time.UTC)
	created := now.Add(-60 * time.Hour) // Feb 28 at 00:00
	u := status.ComputeUptime([]status.StatusChange{{At: created, Status: status.Operational}}, now, 90, time.UTC)
	for i, d := range u.Days[:87] {
		if d.HasData() {
			t.Fatalf("day %d (%s) has data before the component existed", i, d.Date)
		}
	}
	if u.Days[87].Date != "2026-02-28" || u.Days[87].Observed != 24*time.Hour {
		t.Errorf("creation day = %+v", u.Days[87])
	}
	if u.Percent() != 100 || u.Observed != 60*time.Hour {
		t.Errorf("percent %v observed %s", u.Percent(), u.Observed)
	}
}

func TestComputeUptimeTimeZone(t *testing.T) {
	t.Parallel()
	plus5 := time.FixedZone("UTC+5", 5*3600)
	now := time.Date(2026, time.March, 2, 12, 0, 0, 0, time.UTC) // 17:00 local
	// An hour of major outage at 22:00 UTC on Feb 27: 03:00 on Feb 28 locally.
	tl := []status.StatusChange{
		{At: now.AddDate(0, 0, -30), Status: status.Operational},
		{At: time.Date(2026, time.February, 27, 22, 0, 0, 0, time.UTC), Status: status.MajorOutage},
		{At: time.Date(2026, time.February, 27, 23, 0, 0, 0, time.UTC), Status: status.Operational},
	}
	u := status.ComputeUptime(tl, now, 90, plus5)
	for _, d := range u.Days {
		if (d.Major > 0) != (d.Date == "2026-02-28") {
			t.Errorf("day %s has %s of major outage", d.Date, d.Major)
		}
	}
}
