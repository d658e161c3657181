package eventstore_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/eventstore/eventstoretest"
	"github.com/penguinmails/floe/libs/natsx/natstest"
)

func openStore(t *testing.T, js jetstream.JetStream) *eventstore.JetStreamStore {
	t.Helper()
	s, err := eventstore.Open(t.Context(), js, eventstore.Options{Source: "floe/test", Aggregates: eventstoretest.Aggregates})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s
}

// jetStreamHarness builds the conformance harness on a fresh embedded server.
func jetStreamHarness(t *testing.T) *eventstoretest.Harness {
	srv := natstest.Server(t)
	_, js := natstest.Connect(t, srv)
	pub, key, _ := ed25519.GenerateKey(nil)
	h := &eventstoretest.Harness{Store: openStore(t, js), PublicKey: pub}
	h.Reopen = func(t *testing.T) eventstore.Store {
		_, js2 := natstest.Connect(t, srv)
		return openStore(t, js2)
	}
	h.Restart = func(t *testing.T) eventstore.Store {
		srv = natstest.RestartServer(t, srv)
		_, js2 := natstest.Connect(t, srv)
		return openStore(t, js2)
	}
	var cp *audit.Checkpointer
	h.Checkpoint = func(t *testing.T) {
		if cp == nil {
			var err error
			if cp, err = audit.NewCheckpointer(t.Context(), js, audit.CheckpointerOptions{Key: key}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := cp.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	h.Source = func(*testing.T) audit.Source { return &audit.JetStreamSource{JS: js} }
	h.Tampered = func(t *testing.T, mutate func([]*audit.RawEvent) []*audit.RawEvent) audit.Source {
		return tamperedCopy(t, js, mutate)
	}
	h.TryDelete = func(t *testing.T, seq uint64) error {
		s, err := js.Stream(t.Context(), eventstore.DefaultStream)
		if err != nil {
			t.Fatal(err)
		}
		return s.DeleteMsg(t.Context(), seq)
	}
	h.TryPurge = func(t *testing.T) error {
		s, err := js.Stream(t.Context(), eventstore.DefaultStream)
		if err != nil {
			t.Fatal(err)
		}
		return s.Purge(t.Context())
	}
	h.TryWeaken = func(t *testing.T) error {
		ctx := t.Context()
		s, err := js.Stream(ctx, eventstore.DefaultStream)
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.CachedInfo().Config
		open := cfg
		open.DenyDelete, open.DenyPurge = false, false
		if _, err := js.UpdateStream(ctx, open); err == nil {
			return nil // the server let deletes be switched back on
		}
		// The server accepts an age limit, which would expire events; the store must refuse to run on it.
		aged := cfg
		aged.MaxAge = time.Hour
		if _, err := js.UpdateStream(ctx, aged); err != nil {
			return err
		}
		_, err = eventstore.Open(ctx, js, eventstore.Options{Aggregates: eventstoretest.Aggregates})
		var weak *eventstore.WeakStreamError
		if !errors.As(err, &weak) || !strings.Contains(err.Error(), "max_age") {
			t.Errorf("Open on an aged stream = %v, want a WeakStreamError naming max_age", err)
		}
		if err := h.Store.(*eventstore.JetStreamStore).CheckStream(ctx); err == nil {
			t.Error("CheckStream did not notice the weakened configuration")
		}
		return err
	}
	return h
}

// tamperedCopy copies the log and its checkpoints to a second server, the way
// an attacker with access to the files would rewrite history, and returns a
// source reading the copy.
func tamperedCopy(t *testing.T, js jetstream.JetStream, mutate func([]*audit.RawEvent) []*audit.RawEvent) audit.Source {
	t.Helper()
	ctx := t.Context()
	var events []*audit.RawEvent
	if err := (&audit.JetStreamSource{JS: js}).Events(ctx, 1, func(e *audit.RawEvent) error {
		events = append(events, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cps, err := audit.ReadCheckpoints(ctx, js, audit.DefaultAuditStream)
	if err != nil {
		t.Fatal(err)
	}
	events = mutate(events)

	srv2 := natstest.Server(t)
	_, js2 := natstest.Connect(t, srv2)
	cfg := eventstore.StreamConfig(eventstore.DefaultStream, 1)
	cfg.DenyDelete = false // the attacker's copy
	stream, err := js2.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e == nil { // a hole: write a filler and delete it
			ack, err := js2.Publish(ctx, eventstore.SubjectPrefix+"order.filler.Filler", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.DeleteMsg(ctx, ack.Sequence); err != nil {
				t.Fatal(err)
			}
			continue
		}
		msg := nats.NewMsg(e.Subject)
		for k, v := range e.Header {
			if !strings.HasPrefix(k, "Nats-") {
				msg.Header[k] = v
			}
		}
		msg.Data = e.Data
		if _, err := js2.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js2.CreateStream(ctx, audit.AuditStreamConfig(audit.DefaultAuditStream, 1)); err != nil {
		t.Fatal(err)
	}
	for _, cp := range cps {
		body, _ := cp.Marshal()
		if _, err := js2.Publish(ctx, audit.CheckpointSubject, body); err != nil {
			t.Fatal(err)
		}
	}
	return &audit.JetStreamSource{JS: js2}
}

// TestConformance runs the event store conformance suite against JetStream.
func TestConformance(t *testing.T) {
	eventstoretest.Run(t, jetStreamHarness)
}

func TestOpenRefusesWeakStream(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	cfg := eventstore.StreamConfig(eventstore.DefaultStream, 1)
	cfg.DenyDelete, cfg.DenyPurge, cfg.AllowRollup, cfg.MaxMsgs = false, false, true, 1000
	if _, err := js.CreateStream(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	_, err := eventstore.Open(t.Context(), js, eventstore.Options{Aggregates: []string{"order"}})
	var weak *eventstore.WeakStreamError
	if !errors.As(err, &weak) {
		t.Fatalf("Open = %v, want *WeakStreamError", err)
	}
	if len(weak.Problems) != 4 {
		t.Errorf("problems = %q, want 4 (deletes, purges, rollups, max_msgs)", weak.Problems)
	}
}

func TestOpenValidatesOptions(t *testing.T) {
	t.Parallel()
	_, _, js := natstest.JetStream(t)
	for _, aggs := range [][]string{nil, {"Release"}, {"a.b"}} {
		if _, err := eventstore.Open(t.Context(), js, eventstore.Options{Aggregates: aggs}); err == nil {
			t.Errorf("Open with aggregates %q succeeded", aggs)
		}
	}
}
