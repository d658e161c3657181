package app

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
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

// Catalog is the monitor's view of its definitions and of the deployments
// being watched, kept current from the log (adapters provide it).
type Catalog interface {
	// AlertRules and Triggers are the current definitions by name.
	AlertRules() map[string]domain.AlertRule
	Triggers() map[string]domain.Trigger
	// Active lists the deployments being monitored, sorted.
	Active() []string
	// Known reports whether the log ever saw a definition of that aggregate and name.
	Known(aggregate, name string) bool
	// Wait returns once the catalog has applied log position pos.
	Wait(ctx context.Context, pos uint64) error
	// Ready is closed once the catalog has caught up with the log.
	Ready() <-chan struct{}
}

// MonitoringKind describes a deployment's monitoring to the kernel. It
// grows with every evaluation, so it is snapshotted.
var MonitoringKind = kernel.Kind[*domain.Monitoring]{
	Name: AggMonitoring,
	New:  func(string) *domain.Monitoring { return domain.NewMonitoring() },
	Apply: func(m *domain.Monitoring, e *eventstore.RecordedEvent) (*domain.Monitoring, error) {
		msg, err := e.Decode()
		if err != nil {
			return nil, err
		}
		m.ApplyEvent(msg, domain.Meta{ID: e.ID, CorrelationID: e.CorrelationID, TraceParent: e.TraceParent})
		return m, nil
	},
	Codec:         kernel.Codec[*domain.Monitoring]{Schema: domain.MonitoringSchema, Marshal: domain.MarshalMonitoring, Unmarshal: domain.UnmarshalMonitoring},
	SnapshotEvery: 200,
}

// definition is a versioned, named definition (a rollback trigger or an
// alert rule) as its aggregate's events leave it.
type definition[T any] struct {
	Def T `json:"def"`
	// Version is the definition's version (the deleted one's, when gone).
	Version uint64 `json:"version"`
	// Exists is false before the first save and after a delete.
	Exists bool `json:"exists"`
}

func definitionKind[T any](name string, defs definitions[T]) kernel.Kind[*definition[T]] {
	return kernel.Kind[*definition[T]]{
		Name: name,
		New:  func(string) *definition[T] { return &definition[T]{} },
		Apply: func(d *definition[T], e *eventstore.RecordedEvent) (*definition[T], error) {
			m, err := e.Decode()
			if err != nil {
				return nil, err
			}
			if def, version, gone, ok := defs.read(m); ok {
				d.Def, d.Version, d.Exists = def, version, !gone
			}
			return d, nil
		},
		Codec: kernel.Codec[*definition[T]]{Schema: name + "-definition/1"},
	}
}

// alertHistory is an alert rule's `alert` aggregate: every series' transitions.
type alertHistory struct {
	Series map[string]*seriesHistory `json:"series"`
}

type seriesHistory struct {
	Labels map[string]string `json:"labels"`
	// Value is the value at the last transition that saw the condition hold.
	Value     float64                  `json:"value"`
	Trs       []domain.AlertTransition `json:"transitions"`
	Versions  []uint64                 `json:"rule_versions"`
	Cooldowns []time.Duration          `json:"cooldowns"`
}

// AlertKind describes an alert rule's transitions to the kernel; it grows
// with every transition, so it is snapshotted.
var AlertKind = kernel.Kind[*alertHistory]{
	Name: AggAlert,
	New:  func(string) *alertHistory { return &alertHistory{Series: map[string]*seriesHistory{}} },
	Apply: func(h *alertHistory, e *eventstore.RecordedEvent) (*alertHistory, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		ch := changeOf(m)
		if ch == nil {
			return h, nil
		}
		sh := h.Series[ch.GetSeries()]
		if sh == nil {
			sh = &seriesHistory{Labels: ch.GetLabels()}
			h.Series[ch.GetSeries()] = sh
		}
		to := domain.Text(ch.GetToState(), ch.GetTo())
		if to == domain.AlertPending || to == domain.AlertFiring {
			sh.Value = ch.GetValue()
		}
		sh.Trs = append(sh.Trs, domain.AlertTransition{From: domain.Text(ch.GetFromState(), ch.GetFrom()), To: to,
			At: domain.TimeOf(ch.GetAt()), Notify: ch.GetNotify(), Value: ch.GetValue(), Reason: ch.GetReason()})
		sh.Versions = append(sh.Versions, ch.GetRuleVersion())
		sh.Cooldowns = append(sh.Cooldowns, ch.GetCooldown().AsDuration())
		return h, nil
	},
	Codec:         kernel.Codec[*alertHistory]{Schema: "alert-history/1"},
	SnapshotEvery: 200,
}

// changeOf is the AlertChange of an alert event (nil for anything else).
func changeOf(m proto.Message) *monitorv1.AlertChange {
	switch e := m.(type) {
	case *monitorv1.AlertPending:
		return e.GetChange()
	case *monitorv1.AlertFiring:
		return e.GetChange()
	case *monitorv1.AlertResolved:
		return e.GetChange()
	case *monitorv1.AlertCancelled:
		return e.GetChange()
	}
	return nil
}
