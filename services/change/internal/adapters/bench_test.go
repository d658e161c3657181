package adapters_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/internal/adapters"
)

// BenchmarkComplianceReport is the cost of a report over a log of n
// production changes (each: a change submitted and approved, a promotion,
// a deployment started and succeeded: 6 events), against the baseline of
// reading and decoding the same log (read-log). The report reads the whole
// log from its start; its verification is left out here (no key): it is
// the audit verifier's cost, measured in libs/eventstore/audit.
func BenchmarkComplianceReport(b *testing.B) {
	const n = 1000
	_, _, js := natstest.JetStream(b)
	ctx := context.Background()
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "bench", Aggregates: []string{"release", "deployment", "change"}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	appendAll := func(agg, id string, ms ...proto.Message) {
		evs := make([]eventstore.Event, len(ms))
		for i, m := range ms {
			evs[i] = eventstore.Event{Message: m}
		}
		if _, err := store.Append(ctx, agg, id, eventstore.NoStream, eventstore.Meta{Actor: "bench"}, evs...); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		rel, chg, dep := fmt.Sprintf("r%d", i), fmt.Sprintf("c%d", i), fmt.Sprintf("r%d-production-1", i)
		appendAll("change", chg, &changev1.ChangeSubmitted{Id: chg, Submitter: "alice", Class: changev1.ChangeClass_CHANGE_CLASS_NORMAL, Title: "t",
			Environments: []string{"production"}, Releases: []string{rel}},
			&changev1.ChangeApprovalGranted{Approver: "dave", As: "operations", Counts: true}, &changev1.ChangeApproved{Approvals: 1, Required: 1})
		appendAll("release", rel, &releasev1.PromotionRequested{ReleaseId: rel, Product: "p", Version: "1.0.0", Environment: "production", RequestedBy: "bob", ApprovedBy: []string{"dave"}, Attempt: 1, ChangeId: chg})
		appendAll("deployment", dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Version: "1.0.0", Environment: "production", Attempt: 1, ChangeId: chg},
			&deployv1.DeploymentSucceeded{DeploymentId: dep, ReleaseId: rel, Version: "1.0.0", Environment: "production"})
	}
	last, err := store.LastSeq(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read-log", func(b *testing.B) {
		for b.Loop() {
			count := 0
			err := eventstore.ReadDirect(ctx, js, store.StreamName(), eventstore.SubjectPrefix+">", 1, last, func(e *eventstore.RecordedEvent) (bool, error) {
				_, err := e.Decode()
				count++
				return true, err
			})
			if err != nil || count != int(last) {
				b.Fatalf("read %d of %d: %v", count, last, err)
			}
		}
		b.ReportMetric(float64(last)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	c := &adapters.Compliance{JS: js, Stream: store.StreamName()}
	b.Run("report", func(b *testing.B) {
		for b.Loop() {
			r, err := c.Report(ctx, start.Add(-time.Hour), time.Now().Add(time.Hour), []string{"production"}, time.Now())
			if err != nil || len(r.GetChanges()) != n {
				b.Fatalf("report of %d changes: %v", len(r.GetChanges()), err)
			}
		}
		b.ReportMetric(float64(last)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
