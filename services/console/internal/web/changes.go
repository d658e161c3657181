package web

import (
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
