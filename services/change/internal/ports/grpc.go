// Package ports serves floe.change.v1 over gRPC: ChangeService,
// WindowService and ComplianceService. Requests are mapped to the domain's
// commands here; the domain validates them and names every bad field.
package ports

import (
	"context"
	"errors"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/projection"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/changeview"
	"github.com/penguinmails/floe/services/change/internal/adapters"
	"github.com/penguinmails/floe/services/change/internal/app"
	"github.com/penguinmails/floe/services/change/internal/change"
	"github.com/penguinmails/floe/services/change/internal/codec"
)

// PermReport is what the compliance report needs.
const PermReport auth.Permission = "audit.read"

// Rules are the authorization rules of every RPC (checked in some
// environment by the interceptor, then in the change's environments by the
// service).
func Rules() auth.Rules {
	r := auth.Rules{}
	for m, p := range map[string]auth.Permission{
		changev1.ChangeService_Submit_FullMethodName:                           app.PermSubmit,
		changev1.ChangeService_Review_FullMethodName:                           app.PermReview,
		changev1.ChangeService_Approve_FullMethodName:                          app.PermApprove,
		changev1.ChangeService_Reject_FullMethodName:                           app.PermApprove,
		changev1.ChangeService_Schedule_FullMethodName:                         app.PermSchedule,
		changev1.ChangeService_Cancel_FullMethodName:                           app.PermSubmit,
		changev1.ChangeService_Get_FullMethodName:                              app.PermRead,
		changev1.ChangeService_List_FullMethodName:                             app.PermRead,
		changev1.ChangeService_CompletePostImplementationReview_FullMethodName: app.PermReview,
		changev1.ChangeService_Close_FullMethodName:                            app.PermReview,
		changev1.WindowService_CreateWindow_FullMethodName:                     app.PermCalendar,
		changev1.WindowService_DeleteWindow_FullMethodName:                     app.PermCalendar,
		changev1.WindowService_CreateFreeze_FullMethodName:                     app.PermCalendar,
		changev1.WindowService_DeleteFreeze_FullMethodName:                     app.PermCalendar,
		changev1.WindowService_ListWindows_FullMethodName:                      app.PermRead,
		changev1.WindowService_OverrideFreeze_FullMethodName:                   app.PermOverride,
		changev1.ComplianceService_GetComplianceReport_FullMethodName:          PermReport,
	} {
		r[m] = auth.Rule{Permission: p}
	}
	return r
}

// Server implements the three services.
type Server struct {
	changev1.UnimplementedChangeServiceServer
	changev1.UnimplementedWindowServiceServer
	changev1.UnimplementedComplianceServiceServer
	svc        *app.Service
	view       *changeview.View
	compliance *adapters.Compliance
	authz      *auth.Authorizer
	// DefaultReportEnvironments are reported when a request names none.
	reportEnvs []string
}

// changesAsOf folds every change the view knows up to log position pos
// (or moment at) and gives keep each that existed then, with the time of
// then (its overdue review is judged at that time).
func (s *Server) changesAsOf(ctx context.Context, pos uint64, at *timestamppb.Timestamp, keep func(*change.ChangeRequest, time.Time)) error {
	var then time.Time
	if at != nil && pos > 0 {
		return errs.Invalid("as_of_time", "give as_of_position or as_of_time, not both")
	}
	if at != nil {
		then = at.AsTime()
	} else {
		t, err := s.svc.TimeAt(ctx, pos)
		if err != nil {
			return err
		}
		then = t
	}
	var ids []string
	s.view.Changes(func(c *app.Change) { ids = append(ids, c.CR.ID()) })
	for _, id := range ids {
		c, err := s.svc.ChangeAsOf(ctx, id, pos, at)
		var nf *errs.NotFoundError
		switch {
		case errors.As(err, &nf):
			continue // submitted later
		case err != nil:
			return err
		}
		keep(c.CR, then)
	}
	return nil
}

// NewServer wires the server; every dependency is required.
func NewServer(svc *app.Service, view *changeview.View, compliance *adapters.Compliance, authz *auth.Authorizer, reportEnvs []string) (*Server, error) {
	if svc == nil || view == nil || compliance == nil || authz == nil {
		return nil, errors.New("change server: every dependency is required")
	}
	return &Server{svc: svc, view: view, compliance: compliance, authz: authz, reportEnvs: reportEnvs}, nil
}

func text[E enumtext.Enum](v E) string { return enumtext.Name(v) }

// Submit implements ChangeService.
func (s *Server) Submit(ctx context.Context, req *changev1.SubmitRequest) (*changev1.SubmitResponse, error) {
	cmd := change.SubmitCommand{
		Class: change.Class(text(req.GetClass())), Template: req.GetTemplate(), Justification: req.GetJustification(),
		Title: req.GetTitle(), Description: req.GetDescription(),
		Type: change.Type(text(req.GetType())), Priority: change.Priority(text(req.GetPriority())),
		Impact: change.Impact(text(req.GetImpact())), Risk: change.Risk(text(req.GetRisk())),
		RegulatoryImpact: req.GetRegulatoryImpact(), Environments: req.GetEnvironments(),
		Schedule: codec.Timing(req.GetSchedule()), Approvers: req.GetApprovers(), Releases: req.GetReleases(),
		Implementation: codec.Plan(req.GetImplementation()), Rollback: codec.Plan(req.GetRollback()), Testing: codec.Plan(req.GetTesting()),
	}
	c, err := s.svc.Submit(ctx, req.GetId(), cmd)
	if err != nil {
		return nil, err
	}
	return &changev1.SubmitResponse{Change: c}, nil
}

// Review implements ChangeService.
func (s *Server) Review(ctx context.Context, req *changev1.ReviewRequest) (*changev1.ReviewResponse, error) {
	outcome := change.ReviewOutcome(req.GetOutcome())
	if outcome != "" && !outcome.Valid() {
		return nil, errs.Invalid("outcome", "%q is not passed or rejected (leave it empty to take the review)", req.GetOutcome())
	}
	c, err := s.svc.Review(ctx, req.GetChangeId(), outcome, req.GetNotes())
	if err != nil {
		return nil, err
	}
	return &changev1.ReviewResponse{Change: c}, nil
}

// Approve implements ChangeService.
func (s *Server) Approve(ctx context.Context, req *changev1.ApproveRequest) (*changev1.ApproveResponse, error) {
	c, err := s.svc.Approve(ctx, req.GetChangeId(), req.GetAs(), req.GetComment())
	if err != nil {
		return nil, err
	}
	return &changev1.ApproveResponse{Change: c}, nil
}

// Reject implements ChangeService.
func (s *Server) Reject(ctx context.Context, req *changev1.RejectRequest) (*changev1.RejectResponse, error) {
	c, err := s.svc.Reject(ctx, req.GetChangeId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &changev1.RejectResponse{Change: c}, nil
}

// asTime is ts as a time; the zero time when it is unset.
func asTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// Schedule implements ChangeService.
func (s *Server) Schedule(ctx context.Context, req *changev1.ScheduleRequest) (*changev1.ScheduleResponse, error) {
	c, err := s.svc.Schedule(ctx, req.GetChangeId(), app.ScheduleRequest{
		WindowID: req.GetWindowId(), Maintenance: req.GetMaintenance(),
		Start: asTime(req.GetStart()), End: asTime(req.GetEnd()), At: asTime(req.GetAt()),
	})
	if err != nil {
		return nil, err
	}
	return &changev1.ScheduleResponse{Change: c}, nil
}

// Cancel implements ChangeService.
func (s *Server) Cancel(ctx context.Context, req *changev1.CancelRequest) (*changev1.CancelResponse, error) {
	c, err := s.svc.Cancel(ctx, req.GetChangeId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &changev1.CancelResponse{Change: c}, nil
}

// CompletePostImplementationReview implements ChangeService.
func (s *Server) CompletePostImplementationReview(ctx context.Context, req *changev1.CompletePostImplementationReviewRequest) (*changev1.CompletePostImplementationReviewResponse, error) {
	c, err := s.svc.CompletePostImplementationReview(ctx, req.GetChangeId(), req.GetRootCause(), codec.Actions(req.GetPrevention()), req.GetNotes())
	if err != nil {
		return nil, err
	}
	return &changev1.CompletePostImplementationReviewResponse{Change: c}, nil
}

// Close implements ChangeService.
func (s *Server) Close(ctx context.Context, req *changev1.CloseRequest) (*changev1.CloseResponse, error) {
	c, err := s.svc.Close(ctx, req.GetChangeId(), req.GetNotes())
	if err != nil {
		return nil, err
	}
	return &changev1.CloseResponse{Change: c}, nil
}

// Get implements ChangeService: the change and its history, from the log.
func (s *Server) Get(ctx context.Context, req *changev1.GetRequest) (*changev1.GetResponse, error) {
	c, evs, err := s.svc.Get(ctx, req.GetChangeId())
	if err != nil {
		return nil, err
	}
	if err := s.requireRead(ctx, c.CR.Environments()); err != nil {
		return nil, err
	}
	out := &changev1.GetResponse{Change: s.svc.Render(c)}
	for _, e := range evs {
		h := &changev1.HistoryEntry{Version: uint64(e.Version), At: timestamp(e.Time), Actor: e.Actor, Event: e.Name, Position: e.Seq}
		if m, err := e.Decode(); err == nil {
			if ev, ok, err := codec.FromProto(m); err == nil && ok {
				h.Summary = change.Describe(ev, e.Actor)
			}
		}
		out.History = append(out.History, h)
	}
	return out, nil
}

// requireRead checks change.read in one of envs (a reader of any of the
// change's environments may read it).
func (s *Server) requireRead(ctx context.Context, envs []string) error {
	var first error
	for _, env := range envs {
		err := s.authz.Require(ctx, app.PermRead, env)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return s.authz.Require(ctx, app.PermRead, "")
	}
	return first
}

// DefaultPageSize and MaxPageSize bound List's pages.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// List implements ChangeService: newest submission first, then id.
func (s *Server) List(ctx context.Context, req *changev1.ListRequest) (*changev1.ListResponse, error) {
	if req.GetEnvironment() != "" {
		var v errs.Violations
		ident.Check(&v, "environment", req.GetEnvironment())
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	var after struct {
		t  time.Time
		id string
	}
	if t := req.GetPageToken(); t != "" {
		var ok bool
		if after.t, after.id, ok = projection.DecodeCursor(t); !ok {
			return nil, errs.Invalid("page_token", "is not a token this service gave")
		}
	}
	if err := s.view.Sync(ctx); err != nil {
		return nil, err
	}
	now := s.svc.Now()
	var all []*changev1.ChangeRequest
	keep := func(cr *change.ChangeRequest, now time.Time) {
		switch {
		case len(req.GetStates()) > 0 && !slices.ContainsFunc(req.GetStates(), func(st changev1.ChangeState) bool { return text(st) == string(cr.State()) }):
		case req.GetEnvironment() != "" && !slices.Contains(cr.Environments(), req.GetEnvironment()):
		case req.GetReleaseId() != "" && !slices.Contains(cr.Releases(), req.GetReleaseId()):
		case req.GetClass() != 0 && text(req.GetClass()) != string(cr.Class()):
		case req.GetReviewOverdue() && !cr.Overdue(now):
		default:
			all = append(all, codec.ChangeRequest(cr, now))
		}
	}
	if req.GetAsOfPosition() > 0 || req.GetAsOfTime() != nil {
		// Time travel: each change the view knows, as of then, judged at then.
		if err := s.changesAsOf(ctx, req.GetAsOfPosition(), req.GetAsOfTime(), keep); err != nil {
			return nil, err
		}
	} else {
		s.view.Changes(func(c *app.Change) { keep(c.CR, now) })
	}
	all = slices.DeleteFunc(all, func(c *changev1.ChangeRequest) bool { return s.requireRead(ctx, c.GetEnvironments()) != nil })
	slices.SortStableFunc(all, func(a, b *changev1.ChangeRequest) int {
		if c := b.GetSubmittedAt().AsTime().Compare(a.GetSubmittedAt().AsTime()); c != 0 {
			return c
		}
		if a.GetId() < b.GetId() {
			return -1
		}
		return 1
	})
	if req.GetPageToken() != "" {
		// The page starts after the cursor's change in this order (newer first).
		all = slices.DeleteFunc(all, func(c *changev1.ChangeRequest) bool {
			t := c.GetSubmittedAt().AsTime()
			return t.After(after.t) || t.Equal(after.t) && c.GetId() <= after.id
		})
	}
	out := &changev1.ListResponse{Changes: all[:min(size, len(all))]}
	if len(all) > size {
		last := out.Changes[size-1]
		out.NextPageToken = projection.EncodeCursor(last.GetSubmittedAt().AsTime(), last.GetId())
	}
	return out, nil
}
