package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	auditv1 "github.com/penguinmails/floe/proto/gen/floe/audit/v1"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
)

// audit shows the audit trail (the checkpoint key, how much of the log the
// latest checkpoint signs) and, for a period, the compliance report.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	info, err := auditv1.NewAuditServiceClient(h.opts.Conn).GetAuditInfo(ctx, &auditv1.GetAuditInfoRequest{})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	q := r.URL.Query()
	now := h.opts.Now().UTC()
	from, to := q.Get("from"), q.Get("to")
	if from == "" {
		from = now.AddDate(0, 0, -30).Format(time.DateOnly)
	}
	if to == "" {
		to = now.Format(time.DateOnly)
	}
	data := map[string]any{"Info": info, "From": from, "To": to, "Envs": q.Get("envs"), "Notice": q.Get("done"),
		"Unsigned": info.GetLogSize() - min(info.GetSignedSize(), info.GetLogSize())}
	// A range verified by the audit service (?verify=1&vfrom=&vto=).
	if q.Get("verify") != "" {
		vf, vt, ok := h.positionRange(w, r, s, q.Get("vfrom"), q.Get("vto"))
		if !ok {
			return
		}
		v, err := auditv1.NewAuditServiceClient(h.opts.Conn).VerifyLog(ctx, &auditv1.VerifyLogRequest{FromPosition: vf, ToPosition: vt})
		if err != nil {
			h.failRPC(w, r, s, err)
			return
		}
		data["Verify"], data["VFrom"], data["VTo"] = v, q.Get("vfrom"), q.Get("vto")
	}
	if q.Get("report") != "" {
		f, errF := time.Parse(time.DateOnly, from)
		t, errT := time.Parse(time.DateOnly, to)
		if errF != nil || errT != nil {
			h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("from %q and to %q must be dates (YYYY-MM-DD)", from, to))
			return
		}
		var envs []string
		for _, e := range strings.Split(q.Get("envs"), ",") {
			if e = strings.TrimSpace(e); e != "" {
				envs = append(envs, e)
			}
		}
		rep, err := changev1.NewComplianceServiceClient(h.opts.Conn).GetComplianceReport(ctx, &changev1.GetComplianceReportRequest{
			From: timestamppb.New(f), To: timestamppb.New(t.Add(24*time.Hour - time.Nanosecond)), Environments: envs, Format: "markdown"})
		if err != nil {
			h.failRPC(w, r, s, err)
			return
		}
		if q.Get("report") == "download" {
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="floe-compliance-%s-%s.md"`, from, to))
			_, _ = w.Write([]byte(rep.GetRendered()))
			return
		}
		data["Report"] = rep.GetRendered()
	}
	h.render(w, r, s, http.StatusOK, "audit", data)
}

// checkpoint asks the audit service to sign the log as it is now.
func (h *Handler) checkpoint(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := auditv1.NewAuditServiceClient(h.opts.Conn).CreateCheckpoint(ctx, &auditv1.CreateCheckpointRequest{})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/audit?done="+urlQuery(fmt.Sprintf("checkpoint signed: %d events", resp.GetSignedSize())), http.StatusSeeOther)
}

// positionRange parses a from..to pair of log positions (empty: 0, the
// whole log on that side); a malformed one is answered with 400.
func (h *Handler) positionRange(w http.ResponseWriter, r *http.Request, s *session, from, to string) (uint64, uint64, bool) {
	parse := func(v string) (uint64, error) {
		if v = strings.TrimSpace(v); v == "" {
			return 0, nil
		}
		return strconv.ParseUint(v, 10, 64)
	}
	f, errF := parse(from)
	t, errT := parse(to)
	if errF != nil || errT != nil {
		h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("positions %q and %q must be whole numbers (empty: from the first, to the last)", from, to))
		return 0, 0, false
	}
	return f, t, true
}

// bundle streams a self-verifying bundle of log positions from the audit
// service (ExportBundle) as a download, chunk by chunk.
func (h *Handler) bundle(w http.ResponseWriter, r *http.Request, s *session) {
	from, to, ok := h.positionRange(w, r, s, r.URL.Query().Get("vfrom"), r.URL.Query().Get("vto"))
	if !ok {
		return
	}
	ctx := withToken(r.Context(), s)
	stream, err := auditv1.NewAuditServiceClient(h.opts.Conn).ExportBundle(ctx, &auditv1.ExportBundleRequest{FromPosition: from, ToPosition: to})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	first, err := stream.Recv() // an error (a refused range, no permission) is answered as a page
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="floe-audit-%d-%d.jsonl"`, max(from, 1), to))
	for m := first; ; {
		if _, err := w.Write(m.GetData()); err != nil || m.GetDone() {
			return
		}
		if m, err = stream.Recv(); err != nil {
			return // the download is cut short: the bundle's header states its range, so a verifier sees it is truncated
		}
	}
}
