package configdoc

import (
	"strings"

	"github.com/penguinmails/floe/libs/leakscan"
)

// Ref is a secret reference found in a document.
type Ref struct {
	// Path is the dotted JSON path of the value holding the reference.
	Path string
	// Ref is the reference as written: secret://<name> or vault://<path>#<key>.
	Ref string
}

// Scheme is "secret" or "vault".
func (r Ref) Scheme() string {
	scheme, _, _ := strings.Cut(r.Ref, "://")
	return scheme
}

// Name is the secret's name (secret://) or the Vault path (vault://).
func (r Ref) Name() string {
	_, rest, _ := strings.Cut(r.Ref, "://")
	name, _, _ := strings.Cut(rest, "#")
	return name
}

// Key is the key inside the Vault secret; empty for secret://.
func (r Ref) Key() string {
	if r.Scheme() != "vault" {
		return ""
	}
	_, key, _ := strings.Cut(r.Ref, "#")
	return key
}

// Refs returns every string value of doc that is exactly a secret reference,
// ordered by path (keys in byte order, array elements by index), for
// resolution when the configuration is delivered.
func Refs(doc Document) []Ref {
	var out []Ref
	walkRefs("", map[string]any(doc), &out)
	return out
}

func walkRefs(path string, v any, out *[]Ref) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			walkRefs(leakscan.KeyPath(path, k), v[k], out)
		}
	case []any:
		for i, e := range v {
			walkRefs(leakscan.IndexPath(path, i), e, out)
		}
	case string:
		if leakscan.IsReference(v) {
			*out = append(*out, Ref{Path: path, Ref: v})
		}
	}
}
