package change

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/leakscan"
)

// Field limits.
const (
	MaxTitle       = 200
	MaxDescription = 10_000
	// MaxText bounds every other free text: a step's fields, notes,
	// comments, reasons, the review's root cause.
	MaxText = 2_000
	// MaxSteps bounds each plan and the review's prevention actions.
	MaxSteps = 100
	// MaxListItems bounds environments, releases and approvers.
	MaxListItems = 50
	// MaxDurationMinutes is a week: a change longer than that is several changes.
	MaxDurationMinutes = 7 * 24 * 60
)

// checkText adds the problems of a free-text field to v. Text is kept in the
// log for good, so a credential pasted into it is refused, never recorded.
func checkText(v *errs.Violations, field, s string, limit int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "must not be empty")
	case len(s) > limit:
		v.Add(field, "is %d bytes; the limit is %d", len(s), limit)
	case !utf8.ValidString(s):
		v.Add(field, "is not valid UTF-8")
	default:
		for _, f := range leakscan.Scan(s) {
			v.Add(field, "%s; %s", f.Description, f.Hint)
		}
	}
}

// checkIDs adds the problems of a list of identifiers to v: each valid,
// none twice, at most MaxListItems, at least one when required.
func checkIDs(v *errs.Violations, field string, ids []string, required bool) {
	switch {
	case required && len(ids) == 0:
		v.Add(field, "must list at least one")
		return
	case len(ids) > MaxListItems:
		v.Add(field, "lists %d; the limit is %d", len(ids), MaxListItems)
		return
	}
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		if ident.Check(v, f, id) && slices.Index(ids, id) < i {
			v.Add(f, "%q is listed twice", id)
		}
	}
}

// checkPlan adds the problems of a plan to v: at least one step, each with
// a description, bounded texts and a sane estimate.
func checkPlan(v *errs.Violations, field string, p Plan) {
	switch {
	case len(p.Steps) == 0:
		v.Add(field+".steps", "must list at least one step")
		return
	case len(p.Steps) > MaxSteps:
		v.Add(field+".steps", "lists %d steps; the limit is %d", len(p.Steps), MaxSteps)
		return
	}
	for i, s := range p.Steps {
		f := fmt.Sprintf("%s.steps[%d]", field, i)
		checkText(v, f+".description", s.Description, MaxText, true)
		checkText(v, f+".owner", s.Owner, MaxTitle, false)
		checkText(v, f+".verification", s.Verification, MaxText, false)
		if s.ExpectedMinutes < 0 || s.ExpectedMinutes > MaxDurationMinutes {
			v.Add(f+".expected_minutes", "must be between 0 and %d", MaxDurationMinutes)
		}
	}
}

// checkEnum adds a violation of field unless ok, naming the accepted values.
func checkEnum[T ~string](v *errs.Violations, field string, val T, ok bool, all []T) {
	if ok {
		return
	}
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = string(a)
	}
	if val == "" {
		v.Add(field, "is required: one of %s", strings.Join(names, ", "))
		return
	}
	v.Add(field, "%s is not one of %s", ident.Quote(string(val)), strings.Join(names, ", "))
}

// checkPrincipalID adds a violation of field unless id can name a
// principal: principal ids come from the identity provider (a token's
// subject, an OIDC subject or e-mail), so they are not identifiers, only
// bounded, printable text.
func checkPrincipalID(v *errs.Violations, field, id string) bool {
	switch {
	case strings.TrimSpace(id) == "":
		v.Add(field, "is required")
	case len(id) > MaxTitle:
		v.Add(field, "is %d bytes; the limit is %d", len(id), MaxTitle)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		v.Add(field, "%s holds invalid UTF-8 or control characters", ident.Quote(id))
	default:
		return true
	}
	return false
}

// checkPrincipalIDs is checkPrincipalID for a list of at most MaxListItems, none twice.
func checkPrincipalIDs(v *errs.Violations, field string, ids []string) {
	if len(ids) > MaxListItems {
		v.Add(field, "lists %d; the limit is %d", len(ids), MaxListItems)
		return
	}
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		if checkPrincipalID(v, f, id) && slices.Index(ids, id) < i {
			v.Add(f, "%q is listed twice", id)
		}
	}
}
