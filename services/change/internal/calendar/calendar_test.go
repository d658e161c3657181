package calendar_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/calendar"
	"github.com/penguinmails/floe/services/change/internal/codec"
	"github.com/penguinmails/floe/services/change/internal/window"
)

var (
	now   = time.Date(2026, time.December, 21, 10, 0, 0, 0, time.UTC) // a Monday
	roles = []string{"operations", "release-manager"}
)

func apply(t *testing.T, c *calendar.Calendar, evs []proto.Message, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		c.Apply(e)
	}
}

// must applies a decision's events to c, failing on its error.
func must(t *testing.T, c *calendar.Calendar) func([]proto.Message, error) {
	return func(evs []proto.Message, err error) { t.Helper(); apply(t, c, evs, err) }
}

func weekdays() *changev1.DeploymentWindow {
	return &changev1.DeploymentWindow{Id: "weekdays", Environment: "production", Name: "Weekday mornings", TimeZone: "Europe/Berlin",
		DurationMinutes: 180, Recurrence: &changev1.Recurrence{Days: []string{"mon", "tue", "wed", "thu", "fri"}, At: "09:00"}}
}

func yearEnd() *changev1.Freeze {
	return &changev1.Freeze{Id: "year-end", Environments: []string{"production"}, Reason: "year-end",
		Start: timestamppb.New(now.Add(-time.Hour)), End: timestamppb.New(now.Add(10 * 24 * time.Hour))}
}

func fields(t *testing.T, err error) string {
	t.Helper()
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("got %v, want InvalidArgument", err)
	}
	var out []string
	for _, v := range ia.Violations {
		out = append(out, v.Field)
	}
	return strings.Join(out, ",")
}

// A calendar built by its decisions: the window and freeze as recorded
// (creator, creation time, every environment when none is named), the
// state surviving its encoding, and the status each environment has.
func TestCalendar(t *testing.T) {
	c := calendar.New()
	evs, err := calendar.CreateWindow(c, weekdays(), "dave", now)
	apply(t, c, evs, err)
	all := yearEnd()
	all.Id, all.Environments = "all", nil
	all.Start, all.End = timestamppb.New(now.Add(20*24*time.Hour)), timestamppb.New(now.Add(21*24*time.Hour))
	for _, f := range []*changev1.Freeze{yearEnd(), all} {
		evs, err = calendar.CreateFreeze(c, f, "dave", now)
		apply(t, c, evs, err)
	}
	if got := c.Windows["weekdays"]; got.GetCreatedBy() != "dave" || !got.GetCreatedAt().AsTime().Equal(now) {
		t.Errorf("window as recorded: %v", got)
	}
	if got := c.Freezes["all"].GetEnvironments(); len(got) != 1 || got[0] != window.AllEnvironments {
		t.Errorf("a freeze naming no environment freezes %v, want every one", got)
	}
	b, err := calendar.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := calendar.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, back, protocmp.Transform()); diff != "" {
		t.Errorf("encoding round trip (-want +got):\n%s", diff)
	}

	st := c.Status([]string{"production", "staging"}, roles, now)
	if st[0].GetOpen() || st[0].GetFrozenBy() != "year-end" || !st[0].GetFrozenUntil().AsTime().Equal(now.Add(10*24*time.Hour)) || st[0].GetWindowId() != "weekdays" {
		t.Errorf("production now: %v", st[0])
	}
	if !st[1].GetOpen() || st[1].GetFrozenBy() != "" {
		t.Errorf("staging now: %v", st[1])
	}
	// After the freeze, on a Saturday: closed until Monday 09:00 Berlin.
	sat := time.Date(2027, time.January, 2, 12, 0, 0, 0, time.UTC)
	st = c.Status([]string{"production"}, roles, sat)
	if want := time.Date(2027, time.January, 4, 8, 0, 0, 0, time.UTC); st[0].GetOpen() || !st[0].GetNextOpen().AsTime().Equal(want) {
		t.Errorf("production on a Saturday: %v, want closed until %v", st[0], want)
	}
	p := c.Policy(roles)
	if len(p.Windows) != 1 || len(p.Freezes) != 2 || p.Validate() != nil {
		t.Errorf("policy: %+v (%v)", p, p.Validate())
	}
}

// Every refusal of a calendar decision says which field or why.
func TestCalendarRefusals(t *testing.T) {
	c := calendar.New()
	must(t, c)(calendar.CreateFreeze(c, yearEnd(), "dave", now))
	bad := weekdays()
	bad.TimeZone, bad.DurationMinutes = "Mars/Olympus", 0
	if got := fields(t, func() error { _, err := calendar.CreateWindow(c, bad, "dave", now); return err }()); !strings.Contains(got, "time_zone") || !strings.Contains(got, "duration") {
		t.Errorf("bad window: fields %s", got)
	}
	if _, err := calendar.CreateFreeze(c, yearEnd(), "dave", now); !errors.As(err, new(*errs.AlreadyExistsError)) {
		t.Errorf("a freeze declared twice: %v", err)
	}
	over := yearEnd()
	over.Id, over.End = "past", timestamppb.New(now.Add(-time.Minute))
	over.Start = timestamppb.New(now.Add(-time.Hour))
	if got := fields(t, func() error { _, err := calendar.CreateFreeze(c, over, "dave", now); return err }()); got != "end" {
		t.Errorf("a freeze already over: fields %s", got)
	}
	if _, err := calendar.DeleteFreeze(c, "nope", "x"); !errors.As(err, new(*errs.NotFoundError)) {
		t.Errorf("deleting an unknown freeze: %v", err)
	}
	if got := fields(t, func() error { _, err := calendar.DeleteWindow(c, "weekdays", ""); return err }()); got != "reason" {
		t.Errorf("deleting without a reason: fields %s", got)
	}

	o := window.Override{FreezeID: "year-end", Environment: "production", Reason: "hotfix", RequestedBy: "bob", OverriddenBy: "dave", Roles: []string{"operations"}}
	for _, tc := range []struct {
		name string
		mod  func(o *window.Override)
		at   time.Time
		want string
	}{
		{"the requester overriding", func(o *window.Override) { o.OverriddenBy = "bob" }, now, "second person"},
		{"no reason", func(o *window.Override) { o.Reason = "" }, now, "reason"},
		{"another environment", func(o *window.Override) { o.Environment = "staging" }, now, "does not apply to staging"},
		{"after the freeze", nil, now.Add(11 * 24 * time.Hour), "not in effect"},
		{"without an override role", func(o *window.Override) { o.Roles = []string{"product"} }, now, "change.override"},
		{"an unknown freeze", func(o *window.Override) { o.FreezeID = "nope" }, now, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oo := o
			if tc.mod != nil {
				tc.mod(&oo)
			}
			_, err := calendar.OverrideFreeze(c, oo, roles, tc.at)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
	evs, err := calendar.OverrideFreeze(c, o, roles, now)
	apply(t, c, evs, err)
	if got := codec.OverrideFromProto(c.Overrides[0]); !got.GrantedAt.Equal(now) || got.OverriddenBy != "dave" {
		t.Errorf("override as recorded: %+v", got)
	}
}

// OverrideFor finds the latest override granted to the requester for the
// freeze in effect, and CheckPromotion accepts it; nobody else's passes.
func TestOverrideFor(t *testing.T) {
	c := calendar.New()
	must(t, c)(calendar.CreateFreeze(c, yearEnd(), "dave", now))
	must(t, c)(calendar.OverrideFreeze(c, window.Override{FreezeID: "year-end", Environment: "production", Reason: "hotfix",
		RequestedBy: "bob", OverriddenBy: "dave", Roles: []string{"operations"}}, roles, now))
	p := c.Policy(roles)
	later := now.Add(time.Hour)
	if o := c.OverrideFor(p, "production", "alice", later); o != nil {
		t.Errorf("alice has bob's override: %+v", o)
	}
	o := c.OverrideFor(p, "production", "bob", later)
	if o == nil {
		t.Fatal("bob's override is not found")
	}
	if v := window.CheckPromotion(p, "production", later, window.PromotionNormal, o); !v.Allowed || len(v.Overridden()) != 1 {
		t.Errorf("bob's promotion with his override: %+v", v)
	}
	if v := window.CheckPromotion(p, "production", later, window.PromotionNormal, nil); v.Allowed {
		t.Errorf("a promotion without an override passed the freeze: %+v", v)
	}
	if v := window.CheckPromotion(p, "production", later, window.PromotionRollback, nil); !v.Allowed {
		t.Errorf("a rollback was held by the freeze: %+v", v)
	}
	if o := c.OverrideFor(p, "production", "bob", now.Add(11*24*time.Hour)); o != nil {
		t.Errorf("an override outside any freeze: %+v", o)
	}
}
