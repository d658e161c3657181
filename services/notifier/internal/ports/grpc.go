// Package ports serves floe.notify.v1.NotifyService over gRPC.
package ports

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/adapters"
	"github.com/penguinmails/floe/services/notifier/internal/app"
	"github.com/penguinmails/floe/services/notifier/internal/render"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Permissions of the notifier.
const (
	PermRead  auth.Permission = "notify.read"
	PermWrite auth.Permission = "notify.write"
)

// Rules are the authorization rules of every RPC.
func Rules() auth.Rules {
	r := auth.Rules{}
	for m, p := range map[string]auth.Permission{
		notifyv1.NotifyService_ListNotifications_FullMethodName:   PermRead,
		notifyv1.NotifyService_GetNotification_FullMethodName:     PermRead,
		notifyv1.NotifyService_AcknowledgeEpisode_FullMethodName:  PermWrite,
		notifyv1.NotifyService_ListReceivers_FullMethodName:       PermRead,
		notifyv1.NotifyService_PreviewNotification_FullMethodName: PermRead,
		notifyv1.NotifyService_CreateSilence_FullMethodName:       PermWrite,
		notifyv1.NotifyService_ExpireSilence_FullMethodName:       PermWrite,
		notifyv1.NotifyService_ListSilences_FullMethodName:        PermRead,
		notifyv1.NotifyService_TestReceiver_FullMethodName:        PermWrite,
		notifyv1.NotifyService_ListRoutes_FullMethodName:          PermRead,
	} {
		r[m] = auth.Rule{Permission: p}
	}
	return r
}

// Server implements notifyv1.NotifyServiceServer.
type Server struct {
	notifyv1.UnimplementedNotifyServiceServer
	app      *app.App
	notes    *adapters.Notifications
	silences *adapters.Silences
	tmpl     map[string]*render.Set
	ropts    render.Options
}

// NewServer wires the server.
func NewServer(a *app.App, notes *adapters.Notifications, silences *adapters.Silences, templates map[string]*render.Set, ropts render.Options) *Server {
	return &Server{app: a, notes: notes, silences: silences, tmpl: templates, ropts: ropts}
}

// ListNotifications implements the RPC: newest first; the page token is an offset.
func (s *Server) ListNotifications(ctx context.Context, req *notifyv1.ListNotificationsRequest) (*notifyv1.ListNotificationsResponse, error) {
	var v errs.Violations
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = 50
	case size > 500:
		v.Add("page_size", "at most 500")
	}
	from := 0
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			v.Add("page_token", "is not a token this service issued")
		}
		from = n
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	all := s.notes.List(adapters.Query{Receiver: req.GetReceiver(), Status: req.GetStatus(), Episode: req.GetEpisode()})
	out := &notifyv1.ListNotificationsResponse{Total: uint32(len(all))}
	if from < len(all) {
		end := min(from+size, len(all))
		out.Notifications = all[from:end]
		if end < len(all) {
			out.NextPageToken = strconv.Itoa(end)
		}
	}
	for _, n := range out.Notifications {
		n.Decision = "" // GetNotification has it
	}
	return out, nil
}

// GetNotification implements the RPC.
func (s *Server) GetNotification(ctx context.Context, req *notifyv1.GetNotificationRequest) (*notifyv1.GetNotificationResponse, error) {
	if !validNotificationID(req.GetId()) {
		return nil, errs.Invalid("id", "is not a notification id")
	}
	n, err := s.app.Notification(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return &notifyv1.GetNotificationResponse{Notification: n}, nil
}

func validNotificationID(id string) bool {
	var v errs.Violations
	ident.Check(&v, "id", id)
	return v.Len() == 0
}

// AcknowledgeEpisode implements the RPC.
func (s *Server) AcknowledgeEpisode(ctx context.Context, req *notifyv1.AcknowledgeEpisodeRequest) (*notifyv1.AcknowledgeEpisodeResponse, error) {
	var v errs.Violations
	ident.Check(&v, "group_id", req.GetGroupId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.app.Acknowledge(ctx, req.GetGroupId(), req.GetEpisode(), req.GetComment()); err != nil {
		return nil, err
	}
	return &notifyv1.AcknowledgeEpisodeResponse{}, nil
}

// ListReceivers implements the RPC: settings as configured, in which
// credentials are references (the configuration refuses literal ones).
func (s *Server) ListReceivers(ctx context.Context, _ *notifyv1.ListReceiversRequest) (*notifyv1.ListReceiversResponse, error) {
	out := &notifyv1.ListReceiversResponse{}
	for _, r := range s.app.Routing().Receivers {
		b, err := json.Marshal(r.Settings)
		if err != nil {
			return nil, err
		}
		out.Receivers = append(out.Receivers, &notifyv1.Receiver{Name: r.Name, Kind: r.Kind, Settings: string(b)})
	}
	return out, nil
}

// PreviewNotification implements the RPC.
func (s *Server) PreviewNotification(ctx context.Context, req *notifyv1.PreviewNotificationRequest) (*notifyv1.PreviewNotificationResponse, error) {
	r, ok := s.app.Routing().Receiver(req.GetReceiver())
	if !ok {
		return nil, &errs.NotFoundError{Kind: "receiver", ID: req.GetReceiver()}
	}
	previews, err := render.Preview(r.Kind, s.tmpl[r.Name], s.ropts)
	if err != nil {
		return nil, err
	}
	out := &notifyv1.PreviewNotificationResponse{}
	for _, p := range previews {
		out.Previews = append(out.Previews, previewProto(p))
	}
	return out, nil
}

func previewProto(p render.Rendered) *notifyv1.Preview {
	return &notifyv1.Preview{Sample: p.Sample, Subject: p.Message.Subject, Text: p.Message.Text, Html: p.Message.HTML,
		Blocks: string(p.Message.Blocks), Warnings: p.Warnings}
}

// CreateSilence implements the RPC.
func (s *Server) CreateSilence(ctx context.Context, req *notifyv1.CreateSilenceRequest) (*notifyv1.CreateSilenceResponse, error) {
	var starts, ends time.Time
	if req.GetStartsAt() != nil {
		starts = req.GetStartsAt().AsTime()
	}
	if req.GetEndsAt() != nil {
		ends = req.GetEndsAt().AsTime()
	}
	if req.GetEndsAt() != nil && req.GetDuration() != nil {
		return nil, errs.Invalid("duration", "give ends_at or duration, not both")
	}
	sil, err := s.app.CreateSilence(ctx, req.GetRequestId(), req.GetMatchers(), starts, ends, req.GetDuration().AsDuration(), req.GetComment())
	if err != nil {
		return nil, err
	}
	return &notifyv1.CreateSilenceResponse{Silence: sil}, nil
}

// ExpireSilence implements the RPC.
func (s *Server) ExpireSilence(ctx context.Context, req *notifyv1.ExpireSilenceRequest) (*notifyv1.ExpireSilenceResponse, error) {
	var v errs.Violations
	ident.Check(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	sil, err := s.app.ExpireSilence(ctx, req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &notifyv1.ExpireSilenceResponse{Silence: sil}, nil
}

// ListSilences implements the RPC: the configuration's, then the API's.
func (s *Server) ListSilences(ctx context.Context, req *notifyv1.ListSilencesRequest) (*notifyv1.ListSilencesResponse, error) {
	now := time.Now()
	out := &notifyv1.ListSilencesResponse{}
	for _, c := range s.app.ConfigSilences(now) {
		if c.GetState() != "expired" || req.GetAll() {
			out.Silences = append(out.Silences, c)
		}
	}
	if s.silences != nil {
		out.Silences = append(out.Silences, s.silences.List(now, req.GetAll())...)
	}
	return out, nil
}

// TestReceiver implements the RPC.
func (s *Server) TestReceiver(ctx context.Context, req *notifyv1.TestReceiverRequest) (*notifyv1.TestReceiverResponse, error) {
	return s.app.TestReceiver(ctx, req.GetReceiver())
}

// ListRoutes implements the RPC.
func (s *Server) ListRoutes(ctx context.Context, _ *notifyv1.ListRoutesRequest) (*notifyv1.ListRoutesResponse, error) {
	out := &notifyv1.ListRoutesResponse{}
	var walk func(r *routing.Route, depth uint32)
	walk = func(r *routing.Route, depth uint32) {
		if r == nil {
			return
		}
		pr := &notifyv1.Route{Id: r.ID(), Name: r.Name, Path: r.Path, Depth: depth, Receivers: r.Receivers, Continue: r.Continue, GroupBy: r.GroupBy,
			GroupWait: durationpb.New(r.GroupWait), GroupInterval: durationpb.New(r.GroupInterval), RepeatInterval: durationpb.New(r.RepeatInterval),
			Cooldown: durationpb.New(r.Cooldown)}
		for _, m := range r.Matchers {
			pr.Matchers = append(pr.Matchers, m.String())
		}
		if e := r.Escalation; e != nil {
			pr.EscalationReceivers, pr.EscalationAfter = e.Receivers, durationpb.New(e.After)
		}
		out.Routes = append(out.Routes, pr)
		for _, c := range r.Routes {
			walk(c, depth+1)
		}
	}
	walk(s.app.Routing().Route, 0)
	return out, nil
}
