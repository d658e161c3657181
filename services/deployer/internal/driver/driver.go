// Package driver is the deployer's port to the platform that runs releases:
// start a version without traffic, split traffic between versions by weight,
// check a version's health, stop it. Strategies (rolling update, blue-green,
// canary, feature-flag, big-bang) are sequences of these operations, so every
// driver runs every strategy.
//
// Implementations: local (processes on this machine behind a weighted reverse
// proxy; what floe dev, the demo and the end-to-end tests use) and exec (user
// commands per operation: kubectl, helm, scripts). A Kubernetes driver comes
// later. Each passes drivertest.Run.
package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/penguinmails/floe/libs/secrets"
)

// Target is where versions run: one application in one environment.
type Target struct {
	// Environment, e.g. "staging".
	Environment string
	// App is the application's name, e.g. "penguinmails".
	App string
}

func (t Target) String() string { return t.App + "@" + t.Environment }

// Version is one release of the application to run.
type Version struct {
	// Version is the release's semver; it identifies the version within a target.
	Version string
	// ReleaseID is the release aggregate id.
	ReleaseID string
	// Config is passed to the version's instances (the local driver sets them
	// as environment variables; the exec driver as template variables and
	// environment variables of its commands). It never holds a secret value:
	// a configuration's secret references stay here as references
	// (secret://db/password), and drivers may log, render and keep Config.
	Config map[string]string
	// Secrets are the resolved values of Config's secret references, by
	// environment variable name (the same name as in Config, whose value they
	// replace in the instances' environment). A driver puts them only into
	// the started process's environment — never into templates, records,
	// logs or errors — and keeps no copy.
	Secrets map[string]secrets.Value
}

// A configuration-only rollout runs a release's artifact again with another
// configuration version, under a version of its own: the artifact's version
// with the build metadata "config.<N>" added ("1.2.0+config.3",
// "1.2.0+build.7.config.3"). Drivers name instances by Version and run
// Artifact(Version): the release's artifact (image tag, binary).

// WithConfig is the version of artifact run with configuration version n.
func WithConfig(artifact string, n uint64) string {
	base := Artifact(artifact)
	sep := "+"
	if strings.Contains(base, "+") {
		sep = "."
	}
	return base + sep + "config." + strconv.FormatUint(n, 10)
}

// Artifact is the release version a version runs: version without the
// build metadata identifiers "config.<N>" WithConfig added.
func Artifact(version string) string {
	plus := strings.IndexByte(version, '+')
	if plus < 0 {
		return version
	}
	ids := strings.Split(version[plus+1:], ".")
	if n := len(ids); n >= 2 && ids[n-2] == "config" && isDigits(ids[n-1]) {
		if n == 2 {
			return version[:plus]
		}
		return version[:plus+1] + strings.Join(ids[:n-2], ".")
	}
	return version
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// State is what runs in a target now.
type State struct {
	// Running are the versions with instances, sorted.
	Running []string
	// Weights is the traffic split, version → percent, summing to 100 when
	// any traffic is routed.
	Weights map[string]int
	// Replicas is each running version's number of instances, from drivers
	// that are Scalers (nil from the others).
	Replicas map[string]int
}

// Driver runs versions of an application. Every method is idempotent — the
// deployer may repeat an operation after a crash — and safe for concurrent use
// on different targets.
type Driver interface {
	// Name identifies the driver ("local", "exec").
	Name() string
	// Start brings up v in t without routing traffic to it. Starting a running
	// version does nothing.
	Start(ctx context.Context, t Target, v Version) error
	// SetWeights routes traffic: version → percent, summing to 100, every
	// version running. It replaces the previous split.
	SetWeights(ctx context.Context, t Target, weights map[string]int) error
	// Check runs the version's health checks: nil when healthy, else an error
	// saying what failed.
	Check(ctx context.Context, t Target, version string) error
	// Stop removes the version's instances; it must carry no traffic. Stopping
	// a version that does not run does nothing.
	Stop(ctx context.Context, t Target, version string) error
	// State reports what runs and how traffic is split.
	State(ctx context.Context, t Target) (State, error)
}

// Scaler is a Driver that can run more than one instance of a version
// (the monitor's scale_up trigger action). It is optional: where the driver
// is not one, the deployer answers scale_up with ScaleUpRefused.
type Scaler interface {
	Driver
	// Scale makes replicas (≥ 1) instances of the running version
	// v.Version share that version's traffic: it starts the missing ones,
	// with v's configuration and secrets, and waits until they are healthy,
	// or stops the extra ones. Scaling to the current number does nothing;
	// a version that does not run is ErrNotRunning. Stop stops every
	// instance, and Check checks every one.
	Scale(ctx context.Context, t Target, v Version, replicas int) error
}

// Releaser is a Driver that holds resources for a target in this process
// (the local driver: its processes and its proxy). When another deployer
// instance takes the target over, this one releases it: its instances stop
// and what it held is freed, so that the new owner can start them again.
type Releaser interface {
	Release(ctx context.Context, t Target) error
}

// ErrTransient is returned (wrapped) when an operation could not be done
// now but may succeed when repeated (a proxy's address still held by the
// target's previous owner): the deployer retries instead of rolling back.
var ErrTransient = errors.New("temporarily unavailable")

// ErrNotRunning is returned (wrapped) when an operation names a version that does not run.
var ErrNotRunning = errors.New("version is not running")

// ValidateWeights checks a split: non-negative, summing to 100, only running versions.
func ValidateWeights(weights map[string]int, running []string) error {
	total := 0
	for v, w := range weights {
		if w < 0 || w > 100 {
			return fmt.Errorf("weight of %s is %d; weights are 0-100", v, w)
		}
		if !contains(running, v) {
			return fmt.Errorf("cannot route to %s: %w", v, ErrNotRunning)
		}
		total += w
	}
	if total != 100 {
		return fmt.Errorf("weights sum to %d, not 100", total)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Sorted returns the map's keys in order.
func Sorted(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ValidSecrets checks that every secret can be an environment variable of a
// process; its errors name variables, never values.
func ValidSecrets(s map[string]secrets.Value) error {
	var problems []error
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			problems = append(problems, fmt.Errorf("secret variable %q cannot be an environment variable name", k))
		}
		if bytes.IndexByte(s[k].Reveal(), 0) >= 0 {
			problems = append(problems, fmt.Errorf("the secret value of %s contains a NUL byte", k))
		}
	}
	return errors.Join(problems...)
}

// SecretEnv appends name=value for each secret to env, in name order: the
// values are revealed here, for a process's environment only.
func SecretEnv(env []string, s map[string]secrets.Value) []string {
	for _, k := range slices.Sorted(maps.Keys(s)) {
		env = append(env, k+"="+string(s[k].Reveal()))
	}
	return env
}
