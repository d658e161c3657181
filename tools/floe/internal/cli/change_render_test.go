package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
)

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

// lineWith returns the first line of out that starts with prefix and
// contains every one of parts, or fails the test showing out.
func lineWith(t *testing.T, out, prefix string, parts ...string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l
		}
	}
	t.Errorf("no line starting with %q contains %q in:\n%s", prefix, parts, out)
	return ""
}

func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %v, want one containing %q", what, err, want)
	}
}

func TestChangeParseStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     *changev1.Step
		err      string
	}{
		{name: "description only", in: " Drain the node ", want: &changev1.Step{Description: "Drain the node"}},
		{name: "all four", in: "Deploy the new bundle|ops|15|curl shows the new expiry",
			want: &changev1.Step{Description: "Deploy the new bundle", Owner: "ops", ExpectedMinutes: 15, Verification: "curl shows the new expiry"}},
		{name: "go duration", in: "Migrate|dba|1h30m", want: &changev1.Step{Description: "Migrate", Owner: "dba", ExpectedMinutes: 90}},
		{name: "empty owner", in: "Wait||10|", want: &changev1.Step{Description: "Wait", ExpectedMinutes: 10}},
		{name: "no description", in: "|ops|10", err: "the description is empty"},
		{name: "too many parts", in: "a|b|1|d|e", err: "too many '|'"},
		{name: "bad minutes", in: "a|b|soon", err: `the expected time: "soon" is not a duration`},
		{name: "seconds", in: "a|b|90s", err: "not a whole, non-negative number of minutes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStep(tc.in)
			if tc.err != "" {
				wantErr(t, tc.in, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("parseStep(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
	_, err := planFlag("rollback-step", []string{"ok", "|nobody"})
	wantErr(t, "planFlag", err, `--rollback-step "|nobody": the description is empty`)
	if p, err := planFlag("testing-step", []string{"", "  "}); err != nil || p != nil {
		t.Errorf("blank steps = %v, %v; want no plan", p, err)
	}
}

func TestChangeParseAction(t *testing.T) {
	t.Parallel()
	got, err := parseAction("Alert 14 days before expiry|ops|2026-10-15")
	if err != nil {
		t.Fatal(err)
	}
	want := &changev1.Action{Description: "Alert 14 days before expiry", Owner: "ops", Due: ts("2026-10-15T00:00:00Z")}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("parseAction (-want +got):\n%s", diff)
	}
	if got, err := parseAction("Add it to the checklist"); err != nil || got.GetDue() != nil || got.GetOwner() != "" {
		t.Errorf("description only = %v, %v", got, err)
	}
	_, err = parseAction("x|ops|next week")
	wantErr(t, "bad due", err, "the due time")
	_, err = parseAction("a|b|2026-10-15|d")
	wantErr(t, "four parts", err, "too many '|'")
}

func TestChangeMinutes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]uint32{"45": 45, "45m": 45, "4h": 240, "1h30m": 90, " 2h ": 120} {
		if got, err := minutesFlag("duration", in); err != nil || got != want {
			t.Errorf("minutesFlag(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	_, err := minutesFlag("duration", "0")
	wantErr(t, "0", err, "--duration: the duration must be at least a minute")
	_, err = minutesFlag("duration", "four hours")
	wantErr(t, "words", err, `--duration: "four hours" is not a duration`)
	for m, want := range map[uint32]string{0: "-", 45: "45m", 60: "1h", 90: "1h30m", 240: "4h", 1440: "24h"} {
		if got := fmtMinutes(m); got != want {
			t.Errorf("fmtMinutes(%d) = %q, want %q", m, got, want)
		}
	}
}

func TestCompliancePeriod(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, from, to   string
		wantFrom, wantTo string
		err              string
	}{
		{name: "dates: --to is the end of its day", from: "2026-10-01", to: "2026-12-31", wantFrom: "2026-10-01T00:00:00Z", wantTo: "2027-01-01T00:00:00Z"},
		{name: "one day", from: "2026-10-01", to: "2026-10-01", wantFrom: "2026-10-01T00:00:00Z", wantTo: "2026-10-02T00:00:00Z"},
		{name: "times as given", from: "2026-10-01T09:00:00+02:00", to: "2026-10-01T17:30:00Z", wantFrom: "2026-10-01T07:00:00Z", wantTo: "2026-10-01T17:30:00Z"},
		{name: "end before start", from: "2026-10-02", to: "2026-10-01T12:00:00Z", err: "--to 2026-10-01 12:00:00Z is not after --from 2026-10-02 00:00:00Z"},
		{name: "not a time", from: "yesterday", to: "2026-10-01", err: `--from: "yesterday" is not a time`},
		{name: "bad end", from: "2026-10-01", to: "2026-13-01", err: `--to: "2026-13-01" is not a time`},
		{name: "missing", from: "", to: "", err: "--from is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, to, err := periodFlags(tc.from, tc.to)
			if tc.err != "" {
				wantErr(t, tc.name, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.AsTime().Format(time.RFC3339); got != tc.wantFrom {
				t.Errorf("from = %s, want %s", got, tc.wantFrom)
			}
			if got := to.AsTime().Format(time.RFC3339); got != tc.wantTo {
				t.Errorf("to = %s, want %s", got, tc.wantTo)
			}
		})
	}
	// Elsewhere a date is that day's midnight (--planned-start, --at, --start).
	got, err := timeFlag("planned-start", "2026-10-01")
	if err != nil || !got.AsTime().Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("timeFlag(date) = %v, %v", got, err)
	}
}

func TestWindowRecurrenceFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, weekly, cron string
		want               *changev1.Recurrence
		err                string
	}{
		{name: "days and time", weekly: "mon,tue,wed 09:00", want: &changev1.Recurrence{Days: []string{"mon", "tue", "wed"}, At: "09:00"}},
		{name: "range, names, order", weekly: "Friday,mon-wed 22:30", want: &changev1.Recurrence{Days: []string{"mon", "tue", "wed", "fri"}, At: "22:30"}},
		{name: "wrapping range", weekly: "fri-mon 6:05", want: &changev1.Recurrence{Days: []string{"mon", "fri", "sat", "sun"}, At: "06:05"}},
		{name: "daily", weekly: "daily 03:00", want: &changev1.Recurrence{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, At: "03:00"}},
		{name: "cron", cron: " 0 9  * * 1-5 ", want: &changev1.Recurrence{Cron: "0 9 * * 1-5"}},
		{name: "cron macro", cron: "@daily", want: &changev1.Recurrence{Cron: "@daily"}},
		{name: "neither", want: nil},
		{name: "both", weekly: "mon 09:00", cron: "0 9 * * 1", err: "give --weekly or --cron, not both"},
		{name: "no time", weekly: "mon,tue", err: `--weekly "mon,tue": want DAYS HH:MM`},
		{name: "bad day", weekly: "mon,funday 09:00", err: `"funday" is not a weekday`},
		{name: "bad time", weekly: "mon 25:00", err: `"25:00" is not a time of day`},
		{name: "four cron fields", cron: "0 9 * *", err: "--cron \"0 9 * *\": want five fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := recurrenceFlags(tc.weekly, tc.cron)
			if tc.err != "" {
				wantErr(t, tc.name, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWindowCreateRequest(t *testing.T) {
	t.Parallel()
	f := windowFlags{env: "production", name: "Weekday mornings", weekly: "mon-fri 09:00", duration: "4h", tz: "Europe/Berlin", until: "2027-01-01", maintenance: true}
	got, err := f.request()
	if err != nil {
		t.Fatal(err)
	}
	want := &changev1.CreateWindowRequest{Window: &changev1.DeploymentWindow{Environment: "production", Name: "Weekday mornings",
		Recurrence:      &changev1.Recurrence{Days: []string{"mon", "tue", "wed", "thu", "fri"}, At: "09:00"},
		DurationMinutes: 240, TimeZone: "Europe/Berlin", ValidUntil: ts("2027-01-01T00:00:00Z"), Maintenance: true}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	f.weekly = ""
	_, err = f.request()
	wantErr(t, "no recurrence", err, `give --weekly "mon-fri 09:00" or --cron`)
	f.cron, f.duration = "0 9 * * 1-5", ""
	_, err = f.request()
	wantErr(t, "no duration", err, "--duration is required")
}

func TestFreezeCreateRequest(t *testing.T) {
	t.Parallel()
	oneOff := freezeFlags{envs: []string{"production", ""}, reason: "Quarter-end close", start: "2026-12-28", end: "2027-01-04", tz: "UTC"}
	got, err := oneOff.request()
	if err != nil {
		t.Fatal(err)
	}
	want := &changev1.CreateFreezeRequest{Freeze: &changev1.Freeze{Environments: []string{"production"}, Reason: "Quarter-end close",
		Start: ts("2026-12-28T00:00:00Z"), End: ts("2027-01-04T00:00:00Z")}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("one-off (-want +got):\n%s", diff)
	}
	recurring := freezeFlags{reason: "No Friday-evening deploys", weekly: "fri 16:00", duration: "64h", tz: "Europe/Berlin"}
	got, err = recurring.request()
	if err != nil {
		t.Fatal(err)
	}
	want = &changev1.CreateFreezeRequest{Freeze: &changev1.Freeze{Environments: []string{}, Reason: "No Friday-evening deploys",
		Recurrence: &changev1.Recurrence{Days: []string{"fri"}, At: "16:00"}, DurationMinutes: 64 * 60, TimeZone: "Europe/Berlin"}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("recurring (-want +got):\n%s", diff)
	}
	both := recurring
	both.start, both.end = "2026-12-28", "2027-01-04"
	_, err = both.request()
	wantErr(t, "both forms", err, "not both")
	noDuration := recurring
	noDuration.duration = ""
	_, err = noDuration.request()
	wantErr(t, "no duration", err, "--duration is required")
	backwards := oneOff
	backwards.start, backwards.end = "2027-01-04", "2026-12-28"
	_, err = backwards.request()
	wantErr(t, "backwards", err, "--end 2026-12-28 00:00:00Z is not after --start 2027-01-04 00:00:00Z")
	noReason := oneOff
	noReason.reason = " "
	_, err = noReason.request()
	wantErr(t, "no reason", err, "--reason is required")
}

func TestFreezeOverrideExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 29, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"8h":                   now.Add(8 * time.Hour),
		"2026-12-30":           time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC),
		"2026-12-29T18:00:00Z": time.Date(2026, 12, 29, 18, 0, 0, 0, time.UTC),
	} {
		got, err := expiresFlag(in, now)
		if err != nil || !got.AsTime().Equal(want) {
			t.Errorf("expiresFlag(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := expiresFlag("", now); got != nil || err != nil {
		t.Errorf("no --expires = %v, %v", got, err)
	}
	_, err := expiresFlag("-1h", now)
	wantErr(t, "negative", err, "must be positive")
	_, err = expiresFlag("tomorrow", now)
	wantErr(t, "words", err, "--expires:")
}

func TestChangeScheduleRequest(t *testing.T) {
	t.Parallel()
	got, err := (&changeScheduleFlags{windowID: "prod-mornings", at: "2026-10-01T09:30:00Z"}).request("chg-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&changev1.ScheduleRequest{ChangeId: "chg-1", WindowId: "prod-mornings", At: ts("2026-10-01T09:30:00Z")}, got, protocmp.Transform()); diff != "" {
		t.Errorf("window (-want +got):\n%s", diff)
	}
	got, err = (&changeScheduleFlags{start: "2026-10-03T22:00:00Z", end: "2026-10-04", maintenance: true}).request("chg-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&changev1.ScheduleRequest{ChangeId: "chg-1", Start: ts("2026-10-03T22:00:00Z"), End: ts("2026-10-04T00:00:00Z"), Maintenance: true}, got, protocmp.Transform()); diff != "" {
		t.Errorf("range (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name string
		f    changeScheduleFlags
		err  string
	}{
		{"nothing", changeScheduleFlags{}, "give --window WINDOW_ID"},
		{"half a range", changeScheduleFlags{start: "2026-10-03"}, "give --window WINDOW_ID"},
		{"both", changeScheduleFlags{windowID: "w", start: "2026-10-03", end: "2026-10-04"}, "not both"},
		{"maintenance with a window", changeScheduleFlags{windowID: "w", maintenance: true}, "--maintenance is for a range"},
		{"empty range", changeScheduleFlags{start: "2026-10-03", end: "2026-10-03"}, "is not after --start"},
	} {
		_, err := tc.f.request("chg-1")
		wantErr(t, tc.name, err, tc.err)
	}
}

// submitRequestFrom runs the submit flags over args as the command does.
func submitRequestFrom(t *testing.T, args ...string) (*changev1.SubmitRequest, error) {
	t.Helper()
	var f submitFlags
	cmd := &cobra.Command{Use: "submit"}
	f.bind(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return f.request(cmd.Flags().Changed, os.ReadFile)
}

func TestChangeSubmitFileAndFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	yamlFile := write("change.yaml", `
id: chg-from-file
title: From the file
class: emergency
justification: Certificate expires in 2 hours
type: bug-fix
priority: CRITICAL
impact: system_wide
environments: [staging]
approvers: erin
schedule:
  planned_start: 2026-10-01
  duration_minutes: 30
implementation:
  - Deploy the new bundle|ops|15|curl shows the new expiry
  - {description: Purge the CDN, owner: web, expected_minutes: 5}
testing:
  steps:
    - description: Smoke test checkout
`)
	jsonFile := write("change.json", `{"id": "chg-json", "class": "CHANGE_CLASS_STANDARD", "template": "tls-rotation", "title": "From JSON",
 "environments": ["production"], "schedule": {"plannedStart": "2026-10-01T09:00:00Z", "maintenance": true},
 "rollback": {"steps": [{"description": "Redeploy the old bundle", "expectedMinutes": 10}]}}`)

	t.Run("yaml, flags override", func(t *testing.T) {
		t.Parallel()
		got, err := submitRequestFrom(t, "-f", yamlFile, "--title", "From the flags", "--env", "production", "--env", "dr",
			"--duration", "1h", "--rollback-step", "Redeploy the old bundle||10", "--risk", "high")
		if err != nil {
			t.Fatal(err)
		}
		want := &changev1.SubmitRequest{
			Id: "chg-from-file", Title: "From the flags", Class: changev1.ChangeClass_CHANGE_CLASS_EMERGENCY,
			Justification: "Certificate expires in 2 hours", Type: changev1.ChangeType_CHANGE_TYPE_BUG_FIX,
			Priority: changev1.ChangePriority_CHANGE_PRIORITY_CRITICAL, Impact: changev1.ChangeImpact_CHANGE_IMPACT_SYSTEM_WIDE,
			Risk:         changev1.ChangeRisk_CHANGE_RISK_HIGH,
			Environments: []string{"production", "dr"}, Approvers: []string{"erin"},
			Schedule: &changev1.Timing{PlannedStart: ts("2026-10-01T00:00:00Z"), DurationMinutes: 60},
			Implementation: &changev1.Plan{Steps: []*changev1.Step{
				{Description: "Deploy the new bundle", Owner: "ops", ExpectedMinutes: 15, Verification: "curl shows the new expiry"},
				{Description: "Purge the CDN", Owner: "web", ExpectedMinutes: 5},
			}},
			Rollback: &changev1.Plan{Steps: []*changev1.Step{{Description: "Redeploy the old bundle", ExpectedMinutes: 10}}},
			Testing:  &changev1.Plan{Steps: []*changev1.Step{{Description: "Smoke test checkout"}}},
		}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("json, its class kept over the flag's default", func(t *testing.T) {
		t.Parallel()
		got, err := submitRequestFrom(t, "--file", jsonFile, "--id", "chg-flag", "--maintenance=false")
		if err != nil {
			t.Fatal(err)
		}
		want := &changev1.SubmitRequest{
			Id: "chg-flag", Class: changev1.ChangeClass_CHANGE_CLASS_STANDARD, Template: "tls-rotation", Title: "From JSON",
			Environments: []string{"production"}, Schedule: &changev1.Timing{PlannedStart: ts("2026-10-01T09:00:00Z")},
			Rollback: &changev1.Plan{Steps: []*changev1.Step{{Description: "Redeploy the old bundle", ExpectedMinutes: 10}}},
		}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("flags alone, class defaults to normal", func(t *testing.T) {
		t.Parallel()
		got, err := submitRequestFrom(t, "--title", "Only flags", "--env", "staging,production", "--implementation-step", "Do it")
		if err != nil {
			t.Fatal(err)
		}
		want := &changev1.SubmitRequest{Title: "Only flags", Class: changev1.ChangeClass_CHANGE_CLASS_NORMAL, Environments: []string{"staging", "production"},
			Implementation: &changev1.Plan{Steps: []*changev1.Step{{Description: "Do it"}}}}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"bad class flag", []string{"--class", "urgent"}, `--class "urgent": want one of standard, normal, emergency`},
		{"bad type flag", []string{"--type", "feature"}, "want one of enhancement, bug_fix, security, infrastructure"},
		{"bad step flag", []string{"--testing-step", "a|b|c|d|e"}, `--testing-step "a|b|c|d|e": too many '|'`},
		{"bad duration", []string{"--duration", "long"}, `--duration: "long" is not a duration`},
		{"missing file", []string{"-f", filepath.Join(dir, "nope.yaml")}, "--file:"},
		{"bad enum in file", []string{"-f", write("bad-enum.yaml", "class: urgent\n")}, `class: "urgent": want one of standard, normal, emergency`},
		{"unknown field in file", []string{"-f", write("unknown.yaml", "titel: typo\n")}, "titel"},
		{"bad step in file", []string{"-f", write("bad-step.yaml", "rollback: ['|ops']\n")}, "rollback.steps[0]"},
		{"bad date in file", []string{"-f", write("bad-date.json", `{"schedule": {"planned_start": "soon"}}`)}, `schedule.planned_start: "soon" is not a time`},
		{"not a mapping", []string{"-f", write("list.yaml", "- a\n- b\n")}, "want a mapping of SubmitRequest fields"},
	} {
		_, err := submitRequestFrom(t, tc.args...)
		wantErr(t, tc.name, err, tc.err)
	}
}

// aChange is a change with every part populated.
func aChange() *changev1.ChangeRequest {
	return &changev1.ChangeRequest{
		Id: "chg-tls-rotation", State: changev1.ChangeState_CHANGE_STATE_IMPLEMENTING, Class: changev1.ChangeClass_CHANGE_CLASS_EMERGENCY,
		Submitter: "alice", SubmittedAt: ts("2026-09-30T08:00:00Z"), Title: "Rotate TLS certificates", Description: "The old\nbundle expires.",
		Type: changev1.ChangeType_CHANGE_TYPE_SECURITY, Priority: changev1.ChangePriority_CHANGE_PRIORITY_CRITICAL,
		Impact: changev1.ChangeImpact_CHANGE_IMPACT_SYSTEM_WIDE, Risk: changev1.ChangeRisk_CHANGE_RISK_MEDIUM, RegulatoryImpact: "PCI DSS 4.2",
		Environments: []string{"production", "dr"}, Schedule: &changev1.Timing{PlannedStart: ts("2026-10-01T09:00:00Z"), DurationMinutes: 90, Maintenance: true},
		Approvers: []string{"bob", "erin"}, Releases: []string{"01J9ZREL"},
		Implementation: &changev1.Plan{Steps: []*changev1.Step{{Description: "Deploy the new bundle", Owner: "ops", ExpectedMinutes: 15, Verification: "curl shows the new expiry"}}},
		Rollback:       &changev1.Plan{Steps: []*changev1.Step{{Description: "Redeploy the old bundle"}}},
		Justification:  "Expires in 2 hours",
		Requirements:   []*changev1.Requirement{{AnyOf: []string{"operations", "security"}}, {AnyOf: []string{"product"}}},
		Approvals:      []*changev1.Approval{{Approver: "erin", As: "security", At: ts("2026-09-30T08:30:00Z"), Counts: true, Comment: "go"}},
		Missing:        []*changev1.Requirement{{AnyOf: []string{"product"}}},
		Window:         &changev1.AssignedWindow{WindowId: "prod-mornings", Start: ts("2026-10-01T07:00:00Z"), End: ts("2026-10-01T11:00:00Z"), At: ts("2026-10-01T09:00:00Z")},
		Deployments: []*changev1.ImplementingDeployment{{DeploymentId: "dep-7", ReleaseId: "01J9ZREL", Environment: "production", StartedAt: ts("2026-10-01T12:00:00Z"),
			OutsideWindow: true, Checks: []*changev1.Check{{Name: "smoke", Outcome: "succeeded"}, {Name: "error-rate", Outcome: "failed"}}}},
		ReviewDue: ts("2026-10-03T12:00:00Z"), ReviewOverdue: true, Version: 9, UpdatedAt: ts("2026-10-01T12:05:00Z"),
	}
}

func TestChangeGetRendering(t *testing.T) {
	t.Parallel()
	c := aChange()
	var b bytes.Buffer
	err := printChangeAndHistory(&b, &changev1.GetResponse{Change: c, History: []*changev1.HistoryEntry{
		{Version: 1, At: ts("2026-09-30T08:00:00Z"), Actor: "alice", Event: "ChangeSubmitted", Summary: "submitted as emergency", Position: 41},
		{Version: 2, At: ts("2026-09-30T08:30:00Z"), Actor: "erin", Event: "ChangeApproved", Summary: "approved as security", Position: 57},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lineWith(t, out, "ID", "chg-tls-rotation")
	lineWith(t, out, "STATE", "implementing")
	lineWith(t, out, "CLASS", "emergency")
	lineWith(t, out, "JUSTIFICATION", "Expires in 2 hours")
	lineWith(t, out, "IMPACT", "system_wide")
	lineWith(t, out, "REGULATORY IMPACT", "PCI DSS 4.2")
	lineWith(t, out, "SUBMITTED", "2026-09-30 08:00:00Z by alice")
	lineWith(t, out, "UPDATED", "(version 9)")
	lineWith(t, out, "ENVIRONMENTS", "production, dr")
	lineWith(t, out, "PLANNED", "2026-10-01 09:00:00Z for 1h30m (needs a maintenance window)")
	lineWith(t, out, "DESCRIPTION", "The old bundle expires.")
	lineWith(t, out, "IMPLEMENTATION", "1. Deploy the new bundle (ops, 15m); verify: curl shows the new expiry")
	lineWith(t, out, "ROLLBACK", "1. Redeploy the old bundle")
	lineWith(t, out, "TESTING", "-")
	lineWith(t, out, "REQUIRES", "operations or security: met")
	lineWith(t, out, "REQUIRES", "product: MISSING")
	lineWith(t, out, "APPROVAL", "erin as security at 2026-09-30 08:30:00Z: go")
	lineWith(t, out, "WINDOW", "prod-mornings 2026-10-01 07:00:00Z to 2026-10-01 11:00:00Z, starting 2026-10-01 09:00:00Z")
	lineWith(t, out, "DEPLOYMENT", "dep-7: release 01J9ZREL to production", "(OUTSIDE the window)", "checks: smoke succeeded, error-rate failed")
	lineWith(t, out, "REVIEW DUE", "OVERDUE since 2026-10-03 12:00:00Z")
	lineWith(t, out, "VERSION", "ACTOR", "EVENT")
	lineWith(t, out, "1 ", "alice", "ChangeSubmitted", "submitted as emergency", "41")
	lineWith(t, out, "2 ", "erin", "ChangeApproved", "57")
	if strings.Index(out, "REVIEW DUE") > strings.Index(out, "ChangeSubmitted") {
		t.Errorf("the history is not after the change:\n%s", out)
	}

	// Once reviewed: the review, late, with its prevention actions.
	c.ReviewOverdue = false
	c.Review = &changev1.PostImplementationReview{Reviewer: "carol", RootCause: "renewal job lost its credentials", At: ts("2026-10-04T10:00:00Z"), Late: true,
		Prevention: []*changev1.Action{{Description: "Alert before expiry", Owner: "ops", Due: ts("2026-10-15T00:00:00Z")}}}
	b.Reset()
	if err := printChange(&b, c); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	lineWith(t, out, "REVIEW DUE", "done (late)")
	lineWith(t, out, "REVIEW", "by carol at 2026-10-04 10:00:00Z (late)")
	lineWith(t, out, "ROOT CAUSE", "renewal job lost its credentials")
	lineWith(t, out, "PREVENTION", "Alert before expiry (ops, due 2026-10-15 00:00:00Z)")
}

func TestChangeListRendering(t *testing.T) {
	t.Parallel()
	due := aChange()
	due.Id, due.ReviewOverdue = "chg-due", false
	plain := &changev1.ChangeRequest{Id: "chg-plain", State: changev1.ChangeState_CHANGE_STATE_PENDING_APPROVAL, Class: changev1.ChangeClass_CHANGE_CLASS_NORMAL,
		Title: "Bump the\tdatabase", UpdatedAt: ts("2026-09-29T10:00:00Z")}
	var b bytes.Buffer
	if err := printChangeList(&b, []*changev1.ChangeRequest{aChange(), due, plain}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lineWith(t, out, "ID", "CLASS", "STATE", "TITLE", "ENVS", "RELEASES", "REVIEW", "UPDATED")
	lineWith(t, out, "chg-tls-rotation ", "emergency", "implementing", "Rotate TLS certificates", "production, dr", "01J9ZREL", "OVERDUE since 2026-10-03 12:00:00Z", "2026-10-01 12:05:00Z")
	lineWith(t, out, "chg-due ", "due 2026-10-03 12:00:00Z")
	lineWith(t, out, "chg-plain ", "normal", "pending_approval", "Bump the database", "2026-09-29 10:00:00Z")
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("%d lines, want a header and 3 rows:\n%s", n, out)
	}
	b.Reset()
	if err := printChangeList(&b, nil); err != nil || b.String() != "no change requests match\n" {
		t.Errorf("empty list = %q, %v", b.String(), err)
	}
}

// pagedChanges serves List from pages keyed by page token.
type pagedChanges struct {
	changev1.ChangeServiceClient
	pages map[string]*changev1.ListResponse
	asked []*changev1.ListRequest
}

func (p *pagedChanges) List(_ context.Context, req *changev1.ListRequest, _ ...grpc.CallOption) (*changev1.ListResponse, error) {
	p.asked = append(p.asked, proto.CloneOf(req)) // the caller reuses req for the next page
	return p.pages[req.GetPageToken()], nil
}

func TestChangeListFollowsPages(t *testing.T) {
	t.Parallel()
	page := func(next string, ids ...string) *changev1.ListResponse {
		r := &changev1.ListResponse{NextPageToken: next}
		for _, id := range ids {
			r.Changes = append(r.Changes, &changev1.ChangeRequest{Id: id})
		}
		return r
	}
	pages := map[string]*changev1.ListResponse{"": page("p2", "c1", "c2"), "p2": page("p3", "c3", "c4"), "p3": page("", "c5")}
	ids := func(cs []*changev1.ChangeRequest) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.GetId())
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name     string
		limit    int
		want     string
		wantMore bool
		tokens   string
	}{
		{"limit within the second page", 3, "c1,c2,c3", true, ",p2"},
		{"limit at a page end", 4, "c1,c2,c3,c4", true, ",p2"},
		{"limit beyond all", 10, "c1,c2,c3,c4,c5", false, ",p2,p3"},
		{"no limit", 0, "c1,c2,c3,c4,c5", false, ",p2,p3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := changeListFlags{states: []string{"implementing", "validated"}, env: "production", class: "emergency", overdue: true, limit: tc.limit}
			req, err := f.request()
			if err != nil {
				t.Fatal(err)
			}
			c := &pagedChanges{pages: pages}
			got, more, err := listChanges(context.Background(), c, req, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if ids(got) != tc.want || more != tc.wantMore {
				t.Errorf("got %s (more %v), want %s (more %v)", ids(got), more, tc.want, tc.wantMore)
			}
			var tokens []string
			for _, r := range c.asked {
				tokens = append(tokens, r.GetPageToken())
				if len(r.GetStates()) != 2 || r.GetEnvironment() != "production" || !r.GetReviewOverdue() ||
					r.GetClass() != changev1.ChangeClass_CHANGE_CLASS_EMERGENCY {
					t.Errorf("page %q lost the filters: %v", r.GetPageToken(), r)
				}
			}
			if strings.Join(tokens, ",") != tc.tokens {
				t.Errorf("page tokens asked = %q, want %q", strings.Join(tokens, ","), tc.tokens)
			}
		})
	}
	_, err := (&changeListFlags{states: []string{"done"}}).request()
	wantErr(t, "bad state", err, `--state "done": want one of submitted, in_review, pending_approval`)
}

func TestWindowListRendering(t *testing.T) {
	t.Parallel()
	resp := &changev1.ListWindowsResponse{
		Windows: []*changev1.DeploymentWindow{
			{Id: "prod-mornings", Environment: "production", Name: "Weekday mornings", Recurrence: &changev1.Recurrence{Days: []string{"mon", "tue", "wed", "thu", "fri"}, At: "09:00"},
				DurationMinutes: 240, TimeZone: "Europe/Berlin"},
			{Id: "prod-sunday", Environment: "production", Name: "Sunday maintenance", Recurrence: &changev1.Recurrence{Cron: "0 2 * * 0"},
				DurationMinutes: 180, TimeZone: "UTC", Maintenance: true, ValidUntil: ts("2027-01-01T00:00:00Z")},
		},
		Freezes: []*changev1.Freeze{
			{Id: "frz-q4", Environments: []string{"staging"}, Reason: "Quarter-end close", Start: ts("2026-12-28T00:00:00Z"), End: ts("2027-01-04T00:00:00Z"), CreatedBy: "ops"},
			{Id: "frz-fridays", Reason: "No Friday evenings", Recurrence: &changev1.Recurrence{Days: []string{"fri"}, At: "16:00"}, DurationMinutes: 64 * 60, TimeZone: "Europe/Berlin"},
		},
		Overrides: []*changev1.FreezeOverride{{FreezeId: "frz-q4", Environment: "staging", Reason: "INC-4411 hotfix", RequestedBy: "alice", OverriddenBy: "dave",
			GrantedAt: ts("2026-12-29T10:00:00Z"), ExpiresAt: ts("2026-12-29T18:00:00Z")}},
		Environments: []*changev1.EnvironmentCalendar{
			{Environment: "production", Open: true, Verdict: "inside window prod-mornings", WindowId: "prod-mornings", WindowEnd: ts("2026-12-29T12:00:00Z")},
			{Environment: "staging", Verdict: "frozen: Quarter-end close", FrozenBy: "frz-q4", FrozenUntil: ts("2027-01-04T00:00:00Z")},
			{Environment: "dr", Verdict: "outside its windows", NextOpen: ts("2026-12-30T08:00:00Z")},
			{Environment: "development", Open: true, Verdict: "no windows"},
		},
	}
	var b bytes.Buffer
	if err := printCalendar(&b, resp, ts("2026-12-29T10:30:00Z")); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lineWith(t, out, "prod-mornings ", "production", "Weekday mornings", "mon,tue,wed,thu,fri 09:00", "4h", "Europe/Berlin", "no", "-")
	lineWith(t, out, "prod-sunday ", "cron 0 2 * * 0", "3h", "yes", "until 2027-01-01 00:00:00Z")
	lineWith(t, out, "frz-q4 ", "staging", "2026-12-28 00:00:00Z to 2027-01-04 00:00:00Z", "ops", "Quarter-end close")
	lineWith(t, out, "frz-fridays ", "(all)", "fri 16:00 for 64h (Europe/Berlin)", "No Friday evenings")
	lineWith(t, out, "frz-q4 ", "staging", "alice", "dave", "2026-12-29 18:00:00Z", "INC-4411 hotfix")
	lineWith(t, out, "ENVIRONMENT (2026-12-29 10:30:00Z)", "STATE")
	lineWith(t, out, "production ", "OPEN", "until 2026-12-29 12:00:00Z (window prod-mornings)")
	lineWith(t, out, "staging ", "FROZEN", "until 2027-01-04 00:00:00Z (freeze frz-q4)", "frozen: Quarter-end close")
	lineWith(t, out, "dr ", "CLOSED", "next open 2026-12-30 08:00:00Z")
	lineWith(t, out, "development ", "OPEN", "no windows")

	b.Reset()
	if err := printWindowCreated(&b, &changev1.CreateWindowResponse{Window: resp.GetWindows()[0], NextStart: ts("2026-12-30T08:00:00Z"), NextEnd: ts("2026-12-30T12:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	if !strings.HasPrefix(out, "window prod-mornings created\n") {
		t.Errorf("the first line does not name the window:\n%s", out)
	}
	lineWith(t, out, "WHEN", "mon,tue,wed,thu,fri 09:00 for 4h (Europe/Berlin)")
	lineWith(t, out, "NEXT", "2026-12-30 08:00:00Z to 2026-12-30 12:00:00Z")
}

func TestComplianceVerification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, format string
		given        bool
		output, want string
		err          string
	}{
		{name: "default", output: "table", want: "markdown"},
		{name: "-o json", output: "json", want: "json"},
		{name: "--format wins", format: "markdown", given: true, output: "json", want: "markdown"},
		{name: "md", format: "MD", given: true, output: "table", want: "markdown"},
		{name: "bad", format: "yaml", given: true, output: "table", err: `--format "yaml": want json or markdown`},
	} {
		got, err := reportFormat(tc.format, tc.given, tc.output)
		if tc.err != "" {
			wantErr(t, tc.name, err, tc.err)
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: reportFormat = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	ok := &changev1.ComplianceReport{Verification: &changev1.AuditVerification{Ok: true, FirstPosition: 1, LastPosition: 9}}
	if p := verificationProblem(ok); p != "" {
		t.Errorf("a verified report has a problem: %s", p)
	}
	broken := &changev1.ComplianceReport{Verification: &changev1.AuditVerification{FirstPosition: 1, LastPosition: 9, Problems: []string{"hash chain broken at 5"}}}
	if p := verificationProblem(broken); p != "the audit verification of log positions 1-9 failed: hash chain broken at 5" {
		t.Errorf("broken = %q", p)
	}
	skipped := &changev1.ComplianceReport{Verification: &changev1.AuditVerification{Skipped: "no trusted key configured"}}
	if p := verificationProblem(skipped); !strings.Contains(p, "did not run (no trusted key configured)") {
		t.Errorf("skipped = %q", p)
	}
	if p := verificationProblem(&changev1.ComplianceReport{}); p == "" {
		t.Error("a report without a verification is trusted")
	}

	// --out writes the rendered report as is and says where, with the verdict.
	path := filepath.Join(t.TempDir(), "q4.md")
	var out bytes.Buffer
	g := &globals{out: &out}
	resp := &changev1.GetComplianceReportResponse{Rendered: "# Compliance report\n", Report: &changev1.ComplianceReport{
		From: ts("2026-10-01T00:00:00Z"), To: ts("2027-01-01T00:00:00Z"), FirstPosition: 1, LastPosition: 9,
		Summary: &changev1.ReportSummary{Deployments: 12, WithoutChangeRequest: 1, EmergencyChanges: 2}, Verification: broken.GetVerification()}}
	if err := writeReport(g, path, resp); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "# Compliance report\n" {
		t.Errorf("file = %q, %v", b, err)
	}
	for _, want := range []string{"written to " + path, "12 deployments (1 without a change request)", "2 emergency changes", "log positions 1-9 NOT verified"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary %q does not contain %q", out.String(), want)
		}
	}
}

func TestChangeCommandTree(t *testing.T) {
	t.Parallel()
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	for _, path := range [][]string{
		{"change", "submit"}, {"change", "review"}, {"change", "approve"}, {"change", "reject"}, {"change", "schedule"}, {"change", "cancel"},
		{"change", "get"}, {"change", "list"}, {"change", "pir"}, {"change", "close"},
		{"window", "create"}, {"window", "delete"}, {"window", "list"},
		{"freeze", "create"}, {"freeze", "delete"}, {"freeze", "override"},
		{"compliance", "report"},
	} {
		cmd, _, err := root.Find(path)
		if err != nil || cmd.Name() != path[len(path)-1] {
			t.Errorf("floe %s: not found (%v)", strings.Join(path, " "), err)
			continue
		}
		if !strings.Contains(cmd.Long, "change.") && !strings.Contains(cmd.Long, "audit.read") {
			t.Errorf("floe %s: the help does not name the permission it needs", strings.Join(path, " "))
		}
	}
	// Bad values are refused before dialling, naming the flag.
	_, _, err := runFloeIn(context.Background(), "", "--token", "floe_x", "change", "list", "--class", "huge")
	wantErr(t, "change list --class huge", err, `--class "huge": want one of standard, normal, emergency`)
	_, _, err = runFloeIn(context.Background(), "", "--token", "floe_x", "change", "list", "--at", "yesterday-ish")
	wantErr(t, "change list --at yesterday-ish", err, `--at "yesterday-ish": a log position (a number) or a moment`)
	_, _, err = runFloeIn(context.Background(), "", "--token", "floe_x", "compliance", "report", "--from", "2026-10-01", "--to", "2026-09-01")
	wantErr(t, "compliance report backwards", err, "is not after --from")
}
