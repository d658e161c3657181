package episode_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/eventstore"
)

var t0 = time.Date(2026, 5, 4, 10, 30, 0, 0, time.UTC)

// record makes msg a RecordedEvent of aggregate id as the store returns it:
// subject, names, envelope and the protojson body.
func record(t testing.TB, id string, msg proto.Message) *eventstore.RecordedEvent {
	t.Helper()
	data, err := protojson.Marshal(msg)
	if err != nil {
		t.Fatalf("marshal %T: %v", msg, err)
	}
	d := msg.ProtoReflect().Descriptor()
	agg := eventstore.AggregateOf(msg)
	if agg == "" {
		t.Fatalf("%s declares no aggregate: not an event", d.FullName())
	}
	return &eventstore.RecordedEvent{
		Seq: 42, Subject: eventstore.SubjectPrefix + agg + "." + id + "." + string(d.Name()),
		Aggregate: agg, AggregateID: id, Name: string(d.Name()), Type: string(d.FullName()),
		ID: "0196a0c0-0000-7000-8000-000000000001", Source: "floe/test", Version: 1, Time: t0,
		Actor: "alice", Data: data,
	}
}

// by sets the actor of ev.
func by(actor string, ev *eventstore.RecordedEvent) *eventstore.RecordedEvent {
	ev.Actor = actor
	return ev
}
