package releasesvc_test

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

// Benchmarks under concurrency, each against the same-run baseline of a
// no-op authenticated RPC (SystemService/WhoAmI) through the same stack:
// 16 concurrent callers (b.SetParallelism(8) on 2 cores) over loopback gRPC.
// Run: go test -run '^$' -bench Load -benchtime 3s ./services/release/releasesvc

const callers = 16

func parallelism(b *testing.B) {
	b.SetParallelism(max(1, callers/runtimeProcs()))
}

// seed creates n releases across products p0..p9, one writer per product
// (versions must grow per product); it returns their ids.
func seed(b *testing.B, e *env, n int) []string {
	b.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for p := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client("alice")
			for i := p; i < n; i += 10 {
				resp, err := c.CreateRelease(context.Background(), &releasev1.CreateReleaseRequest{
					Product: fmt.Sprintf("p%d", p), Version: fmt.Sprintf("1.%d.0", i/10), Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR,
					Title: fmt.Sprintf("release %d", i), Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "f"}},
				})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = resp.GetRelease().GetId()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("seeding: %v", err)
	}
	return ids
}

// runParallel runs call from 16 callers and reports requests/s with p50/p99.
func runParallel(b *testing.B, call func(ctx context.Context, i int) error) {
	b.Helper()
	parallelism(b)
	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := int(n.Add(1))
			start := time.Now()
			if err := call(context.Background(), i); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	reportLatencies(b, lat)
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
}

// runSerial runs call from one caller, one at a time: its latencies are the
// server's time plus one loopback round trip and the client's own encoding,
// with no queueing behind other callers.
func runSerial(b *testing.B, call func(ctx context.Context, i int) error) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := call(context.Background(), i); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatencies(b, lat)
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkLoadWhoAmI(b *testing.B) {
	e := startEnvB(b)
	sys := systemv1.NewSystemServiceClient(e.Conn("alice"))
	runParallel(b, func(ctx context.Context, _ int) error {
		_, err := sys.WhoAmI(ctx, &systemv1.WhoAmIRequest{})
		return err
	})
}

func BenchmarkLoadGetRelease(b *testing.B) {
	e := startEnvB(b)
	ids := seed(b, e, getSeed)
	c := e.client("alice")
	runParallel(b, func(ctx context.Context, i int) error {
		_, err := c.GetRelease(ctx, &releasev1.GetReleaseRequest{ReleaseId: ids[i%len(ids)]})
		return err
	})
}

func BenchmarkLoadListReleases(b *testing.B) {
	// The same response at every size, so only the number of releases
	// differs. status: a page of 50 of the planned releases (all of them);
	// product: a page of 10 of one product's (one in ten); product,status
	// also checks each candidate's status, and counting the total then walks
	// all of the product's releases.
	queries := []struct {
		name string
		req  *releasev1.ListReleasesRequest
		want int
	}{
		{"status", &releasev1.ListReleasesRequest{Status: releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED, PageSize: 50}, 50},
		{"product", &releasev1.ListReleasesRequest{Product: "p3", PageSize: 10}, 10},
		{"product,status", &releasev1.ListReleasesRequest{Product: "p3", Status: releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED, PageSize: 10}, 10},
	}
	for _, n := range []int{100, 10_000} {
		e := startEnvB(b)
		seed(b, e, n)
		c := e.client("alice")
		for _, q := range queries {
			call := func(ctx context.Context, _ int) error {
				resp, err := c.ListReleases(ctx, q.req)
				if err == nil && len(resp.GetReleases()) != q.want {
					err = fmt.Errorf("page of %d, want %d", len(resp.GetReleases()), q.want)
				}
				return err
			}
			b.Run(fmt.Sprintf("releases=%d/filter=%s", n, q.name), func(b *testing.B) { runParallel(b, call) })
			b.Run(fmt.Sprintf("releases=%d/filter=%s/callers=1", n, q.name), func(b *testing.B) { runSerial(b, call) })
		}
	}
}

func BenchmarkLoadCreateRelease(b *testing.B) {
	e := startEnvB(b)
	c := e.client("alice")
	runParallel(b, func(ctx context.Context, i int) error {
		_, err := c.CreateRelease(ctx, &releasev1.CreateReleaseRequest{
			Product: fmt.Sprintf("prod-%d", i), Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "bench",
			Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "f"}},
		})
		return err
	})
}

func BenchmarkLoadApprove(b *testing.B) {
	e := startEnvB(b)
	ids := seed(b, e, max(b.N, 100)+callers)
	c := e.client("bob") // release manager: approves for production, distinct release each time
	runParallel(b, func(ctx context.Context, i int) error {
		_, err := c.Approve(ctx, &releasev1.ApproveRequest{ReleaseId: ids[i%len(ids)], Environment: "production"})
		return err
	})
}

func runtimeProcs() int { return goruntime.GOMAXPROCS(0) }

// getSeed is how many releases BenchmarkLoadGetRelease reads from.
var getSeed = 10000
