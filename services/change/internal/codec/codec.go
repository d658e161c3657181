// Package codec is the one mapping between the change domain (the change
// request's events and state, the calendar's windows, freezes and
// overrides) and their floe.change.v1 messages. It maps and never
// validates: validation is the domain's.
//
// Conventions, both ways: a zero time.Time is a nil Timestamp and a zero
// time.Duration a nil Duration (never 1970 or year 1); decoded times are in
// UTC. A domain enum is its floe.change.v1 value's enumtext name, "" the
// unspecified value. Messages share slices with the values they are mapped
// from: both are treated as immutable.
package codec

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/change"
)

// Plan is the domain form of a plan (nil: no steps).
func Plan(p *changev1.Plan) change.Plan {
	return change.Plan{Steps: mapAll(p.GetSteps(), func(s *changev1.Step) change.Step {
		return change.Step{
			Description: s.GetDescription(), Owner: s.GetOwner(),
			ExpectedMinutes: int(s.GetExpectedMinutes()), Verification: s.GetVerification(),
		}
	})}
}

// PlanProto is the message of a plan (nil when it has no steps).
func PlanProto(p change.Plan) *changev1.Plan {
	if len(p.Steps) == 0 {
		return nil
	}
	return &changev1.Plan{Steps: mapAll(p.Steps, func(s change.Step) *changev1.Step {
		return &changev1.Step{
			Description: s.Description, Owner: s.Owner,
			ExpectedMinutes: uint32(s.ExpectedMinutes), Verification: s.Verification,
		}
	})}
}

// Timing is the domain form of a requested schedule (nil: the zero Timing).
func Timing(t *changev1.Timing) change.Timing {
	return change.Timing{
		PlannedStart: timeOf(t.GetPlannedStart()), DurationMinutes: int(t.GetDurationMinutes()), Maintenance: t.GetMaintenance(),
	}
}

// TimingProto is the message of a requested schedule (nil for the zero Timing).
func TimingProto(t change.Timing) *changev1.Timing {
	if t == (change.Timing{}) {
		return nil
	}
	return &changev1.Timing{
		PlannedStart: timestamp(t.PlannedStart), DurationMinutes: uint32(t.DurationMinutes), Maintenance: t.Maintenance,
	}
}

// Actions is the domain form of a review's prevention actions.
func Actions(as []*changev1.Action) []change.Action {
	return mapAll(as, func(a *changev1.Action) change.Action {
		return change.Action{Description: a.GetDescription(), Owner: a.GetOwner(), Due: timeOf(a.GetDue())}
	})
}

// ActionsProto is the message form of a review's prevention actions.
func ActionsProto(as []change.Action) []*changev1.Action {
	return mapAll(as, func(a change.Action) *changev1.Action {
		return &changev1.Action{Description: a.Description, Owner: a.Owner, Due: timestamp(a.Due)}
	})
}

func requirementsProto(rs []change.Requirement) []*changev1.Requirement {
	return mapAll(rs, func(r change.Requirement) *changev1.Requirement { return &changev1.Requirement{AnyOf: r.AnyOf} })
}

func requirements(rs []*changev1.Requirement) []change.Requirement {
	return mapAll(rs, func(r *changev1.Requirement) change.Requirement { return change.Requirement{AnyOf: r.GetAnyOf()} })
}

func assignedWindowProto(w change.Window) *changev1.AssignedWindow {
	return &changev1.AssignedWindow{
		WindowId: w.ID, Start: timestamp(w.Start), End: timestamp(w.End), At: timestamp(w.At),
		Maintenance: w.Maintenance, Environments: w.Environments,
	}
}

// mapAll maps every element of in with f; nil when in is empty, so that an
// empty list survives a round trip as it does the wire.
func mapAll[A, B any](in []A, f func(A) B) []B {
	if len(in) == 0 {
		return nil
	}
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func duration(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func durationOf(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

// problems collects the fields whose enum does not map; a nil *problems
// drops them (for state whose enums came from decoded events).
type problems []error

func (p *problems) add(field, format string, args ...any) {
	if p != nil {
		*p = append(*p, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
}

func (p problems) err() error { return errors.Join(p...) }

// enumOf is the floe.change.v1 value named by the domain's text v ("": unspecified).
func enumOf[E enumtext.Enum, T ~string](p *problems, field string, v T) E {
	if v == "" {
		return 0
	}
	e, ok := enumtext.Parse[E](string(v))
	if !ok {
		p.add(field, "%q has no %s value", v, e.Descriptor().FullName())
	}
	return e
}

// textOf is the domain's text of the floe.change.v1 value v (unspecified: "").
func textOf[T ~string, E enumtext.Enum](p *problems, field string, v E) T {
	if v.Number() == 0 {
		return ""
	}
	if !enumtext.Defined(v) {
		p.add(field, "%d is not a %s value", v.Number(), v.Descriptor().FullName())
		return ""
	}
	return T(enumtext.Name(v))
}
