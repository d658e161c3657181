// Package app runs the change service's commands on the command kernel:
// each change request is an aggregate, the calendar of windows and freezes
// is another, and the reactions to deployments (implementation and
// validation of the changes that authorized them) go through the same
// decisions as people's commands.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/kernel"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	"github.com/penguinmails/floe/services/change/internal/calendar"
	"github.com/penguinmails/floe/services/change/internal/change"
	"github.com/penguinmails/floe/services/change/internal/codec"
	"github.com/penguinmails/floe/services/change/internal/window"
)

// Permissions of the change service.
const (
	PermRead     auth.Permission = "change.read"
	PermSubmit   auth.Permission = "change.submit"
	PermReview   auth.Permission = "change.review"
	PermApprove  auth.Permission = "change.approve"
	PermSchedule auth.Permission = "change.schedule"
	PermCalendar auth.Permission = "change.calendar"
	PermOverride auth.Permission = "change.override"
)

// Options configure the service.
type Options struct {
	// Policy is the change policy (change.DefaultPolicy when zero).
	Policy change.Policy
	// OverrideRoles may grant freeze overrides (operations and
	// release_manager when empty).
	OverrideRoles []string
	// Environments are the known environments (for the calendar's status).
	Environments []string
	// Clock is the service's clock (time.Now when nil).
	Clock func() time.Time
}

// Service handles change and calendar commands.
type Service struct {
	store   eventstore.Store
	changes *kernel.Handler[*Change]
	cal     *kernel.Handler[*calendar.Calendar]
	authz   *auth.Authorizer
	opts    Options
	now     func() time.Time
}

// New returns a Service appending to store.
func New(store eventstore.Store, snaps *eventstore.Snapshots, authz *auth.Authorizer, opts Options) (*Service, error) {
	if store == nil || authz == nil {
		return nil, errors.New("change app: a store and an authorizer are required")
	}
	if opts.Policy.NormalApprovals == nil {
		opts.Policy = change.DefaultPolicy()
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if len(opts.OverrideRoles) == 0 {
		opts.OverrideRoles = []string{string(auth.RoleOperations), string(auth.RoleReleaseManager)}
	}
	now := opts.Clock
	if now == nil {
		now = time.Now
	}
	ko := kernel.Options{Snapshots: snaps, Clock: now}
	changes, err := kernel.New(store, ChangeKind, ko)
	if err != nil {
		return nil, err
	}
	cal, err := kernel.New(store, CalendarKind, ko)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, changes: changes, cal: cal, authz: authz, opts: opts, now: now}, nil
}

// ChangeAsOf is a change as it was at log position pos (or, pos 0, at
// moment at): its events up to there, folded as the live handler and the
// view fold them (kernel.Kind.AsOf).
func (s *Service) ChangeAsOf(ctx context.Context, id string, pos uint64, at *timestamppb.Timestamp) (*Change, error) {
	return ChangeKind.AsOf(ctx, s.store, id, pos, at)
}

// errFound stops a read at the first event.
var errFound = errors.New("found")

// TimeAt is when the log stored position pos (NotFound past its end).
func (s *Service) TimeAt(ctx context.Context, pos uint64) (time.Time, error) {
	var t time.Time
	err := s.store.ReadAll(ctx, pos, func(e *eventstore.RecordedEvent) error {
		t = e.Time
		return errFound
	})
	switch {
	case errors.Is(err, errFound):
		return t, nil
	case err != nil:
		return time.Time{}, err
	}
	return time.Time{}, &errs.NotFoundError{Kind: "log position", ID: strconv.FormatUint(pos, 10)}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// OverrideRoles are the roles that may grant freeze overrides.
func (s *Service) OverrideRoles() []string { return slices.Clone(s.opts.OverrideRoles) }

// Environments are the known environments.
func (s *Service) Environments() []string { return slices.Clone(s.opts.Environments) }

func principal(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &errs.UnauthenticatedError{Message: "no authenticated principal"}
	}
	return p, nil
}

// rolesIn are the roles p holds in every one of envs, as the change domain
// reads them.
func rolesIn(p *auth.Principal, envs []string) []string {
	var out []string
	for _, b := range p.Roles {
		if slices.ContainsFunc(envs, func(e string) bool { return !b.Covers(e) }) {
			continue
		}
		if r := string(b.Role); !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// requireIn checks perm in every environment of envs (in some environment when none).
func (s *Service) requireIn(ctx context.Context, perm auth.Permission, envs []string) error {
	if len(envs) == 0 {
		return s.authz.Require(ctx, perm, "")
	}
	for _, env := range envs {
		if err := s.authz.Require(ctx, perm, env); err != nil {
			return err
		}
	}
	return nil
}

// events maps the domain's events to the log's messages.
func events(in []change.Event) ([]proto.Message, error) {
	out := make([]proto.Message, 0, len(in))
	for _, e := range in {
		m, err := codec.Event(e)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Render is a change as the API shows it now.
func (s *Service) Render(c *Change) *changev1.ChangeRequest {
	return codec.ChangeRequest(c.CR, s.now())
}

// execute runs decide on change id, checking perm in the change's
// environments first, and returns the change after it.
func (s *Service) execute(ctx context.Context, id string, perm auth.Permission, decide func(p *auth.Principal, c *change.ChangeRequest) ([]change.Event, error)) (*changev1.ChangeRequest, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkID("change_id", id); err != nil {
		return nil, err
	}
	var out *changev1.ChangeRequest
	_, err = s.changes.Execute(ctx, kernel.Command[*Change]{
		ID: id,
		Decide: func(c *Change) ([]proto.Message, error) {
			if !c.CR.Exists() {
				return nil, &errs.NotFoundError{Kind: "change request", ID: id}
			}
			if perm != "" {
				if err := s.requireIn(ctx, perm, c.CR.Environments()); err != nil {
					return nil, err
				}
			}
			evs, err := decide(p, c.CR)
			if err != nil {
				return nil, err
			}
			return events(evs)
		},
		Observe: func(c *Change) { out = s.Render(c) },
	})
	return out, err
}

func checkID(field, id string) error {
	var v errs.Violations
	ident.Check(&v, field, id)
	return v.Err()
}

// newID is a change id: from the request's idempotency key when it has one
// (a retried submission names the same change), else fresh.
func newID(ctx context.Context, prefix string) string {
	if o, ok := causal.From(ctx); ok && o.Key != "" {
		sum := sha256.Sum256([]byte(prefix + "\x00" + o.Key))
		return prefix + "-" + hex.EncodeToString(sum[:8])
	}
	return prefix + "-" + strings.ToLower(ulid.Make().String())
}

// knownEnvironments refuses environments this deployment does not define
// (when it knows its environments).
func (s *Service) knownEnvironments(field string, envs []string) error {
	if len(s.opts.Environments) == 0 {
		return nil
	}
	var v errs.Violations
	for i, env := range envs {
		if env != window.AllEnvironments && !slices.Contains(s.opts.Environments, env) {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "unknown environment %q (known: %s)", env, strings.Join(s.opts.Environments, ", "))
		}
	}
	return v.Err()
}

// Submit submits a change request.
func (s *Service) Submit(ctx context.Context, id string, cmd change.SubmitCommand) (*changev1.ChangeRequest, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.knownEnvironments("environments", cmd.Environments); err != nil {
		return nil, err
	}
	if err := s.requireIn(ctx, PermSubmit, cmd.Environments); err != nil {
		return nil, err
	}
	if id == "" {
		id = newID(ctx, "chg")
	}
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	cmd.Submitter = p.ID
	var out *changev1.ChangeRequest
	_, err = s.changes.Execute(ctx, kernel.Command[*Change]{
		ID: id,
		Decide: func(c *Change) ([]proto.Message, error) {
			evs, err := change.Submit(c.CR, cmd, s.opts.Policy)
			if err != nil {
				return nil, err
			}
			return events(evs)
		},
		Observe: func(c *Change) { out = s.Render(c) },
	})
	return out, err
}

// Review takes the technical review (outcome "") or completes it, taking
// it first when nobody has.
func (s *Service) Review(ctx context.Context, id string, outcome change.ReviewOutcome, notes string) (*changev1.ChangeRequest, error) {
	return s.execute(ctx, id, PermReview, func(p *auth.Principal, c *change.ChangeRequest) ([]change.Event, error) {
		var out []change.Event
		if c.State() == change.StateSubmitted || outcome == "" {
			evs, err := change.StartReview(c, p.ID)
			if err != nil || outcome == "" {
				return evs, err
			}
			out = evs
			c = applied(c, evs, p.ID, s.now())
		}
		evs, err := change.CompleteReview(c, change.CompleteReviewCommand{Reviewer: p.ID, Outcome: outcome, Notes: notes})
		if err != nil {
			return nil, err
		}
		return append(out, evs...), nil
	})
}

// applied is a copy of c with evs applied (for a second decision in the
// same command); c itself is the kernel's and is not changed here.
func applied(c *change.ChangeRequest, evs []change.Event, actor string, at time.Time) *change.ChangeRequest {
	cp := c.Clone()
	for _, e := range evs {
		cp.Apply(e, change.Meta{Actor: actor, Time: at})
	}
	return cp
}

// Approve approves as one of the caller's roles in the change's environments.
func (s *Service) Approve(ctx context.Context, id, as, comment string) (*changev1.ChangeRequest, error) {
	return s.execute(ctx, id, PermApprove, func(p *auth.Principal, c *change.ChangeRequest) ([]change.Event, error) {
		return change.Approve(c, change.ApproveCommand{Approver: change.Principal{ID: p.ID, Roles: rolesIn(p, c.Environments())}, As: as, Comment: comment})
	})
}

// Reject rejects.
func (s *Service) Reject(ctx context.Context, id, reason string) (*changev1.ChangeRequest, error) {
	return s.execute(ctx, id, PermApprove, func(p *auth.Principal, c *change.ChangeRequest) ([]change.Event, error) {
		return change.Reject(c, change.RejectCommand{By: change.Principal{ID: p.ID, Roles: rolesIn(p, c.Environments())}, Reason: reason})
	})
}

// ScheduleRequest is a Schedule command: a window of the calendar, or a range.
type ScheduleRequest struct {
	WindowID    string
	Start, End  time.Time
	At          time.Time
	Maintenance bool
}

// Schedule assigns a window: the occurrence of a calendar window that
// contains At (or the next one after At, or after now), or the range given.
func (s *Service) Schedule(ctx context.Context, id string, req ScheduleRequest) (*changev1.ChangeRequest, error) {
	cmd := change.ScheduleCommand{WindowID: req.WindowID, Start: req.Start, End: req.End, At: req.At, Maintenance: req.Maintenance}
	if req.WindowID != "" {
		if !req.Start.IsZero() || !req.End.IsZero() {
			return nil, errs.Invalid("start", "give either window_id or start and end, not both")
		}
		cal, err := s.Calendar(ctx)
		if err != nil {
			return nil, err
		}
		pw, ok := cal.Windows[req.WindowID]
		if !ok {
			return nil, &errs.NotFoundError{Kind: "deployment window", ID: req.WindowID}
		}
		w, maintenance := codec.WindowFromProto(pw)
		from := req.At
		if from.IsZero() {
			from = s.now()
		}
		iv, ok := w.OpenAt(from)
		if !ok {
			if iv, ok = w.NextOpen(from); !ok {
				return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_WINDOW_UNSUITABLE, "window %s has no occurrence after %s", w.ID, from.UTC().Format(time.RFC3339))
			}
		}
		cmd.Start, cmd.End, cmd.Maintenance, cmd.Environments = iv.Start, iv.End, maintenance, []string{w.Environment}
	} else {
		if req.Start.IsZero() || req.End.IsZero() {
			return nil, errs.Invalid("window_id", "name a deployment window, or give start and end")
		}
		// A range given here is named by its start.
		cmd.WindowID = "slot-" + req.Start.UTC().Format("20060102T150405Z")
	}
	return s.execute(ctx, id, PermSchedule, func(_ *auth.Principal, c *change.ChangeRequest) ([]change.Event, error) {
		if req.WindowID == "" {
			cmd.Environments = c.Environments() // a range given for the change covers its environments
		}
		return change.Schedule(c, cmd, s.now())
	})
}

// Cancel withdraws a change.
func (s *Service) Cancel(ctx context.Context, id, reason string) (*changev1.ChangeRequest, error) {
	return s.execute(ctx, id, PermSubmit, func(_ *auth.Principal, c *change.ChangeRequest) ([]change.Event, error) {
		return change.Cancel(c, reason)
	})
}

// CompletePostImplementationReview records the review.
func (s *Service) CompletePostImplementationReview(ctx context.Context, id, rootCause string, prevention []change.Action, notes string) (*changev1.ChangeRequest, error) {
	return s.execute(ctx, id, PermReview, func(p *auth.Principal, c *change.ChangeRequest) ([]change.Event, error) {
		return change.CompletePostImplementationReview(c, change.PostImplementationReviewCommand{Reviewer: p.ID, RootCause: rootCause, Prevention: prevention, Notes: notes}, s.now())
	})
}

// Close closes a change.
func (s *Service) Close(ctx context.Context, id, notes string) (*changev1.ChangeRequest, error) {
	return s.execute(ctx, id, PermReview, func(_ *auth.Principal, c *change.ChangeRequest) ([]change.Event, error) {
		return change.Close(c, notes, s.now())
	})
}

// Get is a change and its events, from the log.
func (s *Service) Get(ctx context.Context, id string) (*Change, []*eventstore.RecordedEvent, error) {
	if err := checkID("change_id", id); err != nil {
		return nil, nil, err
	}
	c, evs, err := s.changes.Replay(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !c.CR.Exists() {
		return nil, nil, &errs.NotFoundError{Kind: "change request", ID: id}
	}
	return c, evs, nil
}

// Calendar is the calendar as the log has it now (a copy).
func (s *Service) Calendar(ctx context.Context) (*calendar.Calendar, error) {
	var out *calendar.Calendar
	err := s.cal.Read(ctx, calendar.ID, func(c *calendar.Calendar, _ eventstore.Version, _ uint64) error {
		b, err := calendar.Marshal(c)
		if err != nil {
			return err
		}
		out, err = calendar.Unmarshal(b)
		return err
	})
	return out, err
}

// calendarCommand runs decide on the calendar and returns the first event it appended.
func (s *Service) calendarCommand(ctx context.Context, decide func(c *calendar.Calendar) ([]proto.Message, error)) (proto.Message, error) {
	res, err := s.cal.Execute(ctx, kernel.Command[*calendar.Calendar]{ID: calendar.ID, Decide: decide})
	if err != nil {
		return nil, err
	}
	if len(res.Events) == 0 {
		return nil, nil
	}
	return res.Events[0].Decode()
}

// CreateWindow defines a window (its id generated when empty).
func (s *Service) CreateWindow(ctx context.Context, w *changev1.DeploymentWindow) (*changev1.DeploymentWindow, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if w == nil {
		return nil, errs.Invalid("window", "is required")
	}
	if err := s.knownEnvironments("window.environment", []string{w.GetEnvironment()}); err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, PermCalendar, w.GetEnvironment()); err != nil {
		return nil, err
	}
	w = proto.CloneOf(w)
	if w.GetId() == "" {
		w.Id = newID(ctx, "win")
	}
	m, err := s.calendarCommand(ctx, func(c *calendar.Calendar) ([]proto.Message, error) {
		return calendar.CreateWindow(c, w, p.ID, s.now())
	})
	if err != nil {
		return nil, err
	}
	if wc, ok := m.(*changev1.WindowCreated); ok {
		return wc.GetWindow(), nil
	}
	return w, nil
}

// DeleteWindow removes a window.
func (s *Service) DeleteWindow(ctx context.Context, id, reason string) error {
	cal, err := s.Calendar(ctx)
	if err != nil {
		return err
	}
	if w, ok := cal.Windows[id]; ok {
		if err := s.authz.Require(ctx, PermCalendar, w.GetEnvironment()); err != nil {
			return err
		}
	}
	_, err = s.calendarCommand(ctx, func(c *calendar.Calendar) ([]proto.Message, error) {
		return calendar.DeleteWindow(c, id, reason)
	})
	return err
}

// frozen are the environments a freeze of envs holds: every known one
// when it names none (or "*"), so declaring or lifting it needs the
// permission in each.
func (s *Service) frozen(envs []string) []string {
	if len(envs) == 0 || slices.Contains(envs, window.AllEnvironments) {
		return s.opts.Environments
	}
	return envs
}

// CreateFreeze declares a freeze (its id generated when empty).
func (s *Service) CreateFreeze(ctx context.Context, f *changev1.Freeze) (*changev1.Freeze, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, errs.Invalid("freeze", "is required")
	}
	if err := s.knownEnvironments("freeze.environments", f.GetEnvironments()); err != nil {
		return nil, err
	}
	if err := s.requireIn(ctx, PermCalendar, s.frozen(f.GetEnvironments())); err != nil {
		return nil, err
	}
	f = proto.CloneOf(f)
	if f.GetId() == "" {
		f.Id = newID(ctx, "frz")
	}
	m, err := s.calendarCommand(ctx, func(c *calendar.Calendar) ([]proto.Message, error) {
		return calendar.CreateFreeze(c, f, p.ID, s.now())
	})
	if err != nil {
		return nil, err
	}
	if fc, ok := m.(*changev1.FreezeCreated); ok {
		return fc.GetFreeze(), nil
	}
	return f, nil
}

// DeleteFreeze lifts a freeze.
func (s *Service) DeleteFreeze(ctx context.Context, id, reason string) error {
	cal, err := s.Calendar(ctx)
	if err != nil {
		return err
	}
	if f, ok := cal.Freezes[id]; ok {
		if err := s.requireIn(ctx, PermCalendar, s.frozen(f.GetEnvironments())); err != nil {
			return err
		}
	}
	_, err = s.calendarCommand(ctx, func(c *calendar.Calendar) ([]proto.Message, error) {
		return calendar.DeleteFreeze(c, id, reason)
	})
	return err
}

// OverrideFreeze grants an override as the caller, for requestedBy's promotions to env.
func (s *Service) OverrideFreeze(ctx context.Context, freezeID, env, requestedBy, reason string, expires time.Time) (*changev1.FreezeOverride, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, PermOverride, env); err != nil {
		return nil, err
	}
	o := window.Override{FreezeID: freezeID, Environment: env, Reason: reason, RequestedBy: requestedBy,
		OverriddenBy: p.ID, Roles: rolesIn(p, []string{env}), ExpiresAt: expires}
	m, err := s.calendarCommand(ctx, func(c *calendar.Calendar) ([]proto.Message, error) {
		return calendar.OverrideFreeze(c, o, s.opts.OverrideRoles, s.now())
	})
	if err != nil {
		return nil, err
	}
	fo, _ := m.(*changev1.FreezeOverridden)
	return fo.GetOverride(), nil
}
