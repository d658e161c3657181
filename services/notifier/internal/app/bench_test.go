package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/signtest"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/notifier/internal/app"
	"github.com/penguinmails/floe/services/notifier/internal/domain"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// BenchmarkOnEvent is what the notifier costs per event it routes: a
// deployment's start mapped to an episode, observed by its route's group
// (one signed append) and evaluated (a second append when the group tells
// at once: group_wait 0s, as here; with the default 30s it is evaluated by
// the loop instead). The baseline in the same run is one bare signed
// append of a small event (raw), and an event the notifier does not tell
// (ignored: mapped and dropped).
func BenchmarkOnEvent(b *testing.B) {
	_, _, js := natstest.JetStream(b)
	ctx := causal.System(context.Background(), "bench", "", "")
	signer, _ := signtest.Signer(b, "floe/notifier", []string{domain.AggGroup, domain.AggNotification, "raw"})
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/notifier", Aggregates: []string{domain.AggGroup, domain.AggNotification, "raw"}, Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := routing.Parse([]byte(`receivers:
  - name: ops
    kind: webhook
    settings: {url: "http://127.0.0.1:1/x", signing_secret: "secret://hook"}
route:
  receivers: [ops]
  group_by: [episode]
  group_wait: 0s
`))
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(app.Options{Store: store, Routing: cfg, Mapper: episode.Mapper{}, Instance: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("routed", func(b *testing.B) {
		for b.Loop() {
			id := fmt.Sprintf("r%d-production-1", next.Add(1))
			ev := recorded(b, "deployment", id, &deployv1.DeploymentStarted{DeploymentId: id, ReleaseId: "r", Version: "1.0.0", Environment: "production", Product: "p", App: "demo"})
			if err := a.OnEvent(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ignored", func(b *testing.B) {
		for b.Loop() {
			ev := recorded(b, "deployment", fmt.Sprintf("d%d", next.Add(1)), &deployv1.DeploymentStepStarted{Index: 1})
			if err := a.OnEvent(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.Append(ctx, "raw", fmt.Sprintf("x%d", next.Add(1)), eventstore.NoStream, eventstore.Meta{Actor: "bench"},
				eventstore.Event{Message: wrapperspb.String("an event")}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// next numbers aggregates and events across runs (-count shares nothing else).
var next atomic.Uint64

// recorded is msg as the log would hand it to the notifier (a fresh event id each time).

func recorded(b *testing.B, agg, id string, msg proto.Message) *eventstore.RecordedEvent {
	b.Helper()
	data, err := protojson.Marshal(msg)
	if err != nil {
		b.Fatal(err)
	}
	seq := next.Add(1)
	d := msg.ProtoReflect().Descriptor()
	return &eventstore.RecordedEvent{
		Seq: seq, Subject: eventstore.SubjectPrefix + agg + "." + id + "." + string(d.Name()),
		Aggregate: agg, AggregateID: id, Name: string(d.Name()), Type: string(d.FullName()),
		ID: fmt.Sprintf("ev-%d", seq), Source: "floe/deployer", Version: 1, Time: time.Now(), Actor: "system:deployer", Data: data,
	}
}
