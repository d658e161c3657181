package monitorsvc_test

// Regression tests: each failed against a defect its comment describes (what
// the service did then) and guards the fix.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/service"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
)

// TestListsWaitForTheCatalog (regression): right after a (re)start the list RPCs
// answer from the in-memory catalog before it has caught up with the log,
// so ListRollbackTriggers says OK with an empty or partial list while
// GetRollbackTrigger (which reads the log) finds the triggers. The gRPC
// server serves before the catalog is ready (ports/grpc.go ListAlertRules,
// ListRollbackTriggers, and ListAlerts through app.Service.Alerts).
func TestListsWaitForTheCatalog(t *testing.T) {
	e := startEnv(t, emptyRules())
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.client("ops").CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: queueTrigger(fmt.Sprintf("t%02d", i), 1)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	short := 0
	for range 10 {
		e.restart()
		if got := len(listTriggers(t, e)); got != n {
			short++
			t.Logf("first ListRollbackTriggers after a restart: %d triggers, want %d", got, n)
		}
	}
	if short > 0 {
		t.Errorf("%d of 10 restarts answered an incomplete list (OK status) before the catalog was ready", short)
	}
}

// TestSlowScrapeDoesNotBlockListAlerts (regression): Service.Tick holds the
// service mutex across the scrape of every target (HTTP, up to 10 s each),
// and Service.Alerts takes the same mutex, so ListAlerts waits for a slow
// target and, once the caller gives up, its handler stays blocked until the
// scrape ends (it ignores the context).
func TestSlowScrapeDoesNotBlockListAlerts(t *testing.T) {
	scraped := make(chan struct{}, 1)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case scraped <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	f := emptyRules()
	f.Embedded.Targets = []monitorsvc.Target{{URL: slow.URL}}
	e := startEnv(t, f)
	t.Cleanup(func() { close(release) }) // runs before the service stops
	// Wait until a scrape is in progress.
	select {
	case <-scraped:
	case <-time.After(20 * time.Second):
		t.Fatal("the target was never scraped")
	}
	ctx, cancel := context.WithTimeout(ctxT(t), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.client("sup").ListAlerts(ctx, &monitorv1.ListAlertsRequest{})
	if err != nil {
		t.Errorf("ListAlerts during a slow scrape: %v after %v; want an answer that does not wait for the scrape", status.Code(err), time.Since(start).Round(time.Millisecond))
	}
	if status.Code(err) != codes.OK && status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("unexpected error %v", err)
	}
}

// TestOpenWatchDoesNotDelayShutdown (regression): WatchAlerts returns only when its
// client goes away, and the runtime's graceful stop waits for in-flight RPCs
// (up to half the shutdown timeout, 10 s by default) before cutting them
// off, so one open `watch` stalls every shutdown of the monitor.
func TestOpenWatchDoesNotDelayShutdown(t *testing.T) {
	e := startEnv(t, emptyRules()) // ShutdownTimeout 5s: a stall is 2.5s
	e.watch("sup", "")
	start := time.Now()
	e.stop()
	// The defect held the stop for half the shutdown timeout (2.5 s here).
	if took := time.Since(start); took >= 2*time.Second {
		t.Errorf("shutdown with an open WatchAlerts took %v; want the stream ended promptly", took.Round(10*time.Millisecond))
	}
}

// TestFailedRegisterReleasesTSDB (regression): when Register fails after
// opening the embedded TSDB (here rt.Register refuses because the runtime is
// already listening), the TSDB stays open and locked: its close is an
// OnShutdown step of a runtime that will never run, so the same process
// cannot open the directory again.
func TestFailedRegisterReleasesTSDB(t *testing.T) {
	e := startEnv(t, emptyRules())
	e.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := zerolog.Nop()
	rt, err := runtime.New(ctx, runtime.Options{Service: "monitor", Logger: &log, Authenticator: auth.Chain{}, Config: runtime.Base{
		Environment: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json",
		ShutdownTimeout: 5 * time.Second, NATS: runtime.NATSConfig{URL: e.srv.ClientURL()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := natsx.Connect(ctx, natsx.Config{URL: e.srv.ClientURL(), Name: "monitor-failed-register"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := rt.Listen(); err != nil {
		t.Fatal(err)
	}
	keys, err := service.DevKeys(filepath.Join(e.dataDir, "keys"), service.Writers(entries(&e.file)()...))
	if err != nil {
		t.Fatal(err)
	}
	host := func(rt *runtime.Runtime) service.Host {
		return service.Host{Runtime: rt, NATS: conn, DataDir: e.dataDir, Keys: keys}
	}
	if _, err := service.Start(ctx, host(rt), entries(&e.file)()...); err == nil {
		t.Fatal("Register on a listening runtime succeeded; the test needs it to fail")
	}
	// A new monitor on the same data directory.
	log2 := zerolog.Nop()
	rt2, err := runtime.New(ctx, runtime.Options{Service: "monitor", Logger: &log2, Authenticator: auth.Chain{}, Config: rt.Config()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := service.Start(ctx, host(rt2), entries(&e.file)()...); err != nil {
		t.Fatalf("Register after a failed Register: %v", err)
	}
	stopped, stop := context.WithCancel(ctx)
	stop()
	if err := rt2.Run(stopped); err != nil { // starts and shuts down at once, closing its TSDB
		t.Error(err)
	}
}

// TestWatchAlertsRelaysOnlyStoredEvents (regression): WatchAlerts relayed a
// core NATS subscription, which also receives the events of an atomic batch
// the stream refuses. When two monitor replicas raced on a deployment, the
// loser's RollbackTriggered reached `floe deploy watch` although the log
// never held it.
func TestWatchAlertsRelaysOnlyStoredEvents(t *testing.T) {
	e := startEnv(t, emptyRules())
	w := e.watch("sup", "dep-9")
	ctx := ctxT(t)
	meta := eventstore.Meta{Actor: "system:monitor"}
	open := func() *eventstore.JetStreamStore { return e.Store("monitor") } // two monitor replicas
	winner, loser := open(), open()
	st, err := loser.Load(ctx, "monitoring", "dep-9", nil) // the loser caches version 0
	if err != nil {
		t.Fatal(err)
	}
	if _, err := winner.Append(ctx, "monitoring", "dep-9", st.Version, meta, eventstore.Event{Message: &monitorv1.MonitoringStarted{DeploymentId: "dep-9", Version: "1.0.0", Environment: "staging"}}); err != nil {
		t.Fatal(err)
	}
	phantom := &monitorv1.RollbackTriggered{DeploymentId: "dep-9", Trigger: "error_rate", Observed: 0.5}
	if _, err := loser.Append(ctx, "monitoring", "dep-9", st.Version, meta, eventstore.Event{Message: phantom}, eventstore.Event{Message: phantom}); err == nil {
		t.Fatal("the stale append was stored")
	}
	if _, err := winner.Append(ctx, "monitoring", "dep-9", 1, meta, eventstore.Event{Message: &monitorv1.MonitoringEnded{Outcome: "succeeded"}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"floe.monitor.v1.MonitoringStarted", "floe.monitor.v1.MonitoringEnded"} {
		if m := w.next(want, func(*monitorv1.WatchAlertsResponse) bool { return true }); m.GetEvent() != want {
			t.Fatalf("relayed %s (%q); want %s (seen %q)", m.GetEvent(), m.GetSummary(), want, w.seen)
		}
	}
}
