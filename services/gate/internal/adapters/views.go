// Package adapters connects the gate service to NATS: the views of gate runs
// and definitions, the scheduler that fires deadlines, the subscription to
// release events, and the evidence store.
package adapters

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	"github.com/penguinmails/floe/services/gate/internal/app"
	"github.com/penguinmails/floe/services/gate/internal/domain"
)

// Runs is the view of every gate run: rendered runs, an index by release,
// each open run's next moment (for the scheduler), and change notifications
// (for WatchGates).
type Runs struct {
	proj  *projection.Projection[*domain.Run]
	store eventstore.Store
	head  func(ctx context.Context, id string) (uint64, error)
	last  func(context.Context) (uint64, error)

	mu        sync.Mutex
	rendered  map[string]*gatev1.GateRun
	byRelease map[string][]string
	next      map[string]time.Time
	changed   chan struct{} // closed and replaced on every change
}

// NewRuns builds the view; Projection runs it.
func NewRuns(ctx context.Context, js jetstream.JetStream, store eventstore.Store, opts projection.Options) (*Runs, error) {
	v := &Runs{rendered: map[string]*gatev1.GateRun{}, byRelease: map[string][]string{}, next: map[string]time.Time{}, changed: make(chan struct{})}
	spec := projection.Aggregates("gate_runs", app.RunKind)
	spec.OnChange = func(id string, r *domain.Run, deleted bool) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if deleted || !r.Opened {
			delete(v.rendered, id)
			delete(v.next, id)
		} else {
			run := r.View()
			v.rendered[id] = run
			if ids := v.byRelease[run.GetReleaseId()]; !slices.Contains(ids, id) {
				v.byRelease[run.GetReleaseId()] = append(ids, id)
			}
			if n := r.Next(); n.IsZero() {
				delete(v.next, id)
			} else {
				v.next[id] = n
			}
		}
		close(v.changed)
		v.changed = make(chan struct{})
	}
	spec.OnReset = func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		clear(v.rendered)
		clear(v.byRelease)
		clear(v.next)
	}
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj, v.store = p, store
	v.head = func(ctx context.Context, id string) (uint64, error) {
		_, seq, err := store.Head(ctx, domain.AggRun, id)
		return seq, err
	}
	v.last = store.LastSeq
	return v, nil
}

// Sync waits until the view has applied everything the log holds now.
func (v *Runs) Sync(ctx context.Context) error {
	last, err := v.last(ctx)
	if err != nil {
		return err
	}
	return v.proj.Wait(ctx, last)
}

// Projection is the view's projection.
func (v *Runs) Projection() *projection.Projection[*domain.Run] { return v.proj }

// ForRelease returns the release's runs (in environments' order of opening),
// as of the runs' latest events in the log.
func (v *Runs) ForRelease(ctx context.Context, releaseID string, envs []string) ([]*gatev1.GateRun, error) {
	return v.collect(ctx, releaseID, envs, v.Get)
}

// AsOf returns the release's runs as they were at log position pos (or,
// pos 0, at moment at; time travel): each run the view knows for the
// release, folded from its events up to there by the kind's own Apply
// (kernel.Kind.AsOf, which verifies them). A run with no event by then, or
// not yet opened, is left out.
func (v *Runs) AsOf(ctx context.Context, releaseID string, envs []string, pos uint64, at *timestamppb.Timestamp) ([]*gatev1.GateRun, error) {
	return v.collect(ctx, releaseID, envs, func(ctx context.Context, id string) (*gatev1.GateRun, error) {
		r, err := app.RunKind.AsOf(ctx, v.store, id, pos, at)
		var nf *errs.NotFoundError
		switch {
		case errors.As(err, &nf):
			return nil, nil
		case err != nil:
			return nil, err
		case !r.Opened:
			return nil, nil
		}
		return r.View(), nil
	})
}

// collect is the release's runs in envs (all when empty) as get renders
// each (nil: left out), in environments' order of opening.
func (v *Runs) collect(ctx context.Context, releaseID string, envs []string, get func(context.Context, string) (*gatev1.GateRun, error)) ([]*gatev1.GateRun, error) {
	if err := v.proj.Wait(ctx, causal.MinPosition(ctx)); err != nil {
		return nil, err
	}
	v.mu.Lock()
	ids := slices.Clone(v.byRelease[releaseID])
	v.mu.Unlock()
	var out []*gatev1.GateRun
	for _, id := range ids {
		r, err := get(ctx, id)
		if err != nil {
			return nil, err
		}
		if r != nil && (len(envs) == 0 || slices.Contains(envs, r.GetEnvironment())) {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].GetOpenedAt().AsTime().Before(out[j].GetOpenedAt().AsTime()) })
	return out, nil
}

// Get is one run as of its latest event (nil when it has none).
func (v *Runs) Get(ctx context.Context, id string) (*gatev1.GateRun, error) {
	seq, err := v.head(ctx, id)
	if err != nil || seq == 0 {
		return nil, err
	}
	if err := v.proj.Wait(ctx, max(seq, causal.MinPosition(ctx))); err != nil {
		return nil, err
	}
	if err := v.proj.Tampered(ctx, id); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.rendered[id], nil
}

// Due lists the runs whose next moment is at or before now.
func (v *Runs) Due(now time.Time) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for id, t := range v.next {
		if !t.After(now) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Watch calls fn with every run matching the filter now, then with each
// change, until ctx ends or fn fails.
func (v *Runs) Watch(ctx context.Context, releaseID, env string, fn func(*gatev1.GateRun) error) error {
	sent := map[string]*gatev1.GateRun{}
	for {
		v.mu.Lock()
		changed := v.changed
		var batch []*gatev1.GateRun
		for id, r := range v.rendered {
			if (releaseID != "" && r.GetReleaseId() != releaseID) || (env != "" && r.GetEnvironment() != env) {
				continue
			}
			if prev, ok := sent[id]; ok && proto.Equal(prev, r) {
				continue
			}
			sent[id] = r
			batch = append(batch, r)
		}
		v.mu.Unlock()
		sort.Slice(batch, func(i, j int) bool { return batch[i].GetRunId() < batch[j].GetRunId() })
		for _, r := range batch {
			if err := fn(r); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// Definitions is the view of every environment's gate definitions.
type Definitions struct {
	proj *projection.Projection[*domain.Defs]
	last func(context.Context) (uint64, error)

	mu   sync.Mutex
	envs map[string]*gatev1.EnvironmentGates
}

// NewDefinitions builds the view.
func NewDefinitions(ctx context.Context, js jetstream.JetStream, store eventstore.Store, opts projection.Options) (*Definitions, error) {
	v := &Definitions{envs: map[string]*gatev1.EnvironmentGates{}, last: store.LastSeq}
	spec := projection.Aggregates("gate_definitions", app.DefsKind)
	spec.OnChange = func(env string, d *domain.Defs, deleted bool) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if deleted {
			delete(v.envs, env)
			return
		}
		v.envs[env] = d.View()
	}
	spec.OnReset = func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		clear(v.envs)
	}
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	return v, nil
}

// Sync waits until the view has applied everything the log holds now.
func (v *Definitions) Sync(ctx context.Context) error {
	last, err := v.last(ctx)
	if err != nil {
		return err
	}
	return v.proj.Wait(ctx, last)
}

// Projection is the view's projection.
func (v *Definitions) Projection() *projection.Projection[*domain.Defs] { return v.proj }

// List returns the definitions of every environment (or one), by name.
func (v *Definitions) List(ctx context.Context, env string) ([]*gatev1.EnvironmentGates, error) {
	if err := v.proj.Wait(ctx, causal.MinPosition(ctx)); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []*gatev1.EnvironmentGates
	for name, d := range v.envs {
		if env == "" || env == name {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetEnvironment() < out[j].GetEnvironment() })
	return out, nil
}

// LastPassingSARIF is the last passing SARIF report of a suite of a gate,
// for the product in the environment, across its releases (nil: none).
func (v *Runs) LastPassingSARIF(product, env, gate, suite string) *gatev1.SuiteStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	var best *gatev1.SuiteStatus
	for _, r := range v.rendered {
		if r.GetProduct() != product || r.GetEnvironment() != env {
			continue
		}
		for _, g := range r.GetGates() {
			if g.GetDefinition().GetName() != gate {
				continue
			}
			for _, st := range g.GetSuites() {
				if st.GetSuite() == suite && st.GetPassed() && st.GetEvidence().GetFormat() == gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF &&
					(best == nil || st.GetReportedAt().AsTime().After(best.GetReportedAt().AsTime())) {
					best = st
				}
			}
		}
	}
	return best
}

// Accepted is the accepted SARIF baseline of a suite (nil: none).
func (v *Definitions) Accepted(env, product, gate, suite string) *gatev1.AcceptedBaseline {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, b := range v.envs[env].GetBaselines() {
		if b.GetProduct() == product && b.GetGate() == gate && b.GetSuite() == suite {
			return b
		}
	}
	return nil
}
