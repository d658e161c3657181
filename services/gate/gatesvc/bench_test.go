package gatesvc_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/gate/gatesvc"
)

// junitGenerator writes a JUnit report of about size bytes on the fly: test
// cases, every hundredth failing, and one large <system-out>, as a real
// suite with verbose logging would.
type junitGenerator struct {
	size, written int
	cases         int
	buf           []byte
	state         int
}

func (g *junitGenerator) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.state == 0:
			g.buf = []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites><testsuite name=\"bench\">\n")
			g.state = 1
		case g.state == 1 && g.cases < 10_000:
			g.cases++
			if g.cases%100 == 0 {
				g.buf = fmt.Appendf(nil, "<testcase classname=\"bench.Case\" name=\"Test%d\" time=\"0.01\"><failure message=\"expected 1, got 2\">trace</failure></testcase>\n", g.cases)
			} else {
				g.buf = fmt.Appendf(nil, "<testcase classname=\"bench.Case\" name=\"Test%d\" time=\"0.01\"/>\n", g.cases)
			}
		case g.state == 1:
			g.buf = []byte("<system-out>")
			g.state = 2
		case g.state == 2 && g.written < g.size-64:
			n := min(64<<10, g.size-64-g.written)
			line := []byte("2026-12-03T12:00:00Z INFO request served in 3ms status=200 path=/api/campaigns\n")
			for len(g.buf) < n {
				g.buf = append(g.buf, line...)
			}
			g.buf = g.buf[:n]
		case g.state == 2:
			g.buf = []byte("</system-out></testsuite></testsuites>\n")
			g.state = 3
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	g.written += n
	return n, nil
}

// BenchmarkReportResults50MB streams a 50 MB JUnit report through gRPC
// (1 MiB chunks) into ReportResults on a service host in this process: the
// report is hashed into a temporary file, parsed, kept in the object store
// and recorded. MB/s is the whole call; peak-heap-MB is the most heap in
// use while it ran (client and server share the process), against 50 MB of
// input.
func BenchmarkReportResults50MB(b *testing.B) {
	const size = 50 << 20
	w := startWith(b, gatesvc.Config{TickInterval: time.Second}) // the default report limit, 128 MiB
	id := w.createB(b)
	w.deploy(id, "development")
	w.run(id, "development", opened(1))
	b.SetBytes(size)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	for b.Loop() {
		stream, err := w.gates("carol").ReportResults(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if err := stream.Send(&gatev1.ReportResultsRequest{Part: &gatev1.ReportResultsRequest_Header{Header: &gatev1.ReportHeader{
			ReleaseId: id, Environment: "development", Gate: "Unit Tests", Suite: "unit-tests", Format: junitFormat, Filename: "big.xml",
		}}}); err != nil {
			b.Fatal(err)
		}
		gen := &junitGenerator{size: size}
		buf := make([]byte, 1<<20)
		for {
			n, rerr := io.ReadFull(gen, buf)
			if n > 0 {
				if err := stream.Send(&gatev1.ReportResultsRequest{Part: &gatev1.ReportResultsRequest_Chunk{Chunk: buf[:n]}}); err != nil {
					b.Fatal(err)
				}
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			b.Fatal(err)
		}
		if resp.GetEvidence().GetTests() != 10_000 || resp.GetEvidence().GetFailed() != 100 {
			b.Fatalf("evidence: %v", resp.GetEvidence())
		}
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-growth-MB")
}

func (w *world) createB(b *testing.B) string {
	r, err := w.releases("alice").CreateRelease(b.Context(), &releasev1.CreateReleaseRequest{
		Product: "penguinmails", Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "bench",
		Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "x"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	id := r.GetRelease().GetId()
	if _, err := w.releases("alice").Promote(b.Context(), &releasev1.PromoteRequest{ReleaseId: id, Environment: "development"}); err != nil {
		b.Fatal(err)
	}
	return id
}
