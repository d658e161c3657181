package testkit

import (
	"context"
	"fmt"
	"strings"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Spans keeps every span a Process ended, across restarts, as text: the
// name, the attributes, the events with theirs, the status and the links —
// what an OTLP exporter would send, for tests that search the traces (a
// secret's value must never be in them).
type Spans struct {
	mu    sync.Mutex
	n     int
	lines strings.Builder
}

var _ sdktrace.SpanExporter = (*Spans)(nil)

// ExportSpans implements sdktrace.SpanExporter.
func (s *Spans) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range spans {
		s.n++
		fmt.Fprintf(&s.lines, "span %s kind=%s status=%s %q\n", sp.Name(), sp.SpanKind(), sp.Status().Code, sp.Status().Description)
		for _, a := range sp.Attributes() {
			fmt.Fprintf(&s.lines, "  %s=%s\n", a.Key, a.Value.Emit())
		}
		for _, e := range sp.Events() {
			fmt.Fprintf(&s.lines, "  event %s\n", e.Name)
			for _, a := range e.Attributes {
				fmt.Fprintf(&s.lines, "    %s=%s\n", a.Key, a.Value.Emit())
			}
		}
		for _, l := range sp.Links() {
			for _, a := range l.Attributes {
				fmt.Fprintf(&s.lines, "  link %s=%s\n", a.Key, a.Value.Emit())
			}
		}
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter; the spans are kept.
func (s *Spans) Shutdown(context.Context) error { return nil }

// Text is every span so far, and how many there are.
func (s *Spans) Text() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines.String(), s.n
}
