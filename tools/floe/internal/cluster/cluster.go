// Package cluster runs Floe as production runs it, on one machine: a
// 3-node NATS JetStream cluster (each node its own process, configured by
// the production node configuration deploy/nats/nats-server.conf with its
// accounts, users and permissions; the streams created by the admin user
// from deploy/nats/*.json, replicated 3 times) and every service binary as
// its own process, authenticated to NATS as its own user and signing with
// its own key. `floe cluster up` runs it; the end-to-end tests of the
// production topology drive it.
//
// Its state lives in a directory: the layout (ports, kept across restarts
// so that the nodes find each other again), the NATS passwords, the
// services' keys and trust store, the tokens, the configuration files, the
// nodes' JetStream data, each process's log, and cluster.json, written
// once everything is ready, which says where everything is.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/tools/floe/internal/clientconf"
	"github.com/penguinmails/floe/tools/floe/internal/devenv"
)

// Services are the service processes, in start order (the audit service
// first: it checkpoints what the others write).
var Services = []string{"audit", "release", "gate", "flag", "change", "deployer", "monitor", "notifier"}

// Console is the admin console's process: started after the services, with
// no NATS identity (it only calls their gRPC APIs).
const Console = "console"

// consolePackages are the proto packages each service serves, for the
// console's routes (the release service is its default server: it also
// answers WhoAmI, as every process does).
var consolePackages = map[string][]string{
	"audit": {"floe.audit.v1"}, "gate": {"floe.gate.v1"}, "flag": {"floe.flag.v1", "floe.config.v1"}, "change": {"floe.change.v1"},
	"deployer": {"floe.deploy.v1"}, "monitor": {"floe.monitor.v1"}, "notifier": {"floe.notify.v1"},
}

// Nodes is the size of the NATS cluster.
const Nodes = 3

// StateFile is cluster.json in the directory.
const StateFile = "cluster.json"

// Options configure Up.
type Options struct {
	// Dir holds the cluster's state (created; reused by the next Up).
	Dir string
	// NATSConf is the production node configuration (deploy/nats/nats-server.conf).
	NATSConf string
	// Streams is the directory of the stream definitions (deploy/nats:
	// floe-events.json, floe-audit.json).
	Streams string
	// Floe is the floe executable: it runs the NATS nodes (floe cluster
	// node) and the demo app the deployer deploys. Default: this process's.
	Floe string
	// Bin is the directory of the service binaries floe-<service>
	// (make build puts them in bin/). Default: Floe's directory.
	Bin string
	// EnvironmentsFile and GatesFile, when set, are passed to the release
	// and gate services (their built-in defaults otherwise).
	EnvironmentsFile, GatesFile string
	// Instances is how many processes of a service run (default 1 each):
	// they share its work (deployer instances own targets through leases).
	Instances map[string]int
	// DeployerConfig, when set, is read over floe dev's deployer defaults
	// (the demo app on the local driver; its proxies are the cluster's).
	DeployerConfig string
	// NotifierConfig, when set, is every notifier instance's routing
	// configuration (receivers, routes); none: nobody is told anything.
	NotifierConfig string
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// secretsKeyring is the secrets keyring's file name in keys/.
const secretsKeyring = "secrets.keyring"

// State says where everything is; Up writes it to cluster.json once all is ready.
type State struct {
	Dir      string    `json:"dir"`
	NATS     []Node    `json:"nats"`
	Services []Process `json:"services"`
	// Credentials is the CLI's credentials file (users and tokens; its
	// server is the release service's address).
	Credentials string `json:"credentials"`
	// ReaderURL is a NATS URL with the read-only user's password (event subscribers, floe audit verify).
	ReaderURL string `json:"reader_url"`
	// Proxies are the demo app's proxies by environment.
	Proxies map[string]string `json:"proxies"`
	// Console is the admin console's URL.
	Console string `json:"console,omitempty"`
}

// Node is one NATS node.
type Node struct {
	Name   string `json:"name"`
	Client string `json:"client"`
	Route  string `json:"route"`
	Store  string `json:"store"`
	PID    int    `json:"pid"`
	Log    string `json:"log"`
}

// Process is one service process.
type Process struct {
	// Name is the service, with "-<n>" for its second instance on.
	Name    string `json:"name"`
	Service string `json:"service"`
	GRPC    string `json:"grpc"`
	Admin   string `json:"admin"`
	PID     int    `json:"pid"`
	Log     string `json:"log"`
}

// Addr is the gRPC address of the first process of service ("" when none).
func (s *State) Addr(service string) string {
	for _, p := range s.Services {
		if p.Service == service {
			return p.GRPC
		}
	}
	return ""
}

// Addrs are the gRPC addresses of every instance of service.
func (s *State) Addrs(service string) []string {
	var out []string
	for _, p := range s.Services {
		if p.Service == service {
			out = append(out, p.GRPC)
		}
	}
	return out
}

// ClientURLs are the nodes' client URLs, comma-separated, with user's password.
func (s *State) clientURLs(user, password string) string {
	urls := make([]string, len(s.NATS))
	for i, n := range s.NATS {
		urls[i] = "nats://" + user + ":" + password + "@" + n.Client
	}
	return strings.Join(urls, ",")
}

// layout is what stays the same across restarts: the ports and the passwords.
type layout struct {
	NATSClient []int             `json:"nats_client"`
	NATSRoute  []int             `json:"nats_route"`
	Ports      map[string]int    `json:"ports"`
	Passwords  map[string]string `json:"passwords"`
}

// Cluster is a running cluster.
type Cluster struct {
	State
	opts  Options
	lay   *layout
	mu    sync.Mutex
	procs map[int]*exec.Cmd // pid → process
	// starting are the processes startService waits for (their exit is its business).
	starting map[int]bool
	done     chan struct{}
	errs     chan error
}

// passwordVars are the node configuration's password variables, by NATS user.
func passwordVars() map[string]string {
	vars := map[string]string{"floe-reader": "FLOE_READER_NATS_PASSWORD", "floe-admin": "FLOE_ADMIN_NATS_PASSWORD", "sys": "NATS_SYS_PASSWORD"}
	for _, s := range Services {
		vars["floe-"+s] = "FLOE_" + strings.ToUpper(s) + "_NATS_PASSWORD"
	}
	return vars
}

// Up starts the cluster and returns once every process is ready (and
// cluster.json written), or the first error (with what it started stopped).
func Up(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Floe == "" {
		if opts.Floe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	if opts.Bin == "" {
		opts.Bin = filepath.Dir(opts.Floe)
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	var missing []string
	for _, s := range Services {
		if _, err := os.Stat(filepath.Join(opts.Bin, "floe-"+s)); err != nil {
			missing = append(missing, "floe-"+s)
		}
	}
	for _, f := range []string{opts.NATSConf, filepath.Join(opts.Streams, "floe-events.json"), filepath.Join(opts.Streams, "floe-audit.json")} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("cluster: %w (run from the repository's root, or pass --nats-conf and --streams)", err)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("cluster: %s not in %s (make build builds them into bin/; or pass --bin)", strings.Join(missing, ", "), opts.Bin)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	for _, d := range []string{dir, filepath.Join(dir, "logs"), filepath.Join(dir, "config")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	_ = os.Remove(filepath.Join(dir, StateFile))
	lay, err := loadLayout(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, lay: lay, procs: map[int]*exec.Cmd{}, starting: map[int]bool{}, done: make(chan struct{}), errs: make(chan error, 64)}
	c.Dir = dir
	defer func() {
		if err != nil {
			c.Stop(context.Background())
		}
	}()
	if err := c.startNATS(ctx); err != nil {
		return nil, err
	}
	if err := c.createStreams(ctx); err != nil {
		return nil, err
	}
	if err := c.prepare(); err != nil {
		return nil, err
	}
	for _, s := range Services {
		for i := range c.instances(s) {
			if err := c.startService(ctx, s, i+1); err != nil {
				return nil, err
			}
		}
	}
	// The admin console, a client of the services' APIs (no NATS), each
	// service's calls routed to its first instance.
	if err := c.startService(ctx, Console, 1); err != nil {
		return nil, err
	}
	c.State.Console = "http://" + addr(c.port(Console+".http"))
	data, err := json.MarshalIndent(c.State, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile), data, 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// loadLayout reads the directory's layout, or picks free ports and
// passwords for a new one.
func loadLayout(dir string) (*layout, error) {
	path := filepath.Join(dir, "layout.json")
	var lay layout
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &lay); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &lay, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	lay = layout{Ports: map[string]int{}, Passwords: map[string]string{}}
	var err error
	pick := func() int {
		p, e := lay.freePort()
		if e != nil {
			err = e
		}
		return p
	}
	for range Nodes {
		lay.NATSClient = append(lay.NATSClient, pick())
		lay.NATSRoute = append(lay.NATSRoute, pick())
	}
	for _, extra := range []string{"proxy.development", "proxy.staging", "proxy.production"} {
		lay.Ports[extra] = pick()
	}
	if err != nil {
		return nil, err
	}
	for user := range passwordVars() {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		lay.Passwords[user] = hex.EncodeToString(b)
	}
	return &lay, lay.save(dir)
}

// save writes the layout (new ports are added as processes need them).
func (lay *layout) save(dir string) error {
	data, _ := json.MarshalIndent(lay, "", "  ")
	return os.WriteFile(filepath.Join(dir, "layout.json"), data, 0o600)
}

// port is the port named key ("deployer-2.grpc"), picked and kept on first use.
func (c *Cluster) port(key string) int {
	if p, ok := c.lay.Ports[key]; ok {
		return p
	}
	p, err := c.lay.freePort()
	if err != nil {
		panic(err) // no free port on loopback: nothing else would work either
	}
	c.lay.Ports[key] = p
	if err := c.lay.save(c.Dir); err != nil {
		panic(err)
	}
	return p
}

// instances is how many processes of s run.
func (c *Cluster) instances(s string) int { return max(c.opts.Instances[s], 1) }

// name is the process name of s's instance i (from 1).
func name(s string, i int) string {
	if i == 1 {
		return s
	}
	return s + "-" + strconv.Itoa(i)
}

// freePort is a loopback port free now and not already in the layout: the
// kernel may hand a port it just gave (and that was closed again) out
// once more, and two processes of the cluster must never be given one.
func (lay *layout) freePort() (int, error) {
	taken := map[int]bool{}
	for _, p := range append(slices.Clone(lay.NATSClient), lay.NATSRoute...) {
		taken[p] = true
	}
	for _, p := range lay.Ports {
		taken[p] = true
	}
	for range 100 {
		p, err := loopbackPort()
		if err != nil {
			return 0, err
		}
		if !taken[p] {
			return p, nil
		}
	}
	return 0, errors.New("no loopback port free that the cluster does not already use")
}

// loopbackPort is a port the kernel gives a loopback listener now (closed again).
var loopbackPort = func() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// natsEnv is the environment of a NATS node: every user's password.
func (c *Cluster) natsEnv() []string {
	env := os.Environ()
	for user, v := range passwordVars() {
		env = append(env, v+"="+c.lay.Passwords[user])
	}
	return env
}

// startNATS starts the three nodes and waits until JetStream answers.
func (c *Cluster) startNATS(ctx context.Context) error {
	routes := make([]string, Nodes)
	for i := range Nodes {
		routes[i] = "nats-route://" + addr(c.lay.NATSRoute[i])
	}
	for i := range Nodes {
		n := Node{Name: fmt.Sprintf("floe-nats-%d", i+1), Client: addr(c.lay.NATSClient[i]), Route: addr(c.lay.NATSRoute[i]),
			Store: filepath.Join(c.Dir, "nats", strconv.Itoa(i+1)), Log: filepath.Join(c.Dir, "logs", fmt.Sprintf("nats-%d.log", i+1))}
		pid, err := c.spawn(n.Log, c.natsEnv(), c.opts.Floe, "cluster", "node", "--conf", c.opts.NATSConf, "--name", n.Name,
			"--listen", n.Client, "--cluster-listen", n.Route, "--routes", strings.Join(routes, ","), "--store", n.Store)
		if err != nil {
			return fmt.Errorf("nats node %s: %w", n.Name, err)
		}
		n.PID = pid
		c.NATS = append(c.NATS, n)
		fmt.Fprintf(c.opts.Log, "nats %s on %s (route %s), pid %d\n", n.Name, n.Client, n.Route, pid)
	}
	return c.waitJetStream(ctx)
}

// admin connects as floe-admin.
func (c *Cluster) admin() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(c.clientURLs("floe-admin", c.lay.Passwords["floe-admin"]), nats.Name("floe-cluster"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func (c *Cluster) waitJetStream(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if err := c.exited(); err != nil {
			return err
		}
		nc, js, err := c.admin()
		if err == nil {
			actx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = js.AccountInfo(actx)
			cancel()
			nc.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the NATS cluster did not offer JetStream within 60s: %v (logs in %s)", last, filepath.Join(c.Dir, "logs"))
}

// createStreams creates the event log and the audit stream as the admin
// user, from their committed definitions (as deploy/nats/create-streams.sh does).
func (c *Cluster) createStreams(ctx context.Context) error {
	nc, js, err := c.admin()
	if err != nil {
		return err
	}
	defer nc.Close()
	for _, f := range []string{"floe-events.json", "floe-audit.json"} {
		data, err := os.ReadFile(filepath.Join(c.opts.Streams, f))
		if err != nil {
			return err
		}
		var cfg jetstream.StreamConfig
		if err := json.Unmarshal(data, &cfg); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = js.CreateStream(sctx, cfg)
		cancel()
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
		// After a restart the stream answers once its replicas elected a leader.
		if err := waitLeader(ctx, js, cfg.Name); err != nil {
			return err
		}
	}
	return nil
}

// waitLeader waits until the stream has a leader (60s at most).
func waitLeader(ctx context.Context, js jetstream.JetStream, name string) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := js.Stream(ictx, name)
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = st.Info(ictx); err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
				cancel()
				return nil
			}
		}
		cancel()
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("stream %s has no leader after 60s: %v", name, last)
}

// prepare writes the keys, the tokens and the services' configuration.
func (c *Cluster) prepare() error {
	keys := filepath.Join(c.Dir, "keys")
	if _, err := service.DevKeys(keys, service.Writers(devenv.Services(devenv.Config{})...)); err != nil {
		return err
	}
	if _, err := audit.LoadOrCreateKey(filepath.Join(keys, "audit-signing.key")); err != nil {
		return err
	}
	// The secrets' key-encryption keys, shared by the services that keep
	// (flag), deliver (deployer) and use (notifier) secrets.
	if _, err := secrets.EnsureKeyringFile(filepath.Join(keys, secretsKeyring)); err != nil {
		return err
	}
	creds, err := devenv.EnsureTokens(c.Dir)
	if err != nil {
		return err
	}
	c.Proxies = map[string]string{}
	for _, env := range []string{"development", "staging", "production"} {
		c.Proxies[env] = addr(c.lay.Ports["proxy."+env])
	}
	creds.Server = addr(c.port("release.grpc"))
	creds.Admin = addr(c.port("release.admin"))
	creds.NATS = c.clientURLs("floe-reader", c.lay.Passwords["floe-reader"])
	creds.Proxies = c.Proxies
	c.Credentials = filepath.Join(c.Dir, clientconf.FileName)
	if err := clientconf.Write(c.Credentials, creds); err != nil {
		return err
	}
	c.ReaderURL = creds.NATS

	dep, err := deployersvc.Load(c.opts.DeployerConfig, devenv.DeployerDefaults())
	if err != nil {
		return err
	}
	dep.Local.Proxies = c.Proxies
	dep.Local.Command = []string{c.opts.Floe, "demoapp", "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"}
	dep.Coherence.Monitor = nil
	dep.Coherence.MonitorConfig = filepath.Join(c.Dir, "config", "monitor.yaml")
	if err := writeYAML(filepath.Join(c.Dir, "config", "deployer.yaml"), dep); err != nil {
		return err
	}
	mon := devenv.MonitorDefaults()
	set := *mon.RuleSet
	data, err := rules.Marshal(set)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "config", "rules.yaml"), data, 0o600); err != nil {
		return err
	}
	// Every deployer instance's metrics: the proxies are the owner's.
	var targets []map[string]any
	for i := range c.instances("deployer") {
		// Each with its instance label: their own metrics (go_*, process_*) have the same names.
		n := name("deployer", i+1)
		targets = append(targets, map[string]any{"url": "http://" + addr(c.port(n+".admin")) + "/metrics", "labels": map[string]string{"instance": n}})
	}
	monitor := map[string]any{
		"source": "embedded", "interval": mon.Interval.String(), "rules": "rules.yaml",
		"embedded": map[string]any{"targets": targets},
	}
	return writeYAML(filepath.Join(c.Dir, "config", "monitor.yaml"), monitor)
}

func writeYAML(path string, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// serviceArgs are the flags of the binary of s's instance named n.
func (c *Cluster) serviceArgs(s, n string) []string {
	if s == Console {
		var routes []string
		for svc, pkgs := range consolePackages {
			for _, pkg := range pkgs {
				// Every instance: the console skips one that is not ready.
				routes = append(routes, pkg+"="+strings.Join(c.State.Addrs(svc), "|"))
			}
		}
		slices.Sort(routes)
		return []string{
			"--environment", "cluster", "--grpc-addr", addr(c.port(n + ".grpc")), "--admin-addr", addr(c.port(n + ".admin")),
			"--tokens-file", filepath.Join(c.Dir, devenv.TokensFileName), "--data-dir", filepath.Join(c.Dir, "data", n), "--log-format", "json",
			"--console-addr", addr(c.port(n + ".http")), "--console-server", c.State.Addr("release"), "--console-routes", strings.Join(routes, ","),
		}
	}
	keys := filepath.Join(c.Dir, "keys")
	args := []string{
		"--environment", "cluster",
		"--grpc-addr", addr(c.port(n + ".grpc")), "--admin-addr", addr(c.port(n + ".admin")),
		"--nats-replicas", strconv.Itoa(Nodes),
		"--signing-key", filepath.Join(keys, s+".key"), "--trust-store", filepath.Join(keys, service.TrustFileName),
		"--tokens-file", filepath.Join(c.Dir, devenv.TokensFileName),
		"--data-dir", filepath.Join(c.Dir, "data", n), "--log-format", "json",
	}
	switch s {
	case "audit":
		args = append(args, "--audit-key", filepath.Join(keys, "audit-signing.key"), "--checkpoint-interval", "10s")
	case "release":
		if c.opts.EnvironmentsFile != "" {
			args = append(args, "--environments-file", c.opts.EnvironmentsFile)
		}
	case "gate":
		if c.opts.GatesFile != "" {
			args = append(args, "--gates-file", c.opts.GatesFile)
		}
	case "flag":
		args = append(args, "--ofrep-addr", addr(c.port(n+".ofrep")), "--secrets-keyring", filepath.Join(keys, secretsKeyring))
	case "change":
		args = append(args, "--audit-public-key", filepath.Join(keys, "audit-signing.key.pub"))
		if c.opts.EnvironmentsFile != "" {
			args = append(args, "--environments-file", c.opts.EnvironmentsFile)
		}
	case "deployer":
		args = append(args, "--deployer-config", filepath.Join(c.Dir, "config", "deployer.yaml"), "--secrets-keyring", filepath.Join(keys, secretsKeyring))
	case "monitor":
		args = append(args, "--monitor-config", filepath.Join(c.Dir, "config", "monitor.yaml"))
	case "notifier":
		args = append(args, "--notifier-http-addr", addr(c.port(n+".http")), "--secrets-keyring", filepath.Join(keys, secretsKeyring))
		if c.opts.NotifierConfig != "" {
			args = append(args, "--notifier-config", c.opts.NotifierConfig)
		}
	}
	return args
}

// startService starts instance i of service s and waits until it is ready.
func (c *Cluster) startService(ctx context.Context, s string, i int) error {
	n := name(s, i)
	p := Process{Name: n, Service: s, GRPC: addr(c.port(n + ".grpc")), Admin: addr(c.port(n + ".admin")),
		Log: filepath.Join(c.Dir, "logs", n+".log")}
	if err := os.MkdirAll(filepath.Join(c.Dir, "data", n), 0o700); err != nil {
		return err
	}
	// As a supervisor would (systemd's Restart=on-failure, a pod's restart
	// policy), a process that exits while starting — NATS still electing
	// leaders, say — is started again, twice at most.
	for attempt := 1; ; attempt++ {
		// The NATS URL carries the password: in the environment, not on the command line (ps shows that).
		env := os.Environ()
		if s != Console { // the console calls the services' APIs only
			env = append(env, "FLOE_NATS_URL="+c.clientURLs("floe-"+s, c.lay.Passwords["floe-"+s]))
		}
		pid, exited, err := c.spawnWatched(p.Log, env, filepath.Join(c.opts.Bin, "floe-"+s), c.serviceArgs(s, n)...)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		p.PID = pid
		c.mu.Lock()
		c.starting[pid] = true
		c.mu.Unlock()
		err = c.waitReady(ctx, p, exited)
		c.mu.Lock()
		delete(c.starting, pid)
		c.mu.Unlock()
		if err == nil {
			break
		}
		if !errors.Is(err, errExited) || attempt == 3 {
			return err
		}
		fmt.Fprintf(c.opts.Log, "%s exited while starting (log %s); starting it again\n", n, p.Log)
		time.Sleep(time.Second)
	}
	c.Services = append(c.Services, p)
	fmt.Fprintf(c.opts.Log, "%s on %s (admin %s), pid %d\n", n, p.GRPC, p.Admin, p.PID)
	return nil
}

// errExited is a process's exit while it starts.
var errExited = errors.New("exited while starting")

func (c *Cluster) waitReady(ctx context.Context, p Process, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("%s %w (log %s)", p.Name, errExited, p.Log)
		default:
		}
		if resp, err := client.Get("http://" + p.Admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s was not ready within 90s (log %s)", p.Name, p.Log)
}

// spawn starts a process with its output in logPath; its exit is reported
// on c.errs unless the cluster is stopping.
func (c *Cluster) spawn(logPath string, env []string, name string, args ...string) (int, error) {
	pid, _, err := c.spawnWatched(logPath, env, name, args...)
	return pid, err
}

// spawnWatched is spawn that also returns a channel closed when the
// process exits (its exit is then not reported on c.errs until it was
// ready: startService decides).
func (c *Cluster) spawnWatched(logPath string, env []string, name string, args ...string) (int, <-chan struct{}, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return 0, nil, err
	}
	pid := cmd.Process.Pid
	c.mu.Lock()
	c.procs[pid] = cmd
	c.mu.Unlock()
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		logf.Close()
		c.mu.Lock()
		delete(c.procs, pid)
		starting := c.starting[pid]
		c.mu.Unlock()
		close(exited)
		select {
		case <-c.done:
		default:
			if starting {
				return // startService decides
			}
			c.errs <- fmt.Errorf("%s (pid %d) exited: %v; its log: %s", filepath.Base(name), pid, err, logPath)
		}
	}()
	return pid, exited, nil
}

// exited returns the first unexpected exit, if any.
func (c *Cluster) exited() error {
	select {
	case err := <-c.errs:
		return err
	default:
		return nil
	}
}

// Exits reports processes that end while the cluster runs (a node or a
// service killed from outside; the caller decides whether that is news).
func (c *Cluster) Exits() <-chan error { return c.errs }

// Stop ends the services (SIGTERM, their graceful shutdown), then the NATS
// nodes; processes still running when ctx ends are killed.
func (c *Cluster) Stop(ctx context.Context) {
	select {
	case <-c.done:
		return
	default:
		close(c.done)
	}
	c.mu.Lock()
	var services, nodes []*exec.Cmd
	for _, cmd := range c.procs {
		if slices.ContainsFunc(c.NATS, func(n Node) bool { return n.PID == cmd.Process.Pid }) {
			nodes = append(nodes, cmd)
		} else {
			services = append(services, cmd)
		}
	}
	c.mu.Unlock()
	for _, group := range [][]*exec.Cmd{services, nodes} {
		var wg sync.WaitGroup
		for _, cmd := range group {
			wg.Go(func() { terminate(ctx, cmd) })
		}
		wg.Wait()
	}
}

// terminate sends SIGTERM to the process group and waits (SIGKILL after 30s or when ctx ends).
func terminate(ctx context.Context, cmd *exec.Cmd) {
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.After(30 * time.Second)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return
		case <-deadline:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}
