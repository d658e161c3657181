package configdoc

import (
	"sort"
	"strings"

	"github.com/penguinmails/floe/libs/leakscan"
)

// ChangeKind says how a value differs.
type ChangeKind string

// The kinds of change.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// Change is one difference between two documents.
type Change struct {
	// Path is the dotted JSON path of the value ("database.connectionPool.max").
	Path string
	Kind ChangeKind
	// Old is the value in the first document (nil when Added), New the one in
	// the second (nil when Removed). Secret references are ordinary strings
	// here: a reference is not a secret.
	Old, New any
}

// Diff returns how b differs from a, ordered by path: object keys in byte
// order, array elements by index. Objects are compared key by key and
// arrays index by index (a shorter array's missing tail is Removed, a longer
// one's extra tail Added); any other difference, including a change of type,
// is one Changed entry with both whole values. Numbers that are equal in
// value ("20" and "20.0") are not a change. Diff between two versions shows
// history; between two environments (staging and production) it shows what
// differs, the "environment" member included.
func Diff(a, b Document) []Change {
	var out []Change
	diffValue("", map[string]any(a), map[string]any(b), &out)
	return out
}

func diffValue(path string, a, b any, out *[]Change) {
	am, aObj := asObject(a)
	bm, bObj := asObject(b)
	if aObj && bObj {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			av, inA := am[k]
			bv, inB := bm[k]
			p := leakscan.KeyPath(path, k)
			switch {
			case !inA:
				*out = append(*out, Change{Path: p, Kind: Added, New: clone(bv)})
			case !inB:
				*out = append(*out, Change{Path: p, Kind: Removed, Old: clone(av)})
			default:
				diffValue(p, av, bv, out)
			}
		}
		return
	}
	aa, aArr := a.([]any)
	ba, bArr := b.([]any)
	if aArr && bArr {
		for i := 0; i < max(len(aa), len(ba)); i++ {
			p := leakscan.IndexPath(path, i)
			switch {
			case i >= len(aa):
				*out = append(*out, Change{Path: p, Kind: Added, New: clone(ba[i])})
			case i >= len(ba):
				*out = append(*out, Change{Path: p, Kind: Removed, Old: clone(aa[i])})
			default:
				diffValue(p, aa[i], ba[i], out)
			}
		}
		return
	}
	if !Equal(a, b) {
		*out = append(*out, Change{Path: path, Kind: Changed, Old: clone(a), New: clone(b)})
	}
}

// Format renders changes one per line, values as canonical JSON:
//
//   - features.newCheckout: {"enabled":true}
//   - cache.ttlSeconds: 300
//     ~ database.connectionPool.max: 10 → 20
//
// The document itself (path "") is written as ".".
func Format(changes []Change) string {
	var b strings.Builder
	for _, c := range changes {
		path := c.Path
		if path == "" {
			path = "."
		}
		switch c.Kind {
		case Added:
			b.WriteString("+ " + path + ": " + CanonicalJSON(c.New))
		case Removed:
			b.WriteString("- " + path + ": " + CanonicalJSON(c.Old))
		default:
			b.WriteString("~ " + path + ": " + CanonicalJSON(c.Old) + " → " + CanonicalJSON(c.New))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
