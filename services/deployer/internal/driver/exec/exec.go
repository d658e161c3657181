package execdriver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// DefaultTimeout bounds each command when Config.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// Config configures an exec Driver; see the package documentation for a
// worked example. Every command is a program and its arguments, each a
// text/template over Vars.
type Config struct {
	// Start brings a version up without traffic; required.
	Start []string
	// SetWeights sets one version's share of the traffic; it runs once per
	// running version, sorted, per SetWeights; required.
	SetWeights []string
	// Check checks a version's health: exit status 0 is healthy; required.
	Check []string
	// Stop removes a version; required.
	Stop []string
	// State prints the target's state as JSON, {"running": [...],
	// "weights": {...}}; optional: without it the driver keeps its own
	// record.
	State []string
	// Timeout bounds each command; default DefaultTimeout.
	Timeout time.Duration
	// Dir is the commands' working directory; default the deployer's.
	Dir string
	// Env are environment variables added to every command's environment.
	Env map[string]string
	// StateDir is where the driver keeps its record of each target, one JSON
	// file per target; optional (without it the record is in memory only).
	// New creates it if needed.
	StateDir string
	// Logger receives each command line and, after it ran, its output and
	// how it ended, one line per Write; optional.
	Logger io.Writer
}

// Driver is the exec driver; create it with New.
type Driver struct {
	cfg                                   Config
	start, setWeights, check, stop, state []*template.Template
	waitDelay                             time.Duration // see waitDelay; tests shorten it

	logMu sync.Mutex

	mu      sync.Mutex
	targets map[driver.Target]*target
}

var _ driver.Driver = (*Driver)(nil)

// target is the driver's view of one target.
type target struct {
	ops sync.Mutex // serializes Start, SetWeights and Stop

	mu     sync.Mutex // guards the fields below
	loaded bool
	rec    record
}

// New validates cfg, reporting every problem at once, creates StateDir if
// needed and returns a Driver.
func New(cfg Config) (*Driver, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	d := &Driver{cfg: cfg, waitDelay: waitDelay, targets: map[driver.Target]*target{}}
	for _, c := range []struct {
		op       string
		args     []string
		required bool
		dst      *[]*template.Template
	}{
		{opStart, cfg.Start, true, &d.start},
		{opSetWeights, cfg.SetWeights, true, &d.setWeights},
		{opCheck, cfg.Check, true, &d.check},
		{opStop, cfg.Stop, true, &d.stop},
		{opState, cfg.State, false, &d.state},
	} {
		if len(c.args) == 0 {
			if c.required {
				bad("%s is empty: it needs at least the program", c.op)
			}
			continue
		}
		if strings.TrimSpace(c.args[0]) == "" {
			bad("%s[0], the program, is empty", c.op)
		}
		*c.dst = parseCommand(c.op, c.args, bad)
	}
	if cfg.Timeout < 0 {
		bad("Timeout %v is negative", cfg.Timeout)
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			bad("Env: %q cannot be an environment variable name", k)
		}
		if strings.ContainsRune(cfg.Env[k], 0) {
			bad("Env: the value of %s contains a NUL byte", k)
		}
	}
	if cfg.Dir != "" {
		if fi, err := os.Stat(cfg.Dir); err != nil {
			bad("Dir: %v", err)
		} else if !fi.IsDir() {
			bad("Dir %s is not a directory", cfg.Dir)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("exec driver config: %w", errors.Join(problems...))
	}
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("exec driver config: StateDir: %w", err)
		}
	}
	return d, nil
}

// Name returns "exec".
func (d *Driver) Name() string { return "exec" }

// target returns t's target, loading its record from StateDir the first time.
func (d *Driver) target(t driver.Target) (*target, error) {
	if err := validTarget(t); err != nil {
		return nil, err
	}
	d.mu.Lock()
	tg, ok := d.targets[t]
	if !ok {
		tg = &target{}
		d.targets[t] = tg
	}
	d.mu.Unlock()

	tg.mu.Lock()
	defer tg.mu.Unlock()
	if !tg.loaded {
		rec, err := loadRecord(d.cfg.StateDir, t)
		if err != nil {
			return nil, err
		}
		tg.rec, tg.loaded = rec, true
	}
	return tg, nil
}

// update changes t's record with change, saves it to StateDir and keeps it
// in memory (also when saving fails, since the commands did run).
func (d *Driver) update(t driver.Target, tg *target, change func(*record)) error {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	rec := tg.rec.clone()
	change(&rec)
	tg.rec = rec
	return saveRecord(d.cfg.StateDir, t, rec)
}

// knows reports whether the record has the version.
func (tg *target) knows(version string) bool {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	_, ok := tg.rec.Versions[version]
	return ok
}

// info returns what the version was started with, if this driver knows.
func (tg *target) info(version string) versionInfo {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	info := tg.rec.Versions[version]
	return versionInfo{ReleaseID: info.ReleaseID, Config: maps.Clone(info.Config)}
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

// environ is a command's environment: the deployer's, then the version's
// Config, then its Secrets (Start only: a secret's value replaces its
// reference in Config), then Config.Env, then the FLOE_ variables.
func (d *Driver) environ(vars Vars, sets ...map[string]secrets.Value) []string {
	env := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(vars.Config)) {
		env = append(env, k+"="+vars.Config[k])
	}
	for _, s := range sets {
		env = driver.SecretEnv(env, s)
	}
	for _, k := range slices.Sorted(maps.Keys(d.cfg.Env)) {
		env = append(env, k+"="+d.cfg.Env[k])
	}
	weight := ""
	if vars.Split != nil {
		weight = strconv.Itoa(vars.Weight)
	}
	return append(env,
		"FLOE_APP="+vars.App,
		"FLOE_ENVIRONMENT="+vars.Environment,
		"FLOE_VERSION="+vars.Version,
		"FLOE_ARTIFACT="+vars.Artifact,
		"FLOE_RELEASE_ID="+vars.ReleaseID,
		"FLOE_WEIGHT="+weight,
		"FLOE_WEIGHTS="+vars.Weights,
	)
}

// versionVars are the variables of a command about one version.
func versionVars(t driver.Target, version string, info versionInfo) Vars {
	cfg := info.Config
	if cfg == nil {
		cfg = map[string]string{}
	}
	return Vars{App: t.App, Environment: t.Environment, Version: version, Artifact: driver.Artifact(version), ReleaseID: info.ReleaseID, Config: cfg}
}

// Start runs the Start command for v, unless v already runs in t (per
// State). It records v as running when the command succeeds.
func (d *Driver) Start(ctx context.Context, t driver.Target, v driver.Version) error {
	if err := errors.Join(validTarget(t), validVersion(v)); err != nil {
		return opError(opStart, t, v.Version, err)
	}
	tg, err := d.target(t)
	if err != nil {
		return opError(opStart, t, v.Version, err)
	}
	tg.ops.Lock()
	defer tg.ops.Unlock()

	st, err := d.currentState(ctx, t, tg)
	if err != nil {
		return opError(opStart, t, v.Version, err)
	}
	info := versionInfo{ReleaseID: v.ReleaseID, Config: maps.Clone(v.Config)}
	if slices.Contains(st.Running, v.Version) {
		// Already running. If it was started by other means (the State
		// command says so), learn what it runs with from this.
		if !tg.knows(v.Version) {
			if err := d.update(t, tg, func(r *record) { r.Versions[v.Version] = info }); err != nil {
				return opError(opStart, t, v.Version, err)
			}
		}
		return nil
	}
	vars := versionVars(t, v.Version, info)
	// The secrets go into the Start command's environment only: not into
	// vars (templates, the logged command line, errors) nor the record.
	if _, err := d.run(ctx, call{op: opStart, target: t, version: v.Version, tmpls: d.start, vars: vars, env: d.environ(vars, v.Secrets)}); err != nil {
		return opError(opStart, t, v.Version, err)
	}
	if err := d.update(t, tg, func(r *record) { r.Versions[v.Version] = info }); err != nil {
		return opError(opStart, t, v.Version, fmt.Errorf("the Start command succeeded, but: %w", err))
	}
	return nil
}

// SetWeights validates the split against the running versions (per State)
// and then runs the SetWeights command once per running version, sorted,
// with its weight (0 for those the split does not name). It records the
// split when every command succeeded.
func (d *Driver) SetWeights(ctx context.Context, t driver.Target, weights map[string]int) error {
	tg, err := d.target(t)
	if err != nil {
		return opError(opSetWeights, t, "", err)
	}
	tg.ops.Lock()
	defer tg.ops.Unlock()

	st, err := d.currentState(ctx, t, tg)
	if err != nil {
		return opError(opSetWeights, t, "", err)
	}
	if err := driver.ValidateWeights(weights, st.Running); err != nil {
		return opError(opSetWeights, t, "", err)
	}
	split := make([]Share, 0, len(st.Running))
	for _, v := range st.Running { // sorted
		split = append(split, Share{Version: v, Weight: weights[v]})
	}
	positive := map[string]int{}
	for _, s := range split {
		if s.Weight > 0 {
			positive[s.Version] = s.Weight
		}
	}
	if d.state == nil {
		// Until every command succeeded, the platform may have any mix of
		// the old split and this one: note it, so that Stop stays careful.
		// Failing to save the note does not stop a SetWeights (it may be a
		// rollback); the note is kept in memory all the same.
		if err := d.update(t, tg, func(r *record) {
			if r.Unsettled == nil {
				r.Unsettled = map[string]int{}
			}
			for v, w := range positive {
				r.Unsettled[v] = max(r.Unsettled[v], w)
			}
		}); err != nil {
			d.log(fmt.Sprintf("%s SetWeights: %v", t, err))
		}
	}

	all := formatWeights(split)
	for i, s := range split {
		info := tg.info(s.Version)
		vars := versionVars(t, s.Version, info)
		vars.Weight, vars.Weights, vars.Split = s.Weight, all, slices.Clone(split)
		if _, err := d.run(ctx, call{op: opSetWeights, target: t, version: s.Version, tmpls: d.setWeights, vars: vars, env: d.environ(vars)}); err != nil {
			if i > 0 {
				err = fmt.Errorf("the split %s is half applied (the commands for %s succeeded): %w", all, versionsOf(split[:i]), err)
			}
			return opError(opSetWeights, t, s.Version, err)
		}
	}
	if err := d.update(t, tg, func(r *record) {
		r.Weights = positive
		r.Unsettled = nil
	}); err != nil {
		return opError(opSetWeights, t, "", fmt.Errorf("the SetWeights commands succeeded, but: %w", err))
	}
	return nil
}

func versionsOf(split []Share) string {
	vs := make([]string, len(split))
	for i, s := range split {
		vs[i] = s.Version
	}
	return strings.Join(vs, ", ")
}

// Check runs the Check command for a running version: nil when it exits
// with status 0, else a *CommandError with its output. A version that does
// not run (per State) gets an error wrapping driver.ErrNotRunning.
func (d *Driver) Check(ctx context.Context, t driver.Target, version string) error {
	tg, err := d.target(t)
	if err != nil {
		return opError(opCheck, t, version, err)
	}
	st, err := d.currentState(ctx, t, tg)
	if err != nil {
		return opError(opCheck, t, version, err)
	}
	if !slices.Contains(st.Running, version) {
		return opError(opCheck, t, version, driver.ErrNotRunning)
	}
	vars := versionVars(t, version, tg.info(version))
	if _, err := d.run(ctx, call{op: opCheck, target: t, version: version, tmpls: d.check, vars: vars, env: d.environ(vars)}); err != nil {
		return opError(opCheck, t, version, err)
	}
	return nil
}

// Stop runs the Stop command for a running version without weight (per
// State); it refuses a version with weight and does nothing for one that
// does not run.
func (d *Driver) Stop(ctx context.Context, t driver.Target, version string) error {
	tg, err := d.target(t)
	if err != nil {
		return opError(opStop, t, version, err)
	}
	tg.ops.Lock()
	defer tg.ops.Unlock()

	st, err := d.currentState(ctx, t, tg)
	if err != nil {
		return opError(opStop, t, version, err)
	}
	if !slices.Contains(st.Running, version) {
		return nil
	}
	if w := st.Weights[version]; w > 0 {
		return opError(opStop, t, version, fmt.Errorf("it still carries %d%% of the traffic; move its weight to other versions first", w))
	}
	if d.state == nil {
		tg.mu.Lock()
		w := tg.rec.Unsettled[version]
		tg.mu.Unlock()
		if w > 0 {
			return opError(opStop, t, version, fmt.Errorf("a SetWeights that failed may have given it up to %d%% of the traffic; set the weights again first", w))
		}
	}
	vars := versionVars(t, version, tg.info(version))
	if _, err := d.run(ctx, call{op: opStop, target: t, version: version, tmpls: d.stop, vars: vars, env: d.environ(vars)}); err != nil {
		return opError(opStop, t, version, err)
	}
	if err := d.update(t, tg, func(r *record) {
		delete(r.Versions, version)
		delete(r.Weights, version)
	}); err != nil {
		return opError(opStop, t, version, fmt.Errorf("the Stop command succeeded, but: %w", err))
	}
	return nil
}

// State reports what runs in t and how traffic is split: the State
// command's answer, or the driver's record without one.
func (d *Driver) State(ctx context.Context, t driver.Target) (driver.State, error) {
	tg, err := d.target(t)
	if err != nil {
		return driver.State{}, opError(opState, t, "", err)
	}
	st, err := d.currentState(ctx, t, tg)
	if err != nil {
		return driver.State{}, opError(opState, t, "", err)
	}
	return st, nil
}

// currentState runs the State command, or reads the record without one.
func (d *Driver) currentState(ctx context.Context, t driver.Target, tg *target) (driver.State, error) {
	if d.state == nil {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		st := driver.State{Running: []string{}, Weights: map[string]int{}}
		st.Running = append(st.Running, slices.Sorted(maps.Keys(tg.rec.Versions))...)
		maps.Copy(st.Weights, tg.rec.Weights)
		return st, nil
	}
	if err := ctx.Err(); err != nil {
		return driver.State{}, err
	}
	stdout := &capBuffer{max: maxStateOutput}
	vars := Vars{App: t.App, Environment: t.Environment}
	argv, err := d.run(ctx, call{op: opState, target: t, tmpls: d.state, vars: vars, env: d.environ(vars), stdout: stdout})
	if err != nil {
		return driver.State{}, err
	}
	if stdout.over {
		return driver.State{}, fmt.Errorf("State command %s printed more than %d bytes", quoteArgs(argv), maxStateOutput)
	}
	st, err := parseState(stdout.buf.Bytes())
	if err != nil {
		return driver.State{}, fmt.Errorf("State command %s printed %s: %w", quoteArgs(argv), snippet(stdout.buf.Bytes()), err)
	}
	return st, nil
}

// stateOutput is what the State command prints.
type stateOutput struct {
	Running []string       `json:"running"`
	Weights map[string]int `json:"weights"`
}

// parseState parses and checks the State command's output.
func parseState(out []byte) (driver.State, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return driver.State{}, errors.New(`want a JSON object like {"running": ["1.0.0"], "weights": {"1.0.0": 100}}`)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var so stateOutput
	if err := dec.Decode(&so); err != nil {
		return driver.State{}, fmt.Errorf(`want a JSON object like {"running": ["1.0.0"], "weights": {"1.0.0": 100}}: %w`, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return driver.State{}, errors.New("want one JSON object and nothing after it")
	}
	st := driver.State{Running: []string{}, Weights: map[string]int{}}
	var problems []error
	for _, v := range so.Running {
		if v == "" {
			problems = append(problems, errors.New(`"running" lists an empty version`))
			continue
		}
		if !slices.Contains(st.Running, v) {
			st.Running = append(st.Running, v)
		}
	}
	slices.Sort(st.Running)
	for _, v := range slices.Sorted(maps.Keys(so.Weights)) {
		w := so.Weights[v]
		if w < 0 || w > 100 {
			problems = append(problems, fmt.Errorf("the weight of %s is %d; weights are 0-100", v, w))
		}
		st.Weights[v] = w
	}
	return st, errors.Join(problems...)
}

// snippet quotes the start of a command's output for an error message.
func snippet(out []byte) string {
	const max = 200
	if len(out) > max {
		return strconv.Quote(string(out[:max])) + "…"
	}
	return strconv.Quote(string(out))
}
