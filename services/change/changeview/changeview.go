// Package changeview is the view of change management that other services
// keep from the log: every change request and the calendar of windows and
// freezes, rebuilt from their events (the change service writes them; any
// service may fold them). The release service asks it, before a promotion,
// whether the calendar allows it and which approved change authorizes it;
// the change service lists changes and finds the change a deployment
// implements with it.
package changeview

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	"github.com/penguinmails/floe/services/change/internal/app"
	"github.com/penguinmails/floe/services/change/internal/calendar"
	"github.com/penguinmails/floe/services/change/internal/change"
	"github.com/penguinmails/floe/services/change/internal/window"
)

// Aggregates are the aggregate kinds the view reads (a service that keeps
// it opens its verifying reader for them).
var Aggregates = []string{app.AggChange, calendar.Aggregate}

// row is one aggregate: a change request or the calendar.
type row struct {
	change *app.Change
	cal    *calendar.Calendar
}

type rowJSON struct {
	Change   json.RawMessage `json:"change,omitempty"`
	Calendar []byte          `json:"calendar,omitempty"`
}

func marshalRow(r *row) ([]byte, error) {
	var out rowJSON
	var err error
	if r.change != nil {
		if out.Change, err = app.ChangeKind.Codec.Marshal(r.change); err != nil {
			return nil, err
		}
	}
	if r.cal != nil {
		if out.Calendar, err = calendar.Marshal(r.cal); err != nil {
			return nil, err
		}
	}
	return json.Marshal(out)
}

func unmarshalRow(b []byte) (*row, error) {
	var in rowJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	r := &row{}
	var err error
	if len(in.Change) > 0 {
		if r.change, err = app.ChangeKind.Codec.Unmarshal(in.Change); err != nil {
			return nil, err
		}
	}
	if in.Calendar != nil {
		if r.cal, err = calendar.Unmarshal(in.Calendar); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// View is the change-management view.
type View struct {
	proj *projection.Projection[*row]
	last func(ctx context.Context) (uint64, error)

	mu        sync.RWMutex
	changes   map[string]*app.Change
	byRelease map[string][]string // release id → change ids
	byDeploy  map[string]string   // deployment id → change id
	cal       *calendar.Calendar
	reviews   *projection.DueIndex // change id → when its review becomes overdue (not yet recorded as such)
}

// New builds the view named name (unique per deployment: its checkpoint
// bucket is view_<name>); store gives the log's head for Sync. Run it with
// its Projection.
func New(ctx context.Context, js jetstream.JetStream, name string, store eventstore.Store, opts projection.Options) (*View, error) {
	v := &View{last: store.LastSeq, changes: map[string]*app.Change{}, byRelease: map[string][]string{}, byDeploy: map[string]string{}, cal: calendar.New(),
		reviews: projection.NewDueIndex()}
	spec := projection.Spec[*row]{
		Name:    name,
		Filters: []string{eventstore.KindFilter(app.AggChange), eventstore.KindFilter(calendar.Aggregate)},
		Keys: func(e *eventstore.RecordedEvent) []string {
			if e.Aggregate != app.AggChange && e.Aggregate != calendar.Aggregate {
				return nil
			}
			return []string{e.Aggregate + "." + e.AggregateID}
		},
		Fold: func(r *row, exists bool, e *eventstore.RecordedEvent) (*row, bool, error) {
			if !exists {
				r = &row{}
			}
			var err error
			switch e.Aggregate {
			case app.AggChange:
				if r.change == nil {
					r.change = app.NewChange(e.AggregateID)
				}
				r.change, err = app.ChangeKind.Apply(r.change, e)
			case calendar.Aggregate:
				if r.cal == nil {
					r.cal = calendar.New()
				}
				r.cal, err = app.CalendarKind.Apply(r.cal, e)
			}
			return r, err == nil, err
		},
		Marshal:   marshalRow,
		Unmarshal: unmarshalRow,
		OnChange:  v.onChange,
		OnReset: func() {
			v.mu.Lock()
			defer v.mu.Unlock()
			clear(v.changes)
			clear(v.byRelease)
			clear(v.byDeploy)
			v.cal = calendar.New()
			v.reviews.Reset()
		},
	}
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	return v, nil
}

func (v *View) onChange(key string, r *row, deleted bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if deleted || r == nil {
		return
	}
	if r.cal != nil {
		v.cal = r.cal
		return
	}
	c := r.change
	if c == nil {
		return
	}
	id := c.CR.ID()
	if _, known := v.changes[id]; !known {
		for _, rel := range c.CR.Releases() {
			v.byRelease[rel] = append(v.byRelease[rel], id)
		}
	}
	v.changes[id] = c
	for _, d := range c.CR.Deployments() {
		v.byDeploy[d.ID] = id
	}
	var overdueAt time.Time
	if due, ok := c.CR.PIRDue(); ok && c.CR.PIR() == nil && !c.CR.OverdueNoticed() {
		overdueAt = due.Add(time.Nanosecond) // overdue is after the due time
	}
	v.reviews.Set(id, overdueAt)
}

// OverdueReviews lists the changes whose post-implementation review is
// overdue at now and not yet recorded as such, soonest first.
func (v *View) OverdueReviews(now time.Time) []string { return v.reviews.Due(now) }

// Projection is the view's projection (the runtime runs it).
func (v *View) Projection() *projection.Projection[*row] { return v.proj }

// Sync waits until the view has applied everything the log holds now.
func (v *View) Sync(ctx context.Context) error {
	last, err := v.last(ctx)
	if err != nil {
		return err
	}
	return v.proj.Wait(ctx, last)
}

// PromotionKind says what kind of promotion is checked: a rollback is
// never blocked; a normal or automatic one is held by freezes and windows.
type PromotionKind = window.PromotionKind

// The kinds of promotion.
const (
	PromotionNormal    = window.PromotionNormal
	PromotionAutomatic = window.PromotionAutomatic
	PromotionRollback  = window.PromotionRollback
)

// Authorization is what let a promotion through: the change that
// authorized it, the window it is in and the freeze override it used.
type Authorization struct {
	ChangeID       string
	WindowID       string
	FreezeOverride string
}

// Check decides whether requester may promote release to env at now: the
// calendar (freezes, unless an override granted to requester lifts them;
// windows, where env has any) and, when requireChange, an approved change
// linked to the release whose window contains now. A refusal is an
// *errs.PreconditionError listing every reason, each with its catalogued
// kind (ENVIRONMENT_FROZEN, OUTSIDE_DEPLOYMENT_WINDOW,
// CHANGE_REQUEST_REQUIRED). Rollbacks are not checked here: nothing blocks them.
func (v *View) Check(releaseID, env, requester string, now time.Time, requireChange bool, kind window.PromotionKind) (auth Authorization, err error) {
	v.read(func() { auth, err = v.check(releaseID, env, requester, now, requireChange, kind) })
	return auth, err
}

// read runs fn under the projection's read lock (rows are folded in place
// under its write lock) and the view's.
func (v *View) read(fn func()) {
	v.proj.Read(func() {
		v.mu.RLock()
		defer v.mu.RUnlock()
		fn()
	})
}

func (v *View) check(releaseID, env, requester string, now time.Time, requireChange bool, kind window.PromotionKind) (Authorization, error) {
	var auth Authorization
	pol := v.cal.Policy(nil)
	ov := v.cal.OverrideFor(pol, env, requester, now)
	if ov != nil {
		// The override's roles were checked against the change service's
		// override roles when it was granted.
		pol.OverrideRoles = ov.Roles
	}
	verdict := window.CheckPromotion(pol, env, now, kind, ov)
	pe := &errs.PreconditionError{}
	if err := verdict.Err(); err != nil {
		if vpe, ok := err.(*errs.PreconditionError); ok {
			pe = vpe
		} else {
			return auth, err
		}
	}
	if w, ok := window.Open(pol.Windows, env, now); ok {
		auth.WindowID = w.ID
	}
	for _, r := range verdict.Overridden() {
		auth.FreezeOverride = fmt.Sprintf("%s (granted by %s: %s)", r.FreezeID, ov.OverriddenBy, ov.Reason)
	}
	if requireChange {
		var why []string
		for _, id := range v.byRelease[releaseID] {
			c := v.changes[id]
			ok, reason := change.Authorizes(c.CR, releaseID, env, now)
			if ok {
				auth.ChangeID = id
				break
			}
			why = append(why, reason)
		}
		if auth.ChangeID == "" {
			msg := fmt.Sprintf("%s requires an approved change request linked to release %s whose window contains now", env, releaseID)
			if len(why) == 0 {
				msg += ": no change request links the release (floe change submit --release " + releaseID + " --env " + env + " …)"
			} else {
				msg += ": " + strings.Join(why, "; ")
			}
			pe.Reasons = append(pe.Reasons, msg)
			pe.Kinds = append(pe.Kinds, errorsv1.ErrorReason_ERROR_REASON_CHANGE_REQUEST_REQUIRED)
		}
	}
	if len(pe.Reasons) > 0 {
		pe.Reason = pe.Kinds[0]
		return auth, pe
	}
	return auth, nil
}

// ChangeOfDeployment is the change a deployment implements ("" when none).
func (v *View) ChangeOfDeployment(deploymentID string) (id string) {
	v.read(func() { id = v.byDeploy[deploymentID] })
	return id
}

// Calendar is the calendar's copy as the view has it.
func (v *View) Calendar() (*calendar.Calendar, error) {
	var b []byte
	var err error
	v.read(func() { b, err = calendar.Marshal(v.cal) })
	if err != nil {
		return nil, err
	}
	return calendar.Unmarshal(b)
}

// Changes calls fn for every change request (under the view's read lock:
// fn must not keep c or call the view).
func (v *View) Changes(fn func(c *app.Change)) {
	v.read(func() {
		ids := make([]string, 0, len(v.changes))
		for id := range v.changes {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			fn(v.changes[id])
		}
	})
}
