package app_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/penguinmails/floe/libs/eventstore/signtest"
	"github.com/penguinmails/floe/libs/lease"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/deployer/internal/adapters"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
	"github.com/penguinmails/floe/services/deployer/internal/driver/local"
)

// Two engines (two deployer instances) over one log share the production
// target through a lease: the one that holds it runs the deployment and
// the live version; a scale-up the other one handles is recorded there and
// applied by the owner; when the owner stops, the other takes the target
// over and brings the live version back, with its instances, on the same
// proxy address.
func TestTwoInstancesShareATarget(t *testing.T) {
	_, _, js := natstest.JetStream(t)
	store, verifier := signtest.Store(t, js, "floe/test", app.Aggregate, "release", "trigger", "monitoring")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	proxy := l.Addr().String()
	l.Close()
	const ttl = time.Second
	type instance struct {
		engine *app.Engine
		drv    *local.Driver
		stop   func()
	}
	start := func(owner string) *instance {
		ctx, cancel := context.WithCancel(context.Background())
		drv, err := local.New(local.Config{
			Command: []string{demoapp(t), "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"},
			Proxies: map[string]string{"production": proxy}, LazyProxies: true,
			Registerer: prometheus.NewRegistry(),
		})
		if err != nil {
			t.Fatal(err)
		}
		reg, err := adapters.OpenRegistry(ctx, js, 1)
		if err != nil {
			t.Fatal(err)
		}
		leases, err := lease.Open(ctx, js, lease.Options{Bucket: "leases", Owner: owner, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := app.NewEngine(store, nil, drv, reg, nil, nil, app.Config{App: "demo", CheckAttempts: 2,
			Configs: &adapters.Configs{Verifier: verifier}, Leases: leases}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = eng.Run(ctx); close(done) }()
		in := &instance{engine: eng, drv: drv}
		stopped := false
		in.stop = func() {
			if !stopped {
				stopped = true
				cancel()
				<-done
				_ = drv.Close(context.Background())
			}
		}
		t.Cleanup(in.stop)
		return in
	}
	a := start("a")
	// a starts the deployment (the promotion reaches it): it takes the target.
	r := &rig{engine: a.engine, store: store, js: js, proxy: proxy}
	id := r.promote(t, "r1", "1.0.0", domain.BigBang)
	r.waitFor(t, id, func(d *domain.Deployment) bool {
		return d.Status() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED
	}, "1.0.0 live")
	b := start("b")
	target := driver.Target{Environment: "production", App: "demo"}
	state := func(in *instance) driver.State {
		st, err := in.drv.State(context.Background(), target)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	time.Sleep(ttl) // b tries to claim a few times: a keeps the target
	if st := state(b); len(st.Running) != 0 {
		t.Fatalf("b runs %v in a target a owns", st.Running)
	}

	// The scale-up reaches b: b records it, a applies it.
	rb := &rig{engine: b.engine, store: store, js: js}
	rb.fireScaleUp(t, id, 1, monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP)
	if d, _ := b.engine.Load(context.Background(), id); d.Replicas() != 2 {
		t.Fatalf("b recorded %d replicas, want 2", d.Replicas())
	}
	testkit.EventuallyWithin(t, 10*time.Second, func() error {
		if st := state(a); st.Replicas["1.0.0"] != 2 {
			return fmt.Errorf("a runs %v, want 2 instances of 1.0.0", st.Replicas)
		}
		return nil
	})
	if st := state(b); len(st.Running) != 0 {
		t.Errorf("b ran %v for a scale-up of a's target", st.Running)
	}

	// a stops: b takes the target over, with the live version and its instances, on the same proxy.
	a.stop()
	testkit.EventuallyWithin(t, 10*ttl, func() error {
		if st := state(b); st.Replicas["1.0.0"] != 2 || st.Weights["1.0.0"] != 100 {
			return fmt.Errorf("b runs %+v", st)
		}
		return nil
	})
	if got := r.share(t, 20); got["1.0.0"] != 1 {
		t.Errorf("traffic through the proxy after the takeover: %v", got)
	}
}
