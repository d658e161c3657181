package projection_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/signtest"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/projection"
)

// BenchmarkRebuild folds a log of 100,000 events (1,000 accounts) into a
// fresh view, checkpoints included, and reports events/s. The baseline in the
// same run is BenchmarkRebuild/raw: the same events read by a bare ordered
// consumer and decoded, without folding or checkpointing.
var rebuilds atomic.Int64

func BenchmarkRebuild(b *testing.B) {
	const events, accounts = 100_000, 1_000
	_, _, js := natstest.JetStream(b)
	ctx := context.Background()
	signer, trust := signtest.Signer(b, "floe/bench", []string{"account"})
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/bench", Aggregates: []string{"account"}, Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	meta := eventstore.Meta{Actor: "bench"}
	versions := make([]eventstore.Version, accounts)
	batch := make([]eventstore.Event, 0, eventstore.MaxBatch)
	for i := 0; i < events; i += eventstore.MaxBatch {
		a := (i / eventstore.MaxBatch) % accounts
		batch = batch[:0]
		for j := range eventstore.MaxBatch {
			batch = append(batch, eventstore.Event{Message: wrapperspb.String(fmt.Sprintf("entry %d", i+j))})
		}
		res, err := store.Append(ctx, "account", fmt.Sprintf("acc%d", a), versions[a], meta, batch...)
		if err != nil {
			b.Fatal(err)
		}
		versions[a] = res.Version
	}
	last, err := store.LastSeq(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rebuild := func(b *testing.B, verified bool) {
		for b.Loop() {
			_, spec := newAccountsView()
			// A new view each time (with -count the server is new but the
			// name must still not meet a checkpoint left by an earlier run).
			spec.Name = fmt.Sprintf("rebuild_%v_%d", verified, rebuilds.Add(1))
			var opts projection.Options
			if verified {
				// A process that has verified nothing yet: every signature is checked.
				opts.Verifier = eventstore.NewVerifier(js, eventstore.DefaultStream, trust)
			}
			p, err := projection.New(ctx, js, spec, opts)
			if err != nil {
				b.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { _ = p.Run(rctx); close(done) }()
			if err := p.Wait(ctx, last); err != nil {
				b.Fatal(err)
			}
			cancel()
			<-done // includes the final checkpoint of every row
		}
		b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("view", func(b *testing.B) { rebuild(b, false) })
	b.Run("view-verified", func(b *testing.B) { rebuild(b, true) })
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			cons, err := js.OrderedConsumer(ctx, eventstore.DefaultStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{eventstore.KindFilter("account")}})
			if err != nil {
				b.Fatal(err)
			}
			it, err := cons.Messages(jetstream.PullMaxMessages(512))
			if err != nil {
				b.Fatal(err)
			}
			for seen := 0; seen < events; seen++ {
				m, err := it.Next()
				if err != nil {
					b.Fatal(err)
				}
				md, _ := m.Metadata()
				e, err := eventstore.Decode(md.Sequence.Stream, m.Subject(), m.Headers(), m.Data())
				if err != nil {
					b.Fatal(err)
				}
				var s wrapperspb.StringValue
				if err := e.DecodeInto(&s); err != nil {
					b.Fatal(err)
				}
			}
			it.Stop()
		}
		b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
