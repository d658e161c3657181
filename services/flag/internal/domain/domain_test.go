package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func boolFlag(key string) *flagv1.Flag {
	return &flagv1.Flag{
		Key: key, Description: "new welcome banner",
		Variants:       map[string]*structpb.Value{"on": structpb.NewBoolValue(true), "off": structpb.NewBoolValue(false)},
		DefaultVariant: "off",
	}
}

// fold applies events as the log would, each at the next position.
func fold(t *testing.T, s *FlagSet, actor string, events []proto.Message) {
	t.Helper()
	for _, e := range events {
		s.Apply(e, Meta{Actor: actor, Time: t0, Position: s.Version + 1})
	}
}

func must(t *testing.T) func([]proto.Message, error) []proto.Message {
	return func(events []proto.Message, err error) []proto.Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return events
	}
}

func violations(t *testing.T, err error) map[string]string {
	t.Helper()
	var ie *errs.InvalidArgumentError
	if !errors.As(err, &ie) {
		t.Fatalf("not InvalidArgument: %v", err)
	}
	out := map[string]string{}
	for _, v := range ie.Violations {
		out[v.Field] = v.Description
	}
	return out
}

func TestCreateChecksEveryField(t *testing.T) {
	s := NewFlagSet("production")
	bad := boolFlag("new welcome")
	bad.Variants["name"] = structpb.NewStringValue("x")
	bad.DefaultVariant = "maybe"
	bad.Targeting = "[1]"
	bad.Tags = []string{"a.b"}
	_, err := Create(s, bad, "")
	got := violations(t, err)
	for _, field := range []string{"flag.key", "flag.variants.on", "flag.default_variant", "flag.targeting", "flag.tags[0]", "reason"} {
		if _, ok := got[field]; !ok {
			t.Errorf("no violation of %s: %v", field, got)
		}
	}
	if !strings.Contains(got["flag.default_variant"], `"maybe" is not a variant`) {
		t.Errorf("default_variant: %q", got["flag.default_variant"])
	}
	fold(t, s, "alice", must(t)(Create(s, boolFlag("welcome"), "launch")))
	f := s.Flags["welcome"]
	if f.GetState() != flagv1.FlagState_FLAG_STATE_ENABLED || f.GetEnvironment() != "production" || f.GetPosition() != 1 || f.GetUpdatedBy() != "alice" {
		t.Fatalf("created: %v", f)
	}
	var exists *errs.AlreadyExistsError
	if _, err := Create(s, boolFlag("welcome"), "again"); !errors.As(err, &exists) {
		t.Fatalf("second create: %v", err)
	}
}

func TestRolloutsCompileToFlagdTargeting(t *testing.T) {
	pct := func(p uint32) *flagv1.Rollout {
		return &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: p}}}
	}
	for _, c := range []struct {
		name string
		r    *flagv1.Rollout
		want string
	}{
		{"immediate", &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Immediate{Immediate: &flagv1.ImmediateRollout{}}}, `{"if":[true,"on","off"]}`},
		{"25 percent", pct(25), `{"fractional":[["on",25],["off",75]]}`},
		{"0 percent", pct(0), `{"if":[true,"off","off"]}`},
		{"100 percent", pct(100), `{"if":[true,"on","on"]}`},
		{"segment", &flagv1.Rollout{Variant: "on", Otherwise: "off", Strategy: &flagv1.Rollout_UserSegment{UserSegment: &flagv1.SegmentRollout{Rules: []*flagv1.SegmentRule{
			{Attribute: "plan", Operator: flagv1.SegmentOperator_SEGMENT_OPERATOR_IN, Values: []string{"pro", "enterprise"}},
			{Attribute: "email", Operator: flagv1.SegmentOperator_SEGMENT_OPERATOR_ENDS_WITH, Values: []string{"@penguinmails.com", "@example.com"}},
			{Attribute: "app_version", Operator: flagv1.SegmentOperator_SEGMENT_OPERATOR_SEMVER_AT_LEAST, Values: []string{"2.1.0"}},
		}}}}, `{"if":[{"and":[{"in":[{"var":"plan"},["pro","enterprise"]]},{"or":[{"ends_with":[{"var":"email"},"@penguinmails.com"]},{"ends_with":[{"var":"email"},"@example.com"]}]},{"sem_ver":[{"var":"app_version"},"\u003e=","2.1.0"]}]},"on","off"]}`},
		// t0 is 1796292000: nobody until the first step's end (+1 h), then 25, 50, 75 %, everyone from +4 h.
		{"gradual", &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Gradual{Gradual: &flagv1.GradualRollout{
			Start: timestamppb.New(t0), End: timestamppb.New(t0.Add(4 * time.Hour)), Steps: 4,
		}}}, `{"if":[{"\u003c":[{"var":"$flagd.timestamp"},1796295600]},"off",{"\u003c":[{"var":"$flagd.timestamp"},1796299200]},{"fractional":[["on",25],["off",75]]},{"\u003c":[{"var":"$flagd.timestamp"},1796302800]},{"fractional":[["on",50],["off",50]]},{"\u003c":[{"var":"$flagd.timestamp"},1796306400]},{"fractional":[["on",75],["off",25]]},"on"]}`},
	} {
		var v errs.Violations
		CheckRollout(&v, "rollout", c.r, map[string]bool{"on": true, "off": true})
		if err := v.Err(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := Compile(c.r, "off")
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %s\nwant %s (%v)", c.name, got, c.want, err)
		}
	}
}

func TestGradualPercentFollowsTheSteps(t *testing.T) {
	g := &flagv1.GradualRollout{Start: timestamppb.New(t0), End: timestamppb.New(t0.Add(4 * time.Hour)), Steps: 4}
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{-time.Hour, 0}, {0, 0}, {time.Hour - time.Second, 0}, {time.Hour, 25}, {2*time.Hour + time.Minute, 50}, {3 * time.Hour, 75}, {4 * time.Hour, 100}, {48 * time.Hour, 100}} {
		if got := GradualPercent(g, t0.Add(c.at).Unix()); got != c.want {
			t.Errorf("at +%v: %d%%, want %d%%", c.at, got, c.want)
		}
	}
}

func TestRollbackRevertsWhatTheReleaseChanged(t *testing.T) {
	s := NewFlagSet("production")
	fold(t, s, "alice", must(t)(Create(s, boolFlag("welcome"), "launch")))
	before := proto.Clone(s.Flags["welcome"]).(*flagv1.Flag)
	// The deployer's feature-flag strategy ramps it under release r2.
	for _, p := range []uint32{10, 50} {
		fold(t, s, "system:deployer", must(t)(SetRollout(s, "welcome", &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: p}}}, "canary step", "r2", "d7")))
	}
	// r2 also creates a flag of its own.
	created := boolFlag("new-editor")
	created.ReleaseId = "r2"
	fold(t, s, "bob", must(t)(Create(s, created, "ships with r2")))
	// Someone kills the release's new flag in the meantime.
	fold(t, s, "dave", must(t)(Kill(s, "new-editor", "INC-9")))
	events := Revert(s, "r2", "d7-rollback", "error rate 12% > 10% for 300s")
	if len(events) != 2 {
		t.Fatalf("revert: %v", events)
	}
	fold(t, s, "system:flag", events)
	w := s.Flags["welcome"]
	if w.GetTargeting() != before.GetTargeting() || w.GetRollout() != nil {
		t.Fatalf("welcome after the rollback: targeting %q rollout %v", w.GetTargeting(), w.GetRollout())
	}
	if f := s.Flags["new-editor"]; f.GetState() != flagv1.FlagState_FLAG_STATE_DISABLED || f.GetKill().GetBy() != "dave" {
		t.Fatalf("a flag the release created is disabled, and a kill stays: %v", f)
	}
	if again := Revert(s, "r2", "d7-rollback", "again"); len(again) != 0 {
		t.Fatalf("a second revert: %v", again)
	}
}

func TestKillScheduleAndCancel(t *testing.T) {
	s := NewFlagSet("production")
	fold(t, s, "alice", must(t)(Create(s, boolFlag("welcome"), "launch")))
	fold(t, s, "dave", must(t)(Kill(s, "welcome", "INC-7: banner breaks checkout")))
	if f := s.Flags["welcome"]; f.GetState() != flagv1.FlagState_FLAG_STATE_DISABLED || f.GetKill().GetBy() != "dave" {
		t.Fatalf("killed: %v", f)
	}
	half := &flagv1.FlagChange{Change: &flagv1.FlagChange_Rollout{Rollout: &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: 50}}}}}
	enable := &flagv1.FlagChange{Change: &flagv1.FlagChange_State{State: flagv1.FlagState_FLAG_STATE_ENABLED}}
	if _, err := Schedule(s, "welcome", "c0", t0.Add(-time.Minute), enable, "late", t0); err == nil {
		t.Fatal("a change scheduled in the past was accepted")
	}
	fold(t, s, "alice", must(t)(Schedule(s, "welcome", "c1", t0.Add(2*time.Hour), half, "half at 12:00", t0)))
	fold(t, s, "alice", must(t)(Schedule(s, "welcome", "c2", t0.Add(time.Hour), enable, "back at 11:00", t0)))
	fold(t, s, "alice", must(t)(Schedule(s, "welcome", "c3", t0.Add(3*time.Hour), enable, "spare", t0)))
	fold(t, s, "alice", must(t)(Cancel(s, "welcome", "c3", "not needed")))
	if s.Next() != t0.Add(time.Hour) || len(s.Flags["welcome"].GetScheduled()) != 2 {
		t.Fatalf("next %v, scheduled %v", s.Next(), s.Flags["welcome"].GetScheduled())
	}
	if due := Due(s, t0.Add(30*time.Minute)); len(due) != 0 {
		t.Fatalf("due early: %v", due)
	}
	due := Due(s, t0.Add(2*time.Hour))
	if len(due) != 4 || due[0].(*flagv1.ScheduledChangeApplied).GetId() != "c2" || due[2].(*flagv1.ScheduledChangeApplied).GetId() != "c1" {
		t.Fatalf("due in time order: %v", due)
	}
	fold(t, s, "system:flag", due)
	f := s.Flags["welcome"]
	if f.GetState() != flagv1.FlagState_FLAG_STATE_ENABLED || f.GetKill() != nil || !strings.Contains(f.GetTargeting(), "fractional") || len(f.GetScheduled()) != 0 {
		t.Fatalf("after the schedule: %v", f)
	}
}

func TestFlagSetCodecKeepsWhatRollbacksNeed(t *testing.T) {
	s := NewFlagSet("production")
	fold(t, s, "alice", must(t)(Create(s, boolFlag("welcome"), "launch")))
	fold(t, s, "system:deployer", must(t)(SetRollout(s, "welcome", &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: 10}}}, "canary", "r2", "d7")))
	created := boolFlag("new-editor")
	created.ReleaseId = "r2"
	fold(t, s, "bob", must(t)(Create(s, created, "ships with r2")))
	b, err := MarshalFlagSet(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalFlagSet(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != s.Version || len(back.Flags) != 2 || !proto.Equal(back.Flags["welcome"], s.Flags["welcome"]) {
		t.Fatalf("round trip: %+v", back)
	}
	a, z := Revert(s, "r2", "d8", "x"), Revert(back, "r2", "d8", "x")
	if len(a) != 2 || len(a) != len(z) {
		t.Fatalf("reverts differ: %v vs %v", a, z)
	}
	for i := range a {
		if !proto.Equal(a[i], z[i]) {
			t.Fatalf("revert %d: %v vs %v", i, a[i], z[i])
		}
	}
}

func TestFlagdRoundTrip(t *testing.T) {
	in := []byte(`{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "flags": {
    "new-welcome": {
      "state": "ENABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": "off",
      "targeting": {"if": [{"$ref": "staff"}, "on", {"fractional": [["on", 25], ["off", 75]]}]},
      "metadata": {"team": "growth"}
    },
    "banner-color": {
      "state": "DISABLED",
      "variants": {"red": "#c00", "blue": "#00c"},
      "defaultVariant": "red"
    }
  },
  "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@penguinmails.com"]}}
}`)
	flags, err := FromFlagd(in, "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != 2 || flags[0].GetKey() != "banner-color" || flags[0].GetState() != flagv1.FlagState_FLAG_STATE_DISABLED {
		t.Fatalf("flags: %v", flags)
	}
	w := flags[1]
	if w.GetTargeting() != `{"if":[{"ends_with":[{"var":"email"},"@penguinmails.com"]},"on",{"fractional":[["on",25],["off",75]]}]}` {
		t.Fatalf("targeting with the $ref inlined: %s", w.GetTargeting())
	}
	if w.GetMetadata().GetFields()["team"].GetStringValue() != "growth" {
		t.Fatalf("metadata: %v", w.GetMetadata())
	}
	var v errs.Violations
	for _, f := range flags {
		CheckFlag(&v, "flag", f)
	}
	if err := v.Err(); err != nil {
		t.Fatalf("imported flags do not pass the checks: %v", err)
	}
	w.Position = 42
	out, err := ToFlagd(flags)
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromFlagd(out, "production")
	if err != nil {
		t.Fatal(err)
	}
	for i := range flags {
		flags[i].Position = 0
		if !proto.Equal(back[i], flags[i]) {
			t.Fatalf("round trip of %s:\n%v\n%v", flags[i].GetKey(), back[i], flags[i])
		}
	}
	if !strings.Contains(string(out), `"floe.position": 42`) {
		t.Fatalf("export lacks the position:\n%s", out)
	}
	// Every flag names its scope, so that a flagd provider does not report
	// its selector (which may hold a token) as the scope.
	if n := strings.Count(string(out), `"scope": "production"`); n != len(flags) {
		t.Fatalf("%d of %d flags name their scope:\n%s", n, len(flags), out)
	}
	if _, err := FromFlagd([]byte(`{"flags": {"x": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"$ref": "nope"}}}}`), "production"); err == nil || !strings.Contains(err.Error(), `flags.x.targeting: $ref "nope" names no evaluator`) {
		t.Fatalf("a dangling $ref: %v", err)
	}
}

// Targeting is checked as flagd compiles it, each problem at its place.
func TestTargetingIsCheckedByTheEvaluator(t *testing.T) {
	s := NewFlagSet("production")
	f := boolFlag("welcome")
	f.Targeting = `{"if": [{"no_such_op": [1]}, "on", "off"]}`
	_, err := Create(s, f, "launch")
	got := violations(t, err)
	if d, ok := got["flag.targeting"]; !ok || !strings.Contains(d, "no_such_op") {
		t.Fatalf("unknown operator: %v", got)
	}
	f.Targeting = `{"fractional": [["on", 50], ["off", 50]]}`
	if _, err := Create(s, f, "launch"); err != nil {
		t.Fatalf("a valid fractional: %v", err)
	}
}
