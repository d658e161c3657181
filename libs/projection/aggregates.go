package projection

import (
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
)

// Aggregates is the spec of a view whose rows are the states of every
// aggregate of kind, keyed by aggregate id and folded with the kind's own
// Apply — the code the kernel runs for commands — so the view and the
// command side cannot disagree. Rows are checkpointed with the kind's codec.
// Set OnChange on the result to keep derived indexes.
func Aggregates[S any](name string, kind kernel.Kind[S]) Spec[S] {
	return Spec[S]{
		Name:    name,
		Filters: []string{eventstore.KindFilter(kind.Name)},
		Keys: func(e *eventstore.RecordedEvent) []string {
			if e.Aggregate != kind.Name {
				return nil
			}
			return []string{e.AggregateID}
		},
		Fold: func(s S, exists bool, e *eventstore.RecordedEvent) (S, bool, error) {
			if !exists {
				s = kind.New(e.AggregateID)
			}
			s, err := kind.Apply(s, e)
			return s, err == nil, err
		},
		Marshal:   kind.Codec.Marshal,
		Unmarshal: kind.Codec.Unmarshal,
	}
}
