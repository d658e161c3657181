package web

import (
	"net/http"
	"strings"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// flags lists an environment's flags, each with its kill switch.
func (h *Handler) flags(w http.ResponseWriter, r *http.Request, s *session) {
	env := strings.TrimSpace(r.URL.Query().Get("env"))
	if env == "" {
		env = "production"
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := flagv1.NewFlagServiceClient(h.opts.Conn).ListFlags(ctx, &flagv1.ListFlagsRequest{Environment: env})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	h.render(w, r, s, http.StatusOK, "flags", map[string]any{"Env": env, "Flags": resp.GetFlags(), "Version": resp.GetVersion(),
		"Notice": r.URL.Query().Get("done")})
}

// killFlag turns a flag off in its environment at once (KillFlag), with a reason.
func (h *Handler) killFlag(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	ctx, cancel := s.ctx(r)
	defer cancel()
	if _, err := flagv1.NewFlagServiceClient(h.opts.Conn).KillFlag(ctx, &flagv1.KillFlagRequest{Environment: env, Key: key, Reason: r.PostForm.Get("reason")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/flags?env="+urlQuery(env)+"&done="+urlQuery(key+" killed in "+env), http.StatusSeeOther)
}
