package junit

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// caseKind is the generator's rule for testcase i: every 250th (from 3)
// errors, every 100th (from 7) fails, every 40th (from 5) is skipped.
func caseKind(i int) string {
	switch {
	case i%250 == 3:
		return "error"
	case i%100 == 7:
		return "failure"
	case i%40 == 5:
		return "skipped"
	}
	return "passed"
}

// logBlock is one 64 KiB block of system-out text: entities, multi-byte
// UTF-8 and newlines, so the filter's slow and fast paths both run.
var logBlock = func() []byte {
	line := "2026-01-02T03:04:05Z worker-7 handled request &amp; replied &lt;200 OK&gt; ünïcödé ☃ in 3ms\n"
	var b bytes.Buffer
	for b.Len()+len(line) <= 64<<10 {
		b.WriteString(line)
	}
	return b.Bytes()
}()

var cdataBlock = bytes.Repeat([]byte("stderr: <no escaping> & ]] > in CDATA ☃\n"), 1500)

// writeReport writes a go-junit-report style report of n testcases in
// suites of 1000. If bigOut > 0, testcase n/2 gets a <system-out> of about
// bigOut bytes and the first suite a CDATA <system-err> of about bigErr.
func writeReport(w io.Writer, n int, bigOut, bigErr int64) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%d\">\n", n)
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			if i > 0 {
				bw.WriteString("\t</testsuite>\n")
			}
			fmt.Fprintf(bw, "\t<testsuite name=\"example.com/pkg%d\" tests=\"%d\" time=\"1.5\">\n", i/1000, min(1000, n-i))
			fmt.Fprintf(bw, "\t\t<properties><property name=\"go.version\" value=\"go1.26\"></property></properties>\n")
			if i == 0 && bigErr > 0 {
				bw.WriteString("\t\t<system-err><![CDATA[")
				for written := int64(0); written < bigErr; written += int64(len(cdataBlock)) {
					bw.Write(cdataBlock)
				}
				bw.WriteString("]]></system-err>\n")
			}
		}
		fmt.Fprintf(bw, "\t\t<testcase classname=\"example.com/pkg%d\" name=\"TestThing%d/sub_case\" time=\"0.001\">", i/1000, i)
		switch caseKind(i) {
		case "failure":
			fmt.Fprintf(bw, "<failure message=\"Failed\" type=\"\">=== RUN   TestThing%d\n    thing_test.go:%d: got 41, want 42 &amp; more\n--- FAIL: TestThing%d (0.00s)\n</failure>", i, i%500, i)
		case "error":
			fmt.Fprintf(bw, "<error><![CDATA[panic: runtime error: index out of range [%d] with length 3\n\ngoroutine 7 [running]:\nexample.com/pkg.TestThing%d(0xc000102340)\n\t/src/thing_test.go:12 +0x1d\n]]></error>", i, i)
		case "skipped":
			bw.WriteString("<skipped message=\"needs a database\"></skipped>")
		}
		if i == n/2 && bigOut > 0 {
			bw.WriteString("<system-out>")
			for written := int64(0); written < bigOut; written += int64(len(logBlock)) {
				bw.Write(logBlock)
			}
			bw.WriteString("</system-out>")
		}
		bw.WriteString("</testcase>\n")
	}
	if n > 0 {
		bw.WriteString("\t</testsuite>\n")
	}
	bw.WriteString("</testsuites>\n")
	return bw.Flush()
}

// countWriter counts what passes through the pipe.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func wantCounts(n int) counts {
	want := counts{Format: "go", Suites: (n + 999) / 1000, Tests: n, Declared: n}
	for i := 0; i < n; i++ {
		switch caseKind(i) {
		case "error":
			want.Errored++
		case "failure":
			want.Failed++
		case "skipped":
			want.Skipped++
		default:
			want.Passed++
		}
	}
	return want
}

// heapSampler records the peak HeapInuse while it runs.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapInuse)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak
}

// TestBoundedMemory streams a ~60 MB report (never held in memory: it is
// generated into an io.Pipe) with 10,000 testcases, a 50 MB <system-out>
// and an 8 MB CDATA <system-err>, and checks the counts are exact while
// the heap stays far below the input size.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 60 MB")
	}
	const (
		n        = 10_000
		bigOut   = 50 << 20
		bigErr   = 8 << 20
		heapPeak = 16 << 20 // a buffered 50 MB text run could never fit
	)
	pr, pw := io.Pipe()
	cw := &countWriter{w: pw}
	go func() { pw.CloseWithError(writeReport(cw, n, bigOut, bigErr)) }()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sampler := startSampler()
	s, err := Parse(pr, Limits{})
	peak := sampler.Stop()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if cw.n < 58<<20 {
		t.Fatalf("generated only %d bytes", cw.n)
	}
	if got, want := countsOf(s), wantCounts(n); got != want {
		t.Errorf("counts\n got %+v\nwant %+v", got, want)
	}
	checkInvariants(t, s, Limits{}.withDefaults())
	if !s.Truncated || len(s.Failures) != DefaultMaxFailures {
		t.Errorf("Truncated %v, %d failures kept", s.Truncated, len(s.Failures))
	}
	if d := s.Duration; d < 9.99 || d > 10.01 {
		t.Errorf("Duration = %v, want 10", d)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("input %.1f MB: peak HeapInuse %.1f MB (baseline %.1f MB), allocated %.1f MB in total",
		float64(cw.n)/(1<<20), float64(peak)/(1<<20), float64(before.HeapInuse)/(1<<20), float64(alloc)/(1<<20))
	if peak > heapPeak {
		t.Errorf("peak HeapInuse %d bytes, want < %d: text is being buffered", peak, heapPeak)
	}
	// Everything allocated, garbage included, stays well under the input:
	// buffering the 50 MB run would alone allocate more than that.
	if alloc > uint64(cw.n)/2 {
		t.Errorf("allocated %d bytes for a %d-byte input", alloc, cw.n)
	}
}

// TestHugeTextRuns: a single run of 20 MB of text (no newline) and a 20 MB
// CDATA section at the smallest MaxText still count correctly.
func TestHugeTextRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 40 MB (runs without -short, as make test does)")
	}
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriter(pw)
		bw.WriteString(`<testsuite><testcase name="a"><failure>`)
		chunk := []byte(strings.Repeat("x&amp;☃", 4096))
		for i := 0; i < (20<<20)/len(chunk); i++ {
			bw.Write(chunk)
		}
		bw.WriteString(`</failure><system-out><![CDATA[`)
		for i := 0; i < (20<<20)/len(chunk); i++ {
			bw.Write(chunk)
		}
		bw.WriteString(`]]></system-out></testcase></testsuite>`)
		pw.CloseWithError(bw.Flush())
	}()
	s, err := Parse(pr, Limits{MaxText: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s.Tests != 1 || s.Failed != 1 || s.Failures[0].Message != "x" || !s.Truncated {
		t.Errorf("%+v", s)
	}
}

var benchReport = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	if err := writeReport(&b, 10_000, 0, 0); err != nil {
		panic(err)
	}
	return b.Bytes()
})

// BenchmarkParse10k parses a 10,000-testcase report (1.3% failing) from
// memory. peak-heap-MB is the peak HeapInuse seen during one extra parse.
func BenchmarkParse10k(b *testing.B) {
	data := benchReport()
	want := wantCounts(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := Parse(bytes.NewReader(data), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if s.Tests != want.Tests {
			b.Fatalf("Tests = %d", s.Tests)
		}
	}
	b.StopTimer()
	runtime.GC()
	sampler := startSampler()
	if _, err := Parse(bytes.NewReader(data), Limits{}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(sampler.Stop())/(1<<20), "peak-heap-MB")
}

// BenchmarkRawXMLTokens10k is the baseline of BenchmarkParse10k, in the
// same run: encoding/xml's token loop over the same report, doing nothing
// with the tokens.
func BenchmarkRawXMLTokens10k(b *testing.B) {
	data := benchReport()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			if _, err := d.Token(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}
