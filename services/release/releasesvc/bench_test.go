package releasesvc_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Benchmarks of commands through the real gRPC stack on loopback (auth,
// interceptors, event store on an embedded JetStream). Besides ns/op they
// report p50 and p99 latency. Run: make bench BENCH=Release (docs/performance.md).

func reportLatencies(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "cmds/s")
}

func BenchmarkReleaseCreate(b *testing.B) {
	e := startEnvB(b)
	c := e.client("alice")
	ctx := b.Context()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		_, err := c.CreateRelease(ctx, &releasev1.CreateReleaseRequest{
			Product: "bench", Version: fmt.Sprintf("1.0.%d", i), Type: releasev1.ReleaseType_RELEASE_TYPE_PATCH, Title: "bench",
			Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "fix"}},
		})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	reportLatencies(b, lat)
}

func BenchmarkReleaseApprove(b *testing.B) {
	e := startEnvB(b)
	ctx := b.Context()
	approvers := []string{"ops1", "ops2", "ops3", "ops4", "ops5", "ops6", "ops7", "ops8"}
	var lat []time.Duration
	var id string
	i := 0
	for b.Loop() {
		if i%len(approvers) == 0 { // a fresh release every 8 approvals (not timed)
			b.StopTimer()
			resp, err := e.client("alice").CreateRelease(ctx, &releasev1.CreateReleaseRequest{
				Product: "bench", Version: fmt.Sprintf("1.0.%d", i/len(approvers)+1), Type: releasev1.ReleaseType_RELEASE_TYPE_PATCH, Title: "bench",
			})
			if err != nil {
				b.Fatal(err)
			}
			id = resp.GetRelease().GetId()
			b.StartTimer()
		}
		start := time.Now()
		_, err := e.client(approvers[i%len(approvers)]).Approve(ctx, &releasev1.ApproveRequest{ReleaseId: id, Environment: "production"})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportLatencies(b, lat)
}
