package flagprovider

import (
	"maps"
	"slices"
	"sync"

	"github.com/open-feature/go-sdk/openfeature"
)

// eventQueue delivers the provider's events to its channel without ever
// blocking the sync: what the reader has not taken yet waits in a queue
// that holds at most one configuration change (later ones merge into it:
// the union of the keys, the latest message and metadata) and one state
// event (the latest), so it stays bounded whoever reads.
type eventQueue struct {
	out      chan openfeature.Event
	mu       sync.Mutex
	pending  []openfeature.Event
	draining bool
}

func newEventQueue() *eventQueue {
	return &eventQueue{out: make(chan openfeature.Event)}
}

// push queues ev and starts a delivery goroutine if none runs.
func (q *eventQueue) push(ev openfeature.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ev.EventType == openfeature.ProviderConfigChange {
		if i := slices.IndexFunc(q.pending, isConfigChange); i >= 0 {
			old := q.pending[i]
			keys := append(slices.Clone(old.FlagChanges), ev.FlagChanges...)
			slices.Sort(keys)
			ev.FlagChanges = slices.Compact(keys)
			meta := maps.Clone(old.EventMetadata)
			if meta == nil {
				meta = map[string]any{}
			}
			maps.Copy(meta, ev.EventMetadata)
			ev.EventMetadata = meta
			q.pending[i] = ev
			return
		}
	} else {
		q.pending = slices.DeleteFunc(q.pending, func(e openfeature.Event) bool { return !isConfigChange(e) })
	}
	q.pending = append(q.pending, ev)
	if !q.draining {
		q.draining = true
		go q.drain()
	}
}

func isConfigChange(e openfeature.Event) bool { return e.EventType == openfeature.ProviderConfigChange }

// drain delivers the queue in order and ends when it is empty.
func (q *eventQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.draining = false
			q.mu.Unlock()
			return
		}
		ev := q.pending[0]
		q.pending = slices.Delete(q.pending, 0, 1)
		q.mu.Unlock()
		q.out <- ev
	}
}
