package change_test

import (
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/change/internal/change"
)

func scheduleAt(cmd change.ScheduleCommand, at time.Time) func(c *change.ChangeRequest) ([]change.Event, error) {
	return func(c *change.ChangeRequest) ([]change.Event, error) { return change.Schedule(c, cmd, at) }
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	approved := [][]ev{submitted(change.ClassNormal), reviewed(), approvedNormal()}
	maintenance := func() change.Submitted {
		cmd := cmdFor(change.ClassNormal)
		cmd.Schedule.Maintenance = true
		return submittedFor(cmd)
	}
	w := func(id string, start, end time.Time) change.ScheduleCommand {
		return change.ScheduleCommand{WindowID: id, Start: start, End: end}
	}
	sched := func(id string, start, end, at time.Time) change.Scheduled {
		return change.Scheduled{WindowID: id, Start: start, End: end, At: at}
	}
	day := 24 * time.Hour
	runScenarios(t, []scenario{
		{
			name: "inside: the planned start opens the window", given: approved, when: scheduleAt(w(window, winStart, winEnd), now),
			want: events(sched(window, winStart, winEnd, planned)), state: change.StateScheduled,
		},
		{
			name: "inside: the planned start within a wider window is kept", given: approved,
			when: scheduleAt(w(window, winStart.Add(-2*time.Hour), winEnd), now),
			want: events(sched(window, winStart.Add(-2*time.Hour), winEnd, planned)), state: change.StateScheduled,
		},
		{
			name: "inside: a later window starts the change at its start", given: approved,
			when: scheduleAt(w("w2", winStart.Add(day), winEnd.Add(day)), now),
			want: events(sched("w2", winStart.Add(day), winEnd.Add(day), winStart.Add(day))), state: change.StateScheduled,
		},
		{
			name: "inside: the slot may end exactly at the window's end", given: approved,
			when: scheduleAt(change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd, At: winEnd.Add(-90 * time.Minute)}, now),
			want: events(sched(window, winStart, winEnd, winEnd.Add(-90*time.Minute))), state: change.StateScheduled,
		},
		{
			name: "inside: a window already open starts the change now", given: approved,
			when: scheduleAt(w(window, winStart, winEnd), winStart.Add(10*time.Minute)),
			want: events(sched(window, winStart, winEnd, winStart.Add(10*time.Minute))), state: change.StateScheduled,
		},
		{
			name: "outside: the slot runs past the window's end", given: approved,
			when:    scheduleAt(change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd, At: winEnd.Add(-89 * time.Minute)}, now),
			kinds:   []errs.Reason{kindWindow},
			refused: [][]string{{"change CR-1 needs 90 minutes from 2026-03-05T22:31:00Z, outside window w1 [2026-03-05T22:00:00Z, 2026-03-06T00:00:00Z)"}},
		},
		{
			name: "outside: a window shorter than the change", given: approved,
			when:    scheduleAt(w("short", winStart, winStart.Add(time.Hour)), now),
			refused: [][]string{{"needs 90 minutes from 2026-03-05T22:00:00Z, outside window short"}},
		},
		{
			name: "outside: a slot before the window opens", given: approved,
			when:    scheduleAt(change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd, At: winStart.Add(-time.Minute)}, now),
			refused: [][]string{{"outside window w1"}},
		},
		{
			name: "outside: a window already over", given: approved,
			when:    scheduleAt(w("w0", now.Add(-3*time.Hour), now), now),
			refused: [][]string{{"window w0 ended at 2026-03-04T12:00:00Z"}},
		},
		{
			name: "outside: a slot in the past", given: approved,
			when:    scheduleAt(change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd, At: winStart}, winStart.Add(time.Minute)),
			refused: [][]string{{"the change's slot would start at 2026-03-05T22:00:00Z, before now (2026-03-05T22:01:00Z)"}},
		},
		{
			name: "a change that asks for maintenance needs a maintenance window", given: [][]ev{by("alice", maintenance()), reviewed(), approvedNormal()},
			when:    scheduleAt(w(window, winStart, winEnd), now),
			refused: [][]string{{"change CR-1 asks for a maintenance window; window w1 is not one"}},
		},
		{
			name: "and gets one", given: [][]ev{by("alice", maintenance()), reviewed(), approvedNormal()},
			when: scheduleAt(change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd, Maintenance: true}, now),
			want: events(change.Scheduled{WindowID: window, Start: winStart, End: winEnd, At: planned, Maintenance: true}),
		},
		{
			name: "a window for other environments", given: approved,
			when:    scheduleAt(change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd, Environments: []string{"staging"}}, now),
			refused: [][]string{{"window w1 does not apply to production (it applies to staging)"}},
		},
		{
			name: "a window for the change's environments", given: approved,
			when: scheduleAt(change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd, Environments: []string{"staging", "production"}}, now),
			want: events(change.Scheduled{WindowID: window, Start: winStart, End: winEnd, At: planned, Environments: []string{"staging", "production"}}),
		},
		{
			name: "rescheduling into another window", given: normalScheduled(),
			when: scheduleAt(w("w2", winStart.Add(day), winEnd.Add(day)), now),
			want: events(sched("w2", winStart.Add(day), winEnd.Add(day), winStart.Add(day))), state: change.StateScheduled,
		},
		{
			name: "the same window again is no news", given: normalScheduled(),
			when: scheduleAt(w(window, winStart, winEnd), now),
			want: nil, state: change.StateScheduled,
		},
		{
			name: "every reason at once", given: [][]ev{by("alice", maintenance()), reviewed()},
			when:  scheduleAt(change.ScheduleCommand{WindowID: window, Start: winStart, End: winEnd, Environments: []string{"staging"}}, now),
			kinds: []errs.Reason{kindState, kindWindow, kindWindow},
		},
		{
			name: "fields", given: approved,
			when:    scheduleAt(change.ScheduleCommand{WindowID: "w.1", End: winEnd, Environments: []string{"prod*"}}, now),
			invalid: []string{"window_id", "start", "environments[0]"},
		},
		{
			name: "an end before the start", given: approved,
			when:    scheduleAt(w(window, winEnd, winStart), now),
			invalid: []string{"end"},
		},
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			name: "a scheduled change is withdrawn", given: normalScheduled(),
			when: func(c *change.ChangeRequest) ([]change.Event, error) { return change.Cancel(c, "Superseded by CR-2.") },
			want: events(change.Cancelled{Reason: "Superseded by CR-2."}), state: change.StateCancelled,
		},
		{
			name: "a reason is required", given: normalScheduled(),
			when:    func(c *change.ChangeRequest) ([]change.Event, error) { return change.Cancel(c, "") },
			invalid: []string{"reason"},
		},
		{
			name: "not once implementing: fail it instead", given: plus(normalScheduled(), started("dep-1", "production", implAt, time.Time{})),
			when:    func(c *change.ChangeRequest) ([]change.Event, error) { return change.Cancel(c, "Stop.") },
			kinds:   []errs.Reason{kindState},
			refused: [][]string{{"only a change that is submitted or in_review or pending_approval or approved or scheduled can be cancelled"}},
		},
	})
}
