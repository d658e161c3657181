package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// BundleFormat identifies the export format.
const BundleFormat = "floe-audit-bundle/v1"

// A bundle is JSON lines: one header line, then every checkpoint, then the
// events of the exported range. It carries the public key, so it verifies on
// its own (`floe audit verify --bundle`); an auditor should still compare the
// key id with the one published out of band.
type bundleLine struct {
	Kind string `json:"kind"` // header | checkpoint | event

	// header
	Format     string    `json:"format,omitempty"`
	Origin     string    `json:"origin,omitempty"`
	PublicKey  []byte    `json:"public_key,omitempty"`
	KeyID      string    `json:"key_id,omitempty"`
	From       uint64    `json:"from,omitempty"`
	To         uint64    `json:"to,omitempty"`
	ExportedAt time.Time `json:"exported_at,omitzero"`

	// checkpoint
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`

	// event
	Seq     uint64              `json:"seq,omitempty"`
	Subject string              `json:"subject,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	Data    json.RawMessage     `json:"data,omitempty"`
	DataB64 []byte              `json:"data_b64,omitempty"` // when the body would not survive embedding byte for byte
}

// ExportStats says what an export wrote.
type ExportStats struct {
	From, To    uint64
	Events      uint64
	Checkpoints int
}

// Export writes positions from..to (to 0 = the end) of src, with every
// checkpoint, as a bundle to w. progress (optional) is told the events written so far.
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
	if err := enc.Encode(bundleLine{Kind: "header", Format: BundleFormat, Origin: origin, PublicKey: pub, KeyID: KeyID(pub), From: from, To: stats.To, ExportedAt: time.Now().UTC()}); err != nil {
		return nil, err
	}
	for _, cp := range cps {
		if err := enc.Encode(bundleLine{Kind: "checkpoint", Checkpoint: cp}); err != nil {
			return nil, err
		}
		stats.Checkpoints++
	}
	err = src.Events(ctx, from, func(m *RawEvent) error {
		if m.Seq > stats.To {
			return nil
		}
		line := bundleLine{Kind: "event", Seq: m.Seq, Subject: m.Subject, Headers: map[string][]string{}}
		for k, v := range m.Header {
			if strings.HasPrefix(k, "Nats-") {
				continue // server bookkeeping, not part of the event
			}
			line.Headers[k] = v
		}
		if embeddable(m.Data) {
			line.Data = m.Data
		} else {
			line.DataB64 = m.Data
		}
		if err := enc.Encode(line); err != nil {
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
	PublicKey   ed25519.PublicKey
	KeyID       string
	from, to    uint64
	checkpoints []*Checkpoint
	events      []*RawEvent
}

// ReadBundle parses a bundle.
func ReadBundle(r io.Reader) (*Bundle, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	b := &Bundle{}
	line := 0
	for sc.Scan() {
		line++
		var l bundleLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("bundle line %d: %w", line, err)
		}
		switch {
		case line == 1 && l.Kind != "header", line == 1 && l.Format != BundleFormat:
			return nil, fmt.Errorf("bundle line 1: not a %s header", BundleFormat)
		case l.Kind == "header":
			if len(l.PublicKey) != ed25519.PublicKeySize {
				return nil, errors.New("bundle header: public key is not an ed25519 key")
			}
			b.PublicKey, b.KeyID, b.from, b.to = l.PublicKey, l.KeyID, l.From, l.To
		case l.Kind == "checkpoint" && l.Checkpoint != nil:
			raw, _ := json.Marshal(l.Checkpoint)
			cp, err := ParseCheckpoint(raw)
			if err != nil {
				return nil, fmt.Errorf("bundle line %d: %w", line, err)
			}
			b.checkpoints = append(b.checkpoints, cp)
		case l.Kind == "event":
			data := []byte(l.Data)
			if l.DataB64 != nil {
				data = l.DataB64
			}
			b.events = append(b.events, &RawEvent{Seq: l.Seq, Subject: l.Subject, Header: nats.Header(l.Headers), Data: data})
		default:
			return nil, fmt.Errorf("bundle line %d: unknown kind %q", line, l.Kind)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if line == 0 {
		return nil, errors.New("bundle is empty")
	}
	return b, nil
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

// embeddable reports whether an event body can be embedded in a bundle line
// as JSON and read back byte for byte: it is valid JSON already in the
// compact form the encoder writes (encoding/json compacts an embedded
// RawMessage, and protojson output may contain spaces). Other bodies are
// written base64-encoded, since their hash covers their exact bytes.
func embeddable(data []byte) bool {
	if !json.Valid(data) {
		return false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return false
	}
	return bytes.Equal(buf.Bytes(), data)
}
