package episode

import (
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/eventstore"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Aggregate kinds whose scope is learnt (see Learn).
const (
	AggregateRelease    = "release"
	AggregateDeployment = "deployment"
	AggregateGateRun    = "gaterun"
)

// Scope is what routing matches on that most events of a release, a
// deployment or a gate run do not carry: a DeploymentPaused names neither
// its environment nor its product, yet it belongs to the same episode, and
// must reach the same routes, as the DeploymentStarted before it.
type Scope struct {
	Product     string `json:"product,omitempty"`
	ReleaseID   string `json:"release_id,omitempty"`
	Version     string `json:"version,omitempty"`
	Environment string `json:"environment,omitempty"`
}

// Scopes answers the scope of an aggregate (kind and id as in the event's
// subject) from the events that established it. Fed in log order, as the
// notifier's consumer is, a replay answers as the first run did, so the
// mapping stays deterministic.
type Scopes interface {
	Scope(aggregate, id string) (Scope, bool)
}

// Learn returns the scope an event establishes for its aggregate:
// ReleaseCreated and PromotionRequested for their release,
// DeploymentStarted for its deployment (the monitor's monitoring aggregate
// shares its id), GatesOpened for its gate run. ok is false for any other
// event; a payload that does not decode is an error.
func Learn(ev *eventstore.RecordedEvent) (aggregate, id string, s Scope, ok bool, err error) {
	if ev == nil {
		return "", "", Scope{}, false, nil
	}
	var msg proto.Message
	switch ev.Type {
	case typeName[*releasev1.ReleaseCreated]():
		msg = &releasev1.ReleaseCreated{}
	case typeName[*releasev1.PromotionRequested]():
		msg = &releasev1.PromotionRequested{}
	case typeName[*deployv1.DeploymentStarted]():
		msg = &deployv1.DeploymentStarted{}
	case typeName[*gatev1.GatesOpened]():
		msg = &gatev1.GatesOpened{}
	default:
		return "", "", Scope{}, false, nil
	}
	if err := ev.DecodeInto(msg); err != nil {
		return "", "", Scope{}, false, err
	}
	switch m := msg.(type) {
	case *releasev1.ReleaseCreated:
		aggregate, id = AggregateRelease, either(ev.AggregateID, m.GetReleaseId())
		s = Scope{Product: m.GetProduct(), ReleaseID: id, Version: m.GetVersion()}
	case *releasev1.PromotionRequested:
		aggregate, id = AggregateRelease, either(ev.AggregateID, m.GetReleaseId())
		s = Scope{Product: m.GetProduct(), ReleaseID: id, Version: m.GetVersion()}
	case *deployv1.DeploymentStarted:
		aggregate, id = AggregateDeployment, either(ev.AggregateID, m.GetDeploymentId())
		s = Scope{Product: m.GetProduct(), ReleaseID: m.GetReleaseId(), Version: m.GetVersion(), Environment: m.GetEnvironment()}
	case *gatev1.GatesOpened:
		aggregate, id = AggregateGateRun, ev.AggregateID
		s = Scope{Product: m.GetProduct(), ReleaseID: m.GetReleaseId(), Version: m.GetVersion(), Environment: m.GetEnvironment()}
	}
	return aggregate, id, s, id != "", nil
}

// ScopeTable is an in-memory Scopes, learning from the events it observes.
// It keeps one entry per release, deployment and gate run it has seen (a
// few hundred bytes each); a notifier that must not replay the log from the
// start on each restart keeps these entries in its own store instead. It is
// safe for concurrent use.
type ScopeTable struct {
	mu sync.RWMutex
	m  map[scopeKey]Scope
}

type scopeKey struct{ aggregate, id string }

// NewScopeTable returns an empty table (as the zero value is).
func NewScopeTable() *ScopeTable { return &ScopeTable{} }

// Observe learns the scope ev establishes, if any (see Learn). A
// deployment's or gate run's missing product or version is taken from its
// release's scope. Call it with every event, in log order, before Map.
func (t *ScopeTable) Observe(ev *eventstore.RecordedEvent) error {
	agg, id, s, ok, err := Learn(ev)
	if err != nil || !ok {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[scopeKey]Scope{}
	}
	if rel, found := t.m[scopeKey{AggregateRelease, s.ReleaseID}]; found && agg != AggregateRelease {
		s.Product = either(s.Product, rel.Product)
		s.Version = either(s.Version, rel.Version)
	}
	t.m[scopeKey{agg, id}] = s
	return nil
}

// Scope implements Scopes.
func (t *ScopeTable) Scope(aggregate, id string) (Scope, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s, ok := t.m[scopeKey{aggregate, id}]
	return s, ok
}

// Len is the number of scopes held.
func (t *ScopeTable) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}
