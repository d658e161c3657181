package changeview

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/window"
)

// BenchmarkCheck is what change management adds to a promotion: the
// calendar (8 windows, 4 freezes, one override) and the change that
// authorizes the release among 1,000 changes (check), against the calendar
// decision alone (calendar: window.CheckPromotion on the same policy).
func BenchmarkCheck(b *testing.B) {
	changes := map[string][]proto.Message{}
	for i := range 1000 {
		id := fmt.Sprintf("c%d", i)
		sub := submitted(id)
		sub.Releases = []string{fmt.Sprintf("rel%d", i)}
		changes[id] = append(append([]proto.Message{sub}, approved()...), scheduledIn(t0, t0.Add(6*time.Hour)))
	}
	var cal []proto.Message
	for i := range 8 {
		cal = append(cal, &changev1.WindowCreated{Window: &changev1.DeploymentWindow{Id: fmt.Sprintf("w%d", i), Name: "w", Environment: "production", TimeZone: "Europe/Berlin",
			DurationMinutes: 240, Recurrence: &changev1.Recurrence{Cron: fmt.Sprintf("0 %d * * 1-5", 6+i)}}})
	}
	for i := range 4 {
		cal = append(cal, &changev1.FreezeCreated{Freeze: &changev1.Freeze{Id: fmt.Sprintf("f%d", i), Environments: []string{"production"}, Reason: "r", CreatedBy: "dave",
			Start: timestamppb.New(t0.Add(time.Duration(i+1) * 24 * time.Hour)), End: timestamppb.New(t0.Add(time.Duration(i+1)*24*time.Hour + time.Hour))}})
	}
	cal = append(cal, override("bob"))
	v := view(b, changes, cal...)
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if a, err := v.check("rel500", "production", "bob", t0, true, PromotionNormal); err != nil || a.ChangeID != "c500" {
				b.Fatalf("%+v %v", a, err)
			}
		}
	})
	pol := v.cal.Policy(nil)
	b.Run("calendar", func(b *testing.B) {
		for b.Loop() {
			if verdict := window.CheckPromotion(pol, "production", t0, window.PromotionNormal, nil); !verdict.Allowed {
				b.Fatalf("%+v", verdict)
			}
		}
	})
}
