package main

import (
	"math"
	"sort"
	"time"
)

// Latency histogram: log-spaced buckets from histMin, each histGrowth times
// wider than the last, so percentiles are within 1% of the true value while
// memory stays fixed however long the run.
const (
	histMin     = time.Microsecond
	histGrowth  = 1.01
	histBuckets = 2300 // histMin * 1.01^2300 ≈ 8.6e9 µs ≈ 2.4 h
)

var logGrowth = math.Log(histGrowth)

type histogram struct {
	counts   [histBuckets]int64
	n        int64
	min, max time.Duration
}

func (h *histogram) add(d time.Duration) {
	i := 0
	if d > histMin {
		i = int(math.Log(float64(d)/float64(histMin)) / logGrowth)
	}
	h.counts[min(i, histBuckets-1)]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
}

// quantile returns the q-quantile (0 < q ≤ 1): the upper bound of the bucket
// holding it, clamped to the observed range.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == histBuckets-1 {
				return h.max // the last bucket is open-ended
			}
			upper := time.Duration(float64(histMin) * math.Pow(histGrowth, float64(i+1)))
			return min(max(upper, h.min), h.max)
		}
	}
	return h.max
}

// result is the outcome of one request: a response (code > 0) or an error.
type result struct {
	code    int
	version string // X-Demoapp-Version; "" when absent
	latency time.Duration
	errKind string
}

// noVersion stands for responses without an X-Demoapp-Version header.
const noVersion = "(none)"

// tally accumulates results over one window.
type tally struct {
	start    time.Time
	requests int64
	skipped  int64
	codes    map[int]int64
	errors   map[string]int64
	versions map[string]*VersionCount
	latency  *histogram
}

func newTally(start time.Time) *tally {
	return &tally{
		start:    start,
		codes:    map[int]int64{},
		errors:   map[string]int64{},
		versions: map[string]*VersionCount{},
		latency:  &histogram{},
	}
}

func (t *tally) add(r result) {
	t.requests++
	if r.errKind != "" {
		t.errors[r.errKind]++
		return
	}
	t.codes[r.code]++
	v := r.version
	if v == "" {
		v = noVersion
	}
	vc := t.versions[v]
	if vc == nil {
		vc = &VersionCount{Codes: map[int]int64{}}
		t.versions[v] = vc
	}
	vc.Requests++
	vc.Codes[r.code]++
	t.latency.add(r.latency)
}

// summary reports the window from t.start to now; runStart is the start of
// the run, for Elapsed.
func (t *tally) summary(kind string, runStart, now time.Time) Summary {
	window := now.Sub(t.start)
	s := Summary{
		Kind:     kind,
		Elapsed:  now.Sub(runStart).Seconds(),
		Window:   window.Seconds(),
		Requests: t.requests,
		Skipped:  t.skipped,
		Codes:    copyMap(t.codes),
		Errors:   copyMap(t.errors),
		Versions: make(map[string]VersionCount, len(t.versions)),
		Latency: Latency{
			P50: ms(t.latency.quantile(0.50)),
			P90: ms(t.latency.quantile(0.90)),
			P99: ms(t.latency.quantile(0.99)),
			Max: ms(t.latency.max),
		},
	}
	if window > 0 {
		s.RPS = float64(t.requests) / window.Seconds()
	}
	for v, vc := range t.versions {
		s.Versions[v] = VersionCount{Requests: vc.Requests, Codes: copyMap(vc.Codes)}
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func copyMap[K comparable](m map[K]int64) map[K]int64 {
	out := make(map[K]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
