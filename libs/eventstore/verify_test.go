package eventstore_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/eventstore/signtest"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	integrityv1 "github.com/penguinmails/floe/proto/gen/floe/integrity/v1"
)

// forgery is a log with two trusted writers and a verified store, where a
// test publishes forged messages straight onto the stream, as anyone with
// publish rights on the subjects could.
type forgery struct {
	t        *testing.T
	js       jetstream.JetStream
	release  *eventstore.Signer // floe/release: release, integrity
	deployer *eventstore.Signer // floe/deployer: deployment, integrity
	verifier *eventstore.Verifier
	store    *eventstore.JetStreamStore // as floe/release, verified

	mu     sync.Mutex
	alarms []*eventstore.TamperError
}

func newForgery(t *testing.T) *forgery {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	dep, _ := signtest.Signer(t, "floe/deployer", []string{"deployment", "integrity"})
	rel, trust := signtest.Signer(t, "floe/release", []string{"release", "integrity"}, dep.Trusted("deployment", "integrity"))
	f := &forgery{t: t, js: js, release: rel, deployer: dep}
	f.verifier = eventstore.NewVerifier(js, eventstore.DefaultStream, trust)
	f.verifier.OnTamper(func(te *eventstore.TamperError) {
		f.mu.Lock()
		f.alarms = append(f.alarms, te)
		f.mu.Unlock()
	})
	f.store = f.open(rel, "release", "integrity")
	return f
}

// audit verifies the whole log with writer signatures.
func (f *forgery) audit() *audit.Report {
	f.t.Helper()
	pub, _, _ := ed25519.GenerateKey(nil) // no checkpoints: any key
	rep, err := audit.VerifyWith(f.t.Context(), &audit.JetStreamSource{JS: f.js}, audit.Options{Key: pub, Trust: f.verifier.Trust()})
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func (f *forgery) open(s *eventstore.Signer, aggs ...string) *eventstore.JetStreamStore {
	st, err := eventstore.Open(f.t.Context(), f.js, eventstore.Options{Source: s.Writer(), Aggregates: aggs, Signer: s, Verifier: f.verifier})
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *forgery) append(id string, expected eventstore.Version, text string) *eventstore.AppendResult {
	f.t.Helper()
	res, err := f.store.Append(f.t.Context(), "release", id, expected, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String(text)})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// raw reads the message at seq as stored.
func (f *forgery) raw(seq uint64) *jetstream.RawStreamMsg {
	f.t.Helper()
	st, err := f.js.Stream(f.t.Context(), eventstore.DefaultStream)
	if err != nil {
		f.t.Fatal(err)
	}
	m, err := st.GetMsg(f.t.Context(), seq)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// publish stores a message as is (no expected-sequence check: a forger
// does not ask).
func (f *forgery) publish(subject string, h nats.Header, body []byte) uint64 {
	f.t.Helper()
	ack, err := f.js.PublishMsg(f.t.Context(), &nats.Msg{Subject: subject, Header: h, Data: body})
	if err != nil {
		f.t.Fatal(err)
	}
	return ack.Sequence
}

// next builds the headers of the event that would follow r1's last one, as
// floe/release writes them, with a given body; sign decides the signature.
func (f *forgery) next(last *jetstream.RawStreamMsg, subject string, body []byte, sign func(h nats.Header, hash string)) nats.Header {
	h := nats.Header{}
	for k, v := range last.Header {
		if k == eventstore.HdrHash || k == eventstore.HdrKeyID || k == eventstore.HdrSignature || strings.HasPrefix(k, "Nats-") {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	v, _ := strconv.Atoi(last.Header.Get(eventstore.HdrVersion))
	h.Set(eventstore.HdrVersion, strconv.Itoa(v+1))
	h.Set(eventstore.HdrPrevHash, last.Header.Get(eventstore.HdrHash))
	h.Set(eventstore.HdrID, "forged-"+strconv.Itoa(v+1))
	h.Set(eventstore.HdrActor, "carol")
	hash := eventstore.ComputeHash(subject, h, body)
	h.Set(eventstore.HdrHash, hash)
	if sign != nil {
		sign(h, hash)
	}
	return h
}

// withoutControl is h without the server's control headers (a forger
// republishing a stored message drops its expected-sequence check).
func withoutControl(h nats.Header) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		if !strings.HasPrefix(k, "Nats-") {
			out[k] = v
		}
	}
	return out
}

func signWith(s *eventstore.Signer) func(nats.Header, string) {
	return func(h nats.Header, hash string) {
		h.Set(eventstore.HdrKeyID, s.KeyID())
		h.Set(eventstore.HdrSignature, s.Sign(hash))
	}
}

// TestForgedEventsAreNeverUsed publishes each kind of forgery onto a
// release's subject and checks that loads refuse the aggregate naming the
// bad position (AGGREGATE_TAMPERED), the alarm is raised once, nothing else
// is affected, and an acknowledgement lets the aggregate work again.
func TestForgedEventsAreNeverUsed(t *testing.T) {
	const subject = "floe.evt.release.r1.StringValue"
	body := []byte(`"approved by carol"`)
	_, strangerKey, _ := ed25519.GenerateKey(nil)
	stranger := eventstore.NewSigner("floe/release", strangerKey)
	for _, tc := range []struct {
		name   string
		forge  func(f *forgery, last *jetstream.RawStreamMsg) uint64
		reason string
	}{
		{"wrong hash", func(f *forgery, last *jetstream.RawStreamMsg) uint64 {
			h := f.next(last, subject, body, signWith(f.release))
			h.Set(eventstore.HdrHash, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
			return f.publish(subject, h, body)
		}, "does not match its floe-hash"},
		{"correct hash and link, unsigned", func(f *forgery, last *jetstream.RawStreamMsg) uint64 {
			return f.publish(subject, f.next(last, subject, body, nil), body)
		}, "not signed"},
		{"signed by an unknown key", func(f *forgery, last *jetstream.RawStreamMsg) uint64 {
			return f.publish(subject, f.next(last, subject, body, signWith(stranger)), body)
		}, "does not know"},
		{"a signature copied from another event", func(f *forgery, last *jetstream.RawStreamMsg) uint64 {
			return f.publish(subject, f.next(last, subject, body, func(h nats.Header, _ string) {
				h.Set(eventstore.HdrKeyID, last.Header.Get(eventstore.HdrKeyID))
				h.Set(eventstore.HdrSignature, last.Header.Get(eventstore.HdrSignature))
			}), body)
		}, "not key"},
		{"signed by another service's key", func(f *forgery, last *jetstream.RawStreamMsg) uint64 {
			return f.publish(subject, f.next(last, subject, body, signWith(f.deployer)), body)
		}, "belongs to floe/deployer"},
		{"another service's key, as that service", func(f *forgery, last *jetstream.RawStreamMsg) uint64 {
			h := f.next(last, subject, body, nil)
			h.Set(eventstore.HdrSource, "floe/deployer")
			hash := eventstore.ComputeHash(subject, h, body)
			h.Set(eventstore.HdrHash, hash)
			signWith(f.deployer)(h, hash)
			return f.publish(subject, h, body)
		}, "may not write release events"},
		{"a replayed copy of a real event", func(f *forgery, _ *jetstream.RawStreamMsg) uint64 {
			first := f.raw(1)
			return f.publish(first.Subject, withoutControl(first.Header), first.Data)
		}, "does not follow"},
		{"another aggregate's event on this subject", func(f *forgery, _ *jetstream.RawStreamMsg) uint64 {
			other := f.append("r2", 0, "r2 created") // signed, valid where it belongs
			m := f.raw(other.LastSeq)
			return f.publish(subject, withoutControl(m.Header), m.Data)
		}, "does not match its floe-hash"},
		{"not an event at all", func(f *forgery, _ *jetstream.RawStreamMsg) uint64 {
			return f.publish(subject, nil, body)
		}, "not a well-formed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newForgery(t)
			ctx := t.Context()
			f.append("r1", 0, "created")
			good := f.append("r1", 1, "edited")
			bad := tc.forge(f, f.raw(good.LastSeq))

			// Every read refuses the aggregate, naming the bad event.
			for _, read := range []struct {
				name string
				run  func() error
			}{
				{"load", func() error { _, err := f.store.Load(ctx, "release", "r1", nil); return err }},
				{"load in another process", func() error {
					_, err := f.open(f.release, "release", "integrity").Load(ctx, "release", "r1", nil)
					return err
				}},
				{"append", func() error {
					_, err := f.open(f.release, "release", "integrity").Append(ctx, "release", "r1", 2, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String("x")})
					return err
				}},
			} {
				err := read.run()
				var te *eventstore.TamperError
				if !errors.As(err, &te) || te.Seq != bad || !strings.Contains(te.Reason, tc.reason) {
					t.Fatalf("%s: %v; want a TamperError at %d mentioning %q", read.name, err, bad, tc.reason)
				}
				var pe *errs.PreconditionError
				if !errors.As(err, &pe) || pe.Reason != errorsv1.ErrorReason_ERROR_REASON_AGGREGATE_TAMPERED {
					t.Fatalf("%s: %v is not the AGGREGATE_TAMPERED refusal clients see", read.name, err)
				}
			}
			f.mu.Lock()
			alarms := len(f.alarms)
			f.mu.Unlock()
			if alarms != 1 || f.alarms[0].Seq != bad {
				t.Fatalf("alarms %v; want one for position %d", f.alarms, bad)
			}
			// Nothing else is affected.
			other := f.append("r3", 0, "unrelated")
			if st, err := f.store.Load(ctx, "release", "r3", nil); err != nil || st.Version != 1 || st.LastSeq != other.LastSeq {
				t.Fatalf("another aggregate: %+v, %v", st, err)
			}

			// The audit names it, and nothing else.
			rep := f.audit()
			if len(rep.Problems) == 0 || rep.Problems[0].Seq != bad {
				t.Fatalf("audit verify: %v; want the problem at %d", rep.Problems, bad)
			}
			for _, p := range rep.Problems {
				if p.Seq != bad {
					t.Errorf("audit verify reports a problem elsewhere: %v", p)
				}
			}

			// An acknowledgement (a signed record on integrity/<position>) lets it work again.
			if _, err := f.store.Append(ctx, "integrity", eventstore.IntegrityID(bad), eventstore.NoStream, eventstore.Meta{Actor: "erin"},
				eventstore.Event{Message: &integrityv1.TamperAcknowledged{Position: bad, Reason: "test forgery"}}); err != nil {
				t.Fatal(err)
			}
			st, err := f.store.Load(ctx, "release", "r1", nil)
			if err != nil || st.Version != 2 || st.LastSeq != good.LastSeq || st.HeadSeq != bad {
				t.Fatalf("after the acknowledgement: %+v, %v; want version 2 at %d, head %d", st, err, good.LastSeq, bad)
			}
			next, err := f.open(f.release, "release", "integrity").Append(ctx, "release", "r1", 2, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String("after")})
			if err != nil {
				t.Fatalf("append after the acknowledgement: %v", err)
			}
			st, err = f.store.Load(ctx, "release", "r1", nil)
			if err != nil || st.Version != 3 || st.LastSeq != next.LastSeq || st.Events[2].PrevHash != good.Hash {
				t.Fatalf("after the next append: %+v, %v; want version 3 chained onto %s", st, err, good.Hash)
			}
			// The audit passes, listing the acknowledged event.
			rep = f.audit()
			if !rep.OK() || len(rep.Acknowledged) == 0 || rep.Acknowledged[0].Seq != bad {
				t.Fatalf("audit verify after the acknowledgement: problems %v, acknowledged %v", rep.Problems, rep.Acknowledged)
			}
		})
	}
}

// TestForgedAcknowledgementIsIgnored: an acknowledgement nobody trusted
// signed does not unlock the aggregate (and is itself reported).
func TestForgedAcknowledgementIsIgnored(t *testing.T) {
	f := newForgery(t)
	ctx := t.Context()
	f.append("r1", 0, "created")
	bad := f.publish("floe.evt.release.r1.StringValue", nil, []byte(`"x"`))
	_, key, _ := ed25519.GenerateKey(nil)
	forger, err := eventstore.Open(ctx, f.js, eventstore.Options{Source: "floe/release", Aggregates: []string{"integrity"}, Signer: eventstore.NewSigner("floe/release", key)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forger.Append(ctx, "integrity", eventstore.IntegrityID(bad), eventstore.NoStream, eventstore.Meta{Actor: "mallory"},
		eventstore.Event{Message: &integrityv1.TamperAcknowledged{Position: bad, Reason: "trust me"}}); err != nil {
		t.Fatal(err)
	}
	var te *eventstore.TamperError
	if _, err := f.store.Load(ctx, "release", "r1", nil); !errors.As(err, &te) || te.Seq != bad {
		t.Fatalf("load after a forged acknowledgement: %v; want still tampered at %d", err, bad)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.alarms) != 2 {
		t.Fatalf("alarms %v; want the bad event and the forged acknowledgement", f.alarms)
	}
}

// TestVerifiedFollowAndSubscribe: readers of a stream of events pass on the
// good ones and never a forged one.
func TestVerifiedFollowAndSubscribe(t *testing.T) {
	f := newForgery(t)
	ctx := t.Context()
	f.append("r1", 0, "created")
	good := f.append("r1", 1, "edited")
	f.publish("floe.evt.release.r1.StringValue", f.next(f.raw(good.LastSeq), "floe.evt.release.r1.StringValue", []byte(`"forged"`), nil), []byte(`"forged"`))
	f.append("r2", 0, "other")

	var followed []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		fctx, cancel := context.WithCancel(ctx)
		_ = f.verifier.Follow(fctx, []string{"floe.evt.release.>"}, func(e *eventstore.RecordedEvent) error {
			followed = append(followed, string(e.Data))
			if len(followed) == 3 {
				cancel()
			}
			return nil
		}, nil)
	}()
	<-done
	if want := []string{`"created"`, `"edited"`, `"other"`}; !slices.Equal(followed, want) {
		t.Fatalf("Follow passed on %v, want %v", followed, want)
	}

	handled := make(chan string, 10)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = eventstore.Subscribe(sctx, f.js, eventstore.DefaultStream, eventstore.Subscription{
			Name: "verify-test", Filters: []string{"floe.evt.release.>"}, Verifier: f.verifier,
			Handler: func(_ context.Context, e *eventstore.RecordedEvent) error { handled <- string(e.Data); return nil },
		})
	}()
	var got []string
	for len(got) < 3 {
		got = append(got, <-handled)
	}
	if want := []string{`"created"`, `"edited"`, `"other"`}; !slices.Equal(got, want) {
		t.Fatalf("Subscribe handled %v, want %v", got, want)
	}
}

// TestVerifiedReadersWithNarrowFilters (regression): a subscription that
// receives only some event types of an aggregate verified each against the
// previous one it had received, saw a gap, and reported genuine events as
// tampered. The events it does not receive are verified from the log.
func TestVerifiedReadersWithNarrowFilters(t *testing.T) {
	f := newForgery(t)
	followAlternating(t, f)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.alarms) != 0 {
		t.Fatalf("genuine events reported as tampered: %v", f.alarms)
	}
}

// followAlternating appends six events to release r1, strings and numbers
// in turn, and follows the strings only: each is checked with the numbers
// before it read from the log.
func followAlternating(t *testing.T, f *forgery, before ...func()) {
	t.Helper()
	ctx := t.Context()
	for i := range 6 {
		var m proto.Message = wrapperspb.String(fmt.Sprintf("s%d", i))
		if i%2 == 1 {
			m = wrapperspb.Int64(int64(i))
		}
		if _, err := f.store.Append(ctx, "release", "r1", eventstore.Version(i), eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range before {
		b()
	}
	var got []string
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a refused event never comes: fail, not hang
	defer cancel()
	_ = f.verifier.Follow(fctx, []string{"floe.evt.release.*.StringValue"}, func(e *eventstore.RecordedEvent) error {
		got = append(got, string(e.Data))
		if len(got) == 3 {
			cancel()
		}
		return nil
	}, nil)
	if want := []string{`"s0"`, `"s2"`, `"s4"`}; !slices.Equal(got, want) {
		t.Fatalf("followed %v, want %v", got, want)
	}
}

// TestLaggingReplicaIsNotTampering: a reader receiving some event types
// only reads the events it missed with direct gets, which any replica of
// the stream may answer; one behind the leader returns a prefix of the
// aggregate that does not reach the event in hand. That is lag, not a gap:
// the verifier reads them again from the leader and raises no alarm (it
// did, under load on a 3-node cluster, and refused genuine aggregates).
func TestLaggingReplicaIsNotTampering(t *testing.T) {
	f := newForgery(t)
	followAlternating(t, f, func() { eventstore.SetLaggingReplica(f.verifier, 3) }) // it has the first three events only
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.alarms) != 0 {
		t.Fatalf("a lagging replica's answer was reported as tampering: %v", f.alarms)
	}
}

// TestKeyRotation: a writer's key is replaced and the old one retired after
// the last position it signed: everything it signed before verifies, its
// successor's events verify, and an event the old key signs afterwards (a
// leaked retired key) is refused.
func TestKeyRotation(t *testing.T) {
	_, _, js := natstest.JetStream(t)
	ctx := t.Context()
	old, _ := signtest.Signer(t, "floe/release", []string{"release", "integrity"})
	next, _ := signtest.Signer(t, "floe/release", []string{"release", "integrity"})
	write := func(s *eventstore.Signer, v eventstore.Version, text string) *eventstore.AppendResult {
		st, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/release", Aggregates: []string{"release"}, Signer: s})
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Append(ctx, "release", "r1", v, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String(text)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	write(old, 0, "by the old key")
	last := write(old, 1, "by the old key, last")
	write(next, 2, "by the new key")
	leaked := write(old, 3, "by the retired key")

	retired := old.Trusted("release", "integrity")
	retired.RetiredAfter = last.LastSeq
	trust, err := eventstore.NewTrust(retired, next.Trusted("release", "integrity"))
	if err != nil {
		t.Fatal(err)
	}
	v := eventstore.NewVerifier(js, eventstore.DefaultStream, trust)
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/release", Aggregates: []string{"release"}, Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	var te *eventstore.TamperError
	if _, err := store.Load(ctx, "release", "r1", nil); !errors.As(err, &te) || te.Seq != leaked.LastSeq || !strings.Contains(te.Reason, "retired") {
		t.Fatalf("load: %v; want the retired key's later event refused at %d", err, leaked.LastSeq)
	}
	// Before it, the old key's events and its successor's verify.
	l, err := v.Before(ctx, &eventstore.RecordedEvent{Aggregate: "release", AggregateID: "r1", Seq: leaked.LastSeq, Version: 4})
	if err != nil || l.Version != 3 {
		t.Fatalf("chain before the leaked event: %+v, %v; want version 3", l, err)
	}
}

// A process does not check the signatures of the events it has just
// appended again — but only a key its trust store lets write them counts:
// its own appends with a retired key are refused by its own reads.
func TestOwnAppendsCountOnlyWithATrustedKey(t *testing.T) {
	_, _, js := natstest.JetStream(t)
	ctx := t.Context()
	old, _ := signtest.Signer(t, "floe/release", []string{"release", "integrity"})
	next, _ := signtest.Signer(t, "floe/release", []string{"release", "integrity"})
	retired := old.Trusted("release", "integrity")
	retired.RetiredAfter = 1
	trust, err := eventstore.NewTrust(retired, next.Trusted("release", "integrity"))
	if err != nil {
		t.Fatal(err)
	}
	v := eventstore.NewVerifier(js, eventstore.DefaultStream, trust)
	open := func(s *eventstore.Signer) *eventstore.JetStreamStore {
		st, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/release", Aggregates: []string{"release"}, Signer: s, Verifier: v})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, id := range []string{"r1", "r2"} { // positions 1 and 2
		if _, err := open(old).Append(ctx, "release", id, 0, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	good := open(next)
	if _, err := good.Append(ctx, "release", "r3", 0, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String("r3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := good.Load(ctx, "release", "r1", nil); err != nil {
		t.Fatalf("r1 (signed before the key's retirement): %v", err)
	}
	if _, err := good.Load(ctx, "release", "r3", nil); err != nil {
		t.Fatalf("r3 (the new key): %v", err)
	}
	var te *eventstore.TamperError
	if _, err := good.Load(ctx, "release", "r2", nil); !errors.As(err, &te) || te.Seq != 2 || !strings.Contains(te.Reason, "retired") {
		t.Fatalf("r2, appended here with the key after its retirement: %v; want it refused", err)
	}
}

// A process that appended an event does not check its signature or its
// link again when its own readers meet it at the position it was stored
// at — but a verbatim copy of it published elsewhere in the log is a
// replay, refused by those same readers whatever they remember.
func TestReplayedOwnEventIsRefused(t *testing.T) {
	f := newForgery(t)
	res := f.append("r1", 0, "created")
	orig := f.raw(res.LastSeq)
	copySeq := f.publish(orig.Subject, withoutControl(orig.Header), orig.Data)
	decode := func(seq uint64) *eventstore.RecordedEvent {
		m := f.raw(seq)
		e, err := eventstore.Decode(m.Sequence, m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	var te *eventstore.TamperError
	inOrder := f.verifier.Chains(0)
	if use, err := inOrder.Check(t.Context(), decode(res.LastSeq)); !use || err != nil {
		t.Fatalf("the appended event: use=%v, %v", use, err)
	}
	if _, err := inOrder.Check(t.Context(), decode(copySeq)); !errors.As(err, &te) || te.Seq != copySeq {
		t.Fatalf("the copy after the original: %v; want it refused", err)
	}
	fresh := f.verifier.Chains(0) // a reader that starts at the copy
	if _, err := fresh.Check(t.Context(), decode(copySeq)); !errors.As(err, &te) || te.Seq != copySeq {
		t.Fatalf("the copy, to a reader that has not seen the original: %v; want it refused", err)
	}
}
