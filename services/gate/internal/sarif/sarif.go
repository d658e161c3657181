// Package sarif reads SARIF 2.1.0 logs (the static-analysis result format
// written by gosec, govulncheck, semgrep, CodeQL, ESLint and others) as a
// stream, with memory bounded by the Limits rather than by the size of the
// input, and decides which error-level findings are new relative to a
// baseline.
//
// It backs the "Security Tests" testing gate: CI posts a SARIF log, Parse
// summarises it, and the gate blocks on the keys NewErrors reports as new
// relative to the ErrorKeys of the last passing run of that gate.
//
// # Streaming and memory
//
// The document is never unmarshalled whole. An encoding/json Decoder walks
// the top level, each run, its tool and its results token by token; only one
// rule or one result at a time is decoded into a struct. Every other value
// is skipped token by token (iteratively, with a nesting limit), without
// building it. The reader below the decoder enforces two bounds:
//
//   - Limits.MaxBytes on the whole input (Kind "too_large");
//   - Limits.MaxResult on any single value the decoder has to hold at once:
//     one result, one rule, one string or number token (Kind "too_large",
//     naming the run and result index). Because the decoder may only read
//     MaxResult bytes past its current position, its buffer cannot grow
//     beyond about 2×MaxResult whatever the input holds.
//
// What is kept per result is compact: a 16-byte key per distinct unsuppressed
// error-level result (the baseline for the next run), plus, when a run lists
// its results before its tool (as gosec does), a 24-byte record per result
// whose level must wait for the rules (and one ~50-byte entry per distinct
// rule reference). Rules cost one byte each plus a hashed id. Summary.Findings
// holds at most MaxFindings entries of at most ~3 KB each.
//
// # Effective level
//
// A result's level is result.level when present; otherwise the
// defaultConfiguration.level of its rule, found through rule.index/ruleIndex
// or, failing that, ruleId/rule.id (also trying the hierarchical parents of a
// "a/b/c" id) in the tool component that rule.toolComponent names
// (tool.extensions[index], or the driver/extension with that name or guid;
// the driver when absent). A rule that cannot be found in the named component
// is looked up by id in the driver and every extension (best effort).
// Otherwise the level is "warning", the SARIF default. Configuration
// overrides (invocations[].ruleConfigurationOverrides, run.policies) are not
// applied.
//
// Only results of kind "fail" (the default) are findings; "pass", "open",
// "review", "notApplicable", "informational" count in Summary.Results only,
// and any other kind is rejected as malformed (so that a misspelt "fail"
// cannot hide a finding). Likewise a level other than "error", "warning",
// "note" or "none" is rejected.
// Results whose baselineState is "absent" (present in the tool's baseline
// but gone now) are not current findings and also count in Results only.
// A result is suppressed when its suppressions array is non-empty and every
// suppression's status is absent or "accepted" (one "underReview" or
// "rejected" suppression means it is not suppressed, as in the SARIF SDK).
//
// # Keys
//
// A finding's Key identifies it across runs:
//
//   - if result.partialFingerprints has entries: SHA-256 of
//     "fp:" + the sorted "name=value" pairs joined with "\n" + "\n" + ruleId;
//   - else if result.fingerprints has entries: the same over those;
//   - else SHA-256 of ruleId + "\n" + artifact uri + "\n" + startLine +
//     "\n" + message text with whitespace runs collapsed to one space.
//
// ruleId is result.ruleId, else result.rule.id, else "#" + rule index. The
// key is the hex encoding of the first 16 bytes of the digest.
//
// The last form is the fallback for tools that emit no fingerprints (gosec,
// ESLint, secretlint, govulncheck): identity is then rule + location +
// message, so a finding whose line moves (code inserted above it) or whose
// file is renamed, or a log whose URIs are absolute paths of a different
// checkout, looks new. Tools that emit partialFingerprints (CodeQL, semgrep)
// keep their identity across such shifts.
package sarif

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Defaults used for zero (or negative) Limits fields.
const (
	DefaultMaxBytes    int64 = 256 << 20
	DefaultMaxResult   int64 = 1 << 20
	DefaultMaxFindings       = 50
)

// Kinds of *Error.
const (
	KindMalformed          = "malformed"           // not valid JSON, truncated, or a SARIF object of the wrong shape
	KindTooLarge           = "too_large"           // input over MaxBytes, or one value over MaxResult
	KindNotSARIF           = "not_sarif"           // valid JSON but not a SARIF log (no object, no runs)
	KindUnsupportedVersion = "unsupported_version" // version is not "2.1.0"
	KindEmpty              = "empty"               // no input, or only whitespace
	KindRead               = "read_error"          // the reader itself failed (not the content)
)

const (
	maxDepth       = 10000 // nesting limit while skipping values, as encoding/json's scanner
	maxMessage     = 1000  // Finding.Message, Finding.RuleID and the uri in Finding.Location are cut to this many bytes
	maxToolNames   = 16    // distinct "name version" entries kept in Summary.Tool
	maxToolName    = 200   // bytes of one such entry
	candidateRatio = 8     // see runState.addCandidate
)

// Limits bounds what Parse accepts and keeps. Zero fields take the defaults.
type Limits struct {
	MaxBytes    int64 // whole input; default 256 << 20. Above it: *Error{Kind: "too_large"}
	MaxResult   int64 // bytes of one JSON result object (and of any single value); default 1 << 20
	MaxFindings int   // findings kept in Summary.Findings; default 50 (counts and keys are always complete)
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxResult <= 0 {
		l.MaxResult = DefaultMaxResult
	}
	if l.MaxFindings <= 0 {
		l.MaxFindings = DefaultMaxFindings
	}
	return l
}

// Finding is one unsuppressed error-level result, for display in the audit
// event.
type Finding struct {
	Key      string `json:"key"`                // stable identity for "is it new?", hex
	RuleID   string `json:"rule_id"`            // cut to 1,000 bytes
	Level    string `json:"level"`              // effective level
	Message  string `json:"message"`            // message.text, cut to 1,000 bytes
	Location string `json:"location,omitempty"` // "uri:line" of the first physical location, "" if none
	Baseline string `json:"baseline,omitempty"` // result.baselineState if present
}

// Summary is what Parse reports about a log.
type Summary struct {
	// Tool is "name version" of each run's tool.driver (version is
	// semanticVersion, else version), distinct entries joined with ", ".
	Tool       string `json:"tool"`
	Runs       int    `json:"runs"`
	Results    int    `json:"results"`    // all results, whatever their kind, state or suppression
	Errors     int    `json:"errors"`     // unsuppressed results of kind "fail" by effective level
	Warnings   int    `json:"warnings"`   //
	Notes      int    `json:"notes"`      //
	Suppressed int    `json:"suppressed"` // results with accepted suppressions; they count in nothing else
	// ErrorKeys are the Keys of all unsuppressed error-level results, sorted
	// and deduplicated: the baseline for the next run.
	ErrorKeys []string `json:"error_keys"`
	// Unchanged are the ErrorKeys all of whose results the tool marked
	// baselineState "unchanged" or "updated"; NewErrors never reports them.
	Unchanged []string `json:"unchanged_keys,omitempty"`
	// Findings are the first MaxFindings unsuppressed error-level findings in
	// document order. (If a run lists its results before its rules and more
	// than 8×MaxFindings of them have no explicit level, error findings past
	// that point may be missing here; counts and keys stay exact.)
	Findings []Finding `json:"findings"`
}

// Error is the error Parse returns for any input it rejects.
type Error struct {
	Kind   string // one of the Kind* constants
	Offset int64  // byte offset in the input near which the problem was found
	Msg    string
	err    error // underlying cause, if any
}

func (e *Error) Error() string {
	return fmt.Sprintf("sarif: %s at byte %d: %s", e.Kind, e.Offset, e.Msg)
}

// Unwrap returns the underlying cause (a reader's error, a json error), if any.
func (e *Error) Unwrap() error { return e.err }

// NewErrors returns the keys of the unsuppressed error-level findings of s
// that are new relative to baseline (the ErrorKeys of an earlier run; nil
// means no baseline, so every error-level finding is new). Keys whose
// results the tool itself marked baselineState "unchanged" or "updated" are
// never new; results marked "absent" were not counted by Parse at all. The
// keys are returned sorted; the result is empty, not nil, when none is new.
func NewErrors(s *Summary, baseline []string) []string {
	out := []string{}
	if s == nil {
		return out
	}
	base := make(map[string]struct{}, len(baseline)+len(s.Unchanged))
	for _, k := range baseline {
		base[k] = struct{}{}
	}
	for _, k := range s.Unchanged {
		base[k] = struct{}{}
	}
	for _, k := range s.ErrorKeys {
		if _, ok := base[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out) // ErrorKeys is sorted already unless the caller built s by hand
	return slices.Compact(out)
}

// Parse reads one SARIF 2.1.0 log from r and summarises it. Every error it
// returns is an *Error.
func Parse(r io.Reader, lim Limits) (*Summary, error) {
	lim = lim.withDefaults()
	if r == nil {
		return nil, &Error{Kind: KindEmpty, Msg: "no input (nil reader)"}
	}
	// A UTF-8 byte order mark, which some Windows tools write, is skipped;
	// offsets in errors still count it.
	br := bufio.NewReaderSize(r, 512)
	var bom int64
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		bom = 3
	}
	in := &input{r: br, max: lim.MaxBytes - bom, span: lim.MaxResult}
	dec := json.NewDecoder(in)
	dec.UseNumber() // numbers in skipped values are never converted (1e400 is valid JSON)
	in.dec = dec
	p := &parser{
		lim:  lim,
		bom:  bom,
		in:   in,
		dec:  dec,
		keys: make(map[[16]byte]uint8),
		s:    &Summary{ErrorKeys: []string{}, Findings: []Finding{}},
	}
	if err := p.parseLog(); err != nil {
		var e *Error
		if !errors.As(err, &e) { // cannot happen; keep the promise anyway
			e = &Error{Kind: KindMalformed, Msg: err.Error(), err: err}
		}
		e.Offset += bom
		return nil, e
	}
	p.finish()
	return p.s, nil
}

// ---------------------------------------------------------------------------
// Input bounding

var (
	errInputTooLarge = errors.New("input larger than MaxBytes")
	errValueTooLarge = errors.New("value larger than MaxResult")
)

type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// input counts the bytes read (for MaxBytes) and refuses to let the decoder
// read more than span bytes past its current position, so that no single
// value (or run of whitespace) it must buffer can exceed span.
type input struct {
	r    io.Reader
	n    int64 // bytes read so far
	max  int64 // MaxBytes
	span int64 // MaxResult
	dec  *json.Decoder
	err  error // sticky
}

func (in *input) Read(p []byte) (int, error) {
	if in.err != nil {
		return 0, in.err
	}
	if in.n > in.max {
		in.err = errInputTooLarge
		return 0, in.err
	}
	if in.dec != nil {
		room := in.dec.InputOffset() + in.span - in.n
		if room <= 0 {
			return 0, errValueTooLarge
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	if room := in.max + 1 - in.n; int64(len(p)) > room {
		p = p[:room] // reading one byte past MaxBytes proves the input is too large
	}
	k, err := in.r.Read(p)
	if k < 0 || k > len(p) {
		in.err = &readError{fmt.Errorf("reader returned invalid count %d", k)}
		return 0, in.err
	}
	in.n += int64(k)
	if err != nil && err != io.EOF {
		in.err = &readError{err}
		err = in.err
	}
	return k, err
}

// ---------------------------------------------------------------------------
// Levels and rule tables

const (
	lvUnset uint8 = iota
	lvNone
	lvNote
	lvWarning
	lvError
)

func parseLevel(s string) (uint8, bool) {
	switch s {
	case "":
		return lvUnset, true
	case "none":
		return lvNone, true
	case "note":
		return lvNote, true
	case "warning":
		return lvWarning, true
	case "error":
		return lvError, true
	}
	return 0, false
}

// component is what is kept of one tool component (driver or extension):
// one byte per rule for index lookups and a hashed id for id lookups.
type component struct {
	name, guid uint64 // hashes of "name:"+name and "guid:"+guid; 0 when absent
	levels     []uint8
	byID       map[uint64]uint8
}

func (c *component) addRule(id uint64, hasID bool, lv uint8) {
	c.levels = append(c.levels, lv)
	if !hasID {
		return
	}
	if c.byID == nil {
		c.byID = make(map[uint64]uint8)
	}
	if _, dup := c.byID[id]; !dup {
		c.byID[id] = lv
	}
}

func (c *component) byIDs(ids *[3]uint64) (uint8, bool) {
	for _, h := range ids {
		if h == 0 {
			break
		}
		if lv, ok := c.byID[h]; ok {
			return lv, true
		}
	}
	return 0, false
}

type tools struct {
	seen   bool
	driver component
	exts   []component
}

// ruleRef is how a result points at its rule, kept compactly so that
// resolution can wait until the rules have been read.
type ruleRef struct {
	ext   int32     // -1: driver; >= 0: tool.extensions[ext]; -2: by name/guid hash in comp
	index int32     // rule index, -1 if none (indexes past 1<<31 cannot be in range anyway)
	comp  uint64    // hash when ext == -2
	ids   [3]uint64 // hashes of the rule id and of up to two hierarchical parents; 0 ends
}

func (t *tools) target(ref *ruleRef) *component {
	switch {
	case ref.ext == -1:
		return &t.driver
	case ref.ext >= 0:
		if int(ref.ext) < len(t.exts) {
			return &t.exts[ref.ext]
		}
		return nil
	}
	if t.driver.name == ref.comp || t.driver.guid == ref.comp {
		return &t.driver
	}
	for i := range t.exts {
		if t.exts[i].name == ref.comp || t.exts[i].guid == ref.comp {
			return &t.exts[i]
		}
	}
	return nil
}

// resolve returns the effective level of a result with no explicit level.
func (t *tools) resolve(ref *ruleRef) uint8 {
	lv, found := lvUnset, false
	c := t.target(ref)
	if c != nil {
		if ref.index >= 0 && int(ref.index) < len(c.levels) {
			lv, found = c.levels[ref.index], true
		} else {
			lv, found = c.byIDs(&ref.ids)
		}
	}
	if !found && ref.ids[0] != 0 {
		// Best effort: a rule not in the component named (or no component
		// named) may still be defined, by id, in the driver or an extension.
		if c != &t.driver {
			lv, found = t.driver.byIDs(&ref.ids)
		}
		for i := 0; !found && i < len(t.exts); i++ {
			if c != &t.exts[i] {
				lv, found = t.exts[i].byIDs(&ref.ids)
			}
		}
	}
	if lv == lvUnset {
		return lvWarning
	}
	return lv
}

// ---------------------------------------------------------------------------
// Parser

type parser struct {
	lim Limits
	bom int64 // bytes of byte order mark skipped before the decoder's input
	in  *input
	dec *json.Decoder
	mh  maphash.Hash // hashes rule ids and component names, with a seed per Parse
	s   *Summary

	keys      map[[16]byte]uint8 // key -> flags
	kbuf      []byte             // scratch for resultKey
	pairs     []string           // scratch for resultKey
	toolNames []string
	moreTools int

	// where the parser is, for error messages
	run, item int
	what      string
}

const (
	flagMarked   uint8 = 1 << iota // a result with this key had baselineState unchanged/updated
	flagUnmarked                   // a result with this key had no such state
)

func (p *parser) hash(prefix, s string) uint64 {
	p.mh.Reset()
	p.mh.WriteString(prefix)
	p.mh.WriteString(s)
	h := p.mh.Sum64()
	if h == 0 {
		h = 1 // 0 means "none"
	}
	return h
}

// where describes the parser's position for error messages.
func (p *parser) where() string {
	switch p.what {
	case "":
		return "top level"
	case "run":
		return fmt.Sprintf("runs[%d]", p.run)
	case "result":
		return fmt.Sprintf("runs[%d].results[%d]", p.run, p.item)
	default:
		return fmt.Sprintf("runs[%d].%s", p.run, p.what)
	}
}

func (p *parser) errorf(kind string, off int64, format string, args ...any) *Error {
	return &Error{Kind: kind, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// wrap turns an error from the decoder or the input into an *Error that
// says where it happened.
func (p *parser) wrap(err error) *Error {
	var (
		e   *Error
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
		re  *readError
	)
	off := p.dec.InputOffset()
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, errInputTooLarge):
		return &Error{Kind: KindTooLarge, Offset: p.lim.MaxBytes - p.bom, err: err,
			Msg: fmt.Sprintf("input is larger than the %d-byte limit (Limits.MaxBytes)", p.lim.MaxBytes)}
	case errors.Is(err, errValueTooLarge):
		what := "a single JSON value (or run of whitespace) in " + p.where()
		if p.what == "result" {
			what = "result " + p.where()
		}
		return &Error{Kind: KindTooLarge, Offset: off, err: err,
			Msg: fmt.Sprintf("%s is larger than the %d-byte limit for one value (Limits.MaxResult)", what, p.lim.MaxResult)}
	case errors.As(err, &re):
		return &Error{Kind: KindRead, Offset: p.in.n, err: re.err,
			Msg: fmt.Sprintf("reading input in %s: %v", p.where(), re.err)}
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return &Error{Kind: KindMalformed, Offset: p.in.n, err: err,
			Msg: fmt.Sprintf("unexpected end of input in %s after %d bytes: the log is truncated", p.where(), p.in.n)}
	case errors.As(err, &se):
		// For a bad token the decoder's own offset is exact; for a bad value
		// decoded whole, off is where that value starts.
		return &Error{Kind: KindMalformed, Offset: off, err: err,
			Msg: fmt.Sprintf("invalid JSON in %s: %s", p.where(), strings.TrimPrefix(se.Error(), "json: "))}
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			field = "the value"
		}
		return &Error{Kind: KindMalformed, Offset: off, err: err,
			Msg: fmt.Sprintf("%s: %s is a JSON %s, which does not fit SARIF's %s", p.where(), field, ute.Value, typeName(ute.Type.String()))}
	}
	return &Error{Kind: KindMalformed, Offset: off, err: err, Msg: fmt.Sprintf("%s: %v", p.where(), err)}
}

func typeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "*int"):
		return "integer"
	case strings.HasSuffix(goType, "string"):
		return "string"
	case strings.HasPrefix(goType, "map"):
		return "object of strings"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	}
	return "object"
}

func (p *parser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.wrap(err)
	}
	return tok, nil
}

func (p *parser) decode(v any) error {
	if err := p.dec.Decode(v); err != nil {
		return p.wrap(err)
	}
	return nil
}

// key reads an object key, or reports that the object ended.
func (p *parser) key() (string, bool, error) {
	tok, err := p.token()
	if err != nil {
		return "", false, err
	}
	if d, ok := tok.(json.Delim); ok && d == '}' {
		return "", false, nil
	}
	k, ok := tok.(string)
	if !ok { // the decoder's token state machine does not allow this, but be safe
		return "", false, p.errorf(KindMalformed, p.dec.InputOffset(), "%s: expected an object key, found %s", p.where(), describe(tok))
	}
	return k, true, nil
}

// skipRest skips the remainder of a value whose first token has been read,
// token by token, without recursion and without building anything.
func (p *parser) skipRest(first json.Token) error {
	d, ok := first.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	depth := 1
	for depth > 0 {
		tok, err := p.token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
				if depth > maxDepth {
					return p.errorf(KindMalformed, p.dec.InputOffset(), "%s: JSON nested more than %d levels deep", p.where(), maxDepth)
				}
			} else {
				depth--
			}
		}
	}
	return nil
}

func (p *parser) skip() error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	return p.skipRest(tok)
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return "'" + v.String() + "'"
	case string:
		return "the string " + quoteShort(v)
	case json.Number:
		return "the number " + quoteShort(string(v))
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = truncate(s, 40) + "…"
	}
	return strconv.Quote(s)
}

// openArray reads the start of an array value; null counts as empty.
func (p *parser) openArray(name string) (bool, error) {
	tok, err := p.token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if d, ok := tok.(json.Delim); ok && d == '[' {
		return true, nil
	}
	return false, p.errorf(KindMalformed, p.dec.InputOffset(), "%s: %s is %s, not an array", p.where(), name, describe(tok))
}

// openObject reads the start of an object value; null counts as empty.
func (p *parser) openObject(name string) (bool, error) {
	tok, err := p.token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if d, ok := tok.(json.Delim); ok && d == '{' {
		return true, nil
	}
	return false, p.errorf(KindMalformed, p.dec.InputOffset(), "%s: %s is %s, not an object", p.where(), name, describe(tok))
}

// closeArray consumes the ']' after the last element (More returned false).
func (p *parser) closeArray() error {
	_, err := p.token()
	return err
}

func (p *parser) parseLog() error {
	tok, err := p.dec.Token()
	if err == io.EOF {
		if p.in.n == 0 {
			return p.errorf(KindEmpty, 0, "the input is empty")
		}
		return p.errorf(KindEmpty, p.in.n, "the input holds only whitespace (%d bytes)", p.in.n)
	}
	if err != nil {
		return p.wrap(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return p.errorf(KindNotSARIF, 0, "the top-level JSON value is %s; a SARIF log is an object with \"version\" and \"runs\"", describe(tok))
	}
	sawRuns, sawVersion := false, false
	for {
		k, ok, err := p.key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch k {
		case "version":
			sawVersion = true
			if err := p.checkVersion(); err != nil {
				return err
			}
		case "runs":
			sawRuns = true
			if err := p.parseRuns(); err != nil {
				return err
			}
		default: // "$schema", "inlineExternalProperties", "properties", ...
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
	end := p.dec.InputOffset()
	p.what = ""
	if _, err := p.dec.Token(); err != io.EOF {
		if err == nil {
			return p.errorf(KindMalformed, end, "unexpected data after the SARIF log object")
		}
		e := p.wrap(err)
		if e.Kind == KindMalformed {
			e.Msg = "after the SARIF log object: " + e.Msg
		}
		return e
	}
	if !sawRuns {
		return p.errorf(KindNotSARIF, end, "the top-level object has no \"runs\" property, so it is not a SARIF log")
	}
	if !sawVersion {
		return p.errorf(KindUnsupportedVersion, end, "the log has no \"version\" property; only SARIF version \"2.1.0\" is supported")
	}
	return nil
}

func (p *parser) checkVersion() error {
	off := p.dec.InputOffset()
	tok, err := p.token()
	if err != nil {
		return err
	}
	if v, ok := tok.(string); ok {
		if v == "2.1.0" {
			return nil
		}
		return p.errorf(KindUnsupportedVersion, off, "found SARIF version %s; only \"2.1.0\" is supported", quoteShort(v))
	}
	return p.errorf(KindUnsupportedVersion, off, "\"version\" is %s, not the string \"2.1.0\"", describe(tok))
}

func (p *parser) parseRuns() error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "runs": null is valid SARIF (the tool failed to start)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return p.errorf(KindNotSARIF, p.dec.InputOffset(), "\"runs\" is %s, not an array", describe(tok))
	}
	for p.dec.More() {
		p.run, p.what = p.s.Runs, "run"
		p.s.Runs++
		if err := p.parseRun(); err != nil {
			return err
		}
	}
	p.what = ""
	return p.closeArray()
}

// runState is what is kept while one run is read.
type runState struct {
	tools tools
	tool  string // "name version" of the driver

	// Set when the run's results come before its tool, so that levels and
	// the choice of Findings must wait for the rules.
	deferred   bool
	pending    [][]pending        // chunks of pendingChunk, so that growth never copies
	refs       []ruleRef          // distinct rule references of pending results
	refIDs     map[ruleRef]uint32 // index in refs
	cands      []candidate
	certain    int             // candidates known to be error-level
	unresolved int             // candidates whose level waits for the rules
	perRef     map[ruleRef]int // unresolved candidates per rule reference
}

// pending is a result whose level waits for the rules: 24 bytes.
type pending struct {
	key    [16]byte
	ref    uint32 // index in runState.refs
	marked bool
}

type candidate struct {
	f     Finding
	level uint8 // lvUnset until resolved
	ref   ruleRef
}

func (p *parser) parseRun() error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return p.errorf(KindMalformed, p.dec.InputOffset(), "%s is %s, not a run object", p.where(), describe(tok))
	}
	rs := &runState{}
	for {
		k, ok, err := p.key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch k {
		case "tool":
			p.what = "tool"
			if err := p.parseTool(rs); err != nil {
				return err
			}
			rs.tools.seen = true
		case "results":
			p.what = "results"
			if err := p.parseResults(rs); err != nil {
				return err
			}
		default:
			p.what = "run"
			if err := p.skip(); err != nil {
				return err
			}
		}
		p.what = "run"
	}
	p.endRun(rs)
	return nil
}

func (p *parser) parseTool(rs *runState) error {
	ok, err := p.openObject("tool")
	if err != nil || !ok {
		return err
	}
	for {
		k, ok, err := p.key()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch k {
		case "driver":
			p.what = "tool.driver"
			name, version, err := p.parseComponent(&rs.tools.driver)
			if err != nil {
				return err
			}
			rs.tool = toolString(name, version)
		case "extensions":
			p.what = "tool.extensions"
			ok, err := p.openArray("tool.extensions")
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			for p.dec.More() {
				p.what = fmt.Sprintf("tool.extensions[%d]", len(rs.tools.exts))
				rs.tools.exts = append(rs.tools.exts, component{})
				if _, _, err := p.parseComponent(&rs.tools.exts[len(rs.tools.exts)-1]); err != nil {
					return err
				}
			}
			if err := p.closeArray(); err != nil {
				return err
			}
		default:
			if err := p.skip(); err != nil {
				return err
			}
		}
		p.what = "tool"
	}
}

func toolString(name, version string) string {
	if name == "" {
		name = "(unnamed tool)"
	}
	s := name
	if version != "" {
		s += " " + version
	}
	return truncate(s, maxToolName)
}

type rawRule struct {
	ID                   string `json:"id"`
	DefaultConfiguration *struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
}

// parseComponent reads a toolComponent: its identity and its rules.
func (p *parser) parseComponent(c *component) (name, version string, err error) {
	ok, err := p.openObject(p.what)
	if err != nil || !ok {
		return "", "", err
	}
	base := p.what
	var semver string
	for {
		k, ok, err := p.key()
		if err != nil {
			return "", "", err
		}
		if !ok {
			break
		}
		switch k {
		case "name", "version", "semanticVersion", "guid":
			var s *string
			p.what = base + "." + k
			if err := p.decode(&s); err != nil {
				return "", "", err
			}
			if s == nil {
				break
			}
			switch k {
			case "name":
				name = *s
				c.name = p.hash("name:", *s)
			case "version":
				version = *s
			case "semanticVersion":
				semver = *s
			case "guid":
				c.guid = p.hash("guid:", strings.ToLower(*s))
			}
		case "rules":
			p.what = base + ".rules"
			ok, err := p.openArray(p.what)
			if err != nil {
				return "", "", err
			}
			if !ok {
				break
			}
			for p.dec.More() {
				p.what = fmt.Sprintf("%s.rules[%d]", base, len(c.levels))
				var r *rawRule
				if err := p.decode(&r); err != nil {
					return "", "", err
				}
				lv := lvUnset
				if r != nil && r.DefaultConfiguration != nil {
					l, ok := parseLevel(r.DefaultConfiguration.Level)
					if !ok {
						return "", "", p.errorf(KindMalformed, p.dec.InputOffset(), "%s: defaultConfiguration.level is %s; SARIF allows \"error\", \"warning\", \"note\" or \"none\"", p.where(), quoteShort(r.DefaultConfiguration.Level))
					}
					lv = l
				}
				var id uint64
				hasID := r != nil && r.ID != ""
				if hasID {
					id = p.hash("rule:", r.ID)
				}
				c.addRule(id, hasID, lv)
			}
			if err := p.closeArray(); err != nil {
				return "", "", err
			}
		default:
			p.what = base
			if err := p.skip(); err != nil {
				return "", "", err
			}
		}
		p.what = base
	}
	if semver != "" {
		version = semver
	}
	return name, version, nil
}

type rawResult struct {
	RuleID    string `json:"ruleId"`
	RuleIndex *int64 `json:"ruleIndex"`
	Rule      *struct {
		ID            string `json:"id"`
		Index         *int64 `json:"index"`
		ToolComponent *struct {
			Name  string `json:"name"`
			GUID  string `json:"guid"`
			Index *int64 `json:"index"`
		} `json:"toolComponent"`
	} `json:"rule"`
	Kind    string `json:"kind"`
	Level   string `json:"level"`
	Message struct {
		Text string `json:"text"`
		ID   string `json:"id"`
	} `json:"message"`
	Locations []struct {
		PhysicalLocation *struct {
			ArtifactLocation *struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region *struct {
				StartLine int64 `json:"startLine"`
			} `json:"region"`
		} `json:"physicalLocation"`
	} `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Fingerprints        map[string]string `json:"fingerprints"`
	Suppressions        []struct {
		Status string `json:"status"`
	} `json:"suppressions"`
	BaselineState string `json:"baselineState"`
}

func (p *parser) parseResults(rs *runState) error {
	ok, err := p.openArray("results")
	if err != nil || !ok {
		return err
	}
	if !rs.tools.seen {
		rs.deferred = true
	}
	for p.dec.More() {
		p.what = "result"
		var rr *rawResult
		if err := p.decode(&rr); err != nil {
			return err
		}
		if rr == nil {
			return p.errorf(KindMalformed, p.dec.InputOffset(), "%s is null, not a result object", p.where())
		}
		if err := p.addResult(rs, rr); err != nil {
			return err
		}
		p.item++
	}
	p.what = "results"
	return p.closeArray()
}

func (p *parser) addResult(rs *runState, rr *rawResult) error {
	p.s.Results++
	switch rr.Kind {
	case "", "fail":
	case "pass", "open", "review", "notApplicable", "informational":
		return nil // not a finding
	default:
		// Fail closed: a misspelt "fail" must not hide a finding.
		return p.errorf(KindMalformed, p.dec.InputOffset(), "%s: kind is %s; SARIF allows \"fail\", \"pass\", \"open\", \"review\", \"notApplicable\" or \"informational\"", p.where(), quoteShort(rr.Kind))
	}
	if rr.BaselineState == "absent" {
		return nil // no longer present in the scanned code
	}
	if suppressed(rr) {
		p.s.Suppressed++
		return nil
	}
	lv, ok := parseLevel(rr.Level)
	if !ok {
		return p.errorf(KindMalformed, p.dec.InputOffset(), "%s: level is %s; SARIF allows \"error\", \"warning\", \"note\" or \"none\"", p.where(), quoteShort(rr.Level))
	}
	ruleID := rr.RuleID
	if ruleID == "" && rr.Rule != nil {
		ruleID = rr.Rule.ID
	}
	ref := p.ruleRef(rr, ruleID)
	if ruleID == "" && ref.index >= 0 {
		ruleID = "#" + strconv.FormatInt(int64(ref.index), 10)
	}
	if lv == lvUnset && rs.tools.seen {
		lv = rs.tools.resolve(&ref)
	}
	if lv != lvUnset && lv != lvError {
		p.count(lv, [16]byte{}, false) // only error-level results need a key
		return nil
	}
	uri, line := firstLocation(rr)
	key := p.resultKey(rr, ruleID, uri, line)
	marked := rr.BaselineState == "unchanged" || rr.BaselineState == "updated"
	if lv == lvUnset {
		rs.addPending(pending{ref: rs.refID(ref), key: key, marked: marked})
	} else {
		p.count(lv, key, marked)
	}
	if !rs.deferred {
		if len(p.s.Findings) < p.lim.MaxFindings {
			p.s.Findings = append(p.s.Findings, makeFinding(rr, key, ruleID, uri, line))
		}
		return nil
	}
	p.addCandidate(rs, lv, ref, func() Finding { return makeFinding(rr, key, ruleID, uri, line) })
	return nil
}

// addCandidate keeps a possible Finding of a run whose rules are not known
// yet. Nothing after the point where the certain (explicit error) candidates
// fill the remaining room can be among the first MaxFindings. Unresolved
// candidates are kept at most MaxFindings per rule reference (if that rule
// turns out to be error-level, its first MaxFindings fill the room) and at
// most candidateRatio×MaxFindings in all, which bounds the memory.
func (p *parser) addCandidate(rs *runState, lv uint8, ref ruleRef, f func() Finding) {
	room := p.lim.MaxFindings - len(p.s.Findings)
	if rs.certain >= room {
		return
	}
	if lv == lvError {
		rs.cands = append(rs.cands, candidate{f: f(), level: lv})
		rs.certain++
		return
	}
	if rs.unresolved >= candidateRatio*p.lim.MaxFindings || rs.perRef[ref] >= room {
		return
	}
	if rs.perRef == nil {
		rs.perRef = make(map[ruleRef]int)
	}
	rs.perRef[ref]++
	rs.unresolved++
	rs.cands = append(rs.cands, candidate{f: f(), ref: ref})
}

const pendingChunk = 4096

func (rs *runState) addPending(pr pending) {
	if n := len(rs.pending); n == 0 || len(rs.pending[n-1]) == pendingChunk {
		rs.pending = append(rs.pending, make([]pending, 0, pendingChunk))
	}
	last := &rs.pending[len(rs.pending)-1]
	*last = append(*last, pr)
}

func (rs *runState) refID(ref ruleRef) uint32 {
	if id, ok := rs.refIDs[ref]; ok {
		return id
	}
	if rs.refIDs == nil {
		rs.refIDs = make(map[ruleRef]uint32)
	}
	id := uint32(len(rs.refs))
	rs.refs = append(rs.refs, ref)
	rs.refIDs[ref] = id
	return id
}

func (p *parser) endRun(rs *runState) {
	levels := make([]uint8, len(rs.refs))
	for i := range rs.refs {
		levels[i] = rs.tools.resolve(&rs.refs[i])
	}
	for _, chunk := range rs.pending {
		for _, pr := range chunk {
			p.count(levels[pr.ref], pr.key, pr.marked)
		}
	}
	for i := range rs.cands {
		c := &rs.cands[i]
		if c.level == lvUnset {
			c.level = rs.tools.resolve(&c.ref)
		}
		if c.level == lvError && len(p.s.Findings) < p.lim.MaxFindings {
			p.s.Findings = append(p.s.Findings, c.f)
		}
	}
	p.addTool(rs.tool)
	p.item = 0
}

func (p *parser) addTool(t string) {
	if t == "" || slices.Contains(p.toolNames, t) {
		return
	}
	if len(p.toolNames) >= maxToolNames {
		p.moreTools++
		return
	}
	p.toolNames = append(p.toolNames, t)
}

func (p *parser) count(lv uint8, key [16]byte, marked bool) {
	switch lv {
	case lvError:
		p.s.Errors++
		f := flagUnmarked
		if marked {
			f = flagMarked
		}
		p.keys[key] |= f
	case lvWarning:
		p.s.Warnings++
	case lvNote:
		p.s.Notes++
	}
}

func (p *parser) finish() {
	keys := make([][16]byte, 0, len(p.keys))
	for k := range p.keys {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	p.s.ErrorKeys = make([]string, len(keys))
	for i, k := range keys {
		p.s.ErrorKeys[i] = hex.EncodeToString(k[:])
		if p.keys[k] == flagMarked {
			p.s.Unchanged = append(p.s.Unchanged, p.s.ErrorKeys[i])
		}
	}
	p.s.Tool = strings.Join(p.toolNames, ", ")
	if p.moreTools > 0 {
		p.s.Tool += fmt.Sprintf(" and %d more", p.moreTools)
	}
}

func suppressed(rr *rawResult) bool {
	if len(rr.Suppressions) == 0 {
		return false
	}
	for _, s := range rr.Suppressions {
		if s.Status != "" && s.Status != "accepted" {
			return false // underReview or rejected
		}
	}
	return true
}

func (p *parser) ruleRef(rr *rawResult, ruleID string) ruleRef {
	ref := ruleRef{ext: -1, index: -1}
	if rr.RuleIndex != nil && *rr.RuleIndex >= 0 {
		ref.index = int32(min(*rr.RuleIndex, math.MaxInt32))
	}
	if rr.Rule != nil {
		if rr.Rule.Index != nil && *rr.Rule.Index >= 0 {
			ref.index = int32(min(*rr.Rule.Index, math.MaxInt32))
		}
		if tc := rr.Rule.ToolComponent; tc != nil {
			switch {
			case tc.Index != nil && *tc.Index >= 0:
				ref.ext = int32(min(*tc.Index, math.MaxInt32))
			case tc.GUID != "":
				ref.ext, ref.comp = -2, p.hash("guid:", strings.ToLower(tc.GUID))
			case tc.Name != "":
				ref.ext, ref.comp = -2, p.hash("name:", tc.Name)
			}
		}
	}
	id := ruleID
	for i := 0; i < len(ref.ids) && id != ""; i++ {
		ref.ids[i] = p.hash("rule:", id)
		j := strings.LastIndexByte(id, '/')
		if j <= 0 {
			break
		}
		id = id[:j]
	}
	return ref
}

func firstLocation(rr *rawResult) (uri string, line int64) {
	for _, l := range rr.Locations {
		if pl := l.PhysicalLocation; pl != nil {
			if pl.ArtifactLocation != nil {
				uri = pl.ArtifactLocation.URI
			}
			if pl.Region != nil && pl.Region.StartLine > 0 {
				line = pl.Region.StartLine
			}
			return uri, line
		}
	}
	return "", 0
}

func messageText(rr *rawResult) string {
	if rr.Message.Text != "" {
		return rr.Message.Text
	}
	if rr.Message.ID != "" {
		return "id:" + rr.Message.ID
	}
	return ""
}

// resultKey computes a result's Key (see the package documentation) in a
// buffer reused across results.
func (p *parser) resultKey(rr *rawResult, ruleID, uri string, line int64) [16]byte {
	b := p.kbuf[:0]
	fps := rr.PartialFingerprints
	if len(fps) == 0 {
		fps = rr.Fingerprints
	}
	if len(fps) > 0 {
		pairs := p.pairs[:0]
		for k, v := range fps {
			pairs = append(pairs, k+"="+v)
		}
		slices.Sort(pairs)
		b = append(b, "fp:"...)
		for i, pr := range pairs {
			if i > 0 {
				b = append(b, '\n')
			}
			b = append(b, pr...)
		}
		b = append(b, '\n')
		b = append(b, ruleID...)
		clear(pairs)
		p.pairs = pairs[:0]
	} else {
		b = append(b, ruleID...)
		b = append(b, '\n')
		b = append(b, uri...)
		b = append(b, '\n')
		if line > 0 {
			b = strconv.AppendInt(b, line, 10)
		}
		b = append(b, '\n')
		first := true
		for f := range strings.FieldsSeq(messageText(rr)) {
			if !first {
				b = append(b, ' ')
			}
			b = append(b, f...)
			first = false
		}
	}
	sum := sha256.Sum256(b)
	if cap(b) <= 64<<10 {
		p.kbuf = b // keep a modest buffer for the next result
	}
	var key [16]byte
	copy(key[:], sum[:16])
	return key
}

func makeFinding(rr *rawResult, key [16]byte, ruleID, uri string, line int64) Finding {
	loc := ""
	if uri != "" || line > 0 {
		loc = truncate(uri, maxMessage)
		if line > 0 {
			loc += ":" + strconv.FormatInt(line, 10)
		}
	}
	return Finding{
		Key:      hex.EncodeToString(key[:]),
		RuleID:   truncate(ruleID, maxMessage),
		Level:    "error",
		Message:  truncate(messageText(rr), maxMessage),
		Location: loc,
		Baseline: truncate(rr.BaselineState, 40),
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.Clone(s[:i])
}
