package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// flags lists an environment's flags, each with its kill switch.
func (h *Handler) flags(w http.ResponseWriter, r *http.Request, s *session) {
	env := strings.TrimSpace(r.URL.Query().Get("env"))
	if env == "" {
		env = "production"
	}
	at, ok := h.atParam(w, r, s) // time travel: the flags as of this log position
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := flagv1.NewFlagServiceClient(h.opts.Conn).ListFlags(ctx, &flagv1.ListFlagsRequest{Environment: env, AsOfPosition: at.Position, AsOfTime: at.Time})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	h.render(w, r, s, http.StatusOK, "flags", map[string]any{"Env": env, "Flags": resp.GetFlags(), "Version": resp.GetVersion(),
		"Notice": r.URL.Query().Get("done"), "At": at})
}

// flag shows one flag (now, or as of ?at=): its definition, rollout, kill
// and schedule, its history (each entry linking to the flag as of it), and
// the rollout form.
func (h *Handler) flag(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	at, ok := h.atParam(w, r, s)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	c := flagv1.NewFlagServiceClient(h.opts.Conn)
	f, err := c.GetFlag(ctx, &flagv1.GetFlagRequest{Environment: env, Key: key, AsOfPosition: at.Position, AsOfTime: at.Time})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	hist, err := c.GetFlagHistory(ctx, &flagv1.GetFlagHistoryRequest{Environment: env, Key: key})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	variants := make([]string, 0, len(f.GetFlag().GetVariants()))
	for v := range f.GetFlag().GetVariants() {
		variants = append(variants, v)
	}
	slices.Sort(variants)
	h.render(w, r, s, http.StatusOK, "flag", map[string]any{"Env": env, "F": f.GetFlag(), "Variants": variants, "History": hist.GetEntries(),
		"Rollout": rolloutText(f.GetFlag()), "At": at, "Notice": r.URL.Query().Get("done"), "VariantsJSON": variantsJSON(f.GetFlag())})
}

// rolloutText is a flag's rollout in words.
func rolloutText(f *flagv1.Flag) string {
	r := f.GetRollout()
	switch st := r.GetStrategy().(type) {
	case *flagv1.Rollout_Immediate:
		return r.GetVariant() + " for everyone"
	case *flagv1.Rollout_Percentage:
		return fmt.Sprintf("%s for %d %%", r.GetVariant(), st.Percentage.GetPercent())
	case *flagv1.Rollout_UserSegment:
		return r.GetVariant() + " for a segment"
	case *flagv1.Rollout_Gradual:
		return r.GetVariant() + " ramped over time"
	}
	if f.GetTargeting() != "" {
		return "targeting rules"
	}
	return "none: everyone gets " + f.GetDefaultVariant()
}

// rollout sets a flag's percentage rollout (SetRollout), with a reason.
func (h *Handler) rollout(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	pct, err := strconv.ParseUint(strings.TrimSpace(r.PostForm.Get("percent")), 10, 32)
	if err != nil || pct > 100 {
		h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("percent %q: a whole number from 0 to 100", r.PostForm.Get("percent")))
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	ro := &flagv1.Rollout{Variant: r.PostForm.Get("variant"), Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: uint32(pct)}}}
	if _, err := flagv1.NewFlagServiceClient(h.opts.Conn).SetRollout(ctx, &flagv1.SetRolloutRequest{Environment: env, Key: key, Rollout: ro, Reason: r.PostForm.Get("reason")}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/flags/"+url.PathEscape(env)+"/"+url.PathEscape(key)+"?done="+urlQuery(fmt.Sprintf("%s rolled out to %d %%", ro.GetVariant(), pct)), http.StatusSeeOther)
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

// editFlag changes a flag's definition — description, owner, variants,
// default variant, targeting — with a reason (UpdateFlag), against the
// position the form was made from: a flag changed since is a conflict, and
// the page says so rather than overwrite someone else's change.
func (h *Handler) editFlag(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	expected, err := strconv.ParseUint(r.PostForm.Get("expected_position"), 10, 64)
	if err != nil {
		h.fail(w, r, s, http.StatusBadRequest, "the form lacks the flag's position: load the flag's page again")
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	c := flagv1.NewFlagServiceClient(h.opts.Conn)
	cur, err := c.GetFlag(ctx, &flagv1.GetFlagRequest{Environment: env, Key: key})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	f := proto.Clone(cur.GetFlag()).(*flagv1.Flag)
	f.Description, f.Owner, f.DefaultVariant = r.PostForm.Get("description"), r.PostForm.Get("owner"), r.PostForm.Get("default_variant")
	// A rollout is compiled into the targeting the form shows: the same
	// targeting keeps the rollout, another one replaces it.
	targeting := strings.TrimSpace(r.PostForm.Get("targeting"))
	switch {
	case f.GetRollout() != nil && targeting == strings.TrimSpace(cur.GetFlag().GetTargeting()):
		f.Targeting = ""
	default:
		f.Rollout, f.Targeting = nil, targeting
	}
	var parsed flagv1.Flag
	if err := protojson.Unmarshal([]byte(`{"variants":`+cmp.Or(strings.TrimSpace(r.PostForm.Get("variants")), "{}")+`}`), &parsed); err != nil {
		h.fail(w, r, s, http.StatusBadRequest, "variants: a JSON object of variant names to values ("+err.Error()+")")
		return
	}
	f.Variants = parsed.GetVariants()
	if _, err := c.UpdateFlag(ctx, &flagv1.UpdateFlagRequest{Flag: f, Reason: r.PostForm.Get("reason"), ExpectedPosition: expected}); err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/flags/"+url.PathEscape(env)+"/"+url.PathEscape(key)+"?done="+urlQuery(key+" updated"), http.StatusSeeOther)
}

// variantsJSON is a flag's variants as the edit form shows them.
func variantsJSON(f *flagv1.Flag) string {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&flagv1.Flag{Variants: f.GetVariants()})
	if err != nil {
		return "{}"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || m["variants"] == nil {
		return "{}"
	}
	return string(m["variants"])
}
