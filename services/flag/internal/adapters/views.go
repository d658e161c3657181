// Package adapters connects the flag service to NATS: the view of every
// environment's flag set, the scheduler of changes, and the subscription to
// release rollbacks and feature-flag deployments' steps (reactor.go).
package adapters

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/flageval"
	"github.com/penguinmails/floe/libs/projection"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/domain"
)

// Snapshot is an environment's flags at one version of its flag set, with
// the flagd definition they make and its compiled evaluator.
type Snapshot struct {
	Environment  string
	Version      uint64
	Position     uint64 // the log position of its last change
	Flags        []*flagv1.Flag
	Flagd        []byte        // the flags as a flagd flag-definition file
	Eval         *flageval.Set // nil: the definition did not compile (CompileError says why)
	CompileError error
}

// compile builds the flagd definition and its evaluator. Every flag was
// checked by the evaluator when it was written, so a failure here means the
// log holds something this version cannot evaluate: evaluations then answer
// GENERAL with the reason, rather than serve a guess.
func (s *Snapshot) compile() {
	s.Flagd, s.CompileError = domain.ToFlagd(s.Flags)
	if s.CompileError == nil {
		s.Eval, s.CompileError = flageval.Parse(s.Flagd)
	}
}

// Flag is the flag named key (nil when none).
func (s *Snapshot) Flag(key string) *flagv1.Flag {
	i := sort.Search(len(s.Flags), func(i int) bool { return s.Flags[i].GetKey() >= key })
	if i < len(s.Flags) && s.Flags[i].GetKey() == key {
		return s.Flags[i]
	}
	return nil
}

// FlagSets is the view of every environment's flag set: an immutable
// snapshot per environment, replaced on each change, each change notified
// (WatchFlags), and the next scheduled change per environment.
type FlagSets struct {
	proj  *projection.Projection[*domain.FlagSet]
	head  func(ctx context.Context, env string) (uint64, error)
	store eventstore.Store

	mu      sync.Mutex
	sets    map[string]*Snapshot
	next    map[string]time.Time
	changed chan struct{}
}

// NewFlagSets builds the view; Projection runs it.
func NewFlagSets(ctx context.Context, js jetstream.JetStream, store eventstore.Store, opts projection.Options) (*FlagSets, error) {
	v := &FlagSets{sets: map[string]*Snapshot{}, next: map[string]time.Time{}, changed: make(chan struct{}), store: store}
	spec := projection.Aggregates("flag_sets", app.FlagSetKind)
	spec.OnChange = func(env string, fs *domain.FlagSet, deleted bool) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if deleted {
			delete(v.sets, env)
			delete(v.next, env)
		} else {
			v.sets[env] = snapshotOf(env, fs)
			if n := fs.Next(); n.IsZero() {
				delete(v.next, env)
			} else {
				v.next[env] = n
			}
		}
		close(v.changed)
		v.changed = make(chan struct{})
	}
	spec.OnReset = func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		clear(v.sets)
		clear(v.next)
	}
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	v.head = func(ctx context.Context, env string) (uint64, error) {
		_, seq, err := store.Head(ctx, domain.AggFlagSet, env)
		return seq, err
	}
	return v, nil
}

// Projection is the view's projection.
func (v *FlagSets) Projection() *projection.Projection[*domain.FlagSet] { return v.proj }

// Get is env's flag set as of its latest event in the log (an empty one
// when it has none).
func (v *FlagSets) Get(ctx context.Context, env string) (*Snapshot, error) {
	seq, err := v.head(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := v.proj.Wait(ctx, max(seq, causal.MinPosition(ctx))); err != nil {
		return nil, err
	}
	if err := v.proj.Tampered(ctx, env); err != nil {
		return nil, err
	}
	return v.Current(env), nil
}

// snapshotOf renders a flag set as the view holds it.
func snapshotOf(env string, fs *domain.FlagSet) *Snapshot {
	snap := &Snapshot{Environment: env, Version: fs.Version}
	for _, k := range fs.Keys() {
		f := proto.Clone(fs.Flags[k]).(*flagv1.Flag)
		snap.Flags = append(snap.Flags, f)
		snap.Position = max(snap.Position, f.GetPosition())
	}
	snap.compile()
	return snap
}

// AsOf is env's flag set as it was at log position pos (or, pos 0, at moment at) (kernel.Kind.AsOf:
// its events up to pos, verified, folded by the aggregate's own Apply),
// rendered as the view renders it. NotFound before its first event.
func (v *FlagSets) AsOf(ctx context.Context, env string, pos uint64, at *timestamppb.Timestamp) (*Snapshot, error) {
	fs, err := app.FlagSetKind.AsOf(ctx, v.store, env, pos, at)
	if err != nil {
		return nil, err
	}
	return snapshotOf(env, fs), nil
}

// Current is env's flag set as the view holds it now (an empty one when it
// has none): for evaluations, which must not wait.
func (v *FlagSets) Current(env string) *Snapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.sets[env]; s != nil {
		return s
	}
	empty := &Snapshot{Environment: env}
	empty.compile()
	return empty
}

// Due lists the environments whose next scheduled change is at or before now.
func (v *FlagSets) Due(now time.Time) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for env, t := range v.next {
		if !t.After(now) {
			out = append(out, env)
		}
	}
	slices.Sort(out)
	return out
}

// Watch calls fn with env's flag set now, then after each change of it,
// until ctx ends or fn fails.
func (v *FlagSets) Watch(ctx context.Context, env string, fn func(*Snapshot) error) error {
	var sent uint64
	first := true
	for {
		v.mu.Lock()
		changed := v.changed
		s := v.sets[env]
		v.mu.Unlock()
		if s == nil {
			s = &Snapshot{Environment: env}
			s.compile()
		}
		if first || s.Version != sent {
			if err := fn(s); err != nil {
				return err
			}
			first, sent = false, s.Version
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// Scheduler applies scheduled flag changes when they are due. Its state is
// the view, rebuilt from the log, so a change due while no instance ran
// applies as soon as one starts; two instances append it once (the kernel
// decides on the flag set's current state).
type Scheduler struct {
	Sets     *FlagSets
	Service  *app.Service
	Interval time.Duration // default 1s
	OnError  func(error)
}

// Run applies due changes until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Second
	}
	select {
	case <-s.Sets.Projection().Ready():
	case <-ctx.Done():
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, env := range s.Sets.Due(s.Service.Now()) {
			if err := s.Service.Tick(causal.System(ctx, "flag-scheduler", "", ""), env); err != nil && s.OnError != nil && ctx.Err() == nil {
				s.OnError(fmt.Errorf("scheduled flag changes of %s: %w", env, err))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
