// Package calendar is the change service's calendar aggregate, pure: the
// deployment windows and freezes of every environment and the freeze
// overrides granted, as one aggregate ("changecal", id "calendar") so that
// every change to it is ordered. Decisions validate with the window
// package's rules and return the floe.change.v1 events to append; the
// promotion check (window.CheckPromotion) reads Policy and OverrideFor.
package calendar

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	"github.com/penguinmails/floe/services/change/internal/codec"
	"github.com/penguinmails/floe/services/change/internal/window"
)

// Aggregate is the calendar's aggregate kind; ID its one id.
const (
	Aggregate = "changecal"
	ID        = "calendar"
)

// MaxReason bounds a deletion's reason.
const MaxReason = 1000

// Calendar is the calendar's state. It changes only through Apply.
type Calendar struct {
	Windows   map[string]*changev1.DeploymentWindow
	Freezes   map[string]*changev1.Freeze
	Overrides []*changev1.FreezeOverride
}

// New is the empty calendar.
func New() *Calendar {
	return &Calendar{Windows: map[string]*changev1.DeploymentWindow{}, Freezes: map[string]*changev1.Freeze{}}
}

// Apply folds one event; events of other types are ignored.
func (c *Calendar) Apply(m proto.Message) {
	switch e := m.(type) {
	case *changev1.WindowCreated:
		c.Windows[e.GetWindow().GetId()] = e.GetWindow()
	case *changev1.WindowDeleted:
		delete(c.Windows, e.GetId())
	case *changev1.FreezeCreated:
		c.Freezes[e.GetFreeze().GetId()] = e.GetFreeze()
	case *changev1.FreezeDeleted:
		delete(c.Freezes, e.GetId())
	case *changev1.FreezeOverridden:
		c.Overrides = append(c.Overrides, e.GetOverride())
	}
}

// Marshal encodes the state for snapshots and view checkpoints.
func Marshal(c *Calendar) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(&changev1.ListWindowsResponse{
		Windows: c.SortedWindows(), Freezes: c.SortedFreezes(), Overrides: c.Overrides,
	})
}

// Unmarshal decodes what Marshal encoded.
func Unmarshal(b []byte) (*Calendar, error) {
	var m changev1.ListWindowsResponse
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	c := New()
	for _, w := range m.GetWindows() {
		c.Windows[w.GetId()] = w
	}
	for _, f := range m.GetFreezes() {
		c.Freezes[f.GetId()] = f
	}
	c.Overrides = m.GetOverrides()
	return c, nil
}

// SortedWindows are the windows by environment, then id.
func (c *Calendar) SortedWindows() []*changev1.DeploymentWindow {
	out := slices.Collect(maps.Values(c.Windows))
	slices.SortFunc(out, func(a, b *changev1.DeploymentWindow) int {
		return cmp.Or(cmp.Compare(a.GetEnvironment(), b.GetEnvironment()), cmp.Compare(a.GetId(), b.GetId()))
	})
	return out
}

// SortedFreezes are the freezes by id.
func (c *Calendar) SortedFreezes() []*changev1.Freeze {
	out := slices.Collect(maps.Values(c.Freezes))
	slices.SortFunc(out, func(a, b *changev1.Freeze) int { return cmp.Compare(a.GetId(), b.GetId()) })
	return out
}

// Policy is the calendar as window.CheckPromotion reads it.
func (c *Calendar) Policy(overrideRoles []string) window.Policy {
	p := window.Policy{OverrideRoles: overrideRoles}
	for _, w := range c.SortedWindows() {
		dw, _ := codec.WindowFromProto(w)
		p.Windows = append(p.Windows, dw)
	}
	for _, f := range c.SortedFreezes() {
		p.Freezes = append(p.Freezes, codec.FreezeFromProto(f))
	}
	return p
}

// OverrideFor is the override that lets requester's promotions through the
// freeze of env in effect at now, if one was granted (the latest); nil
// otherwise. CheckPromotion judges whether it still holds.
func (c *Calendar) OverrideFor(p window.Policy, env, requester string, now time.Time) *window.Override {
	fr, frozen := window.Frozen(p.Freezes, env, now)
	if !frozen {
		return nil
	}
	for _, o := range slices.Backward(c.Overrides) {
		if o.GetFreezeId() == fr.ID && o.GetEnvironment() == env && o.GetRequestedBy() == requester {
			ov := codec.OverrideFromProto(o)
			return &ov
		}
	}
	return nil
}

// CreateWindow decides a new window (or a replacement, by id), created by
// by at now. The window's id must be set by the caller.
func CreateWindow(c *Calendar, w *changev1.DeploymentWindow, by string, now time.Time) ([]proto.Message, error) {
	if w == nil {
		return nil, errs.Invalid("window", "is required")
	}
	dw, maintenance := codec.WindowFromProto(w)
	if err := dw.Validate(); err != nil {
		return nil, err
	}
	return []proto.Message{&changev1.WindowCreated{Window: codec.Window(dw, maintenance, by, now)}}, nil
}

// DeleteWindow decides a window's removal.
func DeleteWindow(c *Calendar, id, reason string) ([]proto.Message, error) {
	if err := checkDelete(id, reason); err != nil {
		return nil, err
	}
	if _, ok := c.Windows[id]; !ok {
		return nil, &errs.NotFoundError{Kind: "deployment window", ID: id}
	}
	return []proto.Message{&changev1.WindowDeleted{Id: id, Reason: reason}}, nil
}

// CreateFreeze decides a new freeze (none of its environments: every one),
// declared by by at now. The freeze's id must be set by the caller.
func CreateFreeze(c *Calendar, f *changev1.Freeze, by string, now time.Time) ([]proto.Message, error) {
	if f == nil {
		return nil, errs.Invalid("freeze", "is required")
	}
	fr := codec.FreezeFromProto(f)
	fr.CreatedBy = by
	if len(fr.Environments) == 0 {
		fr.Environments = []string{window.AllEnvironments}
	}
	if err := fr.Validate(); err != nil {
		return nil, err
	}
	if _, ok := c.Freezes[fr.ID]; ok {
		return nil, &errs.AlreadyExistsError{Kind: "freeze", ID: fr.ID}
	}
	if !fr.IsRecurring() && !fr.End.After(now) {
		return nil, errs.Invalid("end", "the freeze would be over already (it ends %s)", fr.End.UTC().Format(time.RFC3339))
	}
	return []proto.Message{&changev1.FreezeCreated{Freeze: codec.Freeze(fr, now)}}, nil
}

// DeleteFreeze decides a freeze's removal.
func DeleteFreeze(c *Calendar, id, reason string) ([]proto.Message, error) {
	if err := checkDelete(id, reason); err != nil {
		return nil, err
	}
	if _, ok := c.Freezes[id]; !ok {
		return nil, &errs.NotFoundError{Kind: "freeze", ID: id}
	}
	return []proto.Message{&changev1.FreezeDeleted{Id: id, Reason: reason}}, nil
}

func checkDelete(id, reason string) error {
	var v errs.Violations
	ident.Check(&v, "id", id)
	if reason == "" {
		v.Add("reason", "is required: say why")
	} else if len(reason) > MaxReason {
		v.Add("reason", "is %d bytes, at most %d", len(reason), MaxReason)
	}
	return v.Err()
}

// OverrideFreeze decides an override granted at now by o.OverriddenBy,
// who holds o.Roles in the environment: the freeze must exist, apply to
// the environment and be in effect now, and the granter must hold one of
// overrideRoles and not be the requester (the second person).
func OverrideFreeze(c *Calendar, o window.Override, overrideRoles []string, now time.Time) ([]proto.Message, error) {
	o.GrantedAt = now
	if err := o.Validate(); err != nil {
		return nil, err
	}
	f, ok := c.Freezes[o.FreezeID]
	if !ok {
		return nil, &errs.NotFoundError{Kind: "freeze", ID: o.FreezeID}
	}
	fr := codec.FreezeFromProto(f)
	var refuse errs.Refusals
	if !fr.AppliesTo(o.Environment) {
		refuse.Add(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "freeze %s does not apply to %s", fr.ID, o.Environment)
	} else if _, active := fr.ActiveAt(now); !active {
		refuse.Add(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "freeze %s is not in effect now: an override is granted during the freeze period it lifts", fr.ID)
	}
	if !slices.ContainsFunc(o.Roles, func(r string) bool { return slices.Contains(overrideRoles, r) }) {
		return nil, &errs.PermissionDeniedError{Principal: o.OverriddenBy, Permission: "change.override", Environment: o.Environment,
			Detail: fmt.Sprintf("overriding a freeze needs one of the roles %v in %s", overrideRoles, o.Environment)}
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&changev1.FreezeOverridden{Override: codec.Override(o)}}, nil
}

// Status is each environment's state at t: open or not, and why.
func (c *Calendar) Status(envs []string, overrideRoles []string, t time.Time) []*changev1.EnvironmentCalendar {
	p := c.Policy(overrideRoles)
	out := make([]*changev1.EnvironmentCalendar, 0, len(envs))
	for _, env := range envs {
		v := window.CheckPromotion(p, env, t, window.PromotionNormal, nil)
		ec := &changev1.EnvironmentCalendar{Environment: env, Open: v.Allowed, Verdict: v.Message}
		if fr, ok := window.Frozen(p.Freezes, env, t); ok {
			ec.FrozenBy = fr.ID
			if iv, ok := fr.ActiveAt(t); ok {
				ec.FrozenUntil = timestamppb.New(iv.End)
			}
		}
		if w, ok := window.Open(p.Windows, env, t); ok {
			ec.WindowId = w.ID
			if iv, ok := w.OpenAt(t); ok {
				ec.WindowEnd = timestamppb.New(iv.End)
			}
		} else if _, iv, ok := window.NextOpen(p.Windows, env, t); ok {
			ec.NextOpen = timestamppb.New(iv.Start)
		}
		out = append(out, ec)
	}
	return out
}
