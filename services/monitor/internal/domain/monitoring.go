package domain

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// Analysis is an analysis step of a deployment.
type Analysis struct {
	Step    uint32
	Window  time.Duration
	Start   time.Time // zero until the step starts
	Verdict *monitorv1.Verdict
}

// Due reports whether the analysis has started and its window has passed at now.
func (a *Analysis) Due(now time.Time) bool {
	return a.Verdict == nil && !a.Start.IsZero() && !now.Before(a.Start.Add(a.Window))
}

// Monitoring is the monitor's view of one deployment, folded from its
// `monitoring` aggregate. Replaying TriggerEvaluated events through the
// trigger rules rebuilds every trigger's state exactly: an evaluation
// records its sample and any change of the trigger, never the state.
type Monitoring struct {
	version    uint64
	deployment Deployment
	app        string
	outcome    string
	// triggers in force, by name, and their states.
	triggers map[string]Trigger
	states   map[string]*TriggerState
	// last is each trigger's latest evaluation; samples all of them, for analyses.
	last    map[string]*monitorv1.TriggerEvaluated
	samples map[string][]Sample
	// analyses by step.
	analyses map[uint32]*Analysis
	// fired lists the firings (RollbackTriggered, TriggerFired) in order.
	fired []proto.Message
	// bakeUntil is set once the deployment succeeded and its bake began:
	// monitoring goes on until then.
	bakeUntil time.Time
	// origin is where monitoring came from: the correlation id and trace of
	// the request behind the deployment, and the MonitoringStarted event,
	// which every evaluation names as its cause.
	origin Origin
}

// Origin is the causal origin of a deployment's monitoring.
type Origin struct {
	CorrelationID string `json:"correlation_id,omitempty"`
	TraceParent   string `json:"traceparent,omitempty"`
	// Started is the id of the MonitoringStarted event.
	Started string `json:"started,omitempty"`
}

// NewMonitoring is an empty view (no deployment yet).
func NewMonitoring() *Monitoring {
	return &Monitoring{
		triggers: map[string]Trigger{}, states: map[string]*TriggerState{},
		last: map[string]*monitorv1.TriggerEvaluated{}, samples: map[string][]Sample{}, analyses: map[uint32]*Analysis{},
	}
}

// Exists reports whether monitoring started.
func (m *Monitoring) Exists() bool { return m.deployment.ID != "" }

// Active reports whether the deployment is still being watched.
func (m *Monitoring) Active() bool { return m.Exists() && m.deployment.EndedAt.IsZero() }

// Baking reports whether the deployment succeeded and is being watched
// for its bake period; BakeUntil is when the bake ends.
func (m *Monitoring) Baking() bool { return m.Active() && !m.bakeUntil.IsZero() }

// BakeUntil is when the bake ends (zero: no bake began).
func (m *Monitoring) BakeUntil() time.Time { return m.bakeUntil }

// EndBake returns the MonitoringEnded that ends a bake due at at (none
// when the deployment is not baking or the bake is not over): nothing
// fired during it, the deployment is kept.
func (m *Monitoring) EndBake(at time.Time) []proto.Message {
	if !m.Baking() || at.Before(m.bakeUntil) {
		return nil
	}
	return []proto.Message{&monitorv1.MonitoringEnded{Outcome: OutcomeBaked, OutcomeType: monitorv1.MonitoringOutcome_MONITORING_OUTCOME_BAKED, At: Timestamp(m.bakeUntil)}}
}

// InForce are the triggers the deployment is watched with, by name.
func (m *Monitoring) InForce() []Trigger {
	out := make([]Trigger, 0, len(m.triggers))
	for _, name := range SortedKeys(m.triggers) {
		out = append(out, m.triggers[name])
	}
	return out
}

// OutcomeBaked is the outcome of monitoring that ended with its bake.
const OutcomeBaked = "baked"

// Apply folds one event in; for a TriggerEvaluated it returns what the
// sample meant (the same Decision the evaluation that recorded it got).
func (m *Monitoring) Apply(msg proto.Message) Decision {
	m.version++
	switch e := msg.(type) {
	case *monitorv1.MonitoringStarted:
		m.deployment = Deployment{
			ID: e.GetDeploymentId(), ReleaseID: e.GetReleaseId(), Environment: e.GetEnvironment(),
			Version: e.GetVersion(), StartedAt: TimeOf(e.GetStartedAt()),
		}
		m.app = e.GetApp()
		for _, p := range e.GetTriggers() {
			t := TriggerFromProto(p)
			m.triggers[t.Name] = t
		}
		for _, a := range e.GetAnalysisSteps() {
			m.analyses[a.GetStep()] = &Analysis{Step: a.GetStep(), Window: a.GetWindow().AsDuration()}
		}
	case *monitorv1.TriggerEvaluated:
		name := e.GetTrigger()
		if e.GetDeleted() {
			delete(m.triggers, name)
			delete(m.states, name)
			return Decision{Kind: KindNone}
		}
		if e.GetChanged() != nil {
			m.triggers[name] = TriggerFromProto(e.GetChanged())
		}
		st := m.states[name]
		if st == nil {
			st = NewTriggerState(m.deployment)
			m.states[name] = st
		}
		s := Sample{At: TimeOf(e.GetAt()), Value: e.GetObserved(), NoData: e.GetNoData()}
		m.last[name] = e
		m.samples[name] = append(m.samples[name], s)
		return st.Observe(m.triggers[name], s)
	case *monitorv1.AnalysisStarted:
		a := m.analyses[e.GetStep()]
		if a == nil {
			a = &Analysis{Step: e.GetStep()}
			m.analyses[e.GetStep()] = a
		}
		a.Start, a.Window = TimeOf(e.GetStartedAt()), e.GetWindow().AsDuration()
	case *monitorv1.AnalysisCompleted:
		if a := m.analyses[e.GetStep()]; a != nil {
			a.Verdict = e.GetVerdict()
		} else {
			m.analyses[e.GetStep()] = &Analysis{Step: e.GetStep(), Verdict: e.GetVerdict()}
		}
	case *monitorv1.BakeStarted:
		m.bakeUntil = TimeOf(e.GetUntil())
	case *monitorv1.RollbackTriggered, *monitorv1.TriggerFired:
		m.fired = append(m.fired, msg)
	case *monitorv1.MonitoringEnded:
		at := TimeOf(e.GetAt())
		m.deployment.EndedAt, m.outcome = at, Text(e.GetOutcomeType(), e.GetOutcome())
		for _, st := range m.states {
			st.End(at)
		}
	}
	return Decision{Kind: KindNone}
}

// LastEvaluation is the time of the latest recorded evaluation (zero: none).
func (m *Monitoring) LastEvaluation() time.Time {
	var last time.Time
	for _, e := range m.last {
		if at := TimeOf(e.GetAt()); at.After(last) {
			last = at
		}
	}
	return last
}

// Evaluation is one trigger's sample to record.
type Evaluation struct {
	Trigger Trigger
	Sample  Sample
	Query   string
}

// Record folds the evaluations of one tick into m and returns the events
// that record them: a TriggerEvaluated each, followed by a RollbackTriggered
// or TriggerFired for every trigger that fired.
func (m *Monitoring) Record(evals []Evaluation, deleted []string) []proto.Message {
	var out []proto.Message
	for _, name := range deleted {
		ev := &monitorv1.TriggerEvaluated{Trigger: name, Deleted: true, RuleVersion: m.triggers[name].Version}
		m.Apply(ev)
		out = append(out, ev)
	}
	for _, e := range evals {
		t := e.Trigger
		ev := &monitorv1.TriggerEvaluated{
			Trigger: t.Name, RuleVersion: t.Version, At: Timestamp(e.Sample.At), Observed: NoNaN(e.Sample.Value),
			NoData: e.Sample.Missing(), Query: e.Query, Threshold: t.Threshold,
		}
		if prev, ok := m.triggers[t.Name]; !ok || !sameTrigger(prev, t) {
			ev.Changed = TriggerToProto(t)
		}
		d := m.Apply(ev)
		ev.Kind, ev.Reason, ev.Sustained = d.Kind, d.Reason, durationpb.New(d.SustainedFor)
		out = append(out, ev)
		if d.Kind != KindFired {
			continue
		}
		if d.Action == ActionRollback {
			rt := &monitorv1.RollbackTriggered{
				DeploymentId: m.deployment.ID, ReleaseId: m.deployment.ReleaseID, Environment: m.deployment.Environment,
				Version: m.deployment.Version, Trigger: t.Name, RuleVersion: t.Version, Metric: t.Metric,
				Operator: string(t.Operator), Threshold: t.Threshold, Observed: ev.GetObserved(),
				SustainedSeconds: d.SustainedFor.Seconds(), BreachStartedAt: Timestamp(d.Since), Cause: d.Cause, Reason: d.Reason,
				DuringBake: !m.bakeUntil.IsZero(),
			}
			m.Apply(rt)
			out = append(out, rt)
			continue
		}
		tf := &monitorv1.TriggerFired{
			DeploymentId: m.deployment.ID, Environment: m.deployment.Environment, Version: m.deployment.Version,
			Trigger: t.Name, RuleVersion: t.Version, Action: d.Action, ActionType: Typed[monitorv1.TriggerAction](d.Action), Cause: d.Cause, Metric: t.Metric,
			Operator: string(t.Operator), Threshold: t.Threshold, Observed: ev.GetObserved(),
			SustainedSeconds: d.SustainedFor.Seconds(), BreachStartedAt: Timestamp(d.Since), Reason: d.Reason,
			ReleaseId: m.deployment.ReleaseID, App: m.app, DuringBake: !m.bakeUntil.IsZero(),
			Severity: Typed[monitorv1.Severity](t.AlertSeverity()), Channels: slices.Clone(t.Channels),
		}
		m.Apply(tf)
		out = append(out, tf)
	}
	return out
}

// sameTrigger reports whether two definitions of a trigger are identical.
func sameTrigger(a, b Trigger) bool {
	return a.Version == b.Version && a.Enabled == b.Enabled && a.Metric == b.Metric && a.Operator == b.Operator &&
		a.Threshold == b.Threshold && a.Duration == b.Duration && a.Action == b.Action && a.Cooldown == b.Cooldown &&
		a.NoData == b.NoData && slices.Equal(a.Environments, b.Environments) && slices.Equal(a.Apps, b.Apps) && maps.Equal(a.Thresholds, b.Thresholds) &&
		a.Severity == b.Severity && slices.Equal(a.Channels, b.Channels)
}

// Plan decides which triggers a tick evaluates for this deployment, given
// the current definitions (by name): every enabled trigger, plus each
// trigger in force that was disabled since (evaluated once, to record the
// change). It also names the triggers in force that were deleted.
func (m *Monitoring) Plan(current map[string]Trigger) (evaluate []Trigger, deleted []string) {
	current = m.Scoped(current)
	for _, name := range SortedKeys(current) {
		t := current[name]
		prev, inForce := m.triggers[name]
		if t.Enabled || inForce && prev.Enabled {
			evaluate = append(evaluate, t)
		}
	}
	for _, name := range SortedKeys(m.triggers) {
		if _, ok := current[name]; !ok {
			deleted = append(deleted, name)
		}
	}
	return evaluate, deleted
}

// Scoped are the triggers of defs that judge this deployment (its
// environment and app), each with its environment's threshold.
func (m *Monitoring) Scoped(defs map[string]Trigger) map[string]Trigger {
	out := make(map[string]Trigger, len(defs))
	for name, t := range defs {
		if t.Covers(m.deployment.Environment, m.app) {
			out[name] = t.In(m.deployment.Environment)
		}
	}
	return out
}

// Analyze gives the verdict of an analysis step from the samples recorded in its window.
func (m *Monitoring) Analyze(a *Analysis, p AnalysisPolicy) Verdict {
	triggers := make([]Trigger, 0, len(m.triggers))
	for _, name := range SortedKeys(m.triggers) {
		triggers = append(triggers, m.triggers[name])
	}
	return Analyze(triggers, m.samples, Window{Start: a.Start, End: a.Start.Add(a.Window)}, p)
}

// Status is the API view.
func (m *Monitoring) Status() *monitorv1.DeploymentMonitoring {
	out := &monitorv1.DeploymentMonitoring{
		DeploymentId: m.deployment.ID, ReleaseId: m.deployment.ReleaseID, Environment: m.deployment.Environment,
		Version: m.deployment.Version, StartedAt: Timestamp(m.deployment.StartedAt), EndedAt: Timestamp(m.deployment.EndedAt),
		Outcome: m.outcome, OutcomeType: Typed[monitorv1.MonitoringOutcome](m.outcome), BakeUntil: Timestamp(m.bakeUntil),
	}
	for _, name := range SortedKeys(m.triggers) {
		t := m.triggers[name]
		status := &monitorv1.TriggerStatus{Trigger: name, RuleVersion: t.Version, Condition: t.String(), State: "ok",
			Operator: string(t.Operator), Threshold: t.Threshold, Series: series(m.samples[name], SeriesLimit)}
		if st := m.states[name]; st != nil {
			status.Samples = st.Samples
			status.LastAt = timestamppb.New(st.LastAt)
			if st.Breach.Active {
				status.State, status.BreachSince, status.Sustained = "breaching", timestamppb.New(st.Breach.Since), durationpb.New(st.Breach.Sustained)
				if st.Breach.Fired {
					status.State = "fired"
				}
			}
		}
		if last := m.last[name]; last != nil {
			status.LastValue, status.LastNoData = last.GetObserved(), last.GetNoData()
			if last.GetNoData() && status.State == "ok" {
				status.State = "no_data"
			}
		}
		if !t.Enabled {
			status.State = "disabled"
		}
		out.Triggers = append(out.Triggers, status)
	}
	steps := make([]uint32, 0, len(m.analyses))
	for s := range m.analyses {
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	for _, s := range steps {
		if v := m.analyses[s].Verdict; v != nil {
			out.Analyses = append(out.Analyses, &monitorv1.StepVerdict{Step: s, Verdict: v})
		}
	}
	return out
}

// SeriesLimit is how many of a trigger's latest samples Status returns.
const SeriesLimit = 360

// series is the last limit samples, oldest first; no-data and non-finite
// values are marked no_data with value 0 (protobuf JSON could not carry them
// to every client).
func series(samples []Sample, limit int) []*monitorv1.TriggerSample {
	if len(samples) > limit {
		samples = samples[len(samples)-limit:]
	}
	out := make([]*monitorv1.TriggerSample, 0, len(samples))
	for _, s := range samples {
		p := &monitorv1.TriggerSample{At: timestamppb.New(s.At), Value: s.Value}
		if s.Missing() || math.IsInf(s.Value, 0) {
			p.Value, p.NoData = 0, true
		}
		out = append(out, p)
	}
	return out
}

// SortedKeys is m's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Clone is a copy of m that can take events (Record, Apply) without
// changing m. Recorded samples and events are shared: they never change.
func (m *Monitoring) Clone() *Monitoring {
	c := *m
	c.triggers = maps.Clone(m.triggers)
	c.states = make(map[string]*TriggerState, len(m.states))
	for k, st := range m.states {
		cp := *st
		cp.LastFired = maps.Clone(st.LastFired)
		c.states[k] = &cp
	}
	c.last = maps.Clone(m.last)
	c.samples = make(map[string][]Sample, len(m.samples))
	for k, v := range m.samples {
		c.samples[k] = slices.Clip(v) // appends reallocate
	}
	c.analyses = make(map[uint32]*Analysis, len(m.analyses))
	for k, a := range m.analyses {
		cp := *a
		c.analyses[k] = &cp
	}
	c.fired = slices.Clip(m.fired)
	return &c
}

// MonitoringSchema names MarshalMonitoring's encoding; bump it with any change.
const MonitoringSchema = "monitoring/2"

type monitoringJSON struct {
	Version    uint64                     `json:"version"`
	Deployment Deployment                 `json:"deployment"`
	App        string                     `json:"app,omitempty"`
	Outcome    string                     `json:"outcome,omitempty"`
	Triggers   map[string]Trigger         `json:"triggers"`
	States     map[string]*TriggerState   `json:"states"`
	Last       map[string]json.RawMessage `json:"last"`
	Samples    map[string][]Sample        `json:"samples"`
	Analyses   map[uint32]analysisJSON    `json:"analyses"`
	Fired      []firedJSON                `json:"fired,omitempty"`
	Origin     Origin                     `json:"origin"`
	BakeUntil  time.Time                  `json:"bake_until,omitzero"`
}

type analysisJSON struct {
	Window  time.Duration   `json:"window"`
	Start   time.Time       `json:"start,omitzero"`
	Verdict json.RawMessage `json:"verdict,omitempty"`
}

type firedJSON struct {
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

// MarshalMonitoring encodes a monitoring for snapshots.
func MarshalMonitoring(m *Monitoring) ([]byte, error) {
	j := monitoringJSON{
		Version: m.version, Deployment: m.deployment, App: m.app, Outcome: m.outcome, Triggers: m.triggers, States: m.states,
		Last: map[string]json.RawMessage{}, Samples: m.samples, Analyses: map[uint32]analysisJSON{}, Origin: m.origin, BakeUntil: m.bakeUntil,
	}
	for k, e := range m.last {
		b, err := protojson.Marshal(e)
		if err != nil {
			return nil, err
		}
		j.Last[k] = b
	}
	for k, a := range m.analyses {
		aj := analysisJSON{Window: a.Window, Start: a.Start}
		if a.Verdict != nil {
			b, err := protojson.Marshal(a.Verdict)
			if err != nil {
				return nil, err
			}
			aj.Verdict = b
		}
		j.Analyses[k] = aj
	}
	for _, f := range m.fired {
		b, err := protojson.Marshal(f)
		if err != nil {
			return nil, err
		}
		j.Fired = append(j.Fired, firedJSON{Type: string(f.ProtoReflect().Descriptor().Name()), Body: b})
	}
	return json.Marshal(j)
}

// UnmarshalMonitoring decodes MarshalMonitoring's encoding.
func UnmarshalMonitoring(b []byte) (*Monitoring, error) {
	var j monitoringJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("monitoring snapshot: %w", err)
	}
	m := NewMonitoring()
	m.version, m.deployment, m.app, m.outcome, m.origin, m.bakeUntil = j.Version, j.Deployment, j.App, j.Outcome, j.Origin, j.BakeUntil
	maps.Copy(m.triggers, j.Triggers)
	maps.Copy(m.samples, j.Samples)
	for k, st := range j.States {
		if st != nil {
			m.states[k] = st
		}
	}
	for k, raw := range j.Last {
		e := &monitorv1.TriggerEvaluated{}
		if err := protojson.Unmarshal(raw, e); err != nil {
			return nil, fmt.Errorf("monitoring snapshot: %w", err)
		}
		m.last[k] = e
	}
	for k, aj := range j.Analyses {
		a := &Analysis{Step: k, Window: aj.Window, Start: aj.Start}
		if len(aj.Verdict) > 0 {
			a.Verdict = &monitorv1.Verdict{}
			if err := protojson.Unmarshal(aj.Verdict, a.Verdict); err != nil {
				return nil, fmt.Errorf("monitoring snapshot: %w", err)
			}
		}
		m.analyses[k] = a
	}
	for _, f := range j.Fired {
		var msg proto.Message
		switch f.Type {
		case "RollbackTriggered":
			msg = &monitorv1.RollbackTriggered{}
		case "TriggerFired":
			msg = &monitorv1.TriggerFired{}
		default:
			return nil, fmt.Errorf("monitoring snapshot: unknown firing %q", f.Type)
		}
		if err := protojson.Unmarshal(f.Body, msg); err != nil {
			return nil, fmt.Errorf("monitoring snapshot: %w", err)
		}
		m.fired = append(m.fired, msg)
	}
	return m, nil
}

// Meta is what the log says about a monitoring event besides its body.
type Meta struct {
	ID            string
	CorrelationID string
	TraceParent   string
}

// ApplyEvent is Apply for an event as the log records it: a
// MonitoringStarted also sets the monitoring's causal origin.
func (m *Monitoring) ApplyEvent(msg proto.Message, meta Meta) {
	if _, ok := msg.(*monitorv1.MonitoringStarted); ok {
		m.origin = Origin{CorrelationID: meta.CorrelationID, TraceParent: meta.TraceParent, Started: meta.ID}
	}
	m.Apply(msg)
}

// Version is the number of events applied.
func (m *Monitoring) Version() uint64 { return m.version }

// Deployment is the deployment monitored.
func (m *Monitoring) Deployment() Deployment { return m.deployment }

// App is the app deployed ("" when the deployment did not say).
func (m *Monitoring) App() string { return m.app }

// Origin is the causal origin of the monitoring.
func (m *Monitoring) Origin() Origin { return m.origin }

// Analysis is the analysis of a step (a copy), if the plan has one.
func (m *Monitoring) Analysis(step uint32) (Analysis, bool) {
	a, ok := m.analyses[step]
	if !ok {
		return Analysis{}, false
	}
	return *a, true
}

// Samples are a trigger's recorded samples, in order.
func (m *Monitoring) Samples(trigger string) []Sample { return slices.Clip(m.samples[trigger]) }

// Last is a trigger's latest evaluation (nil: none).
func (m *Monitoring) Last(trigger string) *monitorv1.TriggerEvaluated { return m.last[trigger] }

// TriggerState is a trigger's state (a copy), if it was evaluated.
func (m *Monitoring) TriggerState(trigger string) (TriggerState, bool) {
	st, ok := m.states[trigger]
	if !ok {
		return TriggerState{}, false
	}
	return *st, true
}

// Fired lists the firings (RollbackTriggered, TriggerFired) in order.
func (m *Monitoring) Fired() []proto.Message { return slices.Clip(m.fired) }

// CompleteDueAnalyses decides the verdict of every analysis whose window
// has passed at at, folds it in and returns the AnalysisCompleted events.
func (m *Monitoring) CompleteDueAnalyses(at time.Time, p AnalysisPolicy) []proto.Message {
	var out []proto.Message
	for _, step := range slices.Sorted(maps.Keys(m.analyses)) {
		if a := m.analyses[step]; a.Due(at) {
			ac := &monitorv1.AnalysisCompleted{DeploymentId: m.deployment.ID, Step: step, Verdict: VerdictToProto(m.Analyze(a, p))}
			m.Apply(ac)
			out = append(out, ac)
		}
	}
	return out
}
