// Package drivertest is the conformance suite of deployment drivers: every
// driver.Driver passes Run. A driver's own test supplies a Harness (the
// driver, two targets, a way to make versions it can run, healthy or not, and
// optionally a way to send a request to a target); Run then checks the
// contract of driver.Driver: idempotent Start without traffic, validated and
// replacing SetWeights, traffic that follows the weights, Check, Stop that
// refuses versions with traffic, State, concurrency and isolation of targets.
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// Harness is what Run needs to exercise a driver.
type Harness struct {
	// Driver is the driver under test, fresh for each call of newDriver (the
	// harness releases it with t.Cleanup).
	Driver driver.Driver
	// Target is where the suite runs versions; nothing runs there yet.
	Target driver.Target
	// Other is a second target, distinct from Target, also empty; the suite
	// checks that operations on one do not affect the other.
	Other driver.Target
	// Version makes a version the driver can run, named version. An unhealthy
	// one must fail the driver's health checks: either Start refuses it, or
	// Start succeeds and Check reports an error (at the latest within 10s).
	Version func(version string, healthy bool) driver.Version
	// Hit sends one request to the target's entry point and returns the
	// version that answered, or an error when no version answered (e.g. no
	// weights set yet). It is called from several goroutines at once, so it
	// must be safe for concurrent use and must report problems through its
	// error, not through t. Nil for drivers that cannot observe traffic: the
	// suite then skips its traffic assertions and says so in the log.
	Hit func(t *testing.T, target driver.Target) (version string, err error)
}

// Versions the suite runs; chosen so that their string order is their
// semver order.
const (
	v1 = "1.0.0"
	v2 = "1.1.0"
	v3 = "1.2.0"
)

// Run runs the conformance suite as subtests; newDriver is called once per
// subtest, so each starts from an empty driver. The subtests check that:
//
//   - a target where nothing ran has an empty State;
//   - Start is idempotent, lists the version in State.Running without weight,
//     routes no traffic to it and leaves an existing split alone;
//   - SetWeights refuses splits that do not sum to 100, have weights outside
//     0-100 or name versions that do not run (wrapping driver.ErrNotRunning),
//     leaving the split as it was, and replaces the split when valid;
//   - traffic follows the weights: with 100% on a version, every request goes
//     there; with 50/50, each of two versions answers 35%-65% of 400 requests;
//   - Check succeeds for a healthy version, fails for an unhealthy one, and
//     wraps driver.ErrNotRunning for a version that does not run;
//   - Stop refuses a version with weight and changes nothing then; it removes
//     a weightless version, is idempotent, and the version can start again;
//   - State is right through a blue-green deployment and a canary rollback;
//   - concurrent SetWeights, State and requests (run the suite with -race)
//     do not fail: every request is answered by a running version;
//   - operations on one target do not affect another, even with the same
//     version in both.
//
// Traffic assertions need Harness.Hit; without it they are skipped, with the
// reason in the test log.
func Run(t *testing.T, newDriver func(t *testing.T) Harness) {
	t.Run("Name", func(t *testing.T) {
		h := newDriver(t)
		if h.Driver.Name() == "" {
			t.Error("Name() is empty")
		}
		if h.Target == h.Other {
			t.Errorf("the harness's Target and Other are both %s", h.Target)
		}
	})
	t.Run("StateOfEmptyTarget", func(t *testing.T) {
		h := newDriver(t)
		wantState(t, h, h.Target, nil, nil)
	})
	t.Run("StartIsIdempotentAndRoutesNoTraffic", func(t *testing.T) { testStart(t, newDriver(t)) })
	t.Run("SetWeightsValidatesAndReplaces", func(t *testing.T) { testSetWeights(t, newDriver(t)) })
	t.Run("TrafficFollowsWeights", func(t *testing.T) { testTraffic(t, newDriver(t)) })
	t.Run("Check", func(t *testing.T) { testCheck(t, newDriver(t)) })
	t.Run("Stop", func(t *testing.T) { testStop(t, newDriver(t)) })
	t.Run("BlueGreenAndRollback", func(t *testing.T) { testLifecycle(t, newDriver(t)) })
	t.Run("ConcurrentSetWeightsAndTraffic", func(t *testing.T) { testConcurrent(t, newDriver(t)) })
	t.Run("TargetsAreIsolated", func(t *testing.T) { testIsolation(t, newDriver(t)) })
}

func testStart(t *testing.T, h Harness) {
	ctx := t.Context()
	start(t, h, h.Target, v1)
	start(t, h, h.Target, v1) // again: nothing happens
	wantState(t, h, h.Target, []string{v1}, nil)
	if h.Hit != nil {
		for range 5 {
			if got, err := h.Hit(t, h.Target); err == nil && got == v1 {
				t.Fatalf("a request reached %s, which was started but has no weight", v1)
			}
		}
	}
	if err := h.Driver.Check(ctx, h.Target, v1); err != nil {
		t.Errorf("Check(%s) after Start: %v", v1, err)
	}

	// With a split in place, starting another version leaves it alone, and
	// starting a running version again leaves the split alone.
	setWeights(t, h, h.Target, map[string]int{v1: 100})
	start(t, h, h.Target, v2)
	start(t, h, h.Target, v1)
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v1: 100})
	if h.Hit != nil {
		counts := hitN(t, h, h.Target, 20)
		if counts[v1] != 20 {
			t.Errorf("after starting %s with all weight on %s, 20 requests went %v", v2, v1, counts)
		}
	}
}

func testSetWeights(t *testing.T, h Harness) {
	ctx := t.Context()
	if err := h.Driver.SetWeights(ctx, h.Target, map[string]int{v1: 100}); err == nil {
		t.Errorf("SetWeights(%s: 100) with nothing running succeeded", v1)
	}
	start(t, h, h.Target, v1)
	start(t, h, h.Target, v2)

	invalid := []struct {
		name       string
		weights    map[string]int
		notRunning bool // the error must wrap driver.ErrNotRunning
	}{
		{name: "empty", weights: map[string]int{}},
		{name: "nil", weights: nil},
		{name: "sum below 100", weights: map[string]int{v1: 50, v2: 40}},
		{name: "sum above 100", weights: map[string]int{v1: 60, v2: 60}},
		{name: "negative", weights: map[string]int{v1: 150, v2: -50}},
		{name: "over 100 alone", weights: map[string]int{v1: 101}},
		{name: "not running", weights: map[string]int{v1: 50, v3: 50}, notRunning: true},
		{name: "only not running", weights: map[string]int{v3: 100}, notRunning: true},
	}
	check := func(want map[string]int) {
		t.Helper()
		for _, c := range invalid {
			err := h.Driver.SetWeights(ctx, h.Target, c.weights)
			if err == nil {
				t.Errorf("SetWeights(%v) (%s) succeeded", c.weights, c.name)
				continue
			}
			if c.notRunning && !errors.Is(err, driver.ErrNotRunning) {
				t.Errorf("SetWeights(%v) (%s) = %v; want an error wrapping driver.ErrNotRunning", c.weights, c.name, err)
			}
		}
		wantState(t, h, h.Target, []string{v1, v2}, want) // refused splits change nothing
	}
	check(nil)

	setWeights(t, h, h.Target, map[string]int{v1: 100})
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v1: 100})
	check(map[string]int{v1: 100})

	setWeights(t, h, h.Target, map[string]int{v1: 20, v2: 80})
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v1: 20, v2: 80})

	setWeights(t, h, h.Target, map[string]int{v2: 100}) // replaces: v1 keeps nothing
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v2: 100})

	setWeights(t, h, h.Target, map[string]int{v2: 100}) // the same split again
	setWeights(t, h, h.Target, map[string]int{v1: 0, v2: 100})
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v2: 100})
	check(map[string]int{v2: 100})
}

func testTraffic(t *testing.T, h Harness) {
	if h.Hit == nil {
		t.Skip("the harness cannot observe traffic (Hit is nil): traffic assertions skipped")
	}
	start(t, h, h.Target, v1)
	start(t, h, h.Target, v2)
	if got, err := h.Hit(t, h.Target); err == nil {
		t.Errorf("a request before any weights were set was answered by %s", got)
	}

	for _, only := range []string{v1, v2, v1} {
		other := v1
		if only == v1 {
			other = v2
		}
		setWeights(t, h, h.Target, map[string]int{only: 100, other: 0})
		if counts := hitN(t, h, h.Target, 50); counts[only] != 50 {
			t.Errorf("with 100%% on %s, 50 requests went %v", only, counts)
		}
	}

	const n = 400
	setWeights(t, h, h.Target, map[string]int{v1: 50, v2: 50})
	counts := hitN(t, h, h.Target, n)
	for _, v := range []string{v1, v2} {
		if share := float64(counts[v]) / n; share < 0.35 || share > 0.65 {
			t.Errorf("with 50/50, %s answered %d of %d requests (%.0f%%); want 35%%-65%%: %v", v, counts[v], n, share*100, counts)
		}
	}
	if counts[v1]+counts[v2] != n {
		t.Errorf("with 50/50 between %s and %s, requests went %v", v1, v2, counts)
	}
}

func testCheck(t *testing.T, h Harness) {
	ctx := t.Context()
	start(t, h, h.Target, v1)
	for range 3 {
		if err := h.Driver.Check(ctx, h.Target, v1); err != nil {
			t.Fatalf("Check of the healthy %s: %v", v1, err)
		}
	}

	if err := h.Driver.Start(ctx, h.Target, h.Version(v2, false)); err != nil {
		t.Logf("Start refused the unhealthy %s: %v", v2, err)
		wantState(t, h, h.Target, []string{v1}, nil)
		if err := h.Driver.Check(ctx, h.Target, v2); err == nil {
			t.Errorf("Check of %s, refused by Start, succeeded", v2)
		}
	} else {
		var checkErr error
		err := eventually(10*time.Second, func() error {
			if checkErr = h.Driver.Check(ctx, h.Target, v2); checkErr == nil {
				return fmt.Errorf("Check of the unhealthy %s keeps succeeding", v2)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		} else {
			t.Logf("Check of the unhealthy %s: %v", v2, checkErr)
		}
	}
	if err := h.Driver.Check(ctx, h.Target, v1); err != nil {
		t.Errorf("Check of the healthy %s after %s failed: %v", v1, v2, err)
	}

	for _, tc := range []struct {
		target  driver.Target
		version string
	}{{h.Target, v3}, {h.Other, v1}} {
		if err := h.Driver.Check(ctx, tc.target, tc.version); !errors.Is(err, driver.ErrNotRunning) {
			t.Errorf("Check of %s in %s, which does not run there, = %v; want an error wrapping driver.ErrNotRunning", tc.version, tc.target, err)
		}
	}
}

func testStop(t *testing.T, h Harness) {
	ctx := t.Context()
	if err := h.Driver.Stop(ctx, h.Target, v3); err != nil {
		t.Errorf("Stop of %s in an empty target: %v", v3, err)
	}
	start(t, h, h.Target, v1)
	start(t, h, h.Target, v2)
	setWeights(t, h, h.Target, map[string]int{v1: 100})

	if err := h.Driver.Stop(ctx, h.Target, v1); err == nil {
		t.Fatalf("Stop of %s, which carries all the traffic, succeeded", v1)
	} else {
		t.Logf("Stop of %s with weight: %v", v1, err)
	}
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v1: 100})
	if err := h.Driver.Check(ctx, h.Target, v1); err != nil {
		t.Errorf("Check of %s after a refused Stop: %v", v1, err)
	}
	if h.Hit != nil {
		if counts := hitN(t, h, h.Target, 10); counts[v1] != 10 {
			t.Errorf("after a refused Stop of %s, 10 requests went %v", v1, counts)
		}
	}

	// A version with some weight cannot be stopped either.
	setWeights(t, h, h.Target, map[string]int{v1: 90, v2: 10})
	if err := h.Driver.Stop(ctx, h.Target, v2); err == nil {
		t.Fatalf("Stop of %s, which carries 10%% of the traffic, succeeded", v2)
	}
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v1: 90, v2: 10})

	// Weightless (explicitly 0): it goes, and going again does nothing.
	setWeights(t, h, h.Target, map[string]int{v1: 100, v2: 0})
	for range 2 {
		if err := h.Driver.Stop(ctx, h.Target, v2); err != nil {
			t.Fatalf("Stop of the weightless %s: %v", v2, err)
		}
		wantState(t, h, h.Target, []string{v1}, map[string]int{v1: 100})
	}
	if err := h.Driver.Check(ctx, h.Target, v2); !errors.Is(err, driver.ErrNotRunning) {
		t.Errorf("Check of the stopped %s = %v; want an error wrapping driver.ErrNotRunning", v2, err)
	}
	if err := h.Driver.SetWeights(ctx, h.Target, map[string]int{v1: 50, v2: 50}); !errors.Is(err, driver.ErrNotRunning) {
		t.Errorf("SetWeights naming the stopped %s = %v; want an error wrapping driver.ErrNotRunning", v2, err)
	}
	if h.Hit != nil {
		if counts := hitN(t, h, h.Target, 10); counts[v1] != 10 {
			t.Errorf("after stopping %s, 10 requests went %v", v2, counts)
		}
	}

	// A stopped version can start again.
	start(t, h, h.Target, v2)
	setWeights(t, h, h.Target, map[string]int{v2: 100})
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v2: 100})
	if h.Hit != nil {
		if counts := hitN(t, h, h.Target, 10); counts[v2] != 10 {
			t.Errorf("after restarting %s with all the weight, 10 requests went %v", v2, counts)
		}
	}
}

// testLifecycle walks a blue-green deployment, a canary and its rollback.
func testLifecycle(t *testing.T, h Harness) {
	start(t, h, h.Target, v1)
	setWeights(t, h, h.Target, map[string]int{v1: 100})
	start(t, h, h.Target, v2)
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v1: 100})
	setWeights(t, h, h.Target, map[string]int{v2: 100})
	stop(t, h, h.Target, v1)
	wantState(t, h, h.Target, []string{v2}, map[string]int{v2: 100})

	// Canary of v3, then rollback to v2.
	start(t, h, h.Target, v3)
	setWeights(t, h, h.Target, map[string]int{v2: 90, v3: 10})
	wantState(t, h, h.Target, []string{v2, v3}, map[string]int{v2: 90, v3: 10})
	if h.Hit != nil {
		counts := hitN(t, h, h.Target, 40)
		if counts[v2]+counts[v3] != 40 || counts[v2] == 0 {
			t.Errorf("with %s 90%% and %s 10%%, 40 requests went %v", v2, v3, counts)
		}
	}
	setWeights(t, h, h.Target, map[string]int{v2: 100})
	stop(t, h, h.Target, v3)
	wantState(t, h, h.Target, []string{v2}, map[string]int{v2: 100})
	if h.Hit != nil {
		if counts := hitN(t, h, h.Target, 10); counts[v2] != 10 {
			t.Errorf("after the rollback to %s, 10 requests went %v", v2, counts)
		}
	}
}

func testConcurrent(t *testing.T, h Harness) {
	ctx := t.Context()
	start(t, h, h.Target, v1)
	start(t, h, h.Target, v2)
	setWeights(t, h, h.Target, map[string]int{v1: 100})
	if h.Hit == nil {
		t.Log("the harness cannot observe traffic (Hit is nil): only SetWeights and State run concurrently")
	}

	splits := []map[string]int{{v1: 100}, {v2: 100}, {v1: 50, v2: 50}, {v1: 10, v2: 90}, {v1: 100, v2: 0}}
	const (
		hitters     = 4
		hitsEach    = 60
		setters     = 2
		setsEach    = 60
		stateReads  = 60
		maxProblems = 10
	)
	var (
		mu       sync.Mutex
		problems []string
		counts   = map[string]int{}
	)
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < maxProblems {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for s := range setters {
		wg.Go(func() {
			for i := range setsEach {
				w := splits[(i+s)%len(splits)]
				if err := h.Driver.SetWeights(ctx, h.Target, w); err != nil {
					report("SetWeights(%v): %v", w, err)
				}
			}
		})
	}
	wg.Go(func() {
		for range stateReads {
			st, err := h.Driver.State(ctx, h.Target)
			if err != nil {
				report("State: %v", err)
				continue
			}
			if err := driver.ValidateWeights(positive(st.Weights), st.Running); err != nil {
				report("State during SetWeights has an invalid split %v over %v: %v", st.Weights, st.Running, err)
			}
		}
	})
	if h.Hit != nil {
		for range hitters {
			wg.Go(func() {
				for range hitsEach {
					got, err := h.Hit(t, h.Target)
					if err != nil {
						report("request during SetWeights failed: %v", err)
						continue
					}
					if got != v1 && got != v2 {
						report("request during SetWeights answered by %q", got)
					}
					mu.Lock()
					counts[got]++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	if h.Hit != nil {
		t.Logf("%d requests during concurrent SetWeights went %v", hitters*hitsEach, counts)
	}

	// Afterwards the driver still works.
	setWeights(t, h, h.Target, map[string]int{v2: 100})
	wantState(t, h, h.Target, []string{v1, v2}, map[string]int{v2: 100})
	if h.Hit != nil {
		if c := hitN(t, h, h.Target, 10); c[v2] != 10 {
			t.Errorf("after the concurrent SetWeights settled on %s, 10 requests went %v", v2, c)
		}
	}
}

func testIsolation(t *testing.T, h Harness) {
	ctx := t.Context()
	start(t, h, h.Target, v1)
	setWeights(t, h, h.Target, map[string]int{v1: 100})
	wantState(t, h, h.Other, nil, nil)

	// The same version in the other target is a separate instance.
	start(t, h, h.Other, v1)
	wantState(t, h, h.Other, []string{v1}, nil)
	wantState(t, h, h.Target, []string{v1}, map[string]int{v1: 100})
	if h.Hit != nil {
		if got, err := h.Hit(t, h.Other); err == nil && got == v1 {
			t.Errorf("a request to %s reached %s, which has weight only in %s", h.Other, v1, h.Target)
		}
	}

	start(t, h, h.Other, v2)
	if err := h.Driver.SetWeights(ctx, h.Target, map[string]int{v2: 100}); !errors.Is(err, driver.ErrNotRunning) {
		t.Errorf("SetWeights in %s naming %s, which runs only in %s, = %v; want an error wrapping driver.ErrNotRunning", h.Target, v2, h.Other, err)
	}
	setWeights(t, h, h.Other, map[string]int{v2: 100})
	stop(t, h, h.Other, v1) // weightless in Other, carries all of Target's traffic
	wantState(t, h, h.Other, []string{v2}, map[string]int{v2: 100})
	wantState(t, h, h.Target, []string{v1}, map[string]int{v1: 100})
	if err := h.Driver.Check(ctx, h.Target, v1); err != nil {
		t.Errorf("Check of %s in %s after stopping it in %s: %v", v1, h.Target, h.Other, err)
	}
	if h.Hit != nil {
		if c := hitN(t, h, h.Target, 20); c[v1] != 20 {
			t.Errorf("requests to %s went %v; want all to %s", h.Target, c, v1)
		}
		if c := hitN(t, h, h.Other, 20); c[v2] != 20 {
			t.Errorf("requests to %s went %v; want all to %s", h.Other, c, v2)
		}
	}
}

// start starts a healthy version or fails the test.
func start(t *testing.T, h Harness, target driver.Target, version string) {
	t.Helper()
	if err := h.Driver.Start(t.Context(), target, h.Version(version, true)); err != nil {
		t.Fatalf("Start(%s, %s): %v", target, version, err)
	}
}

func stop(t *testing.T, h Harness, target driver.Target, version string) {
	t.Helper()
	if err := h.Driver.Stop(t.Context(), target, version); err != nil {
		t.Fatalf("Stop(%s, %s): %v", target, version, err)
	}
}

func setWeights(t *testing.T, h Harness, target driver.Target, w map[string]int) {
	t.Helper()
	if err := h.Driver.SetWeights(t.Context(), target, w); err != nil {
		t.Fatalf("SetWeights(%s, %v): %v", target, w, err)
	}
}

// wantState compares the target's State with the running versions and the
// split; zero weights are not significant.
func wantState(t *testing.T, h Harness, target driver.Target, running []string, weights map[string]int) {
	t.Helper()
	st, err := h.Driver.State(t.Context(), target)
	if err != nil {
		t.Fatalf("State(%s): %v", target, err)
	}
	got := driver.State{Running: st.Running, Weights: positive(st.Weights)}
	want := driver.State{Running: running, Weights: positive(weights)}
	if got.Running == nil {
		got.Running = []string{}
	}
	if want.Running == nil {
		want.Running = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("State(%s) (-want +got, zero weights dropped):\n%s", target, diff)
	}
	if len(st.Weights) > 0 {
		if err := driver.ValidateWeights(positive(st.Weights), st.Running); err != nil {
			t.Errorf("State(%s) has an invalid split: %v", target, err)
		}
	}
}

// positive returns the non-zero weights (never nil).
func positive(w map[string]int) map[string]int {
	out := map[string]int{}
	maps.Copy(out, w)
	maps.DeleteFunc(out, func(_ string, w int) bool { return w == 0 })
	return out
}

// hitN sends n requests and counts the versions that answered; failures
// are counted under "error: ..." and logged.
func hitN(t *testing.T, h Harness, target driver.Target, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	logged := 0
	for range n {
		v, err := h.Hit(t, target)
		if err != nil {
			counts["error"]++
			if logged < 3 {
				t.Logf("request to %s: %v", target, err)
				logged++
			}
			continue
		}
		counts[v]++
	}
	return counts
}

// eventually retries f until it returns nil or the time is up; it returns
// f's last error.
func eventually(within time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
