package window

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Policy is what CheckPromotion decides with: the windows and freezes of
// every environment, and who may override a freeze.
type Policy struct {
	Windows []Window
	Freezes []Freeze
	// OverrideRoles are the roles of which the overriding person must hold
	// one (in the environment) for a freeze override to count. Empty: no
	// freeze can be overridden.
	OverrideRoles []string
}

// Validate returns an *errs.InvalidArgumentError naming every invalid field
// ("windows[0].duration", "freezes[2].end", "override_roles[0]"), including
// a window or freeze id used twice, or nil.
func (p Policy) Validate() error {
	var v errs.Violations
	ids := map[string]bool{}
	for i, w := range p.Windows {
		f := fmt.Sprintf("windows[%d]", i)
		v.Merge(f, w.Validate())
		if ids[w.ID] {
			v.Add(f+".id", "window %s is defined twice", ident.Quote(w.ID))
		}
		ids[w.ID] = true
	}
	ids = map[string]bool{}
	for i, fr := range p.Freezes {
		f := fmt.Sprintf("freezes[%d]", i)
		v.Merge(f, fr.Validate())
		if ids[fr.ID] {
			v.Add(f+".id", "freeze %s is defined twice", ident.Quote(fr.ID))
		}
		ids[fr.ID] = true
	}
	for i, r := range p.OverrideRoles {
		ident.Check(&v, fmt.Sprintf("override_roles[%d]", i), r)
	}
	return v.Err()
}

// PromotionKind says what kind of promotion is checked.
type PromotionKind int

// The kinds of promotion. Only a rollback is treated differently: it is
// never blocked. An unknown kind is checked like a normal promotion.
const (
	// PromotionNormal is a promotion a person asked for.
	PromotionNormal PromotionKind = iota + 1
	// PromotionAutomatic is one a pipeline or schedule started; windows and
	// freezes hold it like a normal one.
	PromotionAutomatic
	// PromotionRollback returns an environment to an earlier release.
	PromotionRollback
)

// String is the kind's name: "normal", "automatic", "rollback".
func (k PromotionKind) String() string {
	switch k {
	case PromotionNormal:
		return "normal"
	case PromotionAutomatic:
		return "automatic"
	case PromotionRollback:
		return "rollback"
	}
	return fmt.Sprintf("PromotionKind(%d)", int(k))
}

// Override lifts one freeze for a promotion: a second person, holding one
// of the policy's override roles in the environment, grants it with a
// reason. Granting it is an event of its own (FreezeOverridden); this type
// is that event's content as CheckPromotion needs it.
type Override struct {
	// FreezeID is the freeze overridden.
	FreezeID string
	// Environment is where the override holds.
	Environment string
	// Reason says why the freeze is overridden.
	Reason string
	// RequestedBy is the principal whose promotion the override is for.
	RequestedBy string
	// OverriddenBy is the second person, who grants the override; never
	// RequestedBy.
	OverriddenBy string
	// Roles are the roles OverriddenBy holds in Environment.
	Roles []string
	// GrantedAt is when the override was granted. It lifts only the freeze
	// period in effect then: a recurring freeze's next occurrence, or a
	// freeze declared again, needs a new override.
	GrantedAt time.Time
	// ExpiresAt, when set, ends the override earlier than the freeze period.
	ExpiresAt time.Time
}

// Validate returns an *errs.InvalidArgumentError naming every invalid field
// ("freeze_id", "environment", "reason", "requested_by", "overridden_by",
// "roles", "granted_at", "expires_at"), or nil. Whether the override applies
// to a promotion is CheckPromotion's to say.
func (o Override) Validate() error {
	var v errs.Violations
	ident.Check(&v, "freeze_id", o.FreezeID)
	ident.Check(&v, "environment", o.Environment)
	checkText(&v, "reason", o.Reason, MaxTextLen)
	checkText(&v, "requested_by", o.RequestedBy, MaxPrincipalLen)
	checkText(&v, "overridden_by", o.OverriddenBy, MaxPrincipalLen)
	if o.OverriddenBy != "" && o.OverriddenBy == o.RequestedBy {
		v.Add("overridden_by", "must be a second person, not the requester %s", ident.Quote(o.RequestedBy))
	}
	if len(o.Roles) == 0 {
		v.Add("roles", "the overriding person's roles are required")
	}
	if o.GrantedAt.IsZero() {
		v.Add("granted_at", "is required")
	}
	if !o.ExpiresAt.IsZero() && !o.ExpiresAt.After(o.GrantedAt) {
		v.Add("expires_at", "must be after granted_at")
	}
	return v.Err()
}

// Code is the machine-readable kind of a Reason. The values are stable.
type Code string

// The codes of a Verdict's reasons. Refusing ones make the verdict a refusal.
const (
	// CodeRollback (allows): a rollback, which windows and freezes never block.
	CodeRollback Code = "ROLLBACK"
	// CodeNoWindows (allows): the environment has no windows, so it is always open.
	CodeNoWindows Code = "NO_WINDOWS"
	// CodeInWindow (allows): WindowID is open until Until.
	CodeInWindow Code = "IN_WINDOW"
	// CodeFreezeOverridden (allows): FreezeID, in effect until Until, is
	// overridden by Principal.
	CodeFreezeOverridden Code = "FREEZE_OVERRIDDEN"
	// CodeFrozen (refuses): FreezeID is in effect until Until.
	CodeFrozen Code = "FROZEN"
	// CodeOutsideWindow (refuses): no window of the environment is open;
	// WindowID opens next, at NextOpen (both unset when none will).
	CodeOutsideWindow Code = "OUTSIDE_WINDOW"
	// CodeOverrideRejected (explains a refusal): the override given does not
	// lift FreezeID; Text says why.
	CodeOverrideRejected Code = "OVERRIDE_REJECTED"
	// CodeInvalidPolicy (refuses): a window or freeze of the environment is
	// invalid, so nothing is promoted there until it is fixed.
	CodeInvalidPolicy Code = "INVALID_POLICY"
)

// Refuses reports whether a reason with this code refuses the promotion.
func (c Code) Refuses() bool {
	return c == CodeFrozen || c == CodeOutsideWindow || c == CodeInvalidPolicy
}

// Reason is one finding of CheckPromotion: a code, the ids and times it is
// about, and a sentence for people.
type Reason struct {
	Code Code
	// FreezeID is the freeze of FROZEN, FREEZE_OVERRIDDEN and OVERRIDE_REJECTED.
	FreezeID string
	// WindowID is the open window of IN_WINDOW, the next one of OUTSIDE_WINDOW.
	WindowID string
	// Until is when the freeze lifts (FROZEN, FREEZE_OVERRIDDEN) or the
	// window closes (IN_WINDOW).
	Until time.Time
	// NextOpen is when the next window opens (OUTSIDE_WINDOW).
	NextOpen time.Time
	// Principal is who overrode the freeze (FREEZE_OVERRIDDEN).
	Principal string
	// Text says it in a sentence.
	Text string
}

// Verdict is CheckPromotion's answer.
type Verdict struct {
	// Allowed is true when no reason refuses.
	Allowed bool
	// Reasons are every finding, refusing or not, in a stable order:
	// rollback or policy, freezes, then windows.
	Reasons []Reason
	// Message says it all in a sentence or two for people.
	Message string
}

// Overridden returns the FREEZE_OVERRIDDEN reasons: the freezes an override
// lifted, each of which the caller records as a FreezeOverridden event.
func (v Verdict) Overridden() []Reason {
	var out []Reason
	for _, r := range v.Reasons {
		if r.Code == CodeFreezeOverridden {
			out = append(out, r)
		}
	}
	return out
}

// Err is nil for an allowed promotion, else an *errs.PreconditionError
// whose reasons are the sentences of every refusing or explaining reason and
// whose metadata carries "codes" (comma-separated), "freeze_id",
// "next_window_id" and "next_window_opens" (RFC 3339) where they apply.
func (v Verdict) Err() error {
	if v.Allowed {
		return nil
	}
	pe := &errs.PreconditionError{Metadata: map[string]string{}}
	var codes []string
	for _, r := range v.Reasons {
		if !r.Code.Refuses() && r.Code != CodeOverrideRejected {
			continue
		}
		pe.Reasons = append(pe.Reasons, r.Text)
		pe.Kinds = append(pe.Kinds, kindOf(r.Code))
		if !slices.Contains(codes, string(r.Code)) {
			codes = append(codes, string(r.Code))
		}
		if r.Code == CodeFrozen && pe.Metadata["freeze_id"] == "" {
			pe.Metadata["freeze_id"] = r.FreezeID
		}
		if r.Code == CodeOutsideWindow && r.WindowID != "" {
			pe.Metadata["next_window_id"] = r.WindowID
			pe.Metadata["next_window_opens"] = r.NextOpen.UTC().Format(time.RFC3339)
		}
	}
	pe.Metadata["codes"] = strings.Join(codes, ",")
	return pe
}

// CheckPromotion decides whether a promotion of the given kind to env may
// start at now, under p, with an optional freeze override:
//
//   - a rollback is always allowed;
//   - if a window or freeze of env is invalid, it is refused (fail closed);
//   - while a freeze of env is in effect it is refused, automatic promotions
//     included, unless override lifts that freeze at now: it names the
//     freeze and env, gives a reason, was granted during the freeze period in
//     effect and has not expired, by a person other than the requester who
//     holds one of p.OverrideRoles;
//   - an environment with windows must have one open at now; otherwise it is
//     refused and the verdict says when the next one opens. An override lifts
//     a freeze, never the windows. An environment without windows is open.
//
// Every finding is in the verdict, so a refusal lists all its causes.
func CheckPromotion(p Policy, env string, now time.Time, kind PromotionKind, override *Override) Verdict {
	if kind == PromotionRollback {
		return verdict(env, []Reason{{Code: CodeRollback, Text: "rollbacks are never blocked by windows or freezes"}})
	}
	type win struct {
		w  Window
		tt *timetable
	}
	type frz struct {
		f  Freeze
		cf *compiledFreeze
	}
	var (
		windows []win
		freezes []frz
		invalid []string
	)
	for _, w := range p.Windows {
		if w.Environment != env {
			continue
		}
		tt, err := w.compile()
		if err != nil {
			invalid = append(invalid, fmt.Sprintf("window %s: %v", ident.Quote(w.ID), err))
			continue
		}
		windows = append(windows, win{w, tt})
	}
	for _, f := range p.Freezes {
		if !f.AppliesTo(env) {
			continue
		}
		cf, err := f.compile()
		if err != nil {
			invalid = append(invalid, fmt.Sprintf("freeze %s: %v", ident.Quote(f.ID), err))
			continue
		}
		freezes = append(freezes, frz{f, cf})
	}
	if len(invalid) > 0 {
		return verdict(env, []Reason{{Code: CodeInvalidPolicy,
			Text: fmt.Sprintf("the windows and freezes of %s are invalid, so nothing is promoted there until they are fixed: %s", env, strings.Join(invalid, "; "))}})
	}

	var reasons []Reason
	overrideUsed := false
	for _, fz := range freezes {
		iv, ok := fz.cf.activeAt(now)
		if !ok {
			continue
		}
		until := formatTime(iv.End, fz.cf.loc)
		if override != nil && override.FreezeID == fz.f.ID {
			overrideUsed = true
			if problems := overrideProblems(p, env, now, iv, override); len(problems) > 0 {
				reasons = append(reasons,
					Reason{Code: CodeFrozen, FreezeID: fz.f.ID, Until: iv.End,
						Text: fmt.Sprintf("%s is frozen by freeze %s until %s", env, describe(fz.f.ID, fz.f.Reason), until)},
					Reason{Code: CodeOverrideRejected, FreezeID: fz.f.ID,
						Text: fmt.Sprintf("the override of freeze %s does not apply: %s", ident.Quote(fz.f.ID), strings.Join(problems, "; "))})
				continue
			}
			reasons = append(reasons, Reason{Code: CodeFreezeOverridden, FreezeID: fz.f.ID, Until: iv.End, Principal: override.OverriddenBy,
				Text: fmt.Sprintf("freeze %s, in effect until %s, is overridden by %s: %s", describe(fz.f.ID, fz.f.Reason), until, override.OverriddenBy, override.Reason)})
			continue
		}
		reasons = append(reasons, Reason{Code: CodeFrozen, FreezeID: fz.f.ID, Until: iv.End,
			Text: fmt.Sprintf("%s is frozen by freeze %s until %s", env, describe(fz.f.ID, fz.f.Reason), until)})
	}
	if override != nil && !overrideUsed && slices.ContainsFunc(reasons, func(r Reason) bool { return r.Code == CodeFrozen }) {
		reasons = append(reasons, Reason{Code: CodeOverrideRejected, FreezeID: override.FreezeID,
			Text: fmt.Sprintf("the override is for freeze %s, which is not in effect for %s now", ident.Quote(override.FreezeID), env)})
	}

	switch {
	case len(windows) == 0:
		reasons = append(reasons, Reason{Code: CodeNoWindows, Text: fmt.Sprintf("%s has no deployment windows, so it is always open", env)})
	default:
		var (
			open, next     *win
			openIv, nextIv Interval
		)
		for i := range windows {
			w := &windows[i]
			if iv, ok := w.tt.activeAt(now); ok && open == nil {
				open, openIv = w, iv
			}
			if iv, ok := w.tt.nextOpen(now); ok && (next == nil || iv.Start.Before(nextIv.Start)) {
				next, nextIv = w, iv
			}
		}
		switch {
		case open != nil:
			reasons = append(reasons, Reason{Code: CodeInWindow, WindowID: open.w.ID, Until: openIv.End,
				Text: fmt.Sprintf("window %s is open until %s", describe(open.w.ID, open.w.Name), formatTime(openIv.End, open.tt.loc))})
		case next != nil:
			reasons = append(reasons, Reason{Code: CodeOutsideWindow, WindowID: next.w.ID, NextOpen: nextIv.Start,
				Text: fmt.Sprintf("%s is outside its deployment windows; the next, %s, opens %s", env, describe(next.w.ID, next.w.Name), formatTime(nextIv.Start, next.tt.loc))})
		default:
			reasons = append(reasons, Reason{Code: CodeOutsideWindow,
				Text: fmt.Sprintf("%s is outside its deployment windows, and none of them opens again", env)})
		}
	}
	return verdict(env, reasons)
}

// overrideProblems lists why o does not lift the freeze period iv at now.
func overrideProblems(p Policy, env string, now time.Time, iv Interval, o *Override) []string {
	var problems []string
	if o.Environment != env {
		problems = append(problems, fmt.Sprintf("it is for environment %s, not %s", ident.Quote(o.Environment), env))
	}
	if strings.TrimSpace(o.Reason) == "" {
		problems = append(problems, "it gives no reason")
	}
	switch {
	case o.RequestedBy == "" || o.OverriddenBy == "":
		problems = append(problems, "it must name the requester and the overriding person")
	case o.OverriddenBy == o.RequestedBy:
		problems = append(problems, fmt.Sprintf("%s cannot override a freeze for their own promotion; a second person must", o.OverriddenBy))
	}
	if !slices.ContainsFunc(o.Roles, func(r string) bool { return slices.Contains(p.OverrideRoles, r) }) {
		if len(p.OverrideRoles) == 0 {
			problems = append(problems, "the policy names no role that may override a freeze")
		} else {
			problems = append(problems, fmt.Sprintf("%s holds none of the roles that may override a freeze (%s)", o.OverriddenBy, strings.Join(p.OverrideRoles, ", ")))
		}
	}
	switch {
	case o.GrantedAt.IsZero() || o.GrantedAt.After(now):
		problems = append(problems, "it has not been granted yet")
	case o.GrantedAt.Before(iv.Start):
		problems = append(problems, "it was granted before the current freeze period began")
	}
	if !o.ExpiresAt.IsZero() && !now.Before(o.ExpiresAt) {
		problems = append(problems, "it has expired")
	}
	return problems
}

// verdict assembles a Verdict from its reasons.
func verdict(env string, reasons []Reason) Verdict {
	v := Verdict{Allowed: true, Reasons: reasons}
	var refusing, other []string
	for _, r := range reasons {
		if r.Code.Refuses() || r.Code == CodeOverrideRejected {
			refusing = append(refusing, r.Text)
		} else {
			other = append(other, r.Text)
		}
		if r.Code.Refuses() {
			v.Allowed = false
		}
	}
	if v.Allowed {
		v.Message = fmt.Sprintf("promotion to %s allowed: %s", env, strings.Join(other, "; "))
	} else {
		v.Message = fmt.Sprintf("promotion to %s refused: %s", env, strings.Join(refusing, "; "))
	}
	return v
}

// kindOf is the catalogued reason of a refusing code.
func kindOf(c Code) errs.Reason {
	switch c {
	case CodeFrozen:
		return errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_FROZEN
	case CodeOutsideWindow:
		return errorsv1.ErrorReason_ERROR_REASON_OUTSIDE_DEPLOYMENT_WINDOW
	}
	return errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION
}
