package eventstore

import (
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	optionsv1 "github.com/penguinmails/floe/proto/gen/floe/options/v1"
)

// aggregateOf caches the declared aggregate of each event type.
var aggregateOf sync.Map // protoreflect.FullName → string

// AggregateOf is the aggregate kind msg's type declares with the
// floe.options.v1.aggregate message option ("" when it declares none). The
// store refuses to append a message to any other aggregate, and subscribers
// derive their subject filters from it, so an event's subject is defined once,
// in its .proto file.
func AggregateOf(msg proto.Message) string {
	return aggregateOfDesc(msg.ProtoReflect().Descriptor())
}

func aggregateOfDesc(d protoreflect.MessageDescriptor) string {
	if v, ok := aggregateOf.Load(d.FullName()); ok {
		return v.(string)
	}
	agg := ""
	if opts := d.Options(); opts != nil && proto.HasExtension(opts, optionsv1.E_Aggregate) {
		agg, _ = proto.GetExtension(opts, optionsv1.E_Aggregate).(string)
	}
	aggregateOf.Store(d.FullName(), agg)
	return agg
}

// EventFilter is the subject filter matching events of msg's type on every
// aggregate of its kind: floe.evt.<aggregate>.*.<EventName>. It panics when
// the type declares no aggregate: filters are built from generated event
// types at start, so that is a programming error a test of the caller catches.
func EventFilter(msg proto.Message) string {
	d := msg.ProtoReflect().Descriptor()
	agg := aggregateOfDesc(d)
	if agg == "" {
		panic(fmt.Sprintf("eventstore: %s declares no floe.options.v1.aggregate; it is not an event", d.FullName()))
	}
	return SubjectPrefix + agg + ".*." + string(d.Name())
}

// EventFilterOf matches events of msg's type on one aggregate:
// floe.evt.<aggregate>.<id>.<EventName> (panics as EventFilter does).
func EventFilterOf(msg proto.Message, id string) string {
	d := msg.ProtoReflect().Descriptor()
	agg := aggregateOfDesc(d)
	if agg == "" {
		panic(fmt.Sprintf("eventstore: %s declares no floe.options.v1.aggregate; it is not an event", d.FullName()))
	}
	return SubjectPrefix + agg + "." + id + "." + string(d.Name())
}

// EventFilters is EventFilter of each message.
func EventFilters(msgs ...proto.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = EventFilter(m)
	}
	return out
}

// KindFilter matches every event of every aggregate of a kind: floe.evt.<aggregate>.>.
func KindFilter(aggregate string) string { return SubjectPrefix + aggregate + ".>" }

// EventName is the short name of msg's type: the last token of its subject.
func EventName(msg proto.Message) string {
	return string(msg.ProtoReflect().Descriptor().Name())
}

// KeyOf is the idempotency key of an event id written by a keyed command
// ("<key>.<n>"), or "" for any other id.
func KeyOf(eventID string) string {
	k, _, ok := strings.Cut(eventID, ".")
	if !ok || !strings.HasPrefix(k, "rq-") {
		return ""
	}
	return k
}
