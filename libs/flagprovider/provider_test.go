package flagprovider_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/penguinmails/floe/libs/flageval"
	"github.com/penguinmails/floe/libs/flagprovider"
	"github.com/penguinmails/floe/libs/testkit"
)

func meta(pos int) map[string]any {
	return map[string]any{"floe.position": pos, "floe.environment": "production"}
}

func onOff() map[string]any {
	return map[string]any{"on": true, "off": false}
}

// flags is the test's flag set, one flag per situation.
func flags() map[string]any {
	return map[string]any{
		"bool-flag":   map[string]any{"state": "ENABLED", "variants": onOff(), "defaultVariant": "on", "metadata": meta(3)},
		"string-flag": map[string]any{"state": "ENABLED", "variants": map[string]any{"red": "#c00", "blue": "#00c"}, "defaultVariant": "red", "metadata": meta(5), "targeting": map[string]any{"if": []any{map[string]any{"ends_with": []any{map[string]any{"var": "email"}, "@penguinmails.com"}}, "blue", nil}}},
		"float-flag":  map[string]any{"state": "ENABLED", "variants": map[string]any{"low": 0.5, "high": 2.5}, "defaultVariant": "high", "metadata": meta(1)},
		"int-flag":    map[string]any{"state": "ENABLED", "variants": map[string]any{"ten": 10, "big": 1 << 53}, "defaultVariant": "ten", "metadata": meta(2), "targeting": map[string]any{"if": []any{map[string]any{"==": []any{map[string]any{"var": "plan"}, "big"}}, "big", nil}}},
		"ratio-flag":  map[string]any{"state": "ENABLED", "variants": map[string]any{"half": 0.5}, "defaultVariant": "half", "metadata": meta(2)},
		"object-flag": map[string]any{"state": "ENABLED", "variants": map[string]any{"a": map[string]any{"size": 3, "tags": []any{"x"}}}, "defaultVariant": "a", "metadata": meta(4)},
		"killed":      map[string]any{"state": "DISABLED", "variants": onOff(), "defaultVariant": "on", "metadata": meta(6)},
		"no-default":  map[string]any{"state": "ENABLED", "variants": onOff(), "metadata": meta(2), "targeting": map[string]any{"if": []any{map[string]any{"==": []any{map[string]any{"var": "plan"}, "pro"}}, "on", nil}}},
		"split":       map[string]any{"state": "ENABLED", "variants": map[string]any{"a": "a", "b": "b", "c": "c"}, "defaultVariant": "a", "metadata": meta(2), "targeting": map[string]any{"fractional": []any{[]any{"a", 50}, []any{"b", 30}, []any{"c", 20}}}},
		"bad-rule":    map[string]any{"state": "ENABLED", "variants": onOff(), "defaultVariant": "off", "metadata": meta(2), "targeting": map[string]any{"if": []any{map[string]any{"<": []any{map[string]any{"+": []any{map[string]any{"var": "o"}, 1}}, 5}}, "on", "off"}}},
		"color-var":   map[string]any{"state": "ENABLED", "variants": map[string]any{"red": "red", "blue": "blue"}, "defaultVariant": "red", "metadata": meta(2), "targeting": map[string]any{"var": "color"}},
	}
}

func doc(t *testing.T, flags map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"flags": flags})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := flageval.Parse(b); err != nil {
		t.Fatalf("the test's own flag set: %v", err)
	}
	return string(b)
}

func newProvider(t *testing.T, addr string, tweak func(*flagprovider.Options)) *flagprovider.Provider {
	t.Helper()
	o := flagprovider.Options{
		Target: addr, Environment: "production", Token: testToken, Insecure: true,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, ErrorGrace: 300 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&o)
	}
	p, err := flagprovider.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// events records the SDK's provider events by type.
type events struct {
	mu  sync.Mutex
	got map[openfeature.EventType][]openfeature.EventDetails
}

func record(api *openfeature.EvaluationAPI) *events {
	e := &events{got: map[openfeature.EventType][]openfeature.EventDetails{}}
	for _, typ := range []openfeature.EventType{openfeature.ProviderReady, openfeature.ProviderConfigChange, openfeature.ProviderStale, openfeature.ProviderError} {
		cb := func(d openfeature.EventDetails) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.got[typ] = append(e.got[typ], d)
		}
		api.AddHandler(typ, &cb)
	}
	return e
}

func (e *events) of(typ openfeature.EventType) []openfeature.EventDetails {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]openfeature.EventDetails(nil), e.got[typ]...)
}

// wait waits for an event of typ that satisfies ok (nil: any).
func (e *events) wait(t *testing.T, typ openfeature.EventType, ok func(openfeature.EventDetails) bool) openfeature.EventDetails {
	t.Helper()
	var found openfeature.EventDetails
	testkit.EventuallyWithin(t, 10*time.Second, func() error {
		for _, d := range e.of(typ) {
			if ok == nil || ok(d) {
				found = d
				return nil
			}
		}
		return fmt.Errorf("no matching %s event among %v", typ, e.of(typ))
	})
	return found
}

// client sets p as the provider of a new API instance and waits for it.
func client(t *testing.T, p *flagprovider.Provider) (*openfeature.Client, *events, error) {
	t.Helper()
	api := isolated.NewAPI()
	ev := record(api)
	err := api.SetProviderAndWait(ctxT(t), p)
	t.Cleanup(func() {
		if err := api.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return api.NewClient(), ev, err
}

func ready(t *testing.T, config string) (*syncServer, *flagprovider.Provider, *openfeature.Client, *events) {
	t.Helper()
	srv := newSyncServer(t, config)
	p := newProvider(t, srv.addr, nil)
	c, ev, err := client(t, p)
	if err != nil {
		t.Fatal(err)
	}
	return srv, p, c, ev
}

type outcome struct {
	Value     any
	Variant   string
	Reason    openfeature.Reason
	ErrorCode openfeature.ErrorCode
	Position  float64
	Err       bool
}

// Every kind of flag and every outcome through the SDK's client, as an
// application sees them.
func TestTypedEvaluations(t *testing.T) {
	t.Parallel()
	_, _, c, _ := ready(t, doc(t, flags()))
	ctx := ctxT(t)
	user := openfeature.NewEvaluationContext("user-1", map[string]any{"email": "erin@penguinmails.com"})
	anon := openfeature.NewEvaluationContext("", nil)
	pos := func(d openfeature.EvaluationDetails) float64 {
		f, _ := d.FlagMetadata.GetFloat(flagprovider.PositionKey)
		return f
	}
	tests := []struct {
		name string
		eval func() (any, openfeature.EvaluationDetails, error)
		want outcome
	}{
		{"bool static", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.BooleanValueDetails(ctx, "bool-flag", false, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: true, Variant: "on", Reason: openfeature.StaticReason, Position: 3}},
		{"string targeting match", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.StringValueDetails(ctx, "string-flag", "x", user)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: "#00c", Variant: "blue", Reason: openfeature.TargetingMatchReason, Position: 5}},
		{"string targeting null", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.StringValueDetails(ctx, "string-flag", "x", anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: "#c00", Variant: "red", Reason: openfeature.DefaultReason, Position: 5}},
		{"float", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.FloatValueDetails(ctx, "float-flag", 0, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: 2.5, Variant: "high", Reason: openfeature.StaticReason, Position: 1}},
		{"int", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.IntValueDetails(ctx, "int-flag", -1, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: int64(10), Variant: "ten", Reason: openfeature.DefaultReason, Position: 2}},
		{"int 2^53", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.IntValueDetails(ctx, "int-flag", -1, openfeature.NewEvaluationContext("u", map[string]any{"plan": "big"}))
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: int64(1 << 53), Variant: "big", Reason: openfeature.TargetingMatchReason, Position: 2}},
		{"int of a fraction", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.IntValueDetails(ctx, "ratio-flag", -1, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: int64(-1), Variant: "half", Reason: openfeature.ErrorReason, ErrorCode: openfeature.TypeMismatchCode, Position: 2, Err: true}},
		{"float of an int flag", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.FloatValueDetails(ctx, "int-flag", 0, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: 10.0, Variant: "ten", Reason: openfeature.DefaultReason, Position: 2}},
		{"object", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.ObjectValueDetails(ctx, "object-flag", nil, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: map[string]any{"size": 3.0, "tags": []any{"x"}}, Variant: "a", Reason: openfeature.StaticReason, Position: 4}},
		{"type mismatch", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.BooleanValueDetails(ctx, "string-flag", true, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: true, Variant: "red", Reason: openfeature.ErrorReason, ErrorCode: openfeature.TypeMismatchCode, Position: 5, Err: true}},
		{"object of a bool flag", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.ObjectValueDetails(ctx, "bool-flag", "dflt", anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: "dflt", Variant: "on", Reason: openfeature.ErrorReason, ErrorCode: openfeature.TypeMismatchCode, Position: 3, Err: true}},
		{"not found", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.BooleanValueDetails(ctx, "nope", true, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: true, Reason: openfeature.ErrorReason, ErrorCode: openfeature.FlagNotFoundCode, Err: true}},
		{"disabled", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.BooleanValueDetails(ctx, "killed", false, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: false, Reason: openfeature.DisabledReason, Position: 6}},
		{"no default variant", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.BooleanValueDetails(ctx, "no-default", true, anon)
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: true, Reason: openfeature.DefaultReason, Position: 2}},
		{"targeting fails", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.BooleanValueDetails(ctx, "bad-rule", true, openfeature.NewEvaluationContext("u", map[string]any{"o": map[string]any{"a": 1}}))
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: true, Reason: openfeature.ErrorReason, ErrorCode: openfeature.ParseErrorCode, Position: 2, Err: true}},
		{"targeting returns no variant", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.StringValueDetails(ctx, "color-var", "dflt", openfeature.NewEvaluationContext("u", map[string]any{"color": "purple"}))
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: "dflt", Reason: openfeature.ErrorReason, ErrorCode: openfeature.GeneralCode, Position: 2, Err: true}},
		{"context JSON cannot encode", func() (any, openfeature.EvaluationDetails, error) {
			d, err := c.StringValueDetails(ctx, "color-var", "dflt", openfeature.NewEvaluationContext("u", map[string]any{"color": math.NaN()}))
			return d.Value, d.EvaluationDetails, err
		}, outcome{Value: "dflt", Reason: openfeature.ErrorReason, ErrorCode: openfeature.GeneralCode, Position: 2, Err: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, d, err := tt.eval()
			got := outcome{Value: v, Variant: d.Variant, Reason: d.Reason, ErrorCode: d.ErrorCode, Position: pos(d), Err: err != nil}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if (err != nil) != (d.ErrorMessage != "") {
				t.Errorf("error %v with message %q", err, d.ErrorMessage)
			}
		})
	}

	// An object value is the caller's to modify.
	o := c.Object(ctx, "object-flag", nil, anon).(map[string]any)
	o["size"] = 99
	if again := c.Object(ctx, "object-flag", nil, anon).(map[string]any); again["size"] != 3.0 {
		t.Fatalf("the set was modified through a result: %v", again)
	}
}

// The provider through the SDK's global API, as most applications use it.
func TestDefaultClient(t *testing.T) {
	srv := newSyncServer(t, doc(t, flags()))
	p := newProvider(t, srv.addr, nil)
	if err := openfeature.SetProviderAndWait(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(openfeature.Shutdown)
	c := openfeature.NewDefaultClient()
	if got := c.Boolean(ctxT(t), "bool-flag", false, openfeature.EvaluationContext{}); !got {
		t.Fatal("bool-flag is off")
	}
	if got := openfeature.ProviderMetadata().Name; got != flagprovider.Name {
		t.Fatalf("provider name %q", got)
	}
	if got := srv.seenSelectors(); len(got) != 1 || got[0] != "production" {
		t.Fatalf("selectors %q", got)
	}
}

// fractional splits are bucketed exactly as the flag service's evaluator
// buckets them, and the flattened context's targetingKey is the targeting key.
func TestFractionalMatchesEvaluator(t *testing.T) {
	t.Parallel()
	config := doc(t, flags())
	_, _, c, _ := ready(t, config)
	set, err := flageval.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	counts := map[string]int{}
	for i := range 1000 {
		key := fmt.Sprintf("user-%d", i)
		want := set.Evaluate("split", flageval.Context{TargetingKey: key})
		got, err := c.StringValueDetails(ctx, "split", "?", openfeature.NewEvaluationContext(key, nil))
		if err != nil || got.Value != want.Value || got.Variant != want.Variant || string(got.Reason) != want.Reason {
			t.Fatalf("%s: got %v %v, evaluator %+v", key, got, err, want)
		}
		counts[got.Value]++
	}
	if counts["a"] < 430 || counts["a"] > 570 || counts["c"] < 140 || counts["c"] > 260 {
		t.Fatalf("a 50/30/20 split gave %v", counts)
	}
	// Without a targeting key flagd's fractional yields no variant: the default.
	if d, _ := c.StringValueDetails(ctx, "split", "?", openfeature.EvaluationContext{}); d.Value != "a" || d.Reason != openfeature.DefaultReason {
		t.Fatalf("no targeting key: %+v", d)
	}
}

// A change on the stream is applied and announced with the keys of the
// changed flags; the position follows the flags' floe.position.
func TestChangesEventsAndPosition(t *testing.T) {
	t.Parallel()
	fl := flags()
	srv, p, c, ev := ready(t, doc(t, fl))
	ctx := ctxT(t)
	if p.Position() != 6 {
		t.Fatalf("position %d, want 6", p.Position())
	}
	fl["bool-flag"].(map[string]any)["defaultVariant"] = "off"
	fl["bool-flag"].(map[string]any)["metadata"] = meta(7)
	delete(fl, "ratio-flag")
	fl["new-flag"] = map[string]any{"state": "ENABLED", "variants": onOff(), "defaultVariant": "on", "metadata": meta(8)}
	srv.set(doc(t, fl))
	if err := p.WaitPosition(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if c.Boolean(ctx, "bool-flag", true, openfeature.EvaluationContext{}) || !c.Boolean(ctx, "new-flag", false, openfeature.EvaluationContext{}) {
		t.Fatal("the change is not evaluated")
	}
	d := ev.wait(t, openfeature.ProviderConfigChange, nil)
	if diff := cmp.Diff([]string{"bool-flag", "new-flag", "ratio-flag"}, d.FlagChanges); diff != "" {
		t.Errorf("changed flags (-want +got)\n%s", diff)
	}
	if d.EventMetadata[flagprovider.PositionKey] != 8.0 || d.ProviderName != flagprovider.Name {
		t.Errorf("event %+v", d)
	}
	// A position not reached yet: WaitPosition gives up with the context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := p.WaitPosition(short, 9); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait for 9: %v", err)
	}
	if len(ev.of(openfeature.ProviderStale))+len(ev.of(openfeature.ProviderError)) != 0 {
		t.Fatalf("unexpected events: %v", ev.got)
	}
}

// The server goes away: the provider serves its last set (STALE, then
// ERROR after the grace period), reconnects to the server when it is back
// and applies what changed meanwhile (READY, CONFIGURATION_CHANGED).
func TestReconnect(t *testing.T) {
	t.Parallel()
	fl := flags()
	srv, p, c, ev := ready(t, doc(t, fl))
	ctx := ctxT(t)
	srv.stop()
	ev.wait(t, openfeature.ProviderStale, nil)
	if c.State() != openfeature.StaleState && c.State() != openfeature.ErrorState {
		t.Fatalf("state %s", c.State())
	}
	if !c.Boolean(ctx, "bool-flag", false, openfeature.EvaluationContext{}) {
		t.Fatal("the last set is not served while disconnected")
	}
	ev.wait(t, openfeature.ProviderError, nil)
	testkit.Eventually(t, func() error {
		if s := c.State(); s != openfeature.ErrorState {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	if got := c.String(ctx, "string-flag", "x", openfeature.EvaluationContext{}); got != "#c00" {
		t.Fatalf("in error, string-flag %q", got)
	}

	fl["string-flag"].(map[string]any)["defaultVariant"] = "blue"
	fl["string-flag"].(map[string]any)["metadata"] = meta(9)
	srv.set(doc(t, fl))
	srv.restart()
	if err := p.WaitPosition(ctx, 9); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, openfeature.ProviderReady, nil)
	ev.wait(t, openfeature.ProviderConfigChange, func(d openfeature.EventDetails) bool {
		return cmp.Equal(d.FlagChanges, []string{"string-flag"})
	})
	testkit.Eventually(t, func() error {
		if s := c.State(); s != openfeature.ReadyState {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	if got := c.String(ctx, "string-flag", "x", openfeature.EvaluationContext{}); got != "#00c" {
		t.Fatalf("after the reconnection, string-flag %q", got)
	}
}

// A set the provider cannot parse is refused: it keeps the last one and
// reports PROVIDER_ERROR until a good one arrives.
func TestRejectedSet(t *testing.T) {
	t.Parallel()
	fl := flags()
	srv, p, c, ev := ready(t, doc(t, fl))
	ctx := ctxT(t)
	srv.set(`{"flags": {"x": {"state": "ENABLED", "variants": {"a": true}, "defaultVariant": "b"}}}`)
	e := ev.wait(t, openfeature.ProviderError, nil)
	if !strings.Contains(e.Message, "flags.x.defaultVariant") {
		t.Errorf("error event %q", e.Message)
	}
	if !c.Boolean(ctx, "bool-flag", false, openfeature.EvaluationContext{}) || p.Position() != 6 {
		t.Fatal("the last good set is not served")
	}
	fl["bool-flag"].(map[string]any)["metadata"] = meta(10)
	srv.set(doc(t, fl))
	if err := p.WaitPosition(ctx, 10); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, openfeature.ProviderReady, nil)
}

// A refusal at start is fatal; an unreachable server is an init error
// after which the provider keeps trying and becomes ready.
func TestInit(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		srv := newSyncServer(t, doc(t, flags()))
		p := newProvider(t, srv.addr, func(o *flagprovider.Options) { o.Token = "wrong" })
		c, _, err := client(t, p)
		var initErr *openfeature.ProviderInitError
		if !errors.As(err, &initErr) || initErr.ErrorCode != openfeature.ProviderFatalCode || !strings.Contains(err.Error(), "Unauthenticated") {
			t.Fatalf("init: %v", err)
		}
		if c.State() != openfeature.FatalState {
			t.Fatalf("state %s", c.State())
		}
	})
	t.Run("late server", func(t *testing.T) {
		t.Parallel()
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		p := newProvider(t, addr, func(o *flagprovider.Options) { o.InitTimeout = 200 * time.Millisecond })
		api := isolated.NewAPI()
		ev := record(api)
		t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
		err = api.SetProviderAndWait(ctxT(t), p)
		if err == nil || !strings.Contains(err.Error(), "init timeout") {
			t.Fatalf("init: %v", err)
		}
		c := api.NewClient()
		if c.State() != openfeature.ErrorState {
			t.Fatalf("state %s", c.State())
		}
		srv := &syncServer{t: t, config: doc(t, flags()), changed: make(chan struct{})}
		srv.start(addr)
		t.Cleanup(srv.stop)
		ev.wait(t, openfeature.ProviderReady, func(d openfeature.EventDetails) bool { return d.ProviderName == flagprovider.Name })
		testkit.Eventually(t, func() error {
			if s := c.State(); s != openfeature.ReadyState {
				return fmt.Errorf("state %s", s)
			}
			return nil
		})
		if !c.Boolean(ctxT(t), "bool-flag", false, openfeature.EvaluationContext{}) {
			t.Fatal("bool-flag is off")
		}
	})
}

// Shutdown stops the stream; the provider can be initialised again.
func TestShutdownAndInitAgain(t *testing.T) {
	t.Parallel()
	srv := newSyncServer(t, doc(t, flags()))
	p := newProvider(t, srv.addr, nil)
	for range 2 {
		if err := p.InitWithContext(ctxT(t), openfeature.EvaluationContext{}); err != nil {
			t.Fatal(err)
		}
		if err := p.ShutdownWithContext(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.seenSelectors()); got != 2 {
		t.Fatalf("%d streams, want 2", got)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts flagprovider.Options
		want string
	}{
		{"no target", flagprovider.Options{Environment: "production"}, "Target"},
		{"no environment", flagprovider.Options{Target: "x:1"}, "Environment is required"},
		{"selector syntax", flagprovider.Options{Target: "x:1", Environment: "production;token=x"}, "not an environment name"},
		{"negative", flagprovider.Options{Target: "x:1", Environment: "p", MinBackoff: -1}, "negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := flagprovider.New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// Evaluations run while sets are swapped (for the race detector).
func TestConcurrentEvaluationsAndChanges(t *testing.T) {
	t.Parallel()
	fl := flags()
	srv, p, c, _ := ready(t, doc(t, fl))
	ctx := ctxT(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = c.String(ctx, "split", "?", openfeature.NewEvaluationContext("u", nil))
				_ = c.Object(ctx, "object-flag", nil, openfeature.EvaluationContext{})
				_ = p.Position()
			}
		})
	}
	for i := range 50 {
		fl["bool-flag"].(map[string]any)["metadata"] = meta(100 + i)
		srv.set(doc(t, fl))
	}
	if err := p.WaitPosition(ctx, 149); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
}

// Without Floe's positions (any flagd sync server), changed flags are told
// apart by their definitions; a change of $evaluators concerns every flag.
func TestChangesWithoutPositions(t *testing.T) {
	t.Parallel()
	plain := func(def string) map[string]any {
		return map[string]any{"state": "ENABLED", "variants": onOff(), "defaultVariant": def}
	}
	fl := map[string]any{"a": plain("on"), "b": plain("on"), "c": plain("off")}
	srv, p, c, ev := ready(t, doc(t, fl))
	ctx := ctxT(t)
	fl["b"] = plain("off")
	srv.set(doc(t, fl))
	testkit.Eventually(t, func() error {
		if c.Boolean(ctx, "b", true, openfeature.EvaluationContext{}) {
			return errors.New("b is still on")
		}
		return nil
	})
	d := ev.wait(t, openfeature.ProviderConfigChange, nil)
	if diff := cmp.Diff([]string{"b"}, d.FlagChanges); diff != "" || p.Position() != 0 {
		t.Fatalf("position %d, changed flags (-want +got)\n%s", p.Position(), diff)
	}
	withEvaluators := func(domain string) string {
		return strings.Replace(doc(t, fl), `{"flags"`, `{"$evaluators": {"staff": {"ends_with": [{"var": "email"}, "`+domain+`"]}}, "flags"`, 1)
	}
	srv.set(withEvaluators("@a.com"))
	srv.set(withEvaluators("@b.com"))
	ev.wait(t, openfeature.ProviderConfigChange, func(d openfeature.EventDetails) bool {
		return cmp.Equal(d.FlagChanges, []string{"a", "b", "c"})
	})
}
