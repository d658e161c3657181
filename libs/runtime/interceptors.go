package runtime

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/errs"
)

// RequestIDHeader carries the request id in gRPC metadata, both ways.
const RequestIDHeader = "x-request-id"

// requestInfo is filled in as a request passes the interceptors; the outer
// observe interceptor reads it when the request ends.
type requestInfo struct {
	id     string
	userID string
}

type requestInfoKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

func setUserID(ctx context.Context, id string) {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		ri.userID = id
	}
}

func incomingRequestID(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(RequestIDHeader); len(v) > 0 && len(v[0]) <= 128 && v[0] != "" {
		return v[0]
	}
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

func splitMethod(full string) (svc, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndex(full, "/"); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

// observe assigns the request id, puts a request-scoped logger in the
// context, and records metrics and one log line per RPC.
func (r *Runtime) observe(ctx context.Context, fullMethod, kind string, call func(context.Context) error) error {
	start := time.Now()
	ri := &requestInfo{id: incomingRequestID(ctx)}
	ctx = context.WithValue(ctx, requestInfoKey{}, ri)
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, ri.id))
	lg := r.Log.With().Str("request_id", ri.id).Str("trace_id", TraceID(ctx)).Logger()
	ctx = lg.WithContext(ctx)

	svc, method := splitMethod(fullMethod)
	r.rpc.started.WithLabelValues(kind, svc, method).Inc()
	r.rpc.inFlight.Inc()
	err := call(ctx)
	r.rpc.inFlight.Dec()
	code := status.Code(err)
	elapsed := time.Since(start)
	r.rpc.handled.WithLabelValues(kind, svc, method, code.String()).Inc()
	r.rpc.duration.WithLabelValues(kind, svc, method).Observe(elapsed.Seconds())

	ev := lg.Info()
	switch code {
	case codes.OK, codes.NotFound, codes.AlreadyExists, codes.Canceled:
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable:
		ev = lg.Error()
	default:
		ev = lg.Warn()
	}
	if strings.HasPrefix(fullMethod, "/grpc.health.v1.") || strings.HasPrefix(fullMethod, "/grpc.reflection.") {
		ev = lg.Debug()
	}
	ev.Str("grpc_method", fullMethod).Str("grpc_code", code.String()).Str("user_id", ri.userID).
		Float64("duration_ms", float64(elapsed.Microseconds())/1000)
	if err != nil {
		ev = ev.Str("error", status.Convert(err).Message())
	}
	ev.Msg("rpc")
	return err
}

// recoverPanic turns a handler panic into codes.Internal and logs the stack.
func recoverPanic(ctx context.Context, method string, err *error) {
	if p := recover(); p != nil {
		zerolog.Ctx(ctx).Error().Str("grpc_method", method).Str("panic", fmt.Sprint(p)).
			Str("stack", string(debug.Stack())).Msg("handler panicked")
		*err = errs.InternalStatus(RequestID(ctx)).Err()
	}
}

// mapError converts typed errors (from authentication or the handler) to a
// gRPC status with details. Errors of unknown type are logged in full and
// returned as a bare Internal.
func mapError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, known := errs.ToStatus(err)
	if !known {
		zerolog.Ctx(ctx).Error().Err(err).Msg("unexpected error")
		st = errs.InternalStatus(RequestID(ctx))
	}
	return st.Err()
}

func (r *Runtime) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	err = r.observe(ctx, info.FullMethod, "unary", func(ctx context.Context) (err error) {
		defer recoverPanic(ctx, info.FullMethod, &err)
		resp, err = r.authn.Unary(ctx, req, info, h)
		return mapError(ctx, err)
	})
	return resp, err
}

// streamInterceptor also ends the stream's context when shutdown begins, so
// long-lived watch streams return at once instead of holding the graceful
// stop until its deadline (their clients see the stream end and reconnect).
func (r *Runtime) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return r.observe(ss.Context(), info.FullMethod, streamKind(info), func(ctx context.Context) (err error) {
		defer recoverPanic(ctx, info.FullMethod, &err)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var stream grpc.ServerStream = &ctxStream{ServerStream: ss, ctx: ctx}
		if info.FullMethod == healthpb.Health_Watch_FullMethodName {
			// Health watchers (balancers) must see NOT_SERVING first: end
			// their stream after its next message, or a second after.
			hs := &sendThenStop{ServerStream: stream, stopping: r.stopping, cancel: cancel}
			stop := context.AfterFunc(r.stopping, func() { time.AfterFunc(time.Second, cancel) })
			defer stop()
			stream = hs
		} else {
			stop := context.AfterFunc(r.stopping, cancel)
			defer stop()
		}
		return mapError(ctx, r.authn.Stream(srv, stream, info, h))
	})
}

// sendThenStop ends a stream (cancels its context) after the first message
// it sends once stopping is done.
type sendThenStop struct {
	grpc.ServerStream
	stopping context.Context
	cancel   context.CancelFunc
}

func (s *sendThenStop) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if s.stopping.Err() != nil {
		s.cancel()
	}
	return err
}

func streamKind(info *grpc.StreamServerInfo) string {
	switch {
	case info.IsClientStream && info.IsServerStream:
		return "bidi_stream"
	case info.IsClientStream:
		return "client_stream"
	default:
		return "server_stream"
	}
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
