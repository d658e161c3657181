// Package app is the monitor's application layer: rule and trigger commands,
// the reactions to deployments, and the evaluation loop that turns metrics
// into alert transitions, trigger decisions and analysis verdicts, each
// recorded as an event.
package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/eval"
	"github.com/penguinmails/floe/services/monitor/internal/links"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
	"github.com/penguinmails/floe/services/monitor/rules"
)

// Config configures the service.
type Config struct {
	// Interval between evaluations (and scrapes, for the embedded source).
	Interval time.Duration
	// Metrics is the named-metric catalogue (rules.DefaultMetrics when nil).
	Metrics map[string]string
	// Analysis judges analysis steps.
	Analysis domain.AnalysisPolicy
	// Bake is each environment's bake period: how long monitoring goes on
	// after a deployment succeeds, a rollback trigger that fires then
	// rolling the environment back. Absent or 0: none, unless the
	// environment is in BakeAuto.
	Bake map[string]time.Duration
	// BakeAuto are the environments whose bake, when Bake does not set it,
	// is the longest rollback trigger in force plus one interval, so that
	// every trigger can fire during it.
	BakeAuto []string
	// Links are rendered onto the events recorded for people (TriggerFired,
	// RollbackTriggered, the alert events).
	Links links.Templates
}

// BakeFor is env's bake period for a deployment watched with triggers.
func (c Config) BakeFor(env string, triggers []domain.Trigger) time.Duration {
	if d, ok := c.Bake[env]; ok {
		return d
	}
	if !slices.Contains(c.BakeAuto, env) {
		return 0
	}
	var longest time.Duration
	for _, t := range triggers {
		if t.Enabled && t.Action == domain.ActionRollback {
			longest = max(longest, t.Duration)
		}
	}
	if longest == 0 {
		return 0
	}
	return longest + c.Interval
}

// Scraper collects samples into the metric source before an evaluation at at
// (the embedded source scrapes its targets; a remote Prometheus needs none).
type Scraper func(ctx context.Context, at time.Time) error

// Service is the monitor.
type Service struct {
	store       eventstore.Store
	monitorings *kernel.Handler[*domain.Monitoring]
	triggers    *kernel.Handler[*definition[domain.Trigger]]
	alertRules  *kernel.Handler[*definition[domain.AlertRule]]
	alertLog    *kernel.Handler[*alertHistory]
	src         metrics.Source
	scrape      Scraper
	catalog     Catalog
	cfg         Config
	now         func() time.Time
	log         zerolog.Logger
	obs         *Observer

	mu     sync.Mutex // one evaluation at a time; guards the alert books
	alerts map[string]*alertBook
}

// alertBook is one alert rule's series and the version of its `alert` aggregate.
type alertBook struct {
	version eventstore.Version
	series  map[string]*eval.Series
}

// New wires the service.
func New(store eventstore.Store, snaps *eventstore.Snapshots, src metrics.Source, scrape Scraper, catalog Catalog, cfg Config, log zerolog.Logger, obs *Observer) (*Service, error) {
	if store == nil || src == nil || catalog == nil {
		return nil, errors.New("monitor: store, metric source and catalog are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = rules.DefaultMetrics()
	}
	if cfg.Analysis == (domain.AnalysisPolicy{}) {
		cfg.Analysis = domain.DefaultAnalysisPolicy()
	}
	if obs == nil {
		obs = NewObserver(nil)
	}
	s := &Service{store: store, src: src, scrape: scrape, catalog: catalog, cfg: cfg, now: time.Now, log: log, obs: obs, alerts: map[string]*alertBook{}}
	opts := kernel.Options{Snapshots: snaps}
	var err error
	if s.monitorings, err = kernel.New(store, MonitoringKind, opts); err != nil {
		return nil, err
	}
	if s.triggers, err = kernel.New(store, definitionKind(AggTrigger, triggerDefs), opts); err != nil {
		return nil, err
	}
	if s.alertRules, err = kernel.New(store, definitionKind(AggAlertRule, alertRuleDefs), opts); err != nil {
		return nil, err
	}
	if s.alertLog, err = kernel.New(store, AlertKind, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Catalog is the service's view of definitions and active deployments.
func (s *Service) Catalog() Catalog { return s.catalog }

// rules is the rule set triggers are validated against (the named metrics).
func (s *Service) rules() rules.Set { return rules.Set{Metrics: s.cfg.Metrics} }

// Metrics is the named-metric catalogue the service resolves triggers with.
func (s *Service) Metrics() map[string]string { return s.cfg.Metrics }

// ---- rules and triggers ----

// definitions are versioned, named definitions kept as aggregates (alert
// rules, rollback triggers): created at version 1 (or, for a name deleted
// before, one past the deleted version), replaced with the version + 1,
// deleted; an update or delete may name the version it expects.
type definitions[T any] struct {
	aggregate, kind string
	saved           func(T) proto.Message
	deleted         func(name string, version uint64) proto.Message
	// read decodes a saved (ok, !gone) or deleted (ok, gone) event.
	read        func(proto.Message) (def T, version uint64, gone, ok bool)
	withVersion func(T, uint64) T
}

var triggerDefs = definitions[domain.Trigger]{
	aggregate: AggTrigger, kind: "rollback trigger",
	saved: func(t domain.Trigger) proto.Message {
		return &monitorv1.RollbackTriggerSaved{Trigger: domain.TriggerToProto(t)}
	},
	deleted: func(name string, v uint64) proto.Message {
		return &monitorv1.RollbackTriggerDeleted{Name: name, Version: v}
	},
	read: func(m proto.Message) (domain.Trigger, uint64, bool, bool) {
		switch e := m.(type) {
		case *monitorv1.RollbackTriggerSaved:
			return domain.TriggerFromProto(e.GetTrigger()), e.GetTrigger().GetVersion(), false, true
		case *monitorv1.RollbackTriggerDeleted:
			return domain.Trigger{}, e.GetVersion(), true, true
		}
		return domain.Trigger{}, 0, false, false
	},
	withVersion: func(t domain.Trigger, v uint64) domain.Trigger { t.Version = v; return t },
}

var alertRuleDefs = definitions[domain.AlertRule]{
	aggregate: AggAlertRule, kind: "alert rule",
	saved: func(r domain.AlertRule) proto.Message {
		return &monitorv1.AlertRuleSaved{Rule: domain.AlertRuleToProto(r)}
	},
	deleted: func(name string, v uint64) proto.Message {
		return &monitorv1.AlertRuleDeleted{Name: name, Version: v}
	},
	read: func(m proto.Message) (domain.AlertRule, uint64, bool, bool) {
		switch e := m.(type) {
		case *monitorv1.AlertRuleSaved:
			return domain.AlertRuleFromProto(e.GetRule()), e.GetRule().GetVersion(), false, true
		case *monitorv1.AlertRuleDeleted:
			return domain.AlertRule{}, e.GetVersion(), true, true
		}
		return domain.AlertRule{}, 0, false, false
	},
	withVersion: func(r domain.AlertRule, v uint64) domain.AlertRule { r.Version = v; return r },
}

// checkName refuses a definition name that breaks domain.NameRule (the
// API checks it first; this guards every other caller).
func checkName(name string) error {
	var v errs.Violations
	domain.NameRule.Check(&v, "name", name)
	return v.Err()
}

// command runs a definition command and waits until the catalog has it, so
// a read after the write sees it.
func (d definitions[T]) command(ctx context.Context, s *Service, h *kernel.Handler[*definition[T]], name string, decide func(*definition[T]) ([]proto.Message, error)) error {
	if err := checkName(name); err != nil {
		return err
	}
	res, err := h.Execute(ctx, kernel.Command[*definition[T]]{ID: name, Decide: decide})
	if err != nil {
		return err
	}
	return s.catalog.Wait(ctx, res.Position)
}

func (d definitions[T]) create(ctx context.Context, s *Service, h *kernel.Handler[*definition[T]], name string, def T) (T, error) {
	var out T
	err := d.command(ctx, s, h, name, func(c *definition[T]) ([]proto.Message, error) {
		if c.Exists {
			return nil, &errs.AlreadyExistsError{Kind: d.kind, ID: name}
		}
		out = d.withVersion(def, c.Version+1)
		return []proto.Message{d.saved(out)}, nil
	})
	return out, err
}

// existing checks that the definition exists and is at expected (0: any).
func (d definitions[T]) existing(c *definition[T], name string, expected uint64) error {
	switch {
	case !c.Exists:
		return &errs.NotFoundError{Kind: d.kind, ID: name}
	case expected != 0 && expected != c.Version:
		return &errs.ConflictError{Message: fmt.Sprintf("%s %s is at version %d, not the expected %d", d.kind, name, c.Version, expected)}
	}
	return nil
}

func (d definitions[T]) update(ctx context.Context, s *Service, h *kernel.Handler[*definition[T]], name string, def T, expected uint64) (T, error) {
	var out T
	err := d.command(ctx, s, h, name, func(c *definition[T]) ([]proto.Message, error) {
		if err := d.existing(c, name, expected); err != nil {
			return nil, err
		}
		out = d.withVersion(def, c.Version+1)
		return []proto.Message{d.saved(out)}, nil
	})
	return out, err
}

func (d definitions[T]) delete(ctx context.Context, s *Service, h *kernel.Handler[*definition[T]], name string, expected uint64) error {
	return d.command(ctx, s, h, name, func(c *definition[T]) ([]proto.Message, error) {
		if err := d.existing(c, name, expected); err != nil {
			return nil, err
		}
		return []proto.Message{d.deleted(name, c.Version)}, nil
	})
}

func (d definitions[T]) get(ctx context.Context, h *kernel.Handler[*definition[T]], name string) (T, error) {
	var out T
	if err := checkName(name); err != nil {
		return out, err
	}
	err := h.Read(ctx, name, func(c *definition[T], _ eventstore.Version, _ uint64) error {
		if err := d.existing(c, name, 0); err != nil {
			return err
		}
		out = c.Def
		return nil
	})
	return out, err
}

// CreateTrigger adds a trigger.
func (s *Service) CreateTrigger(ctx context.Context, t domain.Trigger) (domain.Trigger, error) {
	if err := s.rules().ValidateTrigger(t); err != nil {
		return t, err
	}
	return triggerDefs.create(ctx, s, s.triggers, t.Name, t)
}

// UpdateTrigger replaces a trigger (expected 0: whatever version it has).
func (s *Service) UpdateTrigger(ctx context.Context, t domain.Trigger, expected uint64) (domain.Trigger, error) {
	if err := s.rules().ValidateTrigger(t); err != nil {
		return t, err
	}
	return triggerDefs.update(ctx, s, s.triggers, t.Name, t, expected)
}

// DeleteTrigger removes a trigger; deployments record its removal at their next evaluation.
func (s *Service) DeleteTrigger(ctx context.Context, name string, expected uint64) error {
	return triggerDefs.delete(ctx, s, s.triggers, name, expected)
}

// GetTrigger reads a trigger from the log.
func (s *Service) GetTrigger(ctx context.Context, name string) (domain.Trigger, error) {
	return triggerDefs.get(ctx, s.triggers, name)
}

// CreateAlertRule adds a rule.
func (s *Service) CreateAlertRule(ctx context.Context, r domain.AlertRule) (domain.AlertRule, error) {
	if err := rules.ValidateAlertRule(r); err != nil {
		return r, err
	}
	return alertRuleDefs.create(ctx, s, s.alertRules, r.Name, r)
}

// UpdateAlertRule replaces a rule (expected 0: whatever version it has).
func (s *Service) UpdateAlertRule(ctx context.Context, r domain.AlertRule, expected uint64) (domain.AlertRule, error) {
	if err := rules.ValidateAlertRule(r); err != nil {
		return r, err
	}
	return alertRuleDefs.update(ctx, s, s.alertRules, r.Name, r, expected)
}

// DeleteAlertRule removes a rule; its pending and firing alerts are cancelled at the next evaluation.
func (s *Service) DeleteAlertRule(ctx context.Context, name string, expected uint64) error {
	return alertRuleDefs.delete(ctx, s, s.alertRules, name, expected)
}

// GetAlertRule reads a rule from the log.
func (s *Service) GetAlertRule(ctx context.Context, name string) (domain.AlertRule, error) {
	return alertRuleDefs.get(ctx, s.alertRules, name)
}

// Seed creates the rules and triggers of set whose names the log has never
// seen: the log is the source of truth once they exist, so a definition
// edited or deleted through the API stays edited or deleted.
func (s *Service) Seed(ctx context.Context, set rules.Set) error {
	for _, t := range set.Triggers {
		if s.catalog.Known(AggTrigger, t.Name) {
			continue
		}
		if _, err := s.CreateTrigger(ctx, t); err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("seed trigger %s: %w", t.Name, err)
		}
	}
	for _, r := range set.AlertRules {
		if s.catalog.Known(AggAlertRule, r.Name) {
			continue
		}
		if _, err := s.CreateAlertRule(ctx, r); err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("seed alert rule %s: %w", r.Name, err)
		}
	}
	return nil
}

func isAlreadyExists(err error) bool {
	var ae *errs.AlreadyExistsError
	return errors.As(err, &ae)
}

// ---- deployments ----

// LoadMonitoring returns a copy of a deployment's monitoring as the log has it now.
func (s *Service) LoadMonitoring(ctx context.Context, id string) (*domain.Monitoring, error) {
	var out *domain.Monitoring
	err := s.monitorings.Read(ctx, id, func(m *domain.Monitoring, _ eventstore.Version, _ uint64) error {
		out = m.Clone()
		return nil
	})
	return out, err
}

// MonitoringAsOf is a deployment's monitoring as it was at log position pos
// (or, pos 0, at moment at): its events up to there, folded as the live
// handler folds them (kernel.Kind.AsOf).
func (s *Service) MonitoringAsOf(ctx context.Context, id string, pos uint64, at *timestamppb.Timestamp) (*domain.Monitoring, error) {
	return MonitoringKind.AsOf(ctx, s.store, id, pos, at)
}

// OnDeploymentEvent reacts to the deployer's events: DeploymentStarted
// starts monitoring with the enabled triggers; an analysis step's start is
// recorded (its verdict is due after the window); the deployment's end (or
// the start of its rollback) ends monitoring. Idempotent: the reaction's key
// derives from the cause, and each reaction checks the monitoring's state.
func (s *Service) OnDeploymentEvent(ctx context.Context, cause *eventstore.RecordedEvent) error {
	msg, err := cause.Decode()
	if err != nil {
		return nil // not ours to judge; the deployer's own readers will complain
	}
	if !eventstore.ValidID(cause.AggregateID) {
		return nil
	}
	_, err = s.monitorings.Execute(ctx, kernel.Command[*domain.Monitoring]{
		ID: cause.AggregateID,
		Decide: func(m *domain.Monitoring) ([]proto.Message, error) {
			switch e := msg.(type) {
			case *deployv1.DeploymentStarted:
				if m.Exists() {
					return nil, nil
				}
				return []proto.Message{s.started(e, cause.Time)}, nil
			case *deployv1.DeploymentStepStarted:
				a, ok := m.Analysis(e.GetIndex())
				if !m.Active() || !ok || !a.Start.IsZero() {
					return nil, nil
				}
				return []proto.Message{&monitorv1.AnalysisStarted{Step: e.GetIndex(), StartedAt: timestamppb.New(cause.Time), Window: durationpb.New(a.Window)}}, nil
			}
			outcome := endOutcome(msg)
			if outcome == "" || !m.Active() {
				return nil, nil
			}
			if _, ok := msg.(*deployv1.DeploymentSucceeded); ok {
				if m.Baking() {
					return nil, nil
				}
				// Succeeded: watched for the environment's bake before monitoring ends.
				if bake := s.cfg.BakeFor(m.Deployment().Environment, m.InForce()); bake > 0 {
					return []proto.Message{&monitorv1.BakeStarted{DeploymentId: cause.AggregateID, StartedAt: timestamppb.New(cause.Time),
						Until: timestamppb.New(cause.Time.Add(bake)), Duration: durationpb.New(bake)}}, nil
				}
			}
			return []proto.Message{&monitorv1.MonitoringEnded{
				Outcome: outcome, OutcomeType: domain.Typed[monitorv1.MonitoringOutcome](outcome), At: timestamppb.New(cause.Time),
			}}, nil
		},
	})
	return err
}

func (s *Service) started(e *deployv1.DeploymentStarted, at time.Time) *monitorv1.MonitoringStarted {
	out := &monitorv1.MonitoringStarted{
		DeploymentId: e.GetDeploymentId(), ReleaseId: e.GetReleaseId(), Environment: e.GetEnvironment(),
		Version: e.GetVersion(), App: e.GetApp(), StartedAt: timestamppb.New(at),
	}
	triggers := s.catalog.Triggers()
	for _, name := range domain.SortedKeys(triggers) {
		// In force: enabled, judging this environment and app, at the environment's threshold.
		if t := triggers[name]; t.Enabled && t.Covers(e.GetEnvironment(), e.GetApp()) {
			out.Triggers = append(out.Triggers, domain.TriggerToProto(t.In(e.GetEnvironment())))
		}
	}
	for i, st := range e.GetPlan() {
		if st.GetKind() == deployv1.StepKind_STEP_KIND_ANALYSIS {
			out.AnalysisSteps = append(out.AnalysisSteps, &monitorv1.AnalysisStep{Step: uint32(i), Window: st.GetDuration()})
		}
	}
	return out
}

// endOutcome names how a deployment event ends monitoring ("" if it does not).
func endOutcome(m proto.Message) string {
	switch m.(type) {
	case *deployv1.DeploymentSucceeded:
		return "succeeded"
	case *deployv1.DeploymentFailed:
		return "failed"
	case *deployv1.RollbackStarted:
		return "rolling_back"
	case *deployv1.RolledBack:
		return "rolled_back"
	case *deployv1.DeploymentAborted:
		return "aborted"
	}
	return ""
}

// DeploymentFilters are the deployer events the monitor reacts to.
var DeploymentFilters = eventstore.EventFilters(
	&deployv1.DeploymentStarted{}, &deployv1.DeploymentStepStarted{}, &deployv1.DeploymentSucceeded{}, &deployv1.DeploymentFailed{},
	&deployv1.RollbackStarted{}, &deployv1.RolledBack{}, &deployv1.DeploymentAborted{},
)

// ---- evaluation ----

// Run evaluates every Interval until ctx ends. It waits for the catalog first.
//
// Evaluation times are on a grid, start + k·Interval, like Prometheus's rule
// groups: a tick the scheduler delivers a millisecond early or late is still
// recorded at its slot. Without this, a breach that must hold for 300 s at a
// 15 s interval fired after 300 s or 315 s depending on sub-millisecond
// jitter between the two ticks that bound it.
func (s *Service) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-s.catalog.Ready():
	}
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	start := s.now()
	var last time.Time
	for {
		// A tick so late that it rounds to the next slot makes the one after
		// it land on the same slot: that one is skipped.
		if at := onGrid(start, s.now(), s.cfg.Interval); last.IsZero() || at.After(last) {
			last = at
			if err := s.TickAt(ctx, at); err != nil && ctx.Err() == nil {
				s.log.Error().Err(err).Msg("evaluation failed")
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// onGrid is the point of the grid start + k·interval nearest to now.
func onGrid(start, now time.Time, interval time.Duration) time.Time {
	return start.Add(now.Sub(start).Round(interval))
}

// Tick runs one evaluation at the clock's time; see TickAt.
func (s *Service) Tick(ctx context.Context) error { return s.TickAt(ctx, s.now()) }

// TickAt runs one evaluation at time at: scrape (embedded source), alert
// rules, then the triggers and due analyses of every active deployment.
// Failures of one rule or deployment do not stop the others; the first is returned.
func (s *Service) TickAt(ctx context.Context, at time.Time) error {
	start := time.Now()
	defer func() { s.obs.tickSeconds.Observe(time.Since(start).Seconds()) }()
	// Scraping waits on other processes: do it before taking the lock, so
	// reads (ListAlerts) never wait for a slow target.
	if s.scrape != nil {
		if err := s.scrape(ctx, at); err != nil {
			s.log.Warn().Err(err).Msg("scrape failed")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	keep(s.evaluateAlerts(ctx, at))
	triggers := s.catalog.Triggers()
	for _, id := range s.catalog.Active() {
		keep(s.evaluateDeployment(ctx, id, at, triggers))
	}
	return first
}

// evaluateDeployment evaluates one deployment's triggers and due analyses
// and appends what they recorded, at the version it read: another replica
// (or a reaction) that appended meanwhile wins, and this round is dropped.
func (s *Service) evaluateDeployment(ctx context.Context, id string, at time.Time, triggers map[string]domain.Trigger) error {
	var m *domain.Monitoring
	var version eventstore.Version
	if err := s.monitorings.Read(ctx, id, func(cur *domain.Monitoring, v eventstore.Version, _ uint64) error {
		m, version = cur.Clone(), v
		return nil
	}); err != nil {
		return err
	}
	if !m.Active() || !m.Deployment().Covers(at) {
		return nil
	}
	if end := m.EndBake(at); end != nil {
		// The bake is over and nothing fired: monitoring ends, at the bake's end.
		o := m.Origin()
		ectx := causal.System(causal.WithTraceParent(ctx, o.TraceParent), "monitor", o.CorrelationID, o.Started)
		if err := appendAll(ectx, s.monitorings, id, version, end); err != nil && !errors.Is(err, errs.ErrConcurrency) {
			return err
		}
		return nil
	}
	// Another instance (or this one before a restart) evaluated moments ago:
	// replicas share the work instead of doubling it, and a moment is never
	// recorded twice.
	if last := m.LastEvaluation(); !last.IsZero() && at.Sub(last) < s.cfg.Interval/2 {
		return nil
	}
	evaluate, deleted := m.Plan(triggers)
	var evals []domain.Evaluation
	for _, t := range evaluate {
		ev := domain.Evaluation{Trigger: t, Sample: domain.Sample{At: at, NoData: true}}
		if t.Enabled {
			q, err := eval.TriggerQuery(s.rules().Resolve(t.Metric), m.Deployment())
			if err == nil {
				ev.Query = q
				ev.Sample, err = eval.TriggerSample(ctx, s.src, q, t, at)
			}
			if err != nil {
				// Not "no data": the source failed. Skip the trigger this time.
				s.obs.failures.WithLabelValues("trigger").Inc()
				s.log.Warn().Err(err).Str("deployment", id).Str("trigger", t.Name).Msg("trigger evaluation failed")
				continue
			}
		}
		evals = append(evals, ev)
	}
	// Record folds into m, a private copy: the kernel folds the same events
	// into its own state once they are appended.
	msgs := append(s.withLinks(m, m.Record(evals, deleted)), m.CompleteDueAnalyses(at, s.cfg.Analysis)...)
	for _, msg := range msgs {
		s.obs.count(msg)
	}
	// The evaluation acts for the system, on the deployment's correlation
	// id and trace, caused by the start of its monitoring.
	o := m.Origin()
	ectx := causal.System(causal.WithTraceParent(ctx, o.TraceParent), "monitor", o.CorrelationID, o.Started)
	if err := appendAll(ectx, s.monitorings, id, version, msgs); err != nil && !errors.Is(err, errs.ErrConcurrency) {
		return err // a conflict: another instance or a reaction got there first
	}
	return nil
}

// appendAll appends msgs in atomic batches of at most eventstore.MaxBatch,
// the first at version.
func appendAll[S any](ctx context.Context, h *kernel.Handler[S], id string, version eventstore.Version, msgs []proto.Message) error {
	for len(msgs) > 0 {
		n := min(len(msgs), eventstore.MaxBatch)
		batch := msgs[:n]
		res, err := h.Execute(ctx, kernel.Command[S]{
			ID: id, Expect: kernel.ExpectVersion(version),
			Decide: func(S) ([]proto.Message, error) { return batch, nil },
		})
		if err != nil {
			return err
		}
		version, msgs = res.Version, msgs[n:]
	}
	return nil
}

// evaluateAlerts evaluates every alert rule (and cancels the alerts of
// deleted rules) and appends the transitions.
func (s *Service) evaluateAlerts(ctx context.Context, at time.Time) error {
	current := s.catalog.AlertRules()
	var first error
	names := slices.Sorted(maps.Keys(current))
	for name := range s.alerts {
		if _, ok := current[name]; !ok {
			names = append(names, name)
		}
	}
	for _, name := range names {
		r, ok := current[name]
		if !ok {
			r = domain.AlertRule{Name: name, Enabled: false} // deleted: cancel what is active, then forget
		}
		if err := s.evaluateAlertRule(ctx, r, at); err != nil && first == nil {
			first = err
		}
		if !ok {
			delete(s.alerts, name)
		}
	}
	return first
}

func (s *Service) evaluateAlertRule(ctx context.Context, r domain.AlertRule, at time.Time) error {
	book := s.alerts[r.Name]
	if book == nil {
		var err error
		if book, err = s.loadAlertBook(ctx, r.Name); err != nil {
			return err
		}
		s.alerts[r.Name] = book
	}
	trs, err := eval.Alerts(ctx, s.src, r, book.series, at)
	if err != nil {
		s.obs.failures.WithLabelValues("alert").Inc()
		return fmt.Errorf("alert rule %s: %w", r.Name, err)
	}
	if len(trs) == 0 {
		return nil
	}
	msgs := make([]proto.Message, 0, len(trs))
	for _, tr := range trs {
		msgs = append(msgs, alertEvent(r, tr, book.series[tr.Key], s.cfg.Links))
	}
	for _, msg := range msgs {
		s.obs.count(msg)
	}
	if err := appendAll(causal.System(ctx, "monitor", "", ""), s.alertLog, r.Name, book.version, msgs); err != nil {
		delete(s.alerts, r.Name) // our series are ahead of (or behind) the log: rebuild next time
		if errors.Is(err, errs.ErrConcurrency) {
			return nil
		}
		return err
	}
	book.version += eventstore.Version(len(msgs))
	return nil
}

// withLinks puts the configured links on the TriggerFired and
// RollbackTriggered events of a tick (recorded by m), each with the query
// its trigger was evaluated with (the TriggerEvaluated before it).
func (s *Service) withLinks(m *domain.Monitoring, msgs []proto.Message) []proto.Message {
	queries := map[string]string{}
	d := m.Deployment()
	data := func(trigger string) links.Data {
		return links.Data{Rule: trigger, Query: queries[trigger], DeploymentID: d.ID, ReleaseID: d.ReleaseID, Environment: d.Environment,
			Version: d.Version, App: m.App()}
	}
	for _, msg := range msgs {
		switch ev := msg.(type) {
		case *monitorv1.TriggerEvaluated:
			queries[ev.GetTrigger()] = ev.GetQuery()
		case *monitorv1.TriggerFired:
			ev.Links = s.cfg.Links.Render(data(ev.GetTrigger()))
		case *monitorv1.RollbackTriggered:
			ev.Links = s.cfg.Links.Render(data(ev.GetTrigger()))
		}
	}
	return msgs
}

// alertEvent is the event of one transition.
func alertEvent(r domain.AlertRule, tr eval.Transition, st *eval.Series, lt links.Templates) proto.Message {
	ch := &monitorv1.AlertChange{
		Links: lt.Render(links.Data{Rule: r.Name, Query: r.Condition, Series: tr.Key, Labels: tr.Labels}),
		Rule:  r.Name, RuleVersion: r.Version, Severity: r.Severity, SeverityType: domain.Typed[monitorv1.Severity](r.Severity),
		Channels: r.Channels, Labels: tr.Labels, Series: tr.Key,
		From: tr.From, To: tr.To, FromState: domain.Typed[monitorv1.AlertState](tr.From), ToState: domain.Typed[monitorv1.AlertState](tr.To),
		At: domain.Timestamp(tr.At), Value: domain.NoNaN(tr.Value), Notify: tr.Notify, Reason: tr.Reason,
		Cooldown: durationpb.New(r.Cooldown), Condition: r.Condition,
	}
	if st != nil {
		ch.ActiveSince = domain.Timestamp(st.State.ActiveSince)
	}
	switch tr.To {
	case domain.AlertPending:
		return &monitorv1.AlertPending{Change: ch}
	case domain.AlertFiring:
		return &monitorv1.AlertFiring{Change: ch}
	case domain.AlertResolved:
		return &monitorv1.AlertResolved{Change: ch}
	}
	return &monitorv1.AlertCancelled{Change: ch}
}

// loadAlertBook rebuilds a rule's series from its transitions.
func (s *Service) loadAlertBook(ctx context.Context, rule string) (*alertBook, error) {
	if err := checkName(rule); err != nil {
		return nil, err
	}
	var book *alertBook
	err := s.alertLog.Read(ctx, rule, func(h *alertHistory, v eventstore.Version, _ uint64) error {
		book = &alertBook{version: v, series: map[string]*eval.Series{}}
		for k, sh := range h.Series {
			st := domain.RestoreAlertState(sh.Trs, sh.Versions, sh.Cooldowns)
			if st.Current() != domain.AlertInactive {
				book.series[k] = &eval.Series{Labels: sh.Labels, State: st, Value: sh.Value, Reason: sh.Trs[len(sh.Trs)-1].Reason}
			}
		}
		return nil
	})
	return book, err
}

// Alerts lists the alerts of every rule as the last evaluation left them.
func (s *Service) Alerts(ctx context.Context) ([]*monitorv1.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rulesNow := s.catalog.AlertRules()
	var out []*monitorv1.Alert
	for _, name := range slices.Sorted(maps.Keys(rulesNow)) {
		r := rulesNow[name]
		book := s.alerts[name]
		if book == nil {
			var err error
			if book, err = s.loadAlertBook(ctx, name); err != nil {
				return nil, err
			}
			s.alerts[name] = book
		}
		for _, k := range slices.Sorted(maps.Keys(book.series)) {
			st := book.series[k]
			out = append(out, &monitorv1.Alert{
				Rule: name, RuleVersion: st.State.RuleVersion, Labels: st.Labels,
				State: st.State.Current(), StateType: domain.Typed[monitorv1.AlertState](st.State.Current()),
				Severity: r.Severity, SeverityType: domain.Typed[monitorv1.Severity](r.Severity),
				ActiveSince: domain.Timestamp(st.State.ActiveSince), FiredAt: domain.Timestamp(st.State.FiredAt), ResolvedAt: domain.Timestamp(st.State.ResolvedAt),
				Notified: st.State.Notified, Value: domain.NoNaN(st.Value), Reason: st.Reason,
			})
		}
	}
	return out, nil
}
