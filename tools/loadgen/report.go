package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// reporter writes reports as table lines or JSON lines, remembering the
// first write error.
type reporter struct {
	out  io.Writer
	json bool
	err  error
}

func (r *reporter) printf(format string, args ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.out, format, args...)
	}
}

func (r *reporter) write(s Summary) {
	switch {
	case r.json:
		b, err := json.Marshal(s)
		if err != nil {
			r.err = err
			return
		}
		r.printf("%s\n", b)
	case s.Kind == "final":
		r.printf("%s", formatFinal(s))
	default:
		r.printf("%s\n", formatInterval(s))
	}
}

// formatInterval renders an interval report as one line.
func formatInterval(s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%6.1fs] %5d req %7.1f/s", s.Elapsed, s.Requests, s.RPS)
	fmt.Fprintf(&b, "  codes %s", formatCodes(s.Codes))
	if len(s.Errors) > 0 {
		fmt.Fprintf(&b, "  errors %s", formatErrors(s.Errors))
	}
	if len(s.Versions) > 0 {
		b.WriteString("  versions")
		for _, v := range sortedKeys(s.Versions) {
			fmt.Fprintf(&b, " %s=%d", v, s.Versions[v].Requests)
		}
	}
	if s.Skipped > 0 {
		fmt.Fprintf(&b, "  skipped %d", s.Skipped)
	}
	if len(s.Codes) > 0 {
		fmt.Fprintf(&b, "  p50 %s p90 %s p99 %s", fmtMs(s.Latency.P50), fmtMs(s.Latency.P90), fmtMs(s.Latency.P99))
	}
	return b.String()
}

// formatFinal renders the final report as a block of lines.
func formatFinal(s Summary) string {
	var b strings.Builder
	status := "final"
	if s.Interrupted {
		status = "final (interrupted)"
	}
	fmt.Fprintf(&b, "--- %s: %d requests in %.2fs (%.1f/s), %d skipped\n", status, s.Requests, s.Window, s.RPS, s.Skipped)
	fmt.Fprintf(&b, "codes:    %s\n", formatCodes(s.Codes))
	fmt.Fprintf(&b, "errors:   %s\n", formatErrors(s.Errors))
	b.WriteString("versions:")
	if len(s.Versions) == 0 {
		b.WriteString(" -")
	}
	for _, v := range sortedKeys(s.Versions) {
		vc := s.Versions[v]
		fmt.Fprintf(&b, " %s=%d (%s)", v, vc.Requests, formatCodes(vc.Codes))
	}
	if len(s.Codes) == 0 {
		b.WriteString("\nlatency:  - (no responses)\n")
		return b.String()
	}
	fmt.Fprintf(&b, "\nlatency:  p50 %s  p90 %s  p99 %s  max %s\n",
		fmtMs(s.Latency.P50), fmtMs(s.Latency.P90), fmtMs(s.Latency.P99), fmtMs(s.Latency.Max))
	return b.String()
}

func formatCodes(m map[int]int64) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%d=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func formatErrors(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func fmtMs(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.3fms", v)
	case v < 100:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.0fms", v)
	}
}
