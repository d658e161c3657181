// Package signtest gives tests writer keys: a signer and a trust store that
// accepts it, so a test's store signs what it appends and its readers verify.
package signtest

import (
	"crypto/ed25519"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
)

// Signer returns a new key signing as writer for aggregates, and a trust store
// holding it (plus any others given).
func Signer(t testing.TB, writer string, aggregates []string, others ...eventstore.TrustedKey) (*eventstore.Signer, *eventstore.TrustStore) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := eventstore.NewSigner(writer, priv)
	trust, err := eventstore.NewTrust(append(others, s.Trusted(aggregates...))...)
	if err != nil {
		t.Fatal(err)
	}
	return s, trust
}

// Store opens a store on js writing as writer, signed, with its loads
// verified; it returns the store and the verifier (for views and subscriptions).
func Store(t testing.TB, js jetstream.JetStream, writer string, aggregates ...string) (*eventstore.JetStreamStore, *eventstore.Verifier) {
	t.Helper()
	signer, trust := Signer(t, writer, aggregates)
	v := eventstore.NewVerifier(js, eventstore.DefaultStream, trust)
	st, err := eventstore.Open(t.Context(), js, eventstore.Options{Source: writer, Aggregates: aggregates, Signer: signer, Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	return st, v
}
