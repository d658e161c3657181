// Package projectiontest is the conformance suite every view runs: a view
// rebuilt from zero equals the live one; a restart resumes from its
// checkpoint without replaying the log; events delivered again change
// nothing; a poison event is reported and skipped without stalling the view
// or any other; Wait returns once the view has what a position holds.
package projectiontest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/projection"
)

// Harness is what a view gives the suite.
type Harness[R any] struct {
	// Aggregates the store must accept for Append.
	Aggregates []string
	// Spec returns the view's spec with fresh derived state (indexes) on each call.
	Spec func() projection.Spec[R]
	// Append writes round r (0, 1, 2) of the view's events through store.
	Append func(t *testing.T, ctx context.Context, store eventstore.Store, round int)
	// PoisonSubject and PoisonType name an event the view reads; the suite
	// publishes one with a body that does not decode there.
	PoisonSubject, PoisonType string
	// Dump is what the view's queries see (compared with cmp, protocmp).
	Dump func(p *projection.Projection[R]) any
}

// Run runs the suite.
func Run[R any](t *testing.T, h Harness[R]) {
	t.Run("RebuildEqualsLive", func(t *testing.T) { t.Parallel(); rebuildEqualsLive(t, h) })
	t.Run("RestartResumesFromTheCheckpoint", func(t *testing.T) { t.Parallel(); restartResumes(t, h) })
	t.Run("RedeliveryChangesNothing", func(t *testing.T) { t.Parallel(); redelivery(t, h) })
	t.Run("PoisonIsReportedAndSkipped", func(t *testing.T) { t.Parallel(); poison(t, h) })
	t.Run("WaitSeesThePosition", func(t *testing.T) { t.Parallel(); waitSees(t, h) })
}

type env struct {
	js    jetstream.JetStream
	nc    *nats.Conn
	store *eventstore.JetStreamStore
}

func newEnv[R any](t *testing.T, h Harness[R]) *env {
	t.Helper()
	_, nc, js := natstest.JetStream(t)
	store, err := eventstore.Open(t.Context(), js, eventstore.Options{Source: "floe/test", Aggregates: append([]string{"unrelated"}, h.Aggregates...)})
	if err != nil {
		t.Fatal(err)
	}
	return &env{js: js, nc: nc, store: store}
}

// running is a projection running in the background.
type running[R any] struct {
	p    *projection.Projection[R]
	stop func()
}

func start[R any](t *testing.T, e *env, spec projection.Spec[R], opts projection.Options) *running[R] {
	t.Helper()
	opts.FlushInterval = 50 * time.Millisecond
	p, err := projection.New(t.Context(), e.js, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	r := &running[R]{p: p, stop: func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projection %s: %v", spec.Name, err)
		}
	}}
	t.Cleanup(r.stop)
	return r
}

func renamed[R any](spec projection.Spec[R], name string) projection.Spec[R] {
	spec.Name = name
	return spec
}

// caughtUp waits until p has applied position pos.
func caughtUp[R any](t *testing.T, p *projection.Projection[R], pos uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	select {
	case <-p.Ready():
	case <-ctx.Done():
		t.Fatalf("view %s never caught up: %+v", p.Name(), p.Status())
	}
	if err := p.Wait(ctx, pos); err != nil {
		t.Fatalf("view %s: Wait(%d): %v (status %+v)", p.Name(), pos, err, p.Status())
	}
}

func lastSeq(t *testing.T, e *env) uint64 {
	t.Helper()
	n, err := e.store.LastSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func dump[R any](h Harness[R], p *projection.Projection[R]) any {
	var out any
	p.Read(func() { out = h.Dump(p) })
	return out
}

func rebuildEqualsLive[R any](t *testing.T, h Harness[R]) {
	e := newEnv(t, h)
	live := start(t, e, h.Spec(), projection.Options{})
	for r := range 3 {
		h.Append(t, t.Context(), e.store, r)
	}
	last := lastSeq(t, e)
	caughtUp(t, live.p, last)
	want := dump(h, live.p)

	// A view started on the finished log, from nothing.
	late := start(t, e, renamed(h.Spec(), h.Spec().Name+"_late"), projection.Options{})
	caughtUp(t, late.p, last)
	same(t, "a view built from the whole log vs the live view", want, dump(h, late.p))

	// Rebuild the live view in place.
	before := live.p.Status().Applied
	if err := live.p.Rebuild(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for st := live.p.Status(); st.Applied == before || st.Rebuilding || st.Position < last; st = live.p.Status() {
		if time.Now().After(deadline) {
			t.Fatalf("rebuild did not finish: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	same(t, "the rebuilt view vs the live view", want, dump(h, live.p))
}

func restartResumes[R any](t *testing.T, h Harness[R]) {
	e := newEnv(t, h)
	first := start(t, e, h.Spec(), projection.Options{})
	h.Append(t, t.Context(), e.store, 0)
	h.Append(t, t.Context(), e.store, 1)
	caughtUp(t, first.p, lastSeq(t, e))
	fullRun := first.p.Status().Applied
	first.stop() // writes a final checkpoint
	h.Append(t, t.Context(), e.store, 2)

	again := start(t, e, h.Spec(), projection.Options{})
	last := lastSeq(t, e)
	caughtUp(t, again.p, last)
	ref := start(t, e, renamed(h.Spec(), h.Spec().Name+"_ref"), projection.Options{})
	caughtUp(t, ref.p, last)
	same(t, "the restarted view vs one built from the log", dump(h, ref.p), dump(h, again.p))
	if got, all := again.p.Status().Applied, ref.p.Status().Applied; got >= all || got == 0 {
		t.Errorf("the restarted view folded %d events; the whole log is %d (rounds 0-1: %d): it should fold only what came after its checkpoint",
			got, all, fullRun)
	}
}

func redelivery[R any](t *testing.T, h Harness[R]) {
	e := newEnv(t, h)
	first := start(t, e, h.Spec(), projection.Options{})
	for r := range 3 {
		h.Append(t, t.Context(), e.store, r)
	}
	last := lastSeq(t, e)
	caughtUp(t, first.p, last)
	want := dump(h, first.p)
	first.stop()
	// Every event is delivered again on top of the restored rows.
	again := start(t, e, h.Spec(), projection.Options{ReplayFrom: 1})
	caughtUp(t, again.p, last)
	same(t, "the view after every event was delivered twice", want, dump(h, again.p))
	if n := again.p.Status().Applied; n != 0 {
		t.Errorf("%d events were folded a second time", n)
	}
}

func poison[R any](t *testing.T, h Harness[R]) {
	e := newEnv(t, h)
	var reported []projection.Poison
	v := start(t, e, h.Spec(), projection.Options{OnPoison: func(p projection.Poison) { reported = append(reported, p) }})
	// Another view on the same log, to show it is not held up either.
	other := start(t, e, countingSpec(), projection.Options{})
	h.Append(t, t.Context(), e.store, 0)
	// A well-formed envelope whose body does not decode as its type.
	msg := nats.NewMsg(h.PoisonSubject)
	for k, val := range map[string]string{
		eventstore.HdrSpecVersion: "1.0", eventstore.HdrID: "poison-1", eventstore.HdrType: h.PoisonType, eventstore.HdrSource: "attacker",
		eventstore.HdrTime: time.Now().UTC().Format(time.RFC3339Nano), eventstore.HdrVersion: "1", eventstore.HdrPrevHash: eventstore.GenesisHash,
		eventstore.HdrHash: "00", eventstore.HdrActor: "nobody", eventstore.HdrContentType: "application/json",
	} {
		msg.Header.Set(k, val)
	}
	msg.Data = []byte(`{"this is": not json`)
	ack, err := e.js.PublishMsg(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	h.Append(t, t.Context(), e.store, 1)
	last := lastSeq(t, e)
	caughtUp(t, v.p, last)
	caughtUp(t, other.p, last)
	st := v.p.Status()
	if len(st.Poison) != 1 || st.Poison[0].Seq != ack.Sequence || st.Poison[0].View != h.Spec().Name {
		t.Errorf("poison reported in status: %+v, want position %d", st.Poison, ack.Sequence)
	}
	if len(reported) != 1 || reported[0].Seq != ack.Sequence {
		t.Errorf("OnPoison was told %+v, want position %d", reported, ack.Sequence)
	}
	// Everything else is in the view, as a view that never saw the poison would have it.
	v.stop()
	ref := start(t, e, renamed(h.Spec(), h.Spec().Name+"_ref"), projection.Options{})
	caughtUp(t, ref.p, last)
	restarted := start(t, e, h.Spec(), projection.Options{})
	caughtUp(t, restarted.p, last)
	same(t, "the view past a poison event vs a fresh one", dump(h, ref.p), dump(h, restarted.p))
	if got := restarted.p.Status().Poison; len(got) != 1 || got[0].Seq != ack.Sequence {
		t.Errorf("after a restart the recorded poison is %+v, want position %d", got, ack.Sequence)
	}
}

func waitSees[R any](t *testing.T, h Harness[R]) {
	e := newEnv(t, h)
	v := start(t, e, h.Spec(), projection.Options{})
	h.Append(t, t.Context(), e.store, 0)
	caughtUp(t, v.p, lastSeq(t, e))
	before := dump(h, v.p)
	h.Append(t, t.Context(), e.store, 1)
	last := lastSeq(t, e)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := v.p.Wait(ctx, last); err != nil {
		t.Fatal(err)
	}
	if v.p.Status().Position < last {
		t.Errorf("Wait(%d) returned at position %d", last, v.p.Status().Position)
	}
	if diff := cmp.Diff(before, dump(h, v.p), protocmp.Transform()); diff == "" {
		t.Error("round 1 did not change the view: the harness must make each round visible")
	}
	// A position the view has nothing to read at: Wait does not hang for it.
	res, err := e.store.Append(t.Context(), "unrelated", "u1", eventstore.NoStream, eventstore.Meta{Actor: "tester"},
		eventstore.Event{Message: stringEvent("elsewhere")})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.p.Wait(ctx, res.LastSeq); err != nil {
		t.Errorf("Wait for an event outside the view's filters: %v", err)
	}
}

// countingSpec is a view of its own: the number of events of each subject.
func countingSpec() projection.Spec[int] {
	return projection.Spec[int]{
		Name: "suite_counting", Filters: []string{eventstore.SubjectPrefix + ">"},
		Keys:      func(e *eventstore.RecordedEvent) []string { return []string{e.Aggregate + "-" + e.Name} },
		Fold:      func(n int, _ bool, _ *eventstore.RecordedEvent) (int, bool, error) { return n + 1, true, nil },
		Marshal:   func(n int) ([]byte, error) { return []byte(strconv.Itoa(n)), nil },
		Unmarshal: func(b []byte) (int, error) { return strconv.Atoi(string(b)) },
	}
}

func stringEvent(s string) proto.Message { return wrapperspb.String(s) }
