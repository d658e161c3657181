package projection_test

import (
	"slices"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/projection"
)

func TestDueIndex(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	d := projection.NewDueIndex()
	d.Set("b", t0.Add(time.Minute))
	d.Set("a", t0.Add(time.Minute))
	d.Set("c", t0)
	d.Set("later", t0.Add(time.Hour))
	if got := d.Due(t0.Add(time.Minute)); !slices.Equal(got, []string{"c", "a", "b"}) {
		t.Fatalf("due: %v", got)
	}
	d.Set("c", time.Time{})
	if got := d.Due(t0.Add(time.Minute)); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after removing c: %v", got)
	}
	d.Reset()
	if got := d.Due(t0.Add(24 * time.Hour)); len(got) != 0 {
		t.Fatalf("after reset: %v", got)
	}
}
