package runtime

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
)

// Metadata keys Floe reads and writes.
const (
	// RequestIDHeader carries the request id, both ways.
	RequestIDHeader = "x-request-id"
	// PositionHeader (response) is the log position a command wrote: a
	// client that passes it back as MinPositionHeader sees its own write.
	PositionHeader = "floe-position"
	// MinPositionHeader (request) asks a query to answer only once its
	// views have applied this log position (read-your-writes).
	MinPositionHeader = "floe-min-position"
)

// maxRequestID bounds a client's request id.
const maxRequestID = 128

// requestInfo is filled in as a request passes the interceptors; the outer
// observe interceptor reads it when the request ends.
type requestInfo struct {
	id     string
	userID string
	// delegation is set when the call was made on behalf of userID.
	delegation *auth.Delegation
	// supplied is true when the client chose the id (the request's
	// request_id field or the x-request-id header): a retry with the same id
	// is the same request, so commands with it are idempotent.
	supplied bool
	// invalid is set when the client's id is unusable (too long).
	invalid string
}

type requestInfoKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// onPrincipal records the request's principal (and, for a delegated call,
// the delegation) for its log line. The auth interceptor calls it again after
// a delegation replaced the caller with the principal the call is made for.
func onPrincipal(ctx context.Context, p *auth.Principal) {
	ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo)
	if !ok {
		return
	}
	ri.userID = p.ID
	if d, ok := auth.DelegationFrom(ctx); ok {
		ri.delegation = &d
	}
}

// requestIDOf is the request's id: the message's request_id field when it
// has one and it is set, else the x-request-id header, else a new UUIDv7.
// It is echoed in x-request-id, becomes the correlation id of everything the
// request causes, and — when the client chose it — the idempotency key.
func requestIDOf(ctx context.Context, req any) *requestInfo {
	ri := &requestInfo{}
	usable := func(id string) bool { return len(id) <= maxRequestID && !strings.ContainsAny(id, "\r\n") }
	if r, ok := req.(interface{ GetRequestId() string }); ok && r.GetRequestId() != "" {
		// The request's own field is the client's idempotency key: an
		// unusable one is an error, not silently dropped.
		if ri.id, ri.supplied = r.GetRequestId(), true; !usable(ri.id) {
			ri.invalid = fmt.Sprintf("at most %d characters without line breaks", maxRequestID)
			ri.id, ri.supplied = "", false
		}
	} else if md, _ := metadata.FromIncomingContext(ctx); len(md.Get(RequestIDHeader)) > 0 && usable(md.Get(RequestIDHeader)[0]) && md.Get(RequestIDHeader)[0] != "" {
		// A header a proxy may have set: an unusable one is replaced.
		ri.id, ri.supplied = md.Get(RequestIDHeader)[0], true
	}
	if ri.id == "" {
		id, err := uuid.NewV7()
		if err != nil {
			ri.id = uuid.NewString()
		} else {
			ri.id = id.String()
		}
	}
	return ri
}

// minPosition reads floe-min-position (0 when absent).
func minPosition(ctx context.Context) (uint64, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(MinPositionHeader)
	if len(v) == 0 || v[0] == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return 0, errs.Invalid(MinPositionHeader, "%q is not a log position (a decimal number from %s)", v[0], PositionHeader)
	}
	return n, nil
}

// withOrigin runs h with the causal origin of an authenticated request:
// the principal acts (for a delegated call, the principal it was made for:
// the auth interceptor has already put that one in ctx), the request id
// correlates and causes, and a
// client-chosen id makes commands idempotent. It also carries the request's
// consistency positions and reports the position written in floe-position.
func withOrigin(ctx context.Context, call func(context.Context) error) error {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	if ri == nil {
		return call(ctx)
	}
	if ri.invalid != "" {
		return errs.Invalid("request_id", "%s", ri.invalid)
	}
	minPos, err := minPosition(ctx)
	if err != nil {
		return err
	}
	o := causal.Origin{CorrelationID: ri.id, CausationID: ri.id}
	if p, ok := auth.FromContext(ctx); ok {
		o.Actor = p.ID
		if ri.supplied {
			o.Key = causal.Key(p.ID, ri.id)
		}
	}
	ctx = causal.With(ctx, o)
	ctx, pos := causal.WithPositions(ctx, minPos)
	err = call(ctx)
	if w := pos.Written(); w > 0 {
		_ = grpc.SetHeader(ctx, metadata.Pairs(PositionHeader, strconv.FormatUint(w, 10)))
	}
	return err
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
func (r *Runtime) observe(ctx context.Context, fullMethod, kind string, req any, call func(context.Context) error) error {
	start := time.Now()
	ri := requestIDOf(ctx, req)
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
	if d := ri.delegation; d != nil {
		// user_id is the principal the call was made for; delegate made it.
		ev = ev.Str("delegate", d.By).Str("via", d.Via)
	}
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
	err = r.observe(ctx, info.FullMethod, "unary", req, func(ctx context.Context) (err error) {
		defer recoverPanic(ctx, info.FullMethod, &err)
		resp, err = r.authn.Unary(ctx, req, info, func(ctx context.Context, req any) (out any, err error) {
			err = withOrigin(ctx, func(ctx context.Context) (err error) {
				out, err = h(ctx, req)
				return err
			})
			return out, err
		})
		return mapError(ctx, err)
	})
	return resp, err
}

// streamInterceptor also ends the stream's context when shutdown begins, so
// long-lived watch streams return at once instead of holding the graceful
// stop until its deadline (their clients see the stream end and reconnect).
func (r *Runtime) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return r.observe(ss.Context(), info.FullMethod, streamKind(info), nil, func(ctx context.Context) (err error) {
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
		return mapError(ctx, r.authn.Stream(srv, stream, info, func(srv any, ss grpc.ServerStream) error {
			return withOrigin(ss.Context(), func(ctx context.Context) error {
				return h(srv, &ctxStream{ServerStream: ss, ctx: ctx})
			})
		}))
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
