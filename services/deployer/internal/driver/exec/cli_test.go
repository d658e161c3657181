//go:build unix

package execdriver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The test binary is also the platform CLI the tests drive: with
// FLOE_EXECDRIVER_TEST_CLI=1 in its environment it runs fakeCLI instead of
// the tests, so the tests depend on nothing outside this package.
const cliEnv = "FLOE_EXECDRIVER_TEST_CLI"

// platformDirEnv names the directory of the fake platform's state files, one
// per target (platformFile).
const platformDirEnv = "FAKE_PLATFORM_DIR"

// platform is the fake platform's state of one target.
type platform struct {
	Running map[string]*instance `json:"running"`
	Weights map[string]int       `json:"weights"`
}

// instance is a version on the fake platform.
type instance struct {
	Healthy   bool   `json:"healthy"`
	ReleaseID string `json:"release_id"`
	Starts    int    `json:"starts"` // how many times start ran for it
}

// platformFile is the state file of a target of the fake platform.
func platformFile(dir, app, env string) string {
	return filepath.Join(dir, escapeName(app)+"@"+escapeName(env)+".platform.json")
}

func readPlatform(path string) (*platform, error) {
	p := &platform{Running: map[string]*instance{}, Weights: map[string]int{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// writeAtomically replaces the file, so that readers (the tests' Hit) never
// see half of it.
func writeAtomically(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// fakeCLI is a tiny platform CLI. Its state is a JSON file per target in
// $FAKE_PLATFORM_DIR, the target named by FLOE_APP and FLOE_ENVIRONMENT:
//
//	start VERSION                start VERSION; it is unhealthy if $HEALTHY is "false"
//	weights VERSION WEIGHT SPLIT set the split SPLIT ("1.0.0=20,1.1.0=80"), all at once;
//	                             fails if VERSION's weight in SPLIT is not WEIGHT, or if
//	                             $FAIL_SET_WEIGHTS is "true"
//	check VERSION                exit 0 if VERSION is healthy, 1 if not, 2 if it does not run
//	stop VERSION                 stop VERSION; fails if it has weight
//	state                        print {"running": [...], "weights": {...}}
//
// and some commands for the tests of the driver itself:
//
//	record FILE ARGS...          append {"args": ARGS, "env": {...}} to FILE as one
//	                             line, then print $FAKE_STDOUT
//	fail CODE                    print 2000 numbered lines to stdout and stderr, exit CODE
//	spawn PIDFILE                start a child that sleeps, write its pid to PIDFILE, sleep
//	daemon PIDFILE               start a child that sleeps holding stdout open, write
//	                             its pid to PIDFILE, exit 0
func fakeCLI(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: fakecli start|weights|check|stop|state|record|fail|spawn|daemon ...")
		return 2
	}
	die := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "fakecli %s: %s\n", args[0], fmt.Sprintf(format, a...))
		return 1
	}
	switch args[0] {
	case "record":
		return recordCall(args[1:])
	case "fail":
		code, _ := strconv.Atoi(args[1])
		for i := 1; i <= 2000; i++ {
			fmt.Printf("output line %04d of the failing command, on stdout\n", i)
			fmt.Fprintf(os.Stderr, "output line %04d of the failing command, on stderr\n", i)
		}
		fmt.Println("the very last line")
		return code
	case "spawn", "daemon":
		exe, err := os.Executable()
		if err != nil {
			return die("%v", err)
		}
		child := exec.Command(exe)
		child.Env = append(os.Environ(), cliEnv+"=sleep")
		if args[0] == "daemon" {
			child.Stdout = os.Stdout
		}
		if err := child.Start(); err != nil {
			return die("%v", err)
		}
		if err := writeAtomically(args[1], []byte(strconv.Itoa(child.Process.Pid))); err != nil {
			return die("%v", err)
		}
		fmt.Println("spawned", child.Process.Pid)
		if args[0] == "daemon" {
			return 0
		}
		time.Sleep(time.Hour)
		return 0
	}

	path := platformFile(os.Getenv(platformDirEnv), os.Getenv("FLOE_APP"), os.Getenv("FLOE_ENVIRONMENT"))
	p, err := readPlatform(path)
	if err != nil {
		return die("%v", err)
	}
	save := func() int {
		data, err := json.Marshal(p)
		if err != nil {
			return die("%v", err)
		}
		if err := writeAtomically(path, data); err != nil {
			return die("%v", err)
		}
		return 0
	}
	version := ""
	if len(args) > 1 {
		version = args[1]
	}
	if os.Getenv("FLOE_VERSION") != version {
		return die("FLOE_VERSION is %q, the argument %q", os.Getenv("FLOE_VERSION"), version)
	}
	switch args[0] {
	case "start":
		inst := p.Running[version]
		if inst == nil {
			inst = &instance{}
			p.Running[version] = inst
		}
		inst.Healthy = os.Getenv("HEALTHY") != "false"
		inst.ReleaseID = os.Getenv("FLOE_RELEASE_ID")
		inst.Starts++
		fmt.Println("started", version)
		return save()
	case "weights":
		if os.Getenv("FAIL_SET_WEIGHTS") == "true" {
			return die("cannot set the weight of %s: FAIL_SET_WEIGHTS is true", version)
		}
		weight, split := args[2], args[3]
		if os.Getenv("FLOE_WEIGHT") != weight || os.Getenv("FLOE_WEIGHTS") != split {
			return die("FLOE_WEIGHT %q and FLOE_WEIGHTS %q; the arguments are %q and %q", os.Getenv("FLOE_WEIGHT"), os.Getenv("FLOE_WEIGHTS"), weight, split)
		}
		weights, err := parseSplit(split)
		if err != nil {
			return die("%v", err)
		}
		if w, ok := weights[version]; !ok || strconv.Itoa(w) != weight {
			return die("the weight of %s is %s, but the split is %s", version, weight, split)
		}
		total := 0
		for v, w := range weights {
			if p.Running[v] == nil {
				return die("%s does not run", v)
			}
			total += w
		}
		if total != 100 {
			return die("the split %s sums to %d", split, total)
		}
		maps.DeleteFunc(weights, func(_ string, w int) bool { return w == 0 })
		p.Weights = weights
		return save()
	case "check":
		inst := p.Running[version]
		switch {
		case inst == nil:
			fmt.Fprintln(os.Stderr, version, "does not run")
			return 2
		case !inst.Healthy:
			fmt.Println("probing", version)
			fmt.Fprintln(os.Stderr, version, "is unhealthy: it was started with HEALTHY=false")
			return 1
		}
		fmt.Println(version, "is healthy")
		return 0
	case "stop":
		if w := p.Weights[version]; w > 0 {
			return die("%s still has %d%% of the traffic", version, w)
		}
		delete(p.Running, version)
		delete(p.Weights, version)
		fmt.Println("stopped", version)
		return save()
	case "state":
		out, err := json.Marshal(map[string]any{"running": slices.Sorted(maps.Keys(p.Running)), "weights": p.Weights})
		if err != nil {
			return die("%v", err)
		}
		fmt.Println(string(out))
		return 0
	}
	return die("unknown command")
}

// parseSplit parses "1.0.0=20,1.1.0=80".
func parseSplit(s string) (map[string]int, error) {
	out := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		v, w, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad split %q", s)
		}
		out[v] = n
	}
	return out, nil
}

// recordedEnv are the variables record writes down.
var recordedEnv = []string{
	"FLOE_APP", "FLOE_ENVIRONMENT", "FLOE_VERSION", "FLOE_RELEASE_ID", "FLOE_WEIGHT", "FLOE_WEIGHTS",
	"GREETING", "EXTRA",
}

// recordedCall is one line written by record.
type recordedCall struct {
	Args []string          `json:"args"`
	Env  map[string]string `json:"env"`
}

func recordCall(args []string) int {
	c := recordedCall{Args: args[1:], Env: map[string]string{}}
	for _, k := range recordedEnv {
		if v, ok := os.LookupEnv(k); ok {
			c.Env[k] = v
		}
	}
	line, err := json.Marshal(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Print(os.Getenv("FAKE_STDOUT"))
	return 0
}

// sleeper is the child of spawn and daemon: it waits for a signal that ends
// it.
func sleeper() int {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
	return 0
}
