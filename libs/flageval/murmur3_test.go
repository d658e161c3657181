//go:build !race

// github.com/spaolacci/murmur3 v1.1.0 trips Go's checkptr, which -race
// enables, so this cross-check only runs without -race.

package flageval

import (
	"math/rand"
	"testing"

	"github.com/spaolacci/murmur3"
)

// TestMurmur3MatchesReference compares murmur3Sum32 with an independent
// implementation on many inputs of every length class.
func TestMurmur3MatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	buf := make([]byte, 300)
	for i := 0; i < 100000; i++ {
		b := buf[:r.Intn(len(buf))]
		r.Read(b)
		if got, want := murmur3Sum32(b), murmur3.Sum32(b); got != want {
			t.Fatalf("murmur3(%x) = %#x, want %#x", b, got, want)
		}
		if got, want := murmur3Sum32(string(b)), murmur3.Sum32(b); got != want {
			t.Fatalf("murmur3(string %x) = %#x, want %#x", b, got, want)
		}
	}
}
