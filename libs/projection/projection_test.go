package projection_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/projection/projectiontest"
)

// account is the test aggregate: its events are StringValues (entries).
type account struct {
	ID      string   `json:"id"`
	Entries []string `json:"entries"`
}

var accountKind = kernel.Kind[*account]{
	Name: "account",
	New:  func(id string) *account { return &account{ID: id} },
	Apply: func(a *account, e *eventstore.RecordedEvent) (*account, error) {
		var s wrapperspb.StringValue
		if err := e.DecodeInto(&s); err != nil {
			return nil, err
		}
		a.Entries = append(a.Entries, s.GetValue())
		return a, nil
	},
	Codec: kernel.Codec[*account]{Schema: "account/1"},
}

func init() {
	accountKind.Codec.Marshal = func(a *account) ([]byte, error) { return jsonMarshal(a) }
	accountKind.Codec.Unmarshal = func(b []byte) (*account, error) {
		var a account
		err := jsonUnmarshal(b, &a)
		return &a, err
	}
}

// accountsView lists accounts by id with an index on their entry count.
type accountsView struct {
	idx *projection.Index[*account]
}

func newAccountsView() (*accountsView, projection.Spec[*account]) {
	v := &accountsView{idx: projection.NewIndex(
		func(a *account) string { return a.ID },
		func(a, b *account) bool { return a.ID < b.ID },
		map[string]func(*account) []string{"size": func(a *account) []string { return []string{fmt.Sprint(len(a.Entries))} }},
	)}
	spec := projection.Aggregates("accounts", accountKind)
	spec.OnChange = func(key string, a *account, deleted bool) {
		if deleted {
			v.idx.Delete(key)
			return
		}
		// Rows change in place: index a copy, so the index's order keys never move under it.
		c := *a
		c.Entries = append([]string(nil), a.Entries...)
		v.idx.Put(&c)
	}
	spec.OnReset = v.idx.Reset
	return v, spec
}

func TestConformance(t *testing.T) {
	t.Parallel()
	projectiontest.Run(t, projectiontest.Harness[*account]{
		Aggregates: []string{"account"},
		Spec: func() projection.Spec[*account] {
			_, spec := newAccountsView()
			return spec
		},
		Append: func(t *testing.T, ctx context.Context, store eventstore.Store, round int) {
			for i := range 3 + round {
				id := fmt.Sprintf("acc%d", i)
				v, _, err := store.Head(ctx, "account", id)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := store.Append(ctx, "account", id, v, eventstore.Meta{Actor: "tester"},
					eventstore.Event{Message: wrapperspb.String(fmt.Sprintf("round %d", round))}); err != nil {
					t.Fatal(err)
				}
			}
		},
		PoisonSubject: "floe.evt.account.acc9.Deposited", PoisonType: "google.protobuf.StringValue",
		Dump: func(p *projection.Projection[*account]) any {
			// Rows as the projection holds them, sorted.
			var out []string
			for i := range 10 {
				if a, ok := p.Get(fmt.Sprintf("acc%d", i)); ok {
					out = append(out, fmt.Sprintf("%s=%v", a.ID, a.Entries))
				}
			}
			sort.Strings(out)
			return out
		},
	})
}

// running starts p and returns a stop that cancels it and waits for Run to
// return (also run at cleanup).
func running[R any](t *testing.T, p *projection.Projection[R]) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("view %s: %v", p.Name(), err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
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
		t.Fatalf("view %s: Wait(%d): %v", p.Name(), pos, err)
	}
}

func newAccountStore(t *testing.T) (jetstream.JetStream, *eventstore.JetStreamStore) {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	store, err := eventstore.Open(t.Context(), js, eventstore.Options{Aggregates: []string{"account"}})
	if err != nil {
		t.Fatal(err)
	}
	return js, store
}

// deposit appends entries to account id and returns the last one's position.
func deposit(t *testing.T, store eventstore.Store, id string, entries ...string) uint64 {
	t.Helper()
	v, _, err := store.Head(t.Context(), "account", id)
	if err != nil {
		t.Fatal(err)
	}
	var res *eventstore.AppendResult
	for _, s := range entries {
		if res, err = store.Append(t.Context(), "account", id, v, eventstore.Meta{Actor: "tester"}, eventstore.Event{Message: wrapperspb.String(s)}); err != nil {
			t.Fatal(err)
		}
		v = res.Version
	}
	return res.LastSeq
}

// TestStaleInstanceDoesNotRollBackTheCheckpoint pauses one instance before
// it folds position 1 while another folds the whole log and checkpoints it
// into the same bucket; then the paused one folds position 1, checkpoints it
// and stops for good before position 2, as if it crashed. Its stale writes
// must lose: an instance started on the checkpoint holds every event.
func TestStaleInstanceDoesNotRollBackTheCheckpoint(t *testing.T) {
	t.Parallel()
	js, store := newAccountStore(t)
	deposit(t, store, "acc1", "one", "two") // 1, 2
	last := deposit(t, store, "acc2", "x")  // 3

	entered := make(chan uint64, 2)
	gates := map[uint64]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
	open := func(seq uint64) {
		select {
		case <-gates[seq]:
		default:
			close(gates[seq])
		}
	}
	waitEntered := func(want uint64) {
		t.Helper()
		select {
		case got := <-entered:
			if got != want {
				t.Fatalf("the paused instance folds position %d, want %d", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the paused instance never reached position %d", want)
		}
	}
	spec := projection.Aggregates("accounts", accountKind)
	fold := spec.Fold
	spec.Fold = func(a *account, exists bool, e *eventstore.RecordedEvent) (*account, bool, error) {
		if g, ok := gates[e.Seq]; ok {
			entered <- e.Seq
			<-g
		}
		return fold(a, exists, e)
	}
	// FlushEvery 1: the paused instance checkpoints each fold before it reads the next event.
	stale, err := projection.New(t.Context(), js, spec, projection.Options{FlushEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	running(t, stale)
	t.Cleanup(func() { open(1); open(2) }) // before the stop above
	waitEntered(1)                         // it restored the empty checkpoint

	fresh, err := projection.New(t.Context(), js, projection.Aggregates("accounts", accountKind), projection.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopFresh := running(t, fresh)
	caughtUp(t, fresh, last)
	stopFresh() // writes the final checkpoint

	open(1)
	waitEntered(2) // position 1 is folded and checkpointed

	kv, err := js.KeyValue(t.Context(), "view_accounts")
	if err != nil {
		t.Fatal(err)
	}
	pos, err := kv.Get(t.Context(), "pos")
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(pos.Value()); got != last {
		t.Errorf("checkpointed position = %d, want %d", got, last)
	}
	again, err := projection.New(t.Context(), js, projection.Aggregates("accounts", accountKind), projection.Options{})
	if err != nil {
		t.Fatal(err)
	}
	running(t, again)
	caughtUp(t, again, last)
	var got []string
	again.Read(func() {
		for _, id := range []string{"acc1", "acc2"} {
			if a, ok := again.Get(id); ok {
				got = append(got, fmt.Sprintf("%s=%v", a.ID, a.Entries))
			}
		}
	})
	if diff := cmp.Diff([]string{"acc1=[one two]", "acc2=[x]"}, got); diff != "" {
		t.Errorf("rows restored from the checkpoint (-want +got):\n%s", diff)
	}
	if n := again.Status().Applied; n != 0 {
		t.Errorf("the instance started on the checkpoint folded %d events, want none", n)
	}
}

// TestEventsWithoutKeysAreSkipped reads events its Keys names no row for:
// they are not folded, make no row and no poison, and the view's position
// passes them.
func TestEventsWithoutKeysAreSkipped(t *testing.T) {
	t.Parallel()
	js, store := newAccountStore(t)
	deposit(t, store, "ignored", "a", "b")
	deposit(t, store, "acc1", "c")
	last := deposit(t, store, "ignored", "d")
	spec := projection.Spec[int]{
		Name: "picky", Filters: []string{eventstore.KindFilter("account")},
		Keys: func(e *eventstore.RecordedEvent) []string {
			if e.AggregateID == "ignored" {
				return nil
			}
			return []string{e.AggregateID}
		},
		Fold: func(n int, _ bool, e *eventstore.RecordedEvent) (int, bool, error) {
			if e.AggregateID == "ignored" {
				return 0, false, errors.New("Fold called for an event without a key")
			}
			return n + 1, true, nil
		},
		Marshal:   func(n int) ([]byte, error) { return []byte(strconv.Itoa(n)), nil },
		Unmarshal: func(b []byte) (int, error) { return strconv.Atoi(string(b)) },
	}
	p, err := projection.New(t.Context(), js, spec, projection.Options{})
	if err != nil {
		t.Fatal(err)
	}
	running(t, p)
	caughtUp(t, p, last)
	st := p.Status()
	if st.Position != last || st.Rows != 1 || st.Applied != 1 || len(st.Poison) != 0 {
		t.Errorf("status = %+v, want position %d, one row, one event folded, no poison", st, last)
	}
	p.Read(func() {
		if n, ok := p.Get("acc1"); !ok || n != 1 {
			t.Errorf("row acc1 = %d, %v; want 1", n, ok)
		}
		if _, ok := p.Get("ignored"); ok {
			t.Error("a row for the events without keys")
		}
	})
}
