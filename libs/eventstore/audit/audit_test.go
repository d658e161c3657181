package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/natsx/natstest"
)

// env is one embedded JetStream with an event store and a signing key.
type env struct {
	js       jetstream.JetStream
	store    *eventstore.JetStreamStore
	key      ed25519.PrivateKey
	pub      ed25519.PublicKey
	versions map[string]eventstore.Version
}

func newEnv(t *testing.T) *env {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	store, err := eventstore.Open(t.Context(), js, eventstore.Options{Aggregates: []string{"order"}})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{js: js, store: store, key: key, pub: pub, versions: map[string]eventstore.Version{}}
}

func actorCtx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}

// testMeta is the metadata of the tests' appends.
var testMeta = eventstore.Meta{Actor: "tester"}

// appendEvents appends n single events, "event <position>", to orders o1..o3
// in turn (position k goes to o((k-1)%3+1) when the log was empty).
func (e *env) appendEvents(t *testing.T, n int) {
	t.Helper()
	for range n {
		last, err := e.store.LastSeq(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("o%d", last%3+1)
		if _, err := e.store.Append(actorCtx(t), "order", id, e.versions[id], testMeta, eventstore.Event{Message: wrapperspb.String(fmt.Sprintf("event %d: <a> && b > c", last+1))}); err != nil {
			t.Fatalf("append: %v", err)
		}
		e.versions[id]++
	}
}

func (e *env) checkpointer(t *testing.T, opts audit.CheckpointerOptions) *audit.Checkpointer {
	t.Helper()
	if opts.Key == nil {
		opts.Key = e.key
	}
	cp, err := audit.NewCheckpointer(t.Context(), e.js, opts)
	if err != nil {
		t.Fatalf("new checkpointer: %v", err)
	}
	return cp
}

func (e *env) source() *audit.JetStreamSource { return &audit.JetStreamSource{JS: e.js} }

func (e *env) lastSeq(t *testing.T) uint64 {
	t.Helper()
	n, err := e.store.LastSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func verify(t *testing.T, src audit.Source, pub ed25519.PublicKey) *audit.Report {
	t.Helper()
	rep, err := audit.Verify(t.Context(), src, pub, nil)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// summary is what the tests compare of a report.
type summary struct {
	OK                         bool
	Events, FirstSeq, LastSeq  uint64
	Checkpoints                int
	SignedSize, UnsignedEvents uint64
	FirstBadSeq                uint64
	FirstBadKind               string
}

func summarize(r *audit.Report) summary {
	s := summary{OK: r.OK(), Events: r.Events, FirstSeq: r.FirstSeq, LastSeq: r.LastSeq, Checkpoints: r.Checkpoints, SignedSize: r.SignedSize, UnsignedEvents: r.UnsignedEvents}
	if p := r.FirstBadEvent(); p != nil {
		s.FirstBadSeq, s.FirstBadKind = p.Seq, p.Kind
	}
	return s
}

// cpShape is what the tests compare of a checkpoint.
type cpShape struct{ From, Size uint64 }

func shapes(cps []*audit.Checkpoint) []cpShape {
	var out []cpShape
	for _, c := range cps {
		out = append(out, cpShape{From: c.From, Size: c.Size})
	}
	return out
}

func storedCheckpoints(t *testing.T, js jetstream.JetStream) []*audit.Checkpoint {
	t.Helper()
	cps, err := audit.ReadCheckpoints(t.Context(), js, audit.DefaultAuditStream)
	if err != nil {
		t.Fatalf("read checkpoints: %v", err)
	}
	return cps
}

func TestCheckpointerCoversExactlyTheLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cp := e.checkpointer(t, audit.CheckpointerOptions{})
	steps := []struct {
		name   string
		append int
		want   []cpShape
	}{
		{name: "empty log", append: 0, want: nil},
		{name: "first events", append: 5, want: []cpShape{{From: 0, Size: 5}}},
		{name: "log has not grown", append: 0, want: nil},
		{name: "more events", append: 2, want: []cpShape{{From: 5, Size: 7}}},
		{name: "still not grown", append: 0, want: nil},
	}
	for _, st := range steps { // in order: each step continues the log of the one before
		e.appendEvents(t, st.append)
		got, err := cp.Checkpoint(t.Context())
		if err != nil {
			t.Fatalf("%s: checkpoint: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, shapes(got)); diff != "" {
			t.Errorf("%s: checkpoints written (-want +got):\n%s", st.name, diff)
		}
		if cp.Size() != e.lastSeq(t) {
			t.Errorf("%s: checkpointer size %d, log ends at %d", st.name, cp.Size(), e.lastSeq(t))
		}
	}

	// The leaves are exactly the log's events, position by position, and every
	// stored checkpoint is signed by the key.
	var want [][]byte
	if err := e.store.ReadAll(t.Context(), 1, func(ev *eventstore.RecordedEvent) error {
		want = append(want, audit.LeafHash(ev.Seq, ev.Hash))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for _, c := range storedCheckpoints(t, e.js) {
		if err := c.VerifySignature(e.pub); err != nil {
			t.Errorf("checkpoint of size %d: %v", c.Size, err)
		}
		if c.Origin != audit.Origin(eventstore.DefaultStream) {
			t.Errorf("checkpoint origin %q", c.Origin)
		}
		for i := range c.LeafCount() {
			got = append(got, c.Leaf(i))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signed leaves vs the log (-want +got):\n%s", diff)
	}
	wantRep := summary{OK: true, Events: 7, FirstSeq: 1, LastSeq: 7, Checkpoints: 2, SignedSize: 7}
	if diff := cmp.Diff(wantRep, summarize(verify(t, e.source(), e.pub))); diff != "" {
		t.Errorf("verify (-want +got):\n%s", diff)
	}
}

func TestCheckpointerContinuesFromStoredCheckpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.checkpointer(t, audit.CheckpointerOptions{})
	e.appendEvents(t, 3)
	if _, err := first.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.appendEvents(t, 2)

	// A second checkpointer (another process, later) starts from what is stored.
	second := e.checkpointer(t, audit.CheckpointerOptions{})
	if second.Size() != 3 {
		t.Errorf("second checkpointer starts at size %d, want 3", second.Size())
	}
	got, err := second.Checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]cpShape{{From: 3, Size: 5}}, shapes(got)); diff != "" {
		t.Errorf("second checkpointer wrote (-want +got):\n%s", diff)
	}
	// The first one is now behind the audit stream: it adopts the second's
	// checkpoint instead of writing a conflicting one.
	got, err = first.Checkpoint(t.Context())
	if err != nil || len(got) != 0 {
		t.Errorf("stale checkpointer wrote %v, %v; want nothing and no error", shapes(got), err)
	}
	if first.Size() != 5 {
		t.Errorf("stale checkpointer size after catching up = %d, want 5", first.Size())
	}
	if diff := cmp.Diff([]cpShape{{From: 0, Size: 3}, {From: 3, Size: 5}}, shapes(storedCheckpoints(t, e.js))); diff != "" {
		t.Errorf("stored checkpoints (-want +got):\n%s", diff)
	}
	wantRep := summary{OK: true, Events: 5, FirstSeq: 1, LastSeq: 5, Checkpoints: 2, SignedSize: 5}
	if diff := cmp.Diff(wantRep, summarize(verify(t, e.source(), e.pub))); diff != "" {
		t.Errorf("verify (-want +got):\n%s", diff)
	}

	// A checkpointer with another key refuses to extend checkpoints it cannot verify.
	_, other, _ := ed25519.GenerateKey(nil)
	if _, err := audit.NewCheckpointer(t.Context(), e.js, audit.CheckpointerOptions{Key: other}); err == nil {
		t.Error("a checkpointer with another key accepted the stored checkpoints")
	}
}

func TestCheckpointersRacing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		clockA func() time.Time
		clockB func() time.Time
	}{
		{name: "same clock", clockA: time.Now, clockB: time.Now},
		// Two hosts whose clocks disagree: checkpoints must still be in time order.
		{name: "skewed clocks", clockA: time.Now, clockB: func() time.Time { return time.Now().Add(-time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			a := e.checkpointer(t, audit.CheckpointerOptions{Clock: tt.clockA})
			b := e.checkpointer(t, audit.CheckpointerOptions{Clock: tt.clockB})
			var mu sync.Mutex
			var errs []error
			for round := range 6 {
				e.appendEvents(t, round%3+1)
				var wg sync.WaitGroup
				for _, c := range []*audit.Checkpointer{a, b, a, b} {
					wg.Go(func() {
						if _, err := c.Checkpoint(t.Context()); err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
					})
				}
				wg.Wait()
			}
			for _, err := range errs {
				t.Errorf("checkpoint: %v", err)
			}
			n := e.lastSeq(t)
			for _, c := range []*audit.Checkpointer{a, b} {
				if _, err := c.Checkpoint(t.Context()); err != nil {
					t.Errorf("final checkpoint: %v", err)
				}
				if c.Size() != n {
					t.Errorf("checkpointer size %d, log size %d", c.Size(), n)
				}
			}
			want := summary{OK: true, Events: n, FirstSeq: 1, LastSeq: n, SignedSize: n}
			rep := verify(t, e.source(), e.pub)
			got := summarize(rep)
			want.Checkpoints = got.Checkpoints // as many as the race produced
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("verify (-want +got):\n%s\nproblems: %v", diff, rep.Problems)
			}
			if got.Checkpoints < 1 || got.Checkpoints != len(storedCheckpoints(t, e.js)) {
				t.Errorf("%d checkpoints verified of %d stored", got.Checkpoints, len(storedCheckpoints(t, e.js)))
			}
		})
	}
}

func TestCheckpointerSplitsLongLog(t *testing.T) {
	// More than MaxLeavesPerCheckpoint (8,192) events: about 2 s with -race, so it always runs.
	t.Parallel()
	e := newEnv(t)
	const n = audit.MaxLeavesPerCheckpoint + 108
	ctx := actorCtx(t)
	batch := make([]eventstore.Event, eventstore.MaxBatch)
	for i := range batch {
		batch[i] = eventstore.Event{Message: wrapperspb.String("x")}
	}
	for v := eventstore.Version(0); v < n; v += eventstore.MaxBatch {
		if _, err := e.store.Append(ctx, "order", "big", v, testMeta, batch[:min(eventstore.MaxBatch, n-int(v))]...); err != nil {
			t.Fatalf("append at %d: %v", v, err)
		}
	}
	got, err := e.checkpointer(t, audit.CheckpointerOptions{}).Checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []cpShape{{From: 0, Size: audit.MaxLeavesPerCheckpoint}, {From: audit.MaxLeavesPerCheckpoint, Size: n}}
	if diff := cmp.Diff(want, shapes(got)); diff != "" {
		t.Errorf("checkpoints (-want +got):\n%s", diff)
	}
	wantRep := summary{OK: true, Events: n, FirstSeq: 1, LastSeq: n, Checkpoints: 2, SignedSize: n}
	if diff := cmp.Diff(wantRep, summarize(verify(t, e.source(), e.pub))); diff != "" {
		t.Errorf("verify (-want +got):\n%s", diff)
	}
}

// eventHeader is the envelope of a hand-made event, hashed like the store does.
func eventHeader(subject, body string) nats.Header {
	h := nats.Header{}
	h.Set(eventstore.HdrSpecVersion, "1.0")
	h.Set(eventstore.HdrID, "hand-made-1")
	h.Set(eventstore.HdrSource, "floe/test")
	h.Set(eventstore.HdrType, "google.protobuf.StringValue")
	h.Set(eventstore.HdrSubject, "bad")
	h.Set(eventstore.HdrTime, "2026-11-25T12:00:00Z")
	h.Set(eventstore.HdrContentType, "application/json")
	h.Set(eventstore.HdrActor, "mallory")
	h.Set(eventstore.HdrVersion, "1")
	h.Set(eventstore.HdrPrevHash, eventstore.GenesisHash)
	h.Set(eventstore.HdrHash, eventstore.ComputeHash(subject, h, []byte(body)))
	return h
}

func TestCheckpointerRefusesEventNotMatchingItsHash(t *testing.T) {
	t.Parallel()
	const subject = eventstore.SubjectPrefix + "order.bad.X"
	tests := []struct {
		name string
		msg  func() *nats.Msg
	}{
		{name: "bogus floe-hash", msg: func() *nats.Msg {
			h := eventHeader(subject, `"x"`)
			h.Set(eventstore.HdrHash, strings.Repeat("f", 64))
			return &nats.Msg{Subject: subject, Header: h, Data: []byte(`"x"`)}
		}},
		{name: "body changed after hashing", msg: func() *nats.Msg {
			return &nats.Msg{Subject: subject, Header: eventHeader(subject, `"x"`), Data: []byte(`"y"`)}
		}},
		{name: "covered header changed after hashing", msg: func() *nats.Msg {
			h := eventHeader(subject, `"x"`)
			h.Set(eventstore.HdrActor, "alice")
			return &nats.Msg{Subject: subject, Header: h, Data: []byte(`"x"`)}
		}},
		{name: "no floe headers", msg: func() *nats.Msg {
			return &nats.Msg{Subject: subject, Data: []byte(`"x"`)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.appendEvents(t, 2)
			ack, err := e.js.PublishMsg(t.Context(), tt.msg())
			if err != nil {
				t.Fatal(err)
			}
			e.appendEvents(t, 1)
			cp := e.checkpointer(t, audit.CheckpointerOptions{})
			written, err := cp.Checkpoint(t.Context())
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("position %d", ack.Sequence)) {
				t.Errorf("Checkpoint = %v, want an error naming position %d", err, ack.Sequence)
			}
			if len(written) != 0 || cp.Size() != 0 || len(storedCheckpoints(t, e.js)) != 0 {
				t.Errorf("checkpoints written over a bad event: returned %v, size %d", shapes(written), cp.Size())
			}
		})
	}
}

// export writes a bundle of positions from..to of e's log.
func export(t *testing.T, e *env, from, to uint64) (string, *audit.ExportStats) {
	t.Helper()
	var buf bytes.Buffer
	stats, err := audit.Export(t.Context(), e.source(), e.pub, from, to, &buf, nil)
	if err != nil {
		t.Fatalf("export %d..%d: %v", from, to, err)
	}
	return buf.String(), stats
}

func readBundle(t *testing.T, text string) *audit.Bundle {
	t.Helper()
	b, err := audit.ReadBundle(strings.NewReader(text))
	if err != nil {
		t.Fatalf("read bundle: %v", err)
	}
	return b
}

// editEvent applies edit to the bundle line of the event at seq (a "" result removes the line).
func editEvent(t *testing.T, text string, seq uint64, edit func(string) string) string {
	t.Helper()
	var out []string
	found := false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var l struct {
			Kind string `json:"kind"`
			Seq  uint64 `json:"seq"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("bundle line %q: %v", line, err)
		}
		if l.Kind == "event" && l.Seq == seq {
			found = true
			if line = edit(line); line == "" {
				continue
			}
		}
		out = append(out, line)
	}
	if !found {
		t.Fatalf("no event line for position %d", seq)
	}
	return strings.Join(out, "\n") + "\n"
}

// editBody replaces old with new in the body an event line carries (base64 in data_b64).
func editBody(t *testing.T, line, old, new string) string {
	t.Helper()
	var l map[string]any
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		t.Fatal(err)
	}
	data, err := base64.StdEncoding.DecodeString(l["data_b64"].(string))
	if err != nil || !bytes.Contains(data, []byte(old)) {
		t.Fatalf("event line without %q in its data_b64 (%v): %s", old, err, line)
	}
	l["data_b64"] = base64.StdEncoding.EncodeToString(bytes.Replace(data, []byte(old), []byte(new), 1))
	out, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// tenEvents is a log of 10 events over o1..o3 with checkpoints of sizes 6 and 10.
func tenEvents(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	cp := e.checkpointer(t, audit.CheckpointerOptions{})
	for _, n := range []int{6, 4} {
		e.appendEvents(t, n)
		if _, err := cp.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestExportReadBundleRoundTrip(t *testing.T) {
	t.Parallel()
	e := tenEvents(t)
	e.appendEvents(t, 2) // two unsigned events at the end
	text, stats := export(t, e, 0, 0)
	if diff := cmp.Diff(&audit.ExportStats{From: 1, To: 12, Events: 12, Checkpoints: 2}, stats); diff != "" {
		t.Errorf("export stats (-want +got):\n%s", diff)
	}
	b := readBundle(t, text)
	if !b.PublicKey.Equal(e.pub) || b.KeyID != audit.KeyID(e.pub) {
		t.Errorf("bundle key %x (id %s), want %x", b.PublicKey, b.KeyID, e.pub)
	}
	live := verify(t, e.source(), e.pub)
	got := verify(t, b, b.PublicKey)
	if diff := cmp.Diff(live, got); diff != "" {
		t.Errorf("bundle report vs live report (-live +bundle):\n%s", diff)
	}
	want := summary{OK: true, Events: 12, FirstSeq: 1, LastSeq: 12, Checkpoints: 2, SignedSize: 10, UnsignedEvents: 2}
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Errorf("bundle report (-want +got):\n%s", diff)
	}
	// The bundle's events are the log's, byte for byte (without NATS bookkeeping).
	var fromBundle, fromLog []*audit.RawEvent
	collect := func(to *[]*audit.RawEvent) func(*audit.RawEvent) error {
		return func(m *audit.RawEvent) error {
			c := *m
			c.Header = nats.Header{}
			for k, v := range m.Header {
				if !strings.HasPrefix(k, "Nats-") {
					c.Header[k] = v
				}
			}
			*to = append(*to, &c)
			return nil
		}
	}
	if err := b.Events(t.Context(), 1, collect(&fromBundle)); err != nil {
		t.Fatal(err)
	}
	if err := e.source().Events(t.Context(), 1, collect(&fromLog)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromLog, fromBundle); diff != "" {
		t.Errorf("bundle events vs log (-log +bundle):\n%s", diff)
	}
}

func TestBundleVerification(t *testing.T) {
	t.Parallel()
	e := tenEvents(t)
	tests := []struct {
		name     string
		from, to uint64
		edit     func(t *testing.T, text string) string
		want     summary
	}{
		{name: "whole log", want: summary{OK: true, Events: 10, FirstSeq: 1, LastSeq: 10, Checkpoints: 2, SignedSize: 10}},
		{name: "sub-range 3..6", from: 3, to: 6, want: summary{OK: true, Events: 4, FirstSeq: 3, LastSeq: 6, Checkpoints: 2, SignedSize: 10}},
		{name: "edited data, same length", edit: func(t *testing.T, text string) string {
			return editEvent(t, text, 5, func(l string) string { return editBody(t, l, `"event 5:`, `"event 9:`) })
		}, want: summary{Events: 10, FirstSeq: 1, LastSeq: 10, Checkpoints: 2, SignedSize: 10, FirstBadSeq: 5, FirstBadKind: audit.KindEdited}},
		{name: "edited data in a sub-range", from: 3, to: 6, edit: func(t *testing.T, text string) string {
			return editEvent(t, text, 4, func(l string) string { return editBody(t, l, `"event 4:`, `"event 0:`) })
		}, want: summary{Events: 4, FirstSeq: 3, LastSeq: 6, Checkpoints: 2, SignedSize: 10, FirstBadSeq: 4, FirstBadKind: audit.KindEdited}},
		{name: "event line removed", edit: func(t *testing.T, text string) string {
			return editEvent(t, text, 5, func(string) string { return "" })
		}, want: summary{Events: 9, FirstSeq: 1, LastSeq: 10, Checkpoints: 2, SignedSize: 10, FirstBadSeq: 5, FirstBadKind: audit.KindGap}},
		{name: "ends before the header's to", edit: func(t *testing.T, text string) string {
			for _, seq := range []uint64{10, 9} {
				text = editEvent(t, text, seq, func(string) string { return "" })
			}
			return text
		}, want: summary{Events: 8, FirstSeq: 1, LastSeq: 8, Checkpoints: 2, SignedSize: 10, FirstBadSeq: 9, FirstBadKind: audit.KindTruncated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text, stats := export(t, e, tt.from, tt.to)
			if stats.Events != tt.want.Events && tt.edit == nil {
				t.Errorf("exported %d events, want %d", stats.Events, tt.want.Events)
			}
			if tt.edit != nil {
				text = tt.edit(t, text)
			}
			b := readBundle(t, text)
			rep := verify(t, b, b.PublicKey)
			if diff := cmp.Diff(tt.want, summarize(rep)); diff != "" {
				t.Errorf("verify (-want +got):\n%s\nproblems: %v", diff, rep.Problems)
			}
		})
	}
	t.Run("another trusted key", func(t *testing.T) {
		t.Parallel()
		text, _ := export(t, e, 0, 0)
		other, _, _ := ed25519.GenerateKey(nil)
		rep := verify(t, readBundle(t, text), other)
		if rep.OK() || rep.Checkpoints != 0 || rep.Problems[0].Kind != audit.KindCheckpoint {
			t.Errorf("verify against another key = %+v", rep)
		}
	})
	t.Run("to before from", func(t *testing.T) {
		t.Parallel()
		if _, err := audit.Export(t.Context(), e.source(), e.pub, 6, 3, &bytes.Buffer{}, nil); err == nil {
			t.Error("export of 6..3 succeeded")
		}
	})
}

func TestReadBundleRejects(t *testing.T) {
	t.Parallel()
	pub, _, _ := ed25519.GenerateKey(nil)
	b64 := base64.StdEncoding.EncodeToString
	header := fmt.Sprintf(`{"kind":"header","format":%q,"public_key_b64":%q,"key_id":%q,"from":1,"to":1}`, audit.BundleFormat, b64(pub), audit.KeyID(pub))
	v1Header := fmt.Sprintf(`{"kind":"header","format":%q,"public_key":%q}`, audit.BundleFormatV1, b64(pub))
	root := b64(make([]byte, 32))
	note := func(text string) string {
		return fmt.Sprintf(`{"kind":"checkpoint","note":%q,"signature_b64":"","key_id":"","from":0,"leaves_b64":%q}`, text, root)
	}
	okNote := "floe/FLOE_EVENTS\n1\n" + root + "\n2026-11-25T12:00:00Z\n"
	event := func(fields string) string { return `{"kind":"event","seq":1,` + fields + `}` }
	tests := []struct {
		name, text, mention string
	}{
		{name: "empty", text: "", mention: "empty"},
		{name: "only whitespace", text: "\n \n", mention: "empty"},
		{name: "not json", text: "hello\n", mention: "record 1"},
		{name: "no header", text: `{"kind":"event","seq":1}` + "\n", mention: "header"},
		{name: "wrong format", text: `{"kind":"header","format":"other/v9"}` + "\n", mention: "header"},
		{name: "short public key", text: fmt.Sprintf(`{"kind":"header","format":%q,"public_key_b64":"AAAA"}`, audit.BundleFormat) + "\n", mention: "public key"},
		{name: "key id of another key", text: strings.Replace(header, audit.KeyID(pub), "0123456789abcdef", 1), mention: "key_id"},
		{name: "v1 key fields under a v2 header", text: fmt.Sprintf(`{"kind":"header","format":%q,"public_key":%q}`, audit.BundleFormat, b64(pub)), mention: "public key"},
		{name: "unknown kind", text: header + "\n" + `{"kind":"gossip"}` + "\n", mention: "record 2"},
		{name: "a second header", text: header + "\n" + header + "\n", mention: "second header"},
		{name: "trailing garbage", text: header + "\n" + "}", mention: "record 2"},
		{name: "a truncated record", text: header + "\n" + `{"kind":"event",`, mention: "record 2"},
		{name: "a v1 checkpoint in a v2 bundle", text: header + "\n" + `{"kind":"checkpoint","checkpoint":{"size":3}}` + "\n", mention: "note"},
		{name: "note and note_b64", text: header + "\n" + strings.Replace(note(okNote), `"note"`, `"note_b64":"eA==","note"`, 1), mention: "exactly one of note"},
		{name: "note of three lines", text: header + "\n" + note("floe/FLOE_EVENTS\n1\n"+root+"\n"), mention: "four lines"},
		{name: "note without its last newline", text: header + "\n" + note(strings.TrimSuffix(okNote, "\n")), mention: "four lines"},
		{name: "note size with a leading zero", text: header + "\n" + note(strings.Replace(okNote, "\n1\n", "\n01\n", 1)), mention: "canonical"},
		{name: "note time not in UTC", text: header + "\n" + note(strings.Replace(okNote, "12:00:00Z", "13:00:00+01:00", 1)), mention: "canonical"},
		{name: "note root not base64", text: header + "\n" + note(strings.Replace(okNote, root, "!"+root[1:], 1)), mention: "root"},
		{name: "note root too short", text: header + "\n" + note(strings.Replace(okNote, root, b64(make([]byte, 31)), 1)), mention: "malformed"},
		{name: "leaves do not fill from..size", text: header + "\n" + note(strings.Replace(okNote, "\n1\n", "\n2\n", 1)), mention: "malformed"},
		{name: "event without data_b64", text: header + "\n" + event(`"subject":"s","headers":{}`), mention: "data_b64"},
		{name: "event with subject and subject_b64", text: header + "\n" + event(`"subject":"s","subject_b64":"cw==","headers":{},"data_b64":""`), mention: "exactly one of subject"},
		{name: "event without a subject", text: header + "\n" + event(`"headers":{},"data_b64":""`), mention: "exactly one of subject"},
		{name: "data_b64 not base64", text: header + "\n" + event(`"subject":"s","headers":{},"data_b64":"%%%"`), mention: "record 2"},
		{name: "headers_b64 name not base64", text: header + "\n" + event(`"subject":"s","headers":{},"headers_b64":{"%":["eA=="]},"data_b64":""`), mention: "headers_b64"},
		{name: "a header in headers and headers_b64", text: header + "\n" + event(`"subject":"s","headers":{"x":["1"]},"headers_b64":{"eA==":["eA=="]},"data_b64":""`), mention: "both"},
		{name: "seq as a string", text: header + "\n" + `{"kind":"event","seq":"1","subject":"s","headers":{},"data_b64":""}`, mention: "record 2"},
		{name: "seq as a fraction", text: header + "\n" + `{"kind":"event","seq":1.5,"subject":"s","headers":{},"data_b64":""}`, mention: "record 2"},
		{name: "v1: short public key", text: fmt.Sprintf(`{"kind":"header","format":%q,"public_key":"AAAA"}`, audit.BundleFormatV1) + "\n", mention: "public key"},
		{name: "v1: unknown kind", text: v1Header + "\n" + `{"kind":"gossip"}` + "\n", mention: "record 2"},
		{name: "v1: malformed checkpoint", text: v1Header + "\n" + `{"kind":"checkpoint","checkpoint":{"size":3}}` + "\n", mention: "record 2"},
		{name: "v1: leaves past the size", text: v1Header + "\n" + fmt.Sprintf(`{"kind":"checkpoint","checkpoint":{"size":0,"from":18446744073709551615,"root":%q,"leaves":%q}}`, root, root) + "\n", mention: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := audit.ReadBundle(strings.NewReader(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("ReadBundle = %v, want an error mentioning %q", err, tt.mention)
			}
		})
	}
	// A header name with no values is an absent header, in either format (it
	// used to panic in nats.Header.Get).
	for _, h := range []string{header, v1Header} {
		text := h + "\n" + event(`"subject":"floe.evt.order.o1.X","headers":{"ce-id":[],"floe-hash":[]},"data_b64":"","data":"x"`)
		b, err := audit.ReadBundle(strings.NewReader(text))
		if err != nil {
			t.Fatalf("ReadBundle: %v", err)
		}
		if rep := verify(t, b, pub); rep.OK() || rep.Problems[0].Kind != audit.KindMalformed {
			t.Errorf("an event without values for its headers: %v, want it malformed", rep.Problems)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys", "audit.key")
	key, err := audit.LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	pubPEM, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatalf("parse .pub: %v", err)
	}
	if !pub.Equal(key.Public()) {
		t.Errorf(".pub holds %x, want the key's public key %x", pub, key.Public())
	}
	again, err := audit.LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !again.Equal(key) {
		t.Error("the second call returned a different key")
	}
}

func TestLoadOrCreateKeyRejects(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content []byte
	}{
		{name: "not PEM", content: []byte("secret")},
		{name: "PEM without a key", content: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})},
		{name: "not an ed25519 key", content: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "audit.key")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := audit.LoadOrCreateKey(path); err == nil {
				t.Error("LoadOrCreateKey accepted it")
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, tt.content) {
				t.Error("LoadOrCreateKey overwrote an existing key file")
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	pub, _, _ := ed25519.GenerateKey(nil)
	dir := t.TempDir()
	if err := audit.WritePublicKey(filepath.Join(dir, "k.pub"), pub); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(filepath.Join(dir, "k.pub"))
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(pub)
	tests := []struct {
		name  string
		data  []byte
		valid bool
	}{
		{name: "PEM", data: pemBytes, valid: true},
		{name: "base64", data: []byte(b64), valid: true},
		{name: "base64 with a newline", data: []byte(b64 + "\n"), valid: true},
		{name: "base64 of the wrong length", data: []byte(base64.StdEncoding.EncodeToString(pub[:31]))},
		{name: "garbage", data: []byte("not a key")},
		{name: "PEM of garbage", data: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := audit.ParsePublicKey(tt.data)
			if tt.valid {
				if err != nil || !got.Equal(pub) {
					t.Errorf("ParsePublicKey = %x, %v; want %x", got, err, pub)
				}
				return
			}
			if err == nil {
				t.Errorf("ParsePublicKey accepted it: %x", got)
			}
		})
	}
}

func TestLeafHashMalformedHash(t *testing.T) {
	t.Parallel()
	good := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		hash string
	}{
		{name: "empty", hash: ""},
		{name: "too short", hash: good[:62]},
		{name: "too long", hash: good + "ab"},
		{name: "odd length", hash: good + "a"},
		{name: "not hex", hash: strings.Repeat("zz", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := audit.LeafHash(1, tt.hash)
			if len(got) != 32 {
				t.Fatalf("leaf of %d bytes", len(got))
			}
			if bytes.Equal(got, audit.LeafHash(1, good)) {
				t.Error("a malformed hash has the leaf of a well-formed one")
			}
		})
	}
	if bytes.Equal(audit.LeafHash(1, good), audit.LeafHash(2, good)) {
		t.Error("the leaf does not bind the position")
	}
}
