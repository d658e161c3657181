//go:build unix

package local

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/testkit"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// Scale runs more instances of a version behind its share of the traffic,
// each answering in turn; scaling down stops the latest; Check names an
// instance that fails; Stop and Close stop them all.
func TestScale(t *testing.T) {
	d, _ := newTestDriver(t, nil)
	v1 := testVersion("1.0.0", true)
	mustStart(t, d, dev, v1)
	mustSetWeights(t, d, dev, map[string]int{"1.0.0": 100})

	if err := d.Scale(t.Context(), dev, testVersion("2.0.0", true), 2); !errors.Is(err, driver.ErrNotRunning) {
		t.Errorf("scaling a version that does not run: %v, want ErrNotRunning", err)
	}
	if err := d.Scale(t.Context(), dev, v1, 0); err == nil || !strings.Contains(err.Error(), "at least one instance") {
		t.Errorf("scaling to 0: %v", err)
	}

	if err := d.Scale(t.Context(), dev, v1, 3); err != nil {
		t.Fatal(err)
	}
	st, err := d.State(t.Context(), dev)
	if err != nil {
		t.Fatal(err)
	}
	if st.Replicas["1.0.0"] != 3 || !slices.Equal(st.Running, []string{"1.0.0"}) {
		t.Fatalf("state after scaling to 3: %+v", st)
	}
	pids := servingPids(t, d, 12)
	if len(pids) != 3 {
		t.Fatalf("12 requests were answered by processes %v, want 3 of them in turn", pids)
	}
	if err := d.Check(t.Context(), dev, "1.0.0"); err != nil {
		t.Errorf("check of 3 healthy instances: %v", err)
	}
	if err := d.Scale(t.Context(), dev, v1, 3); err != nil {
		t.Errorf("scaling to the current number: %v", err)
	}
	if got := servingPids(t, d, 9); !slices.Equal(got, pids) {
		t.Errorf("scaling to the current number changed the instances: %v, then %v", pids, got)
	}

	// Down to 2: the latest instance stops.
	extra := d.instancesOf(t, dev, "1.0.0")
	if err := d.Scale(t.Context(), dev, v1, 2); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 10*time.Second, extra[2])
	if got := servingPids(t, d, 8); len(got) != 2 || slices.Contains(got, extra[2]) {
		t.Errorf("after scaling to 2, requests reached %v (stopped: %d)", got, extra[2])
	}

	// An instance that dies fails the check, named.
	if err := syscall.Kill(extra[1], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testkit.EventuallyWithin(t, 10*time.Second, func() error {
		if err := d.Check(t.Context(), dev, "1.0.0"); err == nil || !strings.Contains(err.Error(), "instance 2 of 2") {
			return fmt.Errorf("check with a dead instance: %v", err)
		}
		return nil
	})

	// Stop stops every instance.
	mustStart(t, d, dev, testVersion("1.1.0", true))
	mustSetWeights(t, d, dev, map[string]int{"1.1.0": 100})
	if err := d.Scale(t.Context(), dev, testVersion("1.1.0", true), 2); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(t.Context(), dev, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 10*time.Second, extra[0])
	st, _ = d.State(t.Context(), dev)
	if st.Replicas["1.1.0"] != 2 || slices.Contains(st.Running, "1.0.0") {
		t.Errorf("state after stopping 1.0.0: %+v", st)
	}
	last := d.instancesOf(t, dev, "1.1.0")
	ctx := t.Context()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 10*time.Second, last...)
}

// servingPids sends n requests through the proxy and returns the pids that
// answered, in order of first answer, checking they answer in turn.
func servingPids(t *testing.T, d *Driver, n int) []int {
	t.Helper()
	client := newClient(t)
	var seen []int
	for range n {
		status, _, body, err := get(client, d, dev, "/pid")
		if err != nil || status != 200 {
			t.Fatalf("GET /pid: %d %q %v", status, body, err)
		}
		pid, err := strconv.Atoi(body)
		if err != nil {
			t.Fatalf("GET /pid answered %q", body)
		}
		if !slices.Contains(seen, pid) {
			seen = append(seen, pid)
		}
	}
	return seen
}

// instancesOf are the pids of the version's instances, the first first.
func (d *Driver) instancesOf(t *testing.T, target driver.Target, version string) []int {
	t.Helper()
	tg := d.lookup(target)
	tg.mu.Lock()
	defer tg.mu.Unlock()
	var pids []int
	for _, inst := range tg.all(version) {
		pids = append(pids, inst.pid)
	}
	return pids
}
