package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// GatesViewName is the view of the gate service's events kept by the
// release service (its checkpoint bucket is view_release_gates).
const GatesViewName = "release_gates"

// Gates is what the release service knows of the gate service, from its
// events alone: each environment's gate definitions, and the latest
// verdict of each (release, environment). Promotions consult it.
type Gates struct {
	proj *projection.Projection[*gateRow]
	last func(ctx context.Context) (uint64, error)

	mu       sync.Mutex
	defs     map[string][]*gatev1.GateDefinition // environment →
	verdicts map[string]*gatev1.GateVerdict      // release + "\x00" + environment →
}

// gateRow is one gate aggregate as this view keeps it.
type gateRow struct {
	Defs    *gatev1.GateDefinitionsSet
	Verdict *gatev1.GateVerdict
}

type gateRowJSON struct {
	Defs    json.RawMessage `json:"defs,omitempty"`
	Verdict json.RawMessage `json:"verdict,omitempty"`
}

func marshalGateRow(r *gateRow) ([]byte, error) {
	var out gateRowJSON
	var err error
	if r.Defs != nil {
		if out.Defs, err = protojson.Marshal(r.Defs); err != nil {
			return nil, err
		}
	}
	if r.Verdict != nil {
		if out.Verdict, err = protojson.Marshal(r.Verdict); err != nil {
			return nil, err
		}
	}
	return json.Marshal(out)
}

func unmarshalGateRow(b []byte) (*gateRow, error) {
	var in gateRowJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	r := &gateRow{}
	if len(in.Defs) > 0 {
		r.Defs = &gatev1.GateDefinitionsSet{}
		if err := protojson.Unmarshal(in.Defs, r.Defs); err != nil {
			return nil, err
		}
	}
	if len(in.Verdict) > 0 {
		r.Verdict = &gatev1.GateVerdict{}
		if err := protojson.Unmarshal(in.Verdict, r.Verdict); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// GateEvents are the gate service's events the release service folds.
var GateEvents = eventstore.EventFilters(&gatev1.GateDefinitionsSet{}, &gatev1.GateVerdict{})

// NewGates builds the view; Projection runs it.
func NewGates(ctx context.Context, js jetstream.JetStream, store eventstore.Store, opts projection.Options) (*Gates, error) {
	v := &Gates{defs: map[string][]*gatev1.GateDefinition{}, verdicts: map[string]*gatev1.GateVerdict{}}
	spec := projection.Spec[*gateRow]{
		Name:    GatesViewName,
		Filters: GateEvents,
		Keys:    func(e *eventstore.RecordedEvent) []string { return []string{e.Aggregate + "-" + e.AggregateID} },
		Fold: func(r *gateRow, exists bool, e *eventstore.RecordedEvent) (*gateRow, bool, error) {
			if !exists {
				r = &gateRow{}
			}
			m, err := e.Decode()
			if err != nil {
				return r, exists, err
			}
			switch ev := m.(type) {
			case *gatev1.GateDefinitionsSet:
				r.Defs = ev
			case *gatev1.GateVerdict:
				r.Verdict = ev
			}
			return r, true, nil
		},
		Marshal:   marshalGateRow,
		Unmarshal: unmarshalGateRow,
		OnChange: func(_ string, r *gateRow, deleted bool) {
			if deleted {
				return
			}
			v.mu.Lock()
			defer v.mu.Unlock()
			if r.Defs != nil {
				v.defs[r.Defs.GetEnvironment()] = r.Defs.GetGates()
			}
			if r.Verdict != nil {
				v.verdicts[r.Verdict.GetReleaseId()+"\x00"+r.Verdict.GetEnvironment()] = r.Verdict
			}
		},
		OnReset: func() {
			v.mu.Lock()
			defer v.mu.Unlock()
			clear(v.defs)
			clear(v.verdicts)
		},
	}
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	v.last = store.LastSeq
	return v, nil
}

// Projection is the view's projection.
func (v *Gates) Projection() *projection.Projection[*gateRow] { return v.proj }

// Sync waits until the view has applied everything the log holds now, so a
// promotion sees every verdict recorded before it was asked.
func (v *Gates) Sync(ctx context.Context) error {
	last, err := v.last(ctx)
	if err != nil {
		return err
	}
	return v.proj.Wait(ctx, last)
}

// Checker answers domain.Promote's questions from the view as of now.
func (v *Gates) Checker(now time.Time) domain.GateChecker {
	return func(releaseID, env string, skipped bool) []string {
		v.mu.Lock()
		defer v.mu.Unlock()
		counts := func(onFailure gatev1.OnFailure) bool {
			if skipped {
				return onFailure == gatev1.OnFailure_ON_FAILURE_BLOCK
			}
			return onFailure != gatev1.OnFailure_ON_FAILURE_IGNORE
		}
		var relevant []string
		for _, g := range v.defs[env] {
			if g.GetRequired() && counts(g.GetOnFailure()) {
				relevant = append(relevant, g.GetName())
			}
		}
		if len(relevant) == 0 {
			return nil // no gate there that could stop it
		}
		verdict := v.verdicts[releaseID+"\x00"+env]
		if verdict == nil {
			how := "they open when the release is deployed there"
			if skipped {
				how = fmt.Sprintf("the hotfix skipped %s, so report them against it there (floe gate report --env %s ...)", env, env)
			}
			return []string{fmt.Sprintf("%s gates (%s) have no results for this release: %s", env, strings.Join(relevant, ", "), how)}
		}
		var out []string
		for _, u := range verdict.GetUnmet() {
			if counts(u.GetOnFailure()) {
				out = append(out, fmt.Sprintf("%s gate %s is %s: %s", env, u.GetGate(), outcomeWords(u.GetOutcome()), u.GetReason()))
			}
		}
		if until := verdict.GetValidUntil(); until != nil && !now.Before(until.AsTime()) {
			out = append(out, fmt.Sprintf("%s gates: an override they rely on expired at %s", env, until.AsTime().UTC().Format(time.RFC3339)))
		}
		return out
	}
}

func outcomeWords(o gatev1.GateOutcome) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(o.String(), "GATE_OUTCOME_")), "_", " ")
}
