// Package window decides when an environment may be promoted to: deployment
// windows and freezes, per environment (issue 17). It is pure: no NATS, no
// I/O beyond reading the tz database, no clock — every instant is passed in.
//
// # Model
//
// A Window opens an environment at each occurrence of a Recurrence, read on
// the wall clock of an IANA time zone, for a fixed Duration of elapsed time
// (at most a week), optionally only within [ValidFrom, ValidUntil). An
// environment with windows is closed outside them; one without windows is
// always open.
//
// A Freeze closes its environments (or all, with "*"), either once over
// [Start, End) or at each occurrence of a recurrence for a duration, and
// always says why. During a freeze every promotion is refused, automatic
// ones included; a rollback never is. An Override lifts one freeze period for
// one promotion: it names the freeze and environment, gives a reason, and is
// granted by a second person — never the requester — holding one of the
// policy's override roles. It is recorded as an event of its own.
//
// CheckPromotion combines them into a Verdict: allowed or not, each finding
// as a machine-readable Reason (freeze id, next window and when it opens) and
// a sentence for people. Principals and roles are plain strings, so the
// package needs no auth code.
//
// A Recurrence is weekly (days of the week and a start time of day: "Tue,Thu
// 22:00") or a five-field cron expression with standard semantics: '*',
// values, ranges, lists, steps, month and weekday names, @daily and friends,
// and the day rule of Vixie cron — when both day-of-month and day-of-week are
// restricted (neither contains '*') a day matches if either does, otherwise
// both must ("0 0 1,15 * 1" fires on the 1st, the 15th and every Monday;
// "0 0 */2 * 1" on odd-numbered Mondays). Expressions that can never fire
// ("0 0 30 2 *") are refused.
//
// # Time zones and daylight saving
//
// A recurrence names wall-clock readings ("22:00 on Tuesdays"). An
// occurrence whose reading is n starts at the first instant at which the
// zone's clock reads n or later. So:
//
//   - a reading that happens once starts then;
//   - a reading skipped by a spring-forward gap starts when the gap ends: in
//     Europe/Berlin on 2024-03-31 the clock jumps from 02:00 CET to 03:00
//     CEST, and an occurrence at 02:30 starts at 03:00 CEST (01:00 UTC).
//     Several readings inside one gap (a */15 schedule) collapse into that
//     one occurrence;
//   - a reading repeated by a fall-back overlap starts once, at its first
//     happening: in Berlin on 2024-10-27 02:30 happens at 02:30 CEST and
//     again at 02:30 CET; the occurrence starts at 02:30 CEST (00:30 UTC),
//     and nothing starts at 02:30 CET. The hourly schedule "0 * * * *" has no
//     occurrence at the repeated 02:00 CET either;
//   - a duration is elapsed time, not wall-clock time: a 2h window starting
//     at 01:00 CET on a spring-forward day closes at 04:00 CEST.
//
// This rule never reorders occurrences (a later reading never starts
// earlier) and never starts one twice, and a day loses none of its
// occurrences to a gap: a skipped reading is moved to the gap's end, not
// dropped.
//
// # Validation
//
// Validate methods (Recurrence, Window, Freeze, Override, Policy) return an
// *errs.InvalidArgumentError listing every violation at its field path
// ("recurrence.cron", "windows[2].time_zone"). The queries treat an invalid
// window or freeze as never open or never in effect, so callers validate at
// the edge; CheckPromotion instead refuses every non-rollback promotion to an
// environment whose windows or freezes are invalid (it fails closed).
package window
