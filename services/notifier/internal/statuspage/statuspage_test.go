package statuspage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/status"
)

// clock is a fixed clock the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func (c *clock) tick() { c.t = c.t.Add(time.Minute) }

func newStore(t *testing.T) *eventstore.JetStreamStore {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	st, err := eventstore.Open(t.Context(), js, eventstore.Options{Source: "floe/test", Aggregates: []string{Aggregate, "deployment"}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var pageCfg = Config{Name: "Floe", URL: "http://127.0.0.1:7403/status"}

func as(actor string) context.Context {
	return causal.With(context.Background(), causal.Origin{Actor: actor})
}

// Every command is the model's decision, recorded as StatusPageChanged
// events by the caller; the model's refusals come back as they are; a new
// process rebuilds the same page from the log.
func TestCommands(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	c := &clock{t: t0}
	a, err := New(st, pageCfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := as("alice")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = a.AddComponent(ctx, status.AddComponent{ID: "api", Name: "API", Showcase: true})
	must("add api", err)
	_, err = a.AddComponent(ctx, status.AddComponent{ID: "web", Name: "Website"})
	must("add web", err)
	c.tick()
	_, err = a.SetComponentStatus(ctx, status.SetComponentStatus{ComponentID: "web", Status: status.DegradedPerformance})
	must("set web", err)
	c.tick()
	id, page, err := a.CreateIncident(ctx, status.CreateIncident{Name: "API errors", Body: "We are looking into it.",
		Components: map[string]status.ComponentStatus{"api": status.PartialOutage}})
	must("create", err)
	if len(page.View.Unresolved()) != 1 || page.View.Unresolved()[0].ID != id || page.View.Status.Indicator != status.IndicatorMajor {
		t.Fatalf("after the incident: %+v", page.View.Status)
	}
	c.tick()
	_, err = a.AddIncidentUpdate(ctx, status.AddIncidentUpdate{IncidentID: id, Status: status.Identified, Body: "A bad cache node."})
	must("update", err)
	c.tick()
	page, err = a.ResolveIncident(ctx, status.ResolveIncident{IncidentID: id, Body: "Fixed."})
	must("resolve", err)
	if got := page.Uptime["api"]; !got.HasData() || got.Percent() >= 100 {
		t.Errorf("api uptime after a partial outage: %v %%", got.Percent())
	}
	if _, ok := page.Uptime["web"]; !ok {
		t.Error("no uptime for a component without uptime bars")
	}
	mid, _, err := a.ScheduleMaintenance(ctx, status.ScheduleMaintenance{Name: "Database upgrade", Body: "Planned.",
		ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour), Components: []string{"api"}})
	must("schedule", err)
	_, err = a.StartMaintenance(ctx, status.StartMaintenance{MaintenanceID: mid})
	must("start", err)
	c.tick()
	_, err = a.CompleteMaintenance(ctx, status.CompleteMaintenance{MaintenanceID: mid})
	must("complete", err)

	// Refusals, as the model decides them.
	for _, tc := range []struct {
		name string
		err  error
		want any
	}{
		{"resolve a resolved incident", func() error {
			_, err := a.ResolveIncident(ctx, status.ResolveIncident{IncidentID: id, Body: "again"})
			return err
		}(), &errs.PreconditionError{}},
		{"complete a completed maintenance", func() error {
			_, err := a.CompleteMaintenance(ctx, status.CompleteMaintenance{MaintenanceID: mid})
			return err
		}(), &errs.PreconditionError{}},
		{"a component without a name", func() error {
			_, err := a.AddComponent(ctx, status.AddComponent{ID: "x"})
			return err
		}(), &errs.InvalidArgumentError{}},
		{"an unknown incident", func() error {
			_, err := a.AddIncidentUpdate(ctx, status.AddIncidentUpdate{IncidentID: "nope", Body: "x"})
			return err
		}(), &errs.NotFoundError{}},
		{"a component twice", func() error {
			_, err := a.AddComponent(ctx, status.AddComponent{ID: "api", Name: "API"})
			return err
		}(), &errs.AlreadyExistsError{}},
	} {
		ok := false
		switch tc.want.(type) {
		case *errs.PreconditionError:
			var e *errs.PreconditionError
			ok = errors.As(tc.err, &e)
		case *errs.InvalidArgumentError:
			var e *errs.InvalidArgumentError
			ok = errors.As(tc.err, &e)
		case *errs.NotFoundError:
			var e *errs.NotFoundError
			ok = errors.As(tc.err, &e)
		case *errs.AlreadyExistsError:
			var e *errs.AlreadyExistsError
			ok = errors.As(tc.err, &e)
		}
		if !ok {
			t.Errorf("%s: %v, want a %T", tc.name, tc.err, tc.want)
		}
	}

	// The log: one StatusPageChanged per change, the caller as the actor.
	stream, err := st.Load(context.Background(), Aggregate, PageID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stream.Events) < 10 {
		t.Fatalf("%d events", len(stream.Events))
	}
	for _, e := range stream.Events {
		if e.Type != "floe.notify.v1.StatusPageChanged" || e.Actor != "alice" {
			t.Errorf("event %d: %s by %s", e.Seq, e.Type, e.Actor)
		}
	}

	// Another process rebuilds the same page from the log.
	before, err := a.View(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(st, pageCfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	after, err := b.View(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sameZone := cmp.Comparer(func(x, y *time.Location) bool { return x.String() == y.String() })
	if diff := cmp.Diff(before, after, sameZone); diff != "" {
		t.Errorf("rebuilt page (-before +after):\n%s", diff)
	}
	if got := after.Maintenances; len(got) != 1 || got[0].Status != status.Completed {
		t.Errorf("maintenances: %+v", got)
	}
}

// A retried request (the same idempotency key) names the same incident and
// opens it once.
func TestRequestKeyMakesOneIncident(t *testing.T) {
	t.Parallel()
	a, err := New(newStore(t), pageCfg, (&clock{t: t0}).now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := causal.With(context.Background(), causal.Origin{Actor: "alice", Key: causal.Key("alice", "req-1")})
	id1, _, err := a.CreateIncident(ctx, status.CreateIncident{Name: "Down", Body: "Down."})
	if err != nil {
		t.Fatal(err)
	}
	id2, page, err := a.CreateIncident(ctx, status.CreateIncident{Name: "Down", Body: "Down."})
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 || len(page.View.Incidents) != 1 {
		t.Errorf("ids %s and %s, %d incidents", id1, id2, len(page.View.Incidents))
	}
}

// Kind refuses a page it could not build.
func TestKindChecksTheConfiguration(t *testing.T) {
	t.Parallel()
	if _, err := Kind(Config{Name: "Floe", URL: "not a url"}); err == nil {
		t.Error("a page without an absolute URL")
	}
	if _, err := Kind(Config{URL: "https://status.example.com"}); err == nil {
		t.Error("a page without a name")
	}
}

// Auto on a deployment that rolls back, each event delivered twice: one
// incident, on the product's component added for it, resolved by the
// rollback's end; the actor is the subscription.
func TestAutoOnARollback(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	c := &clock{t: time.Now()}
	a, err := New(st, pageCfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	const dep = "r1-production-1"
	meta := eventstore.Meta{Actor: "system:deployer"}
	for i, m := range []eventstore.Event{
		{Message: &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: "r1", Version: "1.0.0", Environment: "production", Product: "penguinmails"}},
		{Message: &deployv1.RollbackStarted{Reason: "error rate 12% > 10% for 5m", Trigger: "error-rate"}},
		{Message: &deployv1.RolledBack{DeploymentId: dep, ReleaseId: "r1", Environment: "production", RestoredVersion: "0.9.0", Reason: "error rate"}},
	} {
		if _, err := st.Append(context.Background(), "deployment", dep, eventstore.Version(i), meta, m); err != nil {
			t.Fatal(err)
		}
	}
	stream, err := st.Load(context.Background(), "deployment", dep, nil)
	if err != nil {
		t.Fatal(err)
	}
	scopes := episode.NewScopeTable()
	var refused []error
	au := &Auto{App: a, Mapper: episode.Mapper{Scopes: scopes}, OnError: func(err error) { refused = append(refused, err) }}
	var open int
	for round := range 2 {
		for _, e := range stream.Events {
			_ = scopes.Observe(e)
			ctx := causal.With(context.Background(), eventstore.ReactionOrigin("notifier-status", e))
			if err := au.OnEvent(ctx, e); err != nil {
				t.Fatalf("round %d, %s: %v", round, e.Name, err)
			}
			if e.Name == "RollbackStarted" && round == 0 {
				v, _ := a.View(context.Background())
				open = len(v.Unresolved())
			}
			c.tick()
		}
	}
	if open != 1 {
		t.Errorf("%d incidents open after RollbackStarted", open)
	}
	v, err := a.View(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Incidents) != 1 || v.Incidents[0].Status != status.Resolved || v.Incidents[0].ID != IncidentID("deployment/"+dep) {
		t.Fatalf("incidents: %+v", v.Incidents)
	}
	if got := v.Incidents[0].Components; len(got) != 1 || got[0] != "penguinmails" {
		t.Errorf("components of the incident: %v", got)
	}
	if len(v.Components) != 1 || v.Components[0].Status != status.Operational || !v.Components[0].Showcase {
		t.Errorf("components: %+v", v.Components)
	}
	if _, ok := v.Uptime["penguinmails"]; !ok {
		t.Error("no uptime bars for the product")
	}
	if len(refused) != 0 {
		t.Errorf("refusals reported: %v", refused)
	}
	page, err := st.Load(context.Background(), Aggregate, PageID, nil)
	if err != nil {
		t.Fatal(err)
	}
	// component added; incident created + component down; resolved + component up
	if len(page.Events) != 5 {
		t.Errorf("%d page events, want 5", len(page.Events))
	}
	for _, e := range page.Events {
		if e.Actor != "system:notifier-status" {
			t.Errorf("event %d by %s", e.Seq, e.Actor)
		}
	}
}
