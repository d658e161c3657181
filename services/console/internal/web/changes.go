package web

import (
	"errors"
	"net/http"
	"strings"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
)

// changes lists change requests (newest first; by environment), with the
// approvals each still misses.
func (h *Handler) changes(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := changev1.NewChangeServiceClient(h.opts.Conn).List(ctx, &changev1.ListRequest{Environment: strings.TrimSpace(q.Get("env")),
		PageSize: 50, PageToken: q.Get("page"), ReviewOverdue: q.Get("overdue") != ""})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	next := nextPage(r, "/changes", resp.GetNextPageToken())
	h.render(w, r, s, http.StatusOK, "changes", map[string]any{"Changes": resp.GetChanges(), "Env": q.Get("env"), "Next": next,
		"Overdue": q.Get("overdue") != "", "Notice": q.Get("done")})
}

// approveChange approves a change request as the signed-in user, in one of their roles.
func (h *Handler) approveChange(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := changev1.NewChangeServiceClient(h.opts.Conn).Approve(ctx, &changev1.ApproveRequest{ChangeId: id, As: r.PostForm.Get("as"), Comment: r.PostForm.Get("comment")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/changes?done="+urlQuery(id+" approved"), http.StatusSeeOther)
}

// reviewChange passes or rejects a change request's review (a normal
// change's, before its approvals), with notes, as the signed-in user.
func (h *Handler) reviewChange(w http.ResponseWriter, r *http.Request, s *session) {
	id, outcome := r.PathValue("id"), r.PostForm.Get("outcome")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := changev1.NewChangeServiceClient(h.opts.Conn).Review(ctx, &changev1.ReviewRequest{ChangeId: id, Outcome: outcome, Notes: r.PostForm.Get("notes")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/changes?done="+urlQuery(id+" review "+outcome), http.StatusSeeOther)
}

// scheduleChange books an approved change into a window given as a start
// and an end (UTC, from the form's datetime-local fields).
func (h *Handler) scheduleChange(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	start, err1 := formTime("start", r.PostForm.Get("start"))
	end, err2 := formTime("end", r.PostForm.Get("end"))
	if err := errors.Join(err1, err2); err != nil {
		h.fail(w, r, s, http.StatusBadRequest, "the window's "+err.Error())
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	req := &changev1.ScheduleRequest{ChangeId: id, Start: start, End: end, Maintenance: r.PostForm.Get("maintenance") != ""}
	if _, err := changev1.NewChangeServiceClient(h.opts.Conn).Schedule(ctx, req); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/changes?done="+urlQuery(id+" scheduled"), http.StatusSeeOther)
}
