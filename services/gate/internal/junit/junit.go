// Package junit parses JUnit XML test reports, as real tools write them, into
// a Summary that a testing gate can pass or fail on.
//
// Parsing is streaming and its memory is bounded whatever the size of the
// input: a counting reader enforces Limits.MaxBytes, and a filter in front of
// encoding/xml truncates every run of character data (so a 90 MB
// <system-out> never sits in memory), drops comments, refuses DTD internal
// subsets (entity-expansion bombs) and refuses over-long tags. Only the
// first Limits.MaxFailures failing cases keep their details; all counts are
// exact.
//
// Dialects handled: go-junit-report and gotestsum, pytest (xunit1 and
// xunit2), jest-junit, Maven Surefire (including its rerun and flaky
// elements), the JUnit 5 console launcher's legacy reports, and the generic
// shape most other tools write (for example PHPUnit's nested suites).
package junit

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Default limits, used for zero (or negative) fields of Limits.
const (
	DefaultMaxBytes    = 256 << 20
	DefaultMaxDepth    = 64
	DefaultMaxTag      = 1 << 20
	DefaultMaxText     = 4096
	DefaultMaxFailures = 50
)

// Limits bound what Parse accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes    int64 // whole input; default 256 << 20. Above it: *Error{Kind: "too_large"}
	MaxDepth    int   // element nesting; default 64
	MaxTag      int   // bytes of one start tag incl. attributes; default 1 << 20
	MaxText     int   // bytes of character data kept per text run (message/system-out); longer runs are truncated, not an error; default 4096
	MaxFailures int   // failing cases whose details are kept; default 50 (counts are always exact)
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxTag <= 0 {
		l.MaxTag = DefaultMaxTag
	}
	if l.MaxText <= 0 {
		l.MaxText = DefaultMaxText
	}
	if l.MaxFailures <= 0 {
		l.MaxFailures = DefaultMaxFailures
	}
	return l
}

// Case is one failing or erroring test case.
type Case struct {
	Suite, Class, Name string
	Kind               string // "failure" | "error"
	Type, Message      string
	File               string
	Line               int
}

// Summary is what Parse found in a report.
type Summary struct {
	Format                                  string  // best guess of the producing tool: "go" (go-junit-report/gotestsum), "pytest", "surefire", "jest", "junit5", "generic"
	Suites                                  int     // <testsuite> elements (nested ones count)
	Tests, Passed, Failed, Errored, Skipped int     // from the <testcase> elements actually present, NOT from attributes
	DeclaredTests                           int     // sum of tests="" attributes of the outermost suites (informational; may disagree)
	Duration                                float64 // seconds: sum of testcase time attributes
	Failures                                []Case  // first MaxFailures failing/erroring cases
	Truncated                               bool    // some text was truncated or some failures dropped
}

// Error kinds.
const (
	KindMalformed = "malformed" // not well-formed XML, truncated, DTD/entity definitions, ...
	KindTooLarge  = "too_large" // input over MaxBytes, or one tag over MaxTag
	KindTooDeep   = "too_deep"  // elements nested deeper than MaxDepth
	KindNotJUnit  = "not_junit" // well-formed (so far) but not a JUnit report
	KindEmpty     = "empty"     // no bytes, only whitespace, or no root element
	KindIO        = "io"        // the reader itself failed; Unwrap gives its error
)

// Error is the only error type Parse returns.
type Error struct {
	Kind   string // one of the Kind constants
	Offset int64  // byte offset in the input where the problem was found
	Line   int    // 1-based line of Offset (0 if unknown)
	Msg    string
	err    error // underlying error, for Kind "io"
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("junit report %s (line %d, byte %d): %s", e.Kind, e.Line, e.Offset, e.Msg)
	}
	return fmt.Sprintf("junit report %s (byte %d): %s", e.Kind, e.Offset, e.Msg)
}

// Unwrap returns the reader's error for Kind "io", else nil.
func (e *Error) Unwrap() error { return e.err }

// Parse reads one JUnit XML report from r and summarises it. Memory use is
// bounded by lim whatever the input; errors are always *Error.
func Parse(r io.Reader, lim Limits) (s *Summary, err error) {
	defer func() {
		// Defence in depth for a network-facing service: the fuzz test
		// calls parse directly so that a panic is still found.
		if p := recover(); p != nil {
			s, err = nil, &Error{Kind: KindMalformed, Msg: fmt.Sprintf("internal error while parsing the report: %v", p)}
		}
	}()
	return parse(r, lim)
}

// Element kinds on the parser's stack.
const (
	eOther = iota
	eSuites
	eSuite
	eCase
	eResult // a failure/error (or rerun) child of a testcase whose text we may keep
)

// format hints, strongest first.
const (
	hSurefire = 1 << iota
	hGo
	hPytest
	hJest
	hJUnit5
)

// detail is the first <failure> or <error> of a testcase.
type detail struct {
	set  bool
	typ  string
	msg  string
	text []byte // element text, collected only when msg is empty
}

type parser struct {
	lim Limits
	f   *filter
	sum Summary

	stack      []uint8  // element kinds, one per open element
	suiteNames []string // names of the open <testsuite> elements
	rootSeen   bool
	rootDone   bool

	// the open testcase, if inCase
	inCase                    bool
	caseDepth                 int
	class, name, file         string
	line                      int
	failed, errored, skipped  bool
	fail, err                 detail
	collect                   *detail // where character data goes, if anywhere
	collectDepth              int
	hints                     int
	goNames, nonGoNames, seen bool
}

func parse(r io.Reader, lim Limits) (*Summary, error) {
	lim = lim.withDefaults()
	f := newFilter(&countingReader{r: r, max: lim.MaxBytes}, lim.MaxText, lim.MaxTag)
	d := xml.NewDecoder(f)
	d.Strict = true
	d.CharsetReader = charsetReader
	p := &parser{lim: lim, f: f, stack: make([]uint8, 0, 16)}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, p.wrap(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if e := p.start(t); e != nil {
				return nil, e
			}
		case xml.EndElement:
			p.end()
		case xml.CharData:
			if e := p.text(t); e != nil {
				return nil, e
			}
		}
	}
	if !p.rootSeen {
		if !f.nonSpace {
			return nil, p.errorf(KindEmpty, "the input is empty")
		}
		return nil, p.errorf(KindEmpty, "the input has no root element (only an XML declaration, comments or whitespace)")
	}
	s := &p.sum
	s.Format = p.format()
	if f.truncated {
		s.Truncated = true
	}
	return s, nil
}

func (p *parser) errorf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Offset: p.f.off, Line: p.f.line, Msg: fmt.Sprintf(format, args...)}
}

// wrap turns a decoder error into an *Error located in the raw input. The
// position is the filter's, not Decoder.InputPos/InputOffset: those count
// the filtered stream, which lacks the dropped text and comments. As the
// decoder reads the filter byte by byte, the two agree where nothing was
// dropped.
func (p *parser) wrap(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if fe, ok := p.f.err.(*Error); ok {
		return fe
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg := se.Msg
		if msg == "unexpected EOF" {
			msg = "unexpected end of input: the report is truncated or an element is never closed"
		}
		return p.errorf(KindMalformed, "XML syntax error: %s", msg)
	}
	return p.errorf(KindMalformed, "%s", strings.TrimPrefix(err.Error(), "xml: "))
}

func attr(t xml.StartElement, local string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

func (p *parser) start(t xml.StartElement) *Error {
	name := t.Name.Local
	if len(p.stack)+1 > p.lim.MaxDepth {
		return p.errorf(KindTooDeep, "elements are nested more than %d deep (Limits.MaxDepth) at <%s>", p.lim.MaxDepth, clipName(name))
	}
	if !p.rootSeen {
		if name != "testsuites" && name != "testsuite" {
			return p.errorf(KindNotJUnit, "the root element is <%s>; a JUnit report's root is <testsuites> or <testsuite>", clipName(name))
		}
		p.rootSeen = true
	} else if p.rootDone {
		return p.errorf(KindMalformed, "a second root element <%s> follows the report (concatenated reports are not accepted)", clipName(name))
	}
	kind := uint8(eOther)
	if p.inCase {
		if name == "testcase" || name == "testsuite" || name == "testsuites" {
			return p.errorf(KindMalformed, "<%s> inside a <testcase> (test cases and suites cannot nest in a test case)", name)
		}
		if len(p.stack) == p.caseDepth {
			kind = p.caseChild(name, t) // a direct child of the testcase
		}
	} else {
		switch name {
		case "testsuites":
			kind = eSuites
			if v, _ := attr(t, "name"); v == "jest tests" {
				p.hints |= hJest
			}
			p.schemaHint(t)
		case "testsuite":
			kind = eSuite
			p.sum.Suites++
			v, _ := attr(t, "name")
			if len(p.suiteNames) == 0 {
				if n, ok := attr(t, "tests"); ok {
					// saturating, so no input can overflow it
					p.sum.DeclaredTests = min(p.sum.DeclaredTests+parseCount(n), 1<<50)
				}
			}
			switch v {
			case "pytest":
				p.hints |= hPytest
			case "JUnit Jupiter", "JUnit Vintage", "JUnit Platform Suite":
				p.hints |= hJUnit5
			}
			p.schemaHint(t)
			n, _ := p.clip(v)
			p.suiteNames = append(p.suiteNames, n)
		case "testcase":
			kind = eCase
			p.startCase(t)
		case "property":
			if v, _ := attr(t, "name"); v == "go.version" {
				p.hints |= hGo
			} else if strings.HasPrefix(v, "surefire.") {
				p.hints |= hSurefire
			}
		}
	}
	p.stack = append(p.stack, kind)
	return nil
}

func (p *parser) schemaHint(t xml.StartElement) {
	if v, ok := attr(t, "noNamespaceSchemaLocation"); ok && strings.Contains(v, "surefire") {
		p.hints |= hSurefire
	}
}

// caseChild handles an element directly inside a <testcase>.
func (p *parser) caseChild(name string, t xml.StartElement) uint8 {
	var d *detail
	switch name {
	case "failure", "rerunFailure":
		// Surefire writes <failure> for the first run of a test that kept
		// failing and <rerunFailure> for each failing rerun.
		p.failed = true
		d = &p.fail
	case "error", "rerunError":
		p.errored = true
		d = &p.err
	case "skipped":
		p.skipped = true
		if v, _ := attr(t, "type"); strings.HasPrefix(v, "pytest.") {
			p.hints |= hPytest
		}
		return eOther
	case "flakyFailure", "flakyError":
		// Surefire: the test failed at first but passed on a rerun
		// (rerunFailingTestsCount). It passed, so this does not count
		// against it; the test stays "passed".
		p.hints |= hSurefire
		return eOther
	default: // system-out, system-err, properties, ...
		return eOther
	}
	if name == "rerunFailure" || name == "rerunError" {
		p.hints |= hSurefire
	}
	if d.set {
		return eOther
	}
	d.set = true
	d.typ, _ = attr(t, "type")
	d.msg, _ = attr(t, "message")
	d.msg = strings.TrimSpace(d.msg)
	if d.msg == "" {
		// Message = the element's text, when there is no message attribute.
		p.collect = d
		p.collectDepth = len(p.stack) + 1
		return eResult
	}
	return eOther
}

func (p *parser) startCase(t xml.StartElement) {
	p.inCase = true
	p.caseDepth = len(p.stack) + 1
	p.class, p.name, p.file, p.line = "", "", "", 0
	p.failed, p.errored, p.skipped = false, false, false
	p.fail, p.err = detail{}, detail{}
	p.collect = nil
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "classname":
			p.class = a.Value
		case "class":
			if p.class == "" {
				p.class = a.Value
			}
		case "name":
			p.name = a.Value
		case "file":
			p.file = a.Value
		case "line":
			if n, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil && n > 0 {
				p.line = n
			}
		case "time":
			p.sum.Duration += parseSeconds(a.Value)
		}
	}
	p.seen = true
	if isGoTestName(p.name) {
		p.goNames = true
	} else {
		p.nonGoNames = true
	}
}

func (p *parser) end() {
	if len(p.stack) == 0 {
		return // cannot happen with a Strict decoder
	}
	kind := p.stack[len(p.stack)-1]
	if p.collect != nil && len(p.stack) == p.collectDepth {
		p.collect = nil
	}
	p.stack = p.stack[:len(p.stack)-1]
	switch kind {
	case eSuite:
		p.suiteNames = p.suiteNames[:len(p.suiteNames)-1]
	case eCase:
		p.endCase()
	}
	if len(p.stack) == 0 {
		p.rootDone = true
	}
}

func (p *parser) endCase() {
	p.inCase = false
	p.collect = nil
	s := &p.sum
	s.Tests++
	var d *detail
	var kind string
	switch {
	case p.errored: // both <failure> and <error>: errored
		s.Errored++
		d, kind = &p.err, "error"
	case p.failed:
		s.Failed++
		d, kind = &p.fail, "failure"
	case p.skipped: // skipped never counts as passed
		s.Skipped++
		return
	default:
		s.Passed++
		return
	}
	if len(s.Failures) >= p.lim.MaxFailures {
		s.Truncated = true
		return
	}
	msg := d.msg
	if msg == "" {
		msg = strings.TrimSpace(string(d.text))
	}
	c := Case{Kind: kind, Line: p.line}
	if len(p.suiteNames) > 0 {
		c.Suite = p.suiteNames[len(p.suiteNames)-1]
	}
	c.Class, _ = p.clip(p.class)
	c.Name, _ = p.clip(p.name)
	c.File, _ = p.clip(p.file)
	c.Type, _ = p.clip(d.typ)
	c.Message, _ = p.clip(msg)
	s.Failures = append(s.Failures, c)
}

func (p *parser) text(t xml.CharData) *Error {
	if len(p.stack) == 0 {
		if len(strings.TrimSpace(string(t))) == 0 {
			return nil
		}
		if !p.rootSeen {
			return p.errorf(KindNotJUnit, "the input starts with text, not an XML element: not a JUnit XML report")
		}
		return p.errorf(KindMalformed, "text after the root element")
	}
	if p.collect != nil {
		room := p.lim.MaxText - len(p.collect.text)
		if len(t) > room {
			t = t[:room]
			p.sum.Truncated = true
		}
		p.collect.text = append(p.collect.text, t...)
	}
	return nil
}

// clip shortens s to at most MaxText bytes without splitting a UTF-8
// sequence, recording the truncation.
func (p *parser) clip(s string) (string, bool) {
	if len(s) <= p.lim.MaxText {
		return s, false
	}
	p.sum.Truncated = true
	i := p.lim.MaxText
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], true
}

func clipName(s string) string {
	if len(s) > 64 {
		i := 64
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "..."
	}
	return s
}

func (p *parser) format() string {
	switch {
	case p.hints&hSurefire != 0:
		return "surefire"
	case p.hints&hGo != 0:
		return "go"
	case p.hints&hPytest != 0:
		return "pytest"
	case p.hints&hJest != 0:
		return "jest"
	case p.hints&hJUnit5 != 0:
		return "junit5"
	case p.seen && p.goNames && !p.nonGoNames:
		// go-junit-report writes no go.version property when its input
		// does not show the Go version; every name looking like a Go test
		// function is the next best sign.
		return "go"
	}
	return "generic"
}

// isGoTestName reports whether name looks like a Go test, example, fuzz
// target or benchmark, or a subtest of one (TestFoo, TestFoo/sub).
func isGoTestName(name string) bool {
	for _, prefix := range []string{"Test", "Example", "Fuzz", "Benchmark"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			if rest == "" {
				return true
			}
			r, _ := utf8.DecodeRuneInString(rest)
			return r == '_' || r == '/' || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		}
	}
	return false
}

// maxSeconds is the largest testcase time taken seriously; larger values
// (and negative, NaN or infinite ones) count as 0 so Duration stays finite.
const maxSeconds = 1e9

// parseSeconds reads a time attribute leniently: "", junk and impossible
// values give 0. Surefire writes grouped numbers in some locales: "1,234.5"
// (and "1.234,5"); a lone comma is read as a decimal comma unless it looks
// like a thousands separator ("0,25" and "0,250" are 0.25, "1,234" is 1234).
func parseSeconds(v string) float64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	comma, dot := strings.LastIndexByte(v, ','), strings.LastIndexByte(v, '.')
	switch {
	case comma >= 0 && dot >= 0 && dot > comma: // 1,234.5
		v = strings.ReplaceAll(v, ",", "")
	case comma >= 0 && dot >= 0: // 1.234,5
		v = strings.ReplaceAll(v, ".", "")
		v = strings.Replace(v, ",", ".", 1)
	case comma >= 0 && strings.Count(v, ",") == 1 && (len(v)-comma-1 != 3 || v[:comma] == "0"): // 0,25
		v = strings.Replace(v, ",", ".", 1)
	case comma >= 0: // 1,234 or 1,234,567
		v = strings.ReplaceAll(v, ",", "")
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxSeconds {
		return 0
	}
	return f
}

// parseCount reads a tests="" attribute leniently ("1,234" is 1234).
func parseCount(v string) int {
	v = strings.ReplaceAll(strings.TrimSpace(v), ",", "")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1<<40 {
		return 0
	}
	return n
}

// charsetReader lets reports declared as ISO-8859-1 or US-ASCII through
// (older Ant-based tools write them); anything else is refused clearly.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii":
		br, ok := in.(io.ByteReader)
		if !ok {
			return nil, fmt.Errorf("internal: charset input is not a ByteReader")
		}
		return &latin1Reader{r: br}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q: only UTF-8, ISO-8859-1 and US-ASCII reports are accepted", label)
}

// latin1Reader converts ISO-8859-1 bytes to UTF-8, byte by byte, so the
// decoder keeps reading without a read-ahead buffer.
type latin1Reader struct {
	r       io.ByteReader
	pending int // the second UTF-8 byte still to return (0 = none)
}

func (l *latin1Reader) ReadByte() (byte, error) {
	if l.pending != 0 {
		b := byte(l.pending)
		l.pending = 0
		return b, nil
	}
	b, err := l.r.ReadByte()
	if err != nil || b < 0x80 {
		return b, err
	}
	l.pending = int(0x80 | b&0x3F)
	return 0xC0 | b>>6, nil
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := l.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}
