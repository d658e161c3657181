package domain

import (
	"encoding/json"
	"fmt"
	"maps"
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
	Version    uint64
	Deployment Deployment
	App        string
	Outcome    string
	// Triggers in force, by name, and their states.
	Triggers map[string]Trigger
	States   map[string]*TriggerState
	// Last is each trigger's latest evaluation; Samples all of them, for analyses.
	Last    map[string]*monitorv1.TriggerEvaluated
	Samples map[string][]Sample
	// Analyses by step.
	Analyses map[uint32]*Analysis
	// Fired lists the firings (RollbackTriggered, TriggerFired) in order.
	Fired []proto.Message
	// Origin is where monitoring came from: the correlation id and trace of
	// the request behind the deployment, and the MonitoringStarted event,
	// which every evaluation names as its cause.
	Origin Origin
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
		Triggers: map[string]Trigger{}, States: map[string]*TriggerState{},
		Last: map[string]*monitorv1.TriggerEvaluated{}, Samples: map[string][]Sample{}, Analyses: map[uint32]*Analysis{},
	}
}

// Exists reports whether monitoring started.
func (m *Monitoring) Exists() bool { return m.Deployment.ID != "" }

// Active reports whether the deployment is still being watched.
func (m *Monitoring) Active() bool { return m.Exists() && m.Deployment.EndedAt.IsZero() }

// Apply folds one event in; for a TriggerEvaluated it returns what the
// sample meant (the same Decision the evaluation that recorded it got).
func (m *Monitoring) Apply(msg proto.Message) Decision {
	m.Version++
	switch e := msg.(type) {
	case *monitorv1.MonitoringStarted:
		m.Deployment = Deployment{
			ID: e.GetDeploymentId(), ReleaseID: e.GetReleaseId(), Environment: e.GetEnvironment(),
			Version: e.GetVersion(), StartedAt: TimeOf(e.GetStartedAt()),
		}
		m.App = e.GetApp()
		for _, p := range e.GetTriggers() {
			t := TriggerFromProto(p)
			m.Triggers[t.Name] = t
		}
		for _, a := range e.GetAnalysisSteps() {
			m.Analyses[a.GetStep()] = &Analysis{Step: a.GetStep(), Window: a.GetWindow().AsDuration()}
		}
	case *monitorv1.TriggerEvaluated:
		name := e.GetTrigger()
		if e.GetDeleted() {
			delete(m.Triggers, name)
			delete(m.States, name)
			return Decision{Kind: KindNone}
		}
		if e.GetChanged() != nil {
			m.Triggers[name] = TriggerFromProto(e.GetChanged())
		}
		st := m.States[name]
		if st == nil {
			st = NewTriggerState(m.Deployment)
			m.States[name] = st
		}
		s := Sample{At: TimeOf(e.GetAt()), Value: e.GetObserved(), NoData: e.GetNoData()}
		m.Last[name] = e
		m.Samples[name] = append(m.Samples[name], s)
		return st.Observe(m.Triggers[name], s)
	case *monitorv1.AnalysisStarted:
		a := m.Analyses[e.GetStep()]
		if a == nil {
			a = &Analysis{Step: e.GetStep()}
			m.Analyses[e.GetStep()] = a
		}
		a.Start, a.Window = TimeOf(e.GetStartedAt()), e.GetWindow().AsDuration()
	case *monitorv1.AnalysisCompleted:
		if a := m.Analyses[e.GetStep()]; a != nil {
			a.Verdict = e.GetVerdict()
		} else {
			m.Analyses[e.GetStep()] = &Analysis{Step: e.GetStep(), Verdict: e.GetVerdict()}
		}
	case *monitorv1.RollbackTriggered, *monitorv1.TriggerFired:
		m.Fired = append(m.Fired, msg)
	case *monitorv1.MonitoringEnded:
		at := TimeOf(e.GetAt())
		m.Deployment.EndedAt, m.Outcome = at, Text(e.GetOutcomeType(), e.GetOutcome())
		for _, st := range m.States {
			st.End(at)
		}
	}
	return Decision{Kind: KindNone}
}

// LastEvaluation is the time of the latest recorded evaluation (zero: none).
func (m *Monitoring) LastEvaluation() time.Time {
	var last time.Time
	for _, e := range m.Last {
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
		ev := &monitorv1.TriggerEvaluated{Trigger: name, Deleted: true, RuleVersion: m.Triggers[name].Version}
		m.Apply(ev)
		out = append(out, ev)
	}
	for _, e := range evals {
		t := e.Trigger
		ev := &monitorv1.TriggerEvaluated{
			Trigger: t.Name, RuleVersion: t.Version, At: Timestamp(e.Sample.At), Observed: NoNaN(e.Sample.Value),
			NoData: e.Sample.Missing(), Query: e.Query,
		}
		if prev, ok := m.Triggers[t.Name]; !ok || !sameTrigger(prev, t) {
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
				DeploymentId: m.Deployment.ID, ReleaseId: m.Deployment.ReleaseID, Environment: m.Deployment.Environment,
				Version: m.Deployment.Version, Trigger: t.Name, RuleVersion: t.Version, Metric: t.Metric,
				Operator: string(t.Operator), Threshold: t.Threshold, Observed: ev.GetObserved(),
				SustainedSeconds: d.SustainedFor.Seconds(), BreachStartedAt: Timestamp(d.Since), Cause: d.Cause, Reason: d.Reason,
			}
			m.Apply(rt)
			out = append(out, rt)
			continue
		}
		tf := &monitorv1.TriggerFired{
			DeploymentId: m.Deployment.ID, Environment: m.Deployment.Environment, Version: m.Deployment.Version,
			Trigger: t.Name, RuleVersion: t.Version, Action: d.Action, ActionType: Typed[monitorv1.TriggerAction](d.Action), Cause: d.Cause, Metric: t.Metric,
			Operator: string(t.Operator), Threshold: t.Threshold, Observed: ev.GetObserved(),
			SustainedSeconds: d.SustainedFor.Seconds(), BreachStartedAt: Timestamp(d.Since), Reason: d.Reason,
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
		a.NoData == b.NoData
}

// Plan decides which triggers a tick evaluates for this deployment, given
// the current definitions (by name): every enabled trigger, plus each
// trigger in force that was disabled since (evaluated once, to record the
// change). It also names the triggers in force that were deleted.
func (m *Monitoring) Plan(current map[string]Trigger) (evaluate []Trigger, deleted []string) {
	for _, name := range SortedKeys(current) {
		t := current[name]
		prev, inForce := m.Triggers[name]
		if t.Enabled || inForce && prev.Enabled {
			evaluate = append(evaluate, t)
		}
	}
	for _, name := range SortedKeys(m.Triggers) {
		if _, ok := current[name]; !ok {
			deleted = append(deleted, name)
		}
	}
	return evaluate, deleted
}

// Analyze gives the verdict of an analysis step from the samples recorded in its window.
func (m *Monitoring) Analyze(a *Analysis, p AnalysisPolicy) Verdict {
	triggers := make([]Trigger, 0, len(m.Triggers))
	for _, name := range SortedKeys(m.Triggers) {
		triggers = append(triggers, m.Triggers[name])
	}
	return Analyze(triggers, m.Samples, Window{Start: a.Start, End: a.Start.Add(a.Window)}, p)
}

// Status is the API view.
func (m *Monitoring) Status() *monitorv1.DeploymentMonitoring {
	out := &monitorv1.DeploymentMonitoring{
		DeploymentId: m.Deployment.ID, ReleaseId: m.Deployment.ReleaseID, Environment: m.Deployment.Environment,
		Version: m.Deployment.Version, StartedAt: Timestamp(m.Deployment.StartedAt), EndedAt: Timestamp(m.Deployment.EndedAt),
		Outcome: m.Outcome, OutcomeType: Typed[monitorv1.MonitoringOutcome](m.Outcome),
	}
	for _, name := range SortedKeys(m.Triggers) {
		t := m.Triggers[name]
		status := &monitorv1.TriggerStatus{Trigger: name, RuleVersion: t.Version, Condition: t.String(), State: "ok"}
		if st := m.States[name]; st != nil {
			status.Samples = st.Samples
			status.LastAt = timestamppb.New(st.LastAt)
			if st.Breach.Active {
				status.State, status.BreachSince, status.Sustained = "breaching", timestamppb.New(st.Breach.Since), durationpb.New(st.Breach.Sustained)
				if st.Breach.Fired {
					status.State = "fired"
				}
			}
		}
		if last := m.Last[name]; last != nil {
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
	steps := make([]uint32, 0, len(m.Analyses))
	for s := range m.Analyses {
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	for _, s := range steps {
		if v := m.Analyses[s].Verdict; v != nil {
			out.Analyses = append(out.Analyses, &monitorv1.StepVerdict{Step: s, Verdict: v})
		}
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
	c.Triggers = maps.Clone(m.Triggers)
	c.States = make(map[string]*TriggerState, len(m.States))
	for k, st := range m.States {
		cp := *st
		cp.LastFired = maps.Clone(st.LastFired)
		c.States[k] = &cp
	}
	c.Last = maps.Clone(m.Last)
	c.Samples = make(map[string][]Sample, len(m.Samples))
	for k, v := range m.Samples {
		c.Samples[k] = slices.Clip(v) // appends reallocate
	}
	c.Analyses = make(map[uint32]*Analysis, len(m.Analyses))
	for k, a := range m.Analyses {
		cp := *a
		c.Analyses[k] = &cp
	}
	c.Fired = slices.Clip(m.Fired)
	return &c
}

// MonitoringSchema names MarshalMonitoring's encoding; bump it with any change.
const MonitoringSchema = "monitoring/1"

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
		Version: m.Version, Deployment: m.Deployment, App: m.App, Outcome: m.Outcome, Triggers: m.Triggers, States: m.States,
		Last: map[string]json.RawMessage{}, Samples: m.Samples, Analyses: map[uint32]analysisJSON{}, Origin: m.Origin,
	}
	for k, e := range m.Last {
		b, err := protojson.Marshal(e)
		if err != nil {
			return nil, err
		}
		j.Last[k] = b
	}
	for k, a := range m.Analyses {
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
	for _, f := range m.Fired {
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
	m.Version, m.Deployment, m.App, m.Outcome, m.Origin = j.Version, j.Deployment, j.App, j.Outcome, j.Origin
	maps.Copy(m.Triggers, j.Triggers)
	maps.Copy(m.Samples, j.Samples)
	for k, st := range j.States {
		if st != nil {
			m.States[k] = st
		}
	}
	for k, raw := range j.Last {
		e := &monitorv1.TriggerEvaluated{}
		if err := protojson.Unmarshal(raw, e); err != nil {
			return nil, fmt.Errorf("monitoring snapshot: %w", err)
		}
		m.Last[k] = e
	}
	for k, aj := range j.Analyses {
		a := &Analysis{Step: k, Window: aj.Window, Start: aj.Start}
		if len(aj.Verdict) > 0 {
			a.Verdict = &monitorv1.Verdict{}
			if err := protojson.Unmarshal(aj.Verdict, a.Verdict); err != nil {
				return nil, fmt.Errorf("monitoring snapshot: %w", err)
			}
		}
		m.Analyses[k] = a
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
		m.Fired = append(m.Fired, msg)
	}
	return m, nil
}
