package junit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// countingReader enforces Limits.MaxBytes. It lets exactly max bytes
// through and fails with a *Error of Kind "too_large" on the first byte
// past it. Errors of the underlying reader are wrapped as Kind "io".
type countingReader struct {
	r   io.Reader
	n   int64 // bytes delivered so far
	max int64
	err error // sticky
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for at most one byte more than is allowed, so an input of
	// exactly max bytes passes and max+1 is detected.
	if room := c.max - c.n + 1; room > 0 && int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	if n > 0 && c.n+int64(n) > c.max {
		n = int(c.max - c.n)
		c.n = c.max
		c.err = &Error{Kind: KindTooLarge, Offset: c.max,
			Msg: fmt.Sprintf("input is larger than the limit of %d bytes (Limits.MaxBytes)", c.max)}
		return n, c.err
	}
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = &Error{Kind: KindIO, Offset: c.n, Msg: "reading input: " + err.Error(), err: err}
		return n, c.err
	}
	return n, err
}

// filter states.
const (
	stText    = iota // character data between tags
	stTag            // inside <name ...> or </name>, passed through
	stPI             // inside <? ... ?>, passed through
	stComment        // inside <!-- ... -->, dropped
	stCDATA          // inside <![CDATA[ ... ]]>, content limited
	stDoctype        // inside <!DOCTYPE ...>, dropped; internal subsets refused
)

// maxEntity bounds a pending entity reference (&name; or &#...;) in
// character data. Longer ones are not valid references anyway; they are
// passed on for the decoder to reject.
const maxEntity = 32

// filter is the streaming pre-processor that sits between the raw input and
// encoding/xml's Decoder. It passes markup through unchanged, but:
//
//   - truncates every run of character data (text between tags, and the
//     content of each CDATA section) to maxText bytes, never cutting inside
//     an entity reference or a UTF-8 sequence, and drops the rest of the
//     run, so no CharData token the decoder builds is ever larger than
//     about maxText bytes however big a <system-out> is;
//   - drops comments and DOCTYPE declarations without an internal subset;
//   - refuses DTD internal subsets (the only place entities can be defined,
//     hence entity-expansion bombs) and any other <!...> declaration;
//   - refuses a tag, processing instruction or DOCTYPE longer than maxTag;
//   - keeps the raw byte offset and line number of what it has consumed,
//     so errors can be located in the original input.
//
// It implements io.ByteReader, so the decoder reads it byte by byte without
// a read-ahead buffer of its own: the filter's position is therefore the
// decoder's position, give or take the byte the decoder has un-read.
type filter struct {
	r       *bufio.Reader
	maxText int
	maxTag  int

	off  int64 // raw bytes consumed
	line int   // 1-based line of the next raw byte

	q  []byte // output not yet handed to the decoder
	qi int

	st        int
	run       int    // bytes of character data kept in the current run
	dropping  bool   // the current run hit maxText; drop until it ends
	utfRemain int    // continuation bytes of a kept UTF-8 sequence still due
	ent       []byte // pending entity reference, starting with '&'
	tagLen    int    // bytes of the current tag/PI/DOCTYPE
	quote     byte   // quote character open inside a tag, or 0
	dashes    int    // consecutive '-' in a comment
	brackets  int    // consecutive ']' in a CDATA section, not yet emitted
	prevQ     bool   // the previous byte of a PI was '?'

	started   bool // the BOM check has been done
	nonSpace  bool // a non-whitespace byte was seen
	truncated bool // some character data was dropped
	err       error
}

func newFilter(r io.Reader, maxText, maxTag int) *filter {
	return &filter{
		r:       bufio.NewReaderSize(r, 64<<10),
		maxText: maxText,
		maxTag:  maxTag,
		line:    1,
		q:       make([]byte, 0, 64),
		ent:     make([]byte, 0, maxEntity+1),
	}
}

// Read implements io.Reader (the decoder needs it when it hands the input
// to a CharsetReader).
func (f *filter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := f.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	n := 1
	for n < len(p) && f.qi < len(f.q) {
		p[n] = f.q[f.qi]
		f.qi++
		n++
	}
	return n, nil
}

// ReadByte implements io.ByteReader.
func (f *filter) ReadByte() (byte, error) {
	for {
		if f.qi < len(f.q) {
			b := f.q[f.qi]
			f.qi++
			return b, nil
		}
		f.q = f.q[:0]
		f.qi = 0
		if f.err != nil {
			return 0, f.err
		}
		if f.started {
			// Fast path for the common bytes, which pass through without
			// changing any state but the counters; same effect as step.
			if c, err := f.r.ReadByte(); err == nil {
				switch {
				case f.st == stTag && c != '>' && c != '"' && c != '\'' && c != '\n' && f.tagLen < f.maxTag:
					f.off++
					f.tagLen++
					return c, nil
				case f.st == stText && c < 0x80 && c != '<' && c != '&' && c != '\n' &&
					!f.dropping && len(f.ent) == 0 && f.run < f.maxText:
					f.off++
					f.run++
					f.utfRemain = 0
					if !f.nonSpace && !isSpace(c) {
						f.nonSpace = true
					}
					return c, nil
				}
				f.r.UnreadByte()
			}
		}
		f.step()
	}
}

// fail records a filter error at the current position.
func (f *filter) fail(kind, format string, args ...any) {
	f.err = &Error{Kind: kind, Offset: f.off, Line: f.line, Msg: fmt.Sprintf(format, args...)}
}

// consumed accounts for raw bytes that were read.
func (f *filter) consumed(p []byte) {
	f.off += int64(len(p))
	f.line += bytes.Count(p, nl)
}

var nl = []byte{'\n'}

func (f *filter) emit(b ...byte) { f.q = append(f.q, b...) }

// resetRun starts a new run of character data.
func (f *filter) resetRun() {
	f.run = 0
	f.dropping = false
	f.utfRemain = 0
	f.ent = f.ent[:0]
}

func (f *filter) drop() {
	f.dropping = true
	f.truncated = true
}

// utf8Len is the length of the UTF-8 sequence that lead byte c starts
// (1 for ASCII and for bytes that cannot start a sequence).
func utf8Len(c byte) int {
	switch {
	case c >= 0xF0:
		return 4
	case c >= 0xE0:
		return 3
	case c >= 0xC0:
		return 2
	}
	return 1
}

// keepText emits one byte of character data (text or CDATA content)
// if the run still has room for it and the sequence it starts.
func (f *filter) keepText(c byte) {
	if f.dropping {
		f.truncated = true
		return
	}
	if f.utfRemain > 0 && c&0xC0 == 0x80 {
		// Room for the whole sequence was reserved by its lead byte.
		f.utfRemain--
		f.emit(c)
		return
	}
	f.utfRemain = 0
	n := utf8Len(c)
	if f.run+n > f.maxText {
		f.drop()
		return
	}
	f.run += n
	f.utfRemain = n - 1
	f.emit(c)
}

// flushEntity hands a pending entity reference on whole if it fits in the
// run, and drops it otherwise.
func (f *filter) flushEntity() {
	if len(f.ent) == 0 {
		return
	}
	if !f.dropping && f.run+len(f.ent) <= f.maxText {
		f.run += len(f.ent)
		f.emit(f.ent...)
	} else {
		f.drop()
	}
	f.ent = f.ent[:0]
}

// flushBrackets emits ']' bytes of a CDATA section that turned out not to
// start its end marker.
func (f *filter) flushBrackets() {
	for ; f.brackets > 0; f.brackets-- {
		f.keepText(']')
		if f.dropping {
			f.brackets = 0
			return
		}
	}
}

// skipDropped consumes, in bulk, buffered input that would be dropped
// anyway: the rest of a truncated text run or CDATA section. It returns
// true if it consumed something.
func (f *filter) skipDropped() bool {
	if !f.dropping || len(f.ent) != 0 || (f.st != stText && f.st != stCDATA) {
		return false
	}
	if _, err := f.r.Peek(1); err != nil {
		return false // let the byte path report EOF or the error
	}
	buf, _ := f.r.Peek(f.r.Buffered())
	stop := byte('<')
	if f.st == stCDATA {
		stop = '>'
	}
	i := bytes.IndexByte(buf, stop)
	if i < 0 {
		i = len(buf)
	}
	if i == 0 {
		return false
	}
	chunk := buf[:i]
	if f.st == stCDATA {
		// Track the ']' run that may start the "]]>" end marker.
		t := len(chunk) - len(bytes.TrimRight(chunk, "]"))
		if t == len(chunk) {
			f.brackets += t
		} else {
			f.brackets = t
		}
	}
	if !f.nonSpace && len(bytes.TrimSpace(chunk)) > 0 {
		f.nonSpace = true
	}
	f.consumed(chunk)
	f.truncated = true
	f.r.Discard(i)
	return true
}

// step consumes at least one raw byte (or records an error or EOF),
// possibly queueing output.
func (f *filter) step() {
	if !f.started {
		f.started = true
		if p, _ := f.r.Peek(3); bytes.Equal(p, []byte{0xEF, 0xBB, 0xBF}) {
			f.r.Discard(3)
			f.off += 3
		}
	}
	if f.skipDropped() {
		return
	}
	c, err := f.r.ReadByte()
	if err != nil {
		f.atEnd(err)
		return
	}
	f.off++
	if c == '\n' {
		f.line++
	}
	if !f.nonSpace && !isSpace(c) {
		f.nonSpace = true
	}
	switch f.st {
	case stText:
		if c == '<' {
			f.flushEntity()
			f.markup()
			return
		}
		if len(f.ent) > 0 {
			f.ent = append(f.ent, c)
			if c == ';' || len(f.ent) >= maxEntity {
				f.flushEntity()
			}
			return
		}
		if c == '&' && !f.dropping {
			f.utfRemain = 0
			f.ent = append(f.ent, c)
			return
		}
		f.keepText(c)

	case stTag, stDoctype:
		f.tagLen++
		if f.tagLen > f.maxTag {
			what := "tag"
			if f.st == stDoctype {
				what = "DOCTYPE declaration"
			}
			f.fail(KindTooLarge, "a %s is longer than the limit of %d bytes (Limits.MaxTag)", what, f.maxTag)
			return
		}
		switch {
		case f.quote != 0:
			if c == f.quote {
				f.quote = 0
			}
		case c == '"' || c == '\'':
			f.quote = c
		case c == '[' && f.st == stDoctype:
			f.fail(KindMalformed, "DOCTYPE with an internal DTD subset is not accepted: "+
				"entity definitions could expand without bound (\"billion laughs\"), and JUnit reports never need a DTD")
			return
		case c == '>':
			if f.st == stTag {
				f.emit(c)
				f.resetRun()
			}
			f.st = stText
			return
		}
		if f.st == stTag {
			f.emit(c)
		}

	case stPI:
		f.tagLen++
		if f.tagLen > f.maxTag {
			f.fail(KindTooLarge, "a processing instruction is longer than the limit of %d bytes (Limits.MaxTag)", f.maxTag)
			return
		}
		f.emit(c)
		if c == '>' && f.prevQ {
			f.st = stText
			f.resetRun()
		}
		f.prevQ = c == '?'

	case stComment:
		// Comments are dropped; the current text run goes on after one,
		// exactly as the decoder would see it.
		if c == '>' && f.dashes >= 2 {
			f.st = stText
		} else if c == '-' {
			f.dashes++
		} else {
			f.dashes = 0
		}

	case stCDATA:
		switch {
		case c == '>' && f.brackets >= 2:
			f.brackets -= 2
			f.flushBrackets()
			f.emit(']', ']', '>')
			f.st = stText
			f.resetRun()
		case c == ']':
			f.brackets++
		default:
			f.flushBrackets()
			f.keepText(c)
		}
	}
}

// markup classifies what follows a '<' in character data.
func (f *filter) markup() {
	p, perr := f.r.Peek(8)
	if len(p) > 0 && p[0] == '!' {
		switch {
		case bytes.HasPrefix(p, []byte("!--")):
			f.advance(3)
			f.st = stComment
			f.dashes = 0
		case bytes.HasPrefix(p, []byte("![CDATA[")):
			f.advance(8)
			f.emit([]byte("<![CDATA[")...)
			f.st = stCDATA
			f.brackets = 0
			f.resetRun()
		case bytes.HasPrefix(p, []byte("!DOCTYPE")):
			f.advance(8)
			f.st = stDoctype
			f.tagLen = 9
			f.quote = 0
		case len(p) < 8 && isPrefixOfDecl(p):
			if perr != nil && perr != io.EOF {
				f.atEnd(perr) // too_large or a read error, not a truncated report
				return
			}
			f.fail(KindMalformed, "unexpected end of input inside markup (truncated report?)")
		default:
			what := string(p)
			if i := bytes.IndexAny(p, " \t\r\n>"); i >= 0 {
				what = string(p[:i])
			}
			f.fail(KindMalformed, "unsupported markup declaration %q: only comments, CDATA sections and "+
				"a DOCTYPE without DTD/entity definitions are accepted", "<"+what)
		}
		return
	}
	f.emit('<')
	f.tagLen = 1
	f.quote = 0
	f.resetRun()
	if len(p) > 0 && p[0] == '?' {
		f.st = stPI
		f.prevQ = false
	} else {
		f.st = stTag
	}
}

func isPrefixOfDecl(p []byte) bool {
	for _, d := range []string{"!--", "![CDATA[", "!DOCTYPE"} {
		if len(p) < len(d) && d[:len(p)] == string(p) {
			return true
		}
	}
	return false
}

func (f *filter) advance(n int) {
	f.r.Discard(n)
	f.off += int64(n) // the declarations we skip this way have no newline
}

// atEnd handles the end of the raw input (or a read error).
func (f *filter) atEnd(err error) {
	if err != io.EOF {
		if e, ok := err.(*Error); ok {
			e.Line = f.line
			f.err = e
			return
		}
		f.fail(KindIO, "reading input: %v", err)
		return
	}
	switch f.st {
	case stText:
		f.flushEntity()
		f.err = io.EOF
	case stComment:
		f.fail(KindMalformed, "unexpected end of input inside a comment (truncated report?)")
	case stCDATA:
		f.fail(KindMalformed, "unexpected end of input inside a CDATA section (truncated report?)")
	case stDoctype:
		f.fail(KindMalformed, "unexpected end of input inside a DOCTYPE declaration (truncated report?)")
	case stPI:
		f.fail(KindMalformed, "unexpected end of input inside a processing instruction (truncated report?)")
	default:
		f.fail(KindMalformed, "unexpected end of input inside a tag (truncated report?)")
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
