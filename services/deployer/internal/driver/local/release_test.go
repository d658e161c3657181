//go:build unix

package local

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// Two drivers with the same configured proxy, as two deployer instances
// taking a target over from each other: with LazyProxies neither binds
// the address until it starts something there; the second cannot while
// the first holds it (a transient error, retried by the deployer); once
// the first releases the target (processes stopped, proxy closed), the
// second starts and serves on the same address.
func TestReleaseHandsTheTargetOver(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	lazy := func(c *Config) { c.Proxies = map[string]string{"development": addr}; c.LazyProxies = true }
	first, _ := newTestDriver(t, lazy)
	second, _ := newTestDriver(t, lazy)
	if got := first.ProxyAddr(dev); got != "" {
		t.Errorf("a lazy proxy is open before anything started: %s", got)
	}
	mustStart(t, first, dev, testVersion("1.0.0", true))
	mustSetWeights(t, first, dev, map[string]int{"1.0.0": 100})
	if got := first.ProxyAddr(dev); got != addr {
		t.Fatalf("proxy on %q, want the configured %s", got, addr)
	}
	pid := pidOf(t, first, dev, "1.0.0")
	client := newClient(t)
	if v, err := hit(client, first, dev); err != nil || v != "1.0.0" {
		t.Fatalf("through the proxy: %q %v", v, err)
	}

	err = second.Start(t.Context(), dev, testVersion("1.0.0", true))
	if !errors.Is(err, driver.ErrTransient) {
		t.Fatalf("starting where another driver holds the proxy: %v, want ErrTransient", err)
	}

	if err := first.Release(t.Context(), dev); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 10*time.Second, pid)
	if st, _ := first.State(t.Context(), dev); len(st.Running) != 0 {
		t.Errorf("state after the release: %+v", st)
	}
	if err := first.Release(t.Context(), dev); err != nil {
		t.Errorf("releasing again: %v", err)
	}
	mustStart(t, second, dev, testVersion("1.0.0", true))
	mustSetWeights(t, second, dev, map[string]int{"1.0.0": 100})
	if v, err := hit(client, second, dev); err != nil || v != "1.0.0" {
		t.Fatalf("through the new owner's proxy: %q %v", v, err)
	}
	if pidOf(t, second, dev, "1.0.0") == pid {
		t.Error("the new owner's process is the old one")
	}
}
