package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

const timeLayout = "2006-01-02 15:04:05Z07:00"

// fmtTime shows a timestamp in UTC, or "-" when unset.
func fmtTime(ts *timestamppb.Timestamp) string {
	if ts == nil || (ts.GetSeconds() == 0 && ts.GetNanos() == 0) {
		return "-"
	}
	return ts.AsTime().UTC().Format(timeLayout)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func joinOrDash(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	return strings.Join(list, ", ")
}

// oneLine makes s fit a table cell: newlines and tabs become spaces and it is
// cut to max runes.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		s = string(r[:limit-1]) + "…"
	}
	return s
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// printRelease writes the readable block of `floe release get`.
func printRelease(w io.Writer, r *releasev1.Release) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "ID\t%s\n", r.GetId())
	fmt.Fprintf(tw, "PRODUCT\t%s\n", orDash(r.GetProduct()))
	fmt.Fprintf(tw, "VERSION\t%s\n", r.GetVersion())
	fmt.Fprintf(tw, "TYPE\t%s\n", enumName(r.GetType()))
	fmt.Fprintf(tw, "STATUS\t%s\n", enumName(r.GetStatus()))
	fmt.Fprintf(tw, "TITLE\t%s\n", oneLine(r.GetTitle(), 0))
	fmt.Fprintf(tw, "AUTHOR\t%s\n", orDash(r.GetAuthor()))
	fmt.Fprintf(tw, "CREATED\t%s\n", fmtTime(r.GetCreatedAt()))
	fmt.Fprintf(tw, "UPDATED\t%s\n", fmtTime(r.GetUpdatedAt()))
	fmt.Fprintf(tw, "CONTENT REVISION\t%d\n", r.GetContentRevision())
	fmt.Fprintf(tw, "AGGREGATE VERSION\t%d\n", r.GetAggregateVersion())
	if s := r.GetSchedule(); s.GetWindowStart() != nil || s.GetWindowEnd() != nil {
		fmt.Fprintf(tw, "WINDOW\t%s → %s\n", fmtTime(s.GetWindowStart()), fmtTime(s.GetWindowEnd()))
	}
	if len(r.GetApprovers()) > 0 {
		fmt.Fprintf(tw, "APPROVERS\t%s\n", strings.Join(r.GetApprovers(), ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printText(w, "DESCRIPTION", r.GetDescription())
	printText(w, "ROLLBACK PLAN", r.GetRollbackPlan())
	printText(w, "TESTING PLAN", r.GetTestingPlan())

	if len(r.GetEnvironments()) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "ENV\tSTATUS\tAPPROVALS\tPROMOTED BY\tUPDATED")
		for _, e := range r.GetEnvironments() {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", e.GetEnvironment(), enumName(e.GetStatus()),
				len(e.GetApprovals()), e.GetApprovalsRequired(), orDash(e.GetPromotedBy()), fmtTime(e.GetUpdatedAt()))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, e := range r.GetEnvironments() {
			for _, a := range e.GetApprovals() {
				line := fmt.Sprintf("  %s: approved by %s", e.GetEnvironment(), a.GetApprover())
				if a.GetComment() != "" {
					line += ": " + oneLine(a.GetComment(), 100)
				}
				fmt.Fprintln(w, line)
			}
			for _, rj := range e.GetRejections() {
				fmt.Fprintf(w, "  %s: REJECTED by %s: %s\n", e.GetEnvironment(), rj.GetRejectedBy(), oneLine(rj.GetReason(), 100))
			}
			if e.GetReason() != "" {
				fmt.Fprintf(w, "  %s: %s: %s\n", e.GetEnvironment(), enumName(e.GetStatus()), oneLine(e.GetReason(), 100))
			}
		}
	}

	fmt.Fprintln(w)
	if len(r.GetChanges()) == 0 {
		fmt.Fprintln(w, "CHANGES  none (add with 'floe release add-change')")
	} else {
		fmt.Fprintln(w, "CHANGES")
		tw = newTable(w)
		for _, c := range r.GetChanges() {
			extra := ""
			if c.GetLink() != "" {
				extra += "  [" + c.GetLink() + "]"
			}
			if c.GetAuthor() != "" {
				extra += "  (by " + c.GetAuthor() + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", c.GetId(), enumName(c.GetKind()), oneLine(c.GetSummary(), 0), extra)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(r.GetPrerequisites()) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "PREREQUISITES")
		tw = newTable(w)
		for _, p := range r.GetPrerequisites() {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.GetId(), enumName(p.GetType()), prereqStatus(p), prereqDetail(p))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w)
	risk := r.GetRisk()
	if risk == nil || (risk.GetImpact() == 0 && risk.GetLikelihood() == 0) {
		fmt.Fprintln(w, "RISK  not assessed")
		return nil
	}
	fmt.Fprintf(w, "RISK  %s\n", riskLine(risk))
	for _, m := range risk.GetMitigation() {
		fmt.Fprintf(w, "  mitigation: %s\n", oneLine(m, 0))
	}
	for _, c := range risk.GetContingency() {
		fmt.Fprintf(w, "  contingency: %s\n", oneLine(c, 0))
	}
	return nil
}

func riskLine(r *releasev1.RiskAssessment) string {
	s := fmt.Sprintf("impact %s, likelihood %s", enumName(r.GetImpact()), enumName(r.GetLikelihood()))
	if n := r.GetExtraApprovals(); n > 0 {
		s += fmt.Sprintf(" (+%d approval(s) where approval is required)", n)
	}
	return s
}

func prereqStatus(p *releasev1.Prerequisite) string {
	s := enumName(p.GetStatus())
	if p.GetOverdue() {
		s += " OVERDUE"
	}
	return s
}

func prereqDetail(p *releasev1.Prerequisite) string {
	parts := []string{oneLine(p.GetDescription(), 0)}
	if p.GetOwner() != "" {
		parts = append(parts, "owner "+p.GetOwner())
	}
	if p.GetDeadline() != nil {
		parts = append(parts, "due "+fmtTime(p.GetDeadline()))
	}
	if p.GetEnvironment() != "" {
		parts = append(parts, "gates "+p.GetEnvironment())
	} else {
		parts = append(parts, "gates every promotion")
	}
	return strings.Join(parts, "; ")
}

// printText writes a free-text field as an indented section, when set.
func printText(w io.Writer, title, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	fmt.Fprintf(w, "\n%s\n", title)
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "  %s\n", strings.TrimRight(line, " \t\r"))
	}
}

// envStatuses is "development=deployed staging=approved ...".
func envStatuses(r *releasev1.Release) string {
	parts := make([]string, 0, len(r.GetEnvironments()))
	for _, e := range r.GetEnvironments() {
		parts = append(parts, e.GetEnvironment()+"="+enumName(e.GetStatus()))
	}
	return strings.Join(parts, " ")
}

// envState finds the release's state in env.
func envState(r *releasev1.Release, env string) *releasev1.EnvironmentState {
	for _, e := range r.GetEnvironments() {
		if e.GetEnvironment() == env {
			return e
		}
	}
	return nil
}

// label is "2.1.0 (01J...)" for confirmation lines.
func label(r *releasev1.Release) string {
	if r.GetProduct() != "" && r.GetProduct() != "default" {
		return fmt.Sprintf("%s %s (%s)", r.GetProduct(), r.GetVersion(), r.GetId())
	}
	return fmt.Sprintf("%s (%s)", r.GetVersion(), r.GetId())
}

// watchLine is one line of `floe release watch`.
func watchLine(resp *releasev1.WatchReleaseResponse, now time.Time) string {
	r := resp.GetRelease()
	when := fmtTime(r.GetUpdatedAt())
	if when == "-" {
		when = now.UTC().Format(timeLayout)
	}
	event := resp.GetEvent()
	if event == "" {
		event = "(current)"
	}
	return strings.TrimRight(fmt.Sprintf("%s  %-24s %-11s %s", when, event, enumName(r.GetStatus()), envStatuses(r)), " ")
}
