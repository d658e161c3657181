package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/testkit"
)

// waitTimeout bounds the tests' waits on Subscribe and on handler calls:
// generous, so a loaded machine is slow but not flaky.
const waitTimeout = 20 * time.Second

// actorCtx is a context for appends made by the tests, cancelled at cleanup.
func actorCtx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}

// testMeta is the metadata of the tests' appends.
var testMeta = eventstore.Meta{Actor: "tester"}

// newOrderStore starts an embedded JetStream and opens a store for "order".
func newOrderStore(t *testing.T) (jetstream.JetStream, *eventstore.JetStreamStore) {
	t.Helper()
	return newStore(t, "order")
}

// newStore starts an embedded JetStream and opens a store for aggregates.
func newStore(t *testing.T, aggregates ...string) (jetstream.JetStream, *eventstore.JetStreamStore) {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	s, err := eventstore.Open(t.Context(), js, eventstore.Options{Aggregates: aggregates})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return js, s
}

func asInvalid(err error, target **errs.InvalidArgumentError) bool { return errors.As(err, target) }

func strEvents(payloads ...string) []eventstore.Event {
	out := make([]eventstore.Event, len(payloads))
	for i, p := range payloads {
		out[i] = eventstore.Event{Message: wrapperspb.String(p)}
	}
	return out
}

func appendOK(t *testing.T, s eventstore.Store, id string, expected eventstore.Version, payloads ...string) *eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(actorCtx(t), "order", id, expected, testMeta, strEvents(payloads...)...)
	if err != nil {
		t.Fatalf("append order %s at %d: %v", id, expected, err)
	}
	return res
}

func payloadOf(t *testing.T, e *eventstore.RecordedEvent) string {
	t.Helper()
	var s wrapperspb.StringValue
	if err := e.DecodeInto(&s); err != nil {
		t.Errorf("decode event at %d: %v", e.Seq, err)
	}
	return s.GetValue()
}

// startSubscribe runs Subscribe in the background until the returned stop
// function (also run at cleanup) cancels it and waits for it to return.
func startSubscribe(t *testing.T, js jetstream.JetStream, sub eventstore.Subscription) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eventstore.Subscribe(ctx, js, eventstore.DefaultStream, sub) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("Subscribe %s returned %v, want nil or context.Canceled", sub.Name, err)
				}
			case <-time.After(waitTimeout):
				t.Errorf("Subscribe %s did not return within %s of its context being cancelled", sub.Name, waitTimeout)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// delivery is one handler call as a test records it.
type delivery struct {
	Seq     uint64
	ID      string // aggregate id
	Version eventstore.Version
	Payload string
}

// recorder is a Handler that records what it is given.
type recorder struct {
	mu   sync.Mutex
	got  []delivery
	fail func(e *eventstore.RecordedEvent, call int) error // optional: fail this call
	n    map[uint64]int                                    // calls per position
}

func (r *recorder) handle(t *testing.T) eventstore.Handler {
	return func(_ context.Context, e *eventstore.RecordedEvent) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.n == nil {
			r.n = map[uint64]int{}
		}
		r.n[e.Seq]++
		r.got = append(r.got, delivery{Seq: e.Seq, ID: e.AggregateID, Version: e.Version, Payload: payloadOf(t, e)})
		if r.fail != nil {
			return r.fail(e, r.n[e.Seq])
		}
		return nil
	}
}

func (r *recorder) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// handled is nil once the event at seq has been handed to the handler, and
// otherwise says which positions have been.
func (r *recorder) handled(seq uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n[seq] > 0 {
		return nil
	}
	seqs := make([]uint64, len(r.got))
	for i, d := range r.got {
		seqs[i] = d.Seq
	}
	return fmt.Errorf("event at %d not handled yet; handler calls by position: %v", seq, seqs)
}

// readLog returns every event of the log, as the handler should see them.
func readLog(t *testing.T, s eventstore.Store) []delivery {
	t.Helper()
	var out []delivery
	if err := s.ReadAll(t.Context(), 1, func(e *eventstore.RecordedEvent) error {
		out = append(out, delivery{Seq: e.Seq, ID: e.AggregateID, Version: e.Version, Payload: payloadOf(t, e)})
		return nil
	}); err != nil {
		t.Fatalf("read log: %v", err)
	}
	return out
}

func TestSubscribeDeliversInLogOrderOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		append func(t *testing.T, s eventstore.Store)
	}{
		{name: "one aggregate", append: func(t *testing.T, s eventstore.Store) {
			appendOK(t, s, "o1", 0, "a1")
			appendOK(t, s, "o1", 1, "a2", "a3", "a4")
			appendOK(t, s, "o1", 4, "a5")
		}},
		{name: "interleaved aggregates", append: func(t *testing.T, s eventstore.Store) {
			versions := map[string]eventstore.Version{}
			for i := range 24 {
				id := fmt.Sprintf("o%d", i%3+1)
				if i%5 == 0 { // some multi-event appends among the single ones
					res := appendOK(t, s, id, versions[id], fmt.Sprintf("%s-%d", id, i), fmt.Sprintf("%s-%db", id, i))
					versions[id] = res.Version
					continue
				}
				versions[id] = appendOK(t, s, id, versions[id], fmt.Sprintf("%s-%d", id, i)).Version
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			js, s := newOrderStore(t)
			// Half the events exist before the subscription starts, half arrive while it runs.
			tt.append(t, s)
			rec := &recorder{}
			startSubscribe(t, js, eventstore.Subscription{Name: "ordered", Handler: rec.handle(t)})
			tt.append(t, &renamed{Store: s, suffix: "x"})
			// A sentinel appended last: once it is handled, everything before it has been.
			sentinel := appendOK(t, s, "sentinel", 0, "end")
			testkit.Eventually(t, func() error { return rec.handled(sentinel.LastSeq) })

			want := readLog(t, s)
			if diff := cmp.Diff(want, rec.deliveries()); diff != "" {
				t.Errorf("deliveries differ from the log (-want +got):\n%s", diff)
			}
			// Per-aggregate order, stated on its own: versions 1, 2, 3... per aggregate.
			next := map[string]eventstore.Version{}
			for _, d := range rec.deliveries() {
				if d.Version != next[d.ID]+1 {
					t.Errorf("position %d: %s version %d handled after version %d", d.Seq, d.ID, d.Version, next[d.ID])
				}
				next[d.ID] = d.Version
			}
		})
	}
}

// renamed appends to different aggregate ids than the Store it wraps (so the
// same append script can run twice on one log).
type renamed struct {
	eventstore.Store
	suffix string
}

func (r *renamed) Append(ctx context.Context, aggregate, id string, expected eventstore.Version, meta eventstore.Meta, events ...eventstore.Event) (*eventstore.AppendResult, error) {
	return r.Store.Append(ctx, aggregate, id+r.suffix, expected, meta, events...)
}

func TestSubscribeRetriesFailingEventBeforeLaterOnes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fails int // times the event at position 3 fails before it succeeds
	}{
		{name: "fails once", fails: 1},
		{name: "fails three times", fails: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			js, s := newOrderStore(t)
			appendOK(t, s, "o1", 0, "e1", "e2")
			appendOK(t, s, "o2", 0, "e3")
			appendOK(t, s, "o1", 2, "e4")
			appendOK(t, s, "o2", 1, "e5")

			boom := errors.New("handler failed")
			rec := &recorder{fail: func(e *eventstore.RecordedEvent, call int) error {
				if e.Seq == 3 && call <= tt.fails {
					return boom
				}
				return nil
			}}
			type failure struct {
				Seq     uint64
				Attempt int
				Err     string
			}
			var mu sync.Mutex
			var failures []failure
			startSubscribe(t, js, eventstore.Subscription{
				Name: "retrying", Handler: rec.handle(t), MaxBackoff: 10 * time.Millisecond,
				OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
					mu.Lock()
					defer mu.Unlock()
					failures = append(failures, failure{Seq: e.Seq, Attempt: attempt, Err: err.Error()})
				},
			})
			testkit.Eventually(t, func() error { return rec.handled(5) })

			var wantSeqs []uint64
			var wantFailures []failure
			wantSeqs = append(wantSeqs, 1, 2)
			for i := 1; i <= tt.fails; i++ {
				wantSeqs = append(wantSeqs, 3)
				wantFailures = append(wantFailures, failure{Seq: 3, Attempt: i, Err: boom.Error()})
			}
			wantSeqs = append(wantSeqs, 3, 4, 5)
			var gotSeqs []uint64
			for _, d := range rec.deliveries() {
				gotSeqs = append(gotSeqs, d.Seq)
			}
			if diff := cmp.Diff(wantSeqs, gotSeqs); diff != "" {
				t.Errorf("handler calls by position (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(wantFailures, failures); diff != "" {
				t.Errorf("OnError calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubscribeResumesDurably(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	appendOK(t, s, "o1", 0, "e1", "e2")
	appendOK(t, s, "o2", 0, "e3")

	first := &recorder{}
	stop := startSubscribe(t, js, eventstore.Subscription{Name: "resumable", Handler: first.handle(t)})
	testkit.Eventually(t, func() error { return first.handled(3) })
	// A clean stop releases the consumer's pin, so the restarted subscription
	// below is served at once rather than after the pin's TTL.
	stop()
	cons, err := js.Consumer(t.Context(), eventstore.DefaultStream, "resumable")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range info.PriorityGroups {
		if g.PinnedClientID != "" {
			t.Errorf("priority group %s still pinned to %s after a clean stop", g.Group, g.PinnedClientID)
		}
	}

	appendOK(t, s, "o1", 2, "e4")
	appendOK(t, s, "o3", 0, "e5", "e6")

	second := &recorder{}
	startSubscribe(t, js, eventstore.Subscription{Name: "resumable", Handler: second.handle(t)})
	testkit.Eventually(t, func() error { return second.handled(6) })

	log := readLog(t, s)
	if diff := cmp.Diff(log[:3], first.deliveries()); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	// Delivery is at least once, so the second run may in principle repeat an
	// event the first one handled, but it must start where the first stopped
	// and handle every new event, in order.
	got := second.deliveries()
	for len(got) > 0 && got[0].Seq <= 3 {
		t.Logf("redelivered after restart: %+v", got[0])
		got = got[1:]
	}
	if diff := cmp.Diff(log[3:], got); diff != "" {
		t.Errorf("second run, after any redeliveries (-want +got):\n%s", diff)
	}
	if n := len(second.deliveries()) - len(got); n > 0 {
		t.Errorf("the second run redelivered %d acknowledged events: %+v", n, second.deliveries()[:n])
	}
}

func TestSubscribeHandlerContext(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	res, err := s.Append(ctx, "order", "o1", 0, eventstore.Meta{Actor: "tester", CorrelationID: "req-42", CausationID: "cmd-7", TraceParent: traceParentOf(ctx)},
		eventstore.Event{ID: "evt-1", Message: wrapperspb.String("created")})
	if err != nil {
		t.Fatal(err)
	}

	type seen struct {
		Origin  causal.Origin
		HasMeta bool
		TraceID string
		Remote  bool
	}
	got := make(chan seen, 10)
	startSubscribe(t, js, eventstore.Subscription{Name: "ctx-check", Handler: func(ctx context.Context, e *eventstore.RecordedEvent) error {
		o, ok := causal.From(ctx)
		sc := trace.SpanContextFromContext(ctx)
		got <- seen{Origin: o, HasMeta: ok, TraceID: sc.TraceID().String(), Remote: sc.IsRemote()}
		return nil
	}})
	var g seen
	select {
	case g = <-got:
	case <-time.After(waitTimeout):
		t.Fatalf("event at %d not handled within %s", res.LastSeq, waitTimeout)
	}
	want := seen{
		Origin:  causal.Origin{Actor: "system:ctx-check", CorrelationID: "req-42", CausationID: "evt-1", Key: causal.Key("event", "ctx-check", "evt-1")},
		HasMeta: true, TraceID: tid.String(), Remote: true,
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("handler context (-want +got):\n%s", diff)
	}
}

func TestSubscribeSkipsMalformedMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header nats.Header
	}{
		{name: "no headers"},
		{name: "floe headers but no version", header: nats.Header{eventstore.HdrID: {"x"}, eventstore.HdrType: {"google.protobuf.StringValue"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			js, s := newOrderStore(t)
			appendOK(t, s, "o1", 0, "before")
			msg := nats.NewMsg(eventstore.SubjectPrefix + "order.x.Bad")
			if tt.header != nil {
				msg.Header = tt.header
			}
			msg.Data = []byte(`{"not":"an event"}`)
			ack, err := js.PublishMsg(t.Context(), msg)
			if err != nil {
				t.Fatal(err)
			}
			after := appendOK(t, s, "o2", 0, "after")

			type report struct {
				Seq     uint64
				Subject string
				Attempt int
				Decode  bool // the error is a *eventstore.DecodeError
			}
			var mu sync.Mutex
			var reports []report
			rec := &recorder{}
			startSubscribe(t, js, eventstore.Subscription{
				Name: "tolerant", Handler: rec.handle(t), MaxBackoff: 10 * time.Millisecond,
				OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
					var de *eventstore.DecodeError
					mu.Lock()
					defer mu.Unlock()
					reports = append(reports, report{Seq: e.Seq, Subject: e.Subject, Attempt: attempt, Decode: errors.As(err, &de)})
				},
			})
			testkit.Eventually(t, func() error { return rec.handled(after.LastSeq) })

			var seqs []uint64
			for _, d := range rec.deliveries() {
				seqs = append(seqs, d.Seq)
			}
			if diff := cmp.Diff([]uint64{1, after.LastSeq}, seqs); diff != "" {
				t.Errorf("handled positions (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			want := []report{{Seq: ack.Sequence, Subject: msg.Subject, Attempt: 1, Decode: true}}
			if diff := cmp.Diff(want, reports); diff != "" {
				t.Errorf("OnError calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubscribeRequiresNameAndHandler(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	noop := func(context.Context, *eventstore.RecordedEvent) error { return nil }
	tests := []struct {
		name string
		sub  eventstore.Subscription
	}{
		{name: "no name", sub: eventstore.Subscription{Handler: noop}},
		{name: "no handler", sub: eventstore.Subscription{Name: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := eventstore.Subscribe(t.Context(), js, eventstore.DefaultStream, tt.sub); err == nil {
				t.Error("Subscribe succeeded")
			}
		})
	}
}

// traceParentOf is ctx's W3C traceparent ("" without a trace).
func traceParentOf(ctx context.Context) string {
	h := nats.Header{}
	natsx.InjectTrace(ctx, h)
	return h.Get(eventstore.HdrTraceParent)
}

// TestSubscribeWaitsForJetStream: a subscription set up while JetStream
// does not answer (a cluster just started, or electing leaders) tries
// again until its context ends, instead of failing at once and stopping
// the process; a stream that does not exist is still an error at once.
func TestSubscribeWaitsForJetStream(t *testing.T) {
	t.Parallel()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}) // no JetStream
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	plain, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	noop := func(context.Context, *eventstore.RecordedEvent) error { return nil }
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = eventstore.Subscribe(ctx, plain, eventstore.DefaultStream, eventstore.Subscription{Name: "waits", Handler: noop})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < time.Second {
		t.Errorf("Subscribe without JetStream returned %v after %s; want it to keep trying until its context ended", err, time.Since(start))
	}

	_, _, js := natstest.JetStream(t)
	err = eventstore.Subscribe(t.Context(), js, "NO_SUCH_STREAM", eventstore.Subscription{Name: "missing", Handler: noop})
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "subscription missing") {
		t.Errorf("Subscribe to a stream that does not exist: %v; want an error at once", err)
	}
}
