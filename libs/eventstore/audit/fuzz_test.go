package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/penguinmails/floe/libs/eventstore"
)

// sliceSource is a Source over events and checkpoints held in memory; it
// lets the fuzz seeds be built without a NATS server.
type sliceSource struct {
	events []*RawEvent
	cps    []*Checkpoint
}

func (s *sliceSource) Events(_ context.Context, from uint64, fn func(*RawEvent) error) error {
	for _, e := range s.events {
		if e.Seq >= from {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *sliceSource) Checkpoints(context.Context) ([]*Checkpoint, error) { return s.cps, nil }

func (s *sliceSource) Range() (uint64, uint64) { return 0, uint64(len(s.events)) }

var seedKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// seedLog builds a small valid log: six events over two orders (the last one
// with a body that is not JSON), signed by checkpoints of sizes 4 and 6.
func seedLog(tb testing.TB) *sliceSource {
	tb.Helper()
	src := &sliceSource{}
	prev := map[string]string{}
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("o%d", i%2+1)
		subject := eventstore.SubjectPrefix + "order." + id + ".StringValue"
		body := fmt.Appendf(nil, "%q", fmt.Sprintf("event %d", i))
		if i == 6 {
			body = []byte{0xff, 0x00, '{'}
		}
		h := nats.Header{}
		h.Set(eventstore.HdrSpecVersion, "1.0")
		h.Set(eventstore.HdrID, fmt.Sprintf("id-%d", i))
		h.Set(eventstore.HdrSource, "floe/fuzz")
		h.Set(eventstore.HdrType, "google.protobuf.StringValue")
		h.Set(eventstore.HdrSubject, id)
		h.Set(eventstore.HdrTime, "2026-11-25T12:00:00Z")
		h.Set(eventstore.HdrContentType, "application/json")
		h.Set(eventstore.HdrActor, "tester")
		h.Set(eventstore.HdrVersion, fmt.Sprint((i+1)/2))
		p, ok := prev[id]
		if !ok {
			p = eventstore.GenesisHash
		}
		h.Set(eventstore.HdrPrevHash, p)
		hash := eventstore.ComputeHash(subject, h, body)
		h.Set(eventstore.HdrHash, hash)
		prev[id] = hash
		src.events = append(src.events, &RawEvent{Seq: uint64(i), Subject: subject, Header: h, Data: body})
	}
	t := newTree()
	for i, size := range []uint64{4, 6} {
		cp := &Checkpoint{Origin: Origin(eventstore.DefaultStream), From: t.size(), Time: time.Date(2026, 11, 25, 12, i, 0, 0, time.UTC)}
		for t.size() < size {
			e := src.events[t.size()]
			leaf := LeafHash(e.Seq, e.Header.Get(eventstore.HdrHash))
			t.append(leaf)
			cp.Leaves = append(cp.Leaves, leaf...)
		}
		cp.Size, cp.Root = t.size(), t.root()
		cp.Sign(seedKey)
		src.cps = append(src.cps, cp)
	}
	return src
}

func seedBundle(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := Export(context.Background(), seedLog(tb), seedKey.Public().(ed25519.PublicKey), 0, 0, &buf, nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestSeedBundleVerifies makes sure the fuzz seeds start from a valid
// bundle, so mutations explore more than the parser's error paths.
func TestSeedBundleVerifies(t *testing.T) {
	t.Parallel()
	b, err := ReadBundle(bytes.NewReader(seedBundle(t)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(t.Context(), b, b.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Events != 6 || rep.Checkpoints != 2 || rep.SignedSize != 6 || rep.Aggregates != 2 {
		t.Errorf("seed bundle report = %+v", rep)
	}
}

// indentStream pretty-prints every JSON value of data (jq . style); ok is
// false when data is not a stream of JSON values.
func indentStream(data []byte) (out []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var buf bytes.Buffer
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return buf.Bytes(), true
		} else if err != nil {
			return nil, false
		}
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return nil, false
		}
		buf.WriteByte('\n')
	}
}

func FuzzReadBundle(f *testing.F) {
	valid := seedBundle(f)
	lines := bytes.SplitAfter(valid, []byte("\n"))
	header := lines[0]
	pub := base64.StdEncoding.EncodeToString(seedKey.Public().(ed25519.PublicKey))
	keyID := KeyID(seedKey.Public().(ed25519.PublicKey))
	zero32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	f.Add(valid)
	if pretty, ok := indentStream(valid); ok {
		f.Add(pretty)
	}
	f.Add(valid[:len(valid)/2])
	f.Add(header)
	f.Add(bytes.Join([][]byte{header, lines[len(lines)-2], lines[3]}, nil)) // events out of order, no checkpoints
	// Bundles exported from a real log (see TestBundleFixtures), in both formats.
	for _, name := range []string{"testdata/bundle-v2.jsonl", "testdata/bundle-v1.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if pretty, ok := indentStream(data); ok {
			f.Add(pretty)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("{}\n"))
	f.Add([]byte("\n\n"))
	v2 := fmt.Sprintf(`{"kind":"header","format":%q,"public_key_b64":%q,"key_id":%q`, BundleFormat, pub, keyID)
	f.Add(fmt.Appendf(nil, `%s,"from":5,"to":2}`+"\n"+`{"kind":"event","seq":0,"subject":"floe.evt.a.b.C","headers":{"ce-id":[]},"data_b64":""}`+"\n", v2))
	f.Add(fmt.Appendf(nil, `%s,"to":18446744073709551615}{"kind":"event","seq":18446744073709551615,"subject_b64":"/w==","headers_b64":{"/w==":["/w=="]},"data_b64":"/w=="}`, v2))
	f.Add(fmt.Appendf(nil, `%s}`+"\n"+`{"kind":"checkpoint","note":"o\n18446744073709551615\n%s\n2026-11-25T12:00:00Z\n","from":18446744073709551615,"leaves_b64":%q}`+"\n", v2, zero32, zero32))
	f.Add(fmt.Appendf(nil, `%s}`+"\n"+`{"kind":"checkpoint","note_b64":%q,"from":0,"leaves_b64":""}`+"\n", v2, base64.StdEncoding.EncodeToString([]byte("\xff\n0\n"+zero32+"\n2026-11-25T12:00:00Z\n"))))
	v1 := fmt.Sprintf(`{"kind":"header","format":%q,"public_key":%q`, BundleFormatV1, pub)
	f.Add(fmt.Appendf(nil, `%s,"from":5,"to":2}`+"\n"+`{"kind":"event","seq":0,"subject":"floe.evt.a.b.C"}`+"\n", v1))
	f.Add(fmt.Appendf(nil, `%s,"to":18446744073709551615}`+"\n"+`{"kind":"event","seq":18446744073709551615}`+"\n", v1))
	f.Add(fmt.Appendf(nil, `%s}`+"\n"+`{"kind":"checkpoint","checkpoint":{"size":18446744073709551615,"from":18446744073709551615,"root":"%s"}}`+"\n", v1, zero32))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBundle(bytes.NewReader(data))
		if err != nil {
			return
		}
		rep, err := Verify(context.Background(), b, b.PublicKey, func(uint64) {})
		if err != nil {
			t.Fatalf("Verify of a parsed bundle failed: %v", err) // a bundle never fails to be read
		}
		if len(rep.Problems) > MaxProblems {
			t.Errorf("%d problems listed, cap is %d", len(rep.Problems), MaxProblems)
		}
		if !sort.SliceIsSorted(rep.Problems, func(i, j int) bool { return rep.Problems[i].Seq < rep.Problems[j].Seq }) {
			t.Errorf("problems not sorted by position: %v", rep.Problems)
		}
		if rep.Events > uint64(len(b.events)) {
			t.Errorf("report counts %d events, the bundle holds %d", rep.Events, len(b.events))
		}
		if uint64(rep.Checkpoints) > uint64(len(b.checkpoints)) || rep.SignedSize > 0 && rep.Checkpoints == 0 {
			t.Errorf("report: %d checkpoints verified, signed size %d, of %d", rep.Checkpoints, rep.SignedSize, len(b.checkpoints))
		}
		if b.Format != BundleFormat {
			return // v1 is hashed as the file spells it
		}
		// A v2 bundle reads the same once pretty-printed: nothing it carries
		// depends on how its JSON is spelled.
		pretty, ok := indentStream(data)
		if !ok {
			t.Fatal("a bundle that was read is not a stream of JSON values")
		}
		again, err := ReadBundle(bytes.NewReader(pretty))
		if err != nil {
			t.Fatalf("the pretty-printed bundle does not read: %v\n%s", err, pretty)
		}
		if !reflect.DeepEqual(b, again) { // cmp.Diff only to explain: it is slow for a fuzz loop
			t.Errorf("pretty-printing changed the bundle (-read +pretty-printed):\n%s", cmp.Diff(b, again, cmp.AllowUnexported(Bundle{})))
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	pub := seedKey.Public().(ed25519.PublicKey)
	for _, cp := range seedLog(f).cps {
		raw, err := cp.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	zero32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add(fmt.Appendf(nil, `{"size":1,"from":0,"root":%q,"leaves":%q}`, zero32, zero32))
	f.Add(fmt.Appendf(nil, `{"size":0,"from":18446744073709551615,"root":%q,"leaves":%q}`, zero32, zero32))
	f.Add(fmt.Appendf(nil, `{"size":1,"root":%q,"leaves":%q,"time":"9999-12-31T23:59:59-23:59"}`, zero32, zero32))
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, err := ParseCheckpoint(data)
		if err != nil {
			return
		}
		if len(cp.Root) != sha256.Size || len(cp.Leaves)%sha256.Size != 0 || cp.From+uint64(cp.LeafCount()) != cp.Size {
			t.Fatalf("ParseCheckpoint accepted a malformed checkpoint: %+v", cp)
		}
		for i := range cp.LeafCount() {
			if len(cp.Leaf(i)) != sha256.Size {
				t.Fatalf("leaf %d has %d bytes", i, len(cp.Leaf(i)))
			}
		}
		_ = cp.Body()
		_ = cp.VerifySignature(pub)
		rep := &Report{}
		verifyCheckpoints([]*Checkpoint{cp, cp}, pub, rep)
		// It survives a round trip through its own encoding.
		raw, err := cp.Marshal()
		if err != nil {
			t.Fatalf("marshal a parsed checkpoint: %v", err)
		}
		again, err := ParseCheckpoint(raw)
		if err != nil {
			t.Fatalf("parse a re-marshalled checkpoint: %v\n%s", err, raw)
		}
		if diff := cmp.Diff(cp, again); diff != "" {
			t.Errorf("round trip (-parsed +reparsed):\n%s", diff)
		}
	})
}

func FuzzParseNote(f *testing.F) {
	for _, cp := range seedLog(f).cps {
		f.Add(cp.Body())
	}
	f.Add([]byte("o\n0\n\n2026-11-25T12:00:00Z\n"))
	f.Add([]byte("o\n01\nAAAA\n2026-11-25T12:00:00.5+01:00\n"))
	f.Add([]byte("\n\n\n\n"))
	f.Fuzz(func(t *testing.T, note []byte) {
		cp, err := parseNote(note)
		if err != nil {
			return
		}
		if !bytes.Equal(cp.Body(), note) {
			t.Errorf("parseNote accepted %q, which Body renders as %q", note, cp.Body())
		}
	})
}

func FuzzLeafHash(f *testing.F) {
	f.Add(uint64(1), eventstore.GenesisHash)
	f.Add(uint64(0), "")
	f.Add(uint64(1<<63), "zz")
	f.Add(uint64(7), eventstore.GenesisHash+"00")
	f.Add(uint64(7), eventstore.GenesisHash[:63])
	f.Fuzz(func(t *testing.T, seq uint64, hash string) {
		got := LeafHash(seq, hash)
		var data [8 + sha256.Size]byte
		binary.BigEndian.PutUint64(data[:8], seq)
		if raw, err := hex.DecodeString(hash); err == nil && len(raw) == sha256.Size {
			copy(data[8:], raw)
		} else {
			sum := sha256.Sum256([]byte(hash))
			copy(data[8:], sum[:])
		}
		if want := rfc6962.DefaultHasher.HashLeaf(data[:]); !bytes.Equal(got, want) {
			t.Errorf("LeafHash(%d, %q) = %x, want %x", seq, hash, got, want)
		}
	})
}

// TestExportKeepsNonUTF8 covers the _b64 fallbacks: a subject and a signed
// note that are not valid UTF-8 (which no JSON string can carry) come back
// byte for byte, pretty-printed or not.
func TestExportKeepsNonUTF8(t *testing.T) {
	t.Parallel()
	src := seedLog(t)
	src.events[0].Subject = eventstore.SubjectPrefix + "order.\xff.X"
	for _, cp := range src.cps {
		cp.Origin = "floe/\xff"
		cp.Sign(seedKey)
	}
	var buf bytes.Buffer
	if _, err := Export(t.Context(), src, seedKey.Public().(ed25519.PublicKey), 0, 0, &buf, nil); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"subject_b64":`, `"note_b64":`} {
		if !bytes.Contains(buf.Bytes(), []byte(field)) {
			t.Errorf("no %s in the bundle:\n%s", field, buf.Bytes())
		}
	}
	pretty, ok := indentStream(buf.Bytes())
	if !ok {
		t.Fatal("the bundle is not a stream of JSON values")
	}
	for _, data := range [][]byte{buf.Bytes(), pretty} {
		b, err := ReadBundle(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(src.events, b.events); diff != "" {
			t.Errorf("events (-log +bundle):\n%s", diff)
		}
		for i, cp := range b.checkpoints {
			if !bytes.Equal(cp.Body(), src.cps[i].Body()) {
				t.Errorf("checkpoint %d note %q, want %q", i, cp.Body(), src.cps[i].Body())
			}
		}
		rep, err := Verify(t.Context(), b, b.PublicKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The checkpoints verify; the event with the bad subject is malformed,
		// so its aggregate's next event (3) has no predecessor.
		var got []string
		for _, p := range rep.Problems {
			got = append(got, fmt.Sprintf("%d %s", p.Seq, p.Kind))
		}
		if diff := cmp.Diff([]string{"1 " + KindMalformed, "3 " + KindChain}, got); rep.Checkpoints != 2 || diff != "" {
			t.Errorf("report: %d checkpoints, problems (-want +got):\n%s", rep.Checkpoints, diff)
		}
	}
}
