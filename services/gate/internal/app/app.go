// Package app runs the gate service's commands on the command kernel: gate
// definitions per environment, and gate runs — opened when a release is
// deployed to an environment, fed by reports, timed out by their deadlines,
// overridden by people.
package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/kernel"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/gate/internal/domain"
)

// DefsKind describes an environment's gate definitions to the kernel and views.
var DefsKind = kernel.Kind[*domain.Defs]{
	Name: domain.AggDefs,
	New:  func(env string) *domain.Defs { return &domain.Defs{Environment: env} },
	Apply: func(d *domain.Defs, e *eventstore.RecordedEvent) (*domain.Defs, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		domain.ApplyDefs(d, m, e.Actor, e.Time)
		return d, nil
	},
	Codec: kernel.Codec[*domain.Defs]{Schema: "gatedef/1", Marshal: domain.MarshalDefs, Unmarshal: domain.UnmarshalDefs},
}

// RunKind describes a gate run.
var RunKind = kernel.Kind[*domain.Run]{
	Name: domain.AggRun,
	New:  domain.NewRun,
	Apply: func(r *domain.Run, e *eventstore.RecordedEvent) (*domain.Run, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		r.Apply(m, e.Actor, e.Time)
		return r, nil
	},
	Codec: kernel.Codec[*domain.Run]{Schema: "gaterun/1", Marshal: domain.MarshalRun, Unmarshal: domain.UnmarshalRun},
}

// ReleaseEvents are the release events the gate service reacts to.
var ReleaseEvents = eventstore.EventFilters(&releasev1.ReleaseDeployed{})

// Service handles gate commands.
type Service struct {
	defs       *kernel.Handler[*domain.Defs]
	runs       *kernel.Handler[*domain.Run]
	releases   eventstore.Store // reads (never appends) the release aggregates
	configured map[string][]*gatev1.GateDefinition
	now        func() time.Time
}

// New returns a Service: store holds the gate aggregates, releases is a
// verifying store open for the release aggregate (read only), configured
// are the definitions the log starts with, per environment (see Seed).
func New(store, releases eventstore.Store, snaps *eventstore.Snapshots, configured map[string][]*gatev1.GateDefinition, now func() time.Time) (*Service, error) {
	if store == nil || releases == nil {
		return nil, errors.New("gate app: a store and a release reader are required")
	}
	if now == nil {
		now = time.Now
	}
	defs, err := kernel.New(store, DefsKind, kernel.Options{Snapshots: snaps, Clock: now})
	if err != nil {
		return nil, err
	}
	runs, err := kernel.New(store, RunKind, kernel.Options{Snapshots: snaps, Clock: now})
	if err != nil {
		return nil, err
	}
	return &Service{defs: defs, runs: runs, releases: releases, configured: configured, now: now}, nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Configured lists the environments with configured definitions, sorted.
func (s *Service) Configured() []string { return slices.Sorted(maps.Keys(s.configured)) }

// Seed records the configured definitions of every environment whose
// definitions the log does not have yet (the first start); later changes
// go through SetGate. It reports the environments where the configuration
// and the log differ, for the operator's attention.
func (s *Service) Seed(ctx context.Context) (differ []string, err error) {
	for _, env := range s.Configured() {
		gates := s.configured[env]
		var seeded bool
		ctx := causal.System(ctx, "gate", causal.Key("gate-seed", env), "")
		if _, err := s.defs.Execute(ctx, kernel.Command[*domain.Defs]{
			ID: env, Key: causal.Key("gate-seed", env),
			Decide: func(d *domain.Defs) ([]proto.Message, error) {
				events, err := domain.Seed(d, gates)
				seeded = len(events) > 0
				if !seeded && !sameGates(d.Gates, gates) {
					differ = append(differ, env)
				}
				return events, err
			},
		}); err != nil {
			return nil, fmt.Errorf("seed the gate definitions of %s: %w", env, err)
		}
	}
	return differ, nil
}

func sameGates(a, b []*gatev1.GateDefinition) bool {
	return slices.EqualFunc(a, b, func(x, y *gatev1.GateDefinition) bool { return proto.Equal(x, y) })
}

// Definitions are an environment's gate definitions now.
func (s *Service) Definitions(ctx context.Context, env string) (*domain.Defs, error) {
	var out *domain.Defs
	err := s.defs.Read(ctx, env, func(d *domain.Defs, _ eventstore.Version, _ uint64) error {
		c := *d
		c.Gates = slices.Clone(d.Gates)
		out = &c
		return nil
	})
	return out, err
}

// SetGate changes one gate of an environment.
func (s *Service) SetGate(ctx context.Context, env string, g *gatev1.GateDefinition, remove bool, reason string, expected uint64) (*domain.Defs, error) {
	var out *domain.Defs
	_, err := s.defs.Execute(ctx, kernel.Command[*domain.Defs]{
		ID:      env,
		Decide:  func(d *domain.Defs) ([]proto.Message, error) { return domain.SetGate(d, g, remove, reason, expected) },
		Observe: func(d *domain.Defs) { out = domain.FromDefsView(d.View()) },
	})
	return out, err
}

// releaseFacts is what the gate service needs to know of a release.
type releaseFacts struct {
	product, version, author string
	promotedBy               map[string]string // environment → who asked for the last promotion there
	deployed                 map[string]string // environment → the deployment that last put it there
	deploying                map[string]bool   // environment → a promotion there has not finished
}

// release reads the release's events (verified by the store) for the facts
// a run needs.
func (s *Service) release(ctx context.Context, id string) (*releaseFacts, error) {
	st, err := s.releases.Load(ctx, "release", id, nil)
	if err != nil {
		return nil, err
	}
	f := &releaseFacts{promotedBy: map[string]string{}, deployed: map[string]string{}, deploying: map[string]bool{}}
	for _, e := range st.Events {
		m, err := e.Decode()
		if err != nil {
			continue // an event this version does not know
		}
		switch ev := m.(type) {
		case *releasev1.ReleaseCreated:
			f.product, f.version, f.author = ev.GetProduct(), ev.GetVersion(), e.Actor
		case *releasev1.PromotionRequested:
			f.promotedBy[ev.GetEnvironment()] = ev.GetRequestedBy()
			f.deploying[ev.GetEnvironment()] = true
		case *releasev1.ReleaseDeployed:
			f.deployed[ev.GetEnvironment()] = ev.GetDeploymentId()
			f.deploying[ev.GetEnvironment()] = false
		case *releasev1.ReleaseDeploymentFailed:
			f.deploying[ev.GetEnvironment()] = false
		case *releasev1.ReleaseRolledBack:
			f.deploying[ev.GetEnvironment()] = false
			delete(f.deployed, ev.GetEnvironment())
		}
	}
	if f.product == "" {
		return nil, &errs.NotFoundError{Kind: "release", ID: id}
	}
	return f, nil
}

// OnReleaseEvent opens the gates of an environment when a release is
// deployed there. A redelivered event opens nothing twice.
func (s *Service) OnReleaseEvent(ctx context.Context, cause *eventstore.RecordedEvent) error {
	m, err := cause.Decode()
	if err != nil {
		return nil
	}
	ev, ok := m.(*releasev1.ReleaseDeployed)
	if !ok || !ident.Valid(ev.GetEnvironment()) {
		return nil
	}
	_, err = s.open(ctx, cause.AggregateID, ev.GetEnvironment(), ev.GetDeploymentId())
	return err
}

// open opens (or reopens, for a new deployment) the run of release in env.
func (s *Service) open(ctx context.Context, releaseID, env, deploymentID string) (*domain.Run, error) {
	f, err := s.release(ctx, releaseID)
	if err != nil {
		return nil, err
	}
	defs, err := s.Definitions(ctx, env)
	if err != nil {
		return nil, err
	}
	o := domain.Opening{
		ReleaseID: releaseID, Product: f.product, Version: f.version, Environment: env,
		DeploymentID: deploymentID, Author: f.author, PromotedBy: f.promotedBy[env],
	}
	var out *domain.Run
	_, err = s.runs.Execute(ctx, kernel.Command[*domain.Run]{
		ID: domain.RunID(releaseID, env),
		Decide: func(r *domain.Run) ([]proto.Message, error) {
			return domain.Open(r, o, defs, actorOf(ctx), s.now()), nil
		},
		Observe: func(r *domain.Run) { out = domain.FromView(r.View()) },
	})
	return out, err
}

func actorOf(ctx context.Context) string {
	o, _ := causal.From(ctx)
	return o.Actor
}

// ReportTarget is what a report is for.
type ReportTarget struct {
	ReleaseID, Environment, Gate, Suite string
}

// Target checks that a report can go to t, opening the run when the release
// has none in the environment yet (a hotfix that skipped it reports there
// all the same), and returns the gate's definition.
func (s *Service) Target(ctx context.Context, t ReportTarget) (*gatev1.GateDefinition, *domain.Run, error) {
	var run *domain.Run
	err := s.runs.Read(ctx, domain.RunID(t.ReleaseID, t.Environment), func(r *domain.Run, _ eventstore.Version, _ uint64) error {
		if r.Opened {
			run = domain.FromView(r.View()) // a copy: the kernel's state changes under its lock only
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if run == nil {
		// Not opened yet: the release's deployment there may not have been
		// seen yet (it opens the run, as its event would), or the release
		// skipped the environment (a hotfix: the report opens the run).
		f, err := s.release(ctx, t.ReleaseID)
		if err != nil {
			return nil, nil, err
		}
		// A report to no gate of the environment opens nothing.
		defs, err := s.Definitions(ctx, t.Environment)
		if err != nil {
			return nil, nil, err
		}
		probe := domain.NewRun(domain.RunID(t.ReleaseID, t.Environment))
		probe.Apply(&gatev1.GatesOpened{Environment: t.Environment, Gates: openedGates(defs)}, "", time.Time{})
		if err := probe.CheckReportTarget(t.Gate, t.Suite); err != nil {
			return nil, nil, err
		}
		if f.deploying[t.Environment] {
			return nil, nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_NO_GATE_RUN,
				"release %s is being deployed to %s: its gates open when the deployment succeeds; report after that", t.ReleaseID, t.Environment)
		}
		if run, err = s.open(ctx, t.ReleaseID, t.Environment, f.deployed[t.Environment]); err != nil {
			return nil, nil, err
		}
	}
	if err := run.CheckReportTarget(t.Gate, t.Suite); err != nil {
		return nil, nil, err
	}
	return run.Gate(t.Gate).Def, run, nil
}

// Report records a suite's evaluated evidence.
func (s *Service) Report(ctx context.Context, t ReportTarget, ev *gatev1.Evidence) (*domain.Run, bool, string, error) {
	var out *domain.Run
	var passed bool
	var why string
	_, err := s.runs.Execute(ctx, kernel.Command[*domain.Run]{
		ID: domain.RunID(t.ReleaseID, t.Environment),
		Decide: func(r *domain.Run) ([]proto.Message, error) {
			if err := r.CheckReportTarget(t.Gate, t.Suite); err != nil {
				return nil, err
			}
			passed, why = domain.SuitePassed(r.Gate(t.Gate).Def, ev)
			return domain.RecordReport(r, domain.Report{Gate: t.Gate, Suite: t.Suite, Evidence: ev, Passed: passed, Reason: why}, actorOf(ctx), s.now())
		},
		Observe: func(r *domain.Run) { out = domain.FromView(r.View()) },
	})
	return out, passed, why, err
}

// Override lets a warned gate pass.
func (s *Service) Override(ctx context.Context, releaseID, env, gate, reason string, expires *timestamppb.Timestamp) (*domain.Run, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &errs.UnauthenticatedError{Message: "no authenticated principal"}
	}
	var out *domain.Run
	_, err := s.runs.Execute(ctx, kernel.Command[*domain.Run]{
		ID: domain.RunID(releaseID, env),
		Decide: func(r *domain.Run) ([]proto.Message, error) {
			return domain.OverrideGate(r, gate, p.ID, reason, expires, s.now())
		},
		Observe: func(r *domain.Run) { out = domain.FromView(r.View()) },
	})
	return out, err
}

// AcceptBaseline accepts the latest SARIF report of a suite in the
// release's run as the known findings of the suite for its product.
func (s *Service) AcceptBaseline(ctx context.Context, releaseID, env, gate, suite, reason string) (*gatev1.AcceptedBaseline, error) {
	var run *domain.Run
	if err := s.runs.Read(ctx, domain.RunID(releaseID, env), func(r *domain.Run, _ eventstore.Version, _ uint64) error {
		run = domain.FromView(r.View()) // a copy: the kernel's state changes under its lock only
		return nil
	}); err != nil {
		return nil, err
	}
	var out *gatev1.AcceptedBaseline
	_, err := s.defs.Execute(ctx, kernel.Command[*domain.Defs]{
		ID: env,
		Decide: func(d *domain.Defs) ([]proto.Message, error) {
			return domain.AcceptBaseline(d, run, gate, suite, reason)
		},
		Observe: func(d *domain.Defs) { out = d.Baseline(run.Product, gate, suite) },
	})
	return out, err
}

// Tick applies what time does to a run now (deadlines, override expiries).
func (s *Service) Tick(ctx context.Context, runID string) error {
	now := s.now()
	_, err := s.runs.Execute(ctx, kernel.Command[*domain.Run]{
		ID:     runID,
		Decide: func(r *domain.Run) ([]proto.Message, error) { return domain.Tick(r, now), nil },
	})
	return err
}

func openedGates(d *domain.Defs) []*gatev1.OpenedGate {
	out := make([]*gatev1.OpenedGate, 0, len(d.Gates))
	for _, g := range d.Gates {
		out = append(out, &gatev1.OpenedGate{Definition: g})
	}
	return out
}
