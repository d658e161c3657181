package deployersvc_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
)

// TestTwoProductsDeployToProductionAtOnce: one deployer deploys two
// products — penguinmails to the app "mail", billing to a group of two apps
// (an API and a worker, each with its own driver and proxy) — and both
// products' canaries run in production at the same time, each holding its
// own target; a second deployment of the same product is still refused
// while its first is active, a product no app names is refused on the
// record, and each app ends up running its product's new version alone.
func TestTwoProductsDeployToProductionAtOnce(t *testing.T) {
	_, demoappBin := binaries(t)
	cmd := []string{demoappBin, "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"}
	proxies := map[string]string{"mail": freePort(t), "billing-api": freePort(t), "billing-worker": freePort(t)}
	app := func(name, product string) deployersvc.AppFile {
		a := deployersvc.AppFile{Name: name, Product: product, Driver: "local"}
		a.Local.Command, a.Local.StartTimeout = cmd, 20*time.Second
		a.Local.Proxies = map[string]string{"production": proxies[name]}
		return a
	}
	file := deployersvc.File{Apps: []deployersvc.AppFile{app("mail", "penguinmails"), app("billing-api", "billing"), app("billing-worker", "billing")}}
	var prod deployersvc.StrategyConfig
	prod.Canary.Steps = []string{"setWeight 25", "pause"} // until resumed: both are active at once
	file.Strategies = map[string]deployersvc.StrategyConfig{"production": prod}
	p := testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{"ops": testkit.Roles(auth.RoleOperations)},
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(deployersvc.Service, deployersvc.Config{Options: deployersvc.Options{Defaults: &file}})}
		},
		Writers: map[string][]string{"release": {"release"}},
	})
	_, js := natstest.Connect(t, p.NATS)
	release, logs := p.Store("release"), logReader{t, js}
	client := deployv1.NewDeployServiceClient(p.Conn("ops"))
	promote := func(product, rel, version, strategy string) string {
		t.Helper()
		ctx := causal.With(context.Background(), causal.Origin{Actor: "bob"})
		_, err := release.Append(ctx, "release", rel, eventstore.NoStream, eventstore.Meta{Actor: "bob"}, eventstore.Event{Message: &releasev1.PromotionRequested{
			ReleaseId: rel, Product: product, Version: version, Environment: "production", Strategy: strategy, RequestedBy: "bob", Attempt: 1}})
		if err != nil {
			t.Fatal(err)
		}
		return rel + "-production-1"
	}
	// served is the versions that answered n requests through an app's proxy.
	served := func(app string, n int) map[string]int {
		t.Helper()
		out := map[string]int{}
		for range n {
			resp, err := http.Get("http://" + proxies[app] + "/")
			if err != nil {
				t.Fatalf("%s: %v", app, err)
			}
			resp.Body.Close()
			out[resp.Header.Get("X-Floe-Version")]++
		}
		return out
	}

	// The first release of each.
	logs.waitFor(promote("penguinmails", "m1", "1.0.0", "big-bang"), "DeploymentSucceeded", 60*time.Second)
	logs.waitFor(promote("billing", "b1", "3.0.0", "big-bang"), "DeploymentSucceeded", 60*time.Second)
	for app, want := range map[string]string{"mail": "1.0.0", "billing-api": "3.0.0", "billing-worker": "3.0.0"} {
		if got := served(app, 5); got[want] != 5 {
			t.Fatalf("%s serves %v, want only %s", app, got, want)
		}
	}

	// Both products' canaries at once, each paused at 25 %.
	mail, billing := promote("penguinmails", "m2", "1.1.0", "canary"), promote("billing", "b2", "3.1.0", "canary")
	// Plan: 0 start, 1 check, 2 setWeight 25, 3 pause (until resumed).
	for _, id := range []string{mail, billing} {
		testkit.EventuallyWithin(t, 60*time.Second, func() error {
			if evs := logs.events(id); !hasStepStarted(evs, 3) {
				return fmt.Errorf("%s has not reached its pause: %v", id, names(evs))
			}
			return nil
		})
	}
	for id, want := range map[string]string{mail: "mail", billing: "billing"} {
		d, err := client.GetDeployment(testkit.Context(t), &deployv1.GetDeploymentRequest{DeploymentId: id})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.GetDeployment().GetApp(); got != want {
			t.Errorf("deployment %s is of app %q, want %q (billing's group takes the product's name)", id, got, want)
		}
	}
	// Every app splits its traffic between its product's two versions.
	for app, versions := range map[string][2]string{"mail": {"1.0.0", "1.1.0"}, "billing-api": {"3.0.0", "3.1.0"}, "billing-worker": {"3.0.0", "3.1.0"}} {
		got := served(app, 200)
		if got[versions[0]]+got[versions[1]] != 200 || got[versions[1]] < 20 || got[versions[1]] > 80 {
			t.Errorf("%s served %v during the canary; want about 25 %% of 200 on %s and the rest on %s", app, got, versions[1], versions[0])
		}
	}

	// One deployment per target: another penguinmails release waits its turn.
	busy := promote("penguinmails", "m3", "1.2.0", "big-bang")
	evs := logs.waitFor(busy, "DeploymentFailed", 30*time.Second)
	if reason := failedReason(t, evs); !strings.Contains(reason, mail) || !strings.Contains(reason, "mail") {
		t.Errorf("the busy target's refusal says %q; want it to name %s and the app", reason, mail)
	}
	// A product no app deploys.
	evs = logs.waitFor(promote("unknown", "u1", "0.1.0", "big-bang"), "DeploymentFailed", 30*time.Second)
	if reason := failedReason(t, evs); !strings.Contains(reason, `"unknown"`) || !strings.Contains(reason, "billing, mail") {
		t.Errorf("the refusal of an unknown product says %q; want it to name the product and the apps", reason)
	}
	// A configuration rollout must say which app.
	_, err := client.RolloutConfig(testkit.Context(t), &deployv1.RolloutConfigRequest{Environment: "production", Reason: "pool size"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "app") {
		t.Errorf("RolloutConfig without app: %v; want InvalidArgument naming app", err)
	}

	for _, id := range []string{mail, billing} {
		if _, err := client.Resume(testkit.Context(t), &deployv1.ResumeRequest{DeploymentId: id}); err != nil {
			t.Fatal(err)
		}
	}
	logs.waitFor(mail, "DeploymentSucceeded", 60*time.Second)
	logs.waitFor(billing, "DeploymentSucceeded", 60*time.Second)
	for app, want := range map[string]string{"mail": "1.1.0", "billing-api": "3.1.0", "billing-worker": "3.1.0"} {
		if got := served(app, 10); got[want] != 10 {
			t.Errorf("%s serves %v after its deployment, want only %s", app, got, want)
		}
	}
}

func failedReason(t *testing.T, evs []*eventstore.RecordedEvent) string {
	t.Helper()
	for _, e := range evs {
		var f deployv1.DeploymentFailed
		if e.Name == "DeploymentFailed" && e.DecodeInto(&f) == nil {
			return f.GetReason()
		}
	}
	t.Fatalf("no DeploymentFailed: %v", names(evs))
	return ""
}

// TestTargets: how a config's apps resolve, and what it refuses.
func TestTargets(t *testing.T) {
	a := func(name, product string) deployersvc.AppFile {
		return deployersvc.AppFile{Name: name, Product: product}
	}
	tg, err := deployersvc.File{App: "demo", Apps: []deployersvc.AppFile{a("mail", "penguinmails"), a("api", "billing"), a("worker", "billing")}}.Targets()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tg.Names(), " "); got != "billing demo mail" {
		t.Errorf("apps %q, want billing demo mail", got)
	}
	if tg.Default != "demo" || tg.Products["penguinmails"] != "mail" || tg.Products["billing"] != "billing" || len(tg.Apps["billing"]) != 2 {
		t.Errorf("resolved %+v", tg)
	}
	// Without apps, the top-level app (named "app" by default) takes every product.
	if tg, err := (deployersvc.File{}).Targets(); err != nil || tg.Default != "app" || len(tg.Products) != 0 {
		t.Errorf("no apps: %+v, %v", tg, err)
	}
	// With apps and no top-level app, an unnamed product has nowhere to go.
	if tg, err := (deployersvc.File{Apps: []deployersvc.AppFile{a("mail", "penguinmails")}}).Targets(); err != nil || tg.Default != "" {
		t.Errorf("apps only: %+v, %v", tg, err)
	}
	for name, c := range map[string]struct {
		file deployersvc.File
		want string
	}{
		"duplicate app":      {deployersvc.File{Apps: []deployersvc.AppFile{a("mail", "p"), a("mail", "q")}}, `apps[1].name: "mail" names another app too`},
		"the top-level app":  {deployersvc.File{App: "mail", Apps: []deployersvc.AppFile{a("mail", "p")}}, `apps[0].name: "mail" names another app too`},
		"no product":         {deployersvc.File{Apps: []deployersvc.AppFile{a("mail", "")}}, "apps[0].product: is required"},
		"bad name":           {deployersvc.File{Apps: []deployersvc.AppFile{a("mail.eu", "p")}}, "apps[0].name"},
		"bad product":        {deployersvc.File{Apps: []deployersvc.AppFile{a("mail", "p q")}}, "apps[0].product"},
		"group name taken":   {deployersvc.File{Apps: []deployersvc.AppFile{a("billing", "mail"), a("mail", "shop"), a("x", "mail")}}, "product mail deploys to 2 apps, whose group takes the product's name"},
		"group name default": {deployersvc.File{App: "shop", Apps: []deployersvc.AppFile{a("a", "shop"), a("b", "shop")}}, "product shop deploys to 2 apps"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.file.Targets()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want one saying %q", err, c.want)
			}
		})
	}
}
