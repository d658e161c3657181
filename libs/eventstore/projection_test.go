package eventstore_test

import (
	"errors"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
)

// orderView is the read model the projection tests build: the payloads of an
// order's events, in the order applied.
type orderView struct {
	Payloads []string `json:"payloads"`
}

func newViewBucket(t *testing.T, js jetstream.JetStream, name string) jetstream.KeyValue {
	t.Helper()
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: name})
	if err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return kv
}

// orderProjection keys views by order id, ignoring the order "ignored".
func orderProjection(t *testing.T, kv jetstream.KeyValue) *eventstore.Projection[orderView] {
	return &eventstore.Projection[orderView]{
		KV: kv,
		Key: func(e *eventstore.RecordedEvent) string {
			if e.AggregateID == "ignored" {
				return ""
			}
			return e.AggregateID
		},
		Apply: func(v orderView, e *eventstore.RecordedEvent) (orderView, error) {
			v.Payloads = append(v.Payloads, payloadOf(t, e))
			return v, nil
		},
	}
}

func allEvents(t *testing.T, s eventstore.Store) []*eventstore.RecordedEvent {
	t.Helper()
	var out []*eventstore.RecordedEvent
	if err := s.ReadAll(t.Context(), 1, func(e *eventstore.RecordedEvent) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("read log: %v", err)
	}
	return out
}

func TestProjectionAppliesEachEventOnce(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	appendOK(t, s, "o1", 0, "o1 created")            // 1
	appendOK(t, s, "ignored", 0, "not projected")    // 2
	appendOK(t, s, "o2", 0, "o2 created", "o2 paid") // 3, 4
	appendOK(t, s, "o1", 1, "o1 paid")               // 5
	appendOK(t, s, "o1", 2, "o1 shipped")            // 6
	events := allEvents(t, s)

	want := map[string]*eventstore.View[orderView]{
		"o1": {LastSeq: 6, Data: orderView{Payloads: []string{"o1 created", "o1 paid", "o1 shipped"}}},
		"o2": {LastSeq: 4, Data: orderView{Payloads: []string{"o2 created", "o2 paid"}}},
	}
	tests := []struct {
		name string
		run  func(t *testing.T, p *eventstore.Projection[orderView])
	}{
		{name: "each event handled twice in a row", run: func(t *testing.T, p *eventstore.Projection[orderView]) {
			for _, e := range events {
				for range 2 {
					if err := p.Handle(t.Context(), e); err != nil {
						t.Fatalf("handle %d: %v", e.Seq, err)
					}
				}
			}
		}},
		{name: "the whole log redelivered", run: func(t *testing.T, p *eventstore.Projection[orderView]) {
			for range 2 {
				for _, e := range events {
					if err := p.Handle(t.Context(), e); err != nil {
						t.Fatalf("handle %d: %v", e.Seq, err)
					}
				}
			}
		}},
		{name: "two projectors concurrently", run: func(t *testing.T, p *eventstore.Projection[orderView]) {
			var wg sync.WaitGroup
			errc := make(chan error, 2*len(events))
			for range 2 {
				wg.Go(func() {
					for _, e := range events {
						if err := p.Handle(t.Context(), e); err != nil {
							errc <- err
						}
					}
				})
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Errorf("handle: %v", err)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kv := newViewBucket(t, js, "views_"+string(rune('a'+i)))
			tt.run(t, orderProjection(t, kv))

			got := map[string]*eventstore.View[orderView]{}
			keys, err := kv.Keys(t.Context())
			if err != nil {
				t.Fatalf("keys: %v", err)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v, err := eventstore.GetView[orderView](t.Context(), kv, k)
				if err != nil {
					t.Fatalf("GetView %s: %v", k, err)
				}
				got[k] = v
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("views (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProjectionLastSeqAdvances(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	kv := newViewBucket(t, js, "views")
	p := orderProjection(t, kv)
	appendOK(t, s, "o1", 0, "first")
	appendOK(t, s, "o2", 0, "other")
	appendOK(t, s, "o1", 1, "second")
	events := allEvents(t, s)

	tests := []struct {
		name  string
		event *eventstore.RecordedEvent
		want  *eventstore.View[orderView]
	}{
		{name: "creates the view", event: events[0], want: &eventstore.View[orderView]{LastSeq: 1, Data: orderView{Payloads: []string{"first"}}}},
		{name: "updates it", event: events[2], want: &eventstore.View[orderView]{LastSeq: 3, Data: orderView{Payloads: []string{"first", "second"}}}},
		{name: "an older event is not applied", event: events[0], want: &eventstore.View[orderView]{LastSeq: 3, Data: orderView{Payloads: []string{"first", "second"}}}},
	}
	for _, tt := range tests { // in order: each step builds on the one before
		if err := p.Handle(t.Context(), tt.event); err != nil {
			t.Fatalf("%s: handle: %v", tt.name, err)
		}
		got, err := eventstore.GetView[orderView](t.Context(), kv, "o1")
		if err != nil {
			t.Fatalf("%s: GetView: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: view o1 (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, err := eventstore.GetView[orderView](t.Context(), kv, "o2"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("GetView of a view never projected = %v, want ErrKeyNotFound", err)
	}
}

func TestProjectionIgnoresEventsWithoutKey(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	kv := newViewBucket(t, js, "views")
	p := orderProjection(t, kv)
	p.Apply = func(orderView, *eventstore.RecordedEvent) (orderView, error) {
		return orderView{}, errors.New("Apply called for an event without a key")
	}
	appendOK(t, s, "ignored", 0, "a", "b")
	for _, e := range allEvents(t, s) {
		if err := p.Handle(t.Context(), e); err != nil {
			t.Errorf("handle %d: %v", e.Seq, err)
		}
	}
	keys, err := kv.Keys(t.Context())
	if !errors.Is(err, jetstream.ErrNoKeysFound) {
		t.Errorf("bucket keys = %q, %v; want none", keys, err)
	}
}

func TestProjectionApplyErrorLeavesViewUnchanged(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	kv := newViewBucket(t, js, "views")
	p := orderProjection(t, kv)
	appendOK(t, s, "o1", 0, "ok", "bad")
	events := allEvents(t, s)
	if err := p.Handle(t.Context(), events[0]); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("cannot apply")
	p.Apply = func(orderView, *eventstore.RecordedEvent) (orderView, error) { return orderView{}, boom }
	if err := p.Handle(t.Context(), events[1]); !errors.Is(err, boom) {
		t.Errorf("Handle = %v, want the Apply error", err)
	}
	got, err := eventstore.GetView[orderView](t.Context(), kv, "o1")
	if err != nil {
		t.Fatal(err)
	}
	want := &eventstore.View[orderView]{LastSeq: 1, Data: orderView{Payloads: []string{"ok"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("view after a failed apply (-want +got):\n%s", diff)
	}
}

// TestProjectionStaleWriterDoesNotOverwrite pauses one projector between
// reading a view and writing it back while another projector moves the view
// on: the paused one's write must lose (compare-and-swap), not roll the view back.
func TestProjectionStaleWriterDoesNotOverwrite(t *testing.T) {
	t.Parallel()
	js, s := newOrderStore(t)
	appendOK(t, s, "o1", 0, "created") // 1
	appendOK(t, s, "o1", 1, "paid")    // 2
	appendOK(t, s, "o1", 2, "shipped") // 3
	events := allEvents(t, s)
	want := &eventstore.View[orderView]{LastSeq: 3, Data: orderView{Payloads: []string{"created", "paid", "shipped"}}}

	tests := []struct {
		name   string
		before int // events applied before the race starts
		stale  int // index of the event the paused projector applies
	}{
		{name: "stale create", before: 0, stale: 0},
		{name: "stale update", before: 1, stale: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kv := newViewBucket(t, js, "stale_"+string(rune('a'+i)))
			fast := orderProjection(t, kv)
			for _, e := range events[:tt.before] {
				if err := fast.Handle(t.Context(), e); err != nil {
					t.Fatal(err)
				}
			}
			slow := orderProjection(t, kv)
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			apply := slow.Apply
			slow.Apply = func(v orderView, e *eventstore.RecordedEvent) (orderView, error) {
				once.Do(func() {
					close(entered)
					<-release
				})
				return apply(v, e)
			}
			done := make(chan error, 1)
			go func() { done <- slow.Handle(t.Context(), events[tt.stale]) }()
			<-entered
			for _, e := range events[tt.before:] {
				if err := fast.Handle(t.Context(), e); err != nil {
					t.Fatal(err)
				}
			}
			close(release)
			if err := <-done; err != nil {
				t.Errorf("paused projector: %v", err)
			}
			got, err := eventstore.GetView[orderView](t.Context(), kv, "o1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("view after the race (-want +got):\n%s", diff)
			}
		})
	}
}
