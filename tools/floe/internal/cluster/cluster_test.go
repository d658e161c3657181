package cluster

import (
	"slices"
	"testing"
)

// TestLayoutPortsAreDistinct: a new layout never gives two processes one
// port, even when the kernel hands the same free port out twice in a row
// (it once gave the development and staging proxies one port, and the
// deployer refused its configuration).
func TestLayoutPortsAreDistinct(t *testing.T) {
	real := loopbackPort
	t.Cleanup(func() { loopbackPort = real })
	// The kernel's answers: each port twice, as a closed listener's port may come back.
	next := 20000
	repeat := false
	loopbackPort = func() (int, error) {
		if repeat {
			repeat = false
			return next, nil
		}
		next++
		repeat = true
		return next, nil
	}
	lay, err := loadLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(lay.NATSClient), lay.NATSRoute...)
	for _, p := range lay.Ports {
		all = append(all, p)
	}
	seen := map[int]bool{}
	for _, p := range all {
		if seen[p] {
			t.Errorf("port %d is given twice: %+v", p, lay)
		}
		seen[p] = true
	}
	if len(all) != 2*Nodes+3 {
		t.Errorf("%d ports in the new layout, want %d", len(all), 2*Nodes+3)
	}
	// And on the real kernel.
	loopbackPort = real
	lay, err = loadLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		p, err := lay.freePort()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(lay.NATSClient, p) || slices.Contains(lay.NATSRoute, p) {
			t.Fatalf("freePort gave %d, a NATS port of the layout", p)
		}
		for k, q := range lay.Ports {
			if q == p {
				t.Fatalf("freePort gave %d, the layout's %s", p, k)
			}
		}
		lay.Ports["p"+string(rune('a'+len(lay.Ports)))] = p
	}
}
