package cli

import (
	"testing"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

func TestRolloutFlags(t *testing.T) {
	seg := rolloutFlags{variant: "on", percent: -1, segment: "plan=pro,enterprise; email$=@penguinmails.com; app_version>=2.1.0; name^=a"}
	r, err := seg.rollout()
	if err != nil {
		t.Fatal(err)
	}
	rules := r.GetUserSegment().GetRules()
	want := []struct {
		attr string
		op   flagv1.SegmentOperator
		n    int
	}{
		{"plan", flagv1.SegmentOperator_SEGMENT_OPERATOR_IN, 2},
		{"email", flagv1.SegmentOperator_SEGMENT_OPERATOR_ENDS_WITH, 1},
		{"app_version", flagv1.SegmentOperator_SEGMENT_OPERATOR_SEMVER_AT_LEAST, 1},
		{"name", flagv1.SegmentOperator_SEGMENT_OPERATOR_STARTS_WITH, 1},
	}
	if len(rules) != len(want) {
		t.Fatalf("rules: %v", rules)
	}
	for i, w := range want {
		if rules[i].GetAttribute() != w.attr || rules[i].GetOperator() != w.op || len(rules[i].GetValues()) != w.n {
			t.Errorf("rule %d: %v, want %+v", i, rules[i], w)
		}
	}
	for _, bad := range []rolloutFlags{
		{variant: "on", percent: -1},                            // no strategy
		{variant: "on", percent: 10, everyone: true},            // two
		{variant: "on", percent: -1, segment: "=x"},             // no attribute
		{variant: "on", percent: -1, gradual: "2026-01-01/now"}, // not RFC 3339
	} {
		if _, err := bad.rollout(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if r, err := (&rolloutFlags{variant: "on", percent: 0}).rollout(); err != nil || r.GetPercentage() == nil {
		t.Errorf("--percent 0: %v %v", r, err)
	}
}
