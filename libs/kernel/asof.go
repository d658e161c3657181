package kernel

import (
	"context"
	"fmt"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
)

// AsOf is aggregate id as it was at log position pos (time travel): its
// events up to pos, read through store (which verifies them) and folded by
// the kind's own Apply — what commands, snapshots and views do with every
// event, so a past state is computed exactly as the live one was. An
// aggregate with no event at or before pos is NotFound.
func (k Kind[S]) AsOf(ctx context.Context, store eventstore.Store, id string, pos uint64) (S, error) {
	s := k.New(id)
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
