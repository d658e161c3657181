package e2e

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestNATSTrustsNoOne connects to floe dev's NATS as nobody, as the
// read-only identity it hands to subscribers, and as one service, and
// checks what each may do: nobody connects anonymously; the reader reads
// the log and changes nothing; a service appends only to its own
// aggregates and can change neither the log's stream nor another's
// subjects. Floe itself keeps working throughout, on its own identities.
func TestNATSTrustsNoOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	env := []string{"FLOE_CREDENTIALS=" + dataDir + "/dev-credentials.yaml", "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}

	if nc, err := d.natsAs(t, ""); err == nil {
		nc.Close()
		t.Fatal("an anonymous connection to the embedded NATS was accepted")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("anonymous connection refused with %v; want an authorization error", err)
	}

	// Each identity's connection records the permission violations the
	// server reports, so every refusal below is known to be the server's.
	rec := &violations{}
	readerNC, err := d.natsAs(t, "reader", nats.ErrorHandler(rec.handle))
	if err != nil {
		t.Fatal(err)
	}
	reader, _ := jetstream.New(readerNC)
	log, err := reader.Stream(ctx, "FLOE_EVENTS")
	if err != nil {
		t.Fatalf("the reader cannot see the event log: %v", err)
	}
	// The reader follows the log like any subscriber.
	cons, err := reader.OrderedConsumer(ctx, "FLOE_EVENTS", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"floe.evt.>"}})
	if err != nil {
		t.Fatalf("the reader cannot consume the log: %v", err)
	}
	if _, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second)); err != nil {
		t.Fatalf("the reader reads no event: %v", err)
	}
	lastSeq := func() uint64 {
		info, err := log.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	before := lastSeq()

	releaseNC, err := d.natsAs(t, "release", nats.ErrorHandler(rec.handle))
	if err != nil {
		t.Fatal(err)
	}
	release, _ := jetstream.New(releaseNC)
	refused := []struct {
		who, what string
		do        func(context.Context) error
	}{
		{"reader", "append a release event", func(ctx context.Context) error {
			_, err := reader.Publish(ctx, "floe.evt.release.r1.ApprovalGranted", []byte(`{}`))
			return err
		}},
		{"reader", "delete the event log", func(ctx context.Context) error { return reader.DeleteStream(ctx, "FLOE_EVENTS") }},
		{"reader", "purge the event log", func(ctx context.Context) error { return log.Purge(ctx) }},
		{"reader", "create a stream", func(ctx context.Context) error {
			_, err := reader.CreateStream(ctx, jetstream.StreamConfig{Name: "EVIL", Subjects: []string{"evil.>"}})
			return err
		}},
		{"reader", "create a KV bucket", func(ctx context.Context) error {
			_, err := reader.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "evil"})
			return err
		}},
		{"reader", "write a snapshot", func(ctx context.Context) error {
			_, err := reader.Publish(ctx, "$KV.floe_snapshots.release.r1", []byte(`{}`))
			return err
		}},
		{"reader", "delete an event", func(ctx context.Context) error { return log.DeleteMsg(ctx, 1) }},
		{"release", "append a deployment event", func(ctx context.Context) error {
			_, err := release.Publish(ctx, "floe.evt.deployment.d1.DeploymentSucceeded", []byte(`{}`))
			return err
		}},
		{"release", "append a monitor verdict", func(ctx context.Context) error {
			_, err := release.Publish(ctx, "floe.evt.monitoring.d1.AnalysisCompleted", []byte(`{}`))
			return err
		}},
		{"release", "delete the event log", func(ctx context.Context) error { return release.DeleteStream(ctx, "FLOE_EVENTS") }},
		{"release", "purge the event log", func(ctx context.Context) error {
			s, err := release.Stream(ctx, "FLOE_EVENTS")
			if err != nil {
				return err
			}
			return s.Purge(ctx)
		}},
		{"release", "widen the event log's retention", func(ctx context.Context) error {
			s, err := release.Stream(ctx, "FLOE_EVENTS")
			if err != nil {
				return err
			}
			cfg := s.CachedInfo().Config
			cfg.MaxAge = time.Hour
			_, err = release.UpdateStream(ctx, cfg)
			return err
		}},
		{"release", "delete the audit trail", func(ctx context.Context) error { return release.DeleteStream(ctx, "FLOE_AUDIT") }},
		{"release", "read the secrets bucket", func(ctx context.Context) error {
			kv, err := release.KeyValue(ctx, "floe_secrets")
			if err != nil {
				return err
			}
			_, err = kv.Get(ctx, "n.development")
			return err
		}},
		{"release", "write a checkpoint", func(ctx context.Context) error {
			_, err := release.Publish(ctx, "floe.audit.checkpoint", []byte(`{}`))
			return err
		}},
	}
	for _, r := range refused {
		n := rec.count()
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := r.do(actx)
		cancel()
		if err == nil {
			t.Errorf("%s could %s", r.who, r.what)
			continue
		}
		v := rec.after(n, time.Second)
		if v == "" {
			t.Errorf("%s %s: failed with %v, but the server reported no permissions violation", r.who, r.what, err)
			continue
		}
		t.Logf("%s may not %s: %s", r.who, r.what, v)
	}
	// Floe keeps working meanwhile (a service may still be recording its
	// start), so the log may grow — but not by any refused attempt.
	for seq := before + 1; seq <= lastSeq(); seq++ {
		m, err := log.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		for _, refusedSubject := range []string{"floe.evt.release.r1.", "floe.evt.deployment.d1.", "floe.evt.monitoring.d1."} {
			if strings.HasPrefix(m.Subject, refusedSubject) {
				t.Errorf("a refused append is in the log: event %d on %s", seq, m.Subject)
			}
		}
		t.Logf("appended by Floe meanwhile: event %d on %s", seq, m.Subject)
	}
	if m, err := log.GetMsg(ctx, 1); err != nil || m.Sequence != 1 {
		t.Errorf("the log's first event after the refused attempts: %v, %v", m, err)
	}
	if _, err := reader.Stream(ctx, "FLOE_AUDIT"); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("the reader cannot look at the audit trail: %v", err)
	}

	// Floe works all the same, each service on its own identity.
	out, err := runCLI(t, ctx, env, "--as", "alice", "release", "create", "--product", "natsauth", "--version", "1.0.0", "--type", "major",
		"--title", "works", "--change", "feature:x")
	if err != nil {
		t.Fatalf("floe release create: %v\n%s", err, out)
	}
	if got := lastSeq(); got <= before {
		t.Errorf("a release was created but the log did not grow (%d → %d)", before, got)
	}
}

// violations records the permission violations a server reports to a connection.
type violations struct {
	mu   sync.Mutex
	list []string
}

func (v *violations) handle(_ *nats.Conn, _ *nats.Subscription, err error) {
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
		v.mu.Lock()
		v.list = append(v.list, err.Error())
		v.mu.Unlock()
	}
}

func (v *violations) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.list)
}

// after waits up to limit for a violation after the first n, and returns it.
func (v *violations) after(n int, limit time.Duration) string {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		v.mu.Lock()
		if len(v.list) > n {
			s := v.list[n]
			v.mu.Unlock()
			return s
		}
		v.mu.Unlock()
	}
	return ""
}
