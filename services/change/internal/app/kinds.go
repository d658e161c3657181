package app

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/services/change/internal/calendar"
	"github.com/penguinmails/floe/services/change/internal/change"
	"github.com/penguinmails/floe/services/change/internal/codec"
)

// AggChange is the change request's aggregate kind.
const AggChange = "change"

// Change is a change request as the kernel and the views keep it: the
// domain aggregate and the events it was folded from, which are its
// encoding (the aggregate keeps its fields private, so a snapshot is its
// events, folded again on load; a change has tens of events, not more).
type Change struct {
	CR     *change.ChangeRequest
	events []storedEvent
}

type storedEvent struct {
	Type  string    `json:"t"`
	Data  []byte    `json:"d"`
	Actor string    `json:"a,omitempty"`
	Time  time.Time `json:"at"`
}

// NewChange is change request id before any event.
func NewChange(id string) *Change { return &Change{CR: change.New(id)} }

// apply folds one decoded event.
func (c *Change) apply(m proto.Message, actor string, at time.Time) error {
	ev, ok, err := codec.FromProto(m)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not a change request event", m.ProtoReflect().Descriptor().FullName())
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return err
	}
	c.CR.Apply(ev, change.Meta{Actor: actor, Time: at})
	c.events = append(c.events, storedEvent{Type: string(m.ProtoReflect().Descriptor().FullName()), Data: data, Actor: actor, Time: at})
	return nil
}

func marshalChange(c *Change) ([]byte, error) {
	return json.Marshal(struct {
		ID     string        `json:"id"`
		Events []storedEvent `json:"events"`
	}{c.CR.ID(), c.events})
}

func unmarshalChange(b []byte) (*Change, error) {
	var in struct {
		ID     string        `json:"id"`
		Events []storedEvent `json:"events"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	c := NewChange(in.ID)
	for _, e := range in.Events {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(e.Type))
		if err != nil {
			return nil, fmt.Errorf("change %s: event type %s: %w", in.ID, e.Type, err)
		}
		m := mt.New().Interface()
		if err := proto.Unmarshal(e.Data, m); err != nil {
			return nil, fmt.Errorf("change %s: %s: %w", in.ID, e.Type, err)
		}
		if err := c.apply(m, e.Actor, e.Time); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ChangeKind describes the change request to the kernel and the views.
var ChangeKind = kernel.Kind[*Change]{
	Name: AggChange,
	New:  NewChange,
	Apply: func(c *Change, e *eventstore.RecordedEvent) (*Change, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		return c, c.apply(m, e.Actor, e.Time)
	},
	Codec: kernel.Codec[*Change]{Schema: "change/1", Marshal: marshalChange, Unmarshal: unmarshalChange},
}

// CalendarKind describes the calendar of windows and freezes.
var CalendarKind = kernel.Kind[*calendar.Calendar]{
	Name: calendar.Aggregate,
	New:  func(string) *calendar.Calendar { return calendar.New() },
	Apply: func(c *calendar.Calendar, e *eventstore.RecordedEvent) (*calendar.Calendar, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		c.Apply(m)
		return c, nil
	},
	Codec: kernel.Codec[*calendar.Calendar]{Schema: "changecal/1", Marshal: calendar.Marshal, Unmarshal: calendar.Unmarshal},
}
