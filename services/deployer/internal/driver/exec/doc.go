// Package execdriver is the deployer's exec driver: every operation of
// driver.Driver runs a command the operator configures — kubectl, helm, a
// script — so Floe can drive any platform it can reach from a command line.
// It passes drivertest.Run.
//
// # Configuration
//
// New takes a Config and reports every problem in it at once. Start,
// SetWeights, Check and Stop are required commands; State is optional (see
// "State" below). Each command is a program and its arguments, []string, run
// without a shell; every element is a text/template rendered per run with
// these variables (the fields of Vars):
//
//	{{.App}}          the target's application, e.g. "penguinmails"
//	{{.Environment}}  the target's environment, e.g. "staging"
//	{{.Version}}      the version operated on, e.g. "1.2.0"
//	{{.Artifact}}     the release version it runs: {{.Version}} without the
//	                  "+config.<N>" of a configuration-only rollout (use it
//	                  for image tags; {{.Version}} to name instances)
//	{{.ReleaseID}}    its release id
//	{{.Config.KEY}}   a value of its Version.Config
//	{{.Weight}}       SetWeights: this version's percent of the traffic
//	{{.Weights}}      SetWeights: the whole split, "1.1.0=20,1.2.0=80"
//	{{.Split}}        SetWeights: the whole split as a list of {Version, Weight}
//
// Not every variable exists in every command; New refuses a template that
// uses one where it does not (e.g. {{.Weight}} in Start, or {{.Version}} in
// State, which is about the whole target). Version.Config is given to Start;
// Check, Stop and SetWeights get the Config (and ReleaseID) the version was
// started with, when this driver started it (the driver remembers them with
// its record, below); otherwise they are empty. {{.Config.KEY}} fails the
// command when KEY is missing; {{index .Config "KEY"}} renders "" instead.
//
// Every command also gets, as environment variables: the deployer's
// environment, then Version.Config, then — for the Start command only —
// Version.Secrets (the values of Config's secret references, each replacing
// its reference: never a template variable, never in the logged command line,
// an error or the record; later commands do not get them), then Config.Env
// (which wins over Version.Config), then FLOE_APP, FLOE_ENVIRONMENT, FLOE_VERSION, FLOE_ARTIFACT,
// FLOE_RELEASE_ID, FLOE_WEIGHT and FLOE_WEIGHTS (which win over both; they are
// set to "" where the variable does not apply).
//
// A worked example, for a Helm chart per version behind an Istio
// VirtualService (the JSON patch is one argument, shown here over several
// lines):
//
//	execdriver.Config{
//		Start: []string{"helm", "upgrade", "--install", "--wait",
//			"{{.App}}-{{.Version}}", "./chart",
//			"--set", "image.tag={{.Version}}",
//			"--set", "replicas={{index .Config \"REPLICAS\"}}",
//			"-n", "{{.Environment}}"},
//		SetWeights: []string{"kubectl", "-n", "{{.Environment}}",
//			"patch", "virtualservice", "{{.App}}", "--type=json", "-p",
//			`[{"op": "replace", "path": "/spec/http/0/route", "value": [
//			    {{range $i, $s := .Split}}{{if $i}},{{end}}
//			    {"destination": {"host": "{{$.App}}-{{$s.Version}}"}, "weight": {{$s.Weight}}}
//			    {{end}}]},
//			  {"op": "add", "path": "/metadata/annotations/floe.dev~1weights", "value": "{{.Weights}}"}]`},
//		Check: []string{"kubectl", "-n", "{{.Environment}}", "rollout", "status",
//			"deployment/{{.App}}-{{.Version}}", "--timeout=30s"},
//		Stop:  []string{"helm", "uninstall", "{{.App}}-{{.Version}}", "-n", "{{.Environment}}"},
//		State: []string{"./scripts/floe-state.sh", "{{.App}}", "{{.Environment}}"},
//		Timeout:  5 * time.Minute,
//		Dir:      "/srv/deploy",
//		Env:      map[string]string{"KUBECONFIG": "/etc/floe/kubeconfig"},
//		StateDir: "/var/lib/floe/exec-driver",
//		Logger:   os.Stderr,
//	}
//
// A script that takes the whole split is just as easy: ["./set-weights.sh",
// "{{.Weights}}"], or read FLOE_WEIGHTS.
//
// The other fields: Timeout bounds each command (default 2m); Dir is the
// commands' working directory (a relative program path such as
// "./scripts/x.sh" is relative to it); Env adds environment variables;
// StateDir is where the driver keeps its record (below); Logger receives each
// command line before it runs and, after, its output and how it ended, one
// line per Write, prefixed with the target, the operation and the version.
//
// # Running commands
//
// The rendered arguments are run directly (exec.Command, no shell: quoting
// and globbing do not happen; a template renders exactly one argument),
// with stdin empty and stdout and stderr captured together; the last 64 KiB
// (MaxOutput) of that output are kept for the Logger and for errors. Each
// command runs in its own process group. When it exceeds Timeout, or the
// operation's context ends, the whole group is killed with SIGKILL, so a
// script's children go too. Processes that a command leaves behind after it
// exits on its own are not touched; if they keep its output open, the driver
// stops reading 2 seconds after the command exited.
//
// A command fails when it exits with a non-zero status, is killed, times out
// or cannot start; the error is a *CommandError (use errors.As) naming the
// operation, the target, the version, the rendered command, the exit status
// or the timeout, and the last lines of the output. A timeout's error wraps
// context.DeadlineExceeded; an interrupted command's error wraps the
// context's error.
//
// # Operations
//
// Start runs the Start command, unless State says the version already runs.
// It should return once the version is up (helm --wait, kubectl rollout
// status), because the deployer checks it next. Starting a running version
// does nothing, even with a different Version.Config.
//
// SetWeights validates the split with driver.ValidateWeights against the
// running versions (per State) and only then runs the SetWeights command,
// once per running version, in sorted order, with that version's weight — a
// running version the split does not name gets weight 0, so a platform set
// one version at a time also ends up with exactly the split asked for.
// {{.Weights}} and {{.Split}} likewise list every running version. A command
// that sets the whole split ({{.Weights}}, {{.Split}}) is therefore run
// several times with the same arguments, so it must be idempotent, as
// kubectl patch and helm upgrade are. If one of the commands fails the
// split may be half applied; the error says so and the deployer retries.
//
// Check runs the Check command for a running version: exit status 0 is
// healthy, anything else is not, and the error includes the command's output.
// A version that does not run (per State) is reported with an error wrapping
// driver.ErrNotRunning without running the command. Use ["true"] for a
// platform whose Start already waits for readiness and has nothing else to
// check.
//
// Stop refuses a version that still has weight (per State), and does nothing
// for a version that does not run; otherwise it runs the Stop command.
//
// Start, SetWeights and Stop of one target are serialized: they read State,
// decide, run their commands and record the outcome one at a time. Check and
// State do not wait for them. Operations on different targets run
// concurrently.
//
// # State
//
// The driver needs to know what runs and how traffic is split: to report it,
// to keep Start idempotent, to validate SetWeights and to refuse to Stop a
// version with traffic. It learns that in one of two ways.
//
// With a State command, the platform is the authority. The command runs for
// every State, Start, SetWeights, Check and Stop, and must print on stdout a
// JSON object such as
//
//	{"running": ["1.1.0", "1.2.0"], "weights": {"1.1.0": 90, "1.2.0": 10}}
//
// (other fields are ignored; weights must be 0-100). This costs a command per
// operation and a script that can ask the platform, but it sees everything:
// versions started or stopped by hand or by another deployer, and what a
// half-failed command really left behind. With a per-version SetWeights
// command, a State that runs while SetWeights is in progress may see a split
// that is half applied.
//
// Without a State command, the driver keeps its own record of each target:
// the versions whose Start succeeded and whose Stop did not (yet), and the
// last split whose SetWeights succeeded. No command runs for State, and
// Check runs only the Check command. But the record only knows what this
// driver did: changes made on the platform by other means are invisible to
// it, and a command that failed half way is assumed to have changed nothing
// (except that after a failed SetWeights, Stop refuses every version that the
// failed split may have given traffic, until a SetWeights succeeds). The
// record lives in memory and, if StateDir is set, in one JSON file per
// target there (written atomically: a temporary file, fsync, rename), so a
// deployer that restarts remembers what runs; without StateDir a restarted
// deployer believes nothing runs. Only one deployer may use a StateDir at a
// time: the files are read once per target and then kept in memory.
//
// The record also keeps the ReleaseID and Version.Config of each version
// this driver started (also with a State command), for the templates of the
// later operations; so a StateDir holds the versions' configuration, written
// with mode 0600.
package execdriver
