package local

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
	"github.com/penguinmails/floe/services/deployer/internal/driver/drivertest"
)

// TestGroupConformance: a group of two local drivers (an API and a worker,
// each with its own processes and proxy) passes the drivers' conformance
// suite as one driver; the traffic the suite counts goes through both
// members' proxies in turn.
func TestGroupConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivertest.Harness {
		api, _ := newTestDriver(t, nil)
		worker, _ := newTestDriver(t, nil)
		g, err := driver.NewGroup(driver.Member{App: "api", Driver: api}, driver.Member{App: "worker", Driver: worker})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := g.(driver.Scaler); !ok {
			t.Error("a group of local drivers is not a Scaler")
		}
		client := newClient(t)
		var n atomic.Uint64
		return drivertest.Harness{
			Driver:  g,
			Target:  driver.Target{Environment: "development", App: "shop"},
			Other:   driver.Target{Environment: "staging", App: "shop"},
			Version: testVersion,
			Hit: func(t *testing.T, target driver.Target) (string, error) {
				if n.Add(1)%2 == 0 {
					return hit(client, api, driver.Target{Environment: target.Environment, App: "api"})
				}
				return hit(client, worker, driver.Target{Environment: target.Environment, App: "worker"})
			},
		}
	})
}

// TestGroupState: the group runs a version where every member runs it, and
// reports the split only when the members agree, so that the deployer
// completes an operation that stopped half way.
func TestGroupState(t *testing.T) {
	api, _ := newTestDriver(t, nil)
	worker, _ := newTestDriver(t, nil)
	g, err := driver.NewGroup(driver.Member{App: "api", Driver: api}, driver.Member{App: "worker", Driver: worker})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	shop, apiT := driver.Target{Environment: "development", App: "shop"}, driver.Target{Environment: "development", App: "api"}
	mustStart(t, api, apiT, testVersion("1.0.0", true)) // as if the group's Start stopped after its first member
	s, err := g.State(ctx, shop)
	if err != nil || len(s.Running) != 0 {
		t.Fatalf("one member runs 1.0.0: group state %+v, %v; want nothing running", s, err)
	}
	if err := g.Start(ctx, shop, testVersion("1.0.0", true)); err != nil {
		t.Fatal(err)
	}
	mustSetWeights(t, api, apiT, map[string]int{"1.0.0": 100}) // the worker has no split yet
	if s, _ = g.State(ctx, shop); len(s.Running) != 1 || len(s.Weights) != 0 {
		t.Fatalf("state %+v; want 1.0.0 running and no agreed split", s)
	}
	if err := g.SetWeights(ctx, shop, map[string]int{"1.0.0": 100}); err != nil {
		t.Fatal(err)
	}
	if s, _ = g.State(ctx, shop); s.Weights["1.0.0"] != 100 {
		t.Fatalf("state %+v; want all the traffic on 1.0.0", s)
	}
	// A member's failure names it.
	if err := g.Check(ctx, shop, "9.9.9"); err == nil || !strings.Contains(err.Error(), "app api") {
		t.Errorf("Check of a version that does not run: %v; want an error naming app api", err)
	}
	if !strings.HasPrefix(g.Name(), "group(api:local,worker:local)") {
		t.Errorf("name %q", g.Name())
	}
}
