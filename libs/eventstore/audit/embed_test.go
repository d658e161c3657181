package audit

import "testing"

func TestEmbeddable(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1,"b":"x > y && <z>"}`: true,  // compact: kept as JSON (written without HTML escaping)
		`{"a": 1}`:                   false, // the encoder would compact it: base64 keeps the hashed bytes
		`{"a":1}` + "\n":             false,
		`not json`:                   false,
		`"s"`:                        true,
	} {
		if got := embeddable([]byte(body)); got != want {
			t.Errorf("embeddable(%q) = %v, want %v", body, got, want)
		}
	}
}
