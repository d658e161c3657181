package adapters_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/services/deployer/internal/adapters"
)

// TestRegistryLive: live versions are kept per app and environment, read
// per app (an app whose name starts another's included) or all at once,
// and a version set to "" is gone.
func TestRegistryLive(t *testing.T) {
	_, _, js := natstest.JetStream(t)
	ctx := context.Background()
	reg, err := adapters.OpenRegistry(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	all, err := reg.LiveAll(ctx)
	if err != nil || len(all) != 0 {
		t.Fatalf("empty registry: %v, %v", all, err)
	}
	for _, s := range [][3]string{{"mail", "production", "1.1.0"}, {"mail", "staging", "1.2.0"}, {"mail-eu", "production", "7.0.0"},
		{"billing", "production", "3.0.0"}, {"billing", "production", "3.1.0"}, {"billing", "staging", "3.1.0"}} {
		if err := reg.SetLive(ctx, s[0], s[1], s[2]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Lock(ctx, "mail", "production", "d1"); err != nil { // locks are not live versions
		t.Fatal(err)
	}
	if err := reg.SetLive(ctx, "billing", "staging", ""); err != nil {
		t.Fatal(err)
	}
	mail, err := reg.Live(ctx, "mail")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"production": "1.1.0", "staging": "1.2.0"}, mail); diff != "" {
		t.Errorf("Live(mail) (-want +got):\n%s", diff)
	}
	all, err = reg.LiveAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{"mail": {"production": "1.1.0", "staging": "1.2.0"}, "mail-eu": {"production": "7.0.0"}, "billing": {"production": "3.1.0"}}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("LiveAll (-want +got):\n%s", diff)
	}
	if none, err := reg.Live(ctx, "nothing"); err != nil || len(none) != 0 {
		t.Errorf("Live of an app with nothing live: %v, %v", none, err)
	}
}
