package eventstore_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

func TestEventFiltersComeFromTheProtoOption(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"release event", eventstore.EventFilter(&releasev1.PromotionRequested{}), "floe.evt.release.*.PromotionRequested"},
		{"product event", eventstore.EventFilter(&releasev1.VersionReserved{}), "floe.evt.product.*.VersionReserved"},
		{"deployment event", eventstore.EventFilter(&deployv1.RolledBack{}), "floe.evt.deployment.*.RolledBack"},
		{"kind", eventstore.KindFilter("release"), "floe.evt.release.>"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: filter %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if got := eventstore.AggregateOf(wrapperspb.String("x")); got != "" {
		t.Errorf("AggregateOf(StringValue) = %q, want none", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("EventFilter of a message that declares no aggregate did not panic")
		}
	}()
	eventstore.EventFilter(wrapperspb.String("not an event"))
}

func TestAppendRefusesAnEventOfAnotherAggregate(t *testing.T) {
	t.Parallel()
	_, s := newStore(t, "order", "release")
	// ReleaseCreated declares the release aggregate: appending it to an order is refused, and nothing is written.
	_, err := s.Append(actorCtx(t), "order", "o1", eventstore.NoStream, testMeta, eventstore.Event{Message: &releasev1.ReleaseCreated{ReleaseId: "r1"}})
	var ia *errs.InvalidArgumentError
	if err == nil || !strings.Contains(err.Error(), "is an event of the release aggregate, not of order") || !asInvalid(err, &ia) {
		t.Fatalf("Append of a release event to an order = %v, want InvalidArgument naming both aggregates", err)
	}
	if v, seq, err := s.Head(actorCtx(t), "order", "o1"); err != nil || v != 0 || seq != 0 {
		t.Errorf("Head after the refused append = %d @%d, %v; want nothing", v, seq, err)
	}
	res, err := s.Append(actorCtx(t), "release", "r1", eventstore.NoStream, testMeta, eventstore.Event{Message: &releasev1.ReleaseCreated{ReleaseId: "r1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 || res.Events[0].Seq != res.LastSeq || res.Events[0].Aggregate != "release" || res.Events[0].Name != "ReleaseCreated" ||
		res.Events[0].Actor != "tester" || res.Events[0].Version != 1 || res.Events[0].Hash != res.Hash {
		t.Errorf("AppendResult.Events = %+v, want the stored event", res.Events)
	}
	st, err := s.Load(actorCtx(t), "release", "r1", nil)
	if err != nil || len(st.Events) != 1 {
		t.Fatalf("Load = %v, %v", st, err)
	}
	got, want := *res.Events[0], *st.Events[0]
	got.Time, want.Time = got.Time.UTC(), want.Time.UTC()
	if got.ID != want.ID || got.Hash != want.Hash || got.PrevHash != want.PrevHash || got.Seq != want.Seq || !got.Time.Equal(want.Time) || string(got.Data) != string(want.Data) {
		t.Errorf("the appended event as returned differs from the one loaded:\n got %+v\nwant %+v", got, want)
	}
	if v, seq, err := s.Head(actorCtx(t), "release", "r1"); err != nil || v != 1 || seq != res.LastSeq {
		t.Errorf("Head = %d @%d, %v; want 1 @%d", v, seq, err, res.LastSeq)
	}
}
