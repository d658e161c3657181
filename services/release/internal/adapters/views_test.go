package adapters_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/projection/projectiontest"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/adapters"
	"github.com/penguinmails/floe/services/release/internal/app"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// The release view passes the projection conformance suite.
func TestReleaseViewConformance(t *testing.T) {
	t.Parallel()
	envs := domain.DefaultEnvironments()
	ids := []string{"rel0", "rel1", "rel2", "rel3"}
	projectiontest.Run(t, projectiontest.Harness[*domain.Release]{
		Aggregates: []string{app.AggRelease},
		Spec:       func() projection.Spec[*domain.Release] { return adapters.ReleasesSpec() },
		Append: func(t *testing.T, ctx context.Context, store eventstore.Store, round int) {
			meta := eventstore.Meta{Actor: "alice"}
			for i, id := range ids[:3+min(round, 1)] {
				v, _, err := store.Head(ctx, app.AggRelease, id)
				if err != nil {
					t.Fatal(err)
				}
				var msgs []eventstore.Event
				switch {
				case v == 0:
					msgs = append(msgs, eventstore.Event{Message: &releasev1.ReleaseCreated{
						ReleaseId: id, Product: "p", Version: fmt.Sprintf("1.%d.0", i), Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR,
						Title: "r " + id, TargetEnvironments: []string{"development", "staging", "production"},
					}})
				case round == 1:
					msgs = append(msgs, eventstore.Event{Message: &releasev1.ApprovalGranted{Environment: "staging", Approver: "carol", ContentRevision: 1}})
				case round == 2:
					msgs = append(msgs, eventstore.Event{Message: &releasev1.PromotionRequested{ReleaseId: id, Environment: "development", StrategyType: 5, RequestedBy: "bob", Attempt: 1}},
						eventstore.Event{Message: &releasev1.ReleaseDeployed{Environment: "development", DeploymentId: "d-" + id}})
				}
				if len(msgs) == 0 {
					continue
				}
				if _, err := store.Append(ctx, app.AggRelease, id, v, meta, msgs...); err != nil {
					t.Fatal(err)
				}
			}
		},
		PoisonSubject: "floe.evt.release.rel9.ApprovalGranted", PoisonType: "floe.release.v1.ApprovalGranted",
		Dump: func(p *projection.Projection[*domain.Release]) any {
			var out []*releasev1.Release
			for _, id := range ids {
				if r, ok := p.Get(id); ok {
					out = append(out, domain.ToProto(r, envs, time.Time{}))
				}
			}
			return out
		},
	})
}
