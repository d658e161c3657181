package sarif

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fuzzSeeds are the error cases and odd shapes of the other tests, added to
// the corpus next to every testdata log.
var fuzzSeeds = []string{
	"",
	" \n",
	"\xef\xbb\xbf{}",
	`[]`,
	`"2.1.0"`,
	`{"version":"2.1.0"}`,
	`{"runs":[]}`,
	`{"version":"2.0.0","runs":[]}`,
	`{"version":2.1,"runs":null}`,
	`{"version":"2.1.0","runs":[]} {}`,
	`{"version":"2.1.0","runs":[1]}`,
	`{"version":"2.1.0","runs":[{"results":{}}]}`,
	`{"version":"2.1.0","runs":[{"results":[null]}]}`,
	`{"version":"2.1.0","runs":[{"results":[{"ruleIndex":"3"}]}]}`,
	`{"version":"2.1.0","runs":[{"results":[{"level":"critical"}]}]}`,
	`{"version":"2.1.0","runs":[{"results":[{"ruleId":"a/b/c","ruleIndex":1e3},{"rule":{"index":0,"toolComponent":{"index":2147483648}}}],"tool":{"driver":{"rules":[{"id":"a","defaultConfiguration":{"level":"error"}}]},"extensions":[{"name":"x","guid":"G","rules":[null,{}]}]}}]}`,
	`{"version":"2.1.0","runs":[{"results":[{"kind":"pass"},{"suppressions":[{"status":"rejected"}]},{"baselineState":"absent"},{"baselineState":"unchanged","level":"error","partialFingerprints":{"a":"b"}},{"level":"error","fingerprints":{"a":"b"},"suppressions":[]}]}]}`,
	`{"version":"2.1.0","runs":[{"properties":` + strings.Repeat(`{"a":[`, 50) + `1` + strings.Repeat(`]}`, 50) + `}]}`,
	`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","version":"1","semanticVersion":"2"}}},{"tool":{"driver":{"name":null}}}]}`,
}

// FuzzParse checks that no input makes Parse panic, return a non-*Error
// error, or produce a Summary that breaks the invariants.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.sarif")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	// Small limits, so that the fuzzer reaches the too_large paths and the
	// deferred-findings cap.
	lim := Limits{MaxBytes: 64 << 10, MaxResult: 2 << 10, MaxFindings: 2}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range []Limits{lim, {}} {
			s, err := Parse(bytes.NewReader(data), l)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T is not *Error: %v", err, err)
				}
				if s != nil {
					t.Fatal("summary with error")
				}
				if !slices.Contains([]string{KindMalformed, KindTooLarge, KindNotSARIF, KindUnsupportedVersion, KindEmpty}, e.Kind) {
					t.Fatalf("unexpected kind %q", e.Kind)
				}
				if e.Offset < 0 || e.Offset > int64(len(data))+1 || e.Msg == "" {
					t.Fatalf("bad error %#v for %d bytes", e, len(data))
				}
				continue
			}
			checkInvariants(t, s)
			if len(s.Findings) > max(l.MaxFindings, 0) && l.MaxFindings > 0 {
				t.Fatalf("%d findings over limit %d", len(s.Findings), l.MaxFindings)
			}
			nw := NewErrors(s, s.ErrorKeys[:len(s.ErrorKeys)/2])
			if len(nw) > len(s.ErrorKeys) || !slices.IsSorted(nw) {
				t.Fatalf("NewErrors %v", nw)
			}
		}
	})
}
