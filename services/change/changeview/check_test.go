package changeview

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	"github.com/penguinmails/floe/services/change/internal/app"
	"github.com/penguinmails/floe/services/change/internal/calendar"
)

var t0 = time.Date(2026, time.December, 21, 9, 30, 0, 0, time.UTC) // a Monday

// recorded is m as the log would hand it to a fold.
func recorded(t testing.TB, m proto.Message, actor string) *eventstore.RecordedEvent {
	t.Helper()
	data, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return &eventstore.RecordedEvent{Type: string(m.ProtoReflect().Descriptor().FullName()), Data: data, Actor: actor, Time: t0}
}

// view is a View holding changes and a calendar folded from events, as
// the projection would fold them (no NATS: Check is pure over them).
func view(t testing.TB, changes map[string][]proto.Message, cal ...proto.Message) *View {
	t.Helper()
	v := &View{changes: map[string]*app.Change{}, byRelease: map[string][]string{}, byDeploy: map[string]string{}, cal: calendar.New()}
	for id, evs := range changes {
		c := app.NewChange(id)
		for _, m := range evs {
			var err error
			if c, err = app.ChangeKind.Apply(c, recorded(t, m, "alice")); err != nil {
				t.Fatal(err)
			}
		}
		v.changes[id] = c
		for _, rel := range c.CR.Releases() {
			v.byRelease[rel] = append(v.byRelease[rel], id)
		}
	}
	for _, m := range cal {
		v.cal.Apply(m)
	}
	return v
}

func submitted(id string) *changev1.ChangeSubmitted {
	return &changev1.ChangeSubmitted{Id: id, Submitter: "alice", Class: changev1.ChangeClass_CHANGE_CLASS_NORMAL, Title: "t",
		Type: changev1.ChangeType_CHANGE_TYPE_ENHANCEMENT, Priority: changev1.ChangePriority_CHANGE_PRIORITY_LOW,
		Impact: changev1.ChangeImpact_CHANGE_IMPACT_LOW, Risk: changev1.ChangeRisk_CHANGE_RISK_LOW,
		Environments: []string{"production"}, Releases: []string{"rel1"}, Validations: []string{"deployment"},
		Requirements: []*changev1.Requirement{{AnyOf: []string{"operations"}}}}
}

func approved() []proto.Message {
	return []proto.Message{&changev1.ChangeApprovalGranted{Approver: "dave", As: "operations", Counts: true}, &changev1.ChangeApproved{Approvals: 1, Required: 1}}
}

func scheduledIn(start, end time.Time) *changev1.ChangeScheduled {
	return &changev1.ChangeScheduled{Window: &changev1.AssignedWindow{WindowId: "slot", Start: timestamppb.New(start), End: timestamppb.New(end), At: timestamppb.New(start), Environments: []string{"production"}}}
}

var freeze = &changev1.FreezeCreated{Freeze: &changev1.Freeze{Id: "year-end", Environments: []string{"production"}, Reason: "year-end",
	Start: timestamppb.New(t0.Add(time.Hour)), End: timestamppb.New(t0.Add(5 * time.Hour)), CreatedBy: "dave"}}

var weekdays = &changev1.WindowCreated{Window: &changev1.DeploymentWindow{Id: "mornings", Name: "Weekday mornings", Environment: "production", TimeZone: "UTC",
	DurationMinutes: 180, Recurrence: &changev1.Recurrence{Days: []string{"mon", "tue", "wed", "thu", "fri"}, At: "09:00"}}}

func override(forWhom string) *changev1.FreezeOverridden {
	return &changev1.FreezeOverridden{Override: &changev1.FreezeOverride{FreezeId: "year-end", Environment: "production", Reason: "hotfix",
		RequestedBy: forWhom, OverriddenBy: "dave", Roles: []string{"operations"}, GrantedAt: timestamppb.New(t0.Add(90 * time.Minute))}}
}

func TestCheck(t *testing.T) {
	scheduled := map[string][]proto.Message{"c1": append(append([]proto.Message{submitted("c1")}, approved()...), scheduledIn(t0, t0.Add(6*time.Hour)))}
	onlyApproved := map[string][]proto.Message{"c1": append([]proto.Message{submitted("c1")}, approved()...)}
	frozen := t0.Add(2 * time.Hour)
	for _, tc := range []struct {
		name       string
		v          *View
		env, who   string
		at         time.Time
		required   bool
		kind       PromotionKind
		want       Authorization
		refusals   []errs.Reason
		saying     string
		notRefused bool
	}{
		{name: "no change links the release", v: view(t, nil), required: true,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_CHANGE_REQUEST_REQUIRED}, saying: "no change request links the release"},
		{name: "not required: development", v: view(t, nil), env: "development", want: Authorization{}},
		{name: "approved but not scheduled", v: view(t, onlyApproved), required: true,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_CHANGE_REQUEST_REQUIRED}, saying: "approved"},
		{name: "scheduled, in its window", v: view(t, scheduled), required: true, want: Authorization{ChangeID: "c1"}},
		{name: "scheduled, before its window", v: view(t, scheduled), at: t0.Add(-time.Minute), required: true,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_CHANGE_REQUEST_REQUIRED}, saying: "opens at"},
		{name: "scheduled, its window closed (end exclusive)", v: view(t, scheduled), at: t0.Add(6 * time.Hour), required: true,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_CHANGE_REQUEST_REQUIRED}, saying: "closed at"},
		{name: "a freeze holds even an authorized promotion", v: view(t, scheduled, freeze), at: frozen, required: true,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_FROZEN}, saying: "year-end"},
		{name: "a freeze and no change", v: view(t, nil, freeze), at: frozen, required: true,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_FROZEN, errorsv1.ErrorReason_ERROR_REASON_CHANGE_REQUEST_REQUIRED}},
		{name: "an automatic promotion is frozen too", v: view(t, scheduled, freeze), at: frozen, required: true, kind: PromotionAutomatic,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_FROZEN}},
		{name: "the requester's override lifts the freeze", v: view(t, scheduled, freeze, override("bob")), at: frozen, required: true,
			want: Authorization{ChangeID: "c1", FreezeOverride: "year-end (granted by dave: hotfix)"}},
		{name: "someone else's override does not", v: view(t, scheduled, freeze, override("carol")), at: frozen, required: true,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_FROZEN}},
		{name: "a rollback is never held", v: view(t, nil, freeze), at: frozen, kind: PromotionRollback, want: Authorization{}},
		{name: "in a deployment window", v: view(t, scheduled, weekdays), required: true, want: Authorization{ChangeID: "c1", WindowID: "mornings"}},
		{name: "outside every deployment window", v: view(t, scheduled, weekdays), at: t0.Add(3 * time.Hour), required: true,
			refusals: []errs.Reason{errorsv1.ErrorReason_ERROR_REASON_OUTSIDE_DEPLOYMENT_WINDOW}, saying: "mornings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, who, at, kind := "production", "bob", tc.at, tc.kind
			if tc.env != "" {
				env = tc.env
			}
			if tc.who != "" {
				who = tc.who
			}
			if at.IsZero() {
				at = t0
			}
			if kind == 0 {
				kind = PromotionNormal
			}
			got, err := tc.v.check("rel1", env, who, at, tc.required, kind)
			if len(tc.refusals) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got != tc.want {
					t.Errorf("authorization %+v, want %+v", got, tc.want)
				}
				return
			}
			var pe *errs.PreconditionError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if len(pe.Kinds) != len(tc.refusals) {
				t.Fatalf("refusal kinds %v, want %v (%v)", pe.Kinds, tc.refusals, pe.Reasons)
			}
			for i := range tc.refusals {
				if pe.Kinds[i] != tc.refusals[i] {
					t.Errorf("refusal kinds %v, want %v (%v)", pe.Kinds, tc.refusals, pe.Reasons)
				}
			}
			if pe.Reason != tc.refusals[0] {
				t.Errorf("the refusal's reason is %v, want its first kind %v", pe.Reason, tc.refusals[0])
			}
			if !strings.Contains(strings.Join(pe.Reasons, "; "), tc.saying) {
				t.Errorf("the refusal %q does not say %q", pe.Reasons, tc.saying)
			}
		})
	}
}
