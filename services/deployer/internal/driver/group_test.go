package driver

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"
)

// paused is an in-memory Driver (a test stand-in, not a real one) whose
// SetWeights can be held: it records the split, then waits on hold.
type paused struct {
	mu      sync.Mutex
	weights map[string]int
	hold    chan struct{} // nil: no wait
	entered chan struct{}
}

func (p *paused) Name() string                                 { return "paused" }
func (p *paused) Start(context.Context, Target, Version) error { return nil }
func (p *paused) Check(context.Context, Target, string) error  { return nil }
func (p *paused) Stop(context.Context, Target, string) error   { return nil }
func (p *paused) State(context.Context, Target) (State, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return State{Running: []string{"1.0.0", "1.1.0"}, Weights: maps.Clone(p.weights)}, nil
}

func (p *paused) SetWeights(_ context.Context, _ Target, w map[string]int) error {
	p.mu.Lock()
	p.weights = maps.Clone(w)
	hold, entered := p.hold, p.entered
	p.mu.Unlock()
	if hold != nil {
		close(entered)
		<-hold
	}
	return nil
}

// TestGroupStateDuringSetWeights: a State asked while the group's
// SetWeights is between its members waits for it, and so reports the new
// split, never the members' passing disagreement (which reads as no split:
// the local driver's conformance test caught it once under load).
func TestGroupStateDuringSetWeights(t *testing.T) {
	api := &paused{weights: map[string]int{"1.0.0": 100}}
	worker := &paused{weights: map[string]int{"1.0.0": 100}}
	g, err := NewGroup(Member{App: "api", Driver: api}, Member{App: "worker", Driver: worker})
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Environment: "production", App: "shop"}
	api.hold, api.entered = make(chan struct{}), make(chan struct{})
	set := make(chan error, 1)
	go func() { set <- g.SetWeights(context.Background(), target, map[string]int{"1.0.0": 50, "1.1.0": 50}) }()
	<-api.entered // the api has the new split; the worker not yet
	got := make(chan State, 1)
	go func() {
		st, err := g.State(context.Background(), target)
		if err != nil {
			t.Error(err)
		}
		got <- st
	}()
	// While the worker still has the old split, State must not answer
	// (without the group's lock it answers at once, with no split). A
	// correct group never answers here, however long the wait.
	select {
	case st := <-got:
		t.Fatalf("State answered %v while SetWeights was between the members; want it to wait for the new split", st.Weights)
	case <-time.After(200 * time.Millisecond):
	}
	close(api.hold)
	if err := <-set; err != nil {
		t.Fatal(err)
	}
	if st := <-got; !maps.Equal(st.Weights, map[string]int{"1.0.0": 50, "1.1.0": 50}) {
		t.Errorf("State during SetWeights reported the split %v, want the new one", st.Weights)
	}
}
