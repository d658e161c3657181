package deployersvc_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/natsx/natstest"
	"github.com/penguinmails/floe/libs/service"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
)

var (
	buildOnce sync.Once
	bins      = map[string]string{}
	buildErr  error
)

// binaries builds the deployer and the demo app once per test run.
func binaries(t *testing.T) (deployer, demoapp string) {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "floe-deployer-bins-")
		if err != nil {
			buildErr = err
			return
		}
		for name, spec := range map[string][2]string{
			"deployer": {"..", "./cmd/deployer"},
			"demoapp":  {"../../../tools", "./demoapp"},
		} {
			out := filepath.Join(dir, name)
			cmd := exec.Command("go", "build", "-o", out, spec[1])
			cmd.Dir = spec[0]
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", name, err, b)
				return
			}
			bins[name] = out
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bins["deployer"], bins["demoapp"]
}

func freePort(t *testing.T) string {
	t.Helper()
	handedMu.Lock()
	defer handedMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		// The kernel may give a port it gave (and that was closed) again:
		// never hand one out twice in this test binary.
		if !handed[addr] {
			handed[addr] = true
			return addr
		}
	}
}

var (
	handedMu sync.Mutex
	handed   = map[string]bool{}
)

// deployerProcess runs the deployer binary against a NATS server.
type deployerProcess struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{} // closed when the process has exited
}

func startDeployer(t *testing.T, bin, natsURL, dir string) *deployerProcess {
	t.Helper()
	p := &deployerProcess{done: make(chan struct{})}
	p.cmd = exec.Command(bin, "--nats-url", natsURL, "--tokens-file", filepath.Join(dir, "tokens.yaml"),
		"--signing-key", filepath.Join(dir, "keys", "deployer.key"), "--trust-store", filepath.Join(dir, "keys", service.TrustFileName),
		"--deployer-config", filepath.Join(dir, "deployer.yaml"), "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--log-format", "json")
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			out := p.stderr.String()
			if len(out) > 6000 {
				out = out[len(out)-6000:]
			}
			t.Logf("deployer stderr (tail):\n%s", out)
		}
	})
	return p
}

type logReader struct {
	t  *testing.T
	js jetstream.JetStream
}

// events returns the deployment's events, decoded.
func (l logReader) events(id string) []*eventstore.RecordedEvent {
	l.t.Helper()
	var out []*eventstore.RecordedEvent
	err := eventstore.ReadDirect(context.Background(), l.js, eventstore.DefaultStream, eventstore.AggregateSubject("deployment", id), 1, 0,
		func(e *eventstore.RecordedEvent) (bool, error) { out = append(out, e); return true, nil })
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

func (l logReader) waitFor(id, name string, timeout time.Duration) []*eventstore.RecordedEvent {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs := l.events(id)
		for _, e := range evs {
			if e.Name == name {
				return evs
			}
			if e.Name == "DeploymentFailed" || e.Name == "RolledBack" {
				l.t.Fatalf("deployment %s ended with %s while waiting for %s", id, e.Name, name)
			}
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("no %s for %s within %s; events: %v", name, id, timeout, names(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// names is a deployment's history for a failure message: each event's
// name, and the reason of those that carry one (a rollback, a failure), so
// that a test that stops on an unexpected rollback says why it happened.
func names(evs []*eventstore.RecordedEvent) []string {
	var out []string
	for _, e := range evs {
		name := e.Name
		if m, err := e.Decode(); err == nil {
			if r, ok := m.(interface{ GetReason() string }); ok && r.GetReason() != "" {
				name += fmt.Sprintf("(%q)", r.GetReason())
			}
		}
		out = append(out, name)
	}
	return out
}

func promote(t *testing.T, store *eventstore.JetStreamStore, releaseID, version, strategy string) {
	t.Helper()
	ctx := causal.With(context.Background(), causal.Origin{Actor: "bob"})
	_, err := store.Append(ctx, "release", releaseID, eventstore.NoStream, eventstore.Meta{Actor: "bob"}, eventstore.Event{Message: &releasev1.PromotionRequested{
		ReleaseId: releaseID, Product: "demo", Version: version, Environment: "production", Strategy: strategy, RequestedBy: "bob", Attempt: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeployerKilledMidCanaryResumes: a real deployer process is SIGKILLed
// during a canary pause; a new process finishes the same deployment, and
// the log shows every step started and completed exactly once, in order,
// with the pause keeping its full length across the restart.
func TestDeployerKilledMidCanaryResumes(t *testing.T) {
	deployerBin, demoappBin := binaries(t)
	srv := natstest.Server(t)
	_, js := natstest.Connect(t, srv)
	dir := t.TempDir()
	tok, _ := auth.GenerateToken()
	tf := &auth.TokensFile{Principals: []auth.TokenEntry{{ID: "ops", TokenSHA256: auth.HashToken(tok), Roles: []auth.RoleBinding{{Role: auth.RoleOperations}}}}}
	body, _ := tf.Marshal()
	if err := os.WriteFile(filepath.Join(dir, "tokens.yaml"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := freePort(t)
	cfg := fmt.Sprintf(`app: demo
driver: local
local:
  command: [%q, "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"]
  proxies: {production: %q}
  start_timeout: 20s
strategies:
  production:
    canary:
      steps: ["setWeight 25", "pause 4s", "setWeight 50", "pause 2s"]
`, demoappBin, proxy)
	if err := os.WriteFile(filepath.Join(dir, "deployer.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The deployer's key and the test's own (it plays the release service), both trusted.
	keys, err := service.DevKeys(filepath.Join(dir, "keys"), map[string][]string{"deployer": deployersvc.Service.Aggregates, "release": {"release"}})
	if err != nil {
		t.Fatal(err)
	}
	releaseKey, _ := keys.Key("release")
	store, err := eventstore.Open(context.Background(), js, eventstore.Options{
		Source: service.Writer("release"), Aggregates: []string{"release"}, Signer: eventstore.NewSigner(service.Writer("release"), releaseKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := logReader{t, js}

	first := startDeployer(t, deployerBin, srv.ClientURL(), dir)
	promote(t, store, "r1", "1.0.0", "big-bang")
	logs.waitFor("r1-production-1", "DeploymentSucceeded", 60*time.Second)

	promote(t, store, "r2", "1.1.0", "canary")
	id := "r2-production-1"
	// Plan: 0 start, 1 check, 2 setWeight 25, 3 pause 4s, 4 setWeight 50, 5 pause 2s, 6 setWeight 100, 7 check, 8 stop previous.
	evs := logs.waitFor(id, "DeploymentStepStarted", 30*time.Second)
	for deadline := time.Now().Add(60 * time.Second); !hasStepStarted(evs, 3); {
		if time.Now().After(deadline) {
			t.Fatalf("the canary never reached its pause; events: %v", names(evs))
		}
		time.Sleep(20 * time.Millisecond)
		evs = logs.events(id)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	killedAt := time.Now()

	startDeployer(t, deployerBin, srv.ClientURL(), dir)
	evs = logs.waitFor(id, "DeploymentSucceeded", 90*time.Second)

	// Every step started once and completed once, in order: none repeated, none skipped.
	var starts, completes []uint32
	var pauseStarted, pauseCompleted time.Time
	for _, e := range evs {
		m, err := e.Decode()
		if err != nil {
			t.Fatal(err)
		}
		switch ev := m.(type) {
		case *deployv1.DeploymentStepStarted:
			starts = append(starts, ev.GetIndex())
			if ev.GetIndex() == 3 {
				pauseStarted = e.Time
			}
		case *deployv1.DeploymentStepCompleted:
			completes = append(completes, ev.GetIndex())
			if ev.GetIndex() == 3 {
				pauseCompleted = e.Time
			}
		}
	}
	want := []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8}
	if fmt.Sprint(starts) != fmt.Sprint(want) || fmt.Sprint(completes) != fmt.Sprint(want) {
		t.Errorf("steps started %v and completed %v; want each of %v exactly once, in order\nevents: %v", starts, completes, want, names(evs))
	}
	if d := pauseCompleted.Sub(pauseStarted); d < 4*time.Second {
		t.Errorf("the 4s pause lasted %s across the restart", d)
	}
	if pauseCompleted.Before(killedAt) {
		t.Errorf("pause completed before the kill: the test did not kill mid-pause")
	}
	// Traffic is on the new version, through the restarted proxy.
	for i := range 20 {
		resp, err := http.Get("http://" + proxy + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		if v := resp.Header.Get("X-Floe-Version"); v != "1.1.0" {
			t.Fatalf("request %d served by %q, want 1.1.0", i, v)
		}
	}
}

func hasStepStarted(evs []*eventstore.RecordedEvent, index uint32) bool {
	for _, e := range evs {
		if e.Name != "DeploymentStepStarted" {
			continue
		}
		var s deployv1.DeploymentStepStarted
		if e.DecodeInto(&s) == nil && s.GetIndex() == index {
			return true
		}
	}
	return false
}
