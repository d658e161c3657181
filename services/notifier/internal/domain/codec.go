package domain

import (
	"encoding/json"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Schemas of the encodings (snapshots, view checkpoints).
const (
	GroupSchema    = "notifygroup/1"
	DeliverySchema = "notification/1"
)

type groupJSON struct {
	ID     string          `json:"id"`
	Route  string          `json:"route,omitempty"`
	Key    string          `json:"key,omitempty"`
	Orphan string          `json:"orphan,omitempty"`
	State  json.RawMessage `json:"state,omitempty"`
}

// MarshalGroup encodes a group.
func MarshalGroup(s *Group) ([]byte, error) {
	out := groupJSON{ID: s.ID, Route: s.Route, Key: s.Key, Orphan: s.Orphan}
	if s.g != nil {
		b, err := s.g.MarshalJSON()
		if err != nil {
			return nil, err
		}
		out.State = b
	}
	return json.Marshal(out)
}

// UnmarshalGroup decodes MarshalGroup's encoding under cfg (a group whose
// route is gone comes back orphaned).
func UnmarshalGroup(cfg *routing.Config, b []byte) (*Group, error) {
	var in groupJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	s := &Group{ID: in.ID, Route: in.Route, Key: in.Key, Orphan: in.Orphan, cfg: cfg}
	if len(in.State) > 0 && s.Orphan == "" {
		g, err := routing.RestoreGroup(cfg, in.State)
		if err != nil {
			s.Orphan = "the group's state does not restore: " + err.Error()
		} else {
			s.g = g
		}
	}
	return s, nil
}

type deliveryJSON struct {
	N         json.RawMessage `json:"n,omitempty"`
	ClaimedBy string          `json:"claimed_by,omitempty"`
	ClaimedAt time.Time       `json:"claimed_at,omitzero"`
}

// MarshalDelivery encodes a notification's state.
func MarshalDelivery(d *Delivery) ([]byte, error) {
	out := deliveryJSON{ClaimedBy: d.ClaimedBy, ClaimedAt: d.ClaimedAt}
	if d.N != nil {
		b, err := protojson.Marshal(d.N)
		if err != nil {
			return nil, err
		}
		out.N = b
	}
	return json.Marshal(out)
}

// UnmarshalDelivery decodes MarshalDelivery's encoding.
func UnmarshalDelivery(b []byte) (*Delivery, error) {
	var in deliveryJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	d := &Delivery{ClaimedBy: in.ClaimedBy, ClaimedAt: in.ClaimedAt}
	if len(in.N) > 0 {
		d.N = &notifyv1.Notification{}
		if err := protojson.Unmarshal(in.N, d.N); err != nil {
			return nil, err
		}
	}
	return d, nil
}
