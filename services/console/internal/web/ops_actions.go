package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
)

// The operations pages' actions: post an update on an incident of the
// status page, resolve it; declare a freeze, and, as a second person, let
// someone's promotions through one. Each is a form calling the API as the
// signed-in user; the service decides.

func (h *Handler) registerOpsActions(mux *http.ServeMux) {
	mux.HandleFunc("POST /incidents/{id}/update", h.authed(h.incidentUpdate))
	mux.HandleFunc("POST /incidents/{id}/resolve", h.authed(h.incidentResolve))
	mux.HandleFunc("POST /freezes", h.authed(h.declareFreeze))
	mux.HandleFunc("POST /freezes/{id}/override", h.authed(h.overrideFreeze))
	mux.HandleFunc("POST /silences", h.authed(h.createSilence))
	mux.HandleFunc("POST /silences/{id}/expire", h.authed(h.expireSilence))
	mux.HandleFunc("POST /episodes/ack", h.authed(h.ackEpisode))
}

// createSilence mutes what its matchers (one per line, Alertmanager's
// syntax) match for a duration, with a comment.
func (h *Handler) createSilence(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := time.ParseDuration(strings.TrimSpace(r.PostForm.Get("duration")))
	if err != nil || d <= 0 {
		h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("duration %q: a positive duration such as 2h or 30m", r.PostForm.Get("duration")))
		return
	}
	var matchers []string
	for _, m := range strings.Split(r.PostForm.Get("matchers"), "\n") {
		if m = strings.TrimSpace(m); m != "" {
			matchers = append(matchers, m)
		}
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := notifyv1.NewNotifyServiceClient(h.opts.Conn).CreateSilence(ctx, &notifyv1.CreateSilenceRequest{
		RequestId: r.PostForm.Get("request_id"), Matchers: matchers, Duration: durationpb.New(d), Comment: r.PostForm.Get("comment")})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/notifications?done="+urlQuery("silence "+resp.GetSilence().GetId()+" created"), http.StatusSeeOther)
}

// expireSilence ends a silence now, with a reason.
func (h *Handler) expireSilence(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := notifyv1.NewNotifyServiceClient(h.opts.Conn).ExpireSilence(ctx, &notifyv1.ExpireSilenceRequest{Id: id, Reason: r.PostForm.Get("reason")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/notifications?done="+urlQuery("silence "+id+" expired"), http.StatusSeeOther)
}

// ackEpisode acknowledges an episode of a notification's group: its escalation stops.
func (h *Handler) ackEpisode(w http.ResponseWriter, r *http.Request, s *session) {
	group, episode := r.PostForm.Get("group_id"), r.PostForm.Get("episode")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := notifyv1.NewNotifyServiceClient(h.opts.Conn).AcknowledgeEpisode(ctx, &notifyv1.AcknowledgeEpisodeRequest{GroupId: group, Episode: episode, Comment: r.PostForm.Get("comment")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/notifications?done="+urlQuery(episode+" acknowledged"), http.StatusSeeOther)
}

// incidentUpdate posts an update (investigating, identified, monitoring) on an open incident.
func (h *Handler) incidentUpdate(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	st, ok := enumtext.Parse[notifyv1.IncidentStatus](r.PostForm.Get("status"))
	if !ok {
		h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("status %q: investigating, identified or monitoring", r.PostForm.Get("status")))
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := notifyv1.NewStatusServiceClient(h.opts.Conn).AddIncidentUpdate(ctx, &notifyv1.AddIncidentUpdateRequest{
		RequestId: r.PostForm.Get("request_id"), IncidentId: id, Status: st, Body: r.PostForm.Get("body")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/alerts?done="+urlQuery("update posted on "+id), http.StatusSeeOther)
}

// incidentResolve resolves an open incident with a last update.
func (h *Handler) incidentResolve(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := notifyv1.NewStatusServiceClient(h.opts.Conn).ResolveIncident(ctx, &notifyv1.ResolveIncidentRequest{
		RequestId: r.PostForm.Get("request_id"), IncidentId: id, Body: r.PostForm.Get("body")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/alerts?done="+urlQuery(id+" resolved"), http.StatusSeeOther)
}

// formTime is a datetime-local field's value, read as UTC.
func formTime(field, v string) (*timestamppb.Timestamp, error) {
	t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(v), time.UTC)
	if err != nil {
		return nil, fmt.Errorf("%s %q: a date and time, 2006-01-02T15:04 (UTC)", field, v)
	}
	return timestamppb.New(t), nil
}

// declareFreeze declares a one-off freeze of environments (comma-separated; empty: all).
func (h *Handler) declareFreeze(w http.ResponseWriter, r *http.Request, s *session) {
	start, err := formTime("start", r.PostForm.Get("start"))
	if err != nil {
		h.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	end, err := formTime("end", r.PostForm.Get("end"))
	if err != nil {
		h.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	var envs []string
	for _, e := range strings.Split(r.PostForm.Get("environments"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			envs = append(envs, e)
		}
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := changev1.NewWindowServiceClient(h.opts.Conn).CreateFreeze(ctx, &changev1.CreateFreezeRequest{Freeze: &changev1.Freeze{
		Id: strings.TrimSpace(r.PostForm.Get("id")), Environments: envs, Reason: r.PostForm.Get("reason"), Start: start, End: end}})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/windows?done="+urlQuery("freeze "+resp.GetFreeze().GetId()+" declared"), http.StatusSeeOther)
}

// overrideFreeze lets one person's promotions to an environment through a
// freeze (granted by the signed-in user: never for themselves).
func (h *Handler) overrideFreeze(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := changev1.NewWindowServiceClient(h.opts.Conn).OverrideFreeze(ctx, &changev1.OverrideFreezeRequest{
		FreezeId: id, Environment: strings.TrimSpace(r.PostForm.Get("environment")), RequestedBy: strings.TrimSpace(r.PostForm.Get("for")),
		Reason: r.PostForm.Get("reason")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/windows?done="+urlQuery(fmt.Sprintf("override of %s for %s granted", id, r.PostForm.Get("for"))), http.StatusSeeOther)
}
