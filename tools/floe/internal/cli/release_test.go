package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

func TestParseEnum(t *testing.T) {
	t.Parallel()
	kinds := map[string]releasev1.ChangeKind{
		"feature": releasev1.ChangeKind_CHANGE_KIND_FEATURE, "FEATURE": releasev1.ChangeKind_CHANGE_KIND_FEATURE,
		"feat": releasev1.ChangeKind_CHANGE_KIND_FEATURE, "fix": releasev1.ChangeKind_CHANGE_KIND_BUG_FIX,
		"bug_fix": releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, "bug-fix": releasev1.ChangeKind_CHANGE_KIND_BUG_FIX,
		"Bug Fix": releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, " bugfix ": releasev1.ChangeKind_CHANGE_KIND_BUG_FIX,
		"CHANGE_KIND_BUG_FIX": releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, "breaking": releasev1.ChangeKind_CHANGE_KIND_BREAKING,
	}
	for in, want := range kinds {
		if got, err := parseChangeKind(in); err != nil || got != want {
			t.Errorf("parseChangeKind(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseEnum[releasev1.ReleaseStatus]("Rolled-Back", nil); err != nil || got != releasev1.ReleaseStatus_RELEASE_STATUS_ROLLED_BACK {
		t.Errorf("Rolled-Back = %v, %v", got, err)
	}
	if got, err := parseEnum[releasev1.PrerequisiteType]("third-party", nil); err != nil || got != releasev1.PrerequisiteType_PREREQUISITE_TYPE_THIRD_PARTY {
		t.Errorf("third-party = %v, %v", got, err)
	}
	if got, err := parseEnum[releasev1.RiskImpact]("Critical", nil); err != nil || got != releasev1.RiskImpact_RISK_IMPACT_CRITICAL {
		t.Errorf("Critical = %v, %v", got, err)
	}
}

func TestParseEnumErrorsListValidValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  func() error
		want []string
	}{
		{"type", func() error { _, err := enumFlag[releasev1.ReleaseType]("type", "mnior", nil); return err },
			[]string{"--type", `"mnior"`, "release type", "major, minor, patch, hotfix"}},
		{"unspecified", func() error { _, err := parseEnum[releasev1.ReleaseType]("unspecified", nil); return err },
			[]string{"major, minor, patch, hotfix"}},
		{"empty", func() error { _, err := enumFlag[releasev1.ReleaseType]("type", "", nil); return err },
			[]string{"--type", "no release type given"}},
		{"status", func() error { _, err := parseEnum[releasev1.ReleaseStatus]("done", nil); return err },
			[]string{"planned, approved, deploying, deployed, rolled_back, failed, cancelled"}},
		{"kind", func() error { _, err := parseChangeKind("chore"); return err },
			[]string{"feature, bug_fix, improvement, security, migration, breaking"}},
		{"likelihood", func() error { _, err := parseEnum[releasev1.RiskLikelihood]("critical", nil); return err },
			[]string{"risk likelihood", "low, medium, high)"}},
		{"prereq status", func() error { _, err := parseEnum[releasev1.PrerequisiteStatus]("done", nil); return err },
			[]string{"pending, completed, failed"}},
	} {
		err := tc.err()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.name, err, w)
			}
		}
	}
}

func TestEnumName(t *testing.T) {
	t.Parallel()
	if got := enumName(releasev1.ChangeKind_CHANGE_KIND_BUG_FIX); got != "bug_fix" {
		t.Errorf("enumName(BUG_FIX) = %q", got)
	}
	if got := enumName(releasev1.ReleaseStatus_RELEASE_STATUS_UNSPECIFIED); got != "-" {
		t.Errorf("enumName(UNSPECIFIED) = %q", got)
	}
	if got := enumName(releasev1.ReleaseType(42)); got != "42" {
		t.Errorf("enumName(42) = %q", got)
	}
}

func TestParseChange(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]*releasev1.Change{
		"feature:Faster search":                             {Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "Faster search"},
		"feature: Faster search @https://example.com/pr/12": {Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "Faster search", Link: "https://example.com/pr/12"},
		"bug-fix:Login fails for user@example.com@PM-123":   {Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Login fails for user@example.com", Link: "PM-123"},
		"fix:Crash@#42":                                           {Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Crash", Link: "#42"},
		"security:Mail user@example.com":                          {Kind: releasev1.ChangeKind_CHANGE_KIND_SECURITY, Summary: "Mail user@example.com"},
		"migration:Schema: v2 to v3":                              {Kind: releasev1.ChangeKind_CHANGE_KIND_MIGRATION, Summary: "Schema: v2 to v3"},
		"breaking:Drop v1@https://u@h/x":                          {Kind: releasev1.ChangeKind_CHANGE_KIND_BREAKING, Summary: "Drop v1", Link: "https://u@h/x"},
		"improvement:thanks @alice for the idea@https://x.test/1": {Kind: releasev1.ChangeKind_CHANGE_KIND_IMPROVEMENT, Summary: "thanks @alice for the idea", Link: "https://x.test/1"},
	} {
		got, err := parseChange(in)
		if err != nil {
			t.Errorf("parseChange(%q): %v", in, err)
			continue
		}
		if !proto.Equal(got, want) {
			t.Errorf("parseChange(%q) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"no colon here":         "kind:summary[@link]",
		"chore:tidy":            "feature, bug_fix",
		"feature:   ":           "summary is empty",
		"feature:@https://x.io": "summary is empty",
	} {
		if _, err := parseChange(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseChange(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"2025-03-01":                time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		"2025-03-01T14:00:00Z":      time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC),
		"2025-03-01T15:00:00+01:00": time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC),
		" 2025-03-01T14:00:00.5Z ":  time.Date(2025, 3, 1, 14, 0, 0, 5e8, time.UTC),
	} {
		got, err := parseTime(in)
		if err != nil || !got.AsTime().Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got.AsTime(), err, want)
		}
	}
	if got, err := parseTime(""); got != nil || err != nil {
		t.Errorf(`parseTime("") = %v, %v; want nil, nil`, got, err)
	}
	for _, in := range []string{"tomorrow", "2025-13-01", "01/03/2025", "2025-03-01 14:00"} {
		if _, err := timeFlag("deadline", in); err == nil || !strings.Contains(err.Error(), "--deadline") || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("timeFlag(%q) = %v, want an error naming --deadline and the formats", in, err)
		}
	}
}

func TestScheduleFlags(t *testing.T) {
	t.Parallel()
	if s, err := scheduleFlags("", ""); s != nil || err != nil {
		t.Errorf("no window = %v, %v", s, err)
	}
	if _, err := scheduleFlags("2025-03-02", "2025-03-01"); err == nil || !strings.Contains(err.Error(), "before") {
		t.Errorf("end before start = %v", err)
	}
}

func TestOverlayUpdateKeepsUnsetFields(t *testing.T) {
	t.Parallel()
	start := timestamppb.New(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	end := timestamppb.New(time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC))
	cur := &releasev1.Release{
		Id: "R1", AggregateVersion: 7, Title: "Old", Description: "desc", TargetEnvironments: []string{"development", "staging"},
		Approvers: []string{"bob"}, RollbackPlan: "rb", TestingPlan: "tp",
		Schedule: &releasev1.Schedule{WindowStart: start, WindowEnd: end},
	}
	set := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, x := range names {
				if x == n {
					return true
				}
			}
			return false
		}
	}
	flags := &planFlags{title: "New", approvers: []string{""}, envs: []string{"development"}}
	got := overlayUpdate(cur, flags, nil, nil, set("title", "approver", "window-end"))
	want := &releasev1.UpdateReleaseRequest{
		ReleaseId: "R1", ExpectedVersion: 7, Title: "New", Description: "desc", TargetEnvironments: []string{"development", "staging"},
		Approvers: []string{}, RollbackPlan: "rb", TestingPlan: "tp", Schedule: &releasev1.Schedule{WindowStart: start},
	}
	if !proto.Equal(got, want) {
		t.Errorf("overlay =\n%v\nwant\n%v", got, want)
	}
	// The read release is not modified.
	if cur.GetTitle() != "Old" || len(cur.GetApprovers()) != 1 || cur.GetSchedule().GetWindowEnd() == nil {
		t.Errorf("overlay changed the release it read: %v", cur)
	}
	// Clearing both window ends drops the schedule; --env replaces targets.
	got = overlayUpdate(cur, flags, nil, nil, set("window-start", "window-end", "env"))
	if got.GetSchedule() != nil || strings.Join(got.GetTargetEnvironments(), ",") != "development" {
		t.Errorf("overlay = %v", got)
	}
}

func TestPrintRelease(t *testing.T) {
	t.Parallel()
	ts := timestamppb.New(time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC))
	r := &releasev1.Release{
		Id: "01ABC", Product: "default", Version: "2.1.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR,
		Status: releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED, Title: "Search", Author: "alice", CreatedAt: ts, ContentRevision: 3,
		Environments: []*releasev1.EnvironmentState{
			{Environment: "staging", Status: releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED, ApprovalsRequired: 1,
				Approvals: []*releasev1.Approval{{Approver: "carol"}}, PromotedBy: "bob", UpdatedAt: ts},
			{Environment: "production", Status: releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED, ApprovalsRequired: 2,
				Rejections: []*releasev1.Rejection{{RejectedBy: "erin", Reason: "needs numbers"}}},
		},
		Changes: []*releasev1.Change{{Id: "c1", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Crash", Link: "#42"}},
		Prerequisites: []*releasev1.Prerequisite{{Id: "p1", Type: releasev1.PrerequisiteType_PREREQUISITE_TYPE_DATABASE,
			Status: releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_PENDING, Description: "Migrate", Overdue: true, Deadline: ts}},
		Risk: &releasev1.RiskAssessment{Impact: releasev1.RiskImpact_RISK_IMPACT_HIGH, Likelihood: releasev1.RiskLikelihood_RISK_LIKELIHOOD_LOW,
			ExtraApprovals: 1, Mitigation: []string{"flag"}},
	}
	var b bytes.Buffer
	if err := printRelease(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"01ABC", "2.1.0", "minor", "planned", "Search", "alice", "2025-03-01 14:00:00Z", "CONTENT REVISION   3",
		"ENV", "APPROVALS", "PROMOTED BY", "1/1", "0/2", "REJECTED by erin: needs numbers",
		"c1  bug_fix  Crash  [#42]", "p1  database  pending OVERDUE", "impact high, likelihood low", "+1", "mitigation: flag",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("release block lacks %q:\n%s", want, out)
		}
	}
}

func TestWatchLine(t *testing.T) {
	t.Parallel()
	r := &releasev1.Release{Status: releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING, Environments: []*releasev1.EnvironmentState{
		{Environment: "development", Status: releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED},
		{Environment: "staging", Status: releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING},
	}}
	now := time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC)
	got := watchLine(&releasev1.WatchReleaseResponse{Release: r, Event: "ReleaseDeploying"}, now)
	for _, want := range []string{"2025-03-01 14:00:00Z", "ReleaseDeploying", "deploying", "development=deployed staging=deploying"} {
		if !strings.Contains(got, want) {
			t.Errorf("watch line %q lacks %q", got, want)
		}
	}
	if got := watchLine(&releasev1.WatchReleaseResponse{Release: r}, now); !strings.Contains(got, "(current)") {
		t.Errorf("first watch line %q does not say (current)", got)
	}
}

func TestRequestIDsAreFreshAndStable(t *testing.T) {
	t.Parallel()
	var a, b requestID
	if a.get() == b.get() || len(a.get()) != 32 {
		t.Errorf("request ids %q, %q: want two different 32-character ids", a.get(), b.get())
	}
	if first := a.get(); a.get() != first {
		t.Error("a command's request id changed between calls")
	}
	given := requestID{value: "mine"}
	if given.get() != "mine" || given.generated {
		t.Error("an explicit --request-id was replaced")
	}
}

func TestReleaseHelpListsSubcommands(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := Execute(context.Background(), []string{"release", "--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"create", "get", "list", "update", "add-change", "approve", "reject", "promote",
		"cancel", "prereq", "risk", "notes", "history", "watch", "envs"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("release --help does not list %s:\n%s", cmd, out.String())
		}
	}
	out.Reset()
	if err := Execute(context.Background(), []string{"release", "prereq", "--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"add", "update"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("release prereq --help does not list %s:\n%s", cmd, out.String())
		}
	}
	out.Reset()
	if err := Execute(context.Background(), []string{"--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "release") {
		t.Errorf("floe --help does not list release:\n%s", out.String())
	}
}

// TestReleaseValidatesBeforeCalling checks that bad input is refused before
// any RPC: the server address is unreachable, so reaching it would give a
// connection error instead.
func TestReleaseValidatesBeforeCalling(t *testing.T) {
	t.Parallel()
	conn := []string{"--server", "127.0.0.1:1", "--token", "floe_x", "--timeout", "2s"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"release", "create", "--product", "p", "--version", "1.0.0", "--type", "mnior", "--title", "t"}, "major, minor, patch, hotfix"},
		{[]string{"release", "create", "--product", "p", "--type", "minor", "--title", "t"}, "--version is required"},
		{[]string{"release", "create", "--version", "1.0.0", "--type", "minor", "--title", "t"}, "--product is required"},
		{[]string{"release", "create", "--product", " ", "--version", "1.0.0", "--type", "minor", "--title", "t"}, "--product is required"},
		{[]string{"release", "create", "--product", "p", "--version", "1.0.0", "--type", "minor", "--title", "t", "--change", "chore:x"}, "bug_fix"},
		{[]string{"release", "create", "--product", "p", "--version", "1.0.0", "--type", "minor", "--title", "t", "--window-start", "soon"}, "--window-start"},
		{[]string{"release", "reject", "R1", "--env", "production"}, "--reason is required"},
		{[]string{"release", "reject", "R1", "--env", "production", "--reason", "  "}, "--reason is required"},
		{[]string{"release", "cancel", "R1"}, "--reason is required"},
		{[]string{"release", "approve", "R1"}, "--env is required"},
		{[]string{"release", "approve", "--env", "staging"}, "missing ID"},
		{[]string{"release", "update", "R1"}, "nothing to update"},
		{[]string{"release", "update", "R1", "--title", ""}, "empty title"},
		{[]string{"release", "add-change", "R1", "--kind", "chore", "--summary", "x"}, "--kind"},
		{[]string{"release", "prereq", "add", "R1", "--type", "network", "--description", "x"}, "database, infrastructure, third_party, compliance"},
		{[]string{"release", "prereq", "add", "R1", "--type", "database", "--description", "x", "--deadline", "31/12/2025"}, "--deadline"},
		{[]string{"release", "prereq", "update", "R1"}, "missing PREREQ_ID"},
		{[]string{"release", "prereq", "update", "R1", "p1"}, "nothing to update"},
		{[]string{"release", "prereq", "update", "R1", "p1", "--status", "done"}, "pending, completed, failed"},
		{[]string{"release", "risk", "R1", "--impact", "huge", "--likelihood", "low"}, "low, medium, high, critical"},
		{[]string{"release", "risk", "R1", "--impact", "high"}, "--likelihood"},
		{[]string{"release", "list", "--status", "done"}, "rolled_back"},
		{[]string{"release", "list", "--type", "minr"}, "--type"},
		{[]string{"release", "notes", "R1", "--format", "html"}, "markdown or json"},
	} {
		var out, errOut bytes.Buffer
		err := Execute(context.Background(), append(append([]string{}, conn...), tc.args...), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("floe %s = %v, want an error containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Unavailable") {
			t.Errorf("floe %s reached the network before validating: %v", strings.Join(tc.args, " "), err)
		}
	}
}

func TestEnvsDefaultNeedsNoServer(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := Execute(context.Background(), []string{"--server", "127.0.0.1:1", "release", "envs", "--default"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "environments:") || !strings.Contains(out.String(), "name: production") {
		t.Errorf("envs --default = %q", out.String())
	}
}

func TestLooksLikeVersion(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"v1.4.2": true, "1.4.2": true, "1.4.2-rc.1": true, "v1.4": false, "HEAD": false, "main": false, "1.x.2": false, "": false} {
		if got := looksLikeVersion(s); got != want {
			t.Errorf("looksLikeVersion(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseAsOf(t *testing.T) {
	for _, c := range []struct {
		in      string
		pos     uint64
		isTime  bool
		wantErr bool
	}{{"", 0, false, false}, {"42", 42, false, false}, {"2026-12-04T10:30:00Z", 0, true, false}, {"2026-12-04", 0, true, false},
		{"0", 0, false, true}, {"yesterday", 0, false, true}, {"-3", 0, false, true}} {
		a, err := parseAsOf(c.in)
		if (err != nil) != c.wantErr || a.Position != c.pos || (a.Time != nil) != c.isTime {
			t.Errorf("parseAsOf(%q) = %+v, %v", c.in, a, err)
		}
	}
}
