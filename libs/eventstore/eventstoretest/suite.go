// Package eventstoretest is the conformance suite every eventstore.Store
// implementation must pass: durability across a restart, optimistic
// concurrency with exactly one winner, atomic multi-event appends, idempotent
// retries, per-aggregate and global order, replay = snapshot + tail = live
// state, immutability, tamper detection and typed errors for bad input.
//
// An implementation provides a Factory that builds a fresh Harness per test.
package eventstoretest

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
)

// Aggregates the suite writes; a Factory's store must accept them.
var Aggregates = []string{"order", "account"}

// Harness is one store under test with the hooks the suite needs.
type Harness struct {
	// Store is the store under test, accepting Aggregates.
	Store eventstore.Store
	// Reopen returns a second, independent Store on the same log (another
	// process), sharing no in-memory state with Store.
	Reopen func(t *testing.T) eventstore.Store
	// Restart stops the storage server and starts it again on the same data,
	// returning a Store connected to it (Store may be unusable afterwards).
	Restart func(t *testing.T) eventstore.Store
	// Checkpoint signs everything appended so far.
	Checkpoint func(t *testing.T)
	// PublicKey verifies the checkpoints.
	PublicKey ed25519.PublicKey
	// Source reads the log for audit.Verify.
	Source func(t *testing.T) audit.Source
	// Tampered copies the log (events and checkpoints) to a second store as an
	// attacker with disk access would, applying mutate to the events first. A
	// nil entry in mutate's result leaves a hole at that position.
	Tampered func(t *testing.T, mutate func([]*audit.RawEvent) []*audit.RawEvent) audit.Source
	// TryDelete, TryPurge and TryWeaken attempt to remove or expose events
	// through the storage server's own admin API; each must fail. TryWeaken
	// makes a configuration change the server may accept (e.g. adding an
	// age limit) and then opens a store: the open must refuse.
	TryDelete func(t *testing.T, seq uint64) error
	TryPurge  func(t *testing.T) error
	TryWeaken func(t *testing.T) error
}

// Factory builds a fresh, empty Harness for one test.
type Factory func(t *testing.T) *Harness

// Run runs the whole suite.
func Run(t *testing.T, factory Factory) {
	t.Run("AppendAndLoad", func(t *testing.T) { testAppendAndLoad(t, factory(t)) })
	t.Run("BadInputLeavesNothing", func(t *testing.T) { testBadInput(t, factory(t)) })
	t.Run("DurableAcrossRestart", func(t *testing.T) { testDurable(t, factory(t)) })
	t.Run("ExactlyOneWinner", func(t *testing.T) { testOneWinner(t, factory(t)) })
	t.Run("AtomicMultiEventAppend", func(t *testing.T) { testAtomic(t, factory(t)) })
	t.Run("IdempotentRetry", func(t *testing.T) { testIdempotent(t, factory(t)) })
	t.Run("Order", func(t *testing.T) { testOrder(t, factory(t)) })
	t.Run("ReplayEqualsSnapshotPlusTail", func(t *testing.T) { testReplay(t, factory(t)) })
	t.Run("Immutable", func(t *testing.T) { testImmutable(t, factory(t)) })
	t.Run("TamperDetection", func(t *testing.T) { testTamper(t, factory) })
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// meta is the metadata of the suite's appends.
var meta = eventstore.Meta{
	Actor: "tester", CorrelationID: "corr-1", CausationID: "cmd-1",
	TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceState: "vendor=x",
}
