package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// Defaults for the Config durations and the health path.
const (
	DefaultHealthPath   = "/healthz"
	DefaultStartTimeout = 15 * time.Second
	DefaultStopGrace    = 5 * time.Second
	DefaultCheckTimeout = 2 * time.Second
)

// ErrClosed is returned by operations on a Driver after Close.
var ErrClosed = errors.New("local driver is closed")

// Config configures a local Driver. The zero values of the optional fields
// select the defaults described in the package documentation.
type Config struct {
	// Command is the program and its arguments, each a text/template with
	// {{.Port}}, {{.Version}}, {{.Artifact}}, {{.Environment}}, {{.App}} and
	// {{.ReleaseID}}.
	Command []string
	// Proxies maps an environment to its proxy's listen address
	// ("127.0.0.1:7500"; port 0 picks a free port). Environments not listed
	// get a proxy on a free port of 127.0.0.1 on their first Start.
	Proxies map[string]string
	// HealthPath is the path Start waits on and Check asks; default "/healthz".
	HealthPath string
	// StartTimeout bounds Start's wait for the health path to answer 200;
	// default 15s.
	StartTimeout time.Duration
	// StopGrace is the time between SIGTERM and SIGKILL; default 5s.
	StopGrace time.Duration
	// CheckTimeout bounds one Check; default 2s.
	CheckTimeout time.Duration
	// Registerer receives the proxy metrics; required.
	Registerer prometheus.Registerer
	// Logger receives process output and driver notes, one line per Write,
	// prefixed with target and version; optional.
	Logger io.Writer
	// Dir is the processes' working directory; default the deployer's.
	Dir string
	// LazyProxies opens a configured proxy at its environment's first
	// Start instead of in New, and Release closes it: for deployer
	// instances that take targets over from each other.
	LazyProxies bool
}

// templateData is what Command templates see.
type templateData struct {
	Port        int
	Version     string
	Artifact    string // driver.Artifact(Version): the release version to run
	Environment string
	App         string
	ReleaseID   string
}

// Driver is the local driver; create it with New and release it with Close.
type Driver struct {
	cfg     Config
	command []*template.Template
	metrics *metrics
	// transport carries proxied requests; health carries health checks.
	transport *http.Transport
	health    *http.Client

	logMu sync.Mutex

	mu         sync.Mutex
	closed     bool
	closing    chan struct{}  // closed by Close; aborts Starts waiting for health
	inflight   sync.WaitGroup // Starts and Stops in progress
	targets    map[driver.Target]*target
	envProxies map[string]*proxy // the configured ones, by environment
}

var (
	_ driver.Scaler   = (*Driver)(nil)
	_ driver.Releaser = (*Driver)(nil)
)

// target is one application in one environment: its processes and its proxy.
type target struct {
	t     driver.Target
	proxy *proxy

	ops sync.Mutex // serializes Start and Stop

	mu        sync.Mutex // guards the fields below
	instances map[string]*instance
	// extra are a version's instances beyond the first (Scale), which share
	// its traffic with it.
	extra   map[string][]*instance
	weights map[string]int
}

// New validates cfg, reporting every problem at once, opens the configured
// proxies and returns a Driver.
func New(cfg Config) (*Driver, error) {
	if cfg.HealthPath == "" {
		cfg.HealthPath = DefaultHealthPath
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.CheckTimeout == 0 {
		cfg.CheckTimeout = DefaultCheckTimeout
	}
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	if len(cfg.Command) == 0 {
		bad("Command is empty: it needs at least the program")
	}
	tmpls := make([]*template.Template, 0, len(cfg.Command))
	for i, arg := range cfg.Command {
		tm, err := template.New(fmt.Sprintf("Command[%d]", i)).Option("missingkey=error").Parse(arg)
		if err != nil {
			bad("Command[%d] %q: %v", i, arg, err)
			continue
		}
		if err := tm.Execute(io.Discard, templateData{}); err != nil {
			bad("Command[%d] %q: %v", i, arg, err)
			continue
		}
		tmpls = append(tmpls, tm)
	}
	if len(cfg.Command) > 0 && strings.TrimSpace(cfg.Command[0]) == "" {
		bad("Command[0], the program, is empty")
	}
	for _, env := range slices.Sorted(maps.Keys(cfg.Proxies)) {
		addr := cfg.Proxies[env]
		if env == "" {
			bad("Proxies: an environment name is empty")
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			bad("Proxies[%q] %q: %v", env, addr, err)
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("Proxies[%q] %q: port must be a number 0-65535", env, addr)
		}
	}
	if !strings.HasPrefix(cfg.HealthPath, "/") {
		bad("HealthPath %q must start with /", cfg.HealthPath)
	}
	if cfg.StartTimeout < 0 {
		bad("StartTimeout %v is negative", cfg.StartTimeout)
	}
	if cfg.StopGrace < 0 {
		bad("StopGrace %v is negative", cfg.StopGrace)
	}
	if cfg.CheckTimeout < 0 {
		bad("CheckTimeout %v is negative", cfg.CheckTimeout)
	}
	if cfg.Registerer == nil {
		bad("Registerer is required (the proxy metrics go there)")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("local driver config: %w", errors.Join(problems...))
	}

	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("local driver metrics: %w", err)
	}
	d := &Driver{
		cfg:     cfg,
		command: tmpls,
		metrics: m,
		transport: &http.Transport{
			Proxy:               nil, // backends are on 127.0.0.1; never go through HTTP_PROXY
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     90 * time.Second,
		},
		health: &http.Client{
			Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirect is not a 200
			},
		},
		closing:    make(chan struct{}),
		targets:    map[driver.Target]*target{},
		envProxies: map[string]*proxy{},
	}
	for _, env := range slices.Sorted(maps.Keys(cfg.Proxies)) {
		if cfg.LazyProxies {
			continue
		}
		p, err := d.listen(env, cfg.Proxies[env])
		if err != nil {
			problems = append(problems, err)
			continue
		}
		d.envProxies[env] = p
	}
	if len(problems) > 0 {
		for _, p := range d.envProxies {
			_ = p.srv.Close()
		}
		return nil, fmt.Errorf("local driver proxies: %w", errors.Join(problems...))
	}
	return d, nil
}

// Name returns "local".
func (d *Driver) Name() string { return "local" }

// ProxyAddr returns the address of the proxy that fronts t ("127.0.0.1:7500"),
// or "" when t has none yet: its environment has no configured proxy and
// nothing was started in t, or the environment's proxy fronts another app.
func (d *Driver) ProxyAddr(t driver.Target) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if tg, ok := d.targets[t]; ok {
		return tg.proxy.addr
	}
	if p, ok := d.envProxies[t.Environment]; ok && (p.app == "" || p.app == t.App) {
		return p.addr
	}
	return ""
}

// begin registers an operation that Close must wait for.
func (d *Driver) begin() (func(), error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	d.inflight.Add(1)
	return d.inflight.Done, nil
}

// lookup returns the target or nil.
func (d *Driver) lookup(t driver.Target) *target {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.targets[t]
}

// ensureTarget returns t's target, creating it and its proxy if needed.
func (d *Driver) ensureTarget(t driver.Target) (*target, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if tg, ok := d.targets[t]; ok {
		return tg, nil
	}
	if d.closed {
		return nil, ErrClosed
	}
	p, configured := d.envProxies[t.Environment]
	switch {
	case configured:
		if p.app != "" && p.app != t.App {
			return nil, fmt.Errorf("the proxy of environment %s (%s) already fronts app %s; the local driver fronts one app per configured environment",
				t.Environment, p.addr, p.app)
		}
	case d.cfg.LazyProxies && d.cfg.Proxies[t.Environment] != "":
		var err error
		if p, err = d.listen(t.Environment, d.cfg.Proxies[t.Environment]); err != nil {
			// Most likely the target's previous owner still holds the address.
			return nil, fmt.Errorf("%w: %w", driver.ErrTransient, err)
		}
		d.envProxies[t.Environment] = p
	default:
		var err error
		if p, err = d.listen(t.Environment, "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	p.app = t.App
	p.routes.Store(&routeTable{target: t.String()})
	tg := &target{t: t, proxy: p, instances: map[string]*instance{}, extra: map[string][]*instance{}, weights: map[string]int{}}
	d.targets[t] = tg
	return tg, nil
}

func validTarget(t driver.Target) error {
	var problems []error
	if t.Environment == "" {
		problems = append(problems, errors.New("target has no environment"))
	}
	if t.App == "" {
		problems = append(problems, errors.New("target has no app"))
	}
	return errors.Join(problems...)
}

// Start runs v in t without routing traffic to it and returns once its health
// path answers 200. Starting a running version does nothing.
func (d *Driver) Start(ctx context.Context, t driver.Target, v driver.Version) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("start %s in %s: %w", v.Version, t, err)
		}
	}()
	if err := errors.Join(validTarget(t), validVersion(v)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	done, err := d.begin()
	if err != nil {
		return err
	}
	defer done()
	tg, err := d.ensureTarget(t)
	if err != nil {
		return err
	}
	tg.ops.Lock()
	defer tg.ops.Unlock()

	tg.mu.Lock()
	old := tg.instances[v.Version]
	tg.mu.Unlock()
	if old != nil {
		if exited, _ := old.exited(); !exited {
			return nil
		}
	}

	inst, err := d.launch(ctx, t, v)
	if err != nil {
		return err
	}

	tg.mu.Lock()
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		tg.mu.Unlock()
		d.terminate(context.Background(), inst)
		return ErrClosed
	}
	tg.instances[v.Version] = inst
	tg.route(v.Version)
	tg.publish()
	d.metrics.weight.WithLabelValues(t.Environment, t.App, v.Version).Set(float64(tg.weights[v.Version]))
	tg.mu.Unlock()
	d.logf(t, v.Version, "floe: started pid %d on %s", inst.pid, inst.addr)
	return nil
}

func validVersion(v driver.Version) error {
	var problems []error
	if v.Version == "" {
		problems = append(problems, errors.New("version is empty"))
	}
	for _, k := range slices.Sorted(maps.Keys(v.Config)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			problems = append(problems, fmt.Errorf("config key %q cannot be an environment variable name", k))
		}
		if strings.ContainsRune(v.Config[k], 0) {
			problems = append(problems, fmt.Errorf("config value of %s contains a NUL byte", k))
		}
	}
	if err := driver.ValidSecrets(v.Secrets); err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

// SetWeights replaces t's traffic split: version → percent, summing to 100,
// every version running. Requests in flight are not disturbed.
func (d *Driver) SetWeights(ctx context.Context, t driver.Target, weights map[string]int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tg := d.lookup(t)
	if tg == nil {
		// Nothing runs in t, so no split is valid; ValidateWeights says why.
		err := driver.ValidateWeights(weights, nil)
		if err == nil {
			err = driver.ErrNotRunning
		}
		return fmt.Errorf("set weights of %s: %w", t, err)
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if err := driver.ValidateWeights(weights, tg.running()); err != nil {
		return fmt.Errorf("set weights of %s: %w", t, err)
	}
	tg.weights = make(map[string]int, len(weights))
	for v, w := range weights {
		tg.weights[v] = w
	}
	tg.publish()
	for v := range tg.instances {
		d.metrics.weight.WithLabelValues(t.Environment, t.App, v).Set(float64(tg.weights[v]))
	}
	return nil
}

// Check asks the version's process for its health path, directly (not through
// the proxy): nil on 200, else an error naming the status, the connection
// error or the process's exit.
func (d *Driver) Check(ctx context.Context, t driver.Target, version string) error {
	var insts []*instance
	if tg := d.lookup(t); tg != nil {
		tg.mu.Lock()
		insts = tg.all(version)
		tg.mu.Unlock()
	}
	if len(insts) == 0 {
		return fmt.Errorf("check %s in %s: %w", version, t, driver.ErrNotRunning)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.CheckTimeout)
	defer cancel()
	for i, inst := range insts {
		which := ""
		if len(insts) > 1 {
			which = fmt.Sprintf(" (instance %d of %d)", i+1, len(insts))
		}
		if exited, werr := inst.exited(); exited {
			return fmt.Errorf("check %s in %s%s: process %d exited (%v)%s", version, t, which, inst.pid, exitText(werr), inst.out.text())
		}
		if err := d.probe(ctx, inst); err != nil {
			return fmt.Errorf("check %s in %s%s: %w", version, t, which, err)
		}
	}
	return nil
}

// probe asks the instance's health path once.
func (d *Driver) probe(ctx context.Context, inst *instance) error {
	url := "http://" + inst.addr + d.cfg.HealthPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := d.health.Do(req)
	if err != nil {
		return fmt.Errorf("health check failed: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		if msg != "" {
			msg = ": " + msg
		}
		return fmt.Errorf("health check GET %s answered %s%s", url, resp.Status, msg)
	}
	return nil
}

// Stop stops the version's process and forgets the version. It refuses a
// version that still has weight; stopping a version that does not run does
// nothing, and so does Stop after Close. The process gets SIGTERM, then
// SIGKILL after StopGrace or as soon as ctx ends; Stop returns once it is gone.
func (d *Driver) Stop(ctx context.Context, t driver.Target, version string) error {
	done, err := d.begin()
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil // Close stopped everything
		}
		return err
	}
	defer done()
	tg := d.lookup(t)
	if tg == nil {
		return nil
	}
	tg.ops.Lock()
	defer tg.ops.Unlock()

	tg.mu.Lock()
	inst := tg.instances[version]
	if inst == nil {
		tg.mu.Unlock()
		return nil
	}
	if w := tg.weights[version]; w > 0 {
		tg.mu.Unlock()
		return fmt.Errorf("stop %s in %s: it still carries %d%% of the traffic; move its weight to other versions first", version, t, w)
	}
	insts := tg.all(version)
	delete(tg.instances, version)
	delete(tg.extra, version)
	delete(tg.weights, version)
	tg.publish()
	d.metrics.weight.DeleteLabelValues(t.Environment, t.App, version)
	tg.mu.Unlock()

	d.terminateAll(ctx, insts)
	for _, inst := range insts {
		d.logf(t, version, "floe: stopped pid %d", inst.pid)
	}
	return nil
}

// Release stops every instance of every version in t, whatever its
// weight, and frees its proxy (closed when it was opened for t or lazily;
// a proxy New opened stays, routing nothing). Releasing a target that has
// nothing does nothing.
func (d *Driver) Release(ctx context.Context, t driver.Target) error {
	done, err := d.begin()
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	defer done()
	d.mu.Lock()
	tg := d.targets[t]
	if tg == nil {
		d.mu.Unlock()
		return nil
	}
	delete(d.targets, t)
	p := tg.proxy
	keep := !d.cfg.LazyProxies && d.envProxies[t.Environment] == p
	if !keep {
		delete(d.envProxies, t.Environment)
	} else {
		p.app = ""
	}
	d.mu.Unlock()

	tg.ops.Lock()
	defer tg.ops.Unlock()
	tg.mu.Lock()
	var insts []*instance
	for v := range tg.instances {
		insts = append(insts, tg.all(v)...)
		d.metrics.weight.DeleteLabelValues(t.Environment, t.App, v)
	}
	tg.instances, tg.extra, tg.weights = map[string]*instance{}, map[string][]*instance{}, map[string]int{}
	tg.mu.Unlock()
	p.routes.Store(nil)
	var closeErr error
	if !keep {
		closeErr = p.srv.Close()
	}
	d.terminateAll(ctx, insts)
	d.logf(t, "-", "floe: released (%d processes stopped)", len(insts))
	return closeErr
}

// terminateAll stops the instances at once and returns when all are gone.
func (d *Driver) terminateAll(ctx context.Context, insts []*instance) {
	var wg sync.WaitGroup
	for _, inst := range insts {
		wg.Go(func() { d.terminate(ctx, inst) })
	}
	wg.Wait()
}

// Scale makes replicas instances of the running version v.Version share its
// traffic: it starts the missing ones (each on a port of its own, with v's
// configuration and secrets, waiting until it is healthy) or stops the
// extra ones, the latest started first. An instance that fails to start
// fails Scale; those started before it stay.
func (d *Driver) Scale(ctx context.Context, t driver.Target, v driver.Version, replicas int) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("scale %s in %s to %d instances: %w", v.Version, t, replicas, err)
		}
	}()
	if replicas < 1 {
		return errors.New("a running version has at least one instance")
	}
	if err := errors.Join(validTarget(t), validVersion(v)); err != nil {
		return err
	}
	done, err := d.begin()
	if err != nil {
		return err
	}
	defer done()
	tg := d.lookup(t)
	if tg == nil {
		return driver.ErrNotRunning
	}
	tg.ops.Lock()
	defer tg.ops.Unlock()

	tg.mu.Lock()
	primary, have := tg.instances[v.Version], len(tg.extra[v.Version])
	tg.mu.Unlock()
	if primary == nil {
		return driver.ErrNotRunning
	}
	for ; have < replicas-1; have++ {
		inst, err := d.launch(ctx, t, v)
		if err != nil {
			return err
		}
		tg.mu.Lock()
		if tg.instances[v.Version] != primary || d.isClosed() {
			tg.mu.Unlock()
			d.terminate(context.Background(), inst)
			return errors.New("the version was stopped meanwhile")
		}
		tg.extra[v.Version] = append(tg.extra[v.Version], inst)
		tg.route(v.Version)
		tg.mu.Unlock()
		d.logf(t, v.Version, "floe: started instance %d, pid %d on %s", have+2, inst.pid, inst.addr)
	}
	tg.mu.Lock()
	extra := tg.extra[v.Version]
	var surplus []*instance
	if keep := replicas - 1; len(extra) > keep {
		surplus = slices.Clone(extra[keep:])
		tg.extra[v.Version] = extra[:keep:keep]
		tg.route(v.Version)
	}
	tg.mu.Unlock()
	d.terminateAll(ctx, surplus)
	for _, inst := range surplus {
		d.logf(t, v.Version, "floe: stopped extra instance pid %d", inst.pid)
	}
	return nil
}

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// all are the version's instances, the first first. Call with tg.mu held.
func (tg *target) all(version string) []*instance {
	inst := tg.instances[version]
	if inst == nil {
		return nil
	}
	return append([]*instance{inst}, tg.extra[version]...)
}

// route points the version's backend at all its instances. Call with tg.mu held.
func (tg *target) route(version string) {
	insts := tg.all(version)
	if len(insts) == 0 {
		return
	}
	addrs := make([]string, len(insts))
	for i, inst := range insts {
		addrs[i] = inst.addr
	}
	insts[0].backend.setAddrs(addrs)
}

// State reports the running versions, sorted, and the current split.
func (d *Driver) State(ctx context.Context, t driver.Target) (driver.State, error) {
	st := driver.State{Running: []string{}, Weights: map[string]int{}, Replicas: map[string]int{}}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	tg := d.lookup(t)
	if tg == nil {
		return st, nil
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	st.Running = tg.running()
	for v, w := range tg.weights {
		st.Weights[v] = w
	}
	for _, v := range st.Running {
		st.Replicas[v] = 1 + len(tg.extra[v])
	}
	return st, nil
}

// running lists the registered versions, sorted. Call with tg.mu held.
func (tg *target) running() []string {
	out := make([]string, 0, len(tg.instances))
	for v := range tg.instances {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// publish swaps in a routing table built from the current weights and
// instances. Call with tg.mu held.
func (tg *target) publish() {
	rt := &routeTable{target: tg.t.String()}
	for _, v := range driver.Sorted(tg.weights) {
		w := tg.weights[v]
		inst := tg.instances[v]
		if w <= 0 || inst == nil {
			continue
		}
		rt.total += w
		rt.routes = append(rt.routes, route{upTo: rt.total, backend: inst.backend})
	}
	tg.proxy.routes.Store(rt)
}

// Close shuts the proxies down and stops every process, waiting for Starts
// and Stops in progress. Processes still running when ctx ends are killed
// without grace. Calling Close again does nothing.
func (d *Driver) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.closing)
	proxies := make([]*proxy, 0, len(d.targets)+len(d.envProxies))
	for _, p := range d.envProxies {
		proxies = append(proxies, p)
	}
	targets := make([]*target, 0, len(d.targets))
	for _, tg := range d.targets {
		targets = append(targets, tg)
		if d.envProxies[tg.t.Environment] != tg.proxy {
			proxies = append(proxies, tg.proxy) // opened by ensureTarget
		}
	}
	d.mu.Unlock()

	var errs []error
	var errMu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range proxies {
		wg.Go(func() {
			if err := p.srv.Shutdown(ctx); err != nil {
				_ = p.srv.Close()
				if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
					errMu.Lock()
					errs = append(errs, fmt.Errorf("proxy %s: %w", p.addr, err))
					errMu.Unlock()
				}
			}
		})
	}
	wg.Wait()

	// Starts waiting for health are aborted by d.closing; Stops finish.
	waited := make(chan struct{})
	go func() { d.inflight.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		// Keep going: what is registered is stopped below; a Start still
		// in progress sees the driver closed and stops its own process.
	}

	for _, tg := range targets {
		tg.mu.Lock()
		insts := map[string][]*instance{}
		for v := range tg.instances {
			insts[v] = tg.all(v)
		}
		tg.instances = map[string]*instance{}
		tg.extra = map[string][]*instance{}
		tg.weights = map[string]int{}
		tg.publish()
		tg.mu.Unlock()
		for v, all := range insts {
			wg.Go(func() {
				d.terminateAll(ctx, all)
				d.metrics.weight.DeleteLabelValues(tg.t.Environment, tg.t.App, v)
			})
		}
	}
	wg.Wait()
	d.transport.CloseIdleConnections()
	return errors.Join(errs...)
}

// logf writes a note about a version of a target to the Logger.
func (d *Driver) logf(t driver.Target, version, format string, args ...any) {
	if d.cfg.Logger == nil {
		return
	}
	d.logLine(t, version, fmt.Sprintf(format, args...))
}

func (d *Driver) logLine(t driver.Target, version, line string) {
	if d.cfg.Logger == nil {
		return
	}
	d.logMu.Lock()
	defer d.logMu.Unlock()
	_, _ = io.WriteString(d.cfg.Logger, t.String()+" "+version+" | "+line+"\n")
}
