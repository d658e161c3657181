package flagsvc_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/flageval"
	"github.com/penguinmails/floe/libs/flagprovider"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

// providerUsers are the principals of the provider's tests.
var providerUsers = map[string][]auth.RoleBinding{
	"alice":  testkit.Roles(auth.RoleDeveloper),  // flag.write
	"dave":   testkit.Roles(auth.RoleOperations), // flag.kill
	"reader": testkit.Roles(auth.RoleSupport),    // flag.read: the provider's token
	"stager": {{Role: auth.RoleSupport, Environments: []string{"staging"}}},
}

// startFlagService runs the flag service on an embedded NATS, as a binary would.
func startFlagService(tb testing.TB) *testkit.Process {
	tb.Helper()
	return testkit.Start(tb, testkit.Options{
		Users: providerUsers,
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(flagsvc.Service, flagsvc.Config{Options: flagsvc.Options{TickInterval: time.Second}})}
		},
	})
}

// floeProvider is a provider of production's flags reading as user.
func floeProvider(tb testing.TB, p *testkit.Process, user string) *flagprovider.Provider {
	tb.Helper()
	fp, err := flagprovider.New(flagprovider.Options{
		Target: p.Addr, Environment: "production", Token: p.Token(user), Insecure: true,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return fp
}

// sdkClient binds fp to a new OpenFeature API instance, waits for it and
// records the keys of each configuration change.
func sdkClient(tb testing.TB, fp *flagprovider.Provider) (*openfeature.Client, func() [][]string, error) {
	tb.Helper()
	api := isolated.NewAPI()
	var mu sync.Mutex
	var changes [][]string
	cb := func(d openfeature.EventDetails) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, d.FlagChanges)
	}
	api.AddHandler(openfeature.ProviderConfigChange, &cb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := api.SetProviderAndWait(ctx, fp)
	tb.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	return api.NewClient(), func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(changes)
	}, err
}

func boolFlag(key, defaultVariant string) *flagv1.Flag {
	return &flagv1.Flag{
		Environment: "production", Key: key, Description: "a flag the provider reads", Owner: "platform",
		Variants:       map[string]*structpb.Value{"on": structpb.NewBoolValue(true), "off": structpb.NewBoolValue(false)},
		DefaultVariant: defaultVariant,
	}
}

// writtenPosition is the floe-position header of a command's response.
func writtenPosition(tb testing.TB, md metadata.MD) uint64 {
	tb.Helper()
	v := md.Get(runtime.PositionHeader)
	if len(v) != 1 {
		tb.Fatalf("no %s header in %v", runtime.PositionHeader, md)
	}
	pos, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return pos
}

// The Go provider against the real flag service: it sees a flag created,
// updated, rolled out and killed, each at the log position the service
// reports for the change, evaluating as the service's own Evaluate does.
func TestGoProvider(t *testing.T) {
	p := startFlagService(t)
	ctx := testkit.Context(t)
	flags := flagv1.NewFlagServiceClient(p.Conn("alice"))

	// A token without flag.read in production is refused for good.
	if _, _, err := sdkClient(t, floeProvider(t, p, "stager")); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Fatalf("a provider without flag.read in production: %v", err)
	}

	fp := floeProvider(t, p, "reader")
	c, changes, err := sdkClient(t, fp)
	if err != nil {
		t.Fatal(err)
	}
	// No flags yet: the SDK's default, FLAG_NOT_FOUND.
	if d, err := c.BooleanValueDetails(ctx, "new-welcome", true, openfeature.EvaluationContext{}); err == nil || d.ErrorCode != openfeature.FlagNotFoundCode || !d.Value {
		t.Fatalf("before the flag exists: %+v %v", d, err)
	}

	var hdr metadata.MD
	created, err := flags.CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: boolFlag("new-welcome", "off"), Reason: "launch"}, grpc.Header(&hdr))
	if err != nil {
		t.Fatal(err)
	}
	pos := created.GetFlag().GetPosition()
	if hp := writtenPosition(t, hdr); hp != pos || pos == 0 {
		t.Fatalf("created at %d, header says %d", pos, hp)
	}
	if err := fp.WaitPosition(ctx, pos); err != nil {
		t.Fatal(err)
	}
	if fp.Position() != pos {
		t.Fatalf("provider at %d, the flag at %d", fp.Position(), pos)
	}
	d, err := c.BooleanValueDetails(ctx, "new-welcome", true, openfeature.EvaluationContext{})
	if mp, _ := d.FlagMetadata.GetFloat(flagprovider.PositionKey); err != nil || d.Value || d.Variant != "off" || d.Reason != openfeature.StaticReason || uint64(mp) != pos {
		t.Fatalf("after create: %+v %v", d, err)
	}

	// UpdateFlag: the new default variant.
	hdr = nil
	updated, err := flags.UpdateFlag(ctx, &flagv1.UpdateFlagRequest{Flag: boolFlag("new-welcome", "on"), Reason: "on for all", ExpectedPosition: pos}, grpc.Header(&hdr))
	if err != nil {
		t.Fatal(err)
	}
	pos = updated.GetFlag().GetPosition()
	if hp := writtenPosition(t, hdr); hp != pos {
		t.Fatalf("updated at %d, header says %d", pos, hp)
	}
	if err := fp.WaitPosition(ctx, pos); err != nil {
		t.Fatal(err)
	}
	if !c.Boolean(ctx, "new-welcome", false, openfeature.EvaluationContext{}) || fp.Position() != pos {
		t.Fatalf("after the update: position %d, want %d", fp.Position(), pos)
	}
	testkit.Eventually(t, func() error {
		for _, keys := range changes() {
			if slices.Equal(keys, []string{"new-welcome"}) {
				return nil
			}
		}
		return fmt.Errorf("configuration changes %v", changes())
	})

	// A 30% rollout: the provider buckets users as the service's Evaluate does.
	rolled, err := flags.SetRollout(ctx, &flagv1.SetRolloutRequest{Environment: "production", Key: "new-welcome", Reason: "canary",
		Rollout: &flagv1.Rollout{Variant: "on", Otherwise: "off", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: 30}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fp.WaitPosition(ctx, rolled.GetFlag().GetPosition()); err != nil {
		t.Fatal(err)
	}
	reader := flagv1.NewFlagServiceClient(p.Conn("reader"))
	on := 0
	for i := range 100 {
		user := fmt.Sprintf("user-%d", i)
		sc, _ := structpb.NewStruct(map[string]any{"targetingKey": user})
		remote, err := reader.Evaluate(ctx, &flagv1.EvaluateRequest{Environment: "production", Key: "new-welcome", Context: sc})
		if err != nil {
			t.Fatal(err)
		}
		local, err := c.BooleanValueDetails(ctx, "new-welcome", false, openfeature.NewEvaluationContext(user, nil))
		if err != nil || local.Value != remote.GetEvaluation().GetValue().GetBoolValue() || string(local.Reason) != remote.GetEvaluation().GetReason() {
			t.Fatalf("%s: provider %+v %v, service %v", user, local, err, remote.GetEvaluation())
		}
		if local.Value {
			on++
		}
	}
	if on < 15 || on > 45 {
		t.Fatalf("a 30%% rollout gave %d of 100", on)
	}

	// KillFlag: the next evaluation after the provider reaches the kill's
	// position is DISABLED, with the caller's default.
	killed, err := flagv1.NewFlagServiceClient(p.Conn("dave")).KillFlag(ctx, &flagv1.KillFlagRequest{Environment: "production", Key: "new-welcome", Reason: "INC-9"})
	if err != nil {
		t.Fatal(err)
	}
	pos = killed.GetFlag().GetPosition()
	if err := fp.WaitPosition(ctx, pos); err != nil {
		t.Fatal(err)
	}
	d, err = c.BooleanValueDetails(ctx, "new-welcome", false, openfeature.NewEvaluationContext("user-1", nil))
	if err != nil || d.Value || d.Reason != openfeature.DisabledReason || fp.Position() != pos {
		t.Fatalf("after the kill: %+v %v (position %d, want %d)", d, err, fp.Position(), pos)
	}
	if lp := p.LogPosition(t); fp.Position() != lp {
		t.Fatalf("provider at %d, the log at %d", fp.Position(), lp)
	}
}

// BenchmarkPropagation measures, for each UpdateFlag, the time from the
// call returning to the in-process provider having applied the flag set
// at the change's position (p50 and p99 over b.N changes; run with
// -benchtime 1000x), and from the call being made (call-p50/p99); %early
// is the share of changes the provider had applied before UpdateFlag
// returned (its latency then counts as 0). flags= is the size of the environment's set, which
// the sync stream sends whole after each change.
func BenchmarkPropagation(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("flags=%d", n), func(b *testing.B) {
			p := startFlagService(b)
			ctx := testkit.Context(b)
			flags := flagv1.NewFlagServiceClient(p.Conn("alice"))
			for i := 1; i < n; i++ {
				if _, err := flags.CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: boolFlag(fmt.Sprintf("other-%03d", i), "off"), Reason: "setup"}); err != nil {
					b.Fatal(err)
				}
			}
			created, err := flags.CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: boolFlag("bench", "off"), Reason: "setup"})
			if err != nil {
				b.Fatal(err)
			}
			fp := floeProvider(b, p, "reader")
			if _, _, err := sdkClient(b, fp); err != nil {
				b.Fatal(err)
			}
			if err := fp.WaitPosition(ctx, created.GetFlag().GetPosition()); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)  // from UpdateFlag returning
			call := make([]time.Duration, 0, b.N) // from UpdateFlag being called
			early := 0                            // applied before UpdateFlag returned
			variants := []string{"on", "off"}
			b.ResetTimer()
			for i := range b.N {
				called := time.Now()
				resp, err := flags.UpdateFlag(ctx, &flagv1.UpdateFlagRequest{Flag: boolFlag("bench", variants[i%2]), Reason: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				returned := time.Now()
				if fp.Position() >= resp.GetFlag().GetPosition() {
					early++
				}
				if err := fp.WaitPosition(ctx, resp.GetFlag().GetPosition()); err != nil {
					b.Fatal(err)
				}
				applied := time.Now()
				lat = append(lat, applied.Sub(returned))
				call = append(call, applied.Sub(called))
			}
			b.StopTimer()
			b.ReportMetric(quantileMS(lat, 0.50), "p50-ms")
			b.ReportMetric(quantileMS(lat, 0.99), "p99-ms")
			b.ReportMetric(quantileMS(lat, 1), "max-ms")
			b.ReportMetric(quantileMS(call, 0.50), "call-p50-ms")
			b.ReportMetric(quantileMS(call, 0.99), "call-p99-ms")
			b.ReportMetric(100*float64(early)/float64(b.N), "%early")
		})
	}
}

// quantileMS is the q-quantile of d (nearest rank) in milliseconds; it sorts d.
func quantileMS(d []time.Duration, q float64) float64 {
	slices.Sort(d)
	i := min(len(d)-1, max(0, int(math.Ceil(q*float64(len(d))))-1))
	return float64(d[i]) / float64(time.Millisecond)
}

// BenchmarkProviderEvaluate compares a static boolean flag evaluated by
// the evaluator directly, by the provider, and through the OpenFeature
// SDK's client (hooks, context merging, details), on the set the flag
// service sent; and a 50% rollout (fractional) through the client.
func BenchmarkProviderEvaluate(b *testing.B) {
	p := startFlagService(b)
	ctx := testkit.Context(b)
	flags := flagv1.NewFlagServiceClient(p.Conn("alice"))
	if _, err := flags.CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: boolFlag("static", "on"), Reason: "bench"}); err != nil {
		b.Fatal(err)
	}
	rollout := boolFlag("rollout", "off")
	rollout.Rollout = &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: 50}}}
	created, err := flags.CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: rollout, Reason: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	fp := floeProvider(b, p, "reader")
	c, _, err := sdkClient(b, fp)
	if err != nil {
		b.Fatal(err)
	}
	if err := fp.WaitPosition(ctx, created.GetFlag().GetPosition()); err != nil {
		b.Fatal(err)
	}
	exp, err := flagv1.NewFlagServiceClient(p.Conn("reader")).ExportFlagd(ctx, &flagv1.ExportFlagdRequest{Environment: "production"})
	if err != nil {
		b.Fatal(err)
	}
	set, err := flageval.Parse(exp.GetDefinition())
	if err != nil {
		b.Fatal(err)
	}
	empty := openfeature.EvaluationContext{}
	user := openfeature.NewEvaluationContext("user-1", nil)
	if !c.Boolean(ctx, "static", false, empty) || set.Evaluate("static", flageval.Context{}).Value != true {
		b.Fatal("static is not on")
	}
	b.Run("static/flageval", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = set.Evaluate("static", flageval.Context{})
		}
	})
	b.Run("static/provider", func(b *testing.B) {
		b.ReportAllocs()
		flat := openfeature.FlattenedContext{}
		for b.Loop() {
			_ = fp.BooleanEvaluation(ctx, "static", false, flat)
		}
	})
	b.Run("static/sdk-client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Boolean(ctx, "static", false, empty)
		}
	})
	b.Run("fractional/flageval", func(b *testing.B) {
		b.ReportAllocs()
		ec := flageval.Context{TargetingKey: "user-1"}
		for b.Loop() {
			_ = set.Evaluate("rollout", ec)
		}
	})
	b.Run("fractional/sdk-client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Boolean(ctx, "rollout", false, user)
		}
	})
}
