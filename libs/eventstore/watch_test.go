package eventstore_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
)

// watchCall is one onChange call: what it was told and what it read.
type watchCall struct {
	change eventstore.Change
	read   uint64
}

// startWatch runs WatchAggregate on order.o-1 with an onChange that "reads"
// stored and reports each call. The server has no stream, so notifications
// are published by hand and the stored version is whatever the test says:
// this is how a notification overtaking the stream's write looks to a watcher.
func startWatch(t *testing.T, initial uint64) (nc *nats.Conn, stored *atomic.Uint64, calls chan watchCall) {
	t.Helper()
	_, nc, _ = natstest.JetStream(t)
	stored = new(atomic.Uint64)
	stored.Store(initial)
	calls = make(chan watchCall, 100)
	go func() {
		_ = eventstore.WatchAggregate(t.Context(), nc, "order", "o-1", func(c eventstore.Change) (uint64, error) {
			v := stored.Load()
			calls <- watchCall{c, v}
			return v, nil
		})
	}()
	return nc, stored, calls
}

func notify(t *testing.T, nc *nats.Conn, name string, version uint64) {
	t.Helper()
	m := nats.NewMsg(eventstore.SubjectPrefix + "order.o-1." + name)
	m.Header.Set(eventstore.HdrVersion, strconv.FormatUint(version, 10))
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func nextCall(t *testing.T, calls chan watchCall) watchCall {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("onChange was not called")
		return watchCall{}
	}
}

// Regression: a watcher whose read after a notification still saw the
// previous version dropped that change for good, and `floe deploy watch`
// hung after the deployment had succeeded.
func TestWatchAggregateRereadsUntilTheNotifiedVersion(t *testing.T) {
	t.Parallel()
	nc, stored, calls := startWatch(t, 0)
	if c := nextCall(t, calls); c.change != (eventstore.Change{}) || c.read != 0 {
		t.Fatalf("first call %+v; want the zero change", c)
	}
	notify(t, nc, "Shipped", 1) // the notification overtakes the write
	c := nextCall(t, calls)
	if c.change != (eventstore.Change{Event: "Shipped", Version: 1}) || c.read != 0 {
		t.Fatalf("call after the notification %+v; want Shipped v1 read at 0", c)
	}
	stored.Store(1) // the stream's write lands
	for c.read < 1 {
		c = nextCall(t, calls)
		if c.change.Event != "Shipped" {
			t.Fatalf("re-read for %+v; want the Shipped change", c.change)
		}
	}
}

func TestWatchAggregateSkipsVersionsAlreadyRead(t *testing.T) {
	t.Parallel()
	nc, stored, calls := startWatch(t, 2)
	if c := nextCall(t, calls); c.change != (eventstore.Change{}) || c.read != 2 {
		t.Fatalf("first call %+v; want the zero change read at 2", c)
	}
	notify(t, nc, "Created", 1) // both already read: no call
	notify(t, nc, "Packed", 2)
	stored.Store(3)
	notify(t, nc, "Shipped", 3)
	c := nextCall(t, calls)
	if c.change != (eventstore.Change{Event: "Shipped", Version: 3}) || c.read != 3 {
		t.Fatalf("next call %+v; want only Shipped v3 (versions 1 and 2 were read)", c)
	}
}
