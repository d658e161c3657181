package eventstore_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/eventstore/signtest"
	"github.com/penguinmails/floe/libs/natsx/natstest"
)

// Benchmarks compare Floe's append with a bare JetStream publish of the same
// body size on the same server in the same run, because absolute figures on
// shared machines are noise. Run with `make bench` (see docs/performance.md).

// body512 is a StringValue whose protojson is 512 bytes.
var body512 = wrapperspb.String(strings.Repeat("x", 510))

func benchCtx(b *testing.B) context.Context {
	return b.Context()
}

func benchStore(b *testing.B) (*eventstore.JetStreamStore, jetstream.JetStream) {
	b.Helper()
	_, _, js := natstest.JetStream(b)
	s, err := eventstore.Open(b.Context(), js, eventstore.Options{Source: "floe/bench", Aggregates: []string{"order"}})
	if err != nil {
		b.Fatal(err)
	}
	return s, js
}

// BenchmarkRawPublish is the baseline: a synchronous JetStream publish of a
// 512-byte body to a stream configured like the event log.
func BenchmarkRawPublish(b *testing.B) {
	_, js := benchStore(b)
	data := bytes.Repeat([]byte("x"), 512)
	ctx := b.Context()
	b.SetBytes(512)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := js.Publish(ctx, "floe.evt.order.raw.Raw", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRawPublishExpected adds the wildcard-scoped expected-sequence
// check that Append relies on, still without envelope or hashing.
func BenchmarkRawPublishExpected(b *testing.B) {
	_, js := benchStore(b)
	data := bytes.Repeat([]byte("x"), 512)
	ctx := b.Context()
	var last uint64
	b.SetBytes(512)
	b.ResetTimer()
	for b.Loop() {
		ack, err := js.Publish(ctx, "floe.evt.order.raw.Raw", data, jetstream.WithExpectLastSequenceForSubject(last, "floe.evt.order.raw.>"))
		if err != nil {
			b.Fatal(err)
		}
		last = ack.Sequence
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRawPublishEnvelope publishes a prebuilt message carrying the full
// envelope headers (as Append writes them) with the expected-sequence check:
// the server-side cost of the envelope, without any of Append's client work.
func BenchmarkRawPublishEnvelope(b *testing.B) {
	s, js := benchStore(b)
	ctx := benchCtx(b)
	res, err := s.Append(ctx, "order", "tmpl", eventstore.NoStream, testMeta, eventstore.Event{Message: body512})
	if err != nil {
		b.Fatal(err)
	}
	stream, err := js.Stream(ctx, eventstore.DefaultStream)
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := stream.GetMsg(ctx, res.LastSeq)
	if err != nil {
		b.Fatal(err)
	}
	last := uint64(0)
	b.SetBytes(512)
	b.ResetTimer()
	for b.Loop() {
		msg := nats.NewMsg("floe.evt.order.raw.StringValue")
		for k, v := range tmpl.Header {
			if !strings.HasPrefix(k, "Nats-") {
				msg.Header[k] = v
			}
		}
		msg.Data = tmpl.Data
		msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, fmt.Sprint(last))
		msg.Header.Set("Nats-Expected-Last-Subject-Sequence-Subject", "floe.evt.order.raw.>")
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			b.Fatal(err)
		}
		last = ack.Sequence
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppend is one single-event Append per iteration to one aggregate:
// envelope, protojson, hash chain and the server's concurrency check.
func BenchmarkAppend(b *testing.B) {
	s, _ := benchStore(b)
	ctx := benchCtx(b)
	v := eventstore.NoStream
	b.SetBytes(512)
	b.ResetTimer()
	for b.Loop() {
		res, err := s.Append(ctx, "order", "bench", v, testMeta, eventstore.Event{Message: body512})
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendSigned is BenchmarkAppend with the writer's ed25519
// signature of every event (floe-key, floe-sig): compare with
// BenchmarkAppend in the same run.
func BenchmarkAppendSigned(b *testing.B) {
	_, _, js := natstest.JetStream(b)
	signer, _ := signtest.Signer(b, "floe/bench", []string{"order"})
	s, err := eventstore.Open(b.Context(), js, eventstore.Options{Source: "floe/bench", Aggregates: []string{"order"}, Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	ctx := benchCtx(b)
	v := eventstore.NoStream
	b.SetBytes(512)
	b.ResetTimer()
	for b.Loop() {
		res, err := s.Append(ctx, "order", "bench", v, testMeta, eventstore.Event{Message: body512})
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLoadVerified loads a 1,000-event aggregate (signed events) with
// and without verification. verify=first is a process that has verified
// nothing yet (a fresh verifier each time: every hash and signature is
// checked); verify=cached is one that verified these events before.
func BenchmarkLoadVerified(b *testing.B) {
	const events = 1000
	_, _, js := natstest.JetStream(b)
	ctx := b.Context()
	signer, trust := signtest.Signer(b, "floe/bench", []string{"order"})
	w, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/bench", Aggregates: []string{"order"}, Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	for v := eventstore.Version(0); v < events; v += eventstore.MaxBatch {
		batch := make([]eventstore.Event, eventstore.MaxBatch)
		for i := range batch {
			batch[i] = eventstore.Event{Message: body512}
		}
		if _, err := w.Append(ctx, "order", "o1", v, testMeta, batch...); err != nil {
			b.Fatal(err)
		}
	}
	load := func(b *testing.B, v func() *eventstore.Verifier) {
		for b.Loop() {
			s, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/bench", Aggregates: []string{"order"}, Verifier: v()})
			if err != nil {
				b.Fatal(err)
			}
			st, err := s.Load(ctx, "order", "o1", nil)
			if err != nil || len(st.Events) != events {
				b.Fatalf("load: %v (%d events)", err, len(st.Events))
			}
		}
		b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("verify=none", func(b *testing.B) { load(b, func() *eventstore.Verifier { return nil }) })
	b.Run("verify=first", func(b *testing.B) {
		load(b, func() *eventstore.Verifier { return eventstore.NewVerifier(js, eventstore.DefaultStream, trust) })
	})
	cached := eventstore.NewVerifier(js, eventstore.DefaultStream, trust)
	b.Run("verify=cached", func(b *testing.B) { load(b, func() *eventstore.Verifier { return cached }) })
}

// BenchmarkAppendBatch10 appends ten events per call (one atomic batch).
func BenchmarkAppendBatch10(b *testing.B) {
	s, _ := benchStore(b)
	ctx := benchCtx(b)
	events := make([]eventstore.Event, 10)
	for i := range events {
		events[i] = eventstore.Event{Message: body512}
	}
	v := eventstore.NoStream
	b.ResetTimer()
	for b.Loop() {
		res, err := s.Append(ctx, "order", "bench", v, testMeta, events...)
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
	b.ReportMetric(float64(10*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendParallel runs W writers, each appending to its own aggregate.
func BenchmarkAppendParallel(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, _ := benchStore(b)
			ctx := benchCtx(b)
			per := max(b.N/writers, 1)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("w%d", w)
					v := eventstore.NoStream
					for range per {
						res, err := s.Append(ctx, "order", id, v, testMeta, eventstore.Event{Message: body512})
						if err != nil {
							b.Error(err)
							return
						}
						v = res.Version
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(per*writers)/time.Since(start).Seconds(), "events/s")
		})
	}
}

type count struct{ N int }

func applyCount(c count, _ *eventstore.RecordedEvent) (count, error) { c.N++; return c, nil }

// BenchmarkLoad loads an aggregate of 10,000 events and folds it into its
// state, from the log alone and from a snapshot at its current version.
func BenchmarkLoad(b *testing.B) {
	s, js := benchStore(b)
	ctx := benchCtx(b)
	small := wrapperspb.String(strings.Repeat("y", 100))
	events := make([]eventstore.Event, eventstore.MaxBatch)
	for i := range events {
		events[i] = eventstore.Event{Message: small}
	}
	v := eventstore.NoStream
	for range 10_000 / eventstore.MaxBatch {
		res, err := s.Append(ctx, "order", "big", v, testMeta, events...)
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
	snaps, err := eventstore.OpenSnapshots(ctx, js, 1)
	if err != nil {
		b.Fatal(err)
	}
	// load folds the events after the snapshot (if useSnap) onto its state.
	load := func(useSnap bool) (count, *eventstore.Stream, error) {
		var c count
		var after *eventstore.Snapshot
		if useSnap {
			snap, err := snaps.Get(ctx, "order", "big")
			if err != nil || snap == nil || snap.Schema != "count/v1" {
				return c, nil, fmt.Errorf("snapshot %+v: %v", snap, err)
			}
			if err := json.Unmarshal(snap.State, &c); err != nil {
				return c, nil, err
			}
			after = snap
		}
		st, err := s.Load(ctx, "order", "big", after)
		if err != nil {
			return c, nil, err
		}
		for _, e := range st.Events {
			if c, err = applyCount(c, e); err != nil {
				return c, nil, err
			}
		}
		return c, st, nil
	}
	b.Run("events=10000/snapshot=none", func(b *testing.B) {
		for b.Loop() {
			c, st, err := load(false)
			if err != nil || c.N != 10_000 || len(st.Events) != 10_000 {
				b.Fatalf("%+v %v", c, err)
			}
		}
	})
	c, st, err := load(false)
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := snaps.Save(ctx, "order", "big", &eventstore.Snapshot{
		Version: st.Version, Seq: st.LastSeq, Hash: st.Hash, Schema: "count/v1", State: body,
	}, 0); err != nil {
		b.Fatal(err)
	}
	b.Run("events=10000/snapshot=10000", func(b *testing.B) {
		for b.Loop() {
			c, st, err := load(true)
			if err != nil || c.N != 10_000 || len(st.Events) != 0 || st.Snapshot.Version != 10_000 {
				b.Fatalf("%+v %v", c, err)
			}
		}
	})
}

// BenchmarkAuditVerify verifies a signed log of 20,000 events: from memory
// (the verifier's own cost) and read live from JetStream.
func BenchmarkAuditVerify(b *testing.B) {
	s, js := benchStore(b)
	ctx := benchCtx(b)
	events := make([]eventstore.Event, eventstore.MaxBatch)
	for i := range events {
		events[i] = eventstore.Event{Message: body512}
	}
	const total = 20_000
	for a := range total / eventstore.MaxBatch {
		if _, err := s.Append(ctx, "order", fmt.Sprintf("a%d", a), eventstore.NoStream, testMeta, events...); err != nil {
			b.Fatal(err)
		}
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	cp, err := audit.NewCheckpointer(ctx, js, audit.CheckpointerOptions{Key: key})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cp.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	live := &audit.JetStreamSource{JS: js}
	var buf bytes.Buffer
	if _, err := audit.Export(ctx, live, pub, 0, 0, &buf, nil); err != nil {
		b.Fatal(err)
	}
	bundle, err := audit.ReadBundle(&buf)
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, src audit.Source) {
		for b.Loop() {
			rep, err := audit.Verify(ctx, src, pub, nil)
			if err != nil || !rep.OK() || rep.Events != total {
				b.Fatalf("%+v %v", rep, err)
			}
		}
		b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("source=memory", func(b *testing.B) { run(b, bundle) })
	b.Run("source=jetstream", func(b *testing.B) { run(b, live) })
}

// BenchmarkSign is the signature alone (Signer.Sign of one floe-hash): the
// part of BenchmarkAppendSigned that BenchmarkAppend does not pay.
func BenchmarkSign(b *testing.B) {
	s, _ := signtest.Signer(b, "floe/bench", []string{"order"})
	hash := strings.Repeat("ab", 32)
	for b.Loop() {
		_ = s.Sign(hash)
	}
}
