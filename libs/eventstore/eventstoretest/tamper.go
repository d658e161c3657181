package eventstoretest

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
)

// tamperLog writes 12 signed events over three aggregates, then 2 unsigned ones.
// Positions: 1 o1, 2 o2, 3 o3, 4 o1, 5 o2, 6 o3, ... (aggregate i%3).
func tamperLog(t *testing.T, h *Harness) {
	t.Helper()
	versions := map[string]eventstore.Version{}
	for i := range 14 {
		id := fmt.Sprintf("o%d", i%3+1)
		mustAppend(t, h, "order", id, versions[id], ev(fmt.Sprintf("event %d", i+1)))
		versions[id]++
		if i == 7 || i == 11 {
			h.Checkpoint(t) // two checkpoints: sizes 8 and 12
		}
	}
}

func clone(e *audit.RawEvent) *audit.RawEvent {
	c := *e
	c.Header = nats.Header{}
	for k, v := range e.Header {
		c.Header[k] = append([]string(nil), v...)
	}
	c.Data = append([]byte(nil), e.Data...)
	return &c
}

// rechain recomputes floe-prev-hash and floe-hash of every event from
// position `from` on, per aggregate, as an attacker who knows the format would.
func rechain(events []*audit.RawEvent) {
	last := map[string]string{}
	for _, e := range events {
		if e == nil {
			continue
		}
		agg, id, _, _ := eventstore.ParseSubject(e.Subject)
		key := agg + "." + id
		prev, ok := last[key]
		if !ok {
			prev = eventstore.GenesisHash
		}
		e.Header.Set(eventstore.HdrPrevHash, prev)
		e.Header.Set(eventstore.HdrHash, eventstore.ComputeHash(e.Subject, e.Header, e.Data))
		last[key] = e.Header.Get(eventstore.HdrHash)
	}
}

func renumber(events []*audit.RawEvent) []*audit.RawEvent {
	var out []*audit.RawEvent
	for _, e := range events {
		if e != nil {
			out = append(out, e)
		}
	}
	for i, e := range out {
		e.Seq = uint64(i + 1)
	}
	return out
}

func testTamper(t *testing.T, factory Factory) {
	h := factory(t)
	tamperLog(t, h)

	verify := func(t *testing.T, src audit.Source, pub ed25519.PublicKey) *audit.Report {
		t.Helper()
		rep, err := audit.Verify(ctxFor(t), src, pub, nil)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		return rep
	}

	t.Run("untouched log verifies", func(t *testing.T) {
		rep := verify(t, h.Source(t), h.PublicKey)
		if !rep.OK() || rep.Events != 14 || rep.Checkpoints != 2 || rep.SignedSize != 12 || rep.UnsignedEvents != 2 || rep.Aggregates != 3 {
			t.Errorf("report = %+v", rep)
		}
		// The copy mechanism itself must not create differences.
		rep = verify(t, h.Tampered(t, func(e []*audit.RawEvent) []*audit.RawEvent { return e }), h.PublicKey)
		if !rep.OK() {
			t.Errorf("an untouched copy reports problems: %v", rep.Problems)
		}
	})

	cases := []struct {
		name      string
		mutate    func([]*audit.RawEvent) []*audit.RawEvent
		firstBad  uint64
		firstKind string
	}{
		{name: "edited body", firstBad: 5, firstKind: audit.KindEdited, mutate: func(e []*audit.RawEvent) []*audit.RawEvent {
			e[4] = clone(e[4])
			e[4].Data = []byte(`"event 9"`) // same length as "event 5"
			return e
		}},
		{name: "edited actor header", firstBad: 7, firstKind: audit.KindEdited, mutate: func(e []*audit.RawEvent) []*audit.RawEvent {
			e[6] = clone(e[6])
			e[6].Header.Set(eventstore.HdrActor, "someone-else")
			return e
		}},
		{name: "edited with recomputed hash chains", firstBad: 5, firstKind: audit.KindRewritten, mutate: func(e []*audit.RawEvent) []*audit.RawEvent {
			for i := range e {
				e[i] = clone(e[i])
			}
			e[4].Data = []byte(`"event 5, amended"`)
			rechain(e)
			return e
		}},
		{name: "deleted leaving a hole", firstBad: 5, firstKind: audit.KindGap, mutate: func(e []*audit.RawEvent) []*audit.RawEvent {
			e[4] = nil
			return e
		}},
		{name: "deleted and renumbered", firstBad: 5, firstKind: audit.KindRewritten, mutate: func(e []*audit.RawEvent) []*audit.RawEvent {
			for i := range e {
				e[i] = clone(e[i])
			}
			e[4] = nil
			return renumber(e)
		}},
		{name: "reordered across aggregates", firstBad: 3, firstKind: audit.KindRewritten, mutate: func(e []*audit.RawEvent) []*audit.RawEvent {
			e[2], e[3] = clone(e[3]), clone(e[2])
			e[2].Seq, e[3].Seq = 3, 4
			return e
		}},
		{name: "reordered within an aggregate", firstBad: 4, firstKind: audit.KindChain, mutate: func(e []*audit.RawEvent) []*audit.RawEvent {
			e[3], e[6] = clone(e[6]), clone(e[3]) // o1 versions 2 and 3 swapped
			e[3].Seq, e[6].Seq = 4, 7
			return e
		}},
		{name: "truncated", firstBad: 10, firstKind: audit.KindTruncated, mutate: func(e []*audit.RawEvent) []*audit.RawEvent {
			return e[:9]
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := verify(t, h.Tampered(t, tc.mutate), h.PublicKey)
			bad := rep.FirstBadEvent()
			if bad == nil {
				t.Fatalf("tampering not detected: %+v", rep)
			}
			if bad.Seq != tc.firstBad || bad.Kind != tc.firstKind {
				t.Errorf("first bad event = %v; want position %d (%s)\nall problems: %v", bad, tc.firstBad, tc.firstKind, rep.Problems)
			}
		})
	}

	t.Run("untrusted key", func(t *testing.T) {
		other, _, _ := ed25519.GenerateKey(nil)
		rep := verify(t, h.Source(t), other)
		if rep.OK() || rep.Problems[0].Kind != audit.KindCheckpoint || rep.Checkpoints != 0 {
			t.Errorf("verification against another key = %+v", rep)
		}
	})
}
