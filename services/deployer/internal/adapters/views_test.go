package adapters_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/projection/projectiontest"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/deployer/internal/adapters"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
)

// The deployment view passes the projection conformance suite.
func TestDeploymentViewConformance(t *testing.T) {
	t.Parallel()
	ids := []string{"r0-production-1", "r1-production-1", "r2-production-1", "r3-production-1"}
	plan, err := domain.Plan(domain.BigBang, domain.DefaultStrategyConfig(), true)
	if err != nil {
		t.Fatal(err)
	}
	projectiontest.Run(t, projectiontest.Harness[*domain.Deployment]{
		Aggregates: []string{app.Aggregate},
		Spec:       adapters.DeploymentsSpec,
		Append: func(t *testing.T, ctx context.Context, store eventstore.Store, round int) {
			for i, id := range ids[:3+min(round, 1)] {
				v, _, err := store.Head(ctx, app.Aggregate, id)
				if err != nil {
					t.Fatal(err)
				}
				var msgs []eventstore.Event
				switch {
				case v == 0:
					msgs = append(msgs, eventstore.Event{Message: &deployv1.DeploymentStarted{
						DeploymentId: id, ReleaseId: fmt.Sprint("r", i), Version: "1.0.0", Environment: "production",
						StrategyType: domain.BigBang, Attempt: 1, App: "demo", PreviousVersion: "0.9.0", Plan: plan,
					}})
				case round == 1:
					msgs = append(msgs, eventstore.Event{Message: &deployv1.DeploymentStepStarted{Index: 0}},
						eventstore.Event{Message: &deployv1.DeploymentStepCompleted{Index: 0, Result: "started"}})
				case round == 2:
					msgs = append(msgs, eventstore.Event{Message: &deployv1.RollbackStarted{Reason: "x", Trigger: "manual"}},
						eventstore.Event{Message: &deployv1.RolledBack{DeploymentId: id, RestoredVersion: "0.9.0"}})
				}
				if len(msgs) == 0 {
					continue
				}
				if _, err := store.Append(ctx, app.Aggregate, id, v, eventstore.Meta{Actor: "system:deployer"}, msgs...); err != nil {
					t.Fatal(err)
				}
			}
		},
		PoisonSubject: "floe.evt.deployment.r9-production-1.DeploymentStepStarted", PoisonType: "floe.deploy.v1.DeploymentStepStarted",
		Dump: func(p *projection.Projection[*domain.Deployment]) any {
			var out []*deployv1.Deployment
			for _, id := range ids {
				if d, ok := p.Get(id); ok {
					out = append(out, domain.ToProto(d))
				}
			}
			return out
		},
	})
}
