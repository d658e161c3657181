package junit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// counts is the part of a Summary the seed table pins down.
type counts struct {
	Format                                          string
	Suites, Tests, Passed, Failed, Errored, Skipped int
	Declared                                        int
}

func countsOf(s *Summary) counts {
	return counts{s.Format, s.Suites, s.Tests, s.Passed, s.Failed, s.Errored, s.Skipped, s.DeclaredTests}
}

// seeds lists every file in testdata/ with the counts read off the file by
// hand (see testdata/README.md for where each file came from).
var seeds = []struct {
	file string
	want counts
	dur  float64 // sum of testcase time attributes; <0: not checked
}{
	// gotestsum: calc has 4 failures (TestAddWrong, TestSub/bad, TestSub,
	// TestPanics), 1 skip, 2 passes; util has 2 passes.
	{"gotestsum-1.13.0.xml", counts{"go", 2, 9, 4, 4, 0, 1, 9}, 0},
	// go-junit-report: same packages; the panic goes to the suite's
	// system-out, TestPanics is a plain failure. No go.version property.
	{"go-junit-report-2.1.0.xml", counts{"go", 2, 9, 4, 4, 0, 1, 9}, 0},
	// pytest: test_add_wrong and test_param[3] fail, the broken fixture
	// errors, skip + skip-inside + xfail are <skipped>.
	{"pytest-7.2.1-xunit2.xml", counts{"pytest", 1, 9, 3, 2, 1, 3, 9}, 0.013},
	{"pytest-7.2.1-xunit1-system-out.xml", counts{"pytest", 1, 9, 3, 2, 1, 3, 9}, 0.008},
	// jest-junit: the first suite says tests="5" but holds 6 testcases
	// (test.todo is written as a plain testcase, so it counts as passed).
	{"jest-30.5.2-jest-junit-17.0.0.xml", counts{"jest", 2, 7, 4, 2, 0, 1, 6}, 0.016},
	{"jest-30.5.2-jest-junit-17.0.0-file-console.xml", counts{"jest", 2, 7, 4, 2, 0, 1, 6}, 0.022},
	// Surefire with rerunFailingTestsCount=2: tests="10" counts reruns; 5
	// testcases: wrongSum failed (+2 rerunFailure), divideByZero errored
	// (+2 rerunError), flakyPassesOnRerun passed (flakyFailure), notYet
	// skipped, addsNumbers passed.
	{"surefire-2.22.3-CalcTest.xml", counts{"surefire", 1, 5, 2, 1, 1, 1, 10}, 0.017},
	// one testcase that passed on its rerun (flakyError): passed.
	{"surefire-2.22.3-FlakyErrorTest.xml", counts{"surefire", 1, 1, 1, 0, 0, 0, 2}, 0},
	{"surefire-locale-time-handwritten.xml", counts{"surefire", 1, 3, 2, 1, 0, 0, 3}, 2469.5},
	// JUnit 5: errored throwsUnexpectedly; failed discountRounding and
	// positive[3]; skipped paymentFlow (@Disabled) and onlyOnCi (aborted).
	{"junit5-console-1.9.1-jupiter.xml", counts{"junit5", 1, 9, 4, 2, 1, 2, 9}, 0.131},
	{"junit5-console-1.9.1-vintage-empty.xml", counts{"junit5", 1, 0, 0, 0, 0, 0, 0}, 0},
	// PHPUnit: 4 suites nested 3 deep; incomplete and skipped are <skipped/>.
	{"phpunit-9.6.7-nested.xml", counts{"generic", 4, 9, 4, 2, 1, 2, 9}, 0.003158},
	{"generic-edge-cases-handwritten.xml", counts{"generic", 3, 6, 2, 2, 1, 1, 4}, 1235.25},
}

func TestSeedFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(seeds) {
		t.Errorf("testdata has %d .xml files, the table %d: keep them in step", len(files), len(seeds))
	}
	for _, tc := range seeds {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(bytes.NewReader(data), Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := countsOf(s); got != tc.want {
				t.Errorf("counts\n got %+v\nwant %+v", got, tc.want)
			}
			if tc.dur >= 0 && math.Abs(s.Duration-tc.dur) > 1e-9 {
				t.Errorf("Duration = %v, want %v", s.Duration, tc.dur)
			}
			if len(s.Failures) != s.Failed+s.Errored {
				t.Errorf("%d failures kept, want %d", len(s.Failures), s.Failed+s.Errored)
			}
			checkInvariants(t, s, Limits{}.withDefaults())
			for _, c := range s.Failures {
				if c.Name == "" || c.Message == "" {
					t.Errorf("failure without name or message: %+v", c)
				}
			}
		})
	}
}

func checkInvariants(t testing.TB, s *Summary, lim Limits) {
	t.Helper()
	if s.Tests != s.Passed+s.Failed+s.Errored+s.Skipped {
		t.Fatalf("Tests %d != %d+%d+%d+%d", s.Tests, s.Passed, s.Failed, s.Errored, s.Skipped)
	}
	if len(s.Failures) > lim.MaxFailures || len(s.Failures) > s.Failed+s.Errored {
		t.Fatalf("%d failures kept (limit %d, failing %d)", len(s.Failures), lim.MaxFailures, s.Failed+s.Errored)
	}
	if len(s.Failures) < min(lim.MaxFailures, s.Failed+s.Errored) {
		t.Fatalf("only %d failures kept of %d (limit %d)", len(s.Failures), s.Failed+s.Errored, lim.MaxFailures)
	}
	if len(s.Failures) < s.Failed+s.Errored && !s.Truncated {
		t.Fatalf("failures dropped but Truncated is false")
	}
	if math.IsNaN(s.Duration) || math.IsInf(s.Duration, 0) || s.Duration < 0 {
		t.Fatalf("Duration = %v", s.Duration)
	}
	switch s.Format {
	case "go", "pytest", "surefire", "jest", "junit5", "generic":
	default:
		t.Fatalf("Format = %q", s.Format)
	}
	for _, c := range s.Failures {
		if c.Kind != "failure" && c.Kind != "error" {
			t.Fatalf("Kind = %q", c.Kind)
		}
		for _, f := range []string{c.Suite, c.Class, c.Name, c.Type, c.Message, c.File} {
			if len(f) > lim.MaxText {
				t.Fatalf("field of %d bytes kept, MaxText is %d", len(f), lim.MaxText)
			}
			if !utf8.ValidString(f) {
				t.Fatalf("invalid UTF-8 kept: %q", f)
			}
		}
	}
}

func parseFile(t *testing.T, name string, lim Limits) *Summary {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Parse(f, lim)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return s
}

func TestFailureDetails(t *testing.T) {
	s := parseFile(t, "generic-edge-cases-handwritten.xml", Limits{})
	want := []Case{
		{Suite: "", Class: "top", Name: "loose fail", Kind: "failure", Type: "AssertionError", Message: "expected <1> & got <2>"},
		{Suite: "outer", Class: "outer.A", Name: "both failure and error", Kind: "error", Type: "java.lang.NullPointerException", Message: "then it crashed"},
		{Suite: "inner", Class: "outer.inner.B", Name: "café ☃", Kind: "failure", Message: "message from the element text <here>", File: "src/b.c", Line: 42},
	}
	if len(s.Failures) != len(want) {
		t.Fatalf("got %d failures: %+v", len(s.Failures), s.Failures)
	}
	for i := range want {
		if s.Failures[i] != want[i] {
			t.Errorf("failure %d\n got %+v\nwant %+v", i, s.Failures[i], want[i])
		}
	}
	if s.Truncated {
		t.Errorf("Truncated set for a small report")
	}

	// pytest xunit1 carries file and line; message comes from the attribute.
	s = parseFile(t, "pytest-7.2.1-xunit1-system-out.xml", Limits{})
	c := s.Failures[0]
	if c.Name != "test_add_wrong" || c.File != "test_calc.py" || c.Line != 11 || c.Kind != "failure" ||
		!strings.HasPrefix(c.Message, "AssertionError: 2 + 2 should be <5> & nothing else\nassert 4 == 5") {
		t.Errorf("pytest failure = %+v", c)
	}
	if c := s.Failures[1]; c.Kind != "error" || c.Message != `failed on setup with "RuntimeError: cannot connect to database"` {
		t.Errorf("pytest error = %+v", c)
	}

	// jest-junit has no message attribute: the element text is the message.
	s = parseFile(t, "jest-30.5.2-jest-junit-17.0.0-file-console.xml", Limits{})
	c = s.Failures[0]
	if c.Suite != "add" || c.Name != "is wrong on purpose" || c.File != "src/math.test.js" ||
		!strings.HasPrefix(c.Message, "Error: expect(received).toBe(expected)") {
		t.Errorf("jest failure = %+v", c)
	}

	// Surefire: the failing test, then the erroring one; flaky ones are not failures.
	s = parseFile(t, "surefire-2.22.3-CalcTest.xml", Limits{})
	if len(s.Failures) != 2 || s.Failures[0].Name != "wrongSum" || s.Failures[0].Type != "java.lang.AssertionError" ||
		s.Failures[1].Name != "divideByZero" || s.Failures[1].Kind != "error" || s.Failures[1].Message != "/ by zero" {
		t.Errorf("surefire failures = %+v", s.Failures)
	}
}

func TestMaxFailuresAndTruncation(t *testing.T) {
	s := parseFile(t, "pytest-7.2.1-xunit2.xml", Limits{MaxFailures: 1})
	if len(s.Failures) != 1 || !s.Truncated || s.Failed != 2 || s.Errored != 1 {
		t.Errorf("MaxFailures 1: %d failures kept, Truncated %v, counts %d/%d", len(s.Failures), s.Truncated, s.Failed, s.Errored)
	}
	// jest's failure texts are stack traces of ~2 KB: cut at 64 bytes.
	s = parseFile(t, "jest-30.5.2-jest-junit-17.0.0.xml", Limits{MaxText: 64})
	if !s.Truncated {
		t.Errorf("Truncated not set")
	}
	for _, c := range s.Failures {
		if len(c.Message) > 64 || !strings.HasPrefix(c.Message, "Error: expect") && !strings.HasPrefix(c.Message, "SyntaxError") {
			t.Errorf("message %q", c.Message)
		}
	}
	if got := countsOf(s); got != (counts{"jest", 2, 7, 4, 2, 0, 1, 6}) {
		t.Errorf("counts with MaxText 64: %+v", got)
	}
}

// filterString runs the filter alone.
func filterString(in string, maxText, maxTag int) (string, *filter, error) {
	f := newFilter(strings.NewReader(in), maxText, maxTag)
	out, err := io.ReadAll(f)
	return string(out), f, err
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		maxText        int
		truncated      bool
	}{
		{"short text untouched", "<a>hello</a>", "<a>hello</a>", 8, false},
		{"long text cut", "<a>hello world</a>", "<a>hello wo</a>", 8, true},
		{"entity kept whole", "<a>abcdef&amp;gh</a>", "<a>abcdef</a>", 8, true},
		{"entity fits", "<a>abc&amp;xyz</a>", "<a>abc&amp;</a>", 8, true},
		{"numeric entity", "<a>&#x2603;&#x2603;</a>", "<a>&#x2603;</a>", 10, true},
		{"utf8 not split", "<a>aaaaaaa☃b</a>", "<a>aaaaaaa</a>", 8, true},
		{"utf8 fits", "<a>aaaaa☃b</a>", "<a>aaaaa☃</a>", 8, true},
		{"comment dropped", "<a>x<!-- <b>- -> --->y</a>", "<a>xy</a>", 8, false},
		{"comment does not reset run", "<a>abcd<!--c-->efghij</a>", "<a>abcdefgh</a>", 8, true},
		{"cdata cut", "<a><![CDATA[0123456789]]></a>", "<a><![CDATA[01234567]]></a>", 8, true},
		{"cdata brackets", "<a><![CDATA[a]]]></a>", "<a><![CDATA[a]]]></a>", 8, false},
		{"cdata brackets cut", "<a><![CDATA[abcdefg]]]]]]]></a>", "<a><![CDATA[abcdefg]]]></a>", 8, true},
		{"cdata has no entities", "<a><![CDATA[&amp;&amp;&amp;]]></a>", "<a><![CDATA[&amp;&am]]></a>", 8, true},
		{"markup in quotes", `<a t="x>y">hello world</a>`, `<a t="x>y">hello wo</a>`, 8, true},
		{"PI passes", `<?xml version="1.0"?><a/>`, `<?xml version="1.0"?><a/>`, 8, false},
		{"doctype without subset dropped", `<!DOCTYPE a SYSTEM "a.dtd"><a/>`, `<a/>`, 8, false},
		{"BOM stripped", "\xEF\xBB\xBF<a/>", "<a/>", 8, false},
		{"run resets at tags", "<a>12345678<b/>12345678</a>", "<a>12345678<b/>12345678</a>", 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, f, err := filterString(tc.in, tc.maxText, 1<<10)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if f.truncated != tc.truncated {
				t.Errorf("truncated = %v", f.truncated)
			}
		})
	}
}

func TestFilterPosition(t *testing.T) {
	// The offset and line reported are those of the raw input, even after
	// a truncated run and a dropped comment with newlines.
	in := "<testsuite>\n<system-out>" + strings.Repeat("x\n", 1000) + "</system-out>\n<!--\n\n-->\n<testcase></testsuite>"
	_, err := Parse(strings.NewReader(in), Limits{MaxText: 16})
	e := asError(t, err, KindMalformed)
	wantLine := 1 + 1 + 1000 + 1 + 2 + 1
	if e.Line != wantLine {
		t.Errorf("Line = %d, want %d (%v)", e.Line, wantLine, e)
	}
	if want := int64(len(in)); e.Offset != want {
		t.Errorf("Offset = %d, want %d", e.Offset, want)
	}
	if !strings.Contains(e.Msg, "testcase") {
		t.Errorf("message does not name the unclosed element: %v", e)
	}
}

func asError(t *testing.T, err error, kind string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want Kind %q", kind)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if e.Kind != kind {
		t.Fatalf("Kind = %q, want %q (%v)", e.Kind, kind, err)
	}
	if e.Msg == "" || !strings.Contains(err.Error(), e.Msg) || !strings.Contains(err.Error(), kind) {
		t.Fatalf("unhelpful error string %q", err.Error())
	}
	return e
}

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="lolz"><testcase name="x"><failure message="&lol9;"/></testcase></testsuite>
`

// errorCases are also fuzz seeds.
var errorCases = []struct {
	name, in string
	lim      Limits
	kind     string
	msg      string // a substring the message must contain
}{
	{"malformed", `<testsuite><testcase name="a"></testsuite>`, Limits{}, KindMalformed, "testcase"},
	{"bad attribute", `<testsuite name=unquoted></testsuite>`, Limits{}, KindMalformed, "syntax error"},
	{"truncated", `<?xml version="1.0"?><testsuites><testsuite name="a"><testcase name="b" time="0.1">`, Limits{}, KindMalformed, "truncated"},
	{"truncated in tag", `<testsuites><testsuite name="a"><testcase name="b`, Limits{}, KindMalformed, "truncated"},
	{"truncated in cdata", `<testsuites><testsuite><system-out><![CDATA[abc`, Limits{}, KindMalformed, "CDATA"},
	{"truncated in comment", `<testsuites><!-- abc`, Limits{}, KindMalformed, "comment"},
	{"not junit", `<?xml version="1.0"?><html><body>hi</body></html>`, Limits{}, KindNotJUnit, "<html>"},
	{"not xml", `{"tests": 3}`, Limits{}, KindNotJUnit, "not a JUnit XML report"},
	{"empty", ``, Limits{}, KindEmpty, "empty"},
	{"whitespace", " \n\t ", Limits{}, KindEmpty, "empty"},
	{"no root", `<?xml version="1.0"?><!-- nothing -->`, Limits{}, KindEmpty, "no root element"},
	{"billion laughs", billionLaughs, Limits{}, KindMalformed, "DTD"},
	{"entity outside doctype", `<!ENTITY x "y"><testsuite/>`, Limits{}, KindMalformed, "<!ENTITY"},
	{"undefined entity", `<testsuite name="&lol9;"/>`, Limits{}, KindMalformed, "entity"},
	{"too deep", strings.Repeat("<testsuite>", 65) + strings.Repeat("</testsuite>", 65), Limits{}, KindTooDeep, "64"},
	{"too deep small", "<testsuites><testsuite><testcase><system-out><x/></system-out></testcase></testsuite></testsuites>", Limits{MaxDepth: 4}, KindTooDeep, "MaxDepth"},
	{"tag too long", `<testsuite name="` + strings.Repeat("a", 2000) + `"/>`, Limits{MaxTag: 1024}, KindTooLarge, "MaxTag"},
	{"unterminated quote", `<testsuite name="` + strings.Repeat("a", 2000), Limits{MaxTag: 1024}, KindTooLarge, "MaxTag"},
	{"too large", `<testsuite name="x">` + strings.Repeat(" ", 100) + `</testsuite>`, Limits{MaxBytes: 64}, KindTooLarge, "MaxBytes"},
	{"second root", `<testsuite/><testsuite/>`, Limits{}, KindMalformed, "concatenated"},
	{"concatenated with decl", `<?xml version="1.0"?><testsuite/>` + "\n" + `<?xml version="1.0"?><testsuite/>`, Limits{}, KindMalformed, ""},
	{"text after root", `<testsuite/>trailing`, Limits{}, KindMalformed, "after the root"},
	{"nested testcase", `<testsuite><testcase><testcase/></testcase></testsuite>`, Limits{}, KindMalformed, "inside a <testcase>"},
	{"unknown encoding", `<?xml version="1.0" encoding="EBCDIC"?><testsuite/>`, Limits{}, KindMalformed, "EBCDIC"},
	{"invalid utf8", "<testsuite name=\"\xff\"/>", Limits{}, KindMalformed, "UTF-8"},
}

func TestErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(strings.NewReader(tc.in), tc.lim)
			if s != nil {
				t.Errorf("summary returned with an error: %+v", s)
			}
			e := asError(t, err, tc.kind)
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message %q does not mention %q", e.Msg, tc.msg)
			}
			if e.Offset < 0 || e.Offset > int64(len(tc.in)) {
				t.Errorf("Offset %d outside the input of %d bytes", e.Offset, len(tc.in))
			}
			t.Logf("%v", err)
		})
	}
}

func TestMaxBytesExact(t *testing.T) {
	doc := `<testsuite><testcase name="a"/></testsuite>`
	n := int64(len(doc))
	if _, err := Parse(strings.NewReader(doc), Limits{MaxBytes: n}); err != nil {
		t.Fatalf("input of exactly MaxBytes refused: %v", err)
	}
	_, err := Parse(strings.NewReader(doc+" "), Limits{MaxBytes: n})
	e := asError(t, err, KindTooLarge)
	if e.Offset != n {
		t.Errorf("Offset = %d, want %d", e.Offset, n)
	}
}

type failingReader struct{ n int }

var errDisk = errors.New("disk on fire")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		r.n++
		return copy(p, "<testsuite><testcase>"), nil
	}
	return 0, errDisk
}

func TestReaderError(t *testing.T) {
	_, err := Parse(&failingReader{}, Limits{})
	asError(t, err, KindIO)
	if !errors.Is(err, errDisk) {
		t.Errorf("errors.Is(err, errDisk) is false: %v", err)
	}
}

func TestLatin1(t *testing.T) {
	doc := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<testsuite name=\"caf\xe9\"><testcase name=\"\xfcber\"><failure message=\"na\xefve\"/></testcase></testsuite>"
	s, err := Parse(strings.NewReader(doc), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failures) != 1 || s.Failures[0].Suite != "café" || s.Failures[0].Name != "über" || s.Failures[0].Message != "naïve" {
		t.Errorf("failures = %+v", s.Failures)
	}
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]float64{
		"": 0, "0.5": 0.5, " 2 ": 2, "1,234.5": 1234.5, "1.234,5": 1234.5, "0,25": 0.25, "0,250": 0.25,
		"1,234": 1234, "1,234,567.5": 1234567.5, "abc": 0, "-1": 0, "NaN": 0, "Inf": 0, "1e308": 0, "1e3": 1000,
	} {
		if got := parseSeconds(in); got != want {
			t.Errorf("parseSeconds(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestClassification(t *testing.T) {
	doc := `<testsuites>
<testsuite name="s" tests="1,000">
 <testcase name="p"/>
 <testcase name="f"><failure/></testcase>
 <testcase name="e"><error/></testcase>
 <testcase name="fe"><failure/><error/></testcase>
 <testcase name="ef"><error/><failure/></testcase>
 <testcase name="s"><skipped/></testcase>
 <testcase name="sf"><skipped/><failure/></testcase>
 <testcase name="rf"><rerunFailure message="again"/></testcase>
 <testcase name="re"><rerunError/></testcase>
 <testcase name="ff"><flakyFailure/><flakyFailure/></testcase>
 <testcase name="fe2"><flakyError/></testcase>
 <testcase name="deep"><system-out><failure/></system-out></testcase>
 <testcase name="props"><properties><property name="a" value="b"/></properties></testcase>
</testsuite>
</testsuites>`
	s, err := Parse(strings.NewReader(doc), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// passed: p, ff, fe2, deep, props; failed: f, sf, rf; errored: e, fe, ef, re; skipped: s.
	want := counts{"surefire", 1, 13, 5, 3, 4, 1, 1000}
	if got := countsOf(s); got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	var kinds []string
	for _, c := range s.Failures {
		kinds = append(kinds, c.Name+":"+c.Kind)
	}
	if got := strings.Join(kinds, " "); got != "f:failure e:error fe:error ef:error sf:failure rf:failure re:error" {
		t.Errorf("failures: %s", got)
	}
}

// TestTruncationKeepsCounts checks the property the fuzz test also checks:
// truncating text never changes what is counted.
func TestTruncationKeepsCounts(t *testing.T) {
	for _, tc := range seeds {
		data, _ := os.ReadFile(filepath.Join("testdata", tc.file))
		for _, n := range []int{1, 2, 3, 7, 100} {
			s, err := Parse(bytes.NewReader(data), Limits{MaxText: n})
			if err != nil {
				t.Fatalf("%s MaxText %d: %v", tc.file, n, err)
			}
			if got := countsOf(s); got != tc.want {
				t.Errorf("%s MaxText %d: %+v", tc.file, n, got)
			}
			checkInvariants(t, s, Limits{MaxText: n}.withDefaults())
		}
	}
}

func ExampleParse() {
	report := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="pkg" tests="3">
    <testcase classname="pkg" name="TestOK" time="0.01"/>
    <testcase classname="pkg" name="TestBad" time="0.02"><failure message="want 1, got 2"/></testcase>
    <testcase classname="pkg" name="TestLater"><skipped/></testcase>
  </testsuite>
</testsuites>`
	s, err := Parse(strings.NewReader(report), Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d tests, %d passed, %d failed, %d skipped\n", s.Format, s.Tests, s.Passed, s.Failed, s.Skipped)
	fmt.Printf("%s %s: %s\n", s.Failures[0].Kind, s.Failures[0].Name, s.Failures[0].Message)

	_, err = Parse(strings.NewReader("<html/>"), Limits{})
	fmt.Println(err)
	// Output:
	// go: 3 tests, 1 passed, 1 failed, 1 skipped
	// failure TestBad: want 1, got 2
	// junit report not_junit (line 1, byte 7): the root element is <html>; a JUnit report's root is <testsuites> or <testsuite>
}
