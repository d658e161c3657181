// Package eval turns PromQL results into the domain's inputs: the samples of
// a rollback trigger for one deployment, and the per-series evaluations of an
// alert rule. The service and `floe rules test` share it, so a rules test
// evaluates exactly what the monitor would.
package eval

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/metrics"
)

// TriggerQuery is the PromQL evaluated for a trigger's metric (its PromQL,
// already resolved from a named metric) during deployment d: the expression
// scoped to d's environment and version labels.
func TriggerQuery(promql string, d domain.Deployment) (string, error) {
	return metrics.Scope(promql, d.Labels())
}

// TriggerSample evaluates a scoped trigger query at time at. No series is a
// missing sample (no data). When the query returns several series the one
// that breaches most is taken: the largest value for > and >=, the smallest
// for < and <=, for == and != the first that breaches (else the first), in
// label order so the choice is deterministic.
func TriggerSample(ctx context.Context, src metrics.Source, query string, t domain.Trigger, at time.Time) (domain.Sample, error) {
	res, err := src.Query(ctx, query, at)
	if err != nil {
		return domain.Sample{}, err
	}
	s := domain.Sample{At: at}
	vals := make([]float64, 0, len(res))
	sort.Slice(res, func(i, j int) bool { return Key(res[i].Labels) < Key(res[j].Labels) })
	for _, r := range res {
		if !math.IsNaN(r.Value) {
			vals = append(vals, r.Value)
		}
	}
	if len(vals) == 0 {
		s.NoData = true
		return s, nil
	}
	s.Value = vals[0]
	for _, v := range vals[1:] {
		switch t.Operator {
		case domain.OpGreater, domain.OpGreaterEqual:
			s.Value = max(s.Value, v)
		case domain.OpLess, domain.OpLessEqual:
			s.Value = min(s.Value, v)
		default:
			if !t.Operator.Holds(s.Value, t.Threshold) && t.Operator.Holds(v, t.Threshold) {
				s.Value = v
			}
		}
	}
	return s, nil
}

// Key is a stable text key of a label set, e.g. `{code="500", version="1.1.0"}`.
func Key(m map[string]string) string { return labels.FromMap(m).String() }

// Series is the state of one series of an alert rule.
type Series struct {
	Labels map[string]string `json:"labels"`
	State  domain.AlertState `json:"state"`
	// Value is the condition's value for the series at the last evaluation that returned it.
	Value float64 `json:"value"`
	// Reason explains the series' last transition.
	Reason string `json:"reason,omitempty"`
}

// Transition is a change of one series' alert state.
type Transition struct {
	Key    string
	Labels map[string]string
	domain.AlertTransition
}

// AlertQuery is an alert rule's condition limited to its scope: the
// environment and app matchers of its environments and apps on every selector.
func AlertQuery(r domain.AlertRule) (string, error) {
	q, err := metrics.Restrict(r.Condition, "environment", r.Environments)
	if err != nil {
		return "", err
	}
	return metrics.Restrict(q, "app", r.Apps)
}

// Alerts evaluates rule r at time at and folds the result into states (series
// key → state; new series are added): every series the condition returns
// holds with its value, every known series it no longer returns does not.
// Transitions come back in series-key order. A series back at inactive with
// nothing left to report is removed from states.
func Alerts(ctx context.Context, src metrics.Source, r domain.AlertRule, states map[string]*Series, at time.Time) ([]Transition, error) {
	var res []metrics.Sample
	if r.Enabled {
		q, err := AlertQuery(r)
		if err != nil {
			return nil, err
		}
		if res, err = src.Query(ctx, q, at); err != nil {
			return nil, err
		}
	}
	holds := make(map[string]metrics.Sample, len(res))
	for _, s := range res {
		delete(s.Labels, "__name__")
		holds[Key(s.Labels)] = s
	}
	keys := make([]string, 0, len(holds)+len(states))
	for k := range holds {
		keys = append(keys, k)
	}
	for k := range states {
		if _, ok := holds[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Transition
	for _, k := range keys {
		s, held := holds[k]
		st := states[k]
		if st == nil {
			st = &Series{Labels: s.Labels}
			states[k] = st
		}
		value := s.Value
		if held {
			st.Value = value
		} else {
			value = math.NaN()
		}
		tr, changed := st.State.Observe(r, held, value, at)
		if changed {
			st.Reason = tr.Reason
			out = append(out, Transition{Key: k, Labels: st.Labels, AlertTransition: tr})
		}
		if st.State.Current() == domain.AlertInactive {
			delete(states, k)
		}
	}
	return out, nil
}
