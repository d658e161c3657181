package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/penguinmails/floe/libs/natsx"
)

// NewLogger returns the process logger: JSON (or console) on w with the
// service, environment and version fields every line carries.
func NewLogger(w io.Writer, service, environment, version, level, format string) zerolog.Logger {
	if w == nil {
		w = os.Stderr
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().
		Str("service", service).Str("environment", environment).Str("version", version).Logger()
}

// Propagator is the trace propagator for gRPC and NATS: W3C Trace Context and Baggage.
func Propagator() propagation.TextMapPropagator { return natsx.Propagator }

// NewTracerProvider returns a tracer provider that always records spans (so
// trace ids exist for logs and propagation) and exports them over OTLP/gRPC
// only when endpoint is set; extra, when set, also receives every ended span,
// synchronously (tests search them).
func NewTracerProvider(ctx context.Context, service, version, environment, endpoint string, insecure bool, extra sdktrace.SpanExporter) (*sdktrace.TracerProvider, error) {
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(service), semconv.ServiceVersion(version), semconv.DeploymentEnvironment(environment))
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample()))}
	if extra != nil {
		opts = append(opts, sdktrace.WithSyncer(extra))
	}
	if endpoint != "" {
		eo := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint)}
		if insecure {
			eo = append(eo, otlptracegrpc.WithInsecure())
		}
		exp, err := otlptracegrpc.New(ctx, eo...)
		if err != nil {
			return nil, fmt.Errorf("otlp exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// TraceID returns the hex trace id of ctx's span, or "".
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
