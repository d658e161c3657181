package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/signtest"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/flag/internal/app"
	"github.com/penguinmails/floe/services/flag/internal/domain"
)

// rig is the flag service's command side on a real embedded JetStream; the
// test appends the deployer's and the release service's events itself and
// hands them to the service as its subscription would.
type rig struct {
	t     *testing.T
	store *eventstore.JetStreamStore
	svc   *app.Service
}

func newRig(t *testing.T) *rig {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	store, _ := signtest.Store(t, js, "floe/test", domain.AggFlagSet, "deployment", "release")
	svc, err := app.New(store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, store: store, svc: svc}
}

func (r *rig) ctx() context.Context {
	return causal.System(context.Background(), "test", "", "")
}

func (r *rig) create(f *flagv1.Flag) *flagv1.Flag {
	r.t.Helper()
	out, err := r.svc.Create(r.ctx(), f, "launch")
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// emit appends an event as another service would and returns it as recorded.
func (r *rig) emit(aggregate, id string, m proto.Message) *eventstore.RecordedEvent {
	r.t.Helper()
	ctx := r.ctx()
	head, err := r.store.Load(ctx, aggregate, id, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.store.Append(ctx, aggregate, id, head.Version, eventstore.Meta{Actor: "system:test"}, eventstore.Event{Message: m}); err != nil {
		r.t.Fatal(err)
	}
	st, err := r.store.Load(ctx, aggregate, id, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return st.Events[len(st.Events)-1]
}

// deliver hands e to the service as the flag service's subscription does.
func (r *rig) deliver(e *eventstore.RecordedEvent) {
	r.t.Helper()
	ctx := causal.With(context.Background(), eventstore.ReactionOrigin("flag-releases", e))
	if err := r.svc.OnEvent(ctx, e); err != nil {
		r.t.Fatal(err)
	}
}

// flagsetEvents are the environment's flag-set events, decoded.
func (r *rig) flagsetEvents(env string) []proto.Message {
	r.t.Helper()
	st, err := r.store.Load(r.ctx(), domain.AggFlagSet, env, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []proto.Message
	for _, e := range st.Events {
		m, err := e.Decode()
		if err != nil {
			r.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func stepStarted(deployment, release, env string, index uint32, flag string, pct uint32, variant string) *deployv1.DeploymentStepStarted {
	return &deployv1.DeploymentStepStarted{Index: index, DeploymentId: deployment, ReleaseId: release, Environment: env,
		Step: &deployv1.Step{Kind: deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT, Weight: pct, Flag: flag, Variant: variant}}
}

func searchFlag() *flagv1.Flag {
	return &flagv1.Flag{
		Environment: "production", Key: "search", Description: "the new search", Owner: "growth",
		Variants:       map[string]*structpb.Value{"on": structpb.NewBoolValue(true), "off": structpb.NewBoolValue(false)},
		DefaultVariant: "off",
	}
}

// definition is a flag without what the log stamps on it (position, who, when).
func definition(f *flagv1.Flag) *flagv1.Flag {
	c := proto.Clone(f).(*flagv1.Flag)
	c.Position, c.UpdatedBy, c.UpdatedAt = 0, "", nil
	return c
}

// A feature-flag deployment's steps set the flag's rollout under the
// deployment's release, each once however often its event is delivered; the
// release's rollback restores the flag as it was before the deployment, and
// the history tells each change with its deployment, step and release.
func TestDeploymentStepsRollOutAndRevert(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	before := r.create(searchFlag())
	const dep = "r2-production-1"

	// Steps that are not flag rollouts, or that do not name their environment
	// (written before the field existed), change nothing.
	r.deliver(r.emit("deployment", dep, &deployv1.DeploymentStepStarted{Index: 0, DeploymentId: dep, ReleaseId: "r2", Environment: "production",
		Step: &deployv1.Step{Kind: deployv1.StepKind_STEP_KIND_START}}))
	r.deliver(r.emit("deployment", dep, &deployv1.DeploymentStepStarted{Index: 1, Step: &deployv1.Step{Kind: deployv1.StepKind_STEP_KIND_FLAG_ROLLOUT, Weight: 5, Flag: "search"}}))
	if n := len(r.flagsetEvents("production")); n != 1 {
		t.Fatalf("%d flag-set events after steps that are no flag rollout; want only the creation", n)
	}

	for _, s := range []struct{ index, pct uint32 }{{4, 10}, {6, 50}, {8, 100}} {
		e := r.emit("deployment", dep, stepStarted(dep, "r2", "production", s.index, "search", s.pct, ""))
		r.deliver(e)
		r.deliver(e) // redelivered: nothing twice
	}
	evs := r.flagsetEvents("production")
	var got []*flagv1.RolloutSet
	for _, m := range evs[1:] {
		rs, ok := m.(*flagv1.RolloutSet)
		if !ok {
			t.Fatalf("unexpected %T after the creation", m)
		}
		got = append(got, rs)
	}
	pct := func(p uint32) *flagv1.Rollout {
		return &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: p}}}
	}
	want := []*flagv1.RolloutSet{
		{Key: "search", Rollout: pct(10), Reason: "deployment r2-production-1 step 4: rollout 10%", ReleaseId: "r2", DeploymentId: dep, Step: 4},
		{Key: "search", Rollout: pct(50), Reason: "deployment r2-production-1 step 6: rollout 50%", ReleaseId: "r2", DeploymentId: dep, Step: 6},
		{Key: "search", Rollout: pct(100), Reason: "deployment r2-production-1 step 8: rollout 100%", ReleaseId: "r2", DeploymentId: dep, Step: 8},
	}
	for i := range want {
		g := proto.Clone(got[i]).(*flagv1.RolloutSet)
		g.Targeting = ""
		if !proto.Equal(want[i], g) {
			t.Errorf("RolloutSet %d:\n got %v\nwant %v", i, g, want[i])
		}
	}
	if !strings.Contains(got[0].GetTargeting(), `"fractional"`) {
		t.Errorf("targeting of 10%%: %s", got[0].GetTargeting())
	}

	// The deployment rolled back; the release service says so; the flag returns to its definition before.
	rb := r.emit("release", "r2", &releasev1.ReleaseRolledBack{Environment: "production", DeploymentId: dep, RestoredVersion: "1.0.0", Reason: "error_rate: error_rate > 0.1, observed 0.2 for 3s"})
	r.deliver(rb)
	r.deliver(rb)
	evs = r.flagsetEvents("production")
	rev, ok := evs[len(evs)-1].(*flagv1.FlagReverted)
	if !ok || len(evs) != 5 {
		t.Fatalf("after the rollback: %d events, last %T; want one FlagReverted", len(evs), evs[len(evs)-1])
	}
	if rev.GetReleaseId() != "r2" || rev.GetDeploymentId() != dep || !strings.HasPrefix(rev.GetCause(), "error_rate:") {
		t.Errorf("FlagReverted %v", rev)
	}
	after, err := r.svc.History(r.ctx(), "production", "search")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, h := range after {
		lines = append(lines, h.GetSummary()+" | "+h.GetReason()+" | "+h.GetReleaseId())
	}
	wantLines := []string{
		"created (enabled, default off) | launch | ",
		"rollout: on for 10% | deployment r2-production-1 step 4: rollout 10% | r2",
		"rollout: on for 50% | deployment r2-production-1 step 6: rollout 50% | r2",
		"rollout: on for 100% | deployment r2-production-1 step 8: rollout 100% | r2",
		"reverted: release r2 was rolled back (enabled) | error_rate: error_rate > 0.1, observed 0.2 for 3s | r2",
	}
	if !slices.Equal(wantLines, lines) {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	// The definition is the one before the deployment.
	st, err := r.store.Load(r.ctx(), domain.AggFlagSet, "production", nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := domain.NewFlagSet("production")
	for _, e := range st.Events {
		m, _ := e.Decode()
		fs.Apply(m, domain.Meta{Actor: e.Actor, Time: e.Time, Position: e.Seq})
	}
	restored := fs.Flags["search"]
	if !proto.Equal(definition(before), definition(restored)) {
		t.Errorf("flag after the rollback:\n%v\nbefore the deployment:\n%v", definition(restored), definition(before))
	}
}

// A step the flag service cannot apply is refused on the record, with the
// reason the deployer reports.
func TestDeploymentStepRefusals(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.create(searchFlag())
	killed := searchFlag()
	killed.Key = "banner"
	r.create(killed)
	if _, err := r.svc.Kill(r.ctx(), "production", "banner", "INC-7"); err != nil {
		t.Fatal(err)
	}
	off := searchFlag()
	off.Key, off.State = "dark", flagv1.FlagState_FLAG_STATE_DISABLED
	r.create(off)
	three := searchFlag()
	three.Key = "color"
	three.Variants = map[string]*structpb.Value{"red": structpb.NewStringValue("red"), "blue": structpb.NewStringValue("blue"), "green": structpb.NewStringValue("green")}
	three.DefaultVariant = "red"
	r.create(three)

	for i, tc := range []struct {
		name, flag, variant string
		pct                 uint32
		refused             string // "" when applied
	}{
		{"unknown flag", "nope", "", 10, "flag nope does not exist in production"},
		{"killed flag", "banner", "", 10, "flag banner is killed (by system:test: INC-7)"},
		{"disabled flag", "dark", "", 10, "flag dark is disabled"},
		{"three variants, none named", "color", "", 10, "flag color has 3 variants: name the one to roll out"},
		{"a variant the flag lacks", "search", "maybe", 10, `"maybe" is not a variant of flag search`},
		{"three variants, one named", "color", "blue", 30, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dep := "r9-production-1"
			n := len(r.flagsetEvents("production"))
			r.deliver(r.emit("deployment", dep, stepStarted(dep, "r9", "production", uint32(10+i), tc.flag, tc.pct, tc.variant)))
			evs := r.flagsetEvents("production")
			if len(evs) != n+1 {
				t.Fatalf("%d new events, want 1", len(evs)-n)
			}
			switch ev := evs[n].(type) {
			case *flagv1.FlagRolloutRefused:
				if tc.refused == "" || !strings.Contains(ev.GetReason(), tc.refused) {
					t.Fatalf("refused: %q; want %q", ev.GetReason(), tc.refused)
				}
				if ev.GetDeploymentId() != dep || ev.GetStep() != uint32(10+i) || ev.GetKey() != tc.flag || ev.GetReleaseId() != "r9" || ev.GetPercent() != tc.pct {
					t.Errorf("FlagRolloutRefused %v", ev)
				}
			case *flagv1.RolloutSet:
				if tc.refused != "" {
					t.Fatalf("applied (%v); want refused with %q", ev, tc.refused)
				}
				if ev.GetRollout().GetVariant() != tc.variant || ev.GetStep() != uint32(10+i) {
					t.Errorf("RolloutSet %v", ev)
				}
			default:
				t.Fatalf("%T", ev)
			}
		})
	}
}
