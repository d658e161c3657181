package codec_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/change"
	"github.com/penguinmails/floe/services/change/internal/codec"
)

var (
	t1 = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	t2 = t1.Add(26 * time.Hour)
	t3 = t2.Add(2 * time.Hour)
	t4 = t2.Add(5 * time.Minute)
)

func plan(s string) change.Plan {
	return change.Plan{Steps: []change.Step{
		{Description: s + " 1", Owner: "ops", ExpectedMinutes: 10, Verification: "check " + s},
		{Description: s + " 2", Owner: "dba", ExpectedMinutes: 20, Verification: "look"},
	}}
}

// everyEvent has one value of each change event with every field set, so
// that a field the codec drops fails the round trip.
var everyEvent = []change.Event{
	change.Submitted{
		ID: "CR-1", Submitter: "alice", Class: change.ClassEmergency, Template: "tpl", Justification: "outage",
		Title: "Fix", Description: "Patch the leak", Type: change.TypeBugFix, Priority: change.PriorityCritical,
		Impact: change.ImpactSystemWide, Risk: change.RiskHigh, RegulatoryImpact: "SOX",
		Environments: []string{"staging", "production"}, Schedule: change.Timing{PlannedStart: t2, DurationMinutes: 90, Maintenance: true},
		Approvers: []string{"otto", "sam"}, Releases: []string{"rel-220"},
		Implementation: plan("deploy"), Rollback: plan("revert"), Testing: plan("test"),
		Requirements:   []change.Requirement{{AnyOf: []string{"operations", "security"}}, {AnyOf: []string{"product"}}},
		ReviewRequired: true, Validations: []string{"deployment", "gates", "bake"}, PIRDeadline: 48 * time.Hour,
	},
	change.ReviewStarted{Reviewer: "rita"},
	change.ReviewCompleted{Reviewer: "rita", Outcome: change.ReviewPassed, Notes: "fine"},
	change.ApprovalGranted{Approver: "otto", As: "operations", Roles: []string{"operations", "sre"}, Comment: "go", Counts: true},
	change.Approved{Approvals: 2, Required: 1, PreApproved: true, Template: "tpl"},
	change.Rejected{By: "pat", Reason: "too risky", Stage: "approval"},
	change.Scheduled{WindowID: "w1", Start: t2, End: t3, At: t4, Maintenance: true, Environments: []string{"production"}},
	change.Cancelled{Reason: "superseded"},
	change.ImplementationStarted{DeploymentID: "d1", ReleaseID: "rel-220", Environment: "production", OutsideWindow: true, PIRDue: t3},
	change.ValidationRecorded{DeploymentID: "d1", Check: "gates", Outcome: change.OutcomeFailed, Detail: "p99 latency"},
	change.Validated{},
	change.Failed{Reason: "gates failed", DeploymentID: "d1"},
	change.PostImplementationReviewed{
		Reviewer: "sam", RootCause: "a leak", Notes: "n", Late: true,
		Prevention: []change.Action{{Description: "alert on leaks", Owner: "ops", Due: t3}, {Description: "test", Owner: "dev", Due: t4}},
	},
	change.ReviewOverdue{Due: t3},
	change.Closed{Outcome: change.ClosedFailed, Notes: "rolled back"},
}

// Every event type of the change package (found in its source, so that a
// new one is caught here) has a fixture in everyEvent, with every field set.
func TestEveryEventCovered(t *testing.T) {
	t.Parallel()
	var declared []string
	files, err := filepath.Glob("../change/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "event" && fn.Recv != nil {
				declared = append(declared, fn.Recv.List[0].Type.(*ast.Ident).Name)
			}
		}
	}
	var covered []string
	for _, e := range everyEvent {
		covered = append(covered, reflect.TypeOf(e).Name())
		allSet(t, reflect.TypeOf(e).Name(), reflect.ValueOf(e))
	}
	slices.Sort(declared)
	slices.Sort(covered)
	if diff := cmp.Diff(declared, covered); diff != "" {
		t.Errorf("event types (-declared +covered):\n%s", diff)
	}
}

// allSet reports every zero field of v, walking into structs and slices.
func allSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch {
	case v.Kind() == reflect.Struct && v.NumField() == 0:
	case v.IsZero():
		t.Errorf("%s is zero", path)
	case v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[time.Time]():
		for i := range v.NumField() {
			allSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			allSet(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	}
}

// wire encodes e, sends it over the wire and decodes it.
func wire(t *testing.T, e change.Event) (proto.Message, change.Event) {
	t.Helper()
	m, err := codec.Event(e)
	if err != nil {
		t.Fatalf("Event(%T): %v", e, err)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got := m.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(b, got); err != nil {
		t.Fatal(err)
	}
	back, ok, err := codec.FromProto(got)
	if err != nil || !ok {
		t.Fatalf("FromProto(%s) = %v, %v", m.ProtoReflect().Descriptor().Name(), ok, err)
	}
	return got, back
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range everyEvent {
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			m, back := wire(t, e)
			if got := string(m.ProtoReflect().Descriptor().Name()); got != e.Name() {
				t.Errorf("message %s for event %s", got, e.Name())
			}
			if !reflect.DeepEqual(e, back) {
				t.Errorf("round trip (-want +got):\n%s", cmp.Diff(e, back))
			}
		})
	}
}

// Zero times and durations travel as unset fields and come back zero.
func TestZeroTimes(t *testing.T) {
	t.Parallel()
	for _, e := range []change.Event{
		change.Submitted{ID: "CR-1", Class: change.ClassNormal, Schedule: change.Timing{DurationMinutes: 30}},
		change.Scheduled{WindowID: "w1"},
		change.ImplementationStarted{DeploymentID: "d1"},
		change.PostImplementationReviewed{Prevention: []change.Action{{Description: "a"}}},
	} {
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			m, back := wire(t, e)
			if set := timesSet(m.ProtoReflect()); len(set) > 0 {
				t.Errorf("zero times encoded as %v", set)
			}
			if !reflect.DeepEqual(e, back) {
				t.Errorf("round trip (-want +got):\n%s", cmp.Diff(e, back))
			}
		})
	}
}

// timesSet lists the Timestamp and Duration fields set anywhere in m.
func timesSet(m protoreflect.Message) []string {
	var out []string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil || fd.IsMap():
		case fd.Message().FullName() == "google.protobuf.Timestamp" || fd.Message().FullName() == "google.protobuf.Duration":
			out = append(out, string(fd.FullName()))
		case fd.IsList():
			for i := range v.List().Len() {
				out = append(out, timesSet(v.List().Get(i).Message())...)
			}
		default:
			out = append(out, timesSet(v.Message())...)
		}
		return true
	})
	return out
}

func TestFromProtoRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		m     proto.Message
		field string
	}{
		{"class", &changev1.ChangeSubmitted{Class: changev1.ChangeClass(42)}, "class"},
		{"type", &changev1.ChangeSubmitted{Type: changev1.ChangeType(99)}, "type"},
		{"priority", &changev1.ChangeSubmitted{Type: changev1.ChangeType_CHANGE_TYPE_BUG_FIX, Priority: changev1.ChangePriority(7)}, "priority"},
		{"impact", &changev1.ChangeSubmitted{Impact: changev1.ChangeImpact(6)}, "impact"},
		{"risk", &changev1.ChangeSubmitted{Risk: changev1.ChangeRisk(-1)}, "risk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok, err := codec.FromProto(tt.m)
			if err == nil || !ok || e != nil {
				t.Fatalf("FromProto = %v, %v, %v; want a change event's error", e, ok, err)
			}
			if !strings.Contains(err.Error(), tt.field+": ") || strings.Count(err.Error(), ": ") != 2 {
				t.Errorf("error %q does not name only %s", err, tt.field)
			}
		})
	}
}

func TestFromProtoIgnoresOtherMessages(t *testing.T) {
	t.Parallel()
	for _, m := range []proto.Message{&changev1.WindowCreated{}, &changev1.FreezeOverridden{}, timestamppb.New(t1)} {
		if e, ok, err := codec.FromProto(m); e != nil || ok || err != nil {
			t.Errorf("FromProto(%T) = %v, %v, %v; want nothing", m, e, ok, err)
		}
	}
}

func TestEventRefuses(t *testing.T) {
	t.Parallel()
	if _, err := codec.Event(nil); err == nil {
		t.Error("Event(nil) encoded")
	}
	_, err := codec.Event(change.Submitted{Class: "urgent", Type: change.TypeSecurity})
	if err == nil || !strings.Contains(err.Error(), `class: "urgent"`) {
		t.Errorf("Event with class urgent: %v", err)
	}
}
