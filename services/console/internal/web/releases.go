package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

func (h *Handler) releaseClient() releasev1.ReleaseServiceClient {
	return releasev1.NewReleaseServiceClient(h.opts.Conn)
}

// releases lists releases, newest first, filtered by product, status and
// text, a page at a time (the release service's own pagination).
func (h *Handler) releases(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	req := &releasev1.ListReleasesRequest{Product: strings.TrimSpace(q.Get("product")), Text: strings.TrimSpace(q.Get("q")),
		Environment: strings.TrimSpace(q.Get("env")), PageSize: 25, PageToken: q.Get("page")}
	if st := q.Get("status"); st != "" {
		v, ok := releasev1.ReleaseStatus_value["RELEASE_STATUS_"+strings.ToUpper(strings.ReplaceAll(st, " ", "_"))]
		if !ok {
			h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("status %q is not a release status", st))
			return
		}
		req.Status = releasev1.ReleaseStatus(v)
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := h.releaseClient().ListReleases(ctx, req)
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	next := nextPage(r, "/releases", resp.GetNextPageToken())
	h.render(w, r, s, http.StatusOK, "releases", map[string]any{
		"Releases": resp.GetReleases(), "Total": resp.GetTotal(), "Next": next,
		"Product": req.Product, "Q": req.Text, "Status": q.Get("status"), "Env": req.Environment,
		"Statuses": []string{"planned", "approved", "deploying", "deployed", "failed", "rolled back", "cancelled"},
	})
}

// release shows one release: its plan, each environment's status and
// approvals, its changes, and the timeline of its events with their actors.
func (h *Handler) release(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	at, ok := h.atParam(w, r, s) // time travel: the release as of this log position
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	c := h.releaseClient()
	rel, err := c.GetRelease(ctx, &releasev1.GetReleaseRequest{ReleaseId: id, AsOfPosition: at.Position, AsOfTime: at.Time})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	hist, err := c.GetHistory(ctx, &releasev1.GetHistoryRequest{ReleaseId: id})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	entries := hist.GetEntries()
	asOf := ""
	if at.set() {
		kept := entries[:0:0]
		for _, e := range entries {
			if at.Position > 0 && e.GetPosition() <= at.Position || at.Time != nil && !e.GetTime().AsTime().After(at.Time.AsTime()) {
				kept = append(kept, e)
				asOf = stamp(e.GetTime())
			}
		}
		entries = kept
	}
	// The gates with their evidence, the change requests and the notes, from
	// their services; one the principal may not read is left out.
	var runs []*gatev1.GateRun
	if g, err := gatev1.NewGateServiceClient(h.opts.Conn).GetGateStatus(ctx, &gatev1.GetGateStatusRequest{ReleaseId: id, AsOfPosition: at.Position, AsOfTime: at.Time}); err == nil {
		runs = g.GetRuns()
	}
	var changes []*changev1.ChangeRequest
	if c, err := changev1.NewChangeServiceClient(h.opts.Conn).List(ctx, &changev1.ListRequest{ReleaseId: id, PageSize: 20, AsOfPosition: at.Position, AsOfTime: at.Time}); err == nil {
		changes = c.GetChanges()
	}
	notes := ""
	if !at.set() {
		if n, err := c.GetReleaseNotes(ctx, &releasev1.GetReleaseNotesRequest{ReleaseId: id}); err == nil {
			notes = n.GetMarkdown()
		}
	}
	h.render(w, r, s, http.StatusOK, "release", map[string]any{"Release": rel.GetRelease(), "History": entries, "Notice": r.URL.Query().Get("done"),
		"At": at, "AsOf": asOf, "Gates": runs, "ChangeRequests": changes, "Notes": notes})
}

// asOf is a page's ?at=: a log position (digits) or a moment (RFC 3339, or
// a datetime-local "2006-01-02T15:04" read as UTC); the zero value is now.
type asOf struct {
	Raw      string // as given, for links
	Position uint64
	Time     *timestamppb.Timestamp
}

// Label is how the page says which past it shows.
func (a asOf) Label() string {
	if a.Time != nil {
		return a.Time.AsTime().UTC().Format("2006-01-02 15:04:05Z")
	}
	return fmt.Sprintf("log position %d", a.Position)
}

// set reports whether the page shows a past state.
func (a asOf) set() bool { return a.Raw != "" }

// atParam reads the page's ?at=; a malformed one is answered with 400 (ok false).
func (h *Handler) atParam(w http.ResponseWriter, r *http.Request, s *session) (asOf, bool) {
	v := strings.TrimSpace(r.URL.Query().Get("at"))
	if v == "" {
		return asOf{}, true
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 0 {
		return asOf{Raw: v, Position: n}, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return asOf{Raw: v, Time: timestamppb.New(t)}, true
		}
	}
	h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("at %q is neither a log position nor a moment (RFC 3339, or 2006-01-02T15:04 in UTC)", v))
	return asOf{}, false
}

// releaseLive streams `changed` each time the release changes (WatchRelease):
// the page's script then loads it again.
func (h *Handler) releaseLive(w http.ResponseWriter, r *http.Request, s *session) {
	live(h, w, r, s, func(ctx context.Context) (interface {
		Recv() (*releasev1.WatchReleaseResponse, error)
	}, error) {
		return h.releaseClient().WatchRelease(ctx, &releasev1.WatchReleaseRequest{ReleaseId: r.PathValue("id")})
	}, func(m *releasev1.WatchReleaseResponse) uint64 { return m.GetRelease().GetAggregateVersion() }, nil)
}

// approve approves the release for an environment, as the session's principal.
func (h *Handler) approve(w http.ResponseWriter, r *http.Request, s *session) {
	id, env := r.PathValue("id"), r.PostForm.Get("env")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := h.releaseClient().Approve(ctx, &releasev1.ApproveRequest{ReleaseId: id, Environment: env, Comment: r.PostForm.Get("comment"), RequestId: r.PostForm.Get("request_id")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/releases/"+id+"?done="+urlQuery("approved for "+env), http.StatusSeeOther)
}

// promote asks for the release to be deployed to an environment.
func (h *Handler) promote(w http.ResponseWriter, r *http.Request, s *session) {
	id, env := r.PathValue("id"), r.PostForm.Get("env")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := h.releaseClient().Promote(ctx, &releasev1.PromoteRequest{ReleaseId: id, Environment: env, RequestId: r.PostForm.Get("request_id")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/releases/"+id+"?done="+urlQuery("promotion to "+env+" requested"), http.StatusSeeOther)
}
