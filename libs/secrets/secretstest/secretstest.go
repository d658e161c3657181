// Package secretstest is the conformance suite of secrets.Provider: every
// implementation (the built-in natsstore, vault) runs Run, so both backends
// behave the same behind the port: several live versions, latest-live
// reads, destroy as revocation, NotFound and InvalidArgument errors that
// never hold a value.
package secretstest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/leakcheck"
)

// Run runs the suite. newProvider returns a provider with no secrets (a
// fresh one per call, or one whose secrets the suite's random names keep apart).
func Run(t *testing.T, newProvider func(t *testing.T) secrets.Provider) {
	t.Run("put and get versions", func(t *testing.T) {
		t.Parallel()
		p, ctx := newProvider(t), ctxOf(t)
		name := uniqueName(t, "db/password")
		v1, v2 := leakcheck.Canary(), leakcheck.Canary()
		before := time.Now().Add(-time.Minute)
		got1 := put(t, p, name, v1)
		got2 := put(t, p, name, v2)
		if got1.Name != name || got1.Number == 0 || got2.Number <= got1.Number {
			t.Fatalf("versions %+v then %+v: want the name and increasing numbers", got1, got2)
		}
		for _, v := range []secrets.Version{got1, got2} {
			if v.KeyID == "" || v.CreatedAt.Before(before) {
				t.Errorf("version %+v: want a key id and a creation time", v)
			}
		}
		wantValue(t, p, name, got1.Number, v1) // the old version stays valid (rotation grace)
		wantValue(t, p, name, got2.Number, v2)
		wantValue(t, p, name, 0, v2) // 0 is the latest
		vs, err := p.Versions(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 2 || vs[0].Number != got1.Number || vs[1].Number != got2.Number {
			t.Fatalf("Versions = %+v, want %d and %d", vs, got1.Number, got2.Number)
		}
		if vs[0].Digest != got1.Digest || vs[1].KeyID != got2.KeyID {
			t.Errorf("Versions = %+v, want what Put returned (%+v, %+v)", vs, got1, got2)
		}
	})

	t.Run("destroy revokes one version", func(t *testing.T) {
		t.Parallel()
		p, ctx := newProvider(t), ctxOf(t)
		name := uniqueName(t, "api-key")
		old, cur := leakcheck.Canary(), leakcheck.Canary()
		v1, v2 := put(t, p, name, old), put(t, p, name, cur)

		if err := p.Destroy(ctx, name, v2.Number); err != nil {
			t.Fatalf("Destroy: %v", err)
		}
		wantNotFound(t, "Get destroyed", errOf(p.Get(ctx, name, v2.Number)), old, cur)
		wantValue(t, p, name, 0, old) // the latest live is the older one now
		vs, err := p.Versions(ctx, name)
		if err != nil || len(vs) != 1 || vs[0].Number != v1.Number {
			t.Fatalf("Versions after destroy = %+v, %v; want only %d", vs, err, v1.Number)
		}
		wantNotFound(t, "Destroy twice", p.Destroy(ctx, name, v2.Number), old, cur)

		// A new version never reuses a destroyed number.
		v3 := put(t, p, name, cur)
		if v3.Number <= v2.Number {
			t.Errorf("Put after destroying %d = %d, want a greater number", v2.Number, v3.Number)
		}
		for _, n := range []uint64{v1.Number, v3.Number} {
			if err := p.Destroy(ctx, name, n); err != nil {
				t.Fatalf("Destroy %d: %v", n, err)
			}
		}
		wantNotFound(t, "Get latest of all destroyed", errOf(p.Get(ctx, name, 0)), old, cur)
		_, err = p.Versions(ctx, name)
		wantNotFound(t, "Versions of all destroyed", err, old, cur)
	})

	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		p, ctx := newProvider(t), ctxOf(t)
		name := uniqueName(t, "never-written")
		wantNotFound(t, "Get", errOf(p.Get(ctx, name, 0)))
		wantNotFound(t, "Get version", errOf(p.Get(ctx, name, 7)))
		_, err := p.Versions(ctx, name)
		wantNotFound(t, "Versions", err)
		wantNotFound(t, "Destroy", p.Destroy(ctx, name, 1))
		put(t, p, name, leakcheck.Canary())
		wantNotFound(t, "Get a version not written", errOf(p.Get(ctx, name, 99)))
		wantNotFound(t, "Destroy a version not written", p.Destroy(ctx, name, 99))
	})

	t.Run("names are kept apart", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t)
		base := uniqueName(t, "svc")
		names := []string{base, base + ".x", base + "/x", base + "-x", base + "_x", base + "/x.y", base + ".x/y"}
		values := map[string]string{}
		for _, n := range names {
			values[n] = leakcheck.Canary()
			put(t, p, n, values[n])
		}
		for _, n := range names {
			wantValue(t, p, n, 0, values[n])
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		t.Parallel()
		p, ctx := newProvider(t), ctxOf(t)
		canary := leakcheck.Canary()
		for _, name := range []string{"", "Upper", "a b", "a..b/../c", "/abs", "trailing/", "a//b", "a*", "a>", "é", "a\x00b", strings.Repeat("a", secrets.MaxNameLen+1)} {
			_, err := p.Put(ctx, name, secrets.NewValueString(canary))
			wantInvalid(t, fmt.Sprintf("Put(%q)", name), err, canary)
			wantInvalid(t, fmt.Sprintf("Get(%q)", name), errOf(p.Get(ctx, name, 0)), canary)
			_, err = p.Versions(ctx, name)
			wantInvalid(t, fmt.Sprintf("Versions(%q)", name), err, canary)
			wantInvalid(t, fmt.Sprintf("Destroy(%q)", name), p.Destroy(ctx, name, 1), canary)
		}
		_, err := p.Put(ctx, uniqueName(t, "empty"), secrets.Value{})
		wantInvalid(t, "Put of an empty value", err)
		wantInvalid(t, "Destroy version 0", p.Destroy(ctx, uniqueName(t, "zero"), 0))
	})

	t.Run("concurrent puts get distinct versions", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t)
		name := uniqueName(t, "busy")
		const n = 8
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen = map[uint64]string{}
		)
		for range n {
			wg.Go(func() {
				val := leakcheck.Canary()
				v, err := p.Put(ctxOf(t), name, secrets.NewValueString(val))
				if err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if _, dup := seen[v.Number]; dup {
					t.Errorf("version %d allocated twice", v.Number)
				}
				seen[v.Number] = val
			})
		}
		wg.Wait()
		for num, val := range seen {
			wantValue(t, p, name, num, val)
		}
	})
}

var seq struct {
	sync.Mutex
	n int
}

// uniqueName is a name no other subtest uses, so providers may be shared.
func uniqueName(t *testing.T, base string) string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("t%d-%d/%s", time.Now().UnixNano()%1e6, seq.n, base)
}

// ctxOf is a context for one call of the test, with a deadline so that a
// hung backend fails the test.
func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func errOf(_ secrets.Value, err error) error { return err }

func put(t *testing.T, p secrets.Provider, name, value string) secrets.Version {
	t.Helper()
	v, err := p.Put(ctxOf(t), name, secrets.NewValueString(value))
	if err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
	if leakcheck.FindString(fmt.Sprintf("%+v %#v", v, v), value) != nil {
		t.Fatalf("Put(%q) returned a Version holding the value", name)
	}
	return v
}

func wantValue(t *testing.T, p secrets.Provider, name string, version uint64, want string) {
	t.Helper()
	got, err := p.Get(ctxOf(t), name, version)
	if err != nil {
		t.Fatalf("Get(%q, %d): %v", name, version, err)
	}
	if string(got.Reveal()) != want {
		t.Fatalf("Get(%q, %d) returned another value", name, version) // never print values
	}
}

func noValues(t *testing.T, what string, err error, values []string) {
	t.Helper()
	for _, v := range values {
		if f := leakcheck.FindString(err.Error(), v); f != nil {
			t.Errorf("%s: the error holds the value (%v)", what, f)
		}
	}
}

func wantNotFound(t *testing.T, what string, err error, values ...string) {
	t.Helper()
	if !secrets.IsNotFound(err) {
		t.Errorf("%s: error %v, want a *errs.NotFoundError", what, err)
		return
	}
	noValues(t, what, err, values)
}

func wantInvalid(t *testing.T, what string, err error, values ...string) {
	t.Helper()
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Errorf("%s: error %v, want an *errs.InvalidArgumentError", what, err)
		return
	}
	noValues(t, what, err, values)
}
