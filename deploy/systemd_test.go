package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
)

// The directives a Floe unit may use, per section (a misspelt one fails),
// and those that may be given more than once.
var (
	unitDirectives = map[string][]string{
		"Unit": {"Description", "Documentation", "Wants", "After", "Requires", "Before", "PartOf", "StartLimitIntervalSec", "StartLimitBurst"},
		"Service": {"Type", "User", "Group", "StateDirectory", "StateDirectoryMode", "WorkingDirectory", "Environment", "EnvironmentFile",
			"ExecStart", "ExecReload", "Restart", "RestartSec", "KillSignal", "KillMode", "TimeoutStartSec", "TimeoutStopSec", "LimitNOFILE", "UMask",
			"NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules",
			"ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc", "RestrictNamespaces", "RestrictRealtime",
			"RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "CapabilityBoundingSet", "AmbientCapabilities",
			"RestrictAddressFamilies", "SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "ReadWritePaths", "ReadOnlyPaths"},
		"Install": {"WantedBy"},
	}
	repeatable = []string{"Documentation", "Wants", "After", "Environment", "SystemCallFilter", "ReadWritePaths", "ReadOnlyPaths"}
)

// unitFile is a parsed unit: section → directive → values.
type unitFile map[string]map[string][]string

func (u unitFile) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// words are the space-separated values of a directive, over all its lines.
func (u unitFile) words(section, key string) []string {
	var out []string
	for _, v := range u[section][key] {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

func parseUnit(t *testing.T, file string) unitFile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(file), err)
	}
	u := unitFile{}
	for _, o := range opts {
		known, ok := unitDirectives[o.Section]
		if !ok {
			t.Errorf("%s: section [%s] is not one a Floe unit has", filepath.Base(file), o.Section)
			continue
		}
		if !slices.Contains(known, o.Name) {
			t.Errorf("%s: [%s] %s is not a directive this test knows (misspelt?)", filepath.Base(file), o.Section, o.Name)
		}
		if u[o.Section] == nil {
			u[o.Section] = map[string][]string{}
		}
		if len(u[o.Section][o.Name]) > 0 && !slices.Contains(repeatable, o.Name) {
			t.Errorf("%s: [%s] %s given twice", filepath.Base(file), o.Section, o.Name)
		}
		u[o.Section][o.Name] = append(u[o.Section][o.Name], o.Value)
	}
	return u
}

// timeSpan parses a systemd time span ("30s", "1min 30s", "90").
func timeSpan(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	var total time.Duration
	for _, f := range strings.Fields(s) {
		f = strings.Replace(strings.Replace(f, "min", "m", 1), "sec", "s", 1)
		d, err := time.ParseDuration(f)
		if err != nil {
			return 0, fmt.Errorf("time span %q: %w", s, err)
		}
		total += d
	}
	return total, nil
}

// envExample is a parsed *.env.example: every variable named (set or shown
// commented out) and the ones set.
type envExample struct {
	named []string
	set   map[string]string
}

var envLine = regexp.MustCompile(`^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$`)

func parseEnvExample(t *testing.T, file string) envExample {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ex := envExample{set: map[string]string{}}
	prev := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if mv := envLine.FindStringSubmatch(line); mv != nil {
			name := mv[2]
			if slices.Contains(ex.named, name) {
				t.Errorf("%s:%d: %s named twice", filepath.Base(file), n, name)
			}
			ex.named = append(ex.named, name)
			if mv[1] == "" {
				ex.set[name] = mv[3]
			}
			if !strings.HasPrefix(prev, "# ") || envLine.MatchString(prev) {
				t.Errorf("%s:%d: %s has no comment saying what it is on the line above", filepath.Base(file), n, name)
			}
		} else if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("%s:%d: %q is neither a comment nor NAME=value", filepath.Base(file), n, line)
		}
		prev = line
	}
	return ex
}

func TestSystemdServiceUnits(t *testing.T) {
	dir := filepath.Join(deployRoot(t), "systemd")
	listen := map[string]string{} // address → who listens on it
	grpcAddr := map[string]string{}
	var notifierRelease string
	for _, svc := range services {
		t.Run(svc, func(t *testing.T) {
			cfg := serviceConfig(t, svc)
			u := parseUnit(t, filepath.Join(dir, "floe-"+svc+".service"))
			checkUnitCommon(t, u)
			if got := u.get("Service", "ExecStart"); got != "/usr/local/bin/floe-"+svc {
				t.Errorf("ExecStart=%s, want /usr/local/bin/floe-%s (settings come from the EnvironmentFile)", got, svc)
			}
			if got := u.get("Service", "User"); got != "floe" {
				t.Errorf("User=%s, want floe", got)
			}
			for _, key := range []string{"Wants", "After"} {
				if !slices.Contains(u.words("Unit", key), "floe-nats.service") {
					t.Errorf("%s= lacks floe-nats.service (NATS on the same host starts first)", key)
				}
			}
			if want := "/etc/floe/" + svc + ".env"; u.get("Service", "EnvironmentFile") != want {
				t.Errorf("EnvironmentFile=%s, want %s", u.get("Service", "EnvironmentFile"), want)
			}
			mdwe := u.get("Service", "MemoryDenyWriteExecute")
			if svc == "deployer" {
				if mdwe != "no" && mdwe != "yes" {
					t.Errorf("MemoryDenyWriteExecute=%q: say it (the deployer's children may need a JIT)", mdwe)
				}
			} else if mdwe != "yes" {
				t.Errorf("MemoryDenyWriteExecute=%q, want yes", mdwe)
			}

			// The example environment file: real variables of this binary, all of them.
			ex := parseEnvExample(t, filepath.Join(dir, svc+".env.example"))
			for _, name := range ex.named {
				if !cfg.env[name] {
					t.Errorf("%s.env.example: %s is not a variable floe-%s reads", svc, name, svc)
				}
			}
			for _, name := range sortedKeys(cfg.env) {
				if !slices.Contains(ex.named, name) {
					t.Errorf("%s.env.example does not mention %s, which floe-%s reads", svc, name, svc)
				}
			}
			// The unit's own Environment= settings are real variables too.
			unitEnv := map[string]string{}
			for _, e := range u.words("Service", "Environment") {
				k, val, _ := strings.Cut(e, "=")
				unitEnv[k] = val
				if !cfg.env[k] {
					t.Errorf("Environment=%s: not a variable floe-%s reads", e, svc)
				}
			}
			value := func(env string) string {
				if v, ok := ex.set[env]; ok {
					return v
				}
				if v, ok := unitEnv[env]; ok {
					return v
				}
				for _, f := range cfg.flags {
					if f.env == env {
						return f.def
					}
				}
				return ""
			}
			for _, required := range []string{"FLOE_NATS_URL", "FLOE_SIGNING_KEY", "FLOE_TRUST_STORE", "FLOE_TOKENS_FILE"} {
				if ex.set[required] == "" {
					t.Errorf("%s.env.example does not set %s", svc, required)
				}
			}
			if got := ex.set["FLOE_NATS_REPLICAS"]; got != strconv.Itoa(eventsReplicas(t)) {
				t.Errorf("%s.env.example: FLOE_NATS_REPLICAS=%q, want %d as deploy/nats/floe-events.json", svc, got, eventsReplicas(t))
			}
			if svc == "audit" && ex.set["FLOE_AUDIT_KEY"] == "" {
				t.Errorf("audit.env.example does not set FLOE_AUDIT_KEY (required with a NATS URL)")
			}
			if u, err := url.Parse(ex.set["FLOE_NATS_URL"]); err != nil || u.User == nil || u.User.Username() != "floe-"+svc {
				t.Errorf("FLOE_NATS_URL %q does not connect as floe-%s", ex.set["FLOE_NATS_URL"], svc)
			}

			// Stopping: systemd waits longer than the service's graceful shutdown.
			shutdown, err := time.ParseDuration(value("FLOE_SHUTDOWN_TIMEOUT"))
			if err != nil {
				t.Errorf("FLOE_SHUTDOWN_TIMEOUT %q: %v", value("FLOE_SHUTDOWN_TIMEOUT"), err)
			}
			stop, err := timeSpan(u.get("Service", "TimeoutStopSec"))
			if err != nil || stop <= shutdown {
				t.Errorf("TimeoutStopSec=%s is not above the shutdown timeout %s (%v)", u.get("Service", "TimeoutStopSec"), shutdown, err)
			}

			// With ProtectSystem=strict the data directory must be the state directory.
			state := "/var/lib/" + u.get("Service", "StateDirectory")
			for _, p := range []string{value("FLOE_DATA_DIR"), u.get("Service", "WorkingDirectory")} {
				if !within(p, state) {
					t.Errorf("%q is outside the StateDirectory %s: read-only under ProtectSystem=strict", p, state)
				}
			}

			for _, env := range []string{"FLOE_GRPC_ADDR", "FLOE_ADMIN_ADDR", "FLOE_OFREP_ADDR", "FLOE_NOTIFIER_HTTP_ADDR"} {
				if !cfg.env[env] {
					continue
				}
				addr := value(env)
				if addr == "" {
					continue
				}
				if other, dup := listen[addr]; dup {
					t.Errorf("%s %s is also %s: the services cannot share a host", env, addr, other)
				}
				listen[addr] = svc + " " + env
			}
			grpcAddr[svc] = value("FLOE_GRPC_ADDR")
			if svc == "notifier" {
				notifierRelease = value("FLOE_NOTIFIER_RELEASE_ADDR")
			}
		})
	}
	if notifierRelease == "" || notifierRelease != grpcAddr["release"] {
		t.Errorf("notifier.env.example's FLOE_NOTIFIER_RELEASE_ADDR %q is not release's FLOE_GRPC_ADDR %q", notifierRelease, grpcAddr["release"])
	}
}

func within(p, dir string) bool {
	p, dir = path.Clean(p), path.Clean(dir)
	return p == dir || strings.HasPrefix(p, dir+"/")
}

func TestSystemdNATSUnit(t *testing.T) {
	dir := filepath.Join(deployRoot(t), "systemd")
	u := parseUnit(t, filepath.Join(dir, "floe-nats.service"))
	checkUnitCommon(t, u)
	exec := strings.Fields(u.get("Service", "ExecStart"))
	if len(exec) < 3 || exec[0] != "/usr/local/bin/nats-server" || !slices.Contains(exec, "--config") {
		t.Errorf("ExecStart=%s, want /usr/local/bin/nats-server --config FILE", u.get("Service", "ExecStart"))
	}
	if user := u.get("Service", "User"); user == "" || user == "root" || user == "floe" {
		t.Errorf("User=%s: NATS runs as its own user, so that Floe services cannot read the store", user)
	}
	if u.get("Service", "MemoryDenyWriteExecute") != "yes" {
		t.Errorf("MemoryDenyWriteExecute is not yes")
	}
	if _, err := timeSpan(u.get("Service", "TimeoutStopSec")); err != nil || u.get("Service", "TimeoutStopSec") == "" {
		t.Errorf("TimeoutStopSec=%q: %v", u.get("Service", "TimeoutStopSec"), err)
	}
	if u.get("Service", "EnvironmentFile") != "/etc/floe/nats.env" {
		t.Errorf("EnvironmentFile=%s, want /etc/floe/nats.env", u.get("Service", "EnvironmentFile"))
	}
	conf := readFile(t, "deploy/nats/nats-server.conf")
	// JetStream writes into the state directory.
	store := regexp.MustCompile(`(?m)^\s*store_dir:\s*(\S+)`).FindSubmatch(conf)
	if store == nil || !within(string(store[1]), "/var/lib/"+u.get("Service", "StateDirectory")) {
		t.Errorf("deploy/nats/nats-server.conf's store_dir is not in the unit's StateDirectory %s", u.get("Service", "StateDirectory"))
	}
	// nats.env.example names exactly the configuration's $VARIABLES, each set.
	var want []string
	for _, mv := range confVar.FindAllSubmatch(conf, -1) {
		if !slices.Contains(want, string(mv[1])) {
			want = append(want, string(mv[1]))
		}
	}
	ex := parseEnvExample(t, filepath.Join(dir, "nats.env.example"))
	got := slices.Clone(ex.named)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("nats.env.example names %v; deploy/nats/nats-server.conf reads %v", got, want)
	}
	for _, name := range want {
		if _, ok := ex.set[name]; !ok {
			t.Errorf("nats.env.example does not set %s", name)
		}
	}
}

// checkUnitCommon: what every Floe unit has.
func checkUnitCommon(t *testing.T, u unitFile) {
	t.Helper()
	for _, key := range []string{"Wants", "After"} {
		if !slices.Contains(u.words("Unit", key), "network-online.target") {
			t.Errorf("%s= lacks network-online.target", key)
		}
	}
	if u.get("Unit", "Description") == "" {
		t.Errorf("no Description=")
	}
	want := map[string]string{
		"Restart":                 "on-failure",
		"KillSignal":              "SIGTERM",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictSUIDSGID":        "yes",
		"LockPersonality":         "yes",
		"SystemCallArchitectures": "native",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
	}
	for key, val := range want {
		got, ok := u["Service"][key]
		if !ok || got[len(got)-1] != val {
			t.Errorf("%s=%q, want %q", key, got, val)
		}
	}
	for _, key := range []string{"User", "Group", "StateDirectory", "EnvironmentFile", "TimeoutStopSec", "MemoryDenyWriteExecute"} {
		if u.get("Service", key) == "" {
			t.Errorf("no %s=", key)
		}
	}
	if u.get("Service", "User") == "root" {
		t.Errorf("User=root")
	}
	fams := u.words("Service", "RestrictAddressFamilies")
	slices.Sort(fams)
	if !slices.Equal(fams, []string{"AF_INET", "AF_INET6", "AF_UNIX"}) {
		t.Errorf("RestrictAddressFamilies=%v, want AF_INET AF_INET6 AF_UNIX", fams)
	}
	if !slices.Contains(u.words("Service", "SystemCallFilter"), "@system-service") {
		t.Errorf("SystemCallFilter lacks @system-service")
	}
	if _, err := timeSpan(u.get("Service", "TimeoutStopSec")); err != nil {
		t.Error(err)
	}
	if u.get("Install", "WantedBy") != "multi-user.target" {
		t.Errorf("WantedBy=%s, want multi-user.target", u.get("Install", "WantedBy"))
	}
}

// TestSystemdConsoleUnit: floe-console.service and console.env.example: the
// common hardening, every variable of the binary documented, no NATS
// identity or signing key, routes to the eight services' example addresses,
// and ports no service uses.
func TestSystemdConsoleUnit(t *testing.T) {
	dir := filepath.Join(deployRoot(t), "systemd")
	cfg := serviceConfig(t, "console")
	u := parseUnit(t, filepath.Join(dir, "floe-console.service"))
	checkUnitCommon(t, u)
	if got := u.get("Service", "ExecStart"); got != "/usr/local/bin/floe-console" {
		t.Errorf("ExecStart=%s, want /usr/local/bin/floe-console", got)
	}
	if u.get("Service", "User") != "floe" || u.get("Service", "MemoryDenyWriteExecute") != "yes" {
		t.Errorf("User=%s MemoryDenyWriteExecute=%s, want floe and yes", u.get("Service", "User"), u.get("Service", "MemoryDenyWriteExecute"))
	}
	ex := parseEnvExample(t, filepath.Join(dir, "console.env.example"))
	for _, name := range ex.named {
		if !cfg.env[name] {
			t.Errorf("console.env.example: %s is not a variable floe-console reads", name)
		}
	}
	for _, name := range sortedKeys(cfg.env) {
		if !slices.Contains(ex.named, name) {
			t.Errorf("console.env.example does not mention %s, which floe-console reads", name)
		}
	}
	for _, unused := range []string{"FLOE_NATS_URL", "FLOE_NATS_CREDS", "FLOE_SIGNING_KEY", "FLOE_TRUST_STORE"} {
		if ex.set[unused] != "" {
			t.Errorf("console.env.example sets %s: the console has no NATS identity and signs nothing", unused)
		}
	}
	if ex.set["FLOE_TOKENS_FILE"] == "" || ex.set["FLOE_CONSOLE_SECURE_COOKIES"] != "true" {
		t.Errorf("console.env.example: FLOE_TOKENS_FILE %q, FLOE_CONSOLE_SECURE_COOKIES %q; want a tokens file and Secure cookies",
			ex.set["FLOE_TOKENS_FILE"], ex.set["FLOE_CONSOLE_SECURE_COOKIES"])
	}
	if !within(u.get("Service", "WorkingDirectory"), "/var/lib/"+u.get("Service", "StateDirectory")) {
		t.Errorf("WorkingDirectory %s is outside the StateDirectory", u.get("Service", "WorkingDirectory"))
	}

	// The addresses it calls are the services' own, and its ports are its own.
	grpcOf, taken := map[string]string{}, map[string]string{}
	for _, svc := range services {
		sx := parseEnvExample(t, filepath.Join(dir, svc+".env.example"))
		grpcOf[svc] = sx.set["FLOE_GRPC_ADDR"]
		for _, env := range []string{"FLOE_GRPC_ADDR", "FLOE_ADMIN_ADDR", "FLOE_OFREP_ADDR", "FLOE_NOTIFIER_HTTP_ADDR"} {
			if a := sx.set[env]; a != "" {
				taken[a] = svc
			}
		}
	}
	for _, env := range []string{"FLOE_GRPC_ADDR", "FLOE_ADMIN_ADDR", "FLOE_CONSOLE_ADDR"} {
		if svc, dup := taken[ex.set[env]]; dup || ex.set[env] == "" {
			t.Errorf("console.env.example: %s=%q is unset or also %s's", env, ex.set[env], svc)
		}
	}
	if ex.set["FLOE_CONSOLE_SERVER"] != grpcOf["release"] {
		t.Errorf("FLOE_CONSOLE_SERVER %q is not release's FLOE_GRPC_ADDR %q", ex.set["FLOE_CONSOLE_SERVER"], grpcOf["release"])
	}
	routes := map[string]string{}
	for _, pair := range strings.Split(ex.set["FLOE_CONSOLE_ROUTES"], ",") {
		pkg, addr, _ := strings.Cut(pair, "=")
		routes[pkg] = addr
	}
	want := consoleRoutes(t)
	for pkg, svcAddr := range want {
		svc := strings.TrimPrefix(strings.TrimSuffix(svcAddr, ":7400"), name(""))
		if routes[pkg] != grpcOf[svc] {
			t.Errorf("FLOE_CONSOLE_ROUTES sends %s to %q; %s listens on %q", pkg, routes[pkg], svc, grpcOf[svc])
		}
	}
	if len(routes) != len(want) {
		t.Errorf("FLOE_CONSOLE_ROUTES routes %d packages, want %d: %v", len(routes), len(want), sortedKeys(routes))
	}
}
