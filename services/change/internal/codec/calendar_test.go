package codec_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/change"
	"github.com/penguinmails/floe/services/change/internal/codec"
	"github.com/penguinmails/floe/services/change/internal/window"
)

// overWire sends m over the wire.
func overWire[M proto.Message](t *testing.T, m M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, got); err != nil {
		t.Fatal(err)
	}
	return got
}

func roundTrip[T any](t *testing.T, want, got T) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip (-want +got):\n%s", cmp.Diff(want, got))
	}
}

func TestWindowRoundTrip(t *testing.T) {
	t.Parallel()
	for _, w := range []window.Window{
		{
			ID: "w1", Environment: "production", Name: "Tue/Thu evening", Recurrence: window.Weekly("22:00", "tue", "thu"),
			Duration: 90 * time.Minute, TimeZone: "Europe/Berlin", ValidFrom: t1, ValidUntil: t3,
		},
		{ID: "w2", Environment: "staging", Recurrence: window.Cron("0 6 * * 1-5"), Duration: time.Hour},
	} {
		t.Run(w.ID, func(t *testing.T) {
			t.Parallel()
			m := overWire(t, codec.Window(w, true, "olga", t2))
			if m.GetDurationMinutes() != uint32(w.Duration/time.Minute) || m.GetCreatedBy() != "olga" || !m.GetCreatedAt().AsTime().Equal(t2) {
				t.Errorf("message: %v", m)
			}
			if w.ValidFrom.IsZero() && (m.GetValidFrom() != nil || m.GetValidUntil() != nil) {
				t.Errorf("zero validity encoded: %v", m)
			}
			got, maintenance := codec.WindowFromProto(m)
			roundTrip(t, w, got)
			if !maintenance {
				t.Error("maintenance lost")
			}
		})
	}
}

func TestFreezeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, f := range []window.Freeze{
		{ID: "year-end", Environments: []string{"production", "staging"}, Reason: "year-end", Start: t1, End: t3, TimeZone: "UTC", CreatedBy: "olga"},
		{
			ID: "fridays", Environments: []string{window.AllEnvironments}, Reason: "weekend", Recurrence: window.Weekly("18:00", "fri"),
			Duration: 62 * time.Hour, TimeZone: "Europe/Berlin", ValidFrom: t1, ValidUntil: t3, CreatedBy: "olga",
		},
	} {
		t.Run(f.ID, func(t *testing.T) {
			t.Parallel()
			m := overWire(t, codec.Freeze(f, t2))
			if !m.GetCreatedAt().AsTime().Equal(t2) {
				t.Errorf("created_at %v", m.GetCreatedAt())
			}
			if set := timesSet(m.ProtoReflect()); f.IsRecurring() != (m.GetStart() == nil) || len(set) != 3 {
				t.Errorf("times set: %v; want one-off or recurring ones and created_at", set)
			}
			roundTrip(t, f, codec.FreezeFromProto(m))
		})
	}
}

func TestOverrideRoundTrip(t *testing.T) {
	t.Parallel()
	for _, o := range []window.Override{
		{FreezeID: "year-end", Environment: "production", Reason: "hotfix", RequestedBy: "alice", OverriddenBy: "olga", Roles: []string{"operations"}, GrantedAt: t1, ExpiresAt: t2},
		{FreezeID: "fridays", Environment: "staging", Reason: "fix", RequestedBy: "dave", OverriddenBy: "otto", GrantedAt: t1},
	} {
		m := overWire(t, codec.Override(o))
		if o.ExpiresAt.IsZero() != (m.GetExpiresAt() == nil) {
			t.Errorf("expires_at %v for %v", m.GetExpiresAt(), o.ExpiresAt)
		}
		roundTrip(t, o, codec.OverrideFromProto(m))
	}
}

func TestRequestHelpers(t *testing.T) {
	t.Parallel()
	roundTrip(t, plan("deploy"), codec.Plan(overWire(t, codec.PlanProto(plan("deploy")))))
	timing := change.Timing{PlannedStart: t2, DurationMinutes: 45, Maintenance: true}
	roundTrip(t, timing, codec.Timing(overWire(t, codec.TimingProto(timing))))
	actions := []change.Action{{Description: "alert", Owner: "ops", Due: t3}, {Description: "test", Owner: "dev"}}
	roundTrip(t, actions, codec.Actions(codec.ActionsProto(actions)))
	if codec.PlanProto(change.Plan{}) != nil || codec.TimingProto(change.Timing{}) != nil || codec.Recurrence(window.Recurrence{}) != nil {
		t.Error("a zero plan, timing or recurrence encoded as a message")
	}
	roundTrip(t, change.Timing{}, codec.Timing(nil))
	roundTrip(t, window.Recurrence{}, codec.RecurrenceFromProto(nil))
	roundTrip(t, change.Plan{}, codec.Plan(&changev1.Plan{}))
}
