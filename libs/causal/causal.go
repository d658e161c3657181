// Package causal carries, through a context, on whose behalf and because of
// what a piece of work runs: the actor, the correlation id that ties together
// everything one request caused (across services), the direct cause (a
// request or an event), and the key that makes a retried command idempotent.
// The trace context travels beside it as OpenTelemetry's span context.
//
// The edges set it: the runtime for every gRPC call (from the authenticated
// principal and the request id), eventstore.Subscribe for every event it
// delivers (from the event's own metadata), and background loops for the work
// they start. The command kernel reads it to stamp every append.
//
// It also carries the request's consistency position: the log position a
// client has already seen (a query waits until its views reach it) and the
// position a command wrote (returned to the client).
package causal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"go.opentelemetry.io/otel/propagation"
)

// Origin is who and what a piece of work acts for.
type Origin struct {
	// Actor is the principal id ("system:<component>" for the system itself).
	Actor string
	// CorrelationID is the id of the request everything here follows from.
	CorrelationID string
	// CausationID is the id of the request or event that directly caused this work.
	CausationID string
	// Key makes commands idempotent: commands run with the same key on the
	// same aggregate take effect once. Empty: every command is new.
	Key string
}

type originKey struct{}

// With returns ctx carrying o.
func With(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// From returns the Origin ctx carries.
func From(ctx context.Context) (Origin, bool) {
	o, ok := ctx.Value(originKey{}).(Origin)
	return o, ok
}

// System returns ctx acting as the system component name ("system:<name>"),
// caused by causeID and correlated with correlationID (either may be empty
// for work nothing external asked for, such as a periodic evaluation).
func System(ctx context.Context, name, correlationID, causeID string) context.Context {
	return With(ctx, Origin{Actor: "system:" + name, CorrelationID: correlationID, CausationID: causeID})
}

// Positions is the consistency state of one request: the log position the
// client has seen (MinPosition) and the highest position the request wrote.
type Positions struct {
	mu      sync.Mutex
	min     uint64
	written uint64
}

type positionsKey struct{}

// WithPositions returns ctx carrying a fresh Positions whose MinPosition is min.
func WithPositions(ctx context.Context, min uint64) (context.Context, *Positions) {
	p := &Positions{min: min}
	return context.WithValue(ctx, positionsKey{}, p), p
}

func positions(ctx context.Context) *Positions {
	p, _ := ctx.Value(positionsKey{}).(*Positions)
	return p
}

// MinPosition is the log position the caller has already seen (0: none):
// queries wait until their views have applied it.
func MinPosition(ctx context.Context) uint64 {
	if p := positions(ctx); p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.min
	}
	return 0
}

// Wrote records that the request's work wrote (or, for a retried command,
// had written) up to log position pos.
func Wrote(ctx context.Context, pos uint64) {
	if p := positions(ctx); p != nil {
		p.mu.Lock()
		p.written = max(p.written, pos)
		p.mu.Unlock()
	}
}

// Written is the highest position recorded by Wrote (0: nothing).
func (p *Positions) Written() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.written
}

// Key is a deterministic idempotency key from parts: "rq-" and 24 hex digits
// of SHA-256 over the parts separated by NUL. Commands with the same key on
// the same aggregate take effect once (their event ids are "<key>.<n>"). A
// client's request: Key(principal, requestID); a reaction to an event:
// Key("event", component, eventID).
func Key(parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return "rq-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// traceContext is the W3C Trace Context propagator.
var traceContext = propagation.TraceContext{}

// TraceParent is ctx's W3C trace context as the traceparent and tracestate
// header values ("" without a trace).
func TraceParent(ctx context.Context) (traceparent, tracestate string) {
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c["traceparent"], c["tracestate"]
}

// WithTraceParent returns ctx continuing the trace of a stored traceparent
// (as a remote parent); ctx unchanged when tp is empty or malformed.
func WithTraceParent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
}
