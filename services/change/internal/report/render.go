package report

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
)

// JSON renders the report as indented protojson with the proto field names
// (snake_case, as in the .proto file, the names an auditor's tooling keys
// on). Scalars and lists are written even when empty, so a count of zero
// (self_approvals: 0) is stated rather than left out.
func JSON(r *changev1.ComplianceReport) ([]byte, error) {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true, EmitDefaultValues: true}.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("render compliance report as JSON: %w", err)
	}
	return b, nil
}

// Markdown renders the report for people: the period, the summary, every
// change with its controls, the emergency changes and their reviews, the
// freeze overrides, the gate evidence per change and the audit
// verification. Text from the log (titles, reasons, names) is escaped so
// that it cannot break a table or start a heading.
func Markdown(r *changev1.ComplianceReport) string {
	var w strings.Builder
	envs := "every environment"
	if len(r.GetEnvironments()) > 0 {
		envs = strings.Join(r.GetEnvironments(), ", ")
	}
	fmt.Fprintf(&w, "# Compliance report: %s to %s, %s\n\n", stamp(r.GetFrom()), stamp(r.GetTo()), inline(envs))
	fmt.Fprintf(&w, "Derived from the log alone, generated at %s. ", stamp(r.GetGeneratedAt()))
	if r.GetFirstPosition() == 0 && r.GetLastPosition() == 0 {
		w.WriteString("The log holds no event in the period [from, to).\n\n")
	} else {
		fmt.Fprintf(&w, "The period [from, to) spans log positions %d to %d.\n\n", r.GetFirstPosition(), r.GetLastPosition())
	}
	if r.GetSampledFrom() > 0 {
		fmt.Fprintf(&w, "Sample: %d of %d changes, chosen at random with seed %d.\n\n", len(r.GetChanges()), r.GetSampledFrom(), r.GetSeed())
	}

	s := r.GetSummary()
	w.WriteString("## Summary\n\n| Measure | Count |\n|---|---:|\n")
	for _, row := range []struct {
		name string
		n    uint32
	}{
		{"Deployments", s.GetDeployments()},
		{"With a change request", s.GetWithChangeRequest()},
		{"Without a change request", s.GetWithoutChangeRequest()},
		{"Rolled back", s.GetRollbacks()},
		{"Failed", s.GetFailed()},
		{"Emergency changes", s.GetEmergencyChanges()},
		{"Post-implementation reviews overdue", s.GetReviewsOverdue()},
		{"Freeze overrides", s.GetFreezeOverrides()},
		{"Self-approvals", s.GetSelfApprovals()},
	} {
		fmt.Fprintf(&w, "| %s | %d |\n", row.name, row.n)
	}

	w.WriteString("\n## Changes\n\n")
	if len(r.GetChanges()) == 0 {
		w.WriteString("None.\n")
	} else {
		w.WriteString("| Position | Deployment | Release | Environment | Requested by | Approvers | Change | Outcome | Separation of duties |\n")
		w.WriteString("|---:|---|---|---|---|---|---|---|---|\n")
		for _, c := range r.GetChanges() {
			fmt.Fprintf(&w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				c.GetPosition(), cell(c.GetDeploymentId()), cell(releaseName(c)), cell(c.GetEnvironment()),
				cell(c.GetRequestedBy()), cell(approvers(c)), cell(changeName(c)), cell(outcome(c)), cell(separation(c)))
		}
	}

	w.WriteString("\n## Emergency changes\n\n")
	if len(r.GetEmergencies()) == 0 {
		w.WriteString("None.\n")
	} else {
		w.WriteString("| Change | Title | Submitter | Justification | Approvers | Implemented | Review due | Review | State |\n")
		w.WriteString("|---|---|---|---|---|---|---|---|---|\n")
		for _, e := range r.GetEmergencies() {
			var names []string
			for _, a := range e.GetApprovals() {
				names = append(names, a.GetApprover())
			}
			review := e.GetReviewStatus()
			if rv := e.GetReview(); rv != nil {
				review = fmt.Sprintf("%s (by %s at %s)", review, rv.GetReviewer(), stamp(rv.GetAt()))
			}
			fmt.Fprintf(&w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				cell(e.GetChangeId()), cell(e.GetTitle()), cell(e.GetSubmitter()), cell(e.GetJustification()),
				cell(strings.Join(names, ", ")), stamp(e.GetImplementedAt()), stamp(e.GetReviewDue()), cell(review),
				enumtext.Name(e.GetState()))
		}
	}

	w.WriteString("\n## Freeze overrides\n\n")
	if len(r.GetFreezeOverrides()) == 0 {
		w.WriteString("None.\n")
	} else {
		w.WriteString("| Freeze | Environment | For | Granted by | Reason | Granted at | Expires |\n|---|---|---|---|---|---|---|\n")
		for _, o := range r.GetFreezeOverrides() {
			fmt.Fprintf(&w, "| %s | %s | %s | %s | %s | %s | %s |\n",
				cell(o.GetFreezeId()), cell(o.GetEnvironment()), cell(o.GetRequestedBy()), cell(o.GetOverriddenBy()),
				cell(o.GetReason()), stamp(o.GetGrantedAt()), stamp(o.GetExpiresAt()))
		}
	}

	w.WriteString("\n## Gate evidence\n")
	if len(r.GetChanges()) == 0 {
		w.WriteString("\nNone.\n")
	}
	for _, c := range r.GetChanges() {
		fmt.Fprintf(&w, "\n### %s (%s to %s)\n\n", inline(c.GetDeploymentId()), inline(releaseName(c)), inline(c.GetEnvironment()))
		if len(c.GetGateEvidence()) == 0 {
			w.WriteString("No gate evidence before the promotion.\n")
			continue
		}
		w.WriteString("| Environment | Gate | Suite | Format | SHA-256 | Passed |\n|---|---|---|---|---|---|\n")
		for _, g := range c.GetGateEvidence() {
			digest := cell(g.GetSha256())
			if g.GetSha256() != "" {
				digest = "`" + digest + "`"
			}
			fmt.Fprintf(&w, "| %s | %s | %s | %s | %s | %s |\n",
				cell(g.GetEnvironment()), cell(g.GetGate()), cell(g.GetSuite()), cell(g.GetFormat()), digest, yesNo(g.GetPassed()))
		}
	}

	w.WriteString("\n## Audit verification\n\n")
	writeVerification(&w, r)
	return w.String()
}

func writeVerification(w *strings.Builder, r *changev1.ComplianceReport) {
	v := r.GetVerification()
	switch {
	case v == nil:
		w.WriteString("Not run: no verification is attached to this report.\n")
		return
	case v.GetSkipped() != "":
		fmt.Fprintf(w, "Not run: %s\n", inline(v.GetSkipped()))
		return
	}
	result := "FAILED"
	if v.GetOk() {
		result = "OK"
	}
	fmt.Fprintf(w, "**%s** over log positions %d to %d: %d events, %d checkpoints signed by key %s, %d events after the last checkpoint (hash-chained, not yet signed).\n",
		result, v.GetFirstPosition(), v.GetLastPosition(), v.GetEvents(), v.GetCheckpoints(), inline(or(v.GetKeyId(), "(none)")), v.GetUnsignedEvents())
	if v.GetFirstPosition() != r.GetFirstPosition() || v.GetLastPosition() != r.GetLastPosition() {
		fmt.Fprintf(w, "\nWarning: the report reads positions %d to %d; the verification does not cover exactly those.\n",
			r.GetFirstPosition(), r.GetLastPosition())
	}
	if len(v.GetProblems()) > 0 {
		w.WriteString("\nProblems:\n\n")
		for _, p := range v.GetProblems() {
			fmt.Fprintf(w, "- %s\n", inline(p))
		}
	}
}

func releaseName(c *changev1.ReportedChange) string {
	name := or(c.GetProduct(), c.GetReleaseId())
	if c.GetVersion() != "" {
		name += "@" + c.GetVersion()
	}
	return name
}

func approvers(c *changev1.ReportedChange) string {
	var parts []string
	if len(c.GetReleaseApprovers()) > 0 {
		parts = append(parts, "release: "+strings.Join(c.GetReleaseApprovers(), ", "))
	}
	var names []string
	for _, a := range c.GetChangeApprovals() {
		n := a.GetApprover()
		if a.GetAs() != "" {
			n += " (" + a.GetAs() + ")"
		}
		names = append(names, n)
	}
	if len(names) > 0 {
		parts = append(parts, "change: "+strings.Join(names, ", "))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func changeName(c *changev1.ReportedChange) string {
	if c.GetChangeId() == "" {
		return "none"
	}
	if class := enumtext.Name(c.GetChangeClass()); class != "" {
		return c.GetChangeId() + " (" + class + ")"
	}
	return c.GetChangeId()
}

func outcome(c *changev1.ReportedChange) string {
	o := c.GetOutcome()
	if c.GetOutcomeDetail() != "" {
		o += ": " + c.GetOutcomeDetail()
	}
	if c.GetFreezeOverride() != "" {
		o += " (through freeze override " + c.GetFreezeOverride() + ")"
	}
	return o
}

func separation(c *changev1.ReportedChange) string {
	if c.GetSeparationOfDuties() {
		return "✓"
	}
	return "✗ " + strings.Join(c.GetSeparationProblems(), "; ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// stamp is a time in UTC, RFC 3339; "—" when unset.
func stamp(t *timestamppb.Timestamp) string {
	if t == nil {
		return "—"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

// inline keeps text on one line (every line break becomes a space) and
// keeps it text ("<" is escaped, so no HTML is rendered).
func inline(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' }), " ")
	return strings.ReplaceAll(s, "<", "&lt;")
}

// cell makes text safe in a table cell: on one line, with its pipes and
// backslashes escaped; empty text becomes "—".
func cell(s string) string {
	s = strings.NewReplacer(`\`, `\\`, "|", `\|`).Replace(inline(s))
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}
