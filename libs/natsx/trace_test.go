package natsx_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"

	"github.com/penguinmails/floe/libs/natsx"
)

func TestHeaderCarrierKeepsKeysCaseExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		set      [][2]string
		get      string
		want     string
		wantKeys []string
	}{
		{
			name:     "lower-case key stays lower case",
			set:      [][2]string{{"traceparent", "00-abc-def-01"}},
			get:      "traceparent",
			want:     "00-abc-def-01",
			wantKeys: []string{"traceparent"},
		},
		{
			name:     "lookup is case-sensitive",
			set:      [][2]string{{"traceparent", "v"}},
			get:      "Traceparent",
			want:     "",
			wantKeys: []string{"traceparent"},
		},
		{
			name:     "differently cased keys are distinct",
			set:      [][2]string{{"tracestate", "a=1"}, {"Tracestate", "b=2"}},
			get:      "Tracestate",
			want:     "b=2",
			wantKeys: []string{"Tracestate", "tracestate"},
		},
		{
			name:     "set replaces",
			set:      [][2]string{{"baggage", "k=1"}, {"baggage", "k=2"}},
			get:      "baggage",
			want:     "k=2",
			wantKeys: []string{"baggage"},
		},
		{
			name:     "missing key",
			get:      "traceparent",
			want:     "",
			wantKeys: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := nats.Header{}
			c := natsx.HeaderCarrier(h)
			for _, kv := range tt.set {
				c.Set(kv[0], kv[1])
			}
			if got := c.Get(tt.get); got != tt.want {
				t.Errorf("Get(%q) = %q, want %q", tt.get, got, tt.want)
			}
			keys := c.Keys()
			slices.Sort(keys)
			if diff := cmp.Diff(tt.wantKeys, keys); diff != "" {
				t.Errorf("Keys() mismatch (-want +got):\n%s", diff)
			}
			// The carrier writes through to the nats.Header it wraps, with exact keys.
			var hdrKeys []string
			for k := range h {
				hdrKeys = append(hdrKeys, k)
			}
			slices.Sort(hdrKeys)
			if diff := cmp.Diff(tt.wantKeys, hdrKeys, cmpEmptyAsNil); diff != "" {
				t.Errorf("nats.Header keys mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmptyAsNil = cmp.Transformer("emptyAsNil", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

func TestInjectExtractRoundTrip(t *testing.T) {
	t.Parallel()
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, err := trace.ParseTraceState("floe=1")
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled, TraceState: ts})
	member, err := baggage.NewMember("release", "r-1")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		t.Fatal(err)
	}
	ctx := baggage.ContextWithBaggage(trace.ContextWithSpanContext(context.Background(), sc), bag)

	h := nats.Header{}
	natsx.InjectTrace(ctx, h)

	wantHeader := nats.Header{
		"traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		"tracestate":  {"floe=1"},
		"baggage":     {"release=r-1"},
	}
	if diff := cmp.Diff(wantHeader, h); diff != "" {
		t.Errorf("injected header mismatch (-want +got):\n%s", diff)
	}

	// Through a real encoding round trip, as a subscriber would receive it.
	msg := nats.NewMsg("x")
	msg.Header = h
	got := natsx.ExtractTrace(context.Background(), msg.Header)
	gotSC := trace.SpanContextFromContext(got)
	if gotSC.TraceID() != traceID || gotSC.SpanID() != spanID || !gotSC.IsSampled() || !gotSC.IsRemote() {
		t.Errorf("extracted span context = %+v, want trace %s span %s sampled and remote", gotSC, traceID, spanID)
	}
	if gotSC.TraceState().Get("floe") != "1" {
		t.Errorf("extracted tracestate = %q, want floe=1", gotSC.TraceState().String())
	}
	if v := baggage.FromContext(got).Member("release").Value(); v != "r-1" {
		t.Errorf("extracted baggage release = %q, want r-1", v)
	}
}

func TestExtractTraceWithoutHeaders(t *testing.T) {
	t.Parallel()
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "kept")
	tests := []struct {
		name string
		h    nats.Header
	}{
		{name: "nil header", h: nil},
		{name: "no trace headers", h: nats.Header{"other": {"x"}}},
		{name: "upper-cased key is not ours", h: nats.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := natsx.ExtractTrace(parent, tt.h)
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				t.Errorf("ExtractTrace found span context %v, want none", sc)
			}
			if ctx.Value(key{}) != "kept" {
				t.Error("ExtractTrace dropped the parent context's values")
			}
		})
	}
}
