package app

import (
	"sort"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/eventstore"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// Aggregates of the monitor.
const (
	AggMonitoring = "monitoring" // one per deployment: its triggers' evaluations and analyses
	AggTrigger    = "trigger"    // one per rollback trigger
	AggAlertRule  = "alertrule"  // one per alert rule
	AggAlert      = "alert"      // one per alert rule: its series' transitions
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
	Version    eventstore.Version
	Deployment domain.Deployment
	App        string
	Outcome    string
	// Triggers in force, by name, and their states.
	Triggers map[string]domain.Trigger
	States   map[string]*domain.TriggerState
	// Last is each trigger's latest evaluation; Samples all of them, for analyses.
	Last    map[string]*monitorv1.TriggerEvaluated
	Samples map[string][]domain.Sample
	// Analyses by step.
	Analyses map[uint32]*Analysis
	// Fired lists the firings (RollbackTriggered, TriggerFired) in order.
	Fired []proto.Message
}

// NewMonitoring is an empty view (no deployment yet).
func NewMonitoring() *Monitoring {
	return &Monitoring{
		Triggers: map[string]domain.Trigger{}, States: map[string]*domain.TriggerState{},
		Last: map[string]*monitorv1.TriggerEvaluated{}, Samples: map[string][]domain.Sample{}, Analyses: map[uint32]*Analysis{},
	}
}

// Exists reports whether monitoring started.
func (m *Monitoring) Exists() bool { return m.Deployment.ID != "" }

// Active reports whether the deployment is still being watched.
func (m *Monitoring) Active() bool { return m.Exists() && m.Deployment.EndedAt.IsZero() }

// Apply folds one event in; for a TriggerEvaluated it returns what the
// sample meant (the same Decision the evaluation that recorded it got).
func (m *Monitoring) Apply(msg proto.Message) domain.Decision {
	m.Version++
	switch e := msg.(type) {
	case *monitorv1.MonitoringStarted:
		m.Deployment = domain.Deployment{
			ID: e.GetDeploymentId(), ReleaseID: e.GetReleaseId(), Environment: e.GetEnvironment(),
			Version: e.GetVersion(), StartedAt: tsTime(e.GetStartedAt()),
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
			return domain.Decision{Kind: domain.KindNone}
		}
		if e.GetChanged() != nil {
			m.Triggers[name] = TriggerFromProto(e.GetChanged())
		}
		st := m.States[name]
		if st == nil {
			st = domain.NewTriggerState(m.Deployment)
			m.States[name] = st
		}
		s := domain.Sample{At: tsTime(e.GetAt()), Value: e.GetObserved(), NoData: e.GetNoData()}
		m.Last[name] = e
		m.Samples[name] = append(m.Samples[name], s)
		return st.Observe(m.Triggers[name], s)
	case *monitorv1.AnalysisStarted:
		a := m.Analyses[e.GetStep()]
		if a == nil {
			a = &Analysis{Step: e.GetStep()}
			m.Analyses[e.GetStep()] = a
		}
		a.Start, a.Window = tsTime(e.GetStartedAt()), e.GetWindow().AsDuration()
	case *monitorv1.AnalysisCompleted:
		if a := m.Analyses[e.GetStep()]; a != nil {
			a.Verdict = e.GetVerdict()
		} else {
			m.Analyses[e.GetStep()] = &Analysis{Step: e.GetStep(), Verdict: e.GetVerdict()}
		}
	case *monitorv1.RollbackTriggered, *monitorv1.TriggerFired:
		m.Fired = append(m.Fired, msg)
	case *monitorv1.MonitoringEnded:
		at := tsTime(e.GetAt())
		m.Deployment.EndedAt, m.Outcome = at, e.GetOutcome()
		for _, st := range m.States {
			st.End(at)
		}
	}
	return domain.Decision{Kind: domain.KindNone}
}

// LastEvaluation is the time of the latest recorded evaluation (zero: none).
func (m *Monitoring) LastEvaluation() time.Time {
	var last time.Time
	for _, e := range m.Last {
		if at := tsTime(e.GetAt()); at.After(last) {
			last = at
		}
	}
	return last
}

// Evaluation is one trigger's sample to record.
type Evaluation struct {
	Trigger domain.Trigger
	Sample  domain.Sample
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
			Trigger: t.Name, RuleVersion: t.Version, At: ts(e.Sample.At), Observed: noNaN(e.Sample.Value),
			NoData: e.Sample.Missing(), Query: e.Query,
		}
		if prev, ok := m.Triggers[t.Name]; !ok || !sameTrigger(prev, t) {
			ev.Changed = TriggerToProto(t)
		}
		d := m.Apply(ev)
		ev.Kind, ev.Reason, ev.Sustained = d.Kind, d.Reason, durationpb.New(d.SustainedFor)
		out = append(out, ev)
		if d.Kind != domain.KindFired {
			continue
		}
		if d.Action == domain.ActionRollback {
			rt := &monitorv1.RollbackTriggered{
				DeploymentId: m.Deployment.ID, ReleaseId: m.Deployment.ReleaseID, Environment: m.Deployment.Environment,
				Version: m.Deployment.Version, Trigger: t.Name, RuleVersion: t.Version, Metric: t.Metric,
				Operator: string(t.Operator), Threshold: t.Threshold, Observed: ev.GetObserved(),
				SustainedSeconds: d.SustainedFor.Seconds(), BreachStartedAt: ts(d.Since), Cause: d.Cause, Reason: d.Reason,
			}
			m.Apply(rt)
			out = append(out, rt)
			continue
		}
		tf := &monitorv1.TriggerFired{
			DeploymentId: m.Deployment.ID, Environment: m.Deployment.Environment, Version: m.Deployment.Version,
			Trigger: t.Name, RuleVersion: t.Version, Action: d.Action, Cause: d.Cause, Metric: t.Metric,
			Operator: string(t.Operator), Threshold: t.Threshold, Observed: ev.GetObserved(),
			SustainedSeconds: d.SustainedFor.Seconds(), BreachStartedAt: ts(d.Since), Reason: d.Reason,
		}
		m.Apply(tf)
		out = append(out, tf)
	}
	return out
}

// sameTrigger reports whether two definitions of a trigger are identical.
func sameTrigger(a, b domain.Trigger) bool {
	return a.Version == b.Version && a.Enabled == b.Enabled && a.Metric == b.Metric && a.Operator == b.Operator &&
		a.Threshold == b.Threshold && a.Duration == b.Duration && a.Action == b.Action && a.Cooldown == b.Cooldown &&
		a.NoData == b.NoData
}

// Plan decides which triggers a tick evaluates for this deployment, given
// the current definitions (by name): every enabled trigger, plus each
// trigger in force that was disabled since (evaluated once, to record the
// change). It also names the triggers in force that were deleted.
func (m *Monitoring) Plan(current map[string]domain.Trigger) (evaluate []domain.Trigger, deleted []string) {
	for _, name := range sortedKeys(current) {
		t := current[name]
		prev, inForce := m.Triggers[name]
		if t.Enabled || inForce && prev.Enabled {
			evaluate = append(evaluate, t)
		}
	}
	for _, name := range sortedKeys(m.Triggers) {
		if _, ok := current[name]; !ok {
			deleted = append(deleted, name)
		}
	}
	return evaluate, deleted
}

// Analyze gives the verdict of an analysis step from the samples recorded in its window.
func (m *Monitoring) Analyze(a *Analysis, p domain.AnalysisPolicy) domain.Verdict {
	triggers := make([]domain.Trigger, 0, len(m.Triggers))
	for _, name := range sortedKeys(m.Triggers) {
		triggers = append(triggers, m.Triggers[name])
	}
	return domain.Analyze(triggers, m.Samples, domain.Window{Start: a.Start, End: a.Start.Add(a.Window)}, p)
}

// Status is the API view.
func (m *Monitoring) Status() *monitorv1.DeploymentMonitoring {
	out := &monitorv1.DeploymentMonitoring{
		DeploymentId: m.Deployment.ID, ReleaseId: m.Deployment.ReleaseID, Environment: m.Deployment.Environment,
		Version: m.Deployment.Version, StartedAt: ts(m.Deployment.StartedAt), EndedAt: ts(m.Deployment.EndedAt), Outcome: m.Outcome,
	}
	for _, name := range sortedKeys(m.Triggers) {
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
