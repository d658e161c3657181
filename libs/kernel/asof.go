package kernel

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
)

// AsOf is aggregate id as it was at log position pos, or (pos 0) at moment
// at (time travel; see asOfPosition): its events up to there, read through
// store (which verifies them) and folded by the kind's own Apply — what
// commands, snapshots and views do with every event, so a past state is
// computed exactly as the live one was. An aggregate with no event by then
// is NotFound.
func (k Kind[S]) AsOf(ctx context.Context, store eventstore.Store, id string, pos uint64, at *timestamppb.Timestamp) (S, error) {
	s := k.New(id)
	pos, err := asOfPosition(ctx, store, pos, at)
	if err != nil {
		return s, err
	}
	st, err := store.Load(ctx, k.Name, id, nil)
	if err != nil {
		return s, err
	}
	n := 0
	for _, e := range st.Events {
		if e.Seq > pos {
			break
		}
		if s, err = k.Apply(s, e); err != nil {
			return s, err
		}
		n++
	}
	if n == 0 {
		return s, &errs.NotFoundError{Kind: k.Name, ID: fmt.Sprintf("%s at log position %d", id, pos)}
	}
	return s, nil
}

// asOfPosition is the log position a time-travel request names: pos, or
// (pos 0) the last position the log had stored at moment at. Both at once,
// or a moment before the log held anything, are refused.
func asOfPosition(ctx context.Context, store eventstore.Store, pos uint64, at *timestamppb.Timestamp) (uint64, error) {
	switch {
	case at == nil:
		return pos, nil
	case pos > 0:
		var v errs.Violations
		v.Add("as_of_time", "give as_of_position or as_of_time, not both")
		return 0, v.Err()
	case !at.IsValid():
		var v errs.Violations
		v.Add("as_of_time", "is not a valid time")
		return 0, v.Err()
	}
	p, err := store.PositionAt(ctx, at.AsTime())
	if err != nil {
		return 0, err
	}
	if p == 0 {
		return 0, &errs.NotFoundError{Kind: "log position", ID: "at " + at.AsTime().UTC().Format(time.RFC3339Nano) + " (the log held nothing yet)"}
	}
	return p, nil
}
