//go:build load

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// TestClusterLoad runs LOAD_RELEASES (default 50) release journeys at once
// on the cluster — each its own product, deployed by two deployer
// instances that share the products' apps (an app per product, its own
// processes and proxy per environment) — with the faults of the chaos
// tests struck while they run: a NATS node killed (SIGKILL) once a quarter
// of the production canaries have started, a deployer instance killed once
// half have, and the whole cluster restarted after all are deployed. Every
// release reaches production, every step of every canary completed exactly
// once, the log verifies, and the figures (journey times, takeover of the
// killed deployer's targets, events written) are logged for
// docs/performance.md. `make load` runs it.
func TestClusterLoad(t *testing.T) {
	n := 50
	if s := os.Getenv("LOAD_RELEASES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 4 {
			t.Fatalf("LOAD_RELEASES %q: want a number ≥ 4", s)
		}
		n = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	dir := t.TempDir()
	envs, gates := journeyFiles(t, dir)
	var deployer strings.Builder
	deployer.WriteString(`leases: {ttl: 5s}
strategies:
  staging:
    canary: {steps: ["setWeight 50", "pause 2s"]}
  production:
    canary: {steps: ["setWeight 25", "pause 8s", "setWeight 50", "pause 2s"]}
apps:
`)
	products := make([]string, n)
	for i := range n {
		products[i] = fmt.Sprintf("p%02d", i+1)
		fmt.Fprintf(&deployer, "  - {name: %s, product: %s, driver: local, local: {command: [%q, demoapp, --listen, \"127.0.0.1:{{.Port}}\", --version, \"{{.Version}}\"], start_timeout: 2m}}\n",
			products[i], products[i], floeBinary(t))
	}
	deployerFile := writeFile(t, dir, "deployer.yaml", deployer.String())
	state := filepath.Join(dir, "cluster")
	instances := "release=2,gate=2,flag=2,change=2,deployer=2,monitor=2,audit=2,notifier=2"
	upArgs := []string{"--environments-file", envs, "--gates-file", gates, "--deployer-config", deployerFile, "--instances", instances}
	c := startCluster(t, ctx, state, upArgs...)
	api := newLoadClients(t, c)
	js := c.admin()
	rnd := chaosRand(t)

	type journey struct {
		product, id string
		created     time.Time
		deployed    map[string]time.Time
		err         error
	}
	journeys := make([]*journey, n)
	var prodStarted atomic.Int32
	faultAt := map[string]int32{"nats": int32(n / 4), "deployer": int32(n / 2)}
	prodPromoted := make(chan struct{}, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i, product := range products {
		j := &journey{product: product, deployed: map[string]time.Time{}}
		journeys[i] = j
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 100 * time.Millisecond) // spread the creations over the first seconds
			process := []string{"release", "release-2"}[i%2]
			gate := []string{"gate", "gate-2"}[i%2]
			j.err = func() error {
				j.created = time.Now()
				id, err := api.create(ctx, process, product)
				if err != nil {
					return fmt.Errorf("create: %w", err)
				}
				j.id = id
				if err := api.promote(ctx, process, id, "development", 0); err != nil {
					return err
				}
				if err := api.waitDeployed(ctx, process, id, "development"); err != nil {
					return err
				}
				j.deployed["development"] = time.Now()
				if out, err := c.cli(gate, "--as", "carol", "gate", "report", "--release", id, "--env", "development",
					"--gate", "Unit Tests", "--suite", "unit-tests", "--junit", reportFile("gotestsum-1.13.0-pass.xml")); err != nil {
					return fmt.Errorf("gate report: %v\n%s", err, out)
				}
				for _, env := range []string{"staging", "production"} {
					approver := map[string]string{"staging": "carol", "production": "dave"}[env]
					if err := api.approve(ctx, process, approver, id, env); err != nil {
						return err
					}
					// The gate's verdict, and the approval, reach the release service's views in their time.
					if err := api.promote(ctx, process, id, env, 3*time.Minute); err != nil {
						return err
					}
					if env == "production" {
						prodStarted.Add(1)
						prodPromoted <- struct{}{}
					}
					if err := api.waitDeployed(ctx, process, id, env); err != nil {
						return err
					}
					j.deployed[env] = time.Now()
				}
				return nil
			}()
		}()
	}

	// The faults, struck while the journeys run.
	type takeoverFigure struct {
		victim          string
		targets         int
		first, p50, max time.Duration
	}
	var natsVictim string
	var takeover takeoverFigure
	faults := make(chan error, 1)
	go func() {
		faults <- func() error {
			for range prodPromoted {
				switch prodStarted.Load() {
				case faultAt["nats"]:
					v := c.state.NATS[rnd.IntN(len(c.state.NATS))]
					kill(t, v.PID)
					natsVictim = v.Name
					t.Logf("%s: killed NATS node %s with %d of %d production canaries started", time.Since(start).Round(time.Second), v.Name, faultAt["nats"], n)
				case faultAt["deployer"]:
					// The instance holding the most targets (a promotion's
					// deployment is run, and its target taken, by the instance
					// its subscription delivered it to).
					var deployers []deployerProc
					for _, p := range c.state.Services {
						if p.Service == "deployer" {
							deployers = append(deployers, deployerProc{name: p.Name, pid: p.PID, grpc: p.GRPC})
						}
					}
					v, times, err := killBusiestDeployer(ctx, js, deployers)
					if err != nil {
						return fmt.Errorf("takeover of %s's targets: %w", v.name, err)
					}
					slices.Sort(times)
					takeover = takeoverFigure{victim: v.name, targets: len(times)}
					if len(times) > 0 {
						takeover.first, takeover.p50, takeover.max = times[0], times[len(times)/2], times[len(times)-1]
					}
					t.Logf("%s: killed deployer %s with %d of %d production canaries started: its %d targets taken over after %s (first) / %s (median) / %s (last)",
						time.Since(start).Round(time.Second), v.name, faultAt["deployer"], n, len(times), takeover.first.Round(100*time.Millisecond),
						takeover.p50.Round(100*time.Millisecond), takeover.max.Round(100*time.Millisecond))
				}
			}
			return nil
		}()
	}()
	wg.Wait()
	close(prodPromoted)
	if err := <-faults; err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var failed []string
	var total, toProd []time.Duration
	for _, j := range journeys {
		if j.err != nil {
			failed = append(failed, fmt.Sprintf("%s (%s): %v", j.product, j.id, j.err))
			continue
		}
		total = append(total, j.deployed["production"].Sub(j.created))
		toProd = append(toProd, j.deployed["production"].Sub(j.deployed["staging"]))
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d journeys failed:\n%s\n%s", len(failed), n, strings.Join(failed, "\n"), c.logs())
	}
	if natsVictim == "" || takeover.victim == "" {
		t.Fatalf("the faults were not struck (NATS node %q, deployer %q)", natsVictim, takeover.victim)
	}
	// Every step of every canary completed exactly once.
	for _, j := range journeys {
		for _, env := range []string{"staging", "production"} {
			c.stepsOnce(j.id+"-"+env+"-1", 4)
		}
	}
	events := streamMessages(t, ctx, js)
	pct := func(d []time.Duration, p int) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[min(len(s)-1, len(s)*p/100)].Round(100 * time.Millisecond)
	}
	t.Logf("%d journeys (create → development → gate → staging canary → production canary, 2 instances of every service) in %s; "+
		"create → production: p50 %s, p90 %s, max %s; staging → production: p50 %s, p90 %s; %d events in the log (%.0f per journey)",
		n, elapsed.Round(time.Second), pct(total, 50), pct(total, 90), pct(total, 100), pct(toProd, 50), pct(toProd, 90), events, float64(events)/float64(n))

	out, err := runCLI(t, ctx, c.env, "audit", "verify", "--nats-url", c.state.ReaderURL,
		"--public-key", filepath.Join(state, "keys", "audit-signing.key.pub"), "--trust-store", filepath.Join(state, "keys", "trust.json"))
	if err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("audit verify: %v\n%s%s", err, out, c.logs())
	}
	t.Logf("audit verify: %s", firstLine(out))

	// The whole cluster stops and starts again: every release is still deployed everywhere.
	c.stop()
	restartAt := time.Now()
	c = startCluster(t, ctx, state, upArgs...)
	t.Logf("the cluster restarted in %s", time.Since(restartAt).Round(100*time.Millisecond))
	api = newLoadClients(t, c)
	for _, j := range journeys {
		if err := api.waitDeployed(ctx, "release", j.id, "production"); err != nil {
			t.Errorf("after the restart: %v", err)
		}
	}
}

// loadClients are gRPC connections to the cluster's processes, with the
// development users' tokens (from the cluster's credentials file).
type loadClients struct {
	t      *testing.T
	c      *localCluster
	tokens map[string]string
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
}

func newLoadClients(t *testing.T, c *localCluster) *loadClients {
	t.Helper()
	data, err := os.ReadFile(c.state.Credentials)
	if err != nil {
		t.Fatal(err)
	}
	var creds struct {
		Users []struct {
			ID    string `yaml:"id"`
			Token string `yaml:"token"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(data, &creds); err != nil {
		t.Fatal(err)
	}
	l := &loadClients{t: t, c: c, tokens: map[string]string{}, conns: map[string]*grpc.ClientConn{}}
	for _, u := range creds.Users {
		l.tokens[u.ID] = u.Token
	}
	return l
}

func (l *loadClients) release(process string) releasev1.ReleaseServiceClient {
	l.mu.Lock()
	defer l.mu.Unlock()
	conn, ok := l.conns[process]
	if !ok {
		var err error
		conn, err = grpc.NewClient(l.c.state.addr(l.t, process), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			l.t.Fatal(err)
		}
		l.t.Cleanup(func() { conn.Close() })
		l.conns[process] = conn
	}
	return releasev1.NewReleaseServiceClient(conn)
}

func (l *loadClients) as(ctx context.Context, user string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+l.tokens[user])
}

// retry calls f every second while it fails with Unavailable (a NATS node
// gone, a leader moving) or, for up to patience, FailedPrecondition (what
// the release service waits for has not reached its views yet).
func retry(ctx context.Context, patience time.Duration, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(max(patience, 2*time.Minute))
	preconditionUntil := time.Now().Add(patience)
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := f(cctx)
		cancel()
		code := status.Code(err)
		switch {
		case err == nil:
			return nil
		case code == codes.FailedPrecondition && time.Now().Before(preconditionUntil):
		case code == codes.Unavailable || code == codes.DeadlineExceeded || code == codes.Aborted:
		default:
			return err
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

func (l *loadClients) create(ctx context.Context, process, product string) (string, error) {
	var id string
	requestID := "load-" + product
	err := retry(ctx, 0, func(ctx context.Context) error {
		resp, err := l.release(process).CreateRelease(l.as(ctx, "alice"), &releasev1.CreateReleaseRequest{RequestId: requestID,
			Product: product, Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "Load " + product})
		id = resp.GetRelease().GetId()
		return err
	})
	return id, err
}

func (l *loadClients) promote(ctx context.Context, process, id, env string, patience time.Duration) error {
	err := retry(ctx, patience, func(ctx context.Context) error {
		_, err := l.release(process).Promote(l.as(ctx, "bob"), &releasev1.PromoteRequest{RequestId: "promote-" + id + "-" + env, ReleaseId: id, Environment: env})
		return err
	})
	if err != nil {
		return fmt.Errorf("promote %s to %s: %w", id, env, err)
	}
	return nil
}

func (l *loadClients) approve(ctx context.Context, process, user, id, env string) error {
	err := retry(ctx, time.Minute, func(ctx context.Context) error {
		_, err := l.release(process).Approve(l.as(ctx, user), &releasev1.ApproveRequest{RequestId: "approve-" + id + "-" + env, ReleaseId: id, Environment: env, Comment: "load"})
		return err
	})
	if err != nil {
		return fmt.Errorf("approve %s for %s: %w", id, env, err)
	}
	return nil
}

// waitDeployed polls the release every second until env is deployed (5 minutes at most).
func (l *loadClients) waitDeployed(ctx context.Context, process, id, env string) error {
	deadline := time.Now().Add(5 * time.Minute)
	last := "never read"
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := l.release(process).GetRelease(l.as(cctx, "bob"), &releasev1.GetReleaseRequest{ReleaseId: id})
		cancel()
		if err != nil {
			last = err.Error()
		} else {
			for _, e := range resp.GetRelease().GetEnvironments() {
				if e.GetEnvironment() != env {
					continue
				}
				switch e.GetStatus() {
				case releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED:
					return nil
				case releasev1.ReleaseStatus_RELEASE_STATUS_FAILED, releasev1.ReleaseStatus_RELEASE_STATUS_ROLLED_BACK:
					return fmt.Errorf("%s in %s: %s (%s)", id, env, e.GetStatus(), e.GetReason())
				}
				last = e.GetStatus().String()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("%s was not deployed in %s within 5 minutes: %s", id, env, last)
}

// deployerProc is a deployer instance of the cluster.
type deployerProc struct {
	name, grpc string
	pid        int
}

// killBusiestDeployer SIGKILLs the deployer instance holding the most
// target leases and returns it with, for each lease it held, how long
// until another instance held it (the bucket's updates, watched from
// before the kill).
func killBusiestDeployer(ctx context.Context, js jetstream.JetStream, deployers []deployerProc) (deployerProc, []time.Duration, error) {
	kv, err := js.KeyValue(ctx, "floe_deployer_leases")
	if err != nil {
		return deployerProc{}, nil, err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return deployerProc{}, nil, err
	}
	defer func() { _ = w.Stop() }()
	owner := func(e jetstream.KeyValueEntry) string {
		for _, d := range deployers {
			if strings.HasSuffix(string(e.Value()), " "+d.grpc) {
				return d.name
			}
		}
		return ""
	}
	held := map[string]map[string]bool{} // instance → its leases
	for e := range w.Updates() {
		if e == nil {
			break
		}
		if o := owner(e); e.Operation() == jetstream.KeyValuePut && o != "" {
			if held[o] == nil {
				held[o] = map[string]bool{}
			}
			held[o][e.Key()] = true
		}
	}
	var victim deployerProc
	for _, d := range deployers {
		if len(held[d.name]) > len(held[victim.name]) {
			victim = d
		}
	}
	if victim.name == "" {
		return victim, nil, errors.New("no instance holds a target")
	}
	if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
		return victim, nil, err
	}
	killed := time.Now()
	left := held[victim.name]
	var out []time.Duration
	timeout := time.After(2 * time.Minute)
	for len(left) > 0 {
		select {
		case e := <-w.Updates():
			if e != nil && e.Operation() == jetstream.KeyValuePut && left[e.Key()] && owner(e) != victim.name {
				delete(left, e.Key())
				out = append(out, time.Since(killed))
			}
		case <-timeout:
			return victim, out, fmt.Errorf("%d targets not taken over within 2 minutes", len(left))
		}
	}
	return victim, out, nil
}

// streamMessages is the number of events in the log.
func streamMessages(t *testing.T, ctx context.Context, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(ctx, "FLOE_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
