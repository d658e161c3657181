package runtime_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/runtime"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// originService has one method whose request carries a request_id (an
// ApproveRequest): it answers with the causal origin and consistency
// position its handler sees, and records a write at position 42 when the
// comment says "write".
func originService() *grpc.ServiceDesc {
	const full = "/test.v1.Origin/Show"
	return &grpc.ServiceDesc{ServiceName: "test.v1.Origin", HandlerType: (*any)(nil), Methods: []grpc.MethodDesc{{
		MethodName: "Show",
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(releasev1.ApproveRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, func(ctx context.Context, req any) (any, error) {
				o, ok := causal.From(ctx)
				if req.(*releasev1.ApproveRequest).GetComment() == "write" {
					causal.Wrote(ctx, 42)
				}
				return wrapperspb.String(fmt.Sprintf("ok=%v actor=%s corr=%s cause=%s key=%s min=%d rid=%s",
					ok, o.Actor, o.CorrelationID, o.CausationID, o.Key, causal.MinPosition(ctx), runtime.RequestID(ctx))), nil
			})
		},
	}}}
}

func TestRequestOriginAndPositions(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{setup: func(t *testing.T, rt *runtime.Runtime) {
		if err := rt.Register(originService(), struct{}{}, auth.Rules{"/test.v1.Origin/Show": {Permission: auth.PermSystemRead}}); err != nil {
			t.Fatal(err)
		}
	}})
	show := func(ctx context.Context, req *releasev1.ApproveRequest, opts ...grpc.CallOption) (string, error) {
		out := new(wrapperspb.StringValue)
		err := ts.conn.Invoke(ctx, "/test.v1.Origin/Show", req, out, append(opts, bearer(aliceToken))...)
		return out.GetValue(), err
	}
	key := causal.Key("alice", "req-7")

	for _, tt := range []struct {
		name   string
		req    *releasev1.ApproveRequest
		header string // x-request-id sent
		want   []string
	}{
		{name: "the request's request_id is the correlation id, the cause and (with the principal) the key",
			req: &releasev1.ApproveRequest{RequestId: "req-7"}, want: []string{"ok=true", "actor=alice", "corr=req-7", "cause=req-7", "key=" + key, "rid=req-7"}},
		{name: "the request_id field wins over the header",
			req: &releasev1.ApproveRequest{RequestId: "req-7"}, header: "hdr-1", want: []string{"corr=req-7", "key=" + key, "rid=req-7"}},
		{name: "a header id is a client's id too",
			req: &releasev1.ApproveRequest{}, header: "hdr-1", want: []string{"corr=hdr-1", "key=" + causal.Key("alice", "hdr-1"), "rid=hdr-1"}},
		{name: "a generated id correlates but is no idempotency key",
			req: &releasev1.ApproveRequest{}, want: []string{"ok=true", "actor=alice", "key= "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			if tt.header != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, runtime.RequestIDHeader, tt.header)
			}
			var hdr metadata.MD
			got, err := show(ctx, tt.req, grpc.Header(&hdr))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got+" ", w) {
					t.Errorf("handler saw %q; want %q", got, w)
				}
			}
			if rid := hdr.Get(runtime.RequestIDHeader); len(rid) != 1 || !strings.Contains(got, "rid="+rid[0]) || !strings.Contains(got, "corr="+rid[0]) {
				t.Errorf("x-request-id %q is not the correlation id the handler saw (%s)", rid, got)
			}
			if pos := hdr.Get(runtime.PositionHeader); len(pos) != 0 {
				t.Errorf("a request that wrote nothing answered %s %q", runtime.PositionHeader, pos)
			}
		})
	}

	// A write reports its position; a read asks for one.
	var hdr metadata.MD
	if _, err := show(testCtx(t), &releasev1.ApproveRequest{Comment: "write"}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if pos := hdr.Get(runtime.PositionHeader); len(pos) != 1 || pos[0] != "42" {
		t.Errorf("%s = %q after a write at 42", runtime.PositionHeader, pos)
	}
	got, err := show(metadata.AppendToOutgoingContext(testCtx(t), runtime.MinPositionHeader, "41"), &releasev1.ApproveRequest{})
	if err != nil || !strings.Contains(got, "min=41") {
		t.Errorf("with %s 41 the handler saw %q, %v", runtime.MinPositionHeader, got, err)
	}

	// Bad input: a request_id too long to be a key, a position that is not a number.
	_, err = show(testCtx(t), &releasev1.ApproveRequest{RequestId: strings.Repeat("x", 129)})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "request_id") {
		t.Errorf("a 129-character request_id: %v, want InvalidArgument on request_id", err)
	}
	_, err = show(metadata.AppendToOutgoingContext(testCtx(t), runtime.MinPositionHeader, "soon"), &releasev1.ApproveRequest{})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), runtime.MinPositionHeader) {
		t.Errorf("%s soon: %v, want InvalidArgument naming it", runtime.MinPositionHeader, err)
	}
}
