package flagprovider

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/penguinmails/floe/libs/flageval"
)

// Every error code the evaluator reports maps to the SDK's, including the
// two flagd's rules never produce.
func TestResolutionErrors(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]openfeature.ErrorCode{
		flageval.ErrFlagNotFound:        openfeature.FlagNotFoundCode,
		flageval.ErrParse:               openfeature.ParseErrorCode,
		flageval.ErrTypeMismatch:        openfeature.TypeMismatchCode,
		flageval.ErrTargetingKeyMissing: openfeature.TargetingKeyMissingCode,
		flageval.ErrInvalidContext:      openfeature.InvalidContextCode,
		flageval.ErrGeneral:             openfeature.GeneralCode,
		"SOMETHING_NEW":                 openfeature.GeneralCode,
	} {
		d := openfeature.ProviderResolutionDetail{ResolutionError: resolutionError(code, "why")}.ResolutionDetail()
		if d.ErrorCode != want || d.ErrorMessage != "why" {
			t.Errorf("%s: got %s %q, want %s", code, d.ErrorCode, d.ErrorMessage, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p, err := New(Options{Target: "x:1", Environment: "p", MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for n, limit := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		limit *= time.Millisecond
		for range 100 {
			if d := p.backoff(n); d < limit/2 || d > limit {
				t.Fatalf("attempt %d: %v not in [%v, %v]", n, d, limit/2, limit)
			}
		}
	}
	if d := p.backoff(1000); d < 500*time.Millisecond || d > time.Second {
		t.Fatalf("attempt 1000: %v", d)
	}
}

// Nobody reads: the queue keeps one merged configuration change and the
// latest state, in order.
func TestEventQueueBounded(t *testing.T) {
	t.Parallel()
	q := newEventQueue()
	ev := func(typ openfeature.EventType, keys ...string) openfeature.Event {
		return openfeature.Event{EventType: typ, ProviderEventDetails: openfeature.ProviderEventDetails{FlagChanges: keys}}
	}
	// The first event is taken by the delivery goroutine, which then
	// blocks on the channel.
	q.push(ev(openfeature.ProviderStale))
	time.Sleep(10 * time.Millisecond)
	for i := range 100 {
		q.push(ev(openfeature.ProviderConfigChange, "b", "a"))
		q.push(ev(openfeature.ProviderError))
		q.push(ev(openfeature.ProviderConfigChange, "c"))
		if i%2 == 0 {
			q.push(ev(openfeature.ProviderReady))
		}
	}
	var got []openfeature.Event
	for range 3 {
		got = append(got, <-q.out)
	}
	merged := ev(openfeature.ProviderConfigChange, "a", "b", "c")
	merged.EventMetadata = map[string]any{}
	want := []openfeature.Event{ev(openfeature.ProviderStale), merged, ev(openfeature.ProviderError)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
	select {
	case e := <-q.out:
		t.Fatalf("one more event: %+v", e)
	case <-time.After(20 * time.Millisecond):
	}
}

// BenchmarkApply is the provider's work per received set (parse, digest,
// position, swap) for a set of 100 flags like the flag service sends.
func BenchmarkApply(b *testing.B) {
	flags := map[string]any{}
	for i := range 100 {
		flags[fmt.Sprintf("flag-%03d", i)] = map[string]any{
			"state": "ENABLED", "variants": map[string]any{"on": true, "off": false}, "defaultVariant": "off",
			"targeting": map[string]any{"fractional": []any{[]any{"on", 30}, []any{"off", 70}}},
			"metadata":  map[string]any{"floe.position": i + 1, "floe.environment": "production"},
		}
	}
	doc, err := json.MarshalIndent(map[string]any{"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": flags}, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(Options{Target: "x:1", Environment: "p"})
	if err != nil {
		b.Fatal(err)
	}
	p.readyCh = make(chan struct{})
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.apply(string(doc)); err != nil {
			b.Fatal(err)
		}
	}
	if p.Position() != 100 {
		b.Fatalf("position %d", p.Position())
	}
}
