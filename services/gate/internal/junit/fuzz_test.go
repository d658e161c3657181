package junit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

var kinds = map[string]bool{
	KindMalformed: true, KindTooLarge: true, KindTooDeep: true,
	KindNotJUnit: true, KindEmpty: true, KindIO: true,
}

// FuzzParse checks that Parse never panics, that every error is an *Error
// with a known Kind and a position inside the input, that the counts are
// consistent, and that truncating text (MaxText) never changes the counts.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tc := range errorCases {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(`<testsuites><testcase name="a"><failure>x&amp;y☃z</failure></testcase><testsuite><testsuite name="n"><testcase><skipped/></testcase></testsuite></testsuite></testsuites>`))
	f.Add([]byte("<testsuite><testcase><error><![CDATA[a]]]]><![CDATA[>]]></error><rerunFailure/><flakyError/></testcase></testsuite>"))

	big := Limits{MaxDepth: 12, MaxTag: 4096, MaxFailures: 3, MaxBytes: 1 << 20, MaxText: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		// parse, not Parse: Parse would turn a panic into an error.
		s, err := parse(bytes.NewReader(data), big)
		checkResult(t, data, s, err, big.withDefaults())

		for _, n := range []int{1, 5} {
			small := big
			small.MaxText = n
			s2, err2 := parse(bytes.NewReader(data), small)
			checkResult(t, data, s2, err2, small.withDefaults())
			if err == nil {
				// Truncating text must not make a good report bad, nor change
				// what it counts.
				if err2 != nil {
					t.Fatalf("parses with MaxText %d, fails with %d: %v", big.MaxText, n, err2)
				}
				if countsOf(s) != countsOf(s2) || s.Duration != s2.Duration {
					t.Fatalf("MaxText changed the summary:\n%+v\n%+v", s, s2)
				}
			}
		}
	})
}

func checkResult(t *testing.T, data []byte, s *Summary, err error, lim Limits) {
	t.Helper()
	if err != nil {
		if s != nil {
			t.Fatalf("summary and error both returned")
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not *Error: %v", err, err)
		}
		if !kinds[e.Kind] || e.Msg == "" {
			t.Fatalf("bad error %#v", e)
		}
		if e.Offset < 0 || e.Offset > int64(len(data)) || e.Line < 0 {
			t.Fatalf("position %d/%d outside the input of %d bytes: %v", e.Offset, e.Line, len(data), e)
		}
		return
	}
	if s == nil {
		t.Fatalf("nil summary and nil error")
	}
	checkInvariants(t, s, lim)
}
