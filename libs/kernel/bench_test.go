package kernel_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/natsx/natstest"
)

// Benchmarks of a command through the kernel (cached state, decide, append
// with metadata, fold) against the raw baseline in the same run: the same
// event through Store.Append at a version the caller tracks.
// Run: go test -run '^$' -bench . -benchtime 2s ./libs/kernel

func benchStore(b *testing.B) *eventstore.JetStreamStore {
	b.Helper()
	_, _, js := natstest.JetStream(b)
	s, err := eventstore.Open(context.Background(), js, eventstore.Options{Aggregates: []string{"counter"}})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkAppendRaw(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	meta := eventstore.Meta{Actor: "bench", CorrelationID: "corr", CausationID: "cause"}
	var v eventstore.Version
	for b.Loop() {
		res, err := s.Append(ctx, "counter", "c1", v, meta, eventstore.Event{Message: wrapperspb.String("inc")})
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
}

func BenchmarkExecute(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		b.Run(fmt.Sprintf("keyed=%v", keyed), func(b *testing.B) {
			h, err := kernel.New(benchStore(b), counterKind, kernel.Options{})
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				i++
				ctx := as(context.Background(), "bench", fmt.Sprint("r", i), keyed)
				if _, err := h.Execute(ctx, kernel.Command[*counter]{ID: "c1", Decide: add("inc")}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Parallel: 16 writers on distinct aggregates.
func BenchmarkParallelAppendRaw(b *testing.B) {
	s := benchStore(b)
	meta := eventstore.Meta{Actor: "bench"}
	var next atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprint("c", next.Add(1))
		var v eventstore.Version
		for pb.Next() {
			res, err := s.Append(context.Background(), "counter", id, v, meta, eventstore.Event{Message: wrapperspb.String("inc")})
			if err != nil {
				b.Error(err)
				return
			}
			v = res.Version
		}
	})
}

func BenchmarkParallelExecute(b *testing.B) {
	h, err := kernel.New(benchStore(b), counterKind, kernel.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprint("c", next.Add(1))
		ctx := causal.With(context.Background(), causal.Origin{Actor: "bench"})
		for pb.Next() {
			if _, err := h.Execute(ctx, kernel.Command[*counter]{ID: id, Decide: add("inc")}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
