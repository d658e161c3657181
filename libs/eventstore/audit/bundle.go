package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// Bundle formats. Export writes BundleFormat; ReadBundle reads both.
const (
	// BundleFormat is the format Export writes: everything that is hashed
	// or signed is carried as a JSON string or as base64 of its exact bytes,
	// so the bundle verifies the same after any rewrite that keeps the
	// meaning of its JSON (reformatting, key order, \u escapes).
	BundleFormat = "floe-audit-bundle/v2"
	// BundleFormatV1 embedded event bodies as JSON and is verified byte for
	// byte as the file spells them: any JSON rewrite of a v1 bundle shows as
	// edited events. It is still read, so old exports verify as before.
	BundleFormatV1 = "floe-audit-bundle/v1"
)

// A bundle is a stream of JSON objects (one a line when Export writes it;
// any whitespace between and inside them is accepted): a header, then every
// checkpoint, then the events of the exported range. It carries the public
// key, so it verifies on its own (`floe audit verify --bundle`); an auditor
// should still compare the key id with the one published out of band.
// docs/eventstore.md specifies the format field by field.

// v2Header is the first object of a v2 bundle.
type v2Header struct {
	Kind       string `json:"kind"` // "header"
	Format     string `json:"format"`
	Origin     string `json:"origin"`         // informative; the signed origin is in each checkpoint's note
	PublicKey  []byte `json:"public_key_b64"` // raw 32-byte ed25519 key
	KeyID      string `json:"key_id"`
	From       uint64 `json:"from"`
	To         uint64 `json:"to"`
	ExportedAt string `json:"exported_at"` // informative
}

// v2Checkpoint is a checkpoint as a v2 bundle carries it: the signed note
// text itself rather than fields to re-render it from.
type v2Checkpoint struct {
	Kind      string  `json:"kind"` // "checkpoint"
	Note      *string `json:"note,omitempty"`
	NoteB64   []byte  `json:"note_b64,omitempty"` // instead of note when the note is not valid UTF-8
	Signature []byte  `json:"signature_b64"`
	KeyID     string  `json:"key_id"`
	From      uint64  `json:"from"`
	Leaves    []byte  `json:"leaves_b64"`
}

// v2Event is one stored message. Strings that are not valid UTF-8 (which a
// JSON string cannot carry) go base64-encoded into the _b64 fields instead.
type v2Event struct {
	Kind       string              `json:"kind"` // "event"
	Seq        uint64              `json:"seq"`
	Subject    *string             `json:"subject,omitempty"`
	SubjectB64 []byte              `json:"subject_b64,omitempty"`
	Headers    map[string][]string `json:"headers"`
	HeadersB64 map[string][]string `json:"headers_b64,omitempty"` // base64 name → base64 values
	Data       *[]byte             `json:"data_b64"`
}

// v1Line is any object of a v1 bundle.
type v1Line struct {
	Kind string `json:"kind"` // header | checkpoint | event

	// header
	Format    string `json:"format,omitempty"`
	PublicKey []byte `json:"public_key,omitempty"`
	KeyID     string `json:"key_id,omitempty"`
	From      uint64 `json:"from,omitempty"`
	To        uint64 `json:"to,omitempty"`

	// checkpoint
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`

	// event
	Seq     uint64              `json:"seq,omitempty"`
	Subject string              `json:"subject,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	Data    json.RawMessage     `json:"data,omitempty"`
	DataB64 []byte              `json:"data_b64,omitempty"`
}

// ExportStats says what an export wrote.
type ExportStats struct {
	From, To    uint64
	Events      uint64
	Checkpoints int
}

// Export writes positions from..to (to 0 = the end) of src, with every
// checkpoint, as a BundleFormat bundle to w. progress (optional) is told the
// events written so far.
func Export(ctx context.Context, src Source, pub ed25519.PublicKey, from, to uint64, w io.Writer, progress func(uint64)) (*ExportStats, error) {
	if from == 0 {
		from = 1
	}
	if to != 0 && to < from {
		return nil, fmt.Errorf("--to %d is before --from %d", to, from)
	}
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	origin := ""
	if len(cps) > 0 {
		origin = cps[0].Origin
	}
	stats := &ExportStats{From: from, To: to}
	if to == 0 {
		// The header states the range, so an open range is closed at the log's current end.
		if stats.To, err = lastSeq(ctx, src); err != nil {
			return nil, err
		}
	}
	hdr := v2Header{Kind: "header", Format: BundleFormat, Origin: origin, PublicKey: pub, KeyID: KeyID(pub), From: from, To: stats.To, ExportedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	if err := enc.Encode(hdr); err != nil {
		return nil, err
	}
	for _, cp := range cps {
		line := v2Checkpoint{Kind: "checkpoint", Signature: cp.Signature, KeyID: cp.KeyID, From: cp.From, Leaves: cp.Leaves}
		if note := cp.Body(); utf8.Valid(note) {
			s := string(note)
			line.Note = &s
		} else {
			line.NoteB64 = note
		}
		if err := enc.Encode(line); err != nil {
			return nil, err
		}
		stats.Checkpoints++
	}
	err = src.Events(ctx, from, func(m *RawEvent) error {
		if m.Seq > stats.To {
			return nil
		}
		if err := enc.Encode(newV2Event(m)); err != nil {
			return err
		}
		stats.Events++
		if progress != nil && stats.Events%50_000 == 0 {
			progress(stats.Events)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stats, bw.Flush()
}

func newV2Event(m *RawEvent) v2Event {
	data := m.Data
	if data == nil {
		data = []byte{}
	}
	line := v2Event{Kind: "event", Seq: m.Seq, Headers: map[string][]string{}, Data: &data}
	if utf8.ValidString(m.Subject) {
		s := m.Subject
		line.Subject = &s
	} else {
		line.SubjectB64 = []byte(m.Subject)
	}
	for k, v := range m.Header {
		if strings.HasPrefix(k, "Nats-") {
			continue // server bookkeeping, not part of the event
		}
		if validUTF8(k, v) {
			line.Headers[k] = v
			continue
		}
		if line.HeadersB64 == nil {
			line.HeadersB64 = map[string][]string{}
		}
		enc := make([]string, len(v))
		for i, s := range v {
			enc[i] = base64.StdEncoding.EncodeToString([]byte(s))
		}
		line.HeadersB64[base64.StdEncoding.EncodeToString([]byte(k))] = enc
	}
	return line
}

func validUTF8(name string, values []string) bool {
	if !utf8.ValidString(name) {
		return false
	}
	for _, v := range values {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

func lastSeq(ctx context.Context, src Source) (uint64, error) {
	if l, ok := src.(interface {
		LastSeq(context.Context) (uint64, error)
	}); ok {
		return l.LastSeq(ctx)
	}
	_, to := src.Range()
	return to, nil
}

// Bundle is a Source read from an exported bundle file.
type Bundle struct {
	Format      string // BundleFormat or BundleFormatV1
	PublicKey   ed25519.PublicKey
	KeyID       string
	from, to    uint64
	checkpoints []*Checkpoint
	events      []*RawEvent
}

// ReadBundle parses a bundle of either format. It reads a stream of JSON
// values, not lines, so a pretty-printed bundle (jq . output) reads the same
// as the one-object-a-line file Export writes. Unknown fields are ignored.
func ReadBundle(r io.Reader) (*Bundle, error) {
	dec := json.NewDecoder(r)
	b := &Bundle{}
	for n := 1; ; n++ {
		at := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			if n == 1 {
				return nil, errors.New("bundle is empty")
			}
			return b, nil
		} else if err != nil {
			return nil, fmt.Errorf("bundle record %d (after byte %d): %w", n, at, err)
		}
		var err error
		switch {
		case n == 1:
			err = b.readHeader(raw)
		case b.Format == BundleFormatV1:
			err = b.readV1(raw)
		default:
			err = b.readV2(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("bundle record %d (after byte %d): %w", n, at, err)
		}
	}
}

func (b *Bundle) readHeader(raw []byte) error {
	var h struct {
		Kind   string `json:"kind"`
		Format string `json:"format"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.Kind != "header" || (h.Format != BundleFormat && h.Format != BundleFormatV1) {
		return fmt.Errorf("not a %s or %s header", BundleFormat, BundleFormatV1)
	}
	b.Format = h.Format
	if h.Format == BundleFormatV1 {
		return b.readV1(raw)
	}
	var v2 v2Header
	if err := json.Unmarshal(raw, &v2); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if len(v2.PublicKey) != ed25519.PublicKeySize {
		return errors.New("header: public_key_b64 is not an ed25519 public key")
	}
	if v2.KeyID != KeyID(v2.PublicKey) {
		return fmt.Errorf("header: key_id %q is not the id of its public key (%s)", v2.KeyID, KeyID(v2.PublicKey))
	}
	b.PublicKey, b.KeyID, b.from, b.to = v2.PublicKey, v2.KeyID, v2.From, v2.To
	return nil
}

func (b *Bundle) readV2(raw []byte) error {
	var k struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return err
	}
	switch k.Kind {
	case "checkpoint":
		var l v2Checkpoint
		if err := json.Unmarshal(raw, &l); err != nil {
			return err
		}
		cp, err := l.checkpoint()
		if err != nil {
			return err
		}
		b.checkpoints = append(b.checkpoints, cp)
	case "event":
		var l v2Event
		if err := json.Unmarshal(raw, &l); err != nil {
			return err
		}
		m, err := l.event()
		if err != nil {
			return err
		}
		b.events = append(b.events, m)
	case "header":
		return errors.New("a second header")
	default:
		return fmt.Errorf("unknown kind %q", k.Kind)
	}
	return nil
}

// checkpoint rebuilds a Checkpoint from the signed note text; the note must
// be exactly what Body renders, so the signature is checked over the bytes
// the bundle carries.
func (l *v2Checkpoint) checkpoint() (*Checkpoint, error) {
	var note []byte
	switch {
	case l.Note != nil && l.NoteB64 == nil:
		note = []byte(*l.Note)
	case l.Note == nil && l.NoteB64 != nil:
		note = l.NoteB64
	default:
		return nil, errors.New("checkpoint: exactly one of note and note_b64 is required")
	}
	cp, err := parseNote(note)
	if err != nil {
		return nil, err
	}
	cp.KeyID, cp.Signature, cp.From, cp.Leaves = l.KeyID, l.Signature, l.From, l.Leaves
	if err := cp.checkShape(); err != nil {
		return nil, err
	}
	return cp, nil
}

// parseNote parses a checkpoint's signed text (see Body) into a Checkpoint
// with Origin, Size, Root and Time set. It accepts only the exact text Body
// renders, so a signature over the note is a signature over Body.
func parseNote(note []byte) (*Checkpoint, error) {
	lines := strings.Split(string(note), "\n")
	if len(lines) != 5 || lines[4] != "" {
		return nil, errors.New("checkpoint note: not four lines each ending in a newline")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("checkpoint note: size %q: %w", lines[1], err)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil {
		return nil, fmt.Errorf("checkpoint note: root: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, lines[3])
	if err != nil {
		return nil, fmt.Errorf("checkpoint note: time: %w", err)
	}
	cp := &Checkpoint{Origin: lines[0], Size: size, Root: root, Time: at.UTC()}
	if !bytes.Equal(cp.Body(), note) {
		return nil, fmt.Errorf("checkpoint note %q is not in canonical form (%q)", note, cp.Body())
	}
	return cp, nil
}

func (l *v2Event) event() (*RawEvent, error) {
	m := &RawEvent{Seq: l.Seq, Header: nats.Header{}}
	switch {
	case l.Subject != nil && l.SubjectB64 == nil:
		m.Subject = *l.Subject
	case l.Subject == nil && l.SubjectB64 != nil:
		m.Subject = string(l.SubjectB64)
	default:
		return nil, fmt.Errorf("event %d: exactly one of subject and subject_b64 is required", l.Seq)
	}
	if l.Data == nil {
		return nil, fmt.Errorf("event %d: no data_b64", l.Seq)
	}
	m.Data = *l.Data
	for k, v := range l.Headers {
		addHeader(m.Header, k, v)
	}
	for k64, v64 := range l.HeadersB64 {
		k, err := base64.StdEncoding.DecodeString(k64)
		if err != nil {
			return nil, fmt.Errorf("event %d: headers_b64 name %q: %w", l.Seq, k64, err)
		}
		if _, dup := l.Headers[string(k)]; dup {
			return nil, fmt.Errorf("event %d: header %q is in both headers and headers_b64", l.Seq, k)
		}
		v := make([]string, len(v64))
		for i, s := range v64 {
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("event %d: headers_b64 value of %q: %w", l.Seq, k, err)
			}
			v[i] = string(raw)
		}
		addHeader(m.Header, string(k), v)
	}
	return m, nil
}

// addHeader sets a header read from a bundle. A name with no values is the
// same as an absent header (and nats.Header.Get must never see one).
func addHeader(h nats.Header, k string, v []string) {
	if len(v) > 0 {
		h[k] = v
	}
}

func (b *Bundle) readV1(raw []byte) error {
	var l v1Line
	if err := json.Unmarshal(raw, &l); err != nil {
		return err
	}
	switch l.Kind {
	case "header":
		if len(l.PublicKey) != ed25519.PublicKeySize {
			return errors.New("bundle header: public key is not an ed25519 key")
		}
		b.PublicKey, b.KeyID, b.from, b.to = l.PublicKey, l.KeyID, l.From, l.To
	case "checkpoint":
		if l.Checkpoint == nil {
			return errors.New("checkpoint line without a checkpoint")
		}
		raw, _ := json.Marshal(l.Checkpoint)
		cp, err := ParseCheckpoint(raw)
		if err != nil {
			return err
		}
		b.checkpoints = append(b.checkpoints, cp)
	case "event":
		data := []byte(l.Data)
		if l.DataB64 != nil {
			data = l.DataB64
		}
		h := nats.Header{}
		for k, v := range l.Headers {
			addHeader(h, k, v)
		}
		b.events = append(b.events, &RawEvent{Seq: l.Seq, Subject: l.Subject, Header: h, Data: data})
	default:
		return fmt.Errorf("unknown kind %q", l.Kind)
	}
	return nil
}

// ReadBundleFile parses the bundle at path.
func ReadBundleFile(path string) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadBundle(f)
}

// Events implements Source.
func (b *Bundle) Events(_ context.Context, from uint64, fn func(*RawEvent) error) error {
	for _, e := range b.events {
		if e.Seq < from {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoints implements Source.
func (b *Bundle) Checkpoints(context.Context) ([]*Checkpoint, error) { return b.checkpoints, nil }

// Range implements Source.
func (b *Bundle) Range() (uint64, uint64) { return b.from, b.to }
