package configdoc

// MergePatch applies a JSON merge patch (RFC 7396) to doc and returns the
// result; neither argument is modified. A null in patch removes the member,
// an object merges recursively, anything else (arrays included) replaces.
// Both are objects here, so the result is always a Document; see
// MergePatchValue for the general algorithm.
func MergePatch(doc, patch Document) Document {
	out, _ := MergePatchValue(map[string]any(doc), map[string]any(patch)).(map[string]any)
	return Document(out)
}

// MergePatchValue is RFC 7396's MergePatch(Target, Patch) on any decoded JSON
// values. It does not modify its arguments.
func MergePatchValue(target, patch any) any {
	p, ok := asObject(patch)
	if !ok {
		return clone(patch)
	}
	t, ok := asObject(target)
	out := make(map[string]any, len(t)+len(p))
	if ok {
		for k, v := range t {
			out[k] = clone(v)
		}
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = MergePatchValue(out[k], v)
	}
	return out
}
