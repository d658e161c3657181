package projection_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/projection"
)

type item struct {
	id      string
	n       int // order: n descending, then id descending
	color   string
	tags    []string
	deleted bool
}

func newItemIndex() *projection.Index[item] {
	return projection.NewIndex(
		func(i item) string { return i.id },
		func(a, b item) bool {
			if a.n != b.n {
				return a.n > b.n
			}
			return a.id > b.id
		},
		map[string]func(item) []string{
			"color": func(i item) []string { return []string{i.color} },
			"tag":   func(i item) []string { return i.tags },
		},
	)
}

func ids(items []item) []string {
	out := []string{}
	for _, i := range items {
		out = append(out, i.id)
	}
	return out
}

func TestIndexPagesFiltersAndCounts(t *testing.T) {
	t.Parallel()
	x := newItemIndex()
	for n := range 100 {
		color := []string{"red", "green", "blue"}[n%3]
		tags := []string{}
		if n%10 == 0 {
			tags = append(tags, "tenth")
		}
		x.Put(item{id: fmt.Sprintf("i%03d", n), n: n, color: color, tags: tags})
	}
	// All rows, 7 at a time, newest first, by cursor.
	var got []string
	q := projection.Query[item]{Limit: 7, Total: true}
	for pages := 0; ; pages++ {
		page, more, total := x.Find(q)
		if total != 100 {
			t.Fatalf("total = %d", total)
		}
		got = append(got, ids(page)...)
		if !more {
			break
		}
		q.After, q.HasAfter = page[len(page)-1], true
		if pages > 20 {
			t.Fatal("pagination does not end")
		}
	}
	var want []string
	for n := 99; n >= 0; n-- {
		want = append(want, fmt.Sprintf("i%03d", n))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	// Two equality filters and a predicate.
	page, more, total := x.Find(projection.Query[item]{
		Equal: map[string]string{"color": "red", "tag": "tenth"},
		Match: func(i item) bool { return i.n > 10 }, Limit: 2, Total: true,
	})
	// red: n%3==0; tenth: n%10==0 → n%30==0: 90, 60, 30 (0 fails the predicate).
	if diff := cmp.Diff([]string{"i090", "i060"}, ids(page)); diff != "" || !more || total != 3 {
		t.Errorf("filtered page %v more=%v total=%d (-want +got):\n%s", ids(page), more, total, diff)
	}
	// A term nobody has, and an unknown field: empty, not an error.
	if page, more, total := x.Find(projection.Query[item]{Equal: map[string]string{"color": "pink"}, Limit: 5, Total: true}); len(page) != 0 || more || total != 0 {
		t.Errorf("unknown term: %v %v %d", page, more, total)
	}
	if page, _, _ := x.Find(projection.Query[item]{Equal: map[string]string{"shape": "x"}, Limit: 5}); len(page) != 0 {
		t.Errorf("unknown field: %v", page)
	}
	// Updating a row moves it between terms and in the order; deleting removes it everywhere.
	x.Put(item{id: "i090", n: 1000, color: "green"})
	if page, _, total := x.Find(projection.Query[item]{Equal: map[string]string{"color": "red", "tag": "tenth"}, Limit: 10, Total: true}); !slices.Equal(ids(page), []string{"i060", "i030", "i000"}) || total != 3 {
		t.Errorf("after the update, red+tenth = %v (%d)", ids(page), total)
	}
	if page, _, _ := x.Find(projection.Query[item]{Equal: map[string]string{"color": "green"}, Limit: 1}); !slices.Equal(ids(page), []string{"i090"}) {
		t.Errorf("the updated row is not first among green: %v", ids(page))
	}
	x.Delete("i090")
	if _, ok := x.Get("i090"); ok || x.Len() != 99 {
		t.Errorf("after delete: len %d", x.Len())
	}
	if page, _, total := x.Find(projection.Query[item]{Equal: map[string]string{"color": "green"}, Limit: 1, Total: true}); len(page) != 1 || page[0].id == "i090" || total != 33 {
		t.Errorf("green after delete: %v total %d", ids(page), total)
	}
}
