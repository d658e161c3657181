package runtime_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/testkit"
)

// TestTracePropagatesAcrossGRPCAndNATS follows one trace from a client span,
// over a gRPC call into a Runtime, and from the handler over a NATS message to
// a subscriber: every hop carries the client's trace id.
func TestTracePropagatesAcrossGRPCAndNATS(t *testing.T) {
	t.Parallel()
	const subject = "floe.test.trace"

	// NATS: the handler publishes on one connection, a subscriber listens on another.
	nsrv := natstest.Server(t)
	pubNC, _ := natstest.Connect(t, nsrv)
	subNC, _ := natstest.Connect(t, nsrv)
	type delivery struct {
		sc     trace.SpanContext
		header nats.Header
	}
	delivered := make(chan delivery, 1)
	if _, err := subNC.Subscribe(subject, func(m *nats.Msg) {
		ctx := natsx.ExtractTrace(context.Background(), m.Header)
		delivered <- delivery{sc: trace.SpanContextFromContext(ctx), header: m.Header}
	}); err != nil {
		t.Fatal(err)
	}
	if err := subNC.Flush(); err != nil {
		t.Fatal(err)
	}

	// The client has its own tracer provider, as another process would.
	clientSpans := tracetest.NewSpanRecorder()
	clientTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(clientSpans))
	t.Cleanup(func() { _ = clientTP.Shutdown(context.Background()) })

	serverSpans := tracetest.NewSpanRecorder()
	handlerSpan := make(chan trace.SpanContext, 1)
	hop := service{name: "test.v1.Trace", unary: map[string]unaryFunc{
		"Hop": func(ctx context.Context, in string) (string, error) {
			handlerSpan <- trace.SpanContextFromContext(ctx)
			msg := nats.NewMsg(subject)
			natsx.InjectTrace(ctx, msg.Header)
			if err := pubNC.PublishMsg(msg); err != nil {
				return "", err
			}
			return "", pubNC.Flush()
		},
	}}
	ts := startServer(t, serverOptions{
		setup: func(t *testing.T, rt *runtime.Runtime) {
			rt.Tracer.RegisterSpanProcessor(serverSpans)
			hop.register(t, rt, auth.Rules{"/test.v1.Trace/Hop": {Permission: auth.PermSystemRead}})
		},
		clientOpts: []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(clientTP), otelgrpc.WithPropagators(runtime.Propagator()),
		))},
	})

	ctx, root := clientTP.Tracer("test").Start(testCtx(t), "release.create")
	_, err := callUnary(ctx, ts.conn, "/test.v1.Trace/Hop", "", bearer(aliceToken))
	root.End()
	if err != nil {
		t.Fatalf("Hop: %v", err)
	}
	traceID := root.SpanContext().TraceID()

	// Hop 1: gRPC. The handler runs in a server span of the client's trace,
	// whose parent is the client's RPC span.
	var handler trace.SpanContext
	select {
	case handler = <-handlerSpan:
	case <-time.After(30 * time.Second):
		t.Fatal("handler did not run")
	}
	if handler.TraceID() != traceID {
		t.Errorf("handler trace id = %s, want the client's %s", handler.TraceID(), traceID)
	}
	var clientRPC, serverRPC sdktrace.ReadOnlySpan
	for _, s := range clientSpans.Started() {
		if s.SpanKind() == trace.SpanKindClient {
			clientRPC = s
		}
	}
	for _, s := range serverSpans.Started() {
		if s.SpanContext().SpanID() == handler.SpanID() {
			serverRPC = s
		}
	}
	if clientRPC == nil || serverRPC == nil {
		t.Fatalf("client RPC span %v, server span %v: want both recorded", clientRPC, serverRPC)
	}
	if serverRPC.SpanKind() != trace.SpanKindServer || !strings.Contains(serverRPC.Name(), "test.v1.Trace/Hop") {
		t.Errorf("handler span is %v %q, want the server span of test.v1.Trace/Hop", serverRPC.SpanKind(), serverRPC.Name())
	}
	if got, want := serverRPC.Parent().SpanID(), clientRPC.SpanContext().SpanID(); got != want || !serverRPC.Parent().IsRemote() {
		t.Errorf("server span parent = %s (remote %v), want the client RPC span %s", got, serverRPC.Parent().IsRemote(), want)
	}
	if clientRPC.Parent().SpanID() != root.SpanContext().SpanID() {
		t.Errorf("client RPC span parent = %s, want the root span %s", clientRPC.Parent().SpanID(), root.SpanContext().SpanID())
	}

	// Hop 2: NATS. The subscriber continues the same trace from the handler's span.
	var d delivery
	select {
	case d = <-delivered:
	case <-time.After(30 * time.Second):
		t.Fatal("no NATS message delivered")
	}
	if d.sc.TraceID() != traceID {
		t.Errorf("subscriber trace id = %s, want the client's %s", d.sc.TraceID(), traceID)
	}
	if d.sc.SpanID() != handler.SpanID() || !d.sc.IsRemote() || !d.sc.IsSampled() {
		t.Errorf("subscriber span context = %+v, want the handler's span %s, remote and sampled", d.sc, handler.SpanID())
	}
	if len(d.header["traceparent"]) != 1 {
		t.Errorf("message header %v lacks exactly one lower-case traceparent", d.header)
	}
	for k := range d.header {
		if strings.EqualFold(k, "traceparent") && k != "traceparent" {
			t.Errorf("message header carries trace context under %q, want exactly %q", k, "traceparent")
		}
	}

	// The request's log line carries the trace id too.
	testkit.Eventually(t, func() error {
		logs := ts.logs.String()
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, `"grpc_method":"/test.v1.Trace/Hop"`) && strings.Contains(line, `"trace_id":"`+traceID.String()+`"`) {
				return nil
			}
		}
		return fmt.Errorf("no rpc log line for /test.v1.Trace/Hop with trace id %s; log:\n%s", traceID, logs)
	})
}
