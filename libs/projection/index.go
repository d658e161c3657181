package projection

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/btree"

	"github.com/penguinmails/floe/libs/eventstore"
)

// Index keeps rows in one total order with equality indexes over them, for
// filtered, cursor-paginated listings whose cost depends on the page and on
// the smallest matching index, not on the size of the table. It is not safe
// for concurrent use: keep it under the projection's lock (update it in
// Spec.OnChange, query it inside Projection.Read).
type Index[T any] struct {
	key    func(T) string
	less   func(a, b T) bool
	fields map[string]func(T) []string

	byKey  map[string]T
	all    *btree.BTreeG[T]
	byTerm map[string]map[string]*btree.BTreeG[T] // field → term → rows
}

// NewIndex returns an empty index. less must be a total order (break ties
// by key); fields name the equality indexes and give each row's terms in them.
func NewIndex[T any](key func(T) string, less func(a, b T) bool, fields map[string]func(T) []string) *Index[T] {
	x := &Index[T]{key: key, less: less, fields: fields}
	x.Reset()
	return x
}

// Reset empties the index.
func (x *Index[T]) Reset() {
	x.byKey = map[string]T{}
	x.all = btree.NewG(32, x.less)
	x.byTerm = map[string]map[string]*btree.BTreeG[T]{}
	for f := range x.fields {
		x.byTerm[f] = map[string]*btree.BTreeG[T]{}
	}
}

// Len is the number of rows.
func (x *Index[T]) Len() int { return len(x.byKey) }

// Get returns the row with key k.
func (x *Index[T]) Get(k string) (T, bool) {
	r, ok := x.byKey[k]
	return r, ok
}

// Put adds or replaces a row (matched by key).
func (x *Index[T]) Put(row T) {
	k := x.key(row)
	x.Delete(k)
	x.byKey[k] = row
	x.all.ReplaceOrInsert(row)
	for f, terms := range x.fields {
		for _, term := range terms(row) {
			t := x.byTerm[f][term]
			if t == nil {
				t = btree.NewG(32, x.less)
				x.byTerm[f][term] = t
			}
			t.ReplaceOrInsert(row)
		}
	}
}

// Delete removes the row with key k, if any.
func (x *Index[T]) Delete(k string) {
	old, ok := x.byKey[k]
	if !ok {
		return
	}
	delete(x.byKey, k)
	x.all.Delete(old)
	for f, terms := range x.fields {
		for _, term := range terms(old) {
			if t := x.byTerm[f][term]; t != nil {
				t.Delete(old)
				if t.Len() == 0 {
					delete(x.byTerm[f], term)
				}
			}
		}
	}
}

// Query selects rows.
type Query[T any] struct {
	// Equal requires each field to have the term (fields named in NewIndex).
	Equal map[string]string
	// Match (optional) is any further condition; it is checked row by row.
	Match func(T) bool
	// After, when HasAfter, starts the page after this row in the order (a
	// cursor: it need only carry the fields the order reads).
	After    T
	HasAfter bool
	// Limit is the page size.
	Limit int
	// Total asks for the number of matching rows (it costs a pass over the
	// smallest candidate index when Match or more than one field is given).
	Total bool
}

// Find returns a page of matching rows in order, whether more follow, and
// (when asked) the number of matching rows.
func (x *Index[T]) Find(q Query[T]) (page []T, more bool, total int) {
	// Start from the smallest index the query pins.
	tree := x.all
	pinned := ""
	for f, term := range q.Equal {
		t, ok := x.byTerm[f][term]
		if !ok {
			return nil, false, 0 // unknown field or no row has the term
		}
		if t.Len() < tree.Len() {
			tree, pinned = t, f
		}
	}
	matches := func(r T) bool {
		for f, term := range q.Equal {
			if f == pinned {
				continue
			}
			if !hasTerm(x.fields[f](r), term) {
				return false
			}
		}
		return q.Match == nil || q.Match(r)
	}
	visit := func(r T) bool {
		if q.HasAfter && !x.less(q.After, r) {
			return true // the cursor row itself (and equal ones)
		}
		if !matches(r) {
			return true
		}
		if len(page) == q.Limit {
			more = true
			return false
		}
		page = append(page, r)
		return true
	}
	if q.HasAfter {
		tree.AscendGreaterOrEqual(q.After, visit)
	} else {
		tree.Ascend(visit)
	}
	if q.Total {
		if q.Match == nil && len(q.Equal) <= 1 {
			total = tree.Len()
		} else {
			tree.Ascend(func(r T) bool {
				if matches(r) {
					total++
				}
				return true
			})
		}
	}
	return page, more, total
}

func hasTerm(terms []string, term string) bool {
	for _, t := range terms {
		if t == term {
			return true
		}
	}
	return false
}

// EncodeCursor is a page token for the row at (t, id) in an order by time
// then id: opaque to clients, "c:<unix nanos>:<id>" in URL-safe base64.
func EncodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "c:%d:%s", t.UnixNano(), id))
}

// DecodeCursor reads EncodeCursor's token; ok is false for anything else.
func DecodeCursor(token string) (t time.Time, id string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return time.Time{}, "", false
	}
	rest, ok1 := strings.CutPrefix(string(raw), "c:")
	ts, id, ok2 := strings.Cut(rest, ":")
	nanos, err := strconv.ParseInt(ts, 10, 64)
	if !ok1 || !ok2 || err != nil || !eventstore.ValidID(id) {
		return time.Time{}, "", false
	}
	return time.Unix(0, nanos).UTC(), id, true
}
