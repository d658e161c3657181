package projection

import (
	"slices"
	"sync"
	"time"
)

// DueIndex keeps when each row of a view is next due, for a loop that acts
// on due rows (timers rebuilt from the log). Keep it from the view's
// OnChange (Set) and OnReset (Reset); it is safe for concurrent use.
type DueIndex struct {
	mu   sync.Mutex
	next map[string]time.Time
}

// NewDueIndex returns an empty index.
func NewDueIndex() *DueIndex { return &DueIndex{next: map[string]time.Time{}} }

// Set records when key is next due; zero removes it.
func (d *DueIndex) Set(key string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if at.IsZero() {
		delete(d.next, key)
		return
	}
	d.next[key] = at
}

// Reset forgets every key.
func (d *DueIndex) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.next)
}

// Due lists the keys due at now, soonest first (ties by key).
func (d *DueIndex) Due(now time.Time) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for k, t := range d.next {
		if !t.After(now) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := d.next[a].Compare(d.next[b]); c != 0 {
			return c
		}
		if a < b {
			return -1
		}
		return 1
	})
	return out
}
