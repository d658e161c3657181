package sarif

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"testing"
)

// samplingReader samples the heap every 64 KiB read, to find the peak heap
// of one Parse without a goroutine competing for the CPU.
type samplingReader struct {
	r    io.Reader
	hs   *heapSampler
	next int64
	n    int64
}

func (s *samplingReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.n >= s.next {
		s.hs.sample()
		s.next = s.n + 64<<10
	}
	return n, err
}

func benchParse(b *testing.B, cfg genConfig) {
	var buf bytes.Buffer
	want, err := genLog(&buf, cfg)
	if err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := Parse(bytes.NewReader(data), Limits{})
		if err != nil || s.Results != want.results || s.Errors != want.errors {
			b.Fatalf("%v %+v", err, s)
		}
	}
	b.StopTimer()
	hs := newHeapSampler()
	if _, err := Parse(&samplingReader{r: bytes.NewReader(data), hs: hs}, Limits{}); err != nil {
		b.Fatal(err)
	}
	hs.sample()
	b.ReportMetric(float64(hs.growth()), "peak-heap-B")
	b.ReportMetric(float64(len(data)), "input-B")
}

// BenchmarkParse5k parses a generated 5,000-result log (CodeQL-like shape,
// ~300 bytes a result, tool first).
func BenchmarkParse5k(b *testing.B) {
	benchParse(b, genConfig{results: 5000, resultBytes: 300})
}

// BenchmarkParse5kResultsFirst is the same log with the results before the
// rules, as gosec writes it, so that levels are resolved at the run's end.
func BenchmarkParse5kResultsFirst(b *testing.B) {
	benchParse(b, genConfig{results: 5000, resultBytes: 300, resultsFirst: true})
}

// BenchmarkParseGosecFile parses the real gosec log in testdata.
func BenchmarkParseGosecFile(b *testing.B) {
	data := readTestdata(b, "gosec-v1.sarif")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawJSONUnmarshal5k is the baseline of BenchmarkParse5k, in the
// same run: encoding/json decoding the same log whole into generic values
// (what a parser that buffers the document does), with its peak heap.
func BenchmarkRawJSONUnmarshal5k(b *testing.B) {
	var buf bytes.Buffer
	if _, err := genLog(&buf, genConfig{results: 5000, resultBytes: 300}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	hs := newHeapSampler()
	var v any
	if err := json.NewDecoder(&samplingReader{r: bytes.NewReader(data), hs: hs}).Decode(&v); err != nil {
		b.Fatal(err)
	}
	hs.sample()
	b.ReportMetric(float64(hs.growth()), "peak-heap-B")
	runtime.KeepAlive(v)
}
